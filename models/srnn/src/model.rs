//! The SRNN itself: the deterministic GRU, the latent chain with its residual posterior, the
//! sequence ELBO, generation.

use crate::resq::{resq_chain, ResqInput, ResqOutput, ResqWeights};
use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use neuromod_core::{
    batch_rows as rows, join_last, join_time, ConfigError, Decoder, DiagGaussian, ElboTerms,
    FilterStep, GaussianHead, GruCell, Guide, Noise, SeqBatch, SequenceModel, StateLayout,
    Trajectory,
};

use crate::config::SrnnConfig;

/// Stochastic recurrent neural network (Fraccaro et al. 2016).
#[derive(Module, Debug)]
pub struct Srnn {
    /// The deterministic GRU: d_{t+1} = GRU(x_t, d_t).
    pub rnn: GruCell,
    /// The smoothing posterior's backward GRU over [d_t, x_t] (None when filtering).
    pub smoother: Option<GruCell>,
    /// Prior p(z_t | z_{t-1}, d_t).
    pub prior: GaussianHead,
    /// Posterior correction: mean delta and sigma from [z_{t-1}, a_t].
    pub posterior: GaussianHead,
    /// Emission p(x_t | z_t, d_t).
    pub emission: Decoder,
    /// d_1, the GRU state before any observation.
    pub d0: Param<Tensor<1>>,
    /// The smoothing GRU's state after the last step.
    pub a0: Param<Tensor<1>>,
    /// z_0 of the latent chain.
    pub z0: Param<Tensor<1>>,
    /// Dropout on d_t as the emission reads it (active only with autodiff).
    pub dropout: Dropout,
    /// Observation width.
    pub x_dim: usize,
    /// Latent width.
    pub z_dim: usize,
}

impl SrnnConfig {
    /// Checks the config and builds a freshly initialised model on `device`.
    pub fn init(&self, device: &Device) -> Result<Srnn, ConfigError> {
        self.check()?;
        let (x, z, h, w) = (self.x_dim, self.z_dim, self.h_dim, self.hidden);
        let head = |input| GaussianHead::new(input, w, 1, z, self.sigma_min, device);
        Ok(Srnn {
            rnn: GruCell::new(x, h, device),
            smoother: (self.guide == Guide::Smoothing).then(|| GruCell::new(h + x, h, device)),
            prior: head(z + h),
            posterior: head(z + h),
            emission: Decoder::new(
                z + h,
                w,
                self.emission_layers,
                x,
                self.likelihood,
                self.sigma_min,
                device,
            ),
            d0: Param::from_tensor(Tensor::zeros([h], device)),
            a0: Param::from_tensor(Tensor::zeros([h], device)),
            z0: Param::from_tensor(Tensor::zeros([z], device)),
            dropout: DropoutConfig::new(self.dropout).init(),
            x_dim: x,
            z_dim: z,
        })
    }
}

/// The one trunk layer of a prior or posterior head: weight [Z + H, W] (z_{t-1} rows first)
/// and bias.
fn first_layer(head: &GaussianHead) -> (Tensor<2>, Tensor<1>) {
    let mut parts = head.trunk.parts();
    assert_eq!(parts.len(), 1, "the SRNN's heads have one hidden layer");
    parts.remove(0)
}

/// Step t of a [B, T, W] tensor: [B, W].
fn at(v: &Tensor<3>, t: usize) -> Tensor<2> {
    let [b, _, w] = v.dims();
    v.clone().narrow(1, t, 1).reshape([b, w])
}

