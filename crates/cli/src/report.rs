//! `neuromod report`: PNG figures of a checkpoint (learning curves, a sample beside a real
//! sequence as piano rolls, SPE traces of that sequence) and an `index.html` showing them with
//! the config and the final metrics.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use neuromod_datasets::SequenceSet;
use neuromod_plots::{Figure, Mark, Panel, Raster, Rgb, Series};
use neuromod_train::{evaluate, write_atomic, Checkpoint, MetricsRow, ModelSpec};

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

/// Learning curves: bound and KL per step, train and validation, with the best epoch marked.
/// The first epochs are left out while the training bound is above twice the best validation
/// bound, so the start does not squash the rest of the curve (the title says so).
pub fn curves(rows: &[MetricsRow]) -> Figure {
    let best_valid = rows
        .iter()
        .map(|r| r.valid_bound)
        .fold(f64::INFINITY, f64::min);
    let skip = rows
        .iter()
        .position(|r| r.train_bound <= 2.0 * best_valid)
        .unwrap_or(0);
    let rows = &rows[skip..];
    let from = match rows.first() {
        Some(r) if skip > 0 => format!(" (from epoch {})", r.epoch),
        _ => String::new(),
    };
    let line = |label: &str, color, f: &dyn Fn(&MetricsRow) -> f64| {
        Series::new(
            label,
            color,
            Mark::Line,
            rows.iter().map(|r| (r.epoch as f64, f(r))).collect(),
        )
    };
    let best = rows
        .iter()
        .min_by(|a, b| a.valid_bound.total_cmp(&b.valid_bound));
    let mut bound = Panel::new(
        format!("Negative ELBO per step{from}"),
        "epoch",
        "nats per step",
    )
    .with_integer_x()
    .with(line("train", Rgb::BLUE, &|r| r.train_bound))
    .with(line("valid", Rgb::RED, &|r| r.valid_bound));
    if let Some(b) = best {
        bound = bound.with(Series::new(
            format!("best valid {:.3} (epoch {})", b.valid_bound, b.epoch),
            Rgb::BLACK,
            Mark::Dots,
            vec![(b.epoch as f64, b.valid_bound)],
        ));
    }
    let kl = Panel::new(
        format!("KL(q || p) per step{from}"),
        "epoch",
        "nats per step",
    )
    .with_integer_x()
    .with(line("train", Rgb::BLUE, &|r| r.train_kl))
    .with(line("valid", Rgb::RED, &|r| r.valid_kl));
    Figure {
        panels: vec![bound, kl],
        columns: 2,
        panel_size: (700, 480),
    }
}

