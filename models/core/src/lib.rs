//! What every neuromod world model is built from: shared layers ([`Mlp`], [`GruCell`],
//! [`GaussianHead`], observation likelihoods), the padded [`SeqBatch`] a model reads, and the
//! [`Trajectory`] it returns (per-step [`ElboTerms`], prior and posterior, recurrent states).
//! The fused operations these layers run on the CPU (dense stacks, GRU passes, joins) and the
//! machinery a family's own fused chain uses live in `neuromod-kernels`.
//!
//! Model crates (one folder per family under `models/`) depend on this crate and never on each
//! other; the signal crates (SPE, critic) read [`Trajectory`]s and need no particular model.
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

#![forbid(unsafe_code)]

mod batch;
mod contract;
mod decoder;
mod gaussian;
mod gru;
mod kl_shaping;
mod likelihood;
mod mlp;
mod nade;
mod state_layout;
mod trajectory;

pub use batch::SeqBatch;
pub use contract::{
    ConfigError, FilterStep, Guide, ModelSpec, SequenceModel, Setting, WEIGHT_CONVENTIONS,
};
pub use decoder::{Decoder, Likelihood};
pub use gaussian::{sigma_from, DiagGaussian, GaussianHead};
pub use gru::GruCell;
pub use kl_shaping::KlShaping;
pub use likelihood::{bernoulli_log_prob, gaussian_log_prob};
pub use mlp::{batch_rows, linear_parts, Mlp};
pub use nade::{Nade, NadeChain, NADE_COMPOSED_ROWS, NADE_HIDDEN};
pub use neuromod_kernels::{gru_update, join_last, join_time};
pub use state_layout::StateLayout;
pub use trajectory::{ElboTerms, Noise, StepOutput, Trajectory};
