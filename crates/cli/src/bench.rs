//! `neuromod bench science` and `neuromod bench speed` (the SPE vs RPE benchmarks).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use neuromod_experiments::science::{ScienceConfig, Task};
use neuromod_experiments::speed::{self, Size};
use neuromod_experiments::{peers, report, science, write_file};

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
    /// switch at a random step; a critic learns gated by surprise, by uncertainty or not at all
    /// (Markdown, JSON, PNG).
    Relearn(RelearnArgs),
}

/// Arguments of `bench relearn`.
#[derive(Args, Debug)]
pub struct RelearnArgs {
    /// Seeds (0..N).
    #[arg(long, default_value_t = 10)]
    seeds: usize,
    /// World-model family (its filtering posterior).
    #[arg(long, value_parser = crate::model_parser(), default_value = "vrnn")]
    model: neuromod_train::ModelKind,
    /// Adam steps of the world model after each window of the stream (0: it stops learning).
    #[arg(long, default_value_t = 5)]
    online_updates: usize,
    /// Adam learning rate of those steps.
    #[arg(long, default_value_t = 3e-3)]
    online_lr: f64,
    /// The critic's online SGD learning rate (before the gate).
    #[arg(long, default_value_t = 0.01)]
    critic_lr: f64,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// Output folder (must not hold a previous relearn run).
    #[arg(long, default_value = "runs/bench-relearn")]
    out: PathBuf,
}

/// Tasks accepted by `--tasks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Cue -> delay -> variable-magnitude outcome, identical observations.
    Reward,
    /// Markov patterns with deviant transitions, no reward.
    State,
    /// Contingency switch halfway, reward at state 0.
    Switch,
    /// Deviants and variable rewards, independent.
    Combined,
}

impl From<TaskArg> for Task {
    fn from(t: TaskArg) -> Self {
        match t {
            TaskArg::Reward => Task::Reward,
            TaskArg::State => Task::State,
            TaskArg::Switch => Task::Switch,
            TaskArg::Combined => Task::Combined,
        }
    }
}

/// Arguments of `bench science`.
#[derive(Args, Debug)]
pub struct ScienceArgs {
    /// Seeds per task (0..N).
    #[arg(long, default_value_t = 5)]
    seeds: usize,
    /// Tasks to run (default: all four).
    #[arg(long, value_enum, value_delimiter = ',')]
    tasks: Vec<TaskArg>,
    /// World-model epochs per task and seed.
    #[arg(long, default_value_t = 80)]
    epochs: usize,
    /// Critic training passes.
    #[arg(long, default_value_t = 60)]
    critic_epochs: usize,
    /// World-model family (its filtering posterior).
    #[arg(long, value_parser = crate::model_parser(), default_value = "vrnn")]
    model: neuromod_train::ModelKind,
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
    format: crate::figure_format::FigureFormat,
}

/// Model sizes accepted by `--size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SizeArg {
    /// x 88, H 256, Z 32, hidden 256 (the foundation bench config).
    Bench,
    /// x 16, H 64, Z 8, hidden 64 (for slow devices such as lavapipe).
    Small,
}

/// Arguments of `bench speed`.
#[derive(Args, Debug)]
pub struct SpeedArgs {
    /// Devices to time, comma-separated (auto resolves to one).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "ndarray")]
    device: Vec<DeviceChoice>,
    /// Model size.
    #[arg(long, value_enum, default_value = "bench")]
    size: SizeArg,
    /// World-model family to time (the --peers comparison implements the VRNN only).
    #[arg(long, default_value = "vrnn", value_parser = crate::model_parser())]
    model: neuromod_train::ModelKind,
    /// Timed steps per configuration (after one warm-up step).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Transitions the critic trains on per step, drawn from the batch (0: all B (T - 1));
    /// default 256, the critic's batch in `bench science`.
    #[arg(long, default_value_t = speed::CRITIC_TRANSITIONS)]
    critic_transitions: usize,
    /// Time every configuration in this process instead of a fresh child process each (peak
    /// memory then includes what earlier configurations left with the allocator).
    #[arg(long)]
    in_process: bool,
    /// Pairs of steps (world model, then SPE + critic, in turn in this process) that measure
    /// the SPE + critic overhead at batch 32, T 100 step against step (0: skip)
    #[arg(long, default_value_t = 30)]
    pairs: usize,
    /// Output folder.
    #[arg(long, default_value = "runs/bench-speed")]
    out: PathBuf,
    /// Also time the same training step in PyTorch (eager) and JAX (jit + lax.scan) at the
    /// bench config (batch 32, T 100), in turn with neuromod on each --device, and print a ratio
    /// table (comparison.md / .json). Needs python3 with torch and jax (`pip install -r
    /// benches/peers/requirements.txt`); a missing framework is reported as skipped.
    #[arg(long)]
    peers: bool,
    /// Rounds of the --peers comparison (each times every implementation once).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Skip the scaling sweep (T, batch, variants): with --peers, only the comparison.
    #[arg(long)]
    quick: bool,
    /// Internal: time one setup (JSON) and print its timing as JSON.
    #[arg(long, hide = true)]
    single: Option<String>,
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Science(a) => run_science(a),
        BenchCommand::Speed(a) => run_speed(a),
        BenchCommand::Relearn(a) => run_relearn(a),
    }
}

