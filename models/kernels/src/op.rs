//! The one burn operation behind every fused chain: up to four f32 inputs, one flat output, and
//! the chain's hand-written backward pass (burn's backend-extension mechanism). A chain says
//! what it computes by implementing [`Kernel`] on host buffers; the CPU backends (ndarray,
//! Flex) run it on their own buffers, and on an autodiff device the whole chain is one node of
//! the graph whose backward pass calls the kernel's backward.
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use std::fmt::Debug;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    backend_extension, Autodiff, Backend, Dispatch, Flex, NdArray, TensorMetadata,
};
use burn::prelude::*;

use crate::data::HostData;

/// The inputs of a kernel as host slices, in the order its caller passed them (an input the
/// caller left out is empty).
pub type Inputs<'a> = [&'a [f32]; 4];

/// A fused chain on host buffers: its forward pass with what the backward pass needs, and the
/// backward pass. The value implementing it carries the chain's sizes.
pub trait Kernel: Debug + Send + Sync + 'static {
    /// Runs the chain: (flat output, saved activations). `tracked` says whether a backward
    /// pass may follow; a kernel may skip what only the backward pass reads when it is false.
    fn forward(&self, inputs: Inputs, tracked: bool) -> (Vec<f32>, Vec<f32>);

    /// The gradients of the inputs, given the output, the saved activations and the output's
    /// gradient `dout`; an empty vector for an input that gets none. `wanted` says which inputs
    /// are tracked: a kernel may skip the others' gradients.
    fn backward(&self, pass: Backprop) -> [Vec<f32>; 4];
}

/// What a kernel's backward pass reads.
#[derive(Debug, Clone, Copy)]
pub struct Backprop<'a> {
    /// The inputs.
    pub inputs: Inputs<'a>,
    /// The flat output of the forward pass.
    pub out: &'a [f32],
    /// The saved activations of the forward pass.
    pub saved: &'a [f32],
    /// The output's gradient.
    pub dout: &'a [f32],
    /// Which inputs are tracked (need a gradient).
    pub wanted: [bool; 4],
}

impl<'a> Backprop<'a> {
    /// The output, saved and output-gradient buffers cut into their planes (each `rows` rows
    /// of the given widths, one after another).
    pub fn planes(
        &self,
        out_widths: &[usize],
        saved_widths: &[usize],
        rows: usize,
    ) -> [Vec<&'a [f32]>; 3] {
        use crate::planes::split;
        [
            split(self.out, out_widths, rows),
            split(self.saved, saved_widths, rows),
            split(self.dout, out_widths, rows),
        ]
    }

    /// The backward pass of a scalar loss whose forward pass saved the gradient of its first
    /// input (a fused loss computes it in the same pass as the loss): that gradient scaled by
    /// the incoming one; the other inputs get none.
    pub fn stored_gradient(&self) -> [Vec<f32>; 4] {
        let mut g = if self.wanted[0] {
            self.saved.to_vec()
        } else {
            Vec::new()
        };
        let scale = self.dout[0];
        g.iter_mut().for_each(|x| *x *= scale);
        [g, Vec::new(), Vec::new(), Vec::new()]
    }
}

/// A kernel as the operation carries it.
pub type SharedKernel = Arc<dyn Kernel>;

/// One input of [`fused`]: a tensor of any rank.
pub struct Arg {
    pub(crate) tensor: FloatTensor<Dispatch>,
    device: Device,
}

impl<const D: usize> From<Tensor<D>> for Arg {
    fn from(t: Tensor<D>) -> Self {
        let device = t.device();
        Self {
            tensor: t.into_dispatch(),
            device,
        }
    }
}

/// Runs `kernel` on one to four tensors of any rank, as one operation (one node of the
/// autodiff graph on an autodiff device): its flat output.
///
/// # Panics
/// Without inputs or with more than four, and on a device whose backend does not run fused
/// operations ([`crate::Route::of`] decides who calls this).
pub fn fused(kernel: impl Kernel, inputs: Vec<Arg>) -> Tensor<1> {
    assert!(
        (1..=4).contains(&inputs.len()),
        "a fused operation takes one to four inputs, got {}",
        inputs.len()
    );
    let device = inputs[0].device.clone();
    let mut args = inputs.into_iter().map(|a| a.tensor);
    let mut next = || {
        args.next()
            .unwrap_or_else(|| Tensor::<1>::empty([0], &device).into_dispatch())
    };
    let [a, b, c, d] = [next(), next(), next(), next()];
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused(a, b, c, d, Arc::new(kernel)))
}

/// A fused chain as a backend operation; returns the chain's output, flat.
#[backend_extension(NdArray, Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// Runs `kernel` on its four inputs.
    fn fused(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        kernel: SharedKernel,
    ) -> FloatTensor<Self>;
}

/// Forward on the host: (output, saved activations) as tensors.
fn host_forward<B: HostData>(
    inputs: [&FloatTensor<B>; 4],
    kernel: &SharedKernel,
    tracked: bool,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let [a, b, c, d] = inputs.map(|t| B::read(t));
    let (out, saved) = kernel.forward([&a, &b, &c, &d], tracked);
    let (n_out, n_saved) = (out.len(), saved.len());
    (B::write(out, vec![n_out]), B::write(saved, vec![n_saved]))
}

/// The CPU backends run the host forward pass directly.
macro_rules! host_fused {
    ($($backend:ty),*) => {$(
        impl FusedOps for $backend {
            fn fused(
                a: FloatTensor<Self>,
                b: FloatTensor<Self>,
                c: FloatTensor<Self>,
                d: FloatTensor<Self>,
                kernel: SharedKernel,
            ) -> FloatTensor<Self> {
                host_forward::<Self>([&a, &b, &c, &d], &kernel, false).0
            }
        }
    )*};
}

host_fused!(NdArray, Flex);

/// A chain's node in the autodiff graph; parents: its four inputs.
#[derive(Debug)]
struct FusedBackward;

/// The kernel, the four inputs, the output and the saved activations (reference-counted
/// buffers, not copies).
type FusedState<B> = (
    SharedKernel,
    [FloatTensor<B>; 4],
    FloatTensor<B>,
    FloatTensor<B>,
);

impl<B: HostData> Backward<B, 4> for FusedBackward {
    type State = FusedState<B>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let (kernel, inputs, out, saved) = ops.state;
        let wanted = ops.parents.each_ref().map(Option::is_some);
        let input_grads = {
            let [a, b, c, d] = inputs.each_ref().map(|t| B::read(t));
            let (out, saved, dout) = (B::read(&out), B::read(&saved), B::read(&dout));
            kernel.backward(Backprop {
                inputs: [&a, &b, &c, &d],
                out: &out,
                saved: &saved,
                dout: &dout,
                wanted,
            })
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
    fn fused(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        kernel: SharedKernel,
    ) -> FloatTensor<Self> {
        let nodes = [a.node(), b.node(), c.node(), d.node()];
        let inner = [a, b, c, d].map(|t| t.into_primitive());
        match <FusedBackward as Backward<B, 4>>::prepare::<C>(FusedBackward, nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, saved) = host_forward::<B>(inner.each_ref(), &kernel, true);
                prep.finish((kernel, inner, out.clone(), saved), out)
            }
            OpsKind::UnTracked(prep) => {
                let [a, b, c, d] = inner;
                prep.finish(B::fused(a, b, c, d, kernel))
            }
        }
    }
}
