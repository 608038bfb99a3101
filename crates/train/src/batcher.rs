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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn lengths(lens: &[usize]) -> SequenceSet {
        SequenceSet {
            dim: 2,
            sequences: lens.iter().map(|&t| vec![1.0; t * 2]).collect(),
        }
    }

    #[test]
    fn every_sequence_lands_in_exactly_one_batch() {
        let set = lengths(&(1..=37).collect::<Vec<_>>());
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let batches = batch_indices(&set, 4, Some(&mut rng));
        let mut all: Vec<usize> = batches.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..37).collect::<Vec<_>>());
        assert!(batches.iter().all(|b| b.len() <= 4));
        // Bucketing pads less than plain shuffled chunks of the same size.
        let padded = |bs: &[Vec<usize>]| -> usize {
            bs.iter()
                .map(|b| b.len() * b.iter().map(|&i| set.steps(i)).max().unwrap())
                .sum()
        };
        let mut order: Vec<usize> = (0..37).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(0));
        let plain: Vec<Vec<usize>> = order.chunks(4).map(<[usize]>::to_vec).collect();
        assert!(padded(&batches) < padded(&plain));
        let mut again = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(batches, batch_indices(&set, 4, Some(&mut again)));
    }

    #[test]
    #[allow(deprecated)]
    fn padding_is_zero_and_masked() {
        let set = lengths(&[3, 1]);
        let batch = to_batch(&set, &[0, 1], &Device::ndarray());
        assert_eq!(batch.dims(), [2, 3, 2]);
        let mask = batch.mask.into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(mask, vec![1., 1., 1., 1., 0., 0.]);
        let x = batch.x.into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(&x[6..], &[1., 1., 0., 0., 0., 0.]);
    }
}
