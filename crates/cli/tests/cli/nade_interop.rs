//! A NADE model's bound recomputed independently in numpy (`nade_bound.py`) from the weights
//! export and the data of a signals export, against `neuromod eval`.

use std::process::Command;

use super::{neuromod, stderr};

/// The recomputation, run by real Python (numpy, safetensors).
const NADE_BOUND: &str = include_str!("nade_bound.py");

/// A short JSB run (its latent KL is not collapsed, so both terms of the bound are checked):
/// numpy and Rust agree to 0.01 nats per step (measured about 2e-4 on such models; a wrong
/// GRU gate order or KL direction moves the value by more than that), and the script refuses
/// a model it does not cover.
#[test]
fn a_nade_vrnn_bound_recomputed_in_numpy_agrees_with_eval() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: no python3 on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (run, weights, signals) = (path("run"), path("w.safetensors"), path("s.safetensors"));
    let ok = |args: &[&str]| {
        let o = neuromod(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        o
    };
    ok(&[
        "train",
        "--dataset",
        "jsb",
        "--likelihood",
        "nade",
        "--device",
        "ndarray",
        "--epochs",
        "2",
        "--h-dim",
        "32",
        "--z-dim",
        "8",
        "--hidden",
        "32",
        "--out",
        &run,
    ]);
    ok(&["export", "--checkpoint", &run, "--out", &weights]);
    ok(&[
        "signals",
        "--checkpoint",
        &run,
        "--split",
        "test",
        "--device",
        "ndarray",
        "--out",
        &signals,
    ]);
    let o = ok(&[
        "eval",
        "--checkpoint",
        &run,
        "--split",
        "test",
        "--device",
        "ndarray",
        "--samples",
        "4",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let expected = v["nll_per_step"].as_f64().unwrap();
    let check = |expected: f64| {
        Command::new("python3")
            .args(["-c", NADE_BOUND, &weights, &signals])
            .args([expected.to_string(), "0.01".into(), "8".into()])
            .output()
            .unwrap()
    };
    let o = check(expected);
    assert!(
        o.status.success(),
        "numpy disagrees with eval:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    let line = String::from_utf8_lossy(&o.stdout).to_string();
    eprintln!("{line}");
    // Both terms are checked: the latent KL of this run is not collapsed.
    let kl: f64 = line
        .split("(kl ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no KL in {line}"));
    assert!(kl > 0.01, "KL {kl}: the check would not test the KL path");
    // The check can fail: a value 0.02 nats away is refused.
    let o = check(expected + 0.02);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("MISMATCH"), "{}", stderr(&o));
    // A model the script does not cover (independent keys) is refused, not computed wrongly.
    let plain = path("plain");
    ok(&[
        "train",
        "--dataset",
        "jsb",
        "--recipe",
        "none",
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
        &plain,
    ]);
    let plain_weights = path("p.safetensors");
    ok(&["export", "--checkpoint", &plain, "--out", &plain_weights]);
    let o = Command::new("python3")
        .args(["-c", NADE_BOUND, &plain_weights, &signals, "1.0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("likelihood"), "{}", stderr(&o));
}
