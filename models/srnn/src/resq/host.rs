//! The Resq chain on the host, forward and backward, one chunk of sequences per rayon thread;
//! the weight gradients are summed afterwards over all B x T rows as a few large products.

use super::ResqShape;
use neuromod_kernels::activation::sigmoid;
use neuromod_kernels::dense::{softplus, View};
use neuromod_kernels::gemm::layer_grads;
use neuromod_kernels::gemm::{matmul_packed, PackedB};
use neuromod_kernels::planes::{backward_over_chunks, forward_over_chunks, previous_rows};
use neuromod_kernels::{Backprop, Inputs, Kernel};

/// Inputs of a chain; per-step tensors are row-major with rows `b * steps + t`.
struct ResqInputs<'a> {
    /// [R, 2W].
    pub ctx: &'a [f32],
    /// [R, Z].
    pub eps: &'a [f32],
    /// [B, Z].
    pub z0: &'a [f32],
    /// wz [Z, 2W], prior head [W, 2Z] + \[2Z\], posterior head [W, 2Z] + \[2Z\].
    pub theta: &'a [f32],
}

/// Offsets in theta.
struct Layout {
    wz: usize,
    hp: usize,
    bp: usize,
    hq: usize,
    bq: usize,
    len: usize,
}

impl Layout {
    fn new(s: &ResqShape) -> Self {
        let (z, w) = (s.z, s.w);
        let hp = z * 2 * w;
        let bp = hp + w * 2 * z;
        let hq = bp + 2 * z;
        let bq = hq + w * 2 * z;
        Self {
            wz: 0,
            hp,
            bp,
            hq,
            bq,
            len: bq + 2 * z,
        }
    }
}

/// The three weight matrices packed for the product kernel (transposed for the backward pass).
struct Packed {
    wz: PackedB,
    hp: PackedB,
    hq: PackedB,
}

impl Packed {
    fn new(s: &ResqShape, l: &Layout, theta: &[f32], transposed: bool) -> Self {
        let pack = |at, shape| PackedB::from_theta(theta, at, shape, transposed);
        Self {
            wz: pack(l.wz, (s.z, 2 * s.w)),
            hp: pack(l.hp, (s.w, 2 * s.z)),
            hq: pack(l.hq, (s.w, 2 * s.z)),
        }
    }
}

/// Output planes: mu_p, sigma_p, mu_q, sigma_q, z (Z each).
const OUT: usize = 5;
const Z_OUT: usize = 4;

/// Saved planes: the hidden activations [R, 2W], then the two softplus slopes [R, Z] each.
fn saved_widths(s: &ResqShape) -> [usize; 3] {
    [2 * s.w, s.z, s.z]
}

/// Runs the chain: (the five output planes, saved activations).
fn forward(s: &ResqShape, x: &ResqInputs) -> (Vec<f32>, Vec<f32>) {
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
    s: &ResqShape,
    (l, pw): (&Layout, &Packed),
    x: &ResqInputs,
    (b0, nb): (usize, usize),
    o: &mut [&mut [f32]],
    sv: &mut [&mut [f32]],
) {
    let (z, w, tl) = (s.z, s.w, s.steps);
    let (w2, z2, z4) = (2 * w, 2 * z, 4 * z);
    let (bp, bq) = (&x.theta[l.bp..l.bp + z2], &x.theta[l.bq..l.bq + z2]);
    let mut zs = x.z0[b0 * z..(b0 + nb) * z].to_vec();
    let mut pre = vec![0.0; nb * w2];
    let mut hd = vec![0.0; nb * z4];
    for t in 0..tl {
        matmul_packed(&mut pre, 0, w2, View::dense(&zs, nb, z), &pw.wz, false, 1);
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let dst = &mut sv[0][lr * w2..(lr + 1) * w2];
            let (p, c) = (&pre[i * w2..(i + 1) * w2], &x.ctx[r * w2..(r + 1) * w2]);
            for ((a, p), c) in dst.iter_mut().zip(p).zip(c) {
                *a = (p + c).max(0.0);
            }
        }
        let a = View::rows(sv[0], t * w2, nb, w, tl * w2);
        matmul_packed(&mut hd, 0, z4, a, &pw.hp, false, 1);
        let a = View::rows(sv[0], t * w2 + w, nb, w, tl * w2);
        matmul_packed(&mut hd, z2, z4, a, &pw.hq, false, 1);
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let h = &hd[i * z4..(i + 1) * z4];
            for j in 0..z {
                let mu_p = h[j] + bp[j];
                let sp_p = h[z + j] + bp[z + j];
                let dmu = h[z2 + j] + bq[j];
                let sp_q = h[z2 + z + j] + bq[z + j];
                let sigma_p = softplus(sp_p) + s.sigma_min;
                let sigma_q = softplus(sp_q) + s.sigma_min;
                let mu_q = mu_p + dmu;
                let zt = mu_q + sigma_q * x.eps[r * z + j];
                let k = lr * z + j;
                o[0][k] = mu_p;
                o[1][k] = sigma_p;
                o[2][k] = mu_q;
                o[3][k] = sigma_q;
                o[Z_OUT][k] = zt;
                sv[1][k] = sigmoid(sp_p);
                sv[2][k] = sigmoid(sp_q);
                zs[i * z + j] = zt;
            }
        }
    }
}

