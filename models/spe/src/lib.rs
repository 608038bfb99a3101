//! State prediction errors (one-step latent errors; successor features after Dayan 1993 and
//! Barreto et al. 2017), read from the world model's own forward pass.
//!
//! A one-step SPE is the posterior mean's distance from the prior's, in prior standard
//! deviations: with the prior at 0 (sd 1) and the posterior at (3, 4), its norm is 5.
//!
//! ```
//! use burn::prelude::*;
//! use neuromod_core::{ElboTerms, Trajectory};
//!
//! # #[allow(deprecated)]
//! let device = Device::ndarray();
//! let zeros = Tensor::<2>::zeros([1, 1], &device);
//! let traj = Trajectory {
//!     elbo: ElboTerms { kl: zeros.clone(), nll: zeros.clone(), reward_nll: None,
//!                       mask: Tensor::ones([1, 1], &device) },
//!     prior: (Tensor::zeros([1, 1, 2], &device), Tensor::ones([1, 1, 2], &device)),
//!     posterior: (Tensor::from_floats([[[3.0, 4.0]]], &device), Tensor::ones([1, 1, 2], &device)),
//!     h: Tensor::zeros([1, 1, 1], &device),
//! };
//! let norm: f32 = neuromod_spe::one_step(&traj).norm.into_scalar();
//! assert!((norm - 5.0).abs() < 1e-6);
//! ```
//!
//! - [`one_step`]: e_t = (muq_t - mu0_t) / sigma0_t, its L2 norm and the surprise
//!   KL(q_t || p_t), per step and batch element, from a [`Trajectory`] (no second pass).
//! - [`SfHeads`]: successor-feature heads psi_gamma(s_t) on s_t = [h_t, muq_t] for several
//!   gammas, features phi_t = muq_t standardised by running statistics, semi-gradient TD.
//!   [`SfHeads::td`] works on any batch of transitions (the tabular check path feeds one-hot
//!   states of a Markov chain); [`SfHeads::sequence_td`] on a world-model trajectory.

#![forbid(unsafe_code)]

use burn::module::RunningState;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use neuromod_core::{linear_parts, Mlp, Trajectory};
use neuromod_kernels::{dense_stack, grouped_dense_stack, Layer};

mod sequence_td;
#[cfg(test)]
mod tests;

use sequence_td::{gamma_row, shifted};
pub use sequence_td::{sequence_td_loss, sequence_td_loss_composed, SequenceTd};

/// One-step SPE of every step: padding steps are zero.
#[derive(Debug, Clone)]
pub struct OneStep {
    /// e_t = (muq_t - mu0_t) / sigma0_t: [batch, time, z_dim].
    pub vec: Tensor<3>,
    /// ||e_t||_2: [batch, time].
    pub norm: Tensor<2>,
    /// KL(q_t || p_t) in nats: [batch, time].
    pub kl: Tensor<2>,
}

/// One-step SPE of a trajectory (its prior, posterior and per-step KL).
pub fn one_step(traj: &Trajectory) -> OneStep {
    let (mu0, sigma0) = traj.prior.clone();
    let (muq, _) = traj.posterior.clone();
    let mask = traj.elbo.mask.clone();
    let [b, t] = mask.dims();
    let vec = (muq - mu0) / sigma0 * mask.reshape([b, t, 1]);
    let norm = vec.clone().powi_scalar(2).sum_dim(2).sqrt().reshape([b, t]);
    OneStep {
        vec,
        norm,
        kl: traj.elbo.kl.clone(),
    }
}

/// A configuration value that cannot build SF heads.
#[derive(Debug, Clone, thiserror::Error)]
#[error("successor-feature config field `{field}`: {reason}")]
pub struct SfError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// Shape of the successor-feature heads.
#[derive(Config, Debug)]
pub struct SfConfig {
    /// Width of the state s_t (h_dim + z_dim for a VRNN).
    pub state_dim: usize,
    /// Width of the features phi (z_dim for a VRNN).
    pub feature_dim: usize,
    /// Discounts, one head each.
    #[config(default = "vec![0.0, 0.5, 0.9, 0.99]")]
    pub gammas: Vec<f64>,
    /// Hidden ReLU layers of each head (0: linear in the state).
    #[config(default = 1)]
    pub layers: usize,
    /// Hidden width (64 keeps the SPE cost under 15% of a bench-config training step).
    #[config(default = 64)]
    pub hidden: usize,
    /// Weight of each new batch in the running feature statistics.
    #[config(default = 0.01)]
    pub stats_momentum: f64,
}

