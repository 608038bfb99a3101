//! Where each run stands: its status file and its folder's lock.

use std::path::{Path, PathBuf};

use neuromod_train::{write_atomic, RunLock};
use serde::{Deserialize, Serialize};

use crate::{RunSpec, SweepError};

/// What a run's `status.json` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// A worker is on it (or was, until it was killed: the run folder's lock tells).
    Running {
        /// The worker's process id.
        pid: u32,
    },
    /// Trained (and evaluated when the spec asks).
    Done,
    /// `train` or `eval` exited with an error.
    Failed {
        /// Which step failed and how (exit code or signal).
        reason: String,
    },
}

/// The folder of `run` in the sweep folder `dir`.
pub fn run_dir(dir: &Path, run: &RunSpec) -> PathBuf {
    dir.join("runs").join(&run.name)
}

/// The run's status file, if it has one.
pub fn read_status(run_dir: &Path) -> Result<Option<Status>, SweepError> {
    let path = run_dir.join("status.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| SweepError::Spec {
                path: path.clone(),
                reason: format!("not a run status: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SweepError::io(&path, "read")(e)),
    }
}

/// Writes the run's status file (atomically).
pub(crate) fn write_status(run_dir: &Path, status: &Status) -> Result<(), SweepError> {
    let path = run_dir.join("status.json");
    let text = serde_json::to_string(status).expect("a status serialises");
    write_atomic(&path, text.as_bytes()).map_err(SweepError::io(&path, "write"))
}

/// Takes the lock of `dir`, waiting up to two seconds while someone else (a `collect`
/// looking) holds it briefly.
pub(crate) fn lock_waiting(dir: &Path) -> Result<RunLock, neuromod_train::TrainError> {
    let mut tries = 0;
    loop {
        match RunLock::acquire(dir) {
            Ok(lock) => return Ok(lock),
            Err(e) if tries >= 20 => return Err(e),
            Err(_) => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

/// Whether a `train` process holds the checkpoint folder (a worker that died can leave its
/// `train` running).
pub fn training_in(checkpoint: &Path) -> bool {
    checkpoint.is_dir() && RunLock::acquire(checkpoint).is_err()
}
