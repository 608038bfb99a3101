//! Training-config checks: defaults, schedules, old configs, refusals by field.

use super::*;
use neuromod_datasets::generate::MarkovPatterns;
use neuromod_vrnn::VrnnConfig;

#[test]
fn beta_rises_linearly_then_stays_at_one() {
    let mut c = TrainConfig::new(
        VrnnConfig::new(4),
        DatasetSpec::markov(MarkovPatterns::default()),
    );
    c.kl.anneal_epochs = 4;
    c.kl.start = 0.2;
    let betas: Vec<f64> = (1..=6).map(|e| c.beta(e)).collect();
    let expected = [0.2, 0.4, 0.6, 0.8, 1.0, 1.0];
    for (b, e) in betas.iter().zip(expected) {
        assert!((b - e).abs() < 1e-12, "{betas:?}");
    }
    c.kl.anneal_epochs = 0;
    assert_eq!(c.beta(1), 1.0);
}

#[test]
fn cosine_lr_runs_from_lr_to_lr_final() {
    let mut c = TrainConfig::new(
        VrnnConfig::new(4),
        DatasetSpec::markov(MarkovPatterns::default()),
    );
    c.schedule.epochs = 5;
    c.optimiser.lr = 1.0;
    assert_eq!(c.lr_at(3, &[]), 1.0);
    c.schedule.lr_final = Some(0.2);
    let lrs: Vec<f64> = (1..=5).map(|e| c.lr_at(e, &[])).collect();
    // 0.2 + 0.8 * (1 + cos(pi * k / 4)) / 2 for k = 0..4.
    let expected = [
        1.0,
        0.2 + 0.4 * (1.0 + 0.5f64.sqrt()),
        0.6,
        0.2 + 0.4 * (1.0 - 0.5f64.sqrt()),
        0.2,
    ];
    for (l, e) in lrs.iter().zip(expected) {
        assert!((l - e).abs() < 1e-12, "{lrs:?}");
    }
    c.optimiser.weight_decay = -1.0;
    assert!(c
        .check()
        .unwrap_err()
        .to_string()
        .contains("`optimiser.weight_decay`"));
}

#[test]
fn plateau_lr_halves_after_patience_stalled_epochs_down_to_its_floor() {
    let p = LrPlateau {
        patience: 2,
        factor: 0.5,
        min_lr: 0.2,
    };
    // Improving every epoch: the rate stays.
    assert_eq!(p.replay(1.0, [5.0, 4.0, 3.0, 2.0]), 1.0);
    // Best at epoch 1, then two epochs no better (ties do not count as better): halved.
    assert_eq!(p.replay(1.0, [5.0, 5.0, 6.0]), 0.5);
    // One stalled epoch, then a new best resets the count.
    assert_eq!(p.replay(1.0, [5.0, 6.0, 4.0, 4.5]), 1.0);
    // Six stalled epochs: halved three times, but never below the floor.
    assert_eq!(p.replay(1.0, [5.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0]), 0.2);
    assert_eq!(p.replay(1.0, [5.0, 6.0, 6.0, 6.0, 6.0]), 0.25);

    let mut c = TrainConfig::new(
        VrnnConfig::new(4),
        DatasetSpec::markov(MarkovPatterns::default()),
    );
    c.optimiser.lr = 1.0;
    c.schedule.lr_plateau = Some(p);
    let rows: Vec<MetricsRow> = [5.0, 5.0, 6.0]
        .iter()
        .enumerate()
        .map(|(i, &v)| MetricsRow {
            epoch: i + 1,
            train_bound: v,
            train_kl: 0.0,
            train_rec: v,
            valid_bound: v,
            valid_kl: 0.0,
            valid_rec: v,
            beta: 1.0,
            seconds: 0.0,
            train_sf: 0.0,
            lr: 1.0,
        })
        .collect();
    assert_eq!(c.lr_at(4, &rows), 0.5);
    assert_eq!(c.lr_at(3, &rows[..2]), 1.0);
    assert!(c.check().is_ok());
    c.schedule.lr_final = Some(0.1);
    assert!(c
        .check()
        .unwrap_err()
        .to_string()
        .contains("`schedule.lr_plateau`"));
    c.schedule.lr_final = None;
    c.schedule.lr_plateau = Some(LrPlateau::new(0));
    assert!(c
        .check()
        .unwrap_err()
        .to_string()
        .contains("`schedule.lr_plateau.patience`"));
    c.schedule.lr_plateau = Some(LrPlateau {
        factor: 1.0,
        ..LrPlateau::new(3)
    });
    assert!(c
        .check()
        .unwrap_err()
        .to_string()
        .contains("`schedule.lr_plateau.factor`"));
}

