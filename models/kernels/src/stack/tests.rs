//! The fused stack against the composed one: values and gradients of input, weights and biases,
//! on both CPU backends, with and without a final ReLU, and without an input gradient.
#![allow(deprecated)]

use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::testing::{normal, values};

/// A stack function of one or several groups.
type Stack = fn(Tensor<2>, &[Vec<Layer>], bool) -> Tensor<2>;

/// (loss, gradients of x (if tracked), of every W and b) for one run of `groups` stacks.
fn run(
    device: &Device,
    (widths, groups): (&[usize], usize),
    rows: usize,
    relu_last: bool,
    track_x: bool,
    f: Stack,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut x = normal([rows, widths[0]], 1.0, &mut rng, device);
    if track_x {
        x = x.require_grad();
    }
    let stacks: Vec<Vec<Layer>> = (0..groups)
        .map(|_| {
            widths
                .windows(2)
                .map(|w| {
                    let scale = 1.0 / (w[0] as f64).sqrt();
                    (
                        normal([w[0], w[1]], scale, &mut rng, device).require_grad(),
                        normal([w[1]], 0.5, &mut rng, device).require_grad(),
                    )
                })
                .collect()
        })
        .collect();
    let out_w = groups * *widths.last().unwrap();
    let coef = normal([rows, out_w], 1.0, &mut rng, device);
    let y = f(x.clone(), &stacks, relu_last);
    let loss = (y * coef).sum();
    let value = values(&loss);
    let g = loss.backward();
    let mut grads = Vec::new();
    if track_x {
        grads.push(values(&x.grad(&g).expect("x gradient")));
    }
    for (w, b) in stacks.iter().flatten() {
        grads.push(values(&w.grad(&g).expect("W gradient")));
        grads.push(values(&b.grad(&g).expect("b gradient")));
    }
    (value, grads)
}

fn check(device: Device) {
    let host: Stack = |x, groups, relu_last| DenseStack { groups, relu_last }.host(x);
    let reference: Stack = |x, groups, relu_last| DenseStack { groups, relu_last }.composed(x);
    for (widths, groups, rows, relu_last, track_x) in [
        (vec![5, 7, 3], 1, 130, false, true),
        (vec![4, 6, 6, 2], 1, 9, true, true),
        (vec![3, 2], 1, 257, false, false),
        (vec![8, 16, 4], 1, 1, false, true),
        (vec![5, 7, 3], 4, 130, false, true),
        (vec![4, 6, 5, 2], 3, 9, true, true),
        (vec![3, 2], 2, 257, false, true),
        (vec![6, 9, 4], 2, 70, false, false),
    ] {
        let fused = run(&device, (&widths, groups), rows, relu_last, track_x, host);
        let composed = run(
            &device,
            (&widths, groups),
            rows,
            relu_last,
            track_x,
            reference,
        );
        let close = |a: &[f32], b: &[f32], what: &str| {
            assert_eq!(a.len(), b.len());
            let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-5 * scale,
                    "{what} {widths:?}: {x} vs {y}"
                );
            }
        };
        close(&fused.0, &composed.0, "loss");
        assert_eq!(fused.1.len(), composed.1.len());
        for (k, (a, b)) in fused.1.iter().zip(&composed.1).enumerate() {
            close(a, b, &format!("gradient {k}"));
        }
    }
}

#[test]
fn fused_stack_equals_the_composed_stack_on_ndarray() {
    check(Device::ndarray().autodiff());
}

#[test]
fn fused_stack_equals_the_composed_stack_on_flex() {
    check(Device::flex().autodiff());
}
