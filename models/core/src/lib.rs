//! What every neuromod world model is built from: shared layers ([`Mlp`], [`GruCell`],
//! [`GaussianHead`], observation likelihoods), the padded [`SeqBatch`] a model reads, the
//! [`Trajectory`] it returns (per-step [`ElboTerms`], prior and posterior, recurrent states),
//! and fused recurrent scans ([`scan`]) that run the step-by-step part of a filtering pass as
//! one operation with a hand-written backward pass.
//!
//! Model crates (`neuromod-vrnn`, ...) depend on this crate and never on each other; the signal
//! crates (SPE, critic) read [`Trajectory`]s and need no particular model.

mod batch;
mod contract;
mod decoder;
mod gaussian;
mod gru;
pub mod host;
mod join;
mod kl_shaping;
mod likelihood;
mod mlp;
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
pub use mlp::{linear_parts, Mlp};
pub use trajectory::{ElboTerms, Noise, StepOutput, Trajectory};
