//! The science benchmark's figures: grouped bars of response ratios with their intervals and
//! targets, and the switch task's time course with the gating value errors.

use neuromod_plots::{Corner, Figure, Mark, Panel, Rgb, Series};

use super::summary::{columns, Summary};
use crate::science::{ScienceConfig, ScienceResult, Surprise, Task};

const COLORS: [Rgb; 11] = [
    Rgb(0, 0, 0),
    Rgb(31, 119, 180),
    Rgb(23, 190, 207),
    Rgb(44, 160, 44),
    Rgb(140, 86, 75),
    Rgb(188, 189, 34),
    Rgb(148, 103, 189),
    Rgb(227, 119, 194),
    Rgb(214, 39, 40),
    Rgb(255, 127, 14),
    Rgb(127, 127, 127),
];

/// Grouped bars of log10 ratios (one group per task and surprise, one bar per signal) with
/// their intervals.
pub fn bars(summary: &Summary) -> Panel {
    let columns = columns(summary);
    let names = ScienceConfig::signal_names();
    let w = 0.8 / names.len() as f64;
    let names_of_groups: Vec<String> = columns
        .iter()
        .map(|(t, k)| {
            let kind = if *k == Surprise::Reward {
                "reward"
            } else {
                "state"
            };
            format!("{} task: {kind} surprise", t.name())
        })
        .collect();
    let mut panel = Panel::new(
        "Response ratio: mean |signal| on surprise steps / on ordinary steps",
        "task and kind of surprise",
        "log10 ratio (bars: geometric mean over seeds; lines: 95% interval)",
    )
    .with_categories(names_of_groups);
    // A band above the bars for the legend (one entry per signal).
    panel.legend = Corner::UpperLeft;
    panel.y_room = 0.55;
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
                pts.push((x, i.mean.log10()));
                if let (Some(lo), Some(hi)) = (i.lo, i.hi) {
                    panel.series.push(Series::unlabelled(
                        Rgb::BLACK,
                        Mark::Line,
                        vec![(x, lo.log10()), (x, hi.log10())],
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
    for (v, label, colour) in [
        (
            5.0f64,
            "target: ratio >= 5 (answers this surprise)",
            Rgb::BLACK,
        ),
        (1.5, "target: ratio <= 1.5 (ignores it)", Rgb::GREY),
    ] {
        panel.series.push(Series::new(
            label,
            colour,
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
    .with_integer_x()
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
        let avg = |f: &dyn Fn(&crate::science::gating::GatingRun) -> &Vec<f64>| -> Vec<(f64, f64)> {
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
            .with_integer_x()
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
