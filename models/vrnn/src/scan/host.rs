//! The latent GRU scan on the host: its inputs, buffers and forward pass over f32 slices (the
//! backward pass is in `backward.rs`).
//!
//! Sequences are independent until the weight gradients, so the batch is cut into one chunk per
//! rayon thread and each chunk runs all its steps without synchronising.

use super::shape::{Dense, ScanShape, ThetaLayout};
use neuromod_kernels::activation::sigmoid;
use neuromod_kernels::dense::{add_bias, relu_rows, softplus, View};
use neuromod_kernels::gates::gru_forward_row;
use neuromod_kernels::gemm::{matmul_packed, PackedB};
use neuromod_kernels::planes::{forward_over_chunks, pair};

/// Inputs of a scan; every per-step tensor is row-major with rows `b * steps + t`.
pub(crate) struct ScanInputs<'a> {
    /// [ex | gx]: phi_x(x_t) times the x rows of the first encoder layer plus its bias (E
    /// columns), beside phi_x(x_t) times the x rows of the GRU input projection plus its bias
    /// (3H columns): [R, E + 3H].
    pub xproj: &'a [f32],
    /// Reparameterisation noise: [R, Z].
    pub eps: &'a [f32],
    /// Initial state h_{-1}: [B, H].
    pub h0: &'a [f32],
    /// Packed weights ([`ScanShape::theta`]).
    pub theta: &'a [f32],
}

/// Gradients of a scan's inputs.
pub(crate) struct ScanGrads {
    pub xproj: Vec<f32>,
    pub eps: Vec<f32>,
    pub h0: Vec<f32>,
    pub theta: Vec<f32>,
}

/// Indices of the saved planes ([`ScanShape::saved_widths`]).
pub(super) struct SavedIdx {
    pub slope: usize,
    pub z: usize,
    pub f: usize,
    pub r: usize,
}

impl SavedIdx {
    pub(super) fn new(s: &ScanShape) -> Self {
        let slope = s.enc_layers;
        Self {
            slope,
            z: slope + 1,
            f: slope + 2,
            r: slope + 2 + s.phiz_layers,
        }
    }
}

/// Runs the scan: returns the output planes (h_t, mu_t, sigma_t, phi_z(z_t), one after another)
/// and the saved activations the backward pass reads.
pub(crate) fn forward(s: &ScanShape, x: &ScanInputs) -> (Vec<f32>, Vec<f32>) {
    let th = s.theta();
    let pw = PackedWeights::new(&th, x.theta, false);
    forward_over_chunks(
        (s.batch, s.steps),
        &s.out_widths(),
        &s.saved_widths(),
        |rows, o, sv| forward_chunk(s, (&th, &pw), x, rows, o, sv),
    )
}

