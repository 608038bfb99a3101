//! Figures: panels of line, dot, step and bar charts, rendered in memory and returned as PNG or
//! SVG bytes.
//!
//! Text needs a TrueType font. It is read at run time from `NEUROMOD_FONT` if set, else from
//! the usual system locations of DejaVu Sans or Liberation Sans; without one, rendering fails
//! with [`PlotError::Font`] naming the paths tried (nothing is downloaded).
//!
//! ```no_run
//! use neuromod_plots::{Figure, Format, Mark, Panel, Rgb, Series};
//!
//! let curve: Vec<(f64, f64)> = (1..=20).map(|e| (e as f64, 10.0 / e as f64)).collect();
//! let figure = Figure::single(
//!     Panel::new("Validation bound", "epoch", "nats per step")
//!         .with_integer_x()
//!         .with(Series::new("valid", Rgb::RED, Mark::Line, curve)),
//! );
//! let png: Vec<u8> = figure.render(Format::Png).unwrap(); // needs a TrueType font
//! std::fs::write("curve.png", png).unwrap();
//! ```

#![forbid(unsafe_code)]

use plotters::prelude::*;

mod draw;

use draw::{draw_err, draw_panel, ensure_font};

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

/// File format of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Format {
    /// PNG raster (the default).
    #[default]
    Png,
    /// SVG vector drawing.
    Svg,
}

impl Format {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
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
    /// Names of categories placed at x = 1, 2, ...: the x axis is labelled with them
    /// (instead of numbers) at those positions only.
    pub x_categories: Vec<String>,
    /// The x axis counts something (epochs, steps): ticks only at whole numbers, printed
    /// without decimals.
    pub x_integer: bool,
    /// The y axis counts something (keys, features): whole-number ticks only.
    pub y_integer: bool,
    /// Corner of the legend (where the data leaves room for it).
    pub legend: Corner,
    /// Extra room above the data, as a fraction of its y range (e.g. for a legend that would
    /// otherwise cover bars).
    pub y_room: f64,
}

/// A corner of a panel's plotting area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Corner {
    /// Top left (the default).
    #[default]
    UpperLeft,
    /// Top right.
    UpperRight,
    /// Bottom left.
    LowerLeft,
    /// Bottom right.
    LowerRight,
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

    /// Labels x = 1, 2, ... with `names` (see [`Panel::x_categories`]).
    pub fn with_categories(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.x_categories = names.into_iter().map(Into::into).collect();
        self
    }

    /// Whole-number x ticks (see [`Panel::x_integer`]).
    pub fn with_integer_x(mut self) -> Self {
        self.x_integer = true;
        self
    }

    /// Whole-number y ticks (see [`Panel::y_integer`]).
    pub fn with_integer_y(mut self) -> Self {
        self.y_integer = true;
        self
    }

    /// The y tick label of `y`.
    fn y_tick(&self, y: f64) -> String {
        whole_or(self.y_integer, y)
    }

    /// The x tick label of `x`: its category name, a whole number, or a number.
    fn x_tick(&self, x: f64) -> String {
        let whole = (x - x.round()).abs() < 1e-9 * x.abs().max(1.0);
        if !self.x_categories.is_empty() {
            let k = x.round() as i64;
            return match (whole, usize::try_from(k - 1)) {
                (true, Ok(i)) if i < self.x_categories.len() => self.x_categories[i].clone(),
                _ => String::new(),
            };
        }
        whole_or(self.x_integer, x)
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
        let mut xs = pad(x0, x1);
        if !self.x_categories.is_empty() {
            // Every category gets its slot, with or without data.
            let n = self.x_categories.len() as f64;
            xs = (xs.0.min(0.5), xs.1.max(n + 0.5));
        }
        let ys = pad(y0, y1);
        let ys = (ys.0, ys.1 + self.y_room.max(0.0) * (ys.1 - ys.0));
        any.then_some((xs, ys))
    }
}

/// A tick label: a whole number without decimals (and nothing between whole numbers) when
/// `integer`, else the number as plotters would print it.
fn whole_or(integer: bool, v: f64) -> String {
    if !integer {
        return format!("{v}");
    }
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) {
        format!("{}", v.round() as i64)
    } else {
        String::new()
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

    /// Draws the figure in `format`: PNG or SVG bytes.
    pub fn render(&self, format: Format) -> Result<Vec<u8>, PlotError> {
        match format {
            Format::Png => self.to_png(),
            Format::Svg => self.to_svg().map(String::into_bytes),
        }
    }

    /// Draws every panel on `root`.
    fn draw_on<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(draw_err)?;
        let cols = self.columns.clamp(1, self.panels.len().max(1));
        let rows = self.panels.len().div_ceil(cols).max(1);
        let areas = root.split_evenly((rows, cols));
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            draw_panel(panel, area)?;
        }
        root.present().map_err(draw_err)
    }

    /// Draws the figure as an SVG document (text as text, at the same pixel size as the PNG).
    pub fn to_svg(&self) -> Result<String, PlotError> {
        ensure_font()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size()).into_drawing_area();
            self.draw_on(&root)?;
        }
        Ok(svg)
    }

    /// Draws the figure and returns it as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>, PlotError> {
        ensure_font()?;
        let (w, h) = self.size();
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            self.draw_on(&root)?;
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

#[cfg(test)]
mod tests;
