//! A bound on -log p(x) per step, estimated over several passes with independent latent draws
//! (seeds seed, seed + 1, ...): the ELBO, the importance-weighted bound (Burda et al. 2016) or
//! the particle-filter bound (Maddison et al. 2017), with the standard error over passes.

use burn::prelude::*;
use neuromod_core::{ConfigError, SequenceModel};
use neuromod_datasets::SequenceSet;
use serde::{Deserialize, Serialize};

use crate::{evaluate, importance_bound, particle_bound, TrainError};

/// Which bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum BoundKind {
    /// The evidence lower bound, KL + reconstruction (one latent sample per sequence).
    Elbo,
    /// The importance-weighted bound with K samples per sequence.
    Iwae,
    /// The particle-filter bound (FIVO) with K particles; filtering posteriors only.
    Smc,
}

/// A bound averaged over passes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Which bound.
    pub bound: BoundKind,
    /// Its mean over passes, nats per step.
    pub nll_per_step: f64,
    /// Standard error of that mean over passes (None for one pass).
    pub nll_std_error: Option<f64>,
    /// The ELBO's KL part, nats per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kl_per_step: Option<f64>,
    /// The ELBO's reconstruction part, nats per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rec_per_step: Option<f64>,
    /// Samples (particles) per sequence of the IWAE and particle-filter bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub particles: Option<usize>,
    /// Passes.
    pub samples: usize,
    /// Real steps.
    pub steps: usize,
    /// Sequences.
    pub sequences: usize,
}

/// The mean of repeated estimates and its standard error (None for one estimate).
pub fn mean_and_error(values: &[f64]) -> (f64, Option<f64>) {
    let k = values.len() as f64;
    let mean = values.iter().sum::<f64>() / k;
    let error = (values.len() > 1).then(|| {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0);
        (var / k).sqrt()
    });
    (mean, error)
}

/// `bound` of `model` on `set`, averaged over `samples` passes seeded `seed`, `seed + 1`, ...;
/// the ELBO in batches of `batch_size` sequences, the others with `particles` per sequence.
pub fn estimate<M: SequenceModel>(
    model: &M,
    set: &SequenceSet,
    (bound, particles, batch_size): (BoundKind, usize, usize),
    (seed, samples): (u64, usize),
    device: &Device,
) -> Result<Estimate, TrainError> {
    if samples == 0 {
        return Err(ConfigError::new("samples", "must be at least 1").into());
    }
    let mut nll = Vec::with_capacity(samples);
    let (mut kl, mut rec) = (Vec::new(), Vec::new());
    let (mut steps, mut sequences) = (0, 0);
    for k in 0..samples as u64 {
        device.seed(seed.wrapping_add(k));
        let (value, n_steps, n_sequences) = match bound {
            BoundKind::Elbo => {
                let b = evaluate(model, set, batch_size, device)?;
                kl.push(b.kl_per_step);
                rec.push(b.rec_per_step);
                (b.nll_per_step, b.steps, b.sequences)
            }
            BoundKind::Iwae | BoundKind::Smc => {
                let b = match bound {
                    BoundKind::Smc => particle_bound(model, set, particles, device)?,
                    _ => importance_bound(model, set, particles, device)?,
                };
                (b.nll_per_step, b.steps, b.sequences)
            }
        };
        nll.push(value);
        (steps, sequences) = (n_steps, n_sequences);
    }
    let (nll_per_step, nll_std_error) = mean_and_error(&nll);
    let elbo = bound == BoundKind::Elbo;
    Ok(Estimate {
        bound,
        nll_per_step,
        nll_std_error,
        kl_per_step: elbo.then(|| mean_and_error(&kl).0),
        rec_per_step: elbo.then(|| mean_and_error(&rec).0),
        particles: (!elbo).then_some(particles),
        samples,
        steps,
        sequences,
    })
}
