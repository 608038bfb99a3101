//! neuromod's statistics in one place: means over seeds with t intervals on the linear and the
//! log scale (counting what they leave out: a ratio with a silent denominator is said, never
//! dropped quietly), correlations with p-values and Fisher-z intervals, the mean of per-seed
//! correlations in Fisher's z, and Wilson intervals of proportions. Each is tested against a
//! hand computation.

#![forbid(unsafe_code)]

mod correlation;
mod interval;
mod proportion;

pub use correlation::{
    correlation_p, fisher_interval, mean_correlation, pearson, spearman, Correlation,
};
pub use interval::{t975, Interval};
pub use proportion::wilson;
