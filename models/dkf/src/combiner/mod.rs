//! The guide's latent chain of a deep Markov model (Krishnan et al. 2017): at every step the
//! combiner averages tanh(z_{t-1} W_c + b_c) with the guide RNN's state g_t, a linear [mu |
//! sigma] head reads the average, and z_t = mu + sigma eps_t feeds the next step. Its
//! implementations sit side by side: composed from tensor operations here (the reference, any
//! device) and host code with a hand-written backward pass (`host.rs`) on the CPU backends;
//! `neuromod_kernels::Route` picks one per device, and `tests.rs` holds them to the same values
//! and gradients.

mod cube;
mod host;
#[cfg(test)]
mod tests;

use burn::prelude::*;
use burn::tensor::activation::tanh;

use neuromod_core::sigma_from;
use neuromod_kernels::{cube_fused, fused, run, Arg, Chain, Layer};

/// Sizes of one chain. Rows of the `[batch, steps, ..]` tensors are indexed `b * steps + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CombinerShape {
    /// Sequences B.
    pub batch: usize,
    /// Steps T.
    pub steps: usize,
    /// Latent width Z.
    pub z: usize,
    /// Width H of the guide's state and of the combiner.
    pub h: usize,
    /// Floor added to every standard deviation.
    pub sigma_min: f32,
}

impl CombinerShape {
    /// Rows B * T.
    pub fn rows(&self) -> usize {
        self.batch * self.steps
    }
}

/// Inputs of [`combiner_chain`].
#[derive(Debug, Clone)]
pub struct CombinerInput {
    /// The guide RNN's states g_t: [B, T, H].
    pub g: Tensor<3>,
    /// Reparameterisation noise eps_t: [B, T, Z].
    pub eps: Tensor<3>,
    /// The guide chain's z_0: [B, Z].
    pub z0: Tensor<2>,
}

/// Weights of the chain.
#[derive(Debug, Clone)]
pub struct CombinerWeights {
    /// The combiner's layer on z_{t-1}: [Z, H] and \[H\].
    pub combine: Layer,
    /// The [mu | pre-softplus sigma] head on the average: [H, 2Z] and \[2Z\].
    pub head: Layer,
}

impl CombinerWeights {
    /// All weights in one vector: combiner (W, b), head (W, b).
    fn pack(&self) -> Tensor<1> {
        let flat = |t: &Tensor<2>| t.clone().flatten::<1>(0, 1);
        Tensor::cat(
            vec![
                flat(&self.combine.0),
                self.combine.1.clone(),
                flat(&self.head.0),
                self.head.1.clone(),
            ],
            0,
        )
    }
}

/// Outputs of [`combiner_chain`], each [B, T, Z].
#[derive(Debug, Clone)]
pub struct CombinerOutput {
    /// Posterior means.
    pub mu: Tensor<3>,
    /// Posterior standard deviations.
    pub sigma: Tensor<3>,
    /// The samples z_t.
    pub z: Tensor<3>,
}

/// Runs the chain the way the device's route says ([`CombinerChain`]).
pub fn combiner_chain(
    input: CombinerInput,
    weights: &CombinerWeights,
    sigma_min: f64,
) -> CombinerOutput {
    let device = input.g.device();
    run(&CombinerChain { weights, sigma_min }, input, &device)
}

/// The chain with its weights and the floor of every standard deviation.
#[derive(Debug, Clone, Copy)]
pub struct CombinerChain<'a> {
    /// The chain's weights.
    pub weights: &'a CombinerWeights,
    /// Floor added to every standard deviation.
    pub sigma_min: f64,
}

impl Chain for CombinerChain<'_> {
    type Input = CombinerInput;
    type Output = CombinerOutput;

    fn composed(&self, input: CombinerInput) -> CombinerOutput {
        combiner_chain_composed(input, self.weights, self.sigma_min)
    }

    fn host(&self, input: CombinerInput) -> CombinerOutput {
        combiner_chain_host(input, self.weights, self.sigma_min)
    }

    /// Two persistent CubeCL launches (forward, backward through time) and the weight
    /// gradients' products; one node of the autodiff graph.
    fn cube(&self, input: CombinerInput) -> CombinerOutput {
        // z_{t-1}, the average and the head (forward); as much backward.
        let ([batch, z], h) = (input.z0.dims(), input.g.dims()[2]);
        if !neuromod_kernels::cube::pieces::fits(batch, 3 * z + h) {
            return self.composed(input);
        }
        fused_chain(input, self.weights, self.sigma_min, cube_fused)
    }
}

/// [`combiner_chain`] from tensor operations, step by step.
pub fn combiner_chain_composed(
    input: CombinerInput,
    weights: &CombinerWeights,
    sigma_min: f64,
) -> CombinerOutput {
    let CombinerInput { g, eps, z0 } = input;
    let [b, t_len, h] = g.dims();
    let z_dim = z0.dims()[1];
    let dense =
        |x: Tensor<2>, (w, bias): &Layer| x.matmul(w.clone()) + bias.clone().unsqueeze_dim(0);
    let mut z_prev = z0;
    let mut out: [Vec<Tensor<2>>; 3] = Default::default();
    for t in 0..t_len {
        let g_t = g.clone().narrow(1, t, 1).reshape([b, h]);
        let combined = (tanh(dense(z_prev, &weights.combine)) + g_t) * 0.5;
        let head = dense(combined, &weights.head);
        let mu = head.clone().narrow(1, 0, z_dim);
        let sigma = sigma_from(head.narrow(1, z_dim, z_dim), sigma_min);
        let eps_t = eps.clone().narrow(1, t, 1).reshape([b, z_dim]);
        let z = mu.clone() + sigma.clone() * eps_t;
        for (list, v) in out.iter_mut().zip([mu, sigma, z.clone()]) {
            list.push(v);
        }
        z_prev = z;
    }
    let [mu, sigma, z] = out.map(|v| Tensor::stack::<3>(v, 1));
    CombinerOutput { mu, sigma, z }
}

/// [`combiner_chain`] as one operation (one node of the autodiff graph).
///
/// # Panics
/// On a device whose route is not `Route::Host`.
pub fn combiner_chain_host(
    input: CombinerInput,
    weights: &CombinerWeights,
    sigma_min: f64,
) -> CombinerOutput {
    fused_chain(input, weights, sigma_min, fused)
}

/// Runs the chain as one fused operation (`run`: the host's or the Cube backends') and cuts its
/// flat output into the three planes.
fn fused_chain(
    input: CombinerInput,
    weights: &CombinerWeights,
    sigma_min: f64,
    run: fn(CombinerShape, Vec<Arg>) -> Tensor<1>,
) -> CombinerOutput {
    let CombinerInput { g, eps, z0 } = input;
    let [batch, steps, h] = g.dims();
    let z = z0.dims()[1];
    let shape = CombinerShape {
        batch,
        steps,
        z,
        h,
        sigma_min: sigma_min as f32,
    };
    let flat = run(
        shape,
        vec![g.into(), eps.into(), z0.into(), weights.pack().into()],
    );
    let plane = shape.rows() * z;
    let [mu, sigma, z] = [0, 1, 2].map(|k| {
        flat.clone()
            .narrow(0, k * plane, plane)
            .reshape([batch, steps, z])
    });
    CombinerOutput { mu, sigma, z }
}
