//! `neuromod bench dabney`: the analyses of Dabney et al. 2020 on simulated animals at the
//! paper's sizes, for the distributional population and each null model through one pipeline
//! ([`neuromod_dopamine::study_animal`]), beside the published values (the `published` module).
//! Every model sees the same animals (seeds), so the comparison is paired.

pub mod critic;
mod published;
mod report;

use neuromod_core::ConfigError;
use neuromod_dopamine::TrialConfig;
use neuromod_dopamine::{study_animal, AnimalStats, CellModel, RewardDistribution, Rule};
use neuromod_plots::Format;
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::runner::{Context, Experiment};
use crate::ExperimentError;

pub use report::{summarise, Row};

/// A recorded population: cells of a model, or the distributional critic's heads on a world
/// model's latent state ([`critic`]). Named in JSON by its name (`"distributional"`, ...,
/// `"critic"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Population {
    /// Simulated cells.
    Cells(CellModel),
    /// A critic's heads.
    Critic,
}

impl Population {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Population::Cells(m) => m.name(),
            Population::Critic => "critic",
        }
    }
}

impl From<Population> for String {
    fn from(p: Population) -> String {
        p.name().to_string()
    }
}

impl TryFrom<String> for Population {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        if name == "critic" {
            return Ok(Population::Critic);
        }
        CellModel::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .map(Population::Cells)
            .ok_or_else(|| format!("no population is called {name}"))
    }
}

/// Samples and random starts of the expectile decoder (fewer than `neuromod dopamine`'s: it
/// runs seven decodes per animal).
const DECODE: (usize, usize) = (60, 40);

/// Everything `bench dabney` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct DabneyConfig {
    /// Simulated animals (seeds `seed`, `seed + 1`, ...), each with every model.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 20))]
    pub animals: usize,
    /// The populations compared.
    #[cfg_attr(
        feature = "clap",
        arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "distributional,classical,baseline-bias,asymmetric-scaling"
        )
    )]
    pub models: Vec<CellModel>,
    /// Cells per animal (40 variable-magnitude cells were recorded).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 40))]
    pub cells: usize,
    /// Recorded trials per reward size (and per cue); about 15 in the recordings.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 15))]
    pub recorded_trials: usize,
    /// Firing noise per recorded response (reward units); 7 matches recorded cells.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 7.0))]
    pub noise: f64,
    /// Learning trials.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 200_000))]
    pub trials: usize,
    /// Learning rule of the distributional cells.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value = "expectile"))]
    pub rule: Rule,
    /// The first animal's seed.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0))]
    pub seed: u64,
    /// Significance level of the per-animal tests.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.05))]
    pub alpha: f64,
    /// Also record the distributional critic's heads on a world model's latent state, one
    /// critic per animal (`--no-critic`: the cell models only; a saved config without the
    /// field predates the critic and reads as false).
    #[cfg_attr(
        feature = "clap",
        arg(long = "no-critic", action = clap::ArgAction::SetFalse)
    )]
    #[serde(default)]
    pub critic: bool,
    /// Epochs of each critic animal's world model.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 80))]
    #[serde(default = "critic::default_world_epochs")]
    pub critic_world_epochs: usize,
    /// Passes of each critic animal's critic over its training transitions.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 300))]
    #[serde(default = "critic::default_critic_epochs")]
    pub critic_epochs: usize,
}

impl Default for DabneyConfig {
    fn default() -> Self {
        Self {
            animals: 20,
            models: CellModel::ALL.to_vec(),
            cells: 40,
            recorded_trials: 15,
            noise: 7.0,
            trials: 200_000,
            rule: Rule::Expectile,
            seed: 0,
            alpha: 0.05,
            critic: true,
            critic_world_epochs: critic::default_world_epochs(),
            critic_epochs: critic::default_critic_epochs(),
        }
    }
}

impl DabneyConfig {
    /// The populations recorded, in table order.
    pub fn populations(&self) -> Vec<Population> {
        let mut p: Vec<Population> = self.models.iter().map(|&m| Population::Cells(m)).collect();
        if self.critic {
            p.push(Population::Critic);
        }
        p
    }

