//! Dense stacks: several dense layers over all rows at once (ReLU after each, the last one
//! optionally linear), as one fused operation with a hand-written backward pass on the CPU
//! backends, or composed from tensor operations elsewhere. A world model's non-recurrent parts
//! (feature extractors, prior and decoder trunks with their heads) are such stacks.

mod host;
mod op;
#[cfg(test)]
mod tests;

use burn::backend::Dispatch;
use burn::prelude::*;
use burn::tensor::activation::relu;

pub use op::StackOps;

use crate::host::host_ops_available;

/// A dense layer's weight [in, out] and bias [out].
pub type Layer = (Tensor<2>, Tensor<1>);

/// Sizes of a stack: `widths` = [in, hidden..., out]; theta packs (W, b) of each layer in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackShape {
    /// Rows R.
    pub rows: usize,
    /// Input, hidden and output widths.
    pub widths: Vec<usize>,
    /// Whether the last layer applies ReLU too.
    pub relu_last: bool,
}

/// x [R, in] through `layers`: ReLU after every layer but the last, which gets ReLU only when
/// `relu_last`. Fused on the CPU backends, composed elsewhere; the same values and gradients.
pub fn dense_stack(x: Tensor<2>, layers: &[Layer], relu_last: bool) -> Tensor<2> {
    if host_ops_available(&x.device()) {
        dense_stack_fused(x, layers, relu_last)
    } else {
        dense_stack_composed(x, layers, relu_last)
    }
}

/// [`dense_stack`] from tensor operations.
pub fn dense_stack_composed(x: Tensor<2>, layers: &[Layer], relu_last: bool) -> Tensor<2> {
    let last = layers.len().saturating_sub(1);
    layers.iter().enumerate().fold(x, |x, (k, (w, b))| {
        let y = x.matmul(w.clone()) + b.clone().unsqueeze_dim(0);
        if k < last || relu_last {
            relu(y)
        } else {
            y
        }
    })
}

/// [`dense_stack`] as one operation (one node of the autodiff graph).
///
/// # Panics
/// On a device without host operations ([`host_ops_available`]), or without layers.
pub fn dense_stack_fused(x: Tensor<2>, layers: &[Layer], relu_last: bool) -> Tensor<2> {
    assert!(!layers.is_empty(), "a dense stack needs at least one layer");
    let [rows, input] = x.dims();
    let mut widths = vec![input];
    widths.extend(layers.iter().map(|(w, _)| w.dims()[1]));
    let theta = Tensor::cat(
        layers
            .iter()
            .flat_map(|(w, b)| [w.clone().flatten::<1>(0, 1), b.clone()])
            .collect(),
        0,
    );
    let shape = StackShape {
        rows,
        widths,
        relu_last,
    };
    let out = <Dispatch as StackOps>::dense_stack(x.into_dispatch(), theta.into_dispatch(), shape);
    Tensor::from_dispatch(out)
}
