//! Linear read-outs for the vector-SPE analysis: ridge least squares (to one-hot class targets
//! or to a scalar), its cross-validated classification accuracy, and the small symmetric solve
//! they need (features are a few dozen wide, so a Cholesky factorisation is all it takes).

/// Ridge penalty of the classification read-out on the weights (not the intercept), relative
/// to the number of rows (features are standardised, so it shrinks every weight alike).
pub const RIDGE: f64 = 1e-3;

/// Solves (A) x = b in place for a symmetric positive definite A [n, n] (row-major) by
/// Cholesky; returns None when A is not positive definite.
pub fn solve_spd(a: &[f64], b: &mut [f64], n: usize) -> Option<()> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * b[k]).sum();
        b[i] = (b[i] - s) / l[i * n + i];
    }
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * b[k]).sum();
        b[i] = (b[i] - s) / l[i * n + i];
    }
    Some(())
}

/// Ridge regression of targets `y` [rows, k] on features `x` [rows, d] with an intercept and
/// penalty `penalty * rows` on the weights: weights [d + 1, k], the intercept last. None when
/// there are no rows (or the system is singular).
pub fn ridge(
    x: &[f64],
    y: &[f64],
    (rows, d, k): (usize, usize, usize),
    penalty: f64,
) -> Option<Vec<f64>> {
    if rows == 0 {
        return None;
    }
    let n = d + 1;
    let feat = |r: usize, j: usize| if j < d { x[r * d + j] } else { 1.0 };
    let mut gram = vec![0.0; n * n];
    for r in 0..rows {
        for i in 0..n {
            for j in 0..=i {
                gram[i * n + j] += feat(r, i) * feat(r, j);
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            gram[j * n + i] = gram[i * n + j];
        }
        if i < d {
            gram[i * n + i] += penalty * rows as f64;
        }
    }
    let mut w = vec![0.0; n * k];
    for c in 0..k {
        let mut rhs: Vec<f64> = (0..n)
            .map(|i| (0..rows).map(|r| feat(r, i) * y[r * k + c]).sum())
            .collect();
        solve_spd(&gram, &mut rhs, n)?;
        for i in 0..n {
            w[i * k + c] = rhs[i];
        }
    }
    Some(w)
}

/// Mean and standard deviation of each of the `d` columns of `x` [rows, d] (a constant column
/// gets an infinite sd, so it scales to 0).
fn column_stats(x: &[f64], rows: usize, d: usize) -> Vec<(f64, f64)> {
    (0..d)
        .map(|j| {
            let m = (0..rows).map(|r| x[r * d + j]).sum::<f64>() / rows as f64;
            let v = (0..rows).map(|r| (x[r * d + j] - m).powi(2)).sum::<f64>() / rows as f64;
            (m, if v > 1e-12 { v.sqrt() } else { f64::INFINITY })
        })
        .collect()
}

/// A cross-validated classification accuracy.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Accuracy {
    /// Held-out accuracy over all folds.
    pub accuracy: f64,
    /// The most frequent class's share (what always guessing it scores).
    pub chance: f64,
    /// Rows classified.
    pub rows: usize,
    /// Distinct classes.
    pub classes: usize,
}

/// A fitted read-out's score of a (standardised) row for a class: higher is more that class.
type Score = Box<dyn Fn(&[f64], usize) -> f64>;

/// How a read-out classifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readout {
    /// Ridge regression to one-hot targets, then argmax (a linear read-out).
    Linear,
    /// The class whose training mean is nearest (Euclidean, standardised features): on one
    /// feature it can give any class its own interval, where a linear read-out with argmax
    /// rarely lets a middle class win.
    NearestMean,
}

