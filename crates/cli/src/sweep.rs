//! `neuromod sweep`: a grid of `neuromod train` runs (settings x seeds), each in its own folder,
//! run by N local worker processes or as the tasks of a Slurm array job; and the run folders'
//! states, which `neuromod collect` reads.
//!
//! A sweep folder holds `sweep.json` (the spec it was started with: a second start must give the
//! same one), `runs/<name>/` per grid point (`status.json`, `stderr.log`, the checkpoint in
//! `checkpoint/`, the test bound in `eval.json`) and, with `--slurm`, `sweep.sbatch`. Running a
//! sweep again skips finished runs, resumes interrupted ones from their last snapshot
//! (`train --resume`) and retries failed ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::Args;
use neuromod_train::{write_atomic, RunLock};
use serde::{Deserialize, Serialize};

/// A sweep: the `train` flags every run gets, and the grid the runs span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Flags given to every `neuromod train` (e.g. `["--dataset", "jsb", "--epochs", "100"]`).
    #[serde(default)]
    pub args: Vec<String>,
    /// Flag name (without `--`) -> its values; one run per combination (`{"model": ["vrnn",
    /// "dkf"], "seed": [0, 1, 2]}` is six runs).
    pub grid: BTreeMap<String, Vec<serde_json::Value>>,
    /// Split each finished run is evaluated on (`eval --json`); null: none.
    #[serde(default = "default_split")]
    pub eval_split: Option<String>,
}

fn default_split() -> Option<String> {
    Some("test".into())
}

/// One grid point.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Folder name under `runs/` (`model-vrnn.seed-0`).
    pub name: String,
    /// Its settings, flag -> value, in the grid's (sorted) order.
    pub settings: Vec<(String, String)>,
}

/// A grid value as a flag value (strings unquoted).
fn flag_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl SweepSpec {
    /// Reads and checks a spec file (JSON), naming the file and the problem.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the sweep spec", path.display()))?;
        let spec: Self = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a sweep spec", path.display()))?;
        spec.check()
            .with_context(|| format!("{}: not a sweep spec", path.display()))?;
        Ok(spec)
    }

    fn check(&self) -> Result<()> {
        if self.grid.is_empty() {
            bail!("`grid` names no flag");
        }
        for (flag, values) in &self.grid {
            if values.is_empty() {
                bail!("`grid.{flag}` has no values");
            }
            if flag.starts_with('-') || flag.contains(char::is_whitespace) {
                bail!("`grid.{flag}`: give the flag's name without dashes (`seed`, not `--seed`)");
            }
            if matches!(flag.as_str(), "out" | "resume") {
                bail!("`grid.{flag}`: the sweep sets --out and --resume itself");
            }
            if self.args.iter().any(|a| a == &format!("--{flag}")) {
                bail!("`grid.{flag}`: `args` gives --{flag} too; give it in one place");
            }
        }
        if let Some(a) = self.args.iter().find(|a| *a == "--out" || *a == "--resume") {
            bail!("`args` gives {a}: the sweep sets it itself");
        }
        let runs = self.runs();
        for (i, run) in runs.iter().enumerate() {
            if let Some(other) = runs[..i].iter().find(|r| r.name == run.name) {
                bail!(
                    "two grid points share the folder name `{}` ({:?} and {:?}): make the \
                     values differ in more than `/`, `_` and spaces",
                    run.name,
                    other.settings,
                    run.settings
                );
            }
        }
        Ok(())
    }

    /// Every grid point, in a fixed order (the Slurm array index is a position in it).
    pub fn runs(&self) -> Vec<RunSpec> {
        let mut runs = vec![Vec::<(String, String)>::new()];
        for (flag, values) in &self.grid {
            runs = runs
                .into_iter()
                .flat_map(|prefix| {
                    values.iter().map(move |v| {
                        let mut next = prefix.clone();
                        next.push((flag.clone(), flag_value(v)));
                        next
                    })
                })
                .collect();
        }
        runs.into_iter()
            .map(|settings| RunSpec {
                name: settings
                    .iter()
                    .map(|(k, v)| format!("{k}-{}", v.replace(['/', ' '], "_")))
                    .collect::<Vec<_>>()
                    .join("."),
                settings,
            })
            .collect()
    }
}

/// What a run's `status.json` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// A worker is on it (or was, until it was killed: the run folder's lock tells).
    Running {
        /// The worker's process id.
        pid: u32,
    },
    /// Trained (and evaluated when the spec asks).
    Done,
    /// `train` or `eval` exited with an error.
    Failed {
        /// Which step failed and how (exit code or signal).
        reason: String,
    },
}

/// The folder of `run` in the sweep folder `dir`.
pub fn run_dir(dir: &Path, run: &RunSpec) -> PathBuf {
    dir.join("runs").join(&run.name)
}

/// The run's status file, if it has one.
pub fn read_status(run_dir: &Path) -> Result<Option<Status>> {
    let path = run_dir.join("status.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{}: not a run status", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("{}: cannot read", path.display())),
    }
}

