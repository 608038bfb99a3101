//! The successor-feature TD loss along sequences, as one host pass with a hand-written
//! backward pass on the CPU backends (training's hot path; the composed version, which also
//! lays out every delta, serves `sequence_td` and the other devices).
//!
//! psi [B, T, G F] holds every head's psi(s_t) side by side (head g in columns g F..(g + 1) F),
//! phi [B, T, F] the standardised features, pair [B, T - 1] the weight of transition t -> t + 1.
//! loss = sum_{b, t, g, j} pair_bt (phi_{b,t+1,j} + gamma_g psi_{b,t+1,gj} - psi_{b,t,gj})^2
//! / (F max(sum pair, 1e-12)). Semi-gradient: only psi(s_t) receives a gradient, psi(s_{t+1})
//! and phi are targets. The Cube backends run it as one CubeCL launch ([`cube`]).

mod cube;

use burn::prelude::*;
use neuromod_kernels::cube::pieces::fits_items;
use neuromod_kernels::{cube_fused, fused, run, Backprop, Chain, Inputs, Kernel};

/// The loss \[1\] (gradient to psi only), the way the device's route says ([`SequenceTd`]).
pub fn sequence_td_loss(
    psi: Tensor<3>,
    phi: Tensor<3>,
    pair: Tensor<2>,
    gammas: &[f64],
) -> Tensor<1> {
    let device = psi.device();
    run(&SequenceTd { gammas }, (psi, phi, pair), &device)
}

/// The loss with its discounts, one head each.
#[derive(Debug, Clone, Copy)]
pub struct SequenceTd<'a> {
    /// Discount of each head.
    pub gammas: &'a [f64],
}

impl Chain for SequenceTd<'_> {
    /// psi [B, T, G F], phi [B, T, F], pair [B, T - 1].
    type Input = (Tensor<3>, Tensor<3>, Tensor<2>);
    /// The loss \[1\].
    type Output = Tensor<1>;

    fn composed(&self, (psi, phi, pair): Self::Input) -> Tensor<1> {
        sequence_td_loss_composed(psi, phi, pair, self.gammas)
    }

    /// One pass over the transitions; the gradient comes out of the loss's own pass and waits
    /// for the backward pass to scale it.
    fn host(&self, (psi, phi, pair): Self::Input) -> Tensor<1> {
        let heads = self.gammas.len();
        let sf = phi.dims();
        check_heads(psi.dims(), sf, heads);
        let kernel = TdKernel {
            dims: sf,
            gammas: self.gammas.iter().map(|&g| g as f32).collect(),
        };
        fused(
            kernel,
            vec![psi.into(), phi.detach().into(), pair.detach().into()],
        )
    }

    /// One launch for every transition's error and gradient, then their sum over the weights'
    /// total (composed past the launch's cube count).
    fn cube(&self, (psi, phi, pair): Self::Input) -> Tensor<1> {
        let heads = self.gammas.len();
        let sf = phi.dims();
        check_heads(psi.dims(), sf, heads);
        assert_eq!(
            pair.dims(),
            [sf[0], sf[1].saturating_sub(1)],
            "pair is [B, T - 1]"
        );
        if !fits_items(sf[0] * sf[1]) {
            return self.composed((psi, phi, pair));
        }
        if sf[1] < 2 {
            return no_transitions(psi);
        }
        let gamma = gamma_row(self.gammas, sf[2], &psi.device()).reshape([heads * sf[2]]);
        let total = pair.clone().detach().sum().clamp_min(1e-12);
        let kernel = cube::TdCube { dims: sf, heads };
        let args = vec![
            psi.into(),
            phi.detach().into(),
            pair.detach().into(),
            gamma.into(),
        ];
        cube_fused(kernel, args).sum() / total / sf[2] as f64
    }
}

/// The loss of sequences of one step (no transition): 0, with psi's (zero) gradient.
fn no_transitions(psi: Tensor<3>) -> Tensor<1> {
    psi.sum().mul_scalar(0.0)
}

/// psi's sizes `sp` hold `heads` heads of the features' `sf`.
///
/// # Panics
/// When they do not.
fn check_heads(sp: [usize; 3], sf: [usize; 3], heads: usize) {
    assert!(
        sp[0] == sf[0] && sp[1] == sf[1] && sp[2] == heads * sf[2],
        "psi {sp:?} holds {heads} heads of the features {sf:?}"
    );
}

