//! Sequences to padded device batches.

use burn::prelude::*;
use burn::tensor::TensorData;
use neuromod_datasets::SequenceSet;
use neuromod_vrnn::SeqBatch;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Pads sequences `idx` of `set` to the longest of them; mask marks real steps.
pub fn to_batch(set: &SequenceSet, idx: &[usize], device: &Device) -> SeqBatch {
    let (b, d) = (idx.len(), set.dim);
    let t_max = idx.iter().map(|&i| set.steps(i)).max().unwrap_or(0).max(1);
    let mut x = vec![0.0f32; b * t_max * d];
    let mut mask = vec![0.0f32; b * t_max];
    for (row, &i) in idx.iter().enumerate() {
        let seq = &set.sequences[i];
        x[row * t_max * d..row * t_max * d + seq.len()].copy_from_slice(seq);
        mask[row * t_max..row * t_max + set.steps(i)].fill(1.0);
    }
    SeqBatch::new(
        Tensor::from_data(TensorData::new(x, [b, t_max, d]), device),
        Tensor::from_data(TensorData::new(mask, [b, t_max]), device),
    )
}

/// Batches of sequence indices: shuffled by `rng` when given, else sorted by length
/// (less padding for evaluation).
pub fn batch_indices(set: &SequenceSet, batch: usize, rng: Option<&mut ChaCha8Rng>) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..set.len()).collect();
    match rng {
        Some(rng) => order.shuffle(rng),
        None => order.sort_by_key(|&i| set.steps(i)),
    }
    order.chunks(batch.max(1)).map(<[usize]>::to_vec).collect()
}
