//! The tasks the rules are compared on, after the benchmark tasks of Bellec et al. (2020) and
//! Liu et al. (2021, 2022), in discrete time steps:
//!
//! - [`Task::Pattern`]: pattern generation. A fixed input (frozen noise, the same every trial)
//!   and a fixed target, a sum of sinusoids; the output is scored at every step (the pattern
//!   generation task of Bellec et al. 2020 and Liu et al. 2021).
//! - [`Task::DelayedMatch`]: delayed match-to-sample. Two cues (each one of two inputs),
//!   separated by a delay; after a second delay the output says whether they matched (+1) or
//!   not (-1), scored over the response window only (Liu et al. 2021's delayed match-to-sample;
//!   the "delayed XOR" of Liu et al. 2022, whose target is 1 for a match).
//! - [`Task::Evidence`]: evidence accumulation. A train of left / right cues (the majority side
//!   drawn per trial), a delay, then the output reports the side that had more cues (+1 / -1)
//!   over the response window (Morcos & Harvey 2016, as used by Bellec et al. 2020 and Liu et
//!   al. 2021). Figure numbers are not given: the papers' full texts were not at hand.
//!
//! Timings are in steps; trials are drawn from a seeded generator, so a seed gives the same
//! trials on every device.

use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::network::Trials;

/// A benchmark task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Pattern generation.
    Pattern,
    /// Delayed match-to-sample.
    DelayedMatch,
    /// Evidence accumulation.
    Evidence,
}

/// Steps of a pattern-generation trial.
pub const PATTERN_STEPS: usize = 100;
/// Cue, delay and response lengths of a delayed match-to-sample trial.
const CUE: usize = 5;
const DELAY: usize = 10;
const RESPONSE: usize = 5;
/// Cues, their spacing and the response window of an evidence-accumulation trial.
const EVIDENCE_CUES: usize = 7;
const CUE_EVERY: usize = 4;

impl Task {
    /// Every task.
    pub const ALL: [Task; 3] = [Task::Pattern, Task::DelayedMatch, Task::Evidence];

