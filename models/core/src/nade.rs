//! A within-frame autoregressive Bernoulli emission: NADE (Larochelle & Murray 2011) over the
//! D features of one frame, in their order (for a piano roll: keys low to high), conditioned on
//! the decoder's input as in RNN-NADE (Boulanger-Lewandowski et al. 2012): the context sets the
//! visible biases b (the decoder's logits head) and the hidden biases c (this module's head).
//!
//! p(x) = prod_d Bernoulli(x_d | sigmoid(b_d + V_d . h_d)), h_d = sigmoid(c + sum_{k<d} x_k
//! W_k), with W [D, H] and V [D, H]. Teacher-forced, every h_d comes from one cumulative sum
//! over the keys (no loop over d), so the bound costs a few tensor passes of [rows, D, H];
//! sampling runs the D keys in turn.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::Distribution;

/// Hidden units of a NADE emission (RNN-NADE used 150 on JSB; a power of two here).
pub const NADE_HIDDEN: usize = 128;

/// The NADE part of a decoder: the hidden biases' head and the autoregressive weights.
#[derive(Module, Debug)]
pub struct Nade {
    /// Context -> hidden biases c: [context, H].
    pub hidden_bias: Linear,
    /// W [D, H]: row k is what x_k adds to the hidden units of every later feature.
    pub w: Param<Tensor<2>>,
    /// V [D, H]: row d reads feature d's hidden units into its logit.
    pub v: Param<Tensor<2>>,
}

impl Nade {
    /// A NADE over `x_dim` features with `hidden` units, reading `context` features; W and V
    /// uniform in +-1/sqrt(fan-in) (D for W, H for V), like burn's `Linear`.
    pub fn new(context: usize, x_dim: usize, hidden: usize, device: &Device) -> Self {
        let uniform = |fan_in: usize| {
            let a = 1.0 / (fan_in as f64).sqrt();
            Param::from_tensor(Tensor::random(
                [x_dim, hidden],
                Distribution::Uniform(-a, a),
                device,
            ))
        };
        Self {
            hidden_bias: LinearConfig::new(context, hidden).init(device),
            w: uniform(x_dim),
            v: uniform(hidden),
        }
    }

    /// Hidden units H.
    pub fn hidden(&self) -> usize {
        self.w.dims()[1]
    }

    /// Each feature's logit given the features before it: visible biases `b` [N, D], hidden
    /// biases `c` [N, H], observed `x` [N, D] -> [N, D].
    pub fn logits(&self, b: Tensor<2>, c: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
        let w = self.w.val().unsqueeze_dim::<3>(0); // [1, D, H]
                                                    // x_k W_k for every k, then the sum over k < d: the inclusive sum less its own term.
        let each = x.unsqueeze_dim::<3>(2) * w; // [N, D, H]
        let before = each.clone().cumsum(1) - each;
        let h = sigmoid(before + c.unsqueeze_dim::<3>(1));
        let read = (h * self.v.val().unsqueeze_dim::<3>(0)).sum_dim(2); // [N, D, 1]
        b + read.squeeze_dim::<2>(2)
    }

    /// One draw of the frame, feature by feature: `u` [N, D] holds U(0, 1) noise (feature d
    /// is 1 where u_d < its probability).
    pub fn sample(&self, b: Tensor<2>, c: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
        let [n, d_len] = b.dims();
        let (w, v) = (self.w.val(), self.v.val());
        let mut a = c;
        let mut keys = Vec::with_capacity(d_len);
        for d in 0..d_len {
            let vd = v.clone().narrow(0, d, 1); // [1, H]
            let logit = b.clone().narrow(1, d, 1) + (sigmoid(a.clone()) * vd).sum_dim(1);
            let x = u.clone().narrow(1, d, 1).lower(sigmoid(logit)).float(); // [N, 1]
            a = a + x.clone() * w.clone().narrow(0, d, 1);
            keys.push(x);
        }
        debug_assert_eq!(keys.len(), d_len);
        if keys.is_empty() {
            return Tensor::zeros([n, 0], &u.device());
        }
        Tensor::cat(keys, 1)
    }
}

#[cfg(test)]
mod tests {
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
}
