//! The combiner chain on the host, forward and backward, one chunk of sequences per rayon
//! thread; the weight gradients are summed afterwards over all B x T rows.

use super::CombinerShape;
use neuromod_kernels::activation::{sigmoid, tanh};
use neuromod_kernels::dense::{softplus, View};
use neuromod_kernels::gemm::layer_grads;
use neuromod_kernels::gemm::{matmul_packed, PackedB};
use neuromod_kernels::planes::{backward_over_chunks, forward_over_chunks, previous_rows};
use neuromod_kernels::{Backprop, Inputs, Kernel};

/// Inputs of a chain; per-step tensors are row-major with rows `b * steps + t`.
struct CombinerInputs<'a> {
    /// Guide states: [R, H].
    pub g: &'a [f32],
    /// [R, Z].
    pub eps: &'a [f32],
    /// [B, Z].
    pub z0: &'a [f32],
    /// W_c [Z, H], b_c \[H\], head [H, 2Z], head bias \[2Z\].
    pub theta: &'a [f32],
}

/// Offsets in theta.
struct Layout {
    bc: usize,
    hw: usize,
    hb: usize,
    len: usize,
}

impl Layout {
    fn new(s: &CombinerShape) -> Self {
        let bc = s.z * s.h;
        let hw = bc + s.h;
        let hb = hw + s.h * 2 * s.z;
        Self {
            bc,
            hw,
            hb,
            len: hb + 2 * s.z,
        }
    }
}

/// The two weight matrices packed for the product kernel (transposed for the backward pass).
struct Packed {
    wc: PackedB,
    head: PackedB,
}

impl Packed {
    fn new(s: &CombinerShape, l: &Layout, theta: &[f32], transposed: bool) -> Self {
        Self {
            wc: PackedB::from_theta(theta, 0, (s.z, s.h), transposed),
            head: PackedB::from_theta(theta, l.hw, (s.h, 2 * s.z), transposed),
        }
    }
}

/// Output planes: mu, sigma, z (Z each).
const OUT: usize = 3;
const Z_OUT: usize = 2;

/// Saved planes: tanh(z W_c + b_c) [R, H], the average c [R, H], the softplus slope [R, Z].
fn saved_widths(s: &CombinerShape) -> [usize; 3] {
    [s.h, s.h, s.z]
}

/// Runs the chain: (the three output planes, saved activations).
fn forward(s: &CombinerShape, x: &CombinerInputs) -> (Vec<f32>, Vec<f32>) {
    let l = Layout::new(s);
    let pw = Packed::new(s, &l, x.theta, false);
    forward_over_chunks(
        (s.batch, s.steps),
        &[s.z; OUT],
        &saved_widths(s),
        |rows, o, sv| forward_chunk(s, (&l, &pw), x, rows, o, sv),
    )
}

fn forward_chunk(
    s: &CombinerShape,
    (l, pw): (&Layout, &Packed),
    x: &CombinerInputs,
    (b0, nb): (usize, usize),
    o: &mut [&mut [f32]],
    sv: &mut [&mut [f32]],
) {
    let (z, h, tl) = (s.z, s.h, s.steps);
    let z2 = 2 * z;
    let (bc, hb) = (&x.theta[l.bc..l.bc + h], &x.theta[l.hb..l.hb + z2]);
    let mut zs = x.z0[b0 * z..(b0 + nb) * z].to_vec();
    let mut pre = vec![0.0; nb * h];
    let mut hd = vec![0.0; nb * z2];
    for t in 0..tl {
        matmul_packed(&mut pre, 0, h, View::dense(&zs, nb, z), &pw.wc, false, 1);
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let (th, rest) = sv.split_at_mut(1);
            let th = &mut th[0][lr * h..(lr + 1) * h];
            let c = &mut rest[0][lr * h..(lr + 1) * h];
            let (p, g) = (&pre[i * h..(i + 1) * h], &x.g[r * h..(r + 1) * h]);
            for j in 0..h {
                let a = tanh(p[j] + bc[j]);
                th[j] = a;
                c[j] = 0.5 * (a + g[j]);
            }
        }
        let c = View::rows(sv[1], t * h, nb, h, tl * h);
        matmul_packed(&mut hd, 0, z2, c, &pw.head, false, 1);
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let hr = &hd[i * z2..(i + 1) * z2];
            for j in 0..z {
                let mu = hr[j] + hb[j];
                let sp = hr[z + j] + hb[z + j];
                let sigma = softplus(sp) + s.sigma_min;
                let zt = mu + sigma * x.eps[r * z + j];
                let k = lr * z + j;
                o[0][k] = mu;
                o[1][k] = sigma;
                o[Z_OUT][k] = zt;
                sv[2][k] = sigmoid(sp);
                zs[i * z + j] = zt;
            }
        }
    }
}

