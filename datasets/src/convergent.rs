//! A task where the kind of a deviant is invisible to the size of the surprise and to the state
//! it reaches: several origins jump into one target state, with equidistant patterns.
//!
//! A cycle 0 -> 1 -> ... -> S-1 -> 0 of `states` states; each state lights its own block of
//! `block` pixels (all other pixels dark), so every pair of patterns differs in exactly
//! 2 `block` pixels. From an origin (any state but the target 0 and its predecessor S-1) the
//! chain jumps to the target with probability `deviant_rate` instead of moving on. Every
//! deviant then reaches the same state (the posterior's class is the target's) and replaces the
//! expected pattern by one at the same distance (the observed surprise has the same size for
//! every origin); only its direction, from the expected state to the target, names the origin.
//! Each pixel of each step is flipped with probability `flip`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::generate::push_noisy;
use crate::tasks::TaskData;

/// The convergent-deviant task (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergentTask {
    /// Sequences.
    pub sequences: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// States of the cycle (at least 4: two origins or more).
    pub states: usize,
    /// Pixels lit by each state (observations are `states * block` wide).
    pub block: usize,
    /// Probability that a transition from an origin jumps to the target.
    pub deviant_rate: f64,
    /// Per-pixel flip probability (sensory noise).
    pub flip: f64,
    /// Generator seed.
    pub seed: u64,
}

impl Default for ConvergentTask {
    fn default() -> Self {
        Self {
            sequences: 200,
            steps: 50,
            states: 6,
            block: 4,
            deviant_rate: 0.1,
            flip: 0.05,
            seed: 0,
        }
    }
}

/// The state every deviant jumps into.
pub const TARGET: usize = 0;

impl ConvergentTask {
    /// Observation width.
    pub fn width(&self) -> usize {
        self.states * self.block
    }

    /// The states a deviant can start from: all but the target and its predecessor.
    pub fn origins(&self) -> Vec<usize> {
        (0..self.states)
            .filter(|&s| s != TARGET && (s + 1) % self.states != TARGET)
            .collect()
    }

    /// The noise-free pattern of a state.
    pub fn pattern(&self, state: usize) -> Vec<f32> {
        (0..self.width())
            .map(|p| f32::from(p / self.block == state))
            .collect()
    }

    /// Generates the sequences; no rewards (all 0), no reward surprises; deviant steps are the
    /// state surprises. Panics with fewer than 4 states or an empty block.
    pub fn generate(&self) -> TaskData {
        assert!(
            self.states >= 4,
            "a convergent task needs at least 4 states"
        );
        assert!(self.block > 0, "a state needs at least one pixel");
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let origins = self.origins();
        let patterns: Vec<Vec<f32>> = (0..self.states).map(|s| self.pattern(s)).collect();
        let mut out = TaskData::new(self.width());
        for _ in 0..self.sequences {
            let mut state = rng.random_range(0..self.states);
            let mut values = Vec::with_capacity(self.steps * self.width());
            let mut surprise = Vec::with_capacity(self.steps);
            let mut visited = Vec::with_capacity(self.steps);
            for t in 0..self.steps {
                let mut jumped = false;
                if t > 0 {
                    if origins.contains(&state) && rng.random_bool(self.deviant_rate) {
                        state = TARGET;
                        jumped = true;
                    } else {
                        state = (state + 1) % self.states;
                    }
                }
                push_noisy(&mut values, &patterns[state], self.flip, &mut rng);
                surprise.push(jumped);
                visited.push(state);
            }
            out.data.sequences.push(values);
            out.rewards.push(vec![0.0; self.steps]);
            out.reward_surprise.push(vec![false; self.steps]);
            out.state_surprise.push(surprise);
            out.state.push(visited);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_equidistant_and_every_deviant_reaches_the_target_from_an_origin() {
        let task = ConvergentTask {
            sequences: 100,
            flip: 0.0,
            ..Default::default()
        };
        assert_eq!(task.origins(), vec![1, 2, 3, 4]);
        for a in 0..task.states {
            for b in 0..task.states {
                let d: f32 = task
                    .pattern(a)
                    .iter()
                    .zip(task.pattern(b))
                    .map(|(x, y)| (x - y).abs())
                    .sum();
                let want = if a == b { 0.0 } else { 2.0 * task.block as f32 };
                assert_eq!(d, want, "{a} vs {b}");
            }
        }
        let data = task.generate();
        assert_eq!(data, task.generate());
        let (mut deviants, mut eligible) = (0, 0);
        let mut from = [0usize; 6];
        for (i, (s, d)) in data.state.iter().zip(&data.state_surprise).enumerate() {
            for t in 1..task.steps {
                let origin = task.origins().contains(&s[t - 1]);
                eligible += usize::from(origin);
                if d[t] {
                    deviants += 1;
                    from[s[t - 1]] += 1;
                    assert!(origin && s[t] == TARGET, "sequence {i} step {t}");
                } else {
                    assert_eq!(s[t], (s[t - 1] + 1) % task.states);
                }
                // Noise-free observations are the state's pattern.
                let x = &data.data.sequences[i][t * task.width()..(t + 1) * task.width()];
                assert_eq!(x, task.pattern(s[t]).as_slice());
            }
        }
        let rate = deviants as f64 / eligible as f64;
        assert!((rate - 0.1).abs() < 0.02, "deviant rate {rate}");
        // Every origin jumps, none other does.
        assert!(from[1..5].iter().all(|&n| n > 20), "{from:?}");
        assert_eq!(from[0] + from[5], 0);
        assert!(data.rewards.iter().flatten().all(|&r| r == 0.0));
    }

    #[test]
    fn flips_change_pixels_at_their_rate() {
        let task = ConvergentTask {
            sequences: 50,
            flip: 0.2,
            ..Default::default()
        };
        let data = task.generate();
        let (mut flipped, mut total) = (0usize, 0usize);
        for (i, s) in data.state.iter().enumerate() {
            for (t, &state) in s.iter().enumerate() {
                let x = &data.data.sequences[i][t * task.width()..(t + 1) * task.width()];
                flipped += x
                    .iter()
                    .zip(task.pattern(state))
                    .filter(|(a, b)| **a != *b)
                    .count();
                total += task.width();
            }
        }
        let rate = flipped as f64 / total as f64;
        assert!((rate - 0.2).abs() < 0.01, "flip rate {rate}");
    }
}
