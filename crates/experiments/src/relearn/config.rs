//! The settings of `bench relearn` and their check.

use neuromod_core::ConfigError;
use neuromod_train::ModelKind;
use serde::{Deserialize, Serialize};

use crate::relearn::report;
use crate::ExperimentError;

/// Settings of the experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelearnConfig {
    /// Seeds 0..seeds (patterns, switch step, initialisation, noise).
    pub seeds: usize,
    /// World-model family (its filtering posterior).
    pub model: ModelKind,
    /// Old-rule sequences the world model trains on (80 % train, 20 % validation).
    pub train_sequences: usize,
    /// Steps per training sequence.
    pub train_steps: usize,
    /// Steps of the held-out stream.
    pub stream_steps: usize,
    /// The switch step is drawn uniformly from this range.
    pub switch_range: (usize, usize),
    /// Stream steps read per window before the world model learns on them.
    pub window: usize,
    /// Steps the online world model reads and learns on: the last `context` up to the window's end.
    pub context: usize,
    /// Adam steps of the world model after each window (0: it stops learning).
    pub online_updates: usize,
    /// Adam learning rate of those steps.
    pub online_lr: f64,
    /// World-model epochs on the old rule.
    pub epochs: usize,
    /// World-model recurrent width.
    pub h_dim: usize,
    /// World-model latent width.
    pub z_dim: usize,
    /// World-model MLP width.
    pub hidden: usize,
    /// Critic heads; discount.
    pub heads: usize,
    /// Critic discount.
    pub gamma: f64,
    /// Critic pretraining passes over the old rule's transitions.
    pub pretrain_epochs: usize,
    /// Critic pretraining Adam learning rate.
    pub pretrain_lr: f64,
    /// Critic online SGD learning rate (before the gate).
    pub critic_lr: f64,
    /// The report's analysis windows, declared before the run.
    #[serde(default)]
    pub windows: report::Windows,
    /// Probability that a pixel of the task shows the opposite value (sensory noise, in the
    /// old rule's sequences and in the stream alike; 0 in results that predate it).
    #[serde(default)]
    pub flip: f64,
    /// Steps before each step that the recent-window gates are normalised on.
    #[serde(default = "default_gate_window")]
    pub gate_window: usize,
    /// Steps from the true switch during which the oracle critic does not learn.
    #[serde(default = "default_oracle_pause")]
    pub oracle_pause: usize,
}

fn default_gate_window() -> usize {
    50
}

fn default_oracle_pause() -> usize {
    20
}

impl Default for RelearnConfig {
    fn default() -> Self {
        Self {
            seeds: 10,
            model: ModelKind::Vrnn,
            train_sequences: 100,
            train_steps: 60,
            stream_steps: 300,
            switch_range: (100, 200),
            window: 10,
            context: 40,
            online_updates: 5,
            online_lr: 3e-3,
            epochs: 60,
            h_dim: 64,
            z_dim: 8,
            hidden: 64,
            heads: 32,
            gamma: 0.9,
            pretrain_epochs: 60,
            pretrain_lr: 1e-3,
            critic_lr: 0.01,
            windows: report::Windows::default(),
            flip: 0.0,
            gate_window: default_gate_window(),
            oracle_pause: default_oracle_pause(),
        }
    }
}

impl RelearnConfig {
    /// Rejects settings that cannot run, naming them.
    pub fn check(&self) -> Result<(), ExperimentError> {
        let bad =
            |field, reason: &str| Err(ExperimentError::Config(ConfigError::new(field, reason)));
        let (lo, hi) = self.switch_range;
        if self.seeds == 0 {
            return bad("seeds", "must be at least 1");
        }
        let w = &self.windows;
        let all = w.spe.iter().chain([&w.value_early]).chain(&w.gate);
        if all.into_iter().any(|(from, to)| from >= to) {
            return bad("windows", "every window needs from < to");
        }
        if !(1 <= lo && lo < hi && hi <= self.stream_steps) {
            return bad(
                "switch_range",
                "needs 1 <= switch_range.0 < switch_range.1 <= stream_steps",
            );
        }
        if self.window == 0 || self.context < self.window {
            return bad("window", "needs 1 <= window <= context");
        }
        if !(0.0..0.5).contains(&self.flip) {
            return bad("flip", "must be in [0, 0.5)");
        }
        if self.gate_window < 2 {
            return bad("gate_window", "must be at least 2");
        }
        let crit = &w.criterion;
        if crit.run == 0
            || !(crit.factor.is_finite() && crit.factor > 0.0)
            || crit.baseline.0 >= crit.baseline.1
        {
            return bad(
                "windows.criterion",
                "needs run >= 1, factor > 0 and baseline.0 < baseline.1",
            );
        }
        if (lo as isize) + crit.baseline.0 < 1 {
            return bad(
                "windows.criterion.baseline",
                "must start at step 1 or later for the earliest switch",
            );
        }
        let rate = |v: f64| v.is_finite() && v >= 0.0;
        if !(rate(self.online_lr) && rate(self.critic_lr) && rate(self.pretrain_lr)) {
            return bad(
                "online_lr / critic_lr / pretrain_lr",
                "learning rates must be finite and >= 0",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_by_name() {
        RelearnConfig::default().check().unwrap();
        let refused = |c: RelearnConfig, field: &str| {
            let err = c.check().unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        };
        let d = RelearnConfig::default;
        refused(RelearnConfig { seeds: 0, ..d() }, "seeds");
        refused(
            RelearnConfig {
                switch_range: (200, 100),
                ..d()
            },
            "switch_range",
        );
        refused(RelearnConfig { context: 5, ..d() }, "window");
        let windows = report::Windows {
            value_early: (5, 5),
            ..Default::default()
        };
        refused(RelearnConfig { windows, ..d() }, "windows");
        let criterion = |c: report::Criterion| report::Windows {
            criterion: c,
            ..Default::default()
        };
        let no_run = criterion(report::Criterion {
            run: 0,
            ..Default::default()
        });
        refused(
            RelearnConfig {
                windows: no_run,
                ..d()
            },
            "windows.criterion",
        );
        // A switch at step 50 with a baseline from 60 steps before it would read step -10.
        refused(
            RelearnConfig {
                switch_range: (50, 60),
                ..d()
            },
            "windows.criterion.baseline",
        );
        refused(RelearnConfig { flip: 0.5, ..d() }, "flip");
        refused(
            RelearnConfig {
                critic_lr: -1.0,
                ..d()
            },
            "critic_lr",
        );
        refused(
            RelearnConfig {
                online_lr: f64::NAN,
                ..d()
            },
            "online_lr",
        );
    }
}
