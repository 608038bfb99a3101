//! The identity-shift task (after Takahashi et al. 2017): every trial one cue, a delay, an
//! outcome of fixed value whose *identity* (flavour A or B, a sensory pattern) is observed, and
//! an interval. Within a session the identity holds for a block of trials, then shifts to the
//! other at a trial drawn per session; the reward is 1 at every outcome, so its value never
//! changes. Deterministic per seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::tasks::{patterns, TaskData};

/// Steps of a trial: cue, delay, outcome, interval.
pub const TRIAL_STEPS: usize = 4;
/// Step of the outcome within a trial.
pub const OUTCOME_STEP: usize = 2;

/// The identity-shift task's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityShiftTask {
    /// Sessions (sequences).
    pub sessions: usize,
    /// Trials per session.
    pub trials: usize,
    /// Pixels per observation.
    pub dim: usize,
    /// Probability that the identity shifts at a trial (trial 0 excepted).
    pub hazard: f64,
    /// Probability that a pixel shows the opposite value (sensory noise).
    pub flip: f64,
    /// Generator seed.
    pub seed: u64,
}

impl Default for IdentityShiftTask {
    fn default() -> Self {
        Self {
            sessions: 200,
            trials: 32,
            dim: 16,
            hazard: 0.125,
            flip: 0.05,
            seed: 0,
        }
    }
}

/// Generated sessions with where each one shifts.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityShiftData {
    /// Observations and rewards; `state[i][t]` is the identity in force (0: A, 1: B); the
    /// state surprises are the first outcome of each new identity.
    pub task: TaskData,
    /// Per session, the first trial of each new identity.
    pub shifts: Vec<Vec<usize>>,
}

impl IdentityShiftTask {
    /// The entropy per step of a session's observations given everything before them, in
    /// nats, for an observer who knows the task's rules: the `dim` pixels each flipped with
    /// probability `flip`, plus the identity, drawn at the first trial (ln 2) and shifting
    /// with probability `hazard` at each later one, averaged over the session's steps. No
    /// world model's bound per step can go below it.
    pub fn noise_floor(&self) -> f64 {
        let h = |p: f64| {
            if p <= 0.0 || p >= 1.0 {
                0.0
            } else {
                -(p * p.ln() + (1.0 - p) * (1.0 - p).ln())
            }
        };
        let identity = std::f64::consts::LN_2 + (self.trials.max(1) - 1) as f64 * h(self.hazard);
        self.dim as f64 * h(self.flip) + identity / (self.trials.max(1) * TRIAL_STEPS) as f64
    }

    /// Generates the sessions; panics on a hazard outside [0, 1].
    pub fn generate(&self) -> IdentityShiftData {
        assert!(
            (0.0..=1.0).contains(&self.hazard),
            "a hazard is a probability"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let pats = patterns(&mut rng, 3, self.dim);
        let (cue, flavours) = (&pats[0], [&pats[1], &pats[2]]);
        let steps = self.trials * TRIAL_STEPS;
        let mut out = TaskData::new(self.dim);
        let mut shifts = Vec::with_capacity(self.sessions);
        for _ in 0..self.sessions {
            let mut identity = rng.random_range(0..2usize);
            let mut starts = Vec::new();
            let mut x = vec![0.0f32; steps * self.dim];
            let (mut r, mut surprise, mut state) =
                (vec![0.0f32; steps], vec![false; steps], vec![]);
            for trial in 0..self.trials {
                if trial > 0 && rng.random_bool(self.hazard) {
                    identity = 1 - identity;
                    starts.push(trial);
                }
                let at = |s: usize| (trial * TRIAL_STEPS + s) * self.dim;
                x[at(0)..at(1)].copy_from_slice(cue);
                let outcome = trial * TRIAL_STEPS + OUTCOME_STEP;
                x[at(OUTCOME_STEP)..at(OUTCOME_STEP + 1)].copy_from_slice(flavours[identity]);
                r[outcome] = 1.0;
                surprise[outcome] = trial == *starts.last().unwrap_or(&usize::MAX);
                state.extend([identity; TRIAL_STEPS]);
            }
            for v in &mut x {
                if rng.random_bool(self.flip) {
                    *v = 1.0 - *v;
                }
            }
            out.data.sequences.push(x);
            out.rewards.push(r);
            out.reward_surprise.push(vec![false; steps]);
            out.state_surprise.push(surprise);
            out.state.push(state);
            shifts.push(starts);
        }
        IdentityShiftData { task: out, shifts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_noise_floor_is_the_pixels_and_the_identitys_entropy() {
        let task = IdentityShiftTask::default();
        // 16 pixels, H(0.05) = 0.198515 nats each; the identity: ln 2 at the first trial,
        // H(0.125) = 0.376770 at each of the other 31, over 32 x 4 steps.
        let identity = (std::f64::consts::LN_2 + 31.0 * 0.376_770_161) / 128.0;
        assert!((task.noise_floor() - 16.0 * 0.198_515_243 - identity).abs() < 1e-6);
        let clean = IdentityShiftTask {
            flip: 0.0,
            hazard: 0.0,
            trials: 1,
            ..task
        };
        assert!((clean.noise_floor() - std::f64::consts::LN_2 / 4.0).abs() < 1e-12);
    }

    #[test]
    fn identities_alternate_at_a_constant_hazard_at_equal_value() {
        let task = IdentityShiftTask {
            flip: 0.0,
            ..Default::default()
        };
        let d = task.generate();
        let steps = task.trials * TRIAL_STEPS;
        let mut shifts = 0;
        for (i, starts) in d.shifts.iter().enumerate() {
            shifts += starts.len();
            assert!(starts.iter().all(|&s| (1..task.trials).contains(&s)));
            // Every outcome is rewarded 1, nothing else is.
            let r = &d.task.rewards[i];
            let outcome_step = |t: usize| t % TRIAL_STEPS == OUTCOME_STEP;
            assert!((0..steps).all(|t| r[t] == if outcome_step(t) { 1.0 } else { 0.0 }));
            // The outcome shows the identity in force; it changes exactly at the shifts, which
            // are the only state surprises.
            let x = &d.task.data.sequences[i];
            let outcome = |trial: usize| {
                let t = trial * TRIAL_STEPS + OUTCOME_STEP;
                x[t * task.dim..(t + 1) * task.dim].to_vec()
            };
            for trial in 1..task.trials {
                let changed = outcome(trial) != outcome(trial - 1);
                assert_eq!(
                    changed,
                    starts.contains(&trial),
                    "session {i} trial {trial}"
                );
                let t = trial * TRIAL_STEPS + OUTCOME_STEP;
                assert_eq!(d.task.state_surprise[i][t], changed);
                assert_eq!(d.task.state[i][t], d.task.state[i][t - OUTCOME_STEP]);
            }
            let labels = d.task.state_surprise[i].iter().filter(|&&b| b).count();
            assert_eq!(labels, starts.len());
        }
        // 200 sessions x 31 trials that may shift: the rate is the hazard (sd 0.004).
        let rate = shifts as f64 / (task.sessions * (task.trials - 1)) as f64;
        assert!((rate - 0.125).abs() < 0.02, "{rate}");
        // Both identities start sessions.
        assert!(d.task.state.iter().any(|s| s[0] == 0) && d.task.state.iter().any(|s| s[0] == 1));
    }
}
