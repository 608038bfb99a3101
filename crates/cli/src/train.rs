//! `neuromod train`: the run config from `--config` and the flags (flags win), then the
//! training loop with a progress bar.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use neuromod_core::Likelihood;
use neuromod_datasets::{generate::MarkovPatterns, DatasetKind, DatasetSpec};
use neuromod_train::{
    Checkpoint, Event, LrPlateau, ModelConfig, ModelKind, ModelSpec, Recipe, RunOptions, Setting,
    SfSettings, TrainConfig,
};

use crate::device::{self, DeviceChoice};

/// Arguments of `neuromod train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Continue the run in this checkpoint folder from its latest snapshot, exactly as
    /// configured in its config.json; only --epochs (to extend it), --data (if the file moved)
    /// and --device may be given with it.
    #[arg(long, conflicts_with = "settings")]
    resume: Option<PathBuf>,
    /// Passes over the training set (`schedule.epochs`).
    #[arg(long)]
    epochs: Option<usize>,
    /// Data file (JSB JSON, NPY or CSV); `--dataset jsb` without it reads the JSB Chorales
    /// bundled in the binary.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Compute device.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// What defines a new run (none of it goes with --resume).
    #[command(flatten)]
    settings: Settings,
}

/// The flags that define a new run, each over the config field it sets.
#[derive(Args, Debug)]
#[group(id = "settings", multiple = true)]
struct Settings {
    /// JSON training config (as written to a checkpoint's config.json); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Dataset kind.
    #[arg(long, value_enum)]
    dataset: Option<neuromod_datasets::DatasetKind>,
    /// Settings the run starts from before the other flags: the dataset's recipe (jsb: the
    /// VRNN with a NADE emission, docs/results.md) or none (the plain defaults). Default: the
    /// dataset's own (jsb for --dataset jsb, none otherwise, and none with --init-from); not
    /// with --config.
    #[arg(long, value_enum, conflicts_with = "config")]
    recipe: Option<Recipe>,
    /// Checkpoint folder to write.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    /// Seed (initialisation, latent noise, data order) (`schedule.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Sequences per batch (`schedule.batch_size`).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam learning rate (`optimiser.lr`).
    #[arg(long)]
    lr: Option<f64>,
    /// Cosine-decay the learning rate to this value at the last epoch (`schedule.lr_final`).
    #[arg(long)]
    lr_final: Option<f64>,
    /// Halve the learning rate after this many epochs without a better validation bound
    /// (floor 1e-5; excludes --lr-final, and replaces the cosine decay of a recipe or config)
    /// (`schedule.lr_plateau`).
    #[arg(long, conflicts_with = "lr_final")]
    lr_plateau: Option<usize>,
    /// Multiplier of --lr-plateau (default 0.5) (`schedule.lr_plateau.factor`).
    #[arg(long, requires = "lr_plateau")]
    lr_plateau_factor: Option<f64>,
    /// Adam L2 weight decay (`optimiser.weight_decay`).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Random transposition of training piano rolls by up to this many semitones (`schedule.transpose`).
    #[arg(long)]
    transpose: Option<usize>,
    /// World-model family (default vrnn; with --config, the config's `kind` unless given).
    #[arg(long, value_parser = crate::model_parser())]
    model: Option<ModelKind>,
    /// Posterior of the world model (DKF and SRNN offer smoothing) (`model.guide`).
    #[arg(long, value_enum)]
    guide: Option<neuromod_core::Guide>,
    /// Recurrent state width H (`model.h_dim`).
    #[arg(long)]
    h_dim: Option<usize>,
    /// Latent width Z (`model.z_dim`).
    #[arg(long)]
    z_dim: Option<usize>,
    /// Hidden layer width (`model.hidden`).
    #[arg(long)]
    hidden: Option<usize>,
    /// Dropout on h_{t-1} where the decoder reads it (training only) (`model.dropout`).
    #[arg(long)]
    dropout: Option<f64>,
    /// Decoder likelihood: bernoulli (independent keys), nade (each key given the keys below
    /// it in the frame) or gaussian (default: nade for jsb through its recipe, bernoulli for
    /// markov and for jsb with --recipe none, gaussian for npy/csv) (`model.likelihood`).
    #[arg(long, value_enum)]
    likelihood: Option<neuromod_core::Likelihood>,
    /// Epochs of linear KL annealing from --kl-start to 1 (0: off) (`kl.anneal_epochs`).
    #[arg(long)]
    kl_anneal_epochs: Option<usize>,
    /// KL weight at the first annealed epoch (`kl.start`).
    #[arg(long)]
    kl_start: Option<f64>,
    /// Free nats per step: a step's KL below this passes no gradient (0: off) (`kl.free_nats`).
    #[arg(long)]
    free_nats: Option<f64>,
    /// KL balancing alpha in [0, 1] (DreamerV2: 0.8): how much of the KL's gradient trains the
    /// prior rather than the posterior (`kl.balance`).
    #[arg(long)]
    kl_balance: Option<f64>,
    /// Samples per sequence in the training objective: 1 trains the ELBO, K > 1 the K-sample
    /// bound --train-bound names (a step costs about K ELBO steps) (`objective.particles`).
    #[arg(long)]
    train_particles: Option<usize>,
    /// The K-sample bound that trains with --train-particles K > 1: iwae (importance-weighted)
    /// or fivo (the particle filter's; needs a filtering posterior) (`objective.bound`).
    #[arg(long, value_enum)]
    train_bound: Option<neuromod_train::TrainBound>,
    /// Stop after this many epochs without a better validation bound (`schedule.patience`).
    #[arg(long)]
    patience: Option<usize>,
    /// Train successor-feature heads: joint (their TD loss also trains the world model),
    /// detached (they learn alongside, on the model's detached state) or frozen (only they
    /// learn, on the world model of --init-from) (`sf.mode`).
    #[arg(long, value_enum)]
    sf: Option<neuromod_train::SfMode>,
    /// Discounts of the SF heads, comma-separated (`sf.gammas`).
    #[arg(long, value_delimiter = ',')]
    sf_gammas: Option<Vec<f64>>,
    /// Validate and save an exponential moving average of the weights (decay per step, e.g. 0.999) (`optimiser.ema`).
    #[arg(long)]
    ema: Option<f64>,
    /// Start the world model from this checkpoint (same model config; the data may differ).
    #[arg(long)]
    init_from: Option<PathBuf>,
    /// Weight of the SF TD loss in the training loss (`sf.weight`).
    #[arg(long)]
    sf_weight: Option<f64>,
    /// Per-parameter gradient L2-norm clip (`optimiser.grad_clip`).
    #[arg(long)]
    grad_clip: Option<f32>,
    /// Epoch snapshots to keep besides the best (default 3) (`schedule.keep_last`).
    #[arg(long)]
    keep_last: Option<usize>,
}

