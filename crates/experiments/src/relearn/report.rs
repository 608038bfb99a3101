//! The report of `bench relearn`: SPE and value errors aligned to each seed's switch, means
//! and 95 % intervals over seeds (Markdown, JSON, figure).

use std::fmt::Write as _;
use std::path::Path;

use neuromod_plots::{Corner, Figure, Format, Mark, Panel, Rgb, Series};
use serde::{Deserialize, Serialize};

use crate::relearn::{RelearnConfig, RelearnRun, CONDITIONS, FROZEN};
use crate::stats::Interval;
use crate::{write_file, ExperimentError};

/// Every seed of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelearnResult {
    /// Settings.
    pub config: RelearnConfig,
    /// Device name.
    pub device: String,
    /// One entry per seed.
    pub runs: Vec<RelearnRun>,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// The analysis windows, in steps from the switch, each `[from, to)`: part of the config, so
/// they are declared before a run and saved with its result, never chosen after seeing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Windows {
    /// Rows of the SPE table.
    pub spe: Vec<(isize, isize)>,
    /// The early window of the value-error table (the other is the whole stream after it).
    pub value_early: (isize, isize),
    /// The gate means: before, just after and later.
    pub gate: [(isize, isize); 3],
    /// When a critic has relearnt (absent in configs that predate it: the default).
    #[serde(default)]
    pub criterion: Criterion,
}

impl Default for Windows {
    fn default() -> Self {
        Self {
            spe: vec![(-10, 0), (0, 5), (10, 20), (50, 100)],
            value_early: (0, 50),
            gate: [(-10, 0), (0, 5), (10, 20)],
            criterion: Criterion::default(),
        }
    }
}

/// Steps to criterion: the first step s >= 0 after the switch from which a critic's mean
/// value error over `run` steps is at most `factor` times the ungated critic's mean error over
/// `baseline` (steps from the switch, before it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// The reference window, `[from, to)` steps from the switch.
    pub baseline: (isize, isize),
    /// Allowed multiple of the reference error.
    pub factor: f64,
    /// Steps averaged.
    pub run: usize,
}

impl Default for Criterion {
    fn default() -> Self {
        Self {
            baseline: (-60, -10),
            factor: 1.5,
            run: 10,
        }
    }
}

impl Criterion {
    /// Steps from the switch to criterion of `errors` (indexed by arrival step) against the
    /// reference level `level`; None when the stream ends first.
    pub fn steps(&self, errors: &[f64], switch: usize, level: f64) -> Option<usize> {
        (switch..errors.len().saturating_sub(self.run - 1))
            .find(|&t| {
                errors[t..t + self.run].iter().sum::<f64>() / self.run as f64 <= self.factor * level
            })
            .map(|t| t - switch)
    }
}

/// "from .. last" of a window.
fn label((from, to): (isize, isize)) -> String {
    format!("{from} .. {}", to - 1)
}

/// Steps shown before and after the switch.
const BEFORE: usize = 20;
const AFTER: usize = 100;

/// Mean of `v` over steps `switch + from .. switch + to` (clipped to the stream).
fn around(v: &[f64], switch: usize, from: isize, to: isize) -> f64 {
    let at = |k: isize| (switch as isize + k).clamp(0, v.len() as isize) as usize;
    let s = &v[at(from)..at(to)];
    s.iter().sum::<f64>() / s.len().max(1) as f64
}

/// `f` of every seed, as a mean and 95 % interval.
fn over(runs: &[RelearnRun], f: impl Fn(&RelearnRun) -> f64) -> String {
    let v: Vec<f64> = runs.iter().map(f).collect();
    Interval::of(&v).map_or("n/a".into(), |i| i.show(3))
}

/// The errors of condition `k` indexed by arrival step (`errors[k][t - 1]` is the transition
/// t - 1 -> t): prepend the unused step 0.
fn by_step(r: &RelearnRun, k: usize) -> Vec<f64> {
    std::iter::once(f64::NAN)
        .chain(r.errors[k].iter().copied())
        .collect()
}

