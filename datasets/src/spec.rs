//! Which dataset to load, as stored in a run's configuration.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::generate::MarkovPatterns;
use crate::{DataError, Splits};

/// The kind of dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DatasetKind {
    /// JSB Chorales JSON (standard splits, 88-key piano rolls).
    Jsb,
    /// NumPy float32 `[N, T, D]`.
    Npy,
    /// CSV `sequence,time,f1..fD`.
    Csv,
    /// Generated Markov chain of binary patterns ([`MarkovPatterns`]).
    Markov,
}

/// A dataset and how to split it; NPY and CSV files are split by sequence order into
/// `train_fraction`, `valid_fraction` and the rest as test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// The kind of dataset.
    pub kind: DatasetKind,
    /// The file (unused for generated data; for JSB, `None` reads the bundled copy,
    /// [`crate::jsb::bundled`]).
    pub path: Option<PathBuf>,
    /// Fraction of sequences for training (NPY, CSV, generated).
    pub train_fraction: f64,
    /// Fraction of sequences for validation (NPY, CSV, generated).
    pub valid_fraction: f64,
    /// Generator settings for [`DatasetKind::Markov`].
    pub markov: Option<MarkovPatterns>,
}

impl DatasetSpec {
    /// A file-backed dataset with the default 80/10/10 split.
    pub fn file(kind: DatasetKind, path: impl Into<PathBuf>) -> Self {
        Self {
            kind,
            path: Some(path.into()),
            train_fraction: 0.8,
            valid_fraction: 0.1,
            markov: None,
        }
    }

    /// The JSB Chorales bundled with the crate.
    pub fn jsb_bundled() -> Self {
        Self {
            kind: DatasetKind::Jsb,
            path: None,
            train_fraction: 0.8,
            valid_fraction: 0.1,
            markov: None,
        }
    }

    /// A generated Markov-pattern dataset with the default 80/10/10 split.
    pub fn markov(gen: MarkovPatterns) -> Self {
        Self {
            kind: DatasetKind::Markov,
            path: None,
            train_fraction: 0.8,
            valid_fraction: 0.1,
            markov: Some(gen),
        }
    }

    /// Loads and splits the data.
    pub fn load(&self) -> Result<Splits, DataError> {
        let frac = (self.train_fraction, self.valid_fraction);
        let fractions_ok = frac.0 > 0.0 && frac.1 > 0.0 && frac.0 + frac.1 < 1.0;
        let path = self.path.as_deref();
        let need_path = || {
            path.ok_or_else(|| {
                DataError::invalid(
                    Path::new("<none>"),
                    "dataset",
                    "this dataset kind needs a file path (--data PATH)",
                )
            })
        };
        if !fractions_ok && self.kind != DatasetKind::Jsb {
            return Err(DataError::invalid(
                path.unwrap_or(Path::new("<generated>")),
                "split fractions",
                format!(
                    "train {} and valid {} must be positive and sum below 1",
                    frac.0, frac.1
                ),
            ));
        }
        match self.kind {
            DatasetKind::Jsb => match path {
                Some(p) => crate::jsb::load(p),
                None => crate::jsb::bundled(),
            },
            DatasetKind::Npy => {
                let p = need_path()?;
                Splits::by_fraction(crate::npy::load(p)?, frac.0, frac.1, p)
            }
            DatasetKind::Csv => {
                let p = need_path()?;
                Splits::by_fraction(crate::csv::load(p)?, frac.0, frac.1, p)
            }
            DatasetKind::Markov => {
                let gen = self.markov.clone().unwrap_or_default();
                Splits::by_fraction(
                    gen.generate().data,
                    frac.0,
                    frac.1,
                    Path::new("<generated>"),
                )
            }
        }
    }
}
