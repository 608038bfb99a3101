//! The training loop: Adam on the negative ELBO, validation each epoch, best checkpoint.

use std::path::Path;
use std::time::Instant;

use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::store::ModuleRecord;
use neuromod_core::ModelSpec;
use neuromod_datasets::Splits;
use neuromod_world::WorldModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::batcher::{batch_indices, to_batch_transposed};
use crate::checkpoint::{
    sf_config, Checkpoint, SnapshotState, OPTIM_FILE, SF_FILE, SF_OPTIM_FILE, TRAIN_WEIGHTS_FILE,
    WEIGHTS_FILE,
};
use crate::ema::{ema_decay, ema_update};
use crate::evaluate::evaluate;
use crate::lock::RunLock;
use crate::metrics::MetricsRow;
use crate::step::{StepStats, Trainer};
use crate::{TrainConfig, TrainError};

/// Progress reported to the caller (the CLI draws a progress bar from it).
#[derive(Debug, Clone)]
pub enum Event {
    /// An optimiser step finished.
    Batch {
        /// Epoch, 1-based.
        epoch: usize,
        /// Batch within the epoch, 1-based.
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// Training loss of this batch (nats per step, KL weighted by beta).
        loss: f64,
        /// Sequence steps processed per second in this batch.
        steps_per_sec: f64,
    },
    /// An epoch finished; `improved` when its validation bound is the best so far.
    Epoch {
        /// The metrics of the epoch.
        row: MetricsRow,
        /// Whether the checkpoint weights were replaced.
        improved: bool,
    },
}

/// How [`run`] starts and stops.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Continue the run already in the folder from its latest snapshot (from epoch 1 when it
    /// has none) instead of starting a new one.
    pub resume: bool,
    /// Stop after this epoch's snapshot is written, as if interrupted (None: run to the end).
    pub stop_after: Option<usize>,
}

/// Trains `config` on `splits`, writing the checkpoint folder `out`; returns the metrics.
/// Stops with [`TrainError::Diverged`] on a non-finite loss, leaving the last good weights.
pub fn train(
    config: &TrainConfig,
    splits: &Splits,
    out: &Path,
    device: &Device,
    on_event: &mut dyn FnMut(Event),
) -> Result<Vec<MetricsRow>, TrainError> {
    run(config, splits, out, device, RunOptions::default(), on_event)
}

/// The device seed of an epoch: the run's seed for epoch 1, a hash of it and the epoch after.
/// Reseeding every epoch is what lets a resumed run draw the same noise as an unbroken one.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    if epoch <= 1 {
        return seed;
    }
    // SplitMix64 finaliser.
    let mut z = seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The data-order generator of an epoch (batch shuffling and transposition draws).
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch.saturating_sub(1) as u64);
    rng
}

/// Serialises a module's record (burnpack bytes).
fn module_bytes<M: Module>(module: &M, path: &Path) -> Result<Vec<u8>, TrainError> {
    record_bytes(module.clone().into_record(), path)
}

/// Serialises a record (burnpack bytes).
fn record_bytes(record: ModuleRecord, path: &Path) -> Result<Vec<u8>, TrainError> {
    record
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| TrainError::checkpoint(path, format!("cannot serialise: {e:?}")))
}

