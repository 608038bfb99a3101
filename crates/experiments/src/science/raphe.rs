//! A simulated raphe recording: what N serotonin-like cells could tell about which deviant
//! occurred, if each cell read one random projection of the vector SPE.
//!
//! Cell i fires max(0, w_i . e_t) with w_i a standard Gaussian vector (one draw per seed), plus
//! Gaussian noise whose standard deviation is [`RAPHE_NOISE`] times the cell's own noise-free
//! standard deviation over the deviant steps (a signal-to-noise ratio of 1, whatever the scale
//! of e_t). Against it, a population of cells that each fire in proportion to the norm
//! ||e_t|| (an unsigned surprise cell) with the same relative noise: its gain drops out of a
//! standardised read-out, so all it can carry is the norm. Populations of
//! [`RAPHE_CELLS`] cells are nested (the first N of one draw of 64) and decoded like the
//! signals themselves ([`DeviantTable::accuracy`]): a linear read-out for the vector cells, the
//! nearest class mean for the norm cells.

use std::fmt::Write as _;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use neuromod_plots::{Corner, Figure, Mark, Panel, Rgb, Series};

use crate::science::readout::{pooled, Accuracy, Readout};
use crate::science::vector_spe::DeviantTable;
use crate::science::{RunResult, Task};
use crate::stats::Interval;

/// Population sizes recorded.
pub const RAPHE_CELLS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Each cell's noise standard deviation over its noise-free standard deviation.
pub const RAPHE_NOISE: f64 = 1.0;

/// What a population of `cells` cells decoded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RaphePoint {
    /// Cells recorded.
    pub cells: usize,
    /// Cells reading random projections of the vector SPE (rectified), linear read-out.
    pub vector: Accuracy,
    /// Cells reading its norm, nearest class mean.
    pub norm: Accuracy,
}

/// Adds to each column of `rates` [rows, cells] Gaussian noise of [`RAPHE_NOISE`] times the
/// column's standard deviation (a silent cell stays silent).
fn add_noise(rates: &mut [f64], rows: usize, cells: usize, rng: &mut ChaCha8Rng) {
    for c in 0..cells {
        let m = (0..rows).map(|r| rates[r * cells + c]).sum::<f64>() / rows as f64;
        let var = (0..rows)
            .map(|r| (rates[r * cells + c] - m).powi(2))
            .sum::<f64>()
            / rows as f64;
        let sd = RAPHE_NOISE * var.sqrt();
        for r in 0..rows {
            let n: f64 = StandardNormal.sample(rng);
            rates[r * cells + c] += sd * n;
        }
    }
}

/// Rates [rows, cells] of cells reading rectified random projections of `e` [rows, z], noisy.
pub fn vector_cells(e: &[f64], z: usize, cells: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let rows = e.len() / z;
    let w: Vec<f64> = (0..cells * z).map(|_| StandardNormal.sample(rng)).collect();
    let mut rates: Vec<f64> = (0..rows)
        .flat_map(|r| {
            let row = &e[r * z..(r + 1) * z];
            w.chunks(z)
                .map(|wi| wi.iter().zip(row).map(|(a, b)| a * b).sum::<f64>().max(0.0))
                .collect::<Vec<_>>()
        })
        .collect();
    add_noise(&mut rates, rows, cells, rng);
    rates
}

/// Rates `[rows, cells]` of cells firing in proportion to `norm` `[rows]`, noisy.
pub fn norm_cells(norm: &[f64], cells: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut rates: Vec<f64> = norm
        .iter()
        .flat_map(|&n| std::iter::repeat_n(n, cells))
        .collect();
    add_noise(&mut rates, norm.len(), cells, rng);
    rates
}

/// The first `n` of `cells` columns of `rates`.
fn first(rates: &[f64], cells: usize, n: usize) -> Vec<f64> {
    rates
        .chunks(cells)
        .flat_map(|row| row[..n].iter().copied())
        .collect()
}

