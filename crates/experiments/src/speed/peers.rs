//! Peer implementations of the bench-config training step, timed beside neuromod in the same
//! run: the same VRNN in PyTorch (eager) and JAX (jit + `lax.scan`), and the same DKF and SRNN
//! in JAX, from `benches/peers/` (compiled into the binary and written to a temporary folder
//! when run). Each peer runs as
//! `python3 <script> --json --batch B --steps T --reps R` and prints one JSON line; a peer whose
//! Python package is missing exits with code 3 and is reported as skipped.

use neuromod_core::ConfigError;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use neuromod_train::ModelKind;
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

/// The peer scripts and what they import: (file name, contents).
const SCRIPTS: [(&str, &str); 8] = [
    (
        "vrnn_torch.py",
        include_str!("../../../../benches/peers/vrnn_torch.py"),
    ),
    (
        "vrnn_jax.py",
        include_str!("../../../../benches/peers/vrnn_jax.py"),
    ),
    (
        "vrnn_reference.py",
        include_str!("../../../../benches/peers/vrnn_reference.py"),
    ),
    (
        "peer_common.py",
        include_str!("../../../../benches/peers/peer_common.py"),
    ),
    (
        "dkf_jax.py",
        include_str!("../../../../benches/peers/dkf_jax.py"),
    ),
    (
        "dkf_reference.py",
        include_str!("../../../../benches/peers/dkf_reference.py"),
    ),
    (
        "srnn_jax.py",
        include_str!("../../../../benches/peers/srnn_jax.py"),
    ),
    (
        "srnn_reference.py",
        include_str!("../../../../benches/peers/srnn_reference.py"),
    ),
];

/// The peers timed for a family: (name in tables, script). PyTorch implements the VRNN only.
pub fn peers(model: ModelKind) -> &'static [(&'static str, &'static str)] {
    match model {
        ModelKind::Vrnn => &[
            ("PyTorch eager", "vrnn_torch.py"),
            ("JAX jit + lax.scan", "vrnn_jax.py"),
        ],
        ModelKind::Dkf => &[("JAX jit + lax.scan", "dkf_jax.py")],
        ModelKind::Srnn => &[("JAX jit + lax.scan", "srnn_jax.py")],
    }
}

/// Exit code of a peer whose framework is not installed.
const SKIP_EXIT: i32 = 3;

/// What a peer printed (its JSON contract, see `benches/peers/README.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerTiming {
    /// The peer's own name.
    pub peer: String,
    /// Framework version.
    pub version: String,
    /// Median seconds per training step.
    pub median_s: f64,
    /// Fastest step, seconds.
    pub min_s: f64,
    /// Timed steps.
    pub reps: usize,
    /// CPU threads it ran on.
    pub threads: usize,
    /// Loss before and after the timed steps (training is real: it falls).
    pub loss_first: f64,
    /// See `loss_first`.
    pub loss_last: f64,
}

/// How one peer run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerOutcome {
    /// It ran.
    Timed(PeerTiming),
    /// Its framework is not installed (the message says what to install).
    Skipped(String),
}

/// The peer scripts, written to a fresh temporary folder (removed on drop).
pub struct PeerScripts {
    dir: PathBuf,
}

impl PeerScripts {
    /// Writes the scripts.
    pub fn write() -> Result<Self, ExperimentError> {
        let dir = std::env::temp_dir().join(format!("neuromod-peers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(ExperimentError::io(&dir, "create"))?;
        for (name, text) in SCRIPTS {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(ExperimentError::io(&path, "write"))?;
        }
        Ok(Self { dir })
    }

    /// Runs one peer script at batch x steps for `reps` timed steps.
    pub fn run(
        &self,
        script: &str,
        (batch, steps): (usize, usize),
        reps: usize,
    ) -> Result<PeerOutcome, ExperimentError> {
        let failed = |reason: String| {
            ExperimentError::Config(ConfigError::new("peers", format!("{script}: {reason}")))
        };
        let out = Command::new("python3")
            .arg(self.dir.join(script))
            .args(["--json", "--batch", &batch.to_string()])
            .args(["--steps", &steps.to_string(), "--reps", &reps.to_string()])
            .output()
            .map_err(|e| failed(format!("cannot start python3: {e}")))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.code() == Some(SKIP_EXIT) {
            return Ok(PeerOutcome::Skipped(stdout.trim().to_string()));
        }
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err
                .chars()
                .rev()
                .take(600)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(failed(format!("exited with {}: {tail}", out.status)));
        }
        let line = stdout
            .lines()
            .rfind(|l| l.trim_start().starts_with('{'))
            .ok_or_else(|| failed("printed no JSON line".into()))?;
        serde_json::from_str(line)
            .map(PeerOutcome::Timed)
            .map_err(|e| failed(format!("bad JSON line {line:?}: {e}")))
    }
}

impl Drop for PeerScripts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One implementation's seconds per step over rounds of the same comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contender {
    /// Name in tables.
    pub name: String,
    /// Median seconds per step of each round (empty when skipped).
    pub round_medians: Vec<f64>,
    /// Fastest step of each round.
    pub round_mins: Vec<f64>,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

impl Contender {
    /// The median over rounds of the per-round medians.
    pub fn median(&self) -> Option<f64> {
        let mut v = self.round_medians.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(v[v.len() / 2])
    }

