//! The report's plots: PNG files of two panels side by side (throughput, p99 latency) against
//! one x axis, drawn with plotters. Text needs a TrueType font, read at run time (plotters'
//! `ab_glyph` feature, so no fontconfig or freetype): `$RAMPART_BENCH_FONT`, else DejaVu Sans
//! or any `.ttf` under `/usr/share/fonts`. Without one, the plots are drawn without any text.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

/// One line of points in a panel.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Line and marker colour.
    pub color: RGBColor,
    /// Triangles instead of circles as markers.
    pub triangles: bool,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// One panel: a y axis and its series.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The panel's caption.
    pub title: String,
    /// The y axis description, with its unit.
    pub y_label: String,
    /// A logarithmic y axis (for latencies spanning decades); else linear from 0.
    pub log_y: bool,
    /// The lines.
    pub series: Vec<Series>,
}

/// The x axis shared by both panels.
#[derive(Debug, Clone)]
pub struct XAxis {
    /// Its description, with its unit.
    pub label: String,
    /// The values to mark (the ones measured).
    pub ticks: Vec<f64>,
    /// Place values by their base-2 logarithm (for client counts 1, 2, 4, ...).
    pub log2: bool,
}

/// Whether text can be drawn: a font was found and registered (once per process).
pub fn font() -> Option<&'static Path> {
    static FONT: OnceLock<Option<PathBuf>> = OnceLock::new();
    FONT.get_or_init(|| {
        let path = find_font()?;
        let bytes: &'static [u8] = Box::leak(std::fs::read(&path).ok()?.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).ok()?;
        Some(path)
    })
    .as_deref()
}

