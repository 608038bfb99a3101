//! Correlations with their p-values, as the paper reports them: Pearson or Spearman r over the
//! cells whose two measures are both finite, and the two-sided p of r against 0 from Student's
//! t with n - 2 degrees of freedom (t = r sqrt((n - 2) / (1 - r^2)); for Spearman this is the
//! usual large-sample approximation).

use serde::{Deserialize, Deserializer, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::spearman;

/// A correlation over `n` pairs and its two-sided p-value against no correlation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// The coefficient (NaN when undefined: fewer than three pairs or a constant side; null in
    /// JSON).
    #[serde(deserialize_with = "null_as_nan")]
    pub r: f64,
    /// The two-sided p-value (NaN when r is).
    #[serde(deserialize_with = "null_as_nan")]
    pub p: f64,
    /// Pairs with both values finite.
    pub n: usize,
}

/// JSON writes NaN as null; read null back as NaN.
fn null_as_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Option::<f64>::deserialize(d).map(|v| v.unwrap_or(f64::NAN))
}

/// The Wilson score interval (95 %) of a proportion `k` of `n` (Wilson 1927): the proportions
/// whose normal test does not reject k / n; unlike the Wald interval it stays inside [0, 1]
/// and is not empty at k = 0 or k = n. None for n = 0.
pub fn wilson(k: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 || k > n {
        return None;
    }
    let (z, n, p) = (1.959_964, n as f64, k as f64 / n as f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The pairs of `a` and `b` where both are finite.
fn finite_pairs(a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<f64>) {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, *y))
        .unzip()
}

/// Pearson's r of the finite pairs (NaN when fewer than two or a side is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (a, b) = finite_pairs(a, b);
    let n = a.len() as f64;
    if a.len() < 2 {
        return f64::NAN;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Two-sided p of a correlation `r` over `n` pairs against 0 (NaN for n < 3 or r undefined).
pub fn correlation_p(r: f64, n: usize) -> f64 {
    if n < 3 || !r.is_finite() {
        return f64::NAN;
    }
    if r.abs() >= 1.0 {
        return 0.0;
    }
    let df = (n - 2) as f64;
    let t = r.abs() * (df / (1.0 - r * r)).sqrt();
    let dist = StudentsT::new(0.0, 1.0, df).expect("positive degrees of freedom");
    2.0 * (1.0 - dist.cdf(t))
}

impl Correlation {
    fn of(r: f64, a: &[f64], b: &[f64]) -> Self {
        let n = finite_pairs(a, b).0.len();
        let r = if n >= 3 { r } else { f64::NAN };
        Self {
            r,
            p: correlation_p(r, n),
            n,
        }
    }

    /// Spearman's rank correlation of the finite pairs and its p.
    pub fn spearman(a: &[f64], b: &[f64]) -> Self {
        Self::of(spearman(a, b), a, b)
    }

    /// Pearson's correlation of the finite pairs and its p.
    pub fn pearson(a: &[f64], b: &[f64]) -> Self {
        Self::of(pearson(a, b), a, b)
    }

    /// Whether p < `alpha`.
    pub fn significant(&self, alpha: f64) -> bool {
        self.p < alpha
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_match_hand_computations() {
        // r = 0.5, n = 12: t = 0.5 sqrt(10 / 0.75) = 1.8257, df 10, two-sided p = 0.097855
        // (the t density integrated numerically from 0 to t;
        // t tables: t_0.95,10 = 1.812 < t < t_0.975,10 = 2.228).
        assert!((correlation_p(0.5, 12) - 0.097855).abs() < 1e-5);
        // df 1: t = r / sqrt(1 - r^2) and p = 1 - 2 atan(t) / pi (Cauchy); r = 0.6 -> t 0.75.
        let want = 1.0 - 2.0 * 0.75f64.atan() / std::f64::consts::PI;
        assert!((correlation_p(0.6, 3) - want).abs() < 1e-9);
        assert_eq!(correlation_p(0.0, 20), 1.0);
        assert_eq!(correlation_p(-1.0, 5), 0.0);
        assert!(correlation_p(0.3, 2).is_nan());
        // The sign does not matter.
        assert_eq!(correlation_p(0.4, 30), correlation_p(-0.4, 30));
    }

    #[test]
    fn wilson_intervals_match_hand_computations() {
        // k = 0 of 20: [0, z^2 / (n + z^2)] = [0, 3.8415 / 23.8415] = [0, 0.16113].
        let (lo, hi) = wilson(0, 20).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.161_13).abs() < 1e-5, "{hi}");
        // k = 15 of 20: centre (0.75 + 0.09604) / 1.19207 = 0.70971, half
        // 1.95996 / 1.19207 * sqrt(0.009375 + 0.0024010) = 0.17840.
        let (lo, hi) = wilson(15, 20).unwrap();
        assert!(
            (lo - 0.531_30).abs() < 1e-4 && (hi - 0.888_14).abs() < 1e-4,
            "{lo} {hi}"
        );
        // Symmetric in k <-> n - k, and inside [0, 1] at the edges.
        let (a, b) = wilson(5, 20).unwrap();
        assert!((a - (1.0 - hi)).abs() < 1e-12 && (b - (1.0 - lo)).abs() < 1e-12);
        assert_eq!(wilson(20, 20).unwrap().1, 1.0);
        assert!(wilson(0, 0).is_none() && wilson(3, 2).is_none());
    }

    #[test]
    fn correlations_survive_json_when_undefined() {
        let c = Correlation::spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]);
        assert!(c.r.is_nan());
        let text = serde_json::to_string(&c).unwrap();
        let back: Correlation = serde_json::from_str(&text).unwrap();
        assert!(back.r.is_nan() && back.p.is_nan() && back.n == 3, "{text}");
    }

    #[test]
    fn correlations_of_known_pairs() {
        let a = [1.0, 2.0, 3.0, 4.0, f64::NAN];
        let b = [2.0, 4.0, 6.0, 8.1, 1.0];
        let c = Correlation::pearson(&a, &b);
        assert_eq!(c.n, 4);
        assert!(c.r > 0.999 && c.p < 0.001, "{c:?}");
        // (1, 1), (2, 3), (3, 2): Pearson 0.5.
        assert!((pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]) - 0.5).abs() < 1e-12);
        let s = Correlation::spearman(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]);
        assert_eq!((s.r, s.p), (-1.0, 0.0));
        assert!(Correlation::spearman(&[1.0, 2.0], &[1.0, 2.0]).r.is_nan());
    }
}
