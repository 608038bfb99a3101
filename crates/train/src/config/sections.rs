//! The sections of a training config: the optimiser, the schedule, the KL term, the objective
//! and the successor-feature heads. Each is a serde struct whose missing fields take the
//! `Default`'s values and whose `check` names the field it rejects, relative to the section
//! (the training config prefixes the section's name).

use neuromod_core::ConfigError;
use serde::{Deserialize, Serialize};

/// Adam with per-tensor gradient clipping, L2 weight decay and an optional moving average of
/// the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimiserConfig {
    /// Adam learning rate.
    pub lr: f64,
    /// L2 penalty added to the gradients by Adam (0: off).
    pub weight_decay: f64,
    /// Clip each parameter tensor's gradient to this L2 norm (burn's `GradientClipping::Norm`;
    /// None: no clipping).
    pub grad_clip: Option<f32>,
    /// Validate and save an exponential moving average of the weights with this decay per
    /// optimiser step (e.g. 0.999; None: the raw weights).
    pub ema: Option<f64>,
}

impl Default for OptimiserConfig {
    fn default() -> Self {
        Self {
            lr: 2e-3,
            weight_decay: 0.0,
            grad_clip: Some(10.0),
            ema: None,
        }
    }
}

impl OptimiserConfig {
    /// Rejects values that cannot train, naming the field.
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(ConfigError::new(
                "lr",
                format!("must be a positive number, got {}", self.lr),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(ConfigError::new(
                "weight_decay",
                format!("must be a number >= 0, got {}", self.weight_decay),
            ));
        }
        if let Some(c) = self.grad_clip {
            if !(c.is_finite() && c > 0.0) {
                return Err(ConfigError::new(
                    "grad_clip",
                    format!("must be positive, got {c}"),
                ));
            }
        }
        if let Some(d) = self.ema {
            if !(0.0..1.0).contains(&d) {
                return Err(ConfigError::new(
                    "ema",
                    format!("decay must lie in [0, 1), got {d}"),
                ));
            }
        }
        Ok(())
    }
}

/// How long and in what order training runs, and how its learning rate moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// Seed of the device RNG (initialisation, latent noise) and the data order.
    pub seed: u64,
    /// Early stop after this many epochs without a better validation bound (None: never).
    pub patience: Option<usize>,
    /// Cosine decay of the learning rate per epoch from `optimiser.lr` to this value (None:
    /// constant).
    pub lr_final: Option<f64>,
    /// Lower the learning rate when validation stalls (None: off; excludes `lr_final`).
    pub lr_plateau: Option<LrPlateau>,
    /// Epoch snapshots kept besides the best one (at least 1: the latest, which resume reads).
    pub keep_last: usize,
    /// Random transposition for piano rolls: each training sequence moves by a uniform
    /// integer in [-k, k] features (semitones) each epoch; notes pushed off the keyboard are
    /// dropped (0: off; validation and test data are never moved).
    pub transpose: usize,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            epochs: 50,
            batch_size: 16,
            seed: 0,
            patience: None,
            lr_final: None,
            lr_plateau: None,
            keep_last: 3,
            transpose: 0,
        }
    }
}

impl ScheduleConfig {
    /// Rejects values that cannot train, naming the field (`transpose` is checked against the
    /// observation width by the training config).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.keep_last == 0 {
            return Err(ConfigError::new(
                "keep_last",
                "must be at least 1 (resume reads the latest)",
            ));
        }
        ConfigError::positive(&[("epochs", self.epochs), ("batch_size", self.batch_size)])?;
        if let Some(f) = self.lr_final {
            if !(f.is_finite() && f >= 0.0) {
                return Err(ConfigError::new(
                    "lr_final",
                    format!("must be a number >= 0, got {f}"),
                ));
            }
        }
        if let Some(p) = &self.lr_plateau {
            if self.lr_final.is_some() {
                return Err(ConfigError::new(
                    "lr_plateau",
                    "choose one schedule: lr_plateau or lr_final (cosine), not both",
                ));
            }
            p.check().map_err(|e| e.within("lr_plateau"))?;
        }
        Ok(())
    }
}

/// Learning-rate schedule that multiplies the rate by `factor` (not below `min_lr`) each time
/// `patience` epochs pass without a better validation bound than the best so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrPlateau {
    /// Epochs without a new best validation bound before the rate is lowered.
    pub patience: usize,
    /// Multiplier applied at each plateau, in (0, 1).
    #[serde(default = "LrPlateau::default_factor")]
    pub factor: f64,
    /// The rate never goes below this.
    #[serde(default = "LrPlateau::default_min_lr")]
    pub min_lr: f64,
}

impl LrPlateau {
    fn default_factor() -> f64 {
        0.5
    }

    fn default_min_lr() -> f64 {
        1e-5
    }

    /// A schedule with the default factor (0.5) and floor (1e-5).
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            factor: Self::default_factor(),
            min_lr: Self::default_min_lr(),
        }
    }

    /// Rejects values that cannot work, naming the field.
    pub fn check(&self) -> Result<(), ConfigError> {
        ConfigError::positive(&[("patience", self.patience)])?;
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(ConfigError::new(
                "factor",
                format!("must lie in (0, 1), got {}", self.factor),
            ));
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0) {
            return Err(ConfigError::new(
                "min_lr",
                format!("must be a number >= 0, got {}", self.min_lr),
            ));
        }
        Ok(())
    }

    /// The rate after the given validation bounds (in epoch order), starting from `lr`.
    pub fn replay(&self, lr: f64, valid_bounds: impl IntoIterator<Item = f64>) -> f64 {
        let (mut lr, mut best, mut wait) = (lr, f64::INFINITY, 0);
        for v in valid_bounds {
            if v < best {
                (best, wait) = (v, 0);
            } else {
                wait += 1;
                if wait >= self.patience {
                    (lr, wait) = ((lr * self.factor).max(self.min_lr), 0);
                }
            }
        }
        lr
    }
}

