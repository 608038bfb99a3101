//! Decoding (imputation): samples whose expectiles (or quantiles) match a code of
//! (tau_i, reversal point theta_i) pairs, and their Wasserstein-1 distance to a distribution.

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::RewardDistribution;

/// Decoded samples and the final value of the matching loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Samples, ascending.
    pub samples: Vec<f64>,
    /// Sum over cells of the squared expectile condition (0 for a perfect match).
    pub loss: f64,
}

/// The expectile-matching loss in an unbounded parameterisation u: x = lo + (hi - lo) sigmoid(u).
struct ExpectileLoss<'a> {
    tau: &'a [f64],
    theta: &'a [f64],
    lo: f64,
    hi: f64,
}

fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

impl ExpectileLoss<'_> {
    fn samples(&self, u: &[f64]) -> Vec<f64> {
        u.iter()
            .map(|&u| self.lo + (self.hi - self.lo) * sigmoid(u))
            .collect()
    }

    /// Per cell: mean_m |tau - 1{x_m <= theta}| (x_m - theta).
    fn residuals(&self, x: &[f64]) -> Vec<f64> {
        let m = x.len() as f64;
        self.tau
            .iter()
            .zip(self.theta)
            .map(|(&t, &th)| {
                x.iter()
                    .map(|&x| {
                        if x <= th {
                            (1.0 - t) * (x - th)
                        } else {
                            t * (x - th)
                        }
                    })
                    .sum::<f64>()
                    / m
            })
            .collect()
    }

    fn loss_of_samples(&self, x: &[f64]) -> f64 {
        self.residuals(x).iter().map(|r| r * r).sum()
    }
}

impl CostFunction for ExpectileLoss<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.loss_of_samples(&self.samples(u)))
    }
}

impl Gradient for ExpectileLoss<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, u: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        let x = self.samples(u);
        let res = self.residuals(&x);
        let m = x.len() as f64;
        Ok(u.iter()
            .zip(&x)
            .map(|(&u, &xm)| {
                let dx_du = (self.hi - self.lo) * sigmoid(u) * (1.0 - sigmoid(u));
                let d_loss_dx: f64 = self
                    .tau
                    .iter()
                    .zip(self.theta)
                    .zip(&res)
                    .map(|((&t, &th), &r)| 2.0 * r * if xm <= th { 1.0 - t } else { t } / m)
                    .sum();
                d_loss_dx * dx_du
            })
            .collect())
    }
}

/// Finds `m` samples in [lo, hi] whose tau-expectiles match `theta`: the best of `starts`
/// uniform random starts, refined by L-BFGS (argmin) in a bounded reparameterisation.
pub fn decode_expectiles(
    tau: &[f64],
    theta: &[f64],
    (lo, hi): (f64, f64),
    m: usize,
    starts: usize,
    seed: u64,
) -> Decoded {
    let problem = ExpectileLoss { tau, theta, lo, hi };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let logit = |x: f64| {
        let p = ((x - lo) / (hi - lo)).clamp(1e-4, 1.0 - 1e-4);
        (p / (1.0 - p)).ln()
    };
    let mut candidates: Vec<(f64, Vec<f64>)> = (0..starts.max(1))
        .map(|_| {
            let x: Vec<f64> = (0..m).map(|_| rng.random_range(lo..=hi)).collect();
            (
                problem.loss_of_samples(&x),
                x.into_iter().map(logit).collect(),
            )
        })
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Refine the three best starts; keep the best result.
    let mut best: Option<Decoded> = None;
    for (start_loss, u0) in candidates.into_iter().take(3) {
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10);
        let refined = Executor::new(ExpectileLoss { tau, theta, lo, hi }, solver)
            .configure(|state| state.param(u0.clone()).max_iters(300))
            .run()
            .ok()
            .and_then(|res| res.state.best_param.map(|u| (res.state.best_cost, u)));
        let (loss, u) = refined.unwrap_or((start_loss, u0));
        let mut samples = problem.samples(&u);
        samples.sort_by(f64::total_cmp);
        if best.as_ref().is_none_or(|b| loss < b.loss) {
            best = Some(Decoded { samples, loss });
        }
    }
    best.expect("at least one start")
}

/// For quantile-midpoint codes (tau_i = (2i - 1) / 2N) the reversal points are themselves an
/// equally weighted sample of the distribution: the decoded samples are the sorted theta.
pub fn decode_quantiles(theta: &[f64]) -> Decoded {
    let mut samples = theta.to_vec();
    samples.sort_by(f64::total_cmp);
    Decoded { samples, loss: 0.0 }
}

/// Wasserstein-1 distance between equally weighted `samples` and `dist`: the integral of
/// |F_samples(x) - F_dist(x)| dx.
pub fn wasserstein1(samples: &[f64], dist: &RewardDistribution) -> f64 {
    let mut points: Vec<(f64, f64)> = samples
        .iter()
        .map(|&s| (s, 1.0 / samples.len() as f64))
        .collect();
    points.extend(dist.values.iter().zip(&dist.probs).map(|(&v, &p)| (v, -p)));
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut diff, mut total) = (0.0, 0.0);
    for w in points.windows(2) {
        diff += w[0].1;
        total += diff.abs() * (w[1].0 - w[0].0);
    }
    total
}
