//! A reward task: simulate distributional dopamine cells, measure reversal points and
//! asymmetries from independent halves of the recorded trials, decode the reward distribution
//! from them, and compare with the classic-TD null, decoding from the cells' internal values
//! and a Gaussian of the true mean and variance.

use std::fmt::Write as _;

use neuromod_dopamine::{
    decode_expectiles, decode_measured, decode_quantiles, gaussian_baseline_w1, simulate, spearman,
    wasserstein1, Correlation, RewardDistribution, Rule, TuningCurves,
};
use neuromod_plots::Format;
use serde::{Deserialize, Serialize};

use super::figures::Figures;
use super::noise::{self, NoisePoint};
use super::{nan, DopamineConfig, Files, DECODE};
use crate::ExperimentError;

/// Draws of the Gaussian baseline.
const GAUSSIAN_DRAWS: usize = 100_000;

/// Every number a reward-task run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RewardRun {
    /// The settings.
    pub config: DopamineConfig,
    /// The reward distribution: magnitudes and their probabilities.
    pub distribution: (Vec<f64>, Vec<f64>),
    /// Each cell's tau, a+ and a-.
    pub tau: Vec<f64>,
    /// Learning rate for positive errors.
    pub alpha_plus: Vec<f64>,
    /// Learning rate for negative errors.
    pub alpha_minus: Vec<f64>,
    /// Each cell's learned value.
    pub value: Vec<f64>,
    /// Each cell's response to the cue.
    pub cue_response: Vec<f64>,
    /// Measured reversal points (the first half of the recorded rounds).
    #[serde(with = "nan::vec")]
    pub reversal: Vec<f64>,
    /// Reversal points measured on the other half (split-half reliability).
    #[serde(with = "nan::vec", default)]
    pub reversal_other: Vec<f64>,
    /// Measured asymmetries (the other half).
    #[serde(with = "nan::vec")]
    pub asymmetry: Vec<f64>,
    /// Pearson r of the two halves' reversal points, with its p.
    pub split_half: Option<Correlation>,
    /// Spearman r of asymmetry and reversal point, with its p.
    pub asymmetry_reversal: Option<Correlation>,
    /// Cells with both measures finite.
    pub measured_cells: usize,
    /// Reward magnitudes of the tuning curves.
    pub magnitudes: Vec<f64>,
    /// Mean outcome response per cell and magnitude.
    #[serde(with = "nan::matrix")]
    pub tuning: Vec<Vec<f64>>,
    /// Samples decoded from the measurements.
    pub decoded: Vec<f64>,
    /// The decoder's loss.
    pub decode_loss: f64,
    /// Samples decoded from the cells' internal values and true taus.
    pub internal: Vec<f64>,
    /// The classic-TD null's measured reversal points and asymmetries.
    #[serde(with = "nan::vec")]
    pub null_reversal: Vec<f64>,
    /// Its measured asymmetries.
    #[serde(with = "nan::vec")]
    pub null_asymmetry: Vec<f64>,
    /// W1 of a Gaussian of the true mean and variance.
    pub w1_gaussian: f64,
    /// Decoding against firing noise.
    pub noise_sweep: Vec<NoisePoint>,
}

/// Simulates, measures and decodes.
pub fn run(config: &DopamineConfig) -> Result<RewardRun, ExperimentError> {
    let dist = config.distribution()?;
    let (cells, classic) = config.populations()?;
    let rule = config.rule;
    let cfg = config.trial_config();
    let sim = simulate(&cells, &dist, rule, &cfg);
    // Reversal points and asymmetries from independent halves of the recorded trials, and the
    // distribution decoded from them alone (as an experimenter would).
    let decode = (DECODE.0, DECODE.1, config.seed);
    let measured = decode_measured(&sim, rule, dist.range(), decode);
    let curves = TuningCurves::from_simulation(&sim, |_| true);
    // The reference no experiment has: decoding from the cells' internal values and true taus.
    let internal = match rule {
        Rule::Expectile => decode_expectiles(
            &cells.tau,
            &sim.value,
            dist.range(),
            DECODE.0,
            DECODE.1,
            config.seed,
        ),
        Rule::Quantile => decode_quantiles(&sim.value),
    };
    let w1_gaussian = gaussian_baseline_w1(&dist, GAUSSIAN_DRAWS, config.seed);
    let sweep = noise::sweep(&config.noise_sweep, (&cells, &dist, rule), &cfg);
    let null = simulate(&classic, &dist, rule, &cfg);
    Ok(RewardRun {
        config: config.clone(),
        distribution: (dist.values.clone(), dist.probs.clone()),
        tau: cells.tau.clone(),
        alpha_plus: cells.alpha_plus.clone(),
        alpha_minus: cells.alpha_minus.clone(),
        value: sim.value.clone(),
        cue_response: sim.cue_response.clone(),
        reversal: measured.reversal,
        reversal_other: measured.reversal_other,
        asymmetry: measured.asymmetry,
        split_half: Some(measured.split_half),
        asymmetry_reversal: Some(measured.asymmetry_reversal),
        measured_cells: measured.used,
        magnitudes: curves.magnitudes,
        tuning: curves.mean,
        decoded: measured.decoded.samples,
        decode_loss: measured.decoded.loss,
        internal: internal.samples,
        null_reversal: TuningCurves::half(&null, 0).reversal_points(),
        null_asymmetry: TuningCurves::half(&null, 1).asymmetries(),
        w1_gaussian,
        noise_sweep: sweep,
    })
}

impl RewardRun {
    fn dist(&self) -> RewardDistribution {
        RewardDistribution {
            values: self.distribution.0.clone(),
            probs: self.distribution.1.clone(),
        }
    }

