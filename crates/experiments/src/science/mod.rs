//! `neuromod bench science`: which signal answers which surprise; see `docs/science.md`.
//!
//! Per task and seed: generate the task, train a VRNN world model with successor-feature
//! heads (detached: they learn on its state without shaping it) on its observations, train a distributional critic offline on the model's
//! latent state s_t = [h_t, muq_t] and the task's rewards (which the world model never sees),
//! then measure on held-out sequences, for every signal, the response ratio: mean |signal|
//! on surprise steps of one kind (and not the other) over mean |signal| on ordinary steps
//! (neither kind). Step 0 is in no set (nothing predicts a sequence's first observation).
//!
//! Signals are aligned to the step whose observation (and reward) they answer: the one-step
//! SPE and KL of step t, the SF TD error of the transition t-1 -> t, and the RPE
//! r_t + gamma V(s_t) - V(s_{t-1}) of the same transition.

mod experiment;
pub mod figures;
pub mod gating;
pub mod identity;
pub mod identity_check;
pub mod outcome;
pub mod raphe;
pub mod readout;
pub mod report;
pub mod reward_head;
pub mod signatures;
pub mod signatures_report;
pub mod summary;
pub mod vector_spe;

use neuromod_core::ConfigError;
use std::collections::BTreeMap;
use std::path::Path;

use burn::prelude::*;
use neuromod_core::ModelSpec;
use neuromod_core::SequenceModel;
use neuromod_critic::{CriticConfig, CriticLoss};
use neuromod_datasets::tasks::{RewardTask, SwitchTask};
use neuromod_train::{collect_signals, ModelKind};
use neuromod_train::{SfMode, SfSettings};
use serde::{Deserialize, Serialize};

use crate::critic_fit::{rpe_groups, train_critic_observed, FitSettings, Latents};
use crate::stats::{mean_abs, response_ratio};
pub use crate::task::{Surprise, Task};
use crate::world_fit::{fit_world, Fitted, WorldSpec};
use crate::{host, ExperimentError};
use gating::{GatingRun, GatingSettings};
use identity::IdentityCheck;
use identity_check::identity_check;
use vector_spe::{decode_deviants, DeviantDecoding, DeviantTable};

/// Everything `bench science` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScienceConfig {
    /// Tasks to run.
    pub tasks: Vec<Task>,
    /// Seeds 0..seeds (each seed: new patterns, rewards, initialisation and noise).
    pub seeds: usize,
    /// Sequences per task: 70% train, 10% validation, 20% held out for the measurements.
    pub sequences: usize,
    /// World-model family (`vrnn` when an older config names none).
    #[serde(default)]
    pub model: ModelKind,
    /// World-model epochs.
    pub epochs: usize,
    /// World-model sequences per batch.
    pub batch_size: usize,
    /// World-model recurrent width.
    pub h_dim: usize,
    /// World-model latent width.
    pub z_dim: usize,
    /// World-model MLP width.
    pub hidden: usize,
    /// Critic heads (cells); taus at the midpoints (2i - 1) / 2N.
    pub heads: usize,
    /// Critic discount.
    pub gamma: f64,
    /// Critic training passes over the training transitions.
    pub critic_epochs: usize,
    /// Critic Adam learning rate.
    pub critic_lr: f64,
    /// The gating experiment (switch task only).
    pub gating: GatingSettings,
}

impl Default for ScienceConfig {
    fn default() -> Self {
        Self {
            tasks: Task::ALL.to_vec(),
            seeds: 5,
            sequences: 200,
            model: ModelKind::Vrnn,
            epochs: 80,
            batch_size: 16,
            h_dim: 64,
            z_dim: 8,
            hidden: 64,
            heads: 32,
            gamma: 0.9,
            critic_epochs: 60,
            critic_lr: 1e-3,
            gating: GatingSettings::default(),
        }
    }
}

impl ScienceConfig {
    /// Rejects settings that cannot run, naming them.
    pub fn check(&self) -> Result<(), ExperimentError> {
        let bad =
            |field, reason: &str| Err(ExperimentError::Config(ConfigError::new(field, reason)));
        if self.tasks.is_empty() {
            return bad("tasks", "give at least one task");
        }
        if self.seeds == 0 {
            return bad("seeds", "must be at least 1");
        }
        if self.sequences < 10 {
            return bad("sequences", "must be at least 10 (20% are held out)");
        }
        if self.heads < 2 {
            return bad(
                "heads",
                "must be at least 2 (optimistic and pessimistic cells)",
            );
        }
        if self.epochs == 0 || self.critic_epochs == 0 {
            return bad("epochs", "world-model and critic epochs must be at least 1");
        }
        Ok(())
    }

