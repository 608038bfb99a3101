//! `neuromod signals`: per-step SPE signals of a checkpoint on a data split, written as
//! `.safetensors` or `.npz` (arrays named below), plus a CSV summary per sequence.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use neuromod_train::{collect_signals, write_atomic, Checkpoint, ModelSpec};

use crate::device::{self, DeviceChoice};

/// Arguments of `neuromod signals`.
#[derive(Args, Debug)]
pub struct SignalsArgs {
    /// Checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Dataset kind, if not the checkpoint's.
    #[arg(long, value_enum)]
    dataset: Option<neuromod_datasets::DatasetKind>,
    /// Data file, if not the checkpoint's.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Split to run.
    #[arg(long, default_value = "test", value_parser = ["train", "valid", "test"])]
    split: String,
    /// Output file: `.safetensors` or `.npz`; the CSV summary goes beside it (`<stem>.csv`).
    #[arg(long)]
    out: PathBuf,
    /// Figure file format.
    #[arg(long, value_enum, default_value = "png")]
    format: neuromod_plots::Format,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// Sequences per batch.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Sequence (index in the split) whose SPE traces go to `<stem>.png`.
    #[arg(long, default_value_t = 0)]
    plot_sequence: usize,
}

pub fn run(args: SignalsArgs) -> Result<()> {
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext != "safetensors" && ext != "npz" {
        bail!(
            "{}: --out must end in .safetensors or .npz",
            args.out.display()
        );
    }
    let mut checkpoint = Checkpoint::open(&args.checkpoint)?;
    neuromod_train::refuse_smoothing(&checkpoint)?;
    if let Some(kind) = args.dataset {
        checkpoint.config.data.kind = kind;
    }
    if let Some(path) = &args.data {
        checkpoint.config.data.path = Some(path.clone());
    }
    let (device, _) = device::select(args.device)?;
    let model = checkpoint.load_model(&device)?;
    let sf = checkpoint.load_sf(&device)?;
    let splits = checkpoint.config.data.load()?;
    let data_path = checkpoint.config.data.path.clone().unwrap_or_default();
    splits.expect_dim(checkpoint.config.model.x_dim(), &data_path)?;
    let set = splits.get(&args.split).context("unknown split")?;
    if set.is_empty() {
        bail!("split `{}` of {} is empty", args.split, data_path.display());
    }
    if args.plot_sequence >= set.len() {
        bail!(
            "--plot-sequence {}: split `{}` has {} sequences",
            args.plot_sequence,
            args.split,
            set.len()
        );
    }
    let gammas = sf.as_ref().map(|s| s.gammas.clone()).unwrap_or_default();
    let arrays = collect_signals(set, &model, sf.as_ref(), args.batch_size, &device)?;

    let meta = (&checkpoint.config, args.split.as_str(), gammas.as_slice());
    neuromod_train::write_signals(&arrays, meta, &args.out)?;
    let csv_path = args.out.with_extension("csv");
    let png_path = args.out.with_extension(args.format.extension());
    let png = neuromod_train::figures::traces(
        &arrays,
        &gammas,
        args.plot_sequence,
        set.steps(args.plot_sequence),
        &format!("{} sequence {}", args.split, args.plot_sequence),
    )
    .render(args.format)?;
    write_atomic(&png_path, &png)
        .with_context(|| format!("{}: cannot write", png_path.display()))?;
    eprintln!(
        "{} sequences of split `{}` -> {}, {} and {}",
        set.len(),
        args.split,
        args.out.display(),
        csv_path.display(),
        png_path.display()
    );
    Ok(())
}
