//! `bench step` and `scripts/gpu-bench.sh`, run here on the CPU devices (the script's
//! environment overrides): a step's time as one JSON line, and the script's rows, tables and
//! science wall time. A peer framework that is not installed is listed as skipped.

use std::path::Path;
use std::process::Command;

use crate::stderr;

#[test]
fn bench_step_prints_one_timing_and_refuses_an_empty_setup() {
    let out = Command::new(env!("CARGO_BIN_EXE_neuromod"))
        .args(["bench", "step", "--device", "flex", "--model", "dkf"])
        .args([
            "--size", "small", "--batch", "3", "--steps", "4", "--reps", "2",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let line = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(
        (
            v["model"].as_str(),
            v["device"].as_str(),
            v["batch"].as_u64()
        ),
        (Some("dkf"), Some("flex"), Some(3))
    );
    let (ms, min) = (
        v["ms_median"].as_f64().unwrap(),
        v["ms_min"].as_f64().unwrap(),
    );
    assert!(min > 0.0 && min <= ms, "{line}");
    let seq = v["sequences_per_s"].as_f64().unwrap();
    assert!((seq - 3.0 / (ms / 1000.0)).abs() < 1e-6 * seq, "{line}");
    let refused = Command::new(env!("CARGO_BIN_EXE_neuromod"))
        .args(["bench", "step", "--device", "flex", "--steps", "0"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--steps"), "{}", stderr(&refused));
}

#[test]
fn gpu_bench_script_writes_its_rows_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gpu-bench.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args([env!("CARGO_BIN_EXE_neuromod"), dir.path().to_str().unwrap()])
        .env("GPU_BENCH_DEVICES", "flex")
        .env("GPU_BENCH_BATCHES", "2,3")
        .env("GPU_BENCH_STEPS", "3")
        .env("GPU_BENCH_REPS", "1")
        .env("GPU_BENCH_SIZE", "small")
        .env("GPU_BENCH_PEER_DEVICE", "cpu")
        // Where jax is installed its peers run at the bench widths on the CPU (a JIT compile
        // each): a budget no loaded machine runs out of, so every row is timed or skipped for
        // a missing framework, never for time.
        .env("GPU_BENCH_BUDGET_S", "1500")
        .env(
            "GPU_BENCH_SCIENCE_ARGS",
            "--seeds 1 --tasks reward --epochs 1 --critic-epochs 1 --sequences 20",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json = std::fs::read_to_string(dir.path().join("gpu-bench.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let kind =
        |k: &str| -> Vec<&serde_json::Value> { rows.iter().filter(|r| r["kind"] == k).collect() };
    // Every family at both batches, each timed.
    let timed = kind("neuromod");
    assert_eq!(timed.len(), 6, "{json}");
    for r in &timed {
        assert!(r["ms_median"].as_f64().unwrap() > 0.0, "{r}");
    }
    // Five peers per batch (PyTorch eager and compiled for the VRNN, JAX for each family),
    // named; where a framework is not installed (as on CI), skipped with the reason, never
    // failed.
    let peers = kind("peer");
    assert_eq!(peers.len(), 10, "{json}");
    for model in ["vrnn", "dkf", "srnn"] {
        let jax = |p: &&&serde_json::Value| p["peer"] == "jax-jit-scan" && p["model"] == model;
        assert_eq!(peers.iter().filter(jax).count(), 2, "{model}: {json}");
    }
    let has = |module: &str| {
        Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    for p in &peers {
        assert!(
            p["peer"].as_str().is_some() && p["batch"].as_u64().is_some(),
            "{p}"
        );
        let framework = if p["peer"] == "jax-jit-scan" {
            "jax"
        } else {
            "torch"
        };
        if has(framework) {
            assert!(p.get("median_s").is_some(), "{p}");
        } else {
            let why = p["skipped"].as_str().unwrap_or_else(|| panic!("{p}"));
            assert!(why.contains("not installed"), "{p}");
        }
    }
    let science = kind("science");
    assert_eq!(science.len(), 1, "{json}");
    assert!(science[0]["wall_s"].as_f64().is_some(), "{}", science[0]);
    let md = std::fs::read_to_string(dir.path().join("gpu-bench.md")).unwrap();
    assert!(md.contains("| neuromod | srnn | flex | 3 | 3 |"), "{md}");
}
