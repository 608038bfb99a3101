//! The reward task's decoding-against-noise sweep: how far the distribution decoded from
//! measured reversal points and asymmetries lies from the truth as firing noise grows, beside
//! decoding from the cells' internal values (which noise cannot reach) and a Gaussian of the
//! true mean and variance (which knows nothing of the shape).

use std::fmt::Write as _;

use neuromod_dopamine::{
    decode_measured, simulate, wasserstein1, Cells, RewardDistribution, Rule, TrialConfig,
};
use neuromod_plots::{Figure, Mark, Panel, Rgb, Series};

/// One noise level's result.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NoisePoint {
    /// Firing-noise standard deviation.
    pub noise: f64,
    /// W1 of the decoded distribution (None: no asymmetry measurable).
    pub w1: Option<f64>,
    /// Cells whose reversal point and asymmetry were both measurable.
    pub used: usize,
}

/// Simulates, measures and decodes at every noise level (same seed and trials as `cfg`).
pub fn sweep(
    levels: &[f64],
    (cells, dist, rule): (&Cells, &RewardDistribution, Rule),
    cfg: &TrialConfig,
) -> Vec<NoisePoint> {
    levels
        .iter()
        .map(|&noise| {
            let sim = simulate(
                cells,
                dist,
                rule,
                &TrialConfig {
                    noise,
                    ..cfg.clone()
                },
            );
            let m = decode_measured(
                &sim,
                rule,
                dist.range(),
                (
                    crate::dopamine::DECODE.0,
                    crate::dopamine::DECODE.1,
                    cfg.seed,
                ),
            );
            NoisePoint {
                noise,
                w1: (!m.decoded.samples.is_empty()).then(|| wasserstein1(&m.decoded.samples, dist)),
                used: m.used,
            }
        })
        .collect()
}

/// noise.csv: noise, w1_measured (empty when not measurable), measured_cells.
pub fn csv(points: &[NoisePoint]) -> String {
    let mut s = String::from("noise,w1_measured,measured_cells\n");
    for p in points {
        let w = p.w1.map_or(String::new(), |w| w.to_string());
        let _ = writeln!(s, "{},{w},{}", p.noise, p.used);
    }
    s
}

/// W1 against noise, with the internal-value decoding and the Gaussian baseline as flat lines;
/// None when no level had a measurable asymmetry.
pub fn figure(points: &[NoisePoint], w1_internal: f64, w1_gaussian: f64) -> Option<Figure> {
    let measured: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| p.w1.map(|w| (p.noise, w)))
        .collect();
    if measured.is_empty() {
        return None;
    }
    let (lo, hi) = measured
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let span = |y: f64| vec![(lo, y), (hi, y)];
    Some(Figure::single(
        Panel::new(
            "Decoding from measured reversal points and asymmetries vs firing noise",
            "firing noise (standard deviation)",
            "W1 to the true distribution",
        )
        .with(Series::new(
            "decoded from measurements",
            Rgb::ORANGE,
            Mark::Line,
            measured.clone(),
        ))
        .with(Series::unlabelled(Rgb::ORANGE, Mark::Dots, measured))
        .with(Series::new(
            "decoded from internal values (no noise reaches them)",
            Rgb::GREY,
            Mark::Line,
            span(w1_internal),
        ))
        .with(Series::new(
            "Gaussian of the true mean and variance",
            Rgb::BLACK,
            Mark::Line,
            span(w1_gaussian),
        )),
    ))
}
