//! Dissociation tasks for the SPE vs RPE benchmark (`docs/science.md`): observations x, rewards r
//! (not visible in x, except in the reward task with `observed` set) and ground-truth labels of
//! the surprise steps. Deterministic per seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::generate::{push_noisy, MarkovPatterns};
use crate::SequenceSet;

/// Reward magnitudes (ul) and probabilities of the mice variable-magnitude task (Dabney et al. 2020).
pub const VARIABLE_MAGNITUDE: [(f64, f64); 7] = [
    (0.1, 0.066),
    (0.3, 0.091),
    (1.2, 0.148),
    (2.5, 0.155),
    (5.0, 0.312),
    (10.0, 0.151),
    (20.0, 0.077),
];

/// Sequences with rewards and labelled surprise steps.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskData {
    /// Observations, one sequence per trial or episode.
    pub data: SequenceSet,
    /// `rewards[i][t]`: reward delivered at step t of sequence i (0 when none).
    pub rewards: Vec<Vec<f32>>,
    /// `reward_surprise[i][t]`: an outcome whose size could not be predicted.
    pub reward_surprise: Vec<Vec<bool>>,
    /// `state_surprise[i][t]`: an observation the task's own rule did not predict.
    pub state_surprise: Vec<Vec<bool>>,
    /// `state[i][t]`: the hidden state of the Markov-chain tasks (state, combined) at step t;
    /// empty for the others.
    pub state: Vec<Vec<usize>>,
}

impl TaskData {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            data: SequenceSet::new(dim),
            rewards: Vec::new(),
            reward_surprise: Vec::new(),
            state_surprise: Vec::new(),
            state: Vec::new(),
        }
    }
}

/// Draws a magnitude from [`VARIABLE_MAGNITUDE`].
fn draw_magnitude(rng: &mut ChaCha8Rng) -> f32 {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (value, p) in VARIABLE_MAGNITUDE {
        acc += p;
        if u < acc {
            return value as f32;
        }
    }
    VARIABLE_MAGNITUDE[VARIABLE_MAGNITUDE.len() - 1].0 as f32
}

/// Fixed random binary patterns, one per state.
pub(crate) fn patterns(rng: &mut ChaCha8Rng, states: usize, dim: usize) -> Vec<Vec<f32>> {
    (0..states)
        .map(|_| (0..dim).map(|_| rng.random_range(0..2) as f32).collect())
        .collect()
}

/// Reward surprise without state surprise: every trial shows the same sensory sequence (blank,
/// cue at `cue_step`, blank delay, outcome light `delay` steps later, blank) under sensory
/// noise (each pixel of each step flipped with probability `flip`, independently), and the
/// reward at the outcome step is drawn from the variable-magnitude distribution. Only the
/// outcome step is labelled (reward surprise); no step is a state surprise (the noise is the
/// same on every step, so no step is more surprising than another). Without the noise the
/// observations are identical every trial and a world model's latent collapses to its prior,
/// so an SPE could not answer anything there and its silence at reward surprises would hold
/// by construction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardTask {
    /// Trials (sequences).
    pub trials: usize,
    /// Steps per trial.
    pub steps: usize,
    /// Pixels per observation.
    pub dim: usize,
    /// Step of the cue.
    pub cue_step: usize,
    /// Steps from cue to outcome.
    pub delay: usize,
    /// Probability that a pixel shows the opposite value (sensory noise; 0: none).
    #[serde(default)]
    pub flip: f64,
    /// The reward is seen: the outcome step also shows its size as a thermometer code of its
    /// rank among the [`VARIABLE_MAGNITUDE`] sizes, in [`REWARD_PIXELS`] more pixels (rank k
    /// lights the first k + 1; never flipped), so a world model can predict it and be
    /// surprised by it. Observations are then `dim + REWARD_PIXELS` wide.
    #[serde(default)]
    pub observed: bool,
    /// Generator seed.
    pub seed: u64,
}

/// Pixels of the reward's thermometer code when the reward is seen.
pub const REWARD_PIXELS: usize = VARIABLE_MAGNITUDE.len();

impl Default for RewardTask {
    fn default() -> Self {
        Self {
            trials: 200,
            steps: 12,
            dim: 16,
            cue_step: 2,
            delay: 4,
            flip: 0.1,
            observed: false,
            seed: 0,
        }
    }
}

impl RewardTask {
    /// Observation width.
    pub fn width(&self) -> usize {
        self.dim + if self.observed { REWARD_PIXELS } else { 0 }
    }

    /// The step of the outcome.
    pub fn outcome_step(&self) -> usize {
        self.cue_step + self.delay
    }

