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

/// Sequences sorted by length within each window of this many batches (less padding).
const BUCKET_WINDOW: usize = 4;

/// Batches of sequence indices. With `rng` (training): shuffle, sort by length within windows
/// of [`BUCKET_WINDOW`] batches so a batch holds sequences of similar length, then shuffle the
/// batch order. Without (evaluation): sorted by length.
pub fn batch_indices(
    set: &SequenceSet,
    batch: usize,
    rng: Option<&mut ChaCha8Rng>,
) -> Vec<Vec<usize>> {
    let batch = batch.max(1);
    let mut order: Vec<usize> = (0..set.len()).collect();
    let Some(rng) = rng else {
        order.sort_by_key(|&i| set.steps(i));
        return order.chunks(batch).map(<[usize]>::to_vec).collect();
    };
    order.shuffle(rng);
    let mut batches: Vec<Vec<usize>> = order
        .chunks_mut(batch * BUCKET_WINDOW)
        .flat_map(|window| {
            window.sort_by_key(|&i| set.steps(i));
            window
                .chunks(batch)
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect();
    batches.shuffle(rng);
    batches
}
