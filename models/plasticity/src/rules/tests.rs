//! Every rule against the exact gradient where the papers say they coincide, against its
//! formula written out by hand, and BPTT against finite differences.

use burn::prelude::*;

use super::{
    modulated_weights, rule, Averaging, Bptt, Eprop, Grads, LearningRule, Mdgl, ModProp,
    RandomEprop, RULES,
};
use crate::config::NetworkConfig;
use crate::network::{Activation, Network, Trials};

#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
fn cpu() -> Device {
    Device::ndarray()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

/// Largest |a - b| relative to the largest |b|.
fn rel_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let (a, b) = (values(a), values(b));
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

fn setup(seed: u64, t: usize) -> (Network, Trials) {
    setup_with(seed, t, Activation::Tanh)
}

fn setup_with(seed: u64, t: usize, activation: Activation) -> (Network, Trials) {
    let device = cpu();
    device.seed(seed);
    let config = NetworkConfig::six_types(3, 2, 3, 2, 2);
    let net = Network::new(&config, 1.5, activation, &device);
    let x = Tensor::<3>::random(
        [4, t, 3],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let y = Tensor::<3>::random(
        [4, t, 2],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    (net, Trials::new(x, y))
}

fn all_close(a: &Grads, b: &Grads, tol: f32) -> Result<(), String> {
    let checks = [
        ("w_in", rel_diff(a.w_in.clone(), b.w_in.clone())),
        ("w_rec", rel_diff(a.w_rec.clone(), b.w_rec.clone())),
        ("w_out", rel_diff(a.w_out.clone(), b.w_out.clone())),
        ("b_out", rel_diff(a.b_out.clone(), b.b_out.clone())),
        ("loss", rel_diff(a.loss.clone(), b.loss.clone())),
    ];
    match checks.iter().find(|(_, d)| d.is_nan() || *d > tol) {
        Some((name, d)) => Err(format!("{name}: relative difference {d}")),
        None => Ok(()),
    }
}

#[test]
fn bptt_matches_central_finite_differences() {
    let (net, trials) = setup(1, 6);
    let g = Bptt.grads(&net, &trials);
    let loss = |n: &Network| n.loss(&n.run(&trials), &trials).into_scalar::<f32>() as f64;
    let eps = 1e-2;
    let mut worst = 0f64;
    for (row, col) in [(0, 1), (3, 7), (8, 2), (12, 12)] {
        let bump = |d: f64| {
            let mut n = net.clone();
            let mut w = values(net.w_rec.clone());
            w[row * net.cells() + col] += d as f32;
            n.w_rec = Tensor::<1>::from_floats(w.as_slice(), &cpu()).reshape(net.w_rec.dims());
            loss(&n)
        };
        let fd = (bump(eps) - bump(-eps)) / (2.0 * eps);
        let exact = values(g.w_rec.clone())[row * net.cells() + col] as f64;
        worst = worst.max((fd - exact).abs() / exact.abs().max(1e-2));
    }
    assert!(worst < 2e-2, "worst relative error {worst}");
}

/// Without recurrent weights nothing is truncated: e-prop is BPTT (Bellec et al. 2020).
#[test]
fn eprop_is_exact_without_recurrent_weights_and_for_one_step() {
    let (mut net, trials) = setup(2, 8);
    net.w_rec = net.w_rec.zeros_like();
    all_close(
        &Eprop.grads(&net, &trials),
        &Bptt.grads(&net, &trials),
        1e-4,
    )
    .unwrap();
    let (net, trials) = setup(3, 1);
    all_close(
        &Eprop.grads(&net, &trials),
        &Bptt.grads(&net, &trials),
        1e-4,
    )
    .unwrap();
}

/// With recurrence e-prop truncates: its recurrent gradient is no longer BPTT's (so the test
/// above can fail), while the readout's stays exact.
#[test]
fn with_recurrence_eprop_differs_from_bptt_except_at_the_readout() {
    let (net, trials) = setup(4, 10);
    let (e, b) = (Eprop.grads(&net, &trials), Bptt.grads(&net, &trials));
    assert!(rel_diff(e.w_rec.clone(), b.w_rec.clone()) > 1e-2);
    assert!(rel_diff(e.w_out, b.w_out) < 1e-4);
}

/// e-prop on a 2-cell network over 2 steps, written out by hand: h_0 = x_0 W_in, h_1 = alpha
/// h_0 + r_0 W_rec + x_1 W_in; the update of W_rec is L^1 phi'(h^1) r^0 (rbar^1 = r^0).
#[test]
fn eprop_matches_its_formula_written_out_by_hand() {
    let device = cpu();
    let config = NetworkConfig {
        inputs: 1,
        outputs: 1,
        types: vec![crate::CellType {
            name: "E".into(),
            count: 2,
            sign: crate::Sign::Excitatory,
            output: true,
        }],
        alpha: 0.5,
        modulators: Vec::new(),
    };
    let mut net = Network::new(&config, 1.0, Activation::Tanh, &device);
    let t2 = |v: [[f32; 2]; 2]| Tensor::<2>::from_floats(v, &device);
    net.w_in = Tensor::from_floats([[0.3, -0.2]], &device);
    net.w_rec = t2([[0.1, 0.4], [0.2, 0.3]]);
    net.w_out = Tensor::from_floats([[0.5], [-0.7]], &device);
    let x = Tensor::<3>::from_floats([[[1.0], [0.5]]], &device);
    let y = Tensor::<3>::from_floats([[[0.2], [-0.1]]], &device);
    let g = Eprop.grads(&net, &Trials::new(x, y));
    // By hand, in f64.
    let (a, win, wout): (f64, [f64; 2], [f64; 2]) = (0.5, [0.3, -0.2], [0.5, -0.7]);
    let wrec = [[0.1, 0.4], [0.2, 0.3]];
    let h0 = [win[0], win[1]];
    let r0 = [h0[0].tanh(), h0[1].tanh()];
    let h1: Vec<f64> = (0..2)
        .map(|j| a * h0[j] + r0[0] * wrec[0][j] + r0[1] * wrec[1][j] + 0.5 * win[j])
        .collect();
    let r1 = [h1[0].tanh(), h1[1].tanh()];
    let err1 = r1[0] * wout[0] + r1[1] * wout[1] - -0.1;
    let d = |h: f64| 1.0 - h.tanh().powi(2);
    let mut want = [[0.0f64; 2]; 2];
    for (i, row) in want.iter_mut().enumerate() {
        for (j, w) in row.iter_mut().enumerate() {
            *w = r0[i] * err1 * wout[j] * d(h1[j]);
        }
    }
    let got = values(g.w_rec);
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                (got[i * 2 + j] as f64 - want[i][j]).abs() < 1e-6,
                "{got:?} vs {want:?}"
            );
        }
    }
    // The input weights: xbar^0 = x_0, xbar^1 = alpha x_0 + x_1.
    let err0 = r0[0] * wout[0] + r0[1] * wout[1] - 0.2;
    let got = values(g.w_in);
    for j in 0..2 {
        let want = err0 * wout[j] * d(h0[j]) + err1 * wout[j] * d(h1[j]) * (a * 1.0 + 0.5);
        assert!((got[j] as f64 - want).abs() < 1e-6, "{got:?}: {j} {want}");
    }
}

