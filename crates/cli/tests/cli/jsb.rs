//! The bundled JSB Chorales through the binary.

use std::process::Command;

use crate::stderr;

/// The README's main command, small: `--dataset jsb` with no `--data` trains on the JSB
/// Chorales bundled in the binary, from a folder with nothing beside it, and `eval` scores the
/// standard test split. With no other flag the run starts from the JSB recipe (a VRNN with a
/// NADE emission); `--recipe none` from the plain defaults.
#[test]
fn jsb_trains_and_evaluates_from_the_bundled_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_neuromod"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run neuromod")
    };
    // One epoch of a tiny model on the bundled JSB file, with `extra` flags, into `out`.
    let tiny = |extra: &[&str], out: &str| {
        let mut args = vec![
            "train",
            "--dataset",
            "jsb",
            "--device",
            "ndarray",
            "--epochs",
            "1",
        ];
        args.extend([
            "--h-dim", "8", "--z-dim", "2", "--hidden", "8", "--out", out,
        ]);
        args.extend(extra);
        run(&args)
    };
    let o = tiny(&[], "runs/jsb");
    assert!(o.status.success(), "{}", stderr(&o));
    let config = |run: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.path().join(run).join("config.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let c = config("runs/jsb");
    assert_eq!(c["kind"], "vrnn");
    assert_eq!(c["model"]["likelihood"], "nade");
    assert_eq!(c["schedule"]["batch_size"], 8);
    assert_eq!(c["schedule"]["epochs"], 1, "the flag wins over the recipe");
    let o = tiny(&["--recipe", "none"], "runs/plain");
    assert!(o.status.success(), "{}", stderr(&o));
    let c = config("runs/plain");
    assert_eq!(c["model"]["likelihood"], "bernoulli");
    assert_eq!(c["schedule"]["batch_size"], 16);
    // A plateau schedule replaces the recipe's cosine decay instead of clashing with it.
    let o = tiny(&["--lr-plateau", "5"], "runs/plateau");
    assert!(o.status.success(), "{}", stderr(&o));
    let c = config("runs/plateau");
    assert!(c["schedule"]["lr_final"].is_null(), "{c}");
    assert_eq!(c["schedule"]["lr_plateau"]["patience"], 5);
    // A run from another checkpoint's world model starts from the plain defaults.
    let o = run(&[
        "train",
        "--dataset",
        "jsb",
        "--init-from",
        "runs/jsb",
        "--device",
        "ndarray",
        "--epochs",
        "1",
        "--out",
        "runs/init",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = config("runs/init");
    assert_eq!(c["model"]["likelihood"], "nade", "the source's world model");
    assert_eq!(c["schedule"]["batch_size"], 16, "not the recipe's schedule");
    let o = run(&[
        "train",
        "--dataset",
        "markov",
        "--recipe",
        "jsb",
        "--out",
        "runs/m",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--recipe jsb"), "{}", stderr(&o));
    let o = run(&[
        "eval",
        "--checkpoint",
        "runs/jsb",
        "--split",
        "test",
        "--json",
        "--device",
        "ndarray",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert_eq!(v["steps"].as_u64(), Some(4725), "the 77 test chorales");
    let nll = v["nll_per_step"].as_f64().unwrap();
    // Below the 88-key uniform coin (61 nats) after one epoch, above the best published bounds.
    assert!(nll > 4.0 && nll < 61.0, "{nll}");
}
