//! Training and checkpoint errors.

use std::path::PathBuf;

/// Why training, evaluation or a checkpoint operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Bad data (file, row, field named inside).
    #[error(transparent)]
    Data(#[from] neuromod_datasets::DataError),
    /// A setting that cannot work, named by its path.
    #[error(transparent)]
    Config(#[from] neuromod_core::ConfigError),
    /// A checkpoint file or folder is missing, unreadable or inconsistent.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A file the library writes for the user (an export, a report) could not be made.
    #[error("{path}: {reason}")]
    Output {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A figure could not be drawn.
    #[error(transparent)]
    Plot(#[from] neuromod_plots::PlotError),
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
    /// A failed output file.
    pub(crate) fn output(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        TrainError::Output {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn checkpoint(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        TrainError::Checkpoint {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    /// A failed write of `path` in the run folder `run`. Out of space (a full disk, a quota,
    /// a file-size limit) says so and how to go on: every write is atomic, so what the run
    /// folder held before (the last complete snapshot) is intact.
    pub(crate) fn write(path: &std::path::Path, e: std::io::Error, run: &std::path::Path) -> Self {
        use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
        let reason = if matches!(e.kind(), StorageFull | QuotaExceeded | FileTooLarge) {
            format!(
                "cannot write: {e}. Out of space (a full disk, a quota or a file-size limit); \
                 the last complete snapshot is intact: free some space and continue with \
                 `neuromod train --resume {}`",
                run.display()
            )
        } else {
            format!("cannot write: {e}")
        };
        TrainError::checkpoint(path, reason)
    }
}