/// The KL term of the loss: annealing of its weight and shaping of its gradient (never of the
/// KL that is reported).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KlConfig {
    /// The weight beta rises linearly from `start` to 1 over this many epochs (0: off).
    pub anneal_epochs: usize,
    /// The weight at the first epoch when annealing.
    pub start: f64,
    /// Free nats per step: a step's KL below this counts as this value in the loss and
    /// passes no gradient (0: off; DreamerV3 uses 1).
    pub free_nats: f64,
    /// KL balancing alpha: alpha KL(sg(q) || p) + (1 - alpha) KL(q || sg(p)) in the loss
    /// (None: off; DreamerV2 uses 0.8).
    pub balance: Option<f64>,
}

impl Default for KlConfig {
    fn default() -> Self {
        Self {
            anneal_epochs: 10,
            start: 0.0,
            free_nats: 0.0,
            balance: None,
        }
    }
}

impl KlConfig {
    /// Rejects values that cannot train, naming the field.
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(self.free_nats.is_finite() && self.free_nats >= 0.0) {
            return Err(ConfigError::new(
                "free_nats",
                format!("must be a number >= 0, got {}", self.free_nats),
            ));
        }
        if let Some(a) = self.balance {
            if !(0.0..=1.0).contains(&a) {
                return Err(ConfigError::new(
                    "balance",
                    format!("must lie in [0, 1], got {a}"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.start) {
            return Err(ConfigError::new(
                "start",
                format!("must lie in [0, 1], got {}", self.start),
            ));
        }
        Ok(())
    }
}

/// The training objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectiveConfig {
    /// Samples (particles) per sequence: 1 trains the one-sample ELBO; K > 1 the K-sample bound
    /// `bound` names, each weight p(x | z) (p(z) / q(z | x))^beta with the annealed KL weight
    /// beta. A step then costs about K times an ELBO step. Not with free nats, KL balancing or
    /// SF heads (they shape or read the ELBO pass).
    pub particles: usize,
    /// Which K-sample bound trains (with K > 1).
    pub bound: TrainBound,
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        Self {
            particles: 1,
            bound: TrainBound::Iwae,
        }
    }
}

/// A K-sample bound on log p(x) to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TrainBound {
    /// The importance-weighted bound (IWAE, Burda et al. 2016): K whole-sequence samples.
    Iwae,
    /// The particle filter's bound (FIVO, Maddison et al. 2017): K particles that run the
    /// filtering step and are resampled when their effective sample size falls below K / 2;
    /// the gradient follows the particles' histories and leaves out the resampling's score
    /// term, as FIVO does. Needs a filtering posterior.
    Fivo,
}

/// How successor-feature heads train alongside the world model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum SfMode {
    /// The SF TD loss also trains the world model (through s_t = [h_t, muq_t]).
    Joint,
    /// The SF heads train on a fixed world model (loaded with `init_from`); only they learn.
    Frozen,
    /// The SF heads learn alongside the world model on its detached state: the TD loss never
    /// reaches the model (on the generated tasks of `bench science` joint training let the
    /// KL blow up from 0.04 to 1400 nats per step by epoch 10, measured; detached did not).
    Detached,
}

/// Successor-feature heads trained with the world model (successor features: Dayan 1993;
/// Barreto et al. 2017).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SfSettings {
    /// Joint, frozen or detached (see [`SfMode`]).
    pub mode: SfMode,
    /// Discounts, one head each.
    #[serde(default = "SfSettings::default_gammas")]
    pub gammas: Vec<f64>,
    /// Hidden ReLU layers per head.
    #[serde(default = "SfSettings::default_layers")]
    pub layers: usize,
    /// Hidden width.
    #[serde(default = "SfSettings::default_hidden")]
    pub hidden: usize,
    /// Weight of the SF TD loss added to the training loss.
    #[serde(default = "SfSettings::default_weight")]
    pub weight: f64,
}

impl SfSettings {
    fn default_gammas() -> Vec<f64> {
        vec![0.0, 0.5, 0.9, 0.99]
    }

    fn default_layers() -> usize {
        1
    }

    fn default_hidden() -> usize {
        64
    }

    /// 0.1: at 1.0 joint training let the SF loss blow the KL up (0.5 -> 33 nats per step by
    /// epoch 3 on the generated Markov task, measured); at 0.1 and 0.01 training matched
    /// SF-free runs.
    fn default_weight() -> f64 {
        0.1
    }

    /// Defaults for a mode.
    pub fn new(mode: SfMode) -> Self {
        Self {
            mode,
            gammas: Self::default_gammas(),
            layers: Self::default_layers(),
            hidden: Self::default_hidden(),
            weight: Self::default_weight(),
        }
    }

    /// Rejects values that cannot train, naming the field (whether the world model's state is
    /// causal and `init_from` for the frozen mode are checked by the training config).
    pub fn check(&self) -> Result<(), ConfigError> {
        if let Some(g) = self.gammas.iter().find(|g| !(**g >= 0.0 && **g < 1.0)) {
            return Err(ConfigError::new(
                "gammas",
                format!("every gamma must lie in [0, 1), got {g}"),
            ));
        }
        if self.gammas.is_empty() {
            return Err(ConfigError::new("gammas", "give at least one discount"));
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(ConfigError::new(
                "weight",
                format!("must be >= 0, got {}", self.weight),
            ));
        }
        Ok(())
    }
}
