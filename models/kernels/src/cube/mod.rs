//! The one burn operation behind every fused chain on the Cube backends (wgpu, CUDA): a chain
//! writes its forward and backward passes as CubeCL kernels on the backend's own buffers
//! ([`CubeKernel`]), and [`cube_fused`] runs them as one node of the autodiff graph, queued on
//! burn's lazy fusion stream like any other operation (no host-device synchronisation).
//!
//! It mirrors the host operation ([`crate::fused`]): four f32 inputs, one flat output, saved
//! activations for the backward pass; the backward pass returns one gradient per input.

use std::fmt::Debug;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::fusion::custom::TensorSpec;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    backend_extension, Autodiff, AutodiffBackend, Backend, Dispatch, TensorMetadata,
};
use burn::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::reshape;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;

use crate::op::Arg;

pub mod grads;
pub mod pieces;

/// A fused chain as CubeCL kernels on the Cube backends' buffers. The value implementing it
/// carries the chain's sizes.
pub trait CubeKernel: Debug + Send + Sync + 'static {
    /// Lengths of the flat output and of the saved activations.
    fn sizes(&self) -> (usize, usize);

    /// Runs the chain on contiguous, flat inputs: (flat output, flat saved activations), of
    /// the lengths [`CubeKernel::sizes`] gives.
    fn forward(&self, inputs: [CubeTensor; 4]) -> (CubeTensor, CubeTensor);

    /// The gradients of the four inputs (flat, each as long as its input), given the flat
    /// inputs, output, saved activations and output gradient `dout`. An input whose gradient
    /// is never read (a mask) may get zeros; one that [`CubeKernel::grads_of`] leaves out may
    /// get an unwritten buffer ([`grads::empty_like`]).
    fn backward(&self, pass: CubeBackprop) -> [CubeTensor; 4];

    /// Which inputs receive their gradient from [`CubeKernel::backward`] (all four unless a
    /// kernel says otherwise). The others get none, even when they track one: a chain's
    /// targets are `detach()`ed, and burn's `detach` of a tensor that requires a gradient
    /// still requires one.
    fn grads_of(&self) -> [bool; 4] {
        [true; 4]
    }
}

/// What a kernel's backward pass reads, each contiguous and flat.
#[derive(Debug, Clone)]
pub struct CubeBackprop {
    /// The inputs.
    pub inputs: [CubeTensor; 4],
    /// The output of the forward pass.
    pub out: CubeTensor,
    /// The saved activations of the forward pass.
    pub saved: CubeTensor,
    /// The output's gradient.
    pub dout: CubeTensor,
}

/// A kernel as the operation carries it.
pub type SharedCubeKernel = Arc<dyn CubeKernel>;

/// Runs `kernel` on exactly four tensors of any rank that live on a Cube device, as one
/// operation (one node of the autodiff graph on an autodiff device): its flat output.
///
/// # Panics
/// Without exactly four inputs, and on a device that is not a Cube device ([`crate::Route`]
/// decides who calls this).
pub fn cube_fused(kernel: impl CubeKernel, inputs: Vec<Arg>) -> Tensor<1> {
    let [a, b, c, d]: [Arg; 4] = inputs
        .try_into()
        .unwrap_or_else(|v: Vec<Arg>| panic!("a Cube kernel takes four inputs, got {}", v.len()));
    let kernel: SharedCubeKernel = Arc::new(kernel);
    let (out, _) =
        <Dispatch as CubeOps>::cube_forward(a.tensor, b.tensor, c.tensor, d.tensor, kernel);
    Tensor::from_dispatch(out)
}

/// The shapes of the forward pass's outputs, known before it runs (fusion queues it).
fn forward_meta(
    a: &TensorSpec,
    _: &TensorSpec,
    _: &TensorSpec,
    _: &TensorSpec,
    kernel: &SharedCubeKernel,
) -> (TensorSpec, TensorSpec) {
    let (n_out, n_saved) = kernel.sizes();
    (
        TensorSpec::new(Shape::new([n_out]), a.dtype),
        TensorSpec::new(Shape::new([n_saved]), a.dtype),
    )
}

/// Each gradient has its input's shape.
#[allow(clippy::too_many_arguments)]
fn backward_meta(
    a: &TensorSpec,
    b: &TensorSpec,
    c: &TensorSpec,
    d: &TensorSpec,
    _: &TensorSpec,
    _: &TensorSpec,
    _: &TensorSpec,
    _: &SharedCubeKernel,
) -> (TensorSpec, TensorSpec, TensorSpec, TensorSpec) {
    (a.clone(), b.clone(), c.clone(), d.clone())
}

