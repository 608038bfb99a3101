//! What the scan's two CubeCL kernels share: their compile-time sizes, the shared-memory
//! lengths, and the per-unit pieces (a column or row of a product with a weight in `theta`,
//! the logistic and softplus functions).

use burn_cubecl::cubecl::prelude::*;

use crate::scan::ScanShape;

/// The scan's sizes as the kernels are compiled for them (one compilation per model size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Sizes {
    pub h: u32,
    pub e: u32,
    pub z: u32,
    pub fz: u32,
    pub enc_layers: u32,
    pub phiz_layers: u32,
}

impl Sizes {
    pub(super) fn of(s: &ScanShape) -> Self {
        Self {
            h: s.h as u32,
            e: s.e as u32,
            z: s.z as u32,
            fz: s.fz as u32,
            enc_layers: s.enc_layers as u32,
            phiz_layers: s.phiz_layers as u32,
        }
    }

    /// Forward: h | a (2 E) | head (2 Z) | z (Z) | f (2 Fz) | gh (3 H).
    pub(super) fn forward_shared(&self) -> usize {
        (4 * self.h + 2 * self.e + 3 * self.z + 2 * self.fz) as usize
    }

    /// Backward: dcarry (H) | dgi (3 H) | dpre (E + 3 H) | df (2 max(Fz, Z)) | dhead (2 Z) |
    /// da (2 E).
    pub(super) fn backward_shared(&self) -> usize {
        (7 * self.h + 3 * self.e + 2 * self.fz.max(self.z) + 2 * self.z) as usize
    }

    /// Units per cube: the widest stage rounded up to a warp, at most 256.
    pub(super) fn units(&self) -> u32 {
        let widest = (self.e + 3 * self.h).max(2 * self.z).max(self.fz);
        (widest.div_ceil(32) * 32).clamp(32, 256)
    }
}

/// Column `c` of `x W`: sum over k < n of sh[x + k] W[k, c], with W row-major [n, cols] at
/// `w` in theta.
#[cube]
pub(super) fn dot_col<F: Float>(
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

/// Entry `j` of `d W^T`: sum over c < cols of sh[d + c] W[j, c], with W row-major
/// [rows, cols] at `w` in theta.
#[cube]
pub(super) fn dot_row<F: Float>(
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
pub(super) fn logistic<F: Float>(x: F) -> F {
    F::new(1.0) / (F::new(1.0) + (F::new(0.0) - x).exp())
}

/// softplus(x) = max(x, 0) + ln(1 + e^-|x|), stable at both tails.
#[cube]
pub(super) fn softplus<F: Float>(x: F) -> F {
    F::max(x, F::new(0.0)) + (F::new(1.0) + (F::new(0.0) - F::abs(x)).exp()).ln()
}