impl SfConfig {
    /// Rejects values that cannot work, naming the field.
    pub fn check(&self) -> Result<(), SfError> {
        let bad = |field, reason: String| Err(SfError { field, reason });
        if self.state_dim == 0 || self.feature_dim == 0 {
            return bad(
                "state_dim",
                "state and feature widths must be at least 1".into(),
            );
        }
        if self.gammas.is_empty() {
            return bad("gammas", "give at least one discount".into());
        }
        if let Some(g) = self.gammas.iter().find(|g| !(**g >= 0.0 && **g < 1.0)) {
            return bad("gammas", format!("every gamma must lie in [0, 1), got {g}"));
        }
        if !(self.stats_momentum > 0.0 && self.stats_momentum <= 1.0) {
            return bad(
                "stats_momentum",
                format!("must lie in (0, 1], got {}", self.stats_momentum),
            );
        }
        if self.layers > 0 && self.hidden == 0 {
            return bad("hidden", "must be at least 1 when layers > 0".into());
        }
        Ok(())
    }

    /// Builds the heads on `device`; statistics start at mean 0, variance 1.
    pub fn init(&self, device: &Device) -> Result<SfHeads, SfError> {
        self.check()?;
        let heads = self
            .gammas
            .iter()
            .map(|_| {
                let trunk = Mlp::new(self.state_dim, self.hidden, self.layers, device);
                let out =
                    LinearConfig::new(trunk.out_dim(self.state_dim), self.feature_dim).init(device);
                SfHead { trunk, out }
            })
            .collect();
        Ok(SfHeads {
            heads,
            mean: RunningState::new(Tensor::zeros([self.feature_dim], device)),
            var: RunningState::new(Tensor::ones([self.feature_dim], device)),
            gammas: self.gammas.clone(),
            momentum: self.stats_momentum,
        })
    }
}

/// One successor head psi_gamma.
#[derive(Module, Debug)]
pub struct SfHead {
    /// Hidden layers on s_t.
    pub trunk: Mlp,
    /// Output: one value per feature.
    pub out: Linear,
}

/// Successor-feature heads for several gammas, with the feature statistics they share.
#[derive(Module, Debug)]
pub struct SfHeads {
    /// One head per gamma.
    pub heads: Vec<SfHead>,
    /// Running mean of the raw features (saved with the weights).
    pub mean: RunningState<Tensor<1>>,
    /// Running variance of the raw features (saved with the weights).
    pub var: RunningState<Tensor<1>>,
    /// Discount of each head.
    #[module(skip)]
    pub gammas: Vec<f64>,
    /// Statistics momentum.
    #[module(skip)]
    pub momentum: f64,
}

/// A batch of transitions for [`SfHeads::td`].
#[derive(Debug, Clone)]
pub struct SfTransition {
    /// s_t: [n, state_dim].
    pub state: Tensor<2>,
    /// s_{t+1}: [n, state_dim].
    pub next_state: Tensor<2>,
    /// phi_{t+1} (already standardised): [n, feature_dim].
    pub next_features: Tensor<2>,
    /// Loss weight of each transition (1 for a real one, 0 for padding, or P(s'|s)): \[n\].
    pub weight: Tensor<1>,
}

/// TD errors of every head.
#[derive(Debug, Clone)]
pub struct SfTd {
    /// Semi-gradient TD loss, summed over heads: \[1\].
    pub loss: Tensor<1>,
    /// Per gamma, delta = phi' + gamma psi(s') - psi(s): [n, feature_dim] (no gradient).
    pub delta: Vec<Tensor<2>>,
}

/// SF TD errors over a trajectory.
#[derive(Debug, Clone)]
pub struct SequenceSf {
    /// Semi-gradient TD loss over real transitions, summed over heads: \[1\].
    pub loss: Tensor<1>,
    /// Per gamma, delta_t for the transition t -> t+1: [batch, time, feature_dim]; zero at
    /// the last real step of each sequence and on padding.
    pub delta: Vec<Tensor<3>>,
    /// Per gamma, ||delta_t||_2 / sqrt(feature_dim): [batch, time].
    pub rms: Vec<Tensor<2>>,
}

