//! Sequential datasets for neuromod, free of any tensor backend.
//!
//! A dataset is a [`SequenceSet`]: variable-length sequences of `dim`-wide float vectors.
//! Loaders ([`jsb`], [`npy`], [`csv`]) turn files into [`Splits`]; every bad input is a
//! [`DataError`] naming the file and the row, index or field at fault. [`tasks`] generates the
//! SPE vs RPE dissociation tasks with rewards and labelled surprise steps.
//!
//! ```
//! use neuromod_datasets::DatasetSpec;
//!
//! // JSB Chorales ships inside the crate: 88 piano keys per step, the standard splits.
//! let splits = DatasetSpec::jsb_bundled().load().unwrap();
//! assert_eq!(splits.train.dim, 88);
//! assert_eq!((splits.train.len(), splits.valid.len(), splits.test.len()), (229, 76, 77));
//! // Sequences vary in length; each step is one 88-wide row.
//! assert!(splits.test.steps(0) > 0);
//! assert_eq!(splits.test.sequences[0].len(), splits.test.steps(0) * 88);
//! ```

#![forbid(unsafe_code)]

pub mod convergent;
pub mod csv;
pub mod cue_task;
mod error;
pub mod generate;
pub mod identity_task;
pub mod jsb;
pub mod npy;
mod sequence;
mod spec;
pub mod tasks;

pub use error::DataError;
pub use sequence::{SequenceSet, Splits};
pub use spec::{DatasetKind, DatasetSpec};
