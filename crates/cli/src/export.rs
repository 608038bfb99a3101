//! `neuromod export`: a checkpoint's weights as one `.safetensors` file for Python, under
//! readable names (`vrnn.prior.mu.weight`, ...) with the run's config in the file's metadata.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use clap::{Args, ValueEnum};
use neuromod_core::{SequenceModel, WEIGHT_CONVENTIONS};
use neuromod_train::{named_parameters, write_atomic, Checkpoint, NamedArray, WEIGHTS_FILE};

/// Which snapshot to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// The epoch with the best validation bound (what eval and sample use).
    Best,
    /// The newest epoch (what --resume continues from).
    Latest,
}

/// Arguments of `neuromod export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Output file (`.safetensors`).
    #[arg(long)]
    out: PathBuf,
    /// Snapshot to export.
    #[arg(long, value_enum, default_value = "best")]
    snapshot: Which,
}

/// Serialises float32 arrays and string metadata in the safetensors format.
pub fn safetensors_bytes(arrays: &[NamedArray], meta: HashMap<String, String>) -> Result<Vec<u8>> {
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
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.name))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(safetensors::serialize(views, Some(meta))?)
}

/// Runs `neuromod export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext != "safetensors" {
        bail!("{}: --out must end in .safetensors", args.out.display());
    }
    let checkpoint = Checkpoint::open(&args.checkpoint)?;
    let snapshot = match args.snapshot {
        Which::Best => checkpoint.best()?,
        Which::Latest => checkpoint
            .latest()?
            .with_context(|| format!("{}: no epoch has finished yet", args.checkpoint.display()))?,
    };
    #[allow(deprecated)]
    let device = Device::ndarray();
    let config = &checkpoint.config;
    let model = snapshot.load_model(WEIGHTS_FILE, config.model.init(&device)?)?;
    let kind = model.kind().name();
    let mut arrays = named_parameters(&model, kind)?;
    if let Some(sf) = neuromod_train::sf_config(config) {
        let heads = snapshot.load_heads(sf.init(&device)?)?;
        arrays.extend(named_parameters(&heads, "sf")?);
    }
    let state = &snapshot.state;
    let row = state.metrics.iter().find(|r| r.epoch == state.epoch);
    let mut meta = HashMap::new();
    meta.insert("format".into(), format!("neuromod-{kind}/1"));
    meta.insert("config".into(), serde_json::to_string(config)?);
    meta.insert("epoch".into(), state.epoch.to_string());
    if let Some(row) = row {
        meta.insert("valid_bound".into(), row.valid_bound.to_string());
    }
    meta.insert(
        "layout".into(),
        format!("{WEIGHT_CONVENTIONS} {}", model.weight_layout()),
    );
    let bytes = safetensors_bytes(&arrays, meta)?;
    write_atomic(&args.out, &bytes)
        .with_context(|| format!("{}: cannot write", args.out.display()))?;
    eprintln!(
        "wrote {} tensors ({} values) of epoch {} to {}",
        arrays.len(),
        arrays.iter().map(|a| a.data.len()).sum::<usize>(),
        state.epoch,
        args.out.display()
    );
    Ok(())
}
