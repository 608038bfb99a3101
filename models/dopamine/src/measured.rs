//! Decoding the reward distribution from what an experimenter measures (Dabney et al. 2020):
//! each cell's reversal point from one half of the recorded trials and its asymmetry
//! tau_hat = a+ / (a+ + a-) from the slopes of its tuning curve in the other half. Neither the
//! cells' internal values nor their true taus are inputs, so firing noise and a finite number
//! of trials reach the decoded distribution as they would in a recording.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::{
    decode_pairs, wasserstein1, Correlation, Decoded, RewardDistribution, Rule, Simulation,
    TuningCurves,
};

/// Measured asymmetries are kept inside [MIN_TAU, 1 - MIN_TAU]: a cell with no measurable
/// slope on one side would otherwise claim an expectile at the edge of the distribution.
pub const MIN_TAU: f64 = 0.01;

/// What was measured and what it decodes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Reversal point of each cell (first half of the recorded trials, [`Simulation::half`]).
    pub reversal: Vec<f64>,
    /// Reversal point of each cell from the second half: split-half reliability.
    pub reversal_other: Vec<f64>,
    /// Asymmetry of each cell (second half); NaN where unmeasurable.
    pub asymmetry: Vec<f64>,
    /// Pearson correlation of the two halves' reversal points across cells.
    pub split_half: Correlation,
    /// Spearman correlation of asymmetry (second half) and reversal point (first half).
    pub asymmetry_reversal: Correlation,
    /// Cells with both measures finite (the decoder's inputs).
    pub used: usize,
    /// The decoded samples.
    pub decoded: Decoded,
}

/// Decodes the reward distribution of `sim` from measured reversal points and asymmetries:
/// as expectiles (`m` samples, best of `starts` starts, see [`decode_expectiles`](crate::decode_expectiles)) for the
/// linear rule, as quantiles ([`decode_quantile_points`]) for the sign rule.
pub fn decode_measured(
    sim: &Simulation,
    rule: Rule,
    range: (f64, f64),
    (m, starts, seed): (usize, usize, u64),
) -> Measured {
    let reversal = TuningCurves::half(sim, 0).reversal_points();
    let other = TuningCurves::half(sim, 1);
    let (reversal_other, asymmetry) = (other.reversal_points(), other.asymmetries());
    let (tau, theta) = finite_pairs(&asymmetry, &reversal);
    let decoded = if tau.is_empty() {
        Decoded {
            samples: Vec::new(),
            loss: f64::NAN,
        }
    } else {
        decode_pairs(&tau, &theta, rule, range, (m, starts, seed))
    };
    Measured {
        split_half: Correlation::pearson(&reversal, &reversal_other),
        asymmetry_reversal: Correlation::spearman(&asymmetry, &reversal),
        reversal,
        reversal_other,
        asymmetry,
        used: tau.len(),
        decoded,
    }
}

/// The (asymmetry, reversal point) pairs of the cells where both are finite.
fn finite_pairs(asymmetry: &[f64], reversal: &[f64]) -> (Vec<f64>, Vec<f64>) {
    asymmetry
        .iter()
        .zip(reversal)
        .filter(|(t, r)| t.is_finite() && r.is_finite())
        .map(|(t, r)| (*t, *r))
        .unzip()
}

impl Measured {
    /// The decoder's inputs: (asymmetry, reversal point) of the cells with both measures.
    pub fn pairs(&self) -> (Vec<f64>, Vec<f64>) {
        finite_pairs(&self.asymmetry, &self.reversal)
    }
}

