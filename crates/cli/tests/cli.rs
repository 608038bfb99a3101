//! The `neuromod` binary end to end: good runs and every bad input; crash safety under
//! SIGKILL in `cli/crash.rs`; exports read by Python in `cli/interop.rs`.

#[path = "cli/crash.rs"]
mod crash;
#[path = "cli/devices.rs"]
mod devices;
#[path = "cli/disk.rs"]
mod disk;
#[path = "cli/dopamine.rs"]
mod dopamine;
#[path = "cli/gpu_bench.rs"]
mod gpu_bench;
#[path = "cli/interop.rs"]
mod interop;
#[path = "cli/jsb.rs"]
mod jsb;
#[path = "cli/models.rs"]
mod models;
#[path = "cli/nade_interop.rs"]
mod nade_interop;
#[path = "cli/plasticity.rs"]
mod plasticity;
#[path = "cli/sweep.rs"]
mod sweep;

use std::path::Path;
use std::process::{Command, Output};

use neuromod_train::Checkpoint;

fn neuromod(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neuromod"))
        .args(args)
        .output()
        .expect("run neuromod")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and expects failure with every `needles` in stderr and no panic.
fn fails_with(args: &[&str], needles: &[&str]) {
    let o = neuromod(args);
    let err = stderr(&o);
    assert!(
        !o.status.success(),
        "expected failure for {args:?}, got success:\n{err}"
    );
    assert!(!err.contains("panicked"), "panic for {args:?}:\n{err}");
    for n in needles {
        assert!(err.contains(n), "stderr for {args:?} lacks `{n}`:\n{err}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Four sequences of 5 steps with 2 features, as CSV.
fn good_csv() -> String {
    let mut s = String::from("sequence,time,f1,f2\n");
    for seq in 0..4 {
        for t in 0..5 {
            s += &format!(
                "{seq},{t},{},{}\n",
                (seq + t) as f32 * 0.1,
                (t as f32).sin()
            );
        }
    }
    s
}

/// Trains a small VRNN (H 16, Z 4) on the generated Markov data into `out`.
fn train_markov(out: &Path, epochs: &str, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--dataset",
        "markov",
        "--device",
        "ndarray",
        "--epochs",
        epochs,
        "--h-dim",
        "16",
        "--z-dim",
        "4",
        "--hidden",
        "16",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = neuromod(&args);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn train_args<'a>(data: &'a str, kind: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        kind,
        "--data",
        data,
        "--device",
        "ndarray",
        "--epochs",
        "1",
        "--h-dim",
        "8",
        "--z-dim",
        "2",
        "--hidden",
        "8",
        "--out",
        out,
    ]
}

#[test]
fn bad_data_files_are_rejected_with_file_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    let missing = dir.path().join("nope.csv");
    fails_with(
        &train_args(missing.to_str().unwrap(), "csv", out),
        &["nope.csv", "cannot read"],
    );

    let ragged = write(
        dir.path(),
        "ragged.csv",
        "sequence,time,f1,f2\n0,0,1,2\n0,1,3\n",
    );
    fails_with(
        &train_args(&ragged, "csv", out),
        &["ragged.csv", "line 3", "expected 4 fields"],
    );

    let nan = write(dir.path(), "nan.csv", "sequence,time,f1,f2\n0,0,1,nan\n");
    fails_with(
        &train_args(&nan, "csv", out),
        &["nan.csv", "line 2, field f2", "not finite"],
    );

    let text = write(dir.path(), "text.csv", "sequence,time,f1,f2\n0,0,one,2\n");
    fails_with(
        &train_args(&text, "csv", out),
        &["text.csv", "line 2, field f1", "not a number"],
    );

    let npy = write(dir.path(), "bad.npy", "this is not numpy");
    fails_with(
        &train_args(&npy, "npy", out),
        &["bad.npy", "not a valid .npy"],
    );

    let json = write(
        dir.path(),
        "bad.json",
        "{\"train\": [[[60]]],\n \"valid\": oops}",
    );
    fails_with(&train_args(&json, "jsb", out), &["bad.json", "line 2"]);
}

#[test]
fn a_config_whose_x_dim_disagrees_with_the_data_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &good_csv());
    let config = format!(
        r#"{{"model": {{"x_dim": 5, "h_dim": 8, "z_dim": 2, "hidden": 8, "likelihood": "gaussian"}},
            "data": {{"kind": "csv", "path": "{data}", "train_fraction": 0.5, "valid_fraction": 0.25}},
            "epochs": 1}}"#
    );
    let cfg = write(dir.path(), "c.json", &config);
    let out = dir.path().join("run");
    fails_with(
        &[
            "train",
            "--config",
            &cfg,
            "--device",
            "ndarray",
            "--out",
            out.to_str().unwrap(),
        ],
        &["d.csv", "2 features", "expects 5", "x_dim"],
    );
    let bad_cfg = write(dir.path(), "bad.json", r#"{"model": {"x_dim": "many"}}"#);
    fails_with(
        &["train", "--config", &bad_cfg, "--device", "ndarray"],
        &["bad.json"],
    );
    let zero = config.replace("\"epochs\": 1", "\"epochs\": 0");
    let zero = write(dir.path(), "zero.json", &zero);
    fails_with(
        &["train", "--config", &zero, "--device", "ndarray"],
        &["epochs"],
    );
}

