//! The elementwise parts of the scan, written so the compiler vectorises them: a polynomial
//! exp (the Cephes single-precision one, about 1 ulp), sigmoid and tanh built on it, and the GRU
//! gate arithmetic one row at a time. Each row kernel is compiled for several SIMD levels and
//! picked at run time (`multiversion`), so one binary runs everywhere and uses AVX-512 where
//! the CPU has it.

use multiversion::multiversion;

/// e^x for x in about [-87, 88] (clamped outside), vectorisable.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_2e-4;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from the bits of n + 127 + 2^23 (n is an integer in [-126, 127]): no float-to-int
    // conversion, so the loop vectorises.
    y * f32::from_bits((n + 8_388_735.0).to_bits() << 23)
}

/// Logistic sigmoid 1 / (1 + e^-x).
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh x = 1 - 2 / (e^{2x} + 1).
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// One row of the GRU update: gi and gh are the input and hidden projections [3H] (biases
/// included), `h` holds h_{t-1} and receives h_t; the gates r, u, n and gh_n are saved for the
/// backward pass.
#[multiversion(targets = "simd")]
pub(crate) fn gru_forward_row(
    gi: &[f32],
    gh: &[f32],
    h: &mut [f32],
    [r, u, n, ghn]: [&mut [f32]; 4],
) {
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
/// of the two projections' pre-activations [3H].
#[multiversion(targets = "simd")]
pub(crate) fn gru_backward_row(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_and_tanh_match_the_standard_library() {
        let mut worst = [0f64; 3];
        for i in -20000..=20000 {
            let x = i as f32 * 0.004; // [-80, 80]
            let rel = (exp(x) as f64 - (x as f64).exp()).abs() / (x as f64).exp();
            worst[0] = worst[0].max(rel);
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            worst[1] = worst[1].max((sigmoid(x) as f64 - s).abs());
            worst[2] = worst[2].max((tanh(x) as f64 - (x as f64).tanh()).abs());
        }
        assert!(worst[0] < 4e-7, "exp relative error {}", worst[0]);
        assert!(worst[1] < 2e-7, "sigmoid error {}", worst[1]);
        assert!(worst[2] < 4e-7, "tanh error {}", worst[2]);
        // Saturation far outside the clamp.
        assert!(sigmoid(-1000.0) < 1e-37 && sigmoid(1000.0) == 1.0);
        assert!(tanh(1000.0) == 1.0 && tanh(-1000.0) == -1.0);
    }
}
