//! The one place that decides how a chain runs on a device. Every fused computation (a
//! family's recurrence, a dense stack, a GRU pass, a fused loss) implements [`Chain`] with a
//! composed version (tensor operations: the reference, runs on every device) and a host version
//! (one [`crate::fused`] operation on the CPU backends), and callers run it with [`run`].

use std::sync::OnceLock;

use burn::backend::DispatchDevice;
use burn::prelude::*;

/// The environment variable that turns every chain's kernels off: `composed` runs every chain
/// composed on every device (to tell a kernel's result from the reference's, or to count what
/// the kernels save); unset, empty or `auto` is the default routing.
pub const KERNELS_ENV: &str = "NEUROMOD_KERNELS";

/// Whether a value of [`KERNELS_ENV`] forces the composed chains.
///
/// # Errors
/// A value other than `composed`, `auto` or empty, naming the variable.
pub fn forced_composed(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("" | "auto") => Ok(false),
        Some("composed") => Ok(true),
        Some(other) => Err(format!(
            "{KERNELS_ENV}={other}: expected `composed` (every chain composed from tensor \
             operations) or `auto` (each device's kernels)"
        )),
    }
}

/// [`forced_composed`] of this process's environment, read once.
///
/// # Errors
/// As [`forced_composed`]; a program checks it at start (the CLI does) so that routing never
/// meets a bad value.
pub fn kernels_env() -> Result<bool, String> {
    static FORCED: OnceLock<Result<bool, String>> = OnceLock::new();
    FORCED
        .get_or_init(|| forced_composed(std::env::var(KERNELS_ENV).ok().as_deref()))
        .clone()
}

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
    /// The route of `device` (with or without autodiff); [`Route::Composed`] everywhere when
    /// [`KERNELS_ENV`] says `composed`.
    ///
    /// # Panics
    /// When [`KERNELS_ENV`] holds a value [`forced_composed`] rejects (its message).
    pub fn of(device: &Device) -> Self {
        if kernels_env().unwrap_or_else(|e| panic!("{e}")) {
            return Route::Composed;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_env_values_parse_and_a_bad_one_names_the_variable() {
        assert_eq!(forced_composed(None), Ok(false));
        assert_eq!(forced_composed(Some("")), Ok(false));
        assert_eq!(forced_composed(Some("auto")), Ok(false));
        assert_eq!(forced_composed(Some("composed")), Ok(true));
        let e = forced_composed(Some("Composed")).unwrap_err();
        assert!(e.contains(KERNELS_ENV) && e.contains("Composed"), "{e}");
    }
}
