//! VRNN world model (Chung et al. 2015): prior p(z_t|h_{t-1}), encoder q(z_t|x_t,h_{t-1}),
//! decoder p(x_t|z_t,h_{t-1}) and a GRU recurrence, trained by the ELBO.
//!
//! Data flows one way: a [`neuromod_core::SeqBatch`] enters [`Vrnn::forward`], which runs the filtering chain
//! over time (one fused scan on the CPU backends, [`scan`]) and returns per-step
//! [`neuromod_core::ElboTerms`] plus everything the signal crates read (prior and posterior parameters,
//! recurrent states). [`Vrnn::step`] is the same chain one step at a time.
//!
//! ```
//! use burn::prelude::*;
//! use neuromod_core::{Noise, SeqBatch};
//! use neuromod_vrnn::VrnnConfig;
//!
//! # #[allow(deprecated)]
//! let device = Device::ndarray();
//! let model = VrnnConfig::new(4).with_h_dim(8).with_z_dim(2).with_hidden(8).init(&device).unwrap();
//! let batch = SeqBatch::new(Tensor::ones([3, 5, 4], &device), Tensor::ones([3, 5], &device));
//! let traj = model.forward(&batch, Noise::Mean);
//! let loss: f32 = traj.elbo.loss(1.0).into_scalar(); // negative ELBO per step, nats
//! assert!(loss.is_finite() && loss > 0.0);
//! assert_eq!(traj.state().dims(), [3, 5, 8 + 2]); // s_t = [h_t, muq_t]
//! ```

#![forbid(unsafe_code)]

mod config;
mod model;
pub mod scan;

pub use config::VrnnConfig;
pub use model::Vrnn;
pub use neuromod_core::{ConfigError, Decoder, Likelihood};

#[cfg(test)]
mod tests;
