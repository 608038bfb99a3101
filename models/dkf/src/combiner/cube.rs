//! The combiner chain as CubeCL kernels on the Cube backends (wgpu, CUDA): one persistent
//! launch forward and one backward through time, each with one cube per sequence and the time
//! loop inside; the weight gradients are then two large products over all B x T rows. Outputs
//! and saved planes have the host's layouts (`host.rs`).

use burn::backend::ops::FloatTensorOps;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;
use neuromod_kernels::cube::grads::{empty_like, flat, layer_grads, plane};
use neuromod_kernels::cube::pieces::{dot_col, dot_row, logistic, softplus, tanh_stable, units};
use neuromod_kernels::{CubeBackprop, CubeKernel};

use super::CombinerShape;

/// Forward: outputs [mu | sigma | z] (Z each), saved [tanh(.) (H) | average (H) | slope (Z)].
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn combiner_forward_kernel<F: Float>(
    g: &Tensor<F>,
    eps: &Tensor<F>,
    z0: &Tensor<F>,
    theta: &Tensor<F>,
    out: &mut Tensor<F>,
    saved: &mut Tensor<F>,
    steps: u32,
    sigma_min: f32,
    #[comptime] zw: u32,
    #[comptime] hw: u32,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let rows = CUBE_COUNT_X as usize * t_len;
    let z = zw as usize;
    let h = hw as usize;
    // Shared memory: z_{t-1} (Z) | average (H) | head (2Z).
    let mut sh = Shared::<[F]>::new_slice(comptime!(3 * zw + hw) as usize);
    let sc = z;
    let shd = z + h;
    // Offsets in theta: W_c [Z, H], b_c, head [H, 2Z], head bias.
    let bc = z * h;
    let head = bc + h;
    let hb = head + 2 * h * z;
    let smin = F::cast_from(sigma_min);
    let mut j = UNIT_POS_X as usize;
    while j < z {
        sh[j] = z0[b * z + j];
        j += stride;
    }
    sync_cube();
    for t in 0..t_len {
        let row = b * t_len + t;
        let mut j = UNIT_POS_X as usize;
        while j < h {
            let a = tanh_stable::<F>(theta[bc + j] + dot_col::<F>(&sh, 0, z, theta, 0, h, j));
            let c = F::new(0.5) * (a + g[row * h + j]);
            saved[row * h + j] = a;
            saved[rows * h + row * h + j] = c;
            sh[sc + j] = c;
            j += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < 2 * z {
            let d = theta[hb + j] + dot_col::<F>(&sh, sc, h, theta, head, 2 * z, j);
            sh[shd + j] = d;
            j += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < z {
            let at = row * z + j;
            let mu = sh[shd + j];
            let sp = sh[shd + z + j];
            let sigma = softplus::<F>(sp) + smin;
            let zt = mu + sigma * eps[at];
            out[at] = mu;
            out[rows * z + at] = sigma;
            out[2 * rows * z + at] = zt;
            saved[2 * rows * h + at] = logistic::<F>(sp);
            sh[j] = zt;
            j += stride;
        }
        sync_cube();
    }
}

/// Backward through time: gradient planes [dg (H) | deps (Z) | dpre (H) | dhead (2Z) |
/// z_{t-1} (Z)] and the gradient of z0.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn combiner_backward_kernel<F: Float>(
    eps: &Tensor<F>,
    z0: &Tensor<F>,
    theta: &Tensor<F>,
    out: &Tensor<F>,
    saved: &Tensor<F>,
    dout: &Tensor<F>,
    grads: &mut Tensor<F>,
    dz0: &mut Tensor<F>,
    steps: u32,
    #[comptime] zw: u32,
    #[comptime] hw: u32,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let rows = CUBE_COUNT_X as usize * t_len;
    let z = zw as usize;
    let h = hw as usize;
    // Shared memory: dz (Z, from the future) | dhead (2Z) | dpre (H).
    let mut sh = Shared::<[F]>::new_slice(comptime!(3 * zw + hw) as usize);
    let shd = z;
    let spre = 3 * z;
    let head = z * h + h;
    let g_eps = rows * h;
    let g_pre = rows * (h + z);
    let g_head = rows * (2 * h + z);
    let g_zprev = rows * (2 * h + 3 * z);
    let mut j = UNIT_POS_X as usize;
    while j < z {
        sh[j] = F::new(0.0);
        j += stride;
    }
    sync_cube();
    for back in 0..t_len {
        let t = t_len - 1 - back;
        let row = b * t_len + t;
        let mut j = UNIT_POS_X as usize;
        while j < z {
            let at = row * z + j;
            let dzt = dout[2 * rows * z + at] + sh[j];
            grads[g_eps + at] = dzt * out[rows * z + at];
            let dmu = dout[at] + dzt;
            let dsp = (dout[rows * z + at] + dzt * eps[at]) * saved[2 * rows * h + at];
            grads[g_head + row * 2 * z + j] = dmu;
            grads[g_head + row * 2 * z + z + j] = dsp;
            sh[shd + j] = dmu;
            sh[shd + z + j] = dsp;
            let mut zp = z0[b * z + j];
            if t > 0 {
                zp = out[2 * rows * z + at - z];
            }
            grads[g_zprev + at] = zp;
            j += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < h {
            let dc = dot_row::<F>(&sh, shd, 2 * z, theta, head, j);
            let a = saved[row * h + j];
            let dpre = F::new(0.5) * dc * (F::new(1.0) - a * a);
            grads[row * h + j] = F::new(0.5) * dc;
            grads[g_pre + row * h + j] = dpre;
            sh[spre + j] = dpre;
            j += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < z {
            let d = dot_row::<F>(&sh, spre, h, theta, 0, j);
            sh[j] = d;
            j += stride;
        }
        sync_cube();
    }
    let mut j = UNIT_POS_X as usize;
    while j < z {
        dz0[b * z + j] = sh[j];
        j += stride;
    }
}

impl CubeKernel for CombinerShape {
    fn sizes(&self) -> (usize, usize) {
        let rows = self.rows();
        (3 * rows * self.z, rows * (2 * self.h + self.z))
    }

    fn forward(&self, [g, eps, z0, theta]: [CubeTensor; 4]) -> (CubeTensor, CubeTensor) {
        let (client, dtype) = (g.client.clone(), g.dtype);
        let (n_out, n_saved) = CubeKernel::sizes(self);
        let new = |n| empty_like(&g, n);
        let (out, saved) = (new(n_out), new(n_saved));
        combiner_forward_kernel::launch(
            &client,
            CubeCount::Static(self.batch as u32, 1, 1),
            units(self.h.max(2 * self.z)),
            g.into_tensor_arg(),
            eps.into_tensor_arg(),
            z0.into_tensor_arg(),
            theta.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            saved.clone().into_tensor_arg(),
            self.steps as u32,
            self.sigma_min,
            self.z as u32,
            self.h as u32,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        (out, saved)
    }

    fn backward(&self, pass: CubeBackprop) -> [CubeTensor; 4] {
        let CubeBackprop {
            inputs: [_, eps, z0, theta],
            out,
            saved,
            dout,
        } = pass;
        let (client, dtype) = (eps.client.clone(), eps.dtype);
        let (rows, z, h) = (self.rows(), self.z, self.h);
        let new = |n| empty_like(&eps, n);
        let (grads, dz0) = (new(rows * (2 * h + 4 * z)), new(self.batch * z));
        combiner_backward_kernel::launch(
            &client,
            CubeCount::Static(self.batch as u32, 1, 1),
            units(h.max(2 * z)),
            eps.into_tensor_arg(),
            z0.into_tensor_arg(),
            theta.into_tensor_arg(),
            out.into_tensor_arg(),
            saved.clone().into_tensor_arg(),
            dout.into_tensor_arg(),
            grads.clone().into_tensor_arg(),
            dz0.clone().into_tensor_arg(),
            self.steps as u32,
            z as u32,
            h as u32,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        // theta = [W_c, b_c, W_head, b_head]: input^T dpre for both layers, over all rows.
        let gp = |at: usize, width: usize| plane(&grads, at * rows, rows, width);
        let mut parts = layer_grads(gp(2 * h + 3 * z, z), gp(h + z, h), true);
        parts.extend(layer_grads(
            plane(&saved, rows * h, rows, h),
            gp(2 * h + z, 2 * z),
            true,
        ));
        let dtheta = CubeBackend::float_cat(parts, 0);
        [gp(0, h), gp(h, z), dz0, dtheta].map(flat)
    }
}
