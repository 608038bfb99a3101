//! The subcommands.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use neuromod_core::Likelihood;
use neuromod_datasets::{generate::MarkovPatterns, DatasetKind, DatasetSpec, SequenceSet};
use neuromod_train::{
    evaluate, importance_bound, particle_bound, Checkpoint, Event, LrPlateau, ModelConfig,
    ModelSpec, RunOptions, Setting, SfSettings, TrainConfig,
};

use crate::{device, BoundArg, EvalArgs, SampleArgs, TrainArgs};

/// Builds the run config from `--config` and the flags (flags win).
fn train_config(args: &TrainArgs) -> Result<TrainConfig> {
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
            let data = match (kind, &args.data) {
                (DatasetKind::Markov, _) => DatasetSpec::markov(MarkovPatterns::default()),
                (DatasetKind::Jsb, None) => DatasetSpec::jsb_bundled(),
                _ => {
                    let Some(path) = &args.data else {
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
            let kind = args.model.unwrap_or_default();
            let model = ModelConfig::new(kind, 0).with(&[Setting::Likelihood(likelihood)])?;
            TrainConfig::new(model, data)
        }
    };
    if args.config.is_some() {
        if let Some(kind) = args.dataset {
            config.data.kind = kind;
        }
        if let Some(path) = &args.data {
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
    macro_rules! set {
        ($flag:expr, $field:expr) => {
            if let Some(v) = $flag {
                $field = v;
            }
        };
    }
    set!(args.epochs, config.epochs);
    set!(args.seed, config.seed);
    set!(args.batch_size, config.batch_size);
    set!(args.lr, config.lr);
    set!(args.weight_decay, config.weight_decay);
    set!(args.transpose, config.transpose);
    if let Some(mode) = args.sf {
        match &mut config.sf {
            Some(sf) => sf.mode = mode,
            None => config.sf = Some(SfSettings::new(mode)),
        }
    }
    if args.ema.is_some() {
        config.ema = args.ema;
    }
    if let Some(dir) = &args.init_from {
        // The world model must match the source checkpoint: take its model config.
        let source = Checkpoint::open(dir)?;
        if args.config.is_none() {
            config.model = source.config.model.clone();
        }
        config.init_from = Some(dir.clone());
    }
    if let Some(w) = args.sf_weight {
        let Some(sf) = &mut config.sf else {
            bail!("--sf-weight needs --sf joint|frozen");
        };
        sf.weight = w;
    }
    if let Some(gammas) = &args.sf_gammas {
        let Some(sf) = &mut config.sf else {
            bail!("--sf-gammas needs --sf joint|frozen");
        };
        sf.gammas = gammas.clone();
    }
    if args.lr_final.is_some() {
        config.lr_final = args.lr_final;
    }
    if let Some(patience) = args.lr_plateau {
        let mut plateau = LrPlateau::new(patience);
        set!(args.lr_plateau_factor, plateau.factor);
        config.lr_plateau = Some(plateau);
    }
    set!(args.kl_anneal_epochs, config.kl_anneal_epochs);
    set!(args.kl_start, config.kl_start);
    set!(args.free_nats, config.free_nats);
    set!(args.train_particles, config.train_particles);
    if args.kl_balance.is_some() {
        config.kl_balance = args.kl_balance;
    }
    if args.patience.is_some() {
        config.patience = args.patience;
    }
    if args.grad_clip.is_some() {
        config.grad_clip = args.grad_clip;
    }
    set!(args.keep_last, config.keep_last);
    Ok(config)
}

pub fn train(args: TrainArgs) -> Result<()> {
    let (config, splits, out) = match &args.resume {
        Some(dir) => {
            let mut config = Checkpoint::open(dir)?.config;
            set_if(&mut config.epochs, args.epochs);
            if let Some(path) = &args.data {
                config.data.path = Some(path.clone());
            }
            config.check()?;
            let splits = config.data.load()?;
            (config, splits, dir.clone())
        }
        None => {
            let mut config = train_config(&args)?;
            let splits = config.data.load()?;
            // A config that leaves the observation width out takes the data's.
            if args.config.is_none() || config.model.x_dim() == 0 {
                config.model.set(Setting::XDim(splits.train.dim))?;
            }
            config.check()?;
            (config, splits, args.out.clone())
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
        config.epochs,
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

fn set_if<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let mut checkpoint = Checkpoint::open(&args.checkpoint)?;
    if let Some(path) = args.data.clone() {
        checkpoint.config.data.path = Some(path);
    }
    let (device, _) = device::select(args.device)?;
    let model = checkpoint.load_model(&device)?;
    let splits = checkpoint.config.data.load()?;
    let data_path = checkpoint.config.data.path.clone().unwrap_or_default();
    splits.expect_dim(checkpoint.config.model.x_dim(), &data_path)?;
    let set = splits.get(&args.split).context("unknown split")?;
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    if args.bound != BoundArg::Elbo {
        return eval_sampled(&args, &model, set, &device);
    }
    // Each pass draws its own latent noise (seed, seed + 1, ...); their mean estimates the
    // same bound (the expected negative ELBO) with less noise than one pass.
    let mut passes = Vec::with_capacity(args.samples);
    for k in 0..args.samples as u64 {
        device.seed(args.seed.wrapping_add(k));
        passes.push(evaluate(&model, set, args.batch_size, &device)?);
    }
    let mean = |f: fn(&neuromod_train::Bound) -> f64| {
        mean_and_error(&passes.iter().map(f).collect::<Vec<_>>())
    };
    let mut bound = passes[0];
    let std_error;
    (bound.nll_per_step, std_error) = mean(|b| b.nll_per_step);
    bound.kl_per_step = mean(|b| b.kl_per_step).0;
    bound.rec_per_step = mean(|b| b.rec_per_step).0;
    if args.json {
        let mut value = serde_json::to_value(bound)?;
        value["bound"] = "elbo".into();
        value["split"] = args.split.clone().into();
        value["samples"] = args.samples.into();
        value["nll_std_error"] = std_error.into();
        println!("{value}");
    } else {
        let spread = spread(std_error, args.samples);
        println!(
            "{}: {:.4} nats per step (KL {:.4} + reconstruction {:.4}) over {} steps in {} sequences{spread}",
            args.split,
            bound.nll_per_step,
            bound.kl_per_step,
            bound.rec_per_step,
            bound.steps,
            bound.sequences
        );
    }
    Ok(())
}

/// `eval --bound iwae|smc`: a K-sample bound, averaged over --samples passes.
fn eval_sampled(
    args: &EvalArgs,
    model: &neuromod_train::WorldModel,
    set: &SequenceSet,
    device: &burn::prelude::Device,
) -> Result<()> {
    let mut passes = Vec::with_capacity(args.samples);
    for k in 0..args.samples as u64 {
        device.seed(args.seed.wrapping_add(k));
        passes.push(match args.bound {
            BoundArg::Smc => particle_bound(model, set, args.particles, device)?,
            _ => importance_bound(model, set, args.particles, device)?,
        });
    }
    let values: Vec<f64> = passes.iter().map(|b| b.nll_per_step).collect();
    let (mean, std_error) = mean_and_error(&values);
    let first = passes[0];
    let (name, long) = match args.bound {
        BoundArg::Smc => ("smc", "particle-filter bound"),
        _ => ("iwae", "IWAE bound"),
    };
    if args.json {
        let value = serde_json::json!({
            "nll_per_step": mean,
            "bound": name,
            "particles": args.particles,
            "steps": first.steps,
            "sequences": first.sequences,
            "split": args.split,
            "samples": args.samples,
            "nll_std_error": std_error,
        });
        println!("{value}");
    } else {
        println!(
            "{}: {mean:.4} nats per step ({long}, K = {} samples per sequence) over {} steps \
             in {} sequences{}",
            args.split,
            args.particles,
            first.steps,
            first.sequences,
            spread(std_error, args.samples)
        );
    }
    Ok(())
}

/// The mean of repeated estimates and its standard error (None for one estimate).
fn mean_and_error(values: &[f64]) -> (f64, Option<f64>) {
    let k = values.len() as f64;
    let mean = values.iter().sum::<f64>() / k;
    let error = (values.len() > 1).then(|| {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0);
        (var / k).sqrt()
    });
    (mean, error)
}

/// "; mean of N passes, standard error E" when there are several.
fn spread(std_error: Option<f64>, samples: usize) -> String {
    std_error.map_or(String::new(), |e| {
        format!("; mean of {samples} latent samples, standard error {e:.4}")
    })
}

pub fn sample(args: SampleArgs) -> Result<()> {
    if args.steps == 0 || args.num == 0 {
        bail!("--steps and --num must be at least 1");
    }
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "csv" | "npy") {
        bail!("{}: output must end in .csv or .npy", args.out.display());
    }
    let checkpoint = Checkpoint::open(&args.checkpoint)?;
    let (device, _) = device::select(args.device)?;
    let model = checkpoint.load_model(&device)?;
    device.seed(args.seed);
    let x = model.generate(args.num, args.steps, None, &device);
    let dim = checkpoint.config.model.x_dim();
    let values = x
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading samples: {e:?}"))?;
    let set = SequenceSet {
        dim,
        sequences: values
            .chunks(args.steps * dim)
            .map(<[f32]>::to_vec)
            .collect(),
    };
    match ext {
        "csv" => neuromod_datasets::csv::save(&set, &args.out)?,
        _ => neuromod_datasets::npy::save(&set, &args.out)?,
    }
    eprintln!(
        "wrote {} sequences of {} steps to {}",
        args.num,
        args.steps,
        args.out.display()
    );
    Ok(())
}
