//! The VRNN itself: one-step API, sequence ELBO, open-loop generation.

use crate::scan::{latent_gru_scan, ScanInput, ScanOutput, ScanWeights};
use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use neuromod_core::{
    gaussian_log_prob, join_last, join_time, linear_parts, Decoder, DiagGaussian, ElboTerms,
    FilterStep, GaussianHead, GruCell, Mlp, Noise, SeqBatch, SequenceModel, StateLayout,
    StepOutput, Trajectory,
};
use neuromod_kernels::dense_stack;

use crate::config::VrnnConfig;
use neuromod_core::ConfigError;

/// Variational recurrent neural network (Chung et al. 2015).
#[derive(Module, Debug)]
pub struct Vrnn {
    /// Feature extractor phi_x(x_t).
    pub phi_x: Mlp,
    /// Feature extractor phi_z(z_t).
    pub phi_z: Mlp,
    /// Prior p(z_t | h_{t-1} [, a_{t-1}]).
    pub prior: GaussianHead,
    /// Encoder q(z_t | phi_x(x_t), h_{t-1}).
    pub encoder: GaussianHead,
    /// Decoder p(x_t | phi_z(z_t), h_{t-1}).
    pub decoder: Decoder,
    /// Optional reward head p(r_t | phi_z(z_t), h_{t-1}) (Gaussian, one dimension).
    pub reward: Option<GaussianHead>,
    /// Recurrence h_t = GRU([phi_x(x_t), phi_z(z_t)], h_{t-1}).
    pub rnn: GruCell,
    /// Learned initial state h_{-1}: \[h_dim\]; used only at the first step.
    pub h0: Param<Tensor<1>>,
    /// Dropout on h_{t-1} as the decoder and reward head read it (active only with autodiff).
    pub dropout: Dropout,
    /// Observation width.
    pub x_dim: usize,
    /// Latent width.
    pub z_dim: usize,
    /// Action width (0: no actions).
    pub action_dim: usize,
}

impl VrnnConfig {
    /// Checks the config and builds a freshly initialised model on `device`.
    pub fn init(&self, device: &Device) -> Result<Vrnn, ConfigError> {
        self.check()?;
        let (h, w) = (self.h_dim, self.hidden);
        let phi_x = Mlp::new(self.x_dim, w, self.phi_x_layers, device);
        let phi_z = Mlp::new(self.z_dim, w, self.phi_z_layers, device);
        let fx = phi_x.out_dim(self.x_dim);
        let fz = phi_z.out_dim(self.z_dim);
        let head = |input: usize, layers: usize, out: usize| {
            GaussianHead::new(input, w, layers, out, self.sigma_min, device)
        };
        // Built, and its width read, before the prior and the encoder, as it always was: burn
        // draws a layer's initial weights when they are first read (here by `out_dim`), and the
        // recorded runs drew the decoder's last hidden layer before the heads' trunks.
        let dec_trunk = Mlp::new(fz + h, w, self.decoder_layers, device);
        let _ = dec_trunk.out_dim(fz + h);
        Ok(Vrnn {
            prior: head(h + self.action_dim, self.prior_layers, self.z_dim),
            encoder: head(fx + h, self.encoder_layers, self.z_dim),
            decoder: Decoder::on_trunk(
                dec_trunk,
                fz + h,
                self.x_dim,
                self.likelihood,
                self.sigma_min,
                device,
            ),
            reward: self
                .reward_head
                .then(|| head(fz + h, self.decoder_layers, 1)),
            rnn: GruCell::new(fx + fz, h, device),
            h0: Param::from_tensor(Tensor::zeros([h], device)),
            dropout: DropoutConfig::new(self.dropout).init(),
            phi_x,
            phi_z,
            x_dim: self.x_dim,
            z_dim: self.z_dim,
            action_dim: self.action_dim,
        })
    }
}

impl Vrnn {
    /// Initial state h_{-1} for `batch` sequences: [batch, h_dim].
    pub fn initial_state(&self, batch: usize) -> Tensor<2> {
        neuromod_core::batch_rows(&self.h0, batch)
    }

    fn prior_input(&self, h_prev: Tensor<2>, a_prev: Option<Tensor<2>>) -> Tensor<2> {
        match a_prev {
            Some(a) if self.action_dim > 0 => join_last(h_prev, a),
            _ if self.action_dim > 0 => {
                let [b, _] = h_prev.dims();
                let zeros = Tensor::zeros([b, self.action_dim], &h_prev.device());
                join_last(h_prev, zeros)
            }
            _ => h_prev,
        }
    }

