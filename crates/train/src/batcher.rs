//! Sequences to padded device batches.

use burn::prelude::*;
use burn::tensor::TensorData;
use neuromod_core::SeqBatch;
use neuromod_datasets::SequenceSet;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Pads sequences `idx` of `set` to the longest of them; mask marks real steps.
pub fn to_batch(set: &SequenceSet, idx: &[usize], device: &Device) -> SeqBatch {
    to_batch_transposed(set, idx, &vec![0; idx.len()], device)
}

/// As [`to_batch`], with sequence `idx[k]` moved up `shifts[k]` features (down if negative):
/// a piano roll transposed by that many semitones; features pushed off either end are dropped.
pub fn to_batch_transposed(
    set: &SequenceSet,
    idx: &[usize],
    shifts: &[i32],
    device: &Device,
) -> SeqBatch {
    let (b, d) = (idx.len(), set.dim);
    let t_max = idx.iter().map(|&i| set.steps(i)).max().unwrap_or(0).max(1);
    let mut x = vec![0.0f32; b * t_max * d];
    let mut mask = vec![0.0f32; b * t_max];
    for (row, &i) in idx.iter().enumerate() {
        let seq = &set.sequences[i];
        let dst = &mut x[row * t_max * d..row * t_max * d + seq.len()];
        match shifts[row] {
            0 => dst.copy_from_slice(seq),
            shift => {
                for (out, step) in dst.chunks_mut(d).zip(seq.chunks(d)) {
                    for (j, v) in step.iter().enumerate() {
                        let k = j as i64 + shift as i64;
                        if (0..d as i64).contains(&k) {
                            out[k as usize] = *v;
                        }
                    }
                }
            }
        }
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
/// of `BUCKET_WINDOW` batches so a batch holds sequences of similar length, then shuffle the
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
    #[test]
    fn transposition_moves_features_and_drops_what_falls_off() {
        #[allow(deprecated)]
        let device = burn::prelude::Device::ndarray();
        let set = neuromod_datasets::SequenceSet {
            dim: 4,
            sequences: vec![vec![1., 0., 0., 2., 0., 3., 0., 0.], vec![0., 0., 5., 0.]],
        };
        let x = |b: super::SeqBatch| b.x.into_data().try_into_vec::<f32>().unwrap();
        let up = x(super::to_batch_transposed(&set, &[0, 1], &[1, -2], &device));
        assert_eq!(
            up,
            [0., 1., 0., 0., 0., 0., 3., 0., 5., 0., 0., 0., 0., 0., 0., 0.]
        );
        let same = x(super::to_batch(&set, &[0], &device));
        assert_eq!(same, [1., 0., 0., 2., 0., 3., 0., 0.]);
    }

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