    fn trial_config(&self, seed: u64) -> TrialConfig {
        TrialConfig {
            trials: self.trials,
            recorded_trials: self.recorded_trials,
            noise: self.noise,
            seed,
            ..TrialConfig::default()
        }
    }
}

/// One animal of one model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Animal {
    /// The population.
    pub model: Population,
    /// Its seed.
    pub seed: u64,
    /// What was measured.
    pub stats: AnimalStats,
}

/// Every animal and the table made of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DabneyResult {
    /// The settings.
    pub config: DabneyConfig,
    /// Every animal of every model, in unit order.
    pub animals: Vec<Animal>,
    /// The table: one row per analysis.
    pub rows: Vec<Row>,
}

impl Experiment for DabneyConfig {
    const NAME: &'static str = "dabney";
    type Unit = (Population, u64);
    type UnitResult = Animal;
    type Result = DabneyResult;

    fn check(&self) -> Result<(), ExperimentError> {
        let bad =
            |field, reason: String| Err(ExperimentError::Config(ConfigError::new(field, reason)));
        if self.animals < 2 {
            return bad("animals", format!("needs at least 2, got {}", self.animals));
        }
        if self.models.is_empty() && !self.critic {
            return bad("models", "name at least one, or keep the critic".into());
        }
        if let Some(m) = self
            .models
            .iter()
            .enumerate()
            .find_map(|(i, m)| self.models[..i].contains(m).then_some(m))
        {
            return bad("models", format!("{} is named twice", m.name()));
        }
        if self.seed.checked_add(self.animals as u64).is_none() {
            return bad(
                "seed",
                format!("{} + {} animals overflows", self.seed, self.animals),
            );
        }
        if self.cells < 3 {
            return bad(
                "cells",
                format!("a correlation needs at least 3, got {}", self.cells),
            );
        }
        crate::dopamine::check_recording(&self.trial_config(self.seed))?;
        for (field, epochs) in [
            ("critic_world_epochs", self.critic_world_epochs),
            ("critic_epochs", self.critic_epochs),
        ] {
            if self.critic && epochs == 0 {
                return bad(field, "the critic animals need at least one".into());
            }
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad("alpha", format!("must lie in (0, 1), got {}", self.alpha));
        }
        Ok(())
    }

    fn units(&self) -> Vec<(Population, u64)> {
        self.populations()
            .into_iter()
            .flat_map(|m| (0..self.animals as u64).map(move |a| (m, a)))
            .map(|(m, a)| (m, self.seed + a))
            .collect()
    }

    fn run_unit(
        &self,
        &(model, seed): &(Population, u64),
        ctx: &Context,
    ) -> Result<Animal, ExperimentError> {
        let cells_model = match model {
            Population::Cells(m) => m,
            Population::Critic => {
                let stats = critic::critic_animal(self, seed, &ctx.out, &ctx.device)?;
                return Ok(Animal { model, seed, stats });
            }
        };
        let cfg = self.trial_config(seed);
        let dist = RewardDistribution::variable_magnitude();
        let cells = cells_model
            .cells(self.cells, cfg.lr, &dist)
            .map_err(|e| ExperimentError::Config(ConfigError::new("cells", e.to_string())))?;
        Ok(Animal {
            model,
            seed,
            stats: study_animal(&cells, self.rule, &cfg, DECODE),
        })
    }

    fn describe(a: &Animal) -> String {
        let s = &a.stats;
        format!(
            "{} seed {}: split-half r {:.2}, asymmetry-reversal rho {:.2} (p {:.3})",
            a.model.name(),
            a.seed,
            s.split_half.r,
            s.asymmetry_reversal.r,
            s.asymmetry_reversal.p
        )
    }

    fn finish(
        &self,
        animals: Vec<Animal>,
        _ctx: &Context,
    ) -> Result<DabneyResult, ExperimentError> {
        Ok(DabneyResult {
            rows: summarise(self, &animals),
            config: self.clone(),
            animals,
        })
    }