fn forward_chunk(
    s: &ScanShape,
    (th, pw): (&ThetaLayout, &PackedWeights),
    x: &ScanInputs,
    (b0, nb): (usize, usize),
    o: &mut [&mut [f32]],
    sv: &mut [&mut [f32]],
) {
    let (h, e, z, fz, tl) = (s.h, s.e, s.z, s.fz, s.steps);
    let (g3, wcat, le, lz) = (3 * h, s.e + 3 * s.h, s.enc_layers, s.phiz_layers);
    let idx = SavedIdx::new(s);
    let theta = x.theta;
    let bhh = &theta[s.bhh()..s.bhh() + g3];
    let mut hs = x.h0[b0 * h..(b0 + nb) * h].to_vec();
    let mut pre = vec![0.0; nb * wcat];
    let mut hd = vec![0.0; nb * 2 * z];
    let mut gi = vec![0.0; nb * g3];
    for t in 0..tl {
        // [h W_eh | h W_hh]: the two products that read h_{t-1}, as one.
        matmul_packed(&mut pre, 0, wcat, View::dense(&hs, nb, h), &pw.wh, false, 1);
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let exr = &x.xproj[r * (e + g3)..r * (e + g3) + e];
            let pr = &mut pre[i * wcat..(i + 1) * wcat];
            for ((a, p), xe) in sv[0][lr * e..(lr + 1) * e]
                .iter_mut()
                .zip(&pr[..e])
                .zip(exr)
            {
                *a = (p + xe).max(0.0);
            }
            for (p, b) in pr[e..].iter_mut().zip(bhh) {
                *p += b;
            }
        }
        for k in 1..le {
            let d = th.enc[k - 1];
            let (src, dst) = pair(sv, k - 1, k);
            let a = View::rows(src, t * e, nb, e, tl * e);
            matmul_packed(dst, t * e, tl * e, a, &pw.enc[k - 1], false, 1);
            add_bias(dst, t * e, nb, tl * e, &theta[d.b..d.b + e]);
            relu_rows(dst, t * e, nb, e, tl * e);
        }
        let a = View::rows(sv[le - 1], t * e, nb, e, tl * e);
        matmul_packed(&mut hd, 0, 2 * z, a, &pw.head, false, 1);
        add_bias(&mut hd, 0, nb, 2 * z, &theta[th.head.b..th.head.b + 2 * z]);
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            for j in 0..z {
                let (mu, sp) = (hd[i * 2 * z + j], hd[i * 2 * z + z + j]);
                let sigma = softplus(sp) + s.sigma_min;
                o[1][lr * z + j] = mu;
                o[2][lr * z + j] = sigma;
                sv[idx.slope][lr * z + j] = sigmoid(sp);
                sv[idx.z][lr * z + j] = mu + sigma * x.eps[r * z + j];
            }
        }
        for k in 0..lz {
            let d = th.phiz[k];
            let (src, w_in) = if k == 0 {
                (idx.z, z)
            } else {
                (idx.f + k - 1, fz)
            };
            let (from, dst) = pair(sv, src, idx.f + k);
            let a = View::rows(from, t * w_in, nb, w_in, tl * w_in);
            matmul_packed(dst, t * fz, tl * fz, a, &pw.phiz[k], false, 1);
            add_bias(dst, t * fz, nb, tl * fz, &theta[d.b..d.b + fz]);
            relu_rows(dst, t * fz, nb, fz, tl * fz);
        }
        for i in 0..nb {
            let r = (b0 + i) * tl + t;
            gi[i * g3..(i + 1) * g3].copy_from_slice(&x.xproj[r * wcat + e..(r + 1) * wcat]);
        }
        let f = View::rows(sv[idx.f + lz - 1], t * fz, nb, fz, tl * fz);
        matmul_packed(&mut gi, 0, g3, f, &pw.wgz, true, 1);
        for i in 0..nb {
            let lr = i * tl + t;
            let row = lr * h..(lr + 1) * h;
            let [r, u, n, ghn, ..] = &mut sv[idx.r..] else {
                unreachable!("four gate planes")
            };
            let gates = [r, u, n, ghn].map(|p| &mut p[row.clone()]);
            let hrow = &mut hs[i * h..(i + 1) * h];
            let gh = &pre[i * wcat + e..(i + 1) * wcat];
            gru_forward_row(&gi[i * g3..(i + 1) * g3], gh, hrow, gates);
            o[0][row].copy_from_slice(hrow);
            let fl = &sv[idx.f + lz - 1][lr * fz..(lr + 1) * fz];
            o[3][lr * fz..(lr + 1) * fz].copy_from_slice(fl);
        }
    }
}

/// The scan's weight matrices packed once for the matrix-product kernel, as given (forward
/// pass) or transposed (backward pass), and reused at every step.
pub(super) struct PackedWeights {
    pub wh: PackedB,
    pub enc: Vec<PackedB>,
    pub head: PackedB,
    pub phiz: Vec<PackedB>,
    pub wgz: PackedB,
}

impl PackedWeights {
    pub(super) fn new(th: &ThetaLayout, theta: &[f32], transposed: bool) -> Self {
        let pack = |d: Dense| PackedB::from_theta(theta, d.w, (d.rows, d.cols), transposed);
        Self {
            wh: pack(th.wh),
            enc: th.enc.iter().map(|&d| pack(d)).collect(),
            head: pack(th.head),
            phiz: th.phiz.iter().map(|&d| pack(d)).collect(),
            wgz: pack(th.wgz),
        }
    }
}