    /// W1 to the true distribution of the samples decoded from measurements (None: nothing
    /// was measurable) and from internal values.
    fn w1(&self) -> (Option<f64>, f64) {
        let dist = self.dist();
        (
            (!self.decoded.is_empty()).then(|| wasserstein1(&self.decoded, &dist)),
            wasserstein1(&self.internal, &dist),
        )
    }

    /// What `summary.json` holds.
    pub fn summary(&self) -> serde_json::Value {
        let c = &self.config;
        let (w1_measured, w1_internal) = self.w1();
        let mean_of = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        // The analyses of the CLI contract: a number, or null with the reason in `undefined`.
        let (mut contract, mut undefined) = (serde_json::Map::new(), serde_json::Map::new());
        let nan = Correlation {
            r: f64::NAN,
            p: f64::NAN,
            n: 0,
        };
        let (sh, ar) = (
            self.split_half.unwrap_or(nan),
            self.asymmetry_reversal.unwrap_or(nan),
        );
        let few = |n: usize| {
            format!(
                "{n} cells have both measures; a correlation needs at least 3 and two that differ"
            )
        };
        for (key, value, why) in [
            ("spearman_asymmetry_reversal", ar.r, few(ar.n)),
            ("p_asymmetry_reversal", ar.p, few(ar.n)),
            ("split_half_reversal_r", sh.r, few(sh.n)),
            ("p_split_half", sh.p, few(sh.n)),
            (
                "w1_decoded",
                w1_measured.unwrap_or(f64::NAN),
                "no asymmetry is measurable (it needs at least three reward magnitudes)".into(),
            ),
        ] {
            if value.is_finite() {
                contract.insert(key.into(), value.into());
            } else {
                contract.insert(key.into(), serde_json::Value::Null);
                undefined.insert(key.into(), why.into());
            }
        }
        let mut out = serde_json::json!({
            "task": format!("{:?}", c.task),
            "model": c.model.name(),
            "rule": format!("{:?}", c.rule),
            "cells": c.cells,
            "trials": c.trials,
            "recorded_trials": c.recorded_trials,
            "noise": c.noise,
            "seed": c.seed,
            "spearman_tau_reversal": spearman(&self.tau, &self.reversal),
            "classic_td_spearman": spearman(&self.null_asymmetry, &self.null_reversal),
            "measured_cells": self.measured_cells,
            "w1_measured": w1_measured,
            "w1_internal": w1_internal,
            "w1_gaussian": self.w1_gaussian,
            "true_mean": self.dist().mean(),
            "decoded_mean": (!self.decoded.is_empty()).then(|| mean_of(&self.decoded)),
            "internal_mean": mean_of(&self.internal),
            "decode_loss": self.decode_loss,
            "noise_sweep": self.noise_sweep.iter().map(|p| serde_json::json!({
                "noise": p.noise, "w1_measured": p.w1, "measured_cells": p.used,
            })).collect::<Vec<_>>(),
            "undefined": undefined,
        });
        out.as_object_mut().expect("an object").extend(contract);
        out
    }

    /// cells.csv, tuning.csv, decoded.csv, noise.csv and the figures.
    pub(super) fn files(&self, format: Format) -> Result<Files, ExperimentError> {
        let mut cells_csv = String::from(
            "tau,alpha_plus,alpha_minus,value,reversal_point,asymmetry,cue_response\n",
        );
        for i in 0..self.tau.len() {
            let _ = writeln!(
                cells_csv,
                "{},{},{},{},{},{},{}",
                self.tau[i],
                self.alpha_plus[i],
                self.alpha_minus[i],
                self.value[i],
                self.reversal[i],
                self.asymmetry[i],
                self.cue_response[i]
            );
        }
        let mut tuning_csv = String::from("cell,tau,reward,mean_response\n");
        for (i, row) in self.tuning.iter().enumerate() {
            for (m, y) in self.magnitudes.iter().zip(row) {
                let _ = writeln!(tuning_csv, "{i},{},{m},{y}", self.tau[i]);
            }
        }
        let decoded_csv: String = std::iter::once("sample\n".to_string())
            .chain(self.decoded.iter().map(|s| format!("{s}\n")))
            .collect();
        let dist = self.dist();
        let curves = TuningCurves {
            magnitudes: self.magnitudes.clone(),
            mean: self.tuning.clone(),
        };
        let w1 = self.w1();
        let figures = Figures {
            tau: &self.tau,
            value: &self.value,
            theta: &self.reversal,
            null_asym: &self.null_asymmetry,
            null_theta: &self.null_reversal,
            curves: &curves,
            dist: &dist,
            decoded: (&self.decoded, &self.internal),
            w1,
        };
        let name = |stem: &str| format!("{stem}.{}", format.extension());
        let mut files = Files {
            written: vec![
                ("cells.csv".into(), cells_csv.into_bytes()),
                ("tuning.csv".into(), tuning_csv.into_bytes()),
                ("decoded.csv".into(), decoded_csv.into_bytes()),
                (
                    "noise.csv".into(),
                    noise::csv(&self.noise_sweep).into_bytes(),
                ),
                (name("reversal"), figures.reversal().render(format)?),
                (name("decoded"), figures.decoded().render(format)?),
                (name("tuning"), figures.tuning().render(format)?),
            ],
            notes: Vec::new(),
        };
        match noise::figure(&self.noise_sweep, w1.1, self.w1_gaussian) {
            Some(fig) => files.written.push((name("noise"), fig.render(format)?)),
            None if !self.noise_sweep.is_empty() => files.notes.push(
                "noise figure not drawn: no asymmetry is measurable on this task (it needs at \
                 least three reward magnitudes)"
                    .into(),
            ),
            None => {}
        }
        Ok(files)
    }
}
