//! A conditioning stream with random cue times, for the signatures of temporal-difference
//! learning: the RPE's move from the reward to the cue and its dip at an omitted reward
//! (Schultz, Dayan & Montague 1997), and a cue that predicts a later rare state, where a
//! successor-feature TD error with gamma > 0 can answer at the cue while the one-step SPE
//! answers at the state (Glaescher et al. 2010).
//!
//! Each sequence is a window of a continuing stream of trials: a blank inter-trial interval of
//! a uniformly drawn length, a cue, blank delay steps, an outcome step. Three cues, equally
//! likely, each lighting its own block of pixels: the reward cue (its outcome delivers the
//! reward, omitted with probability `omission`), the predictive cue (its outcome step shows a
//! fourth block, the rare state X, and nothing else does) and the neutral cue (nothing
//! follows). Cue patterns are equidistant from the blank and from each other, so the onset of
//! each is the same one-step surprise; only what it predicts differs. The reward is never seen.
//! Every pixel of every step is flipped with probability `flip`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::generate::push_noisy;
use crate::tasks::TaskData;

/// The three cues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Cue {
    /// Its outcome delivers the reward (unless omitted).
    Reward,
    /// Its outcome step shows the rare state X.
    Predictive,
    /// Nothing follows it.
    Neutral,
}

impl Cue {
    /// Every cue, in block order.
    pub const ALL: [Cue; 3] = [Cue::Reward, Cue::Predictive, Cue::Neutral];
}

/// What a step of the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Inter-trial interval or delay: a blank step.
    Blank,
    /// The onset of a cue.
    Cue(Cue),
    /// The outcome step of a trial begun by this cue; `delivered` is false for an omitted
    /// reward (and for the cues that never deliver one).
    Outcome(Cue, bool),
}

/// The conditioning stream (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CueTask {
    /// Sequences (windows of the stream).
    pub sequences: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Pixels per block (observations are 4 blocks wide: three cues and X).
    pub block: usize,
    /// Shortest and longest inter-trial interval (blank steps before a cue), inclusive.
    pub iti: (usize, usize),
    /// Steps from a cue to its outcome (at least 1).
    pub delay: usize,
    /// Probability that the reward cue's reward is omitted.
    pub omission: f64,
    /// Reward size.
    pub reward: f32,
    /// Per-pixel flip probability.
    pub flip: f64,
    /// Generator seed.
    pub seed: u64,
}

impl Default for CueTask {
    fn default() -> Self {
        Self {
            sequences: 200,
            steps: 60,
            block: 4,
            iti: (3, 8),
            delay: 3,
            omission: 0.2,
            reward: 1.0,
            flip: 0.05,
            seed: 0,
        }
    }
}

/// A generated stream: the task's data and what every step is.
#[derive(Debug, Clone, PartialEq)]
pub struct CueData {
    /// Observations, rewards and labels: reward surprises at the reward cue's outcomes
    /// (delivered or omitted), state surprises at every cue onset and every X.
    pub task: TaskData,
    /// `events[i][t]`: what step t of sequence i is.
    pub events: Vec<Vec<Event>>,
}

impl CueTask {
    /// Observation width.
    pub fn width(&self) -> usize {
        4 * self.block
    }

    /// The block a step lights, if any: a cue's own, or X (block 3) at a predictive outcome.
    fn block_of(event: Event) -> Option<usize> {
        match event {
            Event::Cue(c) => Cue::ALL.iter().position(|&k| k == c),
            Event::Outcome(Cue::Predictive, _) => Some(3),
            _ => None,
        }
    }

    /// The noise-free observation of a step.
    pub fn pattern(&self, event: Event) -> Vec<f32> {
        let lit = Self::block_of(event);
        (0..self.width())
            .map(|p| f32::from(Some(p / self.block) == lit))
            .collect()
    }

    /// The events of one sequence: it starts at a uniformly drawn point of an interval.
    fn events(&self, rng: &mut ChaCha8Rng) -> Vec<Event> {
        let mut out = Vec::with_capacity(self.steps);
        let mut wait = rng.random_range(0..=self.iti.1);
        while out.len() < self.steps {
            out.extend(std::iter::repeat_n(Event::Blank, wait));
            let cue = Cue::ALL[rng.random_range(0..3)];
            out.push(Event::Cue(cue));
            out.extend(std::iter::repeat_n(Event::Blank, self.delay - 1));
            let delivered = cue == Cue::Reward && !rng.random_bool(self.omission);
            out.push(Event::Outcome(cue, delivered));
            wait = rng.random_range(self.iti.0..=self.iti.1);
        }
        out.truncate(self.steps);
        out
    }