/// Trains, or resumes, the run in `out` (see [`RunOptions`]). On ndarray a run interrupted
/// after any epoch and resumed ends bit-identical to an unbroken one: every epoch reseeds the
/// device and the data order from the seed, and the snapshot holds the weights, the moving
/// average, both Adam states, the counters and the metrics.
pub fn run(
    config: &TrainConfig,
    splits: &Splits,
    out: &Path,
    device: &Device,
    options: RunOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<Vec<MetricsRow>, TrainError> {
    config.check()?;
    let data_path = config
        .data
        .path
        .clone()
        .unwrap_or_else(|| "<generated>".into());
    splits.expect_dim(config.model.x_dim(), &data_path)?;
    // Held until this function returns (or the process ends): one trainer per folder.
    let _lock = RunLock::acquire(out)?;
    let (checkpoint, resume_from) = if options.resume {
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

    let ad = device.clone().autodiff();
    ad.seed(config.seed);
    let model: WorldModel = match (&resume_from, &config.init_from) {
        (Some(snap), _) => {
            let file = if config.ema.is_some() {
                TRAIN_WEIGHTS_FILE
            } else {
                WEIGHTS_FILE
            };
            snap.load_model(file, config.model.init(&ad)?)?
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
            source.load_model(&ad)?
        }
        (None, None) => config.model.init(&ad)?,
    };
    // Created after the first step: parameters initialise lazily, and copying them earlier
    // would change the order in which they draw from the seeded generator.
    let mut ema: Option<WorldModel> = match (&resume_from, config.ema) {
        (Some(snap), Some(_)) => Some(snap.load_model(WEIGHTS_FILE, config.model.init(device)?)?),
        _ => None,
    };
    let sf = sf_config(config)
        .map(|c| c.init(&ad))
        .transpose()
        .map_err(|e| TrainError::Config {
            field: "sf",
            reason: e.to_string(),
        })?;
    let mut trainer = Trainer::new(config, model, sf);
    let (mut rows, mut best, mut best_epoch, mut since_best, mut step) =
        (Vec::new(), f64::INFINITY, 0, 0, 0);
    if let Some(snap) = &resume_from {
        let optim = std::mem::replace(&mut trainer.optim, AdamConfig::new().init());
        trainer.optim = snap.load_optim(OPTIM_FILE, optim)?;
        if let Some(heads) = trainer.sf.take() {
            trainer.sf = Some(snap.load_heads(heads)?);
            let optim = std::mem::replace(&mut trainer.sf_optim, AdamConfig::new().init());
            trainer.sf_optim = snap.load_optim(SF_OPTIM_FILE, optim)?;
        }
        let s = &snap.state;
        if s.metrics.len() != s.epoch {
            return Err(TrainError::checkpoint(
                &snap.dir,
                format!(
                    "state.json: epoch {} but {} metrics rows",
                    s.epoch,
                    s.metrics.len()
                ),
            ));
        }
        (rows, best_epoch, since_best, step) =
            (s.metrics.clone(), s.best_epoch, s.since_best, s.step);
        best = rows
            .iter()
            .find(|r| r.epoch == best_epoch)
            .map(|r| r.valid_bound)
            .ok_or_else(|| {
                TrainError::checkpoint(&snap.dir, "state.json: best_epoch is not in metrics")
            })?;
        tracing::info!(epoch = s.epoch, step, "resuming");
    }
    let first = rows.len() + 1;
    let seconds_before = rows.last().map_or(0.0, |r: &MetricsRow| r.seconds);
    let start = Instant::now();
    if config.patience.is_some_and(|p| since_best >= p) {
        return Ok(rows);
    }

    for epoch in first..=config.epochs {
        if epoch > 1 {
            ad.seed(epoch_seed(config.seed, epoch));
        }
        let mut rng = epoch_rng(config.seed, epoch);
        let beta = config.beta(epoch);
        let lr = config.lr_at(epoch, &rows);
        let batches = batch_indices(&splits.train, config.batch_size, Some(&mut rng));
        let (mut kl, mut rec, mut steps, mut sf_sum) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (i, idx) in batches.iter().enumerate() {
            let t0 = Instant::now();
            step += 1;
            let k = config.transpose as i32;
            let shifts: Vec<i32> = idx
                .iter()
                .map(|_| if k > 0 { rng.random_range(-k..=k) } else { 0 })
                .collect();
            let batch = to_batch_transposed(&splits.train, idx, &shifts, &ad);
            let StepStats {
                loss: l,
                kl: k,
                rec: r,
                steps: n,
                sf: sfl,
            } = trainer.step(&batch, beta, lr)?;
            if !l.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    step,
                    value: l,
                    dir: out.to_path_buf(),
                });
            }
            if let (Some(decay), false) = (config.ema, trainer.frozen()) {
                ema = Some(match ema.take() {
                    Some(avg) => ema_update(avg, &trainer.model().valid(), ema_decay(decay, step)),
                    None => trainer.model().valid(),
                });
            }
            (kl, rec, steps) = (kl + k as f64, rec + r as f64, steps + n as f64);
            sf_sum += sfl as f64;
            on_event(Event::Batch {
                epoch,
                batch: i + 1,
                batches: batches.len(),
                loss: l as f64,
                steps_per_sec: n as f64 / t0.elapsed().as_secs_f64().max(1e-9),
            });
        }
        // The weights that are validated and saved: the average when there is one.
        let weights = ema.clone().unwrap_or_else(|| trainer.model().valid());
        let valid = evaluate(&weights, &splits.valid, config.batch_size, device)?;
        let per = |v: f64| v / steps.max(1.0);
        let row = MetricsRow {
            epoch,
            train_bound: per(kl + rec),
            train_kl: per(kl),
            train_rec: per(rec),
            valid_bound: valid.nll_per_step,
            valid_kl: valid.kl_per_step,
            valid_rec: valid.rec_per_step,
            beta,
            seconds: seconds_before + start.elapsed().as_secs_f64(),
            train_sf: sf_sum / batches.len().max(1) as f64,
            lr,
        };
        if !valid.nll_per_step.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                step,
                value: valid.nll_per_step as f32,
                dir: out.to_path_buf(),
            });
        }
        // With a frozen world model the bound cannot improve; the SF heads are kept every epoch.
        let improved = valid.nll_per_step < best || trainer.frozen();
        if improved {
            (best, best_epoch, since_best) = (valid.nll_per_step, epoch, 0);
        } else {
            since_best += 1;
        }
        rows.push(row.clone());
        let snap_dir = out.join(crate::checkpoint::SNAPSHOTS_DIR);
        let mut files = vec![(WEIGHTS_FILE, record_bytes(weights.record(), &snap_dir)?)];
        if config.ema.is_some() {
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
            files.push((SF_FILE, module_bytes(heads, &snap_dir)?));
            files.push((SF_OPTIM_FILE, optim_bytes(&trainer.sf_optim)?));
        }
        let state = SnapshotState {
            epoch,
            step,
            best_epoch,
            since_best,
            metrics: rows.clone(),
            files: Default::default(),
        };
        checkpoint.write_snapshot(state, &files, improved)?;
        checkpoint.save_metrics(&rows)?;
        tracing::info!(
            epoch,
            train = row.train_bound,
            valid = row.valid_bound,
            "epoch done"
        );
        on_event(Event::Epoch { row, improved });
        if config.patience.is_some_and(|p| since_best >= p) {
            tracing::info!(
                epoch,
                "early stop: no better validation bound for {since_best} epochs"
            );
            break;
        }
        if options.stop_after == Some(epoch) {
            break;
        }
    }
    Ok(rows)
}