/// [`sequence_td_loss`] from tensor operations (every device).
pub fn sequence_td_loss_composed(
    psi: Tensor<3>,
    phi: Tensor<3>,
    pair: Tensor<2>,
    gammas: &[f64],
) -> Tensor<1> {
    let [b, t, gf] = psi.dims();
    if t < 2 {
        return no_transitions(psi);
    }
    let f = phi.dims()[2];
    let (now, next, target, w, total) = shifted(psi, phi, pair, gammas.len());
    let gamma = gamma_row(gammas, f, &now.device());
    let delta = target + next.detach() * gamma - now;
    debug_assert_eq!(delta.dims(), [b * (t - 1), gf]);
    (delta.powi_scalar(2) * w).sum() / total / f as f64
}

/// psi(s_t), psi(s_{t+1}), phi_{t+1} repeated per head, the weights [n, 1] and their total,
/// over the n = B (T - 1) transitions.
pub(crate) fn shifted(
    psi: Tensor<3>,
    phi: Tensor<3>,
    pair: Tensor<2>,
    heads: usize,
) -> (Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>, Tensor<1>) {
    let [b, t, gf] = psi.dims();
    let f = phi.dims()[2];
    let n = b * (t - 1);
    let now = psi.clone().narrow(1, 0, t - 1).reshape([n, gf]);
    let next = psi.narrow(1, 1, t - 1).reshape([n, gf]);
    let target = phi
        .narrow(1, 1, t - 1)
        .reshape([n, f])
        .detach()
        .repeat_dim(1, heads);
    let total = pair.clone().detach().sum().clamp_min(1e-12);
    (now, next, target, pair.reshape([n, 1]).detach(), total)
}

/// [1, G F]: each head's discount over its F columns.
pub(crate) fn gamma_row(gammas: &[f64], f: usize, device: &Device) -> Tensor<2> {
    let row: Vec<f32> = gammas
        .iter()
        .flat_map(|&g| std::iter::repeat_n(g as f32, f))
        .collect();
    Tensor::<1>::from_floats(row.as_slice(), device).reshape([1, gammas.len() * f])
}

/// The loss on host buffers: sizes [B, T, F] of phi and the heads' discounts.
#[derive(Debug, Clone)]
struct TdKernel {
    dims: [usize; 3],
    gammas: Vec<f32>,
}

impl Kernel for TdKernel {
    /// Inputs [psi, phi, pair]: the loss \[1\]; saved: d loss / d psi when tracked.
    fn forward(&self, [psi, phi, pair, _]: Inputs, tracked: bool) -> (Vec<f32>, Vec<f32>) {
        let (loss, grad) = host_pass(psi, phi, pair, self.dims, &self.gammas, tracked);
        (vec![loss], grad)
    }

    /// The stored gradient scaled by the incoming one; psi only.
    fn backward(&self, p: Backprop) -> [Vec<f32>; 4] {
        p.stored_gradient()
    }
}

/// Loss and, when asked, d loss / d psi, on the host.
fn host_pass(
    psi: &[f32],
    phi: &[f32],
    pair: &[f32],
    [b, t, f]: [usize; 3],
    gammas: &[f32],
    want_grad: bool,
) -> (f32, Vec<f32>) {
    let gf = gammas.len() * f;
    let total = pair.iter().map(|&x| f64::from(x)).sum::<f64>().max(1e-12);
    let scale = 1.0 / (total * f as f64);
    let mut grad = vec![0.0f32; if want_grad { psi.len() } else { 0 }];
    let mut loss = 0.0f64;
    for i in 0..b {
        for k in 0..t.saturating_sub(1) {
            let w = pair[i * (t - 1) + k];
            if w == 0.0 {
                continue;
            }
            let (now, next) = ((i * t + k) * gf, (i * t + k + 1) * gf);
            let target = &phi[(i * t + k + 1) * f..(i * t + k + 2) * f];
            let mut sq = 0.0f32;
            for (g, &gamma) in gammas.iter().enumerate() {
                for (j, &x) in target.iter().enumerate() {
                    let c = g * f + j;
                    let delta = x + gamma * psi[next + c] - psi[now + c];
                    sq += delta * delta;
                    if want_grad {
                        grad[now + c] = (-2.0 * f64::from(w * delta) * scale) as f32;
                    }
                }
            }
            loss += f64::from(w * sq);
        }
    }
    ((loss * scale) as f32, grad)
}
