//! Checkpoint folders.
//!
//! ```text
//! DIR/config.json               the run (TrainConfig), written when it starts
//! DIR/metrics.csv               one row per epoch, up to the latest snapshot
//! DIR/latest, DIR/best          pointer files, each naming one snapshot (`epoch-000012`)
//! DIR/snapshots/epoch-NNNNNN/
//!     model.bpk                 weights validated that epoch (the moving average with `ema`)
//!     train.bpk                 the raw weights (only with `ema`)
//!     optim.bpk                 Adam state of the world model
//!     sf.bpk, sf_optim.bpk      SF heads with their statistics, and their Adam state
//!     state.json                counters, best so far, metrics rows, and the size and
//!                               CRC-32 of every file above
//! ```
//!
//! A snapshot is written into `snapshots/.tmp-*`, every file fsynced, then renamed into place;
//! only then do the pointers move, each by an atomic rename. A crash at any moment leaves both
//! pointers naming complete snapshots. The best snapshot and the last `keep_last` are kept.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::ModuleRecord;
use neuromod_core::ModelSpec;
use neuromod_spe::{SfConfig, SfHeads};
use neuromod_world::{ModelKind, WorldModel};
use serde::{Deserialize, Serialize};

use crate::atomic::{sync_dir, write_atomic};
use crate::metrics::{metrics_csv, parse_metrics, MetricsRow};
use crate::{TrainConfig, TrainError};

/// The run configuration file.
pub const CONFIG_FILE: &str = "config.json";
/// Validated weights of a snapshot.
pub const WEIGHTS_FILE: &str = "model.bpk";
/// Raw (not averaged) weights of a snapshot, when the run keeps a moving average.
pub const TRAIN_WEIGHTS_FILE: &str = "train.bpk";
/// Adam state of the world model.
pub const OPTIM_FILE: &str = "optim.bpk";
/// Successor-feature heads and their feature statistics (when the run trains them).
pub const SF_FILE: &str = "sf.bpk";
/// Adam state of the SF heads.
pub const SF_OPTIM_FILE: &str = "sf_optim.bpk";
/// Per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.csv";
/// Counters and file digests of a snapshot.
pub const STATE_FILE: &str = "state.json";
/// The folder of snapshots.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// Pointer to the newest complete snapshot (what `--resume` continues from).
pub const LATEST_FILE: &str = "latest";
/// Pointer to the snapshot with the best validation bound (what eval, sample, signals read).
pub const BEST_FILE: &str = "best";

/// Size and CRC-32 of a snapshot file, checked on every read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Length in bytes.
    pub bytes: u64,
    /// CRC-32 (IEEE) of the contents.
    pub crc32: u32,
}

impl FileDigest {
    fn of(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.len() as u64,
            crc32: crc32fast::hash(bytes),
        }
    }
}

/// Everything besides tensors that resuming a run needs (a snapshot's `state.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotState {
    /// The last finished epoch.
    pub epoch: usize,
    /// Optimiser steps taken so far.
    pub step: usize,
    /// Epoch of the best validation bound so far (its bound is in `metrics`).
    pub best_epoch: usize,
    /// Epochs since it (for early stopping).
    pub since_best: usize,
    /// Metrics of every epoch so far, stored as the text of `metrics.csv`: serde_json's float
    /// parser may miss the last bit, Rust's does not, and resume must be exact.
    #[serde(with = "crate::metrics::text")]
    pub metrics: Vec<MetricsRow>,
    /// Digest of every file in the snapshot.
    #[serde(default)]
    pub files: BTreeMap<String, FileDigest>,
}

/// One complete snapshot folder with its state read.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The folder.
    pub dir: PathBuf,
    /// Its `state.json`.
    pub state: SnapshotState,
}