fn find_font() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RAMPART_BENCH_FONT") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let preferred = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ];
    if let Some(p) = preferred.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return Some(p);
    }
    let mut stack = vec![PathBuf::from("/usr/share/fonts")];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ttf")) {
                found.push(p);
            }
        }
    }
    found.sort();
    found.into_iter().next()
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draws `panels` side by side under `title` into the PNG at `path`; `subtitle` is a
/// smaller line under the title (the run's conditions).
pub fn two_panels(
    path: &Path,
    title: &str,
    subtitle: &str,
    x: &XAxis,
    panels: &[Panel],
) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let text = font().is_some();
    let root = BitMapBackend::new(path, (1500, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let body = if text {
        let (top, body) = root.split_vertically(78);
        top.draw(&Text::new(
            title.to_string(),
            (20, 12),
            ("sans-serif", 28).into_font().color(&BLACK),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            subtitle.to_string(),
            (20, 48),
            ("sans-serif", 18).into_font().color(&RGBColor(80, 80, 80)),
        ))
        .map_err(err)?;
        body
    } else {
        root.clone()
    };
    let areas = body.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, x, panel, text)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    x: &XAxis,
    panel: &Panel,
    text: bool,
) -> Result<(), String> {
    let fx = |v: f64| if x.log2 { v.log2() } else { v };
    let xs: Vec<f64> = x.ticks.iter().map(|&v| fx(v)).collect();
    let (x_lo, x_hi) = bounds(&xs);
    let pad = ((x_hi - x_lo) * 0.06).max(0.3);
    let x_range = (x_lo - pad)..(x_hi + pad);
    let ys: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|y| y.is_finite() && *y > 0.0)
        .collect();
    let (y_lo, y_hi) = if ys.is_empty() {
        (1.0, 10.0)
    } else {
        bounds(&ys)
    };
    let ticks = x.ticks.clone();
    let log2 = x.log2;
    let x_fmt = move |v: &f64| {
        // Only the measured values get a label.
        ticks
            .iter()
            .find(|&&t| ((if log2 { t.log2() } else { t }) - v).abs() < 1e-6)
            .map(|t| format!("{t}"))
            .unwrap_or_default()
    };
    let mut builder = ChartBuilder::on(area);
    builder.margin(16).margin_right(28);
    if text {
        builder
            .caption(&panel.title, ("sans-serif", 22))
            .x_label_area_size(58)
            .y_label_area_size(84);
    } else {
        builder.x_label_area_size(4).y_label_area_size(4);
    }
    // Enough key points that every measured value is one (labels go on those only).
    let x_labels = (((x_hi - x_lo) * 2.0).round() as usize + 3).max(4);
    if panel.log_y {
        // Whole decades (plotters marks a log axis from its first power of ten), with room
        // above the data for the legend.
        let lo = 10f64.powf(y_lo.max(1e-3).log10().floor());
        let hi = 10f64.powf((y_hi * 5.0).log10().ceil());
        let y_range = (lo..hi).log_scale();
        let mut chart = builder
            .build_cartesian_2d(x_range.clone(), y_range)
            .map_err(err)?;
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(RGBColor(240, 240, 240))
            .max_light_lines(1)
            .bold_line_style(RGBColor(215, 215, 215));
        if text {
            mesh.x_desc(&x.label)
                .y_desc(&panel.y_label)
                .x_labels(x_labels)
                .x_label_formatter(&x_fmt)
                .y_labels(30)
                .y_label_formatter(&|v| {
                    if one_two_five(*v) {
                        trim(*v)
                    } else {
                        String::new()
                    }
                })
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 18));
        } else {
            // The axes' label areas measure text even when empty: no mesh at all, a frame.
            mesh.disable_mesh().disable_axes();
        }
        if text {
            mesh.draw().map_err(err)?;
        } else {
            frame(&chart)?;
        }
        draw_series(&mut chart, panel, fx, text)?;
    } else {
        // Room above the data for the legend.
        let y_range = 0.0..(y_hi * 1.45);
        let mut chart = builder
            .build_cartesian_2d(x_range.clone(), y_range)
            .map_err(err)?;
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(RGBColor(240, 240, 240))
            .max_light_lines(1)
            .bold_line_style(RGBColor(215, 215, 215));
        if text {
            mesh.x_desc(&x.label)
                .y_desc(&panel.y_label)
                .x_labels(x_labels)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&|v| trim(*v))
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 18));
        } else {
            // The axes' label areas measure text even when empty: no mesh at all, a frame.
            mesh.disable_mesh().disable_axes();
        }
        if text {
            mesh.draw().map_err(err)?;
        } else {
            frame(&chart)?;
        }
        draw_series(&mut chart, panel, fx, text)?;
    }
    Ok(())
}

fn draw_series<'a, X, Y>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    panel: &Panel,
    fx: impl Fn(f64) -> f64,
    text: bool,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for s in &panel.series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.1.is_finite() && p.1 > 0.0)
            .map(|&(x, y)| (fx(x), y))
            .collect();
        let color = s.color;
        let line = chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))
            .map_err(err)?;
        if text {
            line.label(s.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
        }
        if s.triangles {
            chart
                .draw_series(
                    pts.iter()
                        .map(|&p| TriangleMarker::new(p, 7, color.filled())),
                )
                .map_err(err)?;
        } else {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 5, color.filled())))
                .map_err(err)?;
        }
    }
    if text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(("sans-serif", 16))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// A plain frame round the plotting area, for plots without text.
fn frame<X: Ranged, Y: Ranged>(
    chart: &ChartContext<'_, BitMapBackend<'_>, Cartesian2d<X, Y>>,
) -> Result<(), String> {
    let area = chart.plotting_area();
    let (w, h) = area.dim_in_pixel();
    area.strip_coord_spec()
        .draw(&Rectangle::new(
            [(0, 0), (w as i32 - 1, h as i32 - 1)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)
}

fn bounds(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// Whether `v` is 1, 2 or 5 times a power of ten (the labelled lines of a log axis).
fn one_two_five(v: f64) -> bool {
    if v.is_nan() || v <= 0.0 {
        return false;
    }
    let m = v / 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().any(|x| (m - x).abs() < 1e-6)
}

/// A tick label without needless digits: 1200, 35, 2.5, 0.4.
fn trim(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}
