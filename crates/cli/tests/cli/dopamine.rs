//! `neuromod dopamine` through the binary: decoding from measurements, the noise sweep, SVG
//! output, the three-cue task, and bad arguments.

use std::path::{Path, PathBuf};

use crate::{decode_png, fails_with, neuromod, stderr};

/// Runs `neuromod dopamine ARGS --out DIR/NAME`, expects success, returns the folder and its
/// summary.json.
fn dopamine(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, serde_json::Value) {
    let out = dir.join(name);
    let mut all = vec!["dopamine"];
    all.extend_from_slice(args);
    all.extend(["--out", out.to_str().unwrap()]);
    let o = neuromod(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    (out, serde_json::from_str(&text).unwrap())
}

/// A two-atom reward distribution (two magnitudes).
const TWO_ATOMS: [&str; 4] = ["--task", "custom", "--rewards", "1:0.5,4:0.5"];

#[test]
fn two_magnitudes_give_reversal_points_but_no_measured_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = TWO_ATOMS.to_vec();
    args.extend(["--cells", "10", "--trials", "20000", "--noise", "0"]);
    let (out, summary) = dopamine(dir.path(), "da", &args);
    assert_eq!(
        summary["spearman_tau_reversal"].as_f64(),
        Some(1.0),
        "{summary}"
    );
    // Two magnitudes give a reversal point but no measurable asymmetry: nothing is decoded
    // from measurements (said, not faked); the internal-value reference still is.
    assert_eq!(summary["measured_cells"].as_u64(), Some(0), "{summary}");
    assert!(summary["w1_measured"].is_null(), "{summary}");
    assert!(
        summary["spearman_asymmetry_reversal"].is_null(),
        "{summary}"
    );
    // A null says why.
    let why = summary["undefined"]["w1_decoded"].as_str().unwrap_or("");
    assert!(why.contains("three reward magnitudes"), "{summary}");
    assert!(summary["w1_internal"].as_f64().unwrap() < 0.5, "{summary}");
    assert!(!out.join("noise.png").exists());
    let cells = std::fs::read_to_string(out.join("cells.csv")).unwrap();
    assert_eq!(cells.lines().count(), 11);
    assert!(out.join("decoded.csv").exists() && out.join("tuning.csv").exists());
    // Figures: real PNGs; tuning curves hold both the optimistic red and the pessimistic blue.
    for (name, size) in [
        ("reversal.png", (1520, 560)),
        ("decoded.png", (800, 560)),
        ("tuning.png", (800, 560)),
    ] {
        let (w, h, rgb) = decode_png(&out.join(name));
        assert_eq!((w, h), size, "{name}");
        let count = |c: [u8; 3]| rgb.chunks(3).filter(|p| *p == c).count();
        let (red, blue) = (count([214, 39, 40]), count([31, 119, 180]));
        if name != "decoded.png" {
            assert!(
                red > 50 && blue > 50,
                "{name}: red {red}, blue {blue} pixels"
            );
        }
    }
}

#[test]
fn seven_magnitudes_decode_from_measurements_and_noise_makes_it_worse() {
    // Both measures, decoding from them close to decoding from internals without noise, and
    // worse with noise.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--cells",
        "20",
        "--trials",
        "20000",
        "--noise",
        "0",
        "--noise-sweep",
        "0,2",
    ];
    let (vm, s) = dopamine(dir.path(), "vm", &args);
    let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    assert_eq!(s["measured_cells"].as_u64(), Some(20), "{s}");
    assert!((f("w1_measured") - f("w1_internal")).abs() < 0.2, "{s}");
    assert!(f("w1_measured") < f("w1_gaussian"), "{s}");
    let sweep: Vec<f64> = s["noise_sweep"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["w1_measured"].as_f64().unwrap())
        .collect();
    assert!(sweep.len() == 2 && sweep[1] > sweep[0], "{s}");
    let csv = std::fs::read_to_string(vm.join("noise.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let (_, _, rgb) = decode_png(&vm.join("noise.png"));
    assert!(rgb.chunks(3).filter(|p| *p == [255, 127, 14]).count() > 50);
}

#[test]
fn svg_format_writes_every_figure_as_svg() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = TWO_ATOMS.to_vec();
    args.extend(["--trials", "2000", "--noise-sweep", "--format", "svg"]);
    let (svg, _) = dopamine(dir.path(), "svg", &args);
    for stem in ["reversal", "decoded", "tuning"] {
        let text = std::fs::read_to_string(svg.join(format!("{stem}.svg"))).unwrap();
        assert!(text.starts_with("<svg"), "{stem}");
        assert!(!svg.join(format!("{stem}.png")).exists());
    }
}

