//! The fused GRU pass against the composed one (values and every gradient), forward and
//! backward in time, with padding, on both CPU backends and a batch that does not split evenly.
#![allow(deprecated)]

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::testing::{assert_close, normal, values};

type Weights = (Tensor<2>, Tensor<1>);

/// The host version of the pass.
fn gru_sequence_fused(
    gi: Tensor<3>,
    h0: Tensor<2>,
    w: Weights,
    mask: &Tensor<2>,
    reverse: bool,
) -> Tensor<3> {
    GruPass { reverse }.host((gi, h0, w, mask.clone()))
}

/// The composed version of the pass.
fn gru_sequence_composed(
    gi: Tensor<3>,
    h0: Tensor<2>,
    w: Weights,
    mask: &Tensor<2>,
    reverse: bool,
) -> Tensor<3> {
    GruPass { reverse }.composed((gi, h0, w, mask.clone()))
}

/// Random leaves of a pass: gi, h0, w_hh, b_hh, the mask (lengths `lens`) and output weights.
struct Case {
    gi: Tensor<3>,
    h0: Tensor<2>,
    w: Tensor<2>,
    bias: Tensor<1>,
    mask: Tensor<2>,
    coef: Tensor<3>,
}

fn case((b, t, h): (usize, usize, usize), lens: &[usize], device: &Device, seed: u64) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scale = 1.0 / (h as f64).sqrt();
    let mask: Vec<f32> = (0..b)
        .flat_map(|i| (0..t).map(move |s| if s < lens[i] { 1.0 } else { 0.0 }))
        .collect();
    Case {
        gi: normal([b, t, 3 * h], 0.7, &mut rng, device).require_grad(),
        h0: normal([b, h], 0.5, &mut rng, device).require_grad(),
        w: normal([h, 3 * h], scale, &mut rng, device).require_grad(),
        bias: normal([3 * h], 0.3, &mut rng, device).require_grad(),
        mask: Tensor::from_data(TensorData::new(mask, [b, t]), device),
        coef: normal([b, t, h], 1.0, &mut rng, device),
    }
}

type Run = fn(Tensor<3>, Tensor<2>, (Tensor<2>, Tensor<1>), &Tensor<2>, bool) -> Tensor<3>;

/// (states, gradients of gi, h0, w_hh, b_hh) of sum(states * coef).
fn run(c: &Case, f: Run, reverse: bool) -> (Vec<f32>, [Vec<f32>; 4]) {
    let states = f(
        c.gi.clone(),
        c.h0.clone(),
        (c.w.clone(), c.bias.clone()),
        &c.mask,
        reverse,
    );
    let g = (states.clone() * c.coef.clone()).sum().backward();
    (
        values(&states),
        [
            values(&c.gi.grad(&g).unwrap()),
            values(&c.h0.grad(&g).unwrap()),
            values(&c.w.grad(&g).unwrap()),
            values(&c.bias.grad(&g).unwrap()),
        ],
    )
}

fn fused_equals_composed(device: Device) {
    for ((sizes, lens), seed) in [
        ((3, 5, 4), vec![5, 2, 4]),
        ((2, 1, 3), vec![1, 1]),
        ((5, 4, 6), vec![4, 4, 1, 3, 2]),
    ]
    .into_iter()
    .zip(10..)
    {
        for reverse in [false, true] {
            let c = case(sizes, &lens, &device, seed);
            let (fv, fg) = run(&c, gru_sequence_fused, reverse);
            let (cv, cg) = run(&c, gru_sequence_composed, reverse);
            let what = format!("sizes {sizes:?}, reverse {reverse}");
            assert_close(&fv, &cv, 1e-5, &format!("states, {what}"));
            for (k, (a, b)) in fg.iter().zip(&cg).enumerate() {
                assert_close(a, b, 1e-5, &format!("gradient {k}, {what}"));
            }
        }
    }
}

#[test]
fn fused_gru_equals_the_composed_gru_on_ndarray() {
    fused_equals_composed(Device::ndarray().autodiff());
}

#[test]
fn fused_gru_equals_the_composed_gru_on_flex() {
    fused_equals_composed(Device::flex().autodiff());
}

/// The CubeCL version of the pass.
fn gru_sequence_cube(
    gi: Tensor<3>,
    h0: Tensor<2>,
    w: Weights,
    mask: &Tensor<2>,
    reverse: bool,
) -> Tensor<3> {
    GruPass { reverse }.cube((gi, h0, w, mask.clone()))
}

