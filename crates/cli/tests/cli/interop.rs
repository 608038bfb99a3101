//! The signals and weights exports, read by real Python (numpy, safetensors) and checked
//! against what Rust wrote.

use std::path::Path;
use std::process::Command;

use neuromod_train::{Checkpoint, ModelSpec};

use super::{fails_with, neuromod, stderr, train_markov};

/// The reader the README shows, run by real Python: names, shapes, and values against the
/// CSV summary Rust wrote. Skips only when there is no `python3`; CI installs numpy and
/// safetensors, so a missing module fails there.
const PY_READER: &str = r#"
import csv, sys
import numpy as np
from safetensors.numpy import load_file

path, npz_path, csv_path = sys.argv[1:4]
s = load_file(path)
z = np.load(npz_path)
assert sorted(s) == sorted(z.files), (sorted(s), z.files)
n, t = s["mask"].shape
zdim = s["spe/onestep/vec"].shape[2]
gammas = ["0", "0.5", "0.9", "0.99"]
expected = {"x": (n, t, 8), "mask": (n, t), "spe/onestep/vec": (n, t, zdim),
            "spe/onestep/norm": (n, t), "spe/onestep/kl": (n, t), "h": (n, t, 16)}
for name in ["prior/mu", "prior/sigma", "posterior/mu", "posterior/sigma"]:
    expected[name] = (n, t, zdim)
for g in gammas:
    expected[f"spe/sf/gamma_{g}/delta"] = (n, t, zdim)
    expected[f"spe/sf/gamma_{g}/rms"] = (n, t)
assert set(expected) == set(s), set(s) ^ set(expected)
for name, shape in expected.items():
    assert s[name].shape == shape, (name, s[name].shape, shape)
    assert s[name].dtype == np.float32, name
    assert np.array_equal(s[name], z[name]), name
# One-step SPE as defined, from the exported prior and posterior.
m = s["mask"][..., None]
e = (s["posterior/mu"] - s["prior/mu"]) / s["prior/sigma"] * m
assert np.allclose(e, s["spe/onestep/vec"], atol=1e-5)
assert np.allclose(np.linalg.norm(e, axis=2), s["spe/onestep/norm"], atol=1e-5)
assert (s["spe/onestep/kl"] >= 0).all()
rows = list(csv.DictReader(open(csv_path)))
assert len(rows) == n
for i, row in enumerate(rows):
    steps = int(row["steps"])
    assert steps == int(s["mask"][i].sum())
    assert abs(float(row["spe_norm_mean"]) - s["spe/onestep/norm"][i, :steps].mean()) < 1e-4
    assert abs(float(row["sf_rms_mean_gamma_0.9"]) - s["spe/sf/gamma_0.9/rms"][i, :steps].mean()) < 1e-4
print("ok", n, t)
"#;

