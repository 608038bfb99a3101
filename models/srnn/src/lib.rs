//! Stochastic recurrent neural network (SRNN; Fraccaro, Sønderby, Paquet & Winther 2016): a
//! deterministic GRU d_t over the past observations x_{<t} under a state-space layer
//! z_t | z_{t-1}, d_t, with observations x_t | z_t, d_t.
//!
//! The posterior is the paper's residual ("Resq") form: its mean is the prior's mean plus a
//! learned correction, q(z_t | z_{t-1}, a_t) = N(mu_p(z_{t-1}, d_t) + delta(z_{t-1}, a_t), ..).
//! With [`Guide::Smoothing`] a_t is a backward GRU over [d_t, x_t] (the paper's smoothing
//! posterior, which sees the future and so gives no signals); with [`Guide::Filtering`] (the
//! default) a_t = d_{t+1}, the GRU's state after reading x_t: q(z_t | z_{t-1}, x_{<=t}).
//!
//! ```
//! use burn::prelude::*;
//! use neuromod_core::{Noise, SeqBatch, SequenceModel};
//! use neuromod_srnn::SrnnConfig;
//!
//! # #[allow(deprecated)]
//! let device = Device::ndarray();
//! let model = SrnnConfig::new(4).with_z_dim(2).with_h_dim(8).with_hidden(8).init(&device).unwrap();
//! let batch = SeqBatch::new(Tensor::ones([3, 5, 4], &device), Tensor::ones([3, 5], &device));
//! let traj = model.forward(&batch, Noise::Mean);
//! assert_eq!(traj.state().dims(), [3, 5, 8 + 2]); // s_t = [d_{t+1}, muq_t]
//! ```

#![forbid(unsafe_code)]

mod config;
mod model;
pub mod resq;

pub use config::SrnnConfig;
pub use model::Srnn;
pub use neuromod_core::Guide;

#[cfg(test)]
mod tests;
