//! The VRNN itself: one-step API, sequence ELBO, open-loop generation.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::Distribution;

use crate::batch::SeqBatch;
use crate::config::{ConfigError, Likelihood, VrnnConfig};
use crate::gaussian::{DiagGaussian, GaussianHead};
use crate::gru::GruCell;
use crate::likelihood::{bernoulli_log_prob, gaussian_log_prob};
use crate::mlp::Mlp;

/// Decoder p(x_t | z_t, h_{t-1}): logits (Bernoulli) or mean and sigma (Gaussian).
#[derive(Module, Debug)]
pub struct Decoder {
    /// Hidden layers on [phi_z(z_t), h_{t-1}].
    pub trunk: Mlp,
    /// Logits (Bernoulli) or mean (Gaussian): [.., x_dim].
    pub mu: Linear,
    /// Pre-softplus standard deviation; present only for the Gaussian likelihood.
    pub sigma: Option<Linear>,
    /// Floor added to sigma.
    pub sigma_min: f64,
}

impl Decoder {
    /// Returns (logits or mean, sigma when Gaussian); input: [batch, feat + h_dim].
    fn forward(&self, input: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        let hidden = self.trunk.forward(input);
        let sigma = self
            .sigma
            .as_ref()
            .map(|head| softplus(head.forward(hidden.clone()), 1.0).add_scalar(self.sigma_min));
        (self.mu.forward(hidden), sigma)
    }

    /// log p(x | decoder input): [batch].
    fn log_prob(&self, input: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
        match self.forward(input) {
            (logits, None) => bernoulli_log_prob(logits, x),
            (mu, Some(sigma)) => gaussian_log_prob(mu, sigma, x),
        }
    }

    /// One draw of x given the decoder input; `u` holds U(0,1) (Bernoulli) or N(0,1) noise.
    fn sample(&self, input: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
        match self.forward(input) {
            (logits, None) => u.lower(sigmoid(logits)).float(),
            (mu, Some(sigma)) => mu + sigma * u,
        }
    }
}

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
    /// number of real steps, shape [1].
    pub fn loss(&self, beta: f64) -> Tensor<1> {
        let mut total = self.kl.clone() * beta + self.nll.clone();
        if let Some(r) = &self.reward_nll {
            total = total + r.clone();
        }
        total.sum() / self.mask.clone().sum().clamp_min(1.0)
    }

    /// Per-sequence sums of (KL, NLL) and real-step counts, each [batch].
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
    /// KL(q_t || p_t): [batch].
    pub kl: Tensor<1>,
    /// -log p(x_t | z_t, h_{t-1}): [batch].
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

