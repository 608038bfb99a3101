//! JSB Chorales (Boulanger-Lewandowski et al. 2012) as 88-key piano rolls.
//!
//! Input: `{"train": [...], "valid": [...], "test": [...]}`, each chorale a list of time
//! steps, each step the list of sounding MIDI notes. Output: binary rolls over MIDI 21..=108.

use std::path::Path;

use serde::Deserialize;

use crate::{DataError, SequenceSet, Splits};

/// Lowest piano key (A0) as a MIDI note number.
pub const LOWEST_NOTE: i64 = 21;
/// Keys on a piano: the width of a roll.
pub const KEYS: usize = 88;

#[derive(Deserialize)]
struct Raw {
    train: Vec<Vec<Vec<i64>>>,
    valid: Vec<Vec<Vec<i64>>>,
    test: Vec<Vec<Vec<i64>>>,
}

/// The JSB Chorales file shipped with the crate (`datasets/data/jsb_chorales.json`; provenance
/// and sha256 in `datasets/data/README.md`).
pub const BUNDLED_JSON: &str = include_str!("../data/jsb_chorales.json");

/// The name errors and run configs give the bundled file.
pub const BUNDLED_NAME: &str = "<bundled jsb_chorales.json>";

/// The bundled JSB Chorales as piano-roll splits (229 / 76 / 77 chorales).
pub fn bundled() -> Result<Splits, DataError> {
    parse(BUNDLED_JSON, Path::new(BUNDLED_NAME))
}

/// Reads the JSON file at `path` into piano-roll splits.
pub fn load(path: &Path) -> Result<Splits, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    parse(&text, path)
}

/// Parses JSON text (`path` only names the source in errors).
pub fn parse(text: &str, path: &Path) -> Result<Splits, DataError> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        DataError::invalid(
            path,
            format!("line {}, column {}", e.line(), e.column()),
            format!("not a JSB chorales file: {e}"),
        )
    })?;
    Ok(Splits {
        train: roll(&raw.train, "train", path)?,
        valid: roll(&raw.valid, "valid", path)?,
        test: roll(&raw.test, "test", path)?,
    })
}

fn roll(chorales: &[Vec<Vec<i64>>], split: &str, path: &Path) -> Result<SequenceSet, DataError> {
    let mut set = SequenceSet::new(KEYS);
    for (c, chorale) in chorales.iter().enumerate() {
        if chorale.is_empty() {
            return Err(DataError::invalid(
                path,
                format!("{split} chorale {c}"),
                "chorale has no time steps",
            ));
        }
        let mut values = vec![0.0f32; chorale.len() * KEYS];
        for (t, notes) in chorale.iter().enumerate() {
            for &note in notes {
                let key = note - LOWEST_NOTE;
                if !(0..KEYS as i64).contains(&key) {
                    return Err(DataError::invalid(
                        path,
                        format!("{split} chorale {c}, step {t}"),
                        format!("MIDI note {note} is outside the piano range 21..=108"),
                    ));
                }
                values[t * KEYS + key as usize] = 1.0;
            }
        }
        set.sequences.push(values);
    }
    if set.is_empty() {
        return Err(DataError::invalid(
            path,
            format!("split `{split}`"),
            "split is empty",
        ));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_notes_into_keys() {
        let text = r#"{"train": [[[21, 60], [108]]], "valid": [[[60]]], "test": [[[]]]}"#;
        let s = parse(text, Path::new("x.json")).unwrap();
        assert_eq!(s.train.dim, 88);
        assert_eq!(s.train.steps(0), 2);
        let row0 = &s.train.sequences[0][..88];
        assert_eq!(row0[0], 1.0);
        assert_eq!(row0[39], 1.0);
        assert_eq!(row0.iter().sum::<f32>(), 2.0);
        assert_eq!(s.train.sequences[0][88 + 87], 1.0);
        assert_eq!(s.test.sequences[0].iter().sum::<f32>(), 0.0);
    }

    #[test]
    fn rejects_out_of_range_notes_with_place() {
        let text = r#"{"train": [[[60]], [[60], [7]]], "valid": [[[60]]], "test": [[[60]]]}"#;
        let err = parse(text, Path::new("jsb.json")).unwrap_err().to_string();
        assert!(
            err.contains("jsb.json") && err.contains("train chorale 1, step 1"),
            "{err}"
        );
        assert!(err.contains("MIDI note 7"), "{err}");
    }

    #[test]
    fn rejects_malformed_json_with_line() {
        let text = "{\"train\": [[[60]]],\n \"valid\": [[[\"C4\"]]], \"test\": []}";
        let err = parse(text, Path::new("bad.json")).unwrap_err().to_string();
        assert!(err.contains("bad.json") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn bundled_file_has_the_standard_split() {
        let s = bundled().unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (229, 76, 77));
        let steps: usize = (0..s.test.len()).map(|i| s.test.steps(i)).sum();
        assert_eq!(steps, 4725, "test steps of the standard split");
        // The same bytes read from disk give the same rolls.
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/jsb_chorales.json"
        ));
        assert_eq!(load(path).unwrap().test.sequences, s.test.sequences);
    }

    #[test]
    fn bundled_file_is_the_documented_one() {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(BUNDLED_JSON.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "d0dbd7d154b46b4c1cf099ff907ccbd258d6bedfa3d4f71e6ea285211c10c865"
        );
    }
}