/// Cross-validated accuracy of `readout` classifying `labels` from features `x` [rows, d]:
/// `folds` folds by group (row r is in fold `groups[r] % folds`, so rows of one sequence never
/// straddle training and testing); features standardised on each fold's training rows. None
/// with fewer rows than folds or one class.
pub fn cv_accuracy(
    x: &[f64],
    (labels, groups): (&[usize], &[usize]),
    d: usize,
    folds: usize,
    readout: Readout,
) -> Option<Accuracy> {
    let rows = labels.len();
    assert_eq!(x.len(), rows * d, "features and labels disagree");
    assert_eq!(groups.len(), rows, "groups and labels disagree");
    let mut classes: Vec<usize> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    if rows < folds.max(2) || classes.len() < 2 {
        return None;
    }
    let k = classes.len();
    let class_of = |l: usize| classes.binary_search(&l).expect("a listed class");
    let mut correct = 0;
    for f in 0..folds {
        let (train, test): (Vec<usize>, Vec<usize>) =
            (0..rows).partition(|&r| groups[r] % folds != f);
        if train.is_empty() || test.is_empty() {
            continue;
        }
        // Standardise with the training rows' statistics, applied to both.
        let pick = |rows: &[usize]| -> Vec<f64> {
            rows.iter()
                .flat_map(|&r| x[r * d..(r + 1) * d].iter().copied())
                .collect()
        };
        let nt = train.len();
        let stats = column_stats(&pick(&train), nt, d);
        let scale = |v: Vec<f64>| -> Vec<f64> {
            v.chunks(d)
                .flat_map(|row| row.iter().zip(&stats).map(|(x, (m, s))| (x - m) / s))
                .collect()
        };
        let (scaled_train, scaled_test) = (scale(pick(&train)), scale(pick(&test)));
        // score(row, c): higher is more c.
        let score: Score = match readout {
            Readout::Linear => {
                let mut y = vec![0.0; nt * k];
                for (i, &r) in train.iter().enumerate() {
                    y[i * k + class_of(labels[r])] = 1.0;
                }
                let Some(w) = ridge(&scaled_train, &y, (nt, d, k), RIDGE) else {
                    continue;
                };
                Box::new(move |row, c| {
                    w[d * k + c] + (0..d).map(|j| row[j] * w[j * k + c]).sum::<f64>()
                })
            }
            Readout::NearestMean => {
                let mut means = vec![0.0; k * d];
                let mut counts = vec![0usize; k];
                for (i, &r) in train.iter().enumerate() {
                    let c = class_of(labels[r]);
                    counts[c] += 1;
                    for j in 0..d {
                        means[c * d + j] += scaled_train[i * d + j];
                    }
                }
                for c in 0..k {
                    for j in 0..d {
                        means[c * d + j] /= counts[c].max(1) as f64;
                    }
                }
                Box::new(move |row, c| {
                    if counts[c] == 0 {
                        return f64::NEG_INFINITY;
                    }
                    -(0..d)
                        .map(|j| (row[j] - means[c * d + j]).powi(2))
                        .sum::<f64>()
                })
            }
        };
        for (i, &r) in test.iter().enumerate() {
            let row = &scaled_test[i * d..(i + 1) * d];
            let best = (0..k)
                .max_by(|&a, &b| score(row, a).total_cmp(&score(row, b)))
                .expect("two or more classes");
            correct += usize::from(classes[best] == labels[r]);
        }
    }
    let most = classes
        .iter()
        .map(|&c| labels.iter().filter(|&&l| l == c).count())
        .max()
        .unwrap_or(0);
    Some(Accuracy {
        accuracy: correct as f64 / rows as f64,
        chance: most as f64 / rows as f64,
        rows,
        classes: k,
    })
}

