//! The Resq chain as CubeCL kernels on the Cube backends (wgpu, CUDA): one persistent launch
//! forward and one backward through time, each with one cube per sequence and the time loop
//! inside; the weight gradients are then three large products over all B x T rows. The output
//! planes are the host's [mu_p | sigma_p | mu_q | sigma_q | z]; the saved planes are this
//! version's own: [relu layer (2W) | prior slope (Z) | posterior slope (Z)].

use burn::backend::ops::FloatTensorOps;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;
use neuromod_kernels::cube::grads::{columns, empty_like, flat, layer_grads, plane};
use neuromod_kernels::cube::pieces::{dot_col, dot_row, logistic, softplus, units};
use neuromod_kernels::{CubeBackprop, CubeKernel};

use super::ResqShape;

/// Forward pass over all steps; see the module's documentation.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn resq_forward_kernel<F: Float>(
    ctx: &Tensor<F>,
    eps: &Tensor<F>,
    z0: &Tensor<F>,
    theta: &Tensor<F>,
    out: &mut Tensor<F>,
    saved: &mut Tensor<F>,
    steps: u32,
    sigma_min: f32,
    #[comptime] zw: u32,
    #[comptime] ww: u32,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let rows = CUBE_COUNT_X as usize * t_len;
    let z = zw as usize;
    let w = ww as usize;
    // Shared memory: z_{t-1} (Z) | layer (2W) | heads [prior | posterior] (4Z).
    let mut sh = Shared::<[F]>::new_slice(comptime!(5 * zw + 2 * ww) as usize);
    let sa = z;
    let shd = z + 2 * w;
    // Offsets in theta: W_z [Z, 2W], prior head [W, 2Z] and bias, posterior head and bias.
    let wp = 2 * z * w;
    let bp = wp + 2 * w * z;
    let wq = bp + 2 * z;
    let bq = wq + 2 * w * z;
    let smin = F::cast_from(sigma_min);
    let mut j = UNIT_POS_X as usize;
    while j < z {
        sh[j] = z0[b * z + j];
        j += stride;
    }
    sync_cube();
    for t in 0..t_len {
        let row = b * t_len + t;
        let mut c = UNIT_POS_X as usize;
        while c < 2 * w {
            let p = ctx[row * 2 * w + c] + dot_col::<F>(&sh, 0, z, theta, 0, 2 * w, c);
            let a = F::max(p, F::new(0.0));
            saved[row * 2 * w + c] = a;
            sh[sa + c] = a;
            c += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < 4 * z {
            let d = if j < 2 * z {
                theta[bp + j] + dot_col::<F>(&sh, sa, w, theta, wp, 2 * z, j)
            } else {
                theta[bq + j - 2 * z] + dot_col::<F>(&sh, sa + w, w, theta, wq, 2 * z, j - 2 * z)
            };
            sh[shd + j] = d;
            j += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < z {
            let at = row * z + j;
            let mu_p = sh[shd + j];
            let sp_p = sh[shd + z + j];
            let mu_q = mu_p + sh[shd + 2 * z + j];
            let sp_q = sh[shd + 3 * z + j];
            let sigma_q = softplus::<F>(sp_q) + smin;
            let zt = mu_q + sigma_q * eps[at];
            out[at] = mu_p;
            out[rows * z + at] = softplus::<F>(sp_p) + smin;
            out[2 * rows * z + at] = mu_q;
            out[3 * rows * z + at] = sigma_q;
            out[4 * rows * z + at] = zt;
            saved[rows * 2 * w + at] = logistic::<F>(sp_p);
            saved[rows * (2 * w + z) + at] = logistic::<F>(sp_q);
            sh[j] = zt;
            j += stride;
        }
        sync_cube();
    }
}

/// Backward through time: gradient planes [dctx (2W) | deps (Z) | dheads (4Z) | z_{t-1} (Z)]
/// and the gradient of z0.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn resq_backward_kernel<F: Float>(
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
    #[comptime] ww: u32,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let rows = CUBE_COUNT_X as usize * t_len;
    let z = zw as usize;
    let w = ww as usize;
    // Shared memory: dz (Z, from the future) | dheads (4Z) | dpre (2W).
    let mut sh = Shared::<[F]>::new_slice(comptime!(5 * zw + 2 * ww) as usize);
    let shd = z;
    let spre = 5 * z;
    let wp = 2 * z * w;
    let wq = wp + 2 * w * z + 2 * z;
    let g_eps = rows * 2 * w;
    let g_hd = g_eps + rows * z;
    let g_zprev = g_hd + rows * 4 * z;
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
            let dzt = dout[4 * rows * z + at] + sh[j];
            let dmu_q = dout[2 * rows * z + at] + dzt;
            let dsig_q = dout[3 * rows * z + at] + dzt * eps[at];
            grads[g_eps + at] = dzt * out[3 * rows * z + at];
            let dmu_p = dout[at] + dmu_q;
            let dsp_p = dout[rows * z + at] * saved[rows * 2 * w + at];
            let dsp_q = dsig_q * saved[rows * (2 * w + z) + at];
            let hd = g_hd + row * 4 * z;
            grads[hd + j] = dmu_p;
            grads[hd + z + j] = dsp_p;
            grads[hd + 2 * z + j] = dmu_q;
            grads[hd + 3 * z + j] = dsp_q;
            sh[shd + j] = dmu_p;
            sh[shd + z + j] = dsp_p;
            sh[shd + 2 * z + j] = dmu_q;
            sh[shd + 3 * z + j] = dsp_q;
            let mut zp = z0[b * z + j];
            if t > 0 {
                zp = out[4 * rows * z + at - z];
            }
            grads[g_zprev + at] = zp;
            j += stride;
        }
        sync_cube();
        let mut c = UNIT_POS_X as usize;
        while c < 2 * w {
            let da = if c < w {
                dot_row::<F>(&sh, shd, 2 * z, theta, wp, c)
            } else {
                dot_row::<F>(&sh, shd + 2 * z, 2 * z, theta, wq, c - w)
            };
            let mut d = F::new(0.0);
            if saved[row * 2 * w + c] > F::new(0.0) {
                d = da;
            }
            grads[row * 2 * w + c] = d;
            sh[spre + c] = d;
            c += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < z {
            let d = dot_row::<F>(&sh, spre, 2 * w, theta, 0, j);
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

impl CubeKernel for ResqShape {
    fn sizes(&self) -> (usize, usize) {
        let rows = self.rows();
        (5 * rows * self.z, rows * (2 * self.w + 2 * self.z))
    }

    fn forward(&self, [ctx, eps, z0, theta]: [CubeTensor; 4]) -> (CubeTensor, CubeTensor) {
        let (client, dtype) = (ctx.client.clone(), ctx.dtype);
        let (n_out, n_saved) = CubeKernel::sizes(self);
        let new = |n| empty_like(&ctx, n);
        let (out, saved) = (new(n_out), new(n_saved));
        resq_forward_kernel::launch(
            &client,
            CubeCount::Static(self.batch as u32, 1, 1),
            units((2 * self.w).max(4 * self.z)),
            ctx.into_tensor_arg(),
            eps.into_tensor_arg(),
            z0.into_tensor_arg(),
            theta.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            saved.clone().into_tensor_arg(),
            self.steps as u32,
            self.sigma_min,
            self.z as u32,
            self.w as u32,
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
        let (rows, z, w) = (self.rows(), self.z, self.w);
        let new = |n| empty_like(&eps, n);
        let (grads, dz0) = (new(rows * (2 * w + 6 * z)), new(self.batch * z));
        resq_backward_kernel::launch(
            &client,
            CubeCount::Static(self.batch as u32, 1, 1),
            units((2 * w).max(4 * z)),
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
            w as u32,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        // theta = [W_z, prior head (W, b), posterior head (W, b)], summed over all rows.
        let gp = |at: usize, width: usize| plane(&grads, at * rows, rows, width);
        let (dctx, dheads) = (gp(0, 2 * w), gp(2 * w + z, 4 * z));
        let layer = plane(&saved, 0, rows, 2 * w);
        let mut parts = layer_grads(gp(2 * w + 5 * z, z), dctx.clone(), false);
        for k in 0..2 {
            let input = columns(layer.clone(), k * w, w);
            let dhead = columns(dheads.clone(), 2 * k * z, 2 * z);
            parts.extend(layer_grads(input, dhead, true));
        }
        let dtheta = CubeBackend::float_cat(parts, 0);
        [dctx, gp(2 * w, z), dz0, dtheta].map(flat)
    }
}
