//! The outcome profile of the observed-reward task (`Task::Observed`): the reward's size is
//! part of the observation, so a world model can expect it and be surprised by it. Each
//! signal is read at the outcome of every held-out trial and set against the size: its mean
//! per size, its rank correlation with the size (signed: better is larger) and with the size's
//! surprisal -ln p (unsigned: rarer is larger), and its mean over better-than-expected and
//! worse-than-expected outcomes. Serotonin neurons signal unsigned surprise, dopamine neurons
//! signed errors (Matias et al. 2017, eLife): the unsigned SPE should follow the surprisal,
//! the RPE the size.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use neuromod_datasets::tasks::VARIABLE_MAGNITUDE;
use neuromod_plots::{Figure, Mark, Panel, Rgb, Series};
use neuromod_stats::{mean_correlation, spearman, Interval};
use serde::{Deserialize, Serialize};

use super::{RunResult, Task};

/// One signal at the outcome, against the reward's size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignalProfile {
    /// Mean (signed) per size, in [`VARIABLE_MAGNITUDE`] order (NaN: no trial of that size).
    pub by_size: Vec<f64>,
    /// Spearman correlation with the size over trials.
    pub with_size: f64,
    /// Spearman correlation with the size's surprisal -ln p over trials.
    pub with_surprisal: f64,
    /// Mean over outcomes larger than the expected reward.
    pub better: f64,
    /// Mean over outcomes smaller than it.
    pub worse: f64,
}

/// The expected reward of the task.
pub fn expected_reward() -> f64 {
    VARIABLE_MAGNITUDE.iter().map(|(v, p)| v * p).sum()
}

/// Each signal's profile: `values[k]` is signal `names[k]` over [trials, steps] (flat), read
/// at step `outcome` of each trial, whose reward `rewards[i][outcome]` is one of the sizes.
pub fn profile(
    names: &[String],
    values: &[Vec<f32>],
    rewards: &[Vec<f32>],
    (outcome, steps): (usize, usize),
) -> BTreeMap<String, SignalProfile> {
    let size: Vec<f64> = rewards.iter().map(|r| r[outcome] as f64).collect();
    let rank: Vec<Option<usize>> = size
        .iter()
        .map(|&r| {
            VARIABLE_MAGNITUDE
                .iter()
                .position(|&(v, _)| (v - r).abs() < 1e-6)
        })
        .collect();
    let surprisal: Vec<f64> = rank
        .iter()
        .map(|k| k.map_or(f64::NAN, |k| -VARIABLE_MAGNITUDE[k].1.ln()))
        .collect();
    let mean_r = expected_reward();
    names
        .iter()
        .zip(values)
        .map(|(name, v)| {
            let at: Vec<f64> = (0..size.len())
                .map(|i| v[i * steps + outcome] as f64)
                .collect();
            // Mean of the outcomes that `keep` (NaN when it keeps none).
            let mean_where = |keep: &dyn Fn(usize) -> bool| {
                let of: Vec<f64> = (0..at.len()).filter(|&i| keep(i)).map(|i| at[i]).collect();
                match of.is_empty() {
                    true => f64::NAN,
                    false => of.iter().sum::<f64>() / of.len() as f64,
                }
            };
            let by_size = (0..VARIABLE_MAGNITUDE.len())
                .map(|k| mean_where(&|i| rank[i] == Some(k)))
                .collect();
            let side = |better: bool| mean_where(&|i| (size[i] > mean_r) == better);
            let profile = SignalProfile {
                by_size,
                with_size: spearman(&at, &size),
                with_surprisal: spearman(&at, &surprisal),
                better: side(true),
                worse: side(false),
            };
            (name.clone(), profile)
        })
        .collect()
}

/// The observed task's profiles over seeds.
fn profiles(runs: &[RunResult]) -> Vec<&BTreeMap<String, SignalProfile>> {
    runs.iter()
        .filter(|r| r.task == Task::Observed)
        .filter_map(|r| r.outcome.as_ref())
        .collect()
}

/// The table over seeds (empty without the observed task).
pub fn markdown(runs: &[RunResult], names: &[String]) -> String {
    let seeds = profiles(runs);
    let Some(first) = seeds.first() else {
        return String::new();
    };
    let mut md = format!(
        "\n## Seen reward: each signal at the outcome against the reward's size ({} seeds)\n\n\
         Spearman correlations over held-out trials, averaged in Fisher z with their 95 % \
         interval; better / worse: mean signal over outcomes above / below the expected \
         reward ({:.2}), mean over seeds with its 95 % t interval.\n\n\
         | signal | with the size (signed) | with the surprisal -ln p (unsigned) | better | worse |\n\
         | --- | --- | --- | --- | --- |\n",
        seeds.len(),
        expected_reward()
    );
    let show = |i: Option<Interval>| i.map_or("-".into(), |i| i.show(2));
    for name in names.iter().filter(|n| first.contains_key(*n)) {
        let of = |f: &dyn Fn(&SignalProfile) -> f64| -> Vec<f64> {
            seeds.iter().map(|s| f(&s[name])).collect()
        };
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} |",
            show(mean_correlation(&of(&|p| p.with_size))),
            show(mean_correlation(&of(&|p| p.with_surprisal))),
            show(Interval::of(&of(&|p| p.better))),
            show(Interval::of(&of(&|p| p.worse))),
        );
    }
    md
}

