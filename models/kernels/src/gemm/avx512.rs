//! The AVX-512 microkernel and the blocked loop around it: the only `unsafe` code of the
//! matrix products. It is reachable only through [`product`], which takes [`Panels`], which
//! hold an [`Avx512`] token, which [`Avx512::detect`] gives only on a CPU with AVX-512F.

use std::ops::Range;

use rayon::prelude::*;

use super::{Panels, KC, MC, MR, NR};
use crate::dense::View;

#[cfg(test)]
thread_local! {
    /// Tests set this to see the CPU as one without AVX-512.
    pub(super) static HIDE_AVX512: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Proof that this CPU runs AVX-512F instructions: the only way to reach the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx512(());

impl Avx512 {
    /// The token where the CPU has AVX-512F (checked once per process), else None.
    pub fn detect() -> Option<Self> {
        #[cfg(test)]
        if HIDE_AVX512.with(|f| f.get()) {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
            HAS.get_or_init(|| is_x86_feature_detected!("avx512f"))
                .then_some(Avx512(()))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }
}

/// out[m, n] (rows `ldc` apart, from its first element) = (acc ? out : 0) + a[m, k] b[k, n]
/// with the rows split among `threads` threads in whole panels.
///
/// # Panics
/// When `out` or `a` is too short for the product (checked before any pointer is used).
pub(super) fn product(out: &mut [f32], ldc: usize, a: View, b: &Panels, acc: bool, threads: usize) {
    let _token: Avx512 = b.isa;
    let (m, k, n) = (a.rows, b.k, b.n);
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert_eq!(a.cols, k, "inner dimensions");
    assert!(
        ldc >= n && (m - 1) * ldc + n <= out.len(),
        "output out of bounds"
    );
    assert!(
        (m - 1) * a.rs + (k - 1) * a.cs < a.data.len(),
        "left operand out of bounds"
    );
    let c = OutPtr(out.as_mut_ptr());
    let run = |rows: Range<usize>| {
        // SAFETY: `rows` are this call's own rows of C, in bounds (checked above); the Panels
        // carry the token that proves the CPU has AVX-512F.
        unsafe { rows_product(c.get(), ldc, a, b, rows, acc) };
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

/// A raw pointer to C shared by threads that write disjoint rows.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: each thread writes only the rows of its own range (see `product`).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut f32 {
        self.0
    }
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
    b: &Panels,
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
/// As [`kernel`]; the caller holds an [`Avx512`] token.
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
    unreachable!("no Avx512 token exists off x86_64")
}
