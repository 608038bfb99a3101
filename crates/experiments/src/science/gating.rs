//! SPE-gated reward learning on the contingency-switch task.
//!
//! The essay's hypothesis: reward learning should slow while the state itself is uncertain.
//! A critic on the world model's latent state first learns the old contingency offline (the
//! transitions before the switch in the training sequences). Then it keeps learning online on
//! held-out sequences, one SGD step per time step from the switch on (all sequences in
//! parallel), its learning rate for each transition scaled by g(KL_t), a decreasing function
//! of the one-step surprise of the step the transition arrives at:
//!
//!   g(k) = c / (1 + k / kappa),
//!
//! kappa = the median one-step KL over the training steps, and c chosen so that g averages 1
//! over the training steps after the switch: gating moves learning away from surprising steps
//! without changing the mean learning rate, so the ungated critic (g = 1) is a fair control.
//! The measure is the value error |mean_i V_i(s_t) - G_t| against the exact discounted
//! return of the continuing process (the new cycle repeats for ever after the sequence ends),
//! before each update, averaged over sequences.

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use neuromod_core::ConfigError;
use neuromod_critic::{CriticConfig, DistCritic, Transition};
use serde::{Deserialize, Serialize};

use crate::critic_fit::{fit, returns, select, FitSettings, Latents};
use crate::{host, ExperimentError};

/// Settings of the gating experiment.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct GatingSettings {
    /// SGD learning rate of the online phase (before gating).
    pub lr: f64,
    /// Offline passes over the pre-switch training transitions.
    pub pretrain_epochs: usize,
    /// Adam learning rate of the offline phase.
    pub pretrain_lr: f64,
}

impl Default for GatingSettings {
    fn default() -> Self {
        Self {
            lr: 0.05,
            pretrain_epochs: 60,
            pretrain_lr: 1e-3,
        }
    }
}

/// What the gating experiment needs from a switch-task run.
pub struct Inputs<'a> {
    /// Latents and rewards of the training sequences (autodiff device).
    pub train: &'a Latents,
    /// One-step KL of every training step, flattened [n, time].
    pub train_kl: &'a [f32],
    /// Latents and rewards of the held-out sequences (inner device).
    pub eval: &'a Latents,
    /// One-step KL of the held-out steps: [n, time].
    pub eval_kl: Tensor<2>,
    /// Rewards of the held-out sequences.
    pub eval_rewards: &'a [Vec<f32>],
    /// First step under the new rule.
    pub switch_step: usize,
    /// Period of the cycle after the switch (the return is taken over its infinite repetition).
    pub period: usize,
    /// Seed.
    pub seed: u64,
}

/// One seed's gating result: value errors per online step, from the switch on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatingRun {
    /// kappa: median one-step KL over training steps (nats).
    pub kappa: f64,
    /// c: the normalisation that makes g average 1 after the switch.
    pub scale: f64,
    /// Error of the critic that keeps learning with g = 1.
    pub ungated: Vec<f64>,
    /// Error of the critic whose learning rate is scaled by g(KL_t).
    pub gated: Vec<f64>,
    /// Error of the pretrained critic without online learning (reference).
    pub frozen: Vec<f64>,
    /// Mean g on the first five steps after the switch and on the rest (held-out steps).
    pub gate_early_late: (f64, f64),
}

/// The median (0 when empty).
pub(crate) fn median(values: &mut [f32]) -> f64 {
    values.sort_by(f32::total_cmp);
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0
    }
}

/// The gate g(k) = scale / (1 + k / kappa).
pub fn gate(kl: f64, kappa: f64, scale: f64) -> f64 {
    scale / (1.0 + kl / kappa.max(1e-12))
}

