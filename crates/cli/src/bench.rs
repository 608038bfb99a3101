//! `neuromod bench science|relearn|speed` and `neuromod dopamine`: each parses its flags into
//! the experiment's config and hands it to the experiments crate's runner.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use neuromod_experiments::dabney::DabneyConfig;
use neuromod_experiments::dopamine::DopamineConfig;
use neuromod_experiments::identity::IdentityConfig;
use neuromod_experiments::plasticity::PlasticityConfig;
use neuromod_experiments::relearn::RelearnConfig;
use neuromod_experiments::science::{ScienceConfig, Task};
use neuromod_experiments::speed::{Size, SpeedConfig, CRITIC_TRANSITIONS};
use neuromod_experiments::{Experiment, ExperimentError, Invocation};
use neuromod_plots::Format;
use neuromod_train::ModelKind;

use crate::device::{self, DeviceChoice};

const DEFAULT_SCIENCE_OUT: &str = "runs/bench-science";

/// `neuromod bench ...`.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Which signal answers which surprise: response ratios with 95% intervals over seeds,
    /// and SPE-gated reward learning on the switch task (Markdown, JSON, PNG).
    Science(ScienceArgs),
    /// Milliseconds per training step (world model, + SPE, + critic), scaling in T and batch,
    /// peak memory (Markdown, JSON).
    Speed(SpeedArgs),
    /// A real contingency switch: a world model of the old rule relearns online after a
    /// switch at a random step (optionally under sensory noise); a critic learns with its rate
    /// damped or boosted by surprise or by uncertainty, ungated, paused by an oracle, or not at
    /// all (Markdown, JSON, PNG).
    Relearn(RelearnArgs),
    /// Dabney et al. 2020 at the paper's sizes: split-half reliability, asymmetry vs reversal
    /// point, optimism across tasks and decoding controls, per simulated animal, for the
    /// distributional cells and each null model (Markdown, JSON, PNG).
    Dabney(DabneyArgs),
    /// Identity prediction errors (Takahashi 2017, Chang 2017, Sharpe 2017): TD over successor
    /// features vs value TD beside the published data, and the identity shift learned by a
    /// world model, its SF TD errors beside a critic's RPE (Markdown, JSON, PNG).
    Identity(IdentityArgs),
    /// Learning rules (BPTT, e-prop, MDGL, ModProp) on pattern generation, delayed
    /// match-to-sample and evidence accumulation with a six-cell-type network: final losses
    /// and gaps to BPTT over seeds, learning curves (Markdown, JSON, PNG).
    Plasticity(crate::plasticity::PlasticityArgs),
    /// Compute dispatches (kernel launches) of one training step on wgpu, counted by cubecl's
    /// profiling logger: one JSON line.
    Dispatches(crate::dispatches::DispatchArgs),
    /// The time of one training step of a family on one device at any batch and T, in a fresh
    /// process: one JSON line.
    Step(crate::step::StepArgs),
    /// Internal: runs one unit of an experiment (JSON in, JSON out) for an isolating parent.
    #[command(hide = true)]
    Unit(UnitArgs),
}

/// Arguments of `bench relearn`.
#[derive(Args, Debug)]
pub struct RelearnArgs {
    /// Seeds (0..N).
    #[arg(long, default_value_t = 10)]
    seeds: usize,
    /// World-model family (its filtering posterior).
    #[arg(long, value_parser = crate::model_parser(), default_value = "vrnn")]
    model: ModelKind,
    /// Adam steps of the world model after each window of the stream (0: it stops learning).
    #[arg(long, default_value_t = 5)]
    online_updates: usize,
    /// Adam learning rate of those steps.
    #[arg(long, default_value_t = 3e-3)]
    online_lr: f64,
    /// The critic's online SGD learning rate (before the gate).
    #[arg(long, default_value_t = 0.01)]
    critic_lr: f64,
    /// Sensory noise: probability that a pixel shows the opposite value.
    #[arg(long, default_value_t = 0.0)]
    flip: f64,
    /// Steps the recent-window gates are normalised on.
    #[arg(long, default_value_t = 50)]
    gate_window: usize,
    /// Steps from the true switch during which the oracle critic does not learn.
    #[arg(long, default_value_t = 20)]
    oracle_pause: usize,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// Output folder (must not hold a previous relearn run).
    #[arg(long, default_value = "runs/bench-relearn")]
    out: PathBuf,
}

