//! Host building blocks: strided matrix views, the `gemm` crate's product (the fallback of
//! the `gemm` module), and the elementwise pieces of dense layers.

use gemm::Parallelism;

/// A read-only strided matrix view: element (i, j) at `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// The values (element (0, 0) first).
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows.
    pub rs: usize,
    /// Distance between columns.
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major block of `rows` rows, `cols` wide, rows `rs` apart, starting at `offset`.
    pub fn rows(data: &'a [f32], offset: usize, rows: usize, cols: usize, rs: usize) -> Self {
        Self {
            data: &data[offset..],
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    /// A dense row-major matrix.
    pub fn dense(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::rows(data, 0, rows, cols, cols)
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// out[m, n] (rows `out_rs` apart, from `offset`) = (acc ? out : 0) + a[m, k] b[k, n] with the
/// `gemm` crate: the fallback of `gemm::matmul` on CPUs without AVX-512. `threads` > 1
/// lets gemm split the product over the rayon pool.
pub fn gemm_crate(
    out: &mut [f32],
    offset: usize,
    out_rs: usize,
    a: View,
    b: View,
    acc: bool,
    threads: usize,
) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !acc {
            for i in 0..m {
                out[offset + i * out_rs..offset + i * out_rs + n].fill(0.0);
            }
        }
        return;
    }
    a.check();
    b.check();
    assert!(
        offset + (m - 1) * out_rs + n <= out.len(),
        "output out of bounds"
    );
    let par = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: every index gemm touches lies inside the slices (checked above), and `out` does
    // not alias `a` or `b` (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr().add(offset),
            1,
            out_rs as isize,
            acc,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// Adds `bias` to each of `rows` rows of width `bias.len()` (rows `rs` apart, from `offset`).
pub fn add_bias(out: &mut [f32], offset: usize, rows: usize, rs: usize, bias: &[f32]) {
    for i in 0..rows {
        let row = &mut out[offset + i * rs..offset + i * rs + bias.len()];
        for (o, b) in row.iter_mut().zip(bias) {
            *o += b;
        }
    }
}

/// Column sums of a row-major view (unit column stride) added into `acc`: partial sums over
/// blocks of rows in parallel, added in block order (the same order every run).
pub fn add_col_sums(acc: &mut [f32], m: View) {
    use rayon::prelude::*;
    assert_eq!(m.cols, acc.len());
    assert!(m.cs == 1 || m.rows == 0, "column sums read rows");
    const BLOCK: usize = 256;
    let w = m.cols;
    let partial: Vec<Vec<f32>> = (0..m.rows.div_ceil(BLOCK))
        .into_par_iter()
        .map(|blk| {
            let mut sum = vec![0.0f32; w];
            for i in blk * BLOCK..((blk + 1) * BLOCK).min(m.rows) {
                let row = &m.data[i * m.rs..i * m.rs + w];
                for (s, v) in sum.iter_mut().zip(row) {
                    *s += v;
                }
            }
            sum
        })
        .collect();
    for p in partial {
        for (a, v) in acc.iter_mut().zip(p) {
            *a += v;
        }
    }
}

/// ReLU in place over `rows` rows of width `w` (rows `rs` apart, from `offset`).
pub fn relu_rows(out: &mut [f32], offset: usize, rows: usize, w: usize, rs: usize) {
    for i in 0..rows {
        for v in &mut out[offset + i * rs..offset + i * rs + w] {
            *v = v.max(0.0);
        }
    }
}

/// log(1 + e^x) without overflow.
#[inline]
pub fn softplus(x: f32) -> f32 {
    if x > 15.0 {
        x + (-x).exp()
    } else {
        x.exp().ln_1p()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn strided_products_match_a_naive_loop() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let want = naive(&a, &b, m, k, n);
        // Plain, then into rows 5 apart at offset 2, accumulating onto ones.
        let mut c = vec![0.0; m * n];
        gemm_crate(
            &mut c,
            0,
            n,
            View::dense(&a, m, k),
            View::dense(&b, k, n),
            false,
            1,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
        let mut c = vec![1.0; 2 + m * 5];
        gemm_crate(
            &mut c,
            2,
            5,
            View::dense(&a, m, k),
            View::dense(&b, k, n),
            true,
            2,
        );
        for i in 0..m {
            for j in 0..n {
                assert!((c[2 + i * 5 + j] - 1.0 - want[i * n + j]).abs() < 1e-5);
            }
        }
        // Transposed operands: (b^T a^T)^T = a b.
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect(); // [k, m]
        let mut c = vec![0.0; m * n];
        gemm_crate(
            &mut c,
            0,
            n,
            View::dense(&at, k, m).t(),
            View::dense(&b, k, n),
            false,
            1,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
    }

    #[test]
    fn softplus_is_stable_and_sigmoid_is_its_slope() {
        use crate::activation::sigmoid;
        assert!((softplus(0.0) - std::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(softplus(100.0), 100.0);
        assert!(softplus(-100.0) >= 0.0 && softplus(-100.0) < 1e-30);
        let x = 0.3f32;
        let slope = (softplus(x + 1e-3) - softplus(x - 1e-3)) / 2e-3;
        assert!((slope - sigmoid(x)).abs() < 1e-3);
    }
}
