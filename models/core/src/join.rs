//! Joining two tensors side by side along their last axis (or along time), as one host copy
//! on the CPU backends.
//!
//! burn-ndarray concatenates along an inner axis element by element (measured: joining
//! [32, 100, 256] and [32, 100, 32] took about 10 ms of a 100 ms training step here); the host
//! version copies whole row pieces and its backward pass splits the gradient the same way.
//! Other devices use `Tensor::cat`.
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Dispatch, Flex, NdArray};
use burn::prelude::*;

use crate::host::{host_ops_available, HostData};

/// a [.., p] and b [.., q] with the same leading sizes -> [.., p + q].
///
/// # Panics
/// When the leading sizes differ.
pub fn join_last<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let (da, db) = (a.dims(), b.dims());
    assert_eq!(
        da[..D - 1],
        db[..D - 1],
        "joined tensors share their leading sizes"
    );
    let rows: usize = da[..D - 1].iter().product();
    let mut out = da;
    out[D - 1] = da[D - 1] + db[D - 1];
    join_cols(a.reshape([rows, da[D - 1]]), b.reshape([rows, db[D - 1]])).reshape(out)
}

/// a [B, T1, d] and b [B, T2, d] -> [B, T1 + T2, d] (a's steps first).
///
/// # Panics
/// When the batch sizes or widths differ.
pub fn join_time(a: Tensor<3>, b: Tensor<3>) -> Tensor<3> {
    let ([n, t1, d], [m, t2, e]) = (a.dims(), b.dims());
    assert!(n == m && d == e, "joined sequences share batch and width");
    join_cols(a.reshape([n, t1 * d]), b.reshape([n, t2 * d])).reshape([n, t1 + t2, d])
}

/// a [R, p] and b [R, q] -> [R, p + q].
fn join_cols(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    if !host_ops_available(&a.device()) {
        return Tensor::cat(vec![a, b], 1);
    }
    let out = <Dispatch as JoinOps>::join_cols(a.into_dispatch(), b.into_dispatch());
    Tensor::from_dispatch(out)
}

/// Side-by-side join of two matrices with the same rows.
#[backend_extension(NdArray, Flex, Autodiff)]
pub trait JoinOps: Backend {
    /// a [R, p], b [R, q] -> [R, p + q].
    fn join_cols(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Rows and widths of two matrices.
fn widths<B: Backend>(a: &FloatTensor<B>, b: &FloatTensor<B>) -> (usize, usize, usize) {
    use burn::backend::TensorMetadata;
    let (sa, sb) = (a.shape(), b.shape());
    assert_eq!(sa[0], sb[0], "joined matrices have the same rows");
    (sa[0], sa[1], sb[1])
}

fn host_join<B: HostData>(a: &FloatTensor<B>, b: &FloatTensor<B>) -> FloatTensor<B> {
    let (rows, p, q) = widths::<B>(a, b);
    let (xa, xb) = (B::read(a), B::read(b));
    let mut out = Vec::with_capacity(rows * (p + q));
    for r in 0..rows {
        out.extend_from_slice(&xa[r * p..(r + 1) * p]);
        out.extend_from_slice(&xb[r * q..(r + 1) * q]);
    }
    B::write(out, vec![rows, p + q])
}

macro_rules! host_join_ops {
    ($($backend:ty),*) => {$(
        impl JoinOps for $backend {
            fn join_cols(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
                host_join::<Self>(&a, &b)
            }
        }
    )*};
}

host_join_ops!(NdArray, Flex);

/// The join's node in the autodiff graph; parents a, b; state (rows, p, q).
#[derive(Debug)]
struct JoinBackward;

impl<B: HostData> Backward<B, 2> for JoinBackward {
    type State = (usize, usize, usize);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let (rows, p, q) = ops.state;
        let [pa, pb] = ops.parents;
        let d = B::read(&dout);
        let split = |off: usize, w: usize| {
            let mut g = Vec::with_capacity(rows * w);
            for r in 0..rows {
                let at = r * (p + q) + off;
                g.extend_from_slice(&d[at..at + w]);
            }
            B::write(g, vec![rows, w])
        };
        if let Some(node) = pa {
            grads.register::<B>(node.id, split(0, p));
        }
        if let Some(node) = pb {
            grads.register::<B>(node.id, split(p, q));
        }
    }
}

impl<B: JoinOps + HostData, C: CheckpointStrategy> JoinOps for Autodiff<B, C> {
    fn join_cols(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let nodes = [a.node(), b.node()];
        let (a, b) = (a.into_primitive(), b.into_primitive());
        let state = widths::<B>(&a, &b);
        match <JoinBackward as Backward<B, 2>>::prepare::<C>(JoinBackward, nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(state, host_join::<B>(&a, &b)),
            OpsKind::UnTracked(prep) => prep.finish(B::join_cols(a, b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{normal, values};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Values and both gradients of a weighted sum of the join, fused or `Tensor::cat`.
    fn run(device: &Device, fused: bool) -> Vec<Vec<f32>> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a = normal([4, 5, 3], 1.0, &mut rng, device).require_grad();
        let b = normal([4, 5, 2], 1.0, &mut rng, device).require_grad();
        let c = normal([4, 2, 3], 1.0, &mut rng, device).require_grad();
        let (wl, wt) = (
            normal([4, 5, 5], 1.0, &mut rng, device),
            normal([4, 7, 3], 1.0, &mut rng, device),
        );
        let (last, time) = if fused {
            (
                join_last(a.clone(), b.clone()),
                join_time(a.clone(), c.clone()),
            )
        } else {
            (
                Tensor::cat(vec![a.clone(), b.clone()], 2),
                Tensor::cat(vec![a.clone(), c.clone()], 1),
            )
        };
        let out = vec![values(&last), values(&time)];
        let g = ((last * wl).sum() + (time * wt).sum()).backward();
        let grads = [&a, &b, &c].map(|t| values(&t.grad(&g).expect("gradient")));
        out.into_iter().chain(grads).collect()
    }

    #[allow(deprecated)]
    #[test]
    fn joins_equal_tensor_cat_in_values_and_gradients_on_both_cpu_backends() {
        for device in [Device::ndarray(), Device::flex()] {
            let ad = device.autodiff();
            assert!(host_ops_available(&ad));
            assert_eq!(run(&ad, true), run(&ad, false));
        }
    }
}
