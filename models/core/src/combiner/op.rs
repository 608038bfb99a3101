//! The combiner chain as a burn operation with a hand-written backward pass on the CPU backends.
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex, NdArray, TensorMetadata};

use super::host::{self, CombinerInputs};
use super::CombinerShape;
use crate::host::HostData;

/// The chain as a backend operation: g [B, T, H], eps [B, T, Z], z0 [B, Z], theta (see
/// `CombinerWeights::pack`); returns the three output planes (mu, sigma, z) one after another,
/// flat.
#[backend_extension(NdArray, Flex, Autodiff)]
pub trait CombinerOps: Backend {
    /// Runs the chain.
    fn combiner_chain(
        g: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        z0: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        shape: CombinerShape,
    ) -> FloatTensor<Self>;
}

/// Forward on the host: (output planes, saved activations) as tensors.
fn host_forward<B: HostData>(
    [g, eps, z0, theta]: [&FloatTensor<B>; 4],
    s: &CombinerShape,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (g, eps, z0, theta) = (B::read(g), B::read(eps), B::read(z0), B::read(theta));
    let x = CombinerInputs {
        g: &g,
        eps: &eps,
        z0: &z0,
        theta: &theta,
    };
    let (out, saved) = host::forward(s, &x);
    let (n_out, n_saved) = (out.len(), saved.len());
    (B::write(out, vec![n_out]), B::write(saved, vec![n_saved]))
}

/// The CPU backends run the host forward pass directly.
macro_rules! host_combiner {
    ($($backend:ty),*) => {$(
        impl CombinerOps for $backend {
            fn combiner_chain(
                g: FloatTensor<Self>,
                eps: FloatTensor<Self>,
                z0: FloatTensor<Self>,
                theta: FloatTensor<Self>,
                shape: CombinerShape,
            ) -> FloatTensor<Self> {
                host_forward::<Self>([&g, &eps, &z0, &theta], &shape).0
            }
        }
    )*};
}

host_combiner!(NdArray, Flex);

/// The chain's node in the autodiff graph; parents: g, eps, z0, theta.
#[derive(Debug)]
struct CombinerBackward;

/// Shape, the four inputs, the outputs and the saved activations (reference-counted).
type CombinerState<B> = (
    CombinerShape,
    [FloatTensor<B>; 4],
    FloatTensor<B>,
    FloatTensor<B>,
);

impl<B: HostData> Backward<B, 4> for CombinerBackward {
    type State = CombinerState<B>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let (shape, inputs, out, saved) = ops.state;
        let input_grads = {
            let [g, eps, z0, theta] = inputs.each_ref().map(|t| B::read(t));
            let (out, saved, dout) = (B::read(&out), B::read(&saved), B::read(&dout));
            let x = CombinerInputs {
                g: &g,
                eps: &eps,
                z0: &z0,
                theta: &theta,
            };
            host::backward(&shape, &x, &out, &saved, &dout)
        };
        let shapes = inputs.each_ref().map(|t| t.shape().to_vec());
        for (parent, (v, s)) in ops
            .parents
            .into_iter()
            .zip(input_grads.into_iter().zip(shapes))
        {
            if let Some(node) = parent {
                grads.register::<B>(node.id, B::write(v, s));
            }
        }
    }
}

impl<B: CombinerOps + HostData, C: CheckpointStrategy> CombinerOps for Autodiff<B, C> {
    fn combiner_chain(
        g: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        z0: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        shape: CombinerShape,
    ) -> FloatTensor<Self> {
        let nodes = [g.node(), eps.node(), z0.node(), theta.node()];
        let inner = [g, eps, z0, theta].map(|t| t.into_primitive());
        match <CombinerBackward as Backward<B, 4>>::prepare::<C>(CombinerBackward, nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, saved) = host_forward::<B>(inner.each_ref(), &shape);
                prep.finish((shape, inner, out.clone(), saved), out)
            }
            OpsKind::UnTracked(prep) => {
                let [g, eps, z0, theta] = inner;
                prep.finish(B::combiner_chain(g, eps, z0, theta, shape))
            }
        }
    }
}
