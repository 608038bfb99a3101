//! The report of `bench relearn`: SPE and value errors aligned to each seed's switch, means
//! and 95 % intervals over seeds (Markdown, JSON, figure).

use std::fmt::Write as _;
use std::path::Path;

use neuromod_plots::{Corner, Figure, Format, Mark, Panel, Rgb, Series};
use serde::{Deserialize, Serialize};

use crate::relearn::{RelearnConfig, RelearnRun, CONDITIONS};
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
}

impl Default for Windows {
    fn default() -> Self {
        Self {
            spe: vec![(-10, 0), (0, 5), (10, 20), (50, 100)],
            value_early: (0, 50),
            gate: [(-10, 0), (0, 5), (10, 20)],
        }
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
         SGD step (lr {}) per transition. Device {}, {:.0} s. Mean and 95 % t interval over \
         seeds.\n",
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
        res.device,
        res.seconds
    );
    let _ = writeln!(
        md,
        "## The SPE at the switch\n\n| steps from the switch | SPE norm, world model learning online | SPE norm, world model frozen |\n| --- | --- | --- |"
    );
    for &(from, to) in &c.windows.spe {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            label((from, to)),
            over(runs, |r| around(&r.spe, r.switch, from, to)),
            over(runs, |r| around(&r.spe_frozen, r.switch, from, to))
        );
    }
    let _ = writeln!(
        md,
        "\n## Gated reward learning\n\nValue error |mean_i V_i(s_t) - G_t| of the critic along the \
         stream, mean over the transitions arriving at the steps given; differences are paired \
         by seed (negative: the gate helped).\n\n| condition | {} after the switch | whole \
         stream after the switch |\n| --- | --- | --- |",
        label(c.windows.value_early)
    );
    let (e0, e1) = c.windows.value_early;
    let end = c.stream_steps as isize;
    for (k, name) in CONDITIONS.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {name} | {} | {} |",
            over(runs, |r| around(&by_step(r, k), r.switch, e0, e1)),
            over(runs, |r| around(&by_step(r, k), r.switch, 0, end))
        );
    }
    for k in [1, 2] {
        let diff = |r: &RelearnRun, (from, to): (isize, isize)| {
            around(&by_step(r, k), r.switch, from, to) - around(&by_step(r, 0), r.switch, from, to)
        };
        let _ = writeln!(
            md,
            "| {} - ungated (paired) | {} | {} |",
            CONDITIONS[k],
            over(runs, |r| diff(r, (e0, e1))),
            over(runs, |r| diff(r, (0, end)))
        );
    }
    let gate_at = |r: &RelearnRun, k: usize, from: isize, to: isize| {
        around(
            if k == 0 { &r.gate_kl } else { &r.gate_sigma },
            r.switch,
            from,
            to,
        )
    };
    let [g0, g1, g2] = c.windows.gate;
    let _ = writeln!(
        md,
        "\nMean gate over steps {} / {} / {} from the switch: KL {} / {} / {}; uncertainty {} / \
         {} / {}.",
        label(g0),
        label(g1),
        label(g2),
        over(runs, |r| gate_at(r, 0, g0.0, g0.1)),
        over(runs, |r| gate_at(r, 0, g1.0, g1.1)),
        over(runs, |r| gate_at(r, 0, g2.0, g2.1)),
        over(runs, |r| gate_at(r, 1, g0.0, g0.1)),
        over(runs, |r| gate_at(r, 1, g1.0, g1.1)),
        over(runs, |r| gate_at(r, 1, g2.0, g2.1)),
    );
    md
}

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
    let colors = [Rgb::BLACK, Rgb::ORANGE, Rgb::GREEN, Rgb::GREY];
    let mut errors = Panel::new(
        "critic's value error around the switch (mean over seeds)",
        "steps from the switch",
        "|V - G|",
    );
    for (k, name) in CONDITIONS.iter().enumerate() {
        errors = errors.with(Series::new(
            *name,
            colors[k],
            Mark::Line,
            aligned(runs, |r| by_step(r, k)),
        ));
    }
    let mut panels = vec![spe, errors];
    for p in &mut panels {
        p.legend = Corner::UpperRight;
    }
    Figure {
        columns: 2,
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
    }
}
