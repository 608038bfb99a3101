//! `neuromod dopamine`: simulate distributional dopamine cells on a reward task, measure
//! reversal points, decode the reward distribution, and compare with the classic-TD null.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use neuromod_dopamine::{
    decode_expectiles, decode_measured, decode_quantiles, gaussian_baseline_w1, simulate, spearman,
    wasserstein1, Cells, RewardDistribution, Rule, TrialConfig, TuningCurves,
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
    /// Three cues predicting a reward of 1 with p = 0.1, 0.5, 0.9 in one population (Dabney et
    /// al. 2020); asymmetries measured on a variable-magnitude session of the same cells.
    ThreeCues,
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
    /// Firing-noise levels of the decoding-against-noise sweep (noise.csv, noise.png), each a
    /// fresh simulation with the same seed; `--noise-sweep` with no value skips it.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "0,0.5,1,2")]
    noise_sweep: Vec<f64>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Figure file format.
    #[arg(long, value_enum, default_value = "png")]
    format: crate::figure_format::FigureFormat,
}

/// Samples, starts of the expectile decoder.
pub(crate) const DECODE: (usize, usize) = (100, 200);
/// Draws of the Gaussian baseline.
const GAUSSIAN_DRAWS: usize = 100_000;

pub fn run(args: DopamineArgs) -> Result<()> {
    let dist = match args.task {
        Task::VariableMagnitude => RewardDistribution::variable_magnitude(),
        Task::VariableProbability => {
            RewardDistribution::variable_probability(args.probability, 1.0)?
        }
        // Only used for the checks below; the cues are set in `dopamine_cues`.
        Task::ThreeCues => RewardDistribution::variable_probability(0.5, 1.0)?,
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
    if let Some(n) = std::iter::once(&args.noise)
        .chain(&args.noise_sweep)
        .find(|n| !(n.is_finite() && **n >= 0.0))
    {
        bail!("--noise and --noise-sweep take non-negative numbers, got {n}");
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
    if args.task == Task::ThreeCues {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("{}: cannot create", args.out.display()))?;
        let classic = Cells::classic(args.cells, cfg.lr)?;
        let summary =
            crate::dopamine_cues::run((&cells, &classic), rule, &cfg, &args.out, args.format)?;
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(());
    }
    let sim = simulate(&cells, &dist, rule, &cfg);
    // Reversal points and asymmetries from independent halves of the recorded trials, and the
    // distribution decoded from them alone (as an experimenter would).
    let decode = (DECODE.0, DECODE.1, args.seed);
    let measured = decode_measured(&sim, rule, dist.range(), decode);
    let (theta, asym) = (&measured.reversal, &measured.asymmetry);
    let curves = TuningCurves::from_simulation(&sim, |_| true);
    // The reference no experiment has: decoding from the cells' internal values and true taus.
    let internal = match rule {
        Rule::Expectile => decode_expectiles(
            &cells.tau,
            &sim.value,
            dist.range(),
            DECODE.0,
            DECODE.1,
            args.seed,
        ),
        Rule::Quantile => decode_quantiles(&sim.value),
    };
    let w1_gaussian = gaussian_baseline_w1(&dist, GAUSSIAN_DRAWS, args.seed);
    let sweep = crate::dopamine_noise::sweep(&args.noise_sweep, (&cells, &dist, rule), &cfg);
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
        .chain(measured.decoded.samples.iter().map(|s| format!("{s}\n")))
        .collect();
    let w1_of = |samples: &[f64]| (!samples.is_empty()).then(|| wasserstein1(samples, &dist));
    let (w1_measured, w1_internal) = (
        w1_of(&measured.decoded.samples),
        wasserstein1(&internal.samples, &dist),
    );
    let mean_of = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let summary = serde_json::json!({
        "task": format!("{:?}", args.task),
        "rule": format!("{:?}", args.rule),
        "cells": args.cells,
        "trials": args.trials,
        "noise": args.noise,
        "seed": args.seed,
        "spearman_tau_reversal": spearman(&cells.tau, theta),
        "spearman_asymmetry_reversal": spearman(asym, theta),
        "classic_td_spearman": spearman(&null_asym, &null_theta),
        "measured_cells": measured.used,
        "w1_measured": w1_measured,
        "w1_internal": w1_internal,
        "w1_gaussian": w1_gaussian,
        "true_mean": dist.mean(),
        "decoded_mean": (!measured.decoded.samples.is_empty())
            .then(|| mean_of(&measured.decoded.samples)),
        "internal_mean": mean_of(&internal.samples),
        "decode_loss": measured.decoded.loss,
        "noise_sweep": sweep.iter().map(|p| serde_json::json!({
            "noise": p.noise, "w1_measured": p.w1, "measured_cells": p.used,
        })).collect::<Vec<_>>(),
    });
    let files = [
        ("cells.csv", cells_csv),
        ("tuning.csv", tuning_csv),
        ("decoded.csv", decoded_csv),
        ("summary.json", serde_json::to_string_pretty(&summary)?),
        ("noise.csv", crate::dopamine_noise::csv(&sweep)),
    ];
    let figures = Figures {
        tau: &cells.tau,
        value: &sim.value,
        theta,
        null_asym: &null_asym,
        null_theta: &null_theta,
        curves: &curves,
        dist: &dist,
        decoded: (&measured.decoded.samples, &internal.samples),
        w1: (w1_measured, w1_internal),
    };
    let format = args.format;
    let name = |stem: &str| crate::figure_format::file_name(stem, format);
    let mut pngs = vec![
        (name("reversal"), figures.reversal().render(format.into())?),
        (name("decoded"), figures.decoded().render(format.into())?),
        (name("tuning"), figures.tuning().render(format.into())?),
    ];
    match crate::dopamine_noise::figure(&sweep, w1_internal, w1_gaussian) {
        Some(fig) => pngs.push((name("noise"), fig.render(format.into())?)),
        None if !sweep.is_empty() => eprintln!(
            "noise figure not drawn: no asymmetry is measurable on this task (it needs at least \
             three reward magnitudes)"
        ),
        None => {}
    }
    let files = files
        .iter()
        .map(|(n, t)| (*n, t.as_bytes()))
        .chain(pngs.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
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
    /// Samples decoded from measurements and from internal values.
    decoded: (&'a [f64], &'a [f64]),
    /// Their W1 to the true distribution (None: nothing was measurable).
    w1: (Option<f64>, f64),
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
    fn decoded(&self) -> Figure {
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
