//! Figures decoded back to pixels: colours, grid, legends and axes where they belong.

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

#[test]
fn category_and_whole_number_axes_label_only_their_positions() {
    let cats = Panel::new("t", "x", "y").with_categories(["reward", "state"]);
    assert_eq!(cats.x_tick(1.0), "reward");
    assert_eq!(cats.x_tick(2.0), "state");
    assert_eq!(cats.x_tick(1.5), "");
    assert_eq!(cats.x_tick(3.0), "");
    assert_eq!(cats.x_tick(0.0), "");
    let epochs = Panel::new("t", "epoch", "y").with_integer_x();
    assert_eq!(epochs.x_tick(20.0), "20");
    assert_eq!(epochs.x_tick(2.5), "");
    assert_eq!(Panel::new("t", "x", "y").x_tick(2.5), "2.5");
    let keys = Panel::new("t", "x", "key").with_integer_y();
    assert_eq!(
        (keys.y_tick(40.0), keys.y_tick(42.5)),
        ("40".into(), String::new())
    );
    // Every category gets its slot on the axis even without data there.
    let only_first = cats.with(Series::new("a", Rgb::RED, Mark::Bars, vec![(1.0, 1.0)]));
    let ((x0, x1), _) = only_first.bounds().unwrap();
    assert!(x0 <= 0.5 && x1 >= 2.5, "{x0} .. {x1}");
}

#[test]
fn svg_holds_the_same_figure_as_vector_text() {
    let fig = Figure::single(Panel::new("an svg", "epoch", "y").with_integer_x().with(
        Series::new("train", Rgb::RED, Mark::Line, vec![(1.0, 1.0), (2.0, 3.0)]),
    ));
    let svg = String::from_utf8(fig.render(Format::Svg).unwrap()).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("width=\"800\""),
        "{}",
        &svg[..80]
    );
    assert!(svg.contains("an svg") && svg.contains("train"));
    // The series in its colour, as a vector path.
    assert!(
        svg.contains("#D62728") || svg.contains("#d62728"),
        "no red stroke"
    );
    assert_eq!(Format::Svg.extension(), "svg");
    assert!(fig.render(Format::Png).unwrap().starts_with(b"\x89PNG"));
}
