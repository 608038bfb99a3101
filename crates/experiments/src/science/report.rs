//! Science report: ratios with intervals over seeds as Markdown, JSON and figures.

use std::fmt::Write as _;
use std::path::Path;

use neuromod_plots::{Figure, Format};

use crate::figures::{bars, switch_figure};
use serde::Serialize;

use crate::science::{ScienceConfig, ScienceResult, Surprise, Task};
use crate::stats::Interval;
use crate::{write_file, ExperimentError};

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
    /// Geometric mean and 95% interval over seeds on the log scale (None when silent on every
    /// seed).
    pub ratio: Option<Interval>,
}

impl Cell {
    /// True when the signal was zero everywhere on every seed.
    pub fn silent(&self) -> bool {
        self.per_seed.iter().all(Option::is_none)
    }

    /// `mean [lo, hi] (n)`, n the seeds with a ratio.
    fn show(&self) -> String {
        match &self.ratio {
            _ if self.silent() => "silent (0)".into(),
            Some(i) => format!("{} ({})", i.show(2), i.n),
            None => "n/a".into(),
        }
    }
}

/// A done-when criterion of the benchmark and whether it holds.
#[derive(Debug, Clone, Serialize)]
pub struct Criterion {
    /// What is asked.
    pub what: String,
    /// The measured ratio over seeds (None: silent).
    pub ratio: Option<Interval>,
    /// Whether the interval meets it: its lower end at least the floor, or its upper end at
    /// most the ceiling. A silent signal is never met: it is reported as silent.
    pub met: bool,
}

impl Criterion {
    /// "met", "NOT met", or "silent (not judged)".
    pub fn verdict(&self) -> &'static str {
        match (&self.ratio, self.met) {
            (None, _) => "silent (not judged)",
            (_, true) => "met",
            (_, false) => "NOT met",
        }
    }

    /// The ratio as `mean [lo, hi] (n)`, or "silent".
    pub fn shown(&self) -> String {
        self.ratio
            .map_or("silent".into(), |i| format!("{} ({})", i.show(2), i.n))
    }
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

/// Whether a ratio meets a floor and/or ceiling: judged on the interval's lower end for a
/// floor and its upper end for a ceiling (on the value itself with one seed, which has no
/// interval); a silent signal (no ratio) never meets anything.
pub fn judge(ratio: Option<Interval>, at_least: Option<f64>, at_most: Option<f64>) -> bool {
    ratio.is_some_and(|i| {
        at_least.is_none_or(|l| i.lo.unwrap_or(i.mean) >= l)
            && at_most.is_none_or(|h| i.hi.unwrap_or(i.mean) <= h)
    })
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
                    ratio: Interval::of_log(&finite),
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
            let met = judge(c.ratio, at_least, at_most);
            let bound = at_least.map_or_else(
                || {
                    format!(
                        "<= {} (upper end of the interval)",
                        at_most.unwrap_or(f64::NAN)
                    )
                },
                |l| format!(">= {l} (lower end of the interval)"),
            );
            criteria.push(Criterion {
                what: format!("{signal} on the {} task {bound}", task.name()),
                ratio: c.ratio,
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
    let over = |f: &dyn Fn(&crate::science::gating::GatingRun) -> f64| {
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
pub(crate) fn columns(summary: &Summary) -> Vec<(Task, Surprise)> {
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
         sequences, step 0 excluded): geometric mean and 95% t interval on the log scale over {} \
         seeds, and in parentheses the seeds with a ratio; device {}, {:.0} s. \
         World model {} (filtering posterior), H = {}, Z = {}, hidden {}, {} epochs, SF heads \
         detached; critic: {} quantile heads on the state s_t = [h_t, muq_t], gamma {}, \
         zero-initialised output. `silent (0)`: the signal is \
         exactly zero on every step.\n",
        c.seeds,
        result.device,
        result.seconds,
        c.model,
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
        let _ = writeln!(md, "- {}: {} ({})", cr.what, cr.shown(), cr.verdict());
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
    md.push_str(&crate::science::vector_spe::markdown(&result.runs));
    md
}

/// Writes `science.md`, `science.json`, `science.<format>`, (with the switch task)
/// `switch.<format>` and (with the state or combined task) `vector-spe.<format>` into `out`.
pub fn write(
    result: &ScienceResult,
    out: &Path,
    format: Format,
) -> Result<Summary, ExperimentError> {
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
    let ext = format.extension();
    write_file(&out.join(format!("science.{ext}")), &fig.render(format)?)?;
    if let Some(fig) = switch_figure(result) {
        write_file(&out.join(format!("switch.{ext}")), &fig.render(format)?)?;
    }
    if let Some(fig) = crate::science::vector_spe::figure(&result.runs) {
        write_file(&out.join(format!("vector-spe.{ext}")), &fig.render(format)?)?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_judged_on_the_interval_and_silence_never_meets_them() {
        let i = Interval {
            mean: 6.0,
            lo: Some(4.0),
            hi: Some(9.0),
            n: 5,
        };
        // The mean clears 5 but the interval does not.
        assert!(!judge(Some(i), Some(5.0), None));
        assert!(judge(Some(i), Some(3.9), None));
        assert!(judge(Some(i), None, Some(9.0)) && !judge(Some(i), None, Some(8.9)));
        // Silent: neither a floor nor a ceiling is met.
        assert!(!judge(None, Some(5.0), None) && !judge(None, None, Some(1.5)));
        // One seed: the value itself.
        let one = Interval {
            mean: 1.2,
            lo: None,
            hi: None,
            n: 1,
        };
        assert!(judge(Some(one), None, Some(1.5)) && !judge(Some(one), Some(5.0), None));
    }
}
