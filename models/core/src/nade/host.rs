//! NADE's log-likelihood on the host, forward and backward: one pass per row over the keys with
//! the running hidden pre-activation in a buffer of H floats (a key that is off adds nothing to
//! it, so on a piano roll most keys cost only their logit), rows in parallel chunks. The
//! backward pass recomputes a row's hidden units and runs the keys in reverse, carrying the sum
//! of the later keys' pre-activation gradients (which is what W_d and c receive); the weight
//! gradients are summed per chunk and then over chunks in order (deterministic).

use rayon::prelude::*;

use neuromod_kernels::{Backprop, Inputs, Kernel};

/// Rows per parallel chunk.
const CHUNK_ROWS: usize = 32;

/// Sizes of one NADE pass: `rows` frames of `d` features, `h` hidden units. Inputs: the
/// decoder heads [rows, D + H] (visible biases b, then hidden biases c), the frames x [rows, D]
/// and theta = [W [D, H], V [D, H]] flat; output: log p(x) per row.
#[derive(Debug, Clone, Copy)]
pub(super) struct NadeShape {
    pub rows: usize,
    pub d: usize,
    pub h: usize,
}

fn sigmoid(a: f32) -> f32 {
    1.0 / (1.0 + (-a).exp())
}

/// log(1 + e^l), stable at both tails.
fn softplus(l: f32) -> f32 {
    l.max(0.0) + (-l.abs()).exp().ln_1p()
}

impl NadeShape {
    /// Row `n`'s log p, filling `sig` [D, H] with its hidden units and `logits` \[D\] when
    /// given (the backward pass's recomputation).
    fn row(
        &self,
        (heads, x, w, v): (&[f32], &[f32], &[f32], &[f32]),
        a: &mut [f32],
        mut keep: Option<(&mut [f32], &mut [f32])>,
    ) -> f32 {
        let (d_len, h_len) = (self.d, self.h);
        a.copy_from_slice(&heads[d_len..d_len + h_len]);
        let mut lp = 0.0f32;
        for d in 0..d_len {
            let vd = &v[d * h_len..(d + 1) * h_len];
            let mut logit = heads[d];
            match keep.as_mut() {
                Some((sig, _)) => {
                    let s = &mut sig[d * h_len..(d + 1) * h_len];
                    for ((sj, &aj), &vj) in s.iter_mut().zip(a.iter()).zip(vd) {
                        *sj = sigmoid(aj);
                        logit += vj * *sj;
                    }
                }
                None => {
                    for (&aj, &vj) in a.iter().zip(vd) {
                        logit += vj * sigmoid(aj);
                    }
                }
            }
            if let Some((_, logits)) = keep.as_mut() {
                logits[d] = logit;
            }
            let xd = x[d];
            lp += xd * logit - softplus(logit);
            if xd != 0.0 {
                for (aj, &wj) in a.iter_mut().zip(&w[d * h_len..(d + 1) * h_len]) {
                    *aj += xd * wj;
                }
            }
        }
        lp
    }
}

impl Kernel for NadeShape {
    /// Inputs [heads, x, theta]: log p(x) per row; nothing saved (the backward pass
    /// recomputes a row's hidden units).
    fn forward(&self, [heads, x, theta, _]: Inputs, _tracked: bool) -> (Vec<f32>, Vec<f32>) {
        let (d, h) = (self.d, self.h);
        let (w, v) = theta.split_at(d * h);
        let mut out = vec![0.0f32; self.rows];
        out.par_chunks_mut(CHUNK_ROWS)
            .enumerate()
            .for_each(|(chunk, lps)| {
                let mut a = vec![0.0f32; h];
                for (i, lp) in lps.iter_mut().enumerate() {
                    let n = chunk * CHUNK_ROWS + i;
                    let row = (
                        &heads[n * (d + h)..(n + 1) * (d + h)],
                        &x[n * d..(n + 1) * d],
                        w,
                        v,
                    );
                    *lp = self.row(row, &mut a, None);
                }
            });
        (out, Vec::new())
    }

    /// Gradients of the heads and theta (x is data: none).
    fn backward(&self, p: Backprop) -> [Vec<f32>; 4] {
        let [heads, x, theta, _] = p.inputs;
        let (d_len, h_len) = (self.d, self.h);
        let (w, v) = theta.split_at(d_len * h_len);
        let width = d_len + h_len;
        let mut dheads = vec![0.0f32; self.rows * width];
        let partials: Vec<Vec<f32>> = dheads
            .par_chunks_mut(CHUNK_ROWS * width)
            .enumerate()
            .map(|(chunk, rows)| {
                // dW then dV of this chunk's rows.
                let mut dtheta = vec![0.0f32; 2 * d_len * h_len];
                let (dw, dv) = dtheta.split_at_mut(d_len * h_len);
                let mut a = vec![0.0f32; h_len];
                let mut sig = vec![0.0f32; d_len * h_len];
                let mut logits = vec![0.0f32; d_len];
                let mut carry = vec![0.0f32; h_len];
                for (i, dh) in rows.chunks_mut(width).enumerate() {
                    let n = chunk * CHUNK_ROWS + i;
                    let xn = &x[n * d_len..(n + 1) * d_len];
                    let row = (&heads[n * width..(n + 1) * width], xn, w, v);
                    self.row(row, &mut a, Some((&mut sig, &mut logits)));
                    let g = p.dout[n];
                    carry.fill(0.0);
                    for d in (0..d_len).rev() {
                        let dl = g * (xn[d] - sigmoid(logits[d]));
                        dh[d] = dl;
                        let at = d * h_len..(d + 1) * h_len;
                        let (s, vd) = (&sig[at.clone()], &v[at.clone()]);
                        let (dwd, dvd) = (&mut dw[at.clone()], &mut dv[at]);
                        let xd = xn[d];
                        for j in 0..h_len {
                            dvd[j] += dl * s[j];
                            // W_d feeds the keys after d: their gradients, summed so far.
                            if xd != 0.0 {
                                dwd[j] += xd * carry[j];
                            }
                            carry[j] += dl * vd[j] * s[j] * (1.0 - s[j]);
                        }
                    }
                    dh[d_len..].copy_from_slice(&carry);
                }
                dtheta
            })
            .collect();
        let mut dtheta = vec![0.0f32; 2 * d_len * h_len];
        for part in &partials {
            for (t, q) in dtheta.iter_mut().zip(part) {
                *t += q;
            }
        }
        [dheads, Vec::new(), dtheta, Vec::new()]
    }
}