#[test]
fn rules_are_found_by_name() {
    for r in RULES {
        assert_eq!(rule(r.name()).unwrap().name(), r.name());
    }
    assert!(rule("backprop").is_none());
}

/// MDGL keeps the one-hop, one-step path of the exact gradient: with the exact weights it is
/// BPTT for two steps, and not beyond (so the first check can fail): at three steps only the
/// input weights see a dropped path (r_{-1} = 0), from four on the recurrent ones too.
#[test]
fn mdgl_with_exact_weights_is_bptt_for_two_steps_only() {
    let exact = Mdgl {
        averaging: Averaging::Exact,
    };
    let (net, trials) = setup(6, 2);
    all_close(
        &exact.grads(&net, &trials),
        &Bptt.grads(&net, &trials),
        1e-4,
    )
    .unwrap();
    let (net, trials) = setup(6, 3);
    let (m, b) = (exact.grads(&net, &trials), Bptt.grads(&net, &trials));
    assert!(rel_diff(m.w_rec, b.w_rec) < 1e-4);
    assert!(rel_diff(m.w_in, b.w_in) > 1e-3);
    let (net, trials) = setup(6, 4);
    let (m, b) = (exact.grads(&net, &trials), Bptt.grads(&net, &trials));
    assert!(rel_diff(m.w_rec, b.w_rec) > 1e-3);
}

