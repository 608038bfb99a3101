//! One training process per run folder: `train` holds an exclusive lock on `<out>/.lock` for as
//! long as it runs. A second `train` (fresh or `--resume`) into the same folder refuses at once
//! instead of interleaving its snapshots with the first one's. The lock is the operating
//! system's (`flock` on Unix): it goes away when the holder ends, however it ends (SIGKILL, a
//! lost node, out of memory), so a killed run never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::TrainError;

/// The lock file's name inside the run folder (empty; only its lock matters).
pub const LOCK_FILE: &str = ".lock";

/// An exclusive claim on a run folder, released when dropped or when the process ends.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Creates `dir` if needed and takes its lock without waiting.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] naming the folder when another process holds the lock, or
    /// when the folder or lock file cannot be created.
    pub fn acquire(dir: &Path) -> Result<Self, TrainError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| TrainError::checkpoint(dir, format!("cannot create: {e}")))?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot open the lock: {e}")))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(TrainError::checkpoint(
                dir,
                "another process is training into this folder (it holds .lock): wait for it \
                 to end, or choose another output folder",
            )),
            Err(TryLockError::Error(e)) => Err(TrainError::checkpoint(
                &path,
                format!("cannot take the lock: {e}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let first = RunLock::acquire(&run).unwrap();
        // A second open file description conflicts even within one process.
        let err = RunLock::acquire(&run).unwrap_err().to_string();
        assert!(
            err.contains("another process is training") && err.contains("run"),
            "{err}"
        );
        drop(first);
        RunLock::acquire(&run).expect("free again once released");
    }
}
