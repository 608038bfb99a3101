//! `neuromod eval` and `neuromod sample`.

use anyhow::{Context, Result};
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

/// Runs `neuromod sample`.
pub fn sample(args: SampleArgs) -> Result<()> {
    let checkpoint = Checkpoint::open(&args.checkpoint)?;
    let (device, _) = device::select(args.device)?;
    let model = checkpoint.load_model(&device)?;
    device.seed(args.seed);
    let shape = (args.num, args.steps, checkpoint.config.model.x_dim());
    neuromod_train::write_samples(&model, shape, &args.out, &device)?;
    eprintln!(
        "wrote {} sequences of {} steps to {}",
        args.num,
        args.steps,
        args.out.display()
    );
    Ok(())
}
