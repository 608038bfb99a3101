//! Training runs end to end on ndarray: determinism, early stop, divergence; checkpoints
//! (exact resume, the divergence guard, bad checkpoints) in `training/checkpoints.rs`.

#[path = "training/checkpoints.rs"]
mod checkpoints;
#[path = "training/objective.rs"]
mod objective;

use neuromod_datasets::generate::MarkovPatterns;
use neuromod_datasets::DatasetSpec;
use neuromod_tests::{cpu, serial};
use neuromod_train::{train, Checkpoint, MetricsRow, ModelSpec, TrainConfig};
use neuromod_vrnn::VrnnConfig;

fn config(seed: u64) -> TrainConfig {
    let data = DatasetSpec::markov(MarkovPatterns {
        sequences: 40,
        steps: 20,
        dim: 8,
        ..Default::default()
    });
    let model = VrnnConfig::new(8)
        .with_h_dim(16)
        .with_z_dim(4)
        .with_hidden(16);
    let mut c = TrainConfig::new(model, data);
    c.schedule.epochs = 3;
    c.schedule.batch_size = 8;
    c.schedule.seed = seed;
    c.kl.anneal_epochs = 2;
    c
}

fn run(seed: u64) -> Vec<MetricsRow> {
    let dir = tempfile::tempdir().unwrap();
    let c = config(seed);
    let splits = c.data.load().unwrap();
    let mut rows = train(&c, &splits, dir.path(), &cpu(), &mut |_| {})
        .unwrap()
        .rows;
    // The checkpoint reloads and its metrics file matches what training returned.
    let ck = Checkpoint::open(dir.path()).unwrap();
    ck.load_model(&cpu()).unwrap();
    let on_disk = ck.metrics().unwrap();
    assert_eq!(on_disk.len(), rows.len());
    for (a, b) in on_disk.iter().zip(&rows) {
        assert_eq!(a.train_bound, b.train_bound);
        assert_eq!(a.valid_bound, b.valid_bound);
    }
    for r in &mut rows {
        r.seconds = 0.0;
    }
    rows
}

#[test]
fn same_seed_same_losses_bit_for_bit() {
    let _rng = serial();
    let a = run(7);
    let b = run(7);
    assert_eq!(a, b);
    let c = run(8);
    assert_ne!(a[0].train_bound, c[0].train_bound, "the seed must matter");
    // Training does something: the bound falls over the three epochs.
    assert!(a[2].train_bound < a[0].train_bound, "{a:?}");
}

#[test]
fn early_stop_ends_the_run_when_validation_stalls() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(3);
    c.schedule.epochs = 30;
    c.optimiser.lr = 1e-12; // nothing is learned, so the validation bound only wobbles
    c.schedule.patience = Some(2);
    let splits = c.data.load().unwrap();
    let rows = train(&c, &splits, dir.path(), &cpu(), &mut |_| {})
        .unwrap()
        .rows;
    assert!(rows.len() < 30, "ran all {} epochs", rows.len());
    let best = rows
        .iter()
        .map(|r| r.valid_bound)
        .fold(f64::INFINITY, f64::min);
    let last_two = &rows[rows.len() - 2..];
    assert!(last_two.iter().all(|r| r.valid_bound >= best));
}

#[test]
fn a_non_finite_loss_stops_training_with_epoch_and_step() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(4);
    c.model
        .set(neuromod_train::Setting::Likelihood(
            neuromod_vrnn::Likelihood::Gaussian,
        ))
        .unwrap();
    let mut splits = c.data.load().unwrap();
    // A finite but enormous value: its squared error overflows f32.
    splits.train.sequences[0][0] = 1e30;
    let err = train(&c, &splits, dir.path(), &cpu(), &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, neuromod_train::TrainError::Diverged { epoch: 1, .. }),
        "{msg}"
    );
    assert!(msg.contains("epoch 1, step"), "{msg}");
    assert!(!dir.path().join(neuromod_train::LATEST_FILE).exists());
}

#[test]
fn ema_weights_are_validated_and_saved_and_training_is_unchanged() {
    let _rng = serial();
    let splits = config(5).data.load().unwrap();
    let fit = |ema: Option<f64>| {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(5);
        c.optimiser.ema = ema;
        let rows = train(&c, &splits, dir.path(), &cpu(), &mut |_| {})
            .unwrap()
            .rows;
        let saved = Checkpoint::open(dir.path())
            .unwrap()
            .load_model(&cpu())
            .unwrap();
        (rows, saved)
    };
    let (raw, _) = fit(None);
    let (avg, saved) = fit(Some(0.9));
    // The same optimisation (training bounds equal bit for bit), other validated weights.
    for (a, b) in raw.iter().zip(&avg) {
        assert_eq!(a.train_bound, b.train_bound);
    }
    assert!(raw
        .iter()
        .zip(&avg)
        .any(|(a, b)| a.valid_bound != b.valid_bound));
    // The saved weights are the average: evaluating them reproduces the best EMA bound.
    let best = avg
        .iter()
        .map(|r| r.valid_bound)
        .fold(f64::INFINITY, f64::min);
    let again = neuromod_train::evaluate(&saved, &splits.valid, 8, &cpu()).unwrap();
    assert!(
        (again.nll_per_step - best).abs() < 0.05,
        "{} vs {best}",
        again.nll_per_step
    );
}
