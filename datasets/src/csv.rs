//! User data as CSV with header `sequence,time,f1,...,fD`: one row per step.
//!
//! Rows may come in any order; within a sequence the `time` values must be exactly
//! 0, 1, ..., T-1 (no gap, no repeat). Sequences keep the order of their first row.

use std::collections::HashMap;
use std::path::Path;

use crate::{DataError, SequenceSet};

/// Reads the CSV file at `path`.
pub fn load(path: &Path) -> Result<SequenceSet, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse(&bytes, path)
}

struct Step {
    time: usize,
    line: u64,
    values: Vec<f32>,
}

/// Parses CSV bytes (`path` only names the source in errors).
pub fn parse(bytes: &[u8], path: &Path) -> Result<SequenceSet, DataError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| DataError::invalid(path, "line 1 (header)", e.to_string()))?
        .clone();
    let names: Vec<String> = headers.iter().map(str::to_string).collect();
    if names.len() < 3 || names[0] != "sequence" || names[1] != "time" {
        return Err(DataError::invalid(
            path,
            "line 1 (header)",
            format!(
                "expected columns `sequence,time,f1,...,fD`, found `{}`",
                names.join(",")
            ),
        ));
    }
    let dim = names.len() - 2;
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<Step>> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            DataError::invalid(path, format!("line {line}"), e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != names.len() {
            return Err(DataError::invalid(
                path,
                format!("line {line}"),
                format!(
                    "expected {} fields as in the header, found {}",
                    names.len(),
                    record.len()
                ),
            ));
        }
        let time: usize = record[1].parse().map_err(|_| {
            DataError::invalid(
                path,
                format!("line {line}, field time"),
                format!("`{}` is not a non-negative integer", &record[1]),
            )
        })?;
        let mut values = Vec::with_capacity(dim);
        for (j, cell) in record.iter().enumerate().skip(2) {
            let at = || format!("line {line}, field {}", names[j]);
            let v: f32 = cell
                .parse()
                .map_err(|_| DataError::invalid(path, at(), format!("`{cell}` is not a number")))?;
            if !v.is_finite() {
                return Err(DataError::invalid(
                    path,
                    at(),
                    format!("value `{cell}` is not finite"),
                ));
            }
            values.push(v);
        }
        let id = record[0].to_string();
        if !groups.contains_key(&id) {
            order.push(id.clone());
        }
        groups
            .entry(id)
            .or_default()
            .push(Step { time, line, values });
    }
    if order.is_empty() {
        return Err(DataError::invalid(path, "whole file", "no data rows"));
    }
    let mut set = SequenceSet::new(dim);
    for id in order {
        let mut steps = groups.remove(&id).unwrap_or_default();
        steps.sort_by_key(|s| (s.time, s.line));
        for (expected, step) in steps.iter().enumerate() {
            if step.time != expected {
                let reason = if step.time < expected {
                    format!("sequence `{id}` repeats time {}", step.time)
                } else {
                    format!("sequence `{id}` has no row for time {expected}")
                };
                return Err(DataError::invalid(
                    path,
                    format!("line {}, field time", step.line),
                    reason,
                ));
            }
        }
        set.sequences
            .push(steps.into_iter().flat_map(|s| s.values).collect());
    }
    Ok(set)
}

/// Writes `set` in the same `sequence,time,f1..fD` layout.
pub fn save(set: &SequenceSet, path: &Path) -> Result<(), DataError> {
    let io = |e: ::csv::Error| DataError::invalid(path, "writing", e.to_string());
    let mut w = ::csv::Writer::from_path(path).map_err(io)?;
    let mut header = vec!["sequence".to_string(), "time".to_string()];
    header.extend((1..=set.dim).map(|j| format!("f{j}")));
    w.write_record(&header).map_err(io)?;
    for (i, seq) in set.sequences.iter().enumerate() {
        for (t, row) in seq.chunks(set.dim).enumerate() {
            let mut rec = vec![i.to_string(), t.to_string()];
            rec.extend(row.iter().map(|v| v.to_string()));
            w.write_record(&rec).map_err(io)?;
        }
    }
    w.flush().map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text.as_bytes(), Path::new("u.csv"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn groups_rows_into_sequences_in_time_order() {
        let set = parse(
            b"sequence,time,a,b\ns1,1,3,4\ns1,0,1,2\ns0,0,5,6\n",
            Path::new("u.csv"),
        )
        .unwrap();
        assert_eq!(set.dim, 2);
        assert_eq!(set.sequences, vec![vec![1., 2., 3., 4.], vec![5., 6.]]);
    }

    #[test]
    fn each_bad_input_names_its_place() {
        let e = err("sequence,time,f1,f2\n0,0,1,2\n0,1,3\n");
        assert!(
            e.contains("u.csv: line 3") && e.contains("expected 4 fields"),
            "{e}"
        );
        let e = err("sequence,time,f1,f2\n0,0,1,abc\n");
        assert!(
            e.contains("line 2, field f2") && e.contains("`abc` is not a number"),
            "{e}"
        );
        let e = err("sequence,time,f1,f2\n0,0,1,NaN\n");
        assert!(
            e.contains("line 2, field f2") && e.contains("not finite"),
            "{e}"
        );
        let e = err("sequence,time,f1\n0,0,inf\n");
        assert!(e.contains("field f1") && e.contains("not finite"), "{e}");
        let e = err("sequence,time,f1\n0,0,1\n0,2,1\n");
        assert!(
            e.contains("line 3, field time") && e.contains("no row for time 1"),
            "{e}"
        );
        let e = err("sequence,time,f1\n0,0,1\n0,0,1\n");
        assert!(e.contains("repeats time 0"), "{e}");
        let e = err("seq,t,f1\n0,0,1\n");
        assert!(e.contains("line 1 (header)"), "{e}");
        let e = err("sequence,time,f1\n0,-1,1\n");
        assert!(e.contains("field time"), "{e}");
        let e = err("sequence,time,f1\n");
        assert!(e.contains("no data rows"), "{e}");
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let set = SequenceSet {
            dim: 2,
            sequences: vec![vec![0.5, 1.0, -2.0, 3.25], vec![7.0, 8.0]],
        };
        save(&set, &path).unwrap();
        assert_eq!(load(&path).unwrap(), set);
    }
}