/// Mean per size over the seeds that had a trial of that size (NaN where none had).
fn by_size(seeds: &[&BTreeMap<String, SignalProfile>], name: &str) -> Vec<f64> {
    (0..VARIABLE_MAGNITUDE.len())
        .map(|k| {
            let v: Vec<f64> = seeds
                .iter()
                .map(|s| s[name].by_size[k])
                .filter(|v| v.is_finite())
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        })
        .collect()
}

/// The mean of the finite values.
fn finite_mean(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    f.iter().sum::<f64>() / f.len() as f64
}

/// Per size: the state prediction errors scaled by their mean over sizes, and the RPE (signed,
/// reward units); None without the observed task.
pub fn figure(runs: &[RunResult]) -> Option<Figure> {
    let seeds = profiles(runs);
    if seeds.is_empty() {
        return None;
    }
    let sizes: Vec<String> = VARIABLE_MAGNITUDE
        .iter()
        .map(|(v, p)| format!("{v} (p {p})"))
        .collect();
    let mut spe = Panel::new(
        "Unsigned surprise at the outcome, by reward size",
        "reward size (probability)",
        "signal / its mean over sizes",
    )
    .with_categories(sizes.clone());
    spe.y_room = 0.35;
    let colors = [Rgb::BLUE, Rgb::ORANGE, Rgb::GREEN];
    for (name, color) in ["SPE norm", "KL surprise", "SF TD g=0.9"]
        .iter()
        .zip(colors)
    {
        let m = by_size(&seeds, name);
        let scale = finite_mean(&m);
        let pts = m
            .iter()
            .enumerate()
            .map(|(k, v)| ((k + 1) as f64, v / scale))
            .collect();
        spe.series.push(Series::new(*name, color, Mark::Line, pts));
    }
    let mut rpe = Panel::new(
        "Signed error at the outcome, by reward size",
        "reward size (probability)",
        "RPE (reward units)",
    )
    .with_categories(sizes);
    rpe.zero_line = true;
    let m = by_size(&seeds, "RPE mean");
    let pts = m
        .iter()
        .enumerate()
        .map(|(k, v)| ((k + 1) as f64, *v))
        .collect();
    rpe.series
        .push(Series::new("RPE mean", Rgb::RED, Mark::Line, pts));
    Some(Figure {
        panels: vec![spe, rpe],
        columns: 2,
        panel_size: (800, 560),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_and_an_unsigned_signal_are_told_apart() {
        // Trials of every size (each twice), 3 steps, the outcome at step 1 and junk at the
        // others: a signal equal to the size minus the expected reward (signed) and one equal
        // to the surprisal (unsigned).
        let sizes: Vec<f64> = VARIABLE_MAGNITUDE.iter().map(|(v, _)| *v).collect();
        let trials: Vec<usize> = (0..14).map(|i| i % 7).collect();
        let rewards: Vec<Vec<f32>> = trials
            .iter()
            .map(|&k| vec![0.0, sizes[k] as f32, 0.0])
            .collect();
        let at_outcome = |f: &dyn Fn(usize) -> f64| -> Vec<f32> {
            trials
                .iter()
                .flat_map(|&k| [1e6, f(k) as f32, -1e6])
                .collect()
        };
        let signed = at_outcome(&|k| sizes[k] - expected_reward());
        let unsigned = at_outcome(&|k| -VARIABLE_MAGNITUDE[k].1.ln());
        let names = vec!["signed".to_string(), "unsigned".to_string()];
        let p = profile(&names, &[signed, unsigned], &rewards, (1, 3));
        let (s, u) = (&p["signed"], &p["unsigned"]);
        assert!((s.with_size - 1.0).abs() < 1e-12 && (u.with_surprisal - 1.0).abs() < 1e-12);
        // The surprisal is U-shaped in size: 0.1 and 20 are rare, 5 is common (rho -0.357 over
        // the seven sizes, each twice here).
        assert!((u.with_size + 0.357).abs() < 0.01, "{}", u.with_size);
        assert!(s.better > 0.0 && s.worse < 0.0);
        // Better outcomes (10, 20) are rarer on average than worse ones (0.1 .. 5).
        let mean_surprisal = |ks: &[usize]| {
            ks.iter()
                .map(|&k| -VARIABLE_MAGNITUDE[k].1.ln())
                .sum::<f64>()
                / ks.len() as f64
        };
        assert!((u.better - mean_surprisal(&[5, 6])).abs() < 1e-5);
        assert!((u.worse - mean_surprisal(&[0, 1, 2, 3, 4])).abs() < 1e-5);
        assert!((s.by_size[6] - (20.0 - expected_reward())).abs() < 1e-5);
    }

    #[test]
    fn a_size_absent_in_one_seed_is_averaged_over_the_others() {
        let profile = |x: f64| SignalProfile {
            by_size: vec![x, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            with_size: 0.0,
            with_surprisal: 0.0,
            better: 0.0,
            worse: 0.0,
        };
        let a = BTreeMap::from([("s".to_string(), profile(f64::NAN))]);
        let b = BTreeMap::from([("s".to_string(), profile(3.0))]);
        assert_eq!(by_size(&[&a, &b], "s")[0], 3.0);
        assert!(by_size(&[&a, &a], "s")[0].is_nan());
    }
}
