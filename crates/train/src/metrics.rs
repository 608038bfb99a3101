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
}

/// The text of `metrics.csv`; every number in its shortest exact form.
pub fn metrics_csv(rows: &[MetricsRow]) -> String {
    let mut text = String::from(
        "epoch,train_bound,train_kl,train_rec,valid_bound,valid_kl,valid_rec,beta,seconds,train_sf\n",
    );
    for r in rows {
        text += &format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            r.epoch,
            r.train_bound,
            r.train_kl,
            r.train_rec,
            r.valid_bound,
            r.valid_kl,
            r.valid_rec,
            r.beta,
            r.seconds,
            r.train_sf
        );
    }
    text
}

/// Parses the text of `metrics.csv` (9 columns before `train_sf` was added, or 10).
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
            let (v, sf) = match v.len() {
                10 => (&v[..9], v[9]),
                _ => (&v[..], 0.0),
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
                    })
                }
                _ => Err(format!(
                    "line {}: expected a whole epoch number and 9 more numbers",
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