/// Accuracies of several seeds as a report cell: the correct read-outs pooled over the seeds
/// with a Wilson 95% interval (inside [0, 1]; it covers the sampling of held-out rows, not the
/// spread between seeds, so the seeds' range follows it). "n/a" when there are none.
pub fn pooled(per: &[Accuracy]) -> String {
    let (k, n) = per.iter().fold((0, 0), |(k, n), a| {
        (
            k + (a.accuracy * a.rows as f64).round() as usize,
            n + a.rows,
        )
    });
    let (lo_s, hi_s) = per
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), a| {
            (l.min(a.accuracy), h.max(a.accuracy))
        });
    neuromod_stats::wilson(k, n).map_or("n/a".into(), |(lo, hi)| {
        let pooled = format!("{:.3} [{lo:.3}, {hi:.3}]", k as f64 / n as f64);
        match per.len() > 1 {
            true => format!("{pooled}; seeds {lo_s:.3}-{hi_s:.3}"),
            false => pooled,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn pooled_accuracies_count_rows_with_a_wilson_interval_and_the_seeds_range() {
        let a = |accuracy, rows| Accuracy {
            accuracy,
            chance: 0.25,
            rows,
            classes: 4,
        };
        // 8 of 10 and 6 of 10: 14 of 20, Wilson [0.481, 0.855] by hand.
        assert_eq!(
            pooled(&[a(0.8, 10), a(0.6, 10)]),
            "0.700 [0.481, 0.855]; seeds 0.600-0.800"
        );
        assert_eq!(pooled(&[a(0.8, 10)]), "0.800 [0.490, 0.943]");
        assert_eq!(pooled(&[]), "n/a");
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]], x = [1, -2] -> b = [0, -4].
        let mut b = vec![0.0, -4.0];
        solve_spd(&[4.0, 2.0, 2.0, 3.0], &mut b, 2).unwrap();
        assert!((b[0] - 1.0).abs() < 1e-12 && (b[1] + 2.0).abs() < 1e-12);
        assert!(solve_spd(&[1.0, 2.0, 2.0, 1.0], &mut [1.0, 1.0], 2).is_none());
    }

    #[test]
    fn ridge_recovers_a_known_affine_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (rows, d) = (200, 3);
        let x: Vec<f64> = (0..rows * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        let y: Vec<f64> = (0..rows)
            .map(|r| 2.0 * x[r * d] - 0.5 * x[r * d + 1] + 0.25 * x[r * d + 2] + 3.0)
            .collect();
        let w = ridge(&x, &y, (rows, d, 1), 1e-9).unwrap();
        for (got, want) in w.iter().zip([2.0, -0.5, 0.25, 3.0]) {
            assert!((got - want).abs() < 1e-6, "{w:?}");
        }
    }

    #[test]
    fn separable_classes_decode_perfectly_and_noise_decodes_at_chance() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (rows, d, k) = (300, 4, 6);
        let labels: Vec<usize> = (0..rows).map(|r| r % k).collect();
        // Class c sits at a corner of its own; small noise.
        let centre =
            |c: usize, j: usize| if (c >> j) & 1 == 1 { 1.0 } else { -1.0 } * (1 + c / 4) as f64;
        let x: Vec<f64> = (0..rows)
            .flat_map(|r| {
                let c = labels[r];
                (0..d).map(move |j| centre(c, j)).collect::<Vec<_>>()
            })
            .map(|v| v + rng.random_range(-0.05..0.05))
            .collect();
        let groups: Vec<usize> = (0..rows).collect();
        let a = cv_accuracy(&x, (&labels, &groups), d, 5, Readout::Linear).unwrap();
        assert_eq!((a.rows, a.classes), (rows, k));
        assert!(a.accuracy > 0.99, "{a:?}");
        // Features that say nothing about the labels decode near chance (1/6).
        let noise: Vec<f64> = (0..rows * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        let n = cv_accuracy(&noise, (&labels, &groups), d, 5, Readout::Linear).unwrap();
        assert!(n.accuracy < 0.3, "{n:?}");
        assert!((n.chance - 1.0 / 6.0).abs() < 1e-9);
        // One class, or too few rows: no answer.
        assert!(cv_accuracy(
            &x[..4 * d],
            (&[1, 1, 1, 1], &[0, 1, 2, 3]),
            d,
            2,
            Readout::Linear
        )
        .is_none());
    }

    #[test]
    fn on_one_feature_the_nearest_mean_gives_a_middle_class_its_interval() {
        // Three classes at 0, 1 and 2 on one feature: the middle class sits between the others.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let labels: Vec<usize> = (0..150).map(|r| r % 3).collect();
        let groups: Vec<usize> = (0..150).collect();
        let x: Vec<f64> = labels
            .iter()
            .map(|&c| c as f64 + rng.random_range(-0.2..0.2))
            .collect();
        let near = cv_accuracy(&x, (&labels, &groups), 1, 5, Readout::NearestMean).unwrap();
        assert!(near.accuracy > 0.99, "{near:?}");
        // Folds follow groups: one group per class puts every test row's class out of training.
        let by_class = labels.clone();
        let held = cv_accuracy(&x, (&labels, &by_class), 1, 3, Readout::NearestMean).unwrap();
        assert_eq!(held.accuracy, 0.0);
    }
}
