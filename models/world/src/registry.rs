//! The one registration point of model families: their names, configs and modules, and the
//! dispatch from the seam's types to each family.

use burn::prelude::*;
use burn::store::{ModuleRecord, RecordError};
use neuromod_core::{
    ConfigError, FilterStep, ModelSpec, Noise, SeqBatch, SequenceModel, Setting, Trajectory,
};
use neuromod_dkf::{Dkf, DkfConfig};
use neuromod_srnn::{Srnn, SrnnConfig};
use neuromod_vrnn::{Vrnn, VrnnConfig};
use serde::{Deserialize, Serialize};

/// A model family, by the name configs and the command line use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Variational recurrent neural network (Chung et al. 2015).
    #[default]
    Vrnn,
    /// Deep Kalman filter / deep Markov model (Krishnan et al. 2017).
    Dkf,
    /// Stochastic recurrent neural network (Fraccaro et al. 2016).
    Srnn,
}

impl ModelKind {
    /// Every family.
    pub const ALL: [ModelKind; 3] = [ModelKind::Vrnn, ModelKind::Dkf, ModelKind::Srnn];

    /// The family's name (`kind` in configs, `--model` on the command line).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Vrnn => "vrnn",
            ModelKind::Dkf => "dkf",
            ModelKind::Srnn => "srnn",
        }
    }

    /// The family of `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Every family's name, comma-separated (for error messages).
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A world model's configuration: the family's name is the `kind` field and its settings the
/// `model` field, side by side in the run's config.json (`{"kind": "vrnn", "model": {..}}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "model", rename_all = "lowercase")]
pub enum ModelConfig {
    /// A VRNN.
    Vrnn(VrnnConfig),
    /// A DKF.
    Dkf(DkfConfig),
    /// An SRNN.
    Srnn(SrnnConfig),
}

/// A world model of any family.
// One model lives per run, so the variants' size difference costs nothing (and burn's Module
// derive takes the family's module itself, not a box).
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum WorldModel {
    /// A VRNN.
    Vrnn(Vrnn),
    /// A DKF.
    Dkf(Dkf),
    /// An SRNN.
    Srnn(Srnn),
}

/// Runs `$body` with `$m` bound to the family's value inside `$value` (a [`ModelConfig`] or a
/// [`WorldModel`], by reference or by value).
macro_rules! dispatch {
    ($value:expr, $ty:ident, $m:ident => $body:expr) => {
        match $value {
            $ty::Vrnn($m) => $body,
            $ty::Dkf($m) => $body,
            $ty::Srnn($m) => $body,
        }
    };
}

impl ModelConfig {
    /// The family's default config for observations of width `x_dim`.
    pub fn new(kind: ModelKind, x_dim: usize) -> Self {
        match kind {
            ModelKind::Vrnn => ModelConfig::Vrnn(VrnnConfig::new(x_dim)),
            ModelKind::Dkf => ModelConfig::Dkf(DkfConfig::new(x_dim)),
            ModelKind::Srnn => ModelConfig::Srnn(SrnnConfig::new(x_dim)),
        }
    }

    /// The family.
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelConfig::Vrnn(_) => ModelKind::Vrnn,
            ModelConfig::Dkf(_) => ModelKind::Dkf,
            ModelConfig::Srnn(_) => ModelKind::Srnn,
        }
    }

    /// Checks the config and builds a freshly initialised model on `device`.
    pub fn init(&self, device: &Device) -> Result<WorldModel, ConfigError> {
        Ok(match self {
            ModelConfig::Vrnn(c) => WorldModel::Vrnn(c.init(device)?),
            ModelConfig::Dkf(c) => WorldModel::Dkf(c.init(device)?),
            ModelConfig::Srnn(c) => WorldModel::Srnn(c.init(device)?),
        })
    }

    /// Applies each setting in turn (the first one the family lacks is refused by name).
    pub fn with(mut self, settings: &[Setting]) -> Result<Self, ConfigError> {
        for s in settings {
            self.set(*s)?;
        }
        Ok(self)
    }

    /// The VRNN config, if this is one.
    pub fn as_vrnn(&self) -> Option<&VrnnConfig> {
        match self {
            ModelConfig::Vrnn(c) => Some(c),
            _ => None,
        }
    }
}

