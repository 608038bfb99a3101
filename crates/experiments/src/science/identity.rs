//! An empirical check of the identity that ties the RPE to the successor-feature TD error.
//! When the reward is linear in the SF features, r_{t+1} = w . phi_{t+1} + c, the value is
//! V = w . psi + c / (1 - gamma), and the TD error of V is exactly w . delta_t with the SF TD
//! error delta_t = phi_{t+1} + gamma psi_{t+1} - psi_t (the intercept cancels). `bench science`
//! fits w by regressing the reward on phi (training sequences), then compares w . delta with the
//! critic's RPE at the same transitions (held-out sequences): the slope and correlation say how
//! far a learned critic and learned SF heads are from the identity.

use serde::{Deserialize, Serialize};

use crate::science::readout::ridge;

/// How the critic's RPE follows w . delta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityCheck {
    /// Pearson correlation of RPE and w . delta over the held-out transitions.
    pub pearson: f64,
    /// Least-squares slope of RPE on w . delta (1 when the identity holds).
    pub slope: f64,
    /// Pearson correlation of the value parts, the critic's gamma V' - V = RPE - r' against the
    /// SF heads' w . (gamma psi' - psi) = w . delta - w . phi' (the reward out of both).
    #[serde(default)]
    pub pearson_values: f64,
    /// Least-squares slope of the critic's value part on the SF heads'.
    #[serde(default)]
    pub slope_values: f64,
    /// Negative control: the value parts against random directions of w's norm (None in
    /// results written before it existed).
    #[serde(default)]
    pub random_w: Option<RandomW>,
    /// R^2 of the reward's linear fit on phi (training transitions): how linear the reward is in
    /// the features, which the identity assumes.
    pub reward_r2: f64,
    /// Held-out transitions compared.
    pub transitions: usize,
    /// (SF value part, critic value part) of the first [`SAMPLE`] of them, for the figure.
    #[serde(default)]
    pub sample: Vec<(f64, f64)>,
}

/// The identity check's negative control over many random directions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RandomW {
    /// Median |r| of the value parts with a random w in place of the reward's.
    pub median_abs_r: f64,
    /// Share of the random directions whose |r| reaches the reward's own |r|.
    pub share_at_least_real: f64,
    /// Directions drawn.
    pub draws: usize,
}

/// A w of `f` features (and the intercept last, kept) with the norm of `w`'s features but a
/// uniformly random direction (Gaussian entries by Box-Muller, seeded): the negative control
/// of the identity check.
pub fn random_like(w: &[f64], f: usize, seed: u64) -> Vec<f64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut gauss = || {
        let (u, v): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    let raw: Vec<f64> = (0..f).map(|_| gauss()).collect();
    let scale = norm(&w[..f]) / norm(&raw).max(f64::MIN_POSITIVE);
    let mut out: Vec<f64> = raw.iter().map(|x| x * scale).collect();
    out.extend_from_slice(&w[f..]);
    out
}

/// Transitions kept in [`IdentityCheck::sample`].
pub const SAMPLE: usize = 400;

/// w and c of r = w . phi + c by least squares (a ridge of 1e-6 per row on w, against
/// collinear features): [f + 1], c last, and the R^2 of the fit. None without rows.
pub fn fit_reward(phi: &[f64], reward: &[f64], f: usize) -> Option<(Vec<f64>, f64)> {
    let rows = reward.len();
    let w = ridge(phi, reward, (rows, f, 1), 1e-6)?;
    let fitted = |r: usize| w[f] + (0..f).map(|j| phi[r * f + j] * w[j]).sum::<f64>();
    let mean = reward.iter().sum::<f64>() / rows as f64;
    let total: f64 = reward.iter().map(|v| (v - mean).powi(2)).sum();
    let resid: f64 = (0..rows).map(|r| (reward[r] - fitted(r)).powi(2)).sum();
    let r2 = if total > 0.0 {
        1.0 - resid / total
    } else {
        1.0
    };
    Some((w, r2))
}

/// w . delta for every row of `delta` [rows, f] (the intercept of `w` is not used).
pub fn project(w: &[f64], delta: &[f64], f: usize) -> Vec<f64> {
    delta
        .chunks(f)
        .map(|d| d.iter().zip(w).map(|(a, b)| a * b).sum())
        .collect()
}