    /// Names of the signals, in report order (SF heads at gammas 0, 0.5, 0.9, 0.99).
    pub fn signal_names() -> Vec<String> {
        let mut names = vec!["SPE norm".to_string(), "KL surprise".to_string()];
        names.extend(SF_GAMMAS.iter().map(|g| format!("SF TD g={g}")));
        names.extend(
            [
                "RPE mean",
                "RPE optimistic",
                "RPE pessimistic",
                "reward-head PE",
                UNTRAINED_RPE,
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        names
    }
}

/// The negative control of the RPE: a critic that learned nothing (zero-initialised output,
/// V = 0 everywhere) has the RPE r_t + gamma V(s_t) - V(s_(t-1)) = r_t, the reward itself.
pub const UNTRAINED_RPE: &str = "RPE, untrained critic (= r)";

/// Discounts of the successor-feature heads.
pub const SF_GAMMAS: [f64; 4] = [0.0, 0.5, 0.9, 0.99];

/// The SF heads the experiments train beside a world model: on its detached state, one per
/// discount of [`SF_GAMMAS`].
pub fn sf_heads() -> SfSettings {
    let mut sf = SfSettings::new(SfMode::Detached);
    sf.gammas = SF_GAMMAS.to_vec();
    sf
}

/// What one (task, seed) run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// The task.
    pub task: Task,
    /// The seed.
    pub seed: u64,
    /// Best validation bound of the world model (nats per step).
    pub valid_bound: f64,
    /// Response ratio per surprise kind and signal (None: the signal is zero everywhere).
    pub ratios: BTreeMap<Surprise, BTreeMap<String, Option<f64>>>,
    /// Mean |signal| on the surprise steps and on the ordinary steps, per kind and signal.
    pub levels: BTreeMap<Surprise, BTreeMap<String, (f64, f64)>>,
    /// Mean |signal| per step index over held-out sequences, per signal (for time courses).
    pub time_course: BTreeMap<String, Vec<f64>>,
    /// The gating experiment (switch task only).
    pub gating: Option<GatingRun>,
    /// Which deviant occurred, decoded from the SPE vector and from its norm (state and
    /// combined tasks; absent in results written before it existed).
    #[serde(default)]
    pub deviant_decoding: Option<DeviantDecoding>,
    /// What simulated raphe populations reading the SPE vector or its norm decode about the
    /// deviant, per population size (tasks with deviants; absent in older results).
    #[serde(default)]
    pub raphe: Option<Vec<raphe::RaphePoint>>,
    /// Every signal at each kind of step of the cue task, and the RPE over the critic's
    /// training (cue task only).
    #[serde(default)]
    pub signatures: Option<signatures::Signatures>,
    /// The critic's RPE against w . delta_SF (combined task).
    #[serde(default)]
    pub identity: Option<IdentityCheck>,
    /// Each signal at the outcome against the reward's size (observed task).
    #[serde(default)]
    pub outcome: Option<BTreeMap<String, outcome::SignalProfile>>,
}

/// Runs one task for one seed; the world model's checkpoint goes to `out/runs/<task>-seed<k>`
/// and the task's observations to `out/data/<task>-seed<k>.npy`.
pub fn run_one(
    config: &ScienceConfig,
    task: Task,
    seed: u64,
    out: &Path,
    device: &Device,
) -> Result<RunResult, ExperimentError> {
    let data = task.generate(config.sequences, seed);
    let steps = data.data.steps(0);
    let tag = format!("{}-seed{seed}", task.name());
    // World model, with SF heads learning on its detached state. Rewards and labels follow the
    // observations' split: train, validation, held out.
    let spec = WorldSpec {
        kind: config.model,
        widths: (config.h_dim, config.z_dim, config.hidden),
        epochs: config.epochs,
        batch_size: config.batch_size,
        fractions: (0.7, 0.1),
        sf: Some(sf_heads()),
        kl_anneal: None,
    };
    let Fitted {
        config: cfg,
        splits,
        valid_bound,
        model,
        sf,
    } = fit_world(&spec, &data.data, (out, &tag), seed, device)?;
    let (n_train, n_valid) = (splits.train.len(), splits.valid.len());
    let state_dim = cfg.model.state_dim();
    // The best epoch's weights, kept in memory: what the run folder's best snapshot holds, the
    // checkpoint a user gets, not the weights of the last epoch.
    let heads = sf.ok_or_else(|| {
        ExperimentError::Config(ConfigError::new(
            "sf",
            format!("{} has no SF heads", out.join("runs").join(&tag).display()),
        ))
    })?;

    // Critic on the latent state of the training sequences.
    let ad = device.clone().autodiff();
    ad.seed(seed);
    let critic_cfg = CriticConfig::new(state_dim)
        .with_heads(config.heads)
        .with_gamma(config.gamma)
        .with_loss(CriticLoss::Quantile)
        .with_zero_init(true);
    let train_rewards = &data.rewards[..n_train];
    let (train_lat, train_traj) = Latents::of(
        &model,
        &splits.train,
        train_rewards,
        task.continuing(),
        device,
    );
    let ad_lat = train_lat.on(&ad);
    let fit_settings = FitSettings {
        epochs: config.critic_epochs,
        batch: 256,
        lr: config.critic_lr,
        seed,
    };
    // The cue task reads the critic over its training too (snapshots, no extra training).
    let mut snapshots = Vec::new();
    let mut snap = |epoch, c: &neuromod_critic::DistCritic| {
        if task == Task::Cue && signatures::snapshot_wanted(epoch, config.critic_epochs) {
            snapshots.push((epoch, c.clone().valid()));
        }
    };
    let critic = train_critic_observed(&critic_cfg, &train_lat, fit_settings, &ad, &mut snap)?;

    // Signals on the held-out sequences.
    let first_eval = n_train + n_valid;
    let eval_rewards = &data.rewards[first_eval..];
    let (eval_lat, traj) = Latents::of(
        &model,
        &splits.test,
        eval_rewards,
        task.continuing(),
        device,
    );
    // The same signals `neuromod signals` exports, from the library's one collection.
    let n_eval = splits.test.len();
    let signals = collect_signals(&splits.test, &model, Some(&heads), n_eval, device)?;
    let taus = critic.taus.clone();
    let all: Vec<usize> = (0..taus.len()).collect();
    let optimistic: Vec<usize> = all.iter().copied().filter(|&i| taus[i] > 0.5).collect();
    let pessimistic: Vec<usize> = all.iter().copied().filter(|&i| taus[i] < 0.5).collect();
    let rpes = rpe_groups(&critic, &eval_lat, &[all, optimistic, pessimistic]);
    let names = ScienceConfig::signal_names();
    let signal = |name: &str| signals[name].data.clone();
    let mut values: Vec<Vec<f32>> = vec![signal("spe/onestep/norm"), signal("spe/onestep/kl")];
    for g in &heads.gammas {
        // rms[t] is the transition t -> t+1: move it to the step it arrives at.
        let v = signal(&format!("spe/sf/gamma_{g}/rms"));
        let mut shifted = vec![0.0f32; v.len()];
        for i in 0..n_eval {
            shifted[i * steps + 1..(i + 1) * steps]
                .copy_from_slice(&v[i * steps..(i + 1) * steps - 1]);
        }
        values.push(shifted);
    }
    for r in rpes {
        values.push(host(r, "RPE")?);
    }

    let gating = if task == Task::Switch {
        let switch = SwitchTask::default();
        let kl_train = host(train_traj.elbo.kl.clone(), "KL")?;
        Some(gating::run(
            &critic_cfg,
            &config.gating,
            gating::Inputs {
                train: &ad_lat,
                train_kl: &kl_train,
                eval: &eval_lat,
                eval_kl: traj.elbo.kl.clone().detach(),
                eval_rewards,
                switch_step: switch.switch_step,
                period: switch.states,
                seed,
            },
            &ad,
        )?)
    } else {
        None
    };
    // The reward head learns last, so that its draws from the device's generator change nothing
    // measured before it.
    let layout = model.state_layout();
    let head = reward_head::fit(&ad_lat, layout, fit_settings);
    let pe = reward_head::prediction_errors(&head.valid(), &eval_lat, layout);
    values.push(host(pe, "reward-head PE")?);
    values.push(eval_rewards.iter().flatten().copied().collect());

    // Labels: step 0 in neither set.
    let flat = |labels: &[Vec<bool>]| -> Vec<bool> {
        labels
            .iter()
            .flat_map(|l| l.iter().enumerate().map(|(t, &b)| b && t > 0))
            .collect()
    };
    let reward_s = flat(&data.reward_surprise[first_eval..]);
    let state_s = flat(&data.state_surprise[first_eval..]);
    let ordinary: Vec<bool> = (0..n_eval * steps)
        .map(|k| k % steps > 0 && !reward_s[k] && !state_s[k])
        .collect();
    // A surprise step of one kind carries no surprise of the other kind (in the combined task
    // a deviant jump into the rewarded state is both, and counts for neither).
    let only =
        |a: &[bool], b: &[bool]| -> Vec<bool> { a.iter().zip(b).map(|(&x, &y)| x && !y).collect() };
    let pure_reward = only(&reward_s, &state_s);
    let pure_state = only(&state_s, &reward_s);
    let (mut ratios, mut levels) = (BTreeMap::new(), BTreeMap::new());
    for (kind, labels) in [
        (Surprise::Reward, &pure_reward),
        (Surprise::State, &pure_state),
    ] {
        if !labels.iter().any(|&b| b) {
            continue;
        }
        let per_signal = names
            .iter()
            .zip(&values)
            .map(|(name, v)| (name.clone(), response_ratio(v, labels, &ordinary)))
            .collect();
        ratios.insert(kind, per_signal);
        let level = names
            .iter()
            .zip(&values)
            .map(|(name, v)| {
                let m = |keep: &[bool]| mean_abs(v, keep).unwrap_or(f64::NAN);
                (name.clone(), (m(labels), m(&ordinary)))
            })
            .collect();
        levels.insert(kind, level);
    }
    let time_course = names
        .iter()
        .zip(&values)
        .map(|(name, v)| {
            let course = (0..steps)
                .map(|t| {
                    (0..n_eval)
                        .map(|i| v[i * steps + t].abs() as f64)
                        .sum::<f64>()
                        / n_eval as f64
                })
                .collect();
            (name.clone(), course)
        })
        .collect();

    let deviants = (!data.state.is_empty()).then(|| {
        DeviantTable::new(
            &data.state_surprise[first_eval..],
            &data.state[first_eval..],
        )
    });
    let z = cfg.model.z_dim();
    let (vec, norm) = (signal("spe/onestep/vec"), signal("spe/onestep/norm"));
    let deviant_decoding = deviants
        .as_ref()
        .and_then(|t| decode_deviants((&vec, &norm, &signal("posterior/mu")), z, t));
    let raphe = deviants.as_ref().and_then(|t| {
        raphe::population_curve(t, (&t.features(&vec, z), &t.features(&norm, 1)), z, seed)
    });
    let identity = match (task, heads.gammas.iter().position(|&g| g == config.gamma)) {
        (Task::Combined, Some(k)) => {
            let phi = host(heads.features(train_traj.posterior.0.clone()), "phi")?;
            let delta = signal(&format!("spe/sf/gamma_{}/delta", heads.gammas[k]));
            let rpe = &values[names.iter().position(|n| n == "RPE mean").expect("listed")];
            let eval_phi = host(heads.features(traj.posterior.0.clone()), "phi")?;
            identity_check(
                (&phi, train_rewards),
                (&eval_phi, eval_rewards),
                (&delta, rpe),
                (steps, cfg.model.z_dim()),
            )
        }
        _ => None,
    };
    let outcome = (task == Task::Observed).then(|| {
        let at = (RewardTask::default().outcome_step(), steps);
        outcome::profile(&names, &values, eval_rewards, at)
    });
    let signatures = match task {
        Task::Cue => {
            let events = Task::cue_task(config.sequences, seed).generate().events;
            let held_out = (&names[..], &values[..]);
            Some(signatures::signatures(
                &snapshots,
                &eval_lat,
                held_out,
                &events[first_eval..],
            )?)
        }
        _ => None,
    };
    Ok(RunResult {
        task,
        seed,
        valid_bound,
        ratios,
        levels,
        time_course,
        gating,
        deviant_decoding,
        raphe,
        signatures,
        identity,
        outcome,
    })
}

/// Every run of a science benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScienceResult {
    /// The settings used.
    pub config: ScienceConfig,
    /// Device name.
    pub device: String,
    /// One entry per (task, seed).
    pub runs: Vec<RunResult>,
    /// Wall time in seconds.
    pub seconds: f64,
}
