//! Per-unit pieces the chains' CubeCL kernels share: a column or a row of a product of a
//! vector in shared memory with a weight matrix inside a flat `theta`, and activations written
//! so that no tail overflows on any backend.

use burn_cubecl::cubecl::prelude::*;

/// Column `c` of `x W`: the sum over k < n of sh[x + k] W[k, c], with W row-major [n, cols]
/// at offset `w` of `theta`.
#[cube]
pub fn dot_col<F: Float>(
    sh: &Shared<[F]>,
    x: usize,
    n: usize,
    theta: &Tensor<F>,
    w: usize,
    cols: usize,
    c: usize,
) -> F {
    let mut acc = F::new(0.0);
    for k in 0..n {
        acc += sh[x + k] * theta[w + k * cols + c];
    }
    acc
}

/// Entry `j` of `d W^T`: the sum over c < cols of sh[d + c] W[j, c], with W row-major
/// [rows, cols] at offset `w` of `theta`.
#[cube]
pub fn dot_row<F: Float>(
    sh: &Shared<[F]>,
    d: usize,
    cols: usize,
    theta: &Tensor<F>,
    w: usize,
    j: usize,
) -> F {
    let mut acc = F::new(0.0);
    for c in 0..cols {
        acc += sh[d + c] * theta[w + j * cols + c];
    }
    acc
}

/// The logistic function, written so that neither tail overflows.
#[cube]
pub fn logistic<F: Float>(x: F) -> F {
    F::new(1.0) / (F::new(1.0) + (F::new(0.0) - x).exp())
}

/// tanh through the logistic function (stable at both tails on every backend).
#[cube]
pub fn tanh_stable<F: Float>(x: F) -> F {
    F::new(2.0) * logistic::<F>(F::new(2.0) * x) - F::new(1.0)
}

/// softplus(x) = max(x, 0) + ln(1 + e^-|x|), stable at both tails.
#[cube]
pub fn softplus<F: Float>(x: F) -> F {
    F::max(x, F::new(0.0)) + (F::new(1.0) + (F::new(0.0) - F::abs(x)).exp()).ln()
}

/// Units per cube for stages at most `widest` wide: rounded up to a warp, at most 256 (wider
/// stages loop).
pub fn units(widest: usize) -> CubeDim {
    CubeDim::new_1d((widest.div_ceil(32) * 32).clamp(32, 256) as u32)
}

/// Shared memory a chain's kernels may use per cube, in f32s: 32 KiB, what Vulkan and Metal
/// devices commonly give a workgroup (CUDA gives 48 KiB without opting in). A chain whose
/// kernels would need more, or more cubes than [`MAX_CUBES`], runs composed ([`fits`]).
pub const SHARED_FLOATS: usize = 8192;

/// Cubes one launch may have along x on every backend (wgpu's limit; CUDA allows more).
pub const MAX_CUBES: usize = 65_535;

/// Whether a chain's kernels can run `batch` sequences (one cube each) needing `floats` f32s
/// of shared memory per cube: within [`SHARED_FLOATS`] and [`MAX_CUBES`].
pub fn fits(batch: usize, floats: usize) -> bool {
    floats <= SHARED_FLOATS && batch <= MAX_CUBES
}

/// Units per cube of the kernels that give each unit one item (a row of a loss).
pub const ITEM_UNITS: usize = 256;

/// Whether `items` fit one launch of one unit per item ([`per_item`]).
pub fn fits_items(items: usize) -> bool {
    items > 0 && fits(items.div_ceil(ITEM_UNITS), 0)
}

/// Cubes and units of a launch with one unit per item (the last cube's extra units idle).
pub fn per_item(items: usize) -> (CubeCount, CubeDim) {
    (
        CubeCount::Static(items.div_ceil(ITEM_UNITS) as u32, 1, 1),
        CubeDim::new_1d(ITEM_UNITS as u32),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_holds_both_limits_at_their_edges() {
        assert!(fits(1, SHARED_FLOATS) && fits(MAX_CUBES, 1));
        assert!(!fits(1, SHARED_FLOATS + 1) && !fits(MAX_CUBES + 1, 1));
    }

    #[test]
    fn fits_items_holds_the_cube_count_at_its_edge() {
        assert!(fits_items(1) && fits_items(MAX_CUBES * ITEM_UNITS));
        assert!(!fits_items(0) && !fits_items(MAX_CUBES * ITEM_UNITS + 1));
    }
}
