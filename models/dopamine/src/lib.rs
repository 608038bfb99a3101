//! Distributional dopamine (Dabney et al. 2020): a population of "cells", each
//! learning a value by TD with its own asymmetry tau = a+ / (a+ + a-). Optimistic cells
//! (tau > 0.5) settle above the mean, pessimistic ones below, so their reversal points encode
//! the reward distribution.
//!
//! ```
//! use neuromod_dopamine::{simulate, Cells, RewardDistribution, Rule, TrialConfig};
//!
//! // Five cells from pessimistic (tau 0.1) to optimistic (tau 0.9) learn a reward that is 0 or
//! // 10 with equal odds: their values spread around the mean 5 in the order of their taus.
//! let dist = RewardDistribution::new(vec![(0.0, 0.5), (10.0, 0.5)]).unwrap();
//! let cells = Cells::spread(5, 0.02).unwrap();
//! let cfg = TrialConfig { trials: 20_000, recorded_trials: 2, ..TrialConfig::default() };
//! let v = simulate(&cells, &dist, Rule::Expectile, &cfg).value;
//! assert!(v.windows(2).all(|w| w[0] < w[1]));
//! assert!(v[0] < 5.0 && v[4] > 5.0);
//! ```

#![forbid(unsafe_code)]

mod animal;
mod cells;
mod controls;
mod cues;
mod decode;
mod design;
mod distribution;
mod identity;
mod measured;
mod population;
mod preconditioning;
mod reversal;
mod simulate;

pub use animal::{measure_animal, study_animal, AnimalStats, CUE_PROBABILITIES, CUE_REWARD};
pub use cells::{spread_taus, Cells, Rule};
pub use controls::{controls, decode_pairs, references, Controls, SHIFTS};
pub use cues::{relative_response, simulate_cues, CueSimulation};
pub use decode::{decode_expectiles, decode_quantiles, wasserstein1, Decoded};
pub use design::{Design, Step};
pub use distribution::{DistributionError, RewardDistribution};
pub use identity::{
    chang_identity_unblocking, chang_paradigm, takahashi_identity_shift, td_sr, value_td,
    Inhibition, Shift, SrStep,
};
pub use measured::{
    decode_measured, decode_quantile_points, gaussian_baseline_w1, Measured, MIN_TAU,
};
pub use neuromod_stats::{correlation_p, fisher_interval, pearson, spearman, wilson, Correlation};
pub use population::CellModel;
pub use preconditioning::{
    sharpe_activation, sharpe_activation_paradigm, sharpe_devaluation, sharpe_inhibition,
    sharpe_inhibition_paradigm, Paradigm, TestValues,
};
pub use reversal::{kinked_fit, reversal_point, Kink, TuningCurves};
pub use simulate::{simulate, Simulation, TrialConfig};

#[cfg(test)]
mod tests;
