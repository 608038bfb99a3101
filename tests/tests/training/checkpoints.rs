//! Checkpoints: exact resume, the divergence guard, and every bad checkpoint named.

use std::collections::BTreeMap;
use std::path::Path;

use neuromod_datasets::generate::MarkovPatterns;
use neuromod_datasets::DatasetSpec;
use neuromod_tests::{cpu, serial};
use neuromod_train::{
    named_parameters, run, sf_config, train, Checkpoint, Fit, LrPlateau, MetricsRow, NamedArray,
    RunOptions, SfMode, SfSettings, TrainConfig, TrainError, SF_FILE, TRAIN_WEIGHTS_FILE,
    WEIGHTS_FILE,
};
use neuromod_vrnn::VrnnConfig;

fn config() -> TrainConfig {
    let data = DatasetSpec::markov(MarkovPatterns {
        sequences: 40,
        steps: 16,
        dim: 8,
        ..Default::default()
    });
    let model = VrnnConfig::new(8)
        .with_h_dim(16)
        .with_z_dim(4)
        .with_hidden(16)
        .with_dropout(0.2);
    let mut c = TrainConfig::new(model, data);
    c.schedule.epochs = 5;
    c.schedule.batch_size = 8;
    c.schedule.seed = 11;
    c.kl.anneal_epochs = 3;
    c.schedule.lr_final = Some(1e-4);
    c.schedule.keep_last = 2;
    c
}

/// Every file under `dir` with its bytes, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Names of the files that differ between two trees (missing on either side included).
fn differing(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn without_time(rows: &[MetricsRow]) -> Vec<MetricsRow> {
    rows.iter()
        .map(|r| MetricsRow {
            seconds: 0.0,
            ..r.clone()
        })
        .collect()
}

/// The parameters in the latest snapshot (validated and raw weights, SF heads), by name.
/// Files are not compared byte for byte: parameter ids are random per run.
fn latest_parameters(dir: &Path) -> Vec<NamedArray> {
    let ck = Checkpoint::open(dir).unwrap();
    let snap = ck.latest().unwrap().unwrap();
    let c = &ck.config;
    let mut out = Vec::new();
    for file in [WEIGHTS_FILE, TRAIN_WEIGHTS_FILE] {
        if snap.state.files.contains_key(file) {
            let model = snap
                .load_model(file, c.model.init(&cpu()).unwrap())
                .unwrap();
            out.extend(named_parameters(&model, file).unwrap());
        }
    }
    if let Some(sf) = sf_config(c) {
        let heads = snap.load_heads(sf.init(&cpu()).unwrap()).unwrap();
        out.extend(named_parameters(&heads, SF_FILE).unwrap());
    }
    out
}

/// The weights a run hands back in memory are those its best snapshot holds, to the bit.
fn assert_best_in_memory_is_the_best_snapshot(fit: &Fit, dir: &Path) {
    let ck = Checkpoint::open(dir).unwrap();
    let on_disk = named_parameters(&ck.load_model(&cpu()).unwrap(), WEIGHTS_FILE).unwrap();
    let in_memory = named_parameters(fit.model.as_ref().unwrap(), WEIGHTS_FILE).unwrap();
    assert_eq!(
        on_disk, in_memory,
        "the best model in memory is not the best snapshot's"
    );
    let disk_sf = ck.load_sf(&cpu()).unwrap();
    assert_eq!(disk_sf.is_some(), fit.sf.is_some());
    if let (Some(a), Some(b)) = (disk_sf, &fit.sf) {
        let (a, b) = (named_parameters(&a, SF_FILE), named_parameters(b, SF_FILE));
        assert_eq!(a.unwrap(), b.unwrap(), "the SF heads in memory differ");
    }
}

fn check_resume_is_exact(c: &TrainConfig, interrupt_after: &[usize]) {
    let splits = c.data.load().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let fit = train(c, &splits, whole.path(), &cpu(), &mut |_| {}).unwrap();
    let rows = fit.rows.clone();
    assert_eq!(rows.len(), c.schedule.epochs);
    assert_best_in_memory_is_the_best_snapshot(&fit, whole.path());

    let broken = tempfile::tempdir().unwrap();
    let mut resume = false;
    for &stop in interrupt_after {
        let options = RunOptions {
            resume,
            stop_after: Some(stop),
        };
        let part = run(c, &splits, broken.path(), &cpu(), options, &mut |_| {}).unwrap();
        assert_eq!(part.rows.len(), stop);
        resume = true;
    }
    let options = RunOptions {
        resume: true,
        stop_after: None,
    };
    let resumed = run(c, &splits, broken.path(), &cpu(), options, &mut |_| {}).unwrap();
    assert_eq!(without_time(&resumed.rows), without_time(&rows));
    // Equal training bounds over the epochs after each resume already need the Adam moments
    // restored exactly; the weights must match to the bit too.
    let (a, b) = (
        latest_parameters(whole.path()),
        latest_parameters(broken.path()),
    );
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.name, y.name);
        assert!(x.data == y.data, "{} differs after resume", x.name);
    }
    // Only the best and the last `keep_last` snapshots remain.
    let ck = Checkpoint::open(broken.path()).unwrap();
    let best = ck.best().unwrap().state.epoch;
    let mut kept: Vec<String> = std::fs::read_dir(broken.path().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    let mut expect: Vec<String> = [best, c.schedule.epochs - 1, c.schedule.epochs]
        .iter()
        .map(|e| format!("epoch-{e:06}"))
        .collect();
    expect.sort();
    expect.dedup();
    assert_eq!(kept, expect);
}

