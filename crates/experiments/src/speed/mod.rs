//! `neuromod bench speed`: milliseconds per training step (forward, backward, Adam) of the
//! world model alone, with the SPE signals and successor-feature heads, and with those plus
//! the distributional critic; scaling in sequence length and batch size; peak memory.

mod experiment;
pub mod memory;
pub mod peers;
mod report;

use neuromod_core::ConfigError;
use std::time::Instant;

use burn::optim::{AdamConfig, ModuleOptimizer};

use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use neuromod_core::ModelSpec;
use neuromod_core::SeqBatch;
use neuromod_critic::{CriticConfig, DistCritic, Transition};
use neuromod_datasets::DatasetSpec;
use neuromod_train::{
    sf_config, ModelConfig, ModelKind, Setting, SfMode, SfSettings, TrainConfig, TrainError,
    Trainer,
};
use neuromod_vrnn::VrnnConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::critic_fit::critic_step;
use memory::{peak_rss_mib, reset_peak_rss};

use crate::{host, ExperimentError};
pub use experiment::{Comparison, SpeedConfig, SpeedReport, SpeedUnit, SpeedUnitResult};
pub use report::{linear_fit, markdown, summarise, SpeedResult};

/// What a timed step trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Variant {
    /// The VRNN alone (negative ELBO): `train`'s step.
    WorldModel,
    /// Plus SF heads for gammas 0, 0.5, 0.9, 0.99 trained jointly (weight 0.1): `train --sf
    /// joint`'s step.
    WithSpe,
    /// Plus a 32-head quantile critic on the detached latent state [h_t, muq_t].
    WithSpeCritic,
}

impl Variant {
    /// All variants, cheapest first.
    pub const ALL: [Variant; 3] = [
        Variant::WorldModel,
        Variant::WithSpe,
        Variant::WithSpeCritic,
    ];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::WorldModel => "world model",
            Variant::WithSpe => "+ SPE",
            Variant::WithSpeCritic => "+ SPE + critic",
        }
    }
}

/// The model size being timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Size {
    /// The foundation issue's bench config: x = 88 Bernoulli, H = 256, Z = 32, hidden 256.
    Bench,
    /// A small model (x = 16, H = 64, Z = 8, hidden 64) for slow devices.
    Small,
}

impl Size {
    /// The configuration of family `kind` at this size: the VRNN with the layer counts its
    /// PyTorch and JAX peers implement, the other families with their defaults at these widths
    /// (the state, latent and hidden widths are the VRNN's).
    pub fn model(self, kind: ModelKind) -> ModelConfig {
        let (x, h, z) = match self {
            Size::Bench => (88, 256, 32),
            Size::Small => (16, 64, 8),
        };
        match kind {
            ModelKind::Vrnn => VrnnConfig::new(x)
                .with_h_dim(h)
                .with_z_dim(z)
                .with_hidden(h)
                .with_phi_x_layers(2)
                .with_phi_z_layers(1)
                .with_prior_layers(1)
                .with_encoder_layers(2)
                .with_decoder_layers(2)
                .into(),
            _ => ModelConfig::new(kind, x)
                .with(&[Setting::HDim(h), Setting::ZDim(z), Setting::Hidden(h)])
                .expect("every family has these widths"),
        }
    }
}

/// Transitions the critic trains on per step by default: the batch it trains with in
/// `bench science`.
pub const CRITIC_TRANSITIONS: usize = 256;

/// The training step `train` runs ([`Trainer::step`]: world model, and SF heads for the SPE
/// variants), plus the critic's step for the critic variant, on one fixed batch.
pub struct Stepper {
    trainer: Trainer,
    critic: Option<(DistCritic, ModuleOptimizer)>,
    batch: SeqBatch,
    rewards: Tensor<2>,
    critic_transitions: usize,
    rng: ChaCha8Rng,
}

