//! Science report: ratios with intervals over seeds as Markdown, JSON and figures.

use std::fmt::Write as _;
use std::path::Path;

use neuromod_plots::{Figure, Mark, Panel, Rgb, Series};
use serde::Serialize;

use crate::science::{ScienceConfig, ScienceResult, Surprise, Task};
use crate::stats::Interval;
use crate::{write_file, BenchError};

/// One cell of the ratio table.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The task.
    pub task: Task,
    /// Which surprise the ratio is taken on.
    pub surprise: Surprise,
    /// The signal.
    pub signal: String,
    /// Ratio per seed (None: the signal was zero on every step of that seed).
    pub per_seed: Vec<Option<f64>>,
    /// Mean and 95% interval over seeds (None when silent on every seed).
    pub ratio: Option<Interval>,
}

impl Cell {
    /// True when the signal was zero everywhere on every seed.
    pub fn silent(&self) -> bool {
        self.per_seed.iter().all(Option::is_none)
    }

    fn show(&self) -> String {
        match &self.ratio {
            _ if self.silent() => "silent (0)".into(),
            Some(i) => i.show(2),
            None => "n/a".into(),
        }
    }
}

/// A done-when criterion of the benchmark and whether it holds.
#[derive(Debug, Clone, Serialize)]
pub struct Criterion {
    /// What is asked.
    pub what: String,
    /// The measured mean ratio (None: silent).
    pub mean: Option<f64>,
    /// Whether the mean meets it (a silent signal counts as "no response").
    pub met: bool,
}

/// The gating comparison over seeds.
#[derive(Debug, Clone, Serialize)]
pub struct GatingSummary {
    /// Mean value error over all steps after the switch, per condition.
    pub ungated: Interval,
    /// With gating.
    pub gated: Interval,
    /// No online learning.
    pub frozen: Interval,
    /// Gated minus ungated, paired by seed.
    pub difference: Interval,
    /// The same over the first ten steps after the switch.
    pub early_difference: Interval,
    /// Mean gate on the first five steps after the switch and later.
    pub gate_early: Interval,
    /// Mean gate later.
    pub gate_late: Interval,
}

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Ratio cells.
    pub cells: Vec<Cell>,
    /// The done-when checks.
    pub criteria: Vec<Criterion>,
    /// The gating experiment, if the switch task ran.
    pub gating: Option<GatingSummary>,
}

/// Aggregates runs over seeds.
pub fn summarise(result: &ScienceResult) -> Summary {
    let mut cells = Vec::new();
    for &task in &result.config.tasks {
        let runs: Vec<_> = result.runs.iter().filter(|r| r.task == task).collect();
        for kind in [Surprise::Reward, Surprise::State] {
            if !runs.iter().any(|r| r.ratios.contains_key(&kind)) {
                continue;
            }
            for signal in ScienceConfig::signal_names() {
                let per_seed: Vec<Option<f64>> = runs
                    .iter()
                    .map(|r| {
                        r.ratios
                            .get(&kind)
                            .and_then(|m| m.get(&signal).copied().flatten())
                    })
                    .collect();
                let finite: Vec<f64> = per_seed.iter().flatten().copied().collect();
                cells.push(Cell {
                    task,
                    surprise: kind,
                    signal,
                    ratio: Interval::of(&finite),
                    per_seed,
                });
            }
        }
    }
    let find = |task, kind, signal: &str| {
        cells
            .iter()
            .find(|c| c.task == task && c.surprise == kind && c.signal == signal)
    };
    let mut criteria = Vec::new();
    let mut check = |task, kind, signal: &str, at_least: Option<f64>, at_most: Option<f64>| {
        if let Some(c) = find(task, kind, signal) {
            let mean = c.ratio.map(|i| i.mean);
            let met = match (mean, at_least, at_most) {
                (None, Some(_), _) => false,
                (None, _, _) => true,
                (Some(m), lo, hi) => lo.is_none_or(|l| m >= l) && hi.is_none_or(|h| m <= h),
            };
            let bound = at_least.map_or_else(
                || format!("<= {}", at_most.unwrap_or(f64::NAN)),
                |l| format!(">= {l}"),
            );
            criteria.push(Criterion {
                what: format!("{signal} on the {} task {bound}", task.name()),
                mean,
                met,
            });
        }
    };
    check(Task::State, Surprise::State, "SPE norm", Some(5.0), None);
    check(Task::Reward, Surprise::Reward, "SPE norm", None, Some(1.5));
    check(Task::Reward, Surprise::Reward, "RPE mean", Some(5.0), None);
    check(Task::State, Surprise::State, "RPE mean", None, Some(1.5));
    Summary {
        cells,
        criteria,
        gating: gating_summary(result),
    }
}

