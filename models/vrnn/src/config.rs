//! Model configuration, validated once at the boundary.

use burn::prelude::*;
use neuromod_core::{ConfigError, Guide, Likelihood};

/// Hyperparameters of a [`crate::Vrnn`]; layer counts are hidden `Linear`+ReLU layers.
#[derive(Config, Debug)]
pub struct VrnnConfig {
    /// Observation width D.
    pub x_dim: usize,
    /// Recurrent state width H.
    #[config(default = 256)]
    pub h_dim: usize,
    /// Latent width Z.
    #[config(default = 32)]
    pub z_dim: usize,
    /// Width of every hidden layer (feature extractors, prior, encoder, decoder).
    #[config(default = 256)]
    pub hidden: usize,
    /// Decoder observation model.
    #[config(default = "Likelihood::Bernoulli")]
    pub likelihood: Likelihood,
    /// Layers of phi_x.
    #[config(default = 2)]
    pub phi_x_layers: usize,
    /// Layers of phi_z.
    #[config(default = 1)]
    pub phi_z_layers: usize,
    /// Hidden layers of the prior before its mu/sigma heads.
    #[config(default = 1)]
    pub prior_layers: usize,
    /// Hidden layers of the encoder before its mu/sigma heads.
    #[config(default = 2)]
    pub encoder_layers: usize,
    /// Hidden layers of the decoder before its output heads.
    #[config(default = 2)]
    pub decoder_layers: usize,
    /// Width of the action input a_{t-1} fed to the prior; 0 disables actions.
    #[config(default = 0)]
    pub action_dim: usize,
    /// Adds a Gaussian reward head p(r_t | z_t, h_{t-1}).
    #[config(default = false)]
    pub reward_head: bool,
    /// Dropout probability on h_{t-1} where it enters the decoder and reward head (training
    /// only; the recurrence itself is never dropped).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Floor added to every standard deviation after softplus.
    #[config(default = 1e-4)]
    pub sigma_min: f64,
}

impl VrnnConfig {
    /// Rejects values that cannot build a working model, naming the field.
    pub fn check(&self) -> Result<(), ConfigError> {
        ConfigError::positive(&[
            ("x_dim", self.x_dim),
            ("h_dim", self.h_dim),
            ("z_dim", self.z_dim),
            ("hidden", self.hidden),
            ("phi_x_layers", self.phi_x_layers),
            ("phi_z_layers", self.phi_z_layers),
            // The encoder's first layer is where x_t and h_{t-1} meet (split by the scan).
            ("encoder_layers", self.encoder_layers),
        ])?;
        ConfigError::dropout_and_floor(self.dropout, self.sigma_min)
    }
}

// s_t = [h_t, muq_t]; the encoder reads x_t and h_{t-1} only, so the posterior filters.
neuromod_core::model_spec!(VrnnConfig, |c| filtering: { let _ = c; true }, set: {
    Setting::Dropout(v) => {
        c.dropout = v;
        Ok(())
    },
    Setting::Guide(Guide::Filtering) => Ok(()),
    Setting::Guide(Guide::Smoothing) => Err(ConfigError::new(
        "guide",
        "smoothing is not available: the VRNN's encoder reads x_t and h_{t-1} only \
                 (filtering)",
    )),
});
