//! PNG figures: panels of line and dot charts, rendered in memory and returned as PNG bytes.
//!
//! Text needs a TrueType font. It is read at run time from `NEUROMOD_FONT` if set, else from
//! the usual system locations of DejaVu Sans or Liberation Sans; without one, rendering fails
//! with [`PlotError::Font`] naming the paths tried (nothing is downloaded).

use std::path::PathBuf;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// No usable font was found.
    #[error("no TrueType font for figure text (set NEUROMOD_FONT to a .ttf file); tried: {0}")]
    Font(String),
    /// A panel had nothing to draw or non-finite values only.
    #[error("panel `{0}`: no finite points to draw")]
    Empty(String),
    /// plotters failed while drawing.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
}

/// A colour as 8-bit RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Warm red, used for optimistic cells.
    pub const RED: Rgb = Rgb(214, 39, 40);
    /// Blue, used for pessimistic cells.
    pub const BLUE: Rgb = Rgb(31, 119, 180);
    /// Neutral grey, used for references.
    pub const GREY: Rgb = Rgb(127, 127, 127);
    /// Black.
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    /// Green.
    pub const GREEN: Rgb = Rgb(44, 160, 44);
    /// Orange.
    pub const ORANGE: Rgb = Rgb(255, 127, 14);
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Straight segments between consecutive points.
    Line,
    /// Filled circles.
    Dots,
    /// A step function (value held until the next x), as for a CDF.
    Steps,
    /// A filled bar from 0 to y at each x, `bar_width` wide (0: 0.8).
    Bars,
}

/// One set of points in a panel.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry; `None` keeps the series out of the legend.
    pub label: Option<String>,
    /// Colour.
    pub color: Rgb,
    /// How to draw it.
    pub mark: Mark,
    /// (x, y) points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series with a legend entry.
    pub fn new(label: impl Into<String>, color: Rgb, mark: Mark, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: Some(label.into()),
            color,
            mark,
            points,
        }
    }

    /// A series without a legend entry.
    pub fn unlabelled(color: Rgb, mark: Mark, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: None,
            color,
            mark,
            points,
        }
    }
}

/// A grid of cells drawn as shaded rectangles (e.g. a piano roll): cell (i, j) covers
/// x in [i, i + 1) and y in [j, j + 1); darker is larger, white is zero or below.
#[derive(Debug, Clone, Default)]
pub struct Raster {
    /// Columns (x extent).
    pub width: usize,
    /// Rows (y extent).
    pub height: usize,
    /// Values, `values[i * height + j]` for column i, row j.
    pub values: Vec<f64>,
}

/// One chart: axes, labels and series.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// What to draw, in order (later series on top).
    pub series: Vec<Series>,
    /// Draw the line y = 0.
    pub zero_line: bool,
    /// Shaded cells under the series.
    pub raster: Option<Raster>,
    /// Width of [`Mark::Bars`] bars in x units (0: 0.8).
    pub bar_width: f64,
}

impl Panel {
    /// An empty panel with a title and axis labels.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Self::default()
        }
    }

    /// Adds a series.
    pub fn with(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Bar width in use.
    fn bar_width(&self) -> f64 {
        if self.bar_width > 0.0 {
            self.bar_width
        } else {
            0.8
        }
    }

    /// Finite data bounds with a 5% margin (a flat range is widened by 1).
    fn bounds(&self) -> Option<((f64, f64), (f64, f64))> {
        let pts = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        let mut any = false;
        if let Some(r) = self.raster.as_ref().filter(|r| r.width > 0 && r.height > 0) {
            any = true;
            (x0, x1, y0, y1) = (0.0, r.width as f64, 0.0, r.height as f64);
        }
        for &(x, y) in pts {
            any = true;
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if self.series.iter().any(|s| s.mark == Mark::Bars) && any {
            let half = self.bar_width() / 2.0;
            (x0, x1, y0, y1) = (x0 - half, x1 + half, y0.min(0.0), y1.max(0.0));
        }
        if self.zero_line && any {
            (y0, y1) = (y0.min(0.0), y1.max(0.0));
        }
        let pad = |a: f64, b: f64| {
            if b - a < 1e-12 {
                (a - 1.0, b + 1.0)
            } else {
                let m = 0.05 * (b - a);
                (a - m, b + m)
            }
        };
        any.then(|| (pad(x0, x1), pad(y0, y1)))
    }
}

/// A figure: panels on a grid of `columns` columns, each `panel_size` pixels.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The charts, filled row by row.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// Width and height of one panel in pixels.
    pub panel_size: (u32, u32),
}

impl Figure {
    /// One panel of 800 x 560 pixels.
    pub fn single(panel: Panel) -> Self {
        Self {
            panels: vec![panel],
            columns: 1,
            panel_size: (800, 560),
        }
    }

    /// Pixel size of the whole figure.
    pub fn size(&self) -> (u32, u32) {
        let cols = self.columns.clamp(1, self.panels.len().max(1));
        let rows = self.panels.len().div_ceil(cols).max(1);
        (
            self.panel_size.0 * cols as u32,
            self.panel_size.1 * rows as u32,
        )
    }

