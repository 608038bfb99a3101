//! Properties every family must have, checked for every family and posterior it offers:
//! causality of the filtering posterior, padding that changes nothing, gradients from the last
//! step to the first, the reported KL being that of the reported Gaussians, generation shapes;
//! with independent and with autoregressive (NADE) emissions.

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use neuromod_core::{Guide, Likelihood, ModelSpec, Noise, SeqBatch, SequenceModel, Setting};

use crate::{ModelConfig, ModelKind};

#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
fn cpu() -> Device {
    Device::ndarray()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

const X: usize = 5;
const Z: usize = 3;

/// Every (family, posterior) pair a family offers, as small configs, each with independent
/// and with autoregressive (NADE) emissions.
fn variants() -> Vec<(ModelConfig, Guide)> {
    let mut out = Vec::new();
    for kind in ModelKind::ALL {
        for guide in [Guide::Filtering, Guide::Smoothing] {
            for likelihood in [Likelihood::Bernoulli, Likelihood::Nade] {
                let settings = [
                    Setting::HDim(7),
                    Setting::ZDim(Z),
                    Setting::Hidden(6),
                    Setting::Guide(guide),
                    Setting::Likelihood(likelihood),
                ];
                if let Ok(config) = ModelConfig::new(kind, X).with(&settings) {
                    out.push((config, guide));
                }
            }
        }
    }
    assert!(
        out.len() > 2 * ModelKind::ALL.len(),
        "no family offers smoothing (two emissions each)"
    );
    out
}

fn data(b: usize, t: usize, device: &Device) -> Tensor<3> {
    Tensor::<3>::random([b, t, X], Distribution::Uniform(0.0, 1.0), device)
        .greater_elem(0.5)
        .float()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= tol * (1.0 + x.abs()))
}

/// A filtering posterior is causal: changing x at the last step leaves every earlier posterior
/// as it was. A smoothing one sees the future, so earlier posteriors move.
#[test]
fn the_filtering_posterior_ignores_the_future_and_a_smoothing_one_does_not() {
    let device = cpu();
    device.seed(1);
    for (config, guide) in variants() {
        let model = config.init(&device).unwrap();
        let causal = guide == Guide::Filtering;
        let x = data(2, 6, &device);
        let mask = Tensor::ones([2, 6], &device);
        let flipped = x.clone().slice_assign(
            [0..2, 5..6, 0..X],
            x.clone().narrow(1, 5, 1).neg().add_scalar(1.0),
        );
        let early = |x: Tensor<3>| {
            let traj = model.forward(&SeqBatch::new(x, mask.clone()), Noise::Mean);
            values(traj.posterior.0.narrow(1, 0, 5))
        };
        let name = format!("{} {guide:?}", config.kind());
        assert_eq!(early(x) == early(flipped), causal, "{name}");
        assert_eq!(model.filtering(), causal, "{name}");
        assert_eq!(config.filtering(), causal, "{name}");
    }
}

/// A sequence padded with junk steps (mask 0) gets the same per-step terms and posterior on
/// its real steps as when it runs alone, and zero terms on the padding.
#[test]
fn padding_changes_nothing() {
    let device = cpu();
    device.seed(2);
    for (config, guide) in variants() {
        let name = format!("{} {guide:?}", config.kind());
        let model = config.init(&device).unwrap();
        let x = data(1, 4, &device);
        let alone_batch = SeqBatch::new(x.clone(), Tensor::ones([1, 4], &device));
        let alone = model.forward(&alone_batch, Noise::Mean);
        let padded_x = Tensor::cat(vec![x, Tensor::ones([1, 3, X], &device)], 1);
        let mask = TensorData::new(vec![1f32, 1., 1., 1., 0., 0., 0.], [1, 7]);
        let padded_batch = SeqBatch::new(padded_x, Tensor::from_data(mask, &device));
        let padded = model.forward(&padded_batch, Noise::Mean);
        let real = |t: Tensor<2>| values(t.narrow(1, 0, 4));
        let (ak, pk) = (real(alone.elbo.kl.clone()), real(padded.elbo.kl.clone()));
        assert!(close(&ak, &pk, 1e-5), "{name} KL {ak:?} {pk:?}");
        let (an, pn) = (real(alone.elbo.nll.clone()), real(padded.elbo.nll.clone()));
        assert!(close(&an, &pn, 1e-5), "{name} NLL");
        assert_eq!(
            values(padded.elbo.kl.narrow(1, 4, 3)),
            vec![0.0; 3],
            "{name}"
        );
        assert_eq!(
            values(padded.elbo.nll.narrow(1, 4, 3)),
            vec![0.0; 3],
            "{name}"
        );
        let ap = values(alone.posterior.0);
        assert!(
            close(&ap, &values(padded.posterior.0.narrow(1, 0, 4)), 1e-5),
            "{name}"
        );
    }
}