impl Stepper {
    /// Builds everything on the autodiff version of `device`, seeded, with `train`'s default
    /// optimiser settings (Adam, gradient clipping at 10). The critic trains on
    /// `critic_transitions` transitions drawn at random from the batch each step (0: all
    /// B (T - 1) of them).
    pub fn new(
        config: &ModelConfig,
        variant: Variant,
        (batch, steps): (usize, usize),
        critic_transitions: usize,
        device: &Device,
    ) -> Result<Self, ExperimentError> {
        let bad = |field, e: String| ExperimentError::Config(ConfigError::new(field, e));
        let ad = device.clone().autodiff();
        ad.seed(0);
        let mut train_config =
            TrainConfig::new(config.clone(), DatasetSpec::markov(Default::default()));
        if variant != Variant::WorldModel {
            train_config.sf = Some(SfSettings::new(SfMode::Joint));
        }
        let model = config.init(&ad).map_err(|e| bad("model", e.to_string()))?;
        let sf = sf_config(&train_config)
            .map(|c| c.init(&ad))
            .transpose()
            .map_err(|e| bad("sf", e.to_string()))?;
        let state_dim = config.state_dim();
        let critic = (variant == Variant::WithSpeCritic)
            .then(|| CriticConfig::new(state_dim).init(&ad))
            .transpose()
            .map_err(|e| bad("critic", e.to_string()))?
            .map(|c| (c, AdamConfig::new().init()));
        let x = Tensor::<3>::random(
            [batch, steps, config.x_dim()],
            Distribution::Uniform(0.0, 1.0),
            &ad,
        )
        .greater_elem(0.9)
        .float();
        let rewards = Tensor::<2>::random([batch, steps], Distribution::Uniform(0.0, 1.0), &ad);
        Ok(Self {
            trainer: Trainer::new(&train_config, model, sf),
            critic,
            batch: SeqBatch::new(x, Tensor::ones([batch, steps], &ad)),
            rewards,
            critic_transitions,
            rng: ChaCha8Rng::seed_from_u64(0),
        })
    }

    /// One training step of everything; returns the world model's loss (read once by the
    /// trainer; the critic's step reads its loss once more).
    pub fn step(&mut self) -> Result<f32, ExperimentError> {
        let failed =
            |e: TrainError| ExperimentError::Config(ConfigError::new("speed", e.to_string()));
        let Some((critic, optim)) = self.critic.take() else {
            return Ok(self
                .trainer
                .step(&self.batch, 1.0, 1e-3)
                .map_err(failed)?
                .loss);
        };
        let (stats, state) = self
            .trainer
            .step_with_state(&self.batch, 1.0, 1e-3)
            .map_err(failed)?;
        let [b, t, s] = state.dims();
        let n = b * (t - 1);
        let device = state.device();
        // Transition j = (sequence i, step k < t - 1) goes from row i t + k of the flattened
        // states to the next row; the sampled rows are gathered straight from there (no copy
        // of every transition first).
        let picks: Vec<usize> = if self.critic_transitions > 0 && self.critic_transitions < n {
            (0..self.critic_transitions)
                .map(|_| self.rng.random_range(0..n))
                .collect()
        } else {
            (0..n).collect()
        };
        let rows: Vec<i64> = picks
            .iter()
            .map(|&j| ((j / (t - 1)) * t + j % (t - 1)) as i64)
            .collect();
        let m = rows.len();
        let now = Tensor::<1, Int>::from_data(TensorData::new(rows, [m]), &device);
        let next = now.clone().add_scalar(1);
        let flat = state.reshape([b * t, s]);
        let tr = Transition {
            state: flat.clone().select(0, now),
            reward: self
                .rewards
                .clone()
                .reshape([b * t])
                .select(0, next.clone()),
            next_state: flat.select(0, next),
            cont: Tensor::ones([m], &device),
            weight: None,
        };
        let (critic, optim, loss) = critic_step(critic, optim, &tr, 1e-3);
        self.critic = Some((critic, optim));
        host(loss, "critic loss")?;
        Ok(stats.loss)
    }
}

/// One timed configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timing {
    /// What was trained.
    pub variant: Variant,
    /// Sequences per batch.
    pub batch: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Median milliseconds per training step.
    pub ms_median: f64,
    /// Fastest step.
    pub ms_min: f64,
    /// Timed steps (after one untimed warm-up step).
    pub reps: usize,
    /// Peak resident memory while this configuration ran, MiB (None off Linux).
    pub peak_rss_mib: Option<f64>,
}

/// What one timing measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// Model family (VRNN when absent, as in setups written before families existed).
    #[serde(default)]
    pub model: ModelKind,
    /// Model size.
    pub size: Size,
    /// What is trained.
    pub variant: Variant,
    /// Sequences per batch.
    pub batch: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Timed steps after one warm-up step.
    pub reps: usize,
    /// Transitions the critic trains on per step (0: all).
    pub critic_transitions: usize,
}

/// Times `reps` steps after one warm-up step; the peak memory is this process's since the
/// start of the call (run each setup in a fresh process for a clean figure: the allocator keeps
/// what earlier setups freed).
pub fn time(setup: Setup, device: &Device) -> Result<Timing, ExperimentError> {
    let Setup {
        model,
        size,
        variant,
        batch,
        steps,
        reps,
        critic_transitions,
    } = setup;
    reset_peak_rss();
    let mut stepper = Stepper::new(
        &size.model(model),
        variant,
        (batch, steps),
        critic_transitions,
        device,
    )?;
    // A GPU queues work: each timed step ends when the device has finished it (backward and
    // the optimiser included), not when the loss was read. A no-op on the CPU backends.
    let sync = || {
        device.sync().map_err(|e| {
            ExperimentError::Config(ConfigError::new("speed", format!("device sync: {e:?}")))
        })
    };
    stepper.step()?;
    sync()?;
    let mut ms = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        let loss = stepper.step()?;
        sync()?;
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
        if !loss.is_finite() {
            return Err(ExperimentError::Config(ConfigError::new(
                "speed",
                format!("loss became {loss} while timing"),
            )));
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok(Timing {
        variant,
        batch,
        steps,
        ms_median: ms[ms.len() / 2],
        ms_min: ms[0],
        reps: ms.len(),
        peak_rss_mib: peak_rss_mib(),
    })
}

/// SPE + critic overhead over the world-model step from steps run in turn in one process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairedOverhead {
    /// Sequences per batch.
    pub batch: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Pairs of steps.
    pub rounds: usize,
    /// Quartiles (25, 50, 75 %) of (SPE + critic step) / (world-model step) - 1 over the pairs.
    pub quartiles: [f64; 3],
}