/// On wgpu (lavapipe on a machine without a GPU) the CubeCL kernels give the composed pass's
/// states and every gradient, forward and backward in time with padding; the route picks them.
#[test]
fn cube_gru_equals_the_composed_gru_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff();
    assert_eq!(crate::Route::of(&device), crate::Route::Cube);
    // A width above one cube's 256 units makes units loop over the state; one step, one
    // sequence.
    for ((sizes, lens), seed) in [((3, 5, 4), vec![5, 2, 4]), ((1, 1, 260), vec![1])]
        .into_iter()
        .zip(30..)
    {
        for reverse in [false, true] {
            let c = case(sizes, &lens, &device, seed);
            let (kv, kg) = run(&c, gru_sequence_cube, reverse);
            let (cv, cg) = run(&c, gru_sequence_composed, reverse);
            let what = format!("wgpu, sizes {sizes:?}, reverse {reverse}");
            assert_close(&kv, &cv, 1e-5, &format!("states, {what}"));
            for (k, (a, b)) in kg.iter().zip(&cg).enumerate() {
                assert_close(a, b, 1e-4, &format!("gradient {k}, {what}"));
            }
        }
    }
}

#[test]
fn reverse_pass_holds_padding_at_h0_and_starts_at_each_last_real_step() {
    let c = case((2, 4, 3), &[2, 4], &Device::flex().autodiff(), 1);
    let (gi, h0) = (c.gi.clone().inner(), c.h0.clone().inner());
    let (w, b, mask) = (
        c.w.clone().inner(),
        c.bias.clone().inner(),
        c.mask.clone().inner(),
    );
    let all = gru_sequence_fused(gi.clone(), h0.clone(), (w.clone(), b.clone()), &mask, true);
    // Sequence 0 has 2 real steps: its states at steps 2 and 3 are h0.
    let pad = all.clone().narrow(0, 0, 1).narrow(1, 2, 2).reshape([2, 3]);
    let h00 = h0.clone().narrow(0, 0, 1);
    assert_eq!(
        values(&pad),
        values(&Tensor::cat(vec![h00.clone(), h00], 0))
    );
    // Its step-1 state is one cell update of h0 by step 1's input.
    let gi1 = gi.narrow(0, 0, 1).narrow(1, 1, 1).reshape([1, 9]);
    let one = gru_update(
        gi1,
        h0.clone().narrow(0, 0, 1).matmul(w) + b.unsqueeze_dim(0),
        h0.narrow(0, 0, 1),
    );
    let got = all.narrow(0, 0, 1).narrow(1, 1, 1).reshape([1, 3]);
    assert_close(&values(&got), &values(&one), 1e-5, "first real step");
}

/// Central differences of the loss in entries of W_hh and b_hh against the backward pass of
/// `pass` on `device` (autodiff) and its plain version `plain`, backward in time with padding.
fn backward_matches_finite_differences(pass: Run, device: Device, plain: Device) {
    let c = case((2, 4, 3), &[4, 2], &device, 21);
    let (w, b) = (
        c.w.clone().detach().require_grad(),
        c.bias.clone().detach().require_grad(),
    );
    let (gi, h0, mask) = (c.gi.clone().detach(), c.h0.clone().detach(), c.mask.clone());
    let loss = |w: Tensor<2>, b: Tensor<1>, coef: Tensor<3>| {
        let states = pass(gi.clone(), h0.clone(), (w, b), &mask, true);
        (states * coef).sum()
    };
    let g = loss(w.clone(), b.clone(), c.coef.clone()).backward();
    let mut analytic = values(&w.grad(&g).unwrap());
    analytic.extend(values(&b.grad(&g).unwrap()));
    let (wv, bv) = (values(&w), values(&b));
    let n_w = wv.len();
    let (gi, h0, mask) = (gi.inner(), h0.inner(), mask.inner());
    let coef = c.coef.clone().inner();
    let eval = |at: usize, delta: f32| -> f64 {
        let (mut w2, mut b2) = (wv.clone(), bv.clone());
        if at < n_w {
            w2[at] += delta;
        } else {
            b2[at - n_w] += delta;
        }
        let w2 = Tensor::<2>::from_data(TensorData::new(w2, [3, 9]), &plain);
        let b2 = Tensor::<1>::from_data(TensorData::new(b2, [9]), &plain);
        let states = pass(gi.clone(), h0.clone(), (w2, b2), &mask, true);
        values(&(states * coef.clone()).sum())[0] as f64
    };
    crate::testing::assert_finite_differences(
        &analytic,
        eval,
        &[0, 4, 13, 26, n_w, n_w + 5, n_w + 8],
    );
}

#[test]
fn fused_backward_matches_finite_differences() {
    let device = Device::flex();
    backward_matches_finite_differences(gru_sequence_fused, device.clone().autodiff(), device);
}

#[test]
fn cube_backward_matches_finite_differences_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    backward_matches_finite_differences(gru_sequence_cube, device.clone().autodiff(), device);
}
