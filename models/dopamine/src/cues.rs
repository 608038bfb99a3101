//! The variable-probability task (Dabney et al. 2020): several cues in one population, each
//! predicting the same reward with its own probability. Distributional cells respond to the
//! middle cue according to their asymmetry: an optimistic cell's response to the 50 % cue lies
//! nearer its response to the 90 % cue, a pessimistic cell's nearer the 10 % cue, and a
//! classic-TD cell's halfway.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::simulate::td_trial;
use crate::{Cells, RewardDistribution, Rule, TrialConfig};

/// What learning and recording on several cues produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CueSimulation {
    /// `cue_value[c][i]`: cell i's value at cue c's state, averaged over the last tenth of
    /// learning.
    pub cue_value: Vec<Vec<f64>>,
    /// `cue_response[c][i]`: cell i's mean recorded (noisy) response to cue c.
    pub cue_response: Vec<Vec<f64>>,
}

/// Learns `cells` on trials that each start with one of `cues` (drawn uniformly; cue c's
/// reward from `cues[c]`), with the same schedule as [`crate::simulate`]: TD over the delay
/// steps of each cue's own chain, learning rate lr / (1 + 200 t / trials), values averaged over
/// the last tenth. Then records `cfg.recorded_trials` trials of each cue: the response to a cue is the TD
/// error of its unpredictable onset, gamma V(cue) - 0, scaled by the cell's asymmetric slope,
/// plus Gaussian noise.
///
/// # Panics
/// Without cues.
pub fn simulate_cues(
    cells: &Cells,
    cues: &[RewardDistribution],
    rule: Rule,
    cfg: &TrialConfig,
) -> CueSimulation {
    assert!(!cues.is_empty(), "at least one cue");
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (n, k, m) = (cells.len(), cfg.delay_steps.max(1), cues.len());
    // v[c][i][s]: cue c, cell i, state s = 0 (cue) .. k (last step before the outcome).
    let mut v = vec![vec![vec![0.0f64; k + 1]; n]; m];
    let avg_from = cfg.trials - cfg.trials / 10;
    let (mut sum, mut counted) = (vec![vec![0.0; n]; m], vec![0usize; m]);
    for trial in 0..cfg.trials {
        let scale = 1.0 / (1.0 + 200.0 * trial as f64 / cfg.trials as f64);
        let c = rng.random_range(0..m);
        let r = cues[c].sample(&mut rng);
        let averaging = trial >= avg_from;
        counted[c] += usize::from(averaging);
        for (i, vi) in v[c].iter_mut().enumerate() {
            td_trial(cells, i, vi, r, (rule, scale, cfg.gamma));
            if averaging {
                sum[c][i] += vi[0];
            }
        }
    }
    let cue_value: Vec<Vec<f64>> = sum
        .iter()
        .zip(&counted)
        .map(|(s, &n)| s.iter().map(|x| x / n.max(1) as f64).collect())
        .collect();
    let noise = Normal::new(0.0, cfg.noise.max(0.0)).expect("non-negative sd");
    let mut total = vec![vec![0.0; n]; m];
    for _ in 0..cfg.recorded_trials {
        for (c, tc) in total.iter_mut().enumerate() {
            for (i, t) in tc.iter_mut().enumerate() {
                *t += cells.response(i, cfg.gamma * cue_value[c][i]) + noise.sample(&mut rng);
            }
        }
    }
    let cue_response = total
        .iter()
        .map(|t| {
            t.iter()
                .map(|x| x / cfg.recorded_trials.max(1) as f64)
                .collect()
        })
        .collect();
    CueSimulation {
        cue_value,
        cue_response,
    }
}

/// Where a cell's response to the middle cue lies between its responses to the lowest and the
/// highest cue: (R_mid - R_low) / (R_high - R_low); 0.5 for a classic-TD cell on cues whose
/// values are linear in the probability. NaN when the outer responses do not differ.
pub fn relative_response(low: f64, mid: f64, high: f64) -> f64 {
    if (high - low).abs() > 1e-12 {
        (mid - low) / (high - low)
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cue_values_are_the_expectiles_of_each_cue_and_order_the_middle_response() {
        let cues: Vec<RewardDistribution> = [0.1, 0.5, 0.9]
            .iter()
            .map(|&p| RewardDistribution::variable_probability(p, 1.0).unwrap())
            .collect();
        let cells = Cells::spread(10, 0.05).unwrap();
        let cfg = TrialConfig {
            noise: 0.0,
            ..TrialConfig::default()
        };
        let sim = simulate_cues(&cells, &cues, Rule::Expectile, &cfg);
        let g3 = cfg.gamma.powi(cfg.delay_steps as i32);
        for (c, d) in cues.iter().enumerate() {
            for (i, &tau) in cells.tau.iter().enumerate() {
                let want = g3 * d.expectile(tau);
                let got = sim.cue_value[c][i];
                assert!(
                    (got - want).abs() < 0.02,
                    "cue {c} tau {tau}: {got} vs {want}"
                );
            }
        }
        let rho: Vec<f64> = (0..10)
            .map(|i| {
                let r = |c: usize| sim.cue_response[c][i];
                relative_response(r(0), r(1), r(2))
            })
            .collect();
        assert!(rho.windows(2).all(|w| w[0] < w[1]), "{rho:?}");
        assert!(rho[0] < 0.5 && rho[9] > 0.5, "{rho:?}");
        // Classic-TD cells sit halfway: values linear in the probability.
        let classic = Cells::classic(4, 0.05).unwrap();
        let null = simulate_cues(&classic, &cues, Rule::Expectile, &cfg);
        for i in 0..4 {
            let r = |c: usize| null.cue_response[c][i];
            let rel = relative_response(r(0), r(1), r(2));
            assert!((rel - 0.5).abs() < 0.03, "classic cell {i}: {rel}");
        }
    }
}
