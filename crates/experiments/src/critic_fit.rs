//! A distributional critic on a world model's latent state: transitions from latent
//! trajectories, offline training, per-step RPEs.

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use neuromod_core::{Noise, Trajectory};
use neuromod_critic::{CriticConfig, DistCritic, Transition};
use neuromod_datasets::SequenceSet;
use neuromod_train::{to_batch, WorldModel};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Latent states and rewards of a set of equal-length sequences.
#[derive(Debug, Clone)]
pub struct Latents {
    /// s_t = [h_t, muq_t]: [n, time, state_dim] (no gradient).
    pub state: Tensor<3>,
    /// r_t, delivered with x_t: [n, time].
    pub reward: Tensor<2>,
    /// A continuing process (the sequence is a window of it: every transition bootstraps)
    /// rather than episodes that end with the sequence.
    pub continuing: bool,
}

impl Latents {
    /// The latent states of `set` (one batch of equal-length sequences, no gradient) under
    /// `model`'s posterior means, with `rewards`; also the trajectory they come from.
    pub fn of(
        model: &WorldModel,
        set: &SequenceSet,
        rewards: &[Vec<f32>],
        continuing: bool,
        device: &Device,
    ) -> (Self, Trajectory) {
        let idx: Vec<usize> = (0..set.len()).collect();
        let batch = to_batch(set, &idx, device);
        let traj = model.forward(&batch, Noise::Mean);
        let state = traj.state().detach();
        let [n, t] = [set.len(), set.steps(0)];
        let flat: Vec<f32> = rewards.iter().flatten().copied().collect();
        let reward = Tensor::from_data(TensorData::new(flat, [n, t]), device);
        let latents = Self {
            state,
            reward,
            continuing,
        };
        (latents, traj)
    }

    /// The same latents copied to `device` (e.g. an autodiff device, to train on).
    pub fn on(&self, device: &Device) -> Self {
        Self {
            state: Tensor::from_data(self.state.to_data(), device),
            reward: Tensor::from_data(self.reward.to_data(), device),
            continuing: self.continuing,
        }
    }

    /// Sequences and steps per sequence.
    pub fn dims(&self) -> [usize; 2] {
        self.reward.dims()
    }

    /// The transitions arriving at steps `from..to` (1 <= from < to <= time), flattened
    /// sequence-major: s_{t-1}, r_t, s_t, and cont 0 at the last step of an episodic sequence
    /// (1 everywhere for a continuing process).
    pub fn transitions(&self, from: usize, to: usize) -> Transition {
        let [n, t] = self.dims();
        assert!(
            1 <= from && from < to && to <= t,
            "steps {from}..{to} of {t}"
        );
        let len = to - from;
        let d = self.state.dims()[2];
        let device = self.state.device();
        let ends = !self.continuing;
        let cont: Vec<f32> = (0..n)
            .flat_map(|_| (from..to).map(move |s| if ends && s + 1 == t { 0.0 } else { 1.0 }))
            .collect();
        Transition {
            state: self
                .state
                .clone()
                .narrow(1, from - 1, len)
                .reshape([n * len, d]),
            reward: self.reward.clone().narrow(1, from, len).reshape([n * len]),
            next_state: self
                .state
                .clone()
                .narrow(1, from, len)
                .reshape([n * len, d]),
            cont: Tensor::from_data(TensorData::new(cont, [n * len]), &device),
            weight: None,
        }
    }
}

/// Rows `idx` of a transition batch.
pub fn select(t: &Transition, idx: &[usize]) -> Transition {
    let device = t.state.device();
    let ids: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [idx.len()]), &device);
    Transition {
        state: t.state.clone().select(0, ids.clone()),
        reward: t.reward.clone().select(0, ids.clone()),
        next_state: t.next_state.clone().select(0, ids.clone()),
        cont: t.cont.clone().select(0, ids.clone()),
        weight: t.weight.clone().map(|w| w.select(0, ids)),
    }
}

/// How the critic is trained offline.
#[derive(Debug, Clone, Copy)]
pub struct FitSettings {
    /// Passes over the transitions.
    pub epochs: usize,
    /// Transitions per Adam step.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of the shuffling.
    pub seed: u64,
}

