//! `neuromod`: train, evaluate and sample VRNN world models on sequential data.

mod allocator;
mod bench;
mod device;
mod export;
mod report;
mod run;
mod signals;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    Train(Box<TrainArgs>),
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
struct TrainArgs {
    /// Continue the run in this checkpoint folder from its latest snapshot, exactly as
    /// configured in its config.json; only --epochs (to extend it), --data (if the file moved)
    /// and --device may be given with it.
    #[arg(long, conflicts_with_all = [
        "config", "dataset", "out", "seed", "batch_size", "lr", "lr_final", "lr_plateau",
        "lr_plateau_factor", "weight_decay",
        "transpose", "model", "guide", "h_dim", "z_dim", "hidden", "dropout", "likelihood", "kl_anneal_epochs",
        "kl_start", "free_nats", "kl_balance", "train_particles", "patience", "sf", "sf_gammas", "ema", "init_from", "sf_weight", "grad_clip",
        "keep_last",
    ])]
    resume: Option<PathBuf>,
    /// JSON training config (as written to a checkpoint's config.json); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Dataset kind.
    #[arg(long, value_enum)]
    dataset: Option<neuromod_datasets::DatasetKind>,
    /// Data file (JSB JSON, NPY or CSV); `--dataset jsb` without it reads the JSB Chorales
    /// bundled in the binary.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// Checkpoint folder to write.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    /// Passes over the training set.
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed (initialisation, latent noise, data order).
    #[arg(long)]
    seed: Option<u64>,
    /// Sequences per batch.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Cosine-decay the learning rate to this value at the last epoch.
    #[arg(long)]
    lr_final: Option<f64>,
    /// Halve the learning rate after this many epochs without a better validation bound
    /// (floor 1e-5; excludes --lr-final).
    #[arg(long)]
    lr_plateau: Option<usize>,
    /// Multiplier of --lr-plateau (default 0.5).
    #[arg(long, requires = "lr_plateau")]
    lr_plateau_factor: Option<f64>,
    /// Adam L2 weight decay.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Random transposition of training piano rolls by up to this many semitones.
    #[arg(long)]
    transpose: Option<usize>,
    /// World-model family (default vrnn; with --config, the config's `kind` unless given).
    #[arg(long, value_parser = model_parser())]
    model: Option<ModelKind>,
    /// Posterior of the world model (DKF and SRNN offer smoothing).
    #[arg(long, value_enum)]
    guide: Option<neuromod_core::Guide>,
    /// Recurrent state width H.
    #[arg(long)]
    h_dim: Option<usize>,
    /// Latent width Z.
    #[arg(long)]
    z_dim: Option<usize>,
    /// Hidden layer width.
    #[arg(long)]
    hidden: Option<usize>,
    /// Dropout on h_{t-1} where the decoder reads it (training only).
    #[arg(long)]
    dropout: Option<f64>,
    /// Decoder likelihood (default: bernoulli for jsb/markov, gaussian for npy/csv).
    #[arg(long, value_enum)]
    likelihood: Option<neuromod_core::Likelihood>,
    /// Epochs of linear KL annealing from --kl-start to 1 (0: off).
    #[arg(long)]
    kl_anneal_epochs: Option<usize>,
    /// KL weight at the first annealed epoch.
    #[arg(long)]
    kl_start: Option<f64>,
    /// Free nats per step: a step's KL below this passes no gradient (0: off).
    #[arg(long)]
    free_nats: Option<f64>,
    /// KL balancing alpha in [0, 1] (DreamerV2: 0.8): how much of the KL's gradient trains the
    /// prior rather than the posterior.
    #[arg(long)]
    kl_balance: Option<f64>,
    /// Importance samples per sequence in the training objective: 1 trains the ELBO, K > 1 the
    /// K-sample importance-weighted bound (IWAE; a step costs about K ELBO steps).
    #[arg(long)]
    train_particles: Option<usize>,
    /// Stop after this many epochs without a better validation bound.
    #[arg(long)]
    patience: Option<usize>,
    /// Train successor-feature heads: joint (their TD loss also trains the world model),
    /// detached (they learn alongside, on the model's detached state) or frozen (only they
    /// learn, on the world model of --init-from).
    #[arg(long, value_enum)]
    sf: Option<neuromod_train::SfMode>,
    /// Discounts of the SF heads, comma-separated.
    #[arg(long, value_delimiter = ',')]
    sf_gammas: Option<Vec<f64>>,
    /// Validate and save an exponential moving average of the weights (decay per step, e.g. 0.999).
    #[arg(long)]
    ema: Option<f64>,
    /// Start the world model from this checkpoint (same model config; the data may differ).
    #[arg(long)]
    init_from: Option<PathBuf>,
    /// Weight of the SF TD loss in the training loss.
    #[arg(long)]
    sf_weight: Option<f64>,
    /// Per-parameter gradient L2-norm clip.
    #[arg(long)]
    grad_clip: Option<f32>,
    /// Epoch snapshots to keep besides the best (default 3).
    #[arg(long)]
    keep_last: Option<usize>,
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
    bound: BoundArg,
    /// Samples (particles) per sequence of --bound iwae|smc.
    #[arg(long, default_value_t = 100)]
    particles: usize,
}

/// Bounds accepted by `eval --bound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BoundArg {
    /// The evidence lower bound, KL + reconstruction.
    Elbo,
    /// The importance-weighted bound with --particles samples.
    Iwae,
    /// The particle-filter bound (FIVO) with --particles particles; filtering posteriors only.
    Smc,
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
    let result = match cli.command {
        Command::Train(args) => run::train(*args),
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
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
