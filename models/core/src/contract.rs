//! The world-model contract: what every model family provides, and all the
//! rest of neuromod (training, SPE, critic, benchmarks, export) relies on.

use burn::prelude::*;

use crate::batch::SeqBatch;
use crate::state_layout::StateLayout;
use crate::trajectory::{Noise, Trajectory};

/// A sequential latent-variable model trained by the ELBO.
///
/// A new family implements this for its module, plus [`ModelSpec`] for its config, and is
/// registered in one place (`neuromod-world`'s `registry.rs`).
pub trait SequenceModel {
    /// One pass over a padded batch: per-step ELBO terms, the prior and posterior of every
    /// step, and the state the signal heads read ([`Trajectory::state`]). `noise` gives the
    /// reparameterisation noise of z_t = mu_q + sigma_q * eps, so that the caller can
    /// recompute the sampled latents (importance weights).
    fn forward(&self, batch: &SeqBatch, noise: Noise) -> Trajectory;

    /// Open-loop generation: z_t from the prior, x_t drawn and fed back. actions: optional
    /// [batch, steps, action_dim]. Returns x: [batch, steps, x_dim].
    fn generate(
        &self,
        batch: usize,
        steps: usize,
        actions: Option<Tensor<3>>,
        device: &Device,
    ) -> Tensor<3>;

    /// Whether the posterior of [`SequenceModel::forward`] is causal (q(z_t | x_{<=t}, ..)):
    /// the one-step SPE and every signal read from it need a filtering posterior.
    fn filtering(&self) -> bool;

    /// The recurrent state before the first step, for `batch` rows: a list of [batch, width]
    /// tensors, whatever the family carries from step to step (rows can be reordered, as a
    /// particle filter's resampling does).
    fn start(&self, batch: usize, device: &Device) -> Vec<Tensor<2>>;

    /// One step of the filtering pass: x_t [rows, D] and eps_t [rows, Z] from `state`. A loop
    /// of it gives the same terms as [`SequenceModel::forward`] on unpadded sequences. Only
    /// meaningful when [`SequenceModel::filtering`] holds; callers check it.
    fn filter_step(&self, state: Vec<Tensor<2>>, x: Tensor<2>, eps: Tensor<2>) -> FilterStep;

    /// Latent width Z (the width of eps in [`SequenceModel::filter_step`] and of every prior
    /// and posterior).
    fn z_dim(&self) -> usize;

    /// How the state s_t the signal heads read ([`Trajectory::state`]) is laid out.
    fn state_layout(&self) -> StateLayout;

    /// Width of the state s_t.
    fn state_dim(&self) -> usize {
        self.state_layout().width()
    }

    /// What the family's weights are, by the names an export gives them (prefixed by the
    /// family's name), for a reader in another language: their meaning, beside the
    /// conventions every family shares ([`WEIGHT_CONVENTIONS`]).
    fn weight_layout(&self) -> &'static str;
}

/// How every family's weights are stored, for a reader of an export in another language.
pub const WEIGHT_CONVENTIONS: &str = "Linear weights are [in, out] (y = x @ W + b), as burn \
     stores them; transpose for torch.nn.Linear. GRU cells ({input,hidden}) hold the gates \
     [r, u, n] side by side along the output axis (PyTorch's formulation and order). A Gaussian \
     head's last layer outputs [mu | pre-softplus sigma]; sigma = softplus + sigma_min. A NADE \
     emission (likelihood nade) adds nade.{hidden_bias, w, v} to the observation decoder (vrnn.\
     decoder, dkf.emission, srnn.emission): the decoder's mu head gives the visible biases b \
     [.., D], hidden_bias the hidden biases c [.., H], and with W and V [D, H], log p(x) = sum_d \
     log Bernoulli(x_d | sigmoid(b_d + V_d . sigmoid(c + sum_{k<d} x_k W_k))).";

/// What one filtering step produces.
#[derive(Debug, Clone)]
pub struct FilterStep {
    /// The state after the step.
    pub state: Vec<Tensor<2>>,
    /// Prior of z_t: [rows, Z].
    pub prior: crate::DiagGaussian,
    /// Posterior of z_t: [rows, Z]; z_t = mu + sigma * eps_t.
    pub posterior: crate::DiagGaussian,
    /// -log p(x_t | z_t, ..): \[rows\].
    pub nll: Tensor<1>,
}

/// A model family's configuration: the fields every family shares, read and set by name so
/// that the command line and the signal heads need no particular family.
pub trait ModelSpec {
    /// Observation width D.
    fn x_dim(&self) -> usize;
    /// Latent width Z.
    fn z_dim(&self) -> usize;
    /// Layout of the state s_t the signal heads read ([`Trajectory::state`]) in the model built
    /// from this config.
    fn state_layout(&self) -> StateLayout;
    /// Width of the state s_t.
    fn state_dim(&self) -> usize {
        self.state_layout().width()
    }
    /// Whether the model built from this config has a filtering (causal) posterior.
    fn filtering(&self) -> bool;
    /// Sets one shared setting from the command line; a setting the family does not have is
    /// refused by name.
    fn set(&mut self, setting: Setting) -> Result<(), crate::ConfigError>;
    /// Rejects values that cannot build a working model, naming the field.
    fn check(&self) -> Result<(), crate::ConfigError>;
}

