//! Multi-layer perceptron with ReLU after every layer.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

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

    /// x: [batch, input] -> [batch, width]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.layers
            .iter()
            .fold(x, |x, layer| relu(layer.forward(x)))
    }
}

/// A linear layer's weight [in, out] and bias [out] (zeros when it has none).
pub fn linear_parts(layer: &Linear) -> (Tensor<2>, Tensor<1>) {
    let w = layer.weight.val();
    let b = match &layer.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([w.dims()[1]], &w.device()),
    };
    (w, b)
}
