//! `bench plasticity`'s table and figure: final losses and their gaps to BPTT with 95 %
//! intervals over seeds, whether the declared ordering held per task, the learning curves.

use std::fmt::Write as _;
use std::path::Path;

use neuromod_plasticity::Task;
use neuromod_plots::{Corner, Figure, Format, Mark, Panel, Rgb, Series};
use neuromod_stats::Interval;
use serde::{Deserialize, Serialize};

use super::{PlasticityResult, PlasticityRunResult};
use crate::{pretty, write_file, ExperimentError};

/// One rule on one task, over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleSummary {
    /// The task.
    pub task: Task,
    /// The rule.
    pub rule: String,
    /// Final loss (mean of the last tenth of the updates).
    pub final_loss: Option<Interval>,
    /// Final loss minus BPTT's on the same seed.
    pub gap_to_bptt: Option<Interval>,
    /// Milliseconds per update.
    pub ms_per_update: Option<Interval>,
}

/// Per task and rule, in the config's order.
pub fn summarise(
    tasks: &[Task],
    rules: &[String],
    runs: &[PlasticityRunResult],
) -> Vec<RuleSummary> {
    let of = |task: Task, rule: &str| -> Vec<&PlasticityRunResult> {
        runs.iter()
            .filter(|r| r.unit.task == task && r.unit.rule == rule)
            .collect()
    };
    let mut out = Vec::new();
    for &task in tasks {
        let bptt = of(task, "bptt");
        for rule in rules {
            let mine = of(task, rule);
            let gaps: Vec<f64> = mine
                .iter()
                .filter_map(|r| {
                    let b = bptt.iter().find(|b| b.unit.seed == r.unit.seed)?;
                    Some(r.final_loss() - b.final_loss())
                })
                .collect();
            let finals: Vec<f64> = mine.iter().map(|r| r.final_loss()).collect();
            let ms: Vec<f64> = mine
                .iter()
                .map(|r| 1e3 * r.seconds / r.curve.len().max(1) as f64)
                .collect();
            out.push(RuleSummary {
                task,
                rule: rule.clone(),
                final_loss: Interval::of(&finals),
                gap_to_bptt: Interval::of(&gaps),
                ms_per_update: Interval::of(&ms),
            });
        }
    }
    out
}

fn interval(i: &Option<Interval>) -> String {
    match i {
        None => "n/a".into(),
        Some(Interval {
            mean,
            lo: Some(lo),
            hi: Some(hi),
            ..
        }) => format!("{mean:.4} [{lo:.4}, {hi:.4}]"),
        Some(i) => format!("{:.4}", i.mean),
    }
}

/// Whether the declared ordering held on a task: BPTT <= ModProp, MDGL <= e-prop (by mean
/// final loss), or None when a rule is missing.
pub fn ordering_held(summary: &[RuleSummary], task: Task) -> Option<bool> {
    let mean = |rule: &str| {
        summary
            .iter()
            .find(|s| s.task == task && s.rule == rule)
            .and_then(|s| s.final_loss)
            .map(|i| i.mean)
    };
    let (b, e) = (mean("bptt")?, mean("eprop")?);
    let middle = [mean("mdgl")?, mean("modprop")?];
    Some(middle.iter().all(|&m| b <= m && m <= e))
}

const COLORS: [Rgb; 4] = [Rgb::BLACK, Rgb::GREY, Rgb::BLUE, Rgb::ORANGE];

