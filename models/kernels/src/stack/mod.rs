//! Dense stacks: several dense layers over all rows at once (ReLU after each, the last one
//! optionally linear), as one fused operation with a hand-written backward pass on the CPU
//! backends, or composed from tensor operations elsewhere. A world model's non-recurrent parts
//! (feature extractors, prior and decoder trunks with their heads) are such stacks.

mod host;
#[cfg(test)]
mod tests;

use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::op::{fused, Backprop, Inputs, Kernel};
use crate::route::{run, Chain};

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

impl Kernel for StackShape {
    /// Inputs [x, theta]; output [R, G out]; saved: the hidden activations.
    fn forward(&self, [x, theta, ..]: Inputs, _tracked: bool) -> (Vec<f32>, Vec<f32>) {
        host::forward(self, x, theta)
    }

    /// Gradients of x (when tracked) and theta.
    fn backward(&self, p: Backprop) -> [Vec<f32>; 4] {
        let [x, theta, ..] = p.inputs;
        let (dx, dtheta) = host::backward(self, (x, theta), (p.out, p.saved, p.dout), p.wanted[0]);
        [dx.unwrap_or_default(), dtheta, Vec::new(), Vec::new()]
    }
}

/// Several stacks of the same widths on one input, side by side, with ReLU after every layer
/// but the last (and after the last when `relu_last`). One group is a plain stack.
#[derive(Debug, Clone, Copy)]
pub struct DenseStack<'a> {
    /// Each group's layers.
    pub groups: &'a [Vec<Layer>],
    /// Whether the last layer applies ReLU too.
    pub relu_last: bool,
}

impl Chain for DenseStack<'_> {
    type Input = Tensor<2>;
    type Output = Tensor<2>;

    /// Each group's stack from tensor operations, then side by side.
    fn composed(&self, x: Tensor<2>) -> Tensor<2> {
        let mut outs: Vec<Tensor<2>> = self
            .groups
            .iter()
            .map(|layers| layers_composed(x.clone(), layers, self.relu_last))
            .collect();
        if outs.len() == 1 {
            return outs.remove(0);
        }
        Tensor::cat(outs, 1)
    }

    /// One operation: the groups' first layers are one product with G times the columns, which
    /// runs closer to the machine's peak than G narrow ones, and the whole is one node of the
    /// autodiff graph.
    ///
    /// # Panics
    /// Without groups or layers, or when the groups' widths differ.
    fn host(&self, x: Tensor<2>) -> Tensor<2> {
        let groups = self.groups;
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
        let out_width = groups.len() * widths[layers];
        let shape = StackShape {
            rows,
            widths,
            groups: groups.len(),
            relu_last: self.relu_last,
        };
        fused(shape, vec![x.into(), theta.into()]).reshape([rows, out_width])
    }
}

/// One stack from tensor operations.
fn layers_composed(x: Tensor<2>, layers: &[Layer], relu_last: bool) -> Tensor<2> {
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

/// x [R, in] through `layers`: ReLU after every layer but the last, which gets ReLU only when
/// `relu_last`. Fused on the CPU backends, composed elsewhere ([`crate::Route`]).
pub fn dense_stack(x: Tensor<2>, layers: &[Layer], relu_last: bool) -> Tensor<2> {
    grouped_dense_stack(x, &[layers.to_vec()], relu_last)
}

/// Several stacks of the same widths on one input x [R, in], side by side: [R, G out], group
/// g's output in columns g out..(g + 1) out ([`DenseStack`]).
pub fn grouped_dense_stack(x: Tensor<2>, groups: &[Vec<Layer>], relu_last: bool) -> Tensor<2> {
    let device = x.device();
    run(&DenseStack { groups, relu_last }, x, &device)
}
