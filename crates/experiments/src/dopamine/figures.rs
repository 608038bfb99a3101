//! The three figures of a reward task: reversal points against tau beside the classic-TD null,
//! the decoded distribution against the true one, and each cell's tuning curve.

use neuromod_dopamine::{RewardDistribution, TuningCurves};
use neuromod_plots::{Figure, Mark, Panel, Rgb, Series};

/// Everything the three figures of a reward task show.
pub(super) struct Figures<'a> {
    pub tau: &'a [f64],
    pub value: &'a [f64],
    pub theta: &'a [f64],
    pub null_asym: &'a [f64],
    pub null_theta: &'a [f64],
    pub curves: &'a TuningCurves,
    pub dist: &'a RewardDistribution,
    /// Samples decoded from measurements and from internal values.
    pub decoded: (&'a [f64], &'a [f64]),
    /// Their W1 to the true distribution (None: nothing was measurable).
    pub w1: (Option<f64>, f64),
}

/// Legend group and colour of a cell: optimistic red, pessimistic blue, tau = 0.5 grey.
fn cell_group(tau: f64) -> (&'static str, Rgb) {
    if tau > 0.5 {
        ("optimistic (tau > 0.5)", Rgb::RED)
    } else if tau < 0.5 {
        ("pessimistic (tau < 0.5)", Rgb::BLUE)
    } else {
        ("neutral (tau = 0.5)", Rgb::GREY)
    }
}

impl Figures<'_> {
    /// Reversal point against tau (and the learned value), beside the classic-TD null.
    pub(super) fn reversal(&self) -> Figure {
        let mut dist = Panel::new(
            "Distributional TD: reversal point vs tau",
            "tau (asymmetry a+ / (a+ + a-))",
            "reversal point (reward units)",
        )
        .with(Series::new(
            "learned value",
            Rgb::BLACK,
            Mark::Line,
            self.tau
                .iter()
                .copied()
                .zip(self.value.iter().copied())
                .collect(),
        ));
        for probe in [0.75, 0.25, 0.5] {
            let (name, colour) = cell_group(probe);
            let points: Vec<(f64, f64)> = self
                .tau
                .iter()
                .zip(self.theta)
                .filter(|(t, _)| cell_group(**t).0 == name)
                .map(|(t, r)| (*t, *r))
                .collect();
            if !points.is_empty() {
                dist = dist.with(Series::new(name, colour, Mark::Dots, points));
            }
        }
        let measured: Vec<(f64, f64)> = self
            .null_asym
            .iter()
            .copied()
            .zip(self.null_theta.iter().copied())
            .filter(|(a, r)| a.is_finite() && r.is_finite())
            .collect();
        let (title, x, points) = if measured.is_empty() {
            (
                "Classic TD null (asymmetry not measurable: two magnitudes)",
                "tau",
                self.null_theta.iter().map(|&r| (0.5, r)).collect(),
            )
        } else {
            (
                "Classic TD null (every tau = 0.5)",
                "measured asymmetry",
                measured,
            )
        };
        let null = Panel::new(title, x, "reversal point (reward units)").with(Series::new(
            "cells",
            Rgb::GREY,
            Mark::Dots,
            points,
        ));
        Figure {
            panels: vec![dist, null],
            columns: 2,
            panel_size: (760, 560),
        }
    }

    /// CDF of the decoded samples against the true reward distribution.
    pub(super) fn decoded(&self) -> Figure {
        let mut truth = vec![(self.dist.values[0], 0.0)];
        let mut c = 0.0;
        for (v, p) in self.dist.values.iter().zip(&self.dist.probs) {
            c += p;
            truth.push((*v, c));
        }
        let cdf = |samples: &[f64]| {
            let mut sorted = samples.to_vec();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len().max(1) as f64;
            let mut points = vec![(sorted.first().copied().unwrap_or(0.0), 0.0)];
            points.extend(
                sorted
                    .iter()
                    .enumerate()
                    .map(|(k, x)| (*x, (k + 1) as f64 / n)),
            );
            points
        };
        let measured = self
            .w1
            .0
            .map_or("not measurable".into(), |w| format!("{w:.3}"));
        let mut panel = Panel::new(
            format!(
                "Decoded vs true distribution (W1: measured {measured}, internal {:.3})",
                self.w1.1
            ),
            "reward",
            "cumulative probability",
        )
        .with(Series::new("true", Rgb::BLACK, Mark::Steps, truth))
        .with(Series::new(
            "decoded from internal values (reference)",
            Rgb::GREY,
            Mark::Steps,
            cdf(self.decoded.1),
        ));
        if !self.decoded.0.is_empty() {
            panel = panel.with(Series::new(
                "decoded from measurements",
                Rgb::ORANGE,
                Mark::Steps,
                cdf(self.decoded.0),
            ));
        }
        Figure::single(panel)
    }

    /// Each cell's mean outcome RPE against reward magnitude.
    pub(super) fn tuning(&self) -> Figure {
        let mut panel = Panel::new(
            "Tuning curves: outcome response vs reward magnitude",
            "reward magnitude",
            "mean outcome RPE",
        );
        panel.zero_line = true;
        let mut labelled = Vec::new();
        for (i, row) in self.curves.mean.iter().enumerate() {
            let (name, colour) = cell_group(self.tau[i]);
            let points = self
                .curves
                .magnitudes
                .iter()
                .copied()
                .zip(row.iter().copied())
                .collect();
            panel = panel.with(if labelled.contains(&name) {
                Series::unlabelled(colour, Mark::Line, points)
            } else {
                labelled.push(name);
                Series::new(name, colour, Mark::Line, points)
            });
        }
        Figure::single(panel)
    }
}