/// A fused chain on the Cube backends, forward (output, saved) and backward (one gradient per
/// input, shaped like it).
#[backend_extension(Cube, Fusion, Autodiff)]
pub trait CubeOps: Backend {
    /// Runs `kernel`'s forward pass: (flat output, flat saved activations).
    #[fusion(meta = forward_meta)]
    fn cube_forward(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        kernel: SharedCubeKernel,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Runs `kernel`'s backward pass: the four inputs' gradients.
    #[allow(clippy::too_many_arguments)]
    #[fusion(meta = backward_meta)]
    fn cube_backward(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        out: FloatTensor<Self>,
        saved: FloatTensor<Self>,
        dout: FloatTensor<Self>,
        kernel: SharedCubeKernel,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );
}

/// Contiguous and flat.
fn flat(t: CubeTensor) -> CubeTensor {
    grads::flat(into_contiguous(t))
}

impl CubeOps for CubeBackend {
    fn cube_forward(
        a: CubeTensor,
        b: CubeTensor,
        c: CubeTensor,
        d: CubeTensor,
        kernel: SharedCubeKernel,
    ) -> (CubeTensor, CubeTensor) {
        kernel.forward([a, b, c, d].map(flat))
    }

    fn cube_backward(
        a: CubeTensor,
        b: CubeTensor,
        c: CubeTensor,
        d: CubeTensor,
        out: CubeTensor,
        saved: CubeTensor,
        dout: CubeTensor,
        kernel: SharedCubeKernel,
    ) -> (CubeTensor, CubeTensor, CubeTensor, CubeTensor) {
        let shapes = [&a, &b, &c, &d].map(|t| t.shape());
        let grads = kernel.backward(CubeBackprop {
            inputs: [a, b, c, d].map(flat),
            out: flat(out),
            saved: flat(saved),
            dout: flat(dout),
        });
        let [ga, gb, gc, gd] = {
            let mut shapes = shapes.into_iter();
            grads.map(|g| reshape(g, shapes.next().expect("four shapes")))
        };
        (ga, gb, gc, gd)
    }
}

/// A chain's node in the autodiff graph; parents: its four inputs.
#[derive(Debug)]
struct CubeFusedBackward;

/// The kernel, the four inputs, the output and the saved activations.
type CubeState<B> = (
    SharedCubeKernel,
    [FloatTensor<B>; 4],
    FloatTensor<B>,
    FloatTensor<B>,
);

impl<B: CubeOps> Backward<B, 4> for CubeFusedBackward {
    type State = CubeState<B>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let (kernel, [a, b, c, d], out, saved) = ops.state;
        let wanted = kernel.grads_of();
        let (ga, gb, gc, gd) = B::cube_backward(a, b, c, d, out, saved, dout, kernel);
        for ((parent, g), wanted) in ops.parents.into_iter().zip([ga, gb, gc, gd]).zip(wanted) {
            if let (Some(node), true) = (parent, wanted) {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

impl<B: CubeOps, C: CheckpointStrategy> CubeOps for Autodiff<B, C> {
    fn cube_forward(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        kernel: SharedCubeKernel,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let nodes = [a.node(), b.node(), c.node(), d.node()];
        let [a, b, c, d] = [a, b, c, d].map(|t| t.into_primitive());
        let (out, saved) =
            B::cube_forward(a.clone(), b.clone(), c.clone(), d.clone(), kernel.clone());
        let out =
            match <CubeFusedBackward as Backward<B, 4>>::prepare::<C>(CubeFusedBackward, nodes)
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    prep.finish((kernel, [a, b, c, d], out.clone(), saved.clone()), out)
                }
                OpsKind::UnTracked(prep) => prep.finish(out),
            };
        (out, Autodiff::<B, C>::from_inner(saved))
    }

    fn cube_backward(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        out: FloatTensor<Self>,
        saved: FloatTensor<Self>,
        dout: FloatTensor<Self>,
        kernel: SharedCubeKernel,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        let inner = |t: FloatTensor<Self>| t.into_primitive();
        let (ga, gb, gc, gd) = B::cube_backward(
            inner(a),
            inner(b),
            inner(c),
            inner(d),
            inner(out),
            inner(saved),
            inner(dout),
            kernel,
        );
        let wrap = Autodiff::<B, C>::from_inner;
        (wrap(ga), wrap(gb), wrap(gc), wrap(gd))
    }
}
