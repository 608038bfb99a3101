//! The training loop: Adam on the negative ELBO, validation each epoch, best checkpoint.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use neuromod_core::ModelSpec;
use neuromod_datasets::Splits;
use neuromod_spe::SfHeads;
use neuromod_world::WorldModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::batcher::{batch_indices, to_batch_transposed};
use crate::ema::{ema_decay, ema_update};
use crate::evaluate::evaluate;
use crate::lock::RunLock;
use crate::metrics::MetricsRow;
use crate::run_state::{begin, save_epoch, Begun};
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

/// What a run leaves in memory: its metrics and the weights its best snapshot holds (the
/// checkpoint folder holds them too; callers that go on measuring need not read them back).
#[derive(Debug)]
pub struct Fit {
    /// One row per epoch, this session's and any resumed before it.
    pub rows: Vec<MetricsRow>,
    /// The world model of the best epoch of this session (None when no epoch ran in it, as
    /// when a resumed run had already stopped), on the run's device without autodiff.
    pub model: Option<WorldModel>,
    /// The SF heads saved with that epoch, if the run trains any.
    pub sf: Option<SfHeads>,
}

impl Fit {
    /// The best validation bound of the run (nats per step).
    pub fn best_valid_bound(&self) -> f64 {
        self.rows
            .iter()
            .map(|r| r.valid_bound)
            .fold(f64::INFINITY, f64::min)
    }
}

/// Trains `config` on `splits`, writing the checkpoint folder `out`; returns the metrics and
/// the best weights. Stops with [`TrainError::Diverged`] on a non-finite loss, leaving the last
/// good weights.
pub fn train(
    config: &TrainConfig,
    splits: &Splits,
    out: &Path,
    device: &Device,
    on_event: &mut dyn FnMut(Event),
) -> Result<Fit, TrainError> {
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
) -> Result<Fit, TrainError> {
    config.check()?;
    let data_path = config
        .data
        .path
        .clone()
        .unwrap_or_else(|| "<generated>".into());
    splits.expect_dim(config.model.x_dim(), &data_path)?;
    // Held until this function returns (or the process ends): one trainer per folder.
    let _lock = RunLock::acquire(out)?;
    let ad = device.clone().autodiff();
    let Begun {
        checkpoint,
        mut trainer,
        mut ema,
        mut progress,
    } = begin(config, out, options.resume, &ad, device)?;
    let first = progress.rows.len() + 1;
    let seconds_before = progress.rows.last().map_or(0.0, |r| r.seconds);
    let start = Instant::now();
    let mut fit = Fit {
        rows: Vec::new(),
        model: None,
        sf: None,
    };
    if config
        .schedule
        .patience
        .is_some_and(|p| progress.since_best >= p)
    {
        fit.rows = progress.rows;
        return Ok(fit);
    }

    for epoch in first..=config.schedule.epochs {
        let lr = config.lr_at(epoch, &progress.rows);
        let sums = train_epoch(
            config,
            splits,
            (&mut trainer, &mut ema),
            (&ad, epoch, lr, &mut progress.step),
            out,
            on_event,
        )?;
        // The weights that are validated and saved: the average when there is one.
        let weights = ema.clone().unwrap_or_else(|| trainer.model().valid());
        let valid = evaluate(&weights, &splits.valid, config.schedule.batch_size, device)?;
        let per = |v: f64| v / sums.steps.max(1.0);
        let row = MetricsRow {
            epoch,
            train_bound: per(sums.kl + sums.rec),
            train_kl: per(sums.kl),
            train_rec: per(sums.rec),
            valid_bound: valid.nll_per_step,
            valid_kl: valid.kl_per_step,
            valid_rec: valid.rec_per_step,
            beta: config.beta(epoch),
            seconds: seconds_before + start.elapsed().as_secs_f64(),
            train_sf: sums.sf / sums.batches.max(1) as f64,
            lr,
        };
        if !valid.nll_per_step.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                step: progress.step,
                value: valid.nll_per_step as f32,
                dir: out.to_path_buf(),
            });
        }
        // With a frozen world model the bound cannot improve; the SF heads are kept every epoch.
        let improved = progress.record(row.clone(), trainer.frozen());
        save_epoch(&checkpoint, config, &trainer, &weights, &progress, improved)?;
        if improved {
            fit.sf = trainer.sf.as_ref().map(|h| h.valid());
            fit.model = Some(weights);
        }
        tracing::info!(
            epoch,
            train = row.train_bound,
            valid = row.valid_bound,
            "epoch done"
        );
        on_event(Event::Epoch { row, improved });
        if config
            .schedule
            .patience
            .is_some_and(|p| progress.since_best >= p)
        {
            tracing::info!(
                epoch,
                "early stop: no better validation bound for {} epochs",
                progress.since_best
            );
            break;
        }
        if options.stop_after == Some(epoch) {
            break;
        }
    }
    fit.rows = progress.rows;
    Ok(fit)
}

/// What one epoch of optimiser steps summed.
struct EpochSums {
    kl: f64,
    rec: f64,
    steps: f64,
    sf: f64,
    batches: usize,
}

/// One pass over the training set: reseeds the device and the data order for `epoch`, then
/// runs [`Trainer::step`] on every batch (and the moving average after it).
fn train_epoch(
    config: &TrainConfig,
    splits: &Splits,
    (trainer, ema): (&mut Trainer, &mut Option<WorldModel>),
    (ad, epoch, lr, step): (&Device, usize, f64, &mut usize),
    out: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<EpochSums, TrainError> {
    if epoch > 1 {
        ad.seed(epoch_seed(config.schedule.seed, epoch));
    }
    let mut rng = epoch_rng(config.schedule.seed, epoch);
    let beta = config.beta(epoch);
    let batches = batch_indices(&splits.train, config.schedule.batch_size, Some(&mut rng));
    let mut sums = EpochSums {
        kl: 0.0,
        rec: 0.0,
        steps: 0.0,
        sf: 0.0,
        batches: batches.len(),
    };
    for (i, idx) in batches.iter().enumerate() {
        let t0 = Instant::now();
        *step += 1;
        let k = config.schedule.transpose as i32;
        let shifts: Vec<i32> = idx
            .iter()
            .map(|_| if k > 0 { rng.random_range(-k..=k) } else { 0 })
            .collect();
        let batch = to_batch_transposed(&splits.train, idx, &shifts, ad);
        let StepStats {
            loss,
            kl,
            rec,
            steps,
            sf,
        } = trainer.step(&batch, beta, lr)?;
        if !loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                step: *step,
                value: loss,
                dir: out.to_path_buf(),
            });
        }
        if let (Some(decay), false) = (config.optimiser.ema, trainer.frozen()) {
            *ema = Some(match ema.take() {
                Some(avg) => ema_update(avg, &trainer.model().valid(), ema_decay(decay, *step)),
                None => trainer.model().valid(),
            });
        }
        sums.kl += kl as f64;
        sums.rec += rec as f64;
        sums.steps += steps as f64;
        sums.sf += sf as f64;
        on_event(Event::Batch {
            epoch,
            batch: i + 1,
            batches: batches.len(),
            loss: loss as f64,
            steps_per_sec: steps as f64 / t0.elapsed().as_secs_f64().max(1e-9),
        });
    }
    Ok(sums)
}
