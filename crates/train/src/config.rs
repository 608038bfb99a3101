//! Training configuration (saved as `config.json` in every checkpoint).

use neuromod_core::ModelSpec;
use neuromod_datasets::DatasetSpec;
use neuromod_world::{ModelConfig, ModelKind};
use serde::{Deserialize, Serialize};

use crate::{MetricsRow, TrainError};

fn default_epochs() -> usize {
    50
}
fn default_batch() -> usize {
    16
}
fn default_lr() -> f64 {
    2e-3
}
fn default_anneal() -> usize {
    10
}
fn default_clip() -> Option<f32> {
    Some(10.0)
}
fn default_keep() -> usize {
    3
}

/// How successor-feature heads train alongside the world model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

fn default_gammas() -> Vec<f64> {
    vec![0.0, 0.5, 0.9, 0.99]
}
fn default_sf_hidden() -> usize {
    64
}
fn default_one() -> usize {
    1
}
/// 0.1: at 1.0 joint training let the SF loss blow the KL up (0.5 -> 33 nats per step by
/// epoch 3 on the generated Markov task, measured); at 0.1 and 0.01 training matched SF-free runs.
fn default_sf_weight() -> f64 {
    0.1
}

/// Successor-feature heads trained with the world model (successor features: Dayan 1993; Barreto et al. 2017).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SfSettings {
    /// Joint, frozen or detached (see [`SfMode`]).
    pub mode: SfMode,
    /// Discounts, one head each.
    #[serde(default = "default_gammas")]
    pub gammas: Vec<f64>,
    /// Hidden ReLU layers per head.
    #[serde(default = "default_one")]
    pub layers: usize,
    /// Hidden width.
    #[serde(default = "default_sf_hidden")]
    pub hidden: usize,
    /// Weight of the SF TD loss added to the training loss.
    #[serde(default = "default_sf_weight")]
    pub weight: f64,
}

impl SfSettings {
    /// Defaults for a mode.
    pub fn new(mode: SfMode) -> Self {
        Self {
            mode,
            gammas: default_gammas(),
            layers: 1,
            hidden: default_sf_hidden(),
            weight: default_sf_weight(),
        }
    }
}

fn default_plateau_factor() -> f64 {
    0.5
}

fn default_min_lr() -> f64 {
    1e-5
}

/// Learning-rate schedule that multiplies the rate by `factor` (not below `min_lr`) each time
/// `patience` epochs pass without a better validation bound than the best so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrPlateau {
    /// Epochs without a new best validation bound before the rate is lowered.
    pub patience: usize,
    /// Multiplier applied at each plateau, in (0, 1).
    #[serde(default = "default_plateau_factor")]
    pub factor: f64,
    /// The rate never goes below this.
    #[serde(default = "default_min_lr")]
    pub min_lr: f64,
}

impl LrPlateau {
    /// A schedule with the default factor (0.5) and floor (1e-5).
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            factor: default_plateau_factor(),
            min_lr: default_min_lr(),
        }
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

/// Everything that defines a training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The world model: its family in `kind` (default `vrnn`, what every checkpoint before
    /// the seam holds) and its settings in `model`.
    #[serde(flatten)]
    pub model: ModelConfig,
    /// The data.
    pub data: DatasetSpec,
    /// Passes over the training set.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Sequences per batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Adam learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Clip each parameter tensor's gradient to this L2 norm (burn's `GradientClipping::Norm`).
    #[serde(default = "default_clip")]
    pub grad_clip: Option<f32>,
    /// Seed of the device RNG (initialisation, latent noise) and the data order.
    #[serde(default)]
    pub seed: u64,
    /// KL annealing: beta rises linearly from `kl_start` to 1 over this many epochs (0: off).
    #[serde(default = "default_anneal")]
    pub kl_anneal_epochs: usize,
    /// KL weight at the first epoch when annealing.
    #[serde(default)]
    pub kl_start: f64,
    /// Free nats per step: a step's KL below this counts as this value in the loss and
    /// passes no gradient (0: off; DreamerV3 uses 1). Reported bounds are never shaped.
    #[serde(default)]
    pub free_nats: f64,
    /// KL balancing alpha: alpha KL(sg(q) || p) + (1 - alpha) KL(q || sg(p)) in the loss
    /// (None: off; DreamerV2 uses 0.8).
    #[serde(default)]
    pub kl_balance: Option<f64>,
    /// Importance samples per sequence in the training objective: 1 trains the one-sample
    /// ELBO; K > 1 the K-sample importance-weighted bound (IWAE, Burda et al. 2016), each
    /// weight p(x | z) (p(z) / q(z | x))^beta with the annealed KL weight beta. A step then
    /// costs about K times an ELBO step. Not with free nats, KL balancing or SF heads (they
    /// shape or read the ELBO pass).
    #[serde(default = "default_one")]
    pub train_particles: usize,
    /// Early stop after this many epochs without a better validation bound (None: never).
    #[serde(default)]
    pub patience: Option<usize>,
    /// Cosine decay of the learning rate per epoch from `lr` to this value (None: constant).
    #[serde(default)]
    pub lr_final: Option<f64>,
    /// Lower the learning rate when validation stalls (None: off; excludes `lr_final`).
    #[serde(default)]
    pub lr_plateau: Option<LrPlateau>,
    /// L2 penalty added to the gradients by Adam (0: off).
    #[serde(default)]
    pub weight_decay: f64,
    /// Random transposition for piano rolls: each training sequence moves by a uniform
    /// integer in [-k, k] features (semitones) each epoch; notes pushed off the keyboard are
    /// dropped (0: off; validation and test data are never moved).
    #[serde(default)]
    pub transpose: usize,
    /// Successor-feature heads (None: no SF heads; `signals` then reports one-step SPE only).
    #[serde(default)]
    pub sf: Option<SfSettings>,
    /// Validate and save an exponential moving average of the weights with this decay per
    /// optimiser step (e.g. 0.999; None: the raw weights).
    #[serde(default)]
    pub ema: Option<f64>,
    /// Start the world model from this checkpoint's weights (its model config must match).
    #[serde(default)]
    pub init_from: Option<std::path::PathBuf>,
    /// Epoch snapshots kept besides the best one (at least 1: the latest, which resume reads).
    #[serde(default = "default_keep")]
    pub keep_last: usize,
}

