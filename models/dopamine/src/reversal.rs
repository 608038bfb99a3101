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
        // Cells as recorded (a critic's recording carries no internal values).
        let n = sim
            .responses
            .first()
            .map_or(sim.value.len(), |(_, f)| f.len());
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

    /// The curves from one half (0 or 1) of the recorded trials ([`Simulation::half`]).
    pub fn half(sim: &Simulation, h: usize) -> Self {
        Self::from_simulation(sim, |k| sim.half(k) == h)
    }

    /// Each cell's reversal point: the kink of its fitted tuning curve ([`kinked_fit`]).
    pub fn reversal_points(&self) -> Vec<f64> {
        self.mean
            .iter()
            .map(|row| kinked_fit(&self.magnitudes, row).theta)
            .collect()
    }

    /// Each cell's asymmetry a+ / (a+ + a-), from the slopes of its fitted tuning curve above
    /// and below the kink ([`kinked_fit`]); NaN when one side has no magnitude or both slopes
    /// are 0.
    pub fn asymmetries(&self) -> Vec<f64> {
        self.mean
            .iter()
            .map(|row| {
                let k = kinked_fit(&self.magnitudes, row);
                k.above / (k.above + k.below)
            })
            .collect()
    }
}

/// The (magnitude, response) pairs with a finite response.
fn finite_points(magnitudes: &[f64], response: &[f64]) -> Vec<(f64, f64)> {
    magnitudes
        .iter()
        .zip(response)
        .filter(|(_, y)| y.is_finite())
        .map(|(&m, &y)| (m, y))
        .collect()
}

/// A tuning curve fitted as two lines through a common zero: response = below (m - theta) for
/// m < theta and above (m - theta) for m >= theta.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kink {
    /// The reversal point.
    pub theta: f64,
    /// Slope below theta (>= 0; NaN without a magnitude below).
    pub below: f64,
    /// Slope above theta (>= 0; NaN without a magnitude above).
    pub above: f64,
}

/// Least-squares fit of [`Kink`] to a cell's mean responses over ascending `magnitudes` (NaN
/// responses skipped): for each candidate theta the two slopes are linear least squares
/// (clamped at 0), and theta minimises the squared error over the magnitudes' range (a grid,
/// then golden-section search around its best point); with only two magnitudes, the crossing
/// of the line through them and no slopes. Reversal point and slopes come from one
/// fit, so neither inherits the other's error. On noise-free responses of a cell whose
/// response is r - V scaled by its own slopes, it returns V and those slopes exactly;
/// interpolating the zero crossing between the two magnitudes around V, what the first
/// version did, lands between them by the ratio of the slopes instead.
pub fn kinked_fit(magnitudes: &[f64], response: &[f64]) -> Kink {
    let pts = finite_points(magnitudes, response);
    let nan = Kink {
        theta: f64::NAN,
        below: f64::NAN,
        above: f64::NAN,
    };
    if pts.len() < 2 {
        return nan;
    }
    if pts.len() == 2 {
        // Two magnitudes fit any kink between them exactly: the crossing of the line through
        // them is all they say, and the slopes on either side are not measurable.
        let (m, y): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        return Kink {
            theta: reversal_point(&m, &y),
            ..nan
        };
    }
    // A side whose magnitudes all lie within this of theta has no measurable slope.
    let near = 1e-6 * (pts[pts.len() - 1].0 - pts[0].0);
    let slope = |theta: f64, above: bool| -> (f64, f64) {
        let (mut num, mut den, mut far) = (0.0, 0.0, false);
        for &(m, y) in &pts {
            let d = m - theta;
            if (d >= 0.0) == above {
                num += d * y;
                den += d * d;
                far |= d.abs() > near;
            }
        }
        let b = if far && den > 0.0 {
            (num / den).max(0.0)
        } else {
            f64::NAN
        };
        (b, den)
    };
    let sse = |theta: f64| -> f64 {
        let (lo, hi) = (slope(theta, false).0, slope(theta, true).0);
        pts.iter()
            .map(|&(m, y)| {
                let b = if m >= theta { hi } else { lo };
                let pred = if b.is_finite() { b * (m - theta) } else { 0.0 };
                (y - pred).powi(2)
            })
            .sum()
    };
    let (lo, hi) = (pts[0].0, pts[pts.len() - 1].0);
    const GRID: usize = 400;
    let step = (hi - lo) / GRID as f64;
    let best = (0..=GRID)
        .map(|k| lo + step * k as f64)
        .min_by(|a, b| sse(*a).total_cmp(&sse(*b)))
        .unwrap_or(lo);
    // Golden-section search in the grid cells on either side of the best grid point.
    let (mut a, mut b) = ((best - step).max(lo), (best + step).min(hi));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let (c, d) = (b - g * (b - a), a + g * (b - a));
        if sse(c) <= sse(d) {
            b = d;
        } else {
            a = c;
        }
    }
    let theta = 0.5 * (a + b);
    if !theta.is_finite() {
        return nan;
    }
    let (below, above) = (slope(theta, false).0, slope(theta, true).0);
    Kink {
        theta,
        below,
        above,
    }
}

/// Zero crossing of `response` over ascending `magnitudes` by linear interpolation between the
/// two magnitudes where the sign changes (first change from negative to positive); extrapolated
/// from the nearest two points when the response never changes sign. Biased toward the middle
/// of the two magnitudes when the slopes on either side differ; [`kinked_fit`] is the
/// measurement the crate uses.
pub fn reversal_point(magnitudes: &[f64], response: &[f64]) -> f64 {
    let pts = finite_points(magnitudes, response);
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
