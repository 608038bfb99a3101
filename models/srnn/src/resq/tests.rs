//! The fused Resq chain against the composed one (values and every gradient) on both CPU
//! backends, and its backward pass against central finite differences.
#![allow(deprecated)]

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use neuromod_kernels::testing::{
    assert_finite_differences, assert_same_loss_and_gradients, normal, values,
};

/// (B, T, Z, W).
type Sizes = (usize, usize, usize, usize);

/// Random leaves and output weights for a scalar loss that reads every output.
struct Case {
    input: ResqInput,
    weights: ResqWeights,
    coef: [Tensor<3>; 5],
}

fn case((b, t, z, w): Sizes, device: &Device, seed: u64) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut r = |s: Vec<usize>, scale: f64| -> Vec<f32> {
        let n = s.iter().product();
        values(&normal([n], scale, &mut rng, device))
    };
    let t3 = |v: Vec<f32>, s: [usize; 3]| {
        Tensor::<3>::from_data(TensorData::new(v, s), device).require_grad()
    };
    let t2 = |v: Vec<f32>, s: [usize; 2]| {
        Tensor::<2>::from_data(TensorData::new(v, s), device).require_grad()
    };
    let t1 = |v: Vec<f32>| {
        let n = v.len();
        Tensor::<1>::from_data(TensorData::new(v, [n]), device).require_grad()
    };
    let input = ResqInput {
        ctx: t3(r(vec![b, t, 2 * w], 0.7), [b, t, 2 * w]),
        eps: t3(r(vec![b, t, z], 1.0), [b, t, z]),
        z0: t2(r(vec![b, z], 0.5), [b, z]),
    };
    let hs = 1.0 / (w as f64).sqrt();
    let weights = ResqWeights {
        wz: t2(r(vec![z, 2 * w], 1.0 / (z as f64).sqrt()), [z, 2 * w]),
        prior: (
            t2(r(vec![w, 2 * z], hs), [w, 2 * z]),
            t1(r(vec![2 * z], 0.3)),
        ),
        posterior: (
            t2(r(vec![w, 2 * z], hs), [w, 2 * z]),
            t1(r(vec![2 * z], 0.3)),
        ),
    };
    let coef = [0; 5].map(|_| {
        let v = r(vec![b, t, z], 1.0);
        Tensor::<3>::from_data(TensorData::new(v, [b, t, z]), device)
    });
    Case {
        input,
        weights,
        coef,
    }
}

fn loss(o: &ResqOutput, coef: &[Tensor<3>; 5]) -> Tensor<1> {
    [&o.mu_p, &o.sigma_p, &o.mu_q, &o.sigma_q, &o.z]
        .into_iter()
        .zip(coef)
        .map(|(v, c)| (v.clone() * c.clone()).sum())
        .reduce(|a, b| a + b)
        .unwrap()
}

type Run = fn(ResqInput, &ResqWeights, f64) -> ResqOutput;

/// The loss and the gradient of every leaf.
fn grads(c: &Case, f: Run) -> (Vec<f32>, Vec<Vec<f32>>) {
    let l = loss(&f(c.input.clone(), &c.weights, 1e-3), &c.coef);
    let g = l.backward();
    let i = &c.input;
    let w = &c.weights;
    let mut all = vec![
        values(&i.ctx.grad(&g).unwrap()),
        values(&i.eps.grad(&g).unwrap()),
        values(&i.z0.grad(&g).unwrap()),
    ];
    for m in [&w.wz, &w.prior.0, &w.posterior.0] {
        all.push(values(&m.grad(&g).unwrap()));
    }
    for v in [&w.prior.1, &w.posterior.1] {
        all.push(values(&v.grad(&g).unwrap()));
    }
    (values(&l), all)
}

const SIZES: [Sizes; 3] = [(3, 5, 2, 4), (2, 1, 3, 3), (5, 4, 4, 6)];

fn fused_equals_composed(device: Device) {
    for (k, sizes) in SIZES.into_iter().enumerate() {
        let c = case(sizes, &device, 60 + k as u64);
        let (fused, composed) = (grads(&c, resq_chain_host), grads(&c, resq_chain_composed));
        assert_same_loss_and_gradients(&fused, &composed, &format!("sizes {sizes:?}"));
    }
}

