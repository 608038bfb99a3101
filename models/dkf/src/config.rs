//! DKF configuration, validated once at the boundary.

use burn::prelude::*;
use neuromod_core::{ConfigError, Guide, Likelihood};

/// Hyperparameters of a [`crate::Dkf`].
#[derive(Config, Debug)]
pub struct DkfConfig {
    /// Observation width D.
    pub x_dim: usize,
    /// Width of the guide's GRU state g_t.
    #[config(default = 256)]
    pub h_dim: usize,
    /// Latent width Z.
    #[config(default = 32)]
    pub z_dim: usize,
    /// Width of the transition's and the emission's hidden layers.
    #[config(default = 256)]
    pub hidden: usize,
    /// Observation model.
    #[config(default = "Likelihood::Bernoulli")]
    pub likelihood: Likelihood,
    /// Hidden layers of the emission p(x_t | z_t).
    #[config(default = 2)]
    pub emission_layers: usize,
    /// Direction of the guide's GRU.
    #[config(default = "Guide::Filtering")]
    pub guide: Guide,
    /// Floor added to every standard deviation after softplus.
    #[config(default = 1e-4)]
    pub sigma_min: f64,
}

impl DkfConfig {
    /// Rejects values that cannot build a working model, naming the field.
    pub fn check(&self) -> Result<(), ConfigError> {
        ConfigError::positive(&[
            ("x_dim", self.x_dim),
            ("h_dim", self.h_dim),
            ("z_dim", self.z_dim),
            ("hidden", self.hidden),
        ])?;
        ConfigError::dropout_and_floor(0.0, self.sigma_min)
    }
}

// s_t = [g_t, muq_t]: the guide's GRU state and the posterior mean.
neuromod_core::model_spec!(DkfConfig, |c| filtering: c.guide == Guide::Filtering, set: {
    Setting::Guide(v) => {
        c.guide = v;
        Ok(())
    },
    Setting::Dropout(_) => Err(ConfigError::new(
        "dropout",
        "is not a DKF setting (the DKF has no recurrent state in its generative model \
                 to drop)",
    )),
});
