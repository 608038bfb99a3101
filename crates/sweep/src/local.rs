//! Running a sweep's runs: N local workers taking grid points in turn, or one grid point (what
//! each Slurm array task does). Each run is a `neuromod train` (then `eval`) process that the
//! front end starts ([`Launch`]).

use std::path::Path;

use crate::status::{lock_waiting, write_status};
use crate::{read_status, run_dir, training_in, RunSpec, Status, SweepError, SweepSpec};

/// Starts `neuromod ARGS`, appending its stderr to `log` and writing its stdout to `stdout`
/// (atomically) when given; Err says why it failed (exit code or signal, and where to look).
pub type Launch<'a> = &'a (dyn Fn(&[String], &Path, Option<&Path>) -> Result<(), String> + Sync);

/// Prepares the sweep folder `out` for `spec`: creates it, saves the spec, or refuses when the
/// folder was started with another spec.
pub fn start(spec: &SweepSpec, out: &Path) -> Result<(), SweepError> {
    let runs = out.join("runs");
    std::fs::create_dir_all(&runs).map_err(SweepError::io(&runs, "create"))?;
    let saved = out.join("sweep.json");
    match std::fs::read_to_string(&saved) {
        Ok(text) => {
            let before: SweepSpec = serde_json::from_str(&text).map_err(|e| SweepError::Spec {
                path: saved.clone(),
                reason: e.to_string(),
            })?;
            if &before != spec {
                return Err(SweepError::Setting(format!(
                    "{} was started with another spec ({}): use another --out",
                    out.display(),
                    saved.display()
                )));
            }
            Ok(())
        }
        Err(_) => {
            let text = serde_json::to_string_pretty(spec).expect("a spec serialises");
            neuromod_train::write_atomic(&saved, text.as_bytes())
                .map_err(SweepError::io(&saved, "write"))
        }
    }
}

/// Runs every grid point with `workers` local workers; returns how many finished, or the runs
/// that failed.
pub fn run_sweep(
    spec: &SweepSpec,
    out: &Path,
    workers: usize,
    launch: Launch,
) -> Result<usize, SweepError> {
    if workers == 0 {
        return Err(SweepError::Setting("--workers must be at least 1".into()));
    }
    let runs = spec.runs();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(runs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(run) = runs.get(i) else { break };
                if let Err(e) = run_one(spec, out, run, launch) {
                    failures.lock().expect("no panics").push(e.to_string());
                }
            });
        }
    });
    let failures = failures.into_inner().expect("no panics");
    if !failures.is_empty() {
        return Err(SweepError::Setting(format!(
            "{} of {} runs failed:\n{}",
            failures.len(),
            runs.len(),
            failures.join("\n")
        )));
    }
    Ok(runs.len())
}

/// Runs the grid point at position `task` (what a Slurm array task does).
pub fn run_task(
    spec: &SweepSpec,
    out: &Path,
    task: usize,
    launch: Launch,
) -> Result<(), SweepError> {
    let runs = spec.runs();
    let run = runs.get(task).ok_or_else(|| {
        SweepError::Setting(format!("--task {task}: the grid has {} runs", runs.len()))
    })?;
    run_one(spec, out, run, launch)
}

/// The run's `--device` (from the grid, else the spec's flags, `--device X` or `--device=X`),
/// to pass again to `train --resume` and `eval`.
fn device_flag(spec: &SweepSpec, run: &RunSpec) -> Vec<String> {
    let from_grid = run
        .flags
        .iter()
        .find(|(k, _)| k == "device")
        .map(|(_, v)| v.clone());
    let from_args = || {
        spec.args
            .iter()
            .enumerate()
            .find_map(|(i, a)| match a.strip_prefix("--device=") {
                Some(v) => Some(v.to_string()),
                None if a == "--device" => spec.args.get(i + 1).cloned(),
                None => None,
            })
    };
    from_grid
        .or_else(from_args)
        .map(|d| vec!["--device".to_string(), d])
        .unwrap_or_default()
}

/// The file an extra evaluation of a run writes, in the run's folder.
pub(crate) fn eval_file(label: &str) -> String {
    format!("eval-{label}.json")
}

