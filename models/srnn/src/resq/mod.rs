//! The latent chain of a state-space model with a residual ("Resq") posterior, as in the SRNN
//! (Fraccaro et al. 2016): at every step a prior p(z_t | z_{t-1}, c_t) and a posterior
//! correction from (z_{t-1}, a_t), each one ReLU layer and a [mu | sigma] head; the posterior
//! mean is the prior mean plus the correction, and z_t = mu_q + sigma_q eps_t feeds the next
//! step. Its implementations sit side by side: composed from tensor operations here (the
//! reference, any device) and host code with a hand-written backward pass (`host.rs`) on the
//! CPU backends; `neuromod_kernels::Route` picks one per device, and `tests.rs` holds them to
//! the same values and gradients.
//!
//! Only the z_{t-1} part of the two first layers runs step by step: the contexts' parts (c_t
//! for the prior, a_t for the posterior, biases included) arrive precomputed for all steps.

mod cube;
mod host;
#[cfg(test)]
mod tests;

use burn::prelude::*;
use burn::tensor::activation::relu;

use neuromod_core::sigma_from;
use neuromod_kernels::{cube_fused, fused, run, Arg, Chain, Layer};

/// Sizes of one chain. Rows of the `[batch, steps, ..]` tensors are indexed `b * steps + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResqShape {
    /// Sequences B.
    pub batch: usize,
    /// Steps T.
    pub steps: usize,
    /// Latent width Z.
    pub z: usize,
    /// Width W of each of the two hidden layers.
    pub w: usize,
    /// Floor added to every standard deviation.
    pub sigma_min: f32,
}

impl ResqShape {
    /// Rows B * T.
    pub fn rows(&self) -> usize {
        self.batch * self.steps
    }
}

/// Inputs of [`resq_chain`].
#[derive(Debug, Clone)]
pub struct ResqInput {
    /// The contexts' parts of the two first layers, biases included: [c_t W_pc + b_p | a_t
    /// W_qa + b_q], [B, T, 2W].
    pub ctx: Tensor<3>,
    /// Reparameterisation noise eps_t: [B, T, Z].
    pub eps: Tensor<3>,
    /// z_0: [B, Z].
    pub z0: Tensor<2>,
}

/// Weights of the step-by-step part.
#[derive(Debug, Clone)]
pub struct ResqWeights {
    /// The z_{t-1} rows of the prior's first layer beside those of the posterior's: [Z, 2W].
    pub wz: Tensor<2>,
    /// The prior's [mu | pre-softplus sigma] head: [W, 2Z] and \[2Z\].
    pub prior: Layer,
    /// The posterior's [mean correction | pre-softplus sigma] head: [W, 2Z] and \[2Z\].
    pub posterior: Layer,
}

impl ResqWeights {
    /// All weights in one vector: wz, the prior head (W, b), the posterior head (W, b).
    fn pack(&self) -> Tensor<1> {
        let flat = |t: &Tensor<2>| t.clone().flatten::<1>(0, 1);
        Tensor::cat(
            vec![
                flat(&self.wz),
                flat(&self.prior.0),
                self.prior.1.clone(),
                flat(&self.posterior.0),
                self.posterior.1.clone(),
            ],
            0,
        )
    }
}

/// Outputs of [`resq_chain`], each [B, T, Z].
#[derive(Debug, Clone)]
pub struct ResqOutput {
    /// Prior means.
    pub mu_p: Tensor<3>,
    /// Prior standard deviations.
    pub sigma_p: Tensor<3>,
    /// Posterior means (prior mean plus correction).
    pub mu_q: Tensor<3>,
    /// Posterior standard deviations.
    pub sigma_q: Tensor<3>,
    /// The samples z_t.
    pub z: Tensor<3>,
}

/// Runs the chain the way the device's route says ([`ResqChain`]).
pub fn resq_chain(input: ResqInput, weights: &ResqWeights, sigma_min: f64) -> ResqOutput {
    let device = input.ctx.device();
    run(&ResqChain { weights, sigma_min }, input, &device)
}

/// The chain with its weights and the floor of every standard deviation.
#[derive(Debug, Clone, Copy)]
pub struct ResqChain<'a> {
    /// The chain's weights.
    pub weights: &'a ResqWeights,
    /// Floor added to every standard deviation.
    pub sigma_min: f64,
}