    /// Generates the trials; panics if the outcome does not fit in a trial.
    pub fn generate(&self) -> TaskData {
        let outcome = self.outcome_step();
        assert!(outcome < self.steps, "outcome step {outcome} >= steps");
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let [cue, light]: [Vec<f32>; 2] = patterns(&mut rng, 2, self.dim)
            .try_into()
            .expect("two patterns");
        let w = self.width();
        let mut out = TaskData::new(w);
        for _ in 0..self.trials {
            let mut x = vec![0.0f32; self.steps * w];
            x[self.cue_step * w..self.cue_step * w + self.dim].copy_from_slice(&cue);
            x[outcome * w..outcome * w + self.dim].copy_from_slice(&light);
            let mut r = vec![0.0f32; self.steps];
            r[outcome] = draw_magnitude(&mut rng);
            if self.flip > 0.0 {
                for (k, v) in x.iter_mut().enumerate() {
                    // Only the sensory pixels (the reward code comes after them).
                    if k % w < self.dim && rng.random_bool(self.flip) {
                        *v = 1.0 - *v;
                    }
                }
            }
            if self.observed {
                let rank = VARIABLE_MAGNITUDE
                    .iter()
                    .position(|&(size, _)| size as f32 == r[outcome])
                    .expect("a drawn size");
                let code = outcome * w + self.dim;
                x[code..=code + rank].fill(1.0);
            }
            out.data.sequences.push(x);
            out.rewards.push(r);
            out.reward_surprise
                .push((0..self.steps).map(|t| t == outcome).collect());
            out.state_surprise.push(vec![false; self.steps]);
        }
        out
    }
}

/// State surprise without reward surprise: [`MarkovPatterns`] (rare deviant jumps, the
/// labels) with a reward of `reward` on every step. That reward is fully predictable and says
/// nothing about the states, so a critic has a value to learn and nothing to signal at a
/// deviant; whether its RPE stays quiet there, while the deviant moves its input, is a finding
/// rather than true by construction (with no reward at all, a zero-started critic stays exactly
/// silent whatever happens).
pub fn state_task(chain: &MarkovPatterns, reward: f32) -> TaskData {
    let generated = chain.generate();
    let steps = chain.steps;
    TaskData {
        rewards: vec![vec![reward; steps]; chain.sequences],
        reward_surprise: vec![vec![false; steps]; chain.sequences],
        state_surprise: generated.deviant,
        state: generated.state,
        data: generated.data,
    }
}

/// Contingency switch: a cycle through `states` patterns, s -> s + 1, that becomes s -> s + 2
/// (mod `states`, odd `states` so the new cycle still visits every state) at `switch_step` of
/// every sequence. The steps from the switch on whose pattern the old rule would not have
/// predicted are labelled state surprises. With `reward` > 0 every visit to state 0 delivers
/// that fixed reward (its size is never a surprise; when it comes moves with the rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchTask {
    /// Sequences.
    pub sequences: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Pixels per pattern.
    pub dim: usize,
    /// Number of states (odd).
    pub states: usize,
    /// First step under the new rule (`steps`: the old rule throughout).
    pub switch_step: usize,
    /// Reward on every visit to state 0 (0: no reward).
    #[serde(default)]
    pub reward: f32,
    /// Probability that a pixel shows the opposite value (sensory noise; 0: none, and then
    /// the draws are those of a task without the field).
    #[serde(default)]
    pub flip: f64,
    /// Generator seed.
    pub seed: u64,
}

impl Default for SwitchTask {
    fn default() -> Self {
        Self {
            sequences: 200,
            steps: 60,
            dim: 16,
            states: 5,
            switch_step: 30,
            reward: 0.0,
            flip: 0.0,
            seed: 0,
        }
    }
}

