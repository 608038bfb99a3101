//! Where a training run stands between epochs: starting it (new, resumed from its latest
//! snapshot, or initialised from another run), the counters it carries, and the snapshot each
//! epoch writes.

use std::path::Path;

use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::store::ModuleRecord;
use neuromod_core::ConfigError;
use neuromod_world::WorldModel;

use crate::checkpoint::{
    sf_config, Checkpoint, SnapshotState, OPTIM_FILE, SF_FILE, SF_OPTIM_FILE, TRAIN_WEIGHTS_FILE,
    WEIGHTS_FILE,
};
use crate::metrics::MetricsRow;
use crate::step::Trainer;
use crate::{TrainConfig, TrainError};

/// The counters and metrics a run carries from epoch to epoch (and a snapshot restores).
pub(crate) struct Progress {
    /// Metrics of every finished epoch.
    pub rows: Vec<MetricsRow>,
    /// Best validation bound so far.
    pub best: f64,
    /// Its epoch.
    pub best_epoch: usize,
    /// Epochs since it.
    pub since_best: usize,
    /// Optimiser steps taken.
    pub step: usize,
}

impl Progress {
    fn new() -> Self {
        Self {
            rows: Vec::new(),
            best: f64::INFINITY,
            best_epoch: 0,
            since_best: 0,
            step: 0,
        }
    }

    /// Appends an epoch's row; returns whether it replaces the best weights (always when the
    /// world model is frozen: its bound cannot improve and the SF heads are kept every epoch).
    pub fn record(&mut self, row: MetricsRow, frozen: bool) -> bool {
        let improved = row.valid_bound < self.best || frozen;
        if improved {
            (self.best, self.best_epoch, self.since_best) = (row.valid_bound, row.epoch, 0);
        } else {
            self.since_best += 1;
        }
        self.rows.push(row);
        improved
    }

    /// The counters a snapshot recorded.
    fn restored(state: &SnapshotState, dir: &Path) -> Result<Self, TrainError> {
        if state.metrics.len() != state.epoch {
            return Err(TrainError::checkpoint(
                dir,
                format!(
                    "state.json: epoch {} but {} metrics rows",
                    state.epoch,
                    state.metrics.len()
                ),
            ));
        }
        let best = state
            .metrics
            .iter()
            .find(|r| r.epoch == state.best_epoch)
            .map(|r| r.valid_bound)
            .ok_or_else(|| {
                TrainError::checkpoint(dir, "state.json: best_epoch is not in metrics")
            })?;
        Ok(Self {
            rows: state.metrics.clone(),
            best,
            best_epoch: state.best_epoch,
            since_best: state.since_best,
            step: state.step,
        })
    }
}

/// A run ready for its next epoch.
pub(crate) struct Begun {
    /// The checkpoint folder.
    pub checkpoint: Checkpoint,
    /// World model, SF heads and their optimisers.
    pub trainer: Trainer,
    /// The moving average of the weights, once there is one.
    pub ema: Option<WorldModel>,
    /// Counters and metrics.
    pub progress: Progress,
}

