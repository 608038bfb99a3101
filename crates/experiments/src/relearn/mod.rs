//! `neuromod bench relearn`: a real contingency switch. Per seed, a world model learns the old
//! rule of the switch task only (a 5-cycle s -> s + 1, reward 1 at state 0); then one long
//! held-out stream switches to s -> s + 2 at a random step, and the world model keeps learning
//! online (a few Adam steps on the most recent steps after every window of them). What it
//! measures, per step of the stream and before any learning on that step: the one-step SPE
//! (its rise at the switch and its decay as the model relearns, against a world model that stops
//! learning), the KL surprise and the posterior's uncertainty (mean sigma_q). With `flip` > 0
//! every pixel of the old rule's sequences and of the stream is flipped with that probability.
//!
//! A critic pretrained on the old rule's latents then learns online along the stream (one SGD
//! step per transition) under each condition of [`CONDITIONS`]: its learning rate scaled by a
//! gate of the arriving step's KL surprise or posterior uncertainty, damped
//! (g = c / (1 + u / kappa)) or boosted (g = c (1 + u / kappa)), with kappa (the median of u)
//! and c (g averages 1) normalised on the stream's steps so far or on the last `gate_window`
//! of them, so no gate reads the future; ungated; paused by an oracle for `oracle_pause` steps
//! from the true switch; or not learning at all. The measures are the value error
//! |mean_i V_i(s_t) - G_t| against the exact discounted return of the stream, and the steps
//! it takes to reach the report's criterion.

pub mod conditions;
mod config;
mod experiment;
mod gates;
pub mod report;

use neuromod_core::ConfigError;
use std::path::Path;

use burn::prelude::*;
use burn::tensor::TensorData;
use neuromod_core::{ModelSpec, Noise, SeqBatch};
use neuromod_critic::{CriticConfig, CriticLoss};
use neuromod_datasets::tasks::SwitchTask;
use neuromod_datasets::SequenceSet;
use neuromod_spe::one_step;
use neuromod_train::{to_batch, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::critic_fit::{fit, returns, FitSettings, Latents};
use crate::world_fit::{fit_world, WorldSpec};
use crate::{host, ExperimentError};

pub use conditions::{CONDITIONS, FROZEN};
pub use config::RelearnConfig;
pub use gates::{normalise, running_gates, window_gates, Shape};

/// One seed's result; per-step vectors cover the whole stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelearnRun {
    /// Seed.
    pub seed: u64,
    /// First step under the new rule.
    pub switch: usize,
    /// Best validation bound of the old-rule world model.
    pub valid_bound: f64,
    /// One-step SPE norm per stream step, the world model learning online.
    pub spe: Vec<f64>,
    /// The same with a world model that does not learn online.
    pub spe_frozen: Vec<f64>,
    /// KL surprise per step (learning world model).
    pub kl: Vec<f64>,
    /// Mean posterior standard deviation per step (learning world model).
    pub sigma: Vec<f64>,
    /// The KL gate per step.
    pub gate_kl: Vec<f64>,
    /// The uncertainty gate per step.
    pub gate_sigma: Vec<f64>,
    /// The recent-window gates per step: KL damped, uncertainty damped, KL boosted,
    /// uncertainty boosted (empty in results that predate them).
    #[serde(default)]
    pub window_gates: Vec<Vec<f64>>,
    /// Value error per transition t - 1 -> t (t = 1..T), per condition of [`CONDITIONS`].
    pub errors: Vec<Vec<f64>>,
}

/// Windows of the online phase: (first step read, window start, window end) with the context
/// running from the first step read to the window's end.
pub fn windows(steps: usize, window: usize, context: usize) -> Vec<(usize, usize, usize)> {
    (0..steps)
        .step_by(window.max(1))
        .map(|t0| {
            let end = (t0 + window).min(steps);
            (end.saturating_sub(context.max(end - t0)), t0, end)
        })
        .collect()
}

