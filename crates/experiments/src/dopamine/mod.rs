//! `neuromod dopamine`: distributional dopamine cells (Dabney et al. 2020) on a reward task:
//! they learn, are recorded, their reversal points and asymmetries are measured from
//! independent halves of the recorded trials, and the reward distribution is decoded from
//! those measurements alone, beside the classic-TD null, a Gaussian baseline and (for the
//! variable-magnitude task) decoding against firing noise ([`reward`], [`noise`]). The
//! three-cue task puts each cell's response to the 50 % cue between its responses to the 10 %
//! and 90 % cues ([`cues`]).

pub mod cues;
mod figures;
mod nan;
pub mod noise;
pub mod reward;

use neuromod_core::ConfigError;
use std::path::Path;

use neuromod_dopamine::{CellModel, Cells, RewardDistribution, Rule, TrialConfig};
use neuromod_plots::Format;
use serde::{Deserialize, Serialize};

use crate::runner::{Context, Experiment};
use crate::{pretty, write_file, ExperimentError};

/// Reward tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DopamineTask {
    /// Mice variable-magnitude task (7 sizes, 0.1..20 ul).
    VariableMagnitude,
    /// A fixed reward with probability `probability`.
    VariableProbability,
    /// The distribution given by `rewards`.
    Custom,
    /// Three cues predicting a reward of 1 with p = 0.1, 0.5, 0.9 in one population (Dabney et
    /// al. 2020); asymmetries measured on a variable-magnitude session of the same cells.
    ThreeCues,
}

/// Everything `neuromod dopamine` needs (its flags, with the `clap` feature).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct DopamineConfig {
    /// Reward task.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_enum, default_value = "variable-magnitude")
    )]
    pub task: DopamineTask,
    /// Learning rule.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value = "expectile"))]
    pub rule: Rule,
    /// The population: distributional cells, or a null model (docs/dopamine.md).
    #[serde(default = "distributional")]
    #[cfg_attr(
        feature = "clap",
        arg(long, value_enum, default_value = "distributional")
    )]
    pub model: CellModel,
    /// Number of cells (taus at (2i - 1) / 2N); 40 as in the variable-magnitude recordings.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 40))]
    pub cells: usize,
    /// Learning trials.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 200_000))]
    pub trials: usize,
    /// Recorded trials per reward size (or per cue) after learning; 15 as in the recordings.
    #[serde(default = "recorded_trials")]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 15))]
    pub recorded_trials: usize,
    /// Standard deviation of firing noise on each recorded response, in reward units (a
    /// classic cell fires its TD error); 7 matches recorded dopamine cells (docs/dopamine.md).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 7.0))]
    pub noise: f64,
    /// Seed.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0))]
    pub seed: u64,
    /// Reward probability for --task variable-probability (e.g. 0.1, 0.5, 0.9).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.5))]
    pub probability: f64,
    /// Distribution for --task custom: value:prob,value:prob,...
    #[cfg_attr(feature = "clap", arg(long))]
    pub rewards: Option<String>,
    /// Firing-noise levels of the decoding-against-noise sweep (noise.csv, noise.png), each a
    /// fresh simulation with the same seed; `--noise-sweep` with no value skips it.
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ',', num_args = 0..,
        default_value = "0,1,3.5,7,14"))]
    pub noise_sweep: Vec<f64>,
}

fn distributional() -> CellModel {
    CellModel::Distributional
}

fn recorded_trials() -> usize {
    TrialConfig::default().recorded_trials
}

impl Default for DopamineConfig {
    fn default() -> Self {
        Self {
            task: DopamineTask::VariableMagnitude,
            rule: Rule::Expectile,
            model: CellModel::Distributional,
            cells: 40,
            trials: 200_000,
            recorded_trials: 15,
            noise: 7.0,
            seed: 0,
            probability: 0.5,
            rewards: None,
            noise_sweep: vec![0.0, 1.0, 3.5, 7.0, 14.0],
        }
    }
}

/// Samples, starts of the expectile decoder.
pub(crate) const DECODE: (usize, usize) = (100, 200);

impl DopamineConfig {
    /// The task's reward distribution (the three-cue task's is only checked here; its cues are
    /// set in [`cues`]).
    pub fn distribution(&self) -> Result<RewardDistribution, ExperimentError> {
        let bad = |field, e: neuromod_dopamine::DistributionError| {
            ExperimentError::Config(ConfigError::new(field, e.to_string()))
        };
        match self.task {
            DopamineTask::VariableMagnitude => Ok(RewardDistribution::variable_magnitude()),
            DopamineTask::VariableProbability | DopamineTask::ThreeCues => {
                let (p, reward) = match self.task {
                    DopamineTask::ThreeCues => (0.5, neuromod_dopamine::CUE_REWARD),
                    _ => (self.probability, 1.0),
                };
                RewardDistribution::variable_probability(p, reward)
                    .map_err(|e| bad("probability", e))
            }
            DopamineTask::Custom => {
                let Some(text) = &self.rewards else {
                    return Err(ExperimentError::Config(ConfigError::new(
                        "rewards",
                        "the custom task needs value:prob,value:prob,...",
                    )));
                };
                RewardDistribution::parse(text).map_err(|e| bad("rewards", e))
            }
        }
    }

