//! What a device's timings come to: the line of a step's time against T, the SPE + critic
//! overhead per shape, and the Markdown tables of `bench speed`.

use std::fmt::Write as _;

use neuromod_train::ModelKind;
use serde::{Deserialize, Serialize};

use super::{shapes, PairedOverhead, Size, Timing, Variant};

/// Least-squares line y = a + b x and its R^2.
pub fn linear_fit(points: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let b = sxy / sxx;
    let a = my - b * mx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        1.0
    };
    (a, b, r2)
}

/// A device's speed report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpeedResult {
    /// Device name.
    pub device: String,
    /// Model family.
    pub model: ModelKind,
    /// Model size.
    pub size: Size,
    /// Transitions the critic trained on per step (0: all).
    pub critic_transitions: usize,
    /// Every timing.
    pub timings: Vec<Timing>,
    /// Per variant: (intercept ms, ms per step of T, R^2) of the fastest step's ms against T
    /// at batch 32.
    pub t_fit: Vec<(Variant, f64, f64, f64)>,
    /// Per (batch, T): (SPE + critic) / world model - 1, from the fastest steps.
    pub overhead: Vec<(usize, usize, f64)>,
    /// The overhead measured step against step in one process (see
    /// [`super::paired_overhead`]).
    pub paired: Option<PairedOverhead>,
}

/// Fits and overheads of a device's timings, from the fastest step of each setup: on a shared
/// 2-core machine other work only ever adds time (medians of the same setup varied by 10%
/// between runs here, minima by 1-6%).
pub fn summarise(
    device: &str,
    (model, size): (ModelKind, Size),
    critic_transitions: usize,
    timings: Vec<Timing>,
) -> SpeedResult {
    let t_fit = Variant::ALL
        .iter()
        .map(|&v| {
            let pts: Vec<(f64, f64)> = timings
                .iter()
                .filter(|x| x.variant == v && x.batch == 32)
                .map(|x| (x.steps as f64, x.ms_min))
                .collect();
            let (a, b, r2) = linear_fit(&pts);
            (v, a, b, r2)
        })
        .collect();
    let at = |v: Variant, b: usize, t: usize| {
        timings
            .iter()
            .find(|x| x.variant == v && x.batch == b && x.steps == t)
            .map(|x| x.ms_min)
    };
    let overhead = shapes()
        .into_iter()
        .filter_map(|(b, t)| {
            let (w, c) = (
                at(Variant::WorldModel, b, t)?,
                at(Variant::WithSpeCritic, b, t)?,
            );
            Some((b, t, c / w - 1.0))
        })
        .collect();
    SpeedResult {
        device: device.to_string(),
        model,
        size,
        critic_transitions,
        timings,
        t_fit,
        overhead,
        paired: None,
    }
}

/// Markdown tables of one or more devices' results.
pub fn markdown(results: &[SpeedResult]) -> String {
    let mut md = String::from("# Speed: milliseconds per training step\n\n");
    for r in results {
        let _ = writeln!(
            md,
            "## {}, {} ({:?} size, critic on {} transitions per step)\n\n| variant | batch | T | ms/step (median) | min | peak RSS MiB |\n| --- | --- | --- | --- | --- | --- |",
            r.model.name().to_uppercase(),
            r.device,
            r.size,
            if r.critic_transitions == 0 { "all".to_string() } else { r.critic_transitions.to_string() }
        );
        for t in &r.timings {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {:.1} | {} |",
                t.variant.name(),
                t.batch,
                t.steps,
                t.ms_median,
                t.ms_min,
                t.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.0}"))
            );
        }
        let _ = writeln!(md, "\nLinear in T (batch 32, fastest steps): ");
        for (v, a, b, r2) in &r.t_fit {
            let _ = writeln!(
                md,
                "- {}: {a:.1} ms + {b:.2} ms x T, R^2 = {r2:.4}",
                v.name()
            );
        }
        let _ = writeln!(
            md,
            "\nSPE + critic overhead over a world-model step (fastest steps):"
        );
        for (b, t, o) in &r.overhead {
            let _ = writeln!(md, "- batch {b}, T {t}: {:+.1}%", 100.0 * o);
        }
        if let Some(p) = &r.paired {
            let [lo, mid, hi] = p.quartiles.map(|x| 100.0 * x);
            let _ = writeln!(
                md,
                "\nStep against step in one process (batch {}, T {}, {} pairs): median {mid:+.1}% (quartiles {lo:+.1}%, {hi:+.1}%)",
                p.batch, p.steps, p.rounds
            );
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_fit_recovers_a_known_line() {
        let pts: Vec<(f64, f64)> = [50.0, 100.0, 200.0, 400.0]
            .iter()
            .map(|&x| (x, 3.0 + 0.5 * x))
            .collect();
        let (a, b, r2) = linear_fit(&pts);
        assert!((a - 3.0).abs() < 1e-9 && (b - 0.5).abs() < 1e-12 && (r2 - 1.0).abs() < 1e-12);
        // A bent curve fits worse.
        let bent: Vec<(f64, f64)> = pts.iter().map(|&(x, _)| (x, x * x)).collect();
        assert!(linear_fit(&bent).2 < 0.99);
    }
}