/// Builds the run config from `--config` and the flags (flags win).
fn train_config(args: &Settings, data: Option<&PathBuf>) -> Result<TrainConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read config", path.display()))?;
            TrainConfig::from_json(&text)
                .with_context(|| format!("{}: not a training config", path.display()))?
        }
        None => {
            let Some(kind) = args.dataset else {
                bail!("--dataset is required without --config (jsb, npy, csv or markov)");
            };
            let data = match (kind, data) {
                (DatasetKind::Markov, _) => DatasetSpec::markov(MarkovPatterns::default()),
                (DatasetKind::Jsb, None) => DatasetSpec::jsb_bundled(),
                _ => {
                    let Some(path) = data else {
                        bail!("--data PATH is required for --dataset {kind:?}");
                    };
                    DatasetSpec::file(kind, path)
                }
            };
            let likelihood = match kind {
                DatasetKind::Npy | DatasetKind::Csv => Likelihood::Gaussian,
                _ => Likelihood::Bernoulli,
            };
            // x_dim is filled in from the data below.
            // A run that starts from another checkpoint's world model (--init-from) is not a
            // world-model recipe's run: it starts from the plain defaults unless one is named.
            let recipe = match (args.recipe, &args.init_from) {
                (Some(r), _) => r,
                (None, Some(_)) => Recipe::None,
                (None, None) => Recipe::for_dataset(kind),
            };
            if recipe == Recipe::Jsb && kind != DatasetKind::Jsb {
                bail!("--recipe jsb is the recipe of --dataset jsb (binary piano rolls), not of --dataset {kind:?}");
            }
            let kind = args.model.unwrap_or_default();
            let model = ModelConfig::new(kind, 0).with(&[Setting::Likelihood(likelihood)])?;
            let mut config = TrainConfig::new(model, data);
            recipe
                .apply(&mut config)
                .map_err(|e| anyhow::anyhow!("--recipe {}: {e}", recipe.name()))?;
            config
        }
    };
    if args.config.is_some() {
        if let Some(kind) = args.dataset {
            config.data.kind = kind;
        }
        if let Some(path) = data {
            config.data.path = Some(path.clone());
        }
        if let Some(kind) = args.model {
            if kind != config.model.kind() {
                // The config's model settings belong to another family: start from this
                // family's defaults, keeping the observation width (flags below still apply).
                let x_dim = config.model.x_dim();
                config.model = ModelConfig::new(kind, x_dim);
            }
        }
    }
    let settings: Vec<Setting> = [
        args.h_dim.map(Setting::HDim),
        args.z_dim.map(Setting::ZDim),
        args.hidden.map(Setting::Hidden),
        args.dropout.map(Setting::Dropout),
        args.guide.map(Setting::Guide),
        args.likelihood.map(Setting::Likelihood),
    ]
    .into_iter()
    .flatten()
    .collect();
    for setting in settings {
        config
            .model
            .set(setting)
            .map_err(|e| anyhow::anyhow!("--{}: {e}", setting.field().replace('_', "-")))?;
    }
    let s = args;
    put(&mut config.schedule.seed, s.seed);
    put(&mut config.schedule.batch_size, s.batch_size);
    put(&mut config.schedule.transpose, s.transpose);
    put(&mut config.schedule.keep_last, s.keep_last);
    put_some(&mut config.schedule.patience, s.patience);
    put_some(&mut config.schedule.lr_final, s.lr_final);
    if let Some(patience) = s.lr_plateau {
        // The plateau schedule replaces a cosine one a recipe or config set.
        config.schedule.lr_final = None;
        let mut plateau = LrPlateau::new(patience);
        put(&mut plateau.factor, s.lr_plateau_factor);
        config.schedule.lr_plateau = Some(plateau);
    }
    put(&mut config.optimiser.lr, s.lr);
    put(&mut config.optimiser.weight_decay, s.weight_decay);
    put_some(&mut config.optimiser.ema, s.ema);
    put_some(&mut config.optimiser.grad_clip, s.grad_clip);
    put(&mut config.kl.anneal_epochs, s.kl_anneal_epochs);
    put(&mut config.kl.start, s.kl_start);
    put(&mut config.kl.free_nats, s.free_nats);
    put_some(&mut config.kl.balance, s.kl_balance);
    put(&mut config.objective.particles, s.train_particles);
    put(&mut config.objective.bound, s.train_bound);
    if s.train_bound.is_some() && config.objective.particles < 2 {
        bail!(
            "--train-bound chooses the K-sample bound that trains with --train-particles K > 1; \
             with one particle every bound is the ELBO: give --train-particles"
        );
    }
    if let Some(mode) = s.sf {
        match &mut config.sf {
            Some(sf) => sf.mode = mode,
            None => config.sf = Some(SfSettings::new(mode)),
        }
    }
    if s.sf_weight.is_some() || s.sf_gammas.is_some() {
        let Some(sf) = &mut config.sf else {
            bail!("--sf-weight and --sf-gammas need --sf joint|frozen|detached");
        };
        put(&mut sf.weight, s.sf_weight);
        put(&mut sf.gammas, s.sf_gammas.clone());
    }
    if let Some(dir) = &s.init_from {
        // The world model must match the source checkpoint: take its model config.
        let source = Checkpoint::open(dir)?;
        if s.config.is_none() {
            config.model = source.config.model.clone();
        }
        config.init_from = Some(dir.clone());
    }
    Ok(config)
}

