//! Reversal points and asymmetries measured from recorded responses, as experimenters do.

use crate::Simulation;

/// Mean recorded outcome response per cell and reward magnitude.
#[derive(Debug, Clone, PartialEq)]
pub struct TuningCurves {
    /// Reward magnitudes, ascending.
    pub magnitudes: Vec<f64>,
    /// `mean[i][m]`: mean response of cell i to magnitude m (NaN if never delivered).
    pub mean: Vec<Vec<f64>>,
}

impl TuningCurves {
    /// Averages the recorded responses whose index satisfies `keep` (e.g. one half of the
    /// trials, so reversal points and asymmetries come from independent data).
    pub fn from_simulation(sim: &Simulation, keep: impl Fn(usize) -> bool) -> Self {
        let mut magnitudes: Vec<f64> = sim.responses.iter().map(|(r, _)| *r).collect();
        magnitudes.sort_by(f64::total_cmp);
        magnitudes.dedup();
        let n = sim.value.len();
        let mut sum = vec![vec![0.0; magnitudes.len()]; n];
        let mut count = vec![0usize; magnitudes.len()];
        for (k, (r, fire)) in sim.responses.iter().enumerate() {
            if !keep(k) {
                continue;
            }
            let m = magnitudes.partition_point(|x| x < r);
            count[m] += 1;
            for (i, f) in fire.iter().enumerate() {
                sum[i][m] += f;
            }
        }
        let mean = sum
            .into_iter()
            .map(|row| {
                row.iter()
                    .zip(&count)
                    .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
                    .collect()
            })
            .collect();
        Self { magnitudes, mean }
    }

    /// Each cell's reversal point.
    pub fn reversal_points(&self) -> Vec<f64> {
        self.mean
            .iter()
            .map(|row| reversal_point(&self.magnitudes, row))
            .collect()
    }

    /// Each cell's asymmetry a+ / (a+ + a-), from the slopes of its tuning curve above and
    /// below its own reversal point (least squares through the reversal point).
    pub fn asymmetries(&self) -> Vec<f64> {
        self.mean
            .iter()
            .map(|row| {
                let theta = reversal_point(&self.magnitudes, row);
                let slope = |above: bool| {
                    let (mut num, mut den) = (0.0, 0.0);
                    for (m, y) in self.magnitudes.iter().zip(row) {
                        let d = m - theta;
                        if y.is_finite() && (d > 0.0) == above && d != 0.0 {
                            num += d * y;
                            den += d * d;
                        }
                    }
                    if den > 0.0 {
                        (num / den).max(0.0)
                    } else {
                        f64::NAN
                    }
                };
                let (up, down) = (slope(true), slope(false));
                up / (up + down)
            })
            .collect()
    }
}

/// Zero crossing of `response` over ascending `magnitudes` by linear interpolation between the
/// two magnitudes where the sign changes (first change from negative to positive); extrapolated
/// from the nearest two points when the response never changes sign.
pub fn reversal_point(magnitudes: &[f64], response: &[f64]) -> f64 {
    let pts: Vec<(f64, f64)> = magnitudes
        .iter()
        .zip(response)
        .filter(|(_, y)| y.is_finite())
        .map(|(&m, &y)| (m, y))
        .collect();
    if pts.len() < 2 {
        return pts.first().map_or(f64::NAN, |p| p.0);
    }
    let cross = |(m0, y0): (f64, f64), (m1, y1): (f64, f64)| m0 - y0 * (m1 - m0) / (y1 - y0);
    if let Some(w) = pts.windows(2).find(|w| w[0].1 <= 0.0 && w[1].1 > 0.0) {
        return cross(w[0], w[1]);
    }
    let (a, b) = if pts[0].1 > 0.0 {
        (pts[0], pts[1])
    } else {
        (pts[pts.len() - 2], pts[pts.len() - 1])
    };
    if a.1 == b.1 {
        return a.0;
    }
    cross(a, b)
}

/// Spearman rank correlation (average ranks for ties); NaN when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut s = 0;
        while s < idx.len() {
            let mut e = s;
            while e + 1 < idx.len() && v[idx[e + 1]] == v[idx[s]] {
                e += 1;
            }
            for &k in &idx[s..=e] {
                r[k] = (s + e) as f64 / 2.0;
            }
            s = e + 1;
        }
        r
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}