impl SwitchTask {
    /// Generates the sequences; panics on an even state count or a switch outside 1..=steps.
    /// The patterns depend on the seed only, so two tasks with one seed and different switch
    /// steps show the same states the same way.
    pub fn generate(&self) -> TaskData {
        assert!(
            self.states % 2 == 1 && self.states >= 3,
            "states must be odd, >= 3"
        );
        assert!(
            (1..=self.steps).contains(&self.switch_step),
            "switch outside the sequence"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let pats = patterns(&mut rng, self.states, self.dim);
        let mut out = TaskData::new(self.dim);
        for _ in 0..self.sequences {
            let mut state = rng.random_range(0..self.states);
            let (mut x, mut labels, mut r) = (Vec::new(), Vec::new(), Vec::new());
            for t in 0..self.steps {
                let mut surprise = false;
                if t > 0 {
                    let step = if t >= self.switch_step { 2 } else { 1 };
                    let next = (state + step) % self.states;
                    surprise = next != (state + 1) % self.states;
                    state = next;
                }
                push_noisy(&mut x, &pats[state], self.flip, &mut rng);
                labels.push(surprise);
                r.push(if state == 0 { self.reward } else { 0.0 });
            }
            out.data.sequences.push(x);
            out.rewards.push(r);
            out.reward_surprise.push(vec![false; self.steps]);
            out.state_surprise.push(labels);
        }
        out
    }
}

/// Both surprises, independent: a [`MarkovPatterns`] chain (deviants are the state surprises)
/// in which every visit to state 0 delivers a variable-magnitude reward (the reward
/// surprises), whatever the transition that led there.
pub fn combined_task(chain: &MarkovPatterns, reward_seed: u64) -> TaskData {
    let generated = chain.generate();
    let mut rng = ChaCha8Rng::seed_from_u64(reward_seed);
    let surprise: Vec<Vec<bool>> = generated
        .state
        .iter()
        .map(|seq| seq.iter().map(|&s| s == 0).collect())
        .collect();
    let rewards = surprise
        .iter()
        .map(|seq| {
            seq.iter()
                .map(|&v| if v { draw_magnitude(&mut rng) } else { 0.0 })
                .collect()
        })
        .collect();
    TaskData {
        rewards,
        reward_surprise: surprise,
        state_surprise: generated.deviant,
        state: generated.state,
        data: generated.data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_task_has_noisy_copies_of_one_sequence_and_variable_outcomes() {
        let task = RewardTask {
            trials: 4000,
            ..Default::default()
        }
        .generate();
        let clean = RewardTask {
            trials: 2,
            flip: 0.0,
            ..Default::default()
        }
        .generate();
        let first = &clean.data.sequences[0];
        assert!(clean.data.sequences.iter().all(|s| s == first));
        // Every pixel of every noisy trial differs from the clean one with probability 0.1.
        let flipped = task
            .data
            .sequences
            .iter()
            .flat_map(|s| {
                s.iter()
                    .zip(first)
                    .map(|(a, b)| f64::from(u8::from(a != b)))
            })
            .sum::<f64>()
            / (4000 * first.len()) as f64;
        assert!((flipped - 0.1).abs() < 0.005, "flip rate {flipped}");
        let outcome = RewardTask::default().outcome_step();
        let sizes: Vec<f32> = task.rewards.iter().map(|r| r[outcome]).collect();
        assert!(task.rewards.iter().all(|r| r
            .iter()
            .enumerate()
            .all(|(t, &v)| (t == outcome) == (v > 0.0))));
        // Empirical frequencies match the distribution (4000 draws: within 0.025).
        for (value, p) in VARIABLE_MAGNITUDE {
            let f = sizes.iter().filter(|&&s| s == value as f32).count() as f64 / 4000.0;
            assert!((f - p).abs() < 0.025, "{value}: {f} vs {p}");
        }
        assert!(task
            .reward_surprise
            .iter()
            .all(|l| l[outcome] && l.iter().filter(|&&b| b).count() == 1));
        assert!(task.state_surprise.iter().flatten().all(|&b| !b));
        assert_eq!(
            task,
            RewardTask {
                trials: 4000,
                ..Default::default()
            }
            .generate()
        );
    }

    #[test]
    fn switch_task_labels_exactly_the_steps_after_the_switch() {
        let cfg = SwitchTask::default();
        let task = cfg.generate();
        for labels in &task.state_surprise {
            for (t, &s) in labels.iter().enumerate() {
                assert_eq!(s, t >= cfg.switch_step, "step {t}");
            }
        }
        // The same pattern has one successor before the switch and another after it.
        let d = cfg.dim;
        let seq = &task.data.sequences[0];
        let at = |t: usize| &seq[t * d..(t + 1) * d];
        let a = cfg.switch_step - 8;
        let b = (cfg.switch_step..cfg.switch_step + cfg.states)
            .find(|&t| at(t) == at(a))
            .expect("the pattern recurs after the switch");
        assert_ne!(at(a + 1), at(b + 1));
        assert_eq!(at(a + cfg.states), at(a), "period before the switch");
        assert_eq!(at(b + cfg.states), at(b), "period after the switch");
        assert!(task.rewards.iter().flatten().all(|&r| r == 0.0));
        // With a reward, exactly the visits to state 0 (pattern of step `a` tells which) pay.
        let paid = SwitchTask {
            reward: 1.5,
            ..cfg.clone()
        }
        .generate();
        assert_eq!(paid.data, task.data);
        let zero = |t: usize| paid.rewards[0][t] > 0.0;
        for t in 0..cfg.steps {
            assert_eq!(zero(t), (0..cfg.steps).any(|u| zero(u) && at(u) == at(t)));
            assert!(paid.rewards[0][t] == 0.0 || paid.rewards[0][t] == 1.5);
        }
        let visits = (0..cfg.steps).filter(|&t| zero(t)).count();
        assert_eq!(visits, cfg.steps / cfg.states, "one visit per cycle");
        // Sensory noise flips pixels at its rate (the first sequence's states are drawn
        // before any flip, so they are the same and any difference is a flip).
        let noisy = SwitchTask {
            flip: 0.2,
            ..cfg.clone()
        }
        .generate();
        let differ = noisy.data.sequences[0]
            .iter()
            .zip(seq)
            .filter(|(a, b)| a != b)
            .count();
        let rate = differ as f64 / seq.len() as f64;
        assert!((rate - 0.2).abs() < 0.05, "flip rate {rate}");
    }

    #[test]
    fn combined_task_rewards_state_zero_independently_of_deviants() {
        let chain = MarkovPatterns {
            sequences: 300,
            steps: 40,
            ..Default::default()
        };
        let task = combined_task(&chain, 9);
        let visits: usize = task
            .reward_surprise
            .iter()
            .flatten()
            .filter(|&&b| b)
            .count();
        // A 4-state cycle visits state 0 about a quarter of the time.
        let frac = visits as f64 / (300.0 * 40.0);
        assert!((frac - 0.25).abs() < 0.03, "{frac}");
        for (r, l) in task.rewards.iter().zip(&task.reward_surprise) {
            assert!(r.iter().zip(l).all(|(&v, &b)| (v > 0.0) == b));
        }
        let deviants = task.state_surprise.iter().flatten().filter(|&&b| b).count();
        assert!(deviants > 0);
        assert_eq!(task.state_surprise, chain.generate().deviant);
        assert_eq!(state_task(&chain, 1.0).state_surprise, task.state_surprise);
        // The state task's reward is the same on every step: nothing to be surprised by.
        let state = state_task(&chain, 1.0);
        assert!(state.rewards.iter().flatten().all(|&r| r == 1.0));
        assert!(state.reward_surprise.iter().flatten().all(|&b| !b));
    }

    #[test]
    fn a_seen_reward_is_a_clean_thermometer_code_beside_the_same_noisy_scene() {
        let hidden = RewardTask::default();
        let seen = RewardTask {
            observed: true,
            ..RewardTask::default()
        };
        let (a, b) = (hidden.generate(), seen.generate());
        assert_eq!(a.rewards, b.rewards);
        let (d, w) = (hidden.dim, seen.width());
        assert_eq!((b.data.dim, w), (d + REWARD_PIXELS, d + 7));
        let outcome = seen.outcome_step();
        for (i, (xa, xb)) in a.data.sequences.iter().zip(&b.data.sequences).enumerate() {
            for t in 0..seen.steps {
                // The scene, noise included, is the hidden task's, pixel for pixel.
                assert_eq!(&xa[t * d..(t + 1) * d], &xb[t * w..t * w + d]);
                let code = &xb[t * w + d..(t + 1) * w];
                let lit = code.iter().filter(|&&v| v == 1.0).count();
                if t == outcome {
                    let rank = VARIABLE_MAGNITUDE
                        .iter()
                        .position(|&(size, _)| size as f32 == b.rewards[i][t])
                        .unwrap();
                    assert_eq!(lit, rank + 1, "trial {i}");
                    assert!(code[..=rank].iter().all(|&v| v == 1.0));
                } else {
                    assert_eq!(lit, 0, "trial {i} step {t}: the code is never flipped");
                }
            }
        }
    }

    // Read from the code before the observed variant (commit dbf97f8).
    const PINNED_LIT: f32 = 122.0;
    const PINNED_REWARDS: [f32; 3] = [1.2, 2.5, 2.5];

    #[test]
    fn the_hidden_reward_task_is_pinned() {
        // Values of RewardTask::default() (seed 0) as generated since before the observed
        // variant existed: adding it kept the random stream; this keeps it from moving.
        let d = RewardTask::default().generate();
        let lit: f32 = d.data.sequences[..3].iter().flatten().sum();
        let rewards: Vec<f32> = d.rewards[..3].iter().map(|r| r[6]).collect();
        assert_eq!((lit, rewards), (PINNED_LIT, PINNED_REWARDS.to_vec()));
    }
}
