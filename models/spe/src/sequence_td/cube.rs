//! The successor-feature TD loss as one CubeCL launch on the Cube backends (wgpu, CUDA): one
//! unit per row (b, t) of psi writes that transition's weighted squared error and its gradient
//! in psi(s_t), as the host pass does; the loss is then one sum scaled by the weights' total,
//! and the backward pass one product of the stored gradient with the incoming one.

use burn::backend::TensorMetadata;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::tensor::CubeTensor;
use neuromod_kernels::cube::grads::{empty_like, scaled_rows};
use neuromod_kernels::cube::pieces::per_item;
use neuromod_kernels::{CubeBackprop, CubeKernel};

/// Per row r = b T + t with t < T - 1: out[r] = pair_bt sum_c delta_c^2 and grad[r, c] = -2
/// pair_bt delta_c, delta_c = phi_{t+1, c mod F} + gamma_c psi_{t+1, c} - psi_{t, c}; the last
/// step of a sequence starts no transition (0 and zeros).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn td_kernel<F: Float>(
    psi: &Tensor<F>,
    phi: &Tensor<F>,
    pair: &Tensor<F>,
    gamma: &Tensor<F>,
    out: &mut Tensor<F>,
    grad: &mut Tensor<F>,
    rows: u32,
    steps: u32,
    features: u32,
    width: u32,
    #[define(F)] _dtype: ElemType,
) {
    let r = ABSOLUTE_POS;
    let t_len = steps as usize;
    let f = features as usize;
    let gf = width as usize;
    if r < rows as usize {
        let t = r % t_len;
        if t + 1 < t_len {
            let w = pair[(r / t_len) * (t_len - 1) + t];
            let mut sq = F::new(0.0);
            for c in 0..gf {
                let delta =
                    phi[(r + 1) * f + c % f] + gamma[c] * psi[(r + 1) * gf + c] - psi[r * gf + c];
                sq += delta * delta;
                grad[r * gf + c] = F::new(-2.0) * w * delta;
            }
            out[r] = w * sq;
        } else {
            for c in 0..gf {
                grad[r * gf + c] = F::new(0.0);
            }
            out[r] = F::new(0.0);
        }
    }
}

/// The loss's sizes as the kernel runs them.
#[derive(Debug, Clone, Copy)]
pub(super) struct TdCube {
    /// Sizes [B, T, F] of phi.
    pub dims: [usize; 3],
    /// Heads G.
    pub heads: usize,
}

impl TdCube {
    fn rows(&self) -> usize {
        self.dims[0] * self.dims[1]
    }
}

impl CubeKernel for TdCube {
    /// Each row's weighted squared error; saved: its gradient in psi's row.
    fn sizes(&self) -> (usize, usize) {
        let rows = self.rows();
        (rows, rows * self.heads * self.dims[2])
    }

    /// Inputs [psi, phi, pair, gamma row (each head's discount over its F columns)].
    fn forward(&self, [psi, phi, pair, gamma]: [CubeTensor; 4]) -> (CubeTensor, CubeTensor) {
        let (client, dtype) = (psi.client.clone(), psi.dtype);
        let (n_out, n_saved) = self.sizes();
        let (out, grad) = (empty_like(&psi, n_out), empty_like(&psi, n_saved));
        let (cubes, units) = per_item(n_out);
        td_kernel::launch(
            &client,
            cubes,
            units,
            psi.into_tensor_arg(),
            phi.into_tensor_arg(),
            pair.into_tensor_arg(),
            gamma.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            grad.clone().into_tensor_arg(),
            n_out as u32,
            self.dims[1] as u32,
            self.dims[2] as u32,
            (self.heads * self.dims[2]) as u32,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        (out, grad)
    }

    /// psi's gradient; phi, the weights and the discounts are targets: unwritten buffers.
    fn backward(&self, pass: CubeBackprop) -> [CubeTensor; 4] {
        let [_, phi, pair, gamma] = &pass.inputs;
        let [a, b, c] = [phi, pair, gamma].map(|t| empty_like(t, t.shape().num_elements()));
        let width = self.heads * self.dims[2];
        [
            scaled_rows(pass.saved, pass.dout, self.rows(), width),
            a,
            b,
            c,
        ]
    }

    /// Only the first input (values / psi) receives a gradient.
    fn grads_of(&self) -> [bool; 4] {
        [true, false, false, false]
    }
}
