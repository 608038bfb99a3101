//! The world model a benchmark run trains: its data saved as NPY under `out/data`, split by
//! fraction, a family at the given widths trained by `train`'s own loop, and the best snapshot
//! opened as a user's `neuromod signals` would open it. Shared by `bench science` and `bench
//! relearn`.

use std::path::Path;

use burn::prelude::*;
use neuromod_core::Setting;
use neuromod_datasets::{DatasetKind, DatasetSpec, SequenceSet, Splits};
use neuromod_train::{train, Checkpoint, ModelConfig, ModelKind, SfSettings, TrainConfig};

use crate::BenchError;

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
}

/// A trained world model: its config, the data splits, its best validation bound and its
/// checkpoint.
pub struct Fitted {
    /// The training config (its `model` builds the family).
    pub config: TrainConfig,
    /// Train, validation and held-out sequences, in the data's order.
    pub splits: Splits,
    /// Best validation bound (nats per step).
    pub valid_bound: f64,
    /// The run's checkpoint folder, opened.
    pub checkpoint: Checkpoint,
}

/// Saves `data` as `out/data/<tag>.npy`, trains the world model of `spec` with `seed` into
/// `out/runs/<tag>` on `device`, and opens its checkpoint.
pub fn fit_world(
    spec: &WorldSpec,
    data: &SequenceSet,
    (out, tag): (&Path, &str),
    seed: u64,
    device: &Device,
) -> Result<Fitted, BenchError> {
    let data_dir = out.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|source| BenchError::Io {
        path: data_dir.clone(),
        source,
    })?;
    let npy = data_dir.join(format!("{tag}.npy"));
    neuromod_datasets::npy::save(data, &npy)?;
    let (train_fraction, valid_fraction) = spec.fractions;
    let mut file = DatasetSpec::file(DatasetKind::Npy, &npy);
    (file.train_fraction, file.valid_fraction) = (train_fraction, valid_fraction);
    let splits = Splits::by_fraction(data.clone(), train_fraction, valid_fraction, &npy)?;
    let (h, z, hidden) = spec.widths;
    let model = ModelConfig::new(spec.kind, data.dim)
        .with(&[Setting::HDim(h), Setting::ZDim(z), Setting::Hidden(hidden)])
        .map_err(|e| BenchError::Config {
            field: "model",
            reason: e.to_string(),
        })?;
    let mut config = TrainConfig::new(model, file);
    (
        config.epochs,
        config.batch_size,
        config.seed,
        config.keep_last,
    ) = (spec.epochs, spec.batch_size, seed, 1);
    config.sf = spec.sf.clone();
    let run_dir = out.join("runs").join(tag);
    let rows = train(&config, &splits, &run_dir, device, &mut |_| {})?;
    let valid_bound = rows
        .iter()
        .map(|r| r.valid_bound)
        .fold(f64::INFINITY, f64::min);
    Ok(Fitted {
        config,
        splits,
        valid_bound,
        checkpoint: Checkpoint::open(&run_dir)?,
    })
}
