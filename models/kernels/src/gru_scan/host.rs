//! The GRU pass on the host, forward and backward, one chunk of sequences per rayon thread;
//! the weight gradients are summed afterwards over all B x T rows as one large product.

use super::GruScanShape;
use crate::dense::{add_col_sums, View};
use crate::gates::{gru_backward_row, gru_forward_row};
use crate::gemm::{matmul, matmul_packed, PackedB};
use crate::planes::{backward_over_chunks, forward_over_chunks, previous_rows, split};
use crate::{Backprop, Inputs, Kernel};

/// Inputs of a pass; per-step tensors are row-major with rows `b * steps + t`.
pub(crate) struct GruInputs<'a> {
    /// Input projections (biases included): [R, 3H].
    pub gi: &'a [f32],
    /// Initial state: [B, H].
    pub h0: &'a [f32],
    /// W_hh (row-major [H, 3H]) then b_hh \[3H\].
    pub theta: &'a [f32],
    /// Padding mask [B, T] (read only in reverse).
    pub mask: &'a [f32],
}

/// Gradients of a pass's inputs (none for the mask).
pub(crate) struct GruGrads {
    pub gi: Vec<f32>,
    pub h0: Vec<f32>,
    pub theta: Vec<f32>,
}

/// The gates r, u, n and W_hn h + b_hn of every row: four planes of width H.
const SAVED: usize = 4;

/// The time index of the `step`-th step the pass takes.
fn time(s: &GruScanShape, step: usize) -> usize {
    if s.reverse {
        s.steps - 1 - step
    } else {
        step
    }
}

/// Runs the pass: (states [R, H], saved gates [4 planes of R x H]).
pub(crate) fn forward(s: &GruScanShape, x: &GruInputs) -> (Vec<f32>, Vec<f32>) {
    let w = PackedB::new(View::dense(x.theta, s.h, 3 * s.h));
    forward_over_chunks((s.batch, s.steps), &[s.h], &[s.h; SAVED], |rows, o, sv| {
        forward_chunk(s, &w, x, rows, o[0], sv)
    })
}

fn forward_chunk(
    s: &GruScanShape,
    w: &PackedB,
    x: &GruInputs,
    (b0, nb): (usize, usize),
    out: &mut [f32],
    sv: &mut [&mut [f32]],
) {
    let (h, tl, g3) = (s.h, s.steps, 3 * s.h);
    let bhh = &x.theta[h * g3..h * g3 + g3];
    let mut hs = x.h0[b0 * h..(b0 + nb) * h].to_vec();
    let mut gh = vec![0.0; nb * g3];
    for step in 0..tl {
        let t = time(s, step);
        matmul_packed(&mut gh, 0, g3, View::dense(&hs, nb, h), w, false, 1);
        for i in 0..nb {
            let (b, lr) = (b0 + i, i * tl + t);
            let r = b * tl + t;
            let ghr = &mut gh[i * g3..(i + 1) * g3];
            for (g, bias) in ghr.iter_mut().zip(bhh) {
                *g += bias;
            }
            let row = lr * h..(lr + 1) * h;
            let [gr, gu, gn, gg] = sv else {
                unreachable!("four gate planes")
            };
            let gates = [gr, gu, gn, gg].map(|p| &mut p[row.clone()]);
            let hrow = &mut hs[i * h..(i + 1) * h];
            gru_forward_row(&x.gi[r * g3..(r + 1) * g3], ghr, hrow, gates);
            if s.reverse {
                let m = x.mask[r];
                if m != 1.0 {
                    for (v, v0) in hrow.iter_mut().zip(&x.h0[b * h..(b + 1) * h]) {
                        *v = m * *v + (1.0 - m) * v0;
                    }
                }
            }
            out[row].copy_from_slice(hrow);
        }
    }
}