/// `m` equally weighted samples of the distribution whose tau_i-quantiles are theta_i: the
/// quantile function through the points sorted by tau (made non-decreasing by isotonic
/// regression), linear between them and flat beyond the first and last, read at
/// (k - 1/2) / m.
///
/// # Panics
/// When `tau` and `theta` differ in length or are empty.
pub fn decode_quantile_points(tau: &[f64], theta: &[f64], m: usize) -> Decoded {
    assert!(
        !tau.is_empty() && tau.len() == theta.len(),
        "one theta per tau"
    );
    let mut pts: Vec<(f64, f64)> = tau.iter().copied().zip(theta.iter().copied()).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    // A quantile function never decreases: the closest non-decreasing sequence in least squares
    // (pool adjacent violators), so one mismeasured cell shifts its neighbours a little
    // instead of dragging every later point along.
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(pts.len());
    for &(_, q) in &pts {
        blocks.push((q, 1));
        while blocks.len() > 1 && blocks[blocks.len() - 2].0 > blocks[blocks.len() - 1].0 {
            let (q1, n1) = blocks.pop().expect("two blocks");
            let (q0, n0) = blocks.pop().expect("two blocks");
            blocks.push((
                (q0 * n0 as f64 + q1 * n1 as f64) / (n0 + n1) as f64,
                n0 + n1,
            ));
        }
    }
    let fitted = blocks.iter().flat_map(|&(q, n)| std::iter::repeat_n(q, n));
    for (p, q) in pts.iter_mut().zip(fitted.collect::<Vec<_>>()) {
        p.1 = q;
    }
    let at = |p: f64| -> f64 {
        match pts.iter().position(|&(t, _)| t >= p) {
            None => pts[pts.len() - 1].1,
            Some(0) => pts[0].1,
            Some(j) => {
                let ((t0, q0), (t1, q1)) = (pts[j - 1], pts[j]);
                if t1 > t0 {
                    q0 + (q1 - q0) * (p - t0) / (t1 - t0)
                } else {
                    q1
                }
            }
        }
    };
    let samples = (0..m).map(|k| at((k as f64 + 0.5) / m as f64)).collect();
    Decoded { samples, loss: 0.0 }
}

