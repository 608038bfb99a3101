//! Train a small VRNN with successor-feature heads on the bundled JSB Chorales and evaluate
//! it on the test split, from Rust.
//!
//! ```sh
//! cargo run --release -p neuromod-train --example train_jsb -- runs/example-jsb 5
//! ```
//!
//! Arguments: the run folder (default `runs/example-jsb`; it must not hold a run yet) and the
//! epochs (default 5; the README's recipe trains a larger model for 140). The folder is a
//! normal checkpoint folder: `neuromod eval`, `signals`, `report` and the `signals` example
//! read it.

use std::path::PathBuf;

use burn::prelude::*;
use neuromod_datasets::DatasetSpec;
use neuromod_train::{evaluate, train, Checkpoint, Event, SfMode, SfSettings, TrainConfig};
use neuromod_vrnn::VrnnConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "runs/example-jsb".into()));
    let epochs: usize = args.next().map_or(Ok(5), |s| s.parse())?;

    // Flex: the faster CPU backend (burn's pure-Rust one); `Device::wgpu()` on a GPU.
    let device = Device::flex();
    let data = DatasetSpec::jsb_bundled();
    let splits = data.load()?;
    let model = VrnnConfig::new(splits.train.dim)
        .with_h_dim(64)
        .with_z_dim(8)
        .with_hidden(64);
    let mut config = TrainConfig::new(model, data);
    config.schedule.epochs = epochs;
    // SF heads trained alongside (gammas 0, 0.5, 0.9, 0.99), so the checkpoint also gives
    // successor-feature TD errors.
    config.sf = Some(SfSettings::new(SfMode::Joint));

    train(&config, &splits, &out, &device, &mut |event| {
        if let Event::Epoch { row, improved } = event {
            println!(
                "epoch {:>3}: train {:.3}, valid {:.3} nats per step{}",
                row.epoch,
                row.train_bound,
                row.valid_bound,
                if improved { " (best)" } else { "" }
            );
        }
    })?;

    // The best snapshot, evaluated on held-out chorales.
    let model = Checkpoint::open(&out)?.load_model(&device)?;
    let test = evaluate(&model, &splits.test, 32, &device)?;
    println!(
        "test: {:.3} nats per step (KL {:.3}, reconstruction {:.3}) over {} sequences; run in {}",
        test.nll_per_step,
        test.kl_per_step,
        test.rec_per_step,
        test.sequences,
        out.display()
    );
    Ok(())
}