/// Accuracy against population size, for the deviant steps of `table` with SPE vectors `e`
/// `[deviants, z]` and norms `[deviants]`. None when the deviants cannot be decoded at all (too few,
/// or one kind).
pub fn population_curve(
    table: &DeviantTable,
    (e, norm): (&[f64], &[f64]),
    z: usize,
    seed: u64,
) -> Option<Vec<RaphePoint>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5a_fe_ed);
    let most = RAPHE_CELLS[RAPHE_CELLS.len() - 1];
    let v = vector_cells(e, z, most, &mut rng);
    let n = norm_cells(norm, most, &mut rng);
    RAPHE_CELLS
        .iter()
        .map(|&cells| {
            Some(RaphePoint {
                cells,
                vector: table.accuracy(&first(&v, most, cells), cells, Readout::Linear)?,
                norm: table.accuracy(&first(&n, most, cells), cells, Readout::NearestMean)?,
            })
        })
        .collect()
}

/// The tasks with a recording, in report order.
fn recorded(runs: &[RunResult]) -> Vec<Task> {
    Task::ALL
        .into_iter()
        .filter(|t| runs.iter().any(|r| r.task == *t && r.raphe.is_some()))
        .collect()
}

/// The points of one task and population size over seeds.
fn points(runs: &[RunResult], task: Task, k: usize) -> Vec<RaphePoint> {
    runs.iter()
        .filter(|r| r.task == task)
        .filter_map(|r| r.raphe.as_ref().and_then(|p| p.get(k).copied()))
        .collect()
}

/// The report's section: per task and population size, the accuracies pooled over seeds.
pub fn markdown(runs: &[RunResult]) -> String {
    let tasks = recorded(runs);
    if tasks.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "\n## A simulated raphe recording\n\n\
         Cells reading max(0, w_i . e_t) (w_i standard Gaussian) or the norm ||e_t||, each with \
         Gaussian noise of {RAPHE_NOISE} times its own signal's standard deviation; the deviant \
         decoded from the first N cells (linear read-out for the vector cells, nearest class \
         mean for the norm cells), pooled over seeds with a Wilson 95% interval, then the seeds' \
         range.\n\n\
         | task | cells | vector cells | norm cells |\n| --- | --- | --- | --- |\n"
    );
    for task in tasks {
        for (k, cells) in RAPHE_CELLS.iter().enumerate() {
            let p = points(runs, task, k);
            let col = |f: fn(&RaphePoint) -> Accuracy| pooled(&p.iter().map(f).collect::<Vec<_>>());
            let _ = writeln!(
                md,
                "| {} | {cells} | {} | {} |",
                task.name(),
                col(|p| p.vector),
                col(|p| p.norm)
            );
        }
    }
    md
}

