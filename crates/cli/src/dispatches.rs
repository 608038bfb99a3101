//! `neuromod bench dispatches`: how many compute dispatches (kernel launches) one training step
//! submits on a Cube device (wgpu), counted by cubecl's own profiling logger.
//!
//! Fresh `bench unit` processes time the same `bench speed` setup in one temporary folder whose
//! `cubecl.toml` turns on the profiling logger at level `minimal` (a line `Executing ...` per
//! kernel run) into a file and keeps cubecl's environment (autotune results, compiled kernels)
//! in that folder. cubecl writes the log from a background thread, so a line or two queued when
//! a process exits can be lost: counts are good to about one dispatch. A first process tunes
//! and compiles (its count is discarded); then one with 1 and one with 3 timed steps after the
//! warm-up step load the same tuned kernels, so the difference of their counts, halved, is one
//! training step without set-up. (Without the shared tuning, a cold compiler cache made the
//! two processes pick different kernels by timing and the difference meaningless.)

use std::path::Path;

use anyhow::{Context as _, Result};
use clap::Args;
use neuromod_experiments::speed::{Setup, Size, Variant, CRITIC_TRANSITIONS};
use neuromod_train::ModelKind;
use serde::Serialize;

use crate::device::{self, DeviceChoice};
use crate::step::timed_process;

/// The configuration cubecl reads from the working folder: every kernel run, one line, to a
/// file; cubecl's environment (autotune results, compiled kernels) kept in that folder, shared
/// by the processes of one count and by no other run.
const CUBECL_TOML: &str = "[profiling.logger]\nlevel = \"minimal\"\nfile = \"kernels.log\"\n\n\
                           [environment]\npath = \"local\"\n";

/// Arguments of `bench dispatches`.
#[derive(Args, Debug)]
pub struct DispatchArgs {
    /// Compute device (a Cube backend: wgpu, or cuda in a build with the `cuda` feature).
    #[arg(long, value_enum, default_value = "wgpu")]
    device: DeviceChoice,
    /// World-model family.
    #[arg(long, value_parser = crate::model_parser(), default_value = "vrnn")]
    model: ModelKind,
    /// Time steps per sequence.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Model size.
    #[arg(long, value_enum, default_value = "small")]
    size: Size,
    /// What the step trains: the world model, plus SF heads (the SPE's TD loss), plus the
    /// critic (its pairwise loss, on the bench's 256 transitions), as `bench speed` times them.
    #[arg(long, value_enum, default_value = "world-model")]
    variant: Variant,
}

/// What `bench dispatches` prints, as one JSON line.
#[derive(Debug, Serialize)]
struct Count {
    model: &'static str,
    device: &'static str,
    size: Size,
    variant: Variant,
    /// `auto` (each chain's kernels) or `composed` (`NEUROMOD_KERNELS=composed`).
    kernels: &'static str,
    batch: usize,
    steps: usize,
    /// Kernel runs of one training step (forward, backward, clipping, Adam).
    dispatches_per_training_step: f64,
    /// The same over the time steps.
    dispatches_per_time_step: f64,
    /// Kernel runs of the process with one timed step: set-up, warm-up and one step.
    dispatches_with_one_step: usize,
}

/// `Executing` lines of a cubecl profiling log (0 when there is no log: no kernel ran).
fn executed(log: &Path) -> Result<usize> {
    match std::fs::read_to_string(log) {
        Ok(text) => Ok(text.lines().filter(|l| l.contains("Executing")).count()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e).with_context(|| format!("reading {}", log.display())),
    }
}

/// Kernel runs of a fresh process timing `setup` on `device` in `dir` (which holds the
/// configuration; the log is removed afterwards).
fn count(setup: Setup, device: &str, dir: &Path) -> Result<usize> {
    timed_process(setup, device, Some(dir))?;
    let log = dir.join("kernels.log");
    let n = executed(&log)?;
    if log.exists() {
        std::fs::remove_file(&log).with_context(|| format!("removing {}", log.display()))?;
    }
    Ok(n)
}

/// Counts and prints.
pub fn run(a: DispatchArgs) -> Result<()> {
    let name = device::probe(a.device)?;
    if !matches!(name, "wgpu" | "cuda") {
        anyhow::bail!(
            "--device: dispatches are counted on a Cube backend (wgpu or cuda); {name} runs no \
             cubecl kernels"
        );
    }
    if a.steps == 0 || a.batch == 0 {
        anyhow::bail!("--steps and --batch must be at least 1");
    }
    let setup = |reps| Setup {
        model: a.model,
        size: a.size,
        variant: a.variant,
        batch: a.batch,
        steps: a.steps,
        reps,
        critic_transitions: CRITIC_TRANSITIONS,
    };
    let dir = tempfile::tempdir().context("creating a folder for cubecl's log")?;
    std::fs::write(dir.path().join("cubecl.toml"), CUBECL_TOML).context("writing cubecl.toml")?;
    count(setup(1), name, dir.path())?; // tunes and compiles
    let one = count(setup(1), name, dir.path())?;
    let three = count(setup(3), name, dir.path())?;
    if one == 0 || three < one {
        anyhow::bail!(
            "cubecl logged {one} and {three} kernel runs for 1 and 3 steps: its profiling logger \
             did not record this run"
        );
    }
    let per_step = (three - one) as f64 / 2.0;
    let line = Count {
        model: a.model.name(),
        device: name,
        size: a.size,
        variant: a.variant,
        kernels: if neuromod_kernels::kernels_env().unwrap_or(false) {
            "composed"
        } else {
            "auto"
        },
        batch: a.batch,
        steps: a.steps,
        dispatches_per_training_step: per_step,
        dispatches_per_time_step: per_step / a.steps as f64,
        dispatches_with_one_step: one,
    };
    println!("{}", serde_json::to_string(&line)?);
    Ok(())
}
