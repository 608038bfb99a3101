//! Proportions: how many of n runs passed a test, with an interval that stays in [0, 1].

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
