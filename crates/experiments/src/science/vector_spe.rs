//! The vector SPE in `bench science`: which deviant transition occurred, decoded from the SPE
//! vector e_t = (muq_t - mup_t) / sigma_p,t by a linear read-out, against from its norm ||e_t||
//! by the nearest class mean (the fairer read-out of one feature), and from the posterior mean
//! muq_t alone as a control (held-out deviant steps of the state and combined tasks, 5-fold
//! cross-validated by sequence); and, on the combined task, the critic's RPE against
//! w . delta_SF with w from regressing the reward on the SF features ([`crate::science::identity`]).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use neuromod_plots::{Corner, Figure, Mark, Panel, Rgb, Series};

use crate::science::identity::IdentityCheck;
use crate::science::identity_check::RANDOM_W_DRAWS;
use crate::science::readout::{cv_accuracy, pooled, Accuracy, Readout};
use crate::science::{RunResult, Task};
use crate::stats::Interval;

/// Folds of the cross-validated read-out.
pub const FOLDS: usize = 5;

/// Decoding accuracies of which deviant occurred.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeviantDecoding {
    /// From the SPE vector e_t (Z features), linear read-out.
    pub vector: Accuracy,
    /// From its norm ||e_t|| (one feature), nearest class mean.
    pub norm: Accuracy,
    /// From the posterior mean muq_t alone (Z features), linear read-out: what the state of the
    /// step tells without the prediction it is compared with.
    #[serde(default)]
    pub posterior: Option<Accuracy>,
}

/// The deviant's identity, (state before) x states + (state reached), for every held-out step
/// reached by a deviant transition, with the step's row index `i * steps + t` (its sequence is
/// `row / steps`).
fn deviant_rows(deviant: &[Vec<bool>], state: &[Vec<usize>]) -> Vec<(usize, usize)> {
    let states = state.iter().flatten().max().map_or(0, |m| m + 1);
    let steps = deviant.first().map_or(0, Vec::len);
    deviant
        .iter()
        .zip(state)
        .enumerate()
        .flat_map(|(i, (d, s))| {
            (1..d.len())
                .filter(move |&t| d[t])
                .map(move |t| (i * steps + t, s[t - 1] * states + s[t]))
        })
        .collect()
}

/// The held-out deviant steps as a classification problem: their rows, labels (the kind of
/// deviant) and groups (their sequence, so folds never split one).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviantTable {
    /// Row index `i * steps + t` of each deviant step.
    pub rows: Vec<usize>,
    /// Its kind, (state before) x states + (state reached).
    pub labels: Vec<usize>,
    /// Its sequence.
    pub groups: Vec<usize>,
}

impl DeviantTable {
    /// The table of the held-out deviant labels and hidden states.
    pub fn new(deviant: &[Vec<bool>], state: &[Vec<usize>]) -> Self {
        let rows = deviant_rows(deviant, state);
        let steps = deviant.first().map_or(1, Vec::len);
        Self {
            labels: rows.iter().map(|&(_, l)| l).collect(),
            groups: rows.iter().map(|&(r, _)| r / steps).collect(),
            rows: rows.into_iter().map(|(r, _)| r).collect(),
        }
    }

    /// The deviant rows of a signal `v` [n * steps, width]: [deviants, width].
    pub fn features(&self, v: &[f32], width: usize) -> Vec<f64> {
        self.rows
            .iter()
            .flat_map(|&r| v[r * width..(r + 1) * width].iter().map(|&x| x as f64))
            .collect()
    }

    /// Cross-validated accuracy of `readout` on features [deviants, width].
    pub fn accuracy(&self, x: &[f64], width: usize, readout: Readout) -> Option<Accuracy> {
        cv_accuracy(x, (&self.labels, &self.groups), width, FOLDS, readout)
    }
}

