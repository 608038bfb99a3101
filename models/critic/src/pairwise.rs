//! The critic's distributional loss over every (head, target sample) pair, as one host loop
//! with a hand-written backward pass on the CPU backends.
//!
//! For values V [n, N] (head i of item b), target samples S [n, N] and item weights w [n]:
//! loss = (1 / n) sum_b w_b sum_i (1 / N) sum_k |tau_i - 1{u < 0}| rho(u), u = S_bk - V_bi,
//! with rho the Huber loss divided by kappa (quantile) or u^2 (expectile). Composed from tensor
//! operations this is about 20 passes over an [n, N, N] tensor and as many again backward;
//! here it is one pass forward and one backward, no [n, N, N] tensor ever exists, and only V
//! receives a gradient (targets and weights carry none, as the TD rule requires).
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::ops::{Backward, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    backend_extension, Autodiff, Backend, Dispatch, Flex, NdArray, TensorMetadata,
};
use burn::prelude::*;
use neuromod_core::host::{host_ops_available, HostData, StoredGradient};

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

/// The loss \[1\]; gradient to `values` only. Fused on the CPU backends, composed elsewhere.
pub fn pairwise_loss(
    values: Tensor<2>,
    samples: Tensor<2>,
    weight: Tensor<1>,
    spec: &PairwiseSpec,
) -> Tensor<1> {
    if !host_ops_available(&values.device()) {
        return pairwise_loss_composed(values, samples, weight, spec);
    }
    let out = <Dispatch as PairwiseOps>::pairwise_loss(
        values.into_dispatch(),
        samples.detach().into_dispatch(),
        weight.detach().into_dispatch(),
        spec.clone(),
    );
    Tensor::from_dispatch(out)
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

/// The loss as a backend operation: values [n, N], samples [n, N], weight [n] -> [1].
#[backend_extension(NdArray, Flex, Autodiff)]
pub trait PairwiseOps: Backend {
    /// The loss.
    fn pairwise_loss(
        values: FloatTensor<Self>,
        samples: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        spec: PairwiseSpec,
    ) -> FloatTensor<Self>;
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

macro_rules! host_pairwise {
    ($($backend:ty),*) => {$(
        impl PairwiseOps for $backend {
            fn pairwise_loss(
                values: FloatTensor<Self>,
                samples: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                spec: PairwiseSpec,
            ) -> FloatTensor<Self> {
                let (loss, _) = host_pass(
                    &Self::read(&values),
                    &Self::read(&samples),
                    &Self::read(&weight),
                    &spec,
                    false,
                );
                Self::write(vec![loss], vec![1])
            }
        }
    )*};
}

host_pairwise!(NdArray, Flex);

impl<B: PairwiseOps + HostData, C: CheckpointStrategy> PairwiseOps for Autodiff<B, C> {
    fn pairwise_loss(
        values: FloatTensor<Self>,
        samples: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        spec: PairwiseSpec,
    ) -> FloatTensor<Self> {
        let node = values.node();
        let (v, s, w) = (
            values.into_primitive(),
            samples.into_primitive(),
            weight.into_primitive(),
        );
        match <StoredGradient as Backward<B, 1>>::prepare::<C>(StoredGradient, [node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                // The gradient is computed in the same pass as the loss (it costs no extra
                // pass over the pairs) and kept until the backward pass scales it.
                let shape = v.shape().to_vec();
                let (loss, grad) = host_pass(&B::read(&v), &B::read(&s), &B::read(&w), &spec, true);
                prep.finish((grad, shape), B::write(vec![loss], vec![1]))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::pairwise_loss(v, s, w, spec)),
        }
    }
}
