//! `neuromod sweep` and `neuromod collect`: the flags, and the `neuromod` processes the sweep
//! engine (`neuromod-sweep`) runs its grid points in.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use clap::Args;
use neuromod_sweep::SweepSpec;

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

/// Arguments of `neuromod collect`.
#[derive(Args, Debug)]
pub struct CollectArgs {
    /// Sweep folder (as given to `neuromod sweep --out`).
    dir: PathBuf,
}

/// Runs `neuromod sweep`.
pub fn run(args: SweepArgs) -> Result<()> {
    let spec = SweepSpec::load(&args.spec)?;
    neuromod_sweep::start(&spec, &args.out)?;
    let exe = std::env::current_exe().context("cannot find the neuromod executable")?;
    if args.slurm {
        let n = spec.runs().len();
        let path = neuromod_sweep::write_sbatch(&exe, &args.spec, &args.out, n)?;
        eprintln!(
            "wrote {} ({n} array tasks): sbatch {}",
            path.display(),
            path.display()
        );
        return Ok(());
    }
    let launch = |a: &[String], log: &Path, out: Option<&Path>| child(&exe, a, log, out);
    if let Some(i) = args.task {
        return Ok(neuromod_sweep::run_task(&spec, &args.out, i, &launch)?);
    }
    let n = neuromod_sweep::run_sweep(&spec, &args.out, args.workers, &launch)?;
    eprintln!(
        "{n} of {n} runs finished; `neuromod collect {}` tabulates them",
        args.out.display()
    );
    Ok(())
}

/// Runs `neuromod collect`.
pub fn collect(args: CollectArgs) -> Result<()> {
    print!("{}", neuromod_sweep::collect(&args.dir)?);
    Ok(())
}

/// Runs `neuromod ARGS`, appending its stderr to `log` and writing its stdout to `stdout`
/// (atomically) when given.
fn child(exe: &Path, args: &[String], log: &Path, stdout: Option<&Path>) -> Result<(), String> {
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: cannot open: {e}", log.display()))?;
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
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    if !out.status.success() {
        let how = match out.status.code() {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".into(),
        };
        return Err(format!(
            "`neuromod {}` failed ({how}); see {}",
            args[0],
            log.display()
        ));
    }
    if let Some(path) = stdout {
        neuromod_train::write_atomic(path, &out.stdout)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    Ok(())
}
