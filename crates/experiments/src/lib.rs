//! The SPE vs RPE benchmarks; see `docs/science.md`.
//!
//! - [`science`]: per dissociation task and seed, train a VRNN world model with
//!   successor-feature heads, then a distributional critic on its latent state, and measure how
//!   every signal answers each kind of surprise (response ratios with 95% intervals over seeds).
//! - [`gating`]: SPE-gated reward learning on the contingency-switch task.
//! - [`relearn`]: a real contingency switch: a world model of the old rule relearns online,
//!   and a critic learns gated by surprise, by uncertainty or not at all ([`relearn_report`]).
//! - [`vector_spe`]: which deviant occurred, decoded from the SPE vector against its norm
//!   ([`readout`]), and the RPE against w . delta_SF ([`identity`]).
//! - [`speed`]: milliseconds per training step of the world model alone, with SPE heads and
//!   with the critic, scaling in sequence length and batch size, peak memory.
//! - [`peers`]: the same training step in PyTorch and JAX, timed in the same run.
//!
//! ```
//! use neuromod_experiments::science::ScienceConfig;
//!
//! // `bench science`'s defaults: four tasks, five seeds, a VRNN world model.
//! let config = ScienceConfig::default();
//! config.check().unwrap();
//! assert_eq!((config.tasks.len(), config.seeds), (4, 5));
//! ```

#![forbid(unsafe_code)]

pub mod critic_fit;
pub mod figures;
pub mod gating;
pub mod identity;
pub mod memory;
pub mod peers;
pub mod readout;
pub mod relearn;
pub mod relearn_report;
pub mod report;
pub mod reward_head;
pub mod science;
pub mod speed;
pub mod stats;
pub mod task;
pub mod vector_spe;
pub mod world_fit;

use std::path::PathBuf;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Training or reading a checkpoint failed.
    #[error(transparent)]
    Train(#[from] neuromod_train::TrainError),
    /// Writing or reading task data failed.
    #[error(transparent)]
    Data(#[from] neuromod_datasets::DataError),
    /// A figure could not be drawn.
    #[error(transparent)]
    Plot(#[from] neuromod_plots::PlotError),
    /// A bad benchmark setting, named.
    #[error("bench setting `{field}`: {reason}")]
    Config {
        /// The offending setting.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// A file could not be written.
    #[error("{path}: cannot write: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Values could not be read back from the device.
    #[error("reading {0} back from the device failed")]
    Readback(&'static str),
}

/// Reads a tensor back to the host (once per batch, never inside a per-step loop).
pub fn host<const D: usize>(
    t: burn::prelude::Tensor<D>,
    what: &'static str,
) -> Result<Vec<f32>, ExperimentError> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|_| ExperimentError::Readback(what))
}

/// Writes `bytes` to `path` atomically (temp file + rename).
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), ExperimentError> {
    neuromod_train::write_atomic(path, bytes).map_err(|source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    })
}
