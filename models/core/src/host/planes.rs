//! Flat f32 buffers cut into planes (one per output or saved activation, rows `b * steps + t`)
//! and planes cut into per-thread chunks of whole sequences: the bookkeeping every fused scan
//! shares.

/// Batch rows per chunk: one chunk per rayon thread.
pub(crate) fn chunk_batch(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// Cuts planes (each `rows * width` long) into chunks of `chunk_rows` rows: `[chunk][plane]`.
pub(crate) fn chunk_planes(
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
pub(crate) fn split_mut<'a>(
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
pub(crate) fn split<'a>(mut buf: &'a [f32], widths: &[usize], rows: usize) -> Vec<&'a [f32]> {
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
pub(crate) fn pair<'b>(
    v: &'b mut [&mut [f32]],
    src: usize,
    dst: usize,
) -> (&'b [f32], &'b mut [f32]) {
    assert_ne!(src, dst);
    if src < dst {
        let (lo, hi) = v.split_at_mut(dst);
        (&*lo[src], &mut *hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(src);
        (&*hi[0], &mut *lo[dst])
    }
}
