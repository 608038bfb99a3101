//! Crash safety: `neuromod train` killed with SIGKILL at random moments, some of them in the
//! middle of a checkpoint write, always resumes from what is on disk, and the run it finishes
//! is bit-identical to one never interrupted; a second trainer into a busy folder is refused.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

const EPOCHS: &str = "60";

pub(crate) fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_neuromod"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start neuromod")
}

pub(crate) fn data_file(dir: &Path) -> String {
    let mut s = String::from("sequence,time,f1,f2,f3\n");
    for seq in 0..30 {
        for t in 0..12 {
            let v = |k: usize| ((seq * 7 + t * 3 + k) as f32 * 0.37).sin();
            s += &format!("{seq},{t},{},{},{}\n", v(0), v(1), v(2));
        }
    }
    let path = dir.join("d.csv");
    std::fs::write(&path, s).unwrap();
    path.to_str().unwrap().to_string()
}

fn fresh_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        "csv",
        "--data",
        data,
        "--device",
        "ndarray",
        "--epochs",
        EPOCHS,
        "--h-dim",
        "12",
        "--z-dim",
        "3",
        "--hidden",
        "12",
        "--batch-size",
        "4",
        "--dropout",
        "0.1",
        "--ema",
        "0.9",
        "--keep-last",
        "2",
        "--seed",
        "5",
        "--out",
        out,
    ]
}

/// Whether process `pid` is writing a checkpoint: its temporary snapshot folder or file exists.
fn writing(run: &Path, pid: u32) -> bool {
    let suffix = format!("-{pid}");
    let temp = |dir: &Path| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.contains(".tmp-") && name.ends_with(&suffix)
            })
        })
    };
    temp(&run.join("snapshots")) || temp(run)
}

pub(crate) fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "run failed:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The raw and averaged weights of the last epoch, by parameter name (files differ in their
/// random parameter ids, so values are compared, not bytes).
fn latest_weights(run: &Path) -> Vec<neuromod_train::NamedArray> {
    let ck = neuromod_train::Checkpoint::open(run).unwrap();
    let snap = ck.latest().unwrap().expect("a snapshot");
    assert_eq!(snap.state.epoch, EPOCHS.parse::<usize>().unwrap());
    #[allow(deprecated)]
    let device = burn::prelude::Device::ndarray();
    let mut out = Vec::new();
    for file in [
        neuromod_train::TRAIN_WEIGHTS_FILE,
        neuromod_train::WEIGHTS_FILE,
    ] {
        let model = snap
            .load_model(file, ck.config.model.init(&device).unwrap())
            .unwrap();
        out.extend(neuromod_train::named_parameters(&model, file).unwrap());
    }
    out
}

#[test]
fn sigkill_during_training_and_checkpoint_writes_then_resume_always_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path());
    let whole = dir.path().join("whole");
    finish(spawn(&fresh_args(&data, whole.to_str().unwrap())));

    let run = dir.path().join("killed");
    let run_s = run.to_str().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let (mut kills, mut mid_write, mut attempts) = (0, 0, 0);
    while kills < 12 || mid_write < 4 {
        attempts += 1;
        assert!(attempts < 200, "{kills} kills, {mid_write} during writes");
        let args = if run.join("config.json").exists() {
            vec!["train", "--resume", run_s, "--device", "ndarray"]
        } else {
            fresh_args(&data, run_s)
        };
        let mut child = spawn(&args);
        let pid = child.id();
        let start = Instant::now();
        // Half the kills wait for a write to begin; the others land at a random time.
        let at_write = attempts % 2 == 0;
        let delay = Duration::from_millis(rng.random_range(20..900));
        let mut hit_write = false;
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if at_write && writing(&run, pid) {
                hit_write = true;
                break;
            }
            if !at_write && start.elapsed() >= delay {
                break;
            }
            if start.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if child.try_wait().unwrap().is_some() {
            // Finished before the kill: the run is complete; start the next from scratch.
            finish(child);
            std::fs::remove_dir_all(&run).unwrap();
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        kills += 1;
        if hit_write || writing(&run, pid) {
            mid_write += 1;
        }
        // What is on disk is always loadable once a first epoch finished.
        if let Ok(ck) = neuromod_train::Checkpoint::open(&run) {
            if let Some(snap) = ck.latest().unwrap() {
                for f in snap.state.files.keys() {
                    snap.read(f).unwrap();
                }
            }
        }
    }
    // The last start runs to the end: a resume, or a fresh start when the last kill landed
    // before the run had written its config.json (nothing to resume yet).
    let last = if run.join("config.json").exists() {
        vec!["train", "--resume", run_s, "--device", "ndarray"]
    } else {
        fresh_args(&data, run_s)
    };
    finish(spawn(&last));
    assert!(
        kills >= 10 && mid_write >= 3,
        "{kills} kills, {mid_write} during writes"
    );
    eprintln!("{kills} SIGKILLs ({mid_write} during checkpoint writes) in {attempts} starts");

    // The final checkpoint loads and evaluates, and equals the unbroken run bit for bit.
    let eval = Command::new(env!("CARGO_BIN_EXE_neuromod"))
        .args([
            "eval",
            "--checkpoint",
            run_s,
            "--device",
            "ndarray",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    assert!(latest_weights(&run) == latest_weights(&whole));
    let metrics = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p.join("metrics.csv"))
            .unwrap()
            .lines()
            .map(|l| {
                // Drop the wall-clock column (9th).
                let mut cells: Vec<&str> = l.split(',').collect();
                cells.remove(8);
                cells.join(",")
            })
            .collect()
    };
    assert_eq!(metrics(&run), metrics(&whole));
}

#[test]
fn a_second_trainer_into_the_same_folder_is_refused_until_the_first_ends_or_dies() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_file(dir.path());
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    // A first run long enough to still be training whatever happens below.
    let mut long = fresh_args(&data, run_s);
    let at = long.iter().position(|a| *a == "--epochs").unwrap() + 1;
    long[at] = "100000";
    let mut first = spawn(&long);
    let t0 = Instant::now();
    while !run.join("config.json").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the first run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for args in [
        fresh_args(&data, run_s),
        vec!["train", "--resume", run_s, "--device", "ndarray"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_neuromod"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "a second trainer ran: {args:?}");
        assert!(err.contains("another process is training"), "{err}");
        // It refused while the first was running, rather than waiting for it.
        assert!(first.try_wait().unwrap().is_none(), "the first run ended");
    }
    // The lock dies with its holder: after SIGKILL the folder can be claimed (and resumed:
    // the SIGKILL test above resumes a killed run a dozen times).
    first.kill().unwrap();
    first.wait().unwrap();
    neuromod_train::RunLock::acquire(&run).expect("the killed run's lock is gone");
}
