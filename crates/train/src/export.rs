//! Files for Python: a checkpoint's weights as `.safetensors` (readable names, the run's config
//! and the family's weight layout in the metadata), a split's signals as `.safetensors` or
//! `.npz` with a per-sequence CSV summary, and samples from the prior as CSV or NPY. numpy and
//! the `safetensors` package read them.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use burn::prelude::*;
use neuromod_core::{SequenceModel, WEIGHT_CONVENTIONS};

use crate::checkpoint::{sf_config, Snapshot, WEIGHTS_FILE};
use crate::params::{named_parameters, NamedArray};
use crate::signals::SignalArray;
use crate::{Checkpoint, TrainConfig, TrainError};

/// Float32 arrays and string metadata in the safetensors format.
pub fn safetensors_bytes(
    arrays: &[NamedArray],
    meta: BTreeMap<String, String>,
    path: &Path,
) -> Result<Vec<u8>, TrainError> {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<Vec<u8>> = arrays
        .iter()
        .map(|a| a.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = arrays
        .iter()
        .zip(&bytes)
        .map(|(a, b)| {
            TensorView::new(Dtype::F32, a.shape.clone(), b)
                .map(|v| (a.name.clone(), v))
                .map_err(|e| TrainError::output(path, format!("{}: {e}", a.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let meta: HashMap<String, String> = meta.into_iter().collect();
    safetensors::serialize(views, Some(meta)).map_err(|e| TrainError::output(path, e))
}

/// What [`export_weights`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct Exported {
    /// Tensors.
    pub arrays: usize,
    /// Values over all tensors.
    pub values: usize,
    /// The snapshot's epoch.
    pub epoch: usize,
}

/// Writes `snapshot`'s world-model weights (and SF heads) of `checkpoint` to `out` as
/// `.safetensors`, under the family's names (`vrnn.prior.mu.weight`, ...) with the config,
/// epoch, validation bound and weight layout in the metadata.
pub fn export_weights(
    checkpoint: &Checkpoint,
    snapshot: &Snapshot,
    out: &Path,
) -> Result<Exported, TrainError> {
    #[allow(deprecated)]
    let device = Device::ndarray();
    let config = &checkpoint.config;
    let model = snapshot.load_model(WEIGHTS_FILE, config.model.init(&device)?)?;
    let kind = model.kind().name();
    let mut arrays = named_parameters(&model, kind)?;
    if let Some(sf) = sf_config(config) {
        let sf = sf
            .init(&device)
            .map_err(|e| TrainError::checkpoint(&checkpoint.dir, e))?;
        arrays.extend(named_parameters(&snapshot.load_heads(sf)?, "sf")?);
    }
    let state = &snapshot.state;
    let mut meta = BTreeMap::new();
    meta.insert("format".into(), format!("neuromod-{kind}/1"));
    meta.insert("config".into(), config_json(config));
    meta.insert("epoch".into(), state.epoch.to_string());
    if let Some(row) = state.metrics.iter().find(|r| r.epoch == state.epoch) {
        meta.insert("valid_bound".into(), row.valid_bound.to_string());
    }
    meta.insert(
        "layout".into(),
        format!("{WEIGHT_CONVENTIONS} {}", model.weight_layout()),
    );
    let bytes = safetensors_bytes(&arrays, meta, out)?;
    crate::write_atomic(out, &bytes).map_err(|e| TrainError::output(out, e))?;
    Ok(Exported {
        arrays: arrays.len(),
        values: arrays.iter().map(|a| a.data.len()).sum(),
        epoch: state.epoch,
    })
}

/// `num` open-loop sequences of `steps` steps from `model`'s prior (the device's generator,
/// seeded by the caller), written to `out` as CSV (`sequence,time,f1..fD`) or NPY (float32
/// [num, steps, D]) by its extension.
pub fn write_samples<M: SequenceModel>(
    model: &M,
    (num, steps, dim): (usize, usize, usize),
    out: &Path,
    device: &Device,
) -> Result<(), TrainError> {
    if num == 0 || steps == 0 {
        return Err(neuromod_core::ConfigError::new(
            "steps",
            "--steps and --num must be at least 1",
        )
        .into());
    }
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "csv" | "npy") {
        return Err(TrainError::output(
            out,
            "samples are written as .csv or .npy",
        ));
    }
    let values = model
        .generate(num, steps, None, device)
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| TrainError::Readback {
            what: "the samples",
            reason: format!("{e:?}"),
        })?;
    let set = neuromod_datasets::SequenceSet {
        dim,
        sequences: values.chunks(steps * dim).map(<[f32]>::to_vec).collect(),
    };
    match ext {
        "csv" => neuromod_datasets::csv::save(&set, out)?,
        _ => neuromod_datasets::npy::save(&set, out)?,
    }
    Ok(())
}

fn config_json(config: &TrainConfig) -> String {
    serde_json::to_string(config).expect("a config serialises")
}

/// The signals of a split as `.safetensors` (the config, split and SF discounts in the
/// metadata) or `.npz` (by `out`'s extension), with `<stem>.csv` beside it: per sequence, its
/// steps, mean one-step SPE norm and KL, and mean SF RMS per discount.
pub fn write_signals(
    arrays: &BTreeMap<String, SignalArray>,
    (config, split, gammas): (&TrainConfig, &str, &[f64]),
    out: &Path,
) -> Result<(), TrainError> {
    let bytes = match out.extension().and_then(|e| e.to_str()) {
        Some("npz") => npz_bytes(arrays, out)?,
        Some("safetensors") => {
            let named: Vec<NamedArray> = arrays
                .iter()
                .map(|(k, a)| NamedArray {
                    name: k.clone(),
                    shape: a.shape.clone(),
                    data: a.data.clone(),
                })
                .collect();
            let mut meta = BTreeMap::new();
            meta.insert("config".to_string(), config_json(config));
            meta.insert("split".to_string(), split.to_string());
            meta.insert(
                "gammas".to_string(),
                serde_json::to_string(gammas).expect("numbers serialise"),
            );
            safetensors_bytes(&named, meta, out)?
        }
        _ => {
            return Err(TrainError::output(
                out,
                "signals are written as .safetensors or .npz",
            ))
        }
    };
    crate::write_atomic(out, &bytes).map_err(|e| TrainError::output(out, e))?;
    let csv = out.with_extension("csv");
    crate::write_atomic(&csv, summary_csv(arrays, gammas).as_bytes())
        .map_err(|e| TrainError::output(&csv, e))
}

/// The arrays as `<name>.npy` members of an uncompressed zip (what `numpy.load` reads).
fn npz_bytes(arrays: &BTreeMap<String, SignalArray>, out: &Path) -> Result<Vec<u8>, TrainError> {
    let fail = |e: &dyn std::fmt::Display| TrainError::output(out, e);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, a) in arrays {
        let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
        let mut npy = Vec::new();
        neuromod_datasets::npy::write_f32(&mut npy, &shape, a.data.iter().copied())
            .map_err(|e| fail(&e))?;
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| fail(&e))?;
        zip.write_all(&npy).map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

/// Per sequence: steps, mean one-step SPE norm and KL, mean SF RMS per gamma (real steps).
fn summary_csv(arrays: &BTreeMap<String, SignalArray>, gammas: &[f64]) -> String {
    let mask = &arrays["mask"];
    let (n, t) = (mask.shape[0], mask.shape[1]);
    let mut cols = vec!["spe/onestep/norm".to_string(), "spe/onestep/kl".to_string()];
    cols.extend(gammas.iter().map(|g| format!("spe/sf/gamma_{g}/rms")));
    let mut out = String::from("sequence,steps,spe_norm_mean,kl_mean");
    for g in gammas {
        let _ = write!(out, ",sf_rms_mean_gamma_{g}");
    }
    out.push('\n');
    for i in 0..n {
        let steps = mask.data[i * t..(i + 1) * t]
            .iter()
            .filter(|&&m| m > 0.0)
            .count();
        let _ = write!(out, "{i},{steps}");
        for c in &cols {
            let row = &arrays[c].data[i * t..i * t + steps];
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / steps.max(1) as f64;
            let _ = write!(out, ",{mean}");
        }
        out.push('\n');
    }
    out
}