/// Arguments of `bench science`.
#[derive(Args, Debug)]
pub struct ScienceArgs {
    /// Seeds per task (0..N).
    #[arg(long, default_value_t = 5)]
    seeds: usize,
    /// Tasks to run (default: all seven).
    #[arg(long, value_enum, value_delimiter = ',')]
    tasks: Vec<Task>,
    /// World-model epochs per task and seed.
    #[arg(long, default_value_t = 80)]
    epochs: usize,
    /// Critic training passes.
    #[arg(long, default_value_t = 60)]
    critic_epochs: usize,
    /// World-model family (its filtering posterior).
    #[arg(long, value_parser = crate::model_parser(), default_value = "vrnn")]
    model: ModelKind,
    /// Sequences per task (70% train, 10% valid, 20% measured).
    #[arg(long, default_value_t = 200)]
    sequences: usize,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// Output folder (must not hold a previous science run).
    #[arg(long, default_value = DEFAULT_SCIENCE_OUT)]
    out: PathBuf,
    /// Run nothing: redraw the Markdown and figures of this earlier `science.json` into
    /// --out (its own folder when --out is not given).
    #[arg(long)]
    report_from: Option<PathBuf>,
    /// Figure file format.
    #[arg(long, value_enum, default_value = "png")]
    format: Format,
}

/// Arguments of `bench speed`.
#[derive(Args, Debug)]
pub struct SpeedArgs {
    /// Devices to time, comma-separated (auto resolves to one).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "ndarray")]
    device: Vec<DeviceChoice>,
    /// Model size: bench (x 88, H 256, Z 32, hidden 256) or small (x 16, H 64, Z 8, hidden 64,
    /// for slow devices such as lavapipe).
    #[arg(long, value_enum, default_value = "bench")]
    size: Size,
    /// World-model family to time (the --peers comparison: PyTorch and JAX for the VRNN, JAX
    /// for the DKF and SRNN).
    #[arg(long, default_value = "vrnn", value_parser = crate::model_parser())]
    model: ModelKind,
    /// Timed steps per configuration (after one warm-up step).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Transitions the critic trains on per step, drawn from the batch (0: all B (T - 1));
    /// default 256, the critic's batch in `bench science`.
    #[arg(long, default_value_t = CRITIC_TRANSITIONS)]
    critic_transitions: usize,
    /// Time every configuration in this process instead of a fresh child process each (peak
    /// memory then includes what earlier configurations left with the allocator; one device).
    #[arg(long)]
    in_process: bool,
    /// Pairs of steps (world model, then SPE + critic, in turn in one process) that measure
    /// the SPE + critic overhead at batch 32, T 100 step against step (0: skip)
    #[arg(long, default_value_t = 30)]
    pairs: usize,
    /// Output folder.
    #[arg(long, default_value = "runs/bench-speed")]
    out: PathBuf,
    /// Also time the same training step of --model in JAX (jit + lax.scan) and, for the VRNN,
    /// PyTorch (eager) at the bench config (batch 32, T 100), in turn with neuromod on each
    /// --device, and print a ratio table (comparison.md). Needs python3 with jax (and torch;
    /// `pip install -r benches/peers/requirements.txt`); a missing framework is reported as
    /// skipped.
    #[arg(long)]
    peers: bool,
    /// Rounds of the --peers comparison (each times every implementation once).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Skip the scaling sweep (T, batch, variants): with --peers, only the comparison.
    #[arg(long)]
    quick: bool,
}

/// Arguments of `neuromod dopamine`.
#[derive(Args, Debug)]
pub struct DopamineArgs {
    #[command(flatten)]
    config: DopamineConfig,
    /// Output folder (must not hold a previous dopamine run).
    #[arg(long)]
    out: PathBuf,
    /// Figure file format.
    #[arg(long, value_enum, default_value = "png")]
    format: Format,
}