#[test]
fn three_cues_put_every_cell_on_its_side_without_noise() {
    // Without noise every optimistic cell answers the 50 % cue above halfway and every
    // pessimistic one below, in the order of the measured asymmetry.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--task",
        "three-cues",
        "--cells",
        "10",
        "--trials",
        "40000",
        "--noise",
        "0",
    ];
    let (cues, s) = dopamine(dir.path(), "cues", &args);
    assert!(
        s["spearman_asymmetry_relative_response"].as_f64().unwrap() > 0.9,
        "{s}"
    );
    for side in ["optimistic_above_half", "pessimistic_below_half"] {
        assert_eq!(s[side]["cells"], s[side]["on_their_side"], "{s}");
    }
    assert!(
        s["classic_td_mean_abs_deviation_from_half"]
            .as_f64()
            .unwrap()
            < 0.05,
        "{s}"
    );
    let csv = std::fs::read_to_string(cues.join("cues.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11);
    assert!(cues.join("cues.png").exists());
}

#[test]
fn dopamine_rejects_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("da");
    let out = out.to_str().unwrap();
    let base = |extra: &[&'static str]| {
        let mut v = vec!["dopamine", "--out", out];
        v.extend_from_slice(extra);
        v
    };
    fails_with(
        &base(&["--task", "custom", "--rewards", "1:0.5,2:0.4"]),
        &["sum to"],
    );
    fails_with(&base(&["--task", "custom"]), &["--rewards"]);
    fails_with(&base(&["--cells", "0"]), &["at least one cell"]);
    fails_with(&base(&["--trials=-5"]), &["invalid value", "--trials"]);
    fails_with(
        &base(&["--task", "variable-probability", "--probability", "1.5"]),
        &["(0, 1)"],
    );
    fails_with(
        &base(&["--noise-sweep", "0,-1"]),
        &["--noise-sweep", "non-negative"],
    );
    fails_with(
        &base(&["--recorded-trials", "1"]),
        &["--recorded-trials", "at least 2"],
    );
    fails_with(
        &base(&["--model", "bayesian"]),
        &["invalid value", "--model"],
    );
}

#[test]
fn the_contract_keys_are_numbers_for_every_model_at_the_papers_sizes() {
    // `--recorded-trials` is per reward size: 15 x 7 sizes recorded, split in two halves.
    let dir = tempfile::tempdir().unwrap();
    for model in [
        "distributional",
        "classical",
        "baseline-bias",
        "asymmetric-scaling",
    ] {
        let args = [
            "--task",
            "variable-magnitude",
            "--model",
            model,
            "--cells",
            "40",
            "--recorded-trials",
            "15",
            "--noise",
            "7",
            "--seed",
            "3",
            "--trials",
            "20000",
            "--noise-sweep",
        ];
        let (_, s) = dopamine(dir.path(), model, &args);
        for key in [
            "spearman_asymmetry_reversal",
            "p_asymmetry_reversal",
            "split_half_reversal_r",
            "p_split_half",
            "w1_decoded",
        ] {
            assert!(s[key].is_f64(), "{model}: {key} in {s}");
        }
        assert_eq!(s["model"], model, "{s}");
        assert_eq!(s["recorded_trials"], 15, "{s}");
        let p = |k: &str| s[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p("p_split_half")), "{s}");
        if model == "baseline-bias" {
            // Offsets put the reversal points where distributional cells' would be: reliable.
            assert!(
                p("split_half_reversal_r") > 0.5 && p("p_split_half") < 0.01,
                "{s}"
            );
        }
    }
}

#[test]
fn bench_identity_writes_the_designs_and_a_world_models_shift_beside_the_published_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("identity");
    let small = [
        "--seeds",
        "1",
        "--sessions",
        "20",
        "--epochs",
        "1",
        "--kl-anneal-epochs",
        "0",
        "--h-dim",
        "8",
        "--z-dim",
        "2",
        "--hidden",
        "8",
        "--heads",
        "4",
        "--critic-epochs",
        "1",
    ];
    let mut args = vec!["bench", "identity", "--out", out.to_str().unwrap()];
    args.extend(small);
    let o = neuromod(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("identity.json")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sr = &r["designs"]["takahashi"][0];
    assert!(sr["early"].as_f64() > sr["late"].as_f64(), "{r}");
    let c = &r["designs"]["sharpe_activation"];
    assert!(
        c["sr_perturbed"][2].as_f64() > c["sr_control"][2].as_f64(),
        "{r}"
    );
    // One seed, every signal read around at least one shift of the 4 held-out sessions.
    let world = &r["world"][0];
    assert!(world["shifts"].as_u64().unwrap() >= 1, "{world}");
    for (name, signal) in world["signals"].as_object().unwrap() {
        let around = signal["around"].as_array().unwrap();
        assert_eq!(around.len(), 10, "{name}");
        assert!(
            around.iter().all(|v| v.as_f64().unwrap().is_finite()),
            "{name}"
        );
    }
    assert!(out.join("identity-shift.png").exists());
    let md = std::fs::read_to_string(out.join("identity.md")).unwrap();
    for needle in [
        "6.8200 / 2.3400",
        "26.7000 / 47.4000",
        "51.4000 / 29.3000",
        "value RPE",
    ] {
        assert!(md.contains(needle), "{needle} missing:\n{md}");
    }
    // Too few sessions to measure: refused, naming the setting, before anything is written.
    let bad = dir.path().join("bad");
    let o = neuromod(&[
        "bench",
        "identity",
        "--sessions",
        "5",
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("sessions"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.join("identity.json").exists());
}