    /// Its name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Task::Pattern => "pattern",
            Task::DelayedMatch => "delayed-match",
            Task::Evidence => "evidence",
        }
    }

    /// Input channels.
    pub fn inputs(self) -> usize {
        match self {
            Task::Pattern => 10,
            // Cue A, cue B, a go signal.
            Task::DelayedMatch => 3,
            // Left, right, go.
            Task::Evidence => 3,
        }
    }

    /// Readout channels.
    pub fn outputs(self) -> usize {
        match self {
            Task::Pattern => 2,
            _ => 1,
        }
    }

    /// Steps per trial.
    pub fn steps(self) -> usize {
        match self {
            Task::Pattern => PATTERN_STEPS,
            Task::DelayedMatch => 2 * CUE + 2 * DELAY + RESPONSE,
            Task::Evidence => EVIDENCE_CUES * CUE_EVERY + DELAY + RESPONSE,
        }
    }

    /// `batch` trials. The pattern task's input and target come from `task_seed` alone (the
    /// same every batch); the others draw each trial from `rng`.
    pub fn trials(
        self,
        batch: usize,
        task_seed: u64,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Trials {
        let (t_len, i_len, k_len) = (self.steps(), self.inputs(), self.outputs());
        let mut x = vec![0f32; batch * t_len * i_len];
        let mut y = vec![0f32; batch * t_len * k_len];
        let mut m = vec![0f32; batch * t_len];
        let at = |b: usize, t: usize, c: usize, w: usize| (b * t_len + t) * w + c;
        match self {
            Task::Pattern => {
                let mut fixed = ChaCha8Rng::seed_from_u64(task_seed);
                let input: Vec<f32> = (0..t_len * i_len)
                    .map(|_| {
                        if fixed.random::<f32>() < 0.1 {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let waves: Vec<(f32, f32, f32)> = (0..k_len * 3)
                    .map(|_| {
                        let period = [25.0, 50.0, 100.0][fixed.random_range(0..3)];
                        (
                            fixed.random_range(0.5..1.0),
                            period,
                            fixed.random_range(0.0..std::f32::consts::TAU),
                        )
                    })
                    .collect();
                for b in 0..batch {
                    for t in 0..t_len {
                        for c in 0..i_len {
                            x[at(b, t, c, i_len)] = input[t * i_len + c];
                        }
                        for k in 0..k_len {
                            let v: f32 = waves[k * 3..(k + 1) * 3]
                                .iter()
                                .map(|(a, p, ph)| {
                                    a * (std::f32::consts::TAU * t as f32 / p + ph).sin()
                                })
                                .sum();
                            y[at(b, t, k, k_len)] = v / 3.0;
                        }
                        m[b * t_len + t] = 1.0;
                    }
                }
            }
            Task::DelayedMatch => {
                for b in 0..batch {
                    let (first, second) = (rng.random_range(0..2), rng.random_range(0..2));
                    let answer = if first == second { 1.0 } else { -1.0 };
                    for t in 0..CUE {
                        x[at(b, t, first, i_len)] = 1.0;
                        x[at(b, CUE + DELAY + t, second, i_len)] = 1.0;
                    }
                    for t in t_len - RESPONSE..t_len {
                        x[at(b, t, 2, i_len)] = 1.0;
                        y[at(b, t, 0, k_len)] = answer;
                        m[b * t_len + t] = 1.0;
                    }
                }
            }
            Task::Evidence => {
                for b in 0..batch {
                    let right_more = rng.random::<bool>();
                    let p_right = if right_more { 0.75 } else { 0.25 };
                    let mut right = 0;
                    for c in 0..EVIDENCE_CUES {
                        let side = usize::from(rng.random::<f64>() < p_right);
                        right += side;
                        for t in c * CUE_EVERY..c * CUE_EVERY + 2 {
                            x[at(b, t, side, i_len)] = 1.0;
                        }
                    }
                    // The side that had more cues (7 cues: never a tie).
                    let answer = if 2 * right > EVIDENCE_CUES { 1.0 } else { -1.0 };
                    for t in t_len - RESPONSE..t_len {
                        x[at(b, t, 2, i_len)] = 1.0;
                        y[at(b, t, 0, k_len)] = answer;
                        m[b * t_len + t] = 1.0;
                    }
                }
            }
        }
        let tensor3 = |v: Vec<f32>, w: usize| {
            Tensor::<1>::from_floats(v.as_slice(), device).reshape([batch, t_len, w])
        };
        Trials {
            x: tensor3(x, i_len),
            target: tensor3(y, k_len),
            mask: Tensor::<1>::from_floats(m.as_slice(), device).reshape([batch, t_len]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(deprecated)]
    fn cpu() -> Device {
        Device::ndarray()
    }

    fn v<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn every_task_is_shaped_as_it_says_and_scores_only_its_window() {
        for task in Task::ALL {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let tr = task.trials(16, 3, &mut rng, &cpu());
            assert_eq!(tr.x.dims(), [16, task.steps(), task.inputs()], "{task:?}");
            assert_eq!(tr.target.dims(), [16, task.steps(), task.outputs()]);
            let scored = v(tr.mask.clone()).iter().sum::<f32>();
            let want = match task {
                Task::Pattern => 16 * task.steps(),
                _ => 16 * RESPONSE,
            };
            assert_eq!(scored as usize, want, "{task:?}");
        }
    }

    #[test]
    fn delayed_match_answers_whether_the_cues_matched_and_evidence_the_majority() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let task = Task::DelayedMatch;
        let tr = task.trials(64, 0, &mut rng, &cpu());
        let (x, y) = (v(tr.x), v(tr.target));
        let (t_len, i_len) = (task.steps(), task.inputs());
        let (mut matches, mut seen) = (0, 0);
        for b in 0..64 {
            let cue = |t: usize| {
                (0..2)
                    .find(|&c| x[(b * t_len + t) * i_len + c] == 1.0)
                    .unwrap()
            };
            let same = cue(0) == cue(CUE + DELAY);
            assert_eq!(y[b * t_len + t_len - 1], if same { 1.0 } else { -1.0 });
            matches += usize::from(same);
            seen += 1;
        }
        assert!(matches > 16 && matches < 48, "{matches} of {seen}");
        let task = Task::Evidence;
        let tr = task.trials(64, 0, &mut rng, &cpu());
        let (x, y) = (v(tr.x), v(tr.target));
        let t_len = task.steps();
        for b in 0..64 {
            let count = |c: usize| {
                (0..EVIDENCE_CUES)
                    .filter(|k| x[(b * t_len + k * CUE_EVERY) * 3 + c] == 1.0)
                    .count()
            };
            let want = if count(1) > count(0) { 1.0 } else { -1.0 };
            assert_eq!(y[b * t_len + t_len - 1], want, "trial {b}");
        }
    }

    #[test]
    fn the_pattern_is_the_same_every_batch_and_other_tasks_draw_new_trials() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let a = Task::Pattern.trials(2, 9, &mut rng, &cpu());
        let b = Task::Pattern.trials(2, 9, &mut rng, &cpu());
        assert_eq!(v(a.x), v(b.x));
        assert_eq!(v(a.target), v(b.target));
        let a = Task::Evidence.trials(8, 9, &mut rng, &cpu());
        let b = Task::Evidence.trials(8, 9, &mut rng, &cpu());
        assert_ne!(v(a.x), v(b.x));
    }
}
