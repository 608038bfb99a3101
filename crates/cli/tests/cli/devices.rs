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
