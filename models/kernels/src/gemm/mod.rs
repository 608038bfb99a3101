//! Single-precision matrix products for the host operations: an AVX-512 microkernel (8 rows x
//! 48 columns of C held in 24 registers) over packed panels, in the usual blocked layout (k in
//! blocks of 256, B packed once per product or once per scan, A packed per block of rows).
//! On this project's reference CPU (AMD EPYC, Zen 5) the kernel runs at about 200 GFLOP/s per
//! core against about 80 for the `gemm` crate's, which is the portable path on CPUs without
//! AVX-512. Every element of C sums over k in the same order whatever the thread count, so
//! results do not depend on threading.
//!
//! Which path runs is decided once per packed operand, by the variant of [`PackedB`]: only the
//! [`PackedB::Panels`] variant reaches the AVX-512 code, and it can only be built with an
//! [`Avx512`] token, which only exists on a CPU that has the instructions.

mod avx512;
#[cfg(test)]
mod tests;

pub use avx512::Avx512;

use crate::dense::{gemm_crate, View};

/// Rows of C per microkernel call.
pub const MR: usize = 8;
/// Columns of C per microkernel call (three 16-float vectors).
pub const NR: usize = 48;
/// Depth of one packed block.
const KC: usize = 256;
/// Rows of A packed at a time.
const MC: usize = 96;

/// The right operand of products, prepared for the path this CPU runs.
pub enum PackedB {
    /// For the AVX-512 kernel: for each block of up to KC rows, panels of NR columns, each
    /// stored row after row and zero-padded to NR.
    Panels(Panels),
    /// For the portable path (the `gemm` crate): the operand as a dense row-major [k, n].
    Dense {
        /// Rows k.
        k: usize,
        /// Columns n.
        n: usize,
        /// The values.
        data: Vec<f32>,
    },
}

/// Panels of a right operand for the AVX-512 kernel, with the token that proves the CPU runs
/// it.
pub struct Panels {
    k: usize,
    n: usize,
    data: Vec<f32>,
    isa: Avx512,
}

impl PackedB {
    /// Packs `b` [k, n] (any strides) for the AVX-512 kernel where the CPU has it, else for the
    /// portable path.
    pub fn new(b: View) -> Self {
        match Avx512::detect() {
            Some(isa) => Self::panels(b, isa),
            None => Self::dense(b),
        }
    }

    /// Packs the row-major [rows, cols] matrix that starts at `theta[at]` (a chain's packed
    /// weights), or its transpose when `transposed` (what the backward pass multiplies by).
    pub fn from_theta(
        theta: &[f32],
        at: usize,
        (rows, cols): (usize, usize),
        transposed: bool,
    ) -> Self {
        let v = View::dense(&theta[at..], rows, cols);
        Self::new(if transposed { v.t() } else { v })
    }

    /// Packs `b` for the portable path, whatever the CPU.
    pub fn dense(b: View) -> Self {
        let (k, n) = (b.rows, b.cols);
        let mut data = vec![0.0; k * n];
        for p in 0..k {
            for j in 0..n {
                data[p * n + j] = b.data[p * b.rs + j * b.cs];
            }
        }
        PackedB::Dense { k, n, data }
    }

    /// Packs `b` into panels for the AVX-512 kernel.
    pub fn panels(b: View, isa: Avx512) -> Self {
        PackedB::Panels(Panels::new(b, isa))
    }

    /// Rows k.
    pub fn rows(&self) -> usize {
        match self {
            PackedB::Panels(p) => p.k,
            PackedB::Dense { k, .. } => *k,
        }
    }

    /// Columns n.
    pub fn cols(&self) -> usize {
        match self {
            PackedB::Panels(p) => p.n,
            PackedB::Dense { n, .. } => *n,
        }
    }
}

