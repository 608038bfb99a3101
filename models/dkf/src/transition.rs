//! The gated transition p(z_t | z_{t-1}) of Krishnan et al. (2017): a gate mixes a linear
//! proposal (initialised to the identity, so the chain starts as a random walk) with a
//! nonlinear one; the standard deviation is read from the nonlinear proposal.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use neuromod_core::{sigma_from, DiagGaussian};

/// Gated transition: g = sigmoid(W_g2 relu(W_g1 z + b)), h = W_h2 relu(W_h1 z + b),
/// mu = (1 - g) * (W_l z + b) + g * h, sigma = softplus(W_s relu(h)) + floor.
#[derive(Module, Debug)]
pub struct GatedTransition {
    /// First layer of the gate.
    pub gate_hidden: Linear,
    /// Second layer of the gate.
    pub gate_out: Linear,
    /// First layer of the nonlinear proposal.
    pub proposal_hidden: Linear,
    /// Second layer of the nonlinear proposal.
    pub proposal_out: Linear,
    /// Linear proposal (identity at initialisation).
    pub linear: Linear,
    /// Standard deviation from relu(proposal).
    pub sigma: Linear,
    /// Floor added to sigma.
    pub sigma_min: f64,
}

impl GatedTransition {
    /// A transition on latents of width `z` with hidden layers of width `hidden`.
    pub fn new(z: usize, hidden: usize, sigma_min: f64, device: &Device) -> Self {
        let mut linear = LinearConfig::new(z, z).init(device);
        linear.weight = Param::from_tensor(Tensor::eye(z, device));
        linear.bias = Some(Param::from_tensor(Tensor::zeros([z], device)));
        Self {
            gate_hidden: LinearConfig::new(z, hidden).init(device),
            gate_out: LinearConfig::new(hidden, z).init(device),
            proposal_hidden: LinearConfig::new(z, hidden).init(device),
            proposal_out: LinearConfig::new(hidden, z).init(device),
            linear,
            sigma: LinearConfig::new(z, z).init(device),
            sigma_min,
        }
    }

    /// p(z_t | z_{t-1}) for every row of z_prev: [rows, z].
    pub fn forward(&self, z_prev: Tensor<2>) -> DiagGaussian {
        let gate = sigmoid(
            self.gate_out
                .forward(relu(self.gate_hidden.forward(z_prev.clone()))),
        );
        let proposal = self
            .proposal_out
            .forward(relu(self.proposal_hidden.forward(z_prev.clone())));
        let mu = (gate.clone().neg().add_scalar(1.0)) * self.linear.forward(z_prev)
            + gate * proposal.clone();
        let sigma = sigma_from(self.sigma.forward(relu(proposal)), self.sigma_min);
        DiagGaussian { mu, sigma }
    }
}