fn gating_summary(result: &ScienceResult) -> Option<GatingSummary> {
    let runs: Vec<_> = result
        .runs
        .iter()
        .filter_map(|r| r.gating.as_ref())
        .collect();
    if runs.is_empty() {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let over = |f: &dyn Fn(&crate::gating::GatingRun) -> f64| {
        Interval::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
    };
    Some(GatingSummary {
        ungated: over(&|r| mean(&r.ungated))?,
        gated: over(&|r| mean(&r.gated))?,
        frozen: over(&|r| mean(&r.frozen))?,
        difference: over(&|r| mean(&r.gated) - mean(&r.ungated))?,
        early_difference: over(&|r| {
            let k = r.gated.len().min(10);
            mean(&r.gated[..k]) - mean(&r.ungated[..k])
        })?,
        gate_early: over(&|r| r.gate_early_late.0)?,
        gate_late: over(&|r| r.gate_early_late.1)?,
    })
}

/// Three significant digits, any magnitude.
fn sig(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if (1e-2..1e4).contains(&v.abs()) {
        format!(
            "{:.*}",
            (2 - v.abs().log10().floor() as i32).max(0) as usize,
            v
        )
    } else {
        format!("{v:.2e}")
    }
}

fn column_name(task: Task, kind: Surprise) -> String {
    let k = match kind {
        Surprise::Reward => "reward surprise",
        Surprise::State => "state surprise",
    };
    format!("{} task: {k}", task.name())
}

/// The (task, surprise) columns present, in report order.
fn columns(summary: &Summary) -> Vec<(Task, Surprise)> {
    let mut columns: Vec<(Task, Surprise)> = Vec::new();
    for cell in &summary.cells {
        if !columns.contains(&(cell.task, cell.surprise)) {
            columns.push((cell.task, cell.surprise));
        }
    }
    columns
}

/// A Markdown table: one row per signal, one column per (task, surprise), cells from `text`.
fn signal_table(
    columns: &[(Task, Surprise)],
    text: impl Fn(&str, Task, Surprise) -> String,
) -> String {
    let mut md = String::from("| signal |");
    for (t, k) in columns {
        let _ = write!(md, " {} |", column_name(*t, *k));
    }
    md += "\n| --- |";
    md += &" --- |".repeat(columns.len());
    md.push('\n');
    for signal in ScienceConfig::signal_names() {
        let _ = write!(md, "| {signal} |");
        for (t, k) in columns {
            let _ = write!(md, " {} |", text(&signal, *t, *k));
        }
        md.push('\n');
    }
    md
}

/// The Markdown report.
pub fn markdown(result: &ScienceResult, summary: &Summary) -> String {
    let c = &result.config;
    let mut md = String::new();
    let _ = writeln!(md, "# SPE vs RPE: response ratios\n");
    let _ = writeln!(
        md,
        "Mean |signal| on surprise steps over mean |signal| on ordinary steps (held-out \
         sequences, step 0 excluded), mean and 95% t interval over {} seeds; device {}, {:.0} s. \
         World model H = {}, Z = {}, hidden {}, {} epochs, SF heads detached; critic: {} quantile \
         heads on [h_t, muq_t], gamma {}, zero-initialised output. `silent (0)`: the signal is \
         exactly zero on every step.\n",
        c.seeds,
        result.device,
        result.seconds,
        c.h_dim,
        c.z_dim,
        c.hidden,
        c.epochs,
        c.heads,
        c.gamma
    );
    let columns = columns(summary);
    md += &signal_table(&columns, |signal, t, k| {
        summary
            .cells
            .iter()
            .find(|c| c.task == t && c.surprise == k && c.signal == signal)
            .map_or("".into(), Cell::show)
    });
    let _ = writeln!(
        md,
        "\nMean |signal| on surprise steps / on ordinary steps (units of each signal: SPE norm \
         in prior standard deviations, KL in nats, SF TD as RMS per feature, RPE in reward \
         units), mean over seeds:\n"
    );
    md += &signal_table(&columns, |signal, t, k| {
        let pairs: Vec<(f64, f64)> = result
            .runs
            .iter()
            .filter(|r| r.task == t)
            .filter_map(|r| r.levels.get(&k).and_then(|m| m.get(signal)).copied())
            .collect();
        let n = pairs.len().max(1) as f64;
        let (s, o) = pairs
            .iter()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
        format!("{} / {}", sig(s), sig(o))
    });
    let _ = writeln!(md, "\n## Targets\n");
    for cr in &summary.criteria {
        let mean = cr.mean.map_or("silent".into(), |m| format!("{m:.2}"));
        let _ = writeln!(
            md,
            "- {}: {} ({})",
            cr.what,
            mean,
            if cr.met { "met" } else { "NOT met" }
        );
    }
    let bounds: Vec<String> = Task::ALL
        .iter()
        .filter_map(|t| {
            let b: Vec<f64> = result
                .runs
                .iter()
                .filter(|r| r.task == *t)
                .map(|r| r.valid_bound)
                .collect();
            Interval::of(&b).map(|i| format!("{} {}", t.name(), i.show(3)))
        })
        .collect();
    let _ = writeln!(
        md,
        "\nWorld-model validation bound (nats per step): {}.",
        bounds.join(", ")
    );
    if let Some(g) = &summary.gating {
        let _ = writeln!(md, "\n## SPE-gated reward learning (switch task)\n");
        let _ = writeln!(
            md,
            "Value error |mean_i V_i(s_t) - G_t| averaged over the steps after the switch, \
             critic pretrained on the old rule, then one SGD step (lr {}) per time step; gated: \
             learning rate scaled by g = c / (1 + KL_t / kappa), mean 1 after the switch.\n",
            c.gating.lr
        );
        let _ = writeln!(md, "| condition | value error after the switch |");
        let _ = writeln!(md, "| --- | --- |");
        let _ = writeln!(md, "| ungated | {} |", g.ungated.show(3));
        let _ = writeln!(md, "| gated | {} |", g.gated.show(3));
        let _ = writeln!(md, "| no online learning | {} |", g.frozen.show(3));
        let _ = writeln!(
            md,
            "| gated - ungated (paired) | {} |",
            g.difference.show(3)
        );
        let _ = writeln!(
            md,
            "| gated - ungated, first 10 steps | {} |",
            g.early_difference.show(3)
        );
        let _ = writeln!(
            md,
            "\nMean gate on the first 5 steps after the switch: {}; later: {}.",
            g.gate_early.show(2),
            g.gate_late.show(2)
        );
    }
    md
}

const COLORS: [Rgb; 9] = [
    Rgb(31, 119, 180),
    Rgb(23, 190, 207),
    Rgb(44, 160, 44),
    Rgb(140, 86, 75),
    Rgb(188, 189, 34),
    Rgb(148, 103, 189),
    Rgb(227, 119, 194),
    Rgb(214, 39, 40),
    Rgb(255, 127, 14),
];

/// Grouped bars of log10 ratios (one group per task and surprise, one bar per signal) with
/// their intervals.
pub fn bars(summary: &Summary) -> Panel {
    let columns = columns(summary);
    let names = ScienceConfig::signal_names();
    let w = 0.8 / names.len() as f64;
    let title: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (t, k))| {
            format!(
                "{} {}/{}",
                i + 1,
                t.name(),
                if *k == Surprise::Reward { "R" } else { "S" }
            )
        })
        .collect();
    let mut panel = Panel::new(
        format!("response ratio by task/surprise: {}", title.join(", ")),
        "group",
        "log10 ratio (bars: mean; lines: 95% CI, clipped at 0.1)",
    );
    panel.bar_width = w;
    panel.zero_line = true;
    for (s, name) in names.iter().enumerate() {
        let color = COLORS[s % COLORS.len()];
        let mut pts = Vec::new();
        for (g, (t, k)) in columns.iter().enumerate() {
            let x = (g + 1) as f64 - 0.4 + w * (s as f64 + 0.5);
            let Some(cell) = summary
                .cells
                .iter()
                .find(|c| c.task == *t && c.surprise == *k && &c.signal == name)
            else {
                continue;
            };
            if let Some(i) = cell.ratio {
                pts.push((x, i.mean.max(0.1).log10()));
                if let (Some(lo), Some(hi)) = (i.lo, i.hi) {
                    panel.series.push(Series::unlabelled(
                        Rgb::BLACK,
                        Mark::Line,
                        vec![(x, lo.max(0.1).log10()), (x, hi.max(0.1).log10())],
                    ));
                }
            }
        }
        panel
            .series
            .push(Series::new(name.clone(), color, Mark::Bars, pts));
    }
    // Target lines: ratios 5 and 1.5.
    let x_end = columns.len() as f64 + 0.5;
    for (v, label) in [(5.0f64, "ratio 5"), (1.5, "ratio 1.5")] {
        panel.series.push(Series::new(
            label,
            Rgb::GREY,
            Mark::Line,
            vec![(0.5, v.log10()), (x_end, v.log10())],
        ));
    }
    panel
}

