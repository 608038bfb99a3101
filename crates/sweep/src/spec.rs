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
    /// "dkf"], "seed": [0, 1, 2]}` is six runs). A value may be an object of several flags
    /// that go together, under the key as a label (`"objective": [{"label": "elbo"},
    /// {"label": "iwae4", "train-particles": 4, "train-bound": "iwae"}]`); its `label` names
    /// it in folders and tables.
    pub grid: BTreeMap<String, Vec<serde_json::Value>>,
    /// Split each finished run is evaluated on (`eval --json`); null: none.
    #[serde(default = "default_split")]
    pub eval_split: Option<String>,
    /// More evaluations of each finished run on the same split, each a column of the tables
    /// (e.g. `{"label": "smc100", "args": ["--bound", "smc", "--particles", "100"]}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evals: Vec<EvalSpec>,
}

/// One more `eval` of every finished run: its flags besides `--checkpoint`, `--split` and
/// `--json`, and the label of its column and file (`eval-LABEL.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSpec {
    /// Column and file label: letters, digits, `-` and `_`.
    pub label: String,
    /// The `eval` flags (e.g. `["--bound", "iwae", "--particles", "100"]`).
    pub args: Vec<String>,
}

fn default_split() -> Option<String> {
    Some("test".into())
}

/// One grid point.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Folder name under `runs/` (`model-vrnn.seed-0`).
    pub name: String,
    /// Its settings, grid key -> value (a group's label), in the grid's (sorted) order.
    pub settings: Vec<(String, String)>,
    /// The `train` flags it gives, flag (without `--`) -> value.
    pub flags: Vec<(String, String)>,
}

/// A grid value as a flag value (strings unquoted).
fn flag_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A grid value's label and the flags it sets: itself under its key, or a group's flags.
fn expand(key: &str, v: &serde_json::Value) -> (String, Vec<(String, String)>) {
    let serde_json::Value::Object(group) = v else {
        return (flag_value(v), vec![(key.to_string(), flag_value(v))]);
    };
    let flags = group
        .iter()
        .filter(|(k, _)| *k != "label")
        .map(|(k, v)| (k.clone(), flag_value(v)))
        .collect();
    let label = group.get("label").map(flag_value).unwrap_or_default();
    (label, flags)
}

/// A flag name the sweep cannot take: one it sets itself, or one not written as a name.
fn bad_flag(where_: &str, flag: &str) -> Option<String> {
    if flag.starts_with('-') || flag.contains(char::is_whitespace) {
        return Some(format!(
            "`{where_}`: give the flag's name without dashes (`seed`, not `--seed`)"
        ));
    }
    matches!(flag, "out" | "resume")
        .then(|| format!("`{where_}`: the sweep sets --out and --resume itself"))
}