#[test]
fn an_interrupted_run_resumes_bit_identical() {
    let _rng = serial();
    check_resume_is_exact(&config(), &[2]);
}

#[test]
fn resume_is_exact_with_moving_average_and_sf_heads_interrupted_twice() {
    let _rng = serial();
    let mut c = config();
    c.optimiser.ema = Some(0.9);
    c.sf = Some(SfSettings::new(SfMode::Joint));
    c.schedule.epochs = 4;
    check_resume_is_exact(&c, &[1, 3]);
}

#[test]
fn a_plateau_schedule_resumes_exactly_and_its_rates_follow_the_validation_history() {
    let _rng = serial();
    let mut c = config();
    c.schedule.lr_final = None;
    c.schedule.lr_plateau = Some(LrPlateau {
        patience: 1,
        factor: 0.5,
        min_lr: 1e-6,
    });
    c.schedule.epochs = 6;
    check_resume_is_exact(&c, &[3]);
    let splits = c.data.load().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rows = train(&c, &splits, dir.path(), &cpu(), &mut |_| {})
        .unwrap()
        .rows;
    let plateau = c.schedule.lr_plateau.clone().unwrap();
    for (i, r) in rows.iter().enumerate() {
        let expected = plateau.replay(c.optimiser.lr, rows[..i].iter().map(|r| r.valid_bound));
        assert_eq!(r.lr, expected, "epoch {}", r.epoch);
    }
    assert_eq!(rows[0].lr, c.optimiser.lr);
}

#[test]
fn a_poisoned_batch_stops_training_and_keeps_the_last_checkpoint() {
    let _rng = serial();
    let c = config();
    let splits = c.data.load().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        resume: false,
        stop_after: Some(2),
    };
    run(&c, &splits, dir.path(), &cpu(), options, &mut |_| {}).unwrap();
    let before = tree(dir.path());
    let eval_before = {
        let model = Checkpoint::open(dir.path())
            .unwrap()
            .load_model(&cpu())
            .unwrap();
        cpu().seed(3);
        neuromod_train::evaluate(&model, &splits.valid, 8, &cpu()).unwrap()
    };

    let mut poisoned = splits.clone();
    poisoned.train.sequences[3][5] = f32::NAN;
    let options = RunOptions {
        resume: true,
        stop_after: None,
    };
    let err = run(&c, &poisoned, dir.path(), &cpu(), options, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, TrainError::Diverged { epoch: 3, .. }),
        "{msg}"
    );
    assert!(msg.contains("epoch 3, step"), "{msg}");
    // Nothing on disk changed (config.json is rewritten with the same bytes on resume).
    assert_eq!(differing(&tree(dir.path()), &before), Vec::<String>::new());
    let ck = Checkpoint::open(dir.path()).unwrap();
    assert_eq!(ck.latest().unwrap().unwrap().state.epoch, 2);
    let model = ck.load_model(&cpu()).unwrap();
    cpu().seed(3);
    let eval_after = neuromod_train::evaluate(&model, &splits.valid, 8, &cpu()).unwrap();
    assert_eq!(eval_before.nll_per_step, eval_after.nll_per_step);
}

