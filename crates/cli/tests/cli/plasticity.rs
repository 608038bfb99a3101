//! `bench plasticity` end to end, small: every rule on one task, the table, the figure and the
//! declared ordering's verdict; a bad rule is refused by name.

use super::{fails_with, neuromod, stderr};

#[test]
fn bench_plasticity_reports_every_rule_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let o = neuromod(&[
        "bench",
        "plasticity",
        "--tasks",
        "delayed-match",
        "--seeds",
        "2",
        "--iterations",
        "10",
        "--batch",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("plasticity.md")).unwrap();
    for rule in ["bptt", "eprop", "mdgl", "modprop"] {
        assert!(md.contains(&format!("| delayed-match | {rule} |")), "{md}");
    }
    assert!(md.contains("- delayed-match: "), "{md}");
    assert!(out.join("plasticity-curves.png").exists());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plasticity.json")).unwrap())
            .unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 2 * 4);
    fails_with(
        &[
            "bench",
            "plasticity",
            "--rules",
            "bptt,backprop",
            "--out",
            "x",
        ],
        &["rules", "backprop"],
    );
    fails_with(&["bench", "plasticity", "--tasks", "maze"], &["maze"]);
    fails_with(
        &["bench", "plasticity", "--iterations", "5", "--out", "x"],
        &["iterations", "at least 10"],
    );
    fails_with(
        &[
            "bench",
            "plasticity",
            "--rules",
            "bptt,eprop,bptt",
            "--out",
            "x",
        ],
        &["rules", "`bptt` is named twice"],
    );
}