impl TrainConfig {
    /// Defaults around a model and a dataset.
    pub fn new(model: impl Into<ModelConfig>, data: DatasetSpec) -> Self {
        Self {
            model: model.into(),
            data,
            epochs: default_epochs(),
            batch_size: default_batch(),
            lr: default_lr(),
            grad_clip: default_clip(),
            seed: 0,
            kl_anneal_epochs: default_anneal(),
            kl_start: 0.0,
            free_nats: 0.0,
            kl_balance: None,
            train_particles: 1,
            patience: None,
            lr_final: None,
            lr_plateau: None,
            weight_decay: 0.0,
            transpose: 0,
            sf: None,
            init_from: None,
            ema: None,
            keep_last: default_keep(),
        }
    }

    /// Parses a JSON config; fields it leaves out take their defaults (those of the family
    /// its `kind` names, `vrnn` when it names none).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        use serde::de::Error;
        let user: serde_json::Value = serde_json::from_str(text)?;
        let kind = match user.get("kind") {
            None => ModelKind::Vrnn,
            Some(serde_json::Value::String(name)) => {
                ModelKind::from_name(name).ok_or_else(|| {
                    serde_json::Error::custom(format!(
                        "unknown model kind `{name}` (expected one of {})",
                        ModelKind::names()
                    ))
                })?
            }
            Some(other) => {
                return Err(serde_json::Error::custom(format!(
                    "`kind` must be a model family's name ({}), got {other}",
                    ModelKind::names()
                )))
            }
        };
        let defaults = Self::new(
            ModelConfig::new(kind, 0),
            DatasetSpec::markov(neuromod_datasets::generate::MarkovPatterns::default()),
        );
        let mut merged = serde_json::to_value(defaults)?;
        overlay(&mut merged, user);
        serde_json::from_value(merged)
    }

    /// Rejects values that cannot train, naming the field.
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |field, reason: String| Err(TrainError::Config { field, reason });
        self.model.check()?;
        if self.keep_last == 0 {
            return bad(
                "keep_last",
                "must be at least 1 (resume reads the latest)".into(),
            );
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("must be a positive number, got {}", self.lr));
        }
        if let Some(f) = self.lr_final {
            if !(f.is_finite() && f >= 0.0) {
                return bad("lr_final", format!("must be a number >= 0, got {f}"));
            }
        }
        if let Some(p) = &self.lr_plateau {
            if self.lr_final.is_some() {
                return bad(
                    "lr_plateau",
                    "choose one schedule: lr_plateau or lr_final (cosine), not both".into(),
                );
            }
            if p.patience == 0 {
                return bad("lr_plateau.patience", "must be at least 1".into());
            }
            if !(p.factor > 0.0 && p.factor < 1.0) {
                return bad(
                    "lr_plateau.factor",
                    format!("must lie in (0, 1), got {}", p.factor),
                );
            }
            if !(p.min_lr.is_finite() && p.min_lr >= 0.0) {
                return bad(
                    "lr_plateau.min_lr",
                    format!("must be a number >= 0, got {}", p.min_lr),
                );
            }
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                format!("must be a number >= 0, got {}", self.weight_decay),
            );
        }
        if self.transpose >= self.model.x_dim().max(1) {
            return bad(
                "transpose",
                format!(
                    "must be below x_dim {}, got {}",
                    self.model.x_dim(),
                    self.transpose
                ),
            );
        }
        if let Some(d) = self.ema {
            if !(0.0..1.0).contains(&d) {
                return bad("ema", format!("decay must lie in [0, 1), got {d}"));
            }
        }
        if let Some(sf) = &self.sf {
            if !self.model.filtering() {
                return bad(
                    "sf",
                    format!(
                        "successor features read a causal state, but this {} has a smoothing \
                         posterior (it sees future observations)",
                        self.model.kind()
                    ),
                );
            }
            if let Some(g) = sf.gammas.iter().find(|g| !(**g >= 0.0 && **g < 1.0)) {
                return bad(
                    "sf.gammas",
                    format!("every gamma must lie in [0, 1), got {g}"),
                );
            }
            if sf.gammas.is_empty() {
                return bad("sf.gammas", "give at least one discount".into());
            }
            if sf.mode == SfMode::Frozen && self.init_from.is_none() {
                return bad(
                    "sf.mode",
                    "frozen trains SF heads on a fixed, trained world model: give init_from \
                     (--init-from CHECKPOINT)"
                        .into(),
                );
            }
            if !(sf.weight.is_finite() && sf.weight >= 0.0) {
                return bad("sf.weight", format!("must be >= 0, got {}", sf.weight));
            }
        }
        if let Some(c) = self.grad_clip {
            if !(c.is_finite() && c > 0.0) {
                return bad("grad_clip", format!("must be positive, got {c}"));
            }
        }
        if self.train_particles == 0 {
            return bad("train_particles", "must be at least 1".into());
        }
        if self.train_particles > 1 {
            let clash = [
                (self.free_nats > 0.0, "free_nats"),
                (self.kl_balance.is_some(), "kl_balance"),
                (self.sf.is_some(), "sf"),
            ];
            if let Some((_, name)) = clash.into_iter().find(|(on, _)| *on) {
                return bad(
                    "train_particles",
                    format!(
                        "the importance-weighted objective (train_particles {}) does not combine \
                         with {name}: it shapes or reads the one-sample ELBO pass",
                        self.train_particles
                    ),
                );
            }
        }
        if !(self.free_nats.is_finite() && self.free_nats >= 0.0) {
            return bad(
                "free_nats",
                format!("must be a number >= 0, got {}", self.free_nats),
            );
        }
        if let Some(a) = self.kl_balance {
            if !(0.0..=1.0).contains(&a) {
                return bad("kl_balance", format!("must lie in [0, 1], got {a}"));
            }
        }
        if !(0.0..=1.0).contains(&self.kl_start) {
            return bad(
                "kl_start",
                format!("must lie in [0, 1], got {}", self.kl_start),
            );
        }
        Ok(())
    }

    /// Learning rate for a 1-based epoch, given the rows of the epochs before it: `lr`,
    /// cosine-decayed to `lr_final` at the last epoch, or lowered on validation plateaus.
    /// A pure function of the history, so a resumed run continues the same schedule.
    pub fn lr_at(&self, epoch: usize, history: &[MetricsRow]) -> f64 {
        if let Some(p) = &self.lr_plateau {
            return p.replay(self.lr, history.iter().map(|r| r.valid_bound));
        }
        match self.lr_final {
            Some(end) if self.epochs > 1 => {
                let progress = (epoch.saturating_sub(1)) as f64 / (self.epochs - 1) as f64;
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos());
                end + (self.lr - end) * cos
            }
            _ => self.lr,
        }
    }

    /// How the loss shapes the KL term.
    pub fn kl_shaping(&self) -> neuromod_core::KlShaping {
        neuromod_core::KlShaping {
            free_nats: self.free_nats,
            balance: self.kl_balance,
        }
    }

    /// KL weight beta for a 1-based epoch.
    pub fn beta(&self, epoch: usize) -> f64 {
        if self.kl_anneal_epochs == 0 {
            return 1.0;
        }
        let progress = (epoch.saturating_sub(1)) as f64 / self.kl_anneal_epochs as f64;
        (self.kl_start + (1.0 - self.kl_start) * progress).min(1.0)
    }
}

/// Recursively replaces the fields of `base` that `top` sets.
fn overlay(base: &mut serde_json::Value, top: serde_json::Value) {
    match (base, top) {
        (serde_json::Value::Object(b), serde_json::Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => overlay(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, t) => *b = t,
    }
}

#[cfg(test)]
mod tests;
