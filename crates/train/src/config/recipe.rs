//! Recipes: the settings found best for a dataset, as the starting point of a run that the
//! user's own flags then override. `neuromod train --dataset jsb` with no other flag trains
//! [`Recipe::Jsb`]; `--recipe none` starts from the plain defaults instead (what every command
//! written before the recipes existed meant).
//!
//! Where each recipe's numbers come from is in `docs/results.md` ("The JSB recipe").

use neuromod_core::{ConfigError, Likelihood, ModelSpec, Setting};
use neuromod_datasets::DatasetKind;
use neuromod_world::ModelKind;
use serde::{Deserialize, Serialize};

use super::TrainConfig;

/// A named set of training settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Recipe {
    /// The plain defaults of every section and family.
    None,
    /// JSB Chorales: every family with a NADE emission and its own schedule. The VRNN's
    /// (the default family) fits in under 5 minutes on a 2-core CPU.
    Jsb,
}

impl Recipe {
    /// The recipe's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Recipe::None => "none",
            Recipe::Jsb => "jsb",
        }
    }

    /// The recipe a new run on `dataset` starts from when none is named: the dataset's own,
    /// where it has one.
    pub fn for_dataset(dataset: DatasetKind) -> Self {
        match dataset {
            DatasetKind::Jsb => Recipe::Jsb,
            _ => Recipe::None,
        }
    }

    /// Writes the recipe's settings for the config's family into `config`.
    pub fn apply(self, config: &mut TrainConfig) -> Result<(), ConfigError> {
        match self {
            Recipe::None => Ok(()),
            Recipe::Jsb => jsb(config),
        }
    }
}

/// JSB Chorales, 88 binary keys per frame: NADE emission (each key given the keys below it),
/// mini-batches of 8, cosine decay to 5e-5; the rest per family.
fn jsb(config: &mut TrainConfig) -> Result<(), ConfigError> {
    let kind = config.model.kind();
    config.model.set(Setting::Likelihood(Likelihood::Nade))?;
    config.schedule.batch_size = 8;
    config.schedule.lr_final = Some(5e-5);
    match kind {
        ModelKind::Vrnn => {
            config.model.set(Setting::Dropout(VRNN_DROPOUT))?;
            config.optimiser.lr = VRNN_LR;
            config.schedule.epochs = VRNN_EPOCHS;
        }
        ModelKind::Srnn => {
            config.model.set(Setting::Dropout(0.5))?;
            config.optimiser.lr = 1e-3;
            config.optimiser.ema = Some(0.999);
            config.schedule.epochs = 200;
            config.schedule.patience = Some(50);
            config.kl.anneal_epochs = 50;
            config.kl.start = 0.01;
        }
        ModelKind::Dkf => {
            config.optimiser.lr = 1e-3;
            config.schedule.epochs = 250;
            config.schedule.batch_size = 16;
            config.schedule.patience = Some(60);
            config.kl.anneal_epochs = 50;
            config.kl.start = 0.01;
        }
    }
    Ok(())
}

/// The VRNN's recipe: short enough for the README's main command.
const VRNN_EPOCHS: usize = 60;
const VRNN_LR: f64 = 2e-3;
const VRNN_DROPOUT: f64 = 0.5;

#[cfg(test)]
mod tests {
    use super::*;
    use neuromod_datasets::DatasetSpec;
    use neuromod_world::ModelConfig;

    fn config(kind: ModelKind) -> TrainConfig {
        TrainConfig::new(ModelConfig::new(kind, 88), DatasetSpec::jsb_bundled())
    }

    #[test]
    fn every_family_takes_the_jsb_recipe_and_it_checks() {
        for kind in ModelKind::ALL {
            let mut c = config(kind);
            Recipe::Jsb.apply(&mut c).unwrap();
            c.check().unwrap();
            let json = serde_json::to_value(&c).unwrap();
            assert_eq!(json["model"]["likelihood"], "nade", "{kind}");
            assert_eq!(c.schedule.lr_final, Some(5e-5), "{kind}");
            assert_ne!(c.schedule.epochs, config(kind).schedule.epochs, "{kind}");
        }
    }

    #[test]
    fn only_jsb_has_a_recipe_of_its_own() {
        assert_eq!(Recipe::for_dataset(DatasetKind::Jsb), Recipe::Jsb);
        for kind in [DatasetKind::Npy, DatasetKind::Csv, DatasetKind::Markov] {
            assert_eq!(Recipe::for_dataset(kind), Recipe::None);
        }
    }

    #[test]
    fn no_recipe_leaves_the_defaults() {
        let mut c = config(ModelKind::Vrnn);
        Recipe::None.apply(&mut c).unwrap();
        let plain = config(ModelKind::Vrnn);
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::to_value(&plain).unwrap()
        );
    }
}
