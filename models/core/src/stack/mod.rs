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

/// A dense layer's weight [in, out] and bias \[out\].
pub type Layer = (Tensor<2>, Tensor<1>);

/// Sizes of a stack: `widths` = [in, hidden..., out] of each of `groups` side-by-side stacks on
/// one input. Theta packs each layer's weights then its bias [G w_{k+1}]: the first layer's
/// weights as [in, G w_1] (the groups' side by side), every later layer's as [G, w_k, w_{k+1}].
/// One group is a plain stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackShape {
    /// Rows R.
    pub rows: usize,
    /// Input, hidden and output widths of one group.
    pub widths: Vec<usize>,
    /// Side-by-side stacks G (output [R, G out], group-major).
    pub groups: usize,
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
    grouped_dense_stack_fused(x, &[layers.to_vec()], relu_last)
}

/// Several stacks of the same widths on one input x [R, in], side by side: [R, G out], group
/// g's output in columns g out..(g + 1) out. Fused on the CPU backends (the groups' first
/// layers are one product with G times the columns, which runs closer to the machine's peak
/// than G narrow ones, and the whole is one node of the autodiff graph), composed elsewhere.
///
/// # Panics
/// Without groups or layers, or when the groups' widths differ.
pub fn grouped_dense_stack(x: Tensor<2>, groups: &[Vec<Layer>], relu_last: bool) -> Tensor<2> {
    if host_ops_available(&x.device()) {
        grouped_dense_stack_fused(x, groups, relu_last)
    } else {
        grouped_dense_stack_composed(x, groups, relu_last)
    }
}

/// [`grouped_dense_stack`] from tensor operations: each group's stack, then side by side.
pub fn grouped_dense_stack_composed(
    x: Tensor<2>,
    groups: &[Vec<Layer>],
    relu_last: bool,
) -> Tensor<2> {
    let outs: Vec<Tensor<2>> = groups
        .iter()
        .map(|layers| dense_stack_composed(x.clone(), layers, relu_last))
        .collect();
    Tensor::cat(outs, 1)
}

/// [`grouped_dense_stack`] as one operation.
///
/// # Panics
/// On a device without host operations, without groups or layers, or when the groups' widths
/// differ.
pub fn grouped_dense_stack_fused(
    x: Tensor<2>,
    groups: &[Vec<Layer>],
    relu_last: bool,
) -> Tensor<2> {
    assert!(
        !groups.is_empty(),
        "a grouped stack needs at least one group"
    );
    let layers = groups[0].len();
    assert!(layers > 0, "a dense stack needs at least one layer");
    let [rows, input] = x.dims();
    let mut widths = vec![input];
    widths.extend(groups[0].iter().map(|(w, _)| w.dims()[1]));
    for layers in groups {
        let w: Vec<usize> = layers.iter().map(|(w, _)| w.dims()[1]).collect();
        assert!(
            w == widths[1..],
            "every group of a stack has the same widths"
        );
    }
    let mut pieces = Vec::with_capacity(2 * layers);
    for k in 0..layers {
        let (ws, bs): (Vec<Tensor<2>>, Vec<Tensor<1>>) =
            groups.iter().map(|g| g[k].clone()).unzip();
        pieces.push(if k == 0 {
            // [in, G w1]: the groups' first-layer weights side by side.
            Tensor::cat(ws, 1).flatten::<1>(0, 1)
        } else {
            Tensor::cat(ws.into_iter().map(|w| w.flatten::<1>(0, 1)).collect(), 0)
        });
        pieces.push(Tensor::cat(bs, 0));
    }
    let theta = Tensor::cat(pieces, 0);
    let shape = StackShape {
        rows,
        widths,
        groups: groups.len(),
        relu_last,
    };
    let out = <Dispatch as StackOps>::dense_stack(x.into_dispatch(), theta.into_dispatch(), shape);
    Tensor::from_dispatch(out)
}
