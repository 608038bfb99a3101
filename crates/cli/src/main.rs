//! `neuromod`: train, evaluate and sample VRNN world models on sequential data.

mod allocator;
mod bench;
mod device;
mod dispatches;
mod export;
mod plasticity;
mod report;
mod run;
mod signals;
mod step;
mod sweep;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use device::DeviceChoice;
use neuromod_train::ModelKind;

/// World models, state prediction errors and distributional dopamine on burn.
#[derive(Parser, Debug)]
#[command(name = "neuromod", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a world model (VRNN, DKF or SRNN: --model); writes a checkpoint folder.
    Train(Box<train::TrainArgs>),
    /// Negative ELBO per time step (nats) of a checkpoint on a data split.
    Eval(EvalArgs),
    /// Open-loop samples from a checkpoint's prior, written as CSV or NPY.
    Sample(SampleArgs),
    /// Per-step SPE signals (one-step and successor-feature TD) of a checkpoint on a split.
    Signals(signals::SignalsArgs),
    /// Figures and an index.html: learning curves, a sample beside real data, SPE traces.
    Report(report::ReportArgs),
    /// A checkpoint's weights as `.safetensors` for Python, config in the metadata.
    Export(export::ExportArgs),
    /// Simulate distributional dopamine cells: reversal points, decoding, classic-TD null.
    Dopamine(bench::DopamineArgs),
    /// SPE vs RPE benchmarks: `science` (which signal answers which surprise) and `speed`.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// A grid of training runs (settings x seeds) by local workers or as a Slurm array job.
    Sweep(sweep::SweepArgs),
    /// A sweep's runs in one CSV and one Markdown table; failed and missing runs listed.
    Collect(sweep::CollectArgs),
}

/// `--model` values: every family the registry holds, by name (a new family needs no change
/// here).
fn model_parser() -> impl clap::builder::TypedValueParser<Value = ModelKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(ModelKind::ALL.map(ModelKind::name))
        .map(|name: String| ModelKind::from_name(&name).expect("a listed name"))
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// Checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Split to evaluate.
    #[arg(long, default_value = "test", value_parser = ["train", "valid", "test"])]
    split: String,
    /// Data file, if it moved since training.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// Seed of the latent samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Passes with independent latent samples (seeds seed, seed + 1, ...) whose bounds are
    /// averaged; the standard error over passes is reported.
    #[arg(long, default_value_t = 1)]
    samples: usize,
    /// Sequences per batch (ELBO; the IWAE bound sizes its own passes).
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Which bound on -log p(x): the ELBO (one latent sample per sequence), the
    /// importance-weighted bound (Burda et al. 2016) or the particle-filter bound (Maddison et
    /// al. 2017), each with --particles samples per sequence.
    #[arg(long, value_enum, default_value = "elbo")]
    bound: neuromod_train::BoundKind,
    /// Samples (particles) per sequence of --bound iwae|smc.
    #[arg(long, default_value_t = 100)]
    particles: usize,
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// Checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Steps per sequence.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Number of sequences.
    #[arg(long, default_value_t = 1)]
    num: usize,
    /// Output file; `.csv` (sequence,time,f1..fD) or `.npy` (float32 [num, steps, D]).
    #[arg(long)]
    out: PathBuf,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> ExitCode {
    allocator::keep_freed_pages();
    // burn materialises loaded optimiser state on `Device::default()` before moving it to the
    // parameters' device at the next step; pin that default to the CPU so resuming never opens
    // a GPU (or lavapipe) the run does not use. Set before any thread starts.
    if std::env::var_os("BURN_DEVICE").is_none() {
        std::env::set_var("BURN_DEVICE", "ndarray");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,wgpu_hal=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = neuromod_kernels::kernels_env() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Train(args) => train::run(*args),
        Command::Eval(args) => run::eval(args),
        Command::Sample(args) => run::sample(args),
        Command::Dopamine(args) => bench::dopamine(args),
        Command::Signals(args) => signals::run(args),
        Command::Export(args) => export::run(args),
        Command::Report(args) => report::run(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Sweep(args) => sweep::run(args),
        Command::Collect(args) => sweep::collect(args),
    };
    // Every GPU device finishes its work before the process ends (a failure to is reported
    // unless the command already failed).
    let result = result.and(device::finish());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