/// Pearson correlation and least-squares slope of `y` on `x`; None when either is constant.
pub fn correlation_and_slope(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt(), sxy / sxx))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A 3-state chain with 2-dimensional features: its exact successor features
    /// psi = sum_{k >= 1} gamma^(k-1) P^k Phi.
    /// Transition matrix, features and successor features of each state.
    pub(crate) type Chain = ([[f64; 3]; 3], [[f64; 2]; 3], [[f64; 2]; 3]);

    /// The next state of a chain from the row of its transition matrix.
    pub(crate) fn step(row: &[f64; 3], rng: &mut ChaCha8Rng) -> usize {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        (0..3)
            .find(|&j| {
                acc += row[j];
                u < acc
            })
            .unwrap_or(2)
    }

    pub(crate) fn chain() -> Chain {
        let p = [[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4]];
        let phi = [[1.0, 0.0], [0.0, 1.0], [0.5, -1.0]];
        let gamma = 0.9;
        let mut psi = [[0.0; 2]; 3];
        let mut pk = p; // P^k
        let mut g = 1.0;
        for _ in 0..600 {
            for s in 0..3 {
                for j in 0..2 {
                    psi[s][j] += g * (0..3).map(|u| pk[s][u] * phi[u][j]).sum::<f64>();
                }
            }
            let mut next = [[0.0; 3]; 3];
            for (i, row) in next.iter_mut().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|u| pk[i][u] * p[u][j]).sum();
                }
            }
            pk = next;
            g *= gamma;
        }
        (p, phi, psi)
    }

    #[test]
    fn on_a_known_markov_chain_the_td_error_of_the_value_is_w_dot_delta() {
        let (p, phi, psi) = chain();
        let (gamma, w, c) = (0.9, [2.0, -1.0], 0.7);
        // V(s) = E[sum_k gamma^(k-1) r(s_{t+k})] = w . psi(s) + c / (1 - gamma).
        let v = |s: usize| w[0] * psi[s][0] + w[1] * psi[s][1] + c / (1.0 - gamma);
        let r = |s: usize| w[0] * phi[s][0] + w[1] * phi[s][1] + c;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut s = 0usize;
        let (mut feats, mut rewards, mut deltas, mut tds) = (vec![], vec![], vec![], vec![]);
        for _ in 0..400 {
            let next = step(&p[s], &mut rng);
            feats.extend(phi[next]);
            rewards.push(r(next));
            deltas.extend((0..2).map(|j| phi[next][j] + gamma * psi[next][j] - psi[s][j]));
            tds.push(r(next) + gamma * v(next) - v(s));
            s = next;
        }
        // The reward fit recovers w and c (the reward is exactly linear in phi).
        let (fit, r2) = fit_reward(&feats, &rewards, 2).unwrap();
        assert!(
            (fit[0] - 2.0).abs() < 1e-3 && (fit[1] + 1.0).abs() < 1e-3,
            "{fit:?}"
        );
        assert!((fit[2] - 0.7).abs() < 1e-3 && r2 > 0.9999);
        // The identity: slope 1, correlation 1.
        let wd = project(&fit, &deltas, 2);
        let (corr, slope) = correlation_and_slope(&wd, &tds).unwrap();
        assert!(
            corr > 0.9999 && (slope - 1.0).abs() < 1e-3,
            "{corr} {slope}"
        );
        // A wrong w breaks it.
        let wrong = project(&[1.0, 1.0, 0.0], &deltas, 2);
        let (c2, _) = correlation_and_slope(&wrong, &tds).unwrap();
        assert!(c2 < 0.9, "{c2}");
    }

    #[test]
    fn a_random_w_keeps_the_norm_and_the_intercept_but_not_the_direction() {
        let w = [3.0, 4.0, 0.0, 7.5];
        let r = random_like(&w, 3, 1);
        let norm = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
        assert!((norm - 5.0).abs() < 1e-12 && r[3] == 7.5, "{r:?}");
        let cos = (r[0] * 3.0 + r[1] * 4.0) / (norm * 5.0);
        assert!(cos < 0.99, "{r:?}");
        assert_eq!(r, random_like(&w, 3, 1));
    }

    #[test]
    fn constant_inputs_have_no_correlation() {
        assert!(correlation_and_slope(&[1.0, 1.0, 1.0], &[0.0, 1.0, 2.0]).is_none());
    }
}
