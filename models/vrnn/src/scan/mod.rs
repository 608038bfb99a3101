//! Fused recurrent scans: the step-by-step part of a filtering pass as one operation with a
//! hand-written backward pass, so a training step does not pay the framework's per-operation
//! cost (graph bookkeeping, allocation, thread hand-offs) a hundred times per sequence.
//!
//! [`latent_gru_scan`] runs the VRNN's chain `h_{t-1} -> q(z_t | x_t, h_{t-1}) -> z_t -> h_t`
//! (encoder MLP, Gaussian reparameterisation, phi_z MLP, GRU cell) over all steps, in one of
//! its implementations, side by side in this folder: composed from tensor operations
//! (`composed.rs`, the reference, any device) and host code with a hand-written backward pass
//! (`host.rs`, `backward.rs`) on the CPU backends; `neuromod_kernels::Route` picks one per
//! device, and the tests (`tests.rs`) hold them to the same values and gradients.

mod backward;
mod composed;
mod cube;
mod host;
mod shape;
mod weights;

use burn::prelude::*;

use neuromod_kernels::{cube_fused, fused, run, Arg, Backprop, Chain, Inputs, Kernel};

use host::ScanInputs;

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

/// Runs the scan the way the device's route says ([`LatentGruScan`]); every route gives the
/// same values and gradients.
pub fn latent_gru_scan(input: ScanInput, weights: &ScanWeights, sigma_min: f64) -> ScanOutput {
    let device = input.x_proj.device();
    run(&LatentGruScan { weights, sigma_min }, input, &device)
}

/// The scan with its weights and the floor of the posterior's standard deviation.
#[derive(Debug, Clone, Copy)]
pub struct LatentGruScan<'a> {
    /// The chain's weights.
    pub weights: &'a ScanWeights,
    /// Floor added to the posterior's standard deviation.
    pub sigma_min: f64,
}

impl Chain for LatentGruScan<'_> {
    type Input = ScanInput;
    type Output = ScanOutput;

    fn composed(&self, input: ScanInput) -> ScanOutput {
        latent_gru_scan_composed(input, self.weights, self.sigma_min)
    }

    fn host(&self, input: ScanInput) -> ScanOutput {
        latent_gru_scan_host(input, self.weights, self.sigma_min)
    }

    /// Two persistent CubeCL launches (forward, backward through time) and the weight
    /// gradients' products; one node of the autodiff graph. Composed when the widths need
    /// more shared memory than a cube may have.
    fn cube(&self, input: ScanInput) -> ScanOutput {
        let [batch, steps, _] = input.x_proj.dims();
        let shape = self.weights.shape(batch, steps, self.sigma_min);
        if !cube::fits(&shape) {
            return self.composed(input);
        }
        fused_scan(input, self.weights, self.sigma_min, cube_fused)
    }
}

/// Runs the scan as one operation (one node of the autodiff graph on an autodiff device).
///
/// # Panics
/// On a device whose route is not `Route::Host`.
pub fn latent_gru_scan_host(input: ScanInput, weights: &ScanWeights, sigma_min: f64) -> ScanOutput {
    fused_scan(input, weights, sigma_min, fused)
}

/// Runs the scan as one fused operation (`run`: the host's or the Cube backends') and cuts its
/// flat output into the four planes.
fn fused_scan(
    input: ScanInput,
    weights: &ScanWeights,
    sigma_min: f64,
    run: fn(ScanShape, Vec<Arg>) -> Tensor<1>,
) -> ScanOutput {
    let ScanInput { x_proj, eps, h0 } = input;
    let [batch, steps, _] = x_proj.dims();
    let shape = weights.shape(batch, steps, sigma_min);
    let flat = run(
        shape,
        vec![x_proj.into(), eps.into(), h0.into(), weights.pack().into()],
    );
    let (rows, mut at) = (shape.rows(), 0);
    let [h, mu, sigma, fz] = shape.out_widths().map(|w| {
        let plane = flat.clone().narrow(0, at, rows * w);
        at += rows * w;
        plane.reshape([batch, steps, w])
    });
    ScanOutput { h, mu, sigma, fz }
}

impl Kernel for ScanShape {
    /// Inputs [x_proj, eps, h0, theta]; outputs [h | mu | sigma | phi_z(z)] planes.
    fn forward(&self, [xproj, eps, h0, theta]: Inputs, _tracked: bool) -> (Vec<f32>, Vec<f32>) {
        host::forward(
            self,
            &ScanInputs {
                xproj,
                eps,
                h0,
                theta,
            },
        )
    }

    /// The gradients of all four inputs.
    fn backward(&self, p: Backprop) -> [Vec<f32>; 4] {
        let [xproj, eps, h0, theta] = p.inputs;
        let g = backward::backward(
            self,
            &ScanInputs {
                xproj,
                eps,
                h0,
                theta,
            },
            p,
        );
        [g.xproj, g.eps, g.h0, g.theta]
    }
}

#[cfg(test)]
mod tests;
