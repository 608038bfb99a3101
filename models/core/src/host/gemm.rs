//! Single-precision matrix products for the host operations: an AVX-512 microkernel (8 rows x
//! 48 columns of C held in 24 registers) over packed panels, in the usual blocked layout (k in
//! blocks of 256, B packed once per product or once per scan, A packed per block of rows).
//! On this project's reference CPU (AMD EPYC, Zen 5) the kernel runs at about 200 GFLOP/s per
//! core against about 80 for the `gemm` crate's, which remains the fallback on CPUs without
//! AVX-512. Every element of C sums over k in the same order whatever the thread count, so
//! results do not depend on threading.

use std::ops::Range;

use rayon::prelude::*;

use super::dense::View;

/// Rows of C per microkernel call.
pub const MR: usize = 8;
/// Columns of C per microkernel call (three 16-float vectors).
pub const NR: usize = 48;
/// Depth of one packed block.
const KC: usize = 256;
/// Rows of A packed at a time.
const MC: usize = 96;

#[cfg(test)]
thread_local! {
    /// Tests set this to run the fallback path on a CPU that has AVX-512.
    static FORCE_FALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the AVX-512 kernel runs here (checked once).
fn avx512() -> bool {
    #[cfg(test)]
    if FORCE_FALLBACK.with(|f| f.get()) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx512f"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The right operand of products, packed for the kernel: for each block of up to KC rows,
/// panels of NR columns, each stored row after row and zero-padded to NR.
pub struct PackedB {
    k: usize,
    n: usize,
    data: Vec<f32>,
    /// The operand as given, for the fallback path.
    plain: Option<(Vec<f32>, usize, usize)>,
}

impl PackedB {
    /// Packs `b` [k, n] (any strides).
    pub fn new(b: View) -> Self {
        let (k, n) = (b.rows, b.cols);
        if !avx512() {
            let mut dense = vec![0.0; k * n];
            for p in 0..k {
                for j in 0..n {
                    dense[p * n + j] = b.data[p * b.rs + j * b.cs];
                }
            }
            return Self {
                k,
                n,
                data: Vec::new(),
                plain: Some((dense, k, n)),
            };
        }
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
        Self {
            k,
            n,
            data,
            plain: None,
        }
    }

    /// Rows k.
    pub fn rows(&self) -> usize {
        self.k
    }

    /// Columns n.
    pub fn cols(&self) -> usize {
        self.n
    }

    /// The packed panel `jp` of the k-block starting at row `p0`.
    fn panel(&self, p0: usize, jp: usize) -> &[f32] {
        let panels = self.n.div_ceil(NR);
        let kc = KC.min(self.k - p0);
        let start = (p0 / KC) * KC * panels * NR + jp * kc * NR;
        &self.data[start..start + kc * NR]
    }
}

/// A raw pointer to C shared by threads that write disjoint rows.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: each thread writes only the rows of its own range (see `matmul_packed`).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut f32 {
        self.0
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
    assert_eq!(a.cols, b.k, "inner dimensions");
    let (m, k, n) = (a.rows, b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        offset + (m - 1) * out_rs + n <= out.len(),
        "output out of bounds"
    );
    assert!(out_rs >= n, "output rows overlap");
    if m > 0 && k > 0 {
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
    if let Some((dense, _, _)) = &b.plain {
        let bv = View::dense(dense, k, n);
        super::dense::gemm_crate(out, offset, out_rs, a, bv, acc, threads);
        return;
    }
    let c = OutPtr(out[offset..].as_mut_ptr());
    let run = |rows: Range<usize>| {
        // SAFETY: `rows` are this call's own rows of C, in bounds (checked above).
        unsafe { rows_product(c.get(), out_rs, a, b, rows, acc) };
    };
    // Split rows among threads in whole panels when there are enough of them.
    let panels = m.div_ceil(MR);
    let parts = threads.min(panels).max(1);
    if parts == 1 {
        run(0..m);
    } else {
        let per = panels.div_ceil(parts) * MR;
        (0..parts)
            .into_par_iter()
            .map(|t| t * per..((t + 1) * per).min(m))
            .filter(|r| !r.is_empty())
            .for_each(run);
    }
}

/// out = (acc ? out : 0) + a b for any strides; packs b first.
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
    if !avx512() {
        super::dense::gemm_crate(out, offset, out_rs, a, b, acc, threads);
        return;
    }
    matmul_packed(out, offset, out_rs, a, &PackedB::new(b), acc, threads);
}

/// C rows `rows` (C at `c`, rows `ldc` apart) = (acc ? C : 0) + A[rows] B.
///
/// # Safety
/// C must be writable for every row in `rows` and `b.n` columns, and no other thread may
/// touch those rows meanwhile.
unsafe fn rows_product(
    c: *mut f32,
    ldc: usize,
    a: View,
    b: &PackedB,
    rows: Range<usize>,
    acc: bool,
) {
    let (k, n) = (b.k, b.n);
    let panels = n.div_ceil(NR);
    let mut apack = vec![0.0f32; MC * KC];
    for i0 in rows.clone().step_by(MC) {
        let mc = MC.min(rows.end - i0);
        for (pc, p0) in (0..k).step_by(KC).enumerate() {
            let kc = KC.min(k - p0);
            // Pack A[i0..i0+mc, p0..p0+kc] into panels of MR rows: [panel][p][MR].
            for ip in 0..mc.div_ceil(MR) {
                let panel = &mut apack[ip * kc * MR..(ip + 1) * kc * MR];
                pack_a(panel, a, i0 + ip * MR, MR.min(mc - ip * MR), p0, kc);
            }
            let overwrite = pc == 0 && !acc;
            for jp in 0..panels {
                let bp = b.panel(p0, jp);
                let cols = NR.min(n - jp * NR);
                for ip in 0..mc.div_ceil(MR) {
                    let r = MR.min(mc - ip * MR);
                    let ap = &apack[ip * kc * MR..(ip + 1) * kc * MR];
                    let cp = c.add((i0 + ip * MR) * ldc + jp * NR);
                    kernel_dispatch(r, cols, kc, ap, bp, cp, ldc, overwrite);
                }
            }
        }
    }
}

/// Packs rows `i0..i0 + r` (r <= MR) and columns `p0..p0 + kc` of `a` into `panel` as
/// [kc][MR], zero-padding rows r..MR. Contiguous rows or contiguous columns take fast paths.
fn pack_a(panel: &mut [f32], a: View, i0: usize, r: usize, p0: usize, kc: usize) {
    let panel = &mut panel[..kc * MR];
    if r < MR {
        panel.fill(0.0);
    }
    if a.rs == 1 {
        // Columns contiguous (a transposed matrix): each step p copies r neighbours.
        for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
            let src = i0 + (p0 + p) * a.cs;
            dst[..r].copy_from_slice(&a.data[src..src + r]);
        }
    } else if a.cs == 1 {
        // Rows contiguous: transpose each row's slice into the panel.
        for i in 0..r {
            let src = (i0 + i) * a.rs + p0;
            for (p, &v) in a.data[src..src + kc].iter().enumerate() {
                panel[p * MR + i] = v;
            }
        }
    } else {
        for p in 0..kc {
            for i in 0..r {
                panel[p * MR + i] = a.data[(i0 + i) * a.rs + (p0 + p) * a.cs];
            }
        }
    }
}

