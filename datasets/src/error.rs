//! Data errors: each names the file and the place in it.

use std::path::PathBuf;

/// Why a dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file's content is malformed at a given place.
    #[error("{path}: {location}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where: "line 7, field f3", "index [2, 5, 1]", "train chorale 4, step 9", ...
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The data width differs from what the model expects.
    #[error("{path}: data has {found} features per step but the model expects {expected} (field `x_dim`)")]
    Dimension {
        /// The file.
        path: PathBuf,
        /// Width the model was configured with.
        expected: usize,
        /// Width found in the file.
        found: usize,
    },
}

impl DataError {
    pub(crate) fn invalid(
        path: &std::path::Path,
        location: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        DataError::Invalid {
            path: path.to_path_buf(),
            location: location.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