impl Chain for ResqChain<'_> {
    type Input = ResqInput;
    type Output = ResqOutput;

    fn composed(&self, input: ResqInput) -> ResqOutput {
        resq_chain_composed(input, self.weights, self.sigma_min)
    }

    fn host(&self, input: ResqInput) -> ResqOutput {
        resq_chain_host(input, self.weights, self.sigma_min)
    }

    /// Two persistent CubeCL launches (forward, backward through time) and the weight
    /// gradients' products; one node of the autodiff graph.
    fn cube(&self, input: ResqInput) -> ResqOutput {
        // z_{t-1}, the two layers and both heads (forward); as much backward.
        let ([batch, z], w2) = (input.z0.dims(), input.ctx.dims()[2]);
        if !neuromod_kernels::cube::pieces::fits(batch, 5 * z + w2) {
            return self.composed(input);
        }
        fused_chain(input, self.weights, self.sigma_min, cube_fused)
    }
}

/// [`resq_chain`] from tensor operations, step by step.
pub fn resq_chain_composed(input: ResqInput, weights: &ResqWeights, sigma_min: f64) -> ResqOutput {
    let ResqInput { ctx, eps, z0 } = input;
    let [b, t_len, w2] = ctx.dims();
    let (w, z_dim) = (w2 / 2, z0.dims()[1]);
    let at = |v: &Tensor<3>, t: usize| {
        let width = v.dims()[2];
        v.clone().narrow(1, t, 1).reshape([b, width])
    };
    let head = |a: Tensor<2>, (hw, hb): &Layer| a.matmul(hw.clone()) + hb.clone().unsqueeze_dim(0);
    let mut z_prev = z0;
    let mut out: [Vec<Tensor<2>>; 5] = Default::default();
    for t in 0..t_len {
        let a = relu(z_prev.matmul(weights.wz.clone()) + at(&ctx, t));
        let hp = head(a.clone().narrow(1, 0, w), &weights.prior);
        let hq = head(a.narrow(1, w, w), &weights.posterior);
        let mu_p = hp.clone().narrow(1, 0, z_dim);
        let sigma_p = sigma_from(hp.narrow(1, z_dim, z_dim), sigma_min);
        let mu_q = mu_p.clone() + hq.clone().narrow(1, 0, z_dim);
        let sigma_q = sigma_from(hq.narrow(1, z_dim, z_dim), sigma_min);
        let z = mu_q.clone() + sigma_q.clone() * at(&eps, t);
        for (list, v) in out
            .iter_mut()
            .zip([mu_p, sigma_p, mu_q, sigma_q, z.clone()])
        {
            list.push(v);
        }
        z_prev = z;
    }
    let [mu_p, sigma_p, mu_q, sigma_q, z] = out.map(|v| Tensor::stack::<3>(v, 1));
    ResqOutput {
        mu_p,
        sigma_p,
        mu_q,
        sigma_q,
        z,
    }
}

/// [`resq_chain`] as one operation (one node of the autodiff graph).
///
/// # Panics
/// On a device whose route is not `Route::Host`.
pub fn resq_chain_host(input: ResqInput, weights: &ResqWeights, sigma_min: f64) -> ResqOutput {
    fused_chain(input, weights, sigma_min, fused)
}

/// Runs the chain as one fused operation (`run`: the host's or the Cube backends') and cuts its
/// flat output into the five planes.
fn fused_chain(
    input: ResqInput,
    weights: &ResqWeights,
    sigma_min: f64,
    run: fn(ResqShape, Vec<Arg>) -> Tensor<1>,
) -> ResqOutput {
    let ResqInput { ctx, eps, z0 } = input;
    let [batch, steps, w2] = ctx.dims();
    let z = z0.dims()[1];
    let shape = ResqShape {
        batch,
        steps,
        z,
        w: w2 / 2,
        sigma_min: sigma_min as f32,
    };
    let flat = run(
        shape,
        vec![ctx.into(), eps.into(), z0.into(), weights.pack().into()],
    );
    let plane = shape.rows() * z;
    let [mu_p, sigma_p, mu_q, sigma_q, z] = [0, 1, 2, 3, 4].map(|k| {
        flat.clone()
            .narrow(0, k * plane, plane)
            .reshape([batch, steps, z])
    });
    ResqOutput {
        mu_p,
        sigma_p,
        mu_q,
        sigma_q,
        z,
    }
}