/// Gradients of every input given the gradient `dout` of the states.
pub(crate) fn backward(
    s: &GruScanShape,
    x: &GruInputs,
    out: &[f32],
    saved: &[f32],
    dout: &[f32],
) -> GruGrads {
    let (rows, h, g3) = (s.rows(), s.h, 3 * s.h);
    let sv = split(saved, &[h; SAVED], rows);
    let wt = PackedB::new(View::dense(x.theta, h, g3).t());
    // Per row: the input projection's gradient, then the hidden projection's (they differ in
    // the n gate, where the reset gate scales the hidden part).
    let (planes, dh0) = backward_over_chunks((s.batch, s.steps), &[g3, g3], h, |rows, g, dh0| {
        backward_chunk(s, &wt, x, (out, &sv, dout), rows, g, dh0)
    });
    let [dgi, dgh]: [Vec<f32>; 2] = planes.try_into().expect("two planes");
    let mut dtheta = vec![0.0; x.theta.len()];
    if rows == 0 {
        return GruGrads {
            gi: dgi,
            h0: dh0,
            theta: dtheta,
        };
    }
    // W_hh's gradient: h_{t-1}^T times the hidden projection's gradient, over every row.
    let hprev = previous_rows(x.h0, out, (s.batch, s.steps, h), s.reverse);
    let threads = rayon::current_num_threads();
    let dghv = View::dense(&dgh, rows, g3);
    matmul(
        &mut dtheta,
        0,
        g3,
        View::dense(&hprev, rows, h).t(),
        dghv,
        false,
        threads,
    );
    add_col_sums(&mut dtheta[h * g3..h * g3 + g3], dghv);
    GruGrads {
        gi: dgi,
        h0: dh0,
        theta: dtheta,
    }
}

fn backward_chunk(
    s: &GruScanShape,
    wt: &PackedB,
    x: &GruInputs,
    (out, sv, dout): (&[f32], &[&[f32]], &[f32]),
    (b0, nb): (usize, usize),
    mut g: Vec<&mut [f32]>,
    dh0: &mut [f32],
) {
    let (h, tl, g3) = (s.h, s.steps, 3 * s.h);
    let mut dcarry = vec![0.0; nb * h];
    let mut dgh = vec![0.0; nb * g3];
    for step in (0..tl).rev() {
        let t = time(s, step);
        for i in 0..nb {
            let (b, lr) = (b0 + i, i * tl + t);
            let r = b * tl + t;
            let dh = &mut dcarry[i * h..(i + 1) * h];
            for (d, o) in dh.iter_mut().zip(&dout[r * h..(r + 1) * h]) {
                *d += o;
            }
            if s.reverse {
                let m = x.mask[r];
                if m != 1.0 {
                    for (d0, d) in dh0[i * h..(i + 1) * h].iter_mut().zip(dh.iter_mut()) {
                        *d0 += (1.0 - m) * *d;
                        *d *= m;
                    }
                }
            }
            let h_prev = if step == 0 {
                &x.h0[b * h..(b + 1) * h]
            } else {
                let p = b * tl + time(s, step - 1);
                &out[p * h..(p + 1) * h]
            };
            let gates = [0, 1, 2, 3].map(|k| &sv[k][r * h..(r + 1) * h]);
            let dgh_row = &mut dgh[i * g3..(i + 1) * g3];
            gru_backward_row(
                dh,
                h_prev,
                gates,
                &mut g[0][lr * g3..(lr + 1) * g3],
                dgh_row,
            );
            g[1][lr * g3..(lr + 1) * g3].copy_from_slice(dgh_row);
        }
        // dh_{t-1} += dgh W_hh^T.
        matmul_packed(&mut dcarry, 0, h, View::dense(&dgh, nb, g3), wt, true, 1);
    }
    for (d0, d) in dh0.iter_mut().zip(&dcarry) {
        *d0 += d;
    }
}

impl Kernel for GruScanShape {
    /// Inputs [gi, h0, theta, mask]; output: the states [R, H].
    fn forward(&self, [gi, h0, theta, mask]: Inputs, _tracked: bool) -> (Vec<f32>, Vec<f32>) {
        forward(
            self,
            &GruInputs {
                gi,
                h0,
                theta,
                mask,
            },
        )
    }

    /// The gradients of [gi, h0, theta] (none for the mask: it is data).
    fn backward(&self, p: Backprop) -> [Vec<f32>; 4] {
        let [gi, h0, theta, mask] = p.inputs;
        let x = GruInputs {
            gi,
            h0,
            theta,
            mask,
        };
        let g = backward(self, &x, p.out, p.saved, p.dout);
        [g.gi, g.h0, g.theta, Vec::new()]
    }
}
