//! Read the serotonin-like signals of a trained world model from Rust: one-step state
//! prediction errors (the standardised latent error, its norm and the KL surprise) and, when
//! the run trained SF heads, successor-feature TD errors at each timescale, on the filtering
//! (causal) posterior of the test split's first chorales.
//!
//! ```sh
//! cargo run --release -p neuromod-train --example train_jsb -- runs/example-jsb 5
//! cargo run --release -p neuromod-train --example signals -- runs/example-jsb
//! ```

use burn::prelude::*;
use neuromod_core::Noise;
use neuromod_spe::one_step;
use neuromod_train::{to_batch, Checkpoint};

/// Mean of `values` where `mask` is 1.
fn masked_mean(values: Tensor<2>, mask: Tensor<2>) -> f32 {
    let total: f32 = (values * mask.clone()).sum().into_scalar();
    total / mask.sum().into_scalar::<f32>()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let run = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "runs/example-jsb".into());
    let device = Device::flex();
    let checkpoint = Checkpoint::open(run.as_ref())?;
    let model = checkpoint.load_model(&device)?;
    let sf = checkpoint.load_sf(&device)?;
    let splits = checkpoint.config.data.load()?;

    // The first 8 test chorales as one padded batch; posterior means, no sampling.
    let n = splits.test.len().min(8);
    let batch = to_batch(&splits.test, &(0..n).collect::<Vec<_>>(), &device);
    let traj = model.forward(&batch, Noise::Mean);
    let spe = one_step(&traj);
    let mask = batch.mask.clone();
    println!(
        "{n} chorales, {} steps: mean one-step SPE norm {:.3}, mean KL surprise {:.3} nats",
        mask.clone().sum().into_scalar::<f32>(),
        masked_mean(spe.norm, mask.clone()),
        masked_mean(spe.kl, mask.clone())
    );
    match sf {
        Some(heads) => {
            let td = heads.sequence_td(&traj, true);
            for (gamma, rms) in heads.gammas.iter().zip(td.rms) {
                println!(
                    "  SF TD error, gamma {gamma}: mean RMS {:.3}",
                    masked_mean(rms, mask.clone())
                );
            }
        }
        None => {
            println!("  (this run trained no SF heads: train with --sf joint for SF TD errors)")
        }
    }
    Ok(())
}
