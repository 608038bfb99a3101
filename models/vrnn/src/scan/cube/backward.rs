//! The scan's backward pass through time as one persistent CubeCL launch: one cube per
//! sequence, the steps last first, every gradient of a step in shared memory. It writes the
//! per-row gradient planes the weight gradients are summed from afterwards (as on the host):
//! [dxproj (E + 3H) | dpre (E + 3H) | deps (Z) | dhead (2Z) | denc 2..=L (E each) |
//! df 1..=L (Fz each) | h_{t-1} (H)], plane after plane, and the gradient of h0.

use burn_cubecl::cubecl::prelude::*;

use super::layout::Sizes;
use neuromod_kernels::cube::pieces::dot_row;

/// Backward pass over all steps; see the module's documentation.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn scan_backward_kernel<F: Float>(
    eps: &Tensor<F>,
    h0: &Tensor<F>,
    theta: &Tensor<F>,
    out: &Tensor<F>,
    saved: &Tensor<F>,
    dout: &Tensor<F>,
    g: &mut Tensor<F>,
    dh0: &mut Tensor<F>,
    steps: u32,
    #[comptime] s: Sizes,
    #[define(F)] _dtype: ElemType,
) {
    let b = CUBE_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let rows = CUBE_COUNT_X as usize * t_len;
    let h = s.h as usize;
    let e = s.e as usize;
    let z = s.z as usize;
    let fz = s.fz as usize;
    let le = s.enc_layers as usize;
    let lz = s.phiz_layers as usize;
    let g3 = 3 * h;
    let wcat = e + 3 * h;
    let dfw = comptime!(s.fz.max(s.z)) as usize;
    // Shared memory: dcarry | dgi | dpre | df (2) | dhead | da (2).
    let mut sh = Shared::<[F]>::new_slice(comptime!(s.backward_shared()));
    let sdgi = h;
    let spre = sdgi + g3;
    let sdf = spre + wcat;
    let shd = sdf + 2 * dfw;
    let sda = shd + 2 * z;
    // Planes of the output, the saved activations and the gradients.
    let o_mu = rows * h;
    let o_sig = rows * (h + z);
    let o_fz = rows * (h + 2 * z);
    let sv_slope = rows * e * le;
    let sv_f = sv_slope + 2 * rows * z;
    let sv_r = sv_f + rows * fz * lz;
    let g_pre = rows * wcat;
    let g_eps = 2 * rows * wcat;
    let g_head = g_eps + rows * z;
    let g_enc = g_head + rows * 2 * z;
    let g_f = g_enc + (le - 1) * rows * e;
    let g_hprev = g_f + lz * rows * fz;
    // Offsets in theta.
    let enc0 = s.enc as usize;
    let head = s.head as usize;
    let phiz0 = s.phiz0 as usize;
    let phiz1 = s.phiz1 as usize;
    let wgz = s.wgz as usize;

    let mut j = UNIT_POS_X as usize;
    while j < h {
        sh[j] = F::new(0.0);
        j += stride;
    }
    sync_cube();
    for back in 0..t_len {
        let t = t_len - 1 - back;
        let row = b * t_len + t;
        // The GRU cell: the gradients of both projections; dcarry keeps the direct path.
        let mut j = UNIT_POS_X as usize;
        while j < h {
            let dh = sh[j] + dout[row * h + j];
            let mut hp = h0[b * h + j];
            if t > 0 {
                hp = out[(row - 1) * h + j];
            }
            g[g_hprev + row * h + j] = hp;
            let r = saved[sv_r + row * h + j];
            let u = saved[sv_r + rows * h + row * h + j];
            let n = saved[sv_r + 2 * rows * h + row * h + j];
            let ghn = saved[sv_r + 3 * rows * h + row * h + j];
            let dn = dh * (F::new(1.0) - u) * (F::new(1.0) - n * n);
            let dr = dn * ghn * r * (F::new(1.0) - r);
            let du = dh * (hp - n) * u * (F::new(1.0) - u);
            sh[sdgi + j] = dr;
            sh[sdgi + h + j] = du;
            sh[sdgi + 2 * h + j] = dn;
            sh[spre + e + j] = dr;
            sh[spre + e + h + j] = du;
            sh[spre + e + 2 * h + j] = dn * r;
            let gx = row * wcat + e;
            g[gx + j] = dr;
            g[gx + h + j] = du;
            g[gx + 2 * h + j] = dn;
            g[g_pre + gx + j] = dr;
            g[g_pre + gx + h + j] = du;
            g[g_pre + gx + 2 * h + j] = dn * r;
            sh[j] = dh * u;
            j += stride;
        }
        sync_cube();
        // phi_z(z_t) feeds the GRU input and the output: df = dout_fz + dgi W_gz^T.
        let mut j = UNIT_POS_X as usize;
        while j < fz {
            let d = dout[o_fz + row * fz + j] + dot_row::<F>(&sh, sdgi, g3, theta, wgz, j);
            sh[sdf + j] = d;
            j += stride;
        }
        sync_cube();
        // phi_z layers, last first: df (buffer 0) -> pre-activation (buffer 1) -> input (0).
        for kk in 0..lz {
            let k = lz - 1 - kk;
            let mut j = UNIT_POS_X as usize;
            while j < fz {
                let mut d = F::new(0.0);
                if saved[sv_f + k * rows * fz + row * fz + j] > F::new(0.0) {
                    d = sh[sdf + j];
                }
                sh[sdf + dfw + j] = d;
                g[g_f + k * rows * fz + row * fz + j] = d;
                j += stride;
            }
            sync_cube();
            let km1 = (k + lz - 1) % lz;
            let width = select(k > 0, fz, z);
            let w = select(k > 0, phiz1 + km1 * (fz * fz + fz), phiz0);
            let mut j = UNIT_POS_X as usize;
            while j < width {
                let d = dot_row::<F>(&sh, sdf + dfw, fz, theta, w, j);
                sh[sdf + j] = d;
                j += stride;
            }
            sync_cube();
        }
        // z = mu + sigma eps, sigma = softplus(pre) + sigma_min.
        let mut j = UNIT_POS_X as usize;
        while j < z {
            let dz = sh[sdf + j];
            let at = row * z + j;
            let dsig = dout[o_sig + at] + dz * eps[at];
            g[g_eps + at] = dz * out[o_sig + at];
            let dmu = dout[o_mu + at] + dz;
            let dsp = dsig * saved[sv_slope + at];
            g[g_head + row * 2 * z + j] = dmu;
            g[g_head + row * 2 * z + z + j] = dsp;
            sh[shd + j] = dmu;
            sh[shd + z + j] = dsp;
            j += stride;
        }
        sync_cube();
        let mut j = UNIT_POS_X as usize;
        while j < e {
            let d = dot_row::<F>(&sh, shd, 2 * z, theta, head, j);
            sh[sda + j] = d;
            j += stride;
        }
        sync_cube();
        // Encoder layers L..=2: da (buffer 0) -> pre-activation (buffer 1) -> da (0).
        for kk in 0..le - 1 {
            let k = le - 1 - kk;
            let mut j = UNIT_POS_X as usize;
            while j < e {
                let mut d = F::new(0.0);
                if saved[k * rows * e + row * e + j] > F::new(0.0) {
                    d = sh[sda + j];
                }
                sh[sda + e + j] = d;
                g[g_enc + (k - 1) * rows * e + row * e + j] = d;
                j += stride;
            }
            sync_cube();
            let w = enc0 + (k - 1) * (e * e + e);
            let mut j = UNIT_POS_X as usize;
            while j < e {
                let d = dot_row::<F>(&sh, sda + e, e, theta, w, j);
                sh[sda + j] = d;
                j += stride;
            }
            sync_cube();
        }
        // The first encoder layer's pre-activation gradient dex, in dxproj and dpre.
        let mut j = UNIT_POS_X as usize;
        while j < e {
            let mut d = F::new(0.0);
            if saved[row * e + j] > F::new(0.0) {
                d = sh[sda + j];
            }
            sh[spre + j] = d;
            g[row * wcat + j] = d;
            g[g_pre + row * wcat + j] = d;
            j += stride;
        }
        sync_cube();
        // h_{t-1} read [W_eh | W_hh]: dcarry += dpre [W_eh | W_hh]^T.
        let mut j = UNIT_POS_X as usize;
        while j < h {
            let d = dot_row::<F>(&sh, spre, wcat, theta, 0, j);
            sh[j] += d;
            j += stride;
        }
        sync_cube();
    }
    let mut j = UNIT_POS_X as usize;
    while j < h {
        dh0[b * h + j] = sh[j];
        j += stride;
    }
}
