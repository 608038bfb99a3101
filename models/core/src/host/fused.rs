//! One burn operation for every fused scan: four f32 inputs, one flat output, and a
//! hand-written backward pass (burn's backend-extension mechanism). The CPU backends (ndarray,
//! Flex) run the scan's host code on their own buffers; on an autodiff device the whole scan is
//! one node of the graph whose backward pass calls the scan's host backward. Each scan is a
//! [`Kernel`]: its shape says which one and its sizes.
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    backend_extension, Autodiff, Backend, Dispatch, Flex, NdArray, TensorMetadata,
};
use burn::prelude::*;

use super::HostData;
use crate::combiner::CombinerShape;
use crate::gru_scan::GruScanShape;
use crate::resq::ResqShape;
use crate::scan::ScanShape;

/// Which scan runs, with its sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    /// The VRNN's latent GRU chain ([`crate::scan`]).
    LatentGru(ScanShape),
    /// A GRU over precomputed input projections ([`crate::gru_scan`]).
    Gru(GruScanShape),
    /// The SRNN's residual latent chain ([`crate::resq`]).
    Resq(ResqShape),
    /// The DKF guide's combiner chain ([`crate::combiner`]).
    Combiner(CombinerShape),
}

/// The four inputs of a scan as host slices, in the order of its operation's arguments.
pub(crate) type Inputs<'a> = [&'a [f32]; 4];

impl Kernel {
    /// Runs the scan: (flat output, saved activations).
    fn forward(&self, x: Inputs) -> (Vec<f32>, Vec<f32>) {
        match self {
            Kernel::LatentGru(s) => crate::scan::kernel_forward(s, x),
            Kernel::Gru(s) => crate::gru_scan::kernel_forward(s, x),
            Kernel::Resq(s) => crate::resq::kernel_forward(s, x),
            Kernel::Combiner(s) => crate::combiner::kernel_forward(s, x),
        }
    }

    /// The gradients of the four inputs (an empty vector: the input gets none).
    fn backward(&self, x: Inputs, out: &[f32], saved: &[f32], dout: &[f32]) -> [Vec<f32>; 4] {
        match self {
            Kernel::LatentGru(s) => crate::scan::kernel_backward(s, x, out, saved, dout),
            Kernel::Gru(s) => crate::gru_scan::kernel_backward(s, x, out, saved, dout),
            Kernel::Resq(s) => crate::resq::kernel_backward(s, x, out, saved, dout),
            Kernel::Combiner(s) => crate::combiner::kernel_backward(s, x, out, saved, dout),
        }
    }
}

/// A fused scan as a backend operation; returns the scan's output, flat.
#[backend_extension(NdArray, Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// Runs the scan `kernel` on its four inputs.
    fn fused_scan(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        kernel: Kernel,
    ) -> FloatTensor<Self>;
}

/// Runs `kernel` on four tensors of any rank (as one graph node on an autodiff device): the
/// flat output.
///
/// # Panics
/// On a device without host operations ([`super::host_ops_available`]).
pub(crate) fn fused_scan(inputs: [FloatTensor<Dispatch>; 4], kernel: Kernel) -> Tensor<1> {
    let [a, b, c, d] = inputs;
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_scan(a, b, c, d, kernel))
}

/// Forward on the host: (output, saved activations) as tensors.
fn host_forward<B: HostData>(
    inputs: [&FloatTensor<B>; 4],
    kernel: &Kernel,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let [a, b, c, d] = inputs.map(|t| B::read(t));
    let (out, saved) = kernel.forward([&a, &b, &c, &d]);
    let (n_out, n_saved) = (out.len(), saved.len());
    (B::write(out, vec![n_out]), B::write(saved, vec![n_saved]))
}

/// The CPU backends run the host forward pass directly.
macro_rules! host_fused {
    ($($backend:ty),*) => {$(
        impl FusedOps for $backend {
            fn fused_scan(
                a: FloatTensor<Self>,
                b: FloatTensor<Self>,
                c: FloatTensor<Self>,
                d: FloatTensor<Self>,
                kernel: Kernel,
            ) -> FloatTensor<Self> {
                host_forward::<Self>([&a, &b, &c, &d], &kernel).0
            }
        }
    )*};
}

host_fused!(NdArray, Flex);

/// A scan's node in the autodiff graph; parents: its four inputs.
#[derive(Debug)]
struct FusedBackward;

/// The kernel, the four inputs, the output and the saved activations (reference-counted
/// buffers, not copies).
type FusedState<B> = (Kernel, [FloatTensor<B>; 4], FloatTensor<B>, FloatTensor<B>);

impl<B: HostData> Backward<B, 4> for FusedBackward {
    type State = FusedState<B>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let (kernel, inputs, out, saved) = ops.state;
        let input_grads = {
            let [a, b, c, d] = inputs.each_ref().map(|t| B::read(t));
            let (out, saved, dout) = (B::read(&out), B::read(&saved), B::read(&dout));
            kernel.backward([&a, &b, &c, &d], &out, &saved, &dout)
        };
        let shapes = inputs.each_ref().map(|t| t.shape().to_vec());
        for (parent, (v, s)) in ops
            .parents
            .into_iter()
            .zip(input_grads.into_iter().zip(shapes))
        {
            if let (Some(node), false) = (parent, v.is_empty()) {
                grads.register::<B>(node.id, B::write(v, s));
            }
        }
    }
}

impl<B: FusedOps + HostData, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn fused_scan(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        kernel: Kernel,
    ) -> FloatTensor<Self> {
        let nodes = [a.node(), b.node(), c.node(), d.node()];
        let inner = [a, b, c, d].map(|t| t.into_primitive());
        match <FusedBackward as Backward<B, 4>>::prepare::<C>(FusedBackward, nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, saved) = host_forward::<B>(inner.each_ref(), &kernel);
                prep.finish((kernel, inner, out.clone(), saved), out)
            }
            OpsKind::UnTracked(prep) => {
                let [a, b, c, d] = inner;
                prep.finish(B::fused_scan(a, b, c, d, kernel))
            }
        }
    }
}
