//! SRNN configuration, validated once at the boundary.

use burn::prelude::*;
use neuromod_core::{ConfigError, Guide, Likelihood};

/// Hyperparameters of a [`crate::Srnn`].
#[derive(Config, Debug)]
pub struct SrnnConfig {
    /// Observation width D.
    pub x_dim: usize,
    /// Width of the deterministic GRU state d_t (and of the smoothing GRU a_t).
    #[config(default = 256)]
    pub h_dim: usize,
    /// Latent width Z.
    #[config(default = 32)]
    pub z_dim: usize,
    /// Width of the hidden layers of the prior, the posterior and the emission.
    #[config(default = 256)]
    pub hidden: usize,
    /// Observation model.
    #[config(default = "Likelihood::Bernoulli")]
    pub likelihood: Likelihood,
    /// Hidden layers of the emission p(x_t | z_t, d_t).
    #[config(default = 2)]
    pub emission_layers: usize,
    /// Filtering (a_t = d_{t+1}) or smoothing (a backward GRU) posterior.
    #[config(default = "Guide::Filtering")]
    pub guide: Guide,
    /// Dropout on d_t where the emission reads it (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Floor added to every standard deviation after softplus.
    #[config(default = 1e-4)]
    pub sigma_min: f64,
}

impl SrnnConfig {
    /// Rejects values that cannot build a working model, naming the field.
    pub fn check(&self) -> Result<(), ConfigError> {
        ConfigError::positive(&[
            ("x_dim", self.x_dim),
            ("h_dim", self.h_dim),
            ("z_dim", self.z_dim),
            ("hidden", self.hidden),
        ])?;
        ConfigError::dropout_and_floor(self.dropout, self.sigma_min)
    }
}

// s_t = [d_{t+1}, muq_t]: the GRU state after reading x_t, and the posterior mean.
neuromod_core::model_spec!(SrnnConfig, |c| filtering: c.guide == Guide::Filtering, set: {
    Setting::Dropout(v) => {
        c.dropout = v;
        Ok(())
    },
    Setting::Guide(v) => {
        c.guide = v;
        Ok(())
    },
});
