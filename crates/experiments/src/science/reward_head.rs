//! A supervised reward-prediction signal (the third kind of teaching signal beside the RPE and
//! the SPE): a reward head E[r_t | z_t, h_{t-1}] on the world model's detached latent, reading
//! [h_{t-1}, muq_t] (the carried state before the step and the posterior mean of the step; the
//! VRNN's own reward head reads phi_z(z_t) and h_{t-1}, the same information through its
//! feature network), and its prediction error r_t - E[r_t | ..] per step.
//!
//! The head learns after the world model, from its latent, so that the world model in `bench
//! science` still never sees a reward and the SPE's results do not depend on this signal. It is
//! a one-hidden-layer MLP trained by Adam on the squared error of the training sequences' steps.

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::{Int, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use neuromod_core::StateLayout;

use crate::critic_fit::{FitSettings, Latents};

/// Hidden width of the reward head.
pub const HIDDEN: usize = 64;

/// The reward head: [h_{t-1}, muq_t] -> E(r_t).
#[derive(Module, Debug)]
pub struct RewardHead {
    hidden: Linear,
    out: Linear,
}

impl RewardHead {
    /// A head on inputs of width `input`.
    pub fn new(input: usize, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(input, HIDDEN).init(device),
            out: LinearConfig::new(HIDDEN, 1).init(device),
        }
    }

    /// Predicted rewards of inputs [rows, input]: \[rows\].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let rows = x.dims()[0];
        self.out
            .forward(relu(self.hidden.forward(x)))
            .reshape([rows])
    }
}

/// The head's inputs [n (T - 1), H + Z] for steps 1..T, sequence-major: h_{t-1} (the
/// deterministic part of s_{t-1}) beside muq_t (the posterior mean of s_t); and the rewards r_t
/// of the same steps.
pub fn inputs(lat: &Latents, layout: StateLayout) -> (Tensor<2>, Tensor<1>) {
    let [n, t] = lat.dims();
    let d = layout.width();
    let prev = layout.deterministic_part(lat.state.clone().narrow(1, 0, t - 1));
    let now = layout.posterior_mean(lat.state.clone().narrow(1, 1, t - 1));
    let x = Tensor::cat(vec![prev, now], 2).reshape([n * (t - 1), d]);
    let r = lat
        .reward
        .clone()
        .narrow(1, 1, t - 1)
        .reshape([n * (t - 1)]);
    (x, r)
}

/// Fits a head (on the autodiff device of `lat`) to the training latents' rewards by Adam on
/// shuffled mini-batches of the squared error; no host read.
pub fn fit(lat: &Latents, layout: StateLayout, s: FitSettings) -> RewardHead {
    let (x, r) = inputs(lat, layout);
    let device = x.device();
    let rows = r.dims()[0];
    let mut head = RewardHead::new(x.dims()[1], &device);
    let mut optim = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut order: Vec<usize> = (0..rows).collect();
    for _ in 0..s.epochs {
        order.shuffle(&mut rng);
        for idx in order.chunks(s.batch.max(1)) {
            let ids: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
            let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [idx.len()]), &device);
            let err = head.forward(x.clone().select(0, ids.clone())) - r.clone().select(0, ids);
            let loss = err.square().mean();
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optim.step(s.lr, head, grads);
        }
    }
    head
}

/// Prediction errors r_t - E[r_t | h_{t-1}, muq_t] along latent trajectories: [n, T], 0 at
/// t = 0 (no step before it).
pub fn prediction_errors(head: &RewardHead, lat: &Latents, layout: StateLayout) -> Tensor<2> {
    let [n, t] = lat.dims();
    let (x, r) = inputs(lat, layout);
    let pe = (r - head.forward(x)).reshape([n, t - 1]);
    Tensor::cat(vec![Tensor::zeros([n, 1], &pe.device()), pe], 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test latents' state: [h, z], one column each.
    const LAYOUT: StateLayout = StateLayout {
        deterministic: 1,
        z: 1,
    };

    /// Latents of `n` sequences of `t` steps on `device`: state [h, z] with h = step parity and
    /// z = a random draw; reward `reward(h_{t-1}, z_t, u)` with u uniform noise.
    fn latents(
        (n, t): (usize, usize),
        reward: impl Fn(f32, f32, f32) -> f32,
        device: &Device,
        seed: u64,
    ) -> Latents {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut state = Vec::new();
        let mut r = Vec::new();
        for _ in 0..n {
            let mut h_prev = 0.0;
            for s in 0..t {
                let h = (s % 2) as f32;
                let z: f32 = rng.random_range(-1.0..1.0);
                let u: f32 = rng.random_range(-1.0..1.0);
                state.extend([h, z]);
                r.push(if s == 0 { 0.0 } else { reward(h_prev, z, u) });
                h_prev = h;
            }
        }
        Latents {
            state: Tensor::from_data(TensorData::new(state, [n, t, 2]), device),
            reward: Tensor::from_data(TensorData::new(r, [n, t]), device),
            continuing: true,
        }
    }

    fn mean_abs(t: Tensor<2>) -> f32 {
        t.abs().mean().into_data().try_to_vec::<f32>().unwrap()[0]
    }

    #[allow(deprecated)]
    #[test]
    fn a_predictable_reward_leaves_small_errors_and_noise_is_left_as_the_error() {
        let ad = Device::ndarray().autodiff();
        ad.seed(1);
        let settings = FitSettings {
            epochs: 150,
            batch: 64,
            lr: 1e-2,
            seed: 1,
        };
        // r_t = 2 z_t + h_{t-1}: a function of the head's inputs.
        let known = |h: f32, z: f32, _u: f32| 2.0 * z + h;
        let head = fit(&latents((40, 10), known, &ad, 2), LAYOUT, settings);
        let held = latents((20, 10), known, &ad.clone().inner(), 3);
        let pe = prediction_errors(&head.valid(), &held, LAYOUT);
        assert_eq!(pe.dims(), [20, 10]);
        let small = mean_abs(pe.clone());
        assert!(small < 0.1, "predictable reward, mean |PE| {small}");
        // Column 0 is 0 (no step before it).
        assert_eq!(mean_abs(pe.narrow(1, 0, 1)), 0.0);
        // r_t = u, noise independent of the inputs: the error is the reward itself (mean |u|
        // = 0.5), whatever the head learnt (it can only learn the mean, 0).
        let noise = |_h: f32, _z: f32, u: f32| u;
        let head = fit(&latents((40, 10), noise, &ad, 4), LAYOUT, settings);
        let held = latents((20, 10), noise, &ad.clone().inner(), 5);
        let big = mean_abs(prediction_errors(&head.valid(), &held, LAYOUT).narrow(1, 1, 9));
        assert!(
            (big - 0.5).abs() < 0.08,
            "unpredictable reward, mean |PE| {big}"
        );
    }
}
