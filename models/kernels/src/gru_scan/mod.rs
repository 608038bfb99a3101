//! A GRU over a whole padded sequence whose input projections are known in advance, as one
//! fused operation with a hand-written backward pass (the CPU backends), or composed from
//! tensor operations elsewhere; both give the same values and gradients.
//!
//! Only the hidden projection `h_{t-1} W_hh` has to run step by step: the caller computes the
//! input projection of every step at once (one large product), and the fused pass carries the
//! state through time without a framework operation per step. Backward in time, padding (mask
//! 0) holds the state at h0, so each sequence's pass starts at its own last real step.

mod cube;
mod host;
#[cfg(test)]
mod tests;

use burn::prelude::*;

use burn::tensor::activation::{sigmoid, tanh};

use crate::cube::cube_fused;
use crate::op::{fused, Arg};
use crate::route::{run, Chain};

/// Sizes and direction of one GRU pass. Rows of the `[batch, steps, ..]` tensors are indexed
/// `b * steps + t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GruScanShape {
    /// Sequences B.
    pub batch: usize,
    /// Steps T.
    pub steps: usize,
    /// State width H.
    pub h: usize,
    /// Whether the pass runs from the last step to the first.
    pub reverse: bool,
}

impl GruScanShape {
    /// Rows B * T.
    pub fn rows(&self) -> usize {
        self.batch * self.steps
    }
}

/// The GRU's gate arithmetic given both projections (biases included), each [batch, 3H] in
/// gate order [r, u, n] (the PyTorch formulation): r = sigma(gi_r + gh_r), u = sigma(gi_u +
/// gh_u), n = tanh(gi_n + r gh_n), h' = (1 - u) n + u h. The one place the update is written
/// for tensors.
pub fn gru_update(gi: Tensor<2>, gh: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
    let gi = gi.chunk(3, 1);
    let gh = gh.chunk(3, 1);
    let r = sigmoid(gi[0].clone() + gh[0].clone());
    let u = sigmoid(gi[1].clone() + gh[1].clone());
    let n = tanh(gi[2].clone() + r * gh[2].clone());
    let one_minus_u = u.clone().neg().add_scalar(1.0);
    one_minus_u * n + u * h
}

/// The GRU's states after every step, [B, T, H], from the input projections `gi` = x_t W_ih +
/// b_ih of every step [B, T, 3H] (gate order [r, u, n]), the initial state `h0` [B, H], the
/// hidden projection `w_hh` [H, 3H] with its bias `b_hh` \[3H\], and the padding `mask` [B, T]
/// (read only when `reverse`: there a state is `m h_t + (1 - m) h0`). Fused on the CPU
/// backends, composed elsewhere ([`GruPass`]).
pub fn gru_sequence(
    gi: Tensor<3>,
    h0: Tensor<2>,
    (w_hh, b_hh): (Tensor<2>, Tensor<1>),
    mask: &Tensor<2>,
    reverse: bool,
) -> Tensor<3> {
    let device = gi.device();
    let pass = GruPass { reverse };
    run(&pass, (gi, h0, (w_hh, b_hh), mask.clone()), &device)
}

/// A GRU pass over precomputed input projections, forward or backward in time.
#[derive(Debug, Clone, Copy)]
pub struct GruPass {
    /// Whether the pass runs from the last step to the first.
    pub reverse: bool,
}

impl Chain for GruPass {
    /// gi [B, T, 3H], h0 [B, H], (w_hh [H, 3H], b_hh \[3H\]), mask [B, T].
    type Input = (Tensor<3>, Tensor<2>, (Tensor<2>, Tensor<1>), Tensor<2>);
    /// The states [B, T, H].
    type Output = Tensor<3>;

    /// One cell update per step.
    fn composed(&self, (gi, h0, (w_hh, b_hh), mask): Self::Input) -> Tensor<3> {
        let reverse = self.reverse;
        let [b, t_len, g3] = gi.dims();
        let order: Vec<usize> = if reverse {
            (0..t_len).rev().collect()
        } else {
            (0..t_len).collect()
        };
        let bias = b_hh.unsqueeze_dim::<2>(0);
        let mut states: Vec<Option<Tensor<2>>> = vec![None; t_len];
        let mut state = h0.clone();
        for t in order {
            let gi_t = gi.clone().narrow(1, t, 1).reshape([b, g3]);
            let gh = state.clone().matmul(w_hh.clone()) + bias.clone();
            let next = gru_update(gi_t, gh, state.clone());
            state = if reverse {
                let m = mask.clone().narrow(1, t, 1); // [B, 1]
                next * m.clone() + h0.clone() * m.neg().add_scalar(1.0)
            } else {
                next
            };
            states[t] = Some(state.clone());
        }
        Tensor::stack(states.into_iter().flatten().collect(), 1)
    }

    /// One operation (one node of the autodiff graph).
    fn host(&self, input: Self::Input) -> Tensor<3> {
        let (shape, args) = self.operation(input);
        let out = fused(shape, args);
        out.reshape([shape.batch, shape.steps, shape.h])
    }

    /// Two persistent CubeCL launches, one per direction of the training step
    /// (one node of the autodiff graph); composed when the state is too wide for shared memory.
    fn cube(&self, input: Self::Input) -> Tensor<3> {
        // Backward: the carried gradient, its padding part and the projections' (5H).
        let [batch, h] = input.1.dims();
        if !crate::cube::pieces::fits(batch, 5 * h) {
            return self.composed(input);
        }
        let (shape, args) = self.operation(input);
        let out = cube_fused(shape, args);
        out.reshape([shape.batch, shape.steps, shape.h])
    }
}

impl GruPass {
    /// The fused operation's sizes and inputs: gi, h0, theta = [W_hh flat, b_hh], mask.
    fn operation(
        &self,
        (gi, h0, (w_hh, b_hh), mask): <Self as Chain>::Input,
    ) -> (GruScanShape, Vec<Arg>) {
        let [batch, steps, _] = gi.dims();
        let h = h0.dims()[1];
        let shape = GruScanShape {
            batch,
            steps,
            h,
            reverse: self.reverse,
        };
        let theta = Tensor::cat(vec![w_hh.flatten::<1>(0, 1), b_hh], 0);
        (shape, vec![gi.into(), h0.into(), theta.into(), mask.into()])
    }
}
