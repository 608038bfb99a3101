//! Device choice through the binary: a GPU that cannot be had, and quiet driver probing.

use std::process::Command;

use crate::stderr;

/// A GPU asked for on a machine whose Vulkan loader finds no driver is a one-line error naming
/// what to install, not a panic from wgpu's GL fallback; and the default device's adapter probe
/// keeps the drivers' own complaints (Mesa's "XDG_RUNTIME_DIR is invalid") out of stderr.
#[test]
fn a_gpu_that_cannot_be_had_is_an_error_and_probing_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = |device: &str, no_driver: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_neuromod"));
        cmd.args([
            "train",
            "--dataset",
            "markov",
            "--epochs",
            "1",
            "--h-dim",
            "8",
            "--z-dim",
            "2",
            "--hidden",
            "8",
            "--device",
            device,
            "--out",
        ])
        .arg(out.join(device))
        .env_remove("XDG_RUNTIME_DIR");
        if no_driver {
            cmd.env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
                .env("VK_DRIVER_FILES", "/nonexistent/icd.json");
        }
        cmd.output().expect("run neuromod")
    };
    let o = run("wgpu", true);
    let err = stderr(&o);
    assert!(!o.status.success(), "expected failure:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("no Vulkan, Metal or DX12 adapter") && err.contains("--device flex"),
        "{err}"
    );
    let o = run("auto", false);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        !err.contains("XDG_RUNTIME_DIR"),
        "driver noise leaked:\n{err}"
    );
}

/// `bench dispatches` counts a training step's kernel runs with cubecl's logger (one JSON
/// line); a longer sequence submits no more (the recurrence is one CubeCL launch per
/// direction, whatever T; composed, it launched per time step and T 4 counted about 160 more
/// than T 2); a CPU device runs no kernels and is refused by name.
#[test]
fn dispatches_are_counted_and_do_not_grow_with_the_sequence() {
    let count = |steps: &str| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_neuromod"))
            .args(["bench", "dispatches", "--device", "wgpu", "--batch", "2"])
            .args(["--steps", steps])
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .expect("run neuromod");
        assert!(out.status.success(), "{}", stderr(&out));
        let line = String::from_utf8(out.stdout).unwrap();
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let (short, long) = (count("2"), count("4"));
    let per_step = |v: &serde_json::Value| v["dispatches_per_training_step"].as_f64().unwrap();
    eprintln!(
        "dispatches per training step: T 2 {}, T 4 {}",
        per_step(&short),
        per_step(&long)
    );
    assert_eq!(
        (short["model"].as_str(), short["steps"].as_u64()),
        (Some("vrnn"), Some(2))
    );
    // Autotune picks a product's kernels by shape and timing (T 2 and T 4 gave 305 and 301 in
    // one run) and cubecl's logger can lose a line at exit; a recurrence launched per time
    // step added about 160 here.
    assert!(per_step(&short) > 0.0);
    assert!(
        (per_step(&long) - per_step(&short)).abs() <= 20.0,
        "T 2: {}, T 4: {}",
        per_step(&short),
        per_step(&long)
    );
    // A whole process (set-up, tuning, warm-up and one step) runs more than one step.
    let whole = long["dispatches_with_one_step"].as_f64().unwrap();
    assert!(whole > per_step(&long), "{whole}");
    let refused = Command::new(env!("CARGO_BIN_EXE_neuromod"))
        .args(["bench", "dispatches", "--device", "ndarray"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("--device"),
        "{}",
        stderr(&refused)
    );
}

/// `--device cuda` never panics: a binary built without the `cuda` feature says how to build
/// one; with it, a machine without an NVIDIA driver (this one) gets one line naming the
/// driver. (On a machine with a driver the run trains, and only the no-panic part is checked.)
#[test]
fn cuda_without_the_feature_or_a_driver_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_neuromod"))
        .args(["train", "--dataset", "markov", "--epochs", "1"])
        .args([
            "--h-dim", "8", "--z-dim", "2", "--hidden", "8", "--device", "cuda",
        ])
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .expect("run neuromod");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    if out.status.success() {
        return;
    }
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    #[cfg(not(feature = "cuda"))]
    assert!(err.contains("--features cuda"), "{err}");
    #[cfg(feature = "cuda")]
    assert!(err.contains("NVIDIA driver"), "{err}");
}

/// A bad `NEUROMOD_KERNELS` is one line naming the variable before anything runs, and
/// `composed` runs the composed chains (on the CPU: training works the same way).
#[test]
fn kernels_env_is_checked_at_start_and_composed_trains() {
    let dir = tempfile::tempdir().unwrap();
    let train = |value: &str| {
        Command::new(env!("CARGO_BIN_EXE_neuromod"))
            .env("NEUROMOD_KERNELS", value)
            .args(["train", "--dataset", "markov", "--epochs", "1"])
            .args(["--h-dim", "8", "--z-dim", "2", "--hidden", "8"])
            .arg("--out")
            .arg(dir.path().join(value))
            .output()
            .expect("run neuromod")
    };
    let bad = train("fused");
    let err = stderr(&bad);
    assert!(!bad.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("NEUROMOD_KERNELS=fused"), "{err}");
    assert!(!dir.path().join("fused").exists());
    let composed = train("composed");
    assert!(composed.status.success(), "{}", stderr(&composed));
}