impl Panels {
    fn new(b: View, isa: Avx512) -> Self {
        use rayon::prelude::*;
        let (k, n) = (b.rows, b.cols);
        let panels = n.div_ceil(NR);
        let block_len = KC * panels * NR;
        let mut data = vec![0.0; k.div_ceil(KC).max(1) * block_len];
        let pack_block = |(pc, block): (usize, &mut [f32])| {
            let p0 = pc * KC;
            if p0 >= k {
                return;
            }
            let kc = KC.min(k - p0);
            for jp in 0..panels {
                let panel = &mut block[jp * kc * NR..(jp + 1) * kc * NR];
                let cols = NR.min(n - jp * NR);
                for p in 0..kc {
                    let row = &mut panel[p * NR..p * NR + cols];
                    let src = (p0 + p) * b.rs + jp * NR * b.cs;
                    if b.cs == 1 {
                        row.copy_from_slice(&b.data[src..src + cols]);
                    } else {
                        for (j, v) in row.iter_mut().enumerate() {
                            *v = b.data[src + j * b.cs];
                        }
                    }
                }
            }
        };
        // Large operands (weight gradients over all rows) pack their k-blocks in parallel.
        if k * n >= 1 << 20 {
            data.par_chunks_mut(block_len)
                .enumerate()
                .for_each(pack_block);
        } else {
            data.chunks_mut(block_len).enumerate().for_each(pack_block);
        }
        Self { k, n, data, isa }
    }

    /// The packed panel `jp` of the k-block starting at row `p0`.
    fn panel(&self, p0: usize, jp: usize) -> &[f32] {
        let panels = self.n.div_ceil(NR);
        let kc = KC.min(self.k - p0);
        let start = (p0 / KC) * KC * panels * NR + jp * kc * NR;
        &self.data[start..start + kc * NR]
    }
}

/// out[m, n] (rows `out_rs` apart, from `offset`) = (acc ? out : 0) + a[m, k] b[k, n], with b
/// packed beforehand (reuse it across calls with the same right operand).
pub fn matmul_packed(
    out: &mut [f32],
    offset: usize,
    out_rs: usize,
    a: View,
    b: &PackedB,
    acc: bool,
    threads: usize,
) {
    let (k, n) = (b.rows(), b.cols());
    assert_eq!(a.cols, k, "inner dimensions");
    let m = a.rows;
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        offset + (m - 1) * out_rs + n <= out.len(),
        "output out of bounds"
    );
    assert!(out_rs >= n, "output rows overlap");
    if k > 0 {
        let last = (m - 1) * a.rs + (k - 1) * a.cs;
        assert!(last < a.data.len(), "left operand out of bounds");
    }
    if k == 0 {
        if !acc {
            for i in 0..m {
                out[offset + i * out_rs..offset + i * out_rs + n].fill(0.0);
            }
        }
        return;
    }
    match b {
        PackedB::Dense { data, .. } => gemm_crate(
            out,
            offset,
            out_rs,
            a,
            View::dense(data, k, n),
            acc,
            threads,
        ),
        PackedB::Panels(p) => avx512::product(&mut out[offset..], out_rs, a, p, acc, threads),
    }
}

/// out = (acc ? out : 0) + a b for any strides; packs b first where the AVX-512 kernel runs.
pub fn matmul(
    out: &mut [f32],
    offset: usize,
    out_rs: usize,
    a: View,
    b: View,
    acc: bool,
    threads: usize,
) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    match Avx512::detect() {
        Some(isa) => matmul_packed(
            out,
            offset,
            out_rs,
            a,
            &PackedB::panels(b, isa),
            acc,
            threads,
        ),
        None => gemm_crate(out, offset, out_rs, a, b, acc, threads),
    }
}

/// The weight gradients of a dense layer over all rows, written into `dtheta`: input^T dpre at
/// `w` (the layer's [in, out] weight) and, unless `b` is None, the column sums of `dpre` at `b`
/// (its bias). `input` [R, in] is the layer's input, `dpre` [R, out] the gradient of its
/// pre-activation.
pub fn layer_grads(
    dtheta: &mut [f32],
    (w, b): (usize, Option<usize>),
    input: View,
    dpre: View,
    threads: usize,
) {
    let cols = dpre.cols;
    matmul(dtheta, w, cols, input.t(), dpre, false, threads);
    if let Some(b) = b {
        crate::dense::add_col_sums(&mut dtheta[b..b + cols], dpre);
    }
}
