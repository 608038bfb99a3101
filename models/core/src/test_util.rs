//! Helpers for the crate's unit tests.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Normal draws from a local generator (the device's generator is shared by tests running in
/// parallel, so two cases from one seed could differ).
pub(crate) fn normal<const D: usize>(
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
pub(crate) fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}
