//! Simulated distributional dopamine cells (Dabney et al. 2020): learn a reward distribution
//! with optimistic and pessimistic cells, read their reversal points off recorded responses as
//! an experimenter would, check they follow the asymmetries, and decode the distribution back.
//!
//! ```sh
//! cargo run --release -p neuromod-dopamine --example cells_and_decode
//! ```

use neuromod_dopamine::{
    decode_expectiles, simulate, spearman, wasserstein1, Cells, RewardDistribution, Rule,
    TrialConfig, TuningCurves,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The variable-magnitude task: seven reward sizes with the published probabilities.
    let dist = RewardDistribution::variable_magnitude();
    let cells = Cells::spread(20, 0.02)?;
    let cfg = TrialConfig {
        trials: 50_000,
        ..TrialConfig::default()
    };
    let sim = simulate(&cells, &dist, Rule::Expectile, &cfg);

    // Reversal points from one half of the recorded trials, asymmetries from the other.
    let reversal = TuningCurves::from_simulation(&sim, |k| k % 2 == 0).reversal_points();
    let asymmetry = TuningCurves::from_simulation(&sim, |k| k % 2 == 1).asymmetries();
    println!(
        "reversal points {:.2} .. {:.2}; Spearman(reversal, asymmetry) = {:.2}",
        reversal.iter().copied().fold(f64::INFINITY, f64::min),
        reversal.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        spearman(&reversal, &asymmetry)
    );

    // The learned values are expectiles of the reward distribution: decode samples from them.
    let decoded = decode_expectiles(&cells.tau, &sim.value, dist.range(), 40, 8, 0);
    println!(
        "decoded {} samples, mean {:.2} (true {:.2}), Wasserstein-1 to the true distribution {:.2}",
        decoded.samples.len(),
        decoded.samples.iter().sum::<f64>() / decoded.samples.len() as f64,
        dist.mean(),
        wasserstein1(&decoded.samples, &dist)
    );
    Ok(())
}
