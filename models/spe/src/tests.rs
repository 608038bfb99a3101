//! Known answers: successor features of finite Markov chains, the RPE identity, one-step SPE.

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use neuromod_core::{DiagGaussian, ElboTerms, Noise, SeqBatch, Trajectory};
use neuromod_vrnn::VrnnConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{one_step, SfConfig, SfTransition};

#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
fn cpu() -> Device {
    Device::ndarray()
}

fn vec_of<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn mat(rows: &[Vec<f64>], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = rows.iter().flatten().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), rows[0].len()]), device)
}

/// (I - gamma P)^-1 P Phi by Gauss-Jordan elimination in f64 (independent of the code).
fn successor_features(p: &[Vec<f64>], phi: &[Vec<f64>], gamma: f64) -> Vec<Vec<f64>> {
    let n = p.len();
    let f = phi[0].len();
    // Augmented [I - gamma P | P Phi].
    let mut a: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut row: Vec<f64> = (0..n)
                .map(|j| f64::from(u8::from(i == j)) - gamma * p[i][j])
                .collect();
            row.extend((0..f).map(|k| (0..n).map(|j| p[i][j] * phi[j][k]).sum::<f64>()));
            row
        })
        .collect();
    for c in 0..n {
        let pivot = (c..n)
            .max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))
            .unwrap();
        a.swap(c, pivot);
        let d = a[c][c];
        a[c].iter_mut().for_each(|x| *x /= d);
        for r in 0..n {
            if r != c {
                let m = a[r][c];
                let src = a[c].clone();
                a[r].iter_mut().zip(&src).for_each(|(x, s)| *x -= m * s);
            }
        }
    }
    a.into_iter().map(|row| row[n..].to_vec()).collect()
}

/// Trains tabular SF heads (one-hot states, linear heads) by semi-gradient TD on every
/// transition (s, s') weighted by P(s'|s), and returns the relative Frobenius error per gamma.
fn tabular_error(p: &[Vec<f64>], phi: &[Vec<f64>], gammas: &[f64]) -> Vec<f64> {
    let n = p.len();
    let device = cpu().autodiff();
    device.seed(0);
    let mut heads = SfConfig::new(n, phi[0].len())
        .with_gammas(gammas.to_vec())
        .with_layers(0)
        .init(&device)
        .unwrap();
    let onehot = |i: usize| {
        (0..n)
            .map(|j| f64::from(u8::from(i == j)))
            .collect::<Vec<_>>()
    };
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|s| (0..n).map(move |s2| (s, s2))).collect();
    let t = SfTransition {
        state: mat(
            &pairs.iter().map(|&(s, _)| onehot(s)).collect::<Vec<_>>(),
            &device,
        ),
        next_state: mat(
            &pairs.iter().map(|&(_, s2)| onehot(s2)).collect::<Vec<_>>(),
            &device,
        ),
        next_features: mat(
            &pairs
                .iter()
                .map(|&(_, s2)| phi[s2].clone())
                .collect::<Vec<_>>(),
            &device,
        ),
        weight: Tensor::from_floats(
            pairs
                .iter()
                .map(|&(s, s2)| p[s][s2] as f32)
                .collect::<Vec<_>>()
                .as_slice(),
            &device,
        ),
    };
    let mut optim = AdamConfig::new().init();
    let steps = 1500;
    for step in 0..steps {
        let out = heads.td(&t);
        let grads = GradientsParams::from_grads(out.loss.backward(), &heads);
        let lr = 0.1 * 0.01f64.powf(step as f64 / steps as f64);
        heads = optim.step(lr, heads, grads);
    }
    let states = mat(&(0..n).map(onehot).collect::<Vec<_>>(), &cpu());
    let heads = heads.valid();
    gammas
        .iter()
        .enumerate()
        .map(|(k, &g)| {
            let got = vec_of(heads.psi(k, states.clone()));
            let want: Vec<f64> = successor_features(p, phi, g)
                .into_iter()
                .flatten()
                .collect();
            let err: f64 = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (*a as f64 - b).powi(2))
                .sum();
            let norm: f64 = want.iter().map(|b| b * b).sum();
            (err / norm).sqrt()
        })
        .collect()
}

