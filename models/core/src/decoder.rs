//! Observation models: the decoder p(x_t | input) every world model ends in: independent
//! Bernoulli or within-frame autoregressive Bernoulli (NADE) for binary data, diagonal Gaussian
//! for real-valued data.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

use crate::gaussian::sigma_from;
use crate::likelihood::{bernoulli_log_prob, gaussian_log_prob};
use crate::mlp::{linear_parts, Mlp};
use crate::nade::{Nade, NADE_HIDDEN};
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
    /// Bernoulli per feature given the features before it in the frame (NADE with
    /// [`NADE_HIDDEN`] hidden units, conditioned on the decoder's input; binary data, features
    /// in their order: piano keys low to high).
    Nade,
}

/// Decoder p(x | input) after an MLP trunk: logits (Bernoulli), logits given the frame's earlier
/// features (NADE), or mean and sigma (Gaussian).
#[derive(Module, Debug)]
pub struct Decoder {
    /// Hidden layers on the input.
    pub trunk: Mlp,
    /// Logits (Bernoulli), NADE's visible biases or the mean (Gaussian): [.., x_dim].
    pub mu: Linear,
    /// Pre-softplus standard deviation; present only for the Gaussian likelihood.
    pub sigma: Option<Linear>,
    /// The autoregressive part (the `mu` head gives its visible biases); present only for the
    /// NADE likelihood.
    pub nade: Option<Nade>,
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
            nade: (likelihood == Likelihood::Nade)
                .then(|| Nade::new(width, x_dim, NADE_HIDDEN, device)),
            sigma_min,
        }
    }

    /// The output heads on `input` [batch, features]: (logits, mean or NADE's visible biases
    /// [batch, D]; sigma (Gaussian) or NADE's hidden biases [batch, H]). The trunk and the
    /// heads run as one dense stack (fused on the CPU backends).
    pub fn forward(&self, input: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        let (out, d, e) = self.heads(input);
        let Some(e) = e else {
            return (out, None);
        };
        let rest = out.clone().narrow(1, d, e);
        let rest = if self.sigma.is_some() {
            sigma_from(rest, self.sigma_min)
        } else {
            rest
        };
        (out.narrow(1, 0, d), Some(rest))
    }

    /// The trunk and every head as one dense stack: its output [batch, D (+ E)], D and the
    /// second head's width E.
    fn heads(&self, input: Tensor<2>) -> (Tensor<2>, usize, Option<usize>) {
        let mut layers = self.trunk.parts();
        let (wm, bm) = linear_parts(&self.mu);
        let d = wm.dims()[1];
        let second = match (&self.sigma, &self.nade) {
            (Some(head), _) => Some(head),
            (None, Some(nade)) => Some(&nade.hidden_bias),
            (None, None) => None,
        };
        let Some(head) = second else {
            layers.push((wm, bm));
            return (dense_stack(input, &layers, false), d, None);
        };
        let (ws, bs) = linear_parts(head);
        let e = ws.dims()[1];
        layers.push((Tensor::cat(vec![wm, ws], 1), Tensor::cat(vec![bm, bs], 0)));
        (dense_stack(input, &layers, false), d, Some(e))
    }

    /// log p(x | decoder input): \[batch\].
    pub fn log_prob(&self, input: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
        if let Some(nade) = &self.nade {
            return nade.log_prob(self.heads(input).0, x);
        }
        match self.forward(input) {
            (logits, None) => bernoulli_log_prob(logits, x),
            (mu, Some(sigma)) => gaussian_log_prob(mu, sigma, x),
        }
    }

    /// One draw of x given the decoder input; `u` holds U(0,1) (Bernoulli, NADE) or N(0,1)
    /// noise (Gaussian).
    pub fn sample(&self, input: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
        match (self.forward(input), &self.nade) {
            ((logits, None), _) => u.lower(sigmoid(logits)).float(),
            ((b, Some(c)), Some(nade)) => nade.sample(b, c, u),
            ((mu, Some(sigma)), None) => mu + sigma * u,
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