/// Runs (or continues) one grid point; a run already done is left as it is.
fn run_one(spec: &SweepSpec, dir: &Path, run: &RunSpec, launch: Launch) -> Result<(), SweepError> {
    let failed = |reason: String| SweepError::Run {
        run: run.name.clone(),
        reason,
    };
    let folder = run_dir(dir, run);
    // Held while this worker runs it: `collect` tells a killed worker from a live one by it.
    let _lock = lock_waiting(&folder).map_err(|e| failed(e.to_string()))?;
    if read_status(&folder)? == Some(Status::Done) {
        return Ok(());
    }
    let checkpoint = folder.join("checkpoint");
    if training_in(&checkpoint) {
        return Err(failed(format!(
            "a `train` process from an earlier worker still runs in {}: let it finish (or stop \
             it), then run the sweep again",
            checkpoint.display()
        )));
    }
    write_status(
        &folder,
        &Status::Running {
            pid: std::process::id(),
        },
    )?;
    let mut train: Vec<String> = vec!["train".into()];
    if checkpoint.join(neuromod_train::LATEST_FILE).exists() {
        train.extend(["--resume".into(), checkpoint.display().to_string()]);
        train.extend(device_flag(spec, run));
    } else {
        // Killed before its first snapshot: nothing to keep.
        if checkpoint.exists() {
            std::fs::remove_dir_all(&checkpoint).map_err(SweepError::io(&checkpoint, "clear"))?;
        }
        train.extend(spec.args.iter().cloned());
        for (flag, value) in &run.flags {
            train.extend([format!("--{flag}"), value.clone()]);
        }
        train.extend(["--out".into(), checkpoint.display().to_string()]);
    }
    let log = folder.join("stderr.log");
    let outcome = launch(&train, &log, None).and_then(|()| match &spec.eval_split {
        None => Ok(()),
        Some(split) => {
            let ck = checkpoint.display().to_string();
            let mut eval: Vec<String> = ["eval", "--checkpoint", &ck, "--split", split, "--json"]
                .map(String::from)
                .to_vec();
            eval.extend(device_flag(spec, run));
            launch(&eval, &log, Some(&folder.join("eval.json")))?;
            // An extra evaluation that fails (a bound the model does not define) leaves its
            // column empty and its reason in the log; the run itself is done.
            for more in &spec.evals {
                let mut args = eval.clone();
                args.extend(more.args.iter().cloned());
                let file = folder.join(eval_file(&more.label));
                if let Err(why) = launch(&args, &log, Some(&file)) {
                    eprintln!("{}: eval {} failed: {why}", run.name, more.label);
                }
            }
            Ok(())
        }
    });
    match outcome {
        Ok(()) => write_status(&folder, &Status::Done),
        Err(reason) => {
            write_status(
                &folder,
                &Status::Failed {
                    reason: reason.clone(),
                },
            )?;
            Err(failed(reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> SweepSpec {
        let spec: SweepSpec = serde_json::from_str(text).unwrap();
        spec.check().unwrap();
        spec
    }

    #[test]
    fn the_device_comes_from_the_grid_then_the_flags_in_either_form() {
        let run = |settings: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            RunSpec {
                name: String::new(),
                settings: pairs.clone(),
                flags: pairs,
            }
        };
        let s = spec(r#"{"args": ["--device=flex"], "grid": {"seed": [1]}}"#);
        assert_eq!(
            device_flag(&s, &run(&[("seed", "1")])),
            ["--device", "flex"]
        );
        let s = spec(r#"{"args": ["--device", "ndarray"], "grid": {"seed": [1]}}"#);
        assert_eq!(device_flag(&s, &run(&[])), ["--device", "ndarray"]);
        let s = spec(r#"{"grid": {"device": ["wgpu"]}}"#);
        assert_eq!(
            device_flag(&s, &run(&[("device", "wgpu")])),
            ["--device", "wgpu"]
        );
        let s = spec(r#"{"grid": {"seed": [1]}}"#);
        assert!(device_flag(&s, &run(&[])).is_empty());
    }
}
