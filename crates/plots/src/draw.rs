//! Drawing a panel with plotters, and the font it needs.

use std::path::PathBuf;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::{Corner, Mark, Panel, PlotError, Rgb};

pub(crate) fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

fn color(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

pub(crate) fn draw_panel<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let ((x0, x1), (y0, y1)) = panel
        .bounds()
        .ok_or_else(|| PlotError::Empty(panel.title.clone()))?;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    let tick = |x: &f64| panel.x_tick(*x);
    let y_tick = |y: &f64| panel.y_tick(*y);
    let mut mesh = chart.configure_mesh();
    if !panel.x_categories.is_empty() {
        // One key point per category (at 1, 2, ...), no minor lines between them.
        mesh.x_labels(panel.x_categories.len() + 1).disable_x_mesh();
    }
    // Plain numeric axes keep plotters' own tick labels (it rounds them to the tick spacing).
    if !panel.x_categories.is_empty() || panel.x_integer {
        mesh.x_label_formatter(&tick);
    }
    if panel.y_integer {
        mesh.y_label_formatter(&y_tick);
    }
    mesh.x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_err)?;
    if let Some(r) = &panel.raster {
        let top = r
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let cells = r.values.iter().enumerate().filter_map(|(k, &v)| {
            let (i, j) = (k / r.height.max(1), k % r.height.max(1));
            (v.is_finite() && v > 0.0 && top > 0.0).then(|| {
                let shade = (255.0 * (1.0 - v / top)).round() as u8;
                let (i, j) = (i as f64, j as f64);
                Rectangle::new(
                    [(i, j), (i + 1.0, j + 1.0)],
                    RGBColor(shade, shade, shade).filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(draw_err)?;
    }
    if panel.zero_line {
        chart
            .draw_series(LineSeries::new([(x0, 0.0), (x1, 0.0)], color(Rgb::GREY)))
            .map_err(draw_err)?;
    }
    let mut legend = false;
    for s in &panel.series {
        let c = color(s.color);
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let drawn = match s.mark {
            Mark::Line => chart.draw_series(LineSeries::new(pts, c.stroke_width(2))),
            Mark::Steps => {
                let mut steps = Vec::with_capacity(2 * pts.len());
                for (i, &(x, y)) in pts.iter().enumerate() {
                    if i > 0 {
                        steps.push((x, pts[i - 1].1));
                    }
                    steps.push((x, y));
                }
                chart.draw_series(LineSeries::new(steps, c.stroke_width(2)))
            }
            Mark::Dots => {
                chart.draw_series(pts.into_iter().map(move |p| Circle::new(p, 4, c.filled())))
            }
            Mark::Bars => {
                let half = panel.bar_width() / 2.0;
                chart.draw_series(pts.into_iter().map(move |(x, y)| {
                    Rectangle::new([(x - half, 0.0), (x + half, y)], c.filled())
                }))
            }
        }
        .map_err(draw_err)?;
        if let Some(label) = &s.label {
            legend = true;
            // The legend's key looks like the series: a line for lines, a dot for dots.
            let key = s.mark;
            drawn
                .label(label.as_str())
                .legend(move |(x, y)| -> DynElement<_, _> {
                    match key {
                        Mark::Line | Mark::Steps => {
                            PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                                .into_dyn()
                        }
                        Mark::Dots => Circle::new((x + 9, y), 4, c.filled()).into_dyn(),
                        Mark::Bars => {
                            Rectangle::new([(x, y - 5), (x + 16, y + 5)], c.filled()).into_dyn()
                        }
                    }
                });
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(match panel.legend {
                Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
                Corner::UpperRight => SeriesLabelPosition::UpperRight,
                Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
                Corner::LowerRight => SeriesLabelPosition::LowerRight,
            })
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Font files tried when `NEUROMOD_FONT` is unset.
const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Loads and registers the font once per process.
pub(crate) fn ensure_font() -> Result<(), PlotError> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let candidates: Vec<PathBuf> = match std::env::var_os("NEUROMOD_FONT") {
            Some(p) => vec![PathBuf::from(p)],
            None => FONT_PATHS.iter().map(PathBuf::from).collect(),
        };
        for path in &candidates {
            if let Ok(bytes) = std::fs::read(path) {
                // Leaked once per process: plotters keeps fonts for the program's lifetime.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "))
    })
    .clone()
    .map_err(PlotError::Font)
}
