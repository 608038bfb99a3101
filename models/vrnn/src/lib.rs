//! VRNN world model (Chung et al. 2015): prior p(z_t|h_{t-1}), encoder q(z_t|x_t,h_{t-1}),
//! decoder p(x_t|z_t,h_{t-1}) and a GRU recurrence, trained by the ELBO.
//!
//! Data flows one way: a [`SeqBatch`] enters [`Vrnn::forward`], which loops
//! [`Vrnn::step`] over time and returns per-step [`ElboTerms`] plus everything the
//! signal crates read (prior and posterior parameters, recurrent states).

mod batch;
mod config;
mod gaussian;
mod gru;
mod likelihood;
mod mlp;
mod model;

pub use batch::SeqBatch;
pub use config::{ConfigError, Likelihood, VrnnConfig};
pub use gaussian::DiagGaussian;
pub use gru::GruCell;
pub use likelihood::{bernoulli_log_prob, gaussian_log_prob};
pub use mlp::Mlp;
pub use model::{ElboTerms, Noise, StepOutput, Trajectory, Vrnn};

#[cfg(test)]
mod tests;
