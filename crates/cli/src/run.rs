//! `neuromod eval` and `neuromod sample`.

use anyhow::{bail, Context, Result};
use neuromod_datasets::SequenceSet;
use neuromod_train::{estimate, BoundKind, Checkpoint, ModelSpec, TrainError};

use crate::{device, EvalArgs, SampleArgs};

/// Runs `neuromod eval`.
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
    let how = (args.bound, args.particles, args.batch_size);
    let e =
        estimate(&model, set, how, (args.seed, args.samples), &device).map_err(|e| match e {
            TrainError::Config(c) => anyhow::anyhow!("--{} {}", c.field, c.reason),
            e => e.into(),
        })?;
    if args.json {
        let mut value = serde_json::to_value(e)?;
        value["split"] = args.split.clone().into();
        println!("{value}");
        return Ok(());
    }
    let what = match (e.kl_per_step, e.rec_per_step, e.particles) {
        (Some(kl), Some(rec), _) => format!("KL {kl:.4} + reconstruction {rec:.4}"),
        (_, _, Some(k)) => {
            let name = match e.bound {
                BoundKind::Smc => "particle-filter bound",
                _ => "IWAE bound",
            };
            format!("{name}, K = {k} samples per sequence")
        }
        _ => String::new(),
    };
    let spread = e.nll_std_error.map_or(String::new(), |err| {
        format!(
            "; mean of {} latent samples, standard error {err:.4}",
            e.samples
        )
    });
    println!(
        "{}: {:.4} nats per step ({what}) over {} steps in {} sequences{spread}",
        args.split, e.nll_per_step, e.steps, e.sequences
    );
    Ok(())
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
