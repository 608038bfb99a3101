//! Science report: ratios with intervals over seeds as Markdown, JSON and figures.

use std::fmt::Write as _;
use std::path::Path;

use neuromod_plots::{Figure, Format};

use super::figures::{bars, switch_figure};
use super::summary::{columns, summarise, Cell, Summary};
use crate::science::{ScienceConfig, ScienceResult, Surprise, Task};
use crate::stats::Interval;
use crate::{write_file, ExperimentError};

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
         zero-initialised output. `silent (0)`: the signal is exactly zero on both the \
         surprise and the ordinary steps; `infinite`: zero on the ordinary steps only.\n",
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
    // How many intervals the table holds, so a reader can weigh any one of them.
    let intervals = summary
        .cells
        .iter()
        .filter(|c| c.ratio.is_some_and(|i| i.lo.is_some()))
        .count();
    let _ = writeln!(
        md,
        "\nThe table holds {intervals} 95% intervals, none corrected for multiple comparisons: \
         about 1 in 20 would exclude its true value by chance. Only the {} targets below were \
         declared before the run.",
        summary.criteria.len()
    );
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
    md.push_str(&crate::science::raphe::markdown(&result.runs));
    md.push_str(&crate::science::signatures_report::markdown(&result.runs));
    let names = ScienceConfig::signal_names();
    md.push_str(&crate::science::outcome::markdown(&result.runs, &names));
    md
}

/// Writes `science.md`, `science.json`, `science.<format>`, (with the switch task)
/// `switch.<format>`, (with a task with deviants) `vector-spe.<format>` and `raphe.<format>`,
/// (with the cue task) `signatures.<format>` and (with the observed task) `outcome.<format>`
/// into `out`.
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
    if let Some(fig) = crate::science::raphe::figure(&result.runs) {
        write_file(&out.join(format!("raphe.{ext}")), &fig.render(format)?)?;
    }
    if let Some(fig) = crate::science::signatures_report::figure(&result.runs) {
        write_file(&out.join(format!("signatures.{ext}")), &fig.render(format)?)?;
    }
    if let Some(fig) = crate::science::outcome::figure(&result.runs) {
        write_file(&out.join(format!("outcome.{ext}")), &fig.render(format)?)?;
    }
    Ok(summary)
}
