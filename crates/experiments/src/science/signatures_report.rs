//! The cue task's report section and figure ([`crate::science::signatures`]): the RPE over the
//! critic's training at each kind of step, and the surprise signals at the predictive against
//! the neutral cue and at X against the neutral cue's outcome.

use std::fmt::Write as _;

use neuromod_plots::{Corner, Figure, Mark, Panel, Rgb, Series};

use crate::science::signatures::{EventMeans, Signatures};
use crate::science::{RunResult, Task};
use crate::stats::Interval;

/// The cue task's signatures over seeds.
fn seeds(runs: &[RunResult]) -> Vec<&Signatures> {
    runs.iter()
        .filter(|r| r.task == Task::Cue)
        .filter_map(|r| r.signatures.as_ref())
        .collect()
}

/// The surprise signals (not the RPEs nor the reward head): those whose ratios mean something.
fn surprise_signal(name: &str) -> bool {
    !name.starts_with("RPE") && !name.starts_with("reward-head")
}

/// A value of [`EventMeans`], named for the report.
type Getter = (&'static str, Rgb, fn(&EventMeans) -> f64);

/// A ratio of the figure: its name, colour, numerator and denominator.
type Ratio = (
    &'static str,
    Rgb,
    fn(&EventMeans) -> f64,
    fn(&EventMeans) -> f64,
);

/// The RPE's columns, in report order.
const RPE_COLUMNS: [Getter; 5] = [
    ("reward cue", Rgb::RED, |m| m.cue[0]),
    ("predictive cue", Rgb::GREEN, |m| m.cue[1]),
    ("neutral cue", Rgb::GREY, |m| m.cue[2]),
    ("reward delivered", Rgb::BLUE, |m| m.delivered),
    ("reward omitted", Rgb::BLACK, |m| m.omitted),
];

/// The epochs read in every seed, with the RPE means of each seed at that epoch.
fn over_training(s: &[&Signatures]) -> Vec<(usize, Vec<EventMeans>)> {
    let Some(first) = s.first() else {
        return Vec::new();
    };
    first
        .over_training
        .iter()
        .map(|(epoch, _)| {
            let at: Vec<EventMeans> = s
                .iter()
                .filter_map(|x| x.over_training.iter().find(|(e, _)| e == epoch))
                .map(|(_, m)| *m)
                .collect();
            (*epoch, at)
        })
        .collect()
}

/// Per seed, the ratio of two means of a signal.
fn ratios(
    s: &[&Signatures],
    name: &str,
    num: fn(&EventMeans) -> f64,
    den: fn(&EventMeans) -> f64,
) -> Vec<f64> {
    s.iter()
        .filter_map(|x| x.signals.get(name))
        .map(|m| num(m) / den(m))
        .collect()
}

/// The section (empty without the cue task).
pub fn markdown(runs: &[RunResult]) -> String {
    let s = seeds(runs);
    let Some(first) = s.first() else {
        return String::new();
    };
    let show = |v: Vec<f64>| Interval::of(&v).map_or("-".into(), |i| i.show(3));
    let mut md = format!(
        "\n## TD signatures (cue task, {} seeds)\n\n\
         The critic's mean RPE (mean of heads) on held-out steps of each kind, read after \
         each number of critic epochs (0: untrained, RPE = r); mean over seeds with a 95% t \
         interval.\n\n| critic epochs |",
        s.len()
    );
    for (name, _, _) in RPE_COLUMNS {
        let _ = write!(md, " {name} |");
    }
    md.push_str(&format!("\n|{}\n", " --- |".repeat(RPE_COLUMNS.len() + 1)));
    for (epoch, at) in over_training(&s) {
        let _ = write!(md, "| {epoch} |");
        for (_, _, get) in RPE_COLUMNS {
            let _ = write!(md, " {} |", show(at.iter().map(get).collect()));
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "\nSurprise signals at each cue onset (equally surprising one step ahead; only the \
         predictive cue announces X three steps later) and at X against the neutral cue's \
         outcome: means, and ratios per seed (geometric mean with a 95% interval on the log \
         scale).\n\n\
         | signal | reward cue | predictive cue | neutral cue | predictive / neutral cue | X | \
         neutral outcome | X / neutral outcome |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    let ratio = |v: Vec<f64>| Interval::of_log(&v).map_or("-".into(), |i| i.show(2));
    for name in first.signals.keys().filter(|n| surprise_signal(n)) {
        let of = |f: fn(&EventMeans) -> f64| -> Vec<f64> {
            s.iter()
                .filter_map(|x| x.signals.get(name))
                .map(f)
                .collect()
        };
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            show(of(|m| m.cue[0])),
            show(of(|m| m.cue[1])),
            show(of(|m| m.cue[2])),
            ratio(ratios(&s, name, |m| m.cue[1], |m| m.cue[2])),
            show(of(|m| m.rare)),
            show(of(|m| m.neutral_outcome)),
            ratio(ratios(&s, name, |m| m.rare, |m| m.neutral_outcome)),
        );
    }
    md
}

/// The figure: the RPE over the critic's training at each kind of step, and the surprise
/// signals' ratios (predictive / neutral cue, X / neutral outcome; bars: geometric means,
/// lines: 95% intervals, dots: seeds). None without the cue task.
pub fn figure(runs: &[RunResult]) -> Option<Figure> {
    let s = seeds(runs);
    let first = s.first()?;
    let epochs = over_training(&s);
    let mut rpe = Panel::new(
        "cue task: the critic's RPE over its training (held out)",
        "critic epochs",
        "mean RPE",
    )
    .with_categories(epochs.iter().map(|(e, _)| e.to_string()));
    rpe.zero_line = true;
    rpe.legend = Corner::UpperLeft;
    rpe.y_room = 0.3;
    for (name, color, get) in RPE_COLUMNS {
        let mut line = Vec::new();
        for (k, (_, at)) in epochs.iter().enumerate() {
            let x = (k + 1) as f64;
            if let Some(i) = Interval::of(&at.iter().map(get).collect::<Vec<_>>()) {
                line.push((x, i.mean));
                if let (Some(lo), Some(hi)) = (i.lo, i.hi) {
                    rpe.series.push(Series::unlabelled(
                        color,
                        Mark::Line,
                        vec![(x, lo), (x, hi)],
                    ));
                }
            }
        }
        rpe.series.push(Series::new(name, color, Mark::Line, line));
    }
    let names: Vec<&String> = first
        .signals
        .keys()
        .filter(|n| surprise_signal(n))
        .collect();
    let mut bars = Panel::new(
        "cue task: where the surprise signals answer (1 = no difference)",
        "signal",
        "ratio of means",
    )
    .with_categories(names.iter().map(|n| n.to_string()));
    bars.legend = Corner::UpperLeft;
    bars.y_room = 0.3;
    bars.bar_width = 0.3;
    let pairs: [Ratio; 2] = [
        (
            "predictive cue / neutral cue",
            Rgb::BLUE,
            |m| m.cue[1],
            |m| m.cue[2],
        ),
        (
            "X / neutral cue's outcome",
            Rgb::ORANGE,
            |m| m.rare,
            |m| m.neutral_outcome,
        ),
    ];
    for (p, (label, color, num, den)) in pairs.into_iter().enumerate() {
        let (mut means, mut dots) = (Vec::new(), Vec::new());
        for (g, name) in names.iter().enumerate() {
            let x = (g + 1) as f64 - 0.15 + 0.3 * p as f64;
            let v = ratios(&s, name, num, den);
            dots.extend(v.iter().filter(|r| r.is_finite()).map(|&r| (x, r)));
            if let Some(i) = Interval::of_log(&v) {
                means.push((x, i.mean));
                if let (Some(lo), Some(hi)) = (i.lo, i.hi) {
                    bars.series.push(Series::unlabelled(
                        Rgb::BLACK,
                        Mark::Line,
                        vec![(x, lo), (x, hi)],
                    ));
                }
            }
        }
        bars.series
            .push(Series::new(label, color, Mark::Bars, means));
        bars.series
            .push(Series::unlabelled(Rgb::BLACK, Mark::Dots, dots));
    }
    bars.series.push(Series::unlabelled(
        Rgb::GREY,
        Mark::Line,
        vec![(0.5, 1.0), (names.len() as f64 + 0.5, 1.0)],
    ));
    Some(Figure {
        columns: 2,
        panels: vec![rpe, bars],
        panel_size: (760, 500),
    })
}