#[test]
fn train_eval_sample_round_trip_on_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &good_csv());
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let o = neuromod(&train_args(&data, "csv", run_s));
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "config.json",
        "metrics.csv",
        "latest",
        "best",
        "snapshots/epoch-000001/model.bpk",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let o = neuromod(&[
        "eval",
        "--checkpoint",
        run_s,
        "--split",
        "test",
        "--json",
        "--device",
        "ndarray",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A second run into the same folder is refused, and nothing is lost.
    fails_with(
        &train_args(&data, "csv", run_s),
        &["already holds a training run", "--resume"],
    );
    // Resuming a finished run does nothing more and succeeds.
    let again = neuromod(&["train", "--resume", run_s, "--device", "ndarray"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let nll = v["nll_per_step"].as_f64().expect("nll_per_step");
    assert!(nll.is_finite());
    assert_eq!(
        v["steps"].as_u64(),
        Some(5),
        "one test sequence of five steps"
    );
    // --samples K averages K passes with seeds 0..K: the mean of K one-pass evaluations.
    let eval_json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "eval",
            "--checkpoint",
            run_s,
            "--json",
            "--device",
            "ndarray",
        ];
        args.extend_from_slice(extra);
        let o = neuromod(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let one: Vec<f64> = ["0", "1", "2"]
        .iter()
        .map(|s| eval_json(&["--seed", s])["nll_per_step"].as_f64().unwrap())
        .collect();
    let three = eval_json(&["--samples", "3"]);
    let mean = one.iter().sum::<f64>() / 3.0;
    assert!((three["nll_per_step"].as_f64().unwrap() - mean).abs() < 1e-9 * mean.abs().max(1.0));
    assert_eq!(three["samples"].as_u64(), Some(3));
    assert!(
        three["nll_std_error"].as_f64().unwrap() > 0.0,
        "latent noise differs per seed"
    );
    assert!(one[0] != one[1]);
    fails_with(
        &[
            "eval",
            "--checkpoint",
            run_s,
            "--samples",
            "0",
            "--device",
            "ndarray",
        ],
        &["--samples must be at least 1"],
    );

    let sample = dir.path().join("s.csv");
    let o = neuromod(&[
        "sample",
        "--checkpoint",
        run_s,
        "--steps",
        "7",
        "--num",
        "2",
        "--out",
        sample.to_str().unwrap(),
        "--device",
        "ndarray",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let set = neuromod_datasets::csv::load(&sample).unwrap();
    assert_eq!((set.len(), set.dim, set.steps(1)), (2, 2, 7));
}

#[test]
fn bad_checkpoints_and_arguments_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing");
    fails_with(
        &[
            "eval",
            "--checkpoint",
            missing.to_str().unwrap(),
            "--device",
            "ndarray",
        ],
        &["nothing", "no such checkpoint folder"],
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    fails_with(
        &[
            "eval",
            "--checkpoint",
            empty.to_str().unwrap(),
            "--device",
            "ndarray",
        ],
        &["empty", "no config.json"],
    );
    fails_with(
        &[
            "train",
            "--resume",
            missing.to_str().unwrap(),
            "--device",
            "ndarray",
        ],
        &["nothing", "no such checkpoint folder"],
    );
    fails_with(
        &["train", "--resume", "x", "--lr", "0.1"],
        &["--resume", "--lr", "cannot be used with"],
    );
    fails_with(
        &["train", "--device", "ndarray"],
        &["--dataset is required"],
    );
    fails_with(
        &["train", "--dataset", "csv", "--device", "ndarray"],
        &["--data PATH"],
    );
    let out = dir.path().join("plateau");
    let markov = [
        "train",
        "--dataset",
        "markov",
        "--device",
        "ndarray",
        "--out",
        out.to_str().unwrap(),
    ];
    fails_with(
        &[&markov[..], &["--lr-plateau", "3", "--lr-final", "1e-4"]].concat(),
        &["--lr-plateau", "cannot be used with", "--lr-final"],
    );
    fails_with(
        &[
            &markov[..],
            &["--lr-plateau", "3", "--lr-plateau-factor", "2"],
        ]
        .concat(),
        &["lr_plateau.factor", "(0, 1)"],
    );
    fails_with(
        &[&markov[..], &["--lr-plateau-factor", "0.5"]].concat(),
        &["--lr-plateau"],
    );
}

/// Decodes a PNG file to (width, height, RGB bytes).
pub(crate) fn decode_png(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn report_writes_curves_sample_spe_figures_and_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    train_markov(&ckpt, "3", &["--sf", "joint"]);
    let out = dir.path().join("report");
    let o = neuromod(&[
        "report",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        "ndarray",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for png in ["curves.png", "sample.png", "spe.png"] {
        assert!(
            html.contains(&format!("src=\"{png}\"")),
            "{png} not in index.html"
        );
        let (w, h, pixels) = decode_png(&out.join(png));
        assert!(w >= 600 && h >= 300, "{png}: {w}x{h}");
        let dark = pixels
            .chunks(3)
            .filter(|p| p.iter().all(|&c| c < 100))
            .count();
        assert!(dark > 500, "{png} is nearly blank");
    }
    let metrics = Checkpoint::open(&ckpt).unwrap().metrics().unwrap();
    let best = metrics
        .iter()
        .min_by(|a, b| a.valid_bound.total_cmp(&b.valid_bound))
        .unwrap();
    assert!(html.contains(&format!(
        "best epoch (saved weights)</th><td>{}:",
        best.epoch
    )));
    assert!(html.contains(&format!("{:.4}", best.valid_bound)), "{html}");
    assert!(html.contains("test bound"), "{html}");
    assert!(
        html.contains("&quot;") || html.contains("\"z_dim\": 4"),
        "config missing"
    );
    fails_with(
        &[
            "report",
            "--checkpoint",
            dir.path().join("none").to_str().unwrap(),
            "--out",
            "r",
        ],
        &["no such checkpoint folder"],
    );
}

#[test]
fn bench_commands_reject_bad_settings_and_never_overwrite_a_science_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    std::fs::write(dir.path().join("science.md"), "earlier run").unwrap();
    fails_with(
        &["bench", "science", "--out", out, "--device", "ndarray"],
        &["already holds a science run", out],
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("science.md")).unwrap(),
        "earlier run"
    );
    let fresh = dir.path().join("fresh");
    let fresh = fresh.to_str().unwrap();
    fails_with(
        &[
            "bench", "science", "--seeds", "0", "--out", fresh, "--device", "ndarray",
        ],
        &["seeds", "at least 1"],
    );
    fails_with(
        &[
            "bench",
            "science",
            "--sequences",
            "5",
            "--out",
            fresh,
            "--device",
            "ndarray",
        ],
        &["sequences", "at least 10"],
    );
    fails_with(&["bench", "science", "--tasks", "music"], &["music"]);
    fails_with(
        &["bench", "speed", "--reps", "0", "--out", fresh],
        &["--reps must be at least 1"],
    );
    fails_with(&["bench", "speed", "--size", "huge"], &["huge"]);
}