/// ModProp is BPTT with a time-invariant Jacobian: in a linear network, with mu = 1 and the
/// exact weights, it is BPTT at any length; with a nonlinearity it is not.
#[test]
fn modprop_is_bptt_for_a_linear_network_with_exact_weights() {
    let exact = ModProp {
        averaging: Averaging::Exact,
        mu: 1.0,
    };
    let (mut net, trials) = setup_with(7, 12, Activation::Identity);
    net.w_rec = net.w_rec * 0.3; // a stable linear recurrence
    all_close(
        &exact.grads(&net, &trials),
        &Bptt.grads(&net, &trials),
        1e-3,
    )
    .unwrap();
    let (net, trials) = setup(7, 12);
    let (m, b) = (exact.grads(&net, &trials), Bptt.grads(&net, &trials));
    assert!(rel_diff(m.w_rec, b.w_rec) > 1e-2);
}

/// The modulated weights on a 2-type, 3-cell network written out: cells 0, 1 of type 0 and
/// cell 2 of type 1; block means over synapses (nonzero entries) or over every pair, and only
/// where the receiving type reads the other's modulator.
#[test]
fn modulated_weights_are_type_averages_where_a_receptor_reads_them() {
    let device = cpu();
    let config = NetworkConfig {
        inputs: 1,
        outputs: 1,
        types: vec![
            crate::CellType {
                name: "A".into(),
                count: 2,
                sign: crate::Sign::Excitatory,
                output: true,
            },
            crate::CellType {
                name: "B".into(),
                count: 1,
                sign: crate::Sign::Inhibitory,
                output: false,
            },
        ],
        alpha: 0.5,
        modulators: vec![crate::Modulator {
            name: "np".into(),
            secreted_by: vec!["A".into(), "B".into()],
            read_by: vec!["A".into()],
        }],
    };
    let mut net = Network::new(&config, 1.0, Activation::Tanh, &device);
    net.w_rec = Tensor::from_floats(
        [[0.2, 0.0, 0.6], [0.4, 0.6, 0.0], [-0.3, -0.5, -0.1]],
        &device,
    );
    let syn = values(modulated_weights(&net, Averaging::Synapses));
    // A->A synapses: 0.2, 0.4, 0.6 (mean 0.4); A->B: 0.6 (mean over the one synapse); B reads
    // nothing, so B's row is 0.
    let want = [0.4, 0.0, 0.6, 0.4, 0.4, 0.0, 0.0, 0.0, 0.0];
    for (g, w) in syn.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{syn:?}");
    }
    let blocks = values(modulated_weights(&net, Averaging::Blocks));
    let want = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.0, 0.0, 0.0];
    for (g, w) in blocks.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{blocks:?}");
    }
}

/// How well each rule's recurrent update points along the exact gradient (cosine, mean over
/// 8 random networks and batches of 20 steps), printed; each rule with symmetric feedback must
/// at least point the right way (measured: e-prop 0.52, MDGL 0.60, ModProp 0.22), and MDGL's
/// modulator term must change e-prop's update. Random feedback has no alignment to start with
/// (it grows in training, as in feedback alignment; measured -0.13), so it is not asserted.
#[test]
fn every_rule_points_along_the_exact_gradient_and_mdgl_differs_from_eprop() {
    let cos = |a: Tensor<2>, b: Tensor<2>| {
        let (a, b) = (values(a), values(b));
        let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(&a) * norm(&b))
    };
    for r in RULES.iter().filter(|r| r.name() != "bptt") {
        let mean = (0..8)
            .map(|seed| {
                let (net, trials) = setup(20 + seed, 20);
                cos(
                    r.grads(&net, &trials).w_rec,
                    Bptt.grads(&net, &trials).w_rec,
                )
            })
            .sum::<f32>()
            / 8.0;
        eprintln!("{}: mean cosine to BPTT {mean:.3}", r.name());
        if r.name() != "eprop-random" {
            assert!(mean > 0.0, "{}: {mean}", r.name());
        }
    }
    let (net, trials) = setup(20, 20);
    let (e, m) = (Eprop.grads(&net, &trials), super::MDGL.grads(&net, &trials));
    assert!(
        rel_diff(m.w_rec, e.w_rec) > 1e-3,
        "MDGL's modulator term did nothing"
    );
}

/// Random feedback is e-prop when the feedback weights are the readout's, and not otherwise.
#[test]
fn random_eprop_is_eprop_with_the_readout_as_feedback() {
    let (mut net, trials) = setup(9, 10);
    let random = RandomEprop.grads(&net, &trials);
    assert!(rel_diff(random.w_rec, Eprop.grads(&net, &trials).w_rec) > 1e-2);
    net.feedback = net.w_out.clone();
    all_close(
        &RandomEprop.grads(&net, &trials),
        &Eprop.grads(&net, &trials),
        1e-6,
    )
    .unwrap();
}
