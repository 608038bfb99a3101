//! A sweep's table (`neuromod collect DIR`): every run of a sweep in one CSV (a row per run) and one Markdown
//! table (mean and standard deviation per setting over the seeds). A run that failed, was
//! interrupted, is still running or never started is listed as such, never dropped.

use std::fmt::Write as _;
use std::path::Path;

use neuromod_train::{write_atomic, Checkpoint, RunLock};

use crate::local::eval_file;
use crate::{read_status, run_dir, training_in, RunSpec, Status, SweepError, SweepSpec};

/// Where one run stands, as `collect` reports it.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Done,
    Failed(String),
    /// Its status says running but nobody holds its lock: the worker died.
    Interrupted,
    Running,
    Missing,
}

impl State {
    fn label(&self) -> String {
        match self {
            State::Done => "done".into(),
            State::Failed(why) => format!("failed: {why}"),
            State::Interrupted => {
                "failed: interrupted (its worker died; running the sweep again resumes it)".into()
            }
            State::Running => "running".into(),
            State::Missing => "missing (never started)".into(),
        }
    }
}

/// One run's row.
struct Row {
    run: RunSpec,
    state: State,
    epochs: Option<usize>,
    seconds: Option<f64>,
    valid: Option<f64>,
    /// The spec's evaluation, then each of its `evals`.
    tests: Vec<Option<f64>>,
}

fn state_of(folder: &Path) -> Result<State, SweepError> {
    Ok(match read_status(folder)? {
        None => State::Missing,
        Some(Status::Done) => State::Done,
        Some(Status::Failed { reason }) => State::Failed(reason),
        Some(Status::Running { .. }) => match RunLock::acquire(folder) {
            // Nobody holds the worker's lock; read again under it (it may have just finished).
            Ok(_held) => match read_status(folder)? {
                Some(Status::Running { .. }) if training_in(&folder.join("checkpoint")) => {
                    State::Running
                }
                Some(Status::Running { .. }) => State::Interrupted,
                Some(Status::Done) => State::Done,
                Some(Status::Failed { reason }) => State::Failed(reason),
                None => State::Missing,
            },
            Err(_) => State::Running,
        },
    })
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn row(dir: &Path, spec: &SweepSpec, run: &RunSpec) -> Result<Row, SweepError> {
    let folder = run_dir(dir, run);
    let state = state_of(&folder)?;
    let metrics = Checkpoint::open(&folder.join("checkpoint"))
        .and_then(|c| c.metrics())
        .ok();
    let bound = |file: String| {
        std::fs::read_to_string(folder.join(file))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["nll_per_step"].as_f64())
            .filter(|_| state == State::Done)
    };
    let mut tests = vec![bound("eval.json".into())];
    tests.extend(spec.evals.iter().map(|e| bound(eval_file(&e.label))));
    Ok(Row {
        run: run.clone(),
        epochs: metrics.as_ref().map(Vec::len),
        seconds: metrics.as_ref().and_then(|m| m.last()).map(|r| r.seconds),
        valid: metrics
            .as_ref()
            .map(|m| {
                m.iter()
                    .map(|r| r.valid_bound)
                    .fold(f64::INFINITY, f64::min)
            })
            .filter(|v| v.is_finite()),
        tests,
        state,
    })
}

/// Mean and sample standard deviation (None for the deviation of one value).
fn mean_sd(v: &[f64]) -> Option<(f64, Option<f64>)> {
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.len() > 1)
        .then(|| (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    Some((mean, sd))
}

fn cell(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.4}"))
}

