//! The decoding controls of Dabney et al. 2020 (Extended Data Fig. 8): is the distribution
//! decoded from measured asymmetries and reversal points closer to the true one than to
//! reference distributions with the same mean and variance (uniform, Gaussian) or the truth
//! mirrored about its mean (same mean, variance and spread, skew reversed)? And does the decode
//! get worse when the asymmetries are shuffled across cells, or shifted in logit space
//! (tau' = sigmoid(logit(tau) + s)), as it should if they carry the information?

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::{decode_expectiles, decode_quantile_points, wasserstein1, RewardDistribution, Rule};
use crate::{Decoded, MIN_TAU};

/// Atoms of the continuous reference distributions.
const ATOMS: usize = 1000;

/// Logit shifts of the asymmetries (0 is the unshifted decode).
pub const SHIFTS: [f64; 5] = [-1.0, -0.5, 0.0, 0.5, 1.0];

/// W1 of one decode against the truth and against the references, and of the controlled
/// decodes against the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Controls {
    /// The decode against the true distribution.
    pub w1_truth: f64,
    /// The same decode against a uniform distribution of the true mean and variance.
    pub w1_uniform: f64,
    /// Against a Gaussian of the true mean and variance.
    pub w1_gaussian: f64,
    /// Against the true distribution mirrored about its mean.
    pub w1_mirrored: f64,
    /// Decoding with the asymmetries shuffled across cells, against the truth.
    pub w1_shuffled: f64,
    /// (shift s, W1 to the truth of the decode with logit-shifted asymmetries), s in [`SHIFTS`].
    pub shifted: Vec<(f64, f64)>,
}

impl Controls {
    /// Whether the decode is closer to the truth than to every reference.
    pub fn beats_references(&self) -> bool {
        self.w1_truth < self.w1_uniform.min(self.w1_gaussian).min(self.w1_mirrored)
    }

    /// The shift whose decode lies closest to the truth.
    pub fn best_shift(&self) -> f64 {
        self.shifted
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(f64::NAN, |s| s.0)
    }
}

/// Uniform, Gaussian (both of `dist`'s mean and variance) and `dist` mirrored about its mean.
pub fn references(dist: &RewardDistribution) -> [RewardDistribution; 3] {
    let (mean, sd) = (dist.mean(), dist.sd());
    let mid = |k: usize| (k as f64 + 0.5) / ATOMS as f64;
    let equal = |values: Vec<f64>| {
        RewardDistribution::new(
            values
                .into_iter()
                .map(|v| (v, 1.0 / ATOMS as f64))
                .collect(),
        )
        .expect("distinct finite atoms")
    };
    // A uniform of variance sd^2 spans mean +- sqrt(3) sd.
    let half = 3f64.sqrt() * sd;
    let uniform = equal(
        (0..ATOMS)
            .map(|k| mean - half + 2.0 * half * mid(k))
            .collect(),
    );
    let normal = Normal::new(mean, sd.max(f64::MIN_POSITIVE)).expect("finite moments");
    let gaussian = equal((0..ATOMS).map(|k| normal.inverse_cdf(mid(k))).collect());
    let mirrored = RewardDistribution::new(
        dist.values
            .iter()
            .zip(&dist.probs)
            .map(|(v, p)| (2.0 * mean - v, *p))
            .collect(),
    )
    .expect("a mirrored distribution is a distribution");
    [uniform, gaussian, mirrored]
}

/// Decodes `m` samples from measured (`tau`, `theta`) pairs (all finite) by `rule`.
pub fn decode_pairs(
    tau: &[f64],
    theta: &[f64],
    rule: Rule,
    range: (f64, f64),
    (m, starts, seed): (usize, usize, u64),
) -> Decoded {
    let tau: Vec<f64> = tau
        .iter()
        .map(|t| t.clamp(MIN_TAU, 1.0 - MIN_TAU))
        .collect();
    match rule {
        Rule::Expectile => decode_expectiles(&tau, theta, range, m, starts, seed),
        Rule::Quantile => decode_quantile_points(&tau, theta, m),
    }
}

/// Runs every control on the measured pairs (`tau`, `theta`, both finite, at least one) and
/// `decoded`, their decode by [`decode_pairs`] with the same `decode` settings. The references
/// keep the true mean and variance, so they reach beyond the decoder's range (the mirrored
/// variable-magnitude distribution goes down to about -9.6 ul, the uniform to -3.9, the Gaussian
/// puts 16 % of its mass below 0): a decode confined to the range is pushed toward passing.
pub fn controls(
    tau: &[f64],
    theta: &[f64],
    decoded: &Decoded,
    rule: Rule,
    dist: &RewardDistribution,
    decode: (usize, usize, u64),
) -> Controls {
    let run = |t: &[f64]| decode_pairs(t, theta, rule, dist.range(), decode).samples;
    let samples = &decoded.samples;
    let [uniform, gaussian, mirrored] = references(dist);
    let mut shuffled = tau.to_vec();
    shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(decode.2 ^ 0x5eed));
    let logit = |t: f64| {
        let t = t.clamp(MIN_TAU, 1.0 - MIN_TAU);
        (t / (1.0 - t)).ln()
    };
    let shifted = SHIFTS
        .iter()
        .map(|&s| {
            let t: Vec<f64> = tau
                .iter()
                .map(|&t| 1.0 / (1.0 + (-(logit(t) + s)).exp()))
                .collect();
            (s, wasserstein1(&run(&t), dist))
        })
        .collect();
    Controls {
        w1_truth: wasserstein1(samples, dist),
        w1_uniform: wasserstein1(samples, &uniform),
        w1_gaussian: wasserstein1(samples, &gaussian),
        w1_mirrored: wasserstein1(samples, &mirrored),
        w1_shuffled: wasserstein1(&run(&shuffled), dist),
        shifted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cells;

    #[test]
    fn references_keep_the_mean_and_variance() {
        let d = RewardDistribution::variable_magnitude();
        for r in references(&d) {
            assert!((r.mean() - d.mean()).abs() < 1e-6, "{}", r.mean());
            assert!((r.sd() - d.sd()).abs() < 0.01 * d.sd(), "{}", r.sd());
        }
        // The mirror reverses the skew: its smallest atom lies as far below the mean as the
        // truth's largest (20 ul) lies above it.
        let m = &references(&d)[2];
        assert!((m.values[0] - (2.0 * d.mean() - 20.0)).abs() < 1e-12);
    }

    #[test]
    fn exact_pairs_beat_every_reference_and_the_unshifted_decode_is_best() {
        let d = RewardDistribution::variable_magnitude();
        let tau = Cells::spread(40, 0.1).unwrap().tau;
        let theta: Vec<f64> = tau.iter().map(|&t| d.expectile(t)).collect();
        let decoded = decode_pairs(&tau, &theta, Rule::Expectile, d.range(), (60, 40, 0));
        let c = controls(&tau, &theta, &decoded, Rule::Expectile, &d, (60, 40, 0));
        assert!(c.beats_references(), "{c:?}");
        assert_eq!(c.best_shift(), 0.0, "{c:?}");
        assert!(c.w1_shuffled > 2.0 * c.w1_truth, "{c:?}");
    }
}
