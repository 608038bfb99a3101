//! The weights a local modulator carries: the recurrent weights averaged per pair of cell
//! types (Liu et al. 2021, 2022), kept only where the receiving type reads what the other
//! secretes. A cell does not know its partners' individual weights; a type-specific receptor
//! can know their average.

use burn::prelude::*;

use crate::network::Network;

/// Which average.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Averaging {
    /// The exact weights (no average): the truncation alone, for tests.
    Exact,
    /// The mean over the existing (nonzero) synapses of each type pair, on existing synapses
    /// only (MDGL's W_ab).
    Synapses,
    /// The mean over every entry of each type pair, on every pair of cells (ModProp's W_ab).
    Blocks,
}

/// W_tilde [from, to]: entry (p, j) stands for W_rec[p, j] as the modulator from cell j that
/// cell p reads sees it; 0 where p's type does not read j's type's modulator.
pub fn modulated_weights(net: &Network, averaging: Averaging) -> Tensor<2> {
    let n = net.cells();
    let w: Vec<f32> = net.w_rec.clone().into_data().try_into_vec().unwrap();
    let kinds = net.reads.len();
    let (mut sum, mut count) = (vec![0f64; kinds * kinds], vec![0usize; kinds * kinds]);
    for p in 0..n {
        for j in 0..n {
            let v = w[p * n + j];
            if averaging == Averaging::Blocks || v != 0.0 {
                let b = net.types[p] * kinds + net.types[j];
                sum[b] += v as f64;
                count[b] += 1;
            }
        }
    }
    let mut out = vec![0f32; n * n];
    for p in 0..n {
        for j in 0..n {
            let (tp, tj) = (net.types[p], net.types[j]);
            let v = w[p * n + j];
            if !net.reads[tp][tj] || (averaging == Averaging::Synapses && v == 0.0) {
                continue;
            }
            let b = tp * kinds + tj;
            out[p * n + j] = match averaging {
                Averaging::Exact => v,
                _ => (sum[b] / count[b].max(1) as f64) as f32,
            };
        }
    }
    Tensor::<1>::from_floats(out.as_slice(), &net.w_rec.device()).reshape([n, n])
}
