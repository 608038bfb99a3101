//! Observation models: the decoder p(x_t | input) every world model ends in, Bernoulli (binary
//! data) or diagonal Gaussian (real-valued data).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

use crate::gaussian::sigma_from;
use crate::likelihood::{bernoulli_log_prob, gaussian_log_prob};
use crate::mlp::{linear_parts, Mlp};
use neuromod_kernels::dense_stack;

/// Observation model of the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Likelihood {
    /// Independent Bernoulli per feature, from logits (binary data: piano rolls, pixels).
    Bernoulli,
    /// Diagonal Gaussian with learned mean and standard deviation (real-valued data).
    Gaussian,
}

/// Decoder p(x | input): logits (Bernoulli) or mean and sigma (Gaussian) after an MLP trunk.
#[derive(Module, Debug)]
pub struct Decoder {
    /// Hidden layers on the input.
    pub trunk: Mlp,
    /// Logits (Bernoulli) or mean (Gaussian): [.., x_dim].
    pub mu: Linear,
    /// Pre-softplus standard deviation; present only for the Gaussian likelihood.
    pub sigma: Option<Linear>,
    /// Floor added to sigma.
    pub sigma_min: f64,
}

impl Decoder {
    /// A decoder from `input` features through `layers` hidden layers of width `hidden`.
    pub fn new(
        input: usize,
        hidden: usize,
        layers: usize,
        x_dim: usize,
        likelihood: Likelihood,
        sigma_min: f64,
        device: &Device,
    ) -> Self {
        Self::on_trunk(
            Mlp::new(input, hidden, layers, device),
            input,
            x_dim,
            likelihood,
            sigma_min,
            device,
        )
    }

    /// A decoder whose hidden layers `trunk` (reading `input` features) were built already:
    /// the order in which layers are created is the order in which they draw their initial
    /// weights, so a family can keep the order its published seeds were run with.
    pub fn on_trunk(
        trunk: Mlp,
        input: usize,
        x_dim: usize,
        likelihood: Likelihood,
        sigma_min: f64,
        device: &Device,
    ) -> Self {
        let width = trunk.out_dim(input);
        Self {
            trunk,
            mu: LinearConfig::new(width, x_dim).init(device),
            sigma: (likelihood == Likelihood::Gaussian)
                .then(|| LinearConfig::new(width, x_dim).init(device)),
            sigma_min,
        }
    }

    /// Returns (logits or mean, sigma when Gaussian); input: [batch, features]. The trunk
    /// and the output layer(s) run as one dense stack (fused on the CPU backends).
    pub fn forward(&self, input: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        let mut layers = self.trunk.parts();
        let (wm, bm) = linear_parts(&self.mu);
        let d = wm.dims()[1];
        match &self.sigma {
            None => {
                layers.push((wm, bm));
                (dense_stack(input, &layers, false), None)
            }
            Some(head) => {
                let (ws, bs) = linear_parts(head);
                layers.push((Tensor::cat(vec![wm, ws], 1), Tensor::cat(vec![bm, bs], 0)));
                let out = dense_stack(input, &layers, false);
                let sigma = sigma_from(out.clone().narrow(1, d, d), self.sigma_min);
                (out.narrow(1, 0, d), Some(sigma))
            }
        }
    }

    /// log p(x | decoder input): \[batch\].
    pub fn log_prob(&self, input: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
        match self.forward(input) {
            (logits, None) => bernoulli_log_prob(logits, x),
            (mu, Some(sigma)) => gaussian_log_prob(mu, sigma, x),
        }
    }

    /// One draw of x given the decoder input; `u` holds U(0,1) (Bernoulli) or N(0,1) noise.
    pub fn sample(&self, input: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
        match self.forward(input) {
            (logits, None) => u.lower(sigmoid(logits)).float(),
            (mu, Some(sigma)) => mu + sigma * u,
        }
    }

    /// The noise distribution [`Decoder::sample`] expects.
    pub fn noise(&self) -> burn::tensor::Distribution {
        match self.sigma {
            None => burn::tensor::Distribution::Uniform(0.0, 1.0),
            Some(_) => burn::tensor::Distribution::Normal(0.0, 1.0),
        }
    }
}
