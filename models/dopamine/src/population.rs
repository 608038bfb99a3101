//! The distributional population and the null models of Dabney et al. 2020 (Extended Data
//! Fig. 4 and the Methods' alternative models), built so that one pipeline records and
//! analyses them all. They differ in how cells learn (the learning asymmetry tau) and in how a
//! TD error becomes firing (the readout: gains and offset, see [`Cells`]).

use serde::{Deserialize, Serialize};

use crate::cells::spread_taus;
use crate::{Cells, DistributionError, RewardDistribution};

/// Which population a simulated animal carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum CellModel {
    /// Distributional TD: taus spread over (0, 1), each cell learns and fires with its own
    /// asymmetry, so its reversal point is its tau-expectile (or quantile).
    Distributional,
    /// Classical TD: every cell learns and fires symmetrically (tau 0.5), so every reversal
    /// point is the mean; only recording noise varies them.
    Classical,
    /// Classical learning, but each cell's baseline is misjudged by a fixed offset: reversal
    /// points spread (reliably, as far as the distributional cells' do) while every cell's
    /// slopes stay symmetric.
    BaselineBias,
    /// Classical learning (every value is the mean), but positive and negative errors are
    /// scaled asymmetrically in firing, as the distributional cells' are: the asymmetries
    /// spread while the reversal points do not.
    AsymmetricScaling,
}

impl CellModel {
    /// Every model, the distributional one first.
    pub const ALL: [CellModel; 4] = [
        CellModel::Distributional,
        CellModel::Classical,
        CellModel::BaselineBias,
        CellModel::AsymmetricScaling,
    ];

    /// Its name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            CellModel::Distributional => "distributional",
            CellModel::Classical => "classical",
            CellModel::BaselineBias => "baseline-bias",
            CellModel::AsymmetricScaling => "asymmetric-scaling",
        }
    }

    /// `n` cells of this model learning at `lr` on `dist` (the baseline-bias offsets put each
    /// cell's reversal point at the tau-expectile of `dist` that a distributional cell with the
    /// same index would reach: tau (2i - 1) / 2n).
    pub fn cells(
        self,
        n: usize,
        lr: f64,
        dist: &RewardDistribution,
    ) -> Result<Cells, DistributionError> {
        Ok(match self {
            CellModel::Distributional => Cells::spread(n, lr)?,
            CellModel::Classical => Cells::classic(n, lr)?,
            CellModel::BaselineBias => {
                let mut cells = Cells::classic(n, lr)?;
                let mean = dist.mean();
                // Firing delta + b crosses zero at r = mean - b.
                cells.offset = spread_taus(n)
                    .iter()
                    .map(|&t| mean - dist.expectile(t))
                    .collect();
                cells
            }
            CellModel::AsymmetricScaling => {
                let mut cells = Cells::classic(n, lr)?;
                let taus = spread_taus(n);
                cells.gain_plus = taus.iter().map(|t| 2.0 * t).collect();
                cells.gain_minus = taus.iter().map(|t| 2.0 * (1.0 - t)).collect();
                cells
            }
        })
    }
}
