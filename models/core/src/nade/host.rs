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

/// e^x without a library call, so that loops over slices vectorise: e^x = 2^k e^r with k the
/// integer nearest x log2 e (rounded by adding and subtracting 1.5 * 2^23), r = x - k ln 2 in
/// two parts (Cody and Waite: ln 2's high part has few bits, so k times it is exact) and |r| at
/// most about ln 2 / 2, e^r by its Taylor polynomial of degree 7 (remainder below 1e-8
/// relative), and 2^k written into the exponent bits. x is clamped to [-87, 88], where e^x is a
/// normal f32.
#[inline(always)]
fn exp_fast(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let k = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    p * f32::from_bits(((k as i32 + 127) as u32) << 23)
}

/// out_j = sigmoid(a_j), vectorised ([`exp_fast`]).
fn sigmoid_into(out: &mut [f32], a: &[f32]) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = 1.0 / (1.0 + exp_fast(-x));
    }
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
        (a, scratch): (&mut [f32], &mut [f32]),
        mut keep: Option<(&mut [f32], &mut [f32])>,
    ) -> f32 {
        let (d_len, h_len) = (self.d, self.h);
        a.copy_from_slice(&heads[d_len..d_len + h_len]);
        let mut lp = 0.0f32;
        for d in 0..d_len {
            let vd = &v[d * h_len..(d + 1) * h_len];
            let s: &mut [f32] = match keep.as_mut() {
                Some((sig, _)) => &mut sig[d * h_len..(d + 1) * h_len],
                None => &mut scratch[..],
            };
            sigmoid_into(s, a);
            let logit = heads[d] + s.iter().zip(vd).map(|(&sj, &vj)| sj * vj).sum::<f32>();
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
                let (mut a, mut scratch) = (vec![0.0f32; h], vec![0.0f32; h]);
                for (i, lp) in lps.iter_mut().enumerate() {
                    let n = chunk * CHUNK_ROWS + i;
                    let row = (
                        &heads[n * (d + h)..(n + 1) * (d + h)],
                        &x[n * d..(n + 1) * d],
                        w,
                        v,
                    );
                    *lp = self.row(row, (&mut a, &mut scratch), None);
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
                let (mut a, mut scratch) = (vec![0.0f32; h_len], vec![0.0f32; h_len]);
                let mut sig = vec![0.0f32; d_len * h_len];
                let mut logits = vec![0.0f32; d_len];
                let mut carry = vec![0.0f32; h_len];
                for (i, dh) in rows.chunks_mut(width).enumerate() {
                    let n = chunk * CHUNK_ROWS + i;
                    let xn = &x[n * d_len..(n + 1) * d_len];
                    let row = (&heads[n * width..(n + 1) * width], xn, w, v);
                    self.row(row, (&mut a, &mut scratch), Some((&mut sig, &mut logits)));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// e^x to 2 ulp over the range the kernel meets, against f64, and sigmoid's tails.
    #[test]
    fn fast_exp_is_accurate_to_two_ulp() {
        let mut worst = 0.0f64;
        for i in 0..175_000 {
            let x = -87.0 + i as f32 * 1e-3;
            let exact = f64::from(x).exp();
            worst = worst.max(((f64::from(exp_fast(x)) - exact) / exact).abs());
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        let mut s = [0.0f32; 3];
        sigmoid_into(&mut s, &[-200.0, 0.0, 200.0]);
        assert!(
            s[0] >= 0.0 && s[0] < 1e-37 && s[1] == 0.5 && s[2] == 1.0,
            "{s:?}"
        );
    }
}
