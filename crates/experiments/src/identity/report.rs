//! `bench identity`'s tables and figure: the published designs beside the recorded data, and
//! the world model's identity shift per signal over seeds.

use std::fmt::Write as _;

use neuromod_dopamine::{Shift, TestValues};
use neuromod_plots::{Corner, Figure, Mark, Panel, Rgb, Series};
use neuromod_stats::Interval;
use serde::{Deserialize, Serialize};

use super::encoded::EncodedDesigns;
use super::world::{signal_names, WorldShiftRun, LEARNED_GAP, VALUE_RPE, WINDOW};
use super::{
    IdentityResult, CHANG_BLOCKED_UNBLOCKED, SHARPE_ACTIVATION, SHARPE_DEVALUATION,
    SHARPE_INHIBITION, TAKAHASHI_LATE_EARLY,
};

/// One world-model signal's identity-shift response over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignalSummary {
    /// The signal.
    pub signal: String,
    /// Mean response over the first trials of the new identity.
    pub early: Option<Interval>,
    /// Over the last trials of the old one.
    pub late: Option<Interval>,
    /// Early - late.
    pub difference: Option<Interval>,
    /// Early / late per seed, geometric mean (seeds with a non-positive value left out).
    pub ratio: Option<Interval>,
    /// The first outcome of the new identity alone over late, per seed, geometric mean.
    #[serde(default)]
    pub first: Option<Interval>,
    /// Seeds in which early > late.
    pub early_above_late: usize,
    /// Seeds.
    pub seeds: usize,
}

/// Per signal, over the runs.
pub fn summarise(runs: &[WorldShiftRun]) -> Vec<SignalSummary> {
    signal_names()
        .into_iter()
        .map(|name| {
            let shifts: Vec<Shift> = runs.iter().map(|r| r.signals[&name].shift).collect();
            let first: Vec<f64> = runs
                .iter()
                .map(|r| r.signals[&name].around[WINDOW] / r.signals[&name].shift.late)
                .collect();
            let of = |f: &dyn Fn(&Shift) -> f64| shifts.iter().map(f).collect::<Vec<f64>>();
            SignalSummary {
                early: Interval::of(&of(&|s| s.early)),
                late: Interval::of(&of(&|s| s.late)),
                difference: Interval::of(&of(&|s| s.early - s.late)),
                ratio: Interval::of_log(&of(&|s| s.early / s.late)),
                first: Interval::of_log(&first),
                early_above_late: shifts.iter().filter(|s| s.early > s.late).count(),
                seeds: shifts.len(),
                signal: name,
            }
        })
        .collect()
}

/// "early / late: early - late" (and the ratio where late is clearly away from 0).
fn shift_text(s: Shift) -> String {
    let ratio = match s.late.abs() > 0.1 * s.early.abs() {
        true => format!(", ratio {:.2}", s.early / s.late),
        false => String::new(),
    };
    format!(
        "{:.4} / {:.4}: early - late {:+.4}{ratio}",
        s.early,
        s.late,
        s.early - s.late
    )
}

/// "a / b / c" of values.
fn values(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.4}")).collect();
    parts.join(" / ")
}

/// A row per group of a Sharpe experiment: data, SR perturbed, SR control, value TD.
fn sharpe_rows(md: &mut String, v: &TestValues, data: [&[f64]; 2], groups: [&str; 2]) {
    let cues = v.cues.join(" / ");
    let _ = writeln!(
        md,
        "| model | {} ({cues}) | {} ({cues}) |",
        groups[0], groups[1]
    );
    md.push_str("| --- | --- | --- |\n");
    let _ = writeln!(md, "| rats | {} | {} |", values(data[0]), values(data[1]));
    let (sr, ctl) = (values(&v.sr_perturbed), values(&v.sr_control));
    let _ = writeln!(md, "| TD over successor features | {sr} | {ctl} |");
    let td = values(&v.value_td);
    let _ = writeln!(md, "| value TD, same features | {td} | {td} |");
}