/// Decodes which deviant occurred from `vec` [n, steps, z] and `norm` [n, steps] (the held-out
/// SPE signals) and, as a control, from `muq` [n, steps, z] (the posterior means). None when
/// there are too few deviants or one kind only.
pub fn decode_deviants(
    (vec, norm, muq): (&[f32], &[f32], &[f32]),
    z: usize,
    table: &DeviantTable,
) -> Option<DeviantDecoding> {
    let decode = |v: &[f32], width: usize, readout| {
        table.accuracy(&table.features(v, width), width, readout)
    };
    Some(DeviantDecoding {
        vector: decode(vec, z, Readout::Linear)?,
        norm: decode(norm, 1, Readout::NearestMean)?,
        posterior: decode(muq, z, Readout::Linear),
    })
}

/// The report's section: per task, accuracies over seeds, and the identity check.
pub fn markdown(runs: &[RunResult]) -> String {
    let mut md = String::new();
    let over_to =
        |xs: Vec<f64>, digits: usize| Interval::of(&xs).map_or("n/a".into(), |i| i.show(digits));
    let over = |xs: Vec<f64>| over_to(xs, 3);
    let decoded: Vec<(Task, &DeviantDecoding)> = runs
        .iter()
        .filter_map(|r| r.deviant_decoding.as_ref().map(|d| (r.task, d)))
        .collect();
    if !decoded.is_empty() {
        let _ = writeln!(
            md,
            "\n## Which deviant occurred: the SPE vector against its norm\n\n\
             Held-out steps reached by a deviant transition, labelled by the transition (state \
             before x state reached); {FOLDS}-fold cross-validated by sequence: a linear read-out \
             (ridge to one-hot, argmax) from the SPE vector e_t = (muq_t - mup_t) / sigma_p,t, the \
             nearest class mean from its norm ||e_t||, and (control) a linear read-out from the \
             posterior mean muq_t alone. Accuracies: correct read-outs pooled over seeds with a \
             Wilson 95% interval (held-out sampling only), then the seeds' range; counts and chance (the most frequent deviant's share): mean and \
             t interval over seeds.\n\n\
             | task | seeds | deviants per seed | classes | from e_t | from ‖e_t‖ | from muq_t | chance |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for task in Task::ALL {
            let d: Vec<&DeviantDecoding> = decoded
                .iter()
                .filter(|(t, _)| *t == task)
                .map(|(_, d)| *d)
                .collect();
            if d.is_empty() {
                continue;
            }
            let col = |f: &dyn Fn(&DeviantDecoding) -> f64| over(d.iter().map(|x| f(x)).collect());
            let acc = |f: &dyn Fn(&DeviantDecoding) -> Option<Accuracy>| {
                pooled(&d.iter().filter_map(|x| f(x)).collect::<Vec<_>>())
            };
            let count =
                |f: &dyn Fn(&DeviantDecoding) -> f64| over_to(d.iter().map(|x| f(x)).collect(), 0);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                task.name(),
                d.len(),
                count(&|x| x.vector.rows as f64),
                count(&|x| x.vector.classes as f64),
                acc(&|x| Some(x.vector)),
                acc(&|x| Some(x.norm)),
                acc(&|x| x.posterior),
                col(&|x| x.vector.chance),
            );
        }
    }
    let checks: Vec<&IdentityCheck> = runs.iter().filter_map(|r| r.identity.as_ref()).collect();
    if !checks.is_empty() {
        let col = |f: &dyn Fn(&IdentityCheck) -> f64| over(checks.iter().map(|x| f(x)).collect());
        // Correlations are averaged in Fisher's z, so their interval stays inside (-1, 1).
        let corr = |f: &dyn Fn(&IdentityCheck) -> f64| {
            let v: Vec<f64> = checks.iter().map(|x| f(x)).collect();
            neuromod_stats::mean_correlation(&v).map_or("n/a".into(), |i| i.show(3))
        };
        let _ = writeln!(
            md,
            "\n## The RPE against w . delta_SF (combined task)\n\n\
             w and c fitted by regressing the reward on the SF features phi (training \
             sequences); on the held-out transitions, the critic's mean RPE against w . delta_t \
             at the critic's discount, and the value parts alone: the critic's gamma V(s_(t+1)) - \
             V(s_t) = RPE - r_(t+1) against w . (gamma psi_(t+1) - psi_t) = w . delta_t - w . \
             phi_(t+1). With exact learners and a reward linear in phi both have slope 1 and \
             correlation 1; with a reward that phi explains only in part, the first falls and the \
             second does not (the reward is out of both of its sides, so it cannot carry it).\n\n\
             Correlations: mean over seeds in Fisher's z with its 95% interval.\n\n\
             Control: the value parts against {RANDOM_W_DRAWS} random directions of w's norm \
             (Gaussian entries) per seed: the median |r|, and the share of directions whose |r| \
             reaches the reward's own (mean and interval over seeds; for the share, the mean and the seeds' range).\n\n\
             | seeds | transitions per seed | reward R^2 on phi | RPE vs w . delta: correlation | \
             slope | value parts: correlation | slope | random w: median abs(r) | random w: share \
             reaching it |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n\
             | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            checks.len(),
            over_to(checks.iter().map(|c| c.transitions as f64).collect(), 0),
            col(&|c| c.reward_r2),
            corr(&|c| c.pearson),
            col(&|c| c.slope),
            corr(&|c| c.pearson_values),
            col(&|c| c.slope_values),
            col(&|c| c.random_w.map_or(f64::NAN, |r| r.median_abs_r)),
            {
                // A share per seed: its mean and the seeds' range (a t interval would leave [0, 1]).
                let v: Vec<f64> = checks
                    .iter()
                    .filter_map(|c| c.random_w.map(|r| r.share_at_least_real))
                    .collect();
                let (lo, hi) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
                    (l.min(*x), h.max(*x))
                });
                match v.is_empty() {
                    true => "n/a".to_string(),
                    false => format!(
                        "{:.3}; seeds {lo:.3}-{hi:.3}",
                        v.iter().sum::<f64>() / v.len() as f64
                    ),
                }
            },
        );
    }
    md
}

