//! What every neuromod world model is built from: shared layers ([`Mlp`], [`GruCell`],
//! [`GaussianHead`], observation likelihoods), the padded [`SeqBatch`] a model reads, the
//! [`Trajectory`] it returns (per-step [`ElboTerms`], prior and posterior, recurrent states),
//! and fused recurrent scans ([`scan`]) that run the step-by-step part of a filtering pass as
//! one operation with a hand-written backward pass.
//!
//! Model crates (`neuromod-vrnn`, ...) depend on this crate and never on each other; the signal
//! crates (SPE, critic) read [`Trajectory`]s and need no particular model.
//!
//! The world-model contract ([`SequenceModel`], [`ModelSpec`]) lives here too. The KL of two
//! diagonal Gaussians, a known answer (1/2 per unit of mean difference squared):
//!
//! ```
//! use burn::prelude::*;
//! use neuromod_core::DiagGaussian;
//!
//! # #[allow(deprecated)]
//! let device = Device::ndarray();
//! let q = DiagGaussian { mu: Tensor::ones([1, 2], &device), sigma: Tensor::ones([1, 2], &device) };
//! let p = DiagGaussian { mu: Tensor::zeros([1, 2], &device), sigma: Tensor::ones([1, 2], &device) };
//! let kl: f32 = q.kl(&p).into_scalar();
//! assert!((kl - 1.0).abs() < 1e-6); // 0.5 nats in each of the two dimensions
//! ```

mod batch;
pub mod combiner;
mod contract;
mod decoder;
mod gaussian;
mod gru;
pub mod gru_scan;
pub mod host;
mod join;
mod kl_shaping;
mod likelihood;
mod mlp;
pub mod resq;
pub mod scan;
pub mod stack;
#[cfg(test)]
mod test_util;
mod trajectory;

pub use batch::SeqBatch;
pub use contract::{ConfigError, FilterStep, Guide, ModelSpec, SequenceModel, Setting};
pub use decoder::{Decoder, Likelihood};
pub use gaussian::{sigma_from, DiagGaussian, GaussianHead};
pub use gru::{gru_update, GruCell};
pub use join::{join_last, join_time};
pub use kl_shaping::KlShaping;
pub use likelihood::{bernoulli_log_prob, gaussian_log_prob};
pub use mlp::{batch_rows, linear_parts, Mlp};
pub use trajectory::{ElboTerms, Noise, StepOutput, Trajectory};