/// Gradients of ctx, eps, z0 and theta given the gradient of the output planes.
fn backward(s: &ResqShape, x: &ResqInputs, p: Backprop) -> [Vec<f32>; 4] {
    let (rows, z, w) = (s.rows(), s.z, s.w);
    let l = Layout::new(s);
    let [outp, sv, dp] = p.planes(&[z; OUT], &saved_widths(s), rows);
    let wt = Packed::new(s, &l, x.theta, true);
    // Per row: the gradient of the hidden pre-activations (= of ctx), of eps, and of the two
    // heads' outputs.
    let (planes, dz0) = backward_over_chunks(
        (s.batch, s.steps),
        &[2 * w, z, 2 * z, 2 * z],
        z,
        |rows, g, dz0| backward_chunk(s, &wt, x, (&outp, &sv, &dp), rows, g, dz0),
    );
    let mut dtheta = vec![0.0; l.len];
    if rows > 0 {
        weight_grads(s, &l, x, (&outp, &sv), &planes, &mut dtheta);
    }
    let [dctx, deps, ..]: [Vec<f32>; 4] = planes.try_into().expect("four planes");
    [dctx, deps, dz0, dtheta]
}

type Planes<'a> = (&'a [&'a [f32]], &'a [&'a [f32]], &'a [&'a [f32]]);

fn backward_chunk(
    s: &ResqShape,
    wt: &Packed,
    x: &ResqInputs,
    (outp, sv, dp): Planes,
    (b0, nb): (usize, usize),
    mut g: Vec<&mut [f32]>,
    dz0: &mut [f32],
) {
    let (z, w, tl) = (s.z, s.w, s.steps);
    let (w2, z2) = (2 * w, 2 * z);
    let mut dz = vec![0.0; nb * z];
    let mut da = vec![0.0; nb * w2];
    for t in (0..tl).rev() {
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            for j in 0..z {
                let k = r * z + j;
                let dzt = dp[Z_OUT][k] + dz[i * z + j];
                let dmu_q = dp[2][k] + dzt;
                let dsigma_q = dp[3][k] + dzt * x.eps[k];
                g[1][lr * z + j] = dzt * outp[3][k];
                g[2][lr * z2 + j] = dp[0][k] + dmu_q;
                g[2][lr * z2 + z + j] = dp[1][k] * sv[1][k];
                g[3][lr * z2 + j] = dmu_q;
                g[3][lr * z2 + z + j] = dsigma_q * sv[2][k];
            }
        }
        let dhp = View::rows(g[2], t * z2, nb, z2, tl * z2);
        matmul_packed(&mut da, 0, w2, dhp, &wt.hp, false, 1);
        let dhq = View::rows(g[3], t * z2, nb, z2, tl * z2);
        matmul_packed(&mut da, w, w2, dhq, &wt.hq, false, 1);
        for i in 0..nb {
            let (r, lr) = ((b0 + i) * tl + t, i * tl + t);
            let a = &sv[0][r * w2..(r + 1) * w2];
            let dst = &mut g[0][lr * w2..(lr + 1) * w2];
            for ((d, &av), &dv) in dst.iter_mut().zip(a).zip(&da[i * w2..(i + 1) * w2]) {
                *d = if av > 0.0 { dv } else { 0.0 };
            }
        }
        // dz_{t-1} = dpre_t wz^T.
        let dpre = View::rows(g[0], t * w2, nb, w2, tl * w2);
        matmul_packed(&mut dz, 0, z, dpre, &wt.wz, false, 1);
    }
    dz0.copy_from_slice(&dz);
}

/// Weight gradients as sums over all B x T rows: input^T times output gradient.
fn weight_grads(
    s: &ResqShape,
    l: &Layout,
    x: &ResqInputs,
    (outp, sv): (&[&[f32]], &[&[f32]]),
    g: &[Vec<f32>],
    dtheta: &mut [f32],
) {
    let (rows, z, w, tl) = (s.rows(), s.z, s.w, s.steps);
    let (w2, z2) = (2 * w, 2 * z);
    let threads = neuromod_kernels::planes::threads();
    let zprev = previous_rows(x.z0, outp[Z_OUT], (s.batch, tl, z), false);
    let (zp, dpre) = (View::dense(&zprev, rows, z), View::dense(&g[0], rows, w2));
    layer_grads(dtheta, (l.wz, None), zp, dpre, threads);
    for (k, (wo, bo)) in [(l.hp, l.bp), (l.hq, l.bq)].into_iter().enumerate() {
        let a = View::rows(sv[0], k * w, rows, w, w2);
        let dh = View::dense(&g[2 + k], rows, z2);
        layer_grads(dtheta, (wo, Some(bo)), a, dh, threads);
    }
}

impl Kernel for ResqShape {
    /// Inputs [ctx, eps, z0, theta]; outputs [mu_p | sigma_p | mu_q | sigma_q | z] planes.
    fn forward(&self, [ctx, eps, z0, theta]: Inputs, _tracked: bool) -> (Vec<f32>, Vec<f32>) {
        forward(
            self,
            &ResqInputs {
                ctx,
                eps,
                z0,
                theta,
            },
        )
    }

    /// The gradients of all four inputs.
    fn backward(&self, p: Backprop) -> [Vec<f32>; 4] {
        let [ctx, eps, z0, theta] = p.inputs;
        backward(
            self,
            &ResqInputs {
                ctx,
                eps,
                z0,
                theta,
            },
            p,
        )
    }
}
