//! GRU cell with a one-step API (a model whose input at t depends on the state at t - 1 steps
//! one at a time) and a pass over a whole sequence whose inputs are known in advance.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use crate::mlp::linear_parts;
use neuromod_kernels::{gru_sequence, gru_update};

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

    /// The cell over a whole padded sequence: states after every step, [B, T, H], from
    /// input [B, T, in] and initial state h0 [B, H]. The input projection runs once for all
    /// steps, the recurrence as [`gru_sequence`] (one fused operation on the CPU backends).
    /// Backward in time, padding (mask 0) holds the state at h0, so each sequence's pass
    /// starts at its own last real step; forward in time, padding comes after every real step
    /// and changes nothing there.
    pub fn run(
        &self,
        input: Tensor<3>,
        h0: Tensor<2>,
        mask: &Tensor<2>,
        backward: bool,
    ) -> Tensor<3> {
        let [b, t_len, d] = input.dims();
        let gi = self.input.forward(input.reshape([b * t_len, d])).reshape([
            b,
            t_len,
            d_out(&self.input),
        ]);
        gru_sequence(gi, h0, linear_parts(&self.hidden), mask, backward)
    }
}

/// A linear layer's output width.
fn d_out(l: &Linear) -> usize {
    l.weight.dims()[1]
}
