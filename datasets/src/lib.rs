//! Sequential datasets for neuromod, free of any tensor backend.
//!
//! A dataset is a [`SequenceSet`]: variable-length sequences of `dim`-wide float vectors.
//! Loaders ([`jsb`], [`npy`], [`csv`]) turn files into [`Splits`]; every bad input is a
//! [`DataError`] naming the file and the row, index or field at fault. [`tasks`] generates the
//! SPE vs RPE dissociation tasks with rewards and labelled surprise steps.

pub mod csv;
mod error;
pub mod generate;
pub mod jsb;
pub mod npy;
mod sequence;
mod spec;
pub mod tasks;

pub use error::DataError;
pub use sequence::{SequenceSet, Splits};
pub use spec::{DatasetKind, DatasetSpec};
