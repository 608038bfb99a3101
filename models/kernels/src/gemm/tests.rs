//! Products against a naive loop, the portable path against the AVX-512 one, and results
//! independent of the thread count.

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
        // The last round hides AVX-512, so `matmul` takes the portable path.
        for (threads, hide) in [(1, false), (2, false), (3, false), (2, true)] {
            avx512::HIDE_AVX512.with(|f| f.set(hide));
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
    avx512::HIDE_AVX512.with(|f| f.set(false));
}

/// Both paths, named: the portable one on every CPU, the AVX-512 one where the CPU has it (a
/// CPU without it says so on stderr and still tests the portable path).
#[test]
fn each_path_gives_the_products_of_a_naive_loop() {
    let isa = Avx512::detect();
    if isa.is_none() {
        eprintln!("this CPU has no AVX-512F: only the portable path runs here");
    }
    for &(m, k, n) in &[(37, 300, 70), (8, 256, 48), (9, 257, 49), (1, 1, 1)] {
        let (a, b) = (values(m * k, 0.4), values(k * n, 0.9));
        let want = naive(View::dense(&a, m, k), View::dense(&b, k, n));
        let bv = View::dense(&b, k, n);
        let packed = [
            Some(PackedB::dense(bv)),
            isa.map(|t| PackedB::panels(bv, t)),
        ];
        for (pb, path) in packed.iter().zip(["portable", "AVX-512"]) {
            let Some(pb) = pb else { continue };
            assert_eq!(matches!(pb, PackedB::Panels(_)), path == "AVX-512");
            for threads in [1, 2] {
                let mut c = vec![0.0; m * n];
                matmul_packed(&mut c, 0, n, View::dense(&a, m, k), pb, false, threads);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-3, "{path} {m}x{k}x{n}: {x} vs {y}");
                }
            }
        }
    }
}

#[test]
fn a_cpu_without_avx512_packs_for_the_portable_path() {
    let b = values(12, 0.5);
    avx512::HIDE_AVX512.with(|f| f.set(true));
    let packed = PackedB::new(View::dense(&b, 3, 4));
    avx512::HIDE_AVX512.with(|f| f.set(false));
    assert!(matches!(packed, PackedB::Dense { k: 3, n: 4, .. }));
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