/// The loss of the last step alone has a gradient with respect to the first observation: the
/// recurrence carries it through every step.
#[test]
fn the_gradient_of_the_last_step_reaches_the_first_observation() {
    let device = cpu().autodiff();
    device.seed(3);
    for (config, guide) in variants() {
        let model = config.init(&device).unwrap();
        let x = data(2, 8, &device).require_grad();
        let traj = model.forward(
            &SeqBatch::new(x.clone(), Tensor::ones([2, 8], &device)),
            Noise::Mean,
        );
        let last = traj.elbo.nll.narrow(1, 7, 1).sum() + traj.elbo.kl.narrow(1, 7, 1).sum();
        let grads = last.backward();
        let g = x.grad(&grads).expect("x takes part").narrow(1, 0, 1);
        let norm: f32 = values(g).iter().map(|v| v * v).sum();
        assert!(
            norm > 0.0,
            "{} {guide:?}: nothing reaches step 1",
            config.kind()
        );
    }
}

/// The per-step KL each family sums is the closed-form KL between the Gaussians it reports.
#[test]
fn the_kl_is_that_of_the_reported_gaussians() {
    let device = cpu();
    device.seed(4);
    for (config, _) in variants() {
        let model = config.init(&device).unwrap();
        for t in [1, 5] {
            let batch = SeqBatch::new(data(3, t, &device), Tensor::ones([3, t], &device));
            let traj = model.forward(&batch, Noise::Mean);
            let (mp, sp) = (values(traj.prior.0), values(traj.prior.1));
            let (mq, sq) = (values(traj.posterior.0), values(traj.posterior.1));
            for (row, k) in values(traj.elbo.kl).iter().enumerate() {
                let mut want = 0.0f64;
                for j in row * Z..(row + 1) * Z {
                    let (mq, sq) = (mq[j] as f64, sq[j] as f64);
                    let (mp, sp) = (mp[j] as f64, sp[j] as f64);
                    want += (sp / sq).ln() + (sq * sq + (mq - mp).powi(2)) / (2.0 * sp * sp) - 0.5;
                }
                let ok = (*k as f64 - want).abs() < 1e-4 * (1.0 + want.abs());
                assert!(ok, "{}: {k} vs {want}", config.kind());
            }
        }
    }
}

#[test]
fn generation_has_the_data_shape_and_binary_values() {
    let device = cpu();
    for (config, _) in variants() {
        let model = config.init(&device).unwrap();
        let x = model.generate(2, 9, None, &device);
        assert_eq!(x.dims(), [2, 9, X]);
        assert!(values(x).iter().all(|v| *v == 0.0 || *v == 1.0));
    }
}

/// On unpadded sequences a loop of the filtering step gives the sequence pass's terms and
/// posterior, step by step (what the particle filter relies on).
#[test]
fn the_sequence_pass_equals_a_loop_of_the_filtering_step() {
    let device = cpu();
    device.seed(5);
    for (config, guide) in variants() {
        if guide != Guide::Filtering {
            continue;
        }
        let model = config.init(&device).unwrap();
        let (b, t_len) = (3, 6);
        let x = data(b, t_len, &device);
        let eps = Tensor::<3>::random([b, t_len, Z], Distribution::Normal(0.0, 1.0), &device);
        let batch = SeqBatch::new(x.clone(), Tensor::ones([b, t_len], &device));
        let traj = model.forward(&batch, Noise::Given(Box::new(eps.clone())));
        let mut state = model.start(b, &device);
        let at = |v: &Tensor<3>, t: usize| {
            let w = v.dims()[2];
            v.clone().narrow(1, t, 1).reshape([b, w])
        };
        for t in 0..t_len {
            let step = model.filter_step(state, at(&x, t), at(&eps, t));
            let name = format!("{} step {t}", config.kind());
            let kl = values(step.posterior.kl(&step.prior));
            let want_kl = values(traj.elbo.kl.clone().narrow(1, t, 1).reshape([b]));
            assert!(close(&kl, &want_kl, 1e-4), "{name} KL {kl:?} {want_kl:?}");
            let nll = values(step.nll);
            let want_nll = values(traj.elbo.nll.clone().narrow(1, t, 1).reshape([b]));
            assert!(close(&nll, &want_nll, 1e-4), "{name} NLL");
            let mu = values(step.posterior.mu);
            assert!(
                close(&mu, &values(at(&traj.posterior.0, t)), 1e-4),
                "{name} mu"
            );
            state = step.state;
        }
    }
}
