//! The DKF itself: the guide's GRU, the combiner chain, the sequence ELBO, generation.

use crate::combiner::{combiner_chain, CombinerInput, CombinerOutput, CombinerWeights};
use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::tanh;
use burn::tensor::Distribution;
use neuromod_core::{
    batch_rows as rows, join_time, linear_parts, ConfigError, Decoder, DiagGaussian, ElboTerms,
    FilterStep, GaussianHead, GruCell, Noise, SeqBatch, SequenceModel, StateLayout, Trajectory,
};

use crate::config::DkfConfig;
use crate::transition::GatedTransition;
use neuromod_core::Guide;

/// Deep Kalman filter / deep Markov model (Krishnan et al. 2017).
#[derive(Module, Debug)]
pub struct Dkf {
    /// Transition p(z_t | z_{t-1}).
    pub transition: GatedTransition,
    /// Emission p(x_t | z_t).
    pub emission: Decoder,
    /// The guide's GRU over the observations.
    pub rnn: GruCell,
    /// Combiner input: tanh(W z_{t-1} + b) is averaged with the GRU state g_t.
    pub combine: Linear,
    /// Combiner output q(z_t | ..) from the average.
    pub posterior: GaussianHead,
    /// z_0 of the generative chain (the prior of the first step is p(z_1 | z_0)).
    pub z0: Param<Tensor<1>>,
    /// z_0 of the guide's chain.
    pub zq0: Param<Tensor<1>>,
    /// Initial GRU state.
    pub g0: Param<Tensor<1>>,
    /// Whether the guide's GRU runs backward in time ([`Guide::Smoothing`]).
    pub smoothing: bool,
    /// Observation width.
    pub x_dim: usize,
    /// Latent width.
    pub z_dim: usize,
}

impl DkfConfig {
    /// Checks the config and builds a freshly initialised model on `device`.
    pub fn init(&self, device: &Device) -> Result<Dkf, ConfigError> {
        self.check()?;
        let (z, h) = (self.z_dim, self.h_dim);
        Ok(Dkf {
            transition: GatedTransition::new(z, self.hidden, self.sigma_min, device),
            emission: Decoder::new(
                z,
                self.hidden,
                self.emission_layers,
                self.x_dim,
                self.likelihood,
                self.sigma_min,
                device,
            ),
            rnn: GruCell::new(self.x_dim, h, device),
            combine: LinearConfig::new(z, h).init(device),
            posterior: GaussianHead::new(h, h, 0, z, self.sigma_min, device),
            z0: Param::from_tensor(Tensor::zeros([z], device)),
            zq0: Param::from_tensor(Tensor::zeros([z], device)),
            g0: Param::from_tensor(Tensor::zeros([h], device)),
            smoothing: self.guide == Guide::Smoothing,
            x_dim: self.x_dim,
            z_dim: z,
        })
    }
}

impl Dkf {
    /// The guide's GRU states g_t for every step: [B, T, H]. Filtering: g_t reads x_{<=t}.
    /// Smoothing: g_t reads x_{>=t} up to the sequence's own last step.
    fn guide_states(&self, batch: &SeqBatch) -> Tensor<3> {
        let b = batch.dims()[0];
        self.rnn.run(
            batch.x.clone(),
            rows(&self.g0, b),
            &batch.mask,
            self.smoothing,
        )
    }

