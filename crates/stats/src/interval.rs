//! Means over seeds with 95 % t intervals, on the linear and the log scale.

use serde::{Deserialize, Serialize};

/// Two-sided 95% quantiles of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom (table to 30, then the
/// Cornish-Fisher expansion around the normal quantile, within 1e-3 of the exact value).
pub fn t975(df: usize) -> f64 {
    assert!(df >= 1, "t quantile needs at least one degree of freedom");
    if df <= T975.len() {
        return T975[df - 1];
    }
    let z = 1.959_964f64;
    let n = df as f64;
    z + (z.powi(3) + z) / (4.0 * n)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
}

/// A mean over seeds with its 95% t interval (`lo`/`hi` are None with fewer than two values).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Mean of the values.
    pub mean: f64,
    /// Lower end of the 95% interval.
    pub lo: Option<f64>,
    /// Upper end of the 95% interval.
    pub hi: Option<f64>,
    /// Number of values.
    pub n: usize,
    /// Values left out: not finite, or (on the log scale) not positive, e.g. a ratio whose
    /// denominator was silent. Said beside the interval, never dropped quietly.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub left_out: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Interval {
    /// Mean and 95% interval of finite values; None when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        let xs: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let (n, left_out) = (xs.len(), values.len() - xs.len());
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Some(Self {
                mean,
                lo: None,
                hi: None,
                n,
                left_out,
            });
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t975(n - 1) * (var / n as f64).sqrt();
        Some(Self {
            mean,
            lo: Some(mean - half),
            hi: Some(mean + half),
            n,
            left_out,
        })
    }

    /// Geometric mean and 95% interval of positive values on the log scale: exp of the mean
    /// and t interval of their logarithms (ratios multiply, so their spread is symmetric in
    /// log, and the interval can never go below 0). Non-positive and non-finite values (a
    /// silent numerator or denominator) are left out and counted in `left_out`; None when none
    /// remain.
    pub fn of_log(values: &[f64]) -> Option<Self> {
        let logs: Vec<f64> = values
            .iter()
            .filter(|v| v.is_finite() && **v > 0.0)
            .map(|v| v.ln())
            .collect();
        Self::of(&logs).map(|i| Self {
            mean: i.mean.exp(),
            lo: i.lo.map(f64::exp),
            hi: i.hi.map(f64::exp),
            n: i.n,
            left_out: values.len() - logs.len(),
        })
    }

    /// `mean [lo, hi]` with `digits` decimals, and how many values were left out if any.
    pub fn show(&self, digits: usize) -> String {
        let mut s = match (self.lo, self.hi) {
            (Some(lo), Some(hi)) => {
                format!("{:.digits$} [{lo:.digits$}, {hi:.digits$}]", self.mean)
            }
            _ => format!("{:.digits$}", self.mean),
        };
        if self.left_out > 0 {
            s.push_str(&format!(
                " ({} of {} left out)",
                self.left_out,
                self.n + self.left_out
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_interval_matches_hand_computation() {
        // ln 1, ln 10, ln 100 = 0, L, 2L with L = ln 10: mean L, sd L, se L / sqrt 3,
        // t(2) = 4.303, so the interval is 10 * exp(-+ 4.303 L / sqrt 3).
        let i = Interval::of_log(&[1.0, 10.0, 100.0]).unwrap();
        let l = 10f64.ln();
        let half = 4.303 * l / 3f64.sqrt();
        assert!((i.mean - 10.0).abs() < 1e-9);
        assert!((i.lo.unwrap() - 10.0 * (-half).exp()).abs() < 1e-9);
        assert!((i.hi.unwrap() - 10.0 * half.exp()).abs() < 1e-6);
        assert_eq!(i.n, 3);
        // Never below 0, and non-positive ratios are left out.
        let j = Interval::of_log(&[0.5, 2.0, 0.0, f64::NAN]).unwrap();
        assert!(j.lo.unwrap() > 0.0 && (j.mean - 1.0).abs() < 1e-12 && j.n == 2);
        // ... and counted, and said: a silent denominator's infinite ratio too.
        assert_eq!(j.left_out, 2);
        let k = Interval::of_log(&[1.0, 10.0, 100.0, f64::INFINITY]).unwrap();
        assert_eq!((k.n, k.left_out), (3, 1));
        assert!(k.show(1).ends_with("(1 of 4 left out)"), "{}", k.show(1));
        assert!(Interval::of_log(&[0.0, -1.0]).is_none());
    }

    #[test]
    fn interval_matches_hand_computation() {
        // Mean 3, sample sd sqrt(2.5), t(4) = 2.776: half-width 2.776 * sqrt(2.5 / 5).
        let i = Interval::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let half = 2.776 * (0.5f64).sqrt();
        assert!((i.mean - 3.0).abs() < 1e-12);
        assert!((i.lo.unwrap() - (3.0 - half)).abs() < 1e-12);
        assert!((i.hi.unwrap() - (3.0 + half)).abs() < 1e-12);
        assert_eq!(i.show(2), "3.00 [1.04, 4.96]");
        // One value: no interval; non-finite values are left out.
        let one = Interval::of(&[2.0, f64::NAN]).unwrap();
        assert_eq!((one.mean, one.lo, one.n), (2.0, None, 1));
        assert!(Interval::of(&[]).is_none());
    }

    #[test]
    fn t_quantile_is_continuous_past_the_table_and_tends_to_normal() {
        // Exact values: t(40) = 2.0211, t(120) = 1.9799.
        assert!((t975(30) - 2.042).abs() < 1e-9);
        assert!((t975(31) - 2.0395).abs() < 1e-3);
        assert!((t975(40) - 2.0211).abs() < 1e-3);
        assert!((t975(120) - 1.9799).abs() < 1e-3);
        assert!((t975(1_000_000) - 1.96).abs() < 1e-3);
    }
}
