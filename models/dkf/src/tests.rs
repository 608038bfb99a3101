//! DKF properties with known answers (ndarray device).

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use neuromod_core::{ModelSpec, Noise, SeqBatch, SequenceModel, Setting};

use crate::{DkfConfig, Guide};

#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
fn cpu() -> Device {
    Device::ndarray()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn config(guide: Guide) -> DkfConfig {
    DkfConfig::new(5)
        .with_h_dim(7)
        .with_z_dim(3)
        .with_hidden(6)
        .with_guide(guide)
}

fn data(b: usize, t: usize, device: &Device) -> Tensor<3> {
    Tensor::<3>::random([b, t, 5], Distribution::Uniform(0.0, 1.0), device)
        .greater_elem(0.5)
        .float()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= tol * (1.0 + x.abs()))
}

/// The filtering guide is causal: changing x at the last step leaves every earlier
/// posterior as it was; the smoothing guide sees the future, so earlier posteriors move.
#[test]
fn the_filtering_posterior_ignores_the_future_and_the_smoothing_one_does_not() {
    let device = cpu();
    device.seed(1);
    for (guide, causal) in [(Guide::Filtering, true), (Guide::Smoothing, false)] {
        let model = config(guide).init(&device).unwrap();
        let x = data(2, 6, &device);
        let mask = Tensor::ones([2, 6], &device);
        let flipped = x.clone().slice_assign(
            [0..2, 5..6, 0..5],
            x.clone().narrow(1, 5, 1).neg().add_scalar(1.0),
        );
        let early = |x: Tensor<3>| {
            let traj = model.forward(&SeqBatch::new(x, mask.clone()), Noise::Mean);
            values(traj.posterior.0.narrow(1, 0, 5))
        };
        let (a, b) = (early(x), early(flipped));
        assert_eq!(a == b, causal, "{guide:?}");
        assert_eq!(model.filtering(), causal);
        assert_eq!(config(guide).filtering(), causal);
    }
}

/// A sequence padded with junk steps (mask 0) gets the same per-step terms on its real
/// steps as when it runs alone, with either guide (the backward GRU restarts at its end).
#[test]
fn padding_changes_nothing() {
    let device = cpu();
    device.seed(2);
    for guide in [Guide::Filtering, Guide::Smoothing] {
        let model = config(guide).init(&device).unwrap();
        let x = data(1, 4, &device);
        let alone = model.forward(
            &SeqBatch::new(x.clone(), Tensor::ones([1, 4], &device)),
            Noise::Mean,
        );
        let junk = Tensor::<3>::ones([1, 3, 5], &device);
        let padded_x = Tensor::cat(vec![x, junk], 1);
        let mask = Tensor::from_data(
            TensorData::new(vec![1f32, 1., 1., 1., 0., 0., 0.], [1, 7]),
            &device,
        );
        let padded = model.forward(&SeqBatch::new(padded_x, mask), Noise::Mean);
        let real = |t: Tensor<2>| values(t.narrow(1, 0, 4));
        assert!(
            close(
                &real(alone.elbo.kl.clone()),
                &real(padded.elbo.kl.clone()),
                1e-5
            ),
            "{guide:?} KL"
        );
        assert!(
            close(
                &real(alone.elbo.nll.clone()),
                &real(padded.elbo.nll.clone()),
                1e-5
            ),
            "{guide:?} NLL"
        );
        assert_eq!(
            values(padded.elbo.kl.narrow(1, 4, 3)),
            vec![0.0; 3],
            "{guide:?}"
        );
        assert!(close(
            &values(alone.posterior.0),
            &values(padded.posterior.0.narrow(1, 0, 4)),
            1e-5
        ));
    }
}

/// The loss of the last step alone reaches the guide's initial latent zq0 (used only at the
/// first step) through the whole combiner chain, and the generative z0 through the prior.
#[test]
fn the_gradient_of_the_last_step_reaches_the_first() {
    let device = cpu().autodiff();
    device.seed(3);
    let model = config(Guide::Filtering).init(&device).unwrap();
    let x = data(2, 8, &device);
    let traj = model.forward(
        &SeqBatch::new(x, Tensor::ones([2, 8], &device)),
        Noise::Sample,
    );
    let last = traj.elbo.nll.narrow(1, 7, 1).sum() + traj.elbo.kl.narrow(1, 7, 1).sum();
    let grads = last.backward();
    let g = model.zq0.grad(&grads).expect("zq0 takes part");
    let norm: f32 = values(g).iter().map(|v| v * v).sum();
    assert!(norm > 0.0, "no gradient reaches the first step");
}

/// The analytic KL the model sums equals the KL between the Gaussians it reports, step by
/// step, and a one-step sequence works.
#[test]
fn the_kl_is_that_of_the_reported_gaussians() {
    let device = cpu();
    device.seed(4);
    let model = config(Guide::Filtering).init(&device).unwrap();
    for t in [1, 5] {
        let traj = model.forward(
            &SeqBatch::new(data(3, t, &device), Tensor::ones([3, t], &device)),
            Noise::Mean,
        );
        let (mp, sp) = (values(traj.prior.0), values(traj.prior.1));
        let (mq, sq) = (values(traj.posterior.0), values(traj.posterior.1));
        let kl = values(traj.elbo.kl);
        for (row, k) in kl.iter().enumerate() {
            let mut want = 0.0f64;
            for j in row * 3..row * 3 + 3 {
                let (mq, sq, mp, sp) = (mq[j] as f64, sq[j] as f64, mp[j] as f64, sp[j] as f64);
                want += (sp / sq).ln() + (sq * sq + (mq - mp).powi(2)) / (2.0 * sp * sp) - 0.5;
            }
            assert!(
                (*k as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
                "{k} vs {want}"
            );
        }
    }
}

#[test]
fn generation_has_the_data_shape_and_dropout_is_refused_by_name() {
    let device = cpu();
    let model = config(Guide::Filtering).init(&device).unwrap();
    let x = model.generate(2, 9, &device);
    assert_eq!(x.dims(), [2, 9, 5]);
    assert!(values(x).iter().all(|v| *v == 0.0 || *v == 1.0));
    let err = config(Guide::Filtering)
        .set(Setting::Dropout(0.1))
        .unwrap_err();
    assert_eq!(err.field, "dropout");
    assert_eq!(DkfConfig::new(0).check().unwrap_err().field, "x_dim");
}
