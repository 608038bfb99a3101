//! Per-epoch metrics (`metrics.csv`, and the same text inside every snapshot's `state.json`).

use serde::{Deserialize, Serialize};

/// One epoch of training; bounds are negative ELBO in nats per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Epoch, 1-based.
    pub epoch: usize,
    /// Training bound (KL weighted by 1, whatever beta was).
    pub train_bound: f64,
    /// Training KL per step.
    pub train_kl: f64,
    /// Training reconstruction NLL per step.
    pub train_rec: f64,
    /// Validation bound.
    pub valid_bound: f64,
    /// Validation KL per step.
    pub valid_kl: f64,
    /// Validation reconstruction NLL per step.
    pub valid_rec: f64,
    /// KL weight used this epoch.
    pub beta: f64,
    /// Wall-clock seconds since training started.
    pub seconds: f64,
    /// Mean successor-feature TD loss of the training batches (0 without SF heads).
    pub train_sf: f64,
    /// Learning rate of this epoch (0 in rows written before the column existed).
    #[serde(default)]
    pub lr: f64,
}

/// The text of `metrics.csv`; every number in its shortest exact form.
pub fn metrics_csv(rows: &[MetricsRow]) -> String {
    let mut text = String::from(
        "epoch,train_bound,train_kl,train_rec,valid_bound,valid_kl,valid_rec,beta,seconds,train_sf,lr\n",
    );
    for r in rows {
        text += &format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.epoch,
            r.train_bound,
            r.train_kl,
            r.train_rec,
            r.valid_bound,
            r.valid_kl,
            r.valid_rec,
            r.beta,
            r.seconds,
            r.train_sf,
            r.lr
        );
    }
    text
}

/// Parses the text of `metrics.csv`: 9 columns (before `train_sf`), 10 (before `lr`) or 11.
pub fn parse_metrics(text: &str) -> Result<Vec<MetricsRow>, String> {
    text.lines()
        .skip(1)
        .enumerate()
        .map(|(i, line)| {
            let v = line
                .split(',')
                .map(|c| c.trim().parse::<f64>())
                .collect::<Result<Vec<f64>, _>>()
                .map_err(|e| format!("line {}: {e}", i + 2))?;
            let (v, sf, lr) = match v.len() {
                11 => (&v[..9], v[9], v[10]),
                10 => (&v[..9], v[9], 0.0),
                _ => (&v[..], 0.0, 0.0),
            };
            match *v {
                [e, tb, tk, tr, vb, vk, vr, b, s] if e >= 1.0 && e.fract() == 0.0 => {
                    Ok(MetricsRow {
                        epoch: e as usize,
                        train_bound: tb,
                        train_kl: tk,
                        train_rec: tr,
                        valid_bound: vb,
                        valid_kl: vk,
                        valid_rec: vr,
                        beta: b,
                        seconds: s,
                        train_sf: sf,
                        lr,
                    })
                }
                _ => Err(format!(
                    "line {}: expected a whole epoch number and 8, 9 or 10 more numbers",
                    i + 2
                )),
            }
        })
        .collect()
}

/// Serde adapter keeping metrics rows as CSV text inside `state.json`.
pub(crate) mod text {
    use super::{metrics_csv, parse_metrics, MetricsRow};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(rows: &[MetricsRow], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&metrics_csv(rows))
    }

    /// CSV text, or (snapshots written before the text form) a list of rows.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Rows(Vec<MetricsRow>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<MetricsRow>, D::Error> {
        match Stored::deserialize(d)? {
            Stored::Text(text) => parse_metrics(&text).map_err(serde::de::Error::custom),
            Stored::Rows(rows) => Ok(rows),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_and_reads_the_older_column_sets() {
        let row = MetricsRow {
            epoch: 3,
            train_bound: 7.25,
            train_kl: 1.5,
            train_rec: 5.75,
            valid_bound: 7.125,
            valid_kl: 1.625,
            valid_rec: 5.5,
            beta: 0.3,
            seconds: 12.0,
            train_sf: 0.01,
            lr: 1.5e-3,
        };
        let text = metrics_csv(std::slice::from_ref(&row));
        assert!(text.starts_with("epoch,") && text.lines().next().unwrap().ends_with(",lr"));
        assert_eq!(parse_metrics(&text).unwrap(), vec![row.clone()]);
        // Files written before `lr` (10 columns) and before `train_sf` (9 columns).
        let ten = parse_metrics("h\n3,7.25,1.5,5.75,7.125,1.625,5.5,0.3,12,0.01\n").unwrap();
        assert_eq!(
            ten[0],
            MetricsRow {
                lr: 0.0,
                ..row.clone()
            }
        );
        let nine = parse_metrics("h\n3,7.25,1.5,5.75,7.125,1.625,5.5,0.3,12\n").unwrap();
        assert_eq!(
            nine[0],
            MetricsRow {
                lr: 0.0,
                train_sf: 0.0,
                ..row
            }
        );
        let err = parse_metrics("h\n3,7.25,1.5\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }
}
