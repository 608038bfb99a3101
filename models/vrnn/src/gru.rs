//! GRU cell with a one-step API (the VRNN needs z_t before h_t, so no fused sequence GRU).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};

/// Gated recurrent unit cell (the PyTorch formulation):
/// r = σ(W_ir x + W_hr h), u = σ(W_iu x + W_hu h), n = tanh(W_in x + r ⊙ (W_hn h)),
/// h' = (1 - u) ⊙ n + u ⊙ h.
#[derive(Module, Debug)]
pub struct GruCell {
    /// Input projection to the three gates [r, u, n].
    pub input: Linear,
    /// Hidden projection to the three gates [r, u, n].
    pub hidden: Linear,
}

impl GruCell {
    /// A cell mapping inputs of width `input` to a state of width `hidden`.
    pub fn new(input: usize, hidden: usize, device: &Device) -> Self {
        Self {
            input: LinearConfig::new(input, 3 * hidden).init(device),
            hidden: LinearConfig::new(hidden, 3 * hidden).init(device),
        }
    }

    /// x: [batch, input], h: [batch, hidden] -> h': [batch, hidden]
    pub fn step(&self, x: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        let gx = self.input.forward(x).chunk(3, 1);
        let gh = self.hidden.forward(h.clone()).chunk(3, 1);
        let r = sigmoid(gx[0].clone() + gh[0].clone());
        let u = sigmoid(gx[1].clone() + gh[1].clone());
        let n = tanh(gx[2].clone() + r * gh[2].clone());
        let one_minus_u = u.clone().neg().add_scalar(1.0);
        one_minus_u * n + u * h
    }
}