/// The Markdown report.
pub fn markdown(res: &RelearnResult) -> String {
    let (c, runs) = (&res.config, &res.runs);
    let mut md =
        String::from("# A real contingency switch: relearning and gated reward learning\n\n");
    let _ = writeln!(
        md,
        "{} seeds, world model {} (H {}, Z {}, hidden {}) trained {} epochs on the old rule only \
         ({} sequences of {} steps); a held-out stream of {} steps switches at a step drawn from \
         {}..{}; online, after every {} steps the world model takes {} Adam steps (lr {}) on the \
         last {} steps. Critic: {} quantile heads, gamma {}, pretrained on the old rule, then one \
         SGD step (lr {}) per transition. Pixels flipped with probability {}; recent-window \
         gates normalised on the last {} steps; the oracle pauses for {} steps from the switch. \
         Device {}, {:.0} s. Mean and 95 % t interval over seeds.\n",
        runs.len(),
        c.model,
        c.h_dim,
        c.z_dim,
        c.hidden,
        c.epochs,
        c.train_sequences,
        c.train_steps,
        c.stream_steps,
        c.switch_range.0,
        c.switch_range.1,
        c.window,
        c.online_updates,
        c.online_lr,
        c.context,
        c.heads,
        c.gamma,
        c.critic_lr,
        c.flip,
        c.gate_window,
        c.oracle_pause,
        res.device,
        res.seconds
    );
    let _ = writeln!(
        md,
        "## The SPE at the switch\n\n| steps from the switch | SPE norm, world model learning online | SPE norm, world model frozen | posterior sigma_q (mean over units), learning |\n| --- | --- | --- | --- |"
    );
    for &(from, to) in &c.windows.spe {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            label((from, to)),
            over(runs, |r| around(&r.spe, r.switch, from, to)),
            over(runs, |r| around(&r.spe_frozen, r.switch, from, to)),
            over(runs, |r| around(&r.sigma, r.switch, from, to))
        );
    }
    let _ = writeln!(
        md,
        "\n## Gated reward learning\n\nValue error |mean_i V_i(s_t) - G_t| of the critic along the \
         stream, mean over the transitions arriving at the steps given; steps to criterion: the \
         first step from which the mean error over {} steps is at most {} times the ungated \
         critic's over steps {} from the switch (not reached: counted to the stream's end, a \
         lower bound). Differences are paired by seed (negative: better than ungated).\n\n\
         | condition | {} after the switch | whole stream after the switch | steps to \
         criterion |\n| --- | --- | --- | --- |",
        c.windows.criterion.run,
        c.windows.criterion.factor,
        label(c.windows.criterion.baseline),
        label(c.windows.value_early)
    );
    let (e0, e1) = c.windows.value_early;
    let end = c.stream_steps as isize;
    // The conditions every seed ran (results of the first version hold four).
    let present = runs.iter().map(|r| r.errors.len()).min().unwrap_or(0);
    let crit = c.windows.criterion;
    let reached = |r: &RelearnRun, k: usize| {
        let (b0, b1) = crit.baseline;
        let level = around(&by_step(r, 0), r.switch, b0, b1);
        crit.steps(&by_step(r, k), r.switch, level)
    };
    // Not reached: censored at the stream's end (a lower bound).
    let to_criterion =
        |r: &RelearnRun, k: usize| reached(r, k).unwrap_or(c.stream_steps - r.switch) as f64;
    for (k, name) in CONDITIONS.iter().enumerate().take(present) {
        let count = runs.iter().filter(|r| reached(r, k).is_some()).count();
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} ({count} of {} reached) |",
            over(runs, |r| around(&by_step(r, k), r.switch, e0, e1)),
            over(runs, |r| around(&by_step(r, k), r.switch, 0, end)),
            over(runs, |r| to_criterion(r, k)),
            runs.len(),
        );
    }
    for (k, name) in CONDITIONS.iter().enumerate().take(present).skip(1) {
        let diff = |r: &RelearnRun, (from, to): (isize, isize)| {
            around(&by_step(r, k), r.switch, from, to) - around(&by_step(r, 0), r.switch, from, to)
        };
        let _ = writeln!(
            md,
            "| {name} - ungated (paired) | {} | {} | {} |",
            over(runs, |r| diff(r, (e0, e1))),
            over(runs, |r| diff(r, (0, end))),
            over(runs, |r| to_criterion(r, k) - to_criterion(r, 0)),
        );
    }
    let [g0, g1, g2] = c.windows.gate;
    let _ = writeln!(
        md,
        "\nMean gate over steps {} / {} / {} from the switch:\n",
        label(g0),
        label(g1),
        label(g2),
    );
    let gates: [(&str, GateOf); 6] = [
        ("KL, whole past", |r| Some(&r.gate_kl)),
        ("uncertainty, whole past", |r| Some(&r.gate_sigma)),
        ("KL damped, recent window", |r| r.window_gates.first()),
        ("uncertainty damped, recent window", |r| {
            r.window_gates.get(1)
        }),
        ("KL boosted, recent window", |r| r.window_gates.get(2)),
        ("uncertainty boosted, recent window", |r| {
            r.window_gates.get(3)
        }),
    ];
    for (name, get) in gates {
        if runs.iter().any(|r| get(r).is_none()) {
            continue;
        }
        let at = |(from, to): (isize, isize)| {
            over(runs, |r| {
                around(get(r).expect("checked"), r.switch, from, to)
            })
        };
        let _ = writeln!(md, "- {name}: {} / {} / {}", at(g0), at(g1), at(g2));
    }
    md
}

