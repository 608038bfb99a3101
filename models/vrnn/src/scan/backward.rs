//! The scan's backward pass on the host. The pass through time only propagates gradients of
//! activations, one chunk of sequences per thread; the weight gradients are summed afterwards
//! over all B x T rows at once, as a few large matrix products.

use super::host::{PackedWeights, SavedIdx, ScanGrads, ScanInputs};
use super::shape::{ScanShape, ThetaLayout};
use neuromod_kernels::dense::{add_col_sums, View};
use neuromod_kernels::gates::gru_backward_row;
use neuromod_kernels::gemm::layer_grads;
use neuromod_kernels::gemm::{matmul, matmul_packed};
use neuromod_kernels::planes::{backward_over_chunks, previous_rows};
use neuromod_kernels::Backprop;

/// Indices of the gradient planes the backward pass writes.
struct GradIdx {
    /// [dex | dgi]: gradients of the scan's input projection, [E + 3H].
    x: usize,
    gh: usize,
    eps: usize,
    head: usize,
    /// Pre-activation gradients of encoder layers 2..=L.
    enc: usize,
    /// Pre-activation gradients of phi_z layers 1..=L.
    f: usize,
}

impl GradIdx {
    fn new(s: &ScanShape) -> (Self, Vec<usize>) {
        let (h, e, z, fz) = (s.h, s.e, s.z, s.fz);
        let mut widths = vec![e + 3 * h, 3 * h, z, 2 * z];
        widths.extend(std::iter::repeat_n(e, s.enc_layers - 1));
        widths.extend(std::iter::repeat_n(fz, s.phiz_layers));
        let idx = Self {
            x: 0,
            gh: 1,
            eps: 2,
            head: 3,
            enc: 4,
            f: 4 + s.enc_layers - 1,
        };
        (idx, widths)
    }
}

/// Gradients of every input given the gradients `dout` of the output planes.
pub(crate) fn backward(s: &ScanShape, x: &ScanInputs, p: Backprop) -> ScanGrads {
    let rows = s.rows();
    let th = s.theta();
    let (gidx, gwidths) = GradIdx::new(s);
    let [outp, sv, dp] = p.planes(&s.out_widths(), &s.saved_widths(), rows);
    let wt = PackedWeights::new(&th, x.theta, true);
    let (planes, dh0) = backward_over_chunks((s.batch, s.steps), &gwidths, s.h, |rows, g, dh0| {
        backward_chunk(s, &wt, x, (&outp, &sv, &dp), rows, g, dh0)
    });
    let mut dtheta = vec![0.0; th.len];
    if rows > 0 {
        weight_grads(s, &th, x, &outp, &sv, &planes, &gidx, &mut dtheta);
    }
    let mut planes = planes.into_iter();
    let xproj = planes.next().expect("the input projection's plane");
    let _gh = planes.next();
    let eps = planes.next().expect("the noise plane");
    ScanGrads {
        xproj,
        eps,
        h0: dh0,
        theta: dtheta,
    }
}

