//! `neuromod export`: a checkpoint's weights as one `.safetensors` file for Python, under
//! readable names (`vrnn.prior.mu.weight`, ...) with the run's config in the file's metadata.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use neuromod_train::Checkpoint;

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
    let done = neuromod_train::export_weights(&checkpoint, &snapshot, &args.out)?;
    eprintln!(
        "wrote {} tensors ({} values) of epoch {} to {}",
        done.arrays,
        done.values,
        done.epoch,
        args.out.display()
    );
    Ok(())
}