/// The tables.
pub fn markdown(r: &IdentityResult) -> String {
    let d = &r.designs;
    let (late, early) = TAKAHASHI_LATE_EARLY;
    let mut md = String::from(
        "# Identity prediction errors (Takahashi 2017, Chang 2017, Sharpe 2017; models of Gardner et al. 2018)\n\n\
         ## Identity shift at equal value: response early (first 5 trials) / late (last 5 before)\n\n\
         | model | early / late |\n| --- | --- |\n",
    );
    let recorded = shift_text(Shift { late, early });
    let _ = writeln!(md, "| recorded dopamine neurons (spikes/s) | {recorded} |");
    let names = [
        "TD over successor features (mean error)",
        "value TD, same features",
        "value TD blind to identity",
    ];
    for (name, s) in names.iter().zip(d.takahashi) {
        let _ = writeln!(md, "| {name} | {} |", shift_text(s));
    }
    md.push_str(
        "\n## Identity unblocking: value of the blocked / unblocked cue at test (ratio)\n\n\
         | model | inhibition at the identity change | inhibition in the interval | none |\n\
         | --- | --- | --- | --- |\n",
    );
    let cell = |(x, y): (f64, f64)| format!("{x:.4} / {y:.4} ({:.2})", y / x);
    let [exp, iti] = CHANG_BLOCKED_UNBLOCKED.map(cell);
    let _ = writeln!(md, "| rats (responding) | {exp} | {iti} | not run |");
    let [sr_exp, sr_iti, sr_off] = d.chang_sr.map(cell);
    let _ = writeln!(
        md,
        "| TD over successor features | {sr_exp} | {sr_iti} | {sr_off} |"
    );
    let td = cell(d.chang_td);
    let _ = writeln!(
        md,
        "| value TD, same features | not modelled | not modelled | {td} |"
    );
    md.push_str("\n## Sensory preconditioning, inhibition at B -> Y: value of A / B at test\n\n");
    let [nphr, eyfp] = SHARPE_INHIBITION;
    sharpe_rows(
        &mut md,
        &d.sharpe_inhibition,
        [&nphr, &eyfp],
        ["NpHR", "eYFP"],
    );
    md.push_str(
        "\n## Sensory preconditioning, stimulation at AC -> X: value of F / D / C at test\n\n",
    );
    let [chr2, eyfp] = SHARPE_ACTIVATION;
    sharpe_rows(
        &mut md,
        &d.sharpe_activation,
        [&chr2, &eyfp],
        ["ChR2", "eYFP"],
    );
    let [kept, devalued] = SHARPE_DEVALUATION;
    let (sr_kept, sr_devalued) = d.sharpe_devaluation;
    let _ = write!(
        md,
        "\n## Devaluation after stimulation: value of C, non-devalued / devalued\n\n\
         | model | non-devalued / devalued |\n| --- | --- |\n\
         | rats (food-cup entries) | {kept:.2} / {devalued:.2} |\n\
         | TD over successor features | {sr_kept:.4} / {sr_devalued:.4} |\n"
    );
    if !r.world.is_empty() {
        world_table(&mut md, r);
    }
    md
}

/// The world model's identity shift: one row per signal.
fn world_table(md: &mut String, r: &IdentityResult) {
    let c = &r.config;
    let bounds: Vec<f64> = r.world.iter().map(|w| w.valid_bound).collect();
    let bound = Interval::of(&bounds).map_or("-".into(), |i| i.show(3));
    let floor = r.world.first().map_or(0.0, |w| w.noise_floor);
    let _ = write!(
        md,
        "\n## Identity shift learned by a world model ({} {}x{}x{}, {} epochs, {} sessions per seed, \
         {} seeds; validation bound {bound} nats per step)\n\n\
         Response at the outcome, mean over held-out sessions; per row the mean over seeds with \
         its 95% t interval. Early: first {WINDOW} trials of the new identity; late: last {WINDOW} \
         of the old. A seed's model learned the task when its bound is within {LEARNED_GAP} nats \
         per step of the task's floor ({floor:.3}: pixel noise and identity shifts).\n\n\
         | signal | early | late | early - late | early / late (geometric) | first new outcome / late | early > late |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
        c.model, c.h_dim, c.z_dim, c.hidden, c.epochs, c.sessions, r.world.len()
    );
    let (late, early) = TAKAHASHI_LATE_EARLY;
    let _ = writeln!(
        md,
        "| recorded dopamine neurons (spikes/s) | {early:.2} | {late:.2} | {:+.2} | {:.2} | - | - |",
        early - late,
        early / late
    );
    let show = |i: &Option<Interval>| i.map_or("-".into(), |i| i.show(4));
    let learned = r.world.iter().filter(|w| w.learned).count();
    let groups = [
        (
            &r.world_summary_learned,
            format!("seeds whose model learned the task ({learned})"),
        ),
        (&r.world_summary, format!("all seeds ({})", r.world.len())),
    ];
    for (summary, label) in groups {
        let _ = writeln!(md, "| **{label}** | | | | | | |");
        for s in summary {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} of {} |",
                s.signal,
                show(&s.early),
                show(&s.late),
                show(&s.difference),
                show(&s.ratio),
                show(&s.first),
                s.early_above_late,
                s.seeds
            );
        }
    }
    seed_table(md, &r.world);
    encoded_table(md, &r.world);
}

