//! The cell population and its two learning rules.

use serde::{Deserialize, Serialize};

use crate::DistributionError;

/// How a cell turns its TD error into a value change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Rule {
    /// V += a+ delta (delta > 0) or a- delta: converges to the tau-expectile.
    Expectile,
    /// V += a+ sign(delta) or a- sign(delta): converges to the tau-quantile.
    Quantile,
}

/// N cells, each with learning rates a+ and a- and asymmetry tau = a+ / (a+ + a-), and a
/// readout: how its TD error becomes firing (gain on positive and on negative errors, and an
/// offset of its baseline). The null models of [`crate::CellModel`] differ only here.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    /// Learning asymmetry of each cell, in (0, 1).
    pub tau: Vec<f64>,
    /// Learning rate for positive errors.
    pub alpha_plus: Vec<f64>,
    /// Learning rate for negative errors.
    pub alpha_minus: Vec<f64>,
    /// Firing per unit of positive TD error (2 tau by default).
    pub gain_plus: Vec<f64>,
    /// Firing per unit of negative TD error (2 (1 - tau) by default).
    pub gain_minus: Vec<f64>,
    /// Firing added to every response (0 by default): a cell whose baseline is misjudged.
    pub offset: Vec<f64>,
}

impl Cells {
    /// Cells with the given asymmetries; a+ = 2 lr tau and a- = 2 lr (1 - tau), so a classic
    /// (tau = 0.5) cell learns at `lr` both ways; they fire their error scaled by the same
    /// asymmetry (gains 2 tau and 2 (1 - tau)), with no offset.
    pub fn with_taus(tau: Vec<f64>, lr: f64) -> Result<Self, DistributionError> {
        if tau.is_empty() {
            return Err(DistributionError("at least one cell is needed".into()));
        }
        if let Some(t) = tau.iter().find(|t| !(**t > 0.0 && **t < 1.0)) {
            return Err(DistributionError(format!("tau {t} must lie in (0, 1)")));
        }
        if !(lr.is_finite() && lr > 0.0) {
            return Err(DistributionError(format!(
                "learning rate {lr} must be positive"
            )));
        }
        Ok(Self {
            alpha_plus: tau.iter().map(|t| 2.0 * lr * t).collect(),
            alpha_minus: tau.iter().map(|t| 2.0 * lr * (1.0 - t)).collect(),
            gain_plus: tau.iter().map(|t| 2.0 * t).collect(),
            gain_minus: tau.iter().map(|t| 2.0 * (1.0 - t)).collect(),
            offset: vec![0.0; tau.len()],
            tau,
        })
    }

    /// `n` cells with taus at the quantile midpoints (2i - 1) / (2n), pessimistic to optimistic.
    pub fn spread(n: usize, lr: f64) -> Result<Self, DistributionError> {
        Self::with_taus(spread_taus(n), lr)
    }

    /// The classic-TD null: `n` cells, every tau = 0.5.
    pub fn classic(n: usize, lr: f64) -> Result<Self, DistributionError> {
        Self::with_taus(vec![0.5; n], lr)
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.tau.len()
    }

    /// True when there are no cells.
    pub fn is_empty(&self) -> bool {
        self.tau.is_empty()
    }

    /// Value change of cell `i` for TD error `delta`, with learning-rate scale `scale`.
    pub fn update(&self, i: usize, delta: f64, rule: Rule, scale: f64) -> f64 {
        let rate = if delta > 0.0 {
            self.alpha_plus[i]
        } else {
            self.alpha_minus[i]
        };
        let step = match rule {
            Rule::Expectile => delta,
            // sign(0) = 0: a perfectly predicted outcome moves no cell (`f64::signum(0.0)` is 1).
            Rule::Quantile if delta == 0.0 => 0.0,
            Rule::Quantile => delta.signum(),
        };
        scale * rate * step
    }

    /// Firing of cell `i` (relative to its true baseline) for TD error `delta`: the error
    /// scaled by its positive or negative gain, plus its offset; a classic cell fires delta.
    pub fn response(&self, i: usize, delta: f64) -> f64 {
        let gain = match delta > 0.0 {
            true => self.gain_plus[i],
            false => self.gain_minus[i],
        };
        gain * delta + self.offset[i]
    }
}

/// The quantile midpoints (2i - 1) / (2n), i = 1..n.
pub fn spread_taus(n: usize) -> Vec<f64> {
    (1..=n)
        .map(|i| (2 * i - 1) as f64 / (2 * n) as f64)
        .collect()
}
