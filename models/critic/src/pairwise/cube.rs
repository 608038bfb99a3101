//! The pairwise loss as one CubeCL launch on the Cube backends (wgpu, CUDA): one unit per
//! (item, head) pair loops over the item's N target samples and writes that pair's share of the
//! loss and its gradient, as the host pass does; the loss is then one sum, and the backward
//! pass one product of the stored gradient with the incoming one. No [n, N, N] tensor exists
//! here either.

use burn::backend::TensorMetadata;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::tensor::CubeTensor;
use neuromod_kernels::cube::grads::{empty_like, scaled_rows};
use neuromod_kernels::cube::pieces::per_item;
use neuromod_kernels::{CubeBackprop, CubeKernel};

use super::Penalty;

/// Per pair p = b N + i: out[p] = w_b / (n N) sum_k |tau_i - 1{u < 0}| rho(u) and grad[p] =
/// its derivative in V_bi, u = S_bk - V_bi.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn pairwise_kernel<F: Float>(
    values: &Tensor<F>,
    samples: &Tensor<F>,
    weight: &Tensor<F>,
    taus: &Tensor<F>,
    out: &mut Tensor<F>,
    grad: &mut Tensor<F>,
    pairs: u32,
    heads: u32,
    kappa: f32,
    #[comptime] huber: bool,
    #[define(F)] _dtype: ElemType,
) {
    let p = ABSOLUTE_POS;
    let n = heads as usize;
    if p < pairs as usize {
        let b = p / n;
        let v = values[p];
        let tau = taus[p % n];
        let zero = F::new(0.0);
        let kap = F::cast_from(kappa);
        let mut acc = zero;
        let mut dv = zero;
        for k in 0..n {
            let u = samples[b * n + k] - v;
            let mut asym = tau;
            if u < zero {
                asym = F::new(1.0) - tau;
            }
            if huber {
                let a = F::abs(u);
                if a <= kap {
                    acc += asym * F::new(0.5) * a * a / kap;
                    dv -= asym * u / kap;
                } else {
                    acc += asym * (a - F::new(0.5) * kap);
                    if u < zero {
                        dv += asym;
                    } else {
                        dv -= asym;
                    }
                }
            } else {
                acc += asym * u * u;
                dv -= asym * F::new(2.0) * u;
            }
        }
        let scale = weight[b] / F::cast_from(pairs);
        out[p] = acc * scale;
        grad[p] = dv * scale;
    }
}

/// The loss's sizes and penalty as the kernel runs them.
#[derive(Debug, Clone, Copy)]
pub(super) struct PairwiseCube {
    /// Items n times heads N.
    pub pairs: usize,
    /// Heads N (as many target samples per item).
    pub heads: usize,
    /// rho.
    pub penalty: Penalty,
}

impl CubeKernel for PairwiseCube {
    /// Each pair's share of the loss; saved: its gradient in the pair's value.
    fn sizes(&self) -> (usize, usize) {
        (self.pairs, self.pairs)
    }

    /// Inputs [values, samples, weight, taus].
    fn forward(&self, [v, s, w, taus]: [CubeTensor; 4]) -> (CubeTensor, CubeTensor) {
        let (client, dtype) = (v.client.clone(), v.dtype);
        let (out, grad) = (empty_like(&v, self.pairs), empty_like(&v, self.pairs));
        let (huber, kappa) = match self.penalty {
            Penalty::Huber(kappa) => (true, kappa),
            Penalty::Square => (false, 1.0),
        };
        let (cubes, units) = per_item(self.pairs);
        pairwise_kernel::launch(
            &client,
            cubes,
            units,
            v.into_tensor_arg(),
            s.into_tensor_arg(),
            w.into_tensor_arg(),
            taus.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            grad.clone().into_tensor_arg(),
            self.pairs as u32,
            self.heads as u32,
            kappa,
            huber,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        (out, grad)
    }

    /// The values' gradient; the samples, weights and taus are targets: unwritten buffers.
    fn backward(&self, pass: CubeBackprop) -> [CubeTensor; 4] {
        let [_, s, w, taus] = &pass.inputs;
        let rest = [s, w, taus].map(|t| empty_like(t, t.shape().num_elements()));
        let dv = scaled_rows(pass.saved, pass.dout, self.pairs, 1);
        let [a, b, c] = rest;
        [dv, a, b, c]
    }

    /// Only the first input (values / psi) receives a gradient.
    fn grads_of(&self) -> [bool; 4] {
        [true, false, false, false]
    }
}