/// Writes plasticity.json, plasticity.md and the learning curves; returns the table's lines.
pub fn write(
    result: &PlasticityResult,
    out: &Path,
    format: Format,
) -> Result<Vec<String>, ExperimentError> {
    write_file(
        &out.join("plasticity.json"),
        pretty("the plasticity result", result)?.as_bytes(),
    )?;
    let c = &result.config;
    let mut md = format!(
        "# Learning rules on the neuromodulation tasks\n\n{} seeds, {} updates of {} trials, \
         Adam lr {}, on {}. Final loss: mean loss per scored step over the last tenth of the \
         updates; gap: minus BPTT's on the same seed; [95 % t interval over seeds].\n\n\
         | task | rule | final loss | gap to BPTT | ms per update |\n| --- | --- | --- | --- | --- |\n",
        c.seeds, c.iterations, c.batch, c.lr, result.device
    );
    let mut lines = Vec::new();
    for s in &result.summary {
        let row = format!(
            "| {} | {} | {} | {} | {} |",
            s.task.name(),
            s.rule,
            interval(&s.final_loss),
            interval(&s.gap_to_bptt),
            interval(&s.ms_per_update)
        );
        let _ = writeln!(md, "{row}");
        lines.push(row);
    }
    md += "\nDeclared prediction (the papers'): BPTT <= ModProp, MDGL <= e-prop in final loss.\n\n";
    let mut panels = Vec::new();
    for &task in &c.tasks {
        let held = match ordering_held(&result.summary, task) {
            Some(true) => "held",
            Some(false) => "did not hold",
            None => "not tested (a rule is missing)",
        };
        let _ = writeln!(md, "- {}: {held}", task.name());
        let mut panel = Panel::new(task.name(), "update", "loss per scored step").with_integer_x();
        panel.legend = Corner::UpperRight;
        for (k, rule) in c.rules.iter().enumerate() {
            let curves: Vec<&Vec<f64>> = result
                .runs
                .iter()
                .filter(|r| r.unit.task == task && &r.unit.rule == rule)
                .map(|r| &r.curve)
                .collect();
            let len = curves.iter().map(|c| c.len()).min().unwrap_or(0);
            let points = (0..len)
                .map(|i| {
                    let mean = curves.iter().map(|c| c[i]).sum::<f64>() / curves.len() as f64;
                    (i as f64, mean)
                })
                .collect();
            panel = panel.with(Series::new(rule.clone(), COLORS[k % 4], Mark::Line, points));
        }
        panels.push(panel);
    }
    let figure = Figure {
        columns: panels.len().min(3),
        panels,
        panel_size: (640, 480),
    };
    let name = format!("plasticity-curves.{}", format.extension());
    write_file(&out.join(&name), &figure.render(format)?)?;
    let _ = writeln!(md, "\n![learning curves, mean over seeds]({name})");
    write_file(&out.join("plasticity.md"), md.as_bytes())?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plasticity::PlasticityUnit;

    fn run(task: Task, rule: &str, seed: u64, last: f64) -> PlasticityRunResult {
        PlasticityRunResult {
            unit: PlasticityUnit {
                task,
                rule: rule.into(),
                seed,
            },
            curve: vec![1.0; 9].into_iter().chain([last]).collect(),
            seconds: 1.0,
        }
    }

    #[test]
    fn gaps_pair_seeds_and_the_ordering_is_judged_on_means() {
        let rules: Vec<String> = ["bptt", "eprop", "mdgl", "modprop"]
            .map(String::from)
            .to_vec();
        let mut runs = Vec::new();
        for seed in 0..2 {
            let s = seed as f64 * 0.1;
            runs.push(run(Task::Pattern, "bptt", seed, 0.1 + s));
            runs.push(run(Task::Pattern, "eprop", seed, 0.5 + s));
            runs.push(run(Task::Pattern, "mdgl", seed, 0.3 + s));
            runs.push(run(Task::Pattern, "modprop", seed, 0.2 + s));
        }
        let summary = summarise(&[Task::Pattern], &rules, &runs);
        let gap = summary[1].gap_to_bptt.unwrap();
        assert!((gap.mean - 0.4).abs() < 1e-12 && gap.n == 2);
        assert_eq!(ordering_held(&summary, Task::Pattern), Some(true));
        // MDGL's seed 0 ends at 2.0: its mean (1.2) is now above e-prop's (0.55).
        runs[2].curve[9] = 2.0;
        let summary = summarise(&[Task::Pattern], &rules, &runs);
        assert_eq!(ordering_held(&summary, Task::Pattern), Some(false));
        assert_eq!(ordering_held(&summary, Task::Evidence), None);
    }
}