    /// One filtering step. x: [batch, x_dim]; h_prev: [batch, h_dim]; a_prev: the previous
    /// action [batch, action_dim] (zeros when absent); eps: [batch, z_dim].
    pub fn step(
        &self,
        x: Tensor<2>,
        h_prev: Tensor<2>,
        a_prev: Option<Tensor<2>>,
        eps: Tensor<2>,
    ) -> StepOutput {
        let fx = self.phi_x.forward(x.clone());
        let prior = self.prior.forward(self.prior_input(h_prev.clone(), a_prev));
        let posterior = self.encoder.forward(join_last(fx.clone(), h_prev.clone()));
        let z = posterior.rsample(eps);
        let fz = self.phi_z.forward(z.clone());
        let nll = self
            .decoder
            .log_prob(join_last(fz.clone(), h_prev.clone()), x)
            .neg();
        let kl = posterior.kl(&prior);
        let h = self.rnn.step(join_last(fx, fz), h_prev);
        StepOutput {
            h,
            prior,
            posterior,
            z,
            kl,
            nll,
        }
    }

    /// Runs the whole batch. Only the encoder -> z -> GRU chain is sequential, and it runs as
    /// one scan ([`latent_gru_scan`]: fused with a hand-written backward pass on the CPU
    /// backends); phi_x, the x parts of the encoder's first layer and of the GRU input
    /// projection, the prior, the decoder and the reward head run once over all steps.
    /// Gradients flow through h across all steps (nothing is detached).
    pub fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        let [b, t_len, d] = batch.dims();
        let device = batch.x.device();
        let eps = noise.eps([b, t_len, self.z_dim], &device);
        let rows = b * t_len;
        let flat = |t: Tensor<3>| {
            let w = t.dims()[2];
            t.reshape([rows, w])
        };
        let x_flat = batch.x.clone().reshape([rows, d]);
        let h0 = self.initial_state(b);
        let scan = self.filter(x_flat.clone(), eps, h0.clone(), [b, t_len]);
        // h_{t-1} for every step: [B, T, H]
        let h_prev = match t_len {
            1 => h0.unsqueeze_dim(1),
            _ => join_time(h0.unsqueeze_dim(1), scan.h.clone().narrow(1, 0, t_len - 1)),
        };
        let h_prev = flat(h_prev); // [B*T, H]
        let posterior = DiagGaussian {
            mu: flat(scan.mu.clone()),
            sigma: flat(scan.sigma.clone()),
        };
        let a_prev = batch.actions.clone().map(|a| {
            // a_{t-1}, with zeros before the first step: [B*T, A]
            let zeros = Tensor::zeros([b, 1, self.action_dim], &device);
            let shifted = if t_len > 1 {
                join_time(zeros, a.narrow(1, 0, t_len - 1))
            } else {
                zeros
            };
            flat(shifted)
        });
        let prior = self.prior.forward(self.prior_input(h_prev.clone(), a_prev));
        let dec_in = join_last(flat(scan.fz), self.dropout.forward(h_prev));
        let per_step = |v: Tensor<1>| v.reshape([b, t_len]) * batch.mask.clone();
        let kl = per_step(posterior.kl(&prior));
        let nll = per_step(self.decoder.log_prob(dec_in.clone(), x_flat).neg());
        let reward_nll = match (&self.reward, &batch.rewards) {
            (Some(head), Some(r)) => {
                let pr = head.forward(dec_in);
                let r = r.clone().reshape([rows, 1]);
                Some(per_step(gaussian_log_prob(pr.mu, pr.sigma, r).neg()))
            }
            _ => None,
        };
        let unflat = |t: Tensor<2>| {
            let w = t.dims()[1];
            t.reshape([b, t_len, w])
        };
        Trajectory {
            elbo: ElboTerms {
                kl,
                nll,
                reward_nll,
                mask: batch.mask.clone(),
            },
            prior: (unflat(prior.mu), unflat(prior.sigma)),
            posterior: (scan.mu, scan.sigma),
            h: scan.h,
        }
    }

    /// The filtering chain over all steps. x: every row b * T + t, [B*T, D]; eps: [B, T, Z];
    /// h0: [B, H]. phi_x and the parts of the encoder's first layer and of the GRU input
    /// projection that read phi_x(x_t) run here for all steps at once (one dense stack); the
    /// scan runs the rest.
    fn filter(
        &self,
        x: Tensor<2>,
        eps: Tensor<3>,
        h0: Tensor<2>,
        [b, t_len]: [usize; 2],
    ) -> ScanOutput {
        let h = h0.dims()[1];
        let (w_e, b_e) = linear_parts(&self.encoder.trunk.layers[0]); // [Fx + H, E]
        let (w_i, b_i) = linear_parts(&self.rnn.input); // [Fx + Fz, 3H]
        let (w_hh, b_hh) = linear_parts(&self.rnn.hidden); // [H, 3H]
        let fx_w = w_e.dims()[0] - h;
        let fz_w = w_i.dims()[0] - fx_w;
        let mut layers = self.phi_x.parts();
        layers.push((
            Tensor::cat(
                vec![
                    w_e.clone().narrow(0, 0, fx_w),
                    w_i.clone().narrow(0, 0, fx_w),
                ],
                1,
            ),
            Tensor::cat(vec![b_e, b_i], 0),
        ));
        let x_proj = dense_stack(x, &layers, false);
        let width = x_proj.dims()[1];
        let input = ScanInput {
            x_proj: x_proj.reshape([b, t_len, width]),
            eps,
            h0,
        };
        let weights = ScanWeights {
            wh: Tensor::cat(vec![w_e.narrow(0, fx_w, h), w_hh], 1),
            bhh: b_hh,
            enc: self.encoder.trunk.layers[1..]
                .iter()
                .map(linear_parts)
                .collect(),
            head: self.encoder.packed_heads(),
            phiz: self.phi_z.parts(),
            wgz: w_i.narrow(0, fx_w, fz_w),
        };
        latent_gru_scan(input, &weights, self.encoder.sigma_min)
    }

    /// Open-loop generation ("imagination"): z_t from the prior, x_t drawn from the decoder and
    /// fed back. actions: optional [batch, steps, action_dim]. Returns x: [batch, steps, x_dim].
    pub fn generate(
        &self,
        batch: usize,
        steps: usize,
        actions: Option<Tensor<3>>,
        device: &Device,
    ) -> Tensor<3> {
        let eps = Tensor::<3>::random(
            [batch, steps, self.z_dim],
            Distribution::Normal(0.0, 1.0),
            device,
        );
        let u = Tensor::<3>::random([batch, steps, self.x_dim], self.decoder.noise(), device);
        let mut h = self.initial_state(batch);
        let mut a_prev = None;
        let mut xs = Vec::with_capacity(steps);
        for t in 0..steps {
            let at = |v: &Tensor<3>| {
                let w = v.dims()[2];
                v.clone().narrow(1, t, 1).reshape([batch, w])
            };
            let prior = self.prior.forward(self.prior_input(h.clone(), a_prev));
            let fz = self.phi_z.forward(prior.rsample(at(&eps)));
            let x = self
                .decoder
                .sample(Tensor::cat(vec![fz.clone(), h.clone()], 1), at(&u));
            let fx = self.phi_x.forward(x.clone());
            h = self.rnn.step(Tensor::cat(vec![fx, fz], 1), h);
            a_prev = actions.as_ref().map(at);
            xs.push(x);
        }
        Tensor::stack(xs, 1)
    }
}

