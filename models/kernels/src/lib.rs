//! neuromod's kernel layer. It knows no model: it holds the pieces fused computations are
//! built from and the machinery that runs them.
//!
//! - [`Route`] and [`run`]: the one place that decides, per device, whether a [`Chain`] runs as
//!   one fused operation on the host (the CPU backends) or composed from tensor operations
//!   (every other device, and the reference every fused version is tested against).
//! - [`fused`] and [`Kernel`]: one burn backend-extension operation for every fused chain; a
//!   chain implements `Kernel` (its forward pass on host buffers, with what its backward pass
//!   needs, and the backward pass) and its families own it.
//! - Host building blocks: matrix products ([`gemm`], with an AVX-512 microkernel), strided
//!   views and dense-layer pieces ([`dense`]), GRU gate rows ([`gates`]), activations
//!   ([`activation`]), planes and per-thread chunks of whole sequences ([`planes`]), and the
//!   CPU backends' buffers ([`HostData`]).
//! - Shared fused layers: dense stacks ([`stack`]), a GRU pass over precomputed input
//!   projections ([`gru_scan`]) and joins ([`join_last`], [`join_time`]).
//!
//! This is the only crate of the workspace with `unsafe` code (the matrix-product kernel and
//! the `gemm` crate's entry point) and the only one that turns on backend features.
//!
//! A dense stack runs the same way on every device; only its speed differs:
//!
//! ```
//! use burn::prelude::*;
//! use neuromod_kernels::{dense_stack, Route};
//!
//! # #[allow(deprecated)]
//! let device = Device::ndarray();
//! assert_eq!(Route::of(&device), Route::Host);
//! let x = Tensor::<2>::ones([3, 2], &device);
//! let layer = (Tensor::<2>::ones([2, 4], &device), Tensor::<1>::zeros([4], &device));
//! let y: Vec<f32> = dense_stack(x, &[layer], false).into_data().to_vec().unwrap();
//! assert_eq!(y, vec![2.0; 12]); // each output sums the two inputs
//! ```

pub mod activation;
pub mod cube;
mod data;
pub mod dense;
pub mod gates;
pub mod gemm;
pub mod gru_scan;
mod join;
mod op;
pub mod planes;
mod route;
pub mod stack;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cube::{cube_fused, CubeBackprop, CubeKernel, CubeOps, SharedCubeKernel};
pub use data::HostData;
pub use gru_scan::{gru_sequence, gru_update, GruPass};
pub use join::{join_last, join_time};
pub use op::{fused, Arg, Backprop, FusedOps, Inputs, Kernel, SharedKernel};
pub use route::{forced_composed, kernels_env, run, Chain, Route, KERNELS_ENV};
pub use stack::{dense_stack, grouped_dense_stack, DenseStack, Layer};
