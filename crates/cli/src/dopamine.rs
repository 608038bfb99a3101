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
    for (name, text) in files {
        let path = args.out.join(name);
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
