//! The dissociation tasks of `bench science` (generators in `neuromod_datasets::tasks`) and the
//! kinds of surprise a response ratio is measured on.

use neuromod_datasets::convergent::ConvergentTask;
use neuromod_datasets::cue_task::CueTask;
use neuromod_datasets::generate::MarkovPatterns;
use neuromod_datasets::tasks::{combined_task, state_task, RewardTask, SwitchTask, TaskData};
use serde::{Deserialize, Serialize};

/// A dissociation task (generators in `neuromod_datasets::tasks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Task {
    /// Cue -> delay -> outcome, identical observations, variable-magnitude reward.
    Reward,
    /// Markov chain of patterns with deviant transitions (rate 0.05), no reward.
    State,
    /// A 5-cycle s -> s+1 that becomes s -> s+2 halfway; reward 1 at state 0.
    Switch,
    /// Deviant transitions and variable-magnitude rewards at state 0, independent.
    Combined,
    /// The reward task with the reward seen: its size is part of the outcome's observation.
    Observed,
    /// Several origins jump into one target state, equidistant patterns, no reward: the
    /// deviant's origin is in the direction of the surprise only.
    Convergent,
    /// A conditioning stream with random cue times: a reward cue (reward omitted 20%), a cue
    /// predicting a rare state and a neutral cue, equally surprising at their onsets.
    Cue,
}

impl Task {
    /// Every task, in report order.
    pub const ALL: [Task; 7] = [
        Task::Reward,
        Task::State,
        Task::Switch,
        Task::Combined,
        Task::Observed,
        Task::Convergent,
        Task::Cue,
    ];

    /// True for the Markov-chain tasks: a sequence is a window of a continuing process, so
    /// the critic bootstraps at its last step; reward-task trials (seen or not) are episodes.
    pub fn continuing(self) -> bool {
        !matches!(self, Task::Reward | Task::Observed)
    }

    /// The cue task's generator for `sequences` and `seed` (its events label the analysis).
    pub fn cue_task(sequences: usize, seed: u64) -> CueTask {
        CueTask {
            sequences,
            seed,
            ..Default::default()
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Task::Reward => "reward",
            Task::State => "state",
            Task::Switch => "switch",
            Task::Combined => "combined",
            Task::Observed => "observed",
            Task::Convergent => "convergent",
            Task::Cue => "cue",
        }
    }

    /// The task's sequences for one seed (the seed also picks the sensory patterns).
    pub fn generate(self, sequences: usize, seed: u64) -> TaskData {
        let chain = MarkovPatterns {
            sequences,
            seed,
            ..Default::default()
        };
        match self {
            Task::Reward => RewardTask {
                trials: sequences,
                seed,
                ..Default::default()
            }
            .generate(),
            Task::State => state_task(&chain, 1.0),
            Task::Switch => SwitchTask {
                sequences,
                seed,
                reward: 1.0,
                ..Default::default()
            }
            .generate(),
            Task::Combined => combined_task(&chain, seed.wrapping_add(1_000)),
            Task::Observed => RewardTask {
                trials: sequences,
                seed,
                observed: true,
                ..Default::default()
            }
            .generate(),
            Task::Convergent => ConvergentTask {
                sequences,
                seed,
                ..Default::default()
            }
            .generate(),
            Task::Cue => Self::cue_task(sequences, seed).generate().task,
        }
    }
}

/// The kind of surprise a ratio is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Surprise {
    /// Steps whose reward size could not be predicted.
    Reward,
    /// Steps whose observation the task's rule did not predict.
    State,
}
