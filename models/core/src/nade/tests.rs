//! NADE's known answers: normalisation, the per-key definition, sampling, gradients, and the
//! host kernel against the composed version.

use super::*;
use crate::bernoulli_log_prob;

#[allow(deprecated)]
fn cpu() -> Device {
    Device::ndarray()
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec().unwrap()
}

/// A NADE over `d` features with random context biases for `n` rows.
fn case(n: usize, d: usize, device: &Device) -> (Nade, Tensor<2>, Tensor<2>) {
    device.seed(7);
    let nade = Nade::new(3, d, 6, device);
    let b = Tensor::random([n, d], Distribution::Normal(0.0, 1.0), device);
    let c = Tensor::random([n, 6], Distribution::Normal(0.0, 1.0), device);
    (nade, b, c)
}

/// Every frame of `d` binary features, one per row.
fn all_frames(d: usize, device: &Device) -> Tensor<2> {
    let bits: Vec<f32> = (0..1usize << d)
        .flat_map(|m| (0..d).map(move |k| ((m >> k) & 1) as f32))
        .collect();
    Tensor::from_data(TensorData::new(bits, [1 << d, d]), device)
}

#[test]
fn probabilities_of_all_frames_sum_to_one() {
    let device = cpu();
    let d = 6;
    let (nade, b, c) = case(2, d, &device);
    let frames = all_frames(d, &device);
    for row in 0..2 {
        let rep = |t: &Tensor<2>| t.clone().narrow(0, row, 1).repeat_dim(0, 1 << d);
        let logits = nade.logits(rep(&b), rep(&c), frames.clone());
        let total: f32 = bernoulli_log_prob(logits, frames.clone())
            .exp()
            .sum()
            .into_scalar();
        assert!((total - 1.0).abs() < 1e-5, "row {row}: {total}");
    }
}

/// The cumulative-sum logits equal the definition, feature by feature.
#[test]
fn logits_equal_the_loop_over_features() {
    let device = cpu();
    let (n, d) = (4, 5);
    let (nade, b, c) = case(n, d, &device);
    let x = Tensor::<2>::random([n, d], Distribution::Bernoulli(0.5), &device);
    let got = values(nade.logits(b.clone(), c.clone(), x.clone()));
    let (w, v) = (values(nade.w.val()), values(nade.v.val()));
    let (b, c, x) = (values(b), values(c), values(x));
    let h_len = nade.hidden();
    for i in 0..n {
        for dd in 0..d {
            let mut logit = f64::from(b[i * d + dd]);
            for j in 0..h_len {
                let mut a = f64::from(c[i * h_len + j]);
                for k in 0..dd {
                    a += f64::from(x[i * d + k] * w[k * h_len + j]);
                }
                logit += f64::from(v[dd * h_len + j]) / (1.0 + (-a).exp());
            }
            let g = f64::from(got[i * d + dd]);
            assert!((g - logit).abs() < 1e-5, "row {i} key {dd}: {g} vs {logit}");
        }
    }
}

/// Drawn frames follow the model's own probabilities (all 8 frames of 3 features, 40,000
/// draws: each frequency within 4 standard errors).
#[test]
fn samples_follow_the_model() {
    let device = cpu();
    let (d, draws) = (3, 40_000);
    let (nade, b, c) = case(1, d, &device);
    let frames = all_frames(d, &device);
    let exact = values(
        bernoulli_log_prob(
            nade.logits(
                b.clone().repeat_dim(0, 1 << d),
                c.clone().repeat_dim(0, 1 << d),
                frames.clone(),
            ),
            frames,
        )
        .exp()
        .unsqueeze_dim(1),
    );
    let u = Tensor::random([draws, d], Distribution::Uniform(0.0, 1.0), &device);
    let x = values(nade.sample(b.repeat_dim(0, draws), c.repeat_dim(0, draws), u));
    let mut counts = [0usize; 8];
    for f in x.chunks(d) {
        counts[f
            .iter()
            .enumerate()
            .map(|(k, &v)| (v as usize) << k)
            .sum::<usize>()] += 1;
    }
    for (m, (&count, &p)) in counts.iter().zip(&exact).enumerate() {
        let freq = count as f64 / draws as f64;
        let se = (f64::from(p) * (1.0 - f64::from(p)) / draws as f64).sqrt();
        assert!(
            (freq - f64::from(p)).abs() < 4.0 * se + 1e-4,
            "frame {m}: {freq} vs {p}"
        );
    }
}

