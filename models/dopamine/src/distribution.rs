//! Discrete reward distributions: the task presets and user-given ones.

use rand::Rng;

/// A discrete distribution over reward magnitudes.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardDistribution {
    /// Distinct magnitudes, ascending.
    pub values: Vec<f64>,
    /// Their probabilities (sum 1).
    pub probs: Vec<f64>,
}

/// A distribution that cannot be used, with the reason.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid reward distribution: {0}")]
pub struct DistributionError(pub String);

impl RewardDistribution {
    /// Checks and sorts `(value, probability)` pairs; probabilities must sum to 1 (within 1e-6).
    pub fn new(mut pairs: Vec<(f64, f64)>) -> Result<Self, DistributionError> {
        if pairs.is_empty() {
            return Err(DistributionError("no rewards given".into()));
        }
        for &(v, p) in &pairs {
            if !v.is_finite() {
                return Err(DistributionError(format!("reward {v} is not finite")));
            }
            if !(p.is_finite() && p > 0.0) {
                return Err(DistributionError(format!(
                    "probability {p} of reward {v} must be positive"
                )));
            }
        }
        let total: f64 = pairs.iter().map(|&(_, p)| p).sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(DistributionError(format!(
                "probabilities sum to {total}, not 1"
            )));
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(DistributionError(
                "a reward magnitude is listed twice".into(),
            ));
        }
        Ok(Self {
            values: pairs.iter().map(|&(v, _)| v).collect(),
            probs: pairs.iter().map(|&(_, p)| p).collect(),
        })
    }

    /// Parses `value:prob,value:prob,...`, e.g. `0.1:0.066,0.3:0.091`.
    pub fn parse(text: &str) -> Result<Self, DistributionError> {
        let pairs = text
            .split(',')
            .map(|item| {
                let (v, p) = item.split_once(':').ok_or_else(|| {
                    DistributionError(format!("`{item}` is not value:probability"))
                })?;
                let num = |s: &str| {
                    s.trim().parse::<f64>().map_err(|_| {
                        DistributionError(format!("`{s}` in `{item}` is not a number"))
                    })
                };
                Ok((num(v)?, num(p)?))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(pairs)
    }

    /// The mice variable-magnitude task (sizes in ul; Dabney et al. 2020).
    pub fn variable_magnitude() -> Self {
        // One table for the whole project: the task generators draw from the same one.
        Self::new(neuromod_datasets::tasks::VARIABLE_MAGNITUDE.to_vec())
            .expect("the preset is valid")
    }

    /// A cue predicting `reward` with probability `p`, else nothing.
    pub fn variable_probability(p: f64, reward: f64) -> Result<Self, DistributionError> {
        if !(p > 0.0 && p < 1.0) {
            return Err(DistributionError(format!(
                "probability {p} must lie in (0, 1)"
            )));
        }
        Self::new(vec![(0.0, 1.0 - p), (reward, p)])
    }

    /// Expected reward.
    pub fn mean(&self) -> f64 {
        self.values
            .iter()
            .zip(&self.probs)
            .map(|(v, p)| v * p)
            .sum()
    }

    /// The tau-expectile: the e with tau E[(r - e)+] = (1 - tau) E[(e - r)+] (bisection to
    /// machine precision; tau in (0, 1)). 0.5 gives the mean.
    pub fn expectile(&self, tau: f64) -> f64 {
        let excess = |e: f64| -> f64 {
            self.values
                .iter()
                .zip(&self.probs)
                .map(|(&v, &p)| match v > e {
                    true => tau * p * (v - e),
                    false => -(1.0 - tau) * p * (e - v),
                })
                .sum()
        };
        let (mut lo, mut hi) = self.range();
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            match excess(mid) > 0.0 {
                true => lo = mid,
                false => hi = mid,
            }
        }
        0.5 * (lo + hi)
    }

    /// Standard deviation.
    pub fn sd(&self) -> f64 {
        let m = self.mean();
        self.values
            .iter()
            .zip(&self.probs)
            .map(|(v, p)| p * (v - m).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// Smallest and largest magnitude.
    pub fn range(&self) -> (f64, f64) {
        (self.values[0], self.values[self.values.len() - 1])
    }

    /// One draw.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> f64 {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (v, p) in self.values.iter().zip(&self.probs) {
            acc += p;
            if u < acc {
                return *v;
            }
        }
        self.values[self.values.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_parsing() {
        let d = RewardDistribution::variable_magnitude();
        assert!((d.mean() - 5.209).abs() < 1e-9, "{}", d.mean());
        let p = RewardDistribution::parse("2:0.25, 1:0.75").unwrap();
        assert_eq!(p.values, vec![1.0, 2.0]);
        assert!(RewardDistribution::parse("1:0.5,2:0.4")
            .unwrap_err()
            .0
            .contains("sum to"));
        assert!(RewardDistribution::parse("1-0.5")
            .unwrap_err()
            .0
            .contains("value:probability"));
        assert!(RewardDistribution::parse("x:1")
            .unwrap_err()
            .0
            .contains("not a number"));
        assert!(RewardDistribution::parse("1:-0.5,2:1.5").is_err());
        assert!(RewardDistribution::variable_probability(1.5, 1.0).is_err());
    }

    #[test]
    fn expectiles_of_known_distributions() {
        // Two equal atoms at 0 and 1: tau (1 - e) = (1 - tau) e, so e = tau.
        let d = RewardDistribution::new(vec![(0.0, 0.5), (1.0, 0.5)]).unwrap();
        for tau in [0.1, 0.3, 0.5, 0.9] {
            assert!((d.expectile(tau) - tau).abs() < 1e-12, "tau {tau}");
        }
        // 0 w.p. 3/4, 4 w.p. 1/4: tau (4 - e) / 4 = 3 (1 - tau) e / 4, e = 4 tau / (3 - 2 tau).
        let d = RewardDistribution::new(vec![(0.0, 0.75), (4.0, 0.25)]).unwrap();
        for tau in [0.2, 0.5, 0.8] {
            let want = 4.0 * tau / (3.0 - 2.0 * tau);
            assert!((d.expectile(tau) - want).abs() < 1e-12, "tau {tau}");
        }
        assert!((d.expectile(0.5) - d.mean()).abs() < 1e-12);
        assert!((d.sd() - 3f64.sqrt()).abs() < 1e-12);
    }
}
