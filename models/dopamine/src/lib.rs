//! Distributional dopamine (Dabney et al. 2020, SCIENCE.md §3): a population of "cells", each
//! learning a value by TD with its own asymmetry tau = a+ / (a+ + a-). Optimistic cells
//! (tau > 0.5) settle above the mean, pessimistic ones below, so their reversal points encode
//! the reward distribution.

mod cells;
mod decode;
mod distribution;
mod reversal;
mod simulate;

pub use cells::{Cells, Rule};
pub use decode::{decode_expectiles, decode_quantiles, wasserstein1, Decoded};
pub use distribution::{DistributionError, RewardDistribution};
pub use reversal::{reversal_point, spearman, TuningCurves};
pub use simulate::{simulate, Simulation, TrialConfig};

#[cfg(test)]
mod tests;
