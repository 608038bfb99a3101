//! Host code shared by the fused operations: matrix products ([`gemm`]), strided views and
//! elementwise pieces of dense layers ([`dense`]), and access to the CPU backends' buffers
//! ([`HostData`]).

pub(crate) mod activation;
mod data;
pub mod dense;
pub mod fused;
pub(crate) mod gates;
pub mod gemm;
pub(crate) mod planes;
mod stored_grad;

pub use data::{host_ops_available, HostData};
pub use stored_grad::StoredGradient;