/// Rows `from..to` of a one-sequence set as a batch [1, to - from, D] on `device`.
fn slice(stream: &SequenceSet, (from, to): (usize, usize), device: &Device) -> SeqBatch {
    let d = stream.dim;
    let x = &stream.sequences[0][from * d..to * d];
    let x = Tensor::<3>::from_data(TensorData::new(x.to_vec(), [1, to - from, d]), device);
    SeqBatch::new(x, Tensor::ones([1, to - from], device))
}

/// Per-step signals of the stream, each read before the world model learns on its step.
struct Online {
    spe: Vec<f64>,
    kl: Vec<f64>,
    sigma: Vec<f64>,
    /// Latent states s_t: [1, T, S] (inner device).
    state: Tensor<3>,
}

/// Runs the stream window by window: the model reads the context, its signals on the window's
/// steps are kept, then it takes `updates` Adam steps on the context. One host read per window.
fn online(
    trainer: &mut Trainer,
    stream: &SequenceSet,
    c: &RelearnConfig,
    device: &Device,
) -> Result<Online, ExperimentError> {
    let ad = device.clone().autodiff();
    let (mut spe, mut kl, mut sigma, mut states) = (vec![], vec![], vec![], vec![]);
    for (from, t0, end) in windows(c.stream_steps, c.window, c.context) {
        let batch = slice(stream, (from, end), device);
        let traj = trainer.model().valid().forward(&batch, Noise::Mean);
        let keep = |t: Tensor<2>| t.narrow(1, t0 - from, end - t0).reshape([end - t0]);
        let sig = traj
            .posterior
            .1
            .clone()
            .mean_dim(2)
            .reshape([1, end - from]);
        let one = one_step(&traj);
        let read = host(
            Tensor::cat(vec![keep(one.norm), keep(one.kl), keep(sig)], 0),
            "online signals",
        )?;
        let n = end - t0;
        spe.extend(read[..n].iter().map(|&v| v as f64));
        kl.extend(read[n..2 * n].iter().map(|&v| v as f64));
        sigma.extend(read[2 * n..].iter().map(|&v| v as f64));
        states.push(traj.state().narrow(1, t0 - from, n));
        let batch = slice(stream, (from, end), &ad);
        for _ in 0..c.online_updates {
            trainer.step(&batch, 1.0, c.online_lr)?;
        }
    }
    Ok(Online {
        spe,
        kl,
        sigma,
        state: Tensor::cat(states, 1),
    })
}