fn run_relearn(a: RelearnArgs) -> Result<()> {
    if a.out.join("relearn.json").exists() {
        bail!(
            "{} already holds a relearn run: choose another --out",
            a.out.display()
        );
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let config = neuromod_experiments::relearn::RelearnConfig {
        seeds: a.seeds,
        model: a.model,
        online_updates: a.online_updates,
        online_lr: a.online_lr,
        critic_lr: a.critic_lr,
        ..Default::default()
    };
    let (device, name) = device::select(a.device)?;
    eprintln!(
        "bench relearn on {name}: {} seeds -> {}",
        config.seeds,
        a.out.display()
    );
    let result = neuromod_experiments::relearn::run(&config, &a.out, &device, name, &mut |r| {
        let mean = |v: &[f64], from: usize, to: usize| {
            v[from..to.min(v.len())].iter().sum::<f64>() / (to.min(v.len()) - from).max(1) as f64
        };
        eprintln!(
            "  seed {}: switch at {}, valid {:.3}; SPE before / at / 50-99 after: {:.2} / {:.2} / {:.2}",
            r.seed,
            r.switch,
            r.valid_bound,
            mean(&r.spe, r.switch.saturating_sub(10), r.switch),
            mean(&r.spe, r.switch, r.switch + 5),
            mean(&r.spe, r.switch + 50, r.switch + 100)
        );
    })?;
    neuromod_experiments::relearn_report::write(&result, &a.out, neuromod_plots::Format::Png)?;
    eprintln!("wrote {}", a.out.join("relearn.md").display());
    Ok(())
}

fn run_science(a: ScienceArgs) -> Result<()> {
    if let Some(json) = &a.report_from {
        let result = report::read(json)?;
        let out = if a.out == Path::new(DEFAULT_SCIENCE_OUT) {
            json.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            a.out.clone()
        };
        std::fs::create_dir_all(&out)
            .with_context(|| format!("{}: cannot create", out.display()))?;
        report::write(&result, &out, a.format.into())?;
        eprintln!(
            "redrew the report of {} into {}",
            json.display(),
            out.display()
        );
        return Ok(());
    }
    if science::report_paths(&a.out).iter().any(|p| p.exists()) {
        bail!(
            "{} already holds a science run: choose another --out",
            a.out.display()
        );
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
        config.tasks = a.tasks.iter().map(|&t| t.into()).collect();
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let (device, name) = device::select(a.device)?;
    eprintln!(
        "bench science on {name}: {} tasks x {} seeds -> {}",
        config.tasks.len(),
        config.seeds,
        a.out.display()
    );
    let result = science::run(&config, &a.out, &device, name, &mut |r| {
        let spe = r
            .ratios
            .values()
            .next()
            .and_then(|m| m.get("SPE norm").copied().flatten());
        let rpe = r
            .ratios
            .values()
            .next()
            .and_then(|m| m.get("RPE mean").copied().flatten());
        eprintln!(
            "  {} seed {}: valid {:.3} nats/step, SPE ratio {}, RPE ratio {}",
            r.task.name(),
            r.seed,
            r.valid_bound,
            spe.map_or("silent".into(), |v| format!("{v:.2}")),
            rpe.map_or("silent".into(), |v| format!("{v:.2}"))
        );
    })?;
    let summary = report::write(&result, &a.out, a.format.into())?;
    for c in &summary.criteria {
        eprintln!("{}: {} ({})", c.what, c.shown(), c.verdict());
    }
    eprintln!(
        "wrote {}",
        science::report_paths(&a.out)
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn run_speed(a: SpeedArgs) -> Result<()> {
    if a.reps == 0 {
        bail!("--reps must be at least 1");
    }
    if let Some(json) = &a.single {
        let setup: speed::Setup = serde_json::from_str(json).context("--single")?;
        let (device, _) =
            device::select(a.device.first().copied().unwrap_or(DeviceChoice::Ndarray))?;
        println!("{}", serde_json::to_string(&speed::time(setup, &device)?)?);
        return Ok(());
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let size = match a.size {
        SizeArg::Bench => Size::Bench,
        SizeArg::Small => Size::Small,
    };
    if a.quick && !a.peers {
        bail!("--quick skips the sweep: give --peers too, or drop --quick");
    }
    if a.peers && a.model != neuromod_train::ModelKind::Vrnn {
        bail!(
            "--peers times the VRNN (the PyTorch and JAX peers implement a VRNN): drop --peers \
             or use --model vrnn"
        );
    }
    if a.peers && a.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    if !a.quick {
        let mut results = Vec::new();
        for &choice in &a.device {
            let (device, name) = device::select(choice)?;
            eprintln!("bench speed, {} on {name} ({size:?} size)", a.model);
            let mut timings = Vec::new();
            for setup in speed::setups((a.model, size), a.reps, a.critic_transitions) {
                let t = if a.in_process {
                    speed::time(setup, &device)?
                } else {
                    time_in_child(setup, name)?
                };
                eprintln!(
                    "  {:<16} batch {:>3} T {:>3}: {:>9.1} ms/step, peak {} MiB",
                    t.variant.name(),
                    t.batch,
                    t.steps,
                    t.ms_median,
                    t.peak_rss_mib.map_or("?".into(), |m| format!("{m:.0}"))
                );
                timings.push(t);
            }
            let mut result = speed::summarise(name, (a.model, size), a.critic_transitions, timings);
            if a.pairs > 0 {
                let p = speed::paired_overhead(
                    (a.model, size),
                    (32, 100),
                    a.pairs,
                    a.critic_transitions,
                    &device,
                )?;
                eprintln!(
                    "  SPE + critic overhead, {} pairs of steps in one process: median {:+.1}%",
                    p.rounds,
                    100.0 * p.quartiles[1]
                );
                result.paired = Some(p);
            }
            results.push(result);
        }
        let md = speed::markdown(&results);
        write_file(&a.out.join("speed.md"), md.as_bytes())?;
        write_file(
            &a.out.join("speed.json"),
            serde_json::to_string_pretty(&results)?.as_bytes(),
        )?;
        print!("{md}");
    }
    if a.peers {
        compare_with_peers(&a)?;
    }
    Ok(())
}

/// Times neuromod's bench-config world-model step on every --device and the peers, in turn,
/// for --rounds rounds; writes and prints the ratio table.
fn compare_with_peers(a: &SpeedArgs) -> Result<()> {
    let (batch, steps) = (32, 100);
    let setup = speed::Setup {
        model: neuromod_train::ModelKind::Vrnn,
        size: Size::Bench,
        variant: speed::Variant::WorldModel,
        batch,
        steps,
        reps: a.reps,
        critic_transitions: a.critic_transitions,
    };
    let scripts = peers::PeerScripts::write()?;
    let empty = |name: String| peers::Contender {
        name,
        round_medians: Vec::new(),
        round_mins: Vec::new(),
        skipped: None,
    };
    let devices = a
        .device
        .iter()
        .map(|&c| device::select(c).map(|(_, name)| name))
        .collect::<Result<Vec<_>>>()?;
    let mut ours: Vec<_> = devices
        .iter()
        .map(|d| empty(format!("neuromod ({d})")))
        .collect();
    let mut theirs: Vec<_> = peers::PEERS
        .iter()
        .map(|(name, _)| empty(name.to_string()))
        .collect();
    for round in 1..=a.rounds {
        eprintln!("peers comparison, round {round} of {}", a.rounds);
        for (c, d) in ours.iter_mut().zip(&devices) {
            let t = time_in_child(setup, d)?;
            eprintln!("  {:<22} {:>8.3} s/step", c.name, t.ms_median / 1e3);
            c.round_medians.push(t.ms_median / 1e3);
            c.round_mins.push(t.ms_min / 1e3);
        }
        for (c, (_, script)) in theirs.iter_mut().zip(peers::PEERS) {
            if c.skipped.is_some() {
                continue;
            }
            match scripts.run(script, (batch, steps), a.reps)? {
                peers::PeerOutcome::Timed(t) => {
                    eprintln!(
                        "  {:<22} {:>8.3} s/step ({} {}, loss {:.2} -> {:.2})",
                        c.name, t.median_s, t.peer, t.version, t.loss_first, t.loss_last
                    );
                    c.round_medians.push(t.median_s);
                    c.round_mins.push(t.min_s);
                }
                peers::PeerOutcome::Skipped(why) => {
                    eprintln!("  {:<22} skipped: {why}", c.name);
                    c.skipped = Some(why);
                }
            }
        }
    }
    let md = peers::comparison_markdown(&ours, &theirs, batch, steps);
    write_file(&a.out.join("comparison.md"), md.as_bytes())?;
    let json =
        serde_json::json!({ "batch": batch, "steps": steps, "neuromod": ours, "peers": theirs });
    write_file(
        &a.out.join("comparison.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    print!("{md}");
    Ok(())
}

/// Times one setup in a fresh `neuromod` process, so its peak memory is its own.
fn time_in_child(setup: speed::Setup, device: &str) -> Result<speed::Timing> {
    let exe = std::env::current_exe().context("cannot find the neuromod executable")?;
    let out = std::process::Command::new(exe)
        .args(["bench", "speed", "--device", device, "--single"])
        .arg(serde_json::to_string(&setup)?)
        .output()
        .context("cannot start a timing process")?;
    if !out.status.success() {
        bail!(
            "timing {setup:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout).context("timing process output")
}
