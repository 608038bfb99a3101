//! What a science run comes to: the ratio table's cells with their intervals over seeds, the
//! targets judged on them, and the gating experiment's paired differences.

use serde::Serialize;

use crate::science::{ScienceConfig, ScienceResult, Surprise, Task};
use crate::stats::Interval;

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
    /// True when, on every seed, the signal was zero on both the surprise and the ordinary steps.
    pub fn silent(&self) -> bool {
        self.per_seed.iter().all(Option::is_none)
    }

    /// `mean [lo, hi] (n)`, n the seeds with a ratio.
    pub fn show(&self) -> String {
        match &self.ratio {
            _ if self.silent() => "silent (0)".into(),
            Some(i) => {
                let core = Interval { left_out: 0, ..*i }.show(2);
                match i.left_out {
                    0 => format!("{core} ({})", i.n),
                    k => format!(
                        "{core} ({} of {} seeds; {k} infinite or undefined)",
                        i.n,
                        i.n + k
                    ),
                }
            }
            None => {
                // Every seed's ratio infinite: the signal is silent on ordinary steps only.
                let inf = self.per_seed.iter().flatten().filter(|v| v.is_infinite());
                match inf.count() {
                    0 => "n/a".into(),
                    k => format!("infinite in {k} of {} seeds", self.per_seed.len()),
                }
            }
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
                // A signal that results written before it existed do not have: no cell.
                if !runs
                    .iter()
                    .any(|r| r.ratios.get(&kind).is_some_and(|m| m.contains_key(&signal)))
                {
                    continue;
                }
                let per_seed: Vec<Option<f64>> = runs
                    .iter()
                    .map(|r| {
                        let ratio = r
                            .ratios
                            .get(&kind)
                            .and_then(|m| m.get(&signal).copied().flatten());
                        // JSON cannot hold an infinite ratio (it reads back as null): the
                        // levels say which it was (some signal on surprise steps, none on
                        // ordinary ones).
                        ratio.or_else(|| {
                            let (s, o) = r.levels.get(&kind)?.get(&signal).copied()?;
                            (s > 0.0 && o == 0.0).then_some(f64::INFINITY)
                        })
                    })
                    .collect();
                // A seed without a ratio (silent on both kinds of step) or with an infinite one
                // (silent on ordinary steps) is left out of the interval and counted there.
                let all: Vec<f64> = per_seed.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
                cells.push(Cell {
                    task,
                    surprise: kind,
                    signal,
                    ratio: Interval::of_log(&all),
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
            left_out: 0,
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
            left_out: 0,
        };
        assert!(judge(Some(one), None, Some(1.5)) && !judge(Some(one), Some(5.0), None));
    }
}
