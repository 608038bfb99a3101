//! Flat f32 buffers cut into planes (one per output or saved activation, rows `b * steps + t`)
//! and planes cut into per-thread chunks of whole sequences: the bookkeeping every fused scan
//! shares, and the drivers that run a pass chunk by chunk in parallel.

use rayon::prelude::*;

/// Threads the host passes use (rayon's pool): the thread count of products over all rows.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Batch rows per chunk: one chunk per rayon thread.
fn chunk_batch(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// Cuts planes (each `rows * width` long) into chunks of `chunk_rows` rows: `[chunk][plane]`.
fn chunk_planes(
    planes: Vec<(&mut [f32], usize)>,
    chunk_rows: usize,
    chunks: usize,
) -> Vec<Vec<&mut [f32]>> {
    let mut per_chunk: Vec<Vec<&mut [f32]>> = (0..chunks).map(|_| Vec::new()).collect();
    for (plane, width) in planes {
        for (c, piece) in plane.chunks_mut(chunk_rows * width).enumerate() {
            per_chunk[c].push(piece);
        }
    }
    per_chunk
}

/// Splits a flat buffer into consecutive planes of `rows * width` each.
fn split_mut<'a>(
    mut buf: &'a mut [f32],
    widths: &[usize],
    rows: usize,
) -> Vec<(&'a mut [f32], usize)> {
    widths
        .iter()
        .map(|&w| {
            let (plane, rest) = std::mem::take(&mut buf).split_at_mut(rows * w);
            buf = rest;
            (plane, w)
        })
        .collect()
}

/// Splits a flat buffer into consecutive read-only planes.
pub fn split<'a>(mut buf: &'a [f32], widths: &[usize], rows: usize) -> Vec<&'a [f32]> {
    widths
        .iter()
        .map(|&w| {
            let (plane, rest) = buf.split_at(rows * w);
            buf = rest;
            plane
        })
        .collect()
}

/// A read-only plane and a writable one from the same list.
pub fn pair<'b>(v: &'b mut [&mut [f32]], src: usize, dst: usize) -> (&'b [f32], &'b mut [f32]) {
    assert_ne!(src, dst);
    if src < dst {
        let (lo, hi) = v.split_at_mut(dst);
        (&*lo[src], &mut *hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(src);
        (&*hi[0], &mut *lo[dst])
    }
}

/// The state each row's step started from, [B T, width]: `first` [B, width] for a sequence's
/// first step (its last when `reverse`), else the row of `seq` [B T, width] one step earlier in
/// the pass's order.
pub fn previous_rows(
    first: &[f32],
    seq: &[f32],
    (batch, steps, width): (usize, usize, usize),
    reverse: bool,
) -> Vec<f32> {
    let mut prev = vec![0.0; batch * steps * width];
    for b in 0..batch {
        for t in 0..steps {
            let r = b * steps + t;
            let start = if reverse { t + 1 == steps } else { t == 0 };
            let src = if start {
                &first[b * width..(b + 1) * width]
            } else {
                let p = if reverse { r + 1 } else { r - 1 };
                &seq[p * width..(p + 1) * width]
            };
            prev[r * width..(r + 1) * width].copy_from_slice(src);
        }
    }
    prev
}

/// A forward pass over chunks of whole sequences, one per rayon thread: allocates the output
/// planes (`out_widths`) and the saved planes (`saved_widths`), each [B T, width] one after
/// another in one buffer, and calls `chunk((b0, n), outputs, saved)` with the chunk's rows of
/// every plane (rows `i * steps + t` for its sequences b0 + i). Returns (outputs, saved).
pub fn forward_over_chunks(
    (batch, steps): (usize, usize),
    out_widths: &[usize],
    saved_widths: &[usize],
    chunk: impl Fn((usize, usize), &mut [&mut [f32]], &mut [&mut [f32]]) + Sync,
) -> (Vec<f32>, Vec<f32>) {
    let rows = batch * steps;
    let mut out = vec![0.0; rows * out_widths.iter().sum::<usize>()];
    let mut saved = vec![0.0; rows * saved_widths.iter().sum::<usize>()];
    if rows == 0 {
        return (out, saved);
    }
    let nb = chunk_batch(batch);
    let chunks = batch.div_ceil(nb);
    let outs = chunk_planes(split_mut(&mut out, out_widths, rows), nb * steps, chunks);
    let saves = chunk_planes(
        split_mut(&mut saved, saved_widths, rows),
        nb * steps,
        chunks,
    );
    outs.into_par_iter()
        .zip(saves)
        .enumerate()
        .for_each(|(c, (mut o, mut sv))| {
            let b0 = c * nb;
            chunk((b0, nb.min(batch - b0)), &mut o, &mut sv);
        });
    (out, saved)
}

/// A backward pass over chunks of whole sequences, one per rayon thread: allocates gradient
/// planes [B T, width] for each of `widths` and the initial state's gradient [B, `state`], and
/// calls `chunk((b0, n), planes, state_gradient)` with the chunk's rows of each. Returns (the
/// planes, the initial state's gradient).
pub fn backward_over_chunks(
    (batch, steps): (usize, usize),
    widths: &[usize],
    state: usize,
    chunk: impl Fn((usize, usize), Vec<&mut [f32]>, &mut [f32]) + Sync,
) -> (Vec<Vec<f32>>, Vec<f32>) {
    let rows = batch * steps;
    let mut planes: Vec<Vec<f32>> = widths.iter().map(|&w| vec![0.0; rows * w]).collect();
    let mut d0 = vec![0.0; batch * state];
    if rows == 0 {
        return (planes, d0);
    }
    let nb = chunk_batch(batch);
    let chunks = batch.div_ceil(nb);
    let writable = planes
        .iter_mut()
        .zip(widths)
        .map(|(p, &w)| (&mut p[..], w))
        .collect();
    chunk_planes(writable, nb * steps, chunks)
        .into_par_iter()
        .zip(d0.par_chunks_mut(nb * state))
        .enumerate()
        .for_each(|(c, (g, d0c))| {
            let b0 = c * nb;
            chunk((b0, nb.min(batch - b0)), g, d0c);
        });
    (planes, d0)
}
