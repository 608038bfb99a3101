//! A GRU over a whole padded sequence whose input projections are known in advance, as one
//! fused operation with a hand-written backward pass (the CPU backends), or composed from
//! tensor operations elsewhere; both give the same values and gradients.
//!
//! Only the hidden projection `h_{t-1} W_hh` has to run step by step: the caller computes the
//! input projection of every step at once (one large product), and the fused pass carries the
//! state through time without a framework operation per step. Backward in time, padding (mask
//! 0) holds the state at h0, so each sequence's pass starts at its own last real step.

mod host;
#[cfg(test)]
mod tests;

use burn::prelude::*;

pub(crate) use host::{kernel_backward, kernel_forward};

use crate::gru::gru_update;
use crate::host::fused::{fused_scan, Kernel};
use crate::host::host_ops_available;

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

/// The GRU's states after every step, [B, T, H], from the input projections `gi` = x_t W_ih +
/// b_ih of every step [B, T, 3H] (gate order [r, u, n]), the initial state `h0` [B, H], the
/// hidden projection `w_hh` [H, 3H] with its bias `b_hh` \[3H\], and the padding `mask` [B, T]
/// (read only when `reverse`: there a state is `m h_t + (1 - m) h0`). Fused on the CPU
/// backends, composed elsewhere.
pub fn gru_sequence(
    gi: Tensor<3>,
    h0: Tensor<2>,
    (w_hh, b_hh): (Tensor<2>, Tensor<1>),
    mask: &Tensor<2>,
    reverse: bool,
) -> Tensor<3> {
    if host_ops_available(&gi.device()) {
        gru_sequence_fused(gi, h0, (w_hh, b_hh), mask, reverse)
    } else {
        gru_sequence_composed(gi, h0, (w_hh, b_hh), mask, reverse)
    }
}

/// [`gru_sequence`] from tensor operations, one cell update per step.
pub fn gru_sequence_composed(
    gi: Tensor<3>,
    h0: Tensor<2>,
    (w_hh, b_hh): (Tensor<2>, Tensor<1>),
    mask: &Tensor<2>,
    reverse: bool,
) -> Tensor<3> {
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

/// [`gru_sequence`] as one operation (one node of the autodiff graph).
///
/// # Panics
/// On a device without host operations ([`host_ops_available`]).
pub fn gru_sequence_fused(
    gi: Tensor<3>,
    h0: Tensor<2>,
    (w_hh, b_hh): (Tensor<2>, Tensor<1>),
    mask: &Tensor<2>,
    reverse: bool,
) -> Tensor<3> {
    let [batch, steps, _] = gi.dims();
    let h = h0.dims()[1];
    let shape = GruScanShape {
        batch,
        steps,
        h,
        reverse,
    };
    let theta = Tensor::cat(vec![w_hh.flatten::<1>(0, 1), b_hh], 0);
    let out = fused_scan(
        [
            gi.into_dispatch(),
            h0.into_dispatch(),
            theta.into_dispatch(),
            mask.clone().into_dispatch(),
        ],
        Kernel::Gru(shape),
    );
    out.reshape([batch, steps, h])
}