    /// Generates the stream. Panics on a zero delay or block, or an empty interval range.
    pub fn generate(&self) -> CueData {
        assert!(
            self.delay >= 1 && self.block >= 1,
            "delay and block must be >= 1"
        );
        assert!(self.iti.0 <= self.iti.1, "iti: shortest above longest");
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut task = TaskData::new(self.width());
        let mut events = Vec::with_capacity(self.sequences);
        for _ in 0..self.sequences {
            let ev = self.events(&mut rng);
            let mut values = Vec::with_capacity(self.steps * self.width());
            for &e in &ev {
                push_noisy(&mut values, &self.pattern(e), self.flip, &mut rng);
            }
            task.data.sequences.push(values);
            task.rewards.push(
                ev.iter()
                    .map(|e| match e {
                        Event::Outcome(_, true) => self.reward,
                        _ => 0.0,
                    })
                    .collect(),
            );
            task.reward_surprise.push(
                ev.iter()
                    .map(|e| matches!(e, Event::Outcome(Cue::Reward, _)))
                    .collect(),
            );
            task.state_surprise.push(
                ev.iter()
                    .map(|e| matches!(e, Event::Cue(_) | Event::Outcome(Cue::Predictive, _)))
                    .collect(),
            );
            events.push(ev);
        }
        CueData { task, events }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_follow_the_design_and_cues_are_equidistant() {
        let task = CueTask {
            sequences: 300,
            flip: 0.0,
            ..Default::default()
        };
        let blank = task.pattern(Event::Blank);
        let dist =
            |a: &[f32], b: &[f32]| -> f32 { a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum() };
        for a in Cue::ALL {
            let pa = task.pattern(Event::Cue(a));
            assert_eq!(dist(&pa, &blank), task.block as f32);
            for b in Cue::ALL.into_iter().filter(|&b| b != a) {
                assert_eq!(
                    dist(&pa, &task.pattern(Event::Cue(b))),
                    2.0 * task.block as f32
                );
            }
        }
        let data = task.generate();
        assert_eq!(data, task.generate());
        let (mut cues, mut omitted, mut rewarded) = ([0usize; 3], 0, 0);
        let mut gaps = Vec::new();
        for (i, ev) in data.events.iter().enumerate() {
            let mut last_outcome = None;
            for (t, &e) in ev.iter().enumerate() {
                let x = &data.task.data.sequences[i][t * task.width()..(t + 1) * task.width()];
                assert_eq!(x, task.pattern(e).as_slice(), "sequence {i} step {t}");
                let r = data.task.rewards[i][t];
                match e {
                    Event::Cue(c) => {
                        cues[c as usize] += 1;
                        if let Some(o) = last_outcome {
                            gaps.push(t - o - 1);
                        }
                        // Its outcome, `delay` steps later, is its own.
                        if let Some(&Event::Outcome(k, _)) = ev.get(t + task.delay) {
                            assert_eq!(k, c);
                        }
                    }
                    Event::Outcome(c, delivered) => {
                        last_outcome = Some(t);
                        assert_eq!(r, if delivered { 1.0 } else { 0.0 });
                        assert!(!delivered || c == Cue::Reward);
                        if c == Cue::Reward {
                            rewarded += usize::from(delivered);
                            omitted += usize::from(!delivered);
                        }
                        assert!(
                            t < task.delay || matches!(ev[t - task.delay], Event::Cue(k) if k == c)
                        );
                    }
                    Event::Blank => assert_eq!(r, 0.0),
                }
            }
        }
        // Intervals span their range; cues are equally likely; omissions at their rate.
        assert_eq!(gaps.iter().min(), Some(&3));
        assert_eq!(gaps.iter().max(), Some(&8));
        let total: usize = cues.iter().sum();
        assert!(
            cues.iter()
                .all(|&n| (n as f64 / total as f64 - 1.0 / 3.0).abs() < 0.03),
            "{cues:?}"
        );
        let rate = omitted as f64 / (omitted + rewarded) as f64;
        assert!((rate - 0.2).abs() < 0.04, "omission rate {rate}");
    }
}