impl Srnn {
    /// Runs the whole batch: the deterministic GRU and (smoothing) the backward GRU over all
    /// steps, then the latent chain step by step; the emission and the KL run once over all
    /// steps.
    pub fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        let [b, t_len, d] = batch.dims();
        let device = batch.x.device();
        let z_dim = self.z_dim;
        let eps = noise.eps([b, t_len, z_dim], &device);
        let d0 = rows(&self.d0, b);
        // after[t] = d_{t+1}, the state once x_t is read; d[t] = d_t, the state before it.
        let after = self
            .rnn
            .run(batch.x.clone(), d0.clone(), &batch.mask, false);
        let h = after.dims()[2];
        let before = match t_len {
            1 => d0.unsqueeze_dim(1),
            _ => join_time(d0.unsqueeze_dim(1), after.clone().narrow(1, 0, t_len - 1)),
        };
        let a = match &self.smoother {
            Some(gru) => gru.run(
                join_last(before.clone(), batch.x.clone()),
                rows(&self.a0, b),
                &batch.mask,
                true,
            ),
            None => after.clone(),
        };
        let chain = resq_chain(
            ResqInput {
                ctx: self.contexts(&before, &a),
                eps,
                z0: rows(&self.z0, b),
            },
            &self.chain_weights(),
            self.prior.sigma_min,
        );
        let ResqOutput {
            mu_p,
            sigma_p,
            mu_q,
            sigma_q,
            z,
        } = chain;
        let n = b * t_len;
        let flat = |v: &Tensor<3>| v.clone().reshape([n, v.dims()[2]]);
        let prior = DiagGaussian {
            mu: flat(&mu_p),
            sigma: flat(&sigma_p),
        };
        let posterior = DiagGaussian {
            mu: flat(&mu_q),
            sigma: flat(&sigma_q),
        };
        let per_step = |v: Tensor<1>| v.reshape([b, t_len]) * batch.mask.clone();
        let kl = per_step(posterior.kl(&prior));
        let emission_in = join_last(flat(&z), self.dropout.forward(flat(&before)));
        let x_flat = batch.x.clone().reshape([n, d]);
        let nll = per_step(self.emission.log_prob(emission_in, x_flat).neg());
        debug_assert_eq!(h, after.dims()[2]);
        Trajectory {
            elbo: ElboTerms {
                kl,
                nll,
                reward_nll: None,
                mask: batch.mask.clone(),
            },
            prior: (mu_p, sigma_p),
            posterior: (mu_q, sigma_q),
            h: after,
        }
    }

    /// The context parts of the prior's and the posterior's first layers for every step, biases
    /// included: [d_t W_pd + b_p | a_t W_qa + b_q], [B, T, 2W] (one product each over all
    /// steps; only the z_{t-1} parts run step by step).
    fn contexts(&self, before: &Tensor<3>, a: &Tensor<3>) -> Tensor<3> {
        let [b, t_len, h] = before.dims();
        let z = self.z_dim;
        let part = |head: &GaussianHead, c: &Tensor<3>| {
            let (w, bias) = first_layer(head);
            let width = w.dims()[1];
            (c.clone().reshape([b * t_len, h]).matmul(w.narrow(0, z, h)) + bias.unsqueeze_dim(0))
                .reshape([b, t_len, width])
        };
        join_last(part(&self.prior, before), part(&self.posterior, a))
    }

    /// The step-by-step weights of the latent chain: the z_{t-1} rows of both first layers side
    /// by side, and both [mu | sigma] heads.
    fn chain_weights(&self) -> ResqWeights {
        let z = self.z_dim;
        let wz = |head: &GaussianHead| first_layer(head).0.narrow(0, 0, z);
        ResqWeights {
            wz: Tensor::cat(vec![wz(&self.prior), wz(&self.posterior)], 1),
            prior: self.prior.packed_heads(),
            posterior: self.posterior.packed_heads(),
        }
    }

    /// Open-loop generation: z_t from the prior, x_t from the emission, fed back into the GRU.
    pub fn generate(&self, batch: usize, steps: usize, device: &Device) -> Tensor<3> {
        let eps = Tensor::<3>::random(
            [batch, steps, self.z_dim],
            Distribution::Normal(0.0, 1.0),
            device,
        );
        let u = Tensor::<3>::random([batch, steps, self.x_dim], self.emission.noise(), device);
        let (mut d, mut z) = (rows(&self.d0, batch), rows(&self.z0, batch));
        let mut xs = Vec::with_capacity(steps);
        for t in 0..steps {
            z = self
                .prior
                .forward(join_last(z, d.clone()))
                .rsample(at(&eps, t));
            let x = self
                .emission
                .sample(join_last(z.clone(), d.clone()), at(&u, t));
            d = self.rnn.step(x.clone(), d);
            xs.push(x);
        }
        Tensor::stack(xs, 1)
    }
}

/// The family's weights as an export names them ([`SequenceModel::weight_layout`]; the
/// conventions every family shares are `neuromod_core::WEIGHT_CONVENTIONS`).
const WEIGHT_LAYOUT: &str =
    "srnn.rnn is the deterministic GRU d_{t+1} = GRU(x_t, d_t), srnn.d0 its first state; \
     srnn.smoother (smoothing only) the backward GRU over [d_t, x_t], srnn.a0 its state after \
     the last step; srnn.prior reads [z_{t-1}, d_t]; srnn.posterior reads [z_{t-1}, a_t] (a_t \
     = d_{t+1}, the state once x_t is read, when filtering) and outputs the correction of the \
     prior mean (muq = mu_p + delta) and sigma_q; srnn.emission reads [z_t, d_t]; srnn.z0 is \
     z_0. The state s_t is [d_{t+1}, muq_t].";

impl SequenceModel for Srnn {
    fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        Srnn::forward(self, batch, noise)
    }

    /// Actions are not part of the SRNN and are ignored.
    fn generate(
        &self,
        batch: usize,
        steps: usize,
        _actions: Option<Tensor<3>>,
        device: &Device,
    ) -> Tensor<3> {
        Srnn::generate(self, batch, steps, device)
    }

    fn filtering(&self) -> bool {
        self.smoother.is_none()
    }

    /// The state is [z_{t-1}, d_t].
    fn start(&self, batch: usize, _device: &Device) -> Vec<Tensor<2>> {
        vec![rows(&self.z0, batch), rows(&self.d0, batch)]
    }

    fn filter_step(&self, state: Vec<Tensor<2>>, x: Tensor<2>, eps: Tensor<2>) -> FilterStep {
        let [z_prev, d]: [Tensor<2>; 2] = state.try_into().expect("the SRNN state is [z, d]");
        let prior = self.prior.forward(join_last(z_prev.clone(), d.clone()));
        let d_next = self.rnn.step(x.clone(), d.clone());
        let correction = self.posterior.forward(join_last(z_prev, d_next.clone()));
        let posterior = DiagGaussian {
            mu: prior.mu.clone() + correction.mu,
            sigma: correction.sigma,
        };
        let z = posterior.rsample(eps);
        let emission_in = join_last(z.clone(), self.dropout.forward(d));
        let nll = self.emission.log_prob(emission_in, x).neg();
        FilterStep {
            state: vec![z, d_next],
            prior,
            posterior,
            nll,
        }
    }

    fn z_dim(&self) -> usize {
        self.z_dim
    }

    /// s_t = [d_{t+1}, muq_t]: the deterministic GRU's state once x_t is read, then the
    /// posterior mean.
    fn state_layout(&self) -> StateLayout {
        StateLayout {
            deterministic: self.d0.val().dims()[0],
            z: self.z_dim,
        }
    }

    fn weight_layout(&self) -> &'static str {
        WEIGHT_LAYOUT
    }
}