/// One optimiser step of a critic on a batch of transitions; returns the critic, the
/// optimiser and the (detached) loss, unread.
pub fn critic_step(
    critic: DistCritic,
    mut optim: ModuleOptimizer,
    batch: &Transition,
    lr: f64,
) -> (DistCritic, ModuleOptimizer, Tensor<1>) {
    let out = critic.td(batch);
    let loss = out.loss.clone().detach();
    let grads = GradientsParams::from_grads(out.loss.backward(), &critic);
    let critic = optim.step(lr, critic, grads);
    (critic, optim, loss)
}

/// Trains `critic` (on an autodiff device, like `data`) by Adam on shuffled mini-batches of
/// transitions; no host read.
pub fn fit(critic: DistCritic, data: &Transition, s: FitSettings) -> DistCritic {
    fit_observed(critic, data, s, &mut |_, _| {})
}

/// [`fit`], showing the critic to `on_epoch` before training (epoch 0) and after every epoch
/// (1-based), for analyses over training.
pub fn fit_observed(
    mut critic: DistCritic,
    data: &Transition,
    s: FitSettings,
    on_epoch: &mut dyn FnMut(usize, &DistCritic),
) -> DistCritic {
    let n = data.reward.dims()[0];
    let mut optim = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut order: Vec<usize> = (0..n).collect();
    on_epoch(0, &critic);
    for epoch in 1..=s.epochs {
        order.shuffle(&mut rng);
        for idx in order.chunks(s.batch.max(1)) {
            (critic, optim, _) = critic_step(critic, optim, &select(data, idx), s.lr);
        }
        on_epoch(epoch, &critic);
    }
    critic
}

/// A critic built from `cfg` on `ad` (an autodiff device) and fitted to every transition of
/// `lat`, returned without autodiff.
pub fn train_critic(
    cfg: &CriticConfig,
    lat: &Latents,
    settings: FitSettings,
    ad: &Device,
) -> Result<DistCritic, crate::ExperimentError> {
    train_critic_observed(cfg, lat, settings, ad, &mut |_, _| {})
}

/// [`train_critic`], showing the critic to `on_epoch` as [`fit_observed`] does.
pub fn train_critic_observed(
    cfg: &CriticConfig,
    lat: &Latents,
    settings: FitSettings,
    ad: &Device,
    on_epoch: &mut dyn FnMut(usize, &DistCritic),
) -> Result<DistCritic, crate::ExperimentError> {
    let critic = cfg.init(ad).map_err(|e| {
        crate::ExperimentError::Config(neuromod_core::ConfigError::new("critic", e.to_string()))
    })?;
    let [_, steps] = lat.dims();
    let data = lat.on(ad).transitions(1, steps);
    Ok(fit_observed(critic, &data, settings, on_epoch).valid())
}

/// Per-step RPEs of a critic along latent trajectories: for t >= 1,
/// delta_i(t) = r_t + gamma cont_t V_i(s_t) - V_i(s_{t-1}), averaged over the heads in
/// `groups` (each a list of head indices): one [n, time] tensor per group, 0 at t = 0.
pub fn rpe_groups(critic: &DistCritic, lat: &Latents, groups: &[Vec<usize>]) -> Vec<Tensor<2>> {
    let [n, t] = lat.dims();
    let d = lat.state.dims()[2];
    let heads = critic.heads();
    let device = lat.state.device();
    let v = critic
        .values(lat.state.clone().reshape([n * t, d]))
        .reshape([n, t, heads]);
    let cont = lat.transitions(1, t).cont.reshape([n, t - 1, 1]);
    let r = lat
        .reward
        .clone()
        .narrow(1, 1, t - 1)
        .reshape([n, t - 1, 1]);
    let delta =
        r + v.clone().narrow(1, 1, t - 1) * cont.mul_scalar(critic.gamma) - v.narrow(1, 0, t - 1);
    groups
        .iter()
        .map(|g| {
            let ids: Vec<i64> = g.iter().map(|&i| i as i64).collect();
            let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [g.len()]), &device);
            let mean = delta.clone().select(2, ids).mean_dim(2).reshape([n, t - 1]);
            Tensor::cat(vec![Tensor::zeros([n, 1], &device), mean], 1)
        })
        .collect()
}