impl Snapshot {
    /// Reads `file`, checking it against the size and checksum in `state.json`.
    pub fn read(&self, file: &str) -> Result<Vec<u8>, TrainError> {
        let path = self.dir.join(file);
        let Some(digest) = self.state.files.get(file) else {
            return Err(TrainError::checkpoint(
                &path,
                format!("not listed in {STATE_FILE}: this snapshot has no such file"),
            ));
        };
        let bytes = std::fs::read(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot read: {e}")))?;
        if bytes.len() as u64 != digest.bytes {
            return Err(TrainError::checkpoint(
                &path,
                format!(
                    "truncated or overwritten: {} bytes, {STATE_FILE} says {}",
                    bytes.len(),
                    digest.bytes
                ),
            ));
        }
        let crc = crc32fast::hash(&bytes);
        if crc != digest.crc32 {
            return Err(TrainError::checkpoint(
                &path,
                format!(
                    "corrupted: CRC-32 {crc:08x}, {STATE_FILE} says {:08x}",
                    digest.crc32
                ),
            ));
        }
        Ok(bytes)
    }

    /// Loads the snapshot's SF heads ([`SF_FILE`]) into `heads` (built from the run's config).
    /// World-model weights load through [`Snapshot::load_model`].
    pub fn load_heads(&self, heads: SfHeads) -> Result<SfHeads, TrainError> {
        let file = SF_FILE;
        let module = heads;
        let path = self.dir.join(file);
        let bytes = self.read(file)?;
        let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(|e| TrainError::checkpoint(&path, format!("not a burnpack record: {e:?}")))?;
        module.try_load_record(record).map_err(|e| {
            TrainError::checkpoint(
                &path,
                format!("weights do not match the model in {CONFIG_FILE}: {e:?}"),
            )
        })
    }

    /// Loads `file`'s world-model weights into `model` (built from the run's config).
    pub fn load_model(&self, file: &str, model: WorldModel) -> Result<WorldModel, TrainError> {
        let path = self.dir.join(file);
        let bytes = self.read(file)?;
        let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(|e| TrainError::checkpoint(&path, format!("not a burnpack record: {e:?}")))?;
        model.load(record).map_err(|e| {
            TrainError::checkpoint(
                &path,
                format!("weights do not match the model in {CONFIG_FILE}: {e:?}"),
            )
        })
    }

    /// Loads `file`'s optimiser state into `optim`.
    pub fn load_optim(
        &self,
        file: &str,
        optim: burn::optim::ModuleOptimizer,
    ) -> Result<burn::optim::ModuleOptimizer, TrainError> {
        let path = self.dir.join(file);
        let bytes = self.read(file)?;
        optim
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(|e| TrainError::checkpoint(&path, format!("not an optimiser record: {e:?}")))
    }
}

/// A checkpoint folder on disk, with its configuration read and checked.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The folder.
    pub dir: PathBuf,
    /// Its configuration.
    pub config: TrainConfig,
}

/// A snapshot folder name for `epoch`.
fn snapshot_name(epoch: usize) -> String {
    format!("epoch-{epoch:06}")
}