    /// `dabney.json`, `dabney.md` (the table) and `dabney.png`.
    fn report(
        result: &DabneyResult,
        out: &Path,
        format: Format,
    ) -> Result<Vec<String>, ExperimentError> {
        report::write(result, out, format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::Device;

    #[test]
    fn bad_settings_are_refused_by_name() {
        let field = |c: DabneyConfig| match c.check() {
            Err(ExperimentError::Config(e)) => e.field,
            other => panic!("{other:?}"),
        };
        let twice = vec![CellModel::Classical, CellModel::Classical];
        let base = DabneyConfig::default();
        assert_eq!(
            field(DabneyConfig {
                models: twice,
                ..base.clone()
            }),
            "models"
        );
        assert_eq!(
            field(DabneyConfig {
                seed: u64::MAX,
                ..base.clone()
            }),
            "seed"
        );
        assert_eq!(
            field(DabneyConfig {
                recorded_trials: 1,
                ..base.clone()
            }),
            "recorded_trials"
        );
        assert_eq!(field(DabneyConfig { alpha: 1.0, ..base }), "alpha");
    }

    #[allow(deprecated)]
    #[test]
    fn every_analysis_has_a_row_with_one_cell_per_model_over_paired_animals() {
        let config = DabneyConfig {
            animals: 2,
            models: vec![CellModel::Distributional, CellModel::Classical],
            trials: 5_000,
            critic: false,
            ..DabneyConfig::default()
        };
        config.check().unwrap();
        let ctx = Context::new(Device::ndarray(), "ndarray", Path::new("."));
        let animals: Vec<Animal> = config
            .units()
            .iter()
            .map(|u| config.run_unit(u, &ctx).unwrap())
            .collect();
        // Every model sees the same seeds.
        let seeds = |m| {
            animals
                .iter()
                .filter(|a| a.model == m)
                .map(|a| a.seed)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            seeds(Population::Cells(CellModel::Distributional)),
            seeds(Population::Cells(CellModel::Classical))
        );
        let result = config.finish(animals, &ctx).unwrap();
        assert_eq!(result.rows.len(), published::ANALYSES.len());
        for row in &result.rows {
            assert_eq!(row.cells.len(), 2, "{}", row.analysis);
            assert!(row.cells.iter().all(|c| c.n <= 2 && c.tested <= 2));
        }
        let md = report::markdown(&result);
        assert!(
            md.contains("P = 0.32") && md.contains("| classical |"),
            "{md}"
        );
    }

    #[test]
    fn populations_are_named_in_json_by_their_names() {
        for p in [
            Population::Cells(CellModel::BaselineBias),
            Population::Critic,
        ] {
            let text = serde_json::to_string(&p).unwrap();
            assert_eq!(text, format!("\"{}\"", p.name()));
            assert_eq!(serde_json::from_str::<Population>(&text).unwrap(), p);
        }
        let err = serde_json::from_str::<Population>("\"bogus\"").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[allow(deprecated)]
    #[test]
    fn a_critic_animal_is_recorded_and_measured_like_cells() {
        // Tiny: a world model of 2 epochs and a critic of 20 passes; what is checked is the
        // pipeline (every head measured from its trials, decoded, controls run), not the fit.
        let config = DabneyConfig {
            animals: 2,
            models: vec![],
            cells: 8,
            recorded_trials: 4,
            critic_world_epochs: 2,
            critic_epochs: 20,
            ..DabneyConfig::default()
        };
        config.check().unwrap();
        assert_eq!(
            config.units(),
            vec![(Population::Critic, 0), (Population::Critic, 1)]
        );
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::new(Device::ndarray(), "ndarray", dir.path());
        let a = config.run_unit(&(Population::Critic, 0), &ctx).unwrap();
        assert_eq!(a.model, Population::Critic);
        let s = &a.stats;
        assert_eq!(s.split_half.n, 8, "{s:?}");
        assert!(
            s.optimism_across_tasks.r.is_nan(),
            "no cue task for a critic"
        );
        // Heads measured from their trials: a decode, and the shuffled-asymmetry control.
        assert!(s.w1_decoded.is_some_and(f64::is_finite), "{s:?}");
        let shuffled = s.controls.as_ref().map(|c| c.w1_shuffled);
        assert!(shuffled.is_some_and(f64::is_finite), "{s:?}");
        assert!(dir.path().join("runs/critic-seed0").exists());
    }
}
