//! Many training runs at once: a sweep is a grid of `neuromod train` runs (settings x seeds),
//! each in its own folder, run by N local worker processes or as the tasks of a Slurm array
//! job, and a table of the runs (`neuromod collect`).
//!
//! A sweep folder holds `sweep.json` (the spec it was started with: a second start must give the
//! same one), `runs/<name>/` per grid point (`status.json`, `stderr.log`, the checkpoint in
//! `checkpoint/`, the test bound in `eval.json`) and, for Slurm, `sweep.sbatch`. Running a
//! sweep again skips finished runs, resumes interrupted ones from their last snapshot
//! (`train --resume`) and retries failed ones. The runs themselves are `neuromod` processes,
//! started by the front end's [`Launch`].
//!
//! ```
//! use neuromod_sweep::SweepSpec;
//!
//! let spec: SweepSpec =
//!     serde_json::from_str(r#"{"args": ["--dataset", "markov"], "grid": {"seed": [0, 1], "model": ["vrnn", "dkf"]}}"#)
//!         .unwrap();
//! spec.check().unwrap();
//! let names: Vec<String> = spec.runs().into_iter().map(|r| r.name).collect();
//! assert_eq!(names, ["model-vrnn.seed-0", "model-vrnn.seed-1", "model-dkf.seed-0", "model-dkf.seed-1"]);
//! ```

#![forbid(unsafe_code)]

mod collect;
mod local;
mod slurm;
mod spec;
mod status;

use std::path::PathBuf;

pub use collect::{collect, tables};
pub use local::{run_sweep, run_task, start, Launch};
pub use slurm::write_sbatch;
pub use spec::{EvalSpec, RunSpec, SweepSpec};
pub use status::{read_status, run_dir, training_in, Status};

/// Why a sweep could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A spec that cannot run, with the field at fault.
    #[error("{path}: not a sweep spec: {reason}")]
    Spec {
        /// The spec file (or the sweep folder's `sweep.json`).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file or folder could not be read or written.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What failed.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// A run could not be started or failed.
    #[error("{run}: {reason}")]
    Run {
        /// The run's folder name.
        run: String,
        /// What happened.
        reason: String,
    },
    /// A sweep setting that cannot run.
    #[error("{0}")]
    Setting(String),
}

impl SweepError {
    /// An I/O error on `path` while doing `action`.
    pub(crate) fn io<'a>(
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
