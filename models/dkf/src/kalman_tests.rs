//! A known answer for the smoothing guide: a DKF whose generative half is set by hand to a
//! scalar linear-Gaussian state-space model (z_t = a z_{t-1} + q e_t, x_t = c z_t + r n_t),
//! whose exact log-likelihood the Kalman filter gives. Only the guide trains (the generative
//! weights are frozen), so the ELBO's gap to the Kalman log-likelihood is the guide's own
//! KL(q || p(z | x)). The true posterior factorises as prod_t p(z_t | z_{t-1}, x_{t:T}): the
//! smoothing guide (backward GRU) can reach it and close the gap; the filtering guide sees
//! only x_{<=t} and cannot.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use neuromod_core::{Guide, Likelihood, Noise, SeqBatch};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Dkf, DkfConfig};

/// The state-space model: transition coefficient and noise, emission gain and noise. A slow,
/// noisily observed state, so that later observations say much about z_t.
const A: f64 = 0.9;
const Q: f64 = 0.5;
const C: f64 = 1.0;
const R: f64 = 1.0;
const T: usize = 20;

/// `n` sequences of length [`T`] from the model (z_1 ~ N(0, Q^2), the chain's z_0 being 0).
fn simulate(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || {
        // Box-Muller.
        let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    (0..n)
        .map(|_| {
            let mut z = 0.0;
            (0..T)
                .map(|_| {
                    z = A * z + Q * normal();
                    C * z + R * normal()
                })
                .collect()
        })
        .collect()
}

/// The exact log p(x_{1:T}) of one sequence: the Kalman filter's innovations.
fn kalman_log_likelihood(xs: &[f64]) -> f64 {
    let (mut m, mut p) = (0.0, Q * Q);
    let mut ll = 0.0;
    for &x in xs {
        let s = C * C * p + R * R;
        let v = x - C * m;
        ll -= 0.5 * ((2.0 * std::f64::consts::PI * s).ln() + v * v / s);
        let k = p * C / s;
        m += k * v;
        p *= 1.0 - k * C;
        m *= A;
        p = A * A * p + Q * Q;
    }
    ll
}

/// softplus^-1(y - floor): the pre-activation that gives standard deviation `y`.
fn pre_sigma(y: f64, floor: f64) -> f32 {
    ((y - floor).exp() - 1.0).ln() as f32
}

/// A DKF with the given guide whose transition and emission are exactly the model above, and
/// frozen: gate shut (its pre-activation -40), linear proposal a, constant sigma q; a linear
/// emission with constant sigma r.
fn lgssm_dkf(guide: Guide, device: &Device) -> Dkf {
    let hidden = 4;
    let mut m = DkfConfig::new(1)
        .with_z_dim(1)
        .with_h_dim(16)
        .with_hidden(hidden)
        .with_emission_layers(0)
        .with_likelihood(Likelihood::Gaussian)
        .with_guide(guide)
        .init(device)
        .unwrap();
    let floor = m.transition.sigma_min;
    let p1 = |v: f32| Param::from_tensor(Tensor::<1>::from_floats([v], device));
    let p2 = |rows: usize, v: f32| Param::from_tensor(Tensor::<2>::full([rows, 1], v, device));
    let t = &mut m.transition;
    (t.gate_out.weight, t.gate_out.bias) = (p2(hidden, 0.0), Some(p1(-40.0)));
    (t.proposal_out.weight, t.proposal_out.bias) = (p2(hidden, 0.0), Some(p1(0.0)));
    (t.linear.weight, t.linear.bias) = (p2(1, A as f32), Some(p1(0.0)));
    (t.sigma.weight, t.sigma.bias) = (p2(1, 0.0), Some(p1(pre_sigma(Q, floor))));
    let e = &mut m.emission;
    (e.mu.weight, e.mu.bias) = (p2(1, C as f32), Some(p1(0.0)));
    let sigma = e
        .sigma
        .as_mut()
        .expect("a Gaussian emission has a sigma head");
    (sigma.weight, sigma.bias) = (p2(1, 0.0), Some(p1(pre_sigma(R, e.sigma_min))));
    m.transition = m.transition.no_grad();
    m.emission = m.emission.no_grad();
    m.z0 = Param::from_tensor(Tensor::zeros([1], device)).set_require_grad(false);
    m
}

fn batch(seqs: &[Vec<f64>], device: &Device) -> SeqBatch {
    let flat: Vec<f32> = seqs.iter().flatten().map(|&v| v as f32).collect();
    let x = Tensor::<1>::from_floats(flat.as_slice(), device).reshape([seqs.len(), T, 1]);
    SeqBatch::new(x, Tensor::ones([seqs.len(), T], device))
}

/// The ELBO per step, averaged over `draws` latent samples: (mean, standard error).
fn elbo_per_step(model: &Dkf, batch: &SeqBatch, draws: usize) -> (f64, f64) {
    let values: Vec<f64> = (0..draws)
        .map(|_| {
            let loss = model.forward(batch, Noise::Sample).elbo.loss(1.0);
            -(loss.into_scalar::<f32>() as f64)
        })
        .collect();
    let mean = values.iter().sum::<f64>() / draws as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (draws - 1) as f64;
    (mean, (var / draws as f64).sqrt())
}

/// Trains only the guide by Adam on the ELBO (cosine decay of the step size).
fn train_guide(mut model: Dkf, data: &SeqBatch, steps: usize) -> Dkf {
    let mut optim = AdamConfig::new().init();
    for i in 0..steps {
        let lr = 1e-3
            + 0.5 * (2e-2 - 1e-3) * (1.0 + (std::f64::consts::PI * i as f64 / steps as f64).cos());
        let loss = model.forward(data, Noise::Sample).elbo.loss(1.0);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);
    }
    model
}

#[test]
fn the_smoothing_guide_reaches_the_kalman_likelihood_and_the_filtering_guide_cannot() {
    #[allow(deprecated)]
    let device = Device::ndarray().autodiff();
    device.seed(3);
    let (train, test) = (simulate(128, 1), simulate(256, 2));
    let exact = test.iter().map(|s| kalman_log_likelihood(s)).sum::<f64>() / (256 * T) as f64;
    let (train_b, test_b) = (batch(&train, &device), batch(&test, &device));
    let mut bounds = Vec::new();
    for guide in [Guide::Smoothing, Guide::Filtering] {
        let model = lgssm_dkf(guide, &device);
        let untrained = elbo_per_step(&model, &test_b, 8).0;
        let model = train_guide(model, &train_b, 400);
        let (elbo, se) = elbo_per_step(&model, &test_b, 32);
        eprintln!(
            "{guide:?}: ELBO {elbo:.4} +- {se:.4} (untrained {untrained:.4}), Kalman {exact:.4}"
        );
        assert!(
            elbo <= exact + 3.0 * se + 1e-4,
            "{guide:?}: ELBO {elbo} above the exact log-likelihood {exact} (+- {se})"
        );
        bounds.push(elbo);
    }
    let (smooth, filter) = (bounds[0], bounds[1]);
    assert!(
        exact - smooth < 0.01,
        "the smoothing guide stays {} nats per step below the Kalman likelihood",
        exact - smooth
    );
    assert!(
        smooth - filter > 0.05,
        "the filtering guide is not looser: smoothing {smooth}, filtering {filter}"
    );
}
