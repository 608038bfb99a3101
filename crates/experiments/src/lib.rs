//! neuromod's experiments, each a config -> units (seeds, tasks x seeds, timing setups) ->
//! result -> report through one [`runner`], and the library's answer to "what does the project
//! measure": see `docs/science.md`, `docs/dopamine.md` and `docs/speed.md`.
//!
//! - [`science`]: per dissociation task and seed, train a world model with successor-feature
//!   heads, then a distributional critic on its latent state, and measure how every signal
//!   answers each kind of surprise (response ratios with 95% intervals over seeds); SPE-gated
//!   reward learning, the vector SPE and the RPE against w . delta_SF.
//! - [`relearn`]: a real contingency switch, optionally under sensory noise: a world model of
//!   the old rule relearns online, and a critic learns with its rate damped or boosted by
//!   surprise or by uncertainty, ungated, paused by an oracle, or not at all.
//! - [`dopamine`]: distributional dopamine cells on a reward task: reversal points, decoding,
//!   the classic-TD null, the three-cue task, decoding against firing noise.
//! - [`plasticity`]: learning rules (BPTT, e-prop, MDGL, ModProp) on the tasks of the
//!   neuromodulatory-learning papers, final losses and gaps to BPTT over seeds.
//! - [`speed`]: milliseconds per training step of the world model alone, with SPE heads and
//!   with the critic, scaling in sequence length and batch size, peak memory, and the same
//!   step in PyTorch and JAX.
//!
//! A world model an experiment trains stays in memory between fitting and measuring
//! ([`world_fit`]).
//!
//! ```
//! use neuromod_experiments::{science::ScienceConfig, Experiment};
//!
//! // `bench science`'s defaults: seven tasks, five seeds, a VRNN world model.
//! let config = ScienceConfig::default();
//! config.check().unwrap();
//! assert_eq!((config.tasks.len(), config.seeds), (7, 5));
//! assert_eq!(config.units().len(), 7 * 5);
//! ```

#![forbid(unsafe_code)]

pub mod critic_fit;
pub mod dabney;
pub mod dopamine;
mod error;
pub mod identity;
pub mod plasticity;
pub mod relearn;
pub mod runner;
pub mod science;
pub mod speed;
pub mod stats;
pub mod task;
pub mod world_fit;

pub use error::ExperimentError;
pub use runner::{redraw, run, run_unit_json, Context, Experiment, Invocation, Isolate};

/// Reads a tensor back to the host (once per batch, never inside a per-step loop).
pub fn host<const D: usize>(
    t: burn::prelude::Tensor<D>,
    what: &'static str,
) -> Result<Vec<f32>, ExperimentError> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|_| ExperimentError::Readback(what))
}

/// `value` as indented JSON.
pub fn pretty<T: serde::Serialize>(
    what: &'static str,
    value: &T,
) -> Result<String, ExperimentError> {
    serde_json::to_string_pretty(value).map_err(|source| ExperimentError::Json { what, source })
}

/// Writes `bytes` to `path` atomically (temp file + rename).
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), ExperimentError> {
    neuromod_train::write_atomic(path, bytes).map_err(ExperimentError::io(path, "write"))
}