/// A sequence `[steps, dim]` (row-major) as a raster panel.
fn roll(title: String, values: &[f32], steps: usize, dim: usize) -> Panel {
    let mut panel = Panel::new(title, "step", "feature (key above MIDI 21)")
        .with_integer_x()
        .with_integer_y();
    panel.raster = Some(Raster {
        width: steps,
        height: dim,
        values: values[..steps * dim].iter().map(|&v| v as f64).collect(),
    });
    panel
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `figure` as `<stem>.<format>` into `out`; returns the file name.
fn save_figure(
    out: &Path,
    stem: &str,
    figure: &Figure,
    format: neuromod_plots::Format,
) -> Result<String> {
    let name = format!("{stem}.{}", format.extension());
    let path = out.join(&name);
    write_atomic(&path, &figure.render(format.into())?)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(name)
}

/// Runs `neuromod report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let mut checkpoint = Checkpoint::open(&args.checkpoint)?;
    if let Some(path) = &args.data {
        checkpoint.config.data.path = Some(path.clone());
    }
    let rows = checkpoint.metrics()?;
    let best = checkpoint.best()?;
    let (device, _) = device::select(args.device)?;
    let model = checkpoint.load_model(&device)?;
    let sf = checkpoint.load_sf(&device)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let mut figures: Vec<(String, &str)> = Vec::new();

    let name = save_figure(&args.out, "curves", &curves(&rows), args.format)?;
    figures.push((name, "Learning curves"));

    let m = &checkpoint.config.model;
    let dim = m.x_dim();
    let splits = checkpoint.config.data.load();
    let mut notes = Vec::new();
    let mut test_line = String::new();
    match &splits {
        Ok(splits) => {
            let set = splits.get(&args.split).context("unknown split")?;
            if args.sequence >= set.len() {
                anyhow::bail!(
                    "--sequence {}: split `{}` has {} sequences",
                    args.sequence,
                    args.split,
                    set.len()
                );
            }
            device.seed(args.seed);
            let bound = evaluate(&model, set, 64, &device)?;
            test_line = format!(
                "<tr><th>{} bound (nats per step)</th><td>{:.4} (KL {:.4}, reconstruction {:.4}; {} steps)</td></tr>",
                args.split, bound.nll_per_step, bound.kl_per_step, bound.rec_per_step, bound.steps
            );
            let k = args.sequence;
            let steps = set.steps(k);
            let real = &set.sequences[k];
            device.seed(args.seed);
            let sample = model
                .generate(1, steps, None, &device)
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("reading the sample back: {e:?}"))?;
            let figure = Figure {
                panels: vec![
                    roll(
                        format!("Real: {} sequence {k}", args.split),
                        real,
                        steps,
                        dim,
                    ),
                    roll(
                        format!("Sample from the prior (seed {}, {steps} steps)", args.seed),
                        &sample,
                        steps,
                        dim,
                    ),
                ],
                columns: 2,
                panel_size: (700, 420),
            };
            let name = save_figure(&args.out, "sample", &figure, args.format)?;
            figures.push((name, "A sample from the model beside a real sequence"));

            let one = SequenceSet {
                dim,
                sequences: vec![real.clone()],
            };
            if let Err(e) = crate::signals::refuse_smoothing(&checkpoint) {
                notes.push(format!("No SPE figure: {e}."));
            } else {
                let arrays =
                    neuromod_train::collect_signals(&one, &model, sf.as_ref(), 1, &device)?;
                let gammas = sf.as_ref().map(|s| s.gammas.clone()).unwrap_or_default();
                let name = format!("{} sequence {k}", args.split);
                let figure = crate::signals::traces(&arrays, &gammas, 0, steps, &name);
                let name = save_figure(&args.out, "spe", &figure, args.format)?;
                figures.push((
                    name,
                    "State prediction errors along the real sequence (posterior means as latents)",
                ));
            }
        }
        Err(e) => notes.push(format!(
            "No sample or SPE figures: the data could not be loaded ({e}); pass --data PATH."
        )),
    }

    let last = rows.last();
    let best_row = rows.iter().find(|r| r.epoch == best.state.best_epoch);
    let mut html = String::new();
    let title = format!("neuromod report: {}", args.checkpoint.display());
    let _ = write!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n\
         <style>body{{font-family:sans-serif;max-width:1500px;margin:2em auto}}\
         img{{max-width:100%;border:1px solid #ccc}}td,th{{text-align:left;padding:2px 12px}}\
         pre{{background:#f4f4f4;padding:1em;overflow:auto}}</style></head><body>\n<h1>{t}</h1>\n",
        t = html_escape(&title)
    );
    html += "<h2>Final metrics</h2>\n<table>\n";
    if let Some(l) = last {
        let _ = writeln!(
            html,
            "<tr><th>epochs run</th><td>{} ({:.0} s)</td></tr>\n<tr><th>last epoch</th><td>train {:.4}, valid {:.4} nats per step</td></tr>",
            l.epoch, l.seconds, l.train_bound, l.valid_bound
        );
    }
    if let Some(b) = best_row {
        let _ = writeln!(
            html,
            "<tr><th>best epoch (saved weights)</th><td>{}: valid {:.4} nats per step (KL {:.4})</td></tr>",
            b.epoch, b.valid_bound, b.valid_kl
        );
    }
    html += &test_line;
    html += "\n</table>\n";
    for note in &notes {
        let _ = writeln!(html, "<p><em>{}</em></p>", html_escape(note));
    }
    for (file, caption) in &figures {
        let _ = writeln!(
            html,
            "<h2>{caption}</h2>\n<img src=\"{file}\" alt=\"{caption}\">"
        );
    }
    let config = serde_json::to_string_pretty(&checkpoint.config)?;
    let _ = writeln!(
        html,
        "<h2>Config</h2>\n<pre>{}</pre>\n</body></html>",
        html_escape(&config)
    );
    let index = args.out.join("index.html");
    write_atomic(&index, html.as_bytes())
        .with_context(|| format!("{}: cannot write", index.display()))?;
    eprintln!(
        "wrote {} and {} figures to {}",
        index.display(),
        figures.len(),
        args.out.display()
    );
    Ok(())
}
