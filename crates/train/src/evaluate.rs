//! The negative ELBO per time step in nats over a whole split.

use burn::prelude::*;
use neuromod_core::Noise;
use neuromod_core::SequenceModel;
use neuromod_datasets::SequenceSet;
use serde::Serialize;

use crate::batcher::{batch_indices, to_batch};
use crate::TrainError;

/// Negative-ELBO bound summed over sequences, divided by the total number of steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bound {
    /// (KL + reconstruction NLL) per step, nats: the bound on -log p(x) per step.
    pub nll_per_step: f64,
    /// KL part per step, nats.
    pub kl_per_step: f64,
    /// Reconstruction part per step, nats.
    pub rec_per_step: f64,
    /// Real steps counted.
    pub steps: usize,
    /// Sequences counted.
    pub sequences: usize,
}

/// One-sample negative ELBO of `set` under `model` (latents drawn from the device RNG).
/// Reads values back once per batch.
pub fn evaluate<M: SequenceModel>(
    model: &M,
    set: &SequenceSet,
    batch_size: usize,
    device: &Device,
) -> Result<Bound, TrainError> {
    let (mut kl, mut rec, mut steps) = (0.0f64, 0.0f64, 0.0f64);
    for idx in batch_indices(set, batch_size, None) {
        let batch = to_batch(set, &idx, device);
        let terms = model.forward(&batch, Noise::Sample).elbo;
        let sums = Tensor::cat(vec![terms.kl.sum(), terms.nll.sum(), terms.mask.sum()], 0);
        let [k, r, n] = read_stats::<3>(sums)?;
        kl += k as f64;
        rec += r as f64;
        steps += n as f64;
    }
    let per = |v: f64| v / steps.max(1.0);
    Ok(Bound {
        nll_per_step: per(kl + rec),
        kl_per_step: per(kl),
        rec_per_step: per(rec),
        steps: steps as usize,
        sequences: set.len(),
    })
}

/// Reads a small statistics vector back to the host (the one read per batch).
pub(crate) fn read_stats<const N: usize>(t: Tensor<1>) -> Result<[f32; N], TrainError> {
    let v = t
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| TrainError::Readback {
            what: "batch statistics",
            reason: format!("{e:?}"),
        })?;
    v.try_into().map_err(|v: Vec<f32>| TrainError::Readback {
        what: "batch statistics",
        reason: format!("expected {N} values, got {}", v.len()),
    })
}