/// Calls the kernel instantiated for `r` rows and the vectors `cols` columns need.
///
/// # Safety
/// As [`kernel`].
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_dispatch(
    r: usize,
    cols: usize,
    kc: usize,
    a: &[f32],
    b: &[f32],
    c: *mut f32,
    ldc: usize,
    overwrite: bool,
) {
    macro_rules! go {
        ($($r:literal),*) => {
            match (r, cols.div_ceil(16)) {
                $(
                    ($r, 1) => kernel::<$r, 1>(kc, a, b, c, ldc, cols, overwrite),
                    ($r, 2) => kernel::<$r, 2>(kc, a, b, c, ldc, cols, overwrite),
                    ($r, 3) => kernel::<$r, 3>(kc, a, b, c, ldc, cols, overwrite),
                )*
                _ => unreachable!("{r} rows, {cols} columns"),
            }
        };
    }
    go!(1, 2, 3, 4, 5, 6, 7, 8)
}

/// C[R, cols] (rows `ldc` apart) = (overwrite ? 0 : C) + A_panel B_panel over `kc` steps, with
/// the A panel [kc][MR] and the B panel [kc][NR] packed.
///
/// # Safety
/// The CPU has AVX-512F; `a` holds kc * MR and `b` kc * NR values; C is writable for R rows of
/// `cols` <= NV * 16 columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel<const R: usize, const NV: usize>(
    kc: usize,
    a: &[f32],
    b: &[f32],
    c: *mut f32,
    ldc: usize,
    cols: usize,
    overwrite: bool,
) {
    use std::arch::x86_64::*;
    debug_assert!(a.len() >= kc * MR && b.len() >= kc * NR && cols <= NV * 16);
    let mut acc = [[_mm512_setzero_ps(); NV]; R];
    let (mut ap, mut bp) = (a.as_ptr(), b.as_ptr());
    for _ in 0..kc {
        let mut bv = [_mm512_setzero_ps(); NV];
        for (j, v) in bv.iter_mut().enumerate() {
            *v = _mm512_loadu_ps(bp.add(16 * j));
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*ap.add(i));
            for (j, cv) in row.iter_mut().enumerate() {
                *cv = _mm512_fmadd_ps(av, bv[j], *cv);
            }
        }
        ap = ap.add(MR);
        bp = bp.add(NR);
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let p = c.add(i * ldc + 16 * j);
            let left = cols - 16 * j;
            let mask: __mmask16 = if left >= 16 {
                0xFFFF
            } else {
                (1u16 << left) - 1
            };
            let sum = if overwrite {
                *v
            } else {
                _mm512_add_ps(_mm512_maskz_loadu_ps(mask, p), *v)
            };
            _mm512_mask_storeu_ps(p, mask, sum);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel<const R: usize, const NV: usize>(
    _: usize,
    _: &[f32],
    _: &[f32],
    _: *mut f32,
    _: usize,
    _: usize,
    _: bool,
) {
    unreachable!("the AVX-512 kernel runs only where avx512() is true")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: View, b: View) -> Vec<f32> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                let mut s = 0.0f64;
                for p in 0..a.cols {
                    s += a.data[i * a.rs + p * a.cs] as f64 * b.data[p * b.rs + j * b.cs] as f64;
                }
                c[i * b.cols + j] = s as f32;
            }
        }
        c
    }

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.618 + seed).sin()).collect()
    }

    #[test]
    fn products_match_a_naive_loop_over_shapes_strides_and_threads() {
        // Edges in every dimension: rows not a multiple of 8, columns not of 48 or 16, depth
        // across the 256 block.
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 3, 5),
            (8, 256, 48),
            (9, 257, 49),
            (20, 300, 100),
            (3, 600, 17),
            (33, 40, 96),
        ] {
            let a = values(m * k, 0.3);
            let b = values(k * n, 1.7);
            let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect(); // [n, k]
            let want = naive(View::dense(&a, m, k), View::dense(&b, k, n));
            for threads in [1, 2, 3] {
                for bview in [View::dense(&b, k, n), View::dense(&bt, n, k).t()] {
                    // Into rows 3 wider than n at offset 2, accumulating onto ones.
                    let rs = n + 3;
                    let mut c = vec![1.0; 2 + m * rs];
                    matmul(&mut c, 2, rs, View::dense(&a, m, k), bview, true, threads);
                    let mut d = vec![0.0; m * n];
                    matmul(&mut d, 0, n, View::dense(&a, m, k), bview, false, threads);
                    for i in 0..m {
                        for j in 0..n {
                            let w = want[i * n + j];
                            let tol = 1e-4 * (1.0 + w.abs()) * (k as f32).sqrt();
                            assert!(
                                (c[2 + i * rs + j] - 1.0 - w).abs() <= tol,
                                "{m}x{k}x{n} acc"
                            );
                            assert!((d[i * n + j] - w).abs() <= tol, "{m}x{k}x{n}");
                        }
                        // The padding between rows is untouched.
                        if i + 1 < m {
                            assert_eq!(c[2 + i * rs + n], 1.0);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_fallback_path_gives_the_same_products() {
        let (m, k, n) = (37, 300, 70);
        let (a, b) = (values(m * k, 0.4), values(k * n, 0.9));
        let run = |fallback: bool, threads| {
            FORCE_FALLBACK.with(|f| f.set(fallback));
            let mut c = vec![0.0; m * n];
            let pb = PackedB::new(View::dense(&b, k, n));
            matmul_packed(&mut c, 0, n, View::dense(&a, m, k), &pb, false, threads);
            FORCE_FALLBACK.with(|f| f.set(false));
            c
        };
        let want = naive(View::dense(&a, m, k), View::dense(&b, k, n));
        for (x, y) in run(true, 2).iter().zip(&want) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
        for (x, y) in run(false, 1).iter().zip(&want) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (m, k, n) = (100, 700, 130);
        let (a, b) = (values(m * k, 0.1), values(k * n, 0.2));
        let run = |threads| {
            let mut c = vec![0.0; m * n];
            matmul(
                &mut c,
                0,
                n,
                View::dense(&a, m, k),
                View::dense(&b, k, n),
                false,
                threads,
            );
            c
        };
        assert_eq!(run(1), run(2));
        assert_eq!(run(1), run(4));
    }
}
