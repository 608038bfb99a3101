//! Host-side helpers of the chains' CubeCL backward passes: cutting planes out of a flat
//! buffer, summing a dense layer's weight gradients over all B x T rows as one product, and
//! scaling a gradient a loss's forward pass computed.

use burn::backend::ops::FloatTensorOps;
use burn::backend::{Slice, TensorMetadata};
use burn::prelude::Shape;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::ops::reshape;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;

/// A new flat buffer of `n` elements on `like`'s device, of its element type (unwritten).
pub fn empty_like(like: &CubeTensor, n: usize) -> CubeTensor {
    empty_device_dtype(
        like.client.clone(),
        like.device.clone(),
        Shape::new([n]),
        like.dtype,
    )
}

/// Elements `at..at + rows * width` of a flat tensor, as [rows, width].
pub fn plane(t: &CubeTensor, at: usize, rows: usize, width: usize) -> CubeTensor {
    let range = Slice::new(at as isize, Some((at + rows * width) as isize), 1);
    let part = CubeBackend::float_slice(t.clone(), &[range]);
    reshape(part, Shape::new([rows, width]))
}

/// Columns `from..from + width` of a [rows, cols] tensor.
pub fn columns(t: CubeTensor, from: usize, width: usize) -> CubeTensor {
    let cols = Slice::new(from as isize, Some((from + width) as isize), 1);
    CubeBackend::float_slice(t, &[Slice::new(0, None, 1), cols])
}

/// The tensor, flat.
pub fn flat(t: CubeTensor) -> CubeTensor {
    let n = t.shape().num_elements();
    reshape(t, Shape::new([n]))
}

/// A dense layer's weight gradients, flat: input^T dpre (in x out), then (with a bias) the
/// column sums of dpre (out); `input` is rows x in and `dpre` rows x out.
pub fn layer_grads(input: CubeTensor, dpre: CubeTensor, bias: bool) -> Vec<CubeTensor> {
    let dw = CubeBackend::float_matmul(CubeBackend::float_transpose(input), dpre.clone());
    let mut parts = vec![flat(dw)];
    if bias {
        parts.push(flat(CubeBackend::float_sum_dim(dpre, 0)));
    }
    parts
}

/// A gradient that a loss's forward pass computed with its per-row losses, `saved` [rows x
/// width] flat, times the gradient `dout` \[rows\] of each row's loss: flat, as long as
/// `saved` (one launch).
pub fn scaled_rows(saved: CubeTensor, dout: CubeTensor, rows: usize, width: usize) -> CubeTensor {
    let saved = reshape(saved, Shape::new([rows, width]));
    let dout = reshape(dout, Shape::new([rows, 1]));
    flat(CubeBackend::float_mul(saved, dout))
}