/// Runs `neuromod train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let (config, splits, out) = match &args.resume {
        Some(dir) => {
            let mut config = Checkpoint::open(dir)?.config;
            put(&mut config.schedule.epochs, args.epochs);
            if let Some(path) = &args.data {
                config.data.path = Some(path.clone());
            }
            config.check().map_err(named_by_flag)?;
            let splits = config.data.load()?;
            (config, splits, dir.clone())
        }
        None => {
            let mut config = train_config(&args.settings, args.data.as_ref())?;
            put(&mut config.schedule.epochs, args.epochs);
            let splits = config.data.load()?;
            // A config that leaves the observation width out takes the data's.
            if args.settings.config.is_none() || config.model.x_dim() == 0 {
                config.model.set(Setting::XDim(splits.train.dim))?;
            }
            config.check().map_err(named_by_flag)?;
            (config, splits, args.settings.out.clone())
        }
    };
    let (device, name) = device::select(args.device)?;
    eprintln!(
        "{} on {name}: {} train / {} valid sequences, x_dim {}, {} epochs -> {}",
        if args.resume.is_some() {
            "resuming"
        } else {
            "training"
        },
        splits.train.len(),
        splits.valid.len(),
        config.model.x_dim(),
        config.schedule.epochs,
        out.display()
    );
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut on_event = |event: Event| match event {
        Event::Batch {
            epoch,
            batch,
            batches,
            loss,
            steps_per_sec,
        } => {
            bar.set_length(batches as u64);
            bar.set_prefix(epoch.to_string());
            bar.set_position(batch as u64);
            bar.set_message(format!("loss {loss:.3}  {steps_per_sec:.0} steps/s"));
        }
        Event::Epoch { row, improved } => bar.println(format!(
            "epoch {:>3}  train {:.3}  valid {:.3} (KL {:.3})  beta {:.2}  lr {:.2e}  {:.0}s{}",
            row.epoch,
            row.train_bound,
            row.valid_bound,
            row.valid_kl,
            row.beta,
            row.lr,
            row.seconds,
            if improved { "  *best" } else { "" }
        )),
    };
    let options = RunOptions {
        resume: args.resume.is_some(),
        stop_after: None,
    };
    let fit = neuromod_train::run(&config, &splits, &out, &device, options, &mut on_event)?;
    bar.finish_and_clear();
    let best = fit.best_valid_bound();
    eprintln!(
        "done: best valid bound {best:.3} nats/step; checkpoint {}",
        out.display()
    );
    Ok(())
}