/// Gradients of g, eps, z0 and theta given the gradient of the output planes.
fn backward(s: &CombinerShape, x: &CombinerInputs, p: Backprop) -> [Vec<f32>; 4] {
    let (rows, z, h) = (s.rows(), s.z, s.h);
    let l = Layout::new(s);
    let [outp, sv, dp] = p.planes(&[z; OUT], &saved_widths(s), rows);
    let wt = Packed::new(s, &l, x.theta, true);
    // Per row: the gradients of g, eps, the combiner's pre-activation and the head's output.
    let (planes, dz0) =
        backward_over_chunks((s.batch, s.steps), &[h, z, h, 2 * z], z, |rows, g, dz0| {
            backward_chunk(s, &wt, x, (&outp, &sv, &dp), rows, g, dz0)
        });
    let mut dtheta = vec![0.0; l.len];
    if rows > 0 {
        weight_grads(s, &l, x, (&outp, &sv), &planes, &mut dtheta);
    }
    let [dg, deps, ..]: [Vec<f32>; 4] = planes.try_into().expect("four planes");
    [dg, deps, dz0, dtheta]
}

type Planes<'a> = (&'a [&'a [f32]], &'a [&'a [f32]], &'a [&'a [f32]]);

fn backward_chunk(
    s: &CombinerShape,
    wt: &Packed,
    x: &CombinerInputs,
    (outp, sv, dp): Planes,
    (b0, nb): (usize, usize),
    mut g: Vec<&mut [f32]>,
    dz0: &mut [f32],
) {
    let (z, h, tl) = (s.z, s.h, s.steps);
    let z2 = 2 * z;
    let mut dz = vec![0.0; nb * z];
    let mut dc = vec![0.0; nb * h];
    for t in (0..tl).rev() {
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            for j in 0..z {
                let k = r * z + j;
                let dzt = dp[Z_OUT][k] + dz[i * z + j];
                g[1][lr * z + j] = dzt * outp[1][k];
                g[3][lr * z2 + j] = dp[0][k] + dzt;
                g[3][lr * z2 + z + j] = (dp[1][k] + dzt * x.eps[k]) * sv[2][k];
            }
        }
        let dhead = View::rows(g[3], t * z2, nb, z2, tl * z2);
        matmul_packed(&mut dc, 0, h, dhead, &wt.head, false, 1);
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let th = &sv[0][r * h..(r + 1) * h];
            let dci = &dc[i * h..(i + 1) * h];
            let (dg, rest) = g.split_at_mut(2);
            let dg = &mut dg[0][lr * h..(lr + 1) * h];
            let dpre = &mut rest[0][lr * h..(lr + 1) * h];
            for j in 0..h {
                dg[j] = 0.5 * dci[j];
                dpre[j] = 0.5 * dci[j] * (1.0 - th[j] * th[j]);
            }
        }
        // dz_{t-1} = dpre_t W_c^T.
        let dpre = View::rows(g[2], t * h, nb, h, tl * h);
        matmul_packed(&mut dz, 0, z, dpre, &wt.wc, false, 1);
    }
    dz0.copy_from_slice(&dz);
}

/// Weight gradients as sums over all B x T rows: input^T times output gradient.
fn weight_grads(
    s: &CombinerShape,
    l: &Layout,
    x: &CombinerInputs,
    (outp, sv): (&[&[f32]], &[&[f32]]),
    g: &[Vec<f32>],
    dtheta: &mut [f32],
) {
    let (rows, z, h, tl) = (s.rows(), s.z, s.h, s.steps);
    let threads = neuromod_kernels::planes::threads();
    let zprev = previous_rows(x.z0, outp[Z_OUT], (s.batch, tl, z), false);
    let (zp, dpre) = (View::dense(&zprev, rows, z), View::dense(&g[2], rows, h));
    layer_grads(dtheta, (0, Some(l.bc)), zp, dpre, threads);
    let (c, dhead) = (View::dense(sv[1], rows, h), View::dense(&g[3], rows, 2 * z));
    layer_grads(dtheta, (l.hw, Some(l.hb)), c, dhead, threads);
}

impl Kernel for CombinerShape {
    /// Inputs [g, eps, z0, theta]; outputs [mu | sigma | z] planes.
    fn forward(&self, [g, eps, z0, theta]: Inputs, _tracked: bool) -> (Vec<f32>, Vec<f32>) {
        forward(self, &CombinerInputs { g, eps, z0, theta })
    }

    /// The gradients of all four inputs.
    fn backward(&self, p: Backprop) -> [Vec<f32>; 4] {
        let [g, eps, z0, theta] = p.inputs;
        backward(self, &CombinerInputs { g, eps, z0, theta }, p)
    }
}
