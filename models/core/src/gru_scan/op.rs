//! The GRU pass as a burn operation with a hand-written backward pass on the CPU backends.
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex, NdArray, TensorMetadata};

use super::host::{self, GruInputs};
use super::GruScanShape;
use crate::host::HostData;

/// A GRU over precomputed input projections as a backend operation: gi [B, T, 3H], h0 [B, H],
/// theta = [W_hh (row-major [H, 3H]), b_hh], mask [B, T]; returns the states, flat [B T H].
#[backend_extension(NdArray, Flex, Autodiff)]
pub trait GruScanOps: Backend {
    /// Runs the pass.
    fn gru_scan(
        gi: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        shape: GruScanShape,
    ) -> FloatTensor<Self>;
}

/// Forward on the host: (states, saved gates) as tensors.
fn host_forward<B: HostData>(
    [gi, h0, theta, mask]: [&FloatTensor<B>; 4],
    s: &GruScanShape,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (gi, h0, theta, mask) = (B::read(gi), B::read(h0), B::read(theta), B::read(mask));
    let x = GruInputs {
        gi: &gi,
        h0: &h0,
        theta: &theta,
        mask: &mask,
    };
    let (out, saved) = host::forward(s, &x);
    let (n_out, n_saved) = (out.len(), saved.len());
    (B::write(out, vec![n_out]), B::write(saved, vec![n_saved]))
}

/// The CPU backends run the host forward pass directly.
macro_rules! host_gru {
    ($($backend:ty),*) => {$(
        impl GruScanOps for $backend {
            fn gru_scan(
                gi: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                theta: FloatTensor<Self>,
                mask: FloatTensor<Self>,
                shape: GruScanShape,
            ) -> FloatTensor<Self> {
                host_forward::<Self>([&gi, &h0, &theta, &mask], &shape).0
            }
        }
    )*};
}

host_gru!(NdArray, Flex);

/// The pass's node in the autodiff graph; parents: gi, h0, theta, mask (the mask gets no
/// gradient: it is data).
#[derive(Debug)]
struct GruScanBackward;

/// Shape, the four inputs, the states and the saved gates (reference-counted, not copied).
type GruState<B> = (
    GruScanShape,
    [FloatTensor<B>; 4],
    FloatTensor<B>,
    FloatTensor<B>,
);

impl<B: HostData> Backward<B, 4> for GruScanBackward {
    type State = GruState<B>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let (shape, inputs, out, saved) = ops.state;
        let g = {
            let [gi, h0, theta, mask] = inputs.each_ref().map(|t| B::read(t));
            let (out, saved, dout) = (B::read(&out), B::read(&saved), B::read(&dout));
            let x = GruInputs {
                gi: &gi,
                h0: &h0,
                theta: &theta,
                mask: &mask,
            };
            host::backward(&shape, &x, &out, &saved, &dout)
        };
        let [s_gi, s_h0, s_theta, _] = inputs.each_ref().map(|t| t.shape().to_vec());
        let [p_gi, p_h0, p_theta, _mask] = ops.parents;
        for (parent, (v, s)) in
            [p_gi, p_h0, p_theta]
                .into_iter()
                .zip([(g.gi, s_gi), (g.h0, s_h0), (g.theta, s_theta)])
        {
            if let Some(node) = parent {
                grads.register::<B>(node.id, B::write(v, s));
            }
        }
    }
}

impl<B: GruScanOps + HostData, C: CheckpointStrategy> GruScanOps for Autodiff<B, C> {
    fn gru_scan(
        gi: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        shape: GruScanShape,
    ) -> FloatTensor<Self> {
        let nodes = [gi.node(), h0.node(), theta.node(), mask.node()];
        let inner = [gi, h0, theta, mask].map(|t| t.into_primitive());
        match <GruScanBackward as Backward<B, 4>>::prepare::<C>(GruScanBackward, nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, saved) = host_forward::<B>(inner.each_ref(), &shape);
                prep.finish((shape, inner, out.clone(), saved), out)
            }
            OpsKind::UnTracked(prep) => {
                let [gi, h0, theta, mask] = inner;
                prep.finish(B::gru_scan(gi, h0, theta, mask, shape))
            }
        }
    }
}