/// A refused config, named by the flag that sets the field as well as by the field: each
/// flag's help names the field it sets, as "(`kl.balance`)".
fn named_by_flag(e: neuromod_core::ConfigError) -> anyhow::Error {
    use clap::Args as _;
    let train = TrainArgs::augment_args(clap::Command::new("train"));
    // The flag of the longest field that holds the refused one.
    let flag = train
        .get_arguments()
        .filter_map(|arg| {
            let help = arg.get_help()?.to_string();
            let field = help.rsplit_once("(`")?.1.split_once("`)")?.0.to_string();
            e.field
                .starts_with(&field)
                .then_some((field.len(), arg.get_long()?))
        })
        .max_by_key(|&(len, _)| len);
    match flag {
        Some((_, flag)) => anyhow::anyhow!("--{flag}: {e}"),
        None => e.into(),
    }
}

/// Sets `field` when a flag gave a value.
fn put<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// Sets an optional field when a flag gave a value.
fn put_some<T>(field: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *field = value;
    }
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, CommandFactory};

    /// Every flag that defines a new run is refused beside `--resume`: the conflict comes from
    /// the flags' group, so a new flag cannot be forgotten.
    #[test]
    fn every_setting_is_refused_beside_resume() {
        let settings = super::Settings::augment_args(clap::Command::new("settings"));
        let mut checked = 0;
        for arg in settings.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let value = arg
                .get_possible_values()
                .first()
                .map_or("1".to_string(), |v| v.get_name().to_string());
            let flag = format!("--{long}");
            let argv = ["neuromod", "train", "--resume", "runs/r", &flag, &value];
            let err = crate::Cli::command()
                .try_get_matches_from(argv)
                .expect_err(&flag);
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{flag}"
            );
            checked += 1;
        }
        assert!(checked >= 30, "only {checked} settings");
        // The flags that may go with it do.
        let argv = ["neuromod", "train", "--resume", "runs/r", "--epochs", "9"];
        crate::Cli::command().try_get_matches_from(argv).unwrap();
    }
}
