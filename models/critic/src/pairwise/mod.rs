//! The critic's distributional loss over every (head, target sample) pair, as one host loop
//! with a hand-written backward pass on the CPU backends.
//!
//! For values V [n, N] (head i of item b), target samples S [n, N] and item weights w [n]:
//! loss = (1 / n) sum_b w_b sum_i (1 / N) sum_k |tau_i - 1{u < 0}| rho(u), u = S_bk - V_bi,
//! with rho the Huber loss divided by kappa (quantile) or u^2 (expectile). Composed from tensor
//! operations this is about 20 passes over an [n, N, N] tensor and as many again backward;
//! here it is one pass forward and one backward, no [n, N, N] tensor ever exists, and only V
//! receives a gradient (targets and weights carry none, as the TD rule requires). The Cube
//! backends run it as one CubeCL launch ([`cube`]).

mod cube;

use burn::prelude::*;
use neuromod_kernels::cube::pieces::fits_items;
use neuromod_kernels::{cube_fused, fused, run, Backprop, Chain, Inputs, Kernel};

/// The per-pair penalty rho(u).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Penalty {
    /// Huber with threshold kappa, divided by kappa.
    Huber(f32),
    /// u^2.
    Square,
}

impl Penalty {
    /// rho(u) and rho'(u).
    fn eval(self, u: f32) -> (f32, f32) {
        match self {
            Penalty::Huber(kappa) => {
                let a = u.abs();
                if a <= kappa {
                    (0.5 * a * a / kappa, u / kappa)
                } else {
                    (a - 0.5 * kappa, u.signum())
                }
            }
            Penalty::Square => (u * u, 2.0 * u),
        }
    }
}

/// What the loss needs besides its tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseSpec {
    /// Asymmetry of each head.
    pub taus: Vec<f32>,
    /// rho.
    pub penalty: Penalty,
}

/// The loss \[1\]; gradient to `values` only, the way the device's route says.
pub fn pairwise_loss(
    values: Tensor<2>,
    samples: Tensor<2>,
    weight: Tensor<1>,
    spec: &PairwiseSpec,
) -> Tensor<1> {
    let device = values.device();
    run(spec, (values, samples, weight), &device)
}

impl Chain for PairwiseSpec {
    /// values [n, N], samples [n, N], weight \[n\].
    type Input = (Tensor<2>, Tensor<2>, Tensor<1>);
    /// The loss \[1\].
    type Output = Tensor<1>;

    fn composed(&self, (values, samples, weight): Self::Input) -> Tensor<1> {
        pairwise_loss_composed(values, samples, weight, self)
    }

    /// One pass over the pairs; the gradient is computed in the same pass as the loss (it
    /// costs no extra pass over the pairs) and kept until the backward pass scales it.
    fn host(&self, (values, samples, weight): Self::Input) -> Tensor<1> {
        fused(
            self.clone(),
            vec![
                values.into(),
                samples.detach().into(),
                weight.detach().into(),
            ],
        )
    }

    /// One launch for the pairs' losses and gradients, then their sum (composed past the
    /// launch's cube count).
    fn cube(&self, (values, samples, weight): Self::Input) -> Tensor<1> {
        let [items, heads] = values.dims();
        assert!(
            samples.dims() == [items, heads]
                && weight.dims() == [items]
                && self.taus.len() == heads,
            "values {:?}, samples {:?}, weight {:?} and {} taus: one weight per item, as many \
             samples and taus as heads",
            values.dims(),
            samples.dims(),
            weight.dims(),
            self.taus.len()
        );
        let pairs = items * heads;
        if !fits_items(pairs) {
            return self.composed((values, samples, weight));
        }
        let taus = Tensor::<1>::from_floats(self.taus.as_slice(), &values.device());
        let kernel = cube::PairwiseCube {
            pairs,
            heads,
            penalty: self.penalty,
        };
        let args = vec![
            values.into(),
            samples.detach().into(),
            weight.detach().into(),
            taus.into(),
        ];
        cube_fused(kernel, args).sum()
    }
}

impl Kernel for PairwiseSpec {
    /// Inputs [values, samples, weight]: the loss \[1\]; saved: d loss / d values when
    /// tracked.
    fn forward(&self, [v, s, w, _]: Inputs, tracked: bool) -> (Vec<f32>, Vec<f32>) {
        let (loss, grad) = host_pass(v, s, w, self, tracked);
        (vec![loss], grad)
    }

    /// The stored gradient scaled by the incoming one; values only.
    fn backward(&self, p: Backprop) -> [Vec<f32>; 4] {
        p.stored_gradient()
    }
}

/// [`pairwise_loss`] from tensor operations (every device).
pub fn pairwise_loss_composed(
    values: Tensor<2>,
    samples: Tensor<2>,
    weight: Tensor<1>,
    spec: &PairwiseSpec,
) -> Tensor<1> {
    let [batch, n] = values.dims();
    let device = values.device();
    let taus = Tensor::<1>::from_floats(spec.taus.as_slice(), &device).reshape([1, n, 1]);
    // u[b, i, k] = sample_k - V_i: every head against every target sample.
    let u = samples.detach().unsqueeze_dim::<3>(1) - values.unsqueeze_dim::<3>(2);
    let below = u.clone().lower_elem(0.0).float();
    let asym = (below.clone().neg().add_scalar(1.0) * taus.clone()
        + below * taus.neg().add_scalar(1.0))
    .detach();
    let per_pair = match spec.penalty {
        Penalty::Huber(kappa) => {
            let kappa = f64::from(kappa);
            let a = u.abs();
            let quad = a.clone().clamp_max(kappa);
            let lin = a - quad.clone();
            (quad.powi_scalar(2).mul_scalar(0.5) + lin.mul_scalar(kappa)).div_scalar(kappa)
        }
        Penalty::Square => u.powi_scalar(2),
    };
    // Mean over target samples, sum over heads: [batch].
    let per_item = (asym * per_pair).mean_dim(2).sum_dim(1).reshape([batch]);
    (per_item * weight.detach()).mean()
}

/// Loss and, when asked, d loss / d values, on the host.
fn host_pass(
    v: &[f32],
    s: &[f32],
    w: &[f32],
    spec: &PairwiseSpec,
    want_grad: bool,
) -> (f32, Vec<f32>) {
    let n = spec.taus.len();
    let items = w.len();
    let scale = 1.0 / (items * n) as f32;
    let mut grad = vec![0.0; if want_grad { items * n } else { 0 }];
    let mut loss = 0.0f64;
    for b in 0..items {
        let (vb, sb) = (&v[b * n..(b + 1) * n], &s[b * n..(b + 1) * n]);
        let mut item = 0.0f32;
        for (i, (&vi, &tau)) in vb.iter().zip(&spec.taus).enumerate() {
            let mut dv = 0.0f32;
            for &sk in sb {
                let u = sk - vi;
                let asym = if u < 0.0 { 1.0 - tau } else { tau };
                let (rho, drho) = spec.penalty.eval(u);
                item += asym * rho;
                dv -= asym * drho;
            }
            if want_grad {
                grad[b * n + i] = dv * w[b] * scale;
            }
        }
        loss += f64::from(item * w[b] * scale);
    }
    (loss as f32, grad)
}