/// A condition drawn: its index, colour and mean error per step from the switch.
type Drawn = (usize, Rgb, Vec<(f64, f64)>);

/// A gate of a run, if it has it.
type GateOf = fn(&RelearnRun) -> Option<&Vec<f64>>;

/// Mean over seeds of `v` aligned to each seed's switch, -BEFORE..AFTER.
fn aligned(runs: &[RelearnRun], v: impl Fn(&RelearnRun) -> Vec<f64>) -> Vec<(f64, f64)> {
    (-(BEFORE as isize)..AFTER as isize)
        .filter_map(|k| {
            let xs: Vec<f64> = runs
                .iter()
                .filter_map(|r| {
                    let t = r.switch as isize + k;
                    let s = v(r);
                    (t >= 0 && (t as usize) < s.len()).then(|| s[t as usize])
                })
                .filter(|x| x.is_finite())
                .collect();
            (!xs.is_empty()).then(|| (k as f64, xs.iter().sum::<f64>() / xs.len() as f64))
        })
        .collect()
}

/// The figure: SPE around the switch (learning vs frozen world model) and the critic's value
/// error per condition.
pub fn figure(res: &RelearnResult) -> Figure {
    let runs = &res.runs;
    let spe = Panel::new(
        "one-step SPE around the switch (mean over seeds)",
        "steps from the switch",
        "SPE norm",
    )
    .with(Series::new(
        "world model learning online",
        Rgb::BLUE,
        Mark::Line,
        aligned(runs, |r| r.spe.clone()),
    ))
    .with(Series::new(
        "world model frozen",
        Rgb::GREY,
        Mark::Line,
        aligned(runs, |r| r.spe_frozen.clone()),
    ));
    // The conditions drawn (the others are in the table): index and colour.
    let drawn = [
        (0, Rgb::BLACK),
        (1, Rgb::ORANGE),
        (FROZEN, Rgb::GREY),
        (4, Rgb::BLUE),
        (6, Rgb::RED),
        (8, Rgb::GREEN),
    ];
    let present = runs.iter().map(|r| r.errors.len()).min().unwrap_or(0);
    let mut errors = Panel::new(
        "critic's value error around the switch (mean over seeds)",
        "steps from the switch",
        "|V - G|",
    );
    let lines: Vec<Drawn> = drawn
        .into_iter()
        .filter(|(k, _)| *k < present)
        .map(|(k, color)| (k, color, aligned(runs, |r| by_step(r, k))))
        .collect();
    // A diverging critic would flatten every other line: clip at twice the largest mean
    // error of the critics that learn at most at the base rate, and say so.
    let cap = 2.0
        * lines
            .iter()
            .filter(|(k, _, _)| [0, FROZEN, 8].contains(k))
            .flat_map(|(_, _, l)| l.iter().map(|p| p.1))
            .fold(0.0, f64::max);
    for (k, color, line) in lines {
        let clipped = cap > 0.0 && line.iter().any(|p| p.1 > cap);
        let name = match clipped {
            true => format!("{} (clipped at {cap:.2})", CONDITIONS[k]),
            false => CONDITIONS[k].to_string(),
        };
        let line = line.into_iter().map(|(x, y)| (x, y.min(cap))).collect();
        errors = errors.with(Series::new(name, color, Mark::Line, line));
    }
    let sigma = Panel::new(
        "posterior uncertainty around the switch (mean over seeds)",
        "steps from the switch",
        "mean sigma_q",
    )
    .with(Series::new(
        "world model learning online",
        Rgb::BLUE,
        Mark::Line,
        aligned(runs, |r| r.sigma.clone()),
    ));
    let mut panels = vec![spe, errors, sigma];
    for p in &mut panels {
        p.legend = Corner::UpperRight;
    }
    Figure {
        columns: 3,
        panels,
        panel_size: (700, 480),
    }
}

