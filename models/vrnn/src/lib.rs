//! VRNN world model (Chung et al. 2015): prior p(z_t|h_{t-1}), encoder q(z_t|x_t,h_{t-1}),
//! decoder p(x_t|z_t,h_{t-1}) and a GRU recurrence, trained by the ELBO.
//!
//! Data flows one way: a [`neuromod_core::SeqBatch`] enters [`Vrnn::forward`], which runs the filtering chain
//! over time (one fused scan on the CPU backends, [`neuromod_core::scan`]) and returns per-step
//! [`neuromod_core::ElboTerms`] plus everything the signal crates read (prior and posterior parameters,
//! recurrent states). [`Vrnn::step`] is the same chain one step at a time.

mod config;
mod model;

pub use config::VrnnConfig;
pub use model::Vrnn;
pub use neuromod_core::{ConfigError, Decoder, Likelihood};

#[cfg(test)]
mod tests;
