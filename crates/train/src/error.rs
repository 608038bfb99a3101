//! Training and checkpoint errors.

use std::path::PathBuf;

/// Why training, evaluation or a checkpoint operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Bad data (file, row, field named inside).
    #[error(transparent)]
    Data(#[from] neuromod_datasets::DataError),
    /// Bad model configuration.
    #[error(transparent)]
    Model(#[from] neuromod_vrnn::ConfigError),
    /// Bad training configuration value.
    #[error("invalid training config: field `{field}` {reason}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// A checkpoint file or folder is missing, unreadable or inconsistent.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Values could not be read back from the device.
    #[error("reading {what} back from the device failed: {reason}")]
    Readback {
        /// What was being read.
        what: &'static str,
        /// The backend's message.
        reason: String,
    },
    /// The loss became NaN or infinite; the last good checkpoint is left intact.
    #[error("training diverged at epoch {epoch}, step {step}: loss is {value}; the last good checkpoint in {dir} is intact")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Optimiser step within the run (1-based).
        step: usize,
        /// The non-finite loss value.
        value: f32,
        /// The checkpoint folder.
        dir: PathBuf,
    },
}

impl TrainError {
    pub(crate) fn checkpoint(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        TrainError::Checkpoint {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}
