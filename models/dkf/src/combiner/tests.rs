//! The fused combiner chain against the composed one (values and every gradient) on both CPU
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

/// (B, T, Z, H).
type Sizes = (usize, usize, usize, usize);

/// Random leaves and output weights for a scalar loss that reads every output.
struct Case {
    input: CombinerInput,
    weights: CombinerWeights,
    coef: [Tensor<3>; 3],
}

fn case((b, t, z, h): Sizes, device: &Device, seed: u64) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut leaf = |s: Vec<usize>, scale: f64| -> (Vec<f32>, Vec<usize>) {
        let n = s.iter().product();
        (values(&normal([n], scale, &mut rng, device)), s)
    };
    fn leaf_tensor<const D: usize>((v, s): (Vec<f32>, Vec<usize>), device: &Device) -> Tensor<D> {
        let shape: [usize; D] = s.try_into().unwrap();
        Tensor::<D>::from_data(TensorData::new(v, shape), device).require_grad()
    }
    let input = CombinerInput {
        g: leaf_tensor(leaf(vec![b, t, h], 0.7), device),
        eps: leaf_tensor(leaf(vec![b, t, z], 1.0), device),
        z0: leaf_tensor(leaf(vec![b, z], 0.5), device),
    };
    let weights = CombinerWeights {
        combine: (
            leaf_tensor(leaf(vec![z, h], 1.0 / (z as f64).sqrt()), device),
            leaf_tensor(leaf(vec![h], 0.3), device),
        ),
        head: (
            leaf_tensor(leaf(vec![h, 2 * z], 1.0 / (h as f64).sqrt()), device),
            leaf_tensor(leaf(vec![2 * z], 0.3), device),
        ),
    };
    let coef = [0; 3].map(|_| leaf_tensor::<3>(leaf(vec![b, t, z], 1.0), device).detach());
    Case {
        input,
        weights,
        coef,
    }
}

fn loss(o: &CombinerOutput, coef: &[Tensor<3>; 3]) -> Tensor<1> {
    [&o.mu, &o.sigma, &o.z]
        .into_iter()
        .zip(coef)
        .map(|(v, c)| (v.clone() * c.clone()).sum())
        .reduce(|a, b| a + b)
        .unwrap()
}

type Run = fn(CombinerInput, &CombinerWeights, f64) -> CombinerOutput;

/// The loss and the gradient of every leaf.
fn grads(c: &Case, f: Run) -> (Vec<f32>, Vec<Vec<f32>>) {
    let l = loss(&f(c.input.clone(), &c.weights, 1e-3), &c.coef);
    let g = l.backward();
    let (i, w) = (&c.input, &c.weights);
    let mut all = vec![
        values(&i.g.grad(&g).unwrap()),
        values(&i.eps.grad(&g).unwrap()),
        values(&i.z0.grad(&g).unwrap()),
    ];
    for m in [&w.combine.0, &w.head.0] {
        all.push(values(&m.grad(&g).unwrap()));
    }
    for v in [&w.combine.1, &w.head.1] {
        all.push(values(&v.grad(&g).unwrap()));
    }
    (values(&l), all)
}

const SIZES: [Sizes; 3] = [(3, 5, 2, 4), (2, 1, 3, 3), (5, 4, 4, 6)];

fn fused_equals_composed(device: Device) {
    for (k, sizes) in SIZES.into_iter().enumerate() {
        let c = case(sizes, &device, 80 + k as u64);
        let (fused, composed) = (
            grads(&c, combiner_chain_host),
            grads(&c, combiner_chain_composed),
        );
        assert_same_loss_and_gradients(&fused, &composed, &format!("sizes {sizes:?}"));
    }
}

/// The CubeCL version of the chain (what the route picks on a Cube device).
fn combiner_chain_cube(
    input: CombinerInput,
    weights: &CombinerWeights,
    sigma_min: f64,
) -> CombinerOutput {
    CombinerChain { weights, sigma_min }.cube(input)
}

/// On wgpu (lavapipe without a GPU) the kernels give the composed chain's values and every
/// gradient: one step, and one sequence wider than one cube (H = 300 > 256 units).
#[test]
fn cube_combiner_chain_equals_the_composed_chain_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff();
    assert_eq!(
        neuromod_kernels::Route::of(&device),
        neuromod_kernels::Route::Cube
    );
    for (k, sizes) in [SIZES[1], (1, 3, 3, 300)].into_iter().enumerate() {
        let c = case(sizes, &device, 90 + k as u64);
        let (cube, composed) = (
            grads(&c, combiner_chain_cube),
            grads(&c, combiner_chain_composed),
        );
        assert_same_loss_and_gradients(&cube, &composed, &format!("wgpu, sizes {sizes:?}"));
    }
}

#[test]
fn fused_combiner_chain_equals_the_composed_chain_on_ndarray() {
    fused_equals_composed(Device::ndarray().autodiff());
}

#[test]
fn fused_combiner_chain_equals_the_composed_chain_on_flex() {
    fused_equals_composed(Device::flex().autodiff());
}

/// Central differences of the loss in entries of every weight block against the backward
/// pass of `chain` on `device` (the weights enter through one packed leaf here).
fn finite_differences(device: Device, chain: Run) {
    let (z, h) = (2, 3);
    let c = case((2, 4, z, h), &device, 9);
    let theta = c.weights.pack().detach().require_grad();
    let unpack = |theta: &Tensor<1>| {
        let mut at = 0;
        let mut take = |n: usize| {
            at += n;
            theta.clone().narrow(0, at - n, n)
        };
        let combine = (take(z * h).reshape([z, h]), take(h));
        let head = (take(h * 2 * z).reshape([h, 2 * z]), take(2 * z));
        CombinerWeights { combine, head }
    };
    let analytic = {
        let out = chain(c.input.clone(), &unpack(&theta), 1e-3);
        values(&theta.grad(&loss(&out, &c.coef).backward()).unwrap())
    };
    let plain = device.clone().inner();
    let input = CombinerInput {
        g: c.input.g.clone().inner(),
        eps: c.input.eps.clone().inner(),
        z0: c.input.z0.clone().inner(),
    };
    let coef = c.coef.clone().map(|t| t.inner());
    let base = values(&theta);
    let eval = |at: usize, delta: f32| -> f64 {
        let mut v = base.clone();
        v[at] += delta;
        let t = Tensor::<1>::from_data(TensorData::new(v, [base.len()]), &plain);
        let out = chain(input.clone(), &unpack(&t), 1e-3);
        values(&loss(&out, &coef))[0] as f64
    };
    let (bc, hw) = (z * h, z * h + h);
    let hb = hw + h * 2 * z;
    assert_finite_differences(
        &analytic,
        eval,
        &[0, 5, bc, bc + 2, hw + 1, hw + 11, hb, hb + 3],
    );
}

#[test]
fn fused_backward_matches_finite_differences() {
    finite_differences(Device::flex().autodiff(), combiner_chain_host);
}

#[test]
fn cube_backward_matches_finite_differences_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    finite_differences(device.autodiff(), combiner_chain_cube);
}
