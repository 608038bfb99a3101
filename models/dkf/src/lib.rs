//! Deep Kalman filter, in the deep Markov model form of Krishnan, Shalit & Sontag (2017):
//! a latent Markov chain z_t | z_{t-1} with a gated transition, observations x_t | z_t, and a
//! "combiner" guide q(z_t | z_{t-1}, g_t) where g_t is a GRU's state over the observations.
//!
//! The guide's GRU runs forward in time ([`Guide::Filtering`], Krishnan et al.'s "ST-L":
//! q(z_t | z_{t-1}, x_{<=t}), a causal posterior the SPE can read) or backward
//! ([`Guide::Smoothing`], "ST-R": q(z_t | z_{t-1}, x_{>=t}), the tighter bound of the paper,
//! which the signal commands refuse because it sees the future).
//!
//! ```
//! use burn::prelude::*;
//! use neuromod_core::{Noise, SeqBatch, SequenceModel};
//! use neuromod_dkf::DkfConfig;
//!
//! # #[allow(deprecated)]
//! let device = Device::ndarray();
//! let model = DkfConfig::new(4).with_z_dim(2).with_h_dim(8).with_hidden(8).init(&device).unwrap();
//! let batch = SeqBatch::new(Tensor::ones([3, 5, 4], &device), Tensor::ones([3, 5], &device));
//! let traj = model.forward(&batch, Noise::Mean);
//! assert_eq!(traj.posterior.0.dims(), [3, 5, 2]);
//! assert_eq!(traj.state().dims(), [3, 5, 8 + 2]); // s_t = [g_t, muq_t]
//! ```

#![forbid(unsafe_code)]

pub mod combiner;
mod config;
mod model;
mod transition;

pub use config::DkfConfig;
pub use model::Dkf;
pub use neuromod_core::Guide;
pub use transition::GatedTransition;

#[cfg(test)]
mod kalman_tests;
#[cfg(test)]
mod tests;
