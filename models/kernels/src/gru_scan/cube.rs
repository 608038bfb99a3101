//! The GRU pass as CubeCL kernels on the Cube backends (wgpu, CUDA), forward and backward.
//!
//! Each direction is one persistent launch: one cube per sequence, the time loop inside the
//! kernel, the state (forward) or its gradient (backward) in shared memory, `W_hh` read from
//! global memory (it stays in cache). The forward pass saves the hidden projections
//! `h_{t-1} W_hh + b_hh` of every step; the backward pass writes the gradients of both
//! projections and the state each step read, and the weight gradients are then one large
//! product over all B x T rows, as on the host.

use burn::backend::ops::FloatTensorOps;
use burn::backend::TensorMetadata;
use burn::prelude::Shape;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::ops::numeric::zeros_client;
use burn_cubecl::ops::reshape;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;

use super::GruScanShape;
use crate::cube::grads::{empty_like, layer_grads};
use crate::cube::pieces::{logistic, tanh_stable, units};
use crate::cube::{CubeBackprop, CubeKernel};

/// The time index of the `step`-th step of the pass.
#[cube]
fn time_of(step: usize, steps: usize, #[comptime] reverse: bool) -> usize {
    let mut t = step;
    if reverse {
        t = steps - 1 - step;
    }
    t
}

/// Forward: one cube per sequence; `states` [B, T, H] and `gh` [B, T, 3H] (saved).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn gru_forward_kernel<F: Float>(
    gi: &Tensor<F>,
    h0: &Tensor<F>,
    theta: &Tensor<F>,
    mask: &Tensor<F>,
    states: &mut Tensor<F>,
    gh: &mut Tensor<F>,
    steps: u32,
    #[comptime] width: u32,
    #[comptime] reverse: bool,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let h = width as usize;
    let g3 = 3 * h;
    let t_len = steps as usize;
    let bias = h * g3;
    // Two state buffers: a step reads one and writes the other.
    let mut state = Shared::<[F]>::new_slice(2 * h);
    let mut j = UNIT_POS_X as usize;
    while j < h {
        state[j] = h0[b * h + j];
        j += stride;
    }
    sync_cube();
    let mut cur = 0usize;
    for step in 0..t_len {
        let row = b * t_len + time_of(step, t_len, reverse);
        let next = h - cur;
        let mut j = UNIT_POS_X as usize;
        while j < h {
            let mut ar = theta[bias + j];
            let mut au = theta[bias + h + j];
            let mut an = theta[bias + 2 * h + j];
            for k in 0..h {
                let hk = state[cur + k];
                ar += hk * theta[k * g3 + j];
                au += hk * theta[k * g3 + h + j];
                an += hk * theta[k * g3 + 2 * h + j];
            }
            gh[row * g3 + j] = ar;
            gh[row * g3 + h + j] = au;
            gh[row * g3 + 2 * h + j] = an;
            let r = logistic::<F>(gi[row * g3 + j] + ar);
            let u = logistic::<F>(gi[row * g3 + h + j] + au);
            let n = tanh_stable::<F>(gi[row * g3 + 2 * h + j] + r * an);
            let mut out = (F::new(1.0) - u) * n + u * state[cur + j];
            if reverse {
                let m = mask[row];
                out = m * out + (F::new(1.0) - m) * h0[b * h + j];
            }
            state[next + j] = out;
            states[row * h + j] = out;
            j += stride;
        }
        sync_cube();
        cur = next;
    }
}

