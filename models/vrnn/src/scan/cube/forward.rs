//! The scan's forward pass as one persistent CubeCL launch: one cube per sequence, the time
//! loop inside, every activation of a step in shared memory, the weights read from `theta` in
//! global memory (it stays in cache). Outputs and saved planes are laid out as on the host
//! (`ScanShape::out_widths`, `ScanShape::saved_widths`), plane after plane.

use burn_cubecl::cubecl::prelude::*;

use super::layout::Sizes;
use neuromod_kernels::cube::pieces::{dot_col, logistic, softplus, tanh_stable};

/// Forward pass over all steps; see the module's documentation.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn scan_forward_kernel<F: Float>(
    xproj: &Tensor<F>,
    eps: &Tensor<F>,
    h0: &Tensor<F>,
    theta: &Tensor<F>,
    out: &mut Tensor<F>,
    saved: &mut Tensor<F>,
    steps: u32,
    sigma_min: f32,
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
    // Shared memory: h | a (two E buffers) | head (2Z) | z (Z) | f (two Fz buffers) | gh (3H).
    let mut sh = Shared::<[F]>::new_slice(comptime!(s.forward_shared()));
    let sa = h;
    let shd = h + 2 * e;
    let sz = shd + 2 * z;
    let sf = shd + 3 * z;
    let sgh = sf + 2 * fz;
    // Planes of the output and of the saved activations.
    let o_mu = rows * h;
    let o_sig = rows * (h + z);
    let o_fz = rows * (h + 2 * z);
    let sv_slope = rows * e * le;
    let sv_z = sv_slope + rows * z;
    let sv_f = sv_slope + 2 * rows * z;
    let sv_r = sv_f + rows * fz * lz;
    // Offsets in theta.
    let bhh = s.bhh as usize;
    let enc0 = s.enc as usize;
    let head = s.head as usize;
    let phiz0 = s.phiz0 as usize;
    let phiz1 = s.phiz1 as usize;
    let wgz = s.wgz as usize;
    let smin = F::cast_from(sigma_min);

    let mut j = UNIT_POS_X as usize;
    while j < h {
        sh[j] = h0[b * h + j];
        j += stride;
    }
    sync_cube();
    for t in 0..t_len {
        let row = b * t_len + t;
        // [h W_eh | h W_hh]: a_1 = relu(. + ex_t) and gh = . + b_hh.
        let mut c = UNIT_POS_X as usize;
        while c < wcat {
            let p = dot_col::<F>(&sh, 0, h, theta, 0, wcat, c);
            if c < e {
                let a = F::max(p + xproj[row * wcat + c], F::new(0.0));
                sh[sa + c] = a;
                saved[row * e + c] = a;
            } else {
                sh[sgh + c - e] = p + theta[bhh + c - e];
            }
            c += stride;
        }
        sync_cube();
        // Encoder layers 2..=L, between the two E buffers.
        for k in 1..le {
            let from = sa + ((k - 1) % 2) * e;
            let to = sa + (k % 2) * e;
            let w = enc0 + (k - 1) * (e * e + e);
            let mut j = UNIT_POS_X as usize;
            while j < e {
                let a = dot_col::<F>(&sh, from, e, theta, w, e, j) + theta[w + e * e + j];
                let a = F::max(a, F::new(0.0));
                sh[to + j] = a;
                saved[k * rows * e + row * e + j] = a;
                j += stride;
            }
            sync_cube();
        }
        let last = sa + ((le - 1) % 2) * e;
        let mut j = UNIT_POS_X as usize;
        while j < 2 * z {
            let d = dot_col::<F>(&sh, last, e, theta, head, 2 * z, j) + theta[head + 2 * e * z + j];
            sh[shd + j] = d;
            j += stride;
        }
        sync_cube();
        // mu, sigma = softplus(.) + sigma_min, z = mu + sigma eps.
        let mut j = UNIT_POS_X as usize;
        while j < z {
            let mu = sh[shd + j];
            let sp = sh[shd + z + j];
            let sigma = softplus::<F>(sp) + smin;
            out[o_mu + row * z + j] = mu;
            out[o_sig + row * z + j] = sigma;
            saved[sv_slope + row * z + j] = logistic::<F>(sp);
            let zv = mu + sigma * eps[row * z + j];
            saved[sv_z + row * z + j] = zv;
            sh[sz + j] = zv;
            j += stride;
        }
        sync_cube();
        // phi_z layers: z -> f_1 -> ... -> f_L, between the two Fz buffers.
        for k in 0..lz {
            let to = sf + (k % 2) * fz;
            // Layer k reads z (k = 0) or f_k from the other buffer; km1 = k - 1 for k > 0.
            let km1 = (k + lz - 1) % lz;
            let from = select(k > 0, sf + (km1 % 2) * fz, sz);
            let width = select(k > 0, fz, z);
            let w = select(k > 0, phiz1 + km1 * (fz * fz + fz), phiz0);
            let mut j = UNIT_POS_X as usize;
            while j < fz {
                let f = dot_col::<F>(&sh, from, width, theta, w, fz, j) + theta[w + width * fz + j];
                let f = F::max(f, F::new(0.0));
                sh[to + j] = f;
                saved[sv_f + k * rows * fz + row * fz + j] = f;
                if k == lz - 1 {
                    out[o_fz + row * fz + j] = f;
                }
                j += stride;
            }
            sync_cube();
        }
        // gi = gx_t + f W_gz, then the GRU update (each unit reads and writes only its h[j]).
        let f_last = sf + ((lz - 1) % 2) * fz;
        let mut j = UNIT_POS_X as usize;
        while j < h {
            let gx = row * wcat + e;
            let gr = xproj[gx + j] + dot_col::<F>(&sh, f_last, fz, theta, wgz, g3, j);
            let gu = xproj[gx + h + j] + dot_col::<F>(&sh, f_last, fz, theta, wgz, g3, h + j);
            let gn =
                xproj[gx + 2 * h + j] + dot_col::<F>(&sh, f_last, fz, theta, wgz, g3, 2 * h + j);
            let ghn = sh[sgh + 2 * h + j];
            let r = logistic::<F>(gr + sh[sgh + j]);
            let u = logistic::<F>(gu + sh[sgh + h + j]);
            let n = tanh_stable::<F>(gn + r * ghn);
            let hn = (F::new(1.0) - u) * n + u * sh[j];
            sh[j] = hn;
            out[row * h + j] = hn;
            saved[sv_r + row * h + j] = r;
            saved[sv_r + rows * h + row * h + j] = u;
            saved[sv_r + 2 * rows * h + row * h + j] = n;
            saved[sv_r + 3 * rows * h + row * h + j] = ghn;
            j += stride;
        }
        sync_cube();
    }
}
