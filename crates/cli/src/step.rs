//! `neuromod bench step`: the time of one training step of a family on one device, at any batch
//! and sequence length, measured in a fresh process (the `bench speed` unit: one warm-up step,
//! then `--reps` timed steps) and printed as one JSON line; `scripts/gpu-bench.sh` reads it.

use std::path::Path;

use anyhow::{Context as _, Result};
use clap::Args;
use neuromod_experiments::speed::{
    Setup, Size, SpeedConfig, SpeedUnit, SpeedUnitResult, Timing, Variant,
};
use neuromod_experiments::{Experiment, Invocation};
use neuromod_train::ModelKind;
use serde::Serialize;

use crate::bench::unit_process;
use crate::device::{self, DeviceChoice};

/// Arguments of `bench step`.
#[derive(Args, Debug)]
pub struct StepArgs {
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// World-model family.
    #[arg(long, value_parser = crate::model_parser(), default_value = "vrnn")]
    model: ModelKind,
    /// Time steps per sequence.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Model size.
    #[arg(long, value_enum, default_value = "bench")]
    size: Size,
    /// Timed steps after one warm-up step.
    #[arg(long, default_value_t = 10)]
    reps: usize,
}

/// What `bench step` prints, as one JSON line.
#[derive(Debug, Serialize)]
struct StepLine {
    model: &'static str,
    device: &'static str,
    size: Size,
    batch: usize,
    steps: usize,
    reps: usize,
    /// Median milliseconds per training step (forward, backward, clipping, Adam).
    ms_median: f64,
    /// Fastest step.
    ms_min: f64,
    /// Sequences per second at the median.
    sequences_per_s: f64,
    /// Peak resident (host) memory of the process, MiB.
    peak_rss_mib: Option<f64>,
}

/// Times `setup` on `device` in a fresh `bench unit` process (working in `cwd` if given).
pub fn timed_process(setup: Setup, device: &str, cwd: Option<&Path>) -> Result<Timing> {
    let unit = SpeedUnit::Time {
        device: device.to_string(),
        setup,
        round: None,
    };
    let call = Invocation {
        experiment: SpeedConfig::NAME,
        device: device.to_string(),
        config: serde_json::to_string(&SpeedConfig {
            devices: vec![device.to_string()],
            model: setup.model,
            size: setup.size,
            reps: setup.reps,
            critic_transitions: 0,
            sweep: false,
            pairs: 0,
            peer_rounds: 0,
        })?,
        unit: serde_json::to_string(&unit)?,
    };
    let out = unit_process(&call, cwd)?;
    match serde_json::from_str(&out).context("reading the timing unit's result")? {
        SpeedUnitResult::Timed { timing, .. } => Ok(timing),
        other => anyhow::bail!("the timing unit answered {other:?}"),
    }
}

/// Times and prints.
pub fn run(a: StepArgs) -> Result<()> {
    if a.steps == 0 || a.batch == 0 || a.reps == 0 {
        anyhow::bail!("--steps, --batch and --reps must be at least 1");
    }
    let name = device::probe(a.device)?;
    let setup = Setup {
        model: a.model,
        size: a.size,
        variant: Variant::WorldModel,
        batch: a.batch,
        steps: a.steps,
        reps: a.reps,
        critic_transitions: 0,
    };
    let t = timed_process(setup, name, None)?;
    let line = StepLine {
        model: a.model.name(),
        device: name,
        size: a.size,
        batch: a.batch,
        steps: a.steps,
        reps: t.reps,
        ms_median: t.ms_median,
        ms_min: t.ms_min,
        sequences_per_s: a.batch as f64 / (t.ms_median / 1000.0),
        peak_rss_mib: t.peak_rss_mib,
    };
    println!("{}", serde_json::to_string(&line)?);
    Ok(())
}
