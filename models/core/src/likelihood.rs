//! Observation log-likelihoods, summed over the feature dimension.

use burn::prelude::*;
use burn::tensor::activation::softplus;

/// log Bernoulli(x | sigmoid(logits)) = x * l - softplus(l), stable for any logit: \[batch\].
pub fn bernoulli_log_prob(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    (x * logits.clone() - softplus(logits, 1.0))
        .sum_dim(1)
        .squeeze_dim(1)
}

/// log N(x | mu, sigma^2) for diagonal Gaussians: \[batch\].
pub fn gaussian_log_prob(mu: Tensor<2>, sigma: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let z = (x - mu) / sigma.clone();
    (z.square() * (-0.5) - sigma.log())
        .sub_scalar(half_log_2pi)
        .sum_dim(1)
        .squeeze_dim(1)
}