/// W1 between `dist` and a Gaussian of its mean and variance (from `n` seeded draws): the
/// decoding baseline that knows two moments and nothing of the shape.
pub fn gaussian_baseline_w1(dist: &RewardDistribution, n: usize, seed: u64) -> f64 {
    let mean = dist.mean();
    let var: f64 = dist
        .values
        .iter()
        .zip(&dist.probs)
        .map(|(v, p)| p * (v - mean).powi(2))
        .sum();
    let normal = Normal::new(mean, var.sqrt()).expect("a finite variance");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws: Vec<f64> = (0..n).map(|_| normal.sample(&mut rng)).collect();
    wasserstein1(&draws, dist)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{analytic_quantile, run};
    use crate::{decode_expectiles, Cells};

    #[test]
    fn a_kinked_fit_recovers_the_reversal_point_and_slopes_that_interpolation_misses() {
        let m = [0.1, 0.3, 1.2, 2.5, 5.0, 10.0, 20.0];
        // A tau = 0.9 cell with V = 8: response 1.8 (r - 8) above, 0.2 (r - 8) below.
        let y: Vec<f64> = m
            .iter()
            .map(|&r| {
                if r >= 8.0 {
                    1.8 * (r - 8.0)
                } else {
                    0.2 * (r - 8.0)
                }
            })
            .collect();
        let k = crate::kinked_fit(&m, &y);
        assert!((k.theta - 8.0).abs() < 1e-6, "{k:?}");
        assert!(
            (k.above - 1.8).abs() < 1e-6 && (k.below - 0.2).abs() < 1e-6,
            "{k:?}"
        );
        // Interpolating the crossing between 5 and 10 lands at 5 + 0.6 * 5 / 4.2.
        let interpolated = crate::reversal_point(&m, &y);
        assert!(
            (interpolated - (5.0 + 3.0 / 4.2)).abs() < 1e-9,
            "{interpolated}"
        );
    }

    #[test]
    fn spearman_leaves_out_unmeasured_pairs() {
        let nan = f64::NAN;
        assert_eq!(
            crate::spearman(&[1.0, nan, 3.0, 2.0], &[1.0, 5.0, 3.0, 2.0]),
            1.0
        );
        assert!(crate::spearman(&[nan, nan, 1.0], &[1.0, 2.0, 3.0]).is_nan());
    }

    #[test]
    fn the_sign_rule_does_not_move_on_a_zero_error() {
        let cells = Cells::spread(4, 0.1).unwrap();
        for i in 0..4 {
            assert_eq!(cells.update(i, 0.0, Rule::Quantile, 1.0), 0.0);
            assert_eq!(cells.update(i, -0.0, Rule::Quantile, 1.0), 0.0);
            assert!(cells.update(i, 1e-9, Rule::Quantile, 1.0) > 0.0);
            assert!(cells.update(i, -1e-9, Rule::Quantile, 1.0) < 0.0);
        }
    }

    #[test]
    fn exact_expectile_pairs_decode_to_the_distribution_far_better_than_a_gaussian() {
        let d = RewardDistribution::new(vec![(1.0, 0.3), (4.0, 0.5), (10.0, 0.2)]).unwrap();
        let tau = Cells::spread(30, 0.1).unwrap().tau;
        let theta: Vec<f64> = tau.iter().map(|&t| d.expectile(t)).collect();
        let decoded = decode_expectiles(&tau, &theta, d.range(), 60, 50, 0);
        let w1 = wasserstein1(&decoded.samples, &d);
        let gauss = gaussian_baseline_w1(&d, 50_000, 0);
        assert!(w1 < 0.25, "W1 {w1}");
        assert!(w1 < 0.25 * gauss, "W1 {w1} against the Gaussian's {gauss}");
    }

    #[test]
    fn exact_quantile_points_decode_to_the_distribution_in_any_order() {
        let d = RewardDistribution::variable_magnitude();
        let mut tau = Cells::spread(50, 0.1).unwrap().tau;
        tau.reverse();
        let theta: Vec<f64> = tau.iter().map(|&t| analytic_quantile(&d, t)).collect();
        let decoded = decode_quantile_points(&tau, &theta, 100);
        let w1 = wasserstein1(&decoded.samples, &d);
        // One wildly mismeasured cell (the first quantile read as the maximum) moves little.
        let mut bad = theta.clone();
        let first = tau
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        bad[first] = 20.0;
        let w1_bad = wasserstein1(&decode_quantile_points(&tau, &bad, 100).samples, &d);
        assert!(w1_bad < w1 + 0.5, "one bad cell: W1 {w1_bad} against {w1}");
        // Linear between the quantile points smears each jump of the discrete CDF a little.
        assert!(w1 < 0.2, "W1 {w1}");
        assert!(decoded.samples.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn the_gaussian_baseline_of_two_equal_atoms_is_its_closed_form() {
        // W1(N(1/2, 1/4), {0, 1} equally likely) = 2 sigma int_0^inf |z - 1| phi(z) dz
        // = sigma (4 Phi(1) - 3 - 2 phi(0) + 4 phi(1)) = 0.267688 for sigma = 1/2.
        let d = RewardDistribution::new(vec![(0.0, 0.5), (1.0, 0.5)]).unwrap();
        let w1 = gaussian_baseline_w1(&d, 400_000, 3);
        assert!((w1 - 0.267688).abs() < 0.003, "{w1}");
    }

    #[test]
    fn without_noise_decoding_from_measurements_approaches_decoding_from_internals() {
        let d = RewardDistribution::variable_magnitude();
        let cells = Cells::spread(40, 0.05).unwrap();
        let sim = run(&cells, Rule::Expectile, 0.0, 5);
        let internal = decode_expectiles(&cells.tau, &sim.value, d.range(), 100, 100, 0);
        let measured = decode_measured(&sim, Rule::Expectile, d.range(), (100, 100, 0));
        let (wi, wm) = (
            wasserstein1(&internal.samples, &d),
            wasserstein1(&measured.decoded.samples, &d),
        );
        assert_eq!(measured.used, 40);
        assert!(
            wm < 0.8 && (wm - wi).abs() < 0.4,
            "measured {wm}, internal {wi}"
        );
        // And with heavy firing noise the measurements, not the model, carry the error.
        let noisy = run(&cells, Rule::Expectile, 4.0, 5);
        let wn = wasserstein1(
            &decode_measured(&noisy, Rule::Expectile, d.range(), (100, 100, 0))
                .decoded
                .samples,
            &d,
        );
        assert!(wn > wm, "noise 4: {wn}, noise 0: {wm}");
    }
}
