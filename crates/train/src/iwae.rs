//! The importance-weighted bound (IWAE, Burda et al. 2016) on -log p(x) per step: K latent
//! trajectories per sequence from the model's posterior, log (1/K) sum_k p(x, z^k) / q(z^k | x).
//! K = 1 is a one-sample ELBO; the bound tightens as K grows and equals log p(x) when q is the
//! exact posterior. Works for any [`SequenceModel`]: the weights are read from the trajectory's
//! prior, posterior and per-step likelihood at the latents the given noise draws.

use burn::prelude::*;
use burn::tensor::Distribution;
use neuromod_core::ConfigError;
use neuromod_core::{Noise, SeqBatch, SequenceModel, Trajectory};
use neuromod_datasets::SequenceSet;
use serde::Serialize;

use crate::batcher::{batch_indices, to_batch};
use crate::evaluate::read_stats;
use crate::TrainError;

/// log p(x_{1:T} | z) (and log p(r_{1:T} | z) when the model predicts rewards) + beta (log
/// p(z_{1:T}) - log q(z_{1:T} | x)) per sequence, for the latents
/// z_t = mu_q + sigma_q * eps_t the pass drew: \[batch\]. beta = 1 is the importance weight of
/// the IWAE bound; beta < 1 anneals the latent part as KL annealing does for the ELBO. Padding
/// steps count nothing.
pub fn log_weights(traj: &Trajectory, eps: Tensor<3>, beta: f64) -> Tensor<1> {
    let (mu_q, sigma_q) = &traj.posterior;
    let (mu_p, sigma_p) = &traj.prior;
    let z = mu_q.clone() + sigma_q.clone() * eps.clone();
    // log q - log p per dimension (the 0.5 ln 2 pi terms cancel).
    let log_q = eps.square() * (-0.5) - sigma_q.clone().log();
    let u = (z - mu_p.clone()) / sigma_p.clone();
    let log_p = u.square() * (-0.5) - sigma_p.clone().log();
    let log_ratio: Tensor<2> = (log_p - log_q).sum_dim(2).squeeze_dim(2); // [B, T]
    let mut log_lik = traj.elbo.nll.clone().neg();
    if let Some(r) = &traj.elbo.reward_nll {
        log_lik = log_lik - r.clone();
    }
    let per_step = (log_ratio * beta + log_lik) * traj.elbo.mask.clone();
    per_step.sum_dim(1).squeeze_dim(1)
}

/// K copies of every sequence of `batch` (copy-major: row k B + b is copy k of sequence b; its
/// actions and rewards too) and
/// noise for them, [K B, T, z_dim], from the device's generator.
pub(crate) fn replicate(batch: &SeqBatch, k: usize, z_dim: usize) -> (SeqBatch, Tensor<3>) {
    let [b, t, _] = batch.dims();
    let device = batch.x.device();
    let wide = SeqBatch {
        x: batch.x.clone().repeat_dim(0, k),
        mask: batch.mask.clone().repeat_dim(0, k),
        actions: batch.actions.clone().map(|a| a.repeat_dim(0, k)),
        rewards: batch.rewards.clone().map(|r| r.repeat_dim(0, k)),
    };
    let eps = Tensor::<3>::random([k * b, t, z_dim], Distribution::Normal(0.0, 1.0), &device);
    (wide, eps)
}

/// The K-sample bound of every sequence, log (1/K) sum_k w_k, from copy-major log weights
/// [K B]: \[B\].
pub(crate) fn per_sequence_bound(log_w: Tensor<1>, k: usize) -> Tensor<1> {
    let b = log_w.dims()[0] / k;
    let lw = log_w.reshape([k, b]).transpose(); // [B, K]
    log_sum_exp(lw).reshape([b]) - (k as f64).ln()
}

/// The IWAE bound over a whole split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ImportanceBound {
    /// -(sum over sequences of the K-sample bound) / steps: an upper bound on -log p(x) per
    /// step, nats.
    pub nll_per_step: f64,
    /// Samples per sequence.
    pub particles: usize,
    /// Real steps counted.
    pub steps: usize,
    /// Sequences counted.
    pub sequences: usize,
}

/// log sum exp over the last axis, stable: [B, K] -> [B, 1].
pub(crate) fn log_sum_exp(v: Tensor<2>) -> Tensor<2> {
    let max = v.clone().max_dim(1);
    (v - max.clone()).exp().sum_dim(1).log() + max
}

/// Latent rows (sequences x particles) one pass holds at most; more particles than this run
/// one sequence at a time in several passes.
const ROWS_PER_PASS: usize = 2048;

/// A K-sample bound over a whole split: `per_batch` returns the sum over a padded batch's
/// sequences of their log-likelihood estimates (\[1\]); batches hold as many sequences as
/// [`ROWS_PER_PASS`] allows at `particles` rows each. One host read per batch.
pub(crate) fn bound_over_set(
    set: &SequenceSet,
    particles: usize,
    device: &Device,
    mut per_batch: impl FnMut(&SeqBatch) -> Tensor<1>,
) -> Result<ImportanceBound, TrainError> {
    if particles == 0 {
        return Err(TrainError::Config(ConfigError::new(
            "particles",
            "must be at least 1",
        )));
    }
    let sequences_per_pass = (ROWS_PER_PASS / particles).max(1);
    let (mut total, mut steps) = (0.0f64, 0.0f64);
    for idx in batch_indices(set, sequences_per_pass, None) {
        let batch = to_batch(set, &idx, device);
        let bound = per_batch(&batch);
        let [sum, n] = read_stats::<2>(Tensor::cat(vec![bound, batch.mask.clone().sum()], 0))?;
        total += sum as f64;
        steps += n as f64;
    }
    Ok(ImportanceBound {
        nll_per_step: -total / steps.max(1.0),
        particles,
        steps: steps as usize,
        sequences: set.len(),
    })
}

/// The IWAE bound of `set` under `model` with `particles` samples per sequence (noise from
/// the device's seeded generator).
pub fn importance_bound<M: SequenceModel>(
    model: &M,
    set: &SequenceSet,
    particles: usize,
    device: &Device,
) -> Result<ImportanceBound, TrainError> {
    let z_dim = model.z_dim();
    let chunk = particles.clamp(1, ROWS_PER_PASS);
    bound_over_set(set, particles, device, |batch| {
        // log w of every particle, copy-major [particles b], gathered chunk by chunk.
        let mut parts = Vec::new();
        let mut left = particles;
        while left > 0 {
            let k = left.min(chunk);
            left -= k;
            let (wide, eps) = replicate(batch, k, z_dim);
            let traj = model.forward(&wide, Noise::Given(Box::new(eps.clone())));
            parts.push(log_weights(&traj, eps, 1.0));
        }
        per_sequence_bound(Tensor::cat(parts, 0), particles).sum()
    })
}
