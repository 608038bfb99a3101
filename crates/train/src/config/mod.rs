//! Training configuration (saved as `config.json` in every checkpoint): the world model beside
//! its family's name, the data, and the sections of training ([`sections`]): `optimiser`,
//! `schedule`, `kl`, `objective` and `sf`. Every section is a serde struct whose missing fields
//! take their defaults and whose check names the field it rejects; the training config's check
//! prefixes the section (`optimiser.lr`, `model.h_dim`), so every refusal is one
//! [`ConfigError`] with the field's whole path.
//!
//! Configs written before the sections existed (every field at the top level: `"lr"`,
//! `"epochs"`, `"kl_anneal_epochs"`, ...) still load: [`TrainConfig::from_json`] moves each
//! such field into its section first.

mod recipe;
mod sections;

use neuromod_core::{ConfigError, ModelSpec};
use neuromod_datasets::DatasetSpec;
use neuromod_world::{ModelConfig, ModelKind};
use serde::{Deserialize, Serialize};

pub use recipe::Recipe;
pub use sections::{
    KlConfig, LrPlateau, ObjectiveConfig, OptimiserConfig, ScheduleConfig, SfMode, SfSettings,
    TrainBound,
};

use crate::MetricsRow;

/// Everything that defines a training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The world model: its family in `kind` (default `vrnn`, what every checkpoint before
    /// the seam holds) and its settings in `model`.
    #[serde(flatten)]
    pub model: ModelConfig,
    /// The data.
    pub data: DatasetSpec,
    /// Adam, gradient clipping, weight decay, the moving average.
    #[serde(default)]
    pub optimiser: OptimiserConfig,
    /// Epochs, batches, seed, early stop, learning-rate schedule, snapshots kept, transposition.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// KL annealing, free nats, KL balancing.
    #[serde(default)]
    pub kl: KlConfig,
    /// The training objective (ELBO or importance-weighted).
    #[serde(default)]
    pub objective: ObjectiveConfig,
    /// Successor-feature heads (None: no SF heads; `signals` then reports one-step SPE only).
    #[serde(default)]
    pub sf: Option<SfSettings>,
    /// Start the world model from this checkpoint's weights (its model config must match).
    #[serde(default)]
    pub init_from: Option<std::path::PathBuf>,
}

/// Where each field of a config written before the sections existed lives now.
const LEGACY_FIELDS: [(&str, &str, &str); 17] = [
    ("lr", "optimiser", "lr"),
    ("weight_decay", "optimiser", "weight_decay"),
    ("grad_clip", "optimiser", "grad_clip"),
    ("ema", "optimiser", "ema"),
    ("epochs", "schedule", "epochs"),
    ("batch_size", "schedule", "batch_size"),
    ("seed", "schedule", "seed"),
    ("patience", "schedule", "patience"),
    ("lr_final", "schedule", "lr_final"),
    ("lr_plateau", "schedule", "lr_plateau"),
    ("keep_last", "schedule", "keep_last"),
    ("transpose", "schedule", "transpose"),
    ("kl_anneal_epochs", "kl", "anneal_epochs"),
    ("kl_start", "kl", "start"),
    ("free_nats", "kl", "free_nats"),
    ("kl_balance", "kl", "balance"),
    ("train_particles", "objective", "particles"),
];

/// Moves the top-level fields of a config written before the sections existed into their
/// sections (a field the section already sets stays as the section has it).
fn migrate(config: &mut serde_json::Value) {
    let Some(top) = config.as_object_mut() else {
        return;
    };
    for (old, section, field) in LEGACY_FIELDS {
        if let Some(v) = top.remove(old) {
            let slot = top
                .entry(section)
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let Some(s) = slot.as_object_mut() {
                s.entry(field).or_insert(v);
            }
        }
    }
}

impl TrainConfig {
    /// Defaults around a model and a dataset.
    pub fn new(model: impl Into<ModelConfig>, data: DatasetSpec) -> Self {
        Self {
            model: model.into(),
            data,
            optimiser: OptimiserConfig::default(),
            schedule: ScheduleConfig::default(),
            kl: KlConfig::default(),
            objective: ObjectiveConfig::default(),
            sf: None,
            init_from: None,
        }
    }

