//! `neuromod bench plasticity`: its flags, into the experiments crate's config and runner.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use neuromod_experiments::plasticity::{PlasticityConfig, Task};
use neuromod_plots::Format;

use crate::device::DeviceChoice;

/// Arguments of `bench plasticity`.
#[derive(Args, Debug)]
pub struct PlasticityArgs {
    /// Tasks, comma-separated: pattern, delayed-match, evidence.
    #[arg(long, value_delimiter = ',', value_parser = plasticity_task, default_value = "pattern,delayed-match,evidence")]
    tasks: Vec<Task>,
    /// Rules, comma-separated (bptt among them).
    #[arg(long, value_delimiter = ',', default_value = "bptt,eprop,mdgl,modprop")]
    rules: Vec<String>,
    /// Seeds per task and rule (default 5).
    #[arg(long)]
    seeds: Option<usize>,
    /// Adam updates per run (default 300).
    #[arg(long)]
    iterations: Option<usize>,
    /// Trials per update (default 32).
    #[arg(long)]
    batch: Option<usize>,
    /// Adam's step size (default 3e-3).
    #[arg(long)]
    lr: Option<f64>,
    /// Output folder (must not hold a previous plasticity run).
    #[arg(long, default_value = "runs/bench-plasticity")]
    out: PathBuf,
    /// Figure file format.
    #[arg(long, value_enum, default_value = "png")]
    format: Format,
}

/// A task of `bench plasticity` by name.
fn plasticity_task(s: &str) -> Result<Task, String> {
    Task::ALL
        .into_iter()
        .find(|t| t.name() == s)
        .ok_or_else(|| {
            let names: Vec<_> = Task::ALL.iter().map(|t| t.name()).collect();
            format!("no task `{s}` (known: {})", names.join(", "))
        })
}

/// Runs `bench plasticity` (on ndarray: the rules' updates are small tensors).
pub fn run(a: PlasticityArgs) -> Result<()> {
    let d = PlasticityConfig::default();
    let config = PlasticityConfig {
        tasks: a.tasks,
        rules: a.rules,
        seeds: a.seeds.unwrap_or(d.seeds),
        iterations: a.iterations.unwrap_or(d.iterations),
        batch: a.batch.unwrap_or(d.batch),
        lr: a.lr.unwrap_or(d.lr),
    };
    crate::bench::experiment(&config, DeviceChoice::Ndarray, &a.out, a.format, false)
}
