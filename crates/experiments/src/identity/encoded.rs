//! The published designs (Chang 2017, Sharpe 2017) with a world model's latent state as the
//! features: a world model learns sequences of the design's trials (its rows as observations,
//! under sensory noise), the design's own sequence then runs through it, and each row's
//! filtering posterior mean, standardised over the design's rows, replaces the hand-made
//! one-hot row. TD over successor features (Gardner et al.'s learner, trial by trial, with the
//! perturbations) and value TD then learn on those features. Whether unblocking and
//! preconditioning survive a learned representation is what this measures.

use std::path::Path;

use burn::prelude::*;
use neuromod_core::Noise;
use neuromod_datasets::SequenceSet;
use neuromod_dopamine::{
    chang_paradigm, sharpe_activation_paradigm, sharpe_inhibition_paradigm, Inhibition, Paradigm,
    TestValues,
};
use neuromod_train::to_batch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::IdentityConfig;
use crate::world_fit::fit_world;
use crate::{host, ExperimentError};

/// Probability that a feature of a training row shows the opposite value.
pub const FLIP: f64 = 0.05;

/// The designs' test values on one world model's features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncodedDesigns {
    /// Validation bounds of the three world models (Chang, Sharpe inhibition, activation).
    pub valid_bounds: [f64; 3],
    /// Chang, inhibition at the identity change (perturbed) and none (control): X, Y.
    pub chang_outcome: TestValues,
    /// Chang, inhibition in the interval (perturbed): X, Y.
    pub chang_interval: TestValues,
    /// Sharpe, inhibition: A, B.
    pub sharpe_inhibition: TestValues,
    /// Sharpe, activation: F, D, C.
    pub sharpe_activation: TestValues,
}

/// The design's trials: its rows cut after each blank row, each distinct trial once.
fn trial_types(p: &Paradigm) -> Vec<Vec<Vec<f64>>> {
    let mut types: Vec<Vec<Vec<f64>>> = Vec::new();
    let mut trial = Vec::new();
    for row in &p.design.x {
        trial.push(row.clone());
        if row.iter().all(|&v| v == 0.0) {
            if !types.contains(&trial) {
                types.push(trial.clone());
            }
            trial.clear();
        }
    }
    types
}

/// `n` training sequences as long as the design (so no row of it is read past the length the
/// model learned): random trials of the design, noisy.
fn training_set(p: &Paradigm, n: usize, seed: u64) -> SequenceSet {
    let types = trial_types(p);
    let rows = p.design.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut set = SequenceSet::new(p.design.d);
    for _ in 0..n {
        let mut seq = Vec::with_capacity(rows * p.design.d);
        while seq.len() < rows * p.design.d {
            for row in &types[rng.random_range(0..types.len())] {
                seq.extend(row.iter().map(|&v| {
                    let flip = rng.random_bool(FLIP);
                    (if flip { 1.0 - v } else { v }) as f32
                }));
            }
        }
        seq.truncate(rows * p.design.d);
        set.sequences.push(seq);
    }
    set
}

/// Rows standardised per column over the rows (a constant column becomes 0), then scaled so
/// their mean squared norm is `target` (that of the design's own rows).
pub fn standardise(rows: &[Vec<f64>], target: f64) -> Vec<Vec<f64>> {
    let (n, d) = (rows.len() as f64, rows.first().map_or(0, Vec::len));
    let mut out: Vec<Vec<f64>> = rows.to_vec();
    for j in 0..d {
        let m = rows.iter().map(|r| r[j]).sum::<f64>() / n;
        let sd = (rows.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / n).sqrt();
        for r in &mut out {
            r[j] = if sd > 1e-9 { (r[j] - m) / sd } else { 0.0 };
        }
    }
    let norm = out
        .iter()
        .map(|r| r.iter().map(|v| v * v).sum::<f64>())
        .sum::<f64>()
        / n;
    let scale = if norm > 0.0 {
        (target / norm).sqrt()
    } else {
        0.0
    };
    for r in &mut out {
        r.iter_mut().for_each(|v| *v *= scale);
    }
    out
}