impl SfHeads {
    /// psi_gamma(s) for head `k`: [n, state_dim] -> [n, feature_dim] (trunk and output layer
    /// as one dense stack, fused on the CPU backends).
    pub fn psi(&self, k: usize, state: Tensor<2>) -> Tensor<2> {
        let head = &self.heads[k];
        let mut layers = head.trunk.parts();
        layers.push(linear_parts(&head.out));
        dense_stack(state, &layers, false)
    }

    /// Every head's psi(s) side by side: [n, state_dim] -> [n, heads x feature_dim], head k in
    /// columns k F..(k + 1) F. One grouped dense stack: on the CPU backends the heads' first
    /// layers are one product and the whole is one fused operation.
    pub fn psi_all(&self, state: Tensor<2>) -> Tensor<2> {
        let groups: Vec<Vec<Layer>> = self
            .heads
            .iter()
            .map(|head| {
                let mut layers = head.trunk.parts();
                layers.push(linear_parts(&head.out));
                layers
            })
            .collect();
        grouped_dense_stack(state, &groups, false)
    }

    /// Semi-gradient TD of every head at once, given psi(s) (with gradient) and psi(s')
    /// (without) of all heads side by side [n, heads F], the targets phi' repeated per head
    /// [n, heads F], and the transitions' weights [n, 1] with their total: the loss sums over
    /// heads the weighted mean over transitions of ||phi' + gamma psi(s') - psi(s)||^2 / F.
    fn heads_td(
        &self,
        now: Tensor<2>,
        next: Tensor<2>,
        target: Tensor<2>,
        (w, total): (Tensor<2>, Tensor<1>),
    ) -> SfTd {
        let [n, gf] = now.dims();
        let heads = self.gammas.len();
        let f = gf / heads;
        let gamma = gamma_row(&self.gammas, f, &now.device());
        let delta = target + next.detach() * gamma - now;
        let loss = (delta.clone().powi_scalar(2) * w).sum() / total / f as f64;
        let delta = delta.detach();
        SfTd {
            loss,
            delta: (0..heads)
                .map(|k| delta.clone().narrow(1, k * f, f).reshape([n, f]))
                .collect(),
        }
    }

    /// Standardises raw features with the running statistics: (x - mean) / sqrt(var + 1e-5).
    pub fn features(&self, raw: Tensor<3>) -> Tensor<3> {
        let d = self.mean.value().dims()[0];
        let device = raw.device();
        let mean = self.mean.value_sync().to_device(&device).reshape([1, 1, d]);
        let std = self
            .var
            .value_sync()
            .to_device(&device)
            .add_scalar(1e-5)
            .sqrt()
            .reshape([1, 1, d]);
        (raw - mean) / std
    }

    /// Moves the running statistics toward the masked batch statistics of `raw` [b, t, d].
    /// Training only: evaluation leaves them frozen. No host read.
    pub fn update_stats(&self, raw: Tensor<3>, mask: Tensor<2>) {
        let raw = raw.detach();
        let [b, t, d] = raw.dims();
        let m = mask.detach().reshape([b, t, 1]);
        let count = m.clone().sum().clamp_min(1.0).reshape([1, 1, 1]);
        let mean = (raw.clone() * m.clone()).sum_dim(1).sum_dim(0) / count.clone();
        let var = ((raw - mean.clone()).powi_scalar(2) * m)
            .sum_dim(1)
            .sum_dim(0)
            / count;
        let a = self.momentum;
        let blend = |old: Tensor<1>, new: Tensor<3>| {
            old.to_device(&new.device()).mul_scalar(1.0 - a) + new.reshape([d]).mul_scalar(a)
        };
        self.mean.update(blend(self.mean.value_sync(), mean));
        self.var.update(blend(self.var.value_sync(), var));
    }