    /// How trials run and are recorded.
    pub fn trial_config(&self) -> TrialConfig {
        TrialConfig {
            trials: self.trials,
            recorded_trials: self.recorded_trials,
            noise: self.noise,
            seed: self.seed,
            ..TrialConfig::default()
        }
    }

    /// The model's cells (see [`CellModel`]) and the classic-TD null (every tau 0.5).
    pub fn populations(&self) -> Result<(Cells, Cells), ExperimentError> {
        let lr = self.trial_config().lr;
        let bad = |e: neuromod_dopamine::DistributionError| {
            ExperimentError::Config(ConfigError::new("cells", e.to_string()))
        };
        let dist = self.distribution()?;
        Ok((
            self.model.cells(self.cells, lr, &dist).map_err(bad)?,
            Cells::classic(self.cells, lr).map_err(bad)?,
        ))
    }
}

/// Rejects learning and recording settings that cannot run (shared by every dopamine
/// experiment), naming the field.
pub(crate) fn check_recording(c: &TrialConfig) -> Result<(), ExperimentError> {
    let bad = |field, reason: String| Err(ExperimentError::Config(ConfigError::new(field, reason)));
    if c.trials < 10 {
        return bad("trials", format!("must be at least 10, got {}", c.trials));
    }
    if c.recorded_trials < 2 {
        let got = c.recorded_trials;
        return bad(
            "recorded_trials",
            format!("must be at least 2 (one per half), got {got}"),
        );
    }
    if !(c.noise.is_finite() && c.noise >= 0.0) {
        return bad(
            "noise",
            format!("takes non-negative numbers, got {}", c.noise),
        );
    }
    Ok(())
}

/// What a dopamine run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum DopamineResult {
    /// A reward task (variable magnitude, variable probability, custom).
    Reward(reward::RewardRun),
    /// The three-cue task.
    ThreeCues(cues::CuesRun),
}

impl Experiment for DopamineConfig {
    const NAME: &'static str = "dopamine";
    /// One simulated population per seed.
    type Unit = u64;
    type UnitResult = DopamineResult;
    type Result = DopamineResult;

    fn check(&self) -> Result<(), ExperimentError> {
        let bad =
            |field, reason: String| Err(ExperimentError::Config(ConfigError::new(field, reason)));
        check_recording(&self.trial_config())?;
        if let Some(n) = self
            .noise_sweep
            .iter()
            .find(|n| !(n.is_finite() && **n >= 0.0))
        {
            return bad(
                "noise_sweep",
                format!("takes non-negative numbers, got {n}"),
            );
        }
        self.distribution()?;
        self.populations().map(|_| ())
    }

    fn units(&self) -> Vec<u64> {
        vec![self.seed]
    }

    fn run_unit(&self, &seed: &u64, _ctx: &Context) -> Result<DopamineResult, ExperimentError> {
        let config = DopamineConfig {
            seed,
            ..self.clone()
        };
        Ok(match self.task {
            DopamineTask::ThreeCues => DopamineResult::ThreeCues(cues::run(&config)?),
            _ => DopamineResult::Reward(reward::run(&config)?),
        })
    }

    /// Its JSON and `summary.json`.
    fn outputs(out: &Path) -> Vec<std::path::PathBuf> {
        vec![Self::json_path(out), out.join("summary.json")]
    }

    fn describe(result: &DopamineResult) -> String {
        let (c, what) = match result {
            DopamineResult::Reward(r) => {
                (&r.config, format!("{} cells measured", r.measured_cells))
            }
            DopamineResult::ThreeCues(r) => (&r.config, format!("{} cells", r.tau.len())),
        };
        format!("{:?} seed {}: {what}", c.task, c.seed)
    }

    fn finish(
        &self,
        mut runs: Vec<DopamineResult>,
        _ctx: &Context,
    ) -> Result<DopamineResult, ExperimentError> {
        runs.pop().ok_or_else(|| {
            ExperimentError::Config(ConfigError::new("seed", "no population was simulated"))
        })
    }

    /// `summary.json`, `dopamine.json` (every number), the CSV tables and the figures; the line
    /// is the summary.
    fn report(
        result: &DopamineResult,
        out: &Path,
        format: Format,
    ) -> Result<Vec<String>, ExperimentError> {
        let summary = summary(result);
        write_file(
            &out.join("summary.json"),
            pretty("the summary", &summary)?.as_bytes(),
        )?;
        write_file(
            &Self::json_path(out),
            pretty("the result", result)?.as_bytes(),
        )?;
        let files = match result {
            DopamineResult::Reward(r) => r.files(format)?,
            DopamineResult::ThreeCues(r) => r.files(format)?,
        };
        let mut lines = vec![summary.to_string()];
        for (name, bytes) in files.written {
            write_file(&out.join(name), &bytes)?;
        }
        lines.extend(files.notes);
        Ok(lines)
    }
}

/// The files a run's report writes besides its JSON (name, bytes), and what it could not draw.
#[derive(Debug, Default)]
pub struct Files {
    /// File name and contents.
    pub written: Vec<(String, Vec<u8>)>,
    /// Why a figure was not drawn.
    pub notes: Vec<String>,
}

/// The summary of a run: what `summary.json` holds.
pub fn summary(result: &DopamineResult) -> serde_json::Value {
    match result {
        DopamineResult::Reward(r) => r.summary(),
        DopamineResult::ThreeCues(r) => r.summary(),
    }
}