    /// Runs the whole batch: the guide's GRU, then the combiner chain z_t ~ q(z_t | z_{t-1},
    /// g_t) step by step (one fused operation on the CPU backends); the transition, the emission and the KL run once over all steps.
    pub fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        let [b, t_len, d] = batch.dims();
        let device = batch.x.device();
        let z_dim = self.z_dim;
        let eps = noise.eps([b, t_len, z_dim], &device);
        let g = self.guide_states(batch);
        assert!(
            self.posterior.trunk.layers.is_empty(),
            "the DKF's combiner head is linear (no hidden layer)"
        );
        let chain = combiner_chain(
            CombinerInput {
                g: g.clone(),
                eps,
                z0: rows(&self.zq0, b),
            },
            &CombinerWeights {
                combine: linear_parts(&self.combine),
                head: self.posterior.packed_heads(),
            },
            self.posterior.sigma_min,
        );
        let CombinerOutput {
            mu: mu_q,
            sigma: sigma_q,
            z: z_all,
        } = chain;
        let rows_n = b * t_len;
        let z_start = rows(&self.z0, b).unsqueeze_dim::<3>(1);
        let z_before = match t_len {
            1 => z_start,
            _ => join_time(z_start, z_all.clone().narrow(1, 0, t_len - 1)),
        };
        let prior = self.transition.forward(z_before.reshape([rows_n, z_dim]));
        let posterior = DiagGaussian {
            mu: mu_q.clone().reshape([rows_n, z_dim]),
            sigma: sigma_q.clone().reshape([rows_n, z_dim]),
        };
        let per_step = |v: Tensor<1>| v.reshape([b, t_len]) * batch.mask.clone();
        let kl = per_step(posterior.kl(&prior));
        let x_flat = batch.x.clone().reshape([rows_n, d]);
        let nll = per_step(
            self.emission
                .log_prob(z_all.reshape([rows_n, z_dim]), x_flat)
                .neg(),
        );
        Trajectory {
            elbo: ElboTerms {
                kl,
                nll,
                reward_nll: None,
                mask: batch.mask.clone(),
            },
            prior: (
                prior.mu.reshape([b, t_len, z_dim]),
                prior.sigma.reshape([b, t_len, z_dim]),
            ),
            posterior: (mu_q, sigma_q),
            h: g,
        }
    }

    /// Open-loop generation: z_t from the transition, x_t from the emission. Actions are not
    /// part of the DKF and are ignored.
    pub fn generate(&self, batch: usize, steps: usize, device: &Device) -> Tensor<3> {
        let eps = Tensor::<3>::random(
            [batch, steps, self.z_dim],
            Distribution::Normal(0.0, 1.0),
            device,
        );
        let u = Tensor::<2>::random([batch * steps, self.x_dim], self.emission.noise(), device);
        let mut z = rows(&self.z0, batch);
        let mut zs = Vec::with_capacity(steps);
        for t in 0..steps {
            let p = self.transition.forward(z);
            z = p.rsample(eps.clone().narrow(1, t, 1).reshape([batch, self.z_dim]));
            zs.push(z.clone());
        }
        let z_all = Tensor::stack::<3>(zs, 1).reshape([batch * steps, self.z_dim]);
        self.emission
            .sample(z_all, u)
            .reshape([batch, steps, self.x_dim])
    }
}

/// The family's weights as an export names them ([`SequenceModel::weight_layout`]; the
/// conventions every family shares are `neuromod_core::WEIGHT_CONVENTIONS`).
const WEIGHT_LAYOUT: &str =
    "dkf.transition is the gated transition p(z_t | z_{t-1}) (gate_hidden, gate_out, \
     proposal_hidden, proposal_out, linear, sigma); dkf.emission is p(x_t | z_t); dkf.rnn is \
     the guide's GRU over x (backward in time when smoothing); dkf.combine and dkf.posterior \
     are the combiner (q reads (tanh(z_{t-1} W_c + b_c) + g_t) / 2); dkf.z0 and dkf.zq0 are \
     z_0 of the generative and the guide's chains, dkf.g0 the guide GRU's initial state. The \
     state s_t is [g_t, muq_t].";

impl SequenceModel for Dkf {
    fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        Dkf::forward(self, batch, noise)
    }

    fn generate(
        &self,
        batch: usize,
        steps: usize,
        _actions: Option<Tensor<3>>,
        device: &Device,
    ) -> Tensor<3> {
        Dkf::generate(self, batch, steps, device)
    }

    fn filtering(&self) -> bool {
        !self.smoothing
    }

    /// The state is [z_{t-1} of the generative chain, z_{t-1} of the guide, g_{t-1}]: the two
    /// chains start from their own learned z_0 and share the sampled z_t afterwards.
    fn start(&self, batch: usize, _device: &Device) -> Vec<Tensor<2>> {
        vec![
            rows(&self.z0, batch),
            rows(&self.zq0, batch),
            rows(&self.g0, batch),
        ]
    }

    fn filter_step(&self, state: Vec<Tensor<2>>, x: Tensor<2>, eps: Tensor<2>) -> FilterStep {
        let [z_gen, z_guide, g_prev]: [Tensor<2>; 3] =
            state.try_into().expect("the DKF state is [z, zq, g]");
        let g = self.rnn.step(x.clone(), g_prev);
        let combined = (tanh(self.combine.forward(z_guide)) + g.clone()) * 0.5;
        let posterior = self.posterior.forward(combined);
        let z = posterior.rsample(eps);
        let prior = self.transition.forward(z_gen);
        let nll = self.emission.log_prob(z.clone(), x).neg();
        FilterStep {
            state: vec![z.clone(), z, g],
            prior,
            posterior,
            nll,
        }
    }

    fn z_dim(&self) -> usize {
        self.z_dim
    }

    /// s_t = [g_t, muq_t]: the guide's GRU state, then the posterior mean.
    fn state_layout(&self) -> StateLayout {
        StateLayout {
            deterministic: self.g0.val().dims()[0],
            z: self.z_dim,
        }
    }

    fn weight_layout(&self) -> &'static str {
        WEIGHT_LAYOUT
    }
}
