//! Host code shared by the fused operations: strided matrix products and elementwise pieces of
//! dense layers ([`dense`]), and access to the CPU backends' buffers ([`HostData`]).

pub(crate) mod activation;
mod data;
pub(crate) mod dense;

pub use data::{host_ops_available, HostData};