    /// Parses a JSON config; fields it leaves out take their defaults (those of the family
    /// its `kind` names, `vrnn` when it names none).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        use serde::de::Error;
        let mut user: serde_json::Value = serde_json::from_str(text)?;
        migrate(&mut user);
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

    /// Rejects values that cannot train, naming the field by its whole path.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.model.check().map_err(|e| e.within("model"))?;
        self.optimiser.check().map_err(|e| e.within("optimiser"))?;
        self.schedule.check().map_err(|e| e.within("schedule"))?;
        self.kl.check().map_err(|e| e.within("kl"))?;
        if self.schedule.transpose >= self.model.x_dim().max(1) {
            return Err(ConfigError::new(
                "schedule.transpose",
                format!(
                    "must be below x_dim {}, got {}",
                    self.model.x_dim(),
                    self.schedule.transpose
                ),
            ));
        }
        if let Some(sf) = &self.sf {
            if !self.model.filtering() {
                return Err(ConfigError::new(
                    "sf",
                    format!(
                        "successor features read a causal state, but this {} has a smoothing \
                         posterior (it sees future observations)",
                        self.model.kind()
                    ),
                ));
            }
            sf.check().map_err(|e| e.within("sf"))?;
            if sf.mode == SfMode::Frozen && self.init_from.is_none() {
                return Err(ConfigError::new(
                    "sf.mode",
                    "frozen trains SF heads on a fixed, trained world model: give init_from \
                     (--init-from CHECKPOINT)",
                ));
            }
        }
        let particles = self.objective.particles;
        if particles == 0 {
            return Err(ConfigError::new(
                "objective.particles",
                "must be at least 1",
            ));
        }
        if particles > 1 && self.objective.bound == TrainBound::Fivo && !self.model.filtering() {
            return Err(ConfigError::new(
                "objective.bound",
                "fivo runs the particle filter, whose proposal is the filtering posterior; this \
                 model's posterior is smoothing: use iwae or --guide filtering",
            ));
        }
        if particles > 1 {
            let clash = [
                (self.kl.free_nats > 0.0, "kl.free_nats"),
                (self.kl.balance.is_some(), "kl.balance"),
                (self.sf.is_some(), "sf"),
            ];
            if let Some((_, name)) = clash.into_iter().find(|(on, _)| *on) {
                return Err(ConfigError::new(
                    "objective.particles",
                    format!(
                        "the {particles}-particle objective does not combine with {name}: it \
                         shapes or reads the one-sample ELBO pass"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Learning rate for a 1-based epoch, given the rows of the epochs before it: `lr`,
    /// cosine-decayed to `lr_final` at the last epoch, or lowered on validation plateaus.
    /// A pure function of the history, so a resumed run continues the same schedule.
    pub fn lr_at(&self, epoch: usize, history: &[MetricsRow]) -> f64 {
        if let Some(p) = &self.schedule.lr_plateau {
            return p.replay(self.optimiser.lr, history.iter().map(|r| r.valid_bound));
        }
        match self.schedule.lr_final {
            Some(end) if self.schedule.epochs > 1 => {
                let progress = (epoch.saturating_sub(1)) as f64 / (self.schedule.epochs - 1) as f64;
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos());
                end + (self.optimiser.lr - end) * cos
            }
            _ => self.optimiser.lr,
        }
    }

    /// How the loss shapes the KL term.
    pub fn kl_shaping(&self) -> neuromod_core::KlShaping {
        neuromod_core::KlShaping {
            free_nats: self.kl.free_nats,
            balance: self.kl.balance,
        }
    }

    /// KL weight beta for a 1-based epoch.
    pub fn beta(&self, epoch: usize) -> f64 {
        if self.kl.anneal_epochs == 0 {
            return 1.0;
        }
        let progress = (epoch.saturating_sub(1)) as f64 / self.kl.anneal_epochs as f64;
        (self.kl.start + (1.0 - self.kl.start) * progress).min(1.0)
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