/// The SPE + critic overhead as the quartiles of per-pair ratios: a world-model stepper and an
/// SPE + critic stepper live in one process and step in turn (which goes first alternates),
/// so each ratio compares two steps a fraction of a second apart. On a shared machine whose
/// speed drifts from process to process by about 10 %, ratios of fastest steps from separate
/// processes scatter by as much; these pairs do not.
pub fn paired_overhead(
    (kind, size): (ModelKind, Size),
    (batch, steps): (usize, usize),
    rounds: usize,
    critic_transitions: usize,
    device: &Device,
) -> Result<PairedOverhead, ExperimentError> {
    let model = size.model(kind);
    let make = |v| Stepper::new(&model, v, (batch, steps), critic_transitions, device);
    let mut pair = [make(Variant::WorldModel)?, make(Variant::WithSpeCritic)?];
    for s in pair.iter_mut() {
        s.step()?;
    }
    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds.max(1) {
        let mut ms = [0.0; 2];
        for k in [round % 2, 1 - round % 2] {
            let t0 = Instant::now();
            pair[k].step()?;
            ms[k] = t0.elapsed().as_secs_f64();
        }
        ratios.push(ms[1] / ms[0] - 1.0);
    }
    ratios.sort_by(f64::total_cmp);
    let q = |p: f64| ratios[((ratios.len() - 1) as f64 * p).round() as usize];
    Ok(PairedOverhead {
        batch,
        steps,
        rounds: ratios.len(),
        quartiles: [q(0.25), q(0.5), q(0.75)],
    })
}

/// Lengths timed (at batch 32).
pub const LENGTHS: [usize; 4] = [50, 100, 200, 400];
/// Batch sizes timed (at T = 100).
pub const BATCHES: [usize; 3] = [8, 32, 128];

/// The (batch, T) pairs timed for every variant: [`LENGTHS`] at batch 32, [`BATCHES`] at T = 100.
pub fn shapes() -> Vec<(usize, usize)> {
    let mut shapes: Vec<(usize, usize)> = LENGTHS.iter().map(|&t| (32, t)).collect();
    shapes.extend(BATCHES.iter().filter(|&&b| b != 32).map(|&b| (b, 100)));
    shapes
}

/// Every setup of a device's report, cheapest variant first.
pub fn setups(
    (model, size): (ModelKind, Size),
    reps: usize,
    critic_transitions: usize,
) -> Vec<Setup> {
    Variant::ALL
        .iter()
        .flat_map(|&variant| {
            shapes().into_iter().map(move |(batch, steps)| Setup {
                model,
                size,
                variant,
                batch,
                steps,
                reps,
                critic_transitions,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(deprecated)]
    #[test]
    fn every_variant_trains_and_lowers_its_loss_on_a_fixed_batch() {
        let device = Device::ndarray();
        for (kind, variant) in ModelKind::ALL
            .into_iter()
            .flat_map(|k| Variant::ALL.map(|v| (k, v)))
        {
            let config = Size::Small.model(kind);
            assert_eq!(config.kind(), kind);
            let mut s = Stepper::new(&config, variant, (4, 12), 16, &device).unwrap();
            let first = s.step().unwrap();
            let mut last = first;
            for _ in 0..15 {
                last = s.step().unwrap();
            }
            assert!(
                last.is_finite() && last < first,
                "{kind} {variant:?}: {first} -> {last}"
            );
        }
    }

    #[allow(deprecated)]
    #[test]
    fn paired_overhead_reports_ordered_quartiles_of_every_pair() {
        let device = Device::ndarray();
        let p = paired_overhead((ModelKind::Srnn, Size::Small), (4, 12), 7, 16, &device).unwrap();
        assert_eq!((p.batch, p.steps, p.rounds), (4, 12, 7));
        let [lo, mid, hi] = p.quartiles;
        assert!(lo.is_finite() && hi.is_finite() && lo <= mid && mid <= hi);
        // Every ratio is of two positive times.
        assert!(lo > -1.0);
    }
}