/// A bar series of the figure: its name, colour and value.
type Getter = (&'static str, Rgb, fn(&DeviantDecoding) -> f64);

/// The figure: decoding accuracies per task (bars: mean over seeds; lines: 95% intervals; dots:
/// seeds) and, for the combined task's first seed, the RPE against w . delta with the identity
/// line. None when neither analysis ran.
pub fn figure(runs: &[RunResult]) -> Option<Figure> {
    let tasks: Vec<Task> = Task::ALL
        .into_iter()
        .filter(|t| {
            runs.iter()
                .any(|r| r.task == *t && r.deviant_decoding.is_some())
        })
        .collect();
    let mut panels = Vec::new();
    if !tasks.is_empty() {
        let mut panel = Panel::new(
            "which deviant occurred: read-out accuracy (held out)",
            "task",
            "accuracy",
        )
        .with_categories(tasks.iter().map(|t| format!("{} task", t.name())));
        panel.legend = Corner::UpperLeft;
        panel.y_room = 0.35;
        panel.bar_width = 0.2;
        let getters: [Getter; 4] = [
            ("from the SPE vector e_t (linear)", Rgb::BLUE, |d| {
                d.vector.accuracy
            }),
            ("from its norm ||e_t|| (nearest mean)", Rgb::ORANGE, |d| {
                d.norm.accuracy
            }),
            ("from muq_t alone (linear)", Rgb::GREEN, |d| {
                d.posterior.map_or(f64::NAN, |p| p.accuracy)
            }),
            ("chance (most frequent deviant)", Rgb::GREY, |d| {
                d.vector.chance
            }),
        ];
        for (s, (name, color, get)) in getters.into_iter().enumerate() {
            let mut bars = Vec::new();
            let mut dots = Vec::new();
            for (g, task) in tasks.iter().enumerate() {
                let x = (g + 1) as f64 - 0.4 + 0.2 * (s as f64 + 0.5);
                let v: Vec<f64> = runs
                    .iter()
                    .filter(|r| r.task == *task)
                    .filter_map(|r| r.deviant_decoding.as_ref().map(get))
                    .collect();
                dots.extend(v.iter().map(|&y| (x, y)));
                if let Some(i) = Interval::of(&v) {
                    bars.push((x, i.mean));
                    if let (Some(lo), Some(hi)) = (i.lo, i.hi) {
                        panel.series.push(Series::unlabelled(
                            Rgb::BLACK,
                            Mark::Line,
                            vec![(x, lo), (x, hi)],
                        ));
                    }
                }
            }
            panel
                .series
                .push(Series::new(name, color, Mark::Bars, bars));
            panel
                .series
                .push(Series::unlabelled(Rgb::BLACK, Mark::Dots, dots));
        }
        panels.push(panel);
    }
    if let Some(check) = runs
        .iter()
        .filter(|r| r.task == Task::Combined)
        .find_map(|r| r.identity.as_ref().map(|c| (r.seed, c)))
    {
        let (seed, c) = check;
        let lo = c
            .sample
            .iter()
            .map(|p| p.0.min(p.1))
            .fold(f64::INFINITY, f64::min);
        let hi = c
            .sample
            .iter()
            .map(|p| p.0.max(p.1))
            .fold(f64::NEG_INFINITY, f64::max);
        let mut panel = Panel::new(
            format!(
                "combined, seed {seed}: value parts (r {:.2}, slope {:.2})",
                c.pearson_values, c.slope_values
            ),
            "SF heads: w . (gamma psi' - psi)",
            "critic: gamma V' - V (mean RPE - r')",
        )
        .with(Series::new(
            format!("held-out transitions (first {})", c.sample.len()),
            Rgb::BLUE,
            Mark::Dots,
            c.sample.clone(),
        ));
        if lo.is_finite() && hi.is_finite() {
            panel = panel.with(Series::new(
                "slope 1 (reference; the identity predicts an offset of -c)",
                Rgb::BLACK,
                Mark::Line,
                vec![(lo, lo), (hi, hi)],
            ));
        }
        panel.legend = Corner::UpperLeft;
        panels.push(panel);
    }
    (!panels.is_empty()).then_some(Figure {
        columns: panels.len(),
        panels,
        panel_size: (700, 480),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deviants_are_labelled_by_their_transition_at_their_row() {
        let deviant = vec![vec![false, false, true], vec![false, true, false]];
        let state = vec![vec![0, 1, 3], vec![2, 0, 1]];
        // 4 states: sequence 0 step 2 is 1 -> 3 (label 7), sequence 1 step 1 is 2 -> 0 (8).
        assert_eq!(deviant_rows(&deviant, &state), vec![(2, 7), (4, 8)]);
    }

    #[test]
    fn a_vector_that_names_the_deviant_decodes_it_and_a_constant_norm_does_not() {
        // 60 sequences of 3 steps, each with one deviant at step 2 of one of 3 kinds; the SPE
        // vector points in the kind's own direction, with the same norm for every kind.
        let (n, steps, z) = (60, 3, 3);
        let mut deviant = Vec::new();
        let mut state = Vec::new();
        let mut vec = vec![0.0f32; n * steps * z];
        let norm = vec![1.0f32; n * steps];
        for i in 0..n {
            let kind = i % 3;
            deviant.push(vec![false, false, true]);
            state.push(vec![0, 1, 2 + kind]);
            vec[(i * steps + 2) * z + kind] = 1.0;
        }
        let table = DeviantTable::new(&deviant, &state);
        assert_eq!(table.groups, (0..n).collect::<Vec<_>>());
        let d = decode_deviants((&vec, &norm, &vec), z, &table).unwrap();
        assert_eq!(d.vector.classes, 3);
        assert!(d.vector.accuracy > 0.99, "{d:?}");
        assert!(d.norm.accuracy < 0.5, "{d:?}");
    }
}