fn write_status(run_dir: &Path, status: &Status) -> Result<()> {
    let path = run_dir.join("status.json");
    write_atomic(&path, serde_json::to_string(status)?.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// Arguments of `neuromod sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The sweep spec (JSON: `args`, `grid`, `eval_split`).
    spec: PathBuf,
    /// Sweep folder (run folders, statuses, the Slurm script).
    #[arg(long)]
    out: PathBuf,
    /// Local worker processes, each running one `neuromod train` at a time.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Write `<out>/sweep.sbatch`, a Slurm array job with one task per run, instead of
    /// running anything (submit it with `sbatch`; running it again continues the sweep).
    #[arg(long, conflicts_with = "task")]
    slurm: bool,
    /// Run only the run at this position of the grid (what each Slurm array task does).
    #[arg(long)]
    task: Option<usize>,
}

/// Runs `neuromod sweep`.
pub fn run(args: SweepArgs) -> Result<()> {
    let spec = SweepSpec::load(&args.spec)?;
    let runs = spec.runs();
    std::fs::create_dir_all(args.out.join("runs"))
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let saved = args.out.join("sweep.json");
    match std::fs::read_to_string(&saved) {
        Ok(text) => {
            let before: SweepSpec = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a sweep spec", saved.display()))?;
            if before != spec {
                bail!(
                    "{} was started with another spec ({}): use another --out",
                    args.out.display(),
                    saved.display()
                );
            }
        }
        Err(_) => write_atomic(&saved, serde_json::to_string_pretty(&spec)?.as_bytes())
            .with_context(|| format!("{}: cannot write", saved.display()))?,
    }
    let exe = std::env::current_exe().context("cannot find the neuromod executable")?;
    if args.slurm {
        return write_sbatch(&exe, &args.spec, &args.out, runs.len());
    }
    if let Some(i) = args.task {
        let run = runs
            .get(i)
            .with_context(|| format!("--task {i}: the grid has {} runs", runs.len()))?;
        return run_one(&exe, &spec, &args.out, run);
    }
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.workers.min(runs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(run) = runs.get(i) else { break };
                if let Err(e) = run_one(&exe, &spec, &args.out, run) {
                    failures
                        .lock()
                        .expect("no panics")
                        .push(format!("{}: {e:#}", run.name));
                }
            });
        }
    });
    let failures = failures.into_inner().expect("no panics");
    eprintln!(
        "{} of {} runs finished; `neuromod collect {}` tabulates them",
        runs.len() - failures.len(),
        runs.len(),
        args.out.display()
    );
    if !failures.is_empty() {
        bail!("{} runs failed:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}

/// The Slurm array job: task i runs `neuromod sweep SPEC --out DIR --task i`.
fn write_sbatch(exe: &Path, spec: &Path, out: &Path, n: usize) -> Result<()> {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (spec, out_abs) = (abs(spec), abs(out));
    // Quoted for the shell: paths may hold spaces or quotes.
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let logs = out_abs.join("slurm");
    std::fs::create_dir_all(&logs).with_context(|| format!("{}: cannot create", logs.display()))?;
    let script = format!(
        "#!/bin/bash\n\
         #SBATCH --job-name=neuromod-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --output={logs}/%A_%a.out\n\
         # One array task per run of the grid; rerunning the job skips finished runs and\n\
         # resumes interrupted ones. Written by `neuromod sweep --slurm`.\n\
         exec {exe} sweep {spec} --out {out} --task \"$SLURM_ARRAY_TASK_ID\"\n",
        last = n - 1,
        logs = logs.display(),
        exe = quote(exe),
        spec = quote(&spec),
        out = quote(&out_abs),
    );
    let path = out.join("sweep.sbatch");
    write_atomic(&path, script.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    eprintln!(
        "wrote {} ({n} array tasks): sbatch {}",
        path.display(),
        path.display()
    );
    Ok(())
}

/// The run's `--device` (from the grid, else the spec's flags, `--device X` or `--device=X`),
/// to pass again to `train --resume` and `eval`.
fn device_flag(spec: &SweepSpec, run: &RunSpec) -> Vec<String> {
    let from_grid = run
        .settings
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

/// Takes the lock of `dir`, waiting up to two seconds while someone else (a `collect`
/// looking) holds it briefly.
fn lock_waiting(dir: &Path) -> Result<RunLock, neuromod_train::TrainError> {
    let mut tries = 0;
    loop {
        match RunLock::acquire(dir) {
            Ok(lock) => return Ok(lock),
            Err(e) if tries >= 20 => return Err(e),
            Err(_) => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

/// Whether a `train` process holds the checkpoint folder (a worker that died can leave its
/// `train` running).
pub fn training_in(checkpoint: &Path) -> bool {
    checkpoint.is_dir() && RunLock::acquire(checkpoint).is_err()
}

/// Runs (or continues) one grid point; a run already done is left as it is.
fn run_one(exe: &Path, spec: &SweepSpec, dir: &Path, run: &RunSpec) -> Result<()> {
    let folder = run_dir(dir, run);
    // Held while this worker runs it: `collect` tells a killed worker from a live one by it.
    let _lock = lock_waiting(&folder).map_err(|e| anyhow::anyhow!("{}: {e}", run.name))?;
    if read_status(&folder)? == Some(Status::Done) {
        return Ok(());
    }
    let checkpoint = folder.join("checkpoint");
    if training_in(&checkpoint) {
        bail!(
            "{}: a `train` process from an earlier worker still runs in {}: let it finish (or \
             stop it), then run the sweep again",
            run.name,
            checkpoint.display()
        );
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
            std::fs::remove_dir_all(&checkpoint)
                .with_context(|| format!("{}: cannot clear", checkpoint.display()))?;
        }
        train.extend(spec.args.iter().cloned());
        for (flag, value) in &run.settings {
            train.extend([format!("--{flag}"), value.clone()]);
        }
        train.extend(["--out".into(), checkpoint.display().to_string()]);
    }
    let log = folder.join("stderr.log");
    let outcome = child(exe, &train, &log, None).and_then(|()| match &spec.eval_split {
        None => Ok(()),
        Some(split) => {
            let ck = checkpoint.display().to_string();
            let mut eval = vec!["eval", "--checkpoint", &ck, "--split", split, "--json"];
            let device = device_flag(spec, run);
            eval.extend(device.iter().map(String::as_str));
            let eval: Vec<String> = eval.into_iter().map(String::from).collect();
            child(exe, &eval, &log, Some(&folder.join("eval.json")))
        }
    });
    match outcome {
        Ok(()) => write_status(&folder, &Status::Done),
        Err(reason) => {
            write_status(
                &folder,
                &Status::Failed {
                    reason: format!("{reason:#}"),
                },
            )?;
            Err(reason)
        }
    }
}

/// Runs `neuromod ARGS`, appending its stderr to `log` and writing its stdout to `stdout`
/// (atomically) when given.
fn child(exe: &Path, args: &[String], log: &Path, stdout: Option<&Path>) -> Result<()> {
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("{}: cannot open", log.display()))?;
    let mut command = Command::new(exe);
    // SAFETY: prctl(2) in the child before exec, no allocation: it dies with the worker thread
    // that waits for it, so a killed worker never leaves a `train` running behind it.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let out = command
        .args(args)
        .stdin(Stdio::null())
        .stderr(err)
        .stdout(Stdio::piped())
        .output()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    if !out.status.success() {
        let how = match out.status.code() {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".into(),
        };
        bail!(
            "`neuromod {}` failed ({how}); see {}",
            args[0],
            log.display()
        );
    }
    if let Some(path) = stdout {
        write_atomic(path, &out.stdout)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<SweepSpec> {
        let spec: SweepSpec = serde_json::from_str(text)?;
        spec.check().map(|()| spec)
    }

    #[test]
    fn the_grid_spans_every_combination_in_a_fixed_order() {
        let s = spec(r#"{"grid": {"seed": [0, 1], "model": ["vrnn", "dkf"]}}"#).unwrap();
        let names: Vec<String> = s.runs().into_iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "model-vrnn.seed-0",
                "model-vrnn.seed-1",
                "model-dkf.seed-0",
                "model-dkf.seed-1"
            ]
        );
    }

    #[test]
    fn bad_specs_are_refused_with_the_field() {
        let err = |t: &str| format!("{:#}", spec(t).unwrap_err());
        assert!(err(r#"{"grid": {}}"#).contains("names no flag"));
        assert!(err(r#"{"grid": {"seed": []}}"#).contains("`grid.seed` has no values"));
        assert!(err(r#"{"grid": {"--seed": [1]}}"#).contains("without dashes"));
        assert!(err(r#"{"grid": {"out": ["x"]}}"#).contains("sets --out"));
        assert!(err(r#"{"args": ["--seed", "1"], "grid": {"seed": [2]}}"#).contains("too"));
        assert!(err(r#"{"grid": {"data": ["a/b", "a_b"]}}"#).contains("share the folder name"));
        assert!(err(r#"{"grid": {"seed": [1]}, "extra": 1}"#).contains("extra"));
    }

    #[test]
    fn the_device_comes_from_the_grid_then_the_flags_in_either_form() {
        let run = |settings: &[(&str, &str)]| RunSpec {
            name: String::new(),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let s = spec(r#"{"args": ["--device=flex"], "grid": {"seed": [1]}}"#).unwrap();
        assert_eq!(
            device_flag(&s, &run(&[("seed", "1")])),
            ["--device", "flex"]
        );
        let s = spec(r#"{"args": ["--device", "ndarray"], "grid": {"seed": [1]}}"#).unwrap();
        assert_eq!(device_flag(&s, &run(&[])), ["--device", "ndarray"]);
        let s = spec(r#"{"grid": {"device": ["wgpu"]}}"#).unwrap();
        assert_eq!(
            device_flag(&s, &run(&[("device", "wgpu")])),
            ["--device", "wgpu"]
        );
        let s = spec(r#"{"grid": {"seed": [1]}}"#).unwrap();
        assert!(device_flag(&s, &run(&[])).is_empty());
    }
}
