//! Synthetic sequence generators (deterministic for a seed).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::SequenceSet;

/// A cycle through `states` binary sensory patterns with rare deviant transitions.
///
/// State s normally moves to (s + 1) mod `states`; with probability `deviant_rate` it jumps to a
/// uniformly chosen other state instead (a deviant). Each state shows a fixed random binary
/// pattern of `dim` pixels, each pixel flipped with probability `flip`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkovPatterns {
    /// Number of sequences.
    pub sequences: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Pixels per pattern.
    pub dim: usize,
    /// Number of states (patterns).
    pub states: usize,
    /// Probability that a transition is deviant.
    pub deviant_rate: f64,
    /// Per-pixel flip probability (sensory noise).
    pub flip: f64,
    /// Generator seed.
    pub seed: u64,
}

impl Default for MarkovPatterns {
    fn default() -> Self {
        Self {
            sequences: 200,
            steps: 50,
            dim: 16,
            states: 4,
            deviant_rate: 0.05,
            flip: 0.0,
            seed: 0,
        }
    }
}

/// Generated sequences and, per sequence and step, whether that step followed a deviant jump.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// Observations.
    pub data: SequenceSet,
    /// `deviant[i][t]`: step t of sequence i was reached by a deviant transition.
    pub deviant: Vec<Vec<bool>>,
    /// `state[i][t]`: the hidden state at step t of sequence i.
    pub state: Vec<Vec<usize>>,
}

/// Appends `pattern` to `out` with each pixel flipped (1 - p) with probability `flip`; with
/// `flip` 0 it draws nothing, so a generator without noise keeps its draws.
pub(crate) fn push_noisy(out: &mut Vec<f32>, pattern: &[f32], flip: f64, rng: &mut ChaCha8Rng) {
    for &p in pattern {
        let flipped = flip > 0.0 && rng.random_bool(flip);
        out.push(if flipped { 1.0 - p } else { p });
    }
}

impl MarkovPatterns {
    /// Generates the sequences.
    pub fn generate(&self) -> Generated {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let patterns: Vec<Vec<f32>> = (0..self.states)
            .map(|_| {
                (0..self.dim)
                    .map(|_| rng.random_range(0..2) as f32)
                    .collect()
            })
            .collect();
        let mut data = SequenceSet::new(self.dim);
        let mut deviant = Vec::with_capacity(self.sequences);
        let mut states = Vec::with_capacity(self.sequences);
        for _ in 0..self.sequences {
            let mut state = rng.random_range(0..self.states);
            let mut values = Vec::with_capacity(self.steps * self.dim);
            let mut labels = Vec::with_capacity(self.steps);
            let mut visited = Vec::with_capacity(self.steps);
            for t in 0..self.steps {
                let mut jumped = false;
                if t > 0 {
                    if self.states > 2 && rng.random_bool(self.deviant_rate) {
                        let skip = rng.random_range(2..self.states); // anything but s and s + 1
                        state = (state + skip) % self.states;
                        jumped = true;
                    } else {
                        state = (state + 1) % self.states;
                    }
                }
                push_noisy(&mut values, &patterns[state], self.flip, &mut rng);
                labels.push(jumped);
                visited.push(state);
            }
            data.sequences.push(values);
            deviant.push(labels);
            states.push(visited);
        }
        Generated {
            data,
            deviant,
            state: states,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_and_deviants_at_the_rate() {
        let cfg = MarkovPatterns {
            sequences: 100,
            steps: 100,
            ..Default::default()
        };
        let a = cfg.generate();
        assert_eq!(a, cfg.generate());
        assert_ne!(
            a.data,
            MarkovPatterns {
                seed: 1,
                ..cfg.clone()
            }
            .generate()
            .data
        );
        let n: usize = a.deviant.iter().flatten().filter(|&&d| d).count();
        let rate = n as f64 / (100.0 * 99.0);
        assert!((rate - 0.05).abs() < 0.01, "deviant rate {rate}");
        assert!(a.deviant.iter().all(|d| !d[0]));
    }
}
