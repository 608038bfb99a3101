//! `neuromod report`: figures of a checkpoint (learning curves, a sample beside a real sequence
//! as piano rolls, SPE traces of that sequence) and an `index.html` showing them with the config
//! and the final metrics (`neuromod_train::write_report`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use neuromod_train::{Checkpoint, ReportOptions};

use crate::device::{self, DeviceChoice};

/// Arguments of `neuromod report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Output folder (created): index.html and the PNGs.
    #[arg(long)]
    out: PathBuf,
    /// Figure file format.
    #[arg(long, value_enum, default_value = "png")]
    format: neuromod_plots::Format,
    /// Data file, if it moved since training.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Split of the real sequence and of the reported bound.
    #[arg(long, default_value = "test", value_parser = ["train", "valid", "test"])]
    split: String,
    /// Index of the real sequence in the split.
    #[arg(long, default_value_t = 0)]
    sequence: usize,
    /// Seed of the sample and of the evaluation's latent draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
}

/// Runs `neuromod report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let mut checkpoint = Checkpoint::open(&args.checkpoint)?;
    if let Some(path) = &args.data {
        checkpoint.config.data.path = Some(path.clone());
    }
    let (device, _) = device::select(args.device)?;
    let options = ReportOptions {
        out: args.out.clone(),
        format: args.format,
        split: args.split,
        sequence: args.sequence,
        seed: args.seed,
    };
    let (index, figures) = neuromod_train::write_report(&checkpoint, &options, &device)?;
    eprintln!(
        "wrote {} and {figures} figures to {}",
        index.display(),
        args.out.display()
    );
    Ok(())
}