/// Arguments of `bench dabney`.
#[derive(Args, Debug)]
pub struct DabneyArgs {
    #[command(flatten)]
    config: DabneyConfig,
    /// Output folder (must not hold a previous dabney run).
    #[arg(long, default_value = "runs/bench-dabney")]
    out: PathBuf,
}

/// Arguments of `bench identity`.
#[derive(Args, Debug)]
pub struct IdentityArgs {
    #[command(flatten)]
    config: IdentityConfig,
    /// World-model family.
    #[arg(long, value_parser = crate::model_parser(), default_value = "vrnn")]
    model: ModelKind,
    /// Output folder (must not hold a previous identity run).
    #[arg(long, default_value = "runs/bench-identity")]
    out: PathBuf,
    /// Figure file format.
    #[arg(long, value_enum, default_value = "png")]
    format: Format,
}

/// Arguments of the hidden `bench unit`.
#[derive(Args, Debug)]
pub struct UnitArgs {
    /// The experiment's name.
    #[arg(long)]
    experiment: String,
    /// The device to run on.
    #[arg(long, value_enum)]
    device: DeviceChoice,
    /// The experiment's config, JSON.
    #[arg(long)]
    config: String,
    /// The unit, JSON.
    #[arg(long)]
    unit: String,
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Science(a) => {
            if let Some(json) = &a.report_from {
                let out = match a.out == Path::new(DEFAULT_SCIENCE_OUT) {
                    true => json.parent().unwrap_or(Path::new(".")).to_path_buf(),
                    false => a.out.clone(),
                };
                let lines = neuromod_experiments::redraw::<ScienceConfig>(json, &out, a.format)?;
                print_lines(&lines);
                eprintln!(
                    "redrew the report of {} into {}",
                    json.display(),
                    out.display()
                );
                return Ok(());
            }
            let mut config = ScienceConfig {
                model: a.model,
                seeds: a.seeds,
                epochs: a.epochs,
                critic_epochs: a.critic_epochs,
                sequences: a.sequences,
                ..Default::default()
            };
            if !a.tasks.is_empty() {
                config.tasks = a.tasks.clone();
            }
            experiment(&config, a.device, &a.out, a.format, false)
        }
        BenchCommand::Relearn(a) => {
            let config = RelearnConfig {
                seeds: a.seeds,
                model: a.model,
                online_updates: a.online_updates,
                online_lr: a.online_lr,
                critic_lr: a.critic_lr,
                flip: a.flip,
                gate_window: a.gate_window,
                oracle_pause: a.oracle_pause,
                ..Default::default()
            };
            experiment(&config, a.device, &a.out, Format::Png, false)
        }
        BenchCommand::Speed(a) => {
            let devices = a
                .device
                .iter()
                .map(|&c| match a.in_process {
                    true => device::name(c),
                    false => device::probe(c),
                })
                .collect::<Result<Vec<_>>>()?;
            let config = SpeedConfig {
                devices: devices.iter().map(|d| d.to_string()).collect(),
                model: a.model,
                size: a.size,
                reps: a.reps,
                critic_transitions: a.critic_transitions,
                sweep: !a.quick,
                pairs: a.pairs,
                peer_rounds: if a.peers { a.rounds } else { 0 },
            };
            if a.peers && a.rounds == 0 {
                anyhow::bail!("--rounds must be at least 1");
            }
            let first = a.device.first().copied().unwrap_or(DeviceChoice::Ndarray);
            experiment(&config, first, &a.out, Format::Png, !a.in_process)
        }
        BenchCommand::Dabney(a) => {
            experiment(&a.config, DeviceChoice::Ndarray, &a.out, Format::Png, false)
        }
        BenchCommand::Identity(a) => {
            let config = IdentityConfig {
                model: a.model,
                ..a.config
            };
            experiment(&config, DeviceChoice::Ndarray, &a.out, a.format, false)
        }
        BenchCommand::Plasticity(a) => crate::plasticity::run(a),
        BenchCommand::Dispatches(a) => crate::dispatches::run(a),
        BenchCommand::Step(a) => crate::step::run(a),
        BenchCommand::Unit(a) => {
            let (device, name) = device::select(a.device)?;
            let ctx = neuromod_experiments::Context::new(device, name, Path::new("."));
            let (config, unit) = (a.config.as_str(), a.unit.as_str());
            use neuromod_experiments::run_unit_json as unit_of;
            let out = match a.experiment.as_str() {
                ScienceConfig::NAME => unit_of::<ScienceConfig>(config, unit, &ctx),
                RelearnConfig::NAME => unit_of::<RelearnConfig>(config, unit, &ctx),
                SpeedConfig::NAME => unit_of::<SpeedConfig>(config, unit, &ctx),
                DopamineConfig::NAME => unit_of::<DopamineConfig>(config, unit, &ctx),
                DabneyConfig::NAME => unit_of::<DabneyConfig>(config, unit, &ctx),
                IdentityConfig::NAME => unit_of::<IdentityConfig>(config, unit, &ctx),
                PlasticityConfig::NAME => unit_of::<PlasticityConfig>(config, unit, &ctx),
                other => anyhow::bail!("no experiment is called {other}"),
            }?;
            println!("{out}");
            Ok(())
        }
    }
}

