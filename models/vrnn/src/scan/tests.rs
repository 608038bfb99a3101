//! The fused scan against the composed one (values and every gradient) and against finite
//! differences, on both CPU backends, over layer counts and a batch that does not split evenly.
#![allow(deprecated)]

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use neuromod_kernels::testing::{
    assert_finite_differences, assert_same_loss_and_gradients, normal, values,
};

/// Sizes: (B, T, H, E, encoder layers, Z, Fz, phi_z layers).
type Sizes = (usize, usize, usize, usize, usize, usize, usize, usize);

/// Random leaves of a scan on `device` (seeded): inputs, weights and output weights for a
/// scalar loss that reads every output.
struct Case {
    input: ScanInput,
    weights: ScanWeights,
    coef: [Tensor<3>; 4],
}

fn case((b, t, h, e, le, z, fz, lz): Sizes, device: &Device, seed: u64) -> Case {
    let rng = std::cell::RefCell::new(ChaCha8Rng::seed_from_u64(seed));
    let r3 =
        |s: [usize; 3], scale: f64| normal(s, scale, &mut rng.borrow_mut(), device).require_grad();
    let r2 = |s: [usize; 2]| {
        let scale = 1.0 / (s[0] as f64).sqrt();
        normal(s, scale, &mut rng.borrow_mut(), device).require_grad()
    };
    let r1 = |n: usize| normal([n], 0.3, &mut rng.borrow_mut(), device).require_grad();
    let layer = |i: usize, o: usize| (r2([i, o]), r1(o));
    let input = ScanInput {
        x_proj: r3([b, t, e + 3 * h], 0.5),
        eps: r3([b, t, z], 1.0),
        h0: r2([b, h]),
    };
    let weights = ScanWeights {
        wh: r2([h, e + 3 * h]),
        bhh: r1(3 * h),
        enc: (1..le).map(|_| layer(e, e)).collect(),
        head: layer(e, 2 * z),
        phiz: (0..lz)
            .map(|k| layer(if k == 0 { z } else { fz }, fz))
            .collect(),
        wgz: r2([fz, 3 * h]),
    };
    let coef = [h, z, z, fz].map(|w| normal([b, t, w], 1.0, &mut rng.borrow_mut(), device));
    Case {
        input,
        weights,
        coef,
    }
}

fn loss(out: &ScanOutput, coef: &[Tensor<3>; 4]) -> Tensor<1> {
    [&out.h, &out.mu, &out.sigma, &out.fz]
        .into_iter()
        .zip(coef)
        .map(|(o, c)| (o.clone() * c.clone()).sum())
        .reduce(|a, b| a + b)
        .unwrap()
}

/// Gradients of every leaf after `loss(scan(case))`, flattened, in a fixed order.
fn grads(
    c: &Case,
    run: impl Fn(ScanInput, &ScanWeights) -> ScanOutput,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let out = run(c.input.clone(), &c.weights);
    let l = loss(&out, &c.coef);
    let value = values(&l);
    let g = l.backward();
    let w = &c.weights;
    let mut all: Vec<Vec<f32>> = Vec::new();
    let mut push3 = |t: &Tensor<3>| all.push(values(&t.grad(&g).expect("gradient")));
    push3(&c.input.x_proj);
    push3(&c.input.eps);
    let mut rest: Vec<Vec<f32>> = Vec::new();
    let mut push2 = |t: &Tensor<2>| rest.push(values(&t.grad(&g).expect("gradient")));
    push2(&c.input.h0);
    push2(&w.wh);
    push2(&w.wgz);
    for (wk, _) in w.enc.iter().chain([&w.head]).chain(&w.phiz) {
        push2(wk);
    }
    for bk in [&w.bhh]
        .into_iter()
        .chain(w.enc.iter().chain([&w.head]).chain(&w.phiz).map(|l| &l.1))
    {
        rest.push(values(&bk.grad(&g).expect("gradient")));
    }
    all.extend(rest);
    (value, all)
}

const SIZES: [Sizes; 4] = [
    (3, 5, 4, 6, 2, 2, 5, 1),
    (2, 1, 3, 4, 1, 3, 2, 1),
    (5, 4, 6, 5, 3, 2, 4, 2),
    (1, 7, 8, 8, 2, 4, 8, 1),
];

/// The CubeCL version of the scan (what the route picks on a Cube device).
fn scan_cube(input: ScanInput, weights: &ScanWeights, sigma_min: f64) -> ScanOutput {
    LatentGruScan { weights, sigma_min }.cube(input)
}

/// The scan's kernels against the composed scan on wgpu (lavapipe on a machine without a
/// GPU), values and every gradient: one step with one encoder and one phi_z layer, and one
/// sequence with three encoder and two phi_z layers, wider than one cube (E + 3H = 260 > 256
/// units, so units loop over columns). Two sizes only: with a cold shader cache the composed
/// reference costs lavapipe about 30 s per size.
#[test]
fn cube_scan_equals_the_composed_scan_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff();
    assert_eq!(
        neuromod_kernels::Route::of(&device),
        neuromod_kernels::Route::Cube
    );
    let sizes = [SIZES[1], (1, 3, 80, 20, 3, 3, 5, 2)];
    for (k, sizes) in sizes.into_iter().enumerate() {
        let c = case(sizes, &device, 60 + k as u64);
        let cube = grads(&c, |i, w| scan_cube(i, w, 1e-4));
        let c2 = case(sizes, &device, 60 + k as u64);
        let composed = grads(&c2, |i, w| latent_gru_scan_composed(i, w, 1e-4));
        assert_same_loss_and_gradients(&cube, &composed, &format!("wgpu, sizes {sizes:?}"));
    }
}

