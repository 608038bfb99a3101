//! The world model an experiment trains: its data saved as NPY under `out/data`, split by
//! fraction, a family at the given widths trained by `train`'s own loop into `out/runs/<tag>`
//! (a checkpoint folder a user can open), and the best epoch's weights kept in memory for the
//! measurements that follow (the same weights that folder's best snapshot holds). Shared by
//! `bench science` and `bench relearn`.

use neuromod_core::ConfigError;
use std::path::Path;

use burn::prelude::*;
use neuromod_core::Setting;
use neuromod_datasets::{DatasetKind, DatasetSpec, SequenceSet, Splits};
use neuromod_spe::SfHeads;
use neuromod_train::{train, ModelConfig, ModelKind, SfSettings, TrainConfig, WorldModel};

use crate::ExperimentError;

/// What to train.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    /// Family.
    pub kind: ModelKind,
    /// Recurrent, latent and MLP widths.
    pub widths: (usize, usize, usize),
    /// Epochs and sequences per batch.
    pub epochs: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// Train and validation fractions (the rest is held out).
    pub fractions: (f64, f64),
    /// SF heads trained alongside, if any.
    pub sf: Option<SfSettings>,
    /// KL annealing against posterior collapse (Bowman et al. 2016): the weight rises linearly
    /// from `.1` to 1 over `.0` epochs (0 epochs: weight 1 throughout); None keeps the training
    /// config's default (10 epochs from 0, what `bench science` and `bench relearn` use).
    pub kl_anneal: Option<(usize, f64)>,
}

/// A trained world model: its config, the data splits, its best validation bound and the best
/// epoch's weights.
pub struct Fitted {
    /// The training config (its `model` builds the family).
    pub config: TrainConfig,
    /// Train, validation and held-out sequences, in the data's order.
    pub splits: Splits,
    /// Best validation bound (nats per step).
    pub valid_bound: f64,
    /// The world model of the best epoch (no autodiff).
    pub model: WorldModel,
    /// The SF heads saved with it, if the spec trains any.
    pub sf: Option<SfHeads>,
}

impl Fitted {
    /// The best model built again on `device` (an autodiff device, to go on training it),
    /// exactly as a checkpoint's best snapshot loads: the family built from the config, then
    /// the weights.
    pub fn model_on(&self, device: &Device) -> Result<WorldModel, ExperimentError> {
        let fresh = self
            .config
            .model
            .init(device)
            .map_err(|e| ExperimentError::Config(ConfigError::new("model", e.to_string())))?;
        fresh.load(self.model.record()).map_err(|e| {
            ExperimentError::Config(ConfigError::new(
                "model",
                format!("the fitted weights do not load: {e:?}"),
            ))
        })
    }
}

/// Saves `data` as `out/data/<tag>.npy` and trains the world model of `spec` with `seed` into
/// `out/runs/<tag>` on `device`.
pub fn fit_world(
    spec: &WorldSpec,
    data: &SequenceSet,
    (out, tag): (&Path, &str),
    seed: u64,
    device: &Device,
) -> Result<Fitted, ExperimentError> {
    let data_dir = out.join("data");
    std::fs::create_dir_all(&data_dir).map_err(ExperimentError::io(&data_dir, "create"))?;
    let npy = data_dir.join(format!("{tag}.npy"));
    neuromod_datasets::npy::save(data, &npy)?;
    let (train_fraction, valid_fraction) = spec.fractions;
    let mut file = DatasetSpec::file(DatasetKind::Npy, &npy);
    (file.train_fraction, file.valid_fraction) = (train_fraction, valid_fraction);
    let splits = Splits::by_fraction(data.clone(), train_fraction, valid_fraction, &npy)?;
    let (h, z, hidden) = spec.widths;
    let model = ModelConfig::new(spec.kind, data.dim)
        .with(&[Setting::HDim(h), Setting::ZDim(z), Setting::Hidden(hidden)])
        .map_err(|e| ExperimentError::Config(ConfigError::new("model", e.to_string())))?;
    let mut config = TrainConfig::new(model, file);
    (
        config.schedule.epochs,
        config.schedule.batch_size,
        config.schedule.seed,
        config.schedule.keep_last,
    ) = (spec.epochs, spec.batch_size, seed, 1);
    config.sf = spec.sf.clone();
    if let Some((epochs, start)) = spec.kl_anneal {
        (config.kl.anneal_epochs, config.kl.start) = (epochs, start);
    }
    let run_dir = out.join("runs").join(tag);
    let fit = train(&config, &splits, &run_dir, device, &mut |_| {})?;
    let valid_bound = fit.best_valid_bound();
    let model = fit.model.ok_or_else(|| {
        ExperimentError::Config(ConfigError::new(
            "epochs",
            format!("{}: no epoch ran", run_dir.display()),
        ))
    })?;
    Ok(Fitted {
        config,
        splits,
        valid_bound,
        model,
        sf: fit.sf,
    })
}
