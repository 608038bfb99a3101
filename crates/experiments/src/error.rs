//! What can go wrong in an experiment, each case naming the setting, file or process.

use std::path::PathBuf;

/// Why an experiment could not run.
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
    /// A setting that cannot work, named by its path.
    #[error(transparent)]
    Config(#[from] neuromod_core::ConfigError),
    /// A file or folder could not be read or written.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What failed: "read", "write", "create".
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// JSON that does not parse as what it should hold, or a value that does not serialise.
    #[error("{what}: {source}")]
    Json {
        /// What was read or written.
        what: &'static str,
        /// The cause.
        source: serde_json::Error,
    },
    /// A process an experiment started failed.
    #[error("{what} failed: {detail}")]
    Process {
        /// What it ran.
        what: String,
        /// Its exit status and its last words.
        detail: String,
    },
    /// Values could not be read back from the device.
    #[error("reading {0} back from the device failed")]
    Readback(&'static str),
}

impl ExperimentError {
    /// An I/O error on `path` while doing `action`.
    pub fn io<'a>(
        path: &'a std::path::Path,
        action: &'static str,
    ) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| Self::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}