/// A finished one-epoch run to break in various ways.
fn small_run() -> tempfile::TempDir {
    let mut c = config();
    c.schedule.epochs = 1;
    let splits = c.data.load().unwrap();
    let dir = tempfile::tempdir().unwrap();
    train(&c, &splits, dir.path(), &cpu(), &mut |_| {}).unwrap();
    dir
}

fn load_error(dir: &Path) -> String {
    let err = Checkpoint::open(dir)
        .and_then(|ck| ck.load_model(&cpu()))
        .expect_err("a broken checkpoint loaded");
    assert!(matches!(err, TrainError::Checkpoint { .. }), "{err}");
    err.to_string()
}

fn assert_names(msg: &str, path: &Path, reason: &str) {
    assert!(
        msg.contains(&path.display().to_string()),
        "{msg:?} does not name {}",
        path.display()
    );
    assert!(msg.contains(reason), "{msg:?} does not say {reason:?}");
}

#[test]
fn every_broken_checkpoint_is_refused_with_its_path_and_reason() {
    let _rng = serial();
    let weights = |d: &Path| d.join("snapshots/epoch-000001/model.bpk");

    let d = small_run();
    let bytes = std::fs::read(weights(d.path())).unwrap();
    std::fs::write(weights(d.path()), &bytes[..bytes.len() / 2]).unwrap();
    assert_names(&load_error(d.path()), &weights(d.path()), "truncated");

    let d = small_run();
    let mut bytes = std::fs::read(weights(d.path())).unwrap();
    let mid = bytes.len() - 40;
    bytes[mid] ^= 0x5a;
    std::fs::write(weights(d.path()), &bytes).unwrap();
    assert_names(&load_error(d.path()), &weights(d.path()), "corrupted");

    // A config that does not match the weights.
    let d = small_run();
    let cfg = d.path().join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("\"h_dim\": 16", "\"h_dim\": 24")).unwrap();
    assert_names(
        &load_error(d.path()),
        &weights(d.path()),
        "do not match the model",
    );

    // A checkpoint of another kind, and a config of something else entirely.
    let d = small_run();
    std::fs::write(cfg_of(d.path()), text.replace("\"vrnn\"", "\"critic\"")).unwrap();
    assert_names(&load_error(d.path()), &cfg_of(d.path()), "kind \"critic\"");
    std::fs::write(cfg_of(d.path()), r#"{"architectures": ["BertModel"]}"#).unwrap();
    assert_names(&load_error(d.path()), &cfg_of(d.path()), "no `model` field");
    std::fs::write(cfg_of(d.path()), "{ not json").unwrap();
    assert_names(&load_error(d.path()), &cfg_of(d.path()), "not valid JSON");

    // A folder that holds something else, and one that does not exist.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("cells.csv"), "cell,tau\n").unwrap();
    assert_names(&load_error(other.path()), other.path(), "no config.json");
    let missing = other.path().join("nope");
    assert_names(&load_error(&missing), &missing, "no such checkpoint folder");

    // Pointers and snapshot state.
    let d = small_run();
    std::fs::write(d.path().join("best"), "../../etc\n").unwrap();
    assert_names(
        &load_error(d.path()),
        &d.path().join("best"),
        "does not name a snapshot",
    );
    std::fs::write(d.path().join("best"), "epoch-000007\n").unwrap();
    assert_names(
        &load_error(d.path()),
        &d.path().join("snapshots/epoch-000007"),
        "snapshot folder is missing",
    );
    std::fs::remove_file(d.path().join("best")).unwrap();
    assert_names(&load_error(d.path()), d.path(), "no saved weights yet");
    let d = small_run();
    let state = d.path().join("snapshots/epoch-000001/state.json");
    std::fs::write(&state, "{\"epoch\": 1}").unwrap();
    assert_names(&load_error(d.path()), &state, "not a snapshot state");
}

fn cfg_of(dir: &Path) -> std::path::PathBuf {
    dir.join("config.json")
}

#[test]
fn a_new_run_refuses_a_folder_that_holds_one() {
    let _rng = serial();
    let d = small_run();
    let before = tree(d.path());
    let c = config();
    let splits = c.data.load().unwrap();
    let err = train(&c, &splits, d.path(), &cpu(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
    assert_eq!(differing(&tree(d.path()), &before), Vec::<String>::new());
}