/// The family's weights as an export names them ([`SequenceModel::weight_layout`]; the
/// conventions every family shares are `neuromod_core::WEIGHT_CONVENTIONS`).
const WEIGHT_LAYOUT: &str =
    "vrnn.phi_x and vrnn.phi_z are the feature extractors; vrnn.prior reads h_{t-1}, \
     vrnn.encoder [phi_x(x_t), h_{t-1}], vrnn.decoder [phi_z(z_t), h_{t-1}]; vrnn.rnn is the \
     GRU over [phi_x(x_t), phi_z(z_t)]; vrnn.h0 is the learned initial state h_{-1}; \
     vrnn.reward (if present) the reward head. The state s_t is [h_t, muq_t].";

impl SequenceModel for Vrnn {
    fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        Vrnn::forward(self, batch, noise)
    }

    fn generate(
        &self,
        batch: usize,
        steps: usize,
        actions: Option<Tensor<3>>,
        device: &Device,
    ) -> Tensor<3> {
        Vrnn::generate(self, batch, steps, actions, device)
    }

    /// The encoder reads x_t and h_{t-1}, which summarises x_{<t} and z_{<t}.
    fn filtering(&self) -> bool {
        true
    }

    /// The state is [h_{t-1}] (no actions: the prior sees zeros where they would enter).
    fn start(&self, batch: usize, _device: &Device) -> Vec<Tensor<2>> {
        vec![self.initial_state(batch)]
    }

    fn filter_step(&self, state: Vec<Tensor<2>>, x: Tensor<2>, eps: Tensor<2>) -> FilterStep {
        let [h_prev]: [Tensor<2>; 1] = state.try_into().expect("the VRNN state is [h]");
        let out = self.step(x, h_prev, None, eps);
        FilterStep {
            state: vec![out.h],
            prior: out.prior,
            posterior: out.posterior,
            nll: out.nll,
        }
    }

    fn z_dim(&self) -> usize {
        self.z_dim
    }

    /// s_t = [h_t, muq_t].
    fn state_layout(&self) -> StateLayout {
        StateLayout {
            deterministic: self.h0.val().dims()[0],
            z: self.z_dim,
        }
    }

    fn weight_layout(&self) -> &'static str {
        WEIGHT_LAYOUT
    }
}