/// The CubeCL version of the chain (what the route picks on a Cube device).
fn resq_chain_cube(input: ResqInput, weights: &ResqWeights, sigma_min: f64) -> ResqOutput {
    ResqChain { weights, sigma_min }.cube(input)
}

/// On wgpu (lavapipe without a GPU) the kernels give the composed chain's values and every
/// gradient: one step, and one sequence wider than one cube (2W = 300 > 256 units).
#[test]
fn cube_resq_chain_equals_the_composed_chain_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff();
    assert_eq!(
        neuromod_kernels::Route::of(&device),
        neuromod_kernels::Route::Cube
    );
    for (k, sizes) in [SIZES[1], (1, 3, 3, 150)].into_iter().enumerate() {
        let c = case(sizes, &device, 70 + k as u64);
        let (cube, composed) = (grads(&c, resq_chain_cube), grads(&c, resq_chain_composed));
        assert_same_loss_and_gradients(&cube, &composed, &format!("wgpu, sizes {sizes:?}"));
    }
}

#[test]
fn fused_resq_chain_equals_the_composed_chain_on_ndarray() {
    fused_equals_composed(Device::ndarray().autodiff());
}

#[test]
fn fused_resq_chain_equals_the_composed_chain_on_flex() {
    fused_equals_composed(Device::flex().autodiff());
}

/// Central differences of the loss in entries of every weight block against the backward
/// pass of `chain` on `device` (the weights enter through one packed leaf here).
fn finite_differences(device: Device, chain: Run) {
    let c = case((2, 4, 2, 3), &device, 5);
    let theta = c.weights.pack().detach().require_grad();
    let unpack = |theta: &Tensor<1>, w: &ResqWeights| {
        let (z, w2) = (w.wz.dims()[0], w.wz.dims()[1]);
        let mut at = 0;
        let mut take = |n: usize| {
            at += n;
            theta.clone().narrow(0, at - n, n)
        };
        let wz = take(z * w2).reshape([z, w2]);
        let mut head = || (take(w2 / 2 * 2 * z).reshape([w2 / 2, 2 * z]), take(2 * z));
        let prior = head();
        let posterior = head();
        ResqWeights {
            wz,
            prior,
            posterior,
        }
    };
    let analytic = {
        let l = loss(
            &chain(c.input.clone(), &unpack(&theta, &c.weights), 1e-3),
            &c.coef,
        );
        values(&theta.grad(&l.backward()).unwrap())
    };
    let plain = device.clone().inner();
    let input = ResqInput {
        ctx: c.input.ctx.clone().inner(),
        eps: c.input.eps.clone().inner(),
        z0: c.input.z0.clone().inner(),
    };
    let coef = c.coef.clone().map(|t| t.inner());
    let base = values(&theta);
    let eval = |at: usize, delta: f32| -> f64 {
        let mut v = base.clone();
        v[at] += delta;
        let t = Tensor::<1>::from_data(TensorData::new(v, [base.len()]), &plain);
        let out = chain(input.clone(), &unpack(&t, &c.weights), 1e-3);
        values(&loss(&out, &coef))[0] as f64
    };
    // wz, prior head weight and bias, posterior head weight and bias.
    let (z, w) = (2, 3);
    let hp = z * 2 * w;
    let bp = hp + w * 2 * z;
    let hq = bp + 2 * z;
    let bq = hq + w * 2 * z;
    assert_finite_differences(
        &analytic,
        eval,
        &[
            0,
            7,
            hp + 1,
            hp + 9,
            bp,
            bp + 3,
            hq + 2,
            hq + 10,
            bq + 1,
            bq + 2,
        ],
    );
}

#[test]
fn fused_backward_matches_finite_differences() {
    finite_differences(Device::flex().autodiff(), resq_chain_host);
}

#[test]
fn cube_backward_matches_finite_differences_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    finite_differences(device.autodiff(), resq_chain_cube);
}