/// Switch-task figure: mean SPE norm and |RPE| per step around the switch, and the gating
/// value errors; None without switch runs.
pub fn switch_figure(result: &ScienceResult) -> Option<Figure> {
    let runs: Vec<_> = result
        .runs
        .iter()
        .filter(|r| r.task == Task::Switch)
        .collect();
    if runs.is_empty() {
        return None;
    }
    let mean_course = |name: &str| -> Vec<(f64, f64)> {
        let len = runs[0].time_course.get(name).map_or(0, Vec::len);
        (1..len)
            .map(|t| {
                let v: f64 =
                    runs.iter().map(|r| r.time_course[name][t]).sum::<f64>() / runs.len() as f64;
                (t as f64, v)
            })
            .collect()
    };
    let norm = |pts: Vec<(f64, f64)>| {
        let top = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-12);
        pts.into_iter()
            .map(|(x, y)| (x, y / top))
            .collect::<Vec<_>>()
    };
    let course = Panel::new(
        "switch task: mean |signal| per step (scaled to max 1)",
        "step (rule changes at 30)",
        "|signal| / max",
    )
    .with(Series::new(
        "SPE norm",
        Rgb::BLUE,
        Mark::Line,
        norm(mean_course("SPE norm")),
    ))
    .with(Series::new(
        "KL surprise",
        Rgb::GREEN,
        Mark::Line,
        norm(mean_course("KL surprise")),
    ))
    .with(Series::new(
        "RPE mean",
        Rgb::RED,
        Mark::Line,
        norm(mean_course("RPE mean")),
    ));
    let gating: Vec<_> = runs.iter().filter_map(|r| r.gating.as_ref()).collect();
    let mut panels = vec![course];
    if !gating.is_empty() {
        let avg = |f: &dyn Fn(&crate::gating::GatingRun) -> &Vec<f64>| -> Vec<(f64, f64)> {
            let len = f(gating[0]).len();
            (0..len)
                .map(|k| {
                    let v = gating.iter().map(|g| f(g)[k]).sum::<f64>() / gating.len() as f64;
                    ((30 + k) as f64, v)
                })
                .collect()
        };
        panels.push(
            Panel::new(
                "value error after the switch (mean over seeds)",
                "step",
                "|V - G|",
            )
            .with(Series::new(
                "ungated",
                Rgb::BLACK,
                Mark::Line,
                avg(&|g| &g.ungated),
            ))
            .with(Series::new(
                "SPE-gated",
                Rgb::ORANGE,
                Mark::Line,
                avg(&|g| &g.gated),
            ))
            .with(Series::new(
                "no online learning",
                Rgb::GREY,
                Mark::Line,
                avg(&|g| &g.frozen),
            )),
        );
    }
    Some(Figure {
        columns: panels.len(),
        panels,
        panel_size: (700, 480),
    })
}

