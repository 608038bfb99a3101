//! `neuromod signals`: per-step SPE signals of a checkpoint on a data split, written as
//! `.safetensors` or `.npz` (arrays named below), plus a CSV summary per sequence.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use neuromod_plots::{Figure, Mark, Panel, Raster, Rgb, Series};
use neuromod_train::{
    collect_signals, write_atomic, Checkpoint, ModelSpec, NamedArray, SignalArray,
};

use crate::device::{self, DeviceChoice};
use crate::export::safetensors_bytes;

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

/// Every signal reads the posterior as a causal estimate; a smoothing posterior has seen the
/// future, so its "prediction errors" are not.
pub(crate) fn refuse_smoothing(checkpoint: &Checkpoint) -> Result<()> {
    let m = &checkpoint.config.model;
    if !m.filtering() {
        bail!(
            "{}: this {} reads a smoothing posterior (it sees future observations), so it has \
             no causal state prediction errors; train it with a filtering posterior \
             (for the DKF, \"guide\": \"filtering\", the default)",
            checkpoint.dir.display(),
            m.kind()
        );
    }
    Ok(())
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
    refuse_smoothing(&checkpoint)?;
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

    let bytes = match ext {
        "npz" => npz(&arrays)?,
        _ => safetensors(&arrays, &checkpoint, &args.split, &gammas)?,
    };
    write_atomic(&args.out, &bytes)
        .with_context(|| format!("{}: cannot write", args.out.display()))?;
    let csv_path = args.out.with_extension("csv");
    write_atomic(&csv_path, summary_csv(&arrays, &gammas).as_bytes())
        .with_context(|| format!("{}: cannot write", csv_path.display()))?;
    let png_path = args
        .out
        .with_extension(neuromod_plots::Format::from(args.format).extension());
    let png = traces(
        &arrays,
        &gammas,
        args.plot_sequence,
        set.steps(args.plot_sequence),
        &format!("{} sequence {}", args.split, args.plot_sequence),
    )
    .render(args.format.into())?;
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

fn safetensors(
    arrays: &BTreeMap<String, SignalArray>,
    checkpoint: &Checkpoint,
    split: &str,
    gammas: &[f64],
) -> Result<Vec<u8>> {
    let named: Vec<NamedArray> = arrays
        .iter()
        .map(|(k, a)| NamedArray {
            name: k.clone(),
            shape: a.shape.clone(),
            data: a.data.clone(),
        })
        .collect();
    let mut meta = std::collections::HashMap::new();
    meta.insert(
        "config".to_string(),
        serde_json::to_string(&checkpoint.config)?,
    );
    meta.insert("split".to_string(), split.to_string());
    meta.insert("gammas".to_string(), serde_json::to_string(gammas)?);
    safetensors_bytes(&named, meta)
}

fn npz(arrays: &BTreeMap<String, SignalArray>) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, a) in arrays {
        let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
        let mut npy = Vec::new();
        neuromod_datasets::npy::write_f32(&mut npy, &shape, a.data.iter().copied())?;
        zip.start_file(format!("{name}.npy"), options)?;
        zip.write_all(&npy)?;
    }
    Ok(zip.finish()?.into_inner())
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

/// The input of sequence `k` (titled `name`) as a raster above its one-step SPE and SF traces.
pub(crate) fn traces(
    arrays: &BTreeMap<String, SignalArray>,
    gammas: &[f64],
    k: usize,
    steps: usize,
    name: &str,
) -> Figure {
    let x = &arrays["x"];
    let (t_all, d) = (x.shape[1], x.shape[2]);
    let seq = |name: &str| -> Vec<(f64, f64)> {
        let a = &arrays[name];
        (0..steps)
            .map(|t| (t as f64, a.data[k * t_all + t] as f64))
            .collect()
    };
    let mut input = Panel::new(format!("{name}: input"), "step", "feature (key)")
        .with_integer_x()
        .with_integer_y();
    input.raster = Some(Raster {
        width: steps,
        height: d,
        values: (0..steps * d)
            .map(|c| x.data[(k * t_all + c / d) * d + c % d] as f64)
            .collect(),
    });
    let one = Panel::new("One-step SPE", "step", "nats / prior units")
        .with_integer_x()
        .with(Series::new(
            "||e_t||",
            Rgb::RED,
            Mark::Line,
            seq("spe/onestep/norm"),
        ))
        .with(Series::new(
            "KL(q || p) (nats)",
            Rgb::BLUE,
            Mark::Line,
            seq("spe/onestep/kl"),
        ));
    let mut panels = vec![input, one];
    if !gammas.is_empty() {
        let colours = [
            Rgb::BLACK,
            Rgb::GREEN,
            Rgb::ORANGE,
            Rgb::RED,
            Rgb::BLUE,
            Rgb::GREY,
        ];
        let mut sf = Panel::new(
            "Successor-feature TD error (RMS, transition t -> t+1)",
            "step",
            "RMS",
        )
        .with_integer_x();
        for (i, g) in gammas.iter().enumerate() {
            sf = sf.with(Series::new(
                format!("gamma {g}"),
                colours[i % colours.len()],
                Mark::Line,
                seq(&format!("spe/sf/gamma_{g}/rms"))[..steps.saturating_sub(1)].to_vec(),
            ));
        }
        panels.push(sf);
    }
    Figure {
        panels,
        columns: 1,
        panel_size: (1100, 330),
    }
}
