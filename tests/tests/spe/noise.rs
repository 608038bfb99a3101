//! Each new task's sensory noise moves the world model's posterior uncertainty: a VRNN trained on
//! the convergent and cue tasks with and without flipped pixels has a different mean sigma_q.

use neuromod_core::Noise;
use neuromod_datasets::convergent::ConvergentTask;
use neuromod_datasets::cue_task::CueTask;
use neuromod_datasets::SequenceSet;
use neuromod_experiments::host;
use neuromod_experiments::world_fit::{fit_world, WorldSpec};
use neuromod_tests::{cpu, serial};
use neuromod_train::{to_batch, ModelKind};

/// Mean posterior sigma of a small VRNN trained on `data`, over its held-out sequences.
fn mean_sigma(data: &SequenceSet, tag: &str, out: &std::path::Path) -> f64 {
    let spec = WorldSpec {
        kind: ModelKind::Vrnn,
        widths: (32, 8, 32),
        epochs: 30,
        batch_size: 8,
        fractions: (0.7, 0.1),
        sf: None,
        kl_anneal: None,
    };
    let device = cpu();
    let fitted = fit_world(&spec, data, (out, tag), 0, &device).unwrap();
    let test = &fitted.splits.test;
    let idx: Vec<usize> = (0..test.len()).collect();
    let traj = fitted
        .model
        .forward(&to_batch(test, &idx, &device), Noise::Mean);
    host(traj.posterior.1.mean(), "sigma").unwrap()[0] as f64
}

#[test]
fn the_new_tasks_noise_moves_the_posterior_uncertainty() {
    let _turn = serial();
    let out = tempfile::tempdir().unwrap();
    let convergent = |flip| {
        ConvergentTask {
            sequences: 60,
            steps: 30,
            flip,
            ..Default::default()
        }
        .generate()
        .data
    };
    let cue = |flip| {
        CueTask {
            sequences: 60,
            steps: 30,
            flip,
            ..Default::default()
        }
        .generate()
        .task
        .data
    };
    for (name, clean, noisy) in [
        ("convergent", convergent(0.0), convergent(0.2)),
        ("cue", cue(0.0), cue(0.2)),
    ] {
        let a = mean_sigma(&clean, &format!("{name}-clean"), out.path());
        let b = mean_sigma(&noisy, &format!("{name}-noisy"), out.path());
        eprintln!("{name}: mean sigma_q clean {a:.4}, flip 0.2 {b:.4}");
        // It moves, and downwards: the latent codes the flips (docs/science.md).
        assert!(b < 0.95 * a, "{name}: clean {a}, noisy {b}");
    }
}
