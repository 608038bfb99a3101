//! Multi-layer perceptron with ReLU after every layer.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use neuromod_kernels::{dense_stack, Layer};

/// A stack of `Linear` + ReLU layers; zero layers is the identity.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The layers, applied in order, each followed by ReLU.
    pub layers: Vec<Linear>,
}

impl Mlp {
    /// Builds `layers` layers: `input -> width -> ... -> width`.
    pub fn new(input: usize, width: usize, layers: usize, device: &Device) -> Self {
        let layers = (0..layers)
            .map(|i| LinearConfig::new(if i == 0 { input } else { width }, width).init(device))
            .collect();
        Self { layers }
    }

    /// Width of the output given the input width (the input passes through when empty).
    pub fn out_dim(&self, input: usize) -> usize {
        self.layers
            .last()
            .map(|l| l.weight.dims()[1])
            .unwrap_or(input)
    }

    /// The layers as (weight, bias) pairs.
    pub fn parts(&self) -> Vec<Layer> {
        self.layers.iter().map(linear_parts).collect()
    }

    /// x: [batch, input] -> [batch, width] (one fused dense stack on the CPU backends).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        if self.layers.is_empty() {
            return x;
        }
        dense_stack(x, &self.parts(), true)
    }
}

/// A linear layer's weight [in, out] and bias \[out\] (zeros when it has none).
pub fn linear_parts(layer: &Linear) -> (Tensor<2>, Tensor<1>) {
    let w = layer.weight.val();
    let b = match &layer.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([w.dims()[1]], &w.device()),
    };
    (w, b)
}

/// A learned vector (an initial state) repeated for every sequence of a batch: [batch, width].
pub fn batch_rows(p: &burn::module::Param<Tensor<1>>, batch: usize) -> Tensor<2> {
    p.val().unsqueeze_dim::<2>(0).repeat_dim(0, batch)
}
