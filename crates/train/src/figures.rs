//! The figures of a run: learning curves, sequences as piano-roll rasters, and the signals of
//! one sequence (its input above its one-step SPE and SF TD errors).

use std::collections::BTreeMap;

use neuromod_plots::{Figure, Mark, Panel, Raster, Rgb, Series};

use crate::metrics::MetricsRow;
use crate::signals::SignalArray;

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
pub fn roll(title: String, values: &[f32], steps: usize, dim: usize) -> Panel {
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

/// The input of sequence `k` (titled `name`) as a raster above its one-step SPE and SF traces.
pub fn traces(
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
