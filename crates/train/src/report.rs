//! A run's report: figures of a checkpoint (learning curves, a sample beside a real sequence as
//! piano rolls, the SPE traces of that sequence) and an `index.html` showing them with the
//! config and the final metrics.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use neuromod_datasets::SequenceSet;
use neuromod_plots::{Figure, Format};

use crate::figures::{curves, roll, traces};
use crate::{collect_signals, evaluate, write_atomic, Checkpoint, ModelSpec, TrainError};

/// What the report shows.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Output folder (created).
    pub out: PathBuf,
    /// Figure file format.
    pub format: Format,
    /// Split of the real sequence and of the reported bound.
    pub split: String,
    /// Index of the real sequence in the split.
    pub sequence: usize,
    /// Seed of the sample and of the evaluation's latent draws.
    pub seed: u64,
}

/// Every signal reads the posterior as a causal estimate; a smoothing posterior has seen the
/// future, so its "prediction errors" are not.
pub fn refuse_smoothing(checkpoint: &Checkpoint) -> Result<(), TrainError> {
    let m = &checkpoint.config.model;
    if !m.filtering() {
        return Err(TrainError::checkpoint(
            &checkpoint.dir,
            format!(
                "this {} reads a smoothing posterior (it sees future observations), so it has \
                 no causal state prediction errors; train it with a filtering posterior (for \
                 the DKF, \"guide\": \"filtering\", the default)",
                m.kind()
            ),
        ));
    }
    Ok(())
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
    format: Format,
) -> Result<String, TrainError> {
    let name = format!("{stem}.{}", format.extension());
    let path = out.join(&name);
    write_atomic(&path, &figure.render(format)?).map_err(|e| TrainError::output(&path, e))?;
    Ok(name)
}

/// Writes the report of `checkpoint` (its best weights on `device`) into `o.out`; returns the
/// index file and the number of figures.
pub fn write_report(
    checkpoint: &Checkpoint,
    o: &ReportOptions,
    device: &Device,
) -> Result<(PathBuf, usize), TrainError> {
    let rows = checkpoint.metrics()?;
    let best = checkpoint.best()?;
    let model = checkpoint.load_model(device)?;
    let sf = checkpoint.load_sf(device)?;
    std::fs::create_dir_all(&o.out).map_err(|e| TrainError::output(&o.out, e))?;
    let mut figures: Vec<(String, &str)> = Vec::new();
    let name = save_figure(&o.out, "curves", &curves(&rows), o.format)?;
    figures.push((name, "Learning curves"));

    let dim = checkpoint.config.model.x_dim();
    let mut notes = Vec::new();
    let mut test_line = String::new();
    match checkpoint.config.data.load() {
        Ok(splits) => {
            let unknown = || TrainError::output(&o.out, format!("unknown split `{}`", o.split));
            let set = splits.get(&o.split).ok_or_else(unknown)?;
            if o.sequence >= set.len() {
                return Err(TrainError::output(
                    &o.out,
                    format!(
                        "--sequence {}: split `{}` has {} sequences",
                        o.sequence,
                        o.split,
                        set.len()
                    ),
                ));
            }
            device.seed(o.seed);
            let bound = evaluate(&model, set, 64, device)?;
            test_line = format!(
                "<tr><th>{} bound (nats per step)</th><td>{:.4} (KL {:.4}, reconstruction {:.4}; {} steps)</td></tr>",
                o.split, bound.nll_per_step, bound.kl_per_step, bound.rec_per_step, bound.steps
            );
            let k = o.sequence;
            let steps = set.steps(k);
            let real = &set.sequences[k];
            device.seed(o.seed);
            let sample = model
                .generate(1, steps, None, device)
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| TrainError::Readback {
                    what: "the sample",
                    reason: format!("{e:?}"),
                })?;
            let figure = Figure {
                panels: vec![
                    roll(format!("Real: {} sequence {k}", o.split), real, steps, dim),
                    roll(
                        format!("Sample from the prior (seed {}, {steps} steps)", o.seed),
                        &sample,
                        steps,
                        dim,
                    ),
                ],
                columns: 2,
                panel_size: (700, 420),
            };
            let name = save_figure(&o.out, "sample", &figure, o.format)?;
            figures.push((name, "A sample from the model beside a real sequence"));

            let one = SequenceSet {
                dim,
                sequences: vec![real.clone()],
            };
            if let Err(e) = refuse_smoothing(checkpoint) {
                notes.push(format!("No SPE figure: {e}."));
            } else {
                let arrays = collect_signals(&one, &model, sf.as_ref(), 1, device)?;
                let gammas = sf.as_ref().map(|s| s.gammas.clone()).unwrap_or_default();
                let name = format!("{} sequence {k}", o.split);
                let figure = traces(&arrays, &gammas, 0, steps, &name);
                let name = save_figure(&o.out, "spe", &figure, o.format)?;
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
    let title = format!("neuromod report: {}", checkpoint.dir.display());
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
    let config = serde_json::to_string_pretty(&checkpoint.config).expect("a config serialises");
    let _ = writeln!(
        html,
        "<h2>Config</h2>\n<pre>{}</pre>\n</body></html>",
        html_escape(&config)
    );
    let index = o.out.join("index.html");
    write_atomic(&index, html.as_bytes()).map_err(|e| TrainError::output(&index, e))?;
    Ok((index, figures.len()))
}