/// The design's rows as a world model trained on its trials sees them; also its bound.
fn encode(
    p: &Paradigm,
    config: &IdentityConfig,
    (seed, tag): (u64, &str),
    out: &Path,
    device: &Device,
) -> Result<(Vec<Vec<f64>>, f64), ExperimentError> {
    let spec = config.world_spec((0.8, 0.2), None);
    let data = training_set(p, config.sessions, seed);
    let fitted = fit_world(&spec, &data, (out, tag), seed, device)?;
    let mut design = SequenceSet::new(p.design.d);
    design
        .sequences
        .push(p.design.x.iter().flatten().map(|&v| v as f32).collect());
    let traj = fitted
        .model
        .forward(&to_batch(&design, &[0], device), Noise::Mean);
    let mu = host(traj.posterior.0, "posterior means")?;
    let z = config.z_dim;
    let rows: Vec<Vec<f64>> = mu
        .chunks(z)
        .map(|r| r.iter().map(|&v| v as f64).collect())
        .collect();
    let target = p
        .design
        .x
        .iter()
        .map(|r| r.iter().sum::<f64>())
        .sum::<f64>()
        / rows.len() as f64;
    Ok((standardise(&rows, target), fitted.valid_bound))
}

/// The three designs on world-model features for `seed`; checkpoints under
/// `out/runs/encoded-<design>-seed<k>`.
pub fn run(
    config: &IdentityConfig,
    seed: u64,
    out: &Path,
    device: &Device,
) -> Result<EncodedDesigns, ExperimentError> {
    let chang = chang_paradigm(Inhibition::Outcome);
    let (x, b0) = encode(
        &chang,
        config,
        (seed, &format!("encoded-chang-seed{seed}")),
        out,
        device,
    )?;
    let chang_outcome = chang.values(&x);
    let chang_interval = chang_paradigm(Inhibition::Interval).values(&x);
    let inhibition = sharpe_inhibition_paradigm();
    let tag = format!("encoded-sharpe-inhibition-seed{seed}");
    let (x, b1) = encode(&inhibition, config, (seed, &tag), out, device)?;
    let sharpe_inhibition = inhibition.values(&x);
    let activation = sharpe_activation_paradigm();
    let tag = format!("encoded-sharpe-activation-seed{seed}");
    let (x, b2) = encode(&activation, config, (seed, &tag), out, device)?;
    Ok(EncodedDesigns {
        valid_bounds: [b0, b1, b2],
        chang_outcome,
        chang_interval,
        sharpe_inhibition,
        sharpe_activation: activation.values(&x),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_are_cut_at_blank_rows_and_kept_once() {
        // Chang: A, B, AX, BY trials (three rows each) and the X and Y tests (two rows each).
        let types = trial_types(&chang_paradigm(Inhibition::Off));
        assert_eq!(types.len(), 6);
        assert_eq!(types.iter().filter(|t| t.len() == 3).count(), 4);
        let chang = chang_paradigm(Inhibition::Off);
        let set = training_set(&chang, 3, 0);
        assert_eq!(set.len(), 3);
        assert!(set
            .sequences
            .iter()
            .all(|s| s.len() == chang.design.len() * 6));
    }

    #[test]
    fn standardised_rows_have_zero_mean_columns_and_the_target_norm() {
        let rows = vec![
            vec![1.0, 5.0, 2.0],
            vec![3.0, 5.0, 0.0],
            vec![2.0, 5.0, 4.0],
        ];
        let out = standardise(&rows, 2.0);
        for j in 0..3 {
            let m: f64 = out.iter().map(|r| r[j]).sum::<f64>() / 3.0;
            assert!(m.abs() < 1e-12);
        }
        assert!(
            out.iter().all(|r| r[1] == 0.0),
            "a constant column carries nothing"
        );
        let norm: f64 = out
            .iter()
            .map(|r| r.iter().map(|v| v * v).sum::<f64>())
            .sum::<f64>();
        assert!((norm / 3.0 - 2.0).abs() < 1e-12);
    }
}
