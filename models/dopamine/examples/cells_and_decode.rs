//! Simulated distributional dopamine cells (Dabney et al. 2020): learn a reward distribution
//! with optimistic and pessimistic cells, measure their reversal points and asymmetries from
//! recorded responses as an experimenter would, and decode the distribution from those
//! measurements.
//!
//! ```sh
//! cargo run --release -p neuromod-dopamine --example cells_and_decode
//! ```

use neuromod_dopamine::{
    decode_measured, gaussian_baseline_w1, simulate, spearman, wasserstein1, Cells,
    RewardDistribution, Rule, TrialConfig,
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

    // Reversal points from one half of the recorded trials, asymmetries from the other, and
    // the distribution decoded from those measurements alone (not the cells' internal values).
    let measured = decode_measured(&sim, Rule::Expectile, dist.range(), (40, 8, 0));
    let (reversal, asymmetry) = (&measured.reversal, &measured.asymmetry);
    println!(
        "reversal points {:.2} .. {:.2}; Spearman(reversal, asymmetry) = {:.2}",
        reversal.iter().copied().fold(f64::INFINITY, f64::min),
        reversal.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        spearman(reversal, asymmetry)
    );
    let samples = &measured.decoded.samples;
    println!(
        "decoded {} samples from {} cells, mean {:.2} (true {:.2}); Wasserstein-1 to the true \
         distribution {:.2} (a Gaussian of its mean and variance: {:.2})",
        samples.len(),
        measured.used,
        samples.iter().sum::<f64>() / samples.len().max(1) as f64,
        dist.mean(),
        wasserstein1(samples, &dist),
        gaussian_baseline_w1(&dist, 100_000, 0)
    );
    Ok(())
}