/// Discounted returns G_t = sum_{k >= 1} gamma^(k-1) r_{t+k} of each sequence. With
/// `period` = None the sequence is an episode that ends with it; with Some(p) it is a window
/// of a process whose last p rewards repeat for ever (the exact infinite-horizon return of a
/// process that is periodic from its last p steps on).
pub fn returns(rewards: &[Vec<f32>], gamma: f64, period: Option<usize>) -> Vec<Vec<f64>> {
    rewards
        .iter()
        .map(|r| {
            let n = r.len();
            // The return from the last step: 0 for an episode; for a periodic tail, the
            // geometric sum over one period divided by 1 - gamma^p.
            let tail = match period {
                Some(p) if p >= 1 && p <= n => {
                    let cycle: f64 = (1..=p)
                        .map(|k| gamma.powi(k as i32 - 1) * r[n - 1 - p + k] as f64)
                        .sum();
                    cycle / (1.0 - gamma.powi(p as i32))
                }
                _ => 0.0,
            };
            let mut g = vec![0.0; n];
            if n > 0 {
                g[n - 1] = tail;
            }
            for t in (0..n.saturating_sub(1)).rev() {
                g[t] = r[t + 1] as f64 + gamma * g[t + 1];
            }
            g
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_of_a_known_reward_stream() {
        // Rewards at steps 2 and 4, gamma 0.5: G_0 = 0.5 * 1 + 0.5^3 * 2.
        let g = returns(&[vec![0.0, 0.0, 1.0, 0.0, 2.0]], 0.5, None);
        assert_eq!(g[0], vec![0.75, 1.5, 1.0, 2.0, 0.0]);
    }

    #[test]
    fn periodic_returns_equal_the_closed_form_value_of_a_cycle() {
        // Reward 1 every 5 steps, for ever: the step right after a reward is worth
        // gamma^4 / (1 - gamma^5), the step before one 1 / (1 - gamma^5).
        let gamma = 0.9f64;
        let r: Vec<f32> = (0..23)
            .map(|t| if t % 5 == 0 { 1.0 } else { 0.0 })
            .collect();
        let g = &returns(&[r], gamma, Some(5))[0];
        let cycle = 1.0 - gamma.powi(5);
        for (t, &v) in g.iter().enumerate() {
            let k = 5 - t % 5; // steps to the next reward
            let exact = gamma.powi(k as i32 - 1) / cycle;
            assert!((v - exact).abs() < 1e-12, "step {t}: {v} vs {exact}");
        }
    }

    #[allow(deprecated)]
    #[test]
    fn transitions_pair_consecutive_steps_and_end_episodes() {
        let device = Device::ndarray();
        // 2 sequences x 3 steps, state = [10 * i + t], reward = 100 * i + t.
        let state: Vec<f32> = (0..2)
            .flat_map(|i| (0..3).map(move |t| (10 * i + t) as f32))
            .collect();
        let reward: Vec<f32> = (0..2)
            .flat_map(|i| (0..3).map(move |t| (100 * i + t) as f32))
            .collect();
        let lat = |continuing| Latents {
            state: Tensor::from_data(TensorData::new(state.clone(), [2, 3, 1]), &device),
            reward: Tensor::from_data(TensorData::new(reward.clone(), [2, 3]), &device),
            continuing,
        };
        let v = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().unwrap();
        let tr = lat(false).transitions(1, 3);
        assert_eq!(v(tr.state.reshape([4])), vec![0.0, 1.0, 10.0, 11.0]);
        assert_eq!(v(tr.next_state.reshape([4])), vec![1.0, 2.0, 11.0, 12.0]);
        assert_eq!(v(tr.reward), vec![1.0, 2.0, 101.0, 102.0]);
        assert_eq!(v(tr.cont), vec![1.0, 0.0, 1.0, 0.0]);
        assert_eq!(v(lat(true).transitions(2, 3).cont), vec![1.0, 1.0]);
    }
}
