//! The particle-filter bound (FIVO: Maddison et al. 2017; also Le et al. 2018, Naesseth et al.
//! 2018) on -log p(x) per step: K particles per sequence run the family's filtering step with
//! its posterior as the proposal, weighted by p(x_t | z_t, ..) p(z_t | ..) / q(z_t | ..), and are
//! resampled (systematically) whenever the effective sample size of a sequence's weights drops
//! below K / 2. The log of the product of the mean weights between resamplings is a lower bound
//! on log p(x) in expectation, usually tighter than the IWAE bound with the same K because
//! resampling keeps the particles where the data are.
//!
//! Everything stays on the device: ancestors are drawn from the weights' cumulative sums with
//! tensor comparisons and gathered with `select`, and the resampling decision is a mask, so
//! there is no host read inside the loop over time.

use burn::prelude::*;
use burn::tensor::{Distribution, Int};
use neuromod_core::ConfigError;
use neuromod_core::{SeqBatch, SequenceModel};
use neuromod_datasets::SequenceSet;

use crate::iwae::{bound_over_set, log_sum_exp, ImportanceBound};
use crate::TrainError;

/// Most particles per sequence: resampling builds a [sequences, K, K] comparison per step.
pub const MAX_PARTICLES: usize = 4096;

/// Systematic resampling: for each sequence (row of `log_w`, [B, K]) K ancestor indices in
/// 0..K drawn with probabilities softmax(log_w), from one uniform per sequence.
fn systematic_ancestors(log_w: Tensor<2>, device: &Device) -> Tensor<2, Int> {
    let [b, k] = log_w.dims();
    let w = (log_w.clone() - log_sum_exp(log_w)).exp(); // [B, K], rows sum to 1
    let cdf = w.cumsum(1); // [B, K]
    let u0 = Tensor::<2>::random([b, 1], Distribution::Uniform(0.0, 1.0), device);
    let steps = Tensor::<1, Int>::arange(0..k as i64, device)
        .float()
        .unsqueeze_dim::<2>(0); // [1, K]
    let u = (steps + u0) / k as f64; // [B, K]: the j-th pointer of each row
                                     // ancestor of pointer j = number of cdf entries below it: [B, K(j), K] -> [B, K(j)].
    let below = cdf
        .unsqueeze_dim::<3>(1)
        .lower(u.unsqueeze_dim::<3>(2))
        .int()
        .sum_dim(2)
        .squeeze_dim::<2>(2);
    below.clamp_max(k as i64 - 1)
}

/// What one particle-filter pass over a batch gives, each \[1\].
pub(crate) struct ParticlePass {
    /// The sum over sequences of the log-likelihood estimates (weights tempered by beta).
    pub bound: Tensor<1>,
    /// KL(q || p) summed over every particle's real steps (the particles alive at each step).
    pub kl: Tensor<1>,
    /// -log p(x_t | ..) summed the same way.
    pub nll: Tensor<1>,
}