#[test]
fn json_configs_take_defaults_for_missing_fields() {
    let c = TrainConfig::from_json(
        r#"{"model": {"x_dim": 7, "z_dim": 3}, "data": {"kind": "csv", "path": "d.csv"}, "lr": 0.01}"#,
    )
    .unwrap();
    let m = c.model.as_vrnn().expect("no kind means a VRNN");
    assert_eq!((m.x_dim, m.z_dim, m.h_dim), (7, 3, 256));
    assert_eq!(c.data.kind, neuromod_datasets::DatasetKind::Csv);
    assert_eq!(
        (c.optimiser.lr, c.schedule.batch_size, c.schedule.epochs),
        (0.01, 16, 50)
    );
    assert_eq!(
        c.objective.particles, 1,
        "configs without it train the ELBO"
    );
    assert!(TrainConfig::from_json(r#"{"model": {"x_dim": "many"}}"#).is_err());
}

#[test]
fn configs_written_before_the_model_seam_still_load_as_vrnns() {
    // A config.json as every checkpoint before the seam holds it (abridged).
    let old = r#"{"kind": "vrnn",
        "model": {"x_dim": 88, "h_dim": 128, "z_dim": 16, "hidden": 128,
                  "likelihood": "bernoulli", "phi_x_layers": 2, "phi_z_layers": 1,
                  "prior_layers": 1, "encoder_layers": 2, "decoder_layers": 2,
                  "action_dim": 0, "reward_head": false, "dropout": 0.5,
                  "sigma_min": 0.0001},
        "data": {"kind": "jsb"}, "epochs": 140, "batch_size": 8}"#;
    let c = TrainConfig::from_json(old).unwrap();
    let m = c.model.as_vrnn().unwrap();
    assert_eq!((m.x_dim, m.h_dim, m.z_dim, m.dropout), (88, 128, 16, 0.5));
    // Written back, the layout is the same: `kind` beside `model`.
    let back = serde_json::to_value(&c).unwrap();
    assert_eq!(back["kind"], "vrnn");
    assert_eq!(back["model"]["h_dim"], 128);
    let err = TrainConfig::from_json(r#"{"kind": "critic", "model": {"x_dim": 3}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown model kind `critic`"), "{err}");
}

#[test]
fn check_names_the_bad_field() {
    let mut c = TrainConfig::new(
        VrnnConfig::new(4),
        DatasetSpec::markov(MarkovPatterns::default()),
    );
    c.optimiser.lr = f64::NAN;
    assert!(c
        .check()
        .unwrap_err()
        .to_string()
        .contains("`optimiser.lr`"));
    c.optimiser.lr = 1e-3;
    c.schedule.batch_size = 0;
    assert!(c
        .check()
        .unwrap_err()
        .to_string()
        .contains("`schedule.batch_size`"));
}

#[test]
fn the_importance_weighted_objective_refuses_what_shapes_or_reads_the_elbo_pass() {
    let mut c = TrainConfig::new(
        VrnnConfig::new(4),
        DatasetSpec::markov(MarkovPatterns::default()),
    );
    c.objective.particles = 0;
    assert!(c
        .check()
        .unwrap_err()
        .to_string()
        .contains("`objective.particles`"));
    c.objective.particles = 8;
    c.check().unwrap();
    c.kl.free_nats = 1.0;
    let err = c.check().unwrap_err().to_string();
    assert!(
        err.contains("`objective.particles`") && err.contains("free_nats"),
        "{err}"
    );
    c.kl.free_nats = 0.0;
    c.kl.balance = Some(0.8);
    assert!(c.check().unwrap_err().to_string().contains("kl.balance"));
    c.kl.balance = None;
    c.sf = Some(SfSettings::new(SfMode::Joint));
    assert!(c.check().unwrap_err().to_string().contains("with sf"));
}

#[test]
fn configs_written_with_every_field_at_the_top_level_load_into_the_sections() {
    // The layout of every config.json before the sections existed.
    let flat = r#"{"kind": "vrnn", "model": {"x_dim": 88}, "data": {"kind": "jsb"},
        "epochs": 140, "batch_size": 8, "lr": 0.003, "weight_decay": 1e-5, "grad_clip": null,
        "seed": 4, "kl_anneal_epochs": 20, "kl_start": 0.1, "free_nats": 0.5,
        "kl_balance": 0.8, "train_particles": 1, "patience": 25, "lr_final": 0.0001,
        "transpose": 3, "ema": 0.999, "keep_last": 2}"#;
    let nested = r#"{"kind": "vrnn", "model": {"x_dim": 88}, "data": {"kind": "jsb"},
        "optimiser": {"lr": 0.003, "weight_decay": 1e-5, "grad_clip": null, "ema": 0.999},
        "schedule": {"epochs": 140, "batch_size": 8, "seed": 4, "patience": 25,
                     "lr_final": 0.0001, "transpose": 3, "keep_last": 2},
        "kl": {"anneal_epochs": 20, "start": 0.1, "free_nats": 0.5, "balance": 0.8},
        "objective": {"particles": 1}}"#;
    let (a, b) = (
        TrainConfig::from_json(flat).unwrap(),
        TrainConfig::from_json(nested).unwrap(),
    );
    let json = |c: &TrainConfig| serde_json::to_value(c).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_eq!(
        (a.schedule.epochs, a.optimiser.lr, a.kl.anneal_epochs),
        (140, 0.003, 20)
    );
    assert_eq!(
        (a.optimiser.grad_clip, a.optimiser.ema),
        (None, Some(0.999))
    );
    // Written back, the fields sit in their sections.
    assert_eq!(json(&a)["schedule"]["epochs"], 140);
    assert!(json(&a).get("epochs").is_none());
    // A misspelt field in a section is refused by name.
    let err = TrainConfig::from_json(r#"{"data": {"kind": "jsb"}, "optimiser": {"rate": 1}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate"), "{err}");
}
