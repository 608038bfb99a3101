//! Diagonal Gaussians: heads that produce them, KL, reparameterised samples.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softplus;

use crate::mlp::{linear_parts, Mlp};
use neuromod_kernels::dense_stack;

/// A diagonal Gaussian N(mu, diag sigma^2); both [batch, dim].
#[derive(Debug, Clone)]
pub struct DiagGaussian {
    /// Mean, [batch, dim].
    pub mu: Tensor<2>,
    /// Standard deviation (strictly positive), [batch, dim].
    pub sigma: Tensor<2>,
}

impl DiagGaussian {
    /// Analytic KL(self || other) summed over dimensions: \[batch\].
    pub fn kl(&self, other: &DiagGaussian) -> Tensor<1> {
        let var_ratio = (self.sigma.clone() / other.sigma.clone()).square();
        let mean_term = ((self.mu.clone() - other.mu.clone()) / other.sigma.clone()).square();
        // 0.5 * (var_ratio + mean_term - 1 - ln var_ratio)
        let per_dim = (var_ratio.clone() + mean_term - var_ratio.log()).sub_scalar(1.0) * 0.5;
        per_dim.sum_dim(1).squeeze_dim(1)
    }

    /// Reparameterised sample mu + sigma * eps, eps: [batch, dim].
    pub fn rsample(&self, eps: Tensor<2>) -> Tensor<2> {
        self.mu.clone() + self.sigma.clone() * eps
    }
}

/// MLP trunk plus `mu` and `sigma` linear heads; sigma = softplus(.) + floor.
#[derive(Module, Debug)]
pub struct GaussianHead {
    /// Hidden layers.
    pub trunk: Mlp,
    /// Mean head.
    pub mu: Linear,
    /// Pre-softplus standard-deviation head.
    pub sigma: Linear,
    /// Lower bound added to every standard deviation.
    pub sigma_min: f64,
}

impl GaussianHead {
    /// Head from `input` through `layers` hidden layers of `width` to `out` dimensions.
    pub fn new(
        input: usize,
        width: usize,
        layers: usize,
        out: usize,
        sigma_min: f64,
        device: &Device,
    ) -> Self {
        let trunk = Mlp::new(input, width, layers, device);
        let hidden = trunk.out_dim(input);
        Self {
            trunk,
            mu: LinearConfig::new(hidden, out).init(device),
            sigma: LinearConfig::new(hidden, out).init(device),
            sigma_min,
        }
    }

    /// x: [batch, input] -> N(mu, sigma^2) with both [batch, out]: the trunk and both heads
    /// as one dense stack (fused on the CPU backends).
    pub fn forward(&self, x: Tensor<2>) -> DiagGaussian {
        let mut layers = self.trunk.parts();
        layers.push(self.packed_heads());
        let out = dense_stack(x, &layers, false);
        let z = self.mu.weight.dims()[1];
        DiagGaussian {
            mu: out.clone().narrow(1, 0, z),
            sigma: sigma_from(out.narrow(1, z, z), self.sigma_min),
        }
    }

    /// The mu and sigma layers side by side: weight [hidden, 2 out], bias [2 out] (one matrix
    /// product gives both).
    pub fn packed_heads(&self) -> (Tensor<2>, Tensor<1>) {
        let ((wm, bm), (ws, bs)) = (linear_parts(&self.mu), linear_parts(&self.sigma));
        (Tensor::cat(vec![wm, ws], 1), Tensor::cat(vec![bm, bs], 0))
    }
}

/// A standard deviation from its pre-activation: softplus(pre) + sigma_min.
pub fn sigma_from(pre: Tensor<2>, sigma_min: f64) -> Tensor<2> {
    softplus(pre, 1.0).add_scalar(sigma_min)
}