    /// The fastest step over all rounds.
    pub fn min(&self) -> Option<f64> {
        self.round_mins.iter().copied().min_by(f64::total_cmp)
    }
}

/// A Markdown table of contenders with each one's ratio to every timed peer (ratio < 1:
/// faster than that peer).
pub fn comparison_markdown(
    contenders: &[Contender],
    peers: &[Contender],
    batch: usize,
    steps: usize,
) -> String {
    let mut md = format!(
        "## Training step beside its peers (batch {batch}, T {steps}, same run)\n\n\
         Seconds per step: the median over rounds of each round's median, and the fastest \
         step of all rounds; every round times every implementation once, in turn. Ratios \
         below 1: faster than that peer.\n\n"
    );
    let timed: Vec<&Contender> = peers.iter().filter(|p| p.median().is_some()).collect();
    md.push_str("| implementation | s/step (median) | min |");
    for p in &timed {
        let _ = write!(md, " vs {} |", p.name);
    }
    md.push_str("\n| --- | --- | --- |");
    md.push_str(&" --- |".repeat(timed.len()));
    md.push('\n');
    for c in contenders.iter().chain(peers) {
        let Some(m) = c.median() else {
            let _ = writeln!(
                md,
                "| {} | skipped: {} | |{}",
                c.name,
                c.skipped.as_deref().unwrap_or("?"),
                " |".repeat(timed.len())
            );
            continue;
        };
        let _ = write!(md, "| {} | {m:.3} | {:.3} |", c.name, c.min().unwrap_or(m));
        for p in &timed {
            let _ = write!(md, " {:.2} |", m / p.median().unwrap_or(f64::NAN));
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, medians: &[f64]) -> Contender {
        Contender {
            name: name.into(),
            round_medians: medians.to_vec(),
            round_mins: medians.iter().map(|m| m * 0.9).collect(),
            skipped: None,
        }
    }

    #[test]
    fn ratios_are_medians_over_rounds_divided() {
        let ours = c("neuromod", &[0.30, 0.10, 0.20]);
        assert_eq!(ours.median(), Some(0.20));
        assert!((ours.min().unwrap() - 0.09).abs() < 1e-12);
        let jax = c("JAX", &[0.40, 0.40, 0.50]);
        let mut torch = c("PyTorch", &[]);
        torch.skipped = Some("torch not installed".into());
        let md = comparison_markdown(&[ours], &[jax, torch], 32, 100);
        assert!(md.contains("| neuromod | 0.200 | 0.090 | 0.50 |"), "{md}");
        assert!(
            md.contains("| PyTorch | skipped: torch not installed |"),
            "{md}"
        );
        assert!(!md.contains("vs PyTorch"), "{md}");
    }

    /// The local modules a script imports (`import m` or `from m import`), as file names.
    fn local_imports(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let m = l
                    .strip_prefix("import ")
                    .or_else(|| l.strip_prefix("from "))?;
                let m = m.split([' ', ',', '.']).next()?;
                Some(format!("{m}.py"))
            })
            .collect()
    }

    #[test]
    fn the_scripts_are_bundled_with_their_imports_and_agree_on_the_contract() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/peers");
        let bundled = |name: &str| SCRIPTS.iter().find(|(n, _)| *n == name).map(|s| s.1);
        for (name, text) in SCRIPTS {
            assert!(text.len() > 1000, "{name}");
            for module in local_imports(text) {
                if folder.join(&module).exists() {
                    assert!(bundled(&module).is_some(), "{name} imports {module}");
                }
            }
        }
        for model in ModelKind::ALL {
            for (_, script) in peers(model) {
                let text = bundled(script).unwrap_or_else(|| panic!("{script} is bundled"));
                let mut contract = text.to_string();
                for module in local_imports(text) {
                    contract += bundled(&module).unwrap_or("");
                }
                assert!(
                    contract.contains("--json") && contract.contains("median_s"),
                    "{script}"
                );
                assert!(
                    text.contains(model.name()),
                    "{script} names {}",
                    model.name()
                );
            }
        }
    }
}
