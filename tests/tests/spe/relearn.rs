//! `bench relearn` with sensory noise: the noise moves the posterior's uncertainty, and every
//! condition (whole-past, recent-window damped and boosted gates, the oracle) runs.

use neuromod_experiments::relearn::report::{Criterion, Windows};
use neuromod_experiments::relearn::{run_one, RelearnConfig, CONDITIONS};
use neuromod_tests::{cpu, serial};

#[test]
fn sensory_noise_moves_the_posterior_uncertainty_and_every_condition_runs() {
    let _turn = serial();
    let config = |flip| RelearnConfig {
        seeds: 1,
        train_sequences: 60,
        train_steps: 30,
        stream_steps: 80,
        switch_range: (40, 50),
        windows: Windows {
            criterion: Criterion {
                baseline: (-30, -5),
                ..Default::default()
            },
            ..Default::default()
        },
        epochs: 30,
        h_dim: 32,
        z_dim: 8,
        hidden: 32,
        heads: 4,
        pretrain_epochs: 5,
        flip,
        gate_window: 20,
        oracle_pause: 10,
        ..Default::default()
    };
    let out = tempfile::tempdir().unwrap();
    let mean_sigma = |flip: f64| {
        let dir = out.path().join(format!("flip{flip}"));
        let run = run_one(&config(flip), 0, &dir, &cpu()).unwrap();
        assert_eq!(run.errors.len(), CONDITIONS.len());
        assert_eq!(run.window_gates.len(), 4);
        let before = &run.sigma[..run.switch];
        before.iter().sum::<f64>() / before.len() as f64
    };
    let (clean, noisy) = (mean_sigma(0.0), mean_sigma(0.2));
    eprintln!("mean sigma_q before the switch: clean {clean:.4}, noisy {noisy:.4}");
    // The noise changes sigma_q, and downwards: without noise the latent has nothing to code
    // that h does not carry and stays near its prior (sigma about 1); with noise it codes the
    // flips (docs/science.md, "State uncertainty that moves").
    assert!(noisy < clean * 0.95, "clean {clean}, noisy {noisy}");
}