type Planes<'a> = (&'a [&'a [f32]], &'a [&'a [f32]], &'a [&'a [f32]]);

fn backward_chunk(
    s: &ScanShape,
    wt: &PackedWeights,
    x: &ScanInputs,
    (outp, sv, dp): Planes,
    (b0, nb): (usize, usize),
    mut g: Vec<&mut [f32]>,
    dh0: &mut [f32],
) {
    let (h, e, z, fz, tl) = (s.h, s.e, s.z, s.fz, s.steps);
    let (g3, wcat, le, lz) = (3 * h, s.e + 3 * s.h, s.enc_layers, s.phiz_layers);
    let (idx, gi) = (SavedIdx::new(s), GradIdx::new(s).0);
    let mut dcarry = vec![0.0; nb * h];
    let mut dpre = vec![0.0; nb * wcat];
    let mut df = vec![0.0; nb * fz];
    let mut dfin = vec![0.0; nb * fz.max(z)];
    let (mut da, mut da2) = (vec![0.0; nb * e], vec![0.0; nb * e]);
    for t in (0..tl).rev() {
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let dh = &mut dcarry[i * h..(i + 1) * h];
            for (d, o) in dh.iter_mut().zip(&dp[0][r * h..(r + 1) * h]) {
                *d += o;
            }
            let h_prev = if t == 0 {
                &x.h0[(b0 + i) * h..(b0 + i + 1) * h]
            } else {
                &outp[0][(r - 1) * h..r * h]
            };
            let gates = [0, 1, 2, 3].map(|k| &sv[idx.r + k][r * h..(r + 1) * h]);
            let dgi = &mut g[gi.x][lr * wcat + e..(lr + 1) * wcat];
            let dgh = &mut dpre[i * wcat + e..(i + 1) * wcat];
            gru_backward_row(dh, h_prev, gates, dgi, dgh);
            df[i * fz..(i + 1) * fz].copy_from_slice(&dp[3][r * fz..(r + 1) * fz]);
        }
        let dgi = View::rows(g[gi.x], t * wcat + e, nb, g3, tl * wcat);
        matmul_packed(&mut df, 0, fz, dgi, &wt.wgz, true, 1);
        for k in (0..lz).rev() {
            let plane = &mut g[gi.f + k];
            for i in 0..nb {
                let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
                let f = &sv[idx.f + k][r * fz..(r + 1) * fz];
                let dst = &mut plane[lr * fz..(lr + 1) * fz];
                for ((d, &fv), &dv) in dst.iter_mut().zip(f).zip(&df[i * fz..(i + 1) * fz]) {
                    *d = if fv > 0.0 { dv } else { 0.0 };
                }
            }
            let w_in = if k == 0 { z } else { fz };
            let dfp = View::rows(g[gi.f + k], t * fz, nb, fz, tl * fz);
            matmul_packed(&mut dfin, 0, w_in, dfp, &wt.phiz[k], false, 1);
            if k > 0 {
                df.copy_from_slice(&dfin[..nb * fz]);
            }
        }
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            for j in 0..z {
                let dz = dfin[i * z + j];
                let dsig = dp[2][r * z + j] + dz * x.eps[r * z + j];
                g[gi.eps][lr * z + j] = dz * outp[2][r * z + j];
                g[gi.head][lr * 2 * z + j] = dp[1][r * z + j] + dz;
                g[gi.head][lr * 2 * z + z + j] = dsig * sv[idx.slope][r * z + j];
            }
        }
        let dhead = View::rows(g[gi.head], t * 2 * z, nb, 2 * z, tl * 2 * z);
        matmul_packed(&mut da, 0, e, dhead, &wt.head, false, 1);
        for k in (1..le).rev() {
            let plane = &mut g[gi.enc + k - 1];
            for i in 0..nb {
                let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
                let a = &sv[k][r * e..(r + 1) * e];
                let dst = &mut plane[lr * e..(lr + 1) * e];
                for ((d, &av), &dv) in dst.iter_mut().zip(a).zip(&da[i * e..(i + 1) * e]) {
                    *d = if av > 0.0 { dv } else { 0.0 };
                }
            }
            let dpk = View::rows(g[gi.enc + k - 1], t * e, nb, e, tl * e);
            matmul_packed(&mut da2, 0, e, dpk, &wt.enc[k - 1], false, 1);
            std::mem::swap(&mut da, &mut da2);
        }
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let a1 = &sv[0][r * e..(r + 1) * e];
            for j in 0..e {
                let v = if a1[j] > 0.0 { da[i * e + j] } else { 0.0 };
                dpre[i * wcat + j] = v;
                g[gi.x][lr * wcat + j] = v;
            }
            g[gi.gh][lr * g3..(lr + 1) * g3].copy_from_slice(&dpre[i * wcat + e..(i + 1) * wcat]);
        }
        let dp = View::dense(&dpre, nb, wcat);
        matmul_packed(&mut dcarry, 0, h, dp, &wt.wh, true, 1);
    }
    dh0.copy_from_slice(&dcarry);
}

/// Weight gradients as sums over all B x T rows: input^T times pre-activation gradient.
#[allow(clippy::too_many_arguments)]
fn weight_grads(
    s: &ScanShape,
    th: &ThetaLayout,
    x: &ScanInputs,
    outp: &[&[f32]],
    sv: &[&[f32]],
    g: &[Vec<f32>],
    gi: &GradIdx,
    dtheta: &mut [f32],
) {
    let (h, e, z, fz, tl, rows) = (s.h, s.e, s.z, s.fz, s.steps, s.rows());
    let (g3, wcat) = (3 * h, e + 3 * h);
    let idx = SavedIdx::new(s);
    let threads = neuromod_kernels::planes::threads();
    let hprev = previous_rows(x.h0, outp[0], (s.batch, tl, h), false);
    let hp = View::dense(&hprev, rows, h).t();
    matmul(
        dtheta,
        th.wh.w,
        wcat,
        hp,
        View::rows(&g[gi.x], 0, rows, e, wcat),
        false,
        threads,
    );
    let dgh = View::dense(&g[gi.gh], rows, g3);
    matmul(dtheta, th.wh.w + e, wcat, hp, dgh, false, threads);
    add_col_sums(&mut dtheta[s.bhh()..s.bhh() + g3], dgh);
    let layer = |dtheta: &mut [f32], input: View, dpre: View, w: usize, b: usize| {
        layer_grads(
            dtheta,
            (w, (b != usize::MAX).then_some(b)),
            input,
            dpre,
            threads,
        )
    };
    for k in 1..s.enc_layers {
        let d = th.enc[k - 1];
        let input = View::dense(sv[k - 1], rows, e);
        layer(
            dtheta,
            input,
            View::dense(&g[gi.enc + k - 1], rows, e),
            d.w,
            d.b,
        );
    }
    let a_last = View::dense(sv[s.enc_layers - 1], rows, e);
    let dhead = View::dense(&g[gi.head], rows, 2 * z);
    layer(dtheta, a_last, dhead, th.head.w, th.head.b);
    for k in 0..s.phiz_layers {
        let d = th.phiz[k];
        let input = if k == 0 {
            View::dense(sv[idx.z], rows, z)
        } else {
            View::dense(sv[idx.f + k - 1], rows, fz)
        };
        layer(dtheta, input, View::dense(&g[gi.f + k], rows, fz), d.w, d.b);
    }
    let f_last = View::dense(sv[idx.f + s.phiz_layers - 1], rows, fz);
    layer(
        dtheta,
        f_last,
        View::rows(&g[gi.x], e, rows, g3, wcat),
        th.wgz.w,
        th.wgz.b,
    );
}
