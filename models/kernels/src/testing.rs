//! Helpers for the equivalence tests of fused chains (the `testing` feature): random leaves
//! from a local generator, closeness of values and gradients, central finite differences.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Normal draws from a local generator (the device's generator is shared by tests running in
/// parallel, so two cases from one seed could differ).
pub fn normal<const D: usize>(
    shape: [usize; D],
    scale: f64,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Tensor<D> {
    let n = shape.iter().product();
    let dist = rand_distr::Normal::new(0.0, scale).unwrap();
    let v: Vec<f32> = (0..n).map(|_| rng.sample(dist) as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// A tensor's values, flattened.
pub fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Asserts `a` equals `b` elementwise within `tol` times b's largest magnitude (at least 1).
pub fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{i}]: {x} vs {y} (scale {scale})"
        );
    }
}

/// Asserts that central differences of `eval(entry, delta)` (the loss with one packed weight
/// moved by delta) match the backward pass's `analytic` gradient at every entry, within 2 %.
pub fn assert_finite_differences(
    analytic: &[f32],
    eval: impl Fn(usize, f32) -> f64,
    entries: &[usize],
) {
    let step = 3e-3f32;
    for &at in entries {
        let fd = (eval(at, step) - eval(at, -step)) / (2.0 * step as f64);
        let an = analytic[at] as f64;
        assert!(
            (fd - an).abs() <= 2e-2 * fd.abs().max(an.abs()).max(0.1),
            "theta[{at}]: finite difference {fd} vs backward {an}"
        );
    }
}

/// A fused operation's loss and the gradients of every leaf, against its composed version's:
/// the loss within 1e-5 and each gradient within 1e-4 (relative to its largest magnitude).
pub fn assert_same_loss_and_gradients(
    (fused_loss, fused_grads): &(Vec<f32>, Vec<Vec<f32>>),
    (composed_loss, composed_grads): &(Vec<f32>, Vec<Vec<f32>>),
    what: &str,
) {
    assert_close(fused_loss, composed_loss, 1e-5, &format!("loss, {what}"));
    assert_eq!(fused_grads.len(), composed_grads.len(), "{what}: gradients");
    for (j, (a, b)) in fused_grads.iter().zip(composed_grads).enumerate() {
        assert_close(a, b, 1e-4, &format!("gradient {j}, {what}"));
    }
}