    /// Semi-gradient TD on a batch of transitions: targets carry no gradient.
    pub fn td(&self, t: &SfTransition) -> SfTd {
        let n = t.next_features.dims()[0];
        let phi = t.next_features.clone().detach();
        let w = t.weight.clone().detach().reshape([n, 1]);
        let total = t.weight.clone().detach().sum().clamp_min(1e-12);
        let now = self.psi_all(t.state.clone());
        let next = self.psi_all(t.next_state.clone());
        let target = phi.repeat_dim(1, self.gammas.len());
        self.heads_td(now, next, target, (w, total))
    }

    /// The SF TD loss along a trajectory alone (what training needs, one fused operation on
    /// the CPU backends; [`Self::sequence_td`] also lays out every delta and its RMS per step).
    pub fn sequence_loss(&self, traj: &Trajectory, detach_state: bool) -> Tensor<1> {
        match self.sequence_parts(traj, detach_state) {
            Some((psi, phi, pair)) => sequence_td_loss(psi, phi, pair, &self.gammas),
            None => Tensor::zeros([1], &traj.elbo.mask.device()),
        }
    }

    /// psi of every head at every step [batch, time, heads F], the standardised features
    /// [batch, time, F] and which transitions t -> t+1 are real [batch, time - 1]; None for
    /// sequences shorter than two steps.
    fn sequence_parts(
        &self,
        traj: &Trajectory,
        detach_state: bool,
    ) -> Option<(Tensor<3>, Tensor<3>, Tensor<2>)> {
        let (muq, _) = traj.posterior.clone();
        let mask = traj.elbo.mask.clone();
        let [b, t, z] = muq.dims();
        if t < 2 {
            return None;
        }
        let mut state = traj.state();
        if detach_state {
            state = state.detach();
        }
        let width = state.dims()[2];
        let phi = self.features(muq).detach();
        // A transition is real when both of its steps are.
        let pair = (mask.clone().narrow(1, 0, t - 1) * mask.narrow(1, 1, t - 1)).detach();
        // psi of every head over every step at once; s_t and s_{t+1} are its shifted views.
        let psi =
            self.psi_all(state.reshape([b * t, width]))
                .reshape([b, t, self.gammas.len() * z]);
        Some((psi, phi, pair))
    }

    /// TD errors over the trajectory's transitions t -> t+1 and which of them are real
    /// ([batch, time - 1]); None for sequences shorter than two steps.
    fn transitions_td(&self, traj: &Trajectory, detach_state: bool) -> Option<(SfTd, Tensor<2>)> {
        let (psi, phi, pair) = self.sequence_parts(traj, detach_state)?;
        let (now, next, target, w, total) = shifted(psi, phi, pair.clone(), self.gammas.len());
        Some((self.heads_td(now, next, target, (w, total)), pair))
    }

    /// TD errors along a trajectory: s_t = [h_t, muq_t], phi_t = standardised muq_t.
    /// `detach_state` trains the heads on a frozen world model (`--sf frozen`); otherwise the
    /// TD loss also reaches the world model through s_t (`--sf joint`).
    pub fn sequence_td(&self, traj: &Trajectory, detach_state: bool) -> SequenceSf {
        let [b, t, z] = traj.posterior.0.dims();
        let device = traj.elbo.mask.device();
        let Some((out, pair)) = self.transitions_td(traj, detach_state) else {
            let zeros3 = Tensor::<3>::zeros([b, t, z], &device);
            let zeros2 = Tensor::<2>::zeros([b, t], &device);
            return SequenceSf {
                loss: Tensor::zeros([1], &device),
                delta: self.gammas.iter().map(|_| zeros3.clone()).collect(),
                rms: self.gammas.iter().map(|_| zeros2.clone()).collect(),
            };
        };
        let pad = Tensor::<3>::zeros([b, 1, z], &device);
        let pair3 = pair.reshape([b, t - 1, 1]);
        let delta: Vec<Tensor<3>> = out
            .delta
            .into_iter()
            .map(|d| {
                Tensor::cat(
                    vec![d.reshape([b, t - 1, z]) * pair3.clone(), pad.clone()],
                    1,
                )
            })
            .collect();
        let rms = delta
            .iter()
            .map(|d| {
                d.clone()
                    .powi_scalar(2)
                    .sum_dim(2)
                    .div_scalar(z as f64)
                    .sqrt()
                    .reshape([b, t])
            })
            .collect();
        SequenceSf {
            loss: out.loss,
            delta,
            rms,
        }
    }
}