#[test]
fn signals_export_opens_in_numpy_with_documented_names_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    train_markov(&ckpt, "2", &[]);
    fails_with(
        &[
            "train",
            "--dataset",
            "markov",
            "--sf",
            "frozen",
            "--out",
            ckpt.to_str().unwrap(),
        ],
        &["sf.mode", "--init-from"],
    );
    // SF heads on the fixed world model of the first run: the world model must not move.
    let world = ckpt.clone();
    let ckpt = dir.path().join("with-sf");
    let o = neuromod(&[
        "train",
        "--dataset",
        "markov",
        "--device",
        "ndarray",
        "--epochs",
        "2",
        "--sf",
        "frozen",
        "--init-from",
        world.to_str().unwrap(),
        "--out",
        ckpt.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bound = |c: &Path| {
        let o = neuromod(&[
            "eval",
            "--checkpoint",
            c.to_str().unwrap(),
            "--device",
            "ndarray",
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["nll_per_step"].as_f64().unwrap()
    };
    assert_eq!(
        bound(&world),
        bound(&ckpt),
        "frozen SF training changed the world model"
    );
    let best = std::fs::read_to_string(ckpt.join("best")).unwrap();
    assert!(ckpt
        .join("snapshots")
        .join(best.trim())
        .join("sf.bpk")
        .exists());
    // The generated Markov set has 16-bit patterns; shrink the check to what was trained.
    let dim = Checkpoint::open(&ckpt).unwrap().config.model.x_dim();
    let files: Vec<_> = ["s.safetensors", "s.npz"]
        .iter()
        .map(|f| dir.path().join(f))
        .collect();
    for f in &files {
        let o = neuromod(&[
            "signals",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--split",
            "test",
            "--device",
            "ndarray",
            "--out",
            f.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    fails_with(
        &[
            "signals",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--out",
            "x.txt",
        ],
        &["x.txt", ".safetensors or .npz"],
    );
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: no python3 on this machine");
        return;
    }
    let script = PY_READER.replace("(n, t, 8)", &format!("(n, t, {dim})"));
    let o = Command::new("python3")
        .args(["-c", &script])
        .args(&files)
        .arg(dir.path().join("s.csv"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "python reader failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );

    // The weights export: readable names, config in the metadata, values as Rust holds them.
    let weights = dir.path().join("w.safetensors");
    let o = neuromod(&[
        "export",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--out",
        weights.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    fails_with(
        &[
            "export",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--out",
            "w.bin",
        ],
        &["w.bin", ".safetensors"],
    );
    let o = Command::new("python3")
        .args(["-c", PY_WEIGHTS])
        .arg(&weights)
        .output()
        .unwrap();
    assert!(o.status.success(), "python failed:\n{}", stderr(&o));
    let seen: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let checkpoint = Checkpoint::open(&ckpt).unwrap();
    #[allow(deprecated)]
    let model = checkpoint
        .load_model(&burn::prelude::Device::ndarray())
        .unwrap();
    let model = model.as_vrnn().expect("trained as a VRNN");
    let config = checkpoint.config.model.as_vrnn().unwrap();
    let expect = |name: &str, values: Vec<f32>, shape: [usize; 2]| {
        let t = &seen["tensors"][name];
        assert_eq!(t["shape"], serde_json::json!(shape), "{name}");
        let head: Vec<f64> = serde_json::from_value(t["head"].clone()).unwrap();
        for (a, b) in head.iter().zip(&values) {
            assert_eq!(*a as f32, *b, "{name}");
        }
        let sum: f64 = values.iter().map(|&v| v as f64).sum();
        let scale: f64 = values.iter().map(|&v| v.abs() as f64).sum();
        assert!(
            (t["sum"].as_f64().unwrap() - sum).abs() <= 1e-5 * scale,
            "{name}"
        );
    };
    let values = |p: &burn::module::Param<burn::prelude::Tensor<2>>| {
        p.val().into_data().try_into_vec::<f32>().unwrap()
    };
    expect(
        "vrnn.prior.mu.weight",
        values(&model.prior.mu.weight),
        model.prior.mu.weight.val().dims(),
    );
    expect(
        "vrnn.rnn.input.weight",
        values(&model.rnn.input.weight),
        model.rnn.input.weight.val().dims(),
    );
    let names: Vec<&String> = seen["tensors"].as_object().unwrap().keys().collect();
    assert!(names.iter().any(|n| n.starts_with("sf.")), "{names:?}");
    assert!(names
        .iter()
        .all(|n| n.starts_with("vrnn.") || n.starts_with("sf.")));
    let meta_config: serde_json::Value =
        serde_json::from_str(seen["metadata"]["config"].as_str().unwrap()).unwrap();
    assert_eq!(
        meta_config["model"]["z_dim"],
        serde_json::json!(config.z_dim)
    );
    assert_eq!(seen["metadata"]["format"], "neuromod-vrnn/1");
}

/// Reads a weights export with numpy and safetensors; prints names, shapes, heads and sums.
const PY_WEIGHTS: &str = r#"
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
tensors = load_file(sys.argv[1])
with safe_open(sys.argv[1], framework="np") as f:
    meta = f.metadata()
out = {"metadata": meta, "tensors": {}}
for name, a in tensors.items():
    assert a.dtype == np.float32, (name, a.dtype)
    assert np.isfinite(a).all(), name
    out["tensors"][name] = {
        "shape": list(a.shape),
        "head": [float(v) for v in a.reshape(-1)[:5]],
        "sum": float(a.sum(dtype=np.float32)),
    }
print(json.dumps(out))
"#;