/// Variational recurrent neural network (SCIENCE.md §1).
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
    /// Learned initial state h_{-1}: [h_dim]; used only at the first step.
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
        let dec_trunk = Mlp::new(fz + h, w, self.decoder_layers, device);
        let dec_width = dec_trunk.out_dim(fz + h);
        let gaussian = self.likelihood == Likelihood::Gaussian;
        Ok(Vrnn {
            prior: head(h + self.action_dim, self.prior_layers, self.z_dim),
            encoder: head(fx + h, self.encoder_layers, self.z_dim),
            decoder: Decoder {
                trunk: dec_trunk,
                mu: LinearConfig::new(dec_width, self.x_dim).init(device),
                sigma: gaussian.then(|| LinearConfig::new(dec_width, self.x_dim).init(device)),
                sigma_min: self.sigma_min,
            },
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
        self.h0.val().unsqueeze_dim::<2>(0).repeat_dim(0, batch)
    }

    fn prior_input(&self, h_prev: Tensor<2>, a_prev: Option<Tensor<2>>) -> Tensor<2> {
        match a_prev {
            Some(a) if self.action_dim > 0 => Tensor::cat(vec![h_prev, a], 1),
            _ if self.action_dim > 0 => {
                let [b, _] = h_prev.dims();
                let zeros = Tensor::zeros([b, self.action_dim], &h_prev.device());
                Tensor::cat(vec![h_prev, zeros], 1)
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
        let posterior = self
            .encoder
            .forward(Tensor::cat(vec![fx.clone(), h_prev.clone()], 1));
        let z = posterior.rsample(eps);
        let fz = self.phi_z.forward(z.clone());
        let nll = self
            .decoder
            .log_prob(Tensor::cat(vec![fz.clone(), h_prev.clone()], 1), x)
            .neg();
        let kl = posterior.kl(&prior);
        let h = self.rnn.step(Tensor::cat(vec![fx, fz], 1), h_prev);
        StepOutput {
            h,
            prior,
            posterior,
            z,
            kl,
            nll,
        }
    }

    /// Runs the whole batch. Only the encoder -> z -> GRU chain is sequential; the prior,
    /// decoder and reward head run once over all steps. Gradients flow through h across all
    /// steps (nothing is detached).
    pub fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        let [b, t_len, d] = batch.dims();
        let device = batch.x.device();
        let eps = match noise {
            Noise::Sample => Tensor::random(
                [b, t_len, self.z_dim],
                Distribution::Normal(0.0, 1.0),
                &device,
            ),
            Noise::Mean => Tensor::zeros([b, t_len, self.z_dim], &device),
            Noise::Given(eps) => *eps,
        };
        let flat = |t: Tensor<3>| {
            let [b, t_len, w] = t.dims();
            t.reshape([b * t_len, w])
        };
        let fx_all = self.phi_x.forward(batch.x.clone().reshape([b * t_len, d]));
        let fx_width = fx_all.dims()[1];
        let fx_all = fx_all.reshape([b, t_len, fx_width]);

        let mut h = self.initial_state(b);
        let (mut h_prev, mut h_next) = (Vec::with_capacity(t_len), Vec::with_capacity(t_len));
        let (mut post_mu, mut post_sigma, mut fz_all) = (Vec::new(), Vec::new(), Vec::new());
        for t in 0..t_len {
            let fx = fx_all.clone().narrow(1, t, 1).reshape([b, fx_width]);
            let post = self
                .encoder
                .forward(Tensor::cat(vec![fx.clone(), h.clone()], 1));
            let eps_t = eps.clone().narrow(1, t, 1).reshape([b, self.z_dim]);
            let fz = self.phi_z.forward(post.rsample(eps_t));
            h_prev.push(h.clone());
            h = self.rnn.step(Tensor::cat(vec![fx, fz.clone()], 1), h);
            h_next.push(h.clone());
            post_mu.push(post.mu);
            post_sigma.push(post.sigma);
            fz_all.push(fz);
        }
        let stack = |v: Vec<Tensor<2>>| Tensor::stack::<3>(v, 1);
        let h_prev = flat(stack(h_prev)); // [B*T, H]
        let fz_all = flat(stack(fz_all)); // [B*T, Fz]
        let posterior = DiagGaussian {
            mu: flat(stack(post_mu)),
            sigma: flat(stack(post_sigma)),
        };
        let a_prev = batch.actions.clone().map(|a| {
            // a_{t-1}, with zeros before the first step: [B*T, A]
            let zeros = Tensor::zeros([b, 1, self.action_dim], &device);
            let shifted = if t_len > 1 {
                Tensor::cat(vec![zeros, a.narrow(1, 0, t_len - 1)], 1)
            } else {
                zeros
            };
            flat(shifted)
        });
        let prior = self.prior.forward(self.prior_input(h_prev.clone(), a_prev));
        let dec_in = Tensor::cat(vec![fz_all, self.dropout.forward(h_prev)], 1);
        let x_flat = batch.x.clone().reshape([b * t_len, d]);
        let per_step = |v: Tensor<1>| v.reshape([b, t_len]) * batch.mask.clone();
        let kl = per_step(posterior.kl(&prior));
        let nll = per_step(self.decoder.log_prob(dec_in.clone(), x_flat).neg());
        let reward_nll = match (&self.reward, &batch.rewards) {
            (Some(head), Some(r)) => {
                let pr = head.forward(dec_in);
                let r = r.clone().reshape([b * t_len, 1]);
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
            posterior: (unflat(posterior.mu), unflat(posterior.sigma)),
            h: stack(h_next),
        }
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
        let obs_noise = match self.decoder.sigma {
            None => Distribution::Uniform(0.0, 1.0),
            Some(_) => Distribution::Normal(0.0, 1.0),
        };
        let u = Tensor::<3>::random([batch, steps, self.x_dim], obs_noise, device);
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