/// Reads the result back from a `science.json` written by [`write()`].
pub fn read(path: &Path) -> Result<ScienceResult, BenchError> {
    let bad = |reason: String| BenchError::Config {
        field: "science.json",
        reason: format!("{}: {reason}", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let result = value
        .get("result")
        .ok_or_else(|| bad("no `result` object".into()))?;
    serde_json::from_value(result.clone()).map_err(|e| bad(e.to_string()))
}

/// Writes `science.md`, `science.json`, `science.png` and (with the switch task)
/// `switch.png` into `out`.
pub fn write(result: &ScienceResult, out: &Path) -> Result<Summary, BenchError> {
    let summary = summarise(result);
    write_file(
        &out.join("science.md"),
        markdown(result, &summary).as_bytes(),
    )?;
    let json = serde_json::json!({ "result": result, "summary": summary });
    write_file(
        &out.join("science.json"),
        serde_json::to_string_pretty(&json)
            .expect("plain data serialises")
            .as_bytes(),
    )?;
    let fig = Figure {
        panels: vec![bars(&summary)],
        columns: 1,
        panel_size: (1400, 600),
    };
    write_file(&out.join("science.png"), &fig.to_png()?)?;
    if let Some(fig) = switch_figure(result) {
        write_file(&out.join("switch.png"), &fig.to_png()?)?;
    }
    Ok(summary)
}
