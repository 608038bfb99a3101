//! Known answers: analytic expectiles (`RewardDistribution::expectile`, itself checked against
//! closed forms) and quantiles (computed here by sorting), rank order of reversal points, the classic-TD null.

use crate::*;

/// tau-quantile: the smallest magnitude whose cumulative probability reaches tau.
pub(crate) fn analytic_quantile(d: &RewardDistribution, tau: f64) -> f64 {
    let mut pairs: Vec<(f64, f64)> = d
        .values
        .iter()
        .copied()
        .zip(d.probs.iter().copied())
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut acc = 0.0;
    for (v, p) in pairs {
        acc += p;
        if acc >= tau {
            return v;
        }
    }
    d.range().1
}

pub(crate) fn run(cells: &Cells, rule: Rule, noise: f64, seed: u64) -> Simulation {
    let cfg = TrialConfig {
        noise,
        seed,
        ..TrialConfig::default()
    };
    simulate(cells, &RewardDistribution::variable_magnitude(), rule, &cfg)
}

#[test]
fn expectile_cells_learn_the_analytic_expectiles() {
    let d = RewardDistribution::variable_magnitude();
    let cells = Cells::spread(40, 0.05).unwrap();
    let sim = run(&cells, Rule::Expectile, 0.0, 1);
    let tol = 0.01 * (d.range().1 - d.range().0);
    for (tau, v) in cells.tau.iter().zip(&sim.value) {
        let e = d.expectile(*tau);
        assert!((v - e).abs() < tol, "tau {tau}: learned {v}, expectile {e}");
    }
    // The cue value is the discounted outcome value (three delay steps, gamma 0.9).
    let i = 20;
    let expected = 0.9f64.powi(3) * sim.value[i];
    assert!(
        (sim.cue_value[i] - expected).abs() < 0.05 * expected,
        "{} vs {expected}",
        sim.cue_value[i]
    );
}

#[test]
fn quantile_cells_learn_the_analytic_quantiles() {
    let d = RewardDistribution::variable_magnitude();
    let cells = Cells::spread(40, 0.05).unwrap();
    let sim = run(&cells, Rule::Quantile, 0.0, 2);
    let tol = 0.01 * (d.range().1 - d.range().0);
    // Within 0.02 of a CDF step the sign rule's drift toward the quantile is tiny (see
    // `simulate`), so those cells are checked only for lying between the neighbouring atoms.
    let mut cdf = 0.0;
    let steps: Vec<f64> = d
        .probs
        .iter()
        .map(|p| {
            cdf += p;
            cdf
        })
        .collect();
    let mut checked = 0;
    for (tau, v) in cells.tau.iter().zip(&sim.value) {
        let q = analytic_quantile(&d, *tau);
        if steps.iter().any(|s| (s - tau).abs() < 0.02) {
            let (lo, hi) = (
                analytic_quantile(&d, tau - 0.02),
                analytic_quantile(&d, tau + 0.02),
            );
            assert!(
                *v > lo - tol && *v < hi + tol,
                "tau {tau}: learned {v} outside [{lo}, {hi}]"
            );
            continue;
        }
        checked += 1;
        assert!((v - q).abs() < tol, "tau {tau}: learned {v}, quantile {q}");
    }
    assert!(checked >= 25, "only {checked} cells away from CDF steps");
}

#[test]
fn reversal_points_rise_with_tau() {
    let cells = Cells::spread(40, 0.05).unwrap();
    let clean = run(&cells, Rule::Expectile, 0.0, 3);
    let theta = TuningCurves::from_simulation(&clean, |_| true).reversal_points();
    assert_eq!(spearman(&cells.tau, &theta), 1.0, "{theta:?}");
    let noisy = run(&cells, Rule::Expectile, TrialConfig::default().noise, 3);
    let theta = TuningCurves::half(&noisy, 0).reversal_points();
    let rho = spearman(&cells.tau, &theta);
    assert!(rho >= 0.9, "spearman {rho}");
    // The asymmetry measured on the other half of the trials tracks the reversal points too.
    let asym = TuningCurves::half(&noisy, 1).asymmetries();
    let rho = spearman(&asym, &theta);
    assert!(rho >= 0.9, "asymmetry-reversal spearman {rho}");
}

#[test]
fn classic_td_cells_show_no_asymmetry_reversal_relation() {
    let cells = Cells::classic(40, 0.05).unwrap();
    let sim = run(&cells, Rule::Expectile, TrialConfig::default().noise, 4);
    let theta = TuningCurves::half(&sim, 0).reversal_points();
    let asym = TuningCurves::half(&sim, 1).asymmetries();
    let rho = spearman(&asym, &theta);
    assert!(rho.abs() < 0.3, "classic-TD spearman {rho}");
    // Every classic cell reverses near the mean.
    let mean = RewardDistribution::variable_magnitude().mean();
    assert!(theta.iter().all(|t| (t - mean).abs() < 1.0), "{theta:?}");
}

#[test]
fn bad_populations_are_rejected() {
    assert!(Cells::spread(0, 0.05)
        .unwrap_err()
        .0
        .contains("at least one cell"));
    assert!(Cells::with_taus(vec![0.2, 1.0], 0.05)
        .unwrap_err()
        .0
        .contains("(0, 1)"));
    assert!(Cells::spread(3, -1.0).is_err());
}

#[test]
fn spearman_and_reversal_point_basics() {
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
    assert!((reversal_point(&[0.0, 2.0, 4.0], &[-2.0, -1.0, 1.0]) - 3.0).abs() < 1e-12);
    // Never crossing: extrapolated from the two nearest points.
    assert!((reversal_point(&[1.0, 2.0], &[1.0, 2.0]) - 0.0).abs() < 1e-12);
}

#[test]
fn wasserstein_of_known_pairs() {
    let d = RewardDistribution::new(vec![(0.0, 0.5), (1.0, 0.5)]).unwrap();
    assert!((wasserstein1(&[0.0, 1.0], &d)).abs() < 1e-12);
    assert!((wasserstein1(&[0.0, 0.0], &d) - 0.5).abs() < 1e-12);
    assert!((wasserstein1(&[2.0, 2.0], &d) - 1.5).abs() < 1e-12);
}

#[test]
fn decoding_40_expectile_cells_recovers_the_distribution() {
    let d = RewardDistribution::variable_magnitude();
    let cells = Cells::spread(40, 0.05).unwrap();
    let sim = run(&cells, Rule::Expectile, 0.0, 5);
    let decoded = decode_expectiles(&cells.tau, &sim.value, d.range(), 100, 200, 0);
    let w1 = wasserstein1(&decoded.samples, &d);
    assert!(w1 < 0.5, "W1 {w1}, loss {}", decoded.loss);
    // Far better than a Gaussian with the same mean and spread would be: the code is multimodal.
    let mean: f64 = decoded.samples.iter().sum::<f64>() / 100.0;
    assert!((mean - d.mean()).abs() < 0.3, "decoded mean {mean}");
}

#[test]
fn decoding_quantile_cells_recovers_the_distribution() {
    let d = RewardDistribution::variable_magnitude();
    let cells = Cells::spread(40, 0.05).unwrap();
    let sim = run(&cells, Rule::Quantile, 0.0, 6);
    let w1 = wasserstein1(&decode_quantiles(&sim.value).samples, &d);
    assert!(w1 < 0.5, "W1 {w1}");
}
