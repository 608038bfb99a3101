//! Trials of cue -> delay -> outcome, learned by per-cell distributional TD.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::{Cells, RewardDistribution, Rule};

/// How trials run and how the cells are then recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialConfig {
    /// Learning trials.
    pub trials: usize,
    /// Steps between cue and outcome (at least 1).
    pub delay_steps: usize,
    /// Discount per step.
    pub gamma: f64,
    /// Base learning rate (a classic cell's).
    pub lr: f64,
    /// Recorded trials per reward magnitude after learning (values frozen), for the tuning
    /// curves: delivered in rounds, each round every magnitude once in a random order.
    pub recorded_trials: usize,
    /// Standard deviation of Gaussian firing noise added to every recorded response.
    pub noise: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for TrialConfig {
    fn default() -> Self {
        Self {
            trials: 200_000,
            delay_steps: 3,
            gamma: 0.9,
            lr: 0.05,
            recorded_trials: 500,
            noise: 1.0,
            seed: 0,
        }
    }
}

/// What learning and recording produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// Each cell's value just before the outcome, averaged over the last tenth of learning.
    pub value: Vec<f64>,
    /// Each cell's value at the cue state (same averaging).
    pub cue_value: Vec<f64>,
    /// Recorded outcome responses: `responses[k]` = (reward, one response per cell), in
    /// rounds of every magnitude once.
    pub responses: Vec<(f64, Vec<f64>)>,
    /// Magnitudes per round of the recording.
    pub per_round: usize,
    /// Mean recorded cue response per cell (gamma V(cue) - 0: the cue comes unpredictably).
    pub cue_response: Vec<f64>,
}

/// One trial of TD learning for cell `i` along its state chain `v` (cue, delay steps, the last
/// step before an outcome of reward `r`): each state moves toward gamma times the next one, the
/// last toward `r`, by the cell's asymmetric rule at learning-rate scale `scale`.
pub(crate) fn td_trial(
    cells: &Cells,
    i: usize,
    v: &mut [f64],
    r: f64,
    (rule, scale, gamma): (Rule, f64, f64),
) {
    let k = v.len() - 1;
    for s in 0..k {
        let delta = gamma * v[s + 1] - v[s];
        v[s] += cells.update(i, delta, rule, scale);
    }
    let delta = r - v[k];
    v[k] += cells.update(i, delta, rule, scale);
}

impl Simulation {
    /// Which half (0 or 1) recorded trial `k` belongs to: alternate rounds, so each half holds
    /// every magnitude equally often and the two are independent.
    pub fn half(&self, k: usize) -> usize {
        (k / self.per_round.max(1)) % 2
    }
}

/// Learns `cells` on `dist` with `rule`, then records noisy outcome responses
/// (`cfg.recorded_trials` per magnitude; firing by [`Cells::response`] plus Gaussian noise).
///
/// The learning rate decays as lr / (1 + 200 t / trials) and the reported values are averaged
/// over the last tenth of the trials (Polyak averaging), so both rules settle. The sign rule
/// still needs a step much smaller than |tau - F(r)| to resolve a tau lying within that
/// distance of a step F(r) of the reward CDF.
pub fn simulate(
    cells: &Cells,
    dist: &RewardDistribution,
    rule: Rule,
    cfg: &TrialConfig,
) -> Simulation {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let n = cells.len();
    let k = cfg.delay_steps.max(1);
    // v[i][s]: cell i, state s = 0 (cue) .. k (last delay step before the outcome).
    let mut v = vec![vec![0.0f64; k + 1]; n];
    let avg_from = cfg.trials - cfg.trials / 10;
    let (mut sum_last, mut sum_cue, mut counted) = (vec![0.0; n], vec![0.0; n], 0usize);
    for trial in 0..cfg.trials {
        let scale = 1.0 / (1.0 + 200.0 * trial as f64 / cfg.trials as f64);
        let r = dist.sample(&mut rng);
        let averaging = trial >= avg_from;
        counted += usize::from(averaging);
        for (i, vi) in v.iter_mut().enumerate() {
            td_trial(cells, i, vi, r, (rule, scale, cfg.gamma));
            if averaging {
                sum_last[i] += vi[k];
                sum_cue[i] += vi[0];
            }
        }
    }
    let c = counted.max(1) as f64;
    let value: Vec<f64> = sum_last.iter().map(|s| s / c).collect();
    let cue_value: Vec<f64> = sum_cue.iter().map(|s| s / c).collect();
    let noise = Normal::new(0.0, cfg.noise.max(0.0)).expect("non-negative sd");
    let mut round: Vec<f64> = dist
        .values
        .iter()
        .zip(&dist.probs)
        .filter(|(_, p)| **p > 0.0)
        .map(|(v, _)| *v)
        .collect();
    let per_round = round.len();
    let mut responses = Vec::with_capacity(cfg.recorded_trials * per_round);
    let mut cue_response = vec![0.0; n];
    for _ in 0..cfg.recorded_trials {
        round.shuffle(&mut rng);
        for &r in &round {
            let fire: Vec<f64> = (0..n)
                .map(|i| cells.response(i, r - value[i]) + noise.sample(&mut rng))
                .collect();
            for (i, cr) in cue_response.iter_mut().enumerate() {
                *cr += cells.response(i, cfg.gamma * cue_value[i]) + noise.sample(&mut rng);
            }
            responses.push((r, fire));
        }
    }
    for cr in &mut cue_response {
        *cr /= responses.len().max(1) as f64;
    }
    Simulation {
        value,
        cue_value,
        responses,
        per_round,
        cue_response,
    }
}