/// Creates the checkpoint folder (or, with `resume`, reopens it at its latest snapshot),
/// seeds `ad` and builds the trainer: weights from the snapshot, from `init_from`, or fresh.
pub(crate) fn begin(
    config: &TrainConfig,
    out: &Path,
    resume: bool,
    ad: &Device,
    device: &Device,
) -> Result<Begun, TrainError> {
    let (checkpoint, resume_from) = if resume {
        let checkpoint = Checkpoint {
            dir: out.to_path_buf(),
            config: config.clone(),
        };
        checkpoint.save_config()?;
        let snapshot = checkpoint.recover()?;
        (checkpoint, snapshot)
    } else {
        (Checkpoint::create(out, config)?, None)
    };
    ad.seed(config.schedule.seed);
    let model: WorldModel = match (&resume_from, &config.init_from) {
        (Some(snap), _) => {
            let file = if config.optimiser.ema.is_some() {
                TRAIN_WEIGHTS_FILE
            } else {
                WEIGHTS_FILE
            };
            snap.load_model(file, config.model.init(ad)?)?
        }
        (None, Some(dir)) => {
            let source = Checkpoint::open(dir)?;
            let (ours, theirs) = (
                serde_json::to_value(&config.model).map_err(|e| TrainError::checkpoint(dir, e))?,
                serde_json::to_value(&source.config.model)
                    .map_err(|e| TrainError::checkpoint(dir, e))?,
            );
            if ours != theirs {
                return Err(TrainError::checkpoint(
                    dir,
                    format!(
                        "--init-from: its model config {theirs} differs from this run's {ours}"
                    ),
                ));
            }
            source.load_model(ad)?
        }
        (None, None) => config.model.init(ad)?,
    };
    // Created after the first step: parameters initialise lazily, and copying them earlier
    // would change the order in which they draw from the seeded generator.
    let ema = match (&resume_from, config.optimiser.ema) {
        (Some(snap), Some(_)) => Some(snap.load_model(WEIGHTS_FILE, config.model.init(device)?)?),
        _ => None,
    };
    let sf = sf_config(config)
        .map(|c| c.init(ad))
        .transpose()
        .map_err(|e| TrainError::Config(ConfigError::new("sf", e.to_string())))?;
    let mut trainer = Trainer::new(config, model, sf);
    let progress = match &resume_from {
        None => Progress::new(),
        Some(snap) => {
            let optim = std::mem::replace(&mut trainer.optim, AdamConfig::new().init());
            trainer.optim = snap.load_optim(OPTIM_FILE, optim)?;
            if let Some(heads) = trainer.sf.take() {
                trainer.sf = Some(snap.load_heads(heads)?);
                let optim = std::mem::replace(&mut trainer.sf_optim, AdamConfig::new().init());
                trainer.sf_optim = snap.load_optim(SF_OPTIM_FILE, optim)?;
            }
            let progress = Progress::restored(&snap.state, &snap.dir)?;
            tracing::info!(epoch = snap.state.epoch, step = progress.step, "resuming");
            progress
        }
    };
    Ok(Begun {
        checkpoint,
        trainer,
        ema,
        progress,
    })
}

/// Serialises a record (burnpack bytes).
fn record_bytes(record: ModuleRecord, path: &Path) -> Result<Vec<u8>, TrainError> {
    record
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| TrainError::checkpoint(path, format!("cannot serialise: {e:?}")))
}

/// Writes the epoch's snapshot (validated weights, the raw weights beside a moving average,
/// both Adam states, SF heads, counters and metrics), moves `best` when `improved`, and
/// rewrites `metrics.csv`.
pub(crate) fn save_epoch(
    checkpoint: &Checkpoint,
    config: &TrainConfig,
    trainer: &Trainer,
    weights: &WorldModel,
    progress: &Progress,
    improved: bool,
) -> Result<(), TrainError> {
    let snap_dir = checkpoint.dir.join(crate::checkpoint::SNAPSHOTS_DIR);
    let mut files = vec![(WEIGHTS_FILE, record_bytes(weights.record(), &snap_dir)?)];
    if config.optimiser.ema.is_some() {
        files.push((
            TRAIN_WEIGHTS_FILE,
            record_bytes(trainer.model().record(), &snap_dir)?,
        ));
    }
    let optim_bytes = |o: &burn::optim::ModuleOptimizer| {
        o.into_bytes()
            .map(|b| b.to_vec())
            .map_err(|e| TrainError::checkpoint(&snap_dir, format!("optimiser state: {e:?}")))
    };
    files.push((OPTIM_FILE, optim_bytes(&trainer.optim)?));
    if let Some(heads) = &trainer.sf {
        files.push((
            SF_FILE,
            record_bytes(heads.clone().into_record(), &snap_dir)?,
        ));
        files.push((SF_OPTIM_FILE, optim_bytes(&trainer.sf_optim)?));
    }
    let state = SnapshotState {
        epoch: progress.rows.len(),
        step: progress.step,
        best_epoch: progress.best_epoch,
        since_best: progress.since_best,
        metrics: progress.rows.clone(),
        files: Default::default(),
    };
    checkpoint.write_snapshot(state, &files, improved)?;
    checkpoint.save_metrics(&progress.rows)
}
