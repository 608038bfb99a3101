//! End-to-end tests live in `tests/`; this library holds what they share.

#![forbid(unsafe_code)]

use burn::prelude::Device;

/// The ndarray CPU device.
#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
pub fn cpu() -> Device {
    Device::ndarray()
}

/// burn seeds ndarray's generator process-wide, so runs in parallel test threads would share
/// it; a test that trains holds this lock while it does.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes this process's turn on the global RNG.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fuzz-target bodies, shared by `fuzz/` (cargo fuzz) and the regression test that replays
/// the inputs kept in `fuzz/regressions/`. Each must return for any input, never panic.
pub mod fuzz {
    use std::path::Path;

    /// CSV loader: a value or an error; what loads is whole steps of finite values.
    pub fn csv(data: &[u8]) {
        if let Ok(set) = neuromod_datasets::csv::parse(data, Path::new("fuzz.csv")) {
            for seq in &set.sequences {
                assert_eq!(seq.len() % set.dim.max(1), 0);
                assert!(seq.iter().all(|v| v.is_finite()));
            }
        }
    }

    /// NPY loader, same contract.
    pub fn npy(data: &[u8]) {
        if let Ok(set) = neuromod_datasets::npy::parse(data, Path::new("fuzz.npy")) {
            for seq in &set.sequences {
                assert_eq!(seq.len() % set.dim.max(1), 0);
                assert!(seq.iter().all(|v| v.is_finite()));
            }
        }
    }

    /// JSB JSON loader: what loads is binary 88-key rolls.
    pub fn jsb(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(splits) = neuromod_datasets::jsb::parse(text, Path::new("fuzz.json")) {
            for set in [&splits.train, &splits.valid, &splits.test] {
                assert_eq!(set.dim, neuromod_datasets::jsb::KEYS);
                for seq in &set.sequences {
                    assert!(seq.iter().all(|&v| v == 0.0 || v == 1.0));
                }
            }
        }
    }

    /// Checkpoint reader. Input: two little-endian length bytes, that many bytes of
    /// `config.json`, then `model.bpk`. Writes a checkpoint folder whose `state.json` digest
    /// matches the weights (so the burnpack reader is reached, not only the checksum) and
    /// loads it as `neuromod eval` would.
    pub fn checkpoint(data: &[u8]) {
        if data.len() < 2 {
            return;
        }
        let n = u16::from_le_bytes([data[0], data[1]]) as usize;
        let rest = &data[2..];
        let (config, weights) = rest.split_at(n.min(rest.len()));
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snapshots/epoch-000001");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        std::fs::write(dir.path().join("best"), "epoch-000001\n").unwrap();
        std::fs::write(snap.join("model.bpk"), weights).unwrap();
        let state = serde_json::json!({
            "epoch": 1, "step": 1, "best_epoch": 1, "since_best": 0, "metrics": "",
            "files": {"model.bpk": {"bytes": weights.len(), "crc32": crc32fast::hash(weights)}}
        });
        std::fs::write(snap.join("state.json"), state.to_string()).unwrap();
        let _ = neuromod_train::Checkpoint::open(dir.path())
            .and_then(|ck| ck.load_model(&super::cpu()));
    }
}

/// Replays the fuzz seeds and every input the fuzzers ever found (`fuzz/seeds/<target>/`,
/// `fuzz/regressions/<target>/`) through the target bodies: none may panic.
#[cfg(test)]
mod fuzz_replay {
    use std::path::Path;

    fn replay(target: &str, body: fn(&[u8])) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut n = 0;
        for kind in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
                continue;
            };
            for entry in entries.flatten() {
                let data = std::fs::read(entry.path()).unwrap();
                let path = entry.path();
                let result = std::panic::catch_unwind(|| body(&data));
                assert!(result.is_ok(), "{target}: {} panics", path.display());
                n += 1;
            }
        }
        assert!(n > 0, "no inputs for fuzz target {target}");
    }

    #[test]
    fn csv_inputs() {
        replay("csv", super::fuzz::csv);
    }

    #[test]
    fn npy_inputs() {
        replay("npy", super::fuzz::npy);
    }

    #[test]
    fn jsb_inputs() {
        replay("jsb", super::fuzz::jsb);
    }

    #[test]
    fn checkpoint_inputs() {
        let _rng = super::serial();
        replay("checkpoint", super::fuzz::checkpoint);
    }
}
