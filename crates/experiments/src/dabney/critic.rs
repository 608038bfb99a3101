//! The distributional critic as a simulated animal: a world model learns the reward task
//! (cue, delay, outcome light under sensory noise; the reward, drawn from the variable-magnitude
//! distribution, is never in the observation), a critic with one quantile head per "cell"
//! learns the value on its latent state, and its heads are recorded like cells: each recorded
//! trial runs through the world model, and each head's TD error at the outcome fires with the
//! distributional cells' asymmetric gains (2 tau delta above its value, 2 (1 - tau) delta
//! below, Dabney et al.'s asymmetric scaling) plus the cells' firing noise. Reversal points and
//! asymmetries are then measured from those trials by the cells' pipeline
//! ([`neuromod_dopamine::measure_animal`]), never read from the heads' values or taus, and
//! decoded as quantiles (what quantile heads learn).
//!
//! Quantile, not expectile, heads: the expectile critic's sample imputation (200 iterations of
//! an O(batch N^2) step per update) took over 9 minutes for one 40-head animal on the 2-core
//! reference machine, against seconds for the quantile critic.

use std::path::Path;

use burn::prelude::*;
use neuromod_core::{ConfigError, ModelSpec};
use neuromod_critic::{CriticConfig, CriticLoss};
use neuromod_datasets::tasks::{RewardTask, VARIABLE_MAGNITUDE};
use neuromod_dopamine::{measure_animal, AnimalStats, Cells, Rule, Simulation};
use neuromod_train::ModelKind;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{DabneyConfig, DECODE};
use crate::critic_fit::{rpe_groups, train_critic, FitSettings, Latents};
use crate::world_fit::{fit_world, Fitted, WorldSpec};
use crate::{host, ExperimentError};

/// Trials the world model and the critic learn from (70 % train, 10 % validation; the held-out
/// fifth is not used: the recording gets trials of its own).
pub const LEARNING_TRIALS: usize = 200;
/// Default world-model epochs (as `bench science`).
pub fn default_world_epochs() -> usize {
    80
}

/// Default critic passes over the training transitions.
pub fn default_critic_epochs() -> usize {
    300
}

/// Critic Adam learning rate.
pub const CRITIC_LR: f64 = 3e-3;

/// Learns, records and measures the critic animal of `seed`; its world model's checkpoint goes
/// to `out/runs/critic-seed<k>`.
pub fn critic_animal(
    config: &DabneyConfig,
    seed: u64,
    out: &Path,
    device: &Device,
) -> Result<AnimalStats, ExperimentError> {
    let sizes: Vec<f64> = VARIABLE_MAGNITUDE.iter().map(|&(size, _)| size).collect();
    let recorded = config.recorded_trials * sizes.len();
    // One generator run: its first trials are the learning trials, the rest (same cue and
    // light, fresh noise) are recorded; the reward is not in the observation, so the recorded
    // trials get their sizes in rounds afterwards.
    let generator = RewardTask {
        trials: LEARNING_TRIALS + recorded,
        seed,
        ..Default::default()
    };
    let task = generator.generate();
    let mut learning = task.data.clone();
    let recording = learning.sequences.split_off(LEARNING_TRIALS);
    let spec = WorldSpec {
        kind: ModelKind::Vrnn,
        widths: (64, 8, 64),
        epochs: config.critic_world_epochs,
        batch_size: 16,
        fractions: (0.7, 0.1),
        sf: None,
        kl_anneal: None,
    };
    let tag = format!("critic-seed{seed}");
    let Fitted {
        config: cfg,
        splits,
        model,
        ..
    } = fit_world(&spec, &learning, (out, &tag), seed, device)?;

    let ad = device.clone().autodiff();
    ad.seed(seed);
    let critic_cfg = CriticConfig::new(cfg.model.state_dim())
        .with_heads(config.cells)
        .with_gamma(0.9)
        .with_loss(CriticLoss::Quantile)
        .with_zero_init(true);
    let steps = splits.train.steps(0);
    let n_train = splits.train.len();
    let (train, _) = Latents::of(
        &model,
        &splits.train,
        &task.rewards[..n_train],
        false,
        device,
    );
    let settings = FitSettings {
        epochs: config.critic_epochs,
        batch: 256,
        lr: CRITIC_LR,
        seed,
    };
    let critic = train_critic(&critic_cfg, &train, settings, &ad)?;

    // The recording: rounds of every size once, in a shuffled order per round.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_d0a1);
    let outcome = generator.outcome_step();
    let mut order = Vec::with_capacity(recorded);
    for _ in 0..config.recorded_trials {
        let mut round = sizes.clone();
        round.shuffle(&mut rng);
        order.extend(round);
    }
    let rewards: Vec<Vec<f32>> = order
        .iter()
        .map(|&r| {
            let mut v = vec![0.0f32; steps];
            v[outcome] = r as f32;
            v
        })
        .collect();
    let mut set = learning.clone();
    set.sequences = recording;
    let (lat, _) = Latents::of(&model, &set, &rewards, false, device);
    let heads: Vec<Vec<usize>> = (0..config.cells).map(|i| vec![i]).collect();
    let errors = rpe_groups(&critic, &lat, &heads)
        .into_iter()
        .map(|t| host(t, "the heads' errors"))
        .collect::<Result<Vec<Vec<f32>>, _>>()?;
    // The heads fire with the gains of cells of their own taus.
    let taus = critic.taus.iter().map(|&t| t as f64).collect();
    let weights = Cells::with_taus(taus, 1.0)
        .map_err(|e| ExperimentError::Config(ConfigError::new("cells", e.to_string())))?;
    let noise = Normal::new(0.0, config.noise).expect("a checked noise");
    let responses = order
        .iter()
        .enumerate()
        .map(|(k, &r)| {
            let fire = (0..config.cells)
                .map(|i| {
                    let delta = errors[i][k * steps + outcome] as f64;
                    weights.response(i, delta) + noise.sample(&mut rng)
                })
                .collect();
            (r, fire)
        })
        .collect();
    let sim = Simulation {
        value: Vec::new(),
        cue_value: Vec::new(),
        responses,
        per_round: sizes.len(),
        cue_response: Vec::new(),
    };
    Ok(measure_animal(
        &sim,
        None,
        Rule::Quantile,
        (DECODE.0, DECODE.1, seed),
    ))
}
