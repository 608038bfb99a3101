//! Fused recurrent scans: the step-by-step part of a filtering pass as one operation with a
//! hand-written backward pass, so a training step does not pay the framework's per-operation
//! cost (graph bookkeeping, allocation, thread hand-offs) a hundred times per sequence.
//!
//! [`latent_gru_scan`] runs the VRNN-style chain `h_{t-1} -> q(z_t | x_t, h_{t-1}) -> z_t ->
//! h_t` (encoder MLP, Gaussian reparameterisation, phi_z MLP, GRU cell) over all steps. It runs
//! on the CPU backends (ndarray, Flex) as host code ([`crate::host::host_ops_available`]); on other
//! devices callers compose the same chain from tensor operations, and the tests hold the two to
//! the same values and gradients.

mod backward;
mod composed;
mod host;
mod shape;
mod weights;

use burn::prelude::*;

use crate::host::fused::{fused_scan, Kernel};

pub(crate) use host::{kernel_backward, kernel_forward};

pub use composed::latent_gru_scan_composed;
pub use shape::ScanShape;
pub use weights::{Layer, ScanWeights};

/// Inputs of [`latent_gru_scan`]; rows of the `[batch, steps, ..]` tensors follow the batch.
#[derive(Debug, Clone)]
pub struct ScanInput {
    /// The parts of the step that read x_t, for all steps at once: [ex | gx], where ex is
    /// phi_x(x_t) times the x rows of the first encoder layer plus that layer's bias (E
    /// columns) and gx is phi_x(x_t) times the x rows of the GRU input projection plus its bias
    /// (3H columns): [batch, steps, E + 3H].
    pub x_proj: Tensor<3>,
    /// Reparameterisation noise eps_t: [batch, steps, Z].
    pub eps: Tensor<3>,
    /// Initial state h_{-1}: [batch, H].
    pub h0: Tensor<2>,
}

/// Outputs of [`latent_gru_scan`], each [batch, steps, width].
#[derive(Debug, Clone)]
pub struct ScanOutput {
    /// h_t after each step.
    pub h: Tensor<3>,
    /// Posterior means.
    pub mu: Tensor<3>,
    /// Posterior standard deviations.
    pub sigma: Tensor<3>,
    /// phi_z(z_t).
    pub fz: Tensor<3>,
}

/// Runs the scan: as one fused operation where [`crate::host::host_ops_available`], else composed from
/// tensor operations ([`latent_gru_scan_composed`]). Both give the same values and gradients.
pub fn latent_gru_scan(input: ScanInput, weights: &ScanWeights, sigma_min: f64) -> ScanOutput {
    if crate::host::host_ops_available(&input.x_proj.device()) {
        latent_gru_scan_fused(input, weights, sigma_min)
    } else {
        latent_gru_scan_composed(input, weights, sigma_min)
    }
}

/// Runs the scan as one operation (one node of the autodiff graph on an autodiff device).
///
/// # Panics
/// On a device where [`crate::host::host_ops_available`] is false.
pub fn latent_gru_scan_fused(
    input: ScanInput,
    weights: &ScanWeights,
    sigma_min: f64,
) -> ScanOutput {
    let ScanInput { x_proj, eps, h0 } = input;
    let [batch, steps, _] = x_proj.dims();
    let shape = weights.shape(batch, steps, sigma_min);
    let flat = fused_scan(
        [
            x_proj.into_dispatch(),
            eps.into_dispatch(),
            h0.into_dispatch(),
            weights.pack().into_dispatch(),
        ],
        Kernel::LatentGru(shape),
    );
    let (rows, mut at) = (shape.rows(), 0);
    let [h, mu, sigma, fz] = shape.out_widths().map(|w| {
        let plane = flat.clone().narrow(0, at, rows * w);
        at += rows * w;
        plane.reshape([batch, steps, w])
    });
    ScanOutput { h, mu, sigma, fz }
}

#[cfg(test)]
mod tests;