/// Runs the experiment for one seed on the autodiff device `ad`.
pub fn run(
    critic_cfg: &CriticConfig,
    settings: &GatingSettings,
    inp: Inputs<'_>,
    ad: &Device,
) -> Result<GatingRun, ExperimentError> {
    let [n_train, steps] = inp.train.dims();
    let switch = inp.switch_step;
    if !(2..steps).contains(&switch) {
        return Err(ExperimentError::Config(ConfigError::new(
            "switch_step",
            format!("{switch} is not inside 2..{steps}"),
        )));
    }
    // kappa and the scale, from the training steps (t >= 1).
    let mut kls: Vec<f32> = (0..n_train)
        .flat_map(|i| inp.train_kl[i * steps + 1..(i + 1) * steps].iter().copied())
        .collect();
    let kappa = median(&mut kls);
    let after: Vec<f64> = (0..n_train)
        .flat_map(|i| inp.train_kl[i * steps + switch..(i + 1) * steps].iter())
        .map(|&k| gate(k as f64, kappa, 1.0))
        .collect();
    let scale = after.len() as f64 / after.iter().sum::<f64>().max(1e-12);

    // Pretrain on the old contingency.
    let pre = inp.train.transitions(1, switch);
    let critic = critic_cfg
        .init(ad)
        .map_err(|e| ExperimentError::Config(ConfigError::new("critic", e.to_string())))?;
    let pretrained = fit(
        critic,
        &pre,
        FitSettings {
            epochs: settings.pretrain_epochs,
            batch: 256,
            lr: settings.pretrain_lr,
            seed: inp.seed,
        },
    );

    // Held-out streams on the autodiff device, returns and gates.
    let [n, _] = inp.eval.dims();
    let eval = Latents {
        state: Tensor::from_data(inp.eval.state.to_data(), ad),
        reward: Tensor::from_data(inp.eval.reward.to_data(), ad),
        continuing: true,
    };
    let g_returns: Vec<f32> = returns(inp.eval_rewards, critic_cfg.gamma, Some(inp.period))
        .into_iter()
        .flatten()
        .map(|v| v as f32)
        .collect();
    let g_returns = Tensor::<2>::from_data(TensorData::new(g_returns, [n, steps]), ad);
    let kl = host(inp.eval_kl, "KL")?;
    let gates: Vec<f32> = kl
        .iter()
        .map(|&k| gate(k as f64, kappa, scale) as f32)
        .collect();
    let early_late = {
        let mean = |from: usize, to: usize| {
            let v: Vec<f64> = (0..n)
                .flat_map(|i| (from..to).map(move |t| i * steps + t))
                .map(|k| gates[k] as f64)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        (
            mean(switch, (switch + 5).min(steps)),
            mean((switch + 5).min(steps), steps),
        )
    };
    let gates = Tensor::<2>::from_data(TensorData::new(gates, [n, steps]), ad);
    let online = eval.transitions(1, steps);

    let run_online =
        |mut critic: DistCritic, gated: Option<bool>| -> Result<Vec<f64>, ExperimentError> {
            let mut optim = SgdConfig::new().init();
            let mut errors = Vec::with_capacity(steps - switch);
            for t in switch..steps {
                // Transition (t-1 -> t) of every stream: rows i * (steps - 1) + (t - 1).
                let rows: Vec<usize> = (0..n).map(|i| i * (steps - 1) + t - 1).collect();
                let mut tr: Transition = select(&online, &rows);
                let v = critic
                    .values(tr.state.clone())
                    .detach()
                    .mean_dim(1)
                    .reshape([n]);
                let target = g_returns.clone().narrow(1, t - 1, 1).reshape([n]);
                errors.push((v - target).abs().mean());
                if let Some(g) = gated {
                    if g {
                        tr.weight = Some(gates.clone().narrow(1, t, 1).reshape([n]));
                    }
                    let out = critic.td(&tr);
                    let grads = GradientsParams::from_grads(out.loss.backward(), &critic);
                    critic = optim.step(settings.lr, critic, grads);
                }
            }
            // One read for the whole run.
            let e = host(Tensor::cat(errors, 0), "value errors")?;
            Ok(e.into_iter().map(f64::from).collect())
        };
    Ok(GatingRun {
        kappa,
        scale,
        ungated: run_online(pretrained.clone(), Some(false))?,
        gated: run_online(pretrained.clone(), Some(true))?,
        frozen: run_online(pretrained, None)?,
        gate_early_late: early_late,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic switch-task latents: one-hot of the true state (5) and the regime (2); a
    /// 5-cycle s -> s+1 that becomes s -> s+2 at `switch`, reward 1 at state 0.
    fn synthetic(
        n: usize,
        steps: usize,
        switch: usize,
        device: &Device,
    ) -> (Latents, Vec<Vec<f32>>) {
        let (mut state, mut rewards) = (Vec::new(), Vec::new());
        for i in 0..n {
            let mut s = i % 5;
            let mut r = Vec::new();
            for t in 0..steps {
                if t > 0 {
                    s = (s + if t >= switch { 2 } else { 1 }) % 5;
                }
                let mut row = [0f32; 7];
                row[s] = 1.0;
                row[5 + usize::from(t >= switch)] = 1.0;
                state.extend_from_slice(&row);
                r.push(if s == 0 { 1.0 } else { 0.0 });
            }
            rewards.push(r);
        }
        let flat: Vec<f32> = rewards.iter().flatten().copied().collect();
        (
            Latents {
                state: Tensor::from_data(TensorData::new(state, [n, steps, 7]), device),
                reward: Tensor::from_data(TensorData::new(flat, [n, steps]), device),
                continuing: true,
            },
            rewards,
        )
    }

    #[allow(deprecated)]
    fn run_with(kl_at_switch: f32) -> GatingRun {
        let device = Device::ndarray();
        let ad = device.clone().autodiff();
        ad.seed(0);
        let (steps, switch) = (70, 20);
        let (train, _) = synthetic(20, steps, switch, &ad);
        let (eval, eval_rewards) = synthetic(10, steps, switch, &device);
        // Surprise 0.1 everywhere but on the switch step.
        let kl_of = |n: usize| -> Vec<f32> {
            (0..n * steps)
                .map(|k| {
                    if k % steps == switch {
                        kl_at_switch
                    } else {
                        0.1
                    }
                })
                .collect()
        };
        let eval_kl = Tensor::from_data(TensorData::new(kl_of(10), [10, steps]), &device);
        let cfg = CriticConfig::new(7)
            .with_heads(4)
            .with_layers(0)
            .with_zero_init(true);
        let settings = GatingSettings {
            lr: 0.5,
            pretrain_epochs: 300,
            pretrain_lr: 0.05,
        };
        run(
            &cfg,
            &settings,
            Inputs {
                train: &train,
                train_kl: &kl_of(20),
                eval: &eval,
                eval_kl,
                eval_rewards: &eval_rewards,
                switch_step: switch,
                period: 5,
                seed: 0,
            },
            &ad,
        )
        .unwrap()
    }

    #[test]
    fn uniform_surprise_gates_nothing_and_online_learning_relearns_the_new_rule() {
        // Equal surprise everywhere: g = 1 on every step, so gated and ungated are identical.
        let flat = run_with(0.1);
        // kappa = the median 0.1, so g = c / 2 everywhere and c = 2 makes it 1.
        assert_eq!(flat.scale, 2.0);
        assert_eq!(flat.gated, flat.ungated);
        // The critic learnt the old rule only; learning online brings the error down below
        // the frozen critic's by the end.
        let tail = |v: &[f64]| v[v.len() - 5..].iter().sum::<f64>() / 5.0;
        assert!(
            tail(&flat.ungated) < 0.7 * tail(&flat.frozen),
            "ungated {:?} frozen {:?}",
            flat.ungated,
            flat.frozen
        );
        // A surprise at the switch: its gate is far below the rest, and the two runs differ.
        let peaked = run_with(5.0);
        assert!(peaked.gate_early_late.0 < peaked.gate_early_late.1);
        assert_ne!(peaked.gated, peaked.ungated);
    }

    #[test]
    fn gate_decreases_with_surprise_and_median_is_exact() {
        assert_eq!(gate(0.0, 2.0, 1.5), 1.5);
        assert_eq!(gate(2.0, 2.0, 1.0), 0.5);
        assert!(gate(10.0, 2.0, 1.0) < gate(1.0, 2.0, 1.0));
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