/// Whether a label can name a folder part, a file and a column.
fn plain_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
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
        let mut owner: Vec<(String, &String)> = Vec::new(); // flag -> the grid key that sets it
        for (key, values) in &self.grid {
            if values.is_empty() {
                return Err(format!("`grid.{key}` has no values"));
            }
            let mut flags = Vec::new();
            let mut labels = Vec::new();
            for v in values {
                let (label, set) = expand(key, v);
                if v.is_object() && labels.contains(&label) {
                    return Err(format!(
                        "`grid.{key}`: two values share the label `{label}`"
                    ));
                }
                labels.push(label.clone());
                if v.is_object() && !plain_label(&label) {
                    return Err(format!(
                        "`grid.{key}`: a group of flags needs a `label` of letters, digits, `-`, `_` or `.` (got {v})"
                    ));
                }
                flags.extend(set.into_iter().map(|(f, _)| f));
            }
            for flag in flags {
                let where_ = if flag == *key {
                    format!("grid.{key}")
                } else {
                    format!("grid.{key}.{flag}")
                };
                if let Some(e) = bad_flag(&where_, &flag) {
                    return Err(e);
                }
                if self.args.iter().any(|a| a == &format!("--{flag}")) {
                    return Err(format!(
                        "`{where_}`: `args` gives --{flag} too; give it in one place"
                    ));
                }
                match owner.iter().find(|(f, _)| *f == flag) {
                    Some((_, other)) if *other != key => {
                        return Err(format!(
                            "`{where_}`: `grid.{other}` sets --{flag} too; give it in one place"
                        ))
                    }
                    Some(_) => {}
                    None => owner.push((flag, key)),
                }
            }
        }
        let mut labels = Vec::new();
        for e in &self.evals {
            if !plain_label(&e.label) || labels.contains(&&e.label) {
                return Err(format!(
                    "`evals`: each label must be unique and of letters, digits, `-`, `_` or `.` (got `{}`)",
                    e.label
                ));
            }
            labels.push(&e.label);
            if let Some(a) = e.args.iter().find(|a| {
                ["--checkpoint", "--split", "--json"]
                    .iter()
                    .any(|f| a == f || a.starts_with(&format!("{f}=")))
            }) {
                return Err(format!(
                    "`evals.{}`: gives {a}, which the sweep sets itself",
                    e.label
                ));
            }
        }
        if !self.evals.is_empty() && self.eval_split.is_none() {
            return Err("`evals` need an `eval_split` to evaluate on".into());
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
        type Point = Vec<(String, String, Vec<(String, String)>)>;
        let mut runs: Vec<Point> = vec![Vec::new()];
        for (key, values) in &self.grid {
            runs = runs
                .into_iter()
                .flat_map(|prefix| {
                    values.iter().map(move |v| {
                        let (label, flags) = expand(key, v);
                        let mut next = prefix.clone();
                        next.push((key.clone(), label, flags));
                        next
                    })
                })
                .collect();
        }
        runs.into_iter()
            .map(|point| RunSpec {
                name: point
                    .iter()
                    .map(|(k, v, _)| format!("{k}-{}", v.replace(['/', ' '], "_")))
                    .collect::<Vec<_>>()
                    .join("."),
                settings: point
                    .iter()
                    .map(|(k, v, _)| (k.clone(), v.clone()))
                    .collect(),
                flags: point.into_iter().flat_map(|(_, _, f)| f).collect(),
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
    fn a_group_of_flags_is_one_grid_value_named_by_its_label() {
        let s = spec(
            r#"{"grid": {"objective": [{"label": "elbo"},
                {"label": "iwae4", "train-particles": 4, "train-bound": "iwae"}], "seed": [0]},
                "evals": [{"label": "smc100", "args": ["--bound", "smc", "--particles", "100"]}]}"#,
        )
        .unwrap();
        let runs = s.runs();
        assert_eq!(runs[0].name, "objective-elbo.seed-0");
        assert_eq!(runs[0].flags, [("seed".into(), "0".into())]);
        assert_eq!(runs[1].name, "objective-iwae4.seed-0");
        assert_eq!(
            runs[1].settings,
            [
                ("objective".into(), "iwae4".into()),
                ("seed".into(), "0".into())
            ]
        );
        let flags: Vec<(&str, &str)> = runs[1]
            .flags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            flags,
            [
                ("train-bound", "iwae"),
                ("train-particles", "4"),
                ("seed", "0")
            ]
        );
    }

    #[test]
    fn bad_groups_and_evals_are_refused_with_the_field() {
        let err = |t: &str| spec(t).unwrap_err();
        assert!(err(r#"{"grid": {"o": [{"seed": 1}]}}"#).contains("needs a `label`"));
        assert!(err(r#"{"grid": {"o": [{"label": "a", "out": "x"}]}}"#).contains("grid.o.out"));
        assert!(
            err(r#"{"args": ["--lr", "1"], "grid": {"o": [{"label": "a", "lr": 2}]}}"#)
                .contains("`grid.o.lr`: `args` gives --lr")
        );
        let evals = |e: &str| format!(r#"{{"grid": {{"seed": [0]}}, "evals": [{e}]}}"#);
        assert!(err(&evals(r#"{"label": "a b", "args": []}"#)).contains("`evals`"));
        assert!(err(&evals(
            r#"{"label": "a", "args": []}, {"label": "a", "args": []}"#
        ))
        .contains("unique"));
        assert!(
            err(&evals(r#"{"label": "a", "args": ["--split", "valid"]}"#))
                .contains("`evals.a`: gives --split")
        );
        assert!(spec(
            r#"{"grid": {"seed": [0]}, "eval_split": null, "evals": [{"label": "a", "args": []}]}"#
        )
        .unwrap_err()
        .contains("need an `eval_split`"));
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
