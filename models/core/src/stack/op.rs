//! The dense stack as a burn operation with a hand-written backward pass on the CPU backends.
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex, NdArray, TensorMetadata};

use super::{host, StackShape};
use crate::host::HostData;

/// Dense layers over rows as a backend operation: x [R, in], theta the packed weights; returns
/// [R, out].
#[backend_extension(NdArray, Flex, Autodiff)]
pub trait StackOps: Backend {
    /// Runs the stack.
    fn dense_stack(
        x: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        shape: StackShape,
    ) -> FloatTensor<Self>;
}

/// Forward on the host: (output [R, out], saved hidden activations) as tensors.
fn host_forward<B: HostData>(
    x: &FloatTensor<B>,
    theta: &FloatTensor<B>,
    s: &StackShape,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (out, saved) = host::forward(s, &B::read(x), &B::read(theta));
    let n = saved.len();
    let width = s.groups * *s.widths.last().expect("at least one layer");
    (B::write(out, vec![s.rows, width]), B::write(saved, vec![n]))
}

/// The CPU backends run the host forward pass directly.
macro_rules! host_stack {
    ($($backend:ty),*) => {$(
        impl StackOps for $backend {
            fn dense_stack(
                x: FloatTensor<Self>,
                theta: FloatTensor<Self>,
                shape: StackShape,
            ) -> FloatTensor<Self> {
                host_forward::<Self>(&x, &theta, &shape).0
            }
        }
    )*};
}

host_stack!(NdArray, Flex);

/// The stack's node in the autodiff graph; parents: x, theta.
#[derive(Debug)]
struct StackBackward;

/// Shape, x, theta, output and saved activations (reference-counted, not copied).
type StackState<B> = (
    StackShape,
    [FloatTensor<B>; 2],
    FloatTensor<B>,
    FloatTensor<B>,
);

impl<B: HostData> Backward<B, 2> for StackBackward {
    type State = StackState<B>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let (shape, [x, theta], out, saved) = ops.state;
        let [px, ptheta] = ops.parents;
        let (dx, dtheta) = {
            let (xs, ts, os, ss, ds) = (
                B::read(&x),
                B::read(&theta),
                B::read(&out),
                B::read(&saved),
                B::read(&dout),
            );
            host::backward(&shape, &xs, &ts, &os, &ss, &ds, px.is_some())
        };
        if let (Some(node), Some(dx)) = (px, dx) {
            grads.register::<B>(node.id, B::write(dx, x.shape().to_vec()));
        }
        if let Some(node) = ptheta {
            grads.register::<B>(node.id, B::write(dtheta, theta.shape().to_vec()));
        }
    }
}

impl<B: StackOps + HostData, C: CheckpointStrategy> StackOps for Autodiff<B, C> {
    fn dense_stack(
        x: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        shape: StackShape,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), theta.node()];
        let inner = [x, theta].map(|t| t.into_primitive());
        match <StackBackward as Backward<B, 2>>::prepare::<C>(StackBackward, nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, saved) = host_forward::<B>(&inner[0], &inner[1], &shape);
                prep.finish((shape, inner, out.clone(), saved), out)
            }
            OpsKind::UnTracked(prep) => {
                let [x, theta] = inner;
                prep.finish(B::dense_stack(x, theta, shape))
            }
        }
    }
}