#[test]
fn sf_heads_match_closed_form_on_a_random_chain_and_a_cycle() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 5;
    let random: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            let row: Vec<f64> = (0..n).map(|_| rng.random::<f64>() + 0.05).collect();
            let s: f64 = row.iter().sum();
            row.into_iter().map(|x| x / s).collect()
        })
        .collect();
    let cycle: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| f64::from(u8::from(j == (i + 1) % n)))
                .collect()
        })
        .collect();
    let phi: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..3).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect())
        .collect();
    for (name, p) in [("random chain", &random), ("cycle", &cycle)] {
        let errors = tabular_error(p, &phi, &[0.0, 0.5, 0.9]);
        eprintln!("{name}: relative Frobenius errors {errors:?} for gamma 0, 0.5, 0.9");
        for (g, e) in [0.0, 0.5, 0.9].iter().zip(&errors) {
            assert!(
                *e < 0.02,
                "{name}, gamma {g}: relative Frobenius error {e:.4}"
            );
        }
    }
}

#[test]
fn rpe_of_a_linear_reward_is_the_projection_of_the_sf_td_error() {
    let device = cpu();
    device.seed(3);
    let heads = SfConfig::new(6, 4)
        .with_gammas(vec![0.0, 0.7, 0.95])
        .with_hidden(8)
        .init(&device)
        .unwrap();
    let s = Tensor::<2>::random([10, 6], Distribution::Normal(0.0, 1.0), &device);
    let s2 = Tensor::<2>::random([10, 6], Distribution::Normal(0.0, 1.0), &device);
    let phi2 = Tensor::<2>::random([10, 4], Distribution::Normal(0.0, 1.0), &device);
    let w = Tensor::<1>::from_floats([0.5, -1.0, 2.0, 0.25], &device).reshape([4, 1]);
    let out = heads.td(&SfTransition {
        state: s.clone(),
        next_state: s2.clone(),
        next_features: phi2.clone(),
        weight: Tensor::ones([10], &device),
    });
    for (k, &g) in heads.gammas.iter().enumerate() {
        // r' = w . phi', V = w . psi: RPE = r' + gamma V(s') - V(s).
        let value = |x: Tensor<2>| heads.psi(k, x).matmul(w.clone());
        let rpe =
            phi2.clone().matmul(w.clone()) + value(s2.clone()).mul_scalar(g) - value(s.clone());
        let projected = out.delta[k].clone().matmul(w.clone());
        for (a, b) in vec_of(rpe).iter().zip(vec_of(projected)) {
            assert!(
                (a - b).abs() < 1e-5 * a.abs().max(1.0),
                "gamma {g}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn one_step_spe_is_zero_when_posterior_equals_prior() {
    let device = cpu();
    device.seed(4);
    let mu = Tensor::<3>::random([2, 5, 3], Distribution::Normal(0.0, 1.0), &device);
    let sigma = Tensor::<3>::random([2, 5, 3], Distribution::Uniform(0.2, 2.0), &device);
    let kl = DiagGaussian {
        mu: mu.clone().reshape([10, 3]),
        sigma: sigma.clone().reshape([10, 3]),
    }
    .kl(&DiagGaussian {
        mu: mu.clone().reshape([10, 3]),
        sigma: sigma.clone().reshape([10, 3]),
    })
    .reshape([2, 5]);
    let traj = Trajectory {
        elbo: ElboTerms {
            kl,
            nll: Tensor::zeros([2, 5], &device),
            reward_nll: None,
            mask: Tensor::ones([2, 5], &device),
        },
        prior: (mu.clone(), sigma.clone()),
        posterior: (mu, sigma),
        h: Tensor::zeros([2, 5, 4], &device),
    };
    let spe = one_step(&traj);
    assert!(vec_of(spe.vec).iter().all(|&x| x == 0.0));
    assert!(vec_of(spe.norm).iter().all(|&x| x == 0.0));
    assert!(vec_of(spe.kl).iter().all(|&x| x.abs() < 1e-6));
}

/// A small VRNN pass over random binary data; the second sequence is 2 steps shorter.
fn small_trajectory(device: &Device) -> (Trajectory, neuromod_vrnn::Vrnn) {
    device.seed(9);
    let model = VrnnConfig::new(5)
        .with_h_dim(6)
        .with_z_dim(3)
        .with_hidden(8)
        .init(device)
        .unwrap();
    let x = Tensor::<3>::random([2, 6, 5], Distribution::Uniform(0.0, 1.0), device)
        .greater_elem(0.5)
        .float();
    let mut mask = vec![1.0f32; 12];
    mask[10..].fill(0.0);
    let mask = Tensor::from_data(TensorData::new(mask, [2, 6]), device);
    (model.forward(&SeqBatch::new(x, mask), Noise::Sample), model)
}

#[test]
fn one_step_spe_matches_its_definition_on_a_vrnn_pass() {
    let (traj, _) = small_trajectory(&cpu());
    let spe = one_step(&traj);
    let (mu0, s0) = (vec_of(traj.prior.0), vec_of(traj.prior.1));
    let muq = vec_of(traj.posterior.0);
    let (v, norm, kl) = (vec_of(spe.vec), vec_of(spe.norm), vec_of(spe.kl));
    for step in 0..12 {
        let real = step != 10 && step != 11;
        let mut sq = 0.0;
        for d in 0..3 {
            let i = step * 3 + d;
            let want = if real { (muq[i] - mu0[i]) / s0[i] } else { 0.0 };
            assert!((v[i] - want).abs() < 1e-5, "step {step} dim {d}");
            sq += want * want;
        }
        assert!((norm[step] - sq.sqrt()).abs() < 1e-5);
        assert!(kl[step] >= 0.0 && kl[step].is_finite(), "KL {}", kl[step]);
        assert!(real || kl[step] == 0.0);
    }
}

#[test]
fn sequence_td_masks_padding_and_frozen_mode_leaves_the_world_model_alone() {
    let device = cpu().autodiff();
    let (traj, model) = small_trajectory(&device);
    let heads = SfConfig::new(6 + 3, 3).init(&device).unwrap();
    heads.update_stats(traj.posterior.0.clone(), traj.elbo.mask.clone());
    for frozen in [true, false] {
        let out = heads.sequence_td(&traj, frozen);
        // The loss alone (what training computes, fused) is the same number up to rounding.
        let alone = vec_of(heads.sequence_loss(&traj, frozen).detach())[0];
        let full = vec_of(out.loss.clone().detach())[0];
        assert!(
            (alone - full).abs() <= 1e-6 * full.abs(),
            "{alone} vs {full}"
        );
        assert_eq!(out.delta.len(), 4);
        for (d, r) in out.delta.iter().zip(&out.rms) {
            assert_eq!(d.dims(), [2, 6, 3]);
            let r = vec_of(r.clone());
            // Sequence 0: transitions 0..5 real, step 5 is the last; sequence 1 ends at step 3.
            for (i, x) in r.iter().enumerate() {
                let real = (i < 5) || (6..9).contains(&i);
                assert_eq!(*x > 0.0, real, "rms[{i}] = {x}");
            }
        }
        let grads = out.loss.backward();
        let reaches_model = model.encoder.mu.weight.grad(&grads).is_some();
        assert_eq!(reaches_model, !frozen, "frozen = {frozen}");
    }
}

#[test]
fn running_statistics_follow_the_features_and_standardise_them() {
    let device = cpu();
    device.seed(2);
    let heads = SfConfig::new(4, 2)
        .with_stats_momentum(1.0)
        .init(&device)
        .unwrap();
    let raw = Tensor::<3>::random([3, 40, 2], Distribution::Normal(0.0, 1.0), &device)
        * Tensor::<1>::from_floats([2.0, 0.5], &device).reshape([1, 1, 2])
        + Tensor::<1>::from_floats([5.0, -1.0], &device).reshape([1, 1, 2]);
    heads.update_stats(raw.clone(), Tensor::ones([3, 40], &device));
    let z = heads.features(raw);
    let mean = vec_of(z.clone().mean_dim(1).mean_dim(0));
    let var = vec_of(z.powi_scalar(2).mean_dim(1).mean_dim(0));
    for d in 0..2 {
        assert!(mean[d].abs() < 1e-4, "mean {mean:?}");
        assert!((var[d] - 1.0).abs() < 1e-3, "var {var:?}");
    }
    assert!(SfConfig::new(4, 2)
        .with_gammas(vec![1.0])
        .init(&device)
        .is_err());
}

#[test]
fn all_heads_at_once_equal_each_head_alone_on_both_cpu_backends() {
    #[allow(deprecated)]
    for device in [cpu(), Device::flex()] {
        let heads = SfConfig::new(7, 3)
            .with_hidden(5)
            .with_gammas(vec![0.0, 0.5, 0.9])
            .init(&device)
            .unwrap();
        let s = Tensor::<2>::random([11, 7], Distribution::Normal(0.0, 1.0), &device);
        let all = vec_of(heads.psi_all(s.clone()));
        for k in 0..3 {
            let one = vec_of(heads.psi(k, s.clone()));
            for r in 0..11 {
                for j in 0..3 {
                    let (a, b) = (all[r * 9 + k * 3 + j], one[r * 3 + j]);
                    assert!((a - b).abs() < 1e-5, "head {k} row {r}: {a} vs {b}");
                }
            }
        }
    }
}

/// The route's loss and psi gradient on `ad` (an autodiff device) equal the composed ones,
/// for `b` (at least 3) sequences of `t` steps, with padding and a half-weighted transition.
fn route_td_equals_composed(ad: &Device, b: usize, t: usize) {
    let (f, gammas) = (4, [0.0, 0.5, 0.9]);
    let g = gammas.len();
    let run = |fused: bool| {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let mut draw =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
        let psi = Tensor::<3>::from_data(TensorData::new(draw(b * t * g * f), [b, t, g * f]), ad)
            .require_grad();
        let phi = Tensor::<3>::from_data(TensorData::new(draw(b * t * f), [b, t, f]), ad);
        // The last sequence is two steps shorter (padding), the second one's third
        // transition carries half weight.
        let mut pair = vec![1.0f32; b * (t - 1)];
        pair[2 * (t - 1) + t - 3..3 * (t - 1)].fill(0.0);
        pair[t - 1 + 2] = 0.5;
        let pair = Tensor::<2>::from_data(TensorData::new(pair, [b, t - 1]), ad);
        let f = if fused {
            crate::sequence_td_loss
        } else {
            crate::sequence_td_loss_composed
        };
        let loss = f(psi.clone(), phi, pair, &gammas).mul_scalar(2.0);
        let value = vec_of(loss.clone());
        let grad = vec_of(psi.grad(&loss.backward()).unwrap());
        (value, grad)
    };
    let ((lf, gf), (lc, gc)) = (run(true), run(false));
    assert!(
        (lf[0] - lc[0]).abs() <= 1e-5 * lc[0].abs(),
        "{lf:?} vs {lc:?}"
    );
    for (k, (a, c)) in gf.iter().zip(&gc).enumerate() {
        assert!((a - c).abs() <= 1e-5, "psi gradient {k}: {a} vs {c}");
    }
    // The last step of every sequence and the padded transitions get no gradient.
    let last = |i: usize| &gf[(i * t + t - 1) * g * f..(i * t + t) * g * f];
    assert!((0..b).all(|i| last(i).iter().all(|&x| x == 0.0)));
    assert!(gf.iter().filter(|x| x.abs() > 1e-6).count() > b * g * f);
}

#[test]
fn fused_sequence_td_loss_equals_the_composed_one_with_padding_on_both_cpu_backends() {
    #[allow(deprecated)]
    for device in [cpu(), Device::flex()] {
        route_td_equals_composed(&device.autodiff(), 3, 6);
    }
}

/// On wgpu (lavapipe without a GPU) the route is the loss's CubeCL kernel: within one cube
/// (18 rows) and over two (320 rows; 256 units a cube).
#[test]
fn cube_sequence_td_loss_equals_the_composed_one_with_padding_on_wgpu() {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff();
    assert_eq!(
        neuromod_kernels::Route::of(&device),
        neuromod_kernels::Route::Cube
    );
    route_td_equals_composed(&device, 3, 6);
    route_td_equals_composed(&device, 20, 16);
}

/// Sequences of one step have no transition: the loss is 0 with a zero gradient, on every
/// route (the composed loss used to panic narrowing to no transition).
#[test]
fn one_step_sequences_give_a_zero_loss_on_every_route() {
    #[allow(deprecated)]
    let devices = [
        cpu().autodiff(),
        Device::flex().autodiff(),
        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff(),
    ];
    for ad in devices {
        let psi = Tensor::<3>::ones([2, 1, 6], &ad).require_grad();
        let phi = Tensor::<3>::ones([2, 1, 3], &ad);
        let pair = Tensor::<2>::zeros([2, 0], &ad);
        for f in [crate::sequence_td_loss, crate::sequence_td_loss_composed] {
            let loss = f(psi.clone(), phi.clone(), pair.clone(), &[0.0, 0.5]);
            assert_eq!(vec_of(loss.clone()), vec![0.0]);
            let g = vec_of(psi.grad(&loss.backward()).unwrap());
            assert!(g.iter().all(|&x| x == 0.0), "{g:?}");
        }
    }
}
