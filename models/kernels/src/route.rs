//! The one place that decides how a chain runs on a device. Every fused computation (a
//! family's recurrence, a dense stack, a GRU pass, a fused loss) implements [`Chain`] with a
//! composed version (tensor operations: the reference, runs on every device) and a host version
//! (one [`crate::fused`] operation on the CPU backends), and callers run it with [`run`].

use burn::backend::DispatchDevice;
use burn::prelude::*;

/// Which implementation of a chain a device runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// One fused operation on the host's buffers (the CPU backends: ndarray, Flex).
    Host,
    /// The Cube backends (wgpu, CUDA): a chain's CubeCL kernels ([`crate::cube_fused`]) where it
    /// has them, else composed.
    Cube,
    /// Composed from burn's tensor operations (every other device).
    Composed,
}

impl Route {
    /// The route of `device` (with or without autodiff).
    pub fn of(device: &Device) -> Self {
        match device.clone().inner().as_dispatch() {
            DispatchDevice::NdArray(_) | DispatchDevice::Flex(_) => Route::Host,
            DispatchDevice::Cube(_) => Route::Cube,
            #[allow(unreachable_patterns)] // other backends exist behind burn features
            _ => Route::Composed,
        }
    }
}

/// A computation with one implementation per [`Route`]; every implementation gives the same
/// values and gradients (each chain's tests hold them to it).
pub trait Chain {
    /// What the chain reads.
    type Input;
    /// What it returns.
    type Output;

    /// The reference, from tensor operations (any device).
    fn composed(&self, input: Self::Input) -> Self::Output;

    /// One fused operation on the host's buffers.
    ///
    /// # Panics
    /// On a device whose route is not [`Route::Host`].
    fn host(&self, input: Self::Input) -> Self::Output;

    /// CubeCL kernels on a Cube device's buffers; composed for a chain that has none yet.
    ///
    /// # Panics
    /// Where a chain has kernels, on a device whose route is not [`Route::Cube`].
    fn cube(&self, input: Self::Input) -> Self::Output {
        self.composed(input)
    }
}

/// Runs `chain` on `input`, which lives on `device`, the way the device's [`Route`] says.
pub fn run<C: Chain + ?Sized>(chain: &C, input: C::Input, device: &Device) -> C::Output {
    match Route::of(device) {
        Route::Host => chain.host(input),
        Route::Cube => chain.cube(input),
        Route::Composed => chain.composed(input),
    }
}