/// Central differences of log p in entries of W, V and the biases against autodiff.
#[test]
fn gradients_match_finite_differences() {
    let device = cpu().autodiff();
    let (n, d) = (3, 4);
    let (nade, b, c) = case(n, d, &device);
    let x = Tensor::<2>::random([n, d], Distribution::Bernoulli(0.5), &device);
    let (b, c) = (b.require_grad(), c.require_grad());
    let loss = |w: Tensor<2>, v: Tensor<2>, b: Tensor<2>, c: Tensor<2>| -> f64 {
        let m = Nade {
            hidden_bias: nade.hidden_bias.clone(),
            w: Param::from_tensor(w),
            v: Param::from_tensor(v),
        };
        let lp: f32 = bernoulli_log_prob(m.logits(b, c, x.clone()), x.clone())
            .sum()
            .into_scalar();
        f64::from(lp)
    };
    let (w, v) = (nade.w.val(), nade.v.val());
    let lp = bernoulli_log_prob(nade.logits(b.clone(), c.clone(), x.clone()), x.clone()).sum();
    let g = lp.backward();
    let leaves = [w.clone(), v.clone(), b.clone(), c.clone()];
    for (which, leaf) in leaves.iter().enumerate() {
        let grad = values(leaf.grad(&g).unwrap());
        let base = values(leaf.clone());
        let dims = leaf.dims();
        for at in [0, base.len() / 2, base.len() - 1] {
            let bump = |s: f32| {
                let mut p = base.clone();
                p[at] += s;
                Tensor::<2>::from_data(TensorData::new(p, dims), &device)
            };
            let eps = 1e-2;
            let args = |s: f32| {
                let mut a = leaves.clone().map(|t| t.detach());
                a[which] = bump(s);
                let [w, v, b, c] = a;
                loss(w, v, b, c)
            };
            let fd = (args(eps) - args(-eps)) / (2.0 * f64::from(eps));
            let an = f64::from(grad[at]);
            assert!(
                (fd - an).abs() < 2e-3 * (1.0 + an.abs()),
                "leaf {which} entry {at}: finite differences {fd} vs autodiff {an}"
            );
        }
    }
}

/// log p and the gradients of the heads, W and V through `chain` (host or composed) on an
/// autodiff device, for `n` frames (binary, or in [0, 1] when `binary` is false).
fn chain_run(device: &Device, n: usize, binary: bool, host: bool) -> Vec<Vec<f32>> {
    let (d, h) = (5, 6);
    device.seed(11);
    let nade = Nade::new(3, d, h, device);
    let heads =
        Tensor::<2>::random([n, d + h], Distribution::Normal(0.0, 1.0), device).require_grad();
    let dist = if binary {
        Distribution::Bernoulli(0.3)
    } else {
        Distribution::Uniform(0.0, 1.0)
    };
    let x = Tensor::<2>::random([n, d], dist, device);
    let chain = NadeChain { nade: &nade };
    let lp = if host {
        chain.host((heads.clone(), x))
    } else {
        chain.composed((heads.clone(), x))
    };
    // Weight the rows so that the backward pass's incoming gradient differs per row.
    let weights = Tensor::<1, burn::tensor::Int>::arange(0..n as i64, device)
        .float()
        .add_scalar(1.0);
    let g = (lp.clone() * weights).sum().backward();
    vec![
        lp.into_data().try_to_vec().unwrap(),
        values(heads.grad(&g).unwrap()),
        values(nade.w.val().grad(&g).unwrap()),
        values(nade.v.val().grad(&g).unwrap()),
    ]
}

#[test]
fn fused_log_prob_equals_the_composed_one_on_both_cpu_backends() {
    #[allow(deprecated)]
    for device in [cpu(), Device::flex()] {
        let ad = device.autodiff();
        // 37 rows: two chunks of 32 rows, the second short; binary and fractional frames.
        for binary in [true, false] {
            let (host, composed) = (
                chain_run(&ad, 37, binary, true),
                chain_run(&ad, 37, binary, false),
            );
            for (k, (a, b)) in host.iter().zip(&composed).enumerate() {
                let scale = b.iter().fold(1.0f32, |m, x| m.max(x.abs()));
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-5 * scale,
                        "binary {binary}, output {k} entry {i}: {x} vs {y}"
                    );
                }
                assert!(a.iter().any(|v| v.abs() > 1e-3), "output {k} is all zero");
            }
        }
    }
}

/// The composed log-likelihood in chunks of rows gives what one pass gives.
#[test]
fn composed_chunks_agree_with_the_host_pass() {
    let device = cpu();
    let (n, d, h) = (NADE_COMPOSED_ROWS + 5, 3, 4);
    device.seed(3);
    let nade = Nade::new(2, d, h, &device);
    let heads = Tensor::<2>::random([n, d + h], Distribution::Normal(0.0, 1.0), &device);
    let x = Tensor::<2>::random([n, d], Distribution::Bernoulli(0.5), &device);
    let chain = NadeChain { nade: &nade };
    let composed = chain.composed((heads.clone(), x.clone()));
    let host = chain.host((heads, x));
    let diff: f32 = (composed - host).abs().max().into_scalar();
    assert!(diff < 1e-5, "{diff}");
}
