//! JSON for measurements that may be undefined: NaN (a reversal point or asymmetry that could
//! not be measured, a magnitude never delivered) is written as `null` and read back as NaN, so a
//! run's JSON keeps every value and reads back into the same numbers.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn out(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

fn back(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// `Vec<f64>` with NaN as `null`.
pub mod vec {
    use super::*;

    /// Writes NaN as `null`.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        v.iter().copied().map(out).collect::<Vec<_>>().serialize(s)
    }

    /// Reads `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Option<f64>>::deserialize(d)?
            .into_iter()
            .map(back)
            .collect())
    }
}

/// `Vec<Vec<f64>>` with NaN as `null`.
pub mod matrix {
    use super::*;

    /// Writes NaN as `null`.
    pub fn serialize<S: Serializer>(v: &[Vec<f64>], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(|row| row.iter().copied().map(out).collect::<Vec<_>>())
            .collect::<Vec<_>>()
            .serialize(s)
    }

    /// Reads `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
        Ok(Vec::<Vec<Option<f64>>>::deserialize(d)?
            .into_iter()
            .map(|row| row.into_iter().map(back).collect())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Row {
        #[serde(with = "super::vec")]
        v: Vec<f64>,
        #[serde(with = "super::matrix")]
        m: Vec<Vec<f64>>,
    }

    #[test]
    fn nan_goes_out_as_null_and_comes_back_as_nan() {
        let row = Row {
            v: vec![1.5, f64::NAN, -2.0],
            m: vec![vec![f64::NAN], vec![0.25, 3.0]],
        };
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(text, r#"{"v":[1.5,null,-2.0],"m":[[null],[0.25,3.0]]}"#);
        let back: Row = serde_json::from_str(&text).unwrap();
        assert_eq!(back.v[0], 1.5);
        assert!(back.v[1].is_nan() && back.m[0][0].is_nan());
        assert_eq!((back.v[2], back.m[1].clone()), (-2.0, vec![0.25, 3.0]));
    }
}