/// The FIVO bound of one padded batch with `k` particles, each incremental weight p(x_t | ..)
/// (p(z_t | ..) / q(z_t | ..))^beta; differentiable in the model's weights where the device
/// tracks them (the resampling indices carry no gradient, as in FIVO).
pub(crate) fn particle_pass<M: SequenceModel>(
    model: &M,
    batch: &SeqBatch,
    k: usize,
    beta: f64,
    device: &Device,
) -> ParticlePass {
    let z_dim = model.z_dim();
    let [b, t_len, d] = batch.dims();
    let rows = b * k;
    // Rows b * K + j: particle j of sequence b.
    let x = batch
        .x
        .clone()
        .unsqueeze_dim::<4>(1)
        .repeat_dim(1, k)
        .reshape([rows, t_len, d]);
    let mask = batch.mask.clone(); // [B, T]
    let offsets = Tensor::<1, Int>::arange(0..b as i64, device)
        .mul_scalar(k as i64)
        .unsqueeze_dim::<2>(1); // [B, 1]
    let mut state = model.start(rows, device);
    let mut log_w = Tensor::<2>::zeros([b, k], device);
    let mut log_z = Tensor::<2>::zeros([b, 1], device);
    let mut kl = Tensor::<1>::zeros([1], device);
    let mut nll = Tensor::<1>::zeros([1], device);
    let threshold = k as f64 / 2.0;
    for t in 0..t_len {
        let x_t = x.clone().narrow(1, t, 1).reshape([rows, d]);
        let eps = Tensor::<2>::random([rows, z_dim], Distribution::Normal(0.0, 1.0), device);
        let step = model.filter_step(state, x_t, eps.clone());
        let (q, p) = (&step.posterior, &step.prior);
        let z = q.rsample(eps.clone());
        // log p(z | ..) - log q(z | ..), the 0.5 ln 2 pi terms cancel.
        let u = (z - p.mu.clone()) / p.sigma.clone();
        let log_p = (u.square() * (-0.5) - p.sigma.clone().log()).sum_dim(1);
        let log_q = (eps.square() * (-0.5) - q.sigma.clone().log()).sum_dim(1);
        let m_t = mask.clone().narrow(1, t, 1); // [B, 1]: padding adds nothing
        let real = m_t.clone().repeat_dim(1, k).reshape([rows]);
        kl = kl + (q.kl(p) * real.clone()).sum();
        nll = nll + (step.nll.clone() * real).sum();
        let increment = (log_p - log_q).squeeze_dim::<1>(1).mul_scalar(beta) - step.nll;
        log_w = log_w + increment.reshape([b, k]) * m_t;
        // Effective sample size per sequence: (sum w)^2 / sum w^2.
        let lse = log_sum_exp(log_w.clone());
        let ess = (lse.clone() * 2.0 - log_sum_exp(log_w.clone() * 2.0)).exp();
        let resample = ess.lower_elem(threshold); // [B, 1]
        let ancestors = systematic_ancestors(log_w.clone(), device);
        let keep = Tensor::<1, Int>::arange(0..k as i64, device)
            .unsqueeze_dim::<2>(0)
            .repeat_dim(0, b);
        let chosen = keep.mask_where(resample.clone().repeat_dim(1, k), ancestors);
        let index = (chosen + offsets.clone()).reshape([rows]);
        state = step
            .state
            .into_iter()
            .map(|s| s.select(0, index.clone()))
            .collect();
        // Where a sequence resampled, bank log mean w and restart its weights at 0.
        let banked = lse - (k as f64).ln();
        log_z = log_z + banked.mask_fill(resample.clone().bool_not(), 0.0);
        log_w = log_w.mask_fill(resample.repeat_dim(1, k), 0.0);
    }
    let last = log_sum_exp(log_w) - (k as f64).ln();
    ParticlePass {
        bound: (log_z + last).sum().reshape([1]),
        kl,
        nll,
    }
}

/// The FIVO bound of `set` under `model` with `particles` particles per sequence (noise from
/// the device's seeded generator). The model must have a filtering posterior.
pub fn particle_bound<M: SequenceModel>(
    model: &M,
    set: &SequenceSet,
    particles: usize,
    device: &Device,
) -> Result<ImportanceBound, TrainError> {
    if particles > MAX_PARTICLES {
        return Err(TrainError::Config(ConfigError::new(
            "particles",
            format!(
                "the particle filter takes at most {MAX_PARTICLES} particles (its resampling \
                 compares every pair of a sequence's particles), got {particles}"
            ),
        )));
    }
    if !model.filtering() {
        return Err(TrainError::Config(ConfigError::new(
            "bound",
            "the particle filter needs a filtering posterior (its proposal runs forward \
                     in time); this model's posterior is smoothing: use the IWAE bound",
        )));
    }
    bound_over_set(set, particles, device, |batch| {
        particle_pass(model, batch, particles, 1.0, device).bound
    })
}
