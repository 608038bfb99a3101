//! The GRU gate arithmetic one row at a time, written so the compiler vectorises it. Each row
//! kernel is compiled for several SIMD levels and picked at run time (`multiversion`), so one
//! binary runs everywhere and uses AVX-512 where the CPU has it.

use multiversion::multiversion;

use crate::activation::{sigmoid, tanh};

/// One row of the GRU update: gi and gh are the input and hidden projections \[3H\] (biases
/// included), `h` holds h_{t-1} and receives h_t; the gates r, u, n and gh_n are saved for the
/// backward pass.
#[multiversion(targets = "simd")]
pub fn gru_forward_row(gi: &[f32], gh: &[f32], h: &mut [f32], [r, u, n, ghn]: [&mut [f32]; 4]) {
    let w = h.len();
    // Every slice cut to exactly w, so the loop has no bounds checks and vectorises.
    let (gir, giu, gin) = (&gi[..w], &gi[w..2 * w], &gi[2 * w..3 * w]);
    let (ghr, ghu, ghn_in) = (&gh[..w], &gh[w..2 * w], &gh[2 * w..3 * w]);
    let (r, u, n, ghn) = (&mut r[..w], &mut u[..w], &mut n[..w], &mut ghn[..w]);
    for j in 0..w {
        let rg = sigmoid(gir[j] + ghr[j]);
        let ug = sigmoid(giu[j] + ghu[j]);
        let ng = tanh(gin[j] + rg * ghn_in[j]);
        h[j] = (1.0 - ug) * ng + ug * h[j];
        r[j] = rg;
        u[j] = ug;
        n[j] = ng;
        ghn[j] = ghn_in[j];
    }
}

/// One row of the GRU backward pass. `dh` holds the gradient of h_t and receives the part of
/// the gradient of h_{t-1} that bypasses the projections; `dgi` and `dgh` receive the gradients
/// of the two projections' pre-activations \[3H\].
#[multiversion(targets = "simd")]
pub fn gru_backward_row(
    dh: &mut [f32],
    h_prev: &[f32],
    [r, u, n, ghn]: [&[f32]; 4],
    dgi: &mut [f32],
    dgh: &mut [f32],
) {
    let w = dh.len();
    let (dgir, rest) = dgi.split_at_mut(w);
    let (dgiu, dgin) = rest.split_at_mut(w);
    let (dghr, rest) = dgh.split_at_mut(w);
    let (dghu, dghn) = rest.split_at_mut(w);
    let (dgin, dghn) = (&mut dgin[..w], &mut dghn[..w]);
    let (r, u, n, ghn, h_prev) = (&r[..w], &u[..w], &n[..w], &ghn[..w], &h_prev[..w]);
    for j in 0..w {
        let (rg, ug, ng) = (r[j], u[j], n[j]);
        let dht = dh[j];
        let dpn = dht * (1.0 - ug) * (1.0 - ng * ng);
        let dpr = dpn * ghn[j] * rg * (1.0 - rg);
        let dpu = dht * (h_prev[j] - ng) * ug * (1.0 - ug);
        dgir[j] = dpr;
        dgiu[j] = dpu;
        dgin[j] = dpn;
        dghr[j] = dpr;
        dghu[j] = dpu;
        dghn[j] = dpn * rg;
        dh[j] = dht * ug;
    }
}