/// Writes `relearn.md`, `relearn.json` and `relearn.<format>` into `out`.
pub fn write(res: &RelearnResult, out: &Path, format: Format) -> Result<(), ExperimentError> {
    write_file(&out.join("relearn.md"), markdown(res).as_bytes())?;
    let json = serde_json::to_string_pretty(res).expect("plain data serialises");
    write_file(&out.join("relearn.json"), json.as_bytes())?;
    let ext = format.extension();
    write_file(
        &out.join(format!("relearn.{ext}")),
        &figure(res).render(format)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_around_the_switch_are_clipped_to_the_stream() {
        let v: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(around(&v, 4, -2, 0), 2.5);
        assert_eq!(around(&v, 8, 0, 5), 8.5);
        assert_eq!(around(&v, 1, -5, 1), 0.5);
    }

    #[test]
    fn the_default_windows_are_the_ones_the_docs_quote() {
        let w = Windows::default();
        let spe: Vec<String> = w.spe.iter().map(|&x| label(x)).collect();
        assert_eq!(spe, ["-10 .. -1", "0 .. 4", "10 .. 19", "50 .. 99"]);
        assert_eq!(label(w.value_early), "0 .. 49");
        assert_eq!(w.gate.map(label), ["-10 .. -1", "0 .. 4", "10 .. 19"]);
        assert_eq!(label(w.criterion.baseline), "-60 .. -11");
    }

    #[test]
    fn steps_to_criterion_find_the_first_good_run_of_steps() {
        let crit = Criterion {
            baseline: (-10, 0),
            factor: 2.0,
            run: 3,
        };
        // Level 0.1: a run of 3 steps averaging <= 0.2 first starts 4 steps after the switch.
        let mut e = vec![0.1; 30];
        e[10..14].copy_from_slice(&[1.0, 0.5, 0.4, 0.3]);
        e[14..17].copy_from_slice(&[0.3, 0.2, 0.1]);
        // Means from step 13: (0.3 + 0.3 + 0.2) / 3 = 0.27; from 14: 0.2.
        assert_eq!(crit.steps(&e, 10, 0.1), Some(4));
        // Never below: None; the run must fit in the stream.
        assert_eq!(crit.steps(&[1.0; 30], 10, 0.1), None);
        assert_eq!(crit.steps(&e, 28, 0.1), None);
    }
}