/// Which way a model's inference network reads the observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Guide {
    /// Causal: the posterior of z_t reads x_{<=t} only (what the signals need).
    Filtering,
    /// Both ways: the posterior of z_t also reads x_{>t} (a tighter bound, no signals).
    Smoothing,
}

/// A shared model setting (the command line's model flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Setting {
    /// Observation width (filled in from the data).
    XDim(usize),
    /// Recurrent state width.
    HDim(usize),
    /// Latent width.
    ZDim(usize),
    /// Hidden layer width.
    Hidden(usize),
    /// Dropout probability.
    Dropout(f64),
    /// Observation model.
    Likelihood(crate::Likelihood),
    /// Filtering or smoothing posterior.
    Guide(Guide),
}

impl Setting {
    /// The config field this setting writes.
    pub fn field(&self) -> &'static str {
        match self {
            Setting::XDim(_) => "x_dim",
            Setting::HDim(_) => "h_dim",
            Setting::ZDim(_) => "z_dim",
            Setting::Hidden(_) => "hidden",
            Setting::Dropout(_) => "dropout",
            Setting::Likelihood(_) => "likelihood",
            Setting::Guide(_) => "guide",
        }
    }
}

/// Implements [`ModelSpec`] for a family's config whose fields carry the shared names
/// (`x_dim`, `h_dim`, `z_dim`, `hidden`, `likelihood`) and which has an inherent `check`:
/// the state is [h_t, muq_t] (width `h_dim + z_dim`), `filtering` is the given expression of
/// the config, and `set` writes the shared fields and hands dropout and guide to the family's
/// own arms (each returns `Result<(), ConfigError>`).
///
/// ```text
/// neuromod_core::model_spec!(MyConfig, |c| filtering: c.guide == Guide::Filtering, set: {
///     Setting::Guide(g) => { c.guide = g; Ok(()) },
///     Setting::Dropout(_) => Err(..),
/// });
/// ```
#[macro_export]
macro_rules! model_spec {
    ($ty:ty, |$c:ident| filtering: $filtering:expr, set: { $($rest:pat => $body:expr),* $(,)? }) => {
        impl $crate::ModelSpec for $ty {
            fn x_dim(&self) -> usize {
                self.x_dim
            }

            fn z_dim(&self) -> usize {
                self.z_dim
            }

            fn state_layout(&self) -> $crate::StateLayout {
                $crate::StateLayout {
                    deterministic: self.h_dim,
                    z: self.z_dim,
                }
            }

            fn filtering(&self) -> bool {
                let $c = self;
                $filtering
            }

            fn set(&mut self, setting: $crate::Setting) -> Result<(), $crate::ConfigError> {
                use $crate::Setting;
                let $c = self;
                match setting {
                    Setting::XDim(v) => { $c.x_dim = v; Ok(()) }
                    Setting::HDim(v) => { $c.h_dim = v; Ok(()) }
                    Setting::ZDim(v) => { $c.z_dim = v; Ok(()) }
                    Setting::Hidden(v) => { $c.hidden = v; Ok(()) }
                    Setting::Likelihood(v) => { $c.likelihood = v; Ok(()) }
                    $($rest => $body,)*
                }
            }

            fn check(&self) -> Result<(), $crate::ConfigError> {
                <$ty>::check(self)
            }
        }
    };
}

/// A setting that cannot work, named by its path in the config it belongs to (`h_dim`;
/// `model.h_dim`, `optimiser.lr`, `sf.gammas` in a training config): the one error type every
/// config check of the project returns.
///
/// ```
/// use neuromod_core::ConfigError;
///
/// let e = ConfigError::positive(&[("h_dim", 0)]).unwrap_err().within("model");
/// assert_eq!(e.to_string(), "invalid setting `model.h_dim`: must be at least 1");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid setting `{field}`: {reason}")]
pub struct ConfigError {
    /// The offending setting's path (dot-separated).
    pub field: String,
    /// Why it is rejected.
    pub reason: String,
}

impl ConfigError {
    /// `field` rejected for `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error seen from the config that holds this one under `section`.
    pub fn within(mut self, section: &str) -> Self {
        self.field = format!("{section}.{}", self.field);
        self
    }

    /// The first of `fields` that is 0, which must be at least 1.
    pub fn positive(fields: &[(&str, usize)]) -> Result<(), Self> {
        match fields.iter().find(|(_, v)| *v == 0) {
            Some((field, _)) => Err(Self::new(*field, "must be at least 1")),
            None => Ok(()),
        }
    }

    /// Checks a dropout probability and a sigma floor, the two real-valued fields every family
    /// has.
    pub fn dropout_and_floor(dropout: f64, sigma_min: f64) -> Result<(), Self> {
        if !(0.0..1.0).contains(&dropout) {
            return Err(Self::new(
                "dropout",
                format!("must lie in [0, 1), got {dropout}"),
            ));
        }
        if !(sigma_min.is_finite() && sigma_min > 0.0) {
            return Err(Self::new(
                "sigma_min",
                format!("must be a positive number, got {sigma_min}"),
            ));
        }
        Ok(())
    }
}