/// Backward: one cube per sequence, the steps in the opposite order. Writes the gradients of
/// the input projections `dgi` and hidden projections `dgh` [B, T, 3H], the state each step
/// read `hprev` [B, T, H], and the gradient of h0 `dh0` [B, H].
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn gru_backward_kernel<F: Float>(
    gi: &Tensor<F>,
    h0: &Tensor<F>,
    theta: &Tensor<F>,
    mask: &Tensor<F>,
    states: &Tensor<F>,
    gh: &Tensor<F>,
    dout: &Tensor<F>,
    dgi: &mut Tensor<F>,
    dgh: &mut Tensor<F>,
    hprev: &mut Tensor<F>,
    dh0: &mut Tensor<F>,
    steps: u32,
    #[comptime] width: u32,
    #[comptime] reverse: bool,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let h = width as usize;
    let g3 = 3 * h;
    let t_len = steps as usize;
    // The gradient reaching the state before the step, the part of it that goes to h0
    // through padding, and the hidden projections' gradient of the step.
    let mut carry = Shared::<[F]>::new_slice(h);
    let mut to_h0 = Shared::<[F]>::new_slice(h);
    let mut dg = Shared::<[F]>::new_slice(3 * h);
    let mut j = UNIT_POS_X as usize;
    while j < h {
        carry[j] = F::new(0.0);
        to_h0[j] = F::new(0.0);
        j += stride;
    }
    sync_cube();
    for back in 0..t_len {
        // The forward pass's steps, last first.
        let t = time_of(t_len - 1 - back, t_len, reverse);
        let row = b * t_len + t;
        let mut first = t == 0;
        if reverse {
            first = t == t_len - 1;
        }
        let mut j = UNIT_POS_X as usize;
        while j < h {
            let mut hp = h0[b * h + j];
            if !first {
                if reverse {
                    hp = states[(row + 1) * h + j];
                } else {
                    hp = states[(row - 1) * h + j];
                }
            }
            hprev[row * h + j] = hp;
            let ghn = gh[row * g3 + 2 * h + j];
            let r = logistic::<F>(gi[row * g3 + j] + gh[row * g3 + j]);
            let u = logistic::<F>(gi[row * g3 + h + j] + gh[row * g3 + h + j]);
            let n = tanh_stable::<F>(gi[row * g3 + 2 * h + j] + r * ghn);
            let mut dnext = carry[j] + dout[row * h + j];
            if reverse {
                let m = mask[row];
                to_h0[j] += (F::new(1.0) - m) * dnext;
                dnext *= m;
            }
            let dn = dnext * (F::new(1.0) - u) * (F::new(1.0) - n * n);
            let du = dnext * (hp - n) * u * (F::new(1.0) - u);
            let dr = dn * ghn * r * (F::new(1.0) - r);
            dgi[row * g3 + j] = dr;
            dgi[row * g3 + h + j] = du;
            dgi[row * g3 + 2 * h + j] = dn;
            dgh[row * g3 + j] = dr;
            dgh[row * g3 + h + j] = du;
            dgh[row * g3 + 2 * h + j] = dn * r;
            dg[j] = dr;
            dg[h + j] = du;
            dg[2 * h + j] = dn * r;
            // Only this unit reads carry[j]: the direct path through u h_{t-1}.
            carry[j] = dnext * u;
            j += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < h {
            let mut acc = carry[j];
            for k in 0..g3 {
                acc += dg[k] * theta[j * g3 + k];
            }
            carry[j] = acc;
            j += stride;
        }
        sync_cube();
    }
    let mut j = UNIT_POS_X as usize;
    while j < h {
        dh0[b * h + j] = carry[j] + to_h0[j];
        j += stride;
    }
}

impl CubeKernel for GruScanShape {
    fn sizes(&self) -> (usize, usize) {
        (self.rows() * self.h, self.rows() * 3 * self.h)
    }

    fn forward(&self, [gi, h0, theta, mask]: [CubeTensor; 4]) -> (CubeTensor, CubeTensor) {
        let (client, dtype) = (gi.client.clone(), gi.dtype);
        let (n_out, n_saved) = self.sizes();
        let new = |n| empty_like(&gi, n);
        let (states, gh) = (new(n_out), new(n_saved));
        gru_forward_kernel::launch(
            &client,
            CubeCount::Static(self.batch as u32, 1, 1),
            units(self.h),
            gi.into_tensor_arg(),
            h0.into_tensor_arg(),
            theta.into_tensor_arg(),
            mask.into_tensor_arg(),
            states.clone().into_tensor_arg(),
            gh.clone().into_tensor_arg(),
            self.steps as u32,
            self.h as u32,
            self.reverse,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        (states, gh)
    }

    fn backward(&self, pass: CubeBackprop) -> [CubeTensor; 4] {
        let CubeBackprop {
            inputs: [gi, h0, theta, mask],
            out,
            saved,
            dout,
        } = pass;
        let (client, device, dtype) = (gi.client.clone(), gi.device.clone(), gi.dtype);
        let (rows, h) = (self.rows(), self.h);
        let new = |n| empty_like(&gi, n);
        let (dgi, dgh, hprev, dh0) = (
            new(rows * 3 * h),
            new(rows * 3 * h),
            new(rows * h),
            new(self.batch * h),
        );
        let mask_shape = mask.shape();
        gru_backward_kernel::launch(
            &client,
            CubeCount::Static(self.batch as u32, 1, 1),
            units(h),
            gi.into_tensor_arg(),
            h0.into_tensor_arg(),
            theta.into_tensor_arg(),
            mask.into_tensor_arg(),
            out.into_tensor_arg(),
            saved.into_tensor_arg(),
            dout.into_tensor_arg(),
            dgi.clone().into_tensor_arg(),
            dgh.clone().into_tensor_arg(),
            hprev.clone().into_tensor_arg(),
            dh0.clone().into_tensor_arg(),
            self.steps as u32,
            h as u32,
            self.reverse,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        // dW_hh = hprev^T dgh and db_hh = the column sums of dgh, over all B x T rows.
        let dgh = reshape(dgh, Shape::new([rows, 3 * h]));
        let hprev = reshape(hprev, Shape::new([rows, h]));
        let dtheta = CubeBackend::float_cat(layer_grads(hprev, dgh, true), 0);
        let dmask = zeros_client(client.clone(), device.clone(), mask_shape, dtype);
        [dgi, dh0, dtheta, dmask]
    }
}
