//! The scan as a burn operation with a hand-written backward pass (burn's backend-extension
//! mechanism): the CPU backends (ndarray, Flex) run [`super::host`] on their own f32 buffers,
//! and on an autodiff device the whole scan is one node of the graph whose backward calls
//! [`super::host::backward`].
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex, NdArray, TensorMetadata};

use super::host::{self, ScanInputs};
use super::shape::ScanShape;
use crate::host::HostData;

/// The latent GRU scan as a backend operation. Inputs as in `ScanInputs`; the output is the
/// four output planes (h_t, mu_t, sigma_t, phi_z(z_t)) one after another, flat.
#[backend_extension(NdArray, Flex, Autodiff)]
pub trait ScanOps: Backend {
    /// Runs the scan.
    fn latent_gru_scan(
        xproj: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        shape: ScanShape,
    ) -> FloatTensor<Self>;
}

/// Forward on the host: (output planes, saved activations) as tensors.
fn host_forward<B: HostData>(
    [xproj, eps, h0, theta]: [&FloatTensor<B>; 4],
    shape: &ScanShape,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (xproj, eps, h0, theta) = (B::read(xproj), B::read(eps), B::read(h0), B::read(theta));
    let inputs = ScanInputs {
        xproj: &xproj,
        eps: &eps,
        h0: &h0,
        theta: &theta,
    };
    let (out, saved) = host::forward(shape, &inputs);
    let (n_out, n_saved) = (out.len(), saved.len());
    (B::write(out, vec![n_out]), B::write(saved, vec![n_saved]))
}

/// The CPU backends run the host forward pass directly.
macro_rules! host_scan {
    ($($backend:ty),*) => {$(
        impl ScanOps for $backend {
            fn latent_gru_scan(
                xproj: FloatTensor<Self>,
                eps: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                theta: FloatTensor<Self>,
                shape: ScanShape,
            ) -> FloatTensor<Self> {
                host_forward::<Self>([&xproj, &eps, &h0, &theta], &shape).0
            }
        }
    )*};
}

host_scan!(NdArray, Flex);

/// The scan's node in the autodiff graph; parents: xproj, eps, h0, theta.
#[derive(Debug)]
struct ScanBackward;

/// What the backward pass keeps: the shape, the four inputs, the outputs and the saved
/// activations (all reference-counted buffers, not copies).
type ScanState<B> = (
    ScanShape,
    [FloatTensor<B>; 4],
    FloatTensor<B>,
    FloatTensor<B>,
);

impl<B: HostData> Backward<B, 4> for ScanBackward {
    type State = ScanState<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let dout = grads.consume::<B>(&ops.node);
        let (shape, inputs, out, saved) = ops.state;
        let g = {
            let [xproj, eps, h0, theta] = inputs.each_ref().map(|t| B::read(t));
            let (out, saved, dout) = (B::read(&out), B::read(&saved), B::read(&dout));
            let x = ScanInputs {
                xproj: &xproj,
                eps: &eps,
                h0: &h0,
                theta: &theta,
            };
            super::backward::backward(&shape, &x, &out, &saved, &dout)
        };
        let shapes = inputs.each_ref().map(|t| t.shape().to_vec());
        let [s_x, s_eps, s_h0, s_theta] = shapes;
        let values = [
            (g.xproj, s_x),
            (g.eps, s_eps),
            (g.h0, s_h0),
            (g.theta, s_theta),
        ];
        for (parent, (v, s)) in ops.parents.into_iter().zip(values) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, B::write(v, s));
            }
        }
    }
}

impl<B: ScanOps + HostData, C: CheckpointStrategy> ScanOps for Autodiff<B, C> {
    fn latent_gru_scan(
        xproj: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        shape: ScanShape,
    ) -> FloatTensor<Self> {
        let nodes = [xproj.node(), eps.node(), h0.node(), theta.node()];
        let inner = [xproj, eps, h0, theta].map(|t| t.into_primitive());
        match <ScanBackward as Backward<B, 4>>::prepare::<C>(ScanBackward, nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, saved) = host_forward::<B>(inner.each_ref(), &shape);
                prep.finish((shape, inner, out.clone(), saved), out)
            }
            OpsKind::UnTracked(prep) => {
                let [xproj, eps, h0, theta] = inner;
                prep.finish(B::latent_gru_scan(xproj, eps, h0, theta, shape))
            }
        }
    }
}
