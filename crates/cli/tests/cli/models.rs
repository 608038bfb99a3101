//! Every world-model family through every command (`--model`), the IWAE bound of `eval`, and
//! what a smoothing posterior is refused.

use std::path::Path;

use super::{fails_with, neuromod, stderr, train_markov, write};

/// `neuromod eval --json` on `run` with `extra` flags, parsed.
fn eval_json(run: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "eval",
        "--checkpoint",
        run.to_str().unwrap(),
        "--split",
        "valid",
        "--device",
        "ndarray",
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = neuromod(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Runs a command on `run` that writes `out`, and expects success.
fn writes(command: &str, run: &Path, out: &Path) {
    let mut args = vec![
        command,
        "--checkpoint",
        run.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if command != "export" {
        args.extend(["--device", "ndarray"]);
    }
    let o = neuromod(&args);
    assert!(o.status.success(), "{command}: {}", stderr(&o));
    assert!(out.exists(), "{command} wrote no {}", out.display());
}

#[test]
fn every_family_trains_evaluates_samples_reads_signals_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    for model in ["vrnn", "dkf"] {
        let run = dir.path().join(model);
        // Free nats and KL balancing are family-independent loss options.
        train_markov(
            &run,
            "4",
            &[
                "--model",
                model,
                "--free-nats",
                "0.05",
                "--kl-balance",
                "0.8",
            ],
        );
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["kind"], model);
        assert_eq!(
            (
                config["kl"]["free_nats"].as_f64(),
                config["kl"]["balance"].as_f64()
            ),
            (Some(0.05), Some(0.8))
        );

        let elbo = eval_json(&run, &["--samples", "3"]);
        assert_eq!(elbo["bound"], "elbo");
        let iwae = eval_json(
            &run,
            &["--bound", "iwae", "--particles", "64", "--samples", "3"],
        );
        assert_eq!(
            (iwae["bound"].as_str(), iwae["particles"].as_u64()),
            (Some("iwae"), Some(64))
        );
        let (e, i) = (
            elbo["nll_per_step"].as_f64().unwrap(),
            iwae["nll_per_step"].as_f64().unwrap(),
        );
        // 64 samples per sequence tighten the bound on -log p(x).
        assert!(i < e, "{model}: IWAE {i} is not below the ELBO's {e}");
        assert_eq!(iwae["steps"], elbo["steps"]);
        let smc = eval_json(&run, &["--bound", "smc", "--particles", "64"]);
        assert_eq!(smc["bound"], "smc");
        let s = smc["nll_per_step"].as_f64().unwrap();
        assert!(s < e, "{model}: SMC {s} is not below the ELBO's {e}");

        writes("sample", &run, &dir.path().join(format!("{model}.csv")));
        writes("report", &run, &dir.path().join(format!("{model}-report")));
        writes("signals", &run, &dir.path().join(format!("{model}.npz")));
        let exported = dir.path().join(format!("{model}.safetensors"));
        writes("export", &run, &exported);
        let bytes = std::fs::read(&exported).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        let names: Vec<&String> = header.as_object().unwrap().keys().collect();
        assert!(
            names
                .iter()
                .all(|n| *n == "__metadata__" || n.starts_with(&format!("{model}."))),
            "{names:?}"
        );
        assert_eq!(
            header["__metadata__"]["format"],
            format!("neuromod-{model}/1")
        );
    }
}

#[test]
fn a_smoothing_posterior_has_no_signals_and_settings_a_family_lacks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "dkf.json",
        r#"{"kind": "dkf", "model": {"h_dim": 8, "z_dim": 2, "hidden": 8, "guide": "smoothing"},
            "data": {"kind": "markov"}, "epochs": 1}"#,
    );
    let run = dir.path().join("smooth");
    let o = neuromod(&[
        "train",
        "--config",
        &config,
        "--device",
        "ndarray",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    fails_with(
        &[
            "signals",
            "--checkpoint",
            run.to_str().unwrap(),
            "--device",
            "ndarray",
            "--out",
            dir.path().join("s.npz").to_str().unwrap(),
        ],
        &["smoothing posterior", "dkf"],
    );
    // The IWAE bound does not need a causal posterior; the particle filter does.
    let iwae = eval_json(&run, &["--bound", "iwae", "--particles", "8"]);
    assert!(iwae["nll_per_step"].as_f64().unwrap().is_finite());
    fails_with(
        &[
            "eval",
            "--checkpoint",
            run.to_str().unwrap(),
            "--bound",
            "smc",
            "--device",
            "ndarray",
        ],
        &["filtering posterior", "IWAE"],
    );
    fails_with(
        &[
            "eval",
            "--checkpoint",
            run.to_str().unwrap(),
            "--bound",
            "smc",
            "--particles",
            "5000",
            "--device",
            "ndarray",
        ],
        &["at most 4096 particles"],
    );
    let out = dir.path().join("x");
    let out = out.to_str().unwrap();
    fails_with(
        &["train", "--config", &config, "--sf", "joint", "--out", out],
        &["`sf`", "smoothing posterior"],
    );
    fails_with(
        &[
            "train",
            "--dataset",
            "markov",
            "--model",
            "dkf",
            "--dropout",
            "0.2",
            "--out",
            out,
        ],
        &["--dropout", "not a DKF setting"],
    );
    fails_with(
        &[
            "train",
            "--dataset",
            "markov",
            "--model",
            "lstm",
            "--out",
            out,
        ],
        &["lstm", "vrnn", "dkf", "srnn"],
    );
    fails_with(
        &[
            "train",
            "--dataset",
            "markov",
            "--guide",
            "smoothing",
            "--out",
            out,
        ],
        &["--guide", "VRNN"],
    );
    // The particle filter as objective: with several particles, and a filtering posterior.
    fails_with(
        &[
            "train",
            "--dataset",
            "markov",
            "--train-bound",
            "fivo",
            "--out",
            out,
        ],
        &["--train-bound", "--train-particles"],
    );
    fails_with(
        &[
            "train",
            "--dataset",
            "markov",
            "--model",
            "srnn",
            "--guide",
            "smoothing",
            "--train-particles",
            "4",
            "--train-bound",
            "fivo",
            "--out",
            out,
        ],
        &["--train-bound", "filtering"],
    );
    fails_with(
        &[
            "train",
            "--dataset",
            "markov",
            "--kl-balance",
            "1.5",
            "--out",
            out,
        ],
        &["--kl-balance", "`kl.balance`", "[0, 1]"],
    );
    fails_with(
        &[
            "train",
            "--dataset",
            "markov",
            "--free-nats=-1",
            "--out",
            out,
        ],
        &["--free-nats", "`kl.free_nats`"],
    );
    fails_with(
        &[
            "eval",
            "--checkpoint",
            run.to_str().unwrap(),
            "--bound",
            "iwae",
            "--particles",
            "0",
        ],
        &["particles", "at least 1"],
    );
}