fn fused_equals_composed(device: Device) {
    for (k, sizes) in SIZES.into_iter().enumerate() {
        let c = case(sizes, &device, 40 + k as u64);
        let fused = grads(&c, |i, w| latent_gru_scan_host(i, w, 1e-4));
        let c2 = case(sizes, &device, 40 + k as u64);
        let composed = grads(&c2, |i, w| latent_gru_scan_composed(i, w, 1e-4));
        assert_same_loss_and_gradients(&fused, &composed, &format!("sizes {sizes:?}"));
    }
}

#[test]
fn fused_scan_equals_the_composed_scan_on_ndarray() {
    fused_equals_composed(Device::ndarray().autodiff());
}

#[test]
fn fused_scan_equals_the_composed_scan_on_flex() {
    fused_equals_composed(Device::flex().autodiff());
}

/// The case's inputs and weights on the inner (non-autodiff) device.
fn inner(c: &Case) -> (ScanInput, ScanWeights) {
    let i = &c.input;
    let input = ScanInput {
        x_proj: i.x_proj.clone().inner(),
        eps: i.eps.clone().inner(),
        h0: i.h0.clone().inner(),
    };
    let w = &c.weights;
    let layer = |(w, b): &Layer| (w.clone().inner(), b.clone().inner());
    let weights = ScanWeights {
        wh: w.wh.clone().inner(),
        bhh: w.bhh.clone().inner(),
        enc: w.enc.iter().map(layer).collect(),
        head: layer(&w.head),
        phiz: w.phiz.iter().map(layer).collect(),
        wgz: w.wgz.clone().inner(),
    };
    (input, weights)
}

#[test]
fn fused_outputs_without_autodiff_equal_those_with_it() {
    let tracked = case(SIZES[0], &Device::ndarray().autodiff(), 7);
    let (input, weights) = inner(&tracked);
    let a = latent_gru_scan_host(input, &weights, 1e-4);
    let b = latent_gru_scan_host(tracked.input.clone(), &tracked.weights, 1e-4);
    for (x, y) in [
        (&a.h, &b.h),
        (&a.mu, &b.mu),
        (&a.sigma, &b.sigma),
        (&a.fz, &b.fz),
    ] {
        assert_eq!(values(x), values(y));
    }
}

type Scan = fn(ScanInput, &ScanWeights, f64) -> ScanOutput;

/// Central differences of the loss in entries of every weight block against the backward pass
/// of `scan` (the weights enter through one packed leaf).
fn finite_differences(device: Device, scan: Scan) {
    let sizes = (2, 4, 3, 4, 2, 2, 3, 2);
    let c = case(sizes, &device, 3);
    let theta = c.weights.pack().detach().require_grad();
    let analytic = {
        let w = unpack(&theta, &c.weights);
        let l = loss(&scan(c.input.clone(), &w, 1e-4), &c.coef);
        values(&theta.grad(&l.backward()).unwrap())
    };
    let plain = device.clone().inner();
    let (input, _) = inner(&c);
    let coef = c.coef.clone().map(|t| t.inner());
    let base = values(&theta);
    let eval = |at: usize, delta: f32| -> f64 {
        let mut v = base.clone();
        v[at] += delta;
        let t = Tensor::<1>::from_data(TensorData::new(v, [base.len()]), &plain);
        let out = scan(input.clone(), &unpack(&t, &c.weights), 1e-4);
        values(&loss(&out, &coef))[0] as f64
    };
    let shape = c.weights.shape(2, 4, 1e-4);
    let l = shape.theta();
    let entries = [
        l.wh.w,
        l.wh.w + 5,
        shape.bhh() + 1,
        l.enc[0].w + 4,
        l.enc[0].b + 1,
        l.head.w + 2,
        l.head.b + 3,
        l.phiz[0].w + 1,
        l.phiz[1].b,
        l.wgz.w + 3,
    ];
    assert_finite_differences(&analytic, eval, &entries);
}

/// Reads consecutive blocks of a packed weight vector.
struct Cursor<'a> {
    theta: &'a Tensor<1>,
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Tensor<1> {
        self.at += n;
        self.theta.clone().narrow(0, self.at - n, n)
    }

    fn matrix(&mut self, like: &Tensor<2>) -> Tensor<2> {
        let [r, c] = like.dims();
        self.take(r * c).reshape([r, c])
    }

    fn layer(&mut self, (w, b): &Layer) -> Layer {
        (self.matrix(w), self.take(b.dims()[0]))
    }
}

/// Weights with the shapes of `like`, read from a packed vector (the inverse of `pack`).
fn unpack(theta: &Tensor<1>, like: &ScanWeights) -> ScanWeights {
    let mut c = Cursor { theta, at: 0 };
    ScanWeights {
        wh: c.matrix(&like.wh),
        bhh: c.take(like.bhh.dims()[0]),
        enc: like.enc.iter().map(|l| c.layer(l)).collect(),
        head: c.layer(&like.head),
        phiz: like.phiz.iter().map(|l| c.layer(l)).collect(),
        wgz: c.matrix(&like.wgz),
    }
}

#[test]
fn fused_backward_matches_finite_differences_on_ndarray() {
    finite_differences(Device::ndarray().autodiff(), latent_gru_scan_host);
}

#[test]
fn fused_backward_matches_finite_differences_on_flex() {
    finite_differences(Device::flex().autodiff(), latent_gru_scan_host);
}

#[test]
fn cube_backward_matches_finite_differences_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    finite_differences(device.autodiff(), scan_cube);
}