/// The epoch of a snapshot folder name, or None for anything else.
fn snapshot_epoch(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("epoch-")?;
    (digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Renames `path` aside and deletes it, so a crash never leaves a half-deleted snapshot under
/// a name that looks complete.
fn discard(path: &Path) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("x");
    let trash = path.with_file_name(format!(".trash-{name}-{}", std::process::id()));
    std::fs::rename(path, &trash)?;
    std::fs::remove_dir_all(&trash)
}

impl Checkpoint {
    /// Opens `dir` and reads its `config.json`.
    pub fn open(dir: &Path) -> Result<Self, TrainError> {
        if !dir.is_dir() {
            return Err(TrainError::checkpoint(dir, "no such checkpoint folder"));
        }
        let path = dir.join(CONFIG_FILE);
        if !path.is_file() {
            return Err(TrainError::checkpoint(
                dir,
                format!("not a neuromod checkpoint: no {CONFIG_FILE}"),
            ));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot read: {e}")))?;
        let raw: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| TrainError::checkpoint(&path, format!("not valid JSON: {e}")))?;
        if let Some(kind) = raw.get("kind") {
            if kind.as_str().and_then(ModelKind::from_name).is_none() {
                return Err(TrainError::checkpoint(
                    &path,
                    format!(
                        "a checkpoint of kind {kind}, not a world model (one of {})",
                        ModelKind::names()
                    ),
                ));
            }
        }
        if raw.get("model").is_none() {
            return Err(TrainError::checkpoint(
                &path,
                "not a neuromod world-model checkpoint: no `model` field",
            ));
        }
        let config = TrainConfig::from_json(&text).map_err(|e| {
            TrainError::checkpoint(&path, format!("not a neuromod training config: {e}"))
        })?;
        config
            .check()
            .map_err(|e| TrainError::checkpoint(&path, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
        })
    }

    /// Writes `config.json` into `dir` (creating it); refuses a folder that already holds a run.
    pub fn create(dir: &Path, config: &TrainConfig) -> Result<Self, TrainError> {
        if dir.join(LATEST_FILE).exists() {
            return Err(TrainError::checkpoint(
                dir,
                "already holds a training run: continue it with --resume, or choose another \
                 output folder",
            ));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| TrainError::checkpoint(dir, format!("cannot create: {e}")))?;
        let checkpoint = Self {
            dir: dir.to_path_buf(),
            config: config.clone(),
        };
        checkpoint.save_config()?;
        Ok(checkpoint)
    }

    /// Atomically rewrites `config.json` from `self.config`.
    pub fn save_config(&self) -> Result<(), TrainError> {
        let path = self.dir.join(CONFIG_FILE);
        let json = serde_json::to_string_pretty(&self.config)
            .map_err(|e| TrainError::checkpoint(&path, e))?;
        write_atomic(&path, json.as_bytes()).map_err(|e| TrainError::write(&path, e, &self.dir))
    }

    /// The snapshot a pointer file names (None when the pointer does not exist yet).
    fn pointed(&self, pointer: &str) -> Result<Option<Snapshot>, TrainError> {
        let path = self.dir.join(pointer);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TrainError::checkpoint(&path, format!("cannot read: {e}"))),
        };
        let name = text.trim();
        if snapshot_epoch(name).is_none() {
            return Err(TrainError::checkpoint(
                &path,
                format!("does not name a snapshot (`epoch-NNNNNN`): {name:?}"),
            ));
        }
        self.snapshot(name).map(Some)
    }

    /// Reads the snapshot folder `name`.
    fn snapshot(&self, name: &str) -> Result<Snapshot, TrainError> {
        let dir = self.dir.join(SNAPSHOTS_DIR).join(name);
        let path = dir.join(STATE_FILE);
        if !dir.is_dir() {
            return Err(TrainError::checkpoint(&dir, "snapshot folder is missing"));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot read: {e}")))?;
        let state = serde_json::from_str(&text)
            .map_err(|e| TrainError::checkpoint(&path, format!("not a snapshot state: {e}")))?;
        Ok(Snapshot { dir, state })
    }

    /// The newest complete snapshot (None before the first epoch finished).
    pub fn latest(&self) -> Result<Option<Snapshot>, TrainError> {
        self.pointed(LATEST_FILE)
    }

    /// The snapshot with the best validation bound.
    pub fn best(&self) -> Result<Snapshot, TrainError> {
        self.pointed(BEST_FILE)?.ok_or_else(|| {
            TrainError::checkpoint(
                &self.dir,
                format!("no saved weights yet (no `{BEST_FILE}` pointer): no epoch has finished"),
            )
        })
    }

    /// Builds the model from the config and loads the best weights onto `device`.
    pub fn load_model(&self, device: &Device) -> Result<WorldModel, TrainError> {
        self.best()?
            .load_model(WEIGHTS_FILE, self.config.model.init(device)?)
    }

    /// The SF heads of the run (None when it trained none), with their saved statistics.
    pub fn load_sf(&self, device: &Device) -> Result<Option<SfHeads>, TrainError> {
        let Some(config) = sf_config(&self.config) else {
            return Ok(None);
        };
        let heads = config
            .init(device)
            .map_err(|e| TrainError::checkpoint(&self.dir.join(CONFIG_FILE), e))?;
        self.best()?.load_heads(heads).map(Some)
    }

    /// Reads `metrics.csv`.
    pub fn metrics(&self) -> Result<Vec<MetricsRow>, TrainError> {
        let path = self.dir.join(METRICS_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot read: {e}")))?;
        parse_metrics(&text).map_err(|e| TrainError::checkpoint(&path, e))
    }

    /// Writes a complete snapshot of `state.epoch` (files given as name and bytes), then moves
    /// `latest`, and `best` when `improved`; finally drops snapshots no longer kept.
    pub fn write_snapshot(
        &self,
        mut state: SnapshotState,
        files: &[(&str, Vec<u8>)],
        improved: bool,
    ) -> Result<(), TrainError> {
        let root = self.dir.join(SNAPSHOTS_DIR);
        let name = snapshot_name(state.epoch);
        let tmp = root.join(format!(".tmp-{name}-{}", std::process::id()));
        let err = |p: &Path, e: std::io::Error| TrainError::write(p, e, &self.dir);
        std::fs::create_dir_all(&root).map_err(|e| err(&root, e))?;
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| err(&tmp, e))?;
        }
        std::fs::create_dir(&tmp).map_err(|e| err(&tmp, e))?;
        let write = |path: &Path, bytes: &[u8]| -> std::io::Result<()> {
            let mut file = std::fs::File::create(path)?;
            file.write_all(bytes)?;
            file.sync_all()
        };
        // On a failed write the partial snapshot goes at once: on a full disk its space is
        // what the next attempt needs.
        let failed = |path: &Path, e: std::io::Error| {
            let _ = std::fs::remove_dir_all(&tmp);
            err(path, e)
        };
        for (file, bytes) in files {
            let path = tmp.join(file);
            write(&path, bytes).map_err(|e| failed(&path, e))?;
            state
                .files
                .insert((*file).to_string(), FileDigest::of(bytes));
        }
        let path = tmp.join(STATE_FILE);
        let json =
            serde_json::to_vec_pretty(&state).map_err(|e| TrainError::checkpoint(&path, e))?;
        write(&path, &json).map_err(|e| failed(&path, e))?;
        sync_dir(&tmp);
        let dest = root.join(&name);
        if dest.exists() {
            // Left by a run that crashed before moving `latest` to it: replaced.
            discard(&dest).map_err(|e| err(&dest, e))?;
        }
        std::fs::rename(&tmp, &dest).map_err(|e| err(&dest, e))?;
        sync_dir(&root);
        self.point(LATEST_FILE, &name)?;
        if improved {
            self.point(BEST_FILE, &name)?;
        }
        self.prune(state.epoch, state.best_epoch)
    }

    fn point(&self, pointer: &str, name: &str) -> Result<(), TrainError> {
        let path = self.dir.join(pointer);
        write_atomic(&path, format!("{name}\n").as_bytes())
            .map_err(|e| TrainError::write(&path, e, &self.dir))
    }

    /// Deletes leftovers of interrupted writes, snapshots newer than `latest` (never pointed
    /// to), and old ones beyond the last `keep_last` besides `best`.
    fn prune(&self, latest: usize, best: usize) -> Result<(), TrainError> {
        // Temporary files of `write_atomic` calls a crash interrupted.
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp-") && entry.path().is_file() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let root = self.dir.join(SNAPSHOTS_DIR);
        let Ok(entries) = std::fs::read_dir(&root) else {
            return Ok(());
        };
        let keep = self.config.schedule.keep_last.max(1);
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let stale = match snapshot_epoch(&name) {
                Some(e) => e != best && (e > latest || e + keep <= latest),
                // Our own temporaries and trash; a live writer is this process.
                None => name.starts_with(".tmp-") || name.starts_with(".trash-"),
            };
            if stale {
                let result = if name.starts_with('.') {
                    std::fs::remove_dir_all(&path)
                } else {
                    discard(&path)
                };
                result.map_err(|e| TrainError::checkpoint(&path, format!("cannot delete: {e}")))?;
            }
        }
        Ok(())
    }

    /// Makes the folder consistent after a crash and returns the snapshot to resume from:
    /// `best` set to what the latest snapshot recorded, leftovers deleted.
    pub fn recover(&self) -> Result<Option<Snapshot>, TrainError> {
        let Some(latest) = self.latest()? else {
            self.prune(0, 0)?;
            return Ok(None);
        };
        let best = snapshot_name(latest.state.best_epoch);
        // Verifies the best snapshot exists before pointing at it.
        self.snapshot(&best)?;
        self.point(BEST_FILE, &best)?;
        self.prune(latest.state.epoch, latest.state.best_epoch)?;
        self.save_metrics(&latest.state.metrics)?;
        Ok(Some(latest))
    }

    /// Atomically replaces `metrics.csv` with `rows`.
    pub fn save_metrics(&self, rows: &[MetricsRow]) -> Result<(), TrainError> {
        let path = self.dir.join(METRICS_FILE);
        write_atomic(&path, metrics_csv(rows).as_bytes())
            .map_err(|e| TrainError::write(&path, e, &self.dir))
    }
}

/// The SF heads' shape for a run: the model's state s_t in, features muq out.
pub fn sf_config(config: &TrainConfig) -> Option<SfConfig> {
    let m = &config.model;
    config.sf.as_ref().map(|sf| {
        SfConfig::new(m.state_dim(), m.z_dim())
            .with_gammas(sf.gammas.clone())
            .with_layers(sf.layers)
            .with_hidden(sf.hidden)
    })
}