/// The comparisons the published designs make, each a direction the rats showed, as
/// (name, published values, the direction's test on a model's test values).
type Check = (&'static str, String, fn(&EncodedDesigns, bool) -> bool);

/// The directions of the published results, tested on one seed's encoded designs with the
/// SR model (`sr` true) or value TD. Each perturbation's effect is a difference between the
/// perturbed and the unperturbed run of the same model (the values themselves can take either
/// sign on learned features); value TD is never perturbed, so it has no such effect.
fn checks() -> [Check; 4] {
    [
        (
            "Chang, inhibition in the interval: unblocking, Y > X",
            format!(
                "{} > {}",
                CHANG_BLOCKED_UNBLOCKED[1].1, CHANG_BLOCKED_UNBLOCKED[1].0
            ),
            |e, sr| {
                let v = &e.chang_interval;
                let v = if sr { &v.sr_perturbed } else { &v.value_td };
                v[1] > v[0]
            },
        ),
        (
            "Chang, inhibition at the change lowers Y (against inhibition in the interval)",
            format!(
                "{} < {}",
                CHANG_BLOCKED_UNBLOCKED[0].1, CHANG_BLOCKED_UNBLOCKED[1].1
            ),
            |e, sr| sr && e.chang_outcome.sr_perturbed[1] < e.chang_interval.sr_perturbed[1],
        ),
        (
            "Sharpe, inhibition at B -> Y lowers B",
            format!("{} < {}", SHARPE_INHIBITION[0][1], SHARPE_INHIBITION[1][1]),
            |e, sr| {
                let v = &e.sharpe_inhibition;
                sr && v.sr_perturbed[1] < v.sr_control[1]
            },
        ),
        (
            "Sharpe, stimulation at AC -> X raises C",
            format!("{} > {}", SHARPE_ACTIVATION[0][2], SHARPE_ACTIVATION[1][2]),
            |e, sr| {
                let v = &e.sharpe_activation;
                sr && v.sr_perturbed[2] > v.sr_control[2]
            },
        ),
    ]
}

/// How many seeds' encoded designs go the published way, per comparison and model.
fn encoded_table(md: &mut String, runs: &[WorldShiftRun]) {
    let encoded: Vec<&EncodedDesigns> = runs.iter().filter_map(|w| w.encoded.as_ref()).collect();
    if encoded.is_empty() {
        return;
    }
    let _ = write!(
        md,
        "\n## The published designs on world-model features ({} seeds)\n\n\
         Each design's rows as a world model trained on its trials encodes them (posterior means, \
         standardised), learned trial by trial. Seeds going the rats' way; a perturbation's \
         effect is perturbed against unperturbed (value TD is never perturbed, so it has none).\n\n\
         | comparison | rats | TD over successor features | value TD, same features |\n\
         | --- | --- | --- | --- |\n",
        encoded.len()
    );
    for (name, rats, test) in checks() {
        let count = |sr: bool| encoded.iter().filter(|e| test(e, sr)).count();
        let _ = writeln!(
            md,
            "| {name} | {rats} | {} of {n} | {} of {n} |",
            count(true),
            count(false),
            n = encoded.len()
        );
    }
}

/// One line per seed: its world model's bound (an underfit model shows here) and how the SF
/// error, the KL surprise and the value RPE answered the first new outcome.
fn seed_table(md: &mut String, runs: &[WorldShiftRun]) {
    md.push_str(
        &format!(
            "\n| seed | validation bound (learned) | shifts measured | SF TD error gamma {}: first / late | \
             KL surprise: first / late | value RPE: first - late |\n| --- | --- | --- | --- | --- | --- |\n",
            crate::science::SF_GAMMAS[2]
        ),
    );
    let sf = format!("SF TD error (rms), gamma {}", crate::science::SF_GAMMAS[2]);
    for w in runs {
        let first = |name: &str| {
            let s = &w.signals[name];
            (s.around[WINDOW], s.shift.late)
        };
        let ((f_sf, l_sf), (f_kl, l_kl), (f_v, l_v)) =
            (first(&sf), first("KL surprise"), first(VALUE_RPE));
        let _ = writeln!(
            md,
            "| {} | {:.3} ({}) | {} | {:.2} ({f_sf:.3} / {l_sf:.3}) | {:.2} ({f_kl:.3} / {l_kl:.3}) | {:+.4} |",
            w.seed,
            w.valid_bound,
            if w.learned { "yes" } else { "no" },
            w.shifts,
            f_sf / l_sf,
            f_kl / l_kl,
            f_v - l_v
        );
    }
}

/// Each signal's response around the shift (mean over the seeds whose model learned the task,
/// or over all when none did), scaled by its mean late level so signals of different units share
/// one axis; the value RPE, which is signed and near 0, in its own panel unscaled.
pub fn figure(r: &IdentityResult) -> Figure {
    let colors = [
        Rgb(31, 119, 180),
        Rgb(23, 190, 207),
        Rgb(44, 160, 44),
        Rgb(140, 86, 75),
        Rgb::RED,
        Rgb::ORANGE,
    ];
    let mut spe = Panel::new(
        "State prediction errors at the outcome around the identity shift",
        "trial relative to the shift (0: first outcome of the new identity)",
        "response / its mean over the 5 trials before",
    )
    .with_integer_x();
    spe.legend = Corner::UpperLeft;
    spe.y_room = 0.45;
    let mut rpe = Panel::new(
        "Value RPE at the outcome (same trials)",
        "trial relative to the shift",
        "RPE (reward units)",
    )
    .with_integer_x();
    rpe.zero_line = true;
    let w = WINDOW as f64;
    let learned: Vec<&WorldShiftRun> = r.world.iter().filter(|w| w.learned).collect();
    let runs = match learned.is_empty() {
        true => r.world.iter().collect(),
        false => learned,
    };
    spe.title = format!("{} ({} seeds)", spe.title, runs.len());
    for (k, name) in signal_names().iter().enumerate() {
        let n = runs.len() as f64;
        let mean: Vec<f64> = (0..2 * WINDOW)
            .map(|j| {
                runs.iter()
                    .map(|run| run.signals[name].around[j])
                    .sum::<f64>()
                    / n
            })
            .collect();
        let late = mean[..WINDOW].iter().sum::<f64>() / w;
        let scale = if name == VALUE_RPE || late == 0.0 {
            1.0
        } else {
            late
        };
        let points = mean
            .iter()
            .enumerate()
            .map(|(j, v)| (j as f64 - w, v / scale))
            .collect();
        if name == VALUE_RPE {
            rpe.series
                .push(Series::new(name.clone(), Rgb::BLACK, Mark::Line, points));
        } else {
            let color = colors[k % colors.len()];
            spe.series
                .push(Series::new(name.clone(), color, Mark::Line, points));
        }
    }
    Figure {
        panels: vec![spe, rpe],
        columns: 2,
        panel_size: (800, 560),
    }
}

#[cfg(test)]
mod tests {
    use super::super::world::SignalShift;
    use super::*;

    #[test]
    fn the_summary_pairs_each_seeds_early_and_late() {
        // Two seeds: early - late is 1 and 3 (mean 2), early / late 2 and 4 (geometric mean
        // sqrt 8), the first new outcome 3x and 12x the late level.
        let run = |late: f64, early: f64, first: f64| {
            let mut around = vec![late; WINDOW];
            around.push(first);
            around.extend(vec![early; WINDOW - 1]);
            let signals = signal_names()
                .into_iter()
                .map(|n| {
                    let shift = Shift { late, early };
                    (
                        n,
                        SignalShift {
                            shift,
                            around: around.clone(),
                        },
                    )
                })
                .collect();
            WorldShiftRun {
                seed: 0,
                valid_bound: 1.0,
                noise_floor: 0.9,
                learned: true,
                sessions: 1,
                shifts: 1,
                signals,
                encoded: None,
            }
        };
        let summary = summarise(&[run(1.0, 2.0, 3.0), run(1.0, 4.0, 12.0)]);
        assert_eq!(summary.len(), signal_names().len());
        let s = &summary[0];
        assert_eq!(s.difference.unwrap().mean, 2.0);
        assert!((s.ratio.unwrap().mean - 8f64.sqrt()).abs() < 1e-12);
        assert!((s.first.unwrap().mean - 6.0).abs() < 1e-12);
        assert_eq!((s.early_above_late, s.seeds), (2, 2));
    }

    #[test]
    fn on_the_designs_own_features_the_sr_model_goes_every_published_way() {
        use neuromod_dopamine::{
            chang_paradigm, sharpe_activation_paradigm, sharpe_inhibition_paradigm, Inhibition,
        };
        let own = |p: neuromod_dopamine::Paradigm| p.values(&p.design.x);
        let e = EncodedDesigns {
            valid_bounds: [0.0; 3],
            chang_outcome: own(chang_paradigm(Inhibition::Outcome)),
            chang_interval: own(chang_paradigm(Inhibition::Interval)),
            sharpe_inhibition: own(sharpe_inhibition_paradigm()),
            sharpe_activation: own(sharpe_activation_paradigm()),
        };
        let sr: Vec<bool> = checks().iter().map(|c| (c.2)(&e, true)).collect();
        let td: Vec<bool> = checks().iter().map(|c| (c.2)(&e, false)).collect();
        assert_eq!(sr, [true; 4]);
        // Value TD (V(Y) 0.124 > V(X) 0.109) unblocks without any perturbation, and has no
        // perturbation to answer.
        assert_eq!(td, [true, false, false, false]);
    }
}
