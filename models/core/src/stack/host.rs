//! A stack of dense layers over many rows on the host, forward and backward: every product is
//! one multi-threaded gemm call over all rows, and bias, ReLU and their gradients are fused into
//! loops over row chunks run in parallel.

use rayon::prelude::*;

use super::StackShape;
use crate::host::dense::{add_col_sums, View};
use crate::host::gemm::matmul;

/// Rows per parallel chunk of the elementwise loops.
const CHUNK_ROWS: usize = 64;

/// Offsets of layer k's weight [w_k, w_{k+1}] and bias [w_{k+1}] in theta.
fn offsets(s: &StackShape) -> Vec<(usize, usize)> {
    let mut at = 0;
    s.widths
        .windows(2)
        .map(|w| {
            let (wo, bo) = (at, at + w[0] * w[1]);
            at = bo + w[1];
            (wo, bo)
        })
        .collect()
}

/// Whether layer k applies ReLU.
fn relu_at(s: &StackShape, k: usize) -> bool {
    k + 2 < s.widths.len() || s.relu_last
}

/// Runs the stack; returns the output [R, out] and the hidden activations (layers 0..L-1, one
/// plane after another) the backward pass reads.
pub(crate) fn forward(s: &StackShape, x: &[f32], theta: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let threads = rayon::current_num_threads();
    let layers = s.widths.len() - 1;
    let mut saved = Vec::with_capacity(s.rows * s.widths[1..layers].iter().sum::<usize>());
    let mut input: Vec<f32> = Vec::new();
    for (k, &(wo, bo)) in offsets(s).iter().enumerate() {
        let (wi, wn) = (s.widths[k], s.widths[k + 1]);
        let src: &[f32] = if k == 0 { x } else { &input };
        let mut out = vec![0.0; s.rows * wn];
        let w = View::dense(&theta[wo..], wi, wn);
        matmul(
            &mut out,
            0,
            wn,
            View::dense(src, s.rows, wi),
            w,
            false,
            threads,
        );
        let (bias, relu) = (&theta[bo..bo + wn], relu_at(s, k));
        out.par_chunks_mut(CHUNK_ROWS * wn).for_each(|rows| {
            for row in rows.chunks_mut(wn) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                    if relu {
                        *v = v.max(0.0);
                    }
                }
            }
        });
        if k > 0 {
            saved.extend_from_slice(&input);
        }
        input = out;
    }
    (input, saved)
}

/// Gradients of the input (when `need_dx`) and of theta, given the output's gradient `dout`.
pub(crate) fn backward(
    s: &StackShape,
    x: &[f32],
    theta: &[f32],
    out: &[f32],
    saved: &[f32],
    dout: &[f32],
    need_dx: bool,
) -> (Option<Vec<f32>>, Vec<f32>) {
    let threads = rayon::current_num_threads();
    let layers = s.widths.len() - 1;
    let offs = offsets(s);
    let mut dtheta = vec![0.0; offs.last().map_or(0, |&(_, b)| b + s.widths[layers])];
    // The input of layer k: x for k = 0, else hidden activation k - 1.
    let mut hidden = Vec::with_capacity(layers);
    let mut at = 0;
    for &w in &s.widths[1..layers] {
        hidden.push(&saved[at..at + s.rows * w]);
        at += s.rows * w;
    }
    let mut grad = dout.to_vec();
    let mut dx = None;
    for k in (0..layers).rev() {
        let (wi, wn) = (s.widths[k], s.widths[k + 1]);
        let (wo, bo) = offs[k];
        if relu_at(s, k) {
            let act = if k + 1 == layers { out } else { hidden[k] };
            grad.par_chunks_mut(CHUNK_ROWS * wn)
                .zip(act.par_chunks(CHUNK_ROWS * wn))
                .for_each(|(g, a)| {
                    for (g, a) in g.iter_mut().zip(a) {
                        if *a <= 0.0 {
                            *g = 0.0;
                        }
                    }
                });
        }
        let input = if k == 0 { x } else { hidden[k - 1] };
        let dpre = View::dense(&grad, s.rows, wn);
        let inp = View::dense(input, s.rows, wi).t();
        matmul(&mut dtheta, wo, wn, inp, dpre, false, threads);
        add_col_sums(&mut dtheta[bo..bo + wn], dpre);
        if k > 0 || need_dx {
            let mut next = vec![0.0; s.rows * wi];
            let w_t = View::dense(&theta[wo..], wi, wn).t();
            matmul(&mut next, 0, wi, dpre, w_t, false, threads);
            if k == 0 {
                dx = Some(next);
            } else {
                grad = next;
            }
        }
    }
    (dx, dtheta)
}
