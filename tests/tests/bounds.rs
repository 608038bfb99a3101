//! Known answer for the importance-weighted bound: a linear-Gaussian state-space model, whose
//! exact log-likelihood a Kalman filter gives. Its "world model" here is the true model with
//! a proposal twice as wide as the one-step locally optimal q(z_t | z_{t-1}, x_t) (and not
//! the exact smoothing posterior), so the IWAE bound lies below log p(x) and closes in on it as K grows.

use burn::prelude::*;
use neuromod_core::{DiagGaussian, ElboTerms, Noise, SeqBatch, SequenceModel, Trajectory};
use neuromod_datasets::SequenceSet;
use neuromod_tests::{cpu, serial};
use neuromod_train::importance_bound;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// z_1 ~ N(0, P0), z_t = A z_{t-1} + N(0, Q), x_t = C z_t + N(0, R); scalars.
const A: f64 = 0.9;
const Q: f64 = 0.5;
const C: f64 = 1.0;
const R: f64 = 0.3;
const P0: f64 = 1.0;
/// Proposal spread relative to the locally optimal one.
const WIDEN: f64 = 2.0;

struct Lgssm;

impl SequenceModel for Lgssm {
    fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        let [b, t_len, _] = batch.dims();
        let device = batch.x.device();
        let eps = noise.eps([b, t_len, 1], &device);
        let mut z_prev = Tensor::<2>::zeros([b, 1], &device);
        let (mut prior, mut post, mut nll) = (Vec::new(), Vec::new(), Vec::new());
        for t in 0..t_len {
            let x = batch.x.clone().narrow(1, t, 1).reshape([b, 1]);
            let (mp, pv) = if t == 0 {
                (z_prev.clone() * 0.0, P0)
            } else {
                (z_prev.clone() * A, Q)
            };
            let s = 1.0 / (1.0 / pv + C * C / R);
            let m = (mp.clone() / pv + x.clone() * (C / R)) * s;
            // The proposal's spread is WIDEN times the locally optimal one: a proposal that is
            // deliberately off, so that K has something to make up for.
            let sd = s.sqrt() * WIDEN;
            let z = m.clone() + eps.clone().narrow(1, t, 1).reshape([b, 1]) * sd;
            let resid = x - z.clone() * C;
            let half_log = 0.5 * (2.0 * std::f64::consts::PI * R).ln();
            nll.push((resid.square() / (2.0 * R)).add_scalar(half_log));
            prior.push(DiagGaussian {
                mu: mp,
                sigma: Tensor::ones([b, 1], &device) * pv.sqrt(),
            });
            post.push(DiagGaussian {
                mu: m,
                sigma: Tensor::ones([b, 1], &device) * sd,
            });
            z_prev = z;
        }
        let kl: Vec<Tensor<2>> = post
            .iter()
            .zip(&prior)
            .map(|(q, p)| q.kl(p).unsqueeze_dim(1))
            .collect();
        let stack = |v: Vec<Tensor<2>>| Tensor::stack::<3>(v, 1);
        let mask = batch.mask.clone();
        Trajectory {
            elbo: ElboTerms {
                kl: Tensor::cat(kl, 1) * mask.clone(),
                nll: stack(nll).reshape([b, t_len]) * mask.clone(),
                reward_nll: None,
                mask,
            },
            prior: (
                stack(prior.iter().map(|g| g.mu.clone()).collect()),
                stack(prior.iter().map(|g| g.sigma.clone()).collect()),
            ),
            posterior: (
                stack(post.iter().map(|g| g.mu.clone()).collect()),
                stack(post.iter().map(|g| g.sigma.clone()).collect()),
            ),
            h: Tensor::zeros([b, t_len, 1], &device),
        }
    }

    fn generate(&self, _: usize, _: usize, _: Option<Tensor<3>>, _: &Device) -> Tensor<3> {
        unimplemented!("not needed for the bound")
    }

    fn filtering(&self) -> bool {
        true
    }
}

/// Exact log p(x_{1:T}) by the Kalman filter.
fn kalman_log_likelihood(x: &[f32]) -> f64 {
    let (mut m, mut p, mut ll) = (0.0f64, P0, 0.0f64);
    for &xt in x {
        let s = C * C * p + R;
        let e = xt as f64 - C * m;
        ll += -0.5 * ((2.0 * std::f64::consts::PI * s).ln() + e * e / s);
        let gain = p * C / s;
        m += gain * e;
        p *= 1.0 - gain * C;
        m *= A;
        p = A * A * p + Q;
    }
    ll
}

/// Sequences of 6 to 14 steps drawn from the model (uneven lengths: padding is exercised).
fn sample_set(n: usize, seed: u64) -> SequenceSet {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let sequences = (0..n)
        .map(|i| {
            let mut z = unit.sample(&mut rng) * P0.sqrt();
            (0..6 + i % 9)
                .map(|t| {
                    if t > 0 {
                        z = A * z + unit.sample(&mut rng) * Q.sqrt();
                    }
                    (C * z + unit.sample(&mut rng) * R.sqrt()) as f32
                })
                .collect()
        })
        .collect();
    SequenceSet { dim: 1, sequences }
}

#[test]
fn the_iwae_bound_lies_below_the_kalman_likelihood_and_closes_in_as_k_grows() {
    let _rng = serial();
    let device = cpu();
    let set = sample_set(24, 7);
    let steps: usize = set.sequences.iter().map(Vec::len).sum();
    let exact = -set
        .sequences
        .iter()
        .map(|x| kalman_log_likelihood(x))
        .sum::<f64>()
        / steps as f64;
    let mut gaps = Vec::new();
    for k in [1, 10, 100, 1000] {
        // Averaged over a few noise seeds: each estimate is itself random.
        let mut sum = 0.0;
        for seed in 0..4 {
            device.seed(seed);
            sum += importance_bound(&Lgssm, &set, k, 1, &device)
                .unwrap()
                .nll_per_step;
        }
        let bound = sum / 4.0;
        gaps.push(bound - exact);
        println!(
            "K = {k:>4}: bound {bound:.5}, exact {exact:.5}, gap {:.5}",
            bound - exact
        );
    }
    // Every bound is above -log p(x) per step (up to float noise), and the gap shrinks.
    assert!(gaps.iter().all(|g| *g > -1e-3), "{gaps:?}");
    assert!(gaps.windows(2).all(|w| w[1] < w[0]), "{gaps:?}");
    assert!(gaps[3] < gaps[0] / 4.0, "{gaps:?}");
    assert!(
        gaps[0] > 0.01,
        "the proposal is exact: the test cannot discriminate {gaps:?}"
    );
}
