//! A disk that fills up while a snapshot is written: a clear error, the previous snapshot
//! intact, and `train --resume` carries on once there is space again. The full disk is a
//! file-size limit (`ulimit -f`) with SIGXFSZ ignored, so writes past it fail with EFBIG as
//! they would with ENOSPC on a full filesystem.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::crash::{data_file, finish, spawn};

/// Every file of a snapshot folder with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn a_full_disk_during_a_snapshot_keeps_the_last_one_and_resume_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path());
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    // Weights of about 300 KB: past the limit below, while config and metrics stay under it.
    finish(spawn(&[
        "train",
        "--dataset",
        "csv",
        "--data",
        &data,
        "--device",
        "ndarray",
        "--epochs",
        "2",
        "--h-dim",
        "64",
        "--z-dim",
        "4",
        "--hidden",
        "64",
        "--batch-size",
        "4",
        "--out",
        run_s,
    ]));
    let last = run.join("snapshots").join("epoch-000002");
    let before = files(&last);
    assert!(before.values().any(|b| b.len() > 64 * 1024));

    let out = Command::new("sh")
        .args(["-c", r#"trap "" XFSZ; ulimit -f 64; exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_neuromod"))
        .args([
            "train", "--resume", run_s, "--epochs", "4", "--device", "ndarray",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the limited run succeeded:\n{err}");
    assert!(
        err.contains("Out of space") && err.contains("--resume") && !err.contains("panicked"),
        "{err}"
    );
    // The last complete snapshot is untouched and still the one `latest` names; the partial
    // one is gone.
    let latest = std::fs::read_to_string(run.join("latest")).unwrap();
    assert_eq!(latest.trim(), "epoch-000002");
    assert_eq!(files(&last), before);
    let names: Vec<String> = std::fs::read_dir(run.join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".tmp-")), "{names:?}");

    // Space again: the run resumes from epoch 2 and finishes.
    finish(spawn(&[
        "train", "--resume", run_s, "--epochs", "4", "--device", "ndarray",
    ]));
    let latest = std::fs::read_to_string(run.join("latest")).unwrap();
    assert_eq!(latest.trim(), "epoch-000004");
}