/// A line of the figure: its name, colour and value.
type Line = (&'static str, Rgb, fn(&RaphePoint) -> f64);

/// The figure: per task, accuracy against cells recorded (mean over seeds with 95% intervals),
/// with the decoding of the SPE vector itself and chance as references. None without a recording.
pub fn figure(runs: &[RunResult]) -> Option<Figure> {
    let tasks = recorded(runs);
    let panels: Vec<Panel> = tasks
        .iter()
        .map(|&task| {
            let mut panel = Panel::new(
                format!("{} task: a simulated raphe recording", task.name()),
                "cells recorded",
                "accuracy (held out)",
            )
            .with_categories(RAPHE_CELLS.iter().map(|c| c.to_string()));
            panel.legend = Corner::UpperLeft;
            panel.y_room = 0.3;
            let x = |k: usize| (k + 1) as f64;
            let lines: [Line; 3] = [
                ("cells reading w . e_t (rectified)", Rgb::BLUE, |p| {
                    p.vector.accuracy
                }),
                ("cells reading ||e_t||", Rgb::ORANGE, |p| p.norm.accuracy),
                ("chance (most frequent deviant)", Rgb::GREY, |p| {
                    p.vector.chance
                }),
            ];
            for (name, color, get) in lines {
                let mut means = Vec::new();
                for k in 0..RAPHE_CELLS.len() {
                    let v: Vec<f64> = points(runs, task, k).iter().map(get).collect();
                    if let Some(i) = Interval::of(&v) {
                        means.push((x(k), i.mean));
                        if let (Some(lo), Some(hi)) = (i.lo, i.hi) {
                            panel.series.push(Series::unlabelled(
                                color,
                                Mark::Line,
                                vec![(x(k), lo), (x(k), hi)],
                            ));
                        }
                    }
                }
                panel
                    .series
                    .push(Series::new(name, color, Mark::Line, means));
            }
            let direct: Vec<f64> = runs
                .iter()
                .filter(|r| r.task == task)
                .filter_map(|r| r.deviant_decoding.map(|d| d.vector.accuracy))
                .collect();
            if let Some(i) = Interval::of(&direct) {
                let span = vec![(x(0), i.mean), (x(RAPHE_CELLS.len() - 1), i.mean)];
                panel = panel.with(Series::new(
                    "the SPE vector itself (all Z units, noise-free)",
                    Rgb::GREEN,
                    Mark::Line,
                    span,
                ));
            }
            panel
        })
        .collect();
    (!panels.is_empty()).then(|| Figure {
        columns: panels.len().min(3),
        panels,
        panel_size: (640, 460),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deviant kinds named by the direction of e alone: kind k points along +-axis k/2 with the
    /// same norm, 300 deviants in 300 sequences.
    fn directions(rows: usize, z: usize, kinds: usize) -> (DeviantTable, Vec<f64>, Vec<f64>) {
        let mut e = vec![0.0; rows * z];
        for r in 0..rows {
            let k = r % kinds;
            e[r * z + k / 2] = if k.is_multiple_of(2) { 2.0 } else { -2.0 };
        }
        let table = DeviantTable {
            rows: (0..rows).collect(),
            labels: (0..rows).map(|r| r % kinds).collect(),
            groups: (0..rows).collect(),
        };
        (table, e, vec![2.0; rows])
    }

    #[test]
    fn each_cell_has_its_signal_and_as_much_noise() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let rows = 20_000;
        let norm: Vec<f64> = (0..rows).map(|r| (r % 7) as f64).collect();
        let rates = norm_cells(&norm, 3, &mut rng);
        let sd = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        let signal = sd(&norm);
        for c in 0..3 {
            let noise: Vec<f64> = (0..rows).map(|r| rates[r * 3 + c] - norm[r]).collect();
            let ratio = sd(&noise) / signal;
            assert!((ratio - RAPHE_NOISE).abs() < 0.03, "cell {c}: {ratio}");
        }
        // Rectified projections: never below the noise, silent cells stay silent.
        let e = vec![0.0; 10 * 4];
        assert!(vector_cells(&e, 4, 5, &mut rng).iter().all(|&r| r == 0.0));
    }

    #[test]
    fn vector_cells_decode_a_direction_and_improve_with_cells_while_norm_cells_cannot() {
        let (table, e, norm) = directions(300, 4, 6);
        let curve = population_curve(&table, (&e, &norm), 4, 1).unwrap();
        assert_eq!(curve.len(), RAPHE_CELLS.len());
        let (one, all) = (curve[0], curve[curve.len() - 1]);
        assert_eq!((all.cells, all.vector.classes), (64, 6));
        assert!(all.vector.accuracy > 0.9, "{all:?}");
        assert!(all.vector.accuracy > one.vector.accuracy + 0.3, "{curve:?}");
        // Every kind has the same norm: its cells decode at about chance (1/6).
        assert!(curve.iter().all(|p| p.norm.accuracy < 0.3), "{curve:?}");
    }
}
