//! Correlations with their p-values (as Dabney et al. 2020 report theirs) and intervals: Pearson or Spearman r over the
//! cells whose two measures are both finite, and the two-sided p of r against 0 from Student's
//! t with n - 2 degrees of freedom (t = r sqrt((n - 2) / (1 - r^2)); for Spearman this is the
//! usual large-sample approximation).

use serde::{Deserialize, Deserializer, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

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

/// Spearman rank correlation (average ranks for ties) over the pairs where both values are
/// finite; NaN when fewer than two remain or either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut s = 0;
        while s < idx.len() {
            let mut e = s;
            while e + 1 < idx.len() && v[idx[e + 1]] == v[idx[s]] {
                e += 1;
            }
            for &k in &idx[s..=e] {
                r[k] = (s + e) as f64 / 2.0;
            }
            s = e + 1;
        }
        r
    }
    let (a, b) = finite_pairs(a, b);
    if a.len() < 2 {
        return f64::NAN;
    }
    pearson(&ranks(&a), &ranks(&b))
}

/// The 95 % interval of a correlation `r` of `n` pairs by Fisher's z: tanh(atanh r -+ 1.96 se),
/// se^2 = 1 / (n - 3) for Pearson's r, 1.06 / (n - 3) for Spearman's (Fieller, Hartley and
/// Pearson 1957). Always inside (-1, 1). None for n < 5 or r undefined.
pub fn fisher_interval(r: f64, n: usize, spearman: bool) -> Option<(f64, f64)> {
    if n < 5 || !r.is_finite() {
        return None;
    }
    let z = r.clamp(-0.999_999, 0.999_999).atanh();
    let se = (if spearman { 1.06 } else { 1.0 } / (n - 3) as f64).sqrt();
    Some(((z - 1.96 * se).tanh(), (z + 1.96 * se).tanh()))
}

/// The mean of per-seed correlations and its 95 % interval, averaged in Fisher's z (atanh)
/// with a t interval there and mapped back: never outside (-1, 1), unlike a t interval on the
/// correlations themselves.
pub fn mean_correlation(values: &[f64]) -> Option<crate::Interval> {
    let z: Vec<f64> = values
        .iter()
        .map(|r| r.clamp(-0.999_999, 0.999_999).atanh())
        .collect();
    crate::Interval::of(&z).map(|i| crate::Interval {
        mean: i.mean.tanh(),
        lo: i.lo.map(f64::tanh),
        hi: i.hi.map(f64::tanh),
        ..i
    })
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
    fn fisher_intervals_of_known_cases() {
        // r = 0.5, n = 28 (Pearson): atanh 0.5 = 0.549306, se 0.2, tanh(0.549306 -+ 0.392)
        // = [0.15602, 0.73582].
        let (lo, hi) = fisher_interval(0.5, 28, false).unwrap();
        assert!(
            (lo - 0.156_02).abs() < 1e-5 && (hi - 0.735_82).abs() < 1e-5,
            "{lo} {hi}"
        );
        // Spearman: variance 6 % larger in z; symmetric around 0 for r = 0 (n 103: se^2 = 0.0106).
        let (lo, hi) = fisher_interval(0.0, 103, true).unwrap();
        let want = (1.96 * 0.0106f64.sqrt()).tanh();
        assert!(
            (hi + lo).abs() < 1e-12 && (hi - want).abs() < 1e-12,
            "{hi} vs {want}"
        );
        assert!(fisher_interval(0.5, 4, false).is_none());
        // Near 1 the interval stays below 1, where a t interval would not.
        let m = mean_correlation(&[0.99, 0.95, 0.90, 0.97, 0.80]).unwrap();
        assert!(m.hi.unwrap() < 1.0 && m.lo.unwrap() > 0.0, "{m:?}");
        let t = crate::Interval::of(&[0.99, 0.95, 0.90, 0.97, 0.80]).unwrap();
        assert!(
            t.hi.unwrap() > 1.0,
            "the t interval leaves the range: {t:?}"
        );
    }

    #[test]
    fn spearman_and_its_ties() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        // Pairs with a NaN are left out.
        assert_eq!(
            spearman(&[1.0, f64::NAN, 3.0, 2.0], &[1.0, 5.0, 3.0, 2.0]),
            1.0
        );
        assert!(spearman(&[f64::NAN, f64::NAN, 1.0], &[1.0, 2.0, 3.0]).is_nan());
        // Ties get average ranks: ranks (0.5, 0.5, 2) against (0, 1, 2).
        let r = spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!((r - 0.866_025).abs() < 1e-6, "{r}");
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
