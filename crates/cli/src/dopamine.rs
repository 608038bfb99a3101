//! `neuromod dopamine`: simulate distributional dopamine cells on a reward task, measure
//! reversal points, decode the reward distribution, and compare with the classic-TD null.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use neuromod_dopamine::{
    decode_expectiles, decode_quantiles, simulate, spearman, wasserstein1, Cells,
    RewardDistribution, Rule, TrialConfig, TuningCurves,
};
use neuromod_plots::{Figure, Mark, Panel, Rgb, Series};
use neuromod_train::write_atomic;

/// Reward tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// Mice variable-magnitude task (7 sizes, 0.1..20 ul).
    VariableMagnitude,
    /// A fixed reward with probability --probability.
    VariableProbability,
    /// The distribution given by --rewards.
    Custom,
}

/// Learning rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleArg {
    /// Linear asymmetric rule: tau-expectiles.
    Expectile,
    /// Sign rule: tau-quantiles.
    Quantile,
}

/// Arguments of `neuromod dopamine`.
#[derive(Args, Debug)]
pub struct DopamineArgs {
    /// Reward task.
    #[arg(long, value_enum, default_value = "variable-magnitude")]
    task: Task,
    /// Learning rule.
    #[arg(long, value_enum, default_value = "expectile")]
    rule: RuleArg,
    /// Number of cells (taus at (2i - 1) / 2N).
    #[arg(long, default_value_t = 40)]
    cells: usize,
    /// Learning trials.
    #[arg(long, default_value_t = 200_000)]
    trials: usize,
    /// Standard deviation of firing noise on recorded responses.
    #[arg(long, default_value_t = 1.0)]
    noise: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Reward probability for --task variable-probability (e.g. 0.1, 0.5, 0.9).
    #[arg(long, default_value_t = 0.5)]
    probability: f64,
    /// Distribution for --task custom: value:prob,value:prob,...
    #[arg(long)]
    rewards: Option<String>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: DopamineArgs) -> Result<()> {
    let dist = match args.task {
        Task::VariableMagnitude => RewardDistribution::variable_magnitude(),
        Task::VariableProbability => {
            RewardDistribution::variable_probability(args.probability, 1.0)?
        }
        Task::Custom => {
            let Some(text) = &args.rewards else {
                bail!("--task custom needs --rewards value:prob,value:prob,...");
            };
            RewardDistribution::parse(text).context("--rewards")?
        }
    };
    if args.trials < 10 {
        bail!("--trials must be at least 10, got {}", args.trials);
    }
    if !(args.noise.is_finite() && args.noise >= 0.0) {
        bail!("--noise must be a non-negative number, got {}", args.noise);
    }
    let rule = match args.rule {
        RuleArg::Expectile => Rule::Expectile,
        RuleArg::Quantile => Rule::Quantile,
    };
    let cfg = TrialConfig {
        trials: args.trials,
        noise: args.noise,
        seed: args.seed,
        ..TrialConfig::default()
    };
    let cells = Cells::spread(args.cells, cfg.lr).context("--cells")?;
    let sim = simulate(&cells, &dist, rule, &cfg);
    // Reversal points and asymmetries from independent halves of the recorded trials.
    let theta = TuningCurves::from_simulation(&sim, |k| k % 2 == 0).reversal_points();
    let asym = TuningCurves::from_simulation(&sim, |k| k % 2 == 1).asymmetries();
    let curves = TuningCurves::from_simulation(&sim, |_| true);
    let decoded = match rule {
        Rule::Expectile => {
            decode_expectiles(&cells.tau, &sim.value, dist.range(), 100, 200, args.seed)
        }
        Rule::Quantile => decode_quantiles(&sim.value),
    };
    let classic = Cells::classic(args.cells, cfg.lr)?;
    let null = simulate(&classic, &dist, rule, &cfg);
    let null_theta = TuningCurves::from_simulation(&null, |k| k % 2 == 0).reversal_points();
    let null_asym = TuningCurves::from_simulation(&null, |k| k % 2 == 1).asymmetries();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let mut cells_csv =
        String::from("tau,alpha_plus,alpha_minus,value,reversal_point,asymmetry,cue_response\n");
    for i in 0..cells.len() {
        writeln!(
            cells_csv,
            "{},{},{},{},{},{},{}",
            cells.tau[i],
            cells.alpha_plus[i],
            cells.alpha_minus[i],
            sim.value[i],
            theta[i],
            asym[i],
            sim.cue_response[i]
        )?;
    }
    let mut tuning_csv = String::from("cell,tau,reward,mean_response\n");
    for (i, row) in curves.mean.iter().enumerate() {
        for (m, y) in curves.magnitudes.iter().zip(row) {
            writeln!(tuning_csv, "{i},{},{m},{y}", cells.tau[i])?;
        }
    }
    let decoded_csv: String = std::iter::once("sample\n".to_string())
        .chain(decoded.samples.iter().map(|s| format!("{s}\n")))
        .collect();
    let w1 = wasserstein1(&decoded.samples, &dist);
    let summary = serde_json::json!({
        "task": format!("{:?}", args.task),
        "rule": format!("{:?}", args.rule),
        "cells": args.cells,
        "trials": args.trials,
        "noise": args.noise,
        "seed": args.seed,
        "spearman_tau_reversal": spearman(&cells.tau, &theta),
        "spearman_asymmetry_reversal": spearman(&asym, &theta),
        "classic_td_spearman": spearman(&null_asym, &null_theta),
        "w1_decoded": w1,
        "true_mean": dist.mean(),
        "decoded_mean": decoded.samples.iter().sum::<f64>() / decoded.samples.len().max(1) as f64,
        "decode_loss": decoded.loss,
    });
    let files = [
        ("cells.csv", cells_csv),
        ("tuning.csv", tuning_csv),
        ("decoded.csv", decoded_csv),
        ("summary.json", serde_json::to_string_pretty(&summary)?),
    ];
    let figures = Figures {
        tau: &cells.tau,
        value: &sim.value,
        theta: &theta,
        null_asym: &null_asym,
        null_theta: &null_theta,
        curves: &curves,
        dist: &dist,
        decoded: &decoded.samples,
        w1,
    };
    let pngs = [
        ("reversal.png", figures.reversal().to_png()?),
        ("decoded.png", figures.decoded().to_png()?),
        ("tuning.png", figures.tuning().to_png()?),
    ];
    let files = files
        .iter()
        .map(|(n, t)| (*n, t.as_bytes()))
        .chain(pngs.iter().map(|(n, b)| (*n, b.as_slice())));
    for (name, bytes) in files {
        let path = args.out.join(name);
        write_atomic(&path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// Everything the three PNG figures show.
struct Figures<'a> {
    tau: &'a [f64],
    value: &'a [f64],
    theta: &'a [f64],
    null_asym: &'a [f64],
    null_theta: &'a [f64],
    curves: &'a TuningCurves,
    dist: &'a RewardDistribution,
    decoded: &'a [f64],
    w1: f64,
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
    fn reversal(&self) -> Figure {
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
        let null = Panel::new(
            "Classic TD null (every tau = 0.5)",
            "measured asymmetry",
            "reversal point (reward units)",
        )
        .with(Series::new(
            "cells",
            Rgb::GREY,
            Mark::Dots,
            self.null_asym
                .iter()
                .copied()
                .zip(self.null_theta.iter().copied())
                .collect(),
        ));
        Figure {
            panels: vec![dist, null],
            columns: 2,
            panel_size: (760, 560),
        }
    }

    /// CDF of the decoded samples against the true reward distribution.
    fn decoded(&self) -> Figure {
        let mut truth = vec![(self.dist.values[0], 0.0)];
        let mut c = 0.0;
        for (v, p) in self.dist.values.iter().zip(&self.dist.probs) {
            c += p;
            truth.push((*v, c));
        }
        let mut sorted = self.decoded.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len().max(1) as f64;
        let mut decoded = vec![(sorted.first().copied().unwrap_or(0.0), 0.0)];
        decoded.extend(
            sorted
                .iter()
                .enumerate()
                .map(|(k, x)| (*x, (k + 1) as f64 / n)),
        );
        Figure::single(
            Panel::new(
                format!("Decoded vs true reward distribution (W1 = {:.3})", self.w1),
                "reward",
                "cumulative probability",
            )
            .with(Series::new("true", Rgb::BLACK, Mark::Steps, truth))
            .with(Series::new(
                "decoded from cells",
                Rgb::ORANGE,
                Mark::Steps,
                decoded,
            )),
        )
    }

    /// Each cell's mean outcome RPE against reward magnitude.
    fn tuning(&self) -> Figure {
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
