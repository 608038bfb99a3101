//! Unit tests with known answers (ndarray device).

use burn::prelude::*;
use burn::tensor::TensorData;

use neuromod_core::{bernoulli_log_prob, gaussian_log_prob, DiagGaussian, Noise, SeqBatch};

use crate::VrnnConfig;

#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
fn cpu() -> Device {
    Device::ndarray()
}

fn t2(rows: &[&[f32]], device: &Device) -> Tensor<2> {
    let cols = rows[0].len();
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), cols]), device)
}

fn vec1(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn small_config() -> VrnnConfig {
    VrnnConfig::new(6)
        .with_h_dim(8)
        .with_z_dim(3)
        .with_hidden(10)
}

#[test]
fn kl_matches_closed_form() {
    let d = cpu();
    let (mq, sq) = ([0.5, -1.0, 3.0], [0.8, 1.5, 0.1]);
    let (mp, sp) = ([0.0, 2.0, 3.0], [1.0, 0.5, 2.0]);
    let q = DiagGaussian {
        mu: t2(&[&mq], &d),
        sigma: t2(&[&sq], &d),
    };
    let p = DiagGaussian {
        mu: t2(&[&mp], &d),
        sigma: t2(&[&sp], &d),
    };
    let expected: f64 = (0..3)
        .map(|i| {
            let (mq, sq, mp, sp) = (mq[i] as f64, sq[i] as f64, mp[i] as f64, sp[i] as f64);
            (sp / sq).ln() + (sq * sq + (mq - mp).powi(2)) / (2.0 * sp * sp) - 0.5
        })
        .sum();
    let got = vec1(q.kl(&p))[0] as f64;
    assert!(
        (got - expected).abs() < 1e-4 * expected.abs().max(1.0),
        "{got} vs {expected}"
    );
    // KL of a distribution with itself is zero.
    assert!(vec1(q.kl(&q))[0].abs() < 1e-6);
}

#[test]
fn bernoulli_log_prob_is_finite_at_extreme_logits() {
    let d = cpu().autodiff();
    let logits = t2(&[&[50.0, -50.0, 50.0, -50.0]], &d).require_grad();
    let x = t2(&[&[1.0, 0.0, 0.0, 1.0]], &d);
    let lp = bernoulli_log_prob(logits.clone(), x);
    let value = vec1(lp.clone())[0];
    assert!(value.is_finite());
    // Two confident right answers (~0) and two confident wrong ones (-50 each).
    assert!((value + 100.0).abs() < 1e-3, "{value}");
    let grads = lp.sum().backward();
    let g = logits
        .grad(&grads)
        .unwrap()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    // d/dl [x l - softplus(l)] = x - sigmoid(l)
    let expected = [0.0, 0.0, -1.0, 1.0];
    for (g, e) in g.iter().zip(expected) {
        assert!((g - e).abs() < 1e-5, "{g} vs {e}");
    }
}

#[test]
fn gaussian_log_prob_matches_closed_form() {
    let d = cpu();
    let lp = vec1(gaussian_log_prob(
        t2(&[&[1.0, -2.0]], &d),
        t2(&[&[0.5, 2.0]], &d),
        t2(&[&[1.5, 0.0]], &d),
    ))[0] as f64;
    let norm = |x: f64, m: f64, s: f64| {
        -0.5 * (2.0 * std::f64::consts::PI).ln() - s.ln() - (x - m).powi(2) / (2.0 * s * s)
    };
    let expected = norm(1.5, 1.0, 0.5) + norm(0.0, -2.0, 2.0);
    assert!((lp - expected).abs() < 1e-5, "{lp} vs {expected}");
}

fn random_batch(b: usize, t: usize, dim: usize, device: &Device) -> Tensor<3> {
    Tensor::<3>::random(
        [b, t, dim],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        device,
    )
    .greater_elem(0.5)
    .float()
}

#[test]
fn padding_changes_nothing() {
    let d = cpu();
    d.seed(3);
    let model = small_config().init(&d).unwrap();
    let (short, long) = (5, 8);
    let x = random_batch(2, long, 6, &d);
    let eps = Tensor::<3>::random(
        [2, long, 3],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &d,
    );
    // Sequence 0 is really `short` steps long; its padding holds garbage on purpose.
    let mask = t2(
        &[
            &[1., 1., 1., 1., 1., 0., 0., 0.],
            &[1., 1., 1., 1., 1., 1., 1., 1.],
        ],
        &d,
    );
    let padded = model.forward(
        &SeqBatch::new(x.clone(), mask),
        Noise::Given(Box::new(eps.clone())),
    );
    let (kl_p, nll_p, n_p) = padded.elbo.per_sequence();

    let alone_x = x.narrow(0, 0, 1).narrow(1, 0, short);
    let alone_eps = eps.narrow(0, 0, 1).narrow(1, 0, short);
    let alone = model.forward(
        &SeqBatch::new(alone_x, Tensor::ones([1, short], &d)),
        Noise::Given(Box::new(alone_eps)),
    );
    let (kl_a, nll_a, n_a) = alone.elbo.per_sequence();
    assert_eq!(vec1(n_p)[0], short as f32);
    assert_eq!(vec1(n_a)[0], short as f32);
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * a.abs().max(1.0);
    assert!(close(vec1(kl_p)[0], vec1(kl_a)[0]));
    assert!(close(vec1(nll_p)[0], vec1(nll_a)[0]));
}

#[test]
fn last_step_gradient_reaches_the_initial_state() {
    // h0 is used only at the first step: a non-zero gradient of the *last* step's loss
    // with respect to it proves backprop through time is not cut.
    let d = cpu().autodiff();
    d.seed(5);
    let model = small_config().init(&d).unwrap();
    let t_len = 12;
    let x = random_batch(3, t_len, 6, &d);
    let traj = model.forward(
        &SeqBatch::new(x, Tensor::ones([3, t_len], &d)),
        Noise::Sample,
    );
    let last = (traj.elbo.kl + traj.elbo.nll).narrow(1, t_len - 1, 1).sum();
    let grads = last.backward();
    let g = model.h0.grad(&grads).expect("h0 has a gradient");
    let norm = g.square().sum().into_scalar::<f32>().sqrt();
    assert!(norm > 1e-8 && norm.is_finite(), "gradient norm {norm}");
}

#[test]
fn forward_equals_a_loop_of_steps() {
    let d = cpu();
    d.seed(11);
    let model = small_config().with_action_dim(2).init(&d).unwrap();
    let (b, t_len) = (2, 4);
    let x = random_batch(b, t_len, 6, &d);
    let actions = Tensor::<3>::random(
        [b, t_len, 2],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &d,
    );
    let eps = Tensor::<3>::random(
        [b, t_len, 3],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &d,
    );
    let mut batch = SeqBatch::new(x.clone(), Tensor::ones([b, t_len], &d));
    batch.actions = Some(actions.clone());
    let traj = model.forward(&batch, Noise::Given(Box::new(eps.clone())));
    let mut h = model.initial_state(b);
    let at = |v: &Tensor<3>, t: usize| {
        let w = v.dims()[2];
        v.clone().narrow(1, t, 1).reshape([b, w])
    };
    for t in 0..t_len {
        let a_prev = (t > 0).then(|| at(&actions, t - 1));
        let out = model.step(at(&x, t), h, a_prev, at(&eps, t));
        let kl_f = vec1(traj.elbo.kl.clone().narrow(1, t, 1).reshape([b]));
        let nll_f = vec1(traj.elbo.nll.clone().narrow(1, t, 1).reshape([b]));
        for (u, v) in vec1(out.kl)
            .iter()
            .zip(&kl_f)
            .chain(vec1(out.nll).iter().zip(&nll_f))
        {
            assert!(
                (u - v).abs() < 1e-4 * u.abs().max(1.0),
                "step {t}: {u} vs {v}"
            );
        }
        h = out.h;
    }
}

#[test]
fn an_action_only_affects_later_priors() {
    let d = cpu();
    d.seed(13);
    let model = small_config().with_action_dim(1).init(&d).unwrap();
    let t_len = 5;
    let x = random_batch(1, t_len, 6, &d);
    let run = |a2: f32| {
        let mut acts = vec![0.0f32; t_len];
        acts[2] = a2;
        let mut batch = SeqBatch::new(x.clone(), Tensor::ones([1, t_len], &d));
        batch.actions = Some(Tensor::from_data(TensorData::new(acts, [1, t_len, 1]), &d));
        vec1(model.forward(&batch, Noise::Mean).elbo.kl.reshape([t_len]))
    };
    let (base, pushed) = (run(0.0), run(5.0));
    assert_eq!(
        base[..3],
        pushed[..3],
        "steps up to the action are untouched"
    );
    assert_ne!(base[3], pushed[3], "a_2 enters the prior of step 3");
}

#[test]
fn generate_gives_binary_sequences_of_the_right_shape() {
    let d = cpu();
    d.seed(1);
    let model = small_config().init(&d).unwrap();
    let x = model.generate(3, 7, None, &d);
    assert_eq!(x.dims(), [3, 7, 6]);
    let v = x.into_data().try_into_vec::<f32>().unwrap();
    assert!(v.iter().all(|&e| e == 0.0 || e == 1.0));
}

#[test]
fn config_check_names_the_field() {
    let err = small_config().with_z_dim(0).check().unwrap_err();
    assert_eq!(err.field, "z_dim");
    let err = small_config().with_sigma_min(-1.0).check().unwrap_err();
    assert_eq!(err.field, "sigma_min");
    let err = small_config().with_dropout(1.0).check().unwrap_err();
    assert_eq!(err.field, "dropout");
}

#[test]
fn dropout_acts_only_while_training() {
    let d = cpu();
    d.seed(17);
    let model = small_config().with_dropout(0.5).init(&d).unwrap();
    let x = random_batch(2, 5, 6, &d);
    let batch = SeqBatch::new(x, Tensor::ones([2, 5], &d));
    let loss = |m: &crate::Vrnn, b: &SeqBatch| {
        m.forward(b, Noise::Mean)
            .elbo
            .loss(1.0)
            .into_scalar::<f32>()
    };
    // Plain device (evaluation): deterministic, dropout off.
    assert_eq!(loss(&model, &batch), loss(&model, &batch));
    // Autodiff device (training): dropout on, so two passes differ.
    let ad = d.autodiff();
    let trained = model.fork(&ad).train();
    let batch = batch.to_device(&ad);
    assert_ne!(loss(&trained, &batch), loss(&trained, &batch));
}