/// Runs one seed; the world model's checkpoint goes to `out/runs/relearn-seed<k>`.
pub fn run_one(
    c: &RelearnConfig,
    seed: u64,
    out: &Path,
    device: &Device,
) -> Result<RelearnRun, ExperimentError> {
    let bad = |field, reason: String| ExperimentError::Config(ConfigError::new(field, reason));
    c.check()?;
    let (lo, hi) = c.switch_range;
    let switch = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed).random_range(lo..hi);
    let task = |sequences, steps, switch_step| SwitchTask {
        sequences,
        steps,
        switch_step,
        reward: 1.0,
        flip: c.flip,
        seed,
        ..Default::default()
    };
    let old = task(c.train_sequences, c.train_steps, c.train_steps).generate();
    let stream = task(1, c.stream_steps, switch).generate();

    // The world model learns the old rule only.
    let spec = WorldSpec {
        kind: c.model,
        widths: (c.h_dim, c.z_dim, c.hidden),
        epochs: c.epochs,
        batch_size: 16,
        fractions: (0.8, 0.2),
        sf: None,
        kl_anneal: None,
    };
    let tag = format!("relearn-seed{seed}");
    let fitted = fit_world(&spec, &old.data, (out, &tag), seed, device)?;
    let (cfg, splits, valid_bound) = (&fitted.config, &fitted.splits, fitted.valid_bound);

    // Old-rule latents: the gates' normalisation and the critic's pretraining.
    let model = &fitted.model;
    let n_train = splits.train.len();
    let idx: Vec<usize> = (0..n_train).collect();
    let traj = model.forward(&to_batch(&splits.train, &idx, device), Noise::Mean);
    let steps = c.train_steps;
    let ad = device.clone().autodiff();
    ad.seed(seed);
    let flat: Vec<f32> = old.rewards[..n_train].iter().flatten().copied().collect();
    let train_lat = Latents {
        state: Tensor::from_data(traj.state().detach().to_data(), &ad),
        reward: Tensor::from_data(TensorData::new(flat, [n_train, steps]), &ad),
        continuing: true,
    };
    let critic_cfg = CriticConfig::new(cfg.model.state_dim())
        .with_heads(c.heads)
        .with_gamma(c.gamma)
        .with_loss(CriticLoss::Quantile)
        .with_zero_init(true);
    let critic = critic_cfg
        .init(&ad)
        .map_err(|e| bad("critic", e.to_string()))?;
    let pretrained = fit(
        critic,
        &train_lat.transitions(1, steps),
        FitSettings {
            epochs: c.pretrain_epochs,
            batch: 256,
            lr: c.pretrain_lr,
            seed,
        },
    );

    // The stream: a world model that stops learning, then one that keeps learning.
    let frozen = online(
        &mut Trainer::new(cfg, fitted.model_on(&ad)?, None),
        &stream.data,
        &RelearnConfig {
            online_updates: 0,
            ..c.clone()
        },
        device,
    )?;
    let learning = online(
        &mut Trainer::new(cfg, fitted.model_on(&ad)?, None),
        &stream.data,
        c,
        device,
    )?;

    // The critic along the learning model's latents.
    let t = c.stream_steps;
    let g = returns(&stream.rewards, c.gamma, Some(SwitchTask::default().states));
    let g: Vec<f32> = g[0].iter().map(|&v| v as f32).collect();
    let g = Tensor::<1>::from_data(TensorData::new(g, [t]), &ad);
    let lat = Latents {
        state: Tensor::from_data(learning.state.to_data(), &ad),
        reward: Tensor::from_data(TensorData::new(stream.rewards[0].clone(), [1, t]), &ad),
        continuing: true,
    };
    // Each step's gate is normalised on the stream's own past (causal).
    let mut rates = conditions::rates(
        (&learning.kl, &learning.sigma),
        c.gate_window,
        (switch, c.oracle_pause),
    );
    let errors = conditions::critic_online(&pretrained, &lat, &g, &rates, c.critic_lr)?;
    let mut take = |k: usize| rates[k].take().unwrap_or_default();
    let (gate_kl, gate_sigma) = (take(1), take(2));
    let window_gates = (4..8).map(&mut take).collect();
    Ok(RelearnRun {
        seed,
        switch,
        valid_bound,
        spe: learning.spe,
        spe_frozen: frozen.spe,
        kl: learning.kl,
        sigma: learning.sigma,
        gate_kl,
        gate_sigma,
        window_gates,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_stream_once_with_their_context() {
        let w = windows(25, 10, 15);
        assert_eq!(w, vec![(0, 0, 10), (5, 10, 20), (10, 20, 25)]);
        // Every step is read in exactly one window.
        let read: usize = w.iter().map(|(_, a, b)| b - a).sum();
        assert_eq!(read, 25);
    }

    #[test]
    fn the_stream_switches_at_its_step_and_shows_the_training_patterns() {
        let old = SwitchTask {
            sequences: 3,
            steps: 20,
            switch_step: 20,
            seed: 4,
            ..Default::default()
        }
        .generate();
        assert!(old.state_surprise.iter().flatten().all(|&s| !s));
        let stream = SwitchTask {
            sequences: 1,
            steps: 50,
            switch_step: 33,
            seed: 4,
            ..Default::default()
        }
        .generate();
        let first = stream.state_surprise[0].iter().position(|&s| s);
        assert_eq!(first, Some(33));
        // Same seed, same five patterns: every stream step shows one the training data shows.
        let d = old.data.dim;
        let seen: Vec<&[f32]> = old.data.sequences[0].chunks(d).collect();
        assert!(stream.data.sequences[0]
            .chunks(d)
            .all(|p| seen.contains(&p)));
    }
}
