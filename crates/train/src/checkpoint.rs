//! Checkpoint folders: `config.json`, `model.bpk` (burnpack weights of the best epoch by
//! validation bound) and `metrics.csv`. Every file is written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::ModuleRecord;
use neuromod_spe::{SfConfig, SfHeads};
use neuromod_vrnn::Vrnn;
use serde::{Deserialize, Serialize};

use crate::{TrainConfig, TrainError};

/// The run configuration file.
pub const CONFIG_FILE: &str = "config.json";
/// The weights of the best epoch.
pub const WEIGHTS_FILE: &str = "model.bpk";
/// Successor-feature heads and their feature statistics (when the run trains them).
pub const SF_FILE: &str = "sf.bpk";
/// Per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.csv";

/// One epoch of training; bounds are negative ELBO in nats per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Epoch, 1-based.
    pub epoch: usize,
    /// Training bound (KL weighted by 1, whatever beta was).
    pub train_bound: f64,
    /// Training KL per step.
    pub train_kl: f64,
    /// Training reconstruction NLL per step.
    pub train_rec: f64,
    /// Validation bound.
    pub valid_bound: f64,
    /// Validation KL per step.
    pub valid_kl: f64,
    /// Validation reconstruction NLL per step.
    pub valid_rec: f64,
    /// KL weight used this epoch.
    pub beta: f64,
    /// Wall-clock seconds since training started.
    pub seconds: f64,
    /// Mean successor-feature TD loss of the training batches (0 without SF heads).
    pub train_sf: f64,
}

/// Writes `bytes` to `path` through a temporary file in the same folder: write, fsync,
/// rename. A crash leaves either the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .or(Ok(()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A checkpoint folder on disk, with its configuration read and checked.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The folder.
    pub dir: PathBuf,
    /// Its configuration.
    pub config: TrainConfig,
}

impl Checkpoint {
    /// Opens `dir` and reads its `config.json`.
    pub fn open(dir: &Path) -> Result<Self, TrainError> {
        if !dir.is_dir() {
            return Err(TrainError::checkpoint(dir, "no such checkpoint folder"));
        }
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot read: {e}")))?;
        let config = TrainConfig::from_json(&text).map_err(|e| {
            TrainError::checkpoint(&path, format!("not a neuromod VRNN config: {e}"))
        })?;
        config
            .check()
            .map_err(|e| TrainError::checkpoint(&path, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
        })
    }

    /// Builds the model from the config and loads the saved weights onto `device`.
    pub fn load_model(&self, device: &Device) -> Result<Vrnn, TrainError> {
        let path = self.dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot read weights: {e}")))?;
        let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(|e| TrainError::checkpoint(&path, format!("corrupt weights: {e:?}")))?;
        self.config
            .model
            .init(device)?
            .try_load_record(record)
            .map_err(|e| {
                TrainError::checkpoint(&path, format!("weights do not match config.json: {e:?}"))
            })
    }

    /// The SF heads of the run (None when it trained none), with their saved statistics.
    pub fn load_sf(&self, device: &Device) -> Result<Option<SfHeads>, TrainError> {
        let Some(sf) = &self.config.sf else {
            return Ok(None);
        };
        let path = self.dir.join(SF_FILE);
        let bytes = std::fs::read(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot read SF heads: {e}")))?;
        let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(|e| TrainError::checkpoint(&path, format!("corrupt SF heads: {e:?}")))?;
        sf_config(&self.config)
            .expect("sf is set")
            .init(device)
            .map_err(|e| TrainError::checkpoint(&path, e))?
            .try_load_record(record)
            .map(Some)
            .map_err(|e| {
                TrainError::checkpoint(
                    &path,
                    format!(
                        "SF heads do not match config.json (gammas {:?}): {e:?}",
                        sf.gammas
                    ),
                )
            })
    }

    /// Reads `metrics.csv`.
    pub fn metrics(&self) -> Result<Vec<MetricsRow>, TrainError> {
        let path = self.dir.join(METRICS_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot read: {e}")))?;
        text.lines()
            .skip(1)
            .enumerate()
            .map(|(i, line)| {
                let v: Vec<f64> = line.split(',').filter_map(|c| c.parse().ok()).collect();
                let (v, sf) = match v.len() {
                    10 => (&v[..9], v[9]),
                    _ => (&v[..], 0.0),
                };
                match *v {
                    [e, tb, tk, tr, vb, vk, vr, b, s] => Ok(MetricsRow {
                        epoch: e as usize,
                        train_bound: tb,
                        train_kl: tk,
                        train_rec: tr,
                        valid_bound: vb,
                        valid_kl: vk,
                        valid_rec: vr,
                        beta: b,
                        seconds: s,
                        train_sf: sf,
                    }),
                    _ => Err(TrainError::checkpoint(
                        &path,
                        format!("line {}: expected 10 numbers", i + 2),
                    )),
                }
            })
            .collect()
    }

    /// Writes `config.json` into `dir` (creating it).
    pub fn create(dir: &Path, config: &TrainConfig) -> Result<Self, TrainError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| TrainError::checkpoint(dir, format!("cannot create: {e}")))?;
        let path = dir.join(CONFIG_FILE);
        let json =
            serde_json::to_string_pretty(config).map_err(|e| TrainError::checkpoint(&path, e))?;
        write_atomic(&path, json.as_bytes()).map_err(|e| TrainError::checkpoint(&path, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config: config.clone(),
        })
    }

    /// Atomically replaces the SF heads file.
    pub fn save_sf(&self, sf: &SfHeads) -> Result<(), TrainError> {
        self.save_module(SF_FILE, sf)
    }

    /// Atomically replaces the weights with `model`'s.
    pub fn save_model(&self, model: &Vrnn) -> Result<(), TrainError> {
        self.save_module(WEIGHTS_FILE, model)
    }

    /// Writes `module`'s burnpack record to `file` in the folder, atomically.
    fn save_module<M: Module>(&self, file: &str, module: &M) -> Result<(), TrainError> {
        let path = self.dir.join(file);
        let bytes = module
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| TrainError::checkpoint(&path, format!("cannot serialise: {e:?}")))?;
        write_atomic(&path, &bytes).map_err(|e| TrainError::checkpoint(&path, e))
    }

    /// Atomically replaces `metrics.csv` with `rows`.
    pub fn save_metrics(&self, rows: &[MetricsRow]) -> Result<(), TrainError> {
        let mut text = String::from(
            "epoch,train_bound,train_kl,train_rec,valid_bound,valid_kl,valid_rec,beta,seconds,train_sf\n",
        );
        for r in rows {
            text += &format!(
                "{},{},{},{},{},{},{},{},{:.3},{}\n",
                r.epoch,
                r.train_bound,
                r.train_kl,
                r.train_rec,
                r.valid_bound,
                r.valid_kl,
                r.valid_rec,
                r.beta,
                r.seconds,
                r.train_sf
            );
        }
        let path = self.dir.join(METRICS_FILE);
        write_atomic(&path, text.as_bytes()).map_err(|e| TrainError::checkpoint(&path, e))
    }
}

/// The SF heads' shape for a run: state [h, muq], features muq.
pub fn sf_config(config: &TrainConfig) -> Option<SfConfig> {
    let m = &config.model;
    config.sf.as_ref().map(|sf| {
        SfConfig::new(m.h_dim + m.z_dim, m.z_dim)
            .with_gammas(sf.gammas.clone())
            .with_layers(sf.layers)
            .with_hidden(sf.hidden)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.txt")]);
    }
}
