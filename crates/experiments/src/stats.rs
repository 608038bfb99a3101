//! Response ratios; intervals over seeds come from `neuromod-stats`.

pub use neuromod_stats::{t975, Interval};

/// Mean |signal| over the steps where `keep` is true (None when there are none).
pub fn mean_abs(signal: &[f32], keep: &[bool]) -> Option<f64> {
    let (sum, n) = signal
        .iter()
        .zip(keep)
        .filter(|(_, &k)| k)
        .fold((0.0f64, 0usize), |(s, n), (v, _)| {
            (s + v.abs() as f64, n + 1)
        });
    (n > 0).then(|| sum / n as f64)
}

/// Mean |signal| on `surprise` steps over mean |signal| on `ordinary` steps.
///
/// None when either set of steps is empty, or when the signal is exactly zero on both (a
/// silent signal has no ratio); infinite when it is zero on ordinary steps only.
pub fn response_ratio(signal: &[f32], surprise: &[bool], ordinary: &[bool]) -> Option<f64> {
    let (s, o) = (mean_abs(signal, surprise)?, mean_abs(signal, ordinary)?);
    if s == 0.0 && o == 0.0 {
        return None;
    }
    Some(s / o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_ratio_of_known_signals() {
        let signal = [1.0, -1.0, 4.0, 0.5, -6.0];
        let surprise = [false, false, true, false, true];
        let ordinary = [true, true, false, false, false];
        // (4 + 6) / 2 over (1 + 1) / 2; step 3 is in neither set.
        assert_eq!(response_ratio(&signal, &surprise, &ordinary), Some(5.0));
        assert_eq!(response_ratio(&[0.0; 5], &surprise, &ordinary), None);
        assert_eq!(response_ratio(&signal, &[false; 5], &ordinary), None);
        let silent_ordinary = [0.0, 0.0, 1.0, 0.0, 0.0];
        assert_eq!(
            response_ratio(&silent_ordinary, &surprise, &ordinary),
            Some(f64::INFINITY)
        );
    }
}
