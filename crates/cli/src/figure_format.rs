//! `--format png|svg` for every command that draws figures.

use clap::ValueEnum;
use neuromod_plots::Format;

/// File format of the figures a command writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum FigureFormat {
    /// PNG raster images.
    #[default]
    Png,
    /// SVG vector drawings (text stays text; scale without loss).
    Svg,
}

impl From<FigureFormat> for Format {
    fn from(f: FigureFormat) -> Self {
        match f {
            FigureFormat::Png => Format::Png,
            FigureFormat::Svg => Format::Svg,
        }
    }
}

/// `stem.png` or `stem.svg`.
pub fn file_name(stem: &str, format: FigureFormat) -> String {
    format!("{stem}.{}", Format::from(format).extension())
}
