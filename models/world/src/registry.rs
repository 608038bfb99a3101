//! The one registration point of model families: one line per family in the `families!` call
//! at the end of this file gives its name, its config and module types, and an accessor; the
//! macro writes [`ModelKind`], [`ModelConfig`], [`WorldModel`] and the dispatch from them to
//! each family.

use burn::prelude::*;
use burn::store::{ModuleRecord, RecordError};
use neuromod_core::{
    ConfigError, FilterStep, ModelSpec, Noise, SeqBatch, SequenceModel, Setting, StateLayout,
    Trajectory,
};
use serde::{Deserialize, Serialize};

/// Writes the seam's types for the listed families. Each family's config type has
/// `new(x_dim) -> Self` and `init(&self, &Device) -> Result<Module, ConfigError>`, implements
/// [`ModelSpec`] and serde; its module implements [`SequenceModel`] and burn's `Module`.
macro_rules! families {
    ($d:tt $(
        $(#[doc = $doc:literal])*
        $variant:ident($name:literal, $as:ident, $module:ty, $config:ty)
    ),+ $(,)?) => {
        /// A model family, by the name configs and the command line use.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ModelKind {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant,
            )+
        }

        impl ModelKind {
            /// How many families there are.
            pub const COUNT: usize = [$($name),+].len();

            /// Every family, in registration order.
            pub const ALL: [ModelKind; ModelKind::COUNT] = [$(ModelKind::$variant),+];

            /// The family's name (`kind` in configs, `--model` on the command line).
            pub fn name(self) -> &'static str {
                match self {
                    $(ModelKind::$variant => $name,)+
                }
            }
        }

        /// A world model's configuration: the family's name is the `kind` field and its
        /// settings the `model` field, side by side in the run's config.json (`{"kind":
        /// "vrnn", "model": {..}}`).
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "model")]
        pub enum ModelConfig {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant($config),
            )+
        }

        /// A world model of any family.
        // One model lives per run, so the variants' size difference costs nothing (and burn's
        // Module derive takes the family's module itself, not a box).
        #[allow(clippy::large_enum_variant)]
        #[derive(Module, Debug)]
        pub enum WorldModel {
            $(
                $(#[doc = $doc])*
                $variant($module),
            )+
        }

        /// Runs `$body` with `$m` bound to the family's value inside `$value` (a
        /// [`ModelConfig`] or a [`WorldModel`], by reference or by value).
        macro_rules! dispatch {
            ($d value:expr, $d ty:ident, $d m:ident => $d body:expr) => {
                match $d value {
                    $($d ty::$variant($d m) => $d body,)+
                }
            };
        }

        impl ModelConfig {
            /// The family's default config for observations of width `x_dim`.
            pub fn new(kind: ModelKind, x_dim: usize) -> Self {
                match kind {
                    $(ModelKind::$variant => ModelConfig::$variant(<$config>::new(x_dim)),)+
                }
            }

            /// The family.
            pub fn kind(&self) -> ModelKind {
                match self {
                    $(ModelConfig::$variant(_) => ModelKind::$variant,)+
                }
            }

            /// Checks the config and builds a freshly initialised model on `device`.
            pub fn init(&self, device: &Device) -> Result<WorldModel, ConfigError> {
                Ok(match self {
                    $(ModelConfig::$variant(c) => WorldModel::$variant(c.init(device)?),)+
                })
            }

            $(
                #[doc = concat!("The `", $name, "` config, if this is one.")]
                pub fn $as(&self) -> Option<&$config> {
                    match self {
                        ModelConfig::$variant(c) => Some(c),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            )+
        }

        impl WorldModel {
            /// The family.
            pub fn kind(&self) -> ModelKind {
                match self {
                    $(WorldModel::$variant(_) => ModelKind::$variant,)+
                }
            }

            /// Loads a record written by [`WorldModel::record`].
            pub fn load(self, record: ModuleRecord) -> Result<Self, RecordError> {
                Ok(match self {
                    $(WorldModel::$variant(m) => WorldModel::$variant(m.try_load_record(record)?),)+
                })
            }

            $(
                #[doc = concat!("The `", $name, "` model, if this is one.")]
                pub fn $as(&self) -> Option<&$module> {
                    match self {
                        WorldModel::$variant(m) => Some(m),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            )+
        }

        $(
            impl From<$config> for ModelConfig {
                fn from(c: $config) -> Self {
                    ModelConfig::$variant(c)
                }
            }

            impl From<$module> for WorldModel {
                fn from(m: $module) -> Self {
                    WorldModel::$variant(m)
                }
            }
        )+
    };
}

// The families: one line each (a new family adds its line here and its crate to this crate's
// Cargo.toml; see docs/models.md, "Adding a family").
families! {
    $
    /// Variational recurrent neural network (Chung et al. 2015).
    Vrnn("vrnn", as_vrnn, neuromod_vrnn::Vrnn, neuromod_vrnn::VrnnConfig),
    /// Deep Kalman filter / deep Markov model (Krishnan et al. 2017).
    Dkf("dkf", as_dkf, neuromod_dkf::Dkf, neuromod_dkf::DkfConfig),
    /// Stochastic recurrent neural network (Fraccaro et al. 2016).
    Srnn("srnn", as_srnn, neuromod_srnn::Srnn, neuromod_srnn::SrnnConfig),
}

impl Default for ModelKind {
    /// The first family registered (what configs written before the seam hold).
    fn default() -> Self {
        ModelKind::ALL[0]
    }
}

impl ModelKind {
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

impl ModelConfig {
    /// Applies each setting in turn (the first one the family lacks is refused by name).
    pub fn with(mut self, settings: &[Setting]) -> Result<Self, ConfigError> {
        for s in settings {
            self.set(*s)?;
        }
        Ok(self)
    }
}

impl ModelSpec for ModelConfig {
    fn x_dim(&self) -> usize {
        dispatch!(self, ModelConfig, c => c.x_dim())
    }

    fn z_dim(&self) -> usize {
        dispatch!(self, ModelConfig, c => c.z_dim())
    }

    fn state_layout(&self) -> StateLayout {
        dispatch!(self, ModelConfig, c => c.state_layout())
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

impl WorldModel {
    /// The weights as a record named as the family's own module names them (no enum variant
    /// in the paths), so that a checkpoint holds the family's module as it always did.
    pub fn record(&self) -> ModuleRecord {
        dispatch!(self, WorldModel, m => m.clone().into_record())
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

    fn z_dim(&self) -> usize {
        dispatch!(self, WorldModel, m => SequenceModel::z_dim(m))
    }

    fn state_layout(&self) -> StateLayout {
        dispatch!(self, WorldModel, m => SequenceModel::state_layout(m))
    }

    fn weight_layout(&self) -> &'static str {
        dispatch!(self, WorldModel, m => m.weight_layout())
    }
}