impl ModelSpec for ModelConfig {
    fn x_dim(&self) -> usize {
        dispatch!(self, ModelConfig, c => c.x_dim())
    }

    fn z_dim(&self) -> usize {
        dispatch!(self, ModelConfig, c => c.z_dim())
    }

    fn state_dim(&self) -> usize {
        dispatch!(self, ModelConfig, c => c.state_dim())
    }

    fn filtering(&self) -> bool {
        dispatch!(self, ModelConfig, c => ModelSpec::filtering(c))
    }

    fn set(&mut self, setting: Setting) -> Result<(), ConfigError> {
        dispatch!(self, ModelConfig, c => c.set(setting))
    }

    fn check(&self) -> Result<(), ConfigError> {
        dispatch!(self, ModelConfig, c => ModelSpec::check(c))
    }
}

impl From<VrnnConfig> for ModelConfig {
    fn from(c: VrnnConfig) -> Self {
        ModelConfig::Vrnn(c)
    }
}

impl WorldModel {
    /// The family.
    pub fn kind(&self) -> ModelKind {
        match self {
            WorldModel::Vrnn(_) => ModelKind::Vrnn,
            WorldModel::Dkf(_) => ModelKind::Dkf,
            WorldModel::Srnn(_) => ModelKind::Srnn,
        }
    }

    /// The weights as a record named as the family's own module names them (no enum variant
    /// in the paths), so that a checkpoint holds the family's module as it always did.
    pub fn record(&self) -> ModuleRecord {
        dispatch!(self, WorldModel, m => m.clone().into_record())
    }

    /// Loads a record written by [`WorldModel::record`].
    pub fn load(self, record: ModuleRecord) -> Result<Self, RecordError> {
        Ok(match self {
            WorldModel::Vrnn(m) => WorldModel::Vrnn(m.try_load_record(record)?),
            WorldModel::Dkf(m) => WorldModel::Dkf(m.try_load_record(record)?),
            WorldModel::Srnn(m) => WorldModel::Srnn(m.try_load_record(record)?),
        })
    }

    /// [`SequenceModel::forward`], callable without importing the trait.
    pub fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        SequenceModel::forward(self, batch, noise)
    }

    /// [`SequenceModel::generate`], callable without importing the trait.
    pub fn generate(
        &self,
        batch: usize,
        steps: usize,
        actions: Option<Tensor<3>>,
        device: &Device,
    ) -> Tensor<3> {
        SequenceModel::generate(self, batch, steps, actions, device)
    }

    /// The VRNN, if this is one.
    pub fn as_vrnn(&self) -> Option<&Vrnn> {
        match self {
            WorldModel::Vrnn(m) => Some(m),
            _ => None,
        }
    }
}

impl From<DkfConfig> for ModelConfig {
    fn from(c: DkfConfig) -> Self {
        ModelConfig::Dkf(c)
    }
}

impl From<SrnnConfig> for ModelConfig {
    fn from(c: SrnnConfig) -> Self {
        ModelConfig::Srnn(c)
    }
}

impl From<Vrnn> for WorldModel {
    fn from(m: Vrnn) -> Self {
        WorldModel::Vrnn(m)
    }
}

impl SequenceModel for WorldModel {
    fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory {
        dispatch!(self, WorldModel, m => SequenceModel::forward(m, batch, noise))
    }

    fn generate(
        &self,
        batch: usize,
        steps: usize,
        actions: Option<Tensor<3>>,
        device: &Device,
    ) -> Tensor<3> {
        dispatch!(self, WorldModel, m => SequenceModel::generate(m, batch, steps, actions, device))
    }

    fn filtering(&self) -> bool {
        dispatch!(self, WorldModel, m => SequenceModel::filtering(m))
    }

    fn start(&self, batch: usize, device: &Device) -> Vec<Tensor<2>> {
        dispatch!(self, WorldModel, m => m.start(batch, device))
    }

    fn filter_step(&self, state: Vec<Tensor<2>>, x: Tensor<2>, eps: Tensor<2>) -> FilterStep {
        dispatch!(self, WorldModel, m => m.filter_step(state, x, eps))
    }
}
