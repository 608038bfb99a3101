//! What a sequence pass returns: per-step ELBO terms and the latent trajectory, the one
//! currency between world models and the signal crates (SPE, critic, export).

use burn::prelude::*;

use crate::gaussian::DiagGaussian;
use crate::state_layout::StateLayout;

/// Where the reparameterisation noise eps ~ N(0, I) of the posterior comes from.
#[derive(Debug, Clone)]
pub enum Noise {
    /// Draw eps from the device's seeded generator (one draw per batch, not per step).
    Sample,
    /// eps = 0: z_t is the posterior mean (deterministic evaluation).
    Mean,
    /// Caller-supplied eps: [batch, time, z_dim].
    Given(Box<Tensor<3>>),
}

impl Noise {
    /// The noise for a pass over `[batch, time]` with latent width `z_dim`.
    pub fn eps(self, [batch, time, z_dim]: [usize; 3], device: &Device) -> Tensor<3> {
        match self {
            Noise::Sample => Tensor::random(
                [batch, time, z_dim],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                device,
            ),
            Noise::Mean => Tensor::zeros([batch, time, z_dim], device),
            Noise::Given(eps) => *eps,
        }
    }
}

/// Per-step terms of the negative ELBO; padding steps are zero.
#[derive(Debug, Clone)]
pub struct ElboTerms {
    /// KL(q_t || p_t) in nats: [batch, time].
    pub kl: Tensor<2>,
    /// -log p(x_t | z_t, h_{t-1}) in nats: [batch, time].
    pub nll: Tensor<2>,
    /// -log p(r_t | z_t, h_{t-1}) when the model has a reward head and rewards were given.
    pub reward_nll: Option<Tensor<2>>,
    /// 1 on real steps: [batch, time].
    pub mask: Tensor<2>,
}

impl ElboTerms {
    /// Training loss: sum over real steps of (beta KL + NLL [+ reward NLL]) divided by the
    /// number of real steps, shape \[1\].
    pub fn loss(&self, beta: f64) -> Tensor<1> {
        let mut total = self.kl.clone() * beta + self.nll.clone();
        if let Some(r) = &self.reward_nll {
            total = total + r.clone();
        }
        total.sum() / self.mask.clone().sum().clamp_min(1.0)
    }

    /// Per-sequence sums of (KL, NLL) and real-step counts, each \[batch\].
    pub fn per_sequence(&self) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
        let sum = |t: &Tensor<2>| t.clone().sum_dim(1).squeeze_dim(1);
        (sum(&self.kl), sum(&self.nll), sum(&self.mask))
    }
}

/// Outputs of one step (what the signal crates read).
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// New recurrent state h_t: [batch, h_dim].
    pub h: Tensor<2>,
    /// Prior p(z_t | h_{t-1} [, a_{t-1}]).
    pub prior: DiagGaussian,
    /// Posterior q(z_t | x_t, h_{t-1}).
    pub posterior: DiagGaussian,
    /// The sampled latent z_t: [batch, z_dim].
    pub z: Tensor<2>,
    /// KL(q_t || p_t): \[batch\].
    pub kl: Tensor<1>,
    /// -log p(x_t | z_t, h_{t-1}): \[batch\].
    pub nll: Tensor<1>,
}

/// Everything a sequence pass produces, time-major inside each tensor's second axis.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Per-step ELBO terms.
    pub elbo: ElboTerms,
    /// Prior means and standard deviations: [batch, time, z_dim].
    pub prior: (Tensor<3>, Tensor<3>),
    /// Posterior means and standard deviations: [batch, time, z_dim].
    pub posterior: (Tensor<3>, Tensor<3>),
    /// Recurrent states h_t after each step: [batch, time, h_dim].
    pub h: Tensor<3>,
}

impl Trajectory {
    /// How [`Trajectory::state`] is laid out: [h_t, muq_t].
    pub fn state_layout(&self) -> StateLayout {
        StateLayout {
            deterministic: self.h.dims()[2],
            z: self.posterior.0.dims()[2],
        }
    }

    /// The latent state s_t = [h_t, muq_t] the signal heads read (successor features, critic):
    /// [batch, time, h_dim + z_dim].
    pub fn state(&self) -> Tensor<3> {
        neuromod_kernels::join_last(self.h.clone(), self.posterior.0.clone())
    }
}