/// `neuromod dopamine`.
pub fn dopamine(a: DopamineArgs) -> Result<()> {
    experiment(&a.config, DeviceChoice::Ndarray, &a.out, a.format, false)
}

/// Runs `config` on `choice` into `out` (each unit in a fresh `neuromod` process when
/// `isolate`): progress on stderr, the report's lines on stdout.
pub(crate) fn experiment<E: Experiment>(
    config: &E,
    choice: DeviceChoice,
    out: &Path,
    format: Format,
    isolate: bool,
) -> Result<()> {
    // An isolating parent runs no unit itself: it only names the device for its children and
    // starts none (a lavapipe device started in the parent made the children crash).
    let (device, name) = match isolate {
        true => (burn::prelude::Device::flex(), device::probe(choice)?),
        false => device::select(choice)?,
    };
    eprintln!("{} on {name} -> {}", E::NAME, out.display());
    let mut ctx = neuromod_experiments::Context::new(device, name, out);
    if isolate {
        ctx = ctx.isolated(&in_child);
    }
    let (_, lines) =
        neuromod_experiments::run(config, &ctx, format, &mut |line| eprintln!("  {line}"))
            .map_err(flag_error)?;
    print_lines(&lines);
    Ok(())
}

/// A bad setting named by the flag that sets it (the experiments' settings carry their flags'
/// names).
fn flag_error(e: ExperimentError) -> anyhow::Error {
    match e {
        ExperimentError::Config(e) => {
            anyhow::anyhow!("--{} {}", e.field.replace('_', "-"), e.reason)
        }
        e => e.into(),
    }
}

fn print_lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

/// Runs one unit in a fresh `neuromod bench unit` process; its stdout is the result.
fn in_child(call: &Invocation) -> Result<String, ExperimentError> {
    unit_process(call, None)
}

/// [`in_child`] with the child working in `cwd` when given (where cubecl reads a
/// `cubecl.toml`).
pub(crate) fn unit_process(
    call: &Invocation,
    cwd: Option<&Path>,
) -> Result<String, ExperimentError> {
    let failed = |detail: String| ExperimentError::Process {
        what: format!("{} unit on {}", call.experiment, call.device),
        detail,
    };
    let exe = std::env::current_exe().map_err(|e| failed(format!("no executable: {e}")))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["bench", "unit", "--experiment", call.experiment])
        .args([
            "--device",
            &call.device,
            "--config",
            &call.config,
            "--unit",
            &call.unit,
        ]);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd
        .output()
        .map_err(|e| failed(format!("cannot start: {e}")))?;
    if !out.status.success() {
        return Err(failed(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout)
        .map(|s| s.trim().to_string())
        .context("the unit printed no text")
        .map_err(|e| failed(e.to_string()))
}
