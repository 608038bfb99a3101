//! The three-cue task: the variable-probability task of Dabney et al. (2020)
//! in one population. Cues predict a reward of 1 with p = 0.1, 0.5 and 0.9; each cell's
//! response to the 50 % cue is placed between its responses to the 10 % and 90 % cues
//! (`relative_response`: 0.5 for classic TD), and compared with the asymmetry measured from the
//! same cells in a separate variable-magnitude session (two magnitudes cannot give one).

use neuromod_core::ConfigError;
use std::fmt::Write as _;

use neuromod_dopamine::{
    decode_measured, fisher_interval, relative_response, simulate, simulate_cues, spearman,
    RewardDistribution, CUE_PROBABILITIES, CUE_REWARD,
};
use neuromod_plots::{Corner, Figure, Format, Mark, Panel, Rgb, Series};
use serde::{Deserialize, Serialize};

use super::{nan, DopamineConfig, Files};
use crate::ExperimentError;

/// Every number a three-cue run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CuesRun {
    /// The settings.
    pub config: DopamineConfig,
    /// Each cell's true tau.
    pub tau: Vec<f64>,
    /// Its asymmetry measured on a variable-magnitude session.
    #[serde(with = "nan::vec")]
    pub tau_measured: Vec<f64>,
    /// Its responses to the 10 %, 50 % and 90 % cues.
    pub responses: [Vec<f64>; 3],
    /// Its response to the 50 % cue placed between the other two (0.5 for classic TD).
    #[serde(with = "nan::vec")]
    pub relative: Vec<f64>,
    /// The same for the classic-TD cells.
    #[serde(with = "nan::vec")]
    pub null_relative: Vec<f64>,
}

/// Runs the task for the distributional cells and the classic-TD null.
pub fn run(config: &DopamineConfig) -> Result<CuesRun, ExperimentError> {
    let (cells, classic) = config.populations()?;
    let (rule, cfg) = (config.rule, config.trial_config());
    let cues: Vec<RewardDistribution> = CUE_PROBABILITIES
        .iter()
        .map(|&p| RewardDistribution::variable_probability(p, CUE_REWARD))
        .collect::<Result<_, _>>()
        .map_err(|e| ExperimentError::Config(ConfigError::new("task", e.to_string())))?;
    let relative = |sim: &neuromod_dopamine::CueSimulation, i: usize| {
        let r = |c: usize| sim.cue_response[c][i];
        relative_response(r(0), r(1), r(2))
    };
    let sim = simulate_cues(&cells, &cues, rule, &cfg);
    let rho: Vec<f64> = (0..cells.len()).map(|i| relative(&sim, i)).collect();
    // Asymmetries measured on the same cells in a variable-magnitude session.
    let magnitude = RewardDistribution::variable_magnitude();
    let session = simulate(&cells, &magnitude, rule, &cfg);
    let tau_hat = decode_measured(&session, rule, magnitude.range(), (1, 1, cfg.seed)).asymmetry;
    let null = simulate_cues(&classic, &cues, rule, &cfg);
    let null_rho: Vec<f64> = (0..classic.len()).map(|i| relative(&null, i)).collect();
    Ok(CuesRun {
        config: config.clone(),
        tau: cells.tau.clone(),
        tau_measured: tau_hat,
        responses: [0, 1, 2].map(|c| sim.cue_response[c].clone()),
        relative: rho,
        null_relative: null_rho,
    })
}

impl CuesRun {
    /// What `summary.json` holds.
    pub fn summary(&self) -> serde_json::Value {
        let (tau_hat, rho) = (&self.tau_measured, &self.relative);
        let pairs = tau_hat
            .iter()
            .zip(rho)
            .filter(|(t, r)| t.is_finite() && r.is_finite())
            .count();
        let rs = spearman(tau_hat, rho);
        let side = |optimistic: bool| {
            let (mut n, mut hit) = (0usize, 0usize);
            for (t, r) in tau_hat.iter().zip(rho) {
                if t.is_finite() && r.is_finite() && (*t > 0.5) == optimistic && *t != 0.5 {
                    n += 1;
                    hit += usize::from((*r > 0.5) == optimistic);
                }
            }
            serde_json::json!({ "cells": n, "on_their_side": hit })
        };
        let null_dev: Vec<f64> = self.null_relative.iter().map(|r| (r - 0.5).abs()).collect();
        let c = &self.config;
        serde_json::json!({
            "task": "ThreeCues",
            "probabilities": CUE_PROBABILITIES,
            "cells": self.tau.len(),
            "trials": c.trials,
            "noise": c.noise,
            "seed": c.seed,
            "spearman_asymmetry_relative_response": rs,
            "spearman_interval": fisher_interval(rs, pairs, true),
            "pairs": pairs,
            "optimistic_above_half": side(true),
            "pessimistic_below_half": side(false),
            "classic_td_mean_abs_deviation_from_half":
                null_dev.iter().sum::<f64>() / null_dev.len().max(1) as f64,
        })
    }

    /// cues.csv and the figure.
    pub(super) fn files(&self, format: Format) -> Result<Files, ExperimentError> {
        let mut csv =
            String::from("cell,tau,tau_measured,response_10,response_50,response_90,relative_50\n");
        for i in 0..self.tau.len() {
            let r = |c: usize| self.responses[c][i];
            let _ = writeln!(
                csv,
                "{i},{},{},{},{},{},{}",
                self.tau[i],
                self.tau_measured[i],
                r(0),
                r(1),
                r(2),
                self.relative[i]
            );
        }
        let fig = figure(&self.tau_measured, &self.relative, &self.null_relative);
        Ok(Files {
            written: vec![
                ("cues.csv".into(), csv.into_bytes()),
                (format!("cues.{}", format.extension()), fig.render(format)?),
            ],
            notes: Vec::new(),
        })
    }
}

/// Relative response to the 50 % cue against measured asymmetry; classic-TD cells at 0.5.
fn figure(tau_hat: &[f64], rho: &[f64], null_rho: &[f64]) -> Figure {
    let group = |optimistic: bool| -> Vec<(f64, f64)> {
        tau_hat
            .iter()
            .zip(rho)
            .filter(|(t, _)| (**t > 0.5) == optimistic)
            .map(|(t, r)| (*t, *r))
            .collect()
    };
    let xs = tau_hat.iter().copied().filter(|t| t.is_finite());
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
        (a.min(t), b.max(t))
    });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let mut panel = Panel::new(
        "Variable probability: response to the 50 % cue between the 10 % and 90 % cues",
        "asymmetry measured on a variable-magnitude session",
        "relative response to the 50 % cue",
    )
    .with(Series::new(
        "classic TD (halfway)",
        Rgb::BLACK,
        Mark::Line,
        vec![(lo, 0.5), (hi, 0.5)],
    ))
    .with(Series::new(
        "optimistic (measured tau > 0.5)",
        Rgb::RED,
        Mark::Dots,
        group(true),
    ))
    .with(Series::new(
        "pessimistic (measured tau < 0.5)",
        Rgb::BLUE,
        Mark::Dots,
        group(false),
    ))
    .with(Series::new(
        "classic-TD cells (tau = 0.5)",
        Rgb::GREY,
        Mark::Dots,
        null_rho.iter().map(|r| (0.5, *r)).collect(),
    ));
    // Optimistic cells lie above one half, pessimistic ones to the left: the lower right is free.
    panel.legend = Corner::LowerRight;
    Figure::single(panel)
}
