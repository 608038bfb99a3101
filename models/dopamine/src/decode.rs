//! Decoding (imputation): samples whose expectiles (or quantiles) match a code of
//! (tau_i, reversal point theta_i) pairs, and their Wasserstein-1 distance to a distribution.

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::condition::ArmijoCondition;
use argmin::solver::linesearch::BacktrackingLineSearch;
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
        // Backtracking (Armijo) always ends: the step halves until the cost falls enough, and
        // at a vanishing step it equals the start's. argmin's More-Thuente search has no
        // iteration limit inside L-BFGS and looped forever on one measured code (asymmetries
        // near 0 and 1; the test below).
        let line = BacktrackingLineSearch::new(ArmijoCondition::new(1e-4).expect("in (0, 1)"));
        let solver = LBFGS::new(line, 10);
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

#[cfg(test)]
mod tests {
    /// The code measured on simulated animal 18 at firing noise 3.5, asymmetries shifted by
    /// -1 in logit space (a decoding control): More-Thuente never returned on it.
    #[test]
    fn decoding_a_code_with_extreme_asymmetries_terminates() {
        let tau: Vec<f64> = vec![
            0.0037021967585535247,
            0.0037021967585535247,
            0.11789591368477798,
            0.030705891018434277,
            0.060810776946874846,
            0.04320966728876302,
            0.07731000457864153,
            0.10560702963019228,
            0.061241342542201434,
            0.055701842900007764,
            0.17154243355027188,
            0.10981392728146187,
            0.22678089885735506,
            0.1425856894885364,
            0.19107274536603958,
            0.22224379635502203,
            0.3187753117783971,
            0.11122287883702021,
            0.1888198430109877,
            0.2693187453826931,
            0.2512733182967785,
            0.47941630979590816,
            0.24719719554371017,
            0.38953811837456637,
            0.3258631923678027,
            0.4373835576280234,
            0.3912560199594317,
            0.47443089059782073,
            0.49638085326914305,
            0.36749125503297386,
            0.5672700079886295,
            0.6139989614605751,
            0.6700747674407993,
            0.81108284826308,
            0.6919305574750465,
            0.7365595852460071,
            0.8589576971095318,
            0.6971581998592518,
            0.9732763690106048,
            0.9732763690106048,
        ]
        .iter()
        .map(|t: &f64| t.clamp(0.01, 0.99))
        .collect();
        let theta: Vec<f64> = vec![
            19.999980099999938,
            6.235923463944726,
            0.10001989999999983,
            4.999999999999991,
            1.5319612370761468,
            3.6271490040075016,
            1.2,
            2.9117261141297255,
            2.625102196810733,
            1.3277517031877195,
            1.5716764128854295,
            3.4684571921630125,
            4.263948149713379,
            3.4946004388032477,
            5.0000000000000355,
            6.842279355682114,
            6.9347476366530785,
            4.792386557751566,
            4.608136962723773,
            4.476496271641805,
            5.477569392075424,
            5.596016179621191,
            6.422226107071873,
            5.699966676291998,
            6.51218158087862,
            6.028463285613569,
            6.700417582568299,
            6.599271899869549,
            8.608038037157794,
            7.336821510902865,
            7.584737485214614,
            8.930800712399176,
            8.253462532557187,
            8.630405702698532,
            9.631732984569439,
            9.893893021690126,
            8.60597152578276,
            14.406981501825886,
            9.833576328012146,
            9.274563617901563,
        ];
        let d = super::decode_expectiles(&tau, &theta, (0.1, 20.0), 60, 40, 18);
        assert!(d.loss.is_finite());
    }
}
