//! Variable-length sequences of fixed-width feature vectors.

use std::path::Path;

use crate::DataError;

/// Sequences of `dim`-wide steps; each sequence is stored row-major (`steps * dim` values).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SequenceSet {
    /// Features per step.
    pub dim: usize,
    /// The sequences, each `steps * dim` values, time-major.
    pub sequences: Vec<Vec<f32>>,
}

impl SequenceSet {
    /// An empty set of `dim`-wide sequences.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            sequences: Vec::new(),
        }
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.sequences.len()
    }

    /// True when there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.sequences.is_empty()
    }

    /// Steps of sequence `i`.
    pub fn steps(&self, i: usize) -> usize {
        self.sequences[i].len() / self.dim
    }

    /// Longest sequence, in steps.
    pub fn max_steps(&self) -> usize {
        (0..self.len()).map(|i| self.steps(i)).max().unwrap_or(0)
    }
}

/// The standard train / valid / test split.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Splits {
    /// Training sequences.
    pub train: SequenceSet,
    /// Validation sequences (model selection, early stopping).
    pub valid: SequenceSet,
    /// Held-out test sequences.
    pub test: SequenceSet,
}

impl Splits {
    /// The split called `name` ("train", "valid" or "test").
    pub fn get(&self, name: &str) -> Option<&SequenceSet> {
        match name {
            "train" => Some(&self.train),
            "valid" => Some(&self.valid),
            "test" => Some(&self.test),
            _ => None,
        }
    }

    /// Checks the width against the model's `x_dim`, naming the file on mismatch.
    pub fn expect_dim(&self, expected: usize, path: &Path) -> Result<(), DataError> {
        if self.train.dim != expected {
            return Err(DataError::Dimension {
                path: path.to_path_buf(),
                expected,
                found: self.train.dim,
            });
        }
        Ok(())
    }

    /// Splits whole sequences in file order: the first `train` fraction, then `valid`, then
    /// the rest as test. Each split gets at least one sequence.
    pub fn by_fraction(
        all: SequenceSet,
        train: f64,
        valid: f64,
        path: &Path,
    ) -> Result<Self, DataError> {
        let n = all.len();
        if n < 3 {
            return Err(DataError::invalid(
                path,
                "whole file",
                format!("needs at least 3 sequences to make train/valid/test splits, found {n}"),
            ));
        }
        let n_train = ((n as f64 * train).round() as usize).clamp(1, n - 2);
        let n_valid = ((n as f64 * valid).round() as usize).clamp(1, n - 1 - n_train);
        let mut seqs = all.sequences;
        let test = seqs.split_off(n_train + n_valid);
        let valid = seqs.split_off(n_train);
        let dim = all.dim;
        let set = |sequences| SequenceSet { dim, sequences };
        Ok(Splits {
            train: set(seqs),
            valid: set(valid),
            test: set(test),
        })
    }
}
