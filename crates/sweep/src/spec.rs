//! The sweep spec: the `train` flags every run gets and the grid the runs span.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::SweepError;

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
    pub fn load(path: &Path) -> Result<Self, SweepError> {
        let text = std::fs::read_to_string(path).map_err(SweepError::io(path, "read"))?;
        let bad = |reason: String| SweepError::Spec {
            path: path.to_path_buf(),
            reason,
        };
        let spec: Self = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        spec.check().map_err(bad)?;
        Ok(spec)
    }

    /// Refuses a spec that cannot run; the reason names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.grid.is_empty() {
            return Err("`grid` names no flag".into());
        }
        for (flag, values) in &self.grid {
            if values.is_empty() {
                return Err(format!("`grid.{flag}` has no values"));
            }
            if flag.starts_with('-') || flag.contains(char::is_whitespace) {
                return Err(format!(
                    "`grid.{flag}`: give the flag's name without dashes (`seed`, not `--seed`)"
                ));
            }
            if matches!(flag.as_str(), "out" | "resume") {
                return Err(format!(
                    "`grid.{flag}`: the sweep sets --out and --resume itself"
                ));
            }
            if self.args.iter().any(|a| a == &format!("--{flag}")) {
                return Err(format!(
                    "`grid.{flag}`: `args` gives --{flag} too; give it in one place"
                ));
            }
        }
        if let Some(a) = self.args.iter().find(|a| *a == "--out" || *a == "--resume") {
            return Err(format!("`args` gives {a}: the sweep sets it itself"));
        }
        let runs = self.runs();
        for (i, run) in runs.iter().enumerate() {
            if let Some(other) = runs[..i].iter().find(|r| r.name == run.name) {
                return Err(format!(
                    "two grid points share the folder name `{}` ({:?} and {:?}): make the \
                     values differ in more than `/`, `_` and spaces",
                    run.name, other.settings, run.settings
                ));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<SweepSpec, String> {
        let spec: SweepSpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
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
        let err = |t: &str| spec(t).unwrap_err();
        assert!(err(r#"{"grid": {}}"#).contains("names no flag"));
        assert!(err(r#"{"grid": {"seed": []}}"#).contains("`grid.seed` has no values"));
        assert!(err(r#"{"grid": {"--seed": [1]}}"#).contains("without dashes"));
        assert!(err(r#"{"grid": {"out": ["x"]}}"#).contains("sets --out"));
        assert!(err(r#"{"args": ["--seed", "1"], "grid": {"seed": [2]}}"#).contains("too"));
        assert!(err(r#"{"grid": {"data": ["a/b", "a_b"]}}"#).contains("share the folder name"));
        assert!(err(r#"{"grid": {"seed": [1]}, "extra": 1}"#).contains("extra"));
    }
}
