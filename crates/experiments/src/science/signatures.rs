//! Temporal-difference signatures on the cue task (`neuromod_datasets::cue_task`): every signal
//! at each kind of step (cue onsets, the reward delivered or omitted, the rare state X, the
//! neutral cue's outcome, other blanks), and the critic's RPE at the same steps over its
//! training (snapshots at [`SNAPSHOTS`] epochs and the last).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use neuromod_critic::DistCritic;
use neuromod_datasets::cue_task::{Cue, Event};

use crate::critic_fit::{rpe_groups, Latents};
use crate::{host, ExperimentError};

/// Critic epochs at which the RPE is read (those within the run's epochs, and the last).
pub const SNAPSHOTS: [usize; 8] = [0, 1, 2, 4, 8, 16, 32, 64];

/// True when the critic after `epoch` of `last` epochs is read.
pub fn snapshot_wanted(epoch: usize, last: usize) -> bool {
    epoch == last || SNAPSHOTS.contains(&epoch)
}

/// Mean of a signal over the steps of each kind (step 0 of a sequence excluded: nothing
/// predicts it). NaN for a kind with no step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EventMeans {
    /// At the onsets of the reward, predictive and neutral cues.
    pub cue: [f64; 3],
    /// At the reward cue's outcome, reward delivered.
    pub delivered: f64,
    /// At the reward cue's outcome, reward omitted.
    pub omitted: f64,
    /// At X, the predictive cue's outcome.
    pub rare: f64,
    /// At the neutral cue's outcome (a blank step).
    pub neutral_outcome: f64,
    /// At every other blank step.
    pub blank: f64,
}

/// Slot of a step in [`EventMeans`]: 0-2 cues, 3 delivered, 4 omitted, 5 X, 6 neutral
/// outcome, 7 blank.
fn slot(e: Event) -> usize {
    match e {
        Event::Cue(c) => Cue::ALL.iter().position(|&k| k == c).expect("a cue"),
        Event::Outcome(Cue::Reward, true) => 3,
        Event::Outcome(Cue::Reward, false) => 4,
        Event::Outcome(Cue::Predictive, _) => 5,
        Event::Outcome(Cue::Neutral, _) => 6,
        Event::Blank => 7,
    }
}

/// Means of `v` `[n * steps]` (row i * steps + t) at each kind of step of `events` `[n][steps]`.
pub fn event_means(v: &[f32], events: &[Vec<Event>]) -> EventMeans {
    let mut sum = [0.0f64; 8];
    let mut count = [0usize; 8];
    let steps = events.first().map_or(0, Vec::len);
    for (i, ev) in events.iter().enumerate() {
        for (t, &e) in ev.iter().enumerate().skip(1) {
            sum[slot(e)] += v[i * steps + t] as f64;
            count[slot(e)] += 1;
        }
    }
    let m: Vec<f64> = sum
        .iter()
        .zip(count)
        .map(|(s, c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect();
    EventMeans {
        cue: [m[0], m[1], m[2]],
        delivered: m[3],
        omitted: m[4],
        rare: m[5],
        neutral_outcome: m[6],
        blank: m[7],
    }
}

/// What the cue task measured for one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signatures {
    /// The critic's mean RPE (mean over heads) at each kind of step, per critic epoch read.
    pub over_training: Vec<(usize, EventMeans)>,
    /// Every signal of the run (trained critic) at each kind of step.
    pub signals: BTreeMap<String, EventMeans>,
}

/// The signatures of one run: the critic snapshots' RPEs on the held-out latents `eval`, and
/// the run's signals `values` (named `names`, aligned to the step they answer) at the held-out
/// `events`.
pub fn signatures(
    snapshots: &[(usize, DistCritic)],
    eval: &Latents,
    (names, values): (&[String], &[Vec<f32>]),
    events: &[Vec<Event>],
) -> Result<Signatures, ExperimentError> {
    let mut over_training = Vec::with_capacity(snapshots.len());
    for (epoch, critic) in snapshots {
        let all: Vec<usize> = (0..critic.heads()).collect();
        let rpe = rpe_groups(critic, eval, &[all]).remove(0);
        over_training.push((*epoch, event_means(&host(rpe, "RPE")?, events)));
    }
    let signals = names
        .iter()
        .zip(values)
        .map(|(n, v)| (n.clone(), event_means(v, events)))
        .collect();
    Ok(Signatures {
        over_training,
        signals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_step_gets_its_own_mean_and_step_zero_none() {
        use Event::{Blank, Outcome};
        let cue = Event::Cue;
        let events = vec![
            vec![
                cue(Cue::Reward),
                Blank,
                Outcome(Cue::Reward, true),
                cue(Cue::Predictive),
            ],
            vec![
                Blank,
                cue(Cue::Neutral),
                Outcome(Cue::Neutral, false),
                Blank,
            ],
            vec![
                Blank,
                Outcome(Cue::Predictive, false),
                Outcome(Cue::Reward, false),
                Blank,
            ],
        ];
        let v: Vec<f32> = (0..12).map(|k| k as f32).collect();
        let m = event_means(&v, &events);
        // Row 0 step 0 (a reward cue) is skipped: no reward-cue onset remains.
        assert!(m.cue[0].is_nan());
        assert_eq!(m.cue[1], 3.0);
        assert_eq!(m.cue[2], 5.0);
        assert_eq!((m.delivered, m.omitted, m.rare), (2.0, 10.0, 9.0));
        assert_eq!(m.neutral_outcome, 6.0);
        // Blanks at rows (0, 1), (1, 3), (2, 3); (2, 0) is step 0.
        assert_eq!(m.blank, (1.0 + 7.0 + 11.0) / 3.0);
        assert!(snapshot_wanted(0, 60) && snapshot_wanted(60, 60) && !snapshot_wanted(3, 60));
    }
}
