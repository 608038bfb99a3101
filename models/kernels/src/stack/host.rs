//! A stack of dense layers over many rows on the host, forward and backward: every product is
//! one multi-threaded gemm call over all rows, and bias, ReLU and their gradients are fused into
//! loops over row chunks run in parallel.
//!
//! With G groups (side-by-side stacks on one input) the first layer of every group is one
//! product with the groups' weights side by side, [in, G w1]; each later layer is one product
//! per group on that group's columns. Layer k's activations are [R, G w_k], group-major.

use rayon::prelude::*;

use super::StackShape;
use crate::dense::{add_col_sums, View};
use crate::gemm::matmul;

/// Rows per parallel chunk of the elementwise loops.
const CHUNK_ROWS: usize = 64;

/// Offsets of layer k's weights and bias [G w_{k+1}] in theta. The weights are [w_0, G w_1]
/// for the first layer (the groups' weights side by side) and [G, w_k, w_{k+1}] after it.
fn offsets(s: &StackShape) -> Vec<(usize, usize)> {
    let g = s.groups;
    let mut at = 0;
    s.widths
        .windows(2)
        .map(|w| {
            let (wo, bo) = (at, at + g * w[0] * w[1]);
            at = bo + g * w[1];
            (wo, bo)
        })
        .collect()
}

/// out[:, cols of group] (+)= input[:, cols of group] W for layer k (k > 0: one product per
/// group; k = 0: one product for all groups), every matrix [R, G w] group-major.
#[allow(clippy::too_many_arguments)]
fn layer_product(
    s: &StackShape,
    k: usize,
    out: &mut [f32],
    input: &[f32],
    theta: &[f32],
    wo: usize,
    threads: usize,
) {
    let (g, wi, wn) = (s.groups, s.widths[k], s.widths[k + 1]);
    if k == 0 {
        let w = View::dense(&theta[wo..], wi, g * wn);
        let x = View::dense(input, s.rows, wi);
        matmul(out, 0, g * wn, x, w, false, threads);
        return;
    }
    for j in 0..g {
        let w = View::dense(&theta[wo + j * wi * wn..], wi, wn);
        let x = View::rows(input, j * wi, s.rows, wi, g * wi);
        matmul(out, j * wn, g * wn, x, w, false, threads);
    }
}

/// Whether layer k applies ReLU.
fn relu_at(s: &StackShape, k: usize) -> bool {
    k + 2 < s.widths.len() || s.relu_last
}

/// Runs the stack; returns the output [R, out] and the hidden activations (layers 0..L-1, one
/// plane after another) the backward pass reads.
pub(super) fn forward(s: &StackShape, x: &[f32], theta: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let threads = rayon::current_num_threads();
    let layers = s.widths.len() - 1;
    let g = s.groups;
    let mut saved = Vec::with_capacity(s.rows * g * s.widths[1..layers].iter().sum::<usize>());
    let mut input: Vec<f32> = Vec::new();
    for (k, &(wo, bo)) in offsets(s).iter().enumerate() {
        let wn = g * s.widths[k + 1];
        let src: &[f32] = if k == 0 { x } else { &input };
        let mut out = vec![0.0; s.rows * wn];
        layer_product(s, k, &mut out, src, theta, wo, threads);
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
pub(super) fn backward(
    s: &StackShape,
    (x, theta): (&[f32], &[f32]),
    (out, saved, dout): (&[f32], &[f32], &[f32]),
    need_dx: bool,
) -> (Option<Vec<f32>>, Vec<f32>) {
    let threads = rayon::current_num_threads();
    let layers = s.widths.len() - 1;
    let offs = offsets(s);
    let g = s.groups;
    let mut dtheta = vec![0.0; offs.last().map_or(0, |&(_, b)| b + g * s.widths[layers])];
    // The input of layer k: x for k = 0, else hidden activation k - 1.
    let mut hidden = Vec::with_capacity(layers);
    let mut at = 0;
    for &w in &s.widths[1..layers] {
        hidden.push(&saved[at..at + s.rows * g * w]);
        at += s.rows * g * w;
    }
    let mut grad = dout.to_vec();
    let mut dx = None;
    for k in (0..layers).rev() {
        let (wi, wn) = (s.widths[k], s.widths[k + 1]);
        let (wo, bo) = offs[k];
        // Widths of this layer's input and output over all groups (the first layer's input is
        // shared).
        let (gi, gn) = (if k == 0 { wi } else { g * wi }, g * wn);
        if relu_at(s, k) {
            let act = if k + 1 == layers { out } else { hidden[k] };
            grad.par_chunks_mut(CHUNK_ROWS * gn)
                .zip(act.par_chunks(CHUNK_ROWS * gn))
                .for_each(|(g, a)| {
                    for (g, a) in g.iter_mut().zip(a) {
                        if *a <= 0.0 {
                            *g = 0.0;
                        }
                    }
                });
        }
        let input = if k == 0 { x } else { hidden[k - 1] };
        add_col_sums(&mut dtheta[bo..bo + gn], View::dense(&grad, s.rows, gn));
        let need = k > 0 || need_dx;
        let mut next = vec![0.0; if need { s.rows * gi } else { 0 }];
        if k == 0 {
            // One product for every group's first layer: W is [in, G w1].
            let dpre = View::dense(&grad, s.rows, gn);
            let inp = View::dense(input, s.rows, wi).t();
            matmul(&mut dtheta, wo, gn, inp, dpre, false, threads);
            if need {
                let w_t = View::dense(&theta[wo..], wi, gn).t();
                matmul(&mut next, 0, wi, dpre, w_t, false, threads);
            }
        } else {
            for j in 0..g {
                let dpre = View::rows(&grad, j * wn, s.rows, wn, gn);
                let inp = View::rows(input, j * wi, s.rows, wi, gi).t();
                let at = wo + j * wi * wn;
                matmul(&mut dtheta, at, wn, inp, dpre, false, threads);
                let w_t = View::dense(&theta[at..], wi, wn).t();
                matmul(&mut next, j * wi, gi, dpre, w_t, false, threads);
            }
        }
        if need {
            if k == 0 {
                dx = Some(next);
            } else {
                grad = next;
            }
        }
    }
    (dx, dtheta)
}
