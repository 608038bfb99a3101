//! `neuromod sweep` and `collect`: a 2 model x 3 seed grid with two local workers, a run that
//! fails, and a worker killed mid-run that `collect` shows as failed and a second sweep resumes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{neuromod, stderr, write};

/// A spec training tiny models on the generated Markov data.
fn spec(dir: &Path, name: &str, epochs: u32, grid: &str) -> String {
    write(
        dir,
        name,
        &format!(
            r#"{{"args": ["--dataset", "markov", "--device", "ndarray", "--epochs", "{epochs}",
                "--h-dim", "8", "--z-dim", "2", "--hidden", "8"],
               "grid": {grid}}}"#
        ),
    )
}

fn collect(out: &Path) -> (String, String) {
    let o = neuromod(&["collect", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    (String::from_utf8(o.stdout).unwrap(), csv)
}

#[test]
fn a_two_model_three_seed_sweep_runs_with_two_workers_and_collects_into_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "s.json",
        2,
        r#"{"model": ["vrnn", "dkf"], "seed": [0, 1, 2]}"#,
    );
    let out = dir.path().join("sweep");
    let o = neuromod(&[
        "sweep",
        &spec,
        "--out",
        out.to_str().unwrap(),
        "--workers",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (md, csv) = collect(&out);
    assert!(md.contains("| model dkf | 3/3 |"), "{md}");
    assert!(md.contains("| model vrnn | 3/3 |"), "{md}");
    assert!(!md.contains("Not finished"), "{md}");
    assert_eq!(csv.lines().count(), 7, "{csv}");
    // Every run trained the family and seed its folder names, and was evaluated.
    let run = out.join("runs").join("model-dkf.seed-2");
    let config = std::fs::read_to_string(run.join("checkpoint/config.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(
        (config["kind"].as_str(), config["schedule"]["seed"].as_u64()),
        (Some("dkf"), Some(2))
    );
    assert!(run.join("eval.json").exists());
    // A second sweep finds everything done and changes nothing.
    let before = std::fs::read(run.join("checkpoint/metrics.csv")).unwrap();
    let o = neuromod(&["sweep", &spec, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(run.join("checkpoint/metrics.csv")).unwrap(),
        before
    );
    // Another spec into the same folder is refused.
    let other = super::write(dir.path(), "o.json", r#"{"grid": {"seed": [5]}}"#);
    let o = neuromod(&["sweep", &other, "--out", out.to_str().unwrap()]);
    assert!(
        !o.status.success() && stderr(&o).contains("another spec"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_failed_run_and_a_killed_worker_are_listed_and_the_next_sweep_resumes_the_killed_one() {
    let dir = tempfile::tempdir().unwrap();
    // A KL balance of 2 is refused by `train`: that run fails, the other trains.
    let bad = spec(dir.path(), "bad.json", 1, r#"{"kl-balance": [2, 0.5]}"#);
    let out = dir.path().join("bad");
    let o = neuromod(&["sweep", &bad, "--out", out.to_str().unwrap()]);
    assert!(!o.status.success(), "a failed run must fail the sweep");
    let (md, csv) = collect(&out);
    assert!(md.contains("| kl-balance 2 | 0/1 | n/a"), "{md}");
    assert!(md.contains("`kl-balance-2`: failed"), "{md}");
    assert!(md.contains("| kl-balance 0.5 | 1/1 |"), "{md}");
    assert!(
        csv.contains("kl-balance-2,2,failed: `neuromod train`"),
        "{csv}"
    );
    let log = std::fs::read_to_string(out.join("runs/kl-balance-2/stderr.log")).unwrap();
    assert!(
        log.contains("--kl-balance") && log.contains("kl.balance"),
        "{log}"
    );
    // A flag given both in `args` and in the grid is refused before anything runs.
    let twice = spec(dir.path(), "twice.json", 1, r#"{"z-dim": [2]}"#);
    let o = neuromod(&[
        "sweep",
        &twice,
        "--out",
        dir.path().join("t").to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains("--z-dim too"), "{}", stderr(&o));

    // A long run, its sweep worker killed (SIGKILL, the worker alone) after the first epoch:
    // its `train` child dies with it.
    let long = spec(dir.path(), "long.json", 40, r#"{"seed": [3]}"#);
    let out = dir.path().join("long");
    let mut sweep = Command::new(env!("CARGO_BIN_EXE_neuromod"))
        .args(["sweep", &long, "--out", out.to_str().unwrap()])
        .spawn()
        .unwrap();
    let latest = out.join("runs/seed-3/checkpoint/latest");
    let start = Instant::now();
    while !latest.exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "no snapshot");
        std::thread::sleep(Duration::from_millis(20));
    }
    sweep.kill().unwrap();
    sweep.wait().unwrap();
    // The train child gets SIGKILL when its worker dies; until it is gone collect says running.
    let start = Instant::now();
    let md = loop {
        let (md, _) = collect(&out);
        if md.contains("`seed-3`: failed: interrupted") {
            break md;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never interrupted:\n{md}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!md.contains("| all | 1/1 |"), "{md}");
    let o = neuromod(&["sweep", &long, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let log = std::fs::read_to_string(out.join("runs/seed-3/stderr.log")).unwrap();
    assert!(log.contains("resuming"), "{log}");
    let (md, _) = collect(&out);
    assert!(md.contains("| all | 1/1 |"), "{md}");
    let metrics = std::fs::read_to_string(out.join("runs/seed-3/checkpoint/metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        41,
        "epochs 1-40 once each:\n{metrics}"
    );
}

#[test]
fn the_slurm_script_runs_each_grid_point_as_an_array_task() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "s.json", 1, r#"{"model": ["vrnn", "srnn"]}"#);
    let out = dir.path().join("slurm");
    let o = neuromod(&["sweep", &spec, "--out", out.to_str().unwrap(), "--slurm"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-1"), "{script}");
    // Run the tasks as Slurm would, with SLURM_ARRAY_TASK_ID set (no cluster needed here;
    // `scripts/slurm-sweep.sh` submits it to a real single-node Slurm).
    for task in ["0", "1"] {
        let o = Command::new("bash")
            .arg(out.join("sweep.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", task)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (md, _) = collect(&out);
    assert!(
        md.contains("| model srnn | 1/1 |") && md.contains("| model vrnn | 1/1 |"),
        "{md}"
    );
    let o = neuromod(&[
        "sweep",
        &spec,
        "--out",
        out.to_str().unwrap(),
        "--task",
        "2",
    ]);
    assert!(stderr(&o).contains("the grid has 2 runs"), "{}", stderr(&o));
}

/// A grid value that sets several flags at once (an objective), and more evaluations per run:
/// each run trains what its label says, and every evaluation is a column of both tables.
#[test]
fn grouped_flags_and_extra_evaluations_reach_the_runs_and_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "g.json",
        r#"{"args": ["--dataset", "markov", "--device", "ndarray", "--epochs", "1",
              "--h-dim", "8", "--z-dim", "2", "--hidden", "8", "--seed", "0"],
           "grid": {"objective": [{"label": "elbo"},
                                  {"label": "fivo3", "train-particles": 3, "train-bound": "fivo"}]},
           "evals": [{"label": "smc10", "args": ["--bound", "smc", "--particles", "10"]}]}"#,
    );
    let out = dir.path().join("sweep");
    let o = neuromod(&["sweep", &path, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = |run: &str| -> serde_json::Value {
        let p = out.join("runs").join(run).join("checkpoint/config.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let fivo = config("objective-fivo3");
    assert_eq!(fivo["objective"]["particles"], 3);
    assert_eq!(fivo["objective"]["bound"], "fivo");
    assert_eq!(config("objective-elbo")["objective"]["particles"], 1);
    let (md, csv) = collect(&out);
    assert!(md.contains("| test bound | test, smc10 |"), "{md}");
    assert!(md.contains("| objective fivo3 | 1/1 |"), "{md}");
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with("test_bound,test_smc10"), "{csv}");
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let (elbo, smc): (f64, f64) = (
            cells[cells.len() - 2].parse().unwrap(),
            cells[cells.len() - 1].parse().unwrap(),
        );
        // The particle filter's bound is the tighter one (lower, in nats).
        assert!(smc <= elbo + 0.05, "{line}");
    }
}
