//! GRU cell with a one-step API (a VRNN needs z_t before h_t, so no sequence GRU).

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
        gru_update(self.input.forward(x), self.hidden.forward(h.clone()), h)
    }
}

/// The GRU's gate arithmetic given both projections (biases included), each [batch, 3H] in
/// gate order [r, u, n]: the one place the update is written for tensors.
pub fn gru_update(gi: Tensor<2>, gh: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
    let gi = gi.chunk(3, 1);
    let gh = gh.chunk(3, 1);
    let r = sigmoid(gi[0].clone() + gh[0].clone());
    let u = sigmoid(gi[1].clone() + gh[1].clone());
    let n = tanh(gi[2].clone() + r * gh[2].clone());
    let one_minus_u = u.clone().neg().add_scalar(1.0);
    one_minus_u * n + u * h
}