    /// Draws the figure and returns it as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>, PlotError> {
        ensure_font()?;
        let (w, h) = self.size();
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(draw_err)?;
            let cols = self.columns.clamp(1, self.panels.len().max(1));
            let rows = self.panels.len().div_ceil(cols).max(1);
            let areas = root.split_evenly((rows, cols));
            for (panel, area) in self.panels.iter().zip(areas.iter()) {
                draw_panel(panel, area)?;
            }
            root.present().map_err(draw_err)?;
        }
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&rgb)?;
        writer.finish()?;
        Ok(out)
    }
}

fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

fn color(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn draw_panel<DB: DrawingBackend>(
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
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
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
            drawn
                .label(label.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 16, y + 4)], c.filled()));
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::UpperLeft)
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
fn ensure_font() -> Result<(), PlotError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes PNG bytes to (width, height, RGB pixels).
    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    fn count(rgb: &[u8], c: Rgb) -> usize {
        rgb.chunks(3).filter(|p| p == &[c.0, c.1, c.2]).count()
    }

    #[test]
    fn panels_are_drawn_in_their_colours_and_grid() {
        let red = Panel::new("red line", "x", "y").with(Series::new(
            "a",
            Rgb::RED,
            Mark::Line,
            (0..50).map(|i| (i as f64, (i as f64).sin())).collect(),
        ));
        let blue = Panel::new("blue dots", "x", "y").with(Series::unlabelled(
            Rgb::BLUE,
            Mark::Dots,
            vec![(0.0, 0.0), (1.0, 1.0), (f64::NAN, 2.0)],
        ));
        let fig = Figure {
            panels: vec![red, blue],
            columns: 2,
            panel_size: (300, 200),
        };
        let (w, h, rgb) = decode(&fig.to_png().unwrap());
        assert_eq!((w, h), (600, 200));
        // Red only in the left half, blue only in the right half.
        let half = |left: bool| -> Vec<u8> {
            rgb.chunks(3 * w as usize)
                .flat_map(|row| {
                    let (l, r) = row.split_at(3 * (w as usize / 2));
                    if left {
                        l.to_vec()
                    } else {
                        r.to_vec()
                    }
                })
                .collect()
        };
        assert!(count(&half(true), Rgb::RED) > 100);
        assert_eq!(count(&half(false), Rgb::RED), 0);
        assert!(count(&half(false), Rgb::BLUE) > 20);
        assert_eq!(count(&half(true), Rgb::BLUE), 0);
    }

    #[test]
    fn raster_cells_are_shaded_by_value() {
        // 2 columns x 2 rows: only cell (1, 0) is on, at full value: one black block.
        let mut p = Panel::new("roll", "t", "key");
        p.raster = Some(Raster {
            width: 2,
            height: 2,
            values: vec![0.0, 0.0, 1.0, 0.0],
        });
        let fig = Figure {
            panels: vec![p],
            columns: 1,
            panel_size: (300, 300),
        };
        let (w, _, rgb) = decode(&fig.to_png().unwrap());
        let black: Vec<(usize, usize)> = rgb
            .chunks(3)
            .enumerate()
            .filter(|(_, p)| p == &[0, 0, 0])
            .map(|(k, _)| (k % w as usize, k / w as usize))
            .collect();
        // The block (not the axes) is a large solid area in the right half, lower half.
        let block = black
            .iter()
            .filter(|(x, y)| *x > 170 && *y > 140 && *y < 250)
            .count();
        assert!(block > 2000, "{block} black pixels in the lit cell");
        let left = black
            .iter()
            .filter(|(x, y)| *x > 90 && *x < 150 && *y < 250)
            .count();
        assert!(left < 200, "{left} black pixels where cells are off");
    }

    #[test]
    fn bars_fill_from_zero_in_proportion_to_their_value() {
        // Two bars, heights 1 and 3: the green one has three times the red one's area.
        let p = Panel::new("bars", "x", "y")
            .with(Series::new("a", Rgb::RED, Mark::Bars, vec![(1.0, 1.0)]))
            .with(Series::new("b", Rgb::GREEN, Mark::Bars, vec![(2.0, 3.0)]));
        let (_, _, rgb) = decode(
            &Figure {
                panels: vec![p],
                columns: 1,
                panel_size: (400, 400),
            }
            .to_png()
            .unwrap(),
        );
        // Less the small legend swatches (16 x 8 pixels each).
        let (red, green) = (
            count(&rgb, Rgb::RED) as f64 - 136.0,
            count(&rgb, Rgb::GREEN) as f64 - 136.0,
        );
        assert!(red > 1000.0, "{red} red pixels");
        assert!(
            (green / red - 3.0).abs() < 0.15,
            "green/red area {}",
            green / red
        );
    }

    #[test]
    fn a_panel_without_finite_points_is_an_error() {
        let p = Panel::new("nothing", "x", "y").with(Series::unlabelled(
            Rgb::RED,
            Mark::Line,
            vec![(f64::NAN, 1.0)],
        ));
        let err = Figure::single(p).to_png().unwrap_err();
        assert!(err.to_string().contains("nothing"), "{err}");
    }
}
