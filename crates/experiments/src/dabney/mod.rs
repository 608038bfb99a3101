//! `neuromod bench dabney`: the analyses of Dabney et al. 2020 on simulated animals at the
//! paper's sizes, for the distributional population and each null model through one pipeline
//! ([`neuromod_dopamine::study_animal`]), beside the published values (the `published` module).
//! Every model sees the same animals (seeds), so the comparison is paired.

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
        }
    }
}

impl DabneyConfig {
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
    pub model: CellModel,
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
    type Unit = (CellModel, u64);
    type UnitResult = Animal;
    type Result = DabneyResult;

    fn check(&self) -> Result<(), ExperimentError> {
        let bad =
            |field, reason: String| Err(ExperimentError::Config(ConfigError::new(field, reason)));
        if self.animals < 2 {
            return bad("animals", format!("needs at least 2, got {}", self.animals));
        }
        if self.models.is_empty() {
            return bad("models", "name at least one".into());
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
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad("alpha", format!("must lie in (0, 1), got {}", self.alpha));
        }
        Ok(())
    }

    fn units(&self) -> Vec<(CellModel, u64)> {
        self.models
            .iter()
            .flat_map(|&m| (0..self.animals as u64).map(move |a| (m, a)))
            .map(|(m, a)| (m, self.seed + a))
            .collect()
    }

    fn run_unit(
        &self,
        &(model, seed): &(CellModel, u64),
        _ctx: &Context,
    ) -> Result<Animal, ExperimentError> {
        let cfg = self.trial_config(seed);
        let dist = RewardDistribution::variable_magnitude();
        let cells = model
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
            seeds(CellModel::Distributional),
            seeds(CellModel::Classical)
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
}