/// The CSV and the Markdown of a sweep folder.
pub fn tables(dir: &Path, spec: &SweepSpec) -> Result<(String, String), SweepError> {
    let rows: Vec<Row> = spec
        .runs()
        .iter()
        .map(|r| row(dir, spec, r))
        .collect::<Result<_, _>>()?;
    let flags: Vec<&String> = spec.grid.keys().collect();
    let mut csv = String::from("run,");
    for f in &flags {
        let _ = write!(csv, "{},", field(f));
    }
    csv += "state,epochs,seconds,best_valid_bound,test_bound";
    for e in &spec.evals {
        let _ = write!(csv, ",test_{}", e.label);
    }
    csv += "\n";
    for r in &rows {
        let _ = write!(csv, "{},", field(&r.run.name));
        for (_, v) in &r.run.settings {
            let _ = write!(csv, "{},", field(v));
        }
        let _ = write!(
            csv,
            "{},{},{},{}",
            field(&r.state.label()),
            r.epochs.map_or(String::new(), |e| e.to_string()),
            r.seconds.map_or(String::new(), |s| format!("{s:.1}")),
            cell(r.valid),
        );
        for t in &r.tests {
            let _ = write!(csv, ",{}", cell(*t));
        }
        csv += "\n";
    }
    // Markdown: one line per setting of every flag but the seed, over the seeds.
    let group_of = |r: &Row| -> Vec<(String, String)> {
        r.run
            .settings
            .iter()
            .filter(|(k, _)| k != "seed")
            .cloned()
            .collect()
    };
    let mut groups: Vec<Vec<(String, String)>> = Vec::new();
    for r in &rows {
        let g = group_of(r);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let extra: String = spec
        .evals
        .iter()
        .map(|e| format!(" test, {} |", e.label))
        .collect();
    let mut md = format!(
        "# Sweep {}\n\nTest bound (`eval` on the spec's split, then each of the spec's `evals`) \
         and best validation bound, nats per step: mean ± standard deviation over the finished \
         runs of each setting, n = finished / all.\n\n| setting | n | test bound |{extra} best \
         valid bound | seconds per run |\n| --- | --- | --- |{} --- | --- |\n",
        dir.display(),
        " --- |".repeat(spec.evals.len())
    );
    let fmt = |v: Option<(f64, Option<f64>)>| match v {
        None => "n/a".to_string(),
        Some((m, Some(sd))) => format!("{m:.4} ± {sd:.4}"),
        Some((m, None)) => format!("{m:.4}"),
    };
    for g in &groups {
        let members: Vec<&Row> = rows.iter().filter(|r| group_of(r) == *g).collect();
        let done: Vec<&&Row> = members.iter().filter(|r| r.state == State::Done).collect();
        let pick =
            |f: fn(&Row) -> Option<f64>| -> Vec<f64> { done.iter().filter_map(|r| f(r)).collect() };
        let name = if g.is_empty() {
            "all".to_string()
        } else {
            g.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let tests: String = (0..=spec.evals.len())
            .map(|i| {
                let v: Vec<f64> = done.iter().filter_map(|r| r.tests[i]).collect();
                format!(" {} |", fmt(mean_sd(&v)))
            })
            .collect();
        let _ = writeln!(
            md,
            "| {name} | {}/{} |{tests} {} | {} |",
            done.len(),
            members.len(),
            fmt(mean_sd(&pick(|r| r.valid))),
            fmt(mean_sd(&pick(|r| r.seconds))),
        );
    }
    let unfinished: Vec<&Row> = rows.iter().filter(|r| r.state != State::Done).collect();
    if !unfinished.is_empty() {
        md += "\nNot finished:\n\n";
        for r in unfinished {
            let _ = writeln!(md, "- `{}`: {}", r.run.name, r.state.label());
        }
    }
    Ok((csv, md))
}

/// Tabulates the sweep folder `dir` into `sweep.csv` and `sweep.md`; returns the Markdown.
pub fn collect(dir: &Path) -> Result<String, SweepError> {
    let spec_path = dir.join("sweep.json");
    let spec = SweepSpec::load(&spec_path).map_err(|e| match e {
        SweepError::Io { .. } => SweepError::Setting(format!(
            "{}: not a sweep folder (no readable sweep.json)",
            dir.display()
        )),
        e => e,
    })?;
    let (csv, md) = tables(dir, &spec)?;
    for (name, text) in [("sweep.csv", &csv), ("sweep.md", &md)] {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes()).map_err(SweepError::io(&path, "write"))?;
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(field("seed-3"), "seed-3");
        assert_eq!(field("0.5,0.9"), "\"0.5,0.9\"");
        assert_eq!(field("say \"no\""), "\"say \"\"no\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
