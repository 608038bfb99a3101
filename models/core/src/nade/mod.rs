//! A within-frame autoregressive Bernoulli emission: NADE (Larochelle & Murray 2011) over the
//! D features of one frame, in their order (for a piano roll: keys low to high), conditioned on
//! the decoder's input as in RNN-NADE (Boulanger-Lewandowski et al. 2012): the context sets the
//! visible biases b (the decoder's logits head) and the hidden biases c (this module's head).
//!
//! p(x) = prod_d Bernoulli(x_d | sigmoid(b_d + V_d . h_d)), h_d = sigmoid(c + sum_{k<d} x_k
//! W_k), with W [D, H] and V [D, H]. Composed (any device), every h_d comes from one cumulative
//! sum over the keys (no loop over d), a few tensor passes of [rows, D, H]; on the CPU backends
//! the log-likelihood is one fused pass per row with a hand-written backward ([`host`]).
//! Sampling runs the D keys in turn.

mod host;
#[cfg(test)]
mod tests;

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::Distribution;
use neuromod_kernels::{fused, run, Chain};

use crate::likelihood::bernoulli_log_prob;

/// Hidden units of a NADE emission (RNN-NADE used 150 on JSB; a power of two here).
pub const NADE_HIDDEN: usize = 128;

/// Most rows the composed log-likelihood handles at once (its [rows, D, H] tensors are then
/// at most about 360 MB each at D 88 and H 128).
pub const NADE_COMPOSED_ROWS: usize = 8192;

/// The NADE part of a decoder: the hidden biases' head and the autoregressive weights.
#[derive(Module, Debug)]
pub struct Nade {
    /// Context -> hidden biases c: [context, H].
    pub hidden_bias: Linear,
    /// W [D, H]: row k is what x_k adds to the hidden units of every later feature.
    pub w: Param<Tensor<2>>,
    /// V [D, H]: row d reads feature d's hidden units into its logit.
    pub v: Param<Tensor<2>>,
}

impl Nade {
    /// A NADE over `x_dim` features with `hidden` units, reading `context` features; W and V
    /// uniform in +-1/sqrt(fan-in) (D for W, H for V), like burn's `Linear`.
    pub fn new(context: usize, x_dim: usize, hidden: usize, device: &Device) -> Self {
        let uniform = |fan_in: usize| {
            let a = 1.0 / (fan_in as f64).sqrt();
            Param::from_tensor(Tensor::random(
                [x_dim, hidden],
                Distribution::Uniform(-a, a),
                device,
            ))
        };
        Self {
            hidden_bias: LinearConfig::new(context, hidden).init(device),
            w: uniform(x_dim),
            v: uniform(hidden),
        }
    }

    /// Hidden units H.
    pub fn hidden(&self) -> usize {
        self.w.dims()[1]
    }

    /// Each feature's logit given the features before it: visible biases `b` [N, D], hidden
    /// biases `c` [N, H], observed `x` [N, D] -> [N, D].
    pub fn logits(&self, b: Tensor<2>, c: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
        let w = self.w.val().unsqueeze_dim::<3>(0); // [1, D, H]
                                                    // x_k W_k for every k, then the sum over k < d: the inclusive sum less its own term.
        let each = x.unsqueeze_dim::<3>(2) * w; // [N, D, H]
        let before = each.clone().cumsum(1) - each;
        let h = sigmoid(before + c.unsqueeze_dim::<3>(1));
        let read = (h * self.v.val().unsqueeze_dim::<3>(0)).sum_dim(2); // [N, D, 1]
        b + read.squeeze_dim::<2>(2)
    }

    /// log p(x) per row \[N\] from the decoder's heads [N, D + H] (visible biases b, then
    /// hidden biases c) and the frames `x` [N, D] (data: no gradient), the way the device's
    /// route says ([`NadeChain`]).
    pub fn log_prob(&self, heads: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
        let device = heads.device();
        run(&NadeChain { nade: self }, (heads, x), &device)
    }

    /// One draw of the frame, feature by feature: `u` [N, D] holds U(0, 1) noise (feature d
    /// is 1 where u_d < its probability).
    pub fn sample(&self, b: Tensor<2>, c: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
        let [n, d_len] = b.dims();
        let (w, v) = (self.w.val(), self.v.val());
        let mut a = c;
        let mut keys = Vec::with_capacity(d_len);
        for d in 0..d_len {
            let vd = v.clone().narrow(0, d, 1); // [1, H]
            let logit = b.clone().narrow(1, d, 1) + (sigmoid(a.clone()) * vd).sum_dim(1);
            let x = u.clone().narrow(1, d, 1).lower(sigmoid(logit)).float(); // [N, 1]
            a = a + x.clone() * w.clone().narrow(0, d, 1);
            keys.push(x);
        }
        debug_assert_eq!(keys.len(), d_len);
        if keys.is_empty() {
            return Tensor::zeros([n, 0], &u.device());
        }
        Tensor::cat(keys, 1)
    }
}

/// NADE's log-likelihood of frames given the decoder's heads, as a chain: composed from tensor
/// operations, or one fused pass on the CPU backends.
#[derive(Debug, Clone, Copy)]
pub struct NadeChain<'a> {
    /// The weights.
    pub nade: &'a Nade,
}

impl Chain for NadeChain<'_> {
    /// Heads [N, D + H] and frames [N, D].
    type Input = (Tensor<2>, Tensor<2>);
    /// log p(x) \[N\].
    type Output = Tensor<1>;

    /// In chunks of at most [`NADE_COMPOSED_ROWS`] rows, so that no [rows, D, H] tensor outgrows
    /// them (an IWAE bound over 2048 sequences of 100 steps would otherwise build tensors of
    /// about 9 GB).
    fn composed(&self, (heads, x): Self::Input) -> Tensor<1> {
        let [rows, d] = x.dims();
        let h = self.nade.hidden();
        let chunk = |at: usize, len: usize| {
            let (hs, xs) = (
                heads.clone().narrow(0, at, len),
                x.clone().narrow(0, at, len),
            );
            let (b, c) = (hs.clone().narrow(1, 0, d), hs.narrow(1, d, h));
            bernoulli_log_prob(self.nade.logits(b, c, xs.clone()), xs)
        };
        if rows <= NADE_COMPOSED_ROWS {
            return chunk(0, rows);
        }
        let parts = (0..rows)
            .step_by(NADE_COMPOSED_ROWS)
            .map(|at| chunk(at, NADE_COMPOSED_ROWS.min(rows - at)))
            .collect();
        Tensor::cat(parts, 0)
    }

    /// One operation: W and V packed into theta, the frames detached.
    fn host(&self, (heads, x): Self::Input) -> Tensor<1> {
        let ([rows, d], h) = (x.dims(), self.nade.hidden());
        assert_eq!(heads.dims(), [rows, d + h], "heads are [rows, D + H]");
        let theta = Tensor::cat(
            vec![
                self.nade.w.val().flatten::<1>(0, 1),
                self.nade.v.val().flatten::<1>(0, 1),
            ],
            0,
        );
        let shape = host::NadeShape { rows, d, h };
        fused(shape, vec![heads.into(), x.detach().into(), theta.into()])
    }
}
