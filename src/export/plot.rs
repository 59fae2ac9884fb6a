//! Charts as SVG text, drawn with plotters' SVG backend. Labels are written as SVG `<text>`
//! elements and sized by plotters' built-in estimate, so drawing reads no system font and gives
//! the same bytes on every machine.

use crate::results::histogram::Latencies;
use plotters::coord::combinators::{BindKeyPoints, IntoLogRange, LogCoord};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of a chart, and height of one panel, in SVG pixels.
const WIDTH: u32 = 900;
const PANEL_HEIGHT: u32 = 340;
/// Height of a legend line, and the space above and below the legend.
const LEGEND_LINE: u32 = 22;
const LEGEND_MARGIN: u32 = 10;

/// Curve colours, in the order labs are given: Tableau 10, chosen to stay distinct for readers
/// with the common colour-vision deficiencies.
const COLOURS: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

/// The colour of the `i`-th series.
fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// One distribution in a CDF panel: its legend label, its series (which picks its colour, so
/// one lab keeps one colour across panels) and its latencies.
pub struct Curve<'a> {
    pub label: String,
    pub series: usize,
    pub latencies: &'a Latencies,
}

/// One panel of CDF curves sharing axes: its title and the curves. A curve with no latencies
/// draws nothing.
pub struct CdfPanel<'a> {
    pub title: String,
    pub curves: Vec<Curve<'a>>,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the chart failed: {0}")]
pub struct PlotError(String);

fn failed<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError(e.to_string())
}

impl PlotError {
    pub fn new<E: std::fmt::Display>(e: E) -> PlotError {
        failed(e)
    }
}

/// Latency CDFs, one panel per entry of `panels` stacked top to bottom: latency in milliseconds
/// on a logarithmic axis, the fraction of values at or below it on the other, one colour per
/// series. One legend above the panels names each series once, so it never hides a curve.
/// Each curve steps through its histogram's buckets from its exact minimum to its exact
/// maximum.
pub fn latency_cdfs(panels: &[CdfPanel]) -> Result<String, PlotError> {
    let mut legend: Vec<(usize, &str)> = panels
        .iter()
        .flat_map(|p| p.curves.iter().map(|c| (c.series, c.label.as_str())))
        .collect();
    legend.sort_by_key(|&(series, _)| series);
    legend.dedup_by_key(|&mut (series, _)| series);
    let legend_height = LEGEND_LINE * legend.len() as u32 + 2 * LEGEND_MARGIN;
    let mut svg = String::new();
    {
        let height = legend_height + PANEL_HEIGHT * (panels.len().max(1) as u32);
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let (top, rest) = root.split_vertically(legend_height);
        for (line, &(series, label)) in legend.iter().enumerate() {
            let y = (LEGEND_MARGIN + LEGEND_LINE * line as u32 + LEGEND_LINE / 2) as i32;
            let x = 80;
            let style = ShapeStyle::from(colour(series)).stroke_width(2);
            top.draw(&PathElement::new(vec![(x, y), (x + 30, y)], style))
                .map_err(failed)?;
            top.draw(&Text::new(
                label.to_string(),
                (x + 40, y),
                ("sans-serif", 15)
                    .into_font()
                    .into_text_style(&top)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(failed)?;
        }
        let areas = rest.split_evenly((panels.len().max(1), 1));
        for (panel, area) in panels.iter().zip(&areas) {
            cdf_panel(panel, area)?;
        }
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

fn cdf_panel(
    panel: &CdfPanel,
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
) -> Result<(), PlotError> {
    let ms = |ns: u64| ns as f64 / 1e6;
    let (lo, hi) = panel
        .curves
        .iter()
        .filter_map(|c| Some((c.latencies.min()?, c.latencies.max()?)))
        .fold((u64::MAX, 0), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
    // A decade's margin is too much on a narrow spread; 10% either side keeps curves off the
    // frame. An empty panel still gets axes.
    let (lo, hi) = if lo > hi {
        (0.1, 10.0)
    } else {
        (ms(lo).max(1e-3) / 1.1, ms(hi).max(1e-3) * 1.1)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(
            LogCoord::from((lo..hi).log_scale()).with_key_points(log_ticks(lo, hi)),
            0.0..1.0,
        )
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms, log scale)")
        .y_desc("fraction at or below")
        .x_label_formatter(&|v| format_ms(*v))
        .draw()
        .map_err(failed)?;
    for curve in &panel.curves {
        let style = ShapeStyle::from(colour(curve.series)).stroke_width(2);
        let mut points = Vec::new();
        let mut below = 0.0;
        for (ns, fraction) in curve.latencies.cdf() {
            // Steps: the fraction holds until the next bucket's value.
            points.push((ms(ns).max(lo), below));
            points.push((ms(ns).max(lo), fraction));
            below = fraction;
        }
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(failed)?;
    }
    Ok(())
}

/// Ticks for a logarithmic axis from `lo` to `hi` (> 0): 1, 2 and 5 times each power of ten,
/// or every integer multiple when that gives fewer than three, or else three ticks from the range's
/// ends at three significant digits, so a narrow range still gets labels.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let within = |multiples: &[f64]| -> Vec<f64> {
        let mut ticks = Vec::new();
        let mut decade = 10f64.powf(lo.log10().floor());
        while decade <= hi {
            for m in multiples {
                let t = decade * m;
                if (lo..=hi).contains(&t) {
                    ticks.push(t);
                }
            }
            decade *= 10.0;
        }
        ticks
    };
    let coarse = within(&[1.0, 2.0, 5.0]);
    if coarse.len() >= 3 {
        return coarse;
    }
    let fine = within(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    if fine.len() >= 3 {
        return fine;
    }
    // Three significant digits, rounded inwards.
    let unit = |v: f64| 10f64.powf(v.log10().floor() - 2.0);
    let (a, b) = (
        (lo / unit(lo)).ceil() * unit(lo),
        (hi / unit(hi)).floor() * unit(hi),
    );
    let mut ticks = if a < b {
        vec![a, (a * b).sqrt(), b]
    } else {
        vec![lo, hi]
    };
    ticks.dedup();
    ticks
}

/// Axis labels: as few digits as tell the ticks apart.
fn format_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// One line of a time chart: its legend label and its points (seconds, value).
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// A labelled instant on a time chart (seconds): a fault, a detection, a route change. An
/// empty label draws the line alone.
pub struct Marker {
    pub at: f64,
    pub label: String,
}

/// The most marker labels a time chart writes.
pub const MAX_LABELS: usize = 12;

/// The colour of markers, apart from the lines'.
const MARKER: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Lines over time, with vertical markers whose labels (up to [`MAX_LABELS`]) stack above the
/// plot so they do not overlap: a goodput or queue chart.
pub fn time_chart(
    title: &str,
    y_label: &str,
    lines: &[Line],
    markers: &[Marker],
    end: f64,
) -> Result<String, PlotError> {
    let labelled: Vec<&Marker> = markers
        .iter()
        .filter(|m| !m.label.is_empty())
        .take(MAX_LABELS)
        .collect();
    let mut svg = String::new();
    {
        let label_rows = labelled.len() as u32;
        let height = PANEL_HEIGHT + 70 + LEGEND_LINE * label_rows;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let root = root.titled(title, ("sans-serif", 20)).map_err(failed)?;
        let top = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        let top = if top > 0.0 { top * 1.1 } else { 1.0 };
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_top(12 + LEGEND_LINE * label_rows)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..end.max(1e-9), 0.0..top)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(y_label)
            .draw()
            .map_err(failed)?;
        let style = ShapeStyle::from(MARKER).stroke_width(1);
        for m in markers {
            chart
                .draw_series(LineSeries::new([(m.at, 0.0), (m.at, top)], style))
                .map_err(failed)?;
        }
        // Each label above the plot on a row of its own, starting at its line's position.
        let (_, plot_top) = chart.backend_coord(&(0.0, top));
        let origin = root.get_base_pixel();
        for (i, m) in labelled.iter().enumerate() {
            let (x, _) = chart.backend_coord(&(m.at, top));
            let (x, plot_top) = (x - origin.0, plot_top - origin.1);
            {
                let y = plot_top - 6 - LEGEND_LINE as i32 * (label_rows as i32 - i as i32);
                root.draw(&Text::new(
                    format!("{:.3} s  {}", m.at, m.label),
                    (x + 3, y),
                    ("sans-serif", 13).into_font().color(&MARKER),
                ))
                .map_err(failed)?;
                root.draw(&PathElement::new(vec![(x, y), (x, y + 12)], style))
                    .map_err(failed)?;
            }
        }
        for (i, l) in lines.iter().enumerate() {
            let style = ShapeStyle::from(colour(i)).stroke_width(2);
            chart
                .draw_series(LineSeries::new(l.points.iter().copied(), style))
                .map_err(failed)?
                .label(&l.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        if !lines.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .draw()
                .map_err(failed)?;
        }
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// One row of a failover timeline: an app's outage as a bar (from, to), and labelled points
/// (seconds after the fault).
pub struct TimelineRow {
    pub label: String,
    pub bar: Option<(f64, f64)>,
    pub points: Vec<(f64, String)>,
}

/// A failover as a chart: time after the fault across, one row per step or app down, each
/// outage a bar from the last delivery before to the first after, each step a labelled mark.
pub fn timeline_chart(title: &str, rows: &[TimelineRow]) -> Result<String, PlotError> {
    let end = rows
        .iter()
        .flat_map(|r| {
            r.bar
                .map(|b| b.1)
                .into_iter()
                .chain(r.points.iter().map(|p| p.0))
        })
        .fold(0.0, f64::max)
        .max(0.001)
        * 1.15;
    let mut svg = String::new();
    {
        let height = 120 + 36 * rows.len().max(1) as u32;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let n = rows.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(150)
            .build_cartesian_2d(0.0..end, 0.0..n)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("time after the fault (s)")
            .draw()
            .map_err(failed)?;
        for (k, r) in rows.iter().enumerate() {
            let y = n - k as f64 - 0.5;
            // The row's name left of the axis.
            let (x0, y0) = chart.backend_coord(&(0.0, y));
            root.draw(&Text::new(
                r.label.clone(),
                (x0 - 8, y0),
                ("sans-serif", 14)
                    .into_font()
                    .into_text_style(&root)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(failed)?;
            if let Some((a, b)) = r.bar {
                chart
                    .draw_series([Rectangle::new(
                        [(a, y - 0.3), (b, y + 0.3)],
                        colour(2).mix(0.6).filled(),
                    )])
                    .map_err(failed)?;
            }
            for (at, text) in &r.points {
                chart
                    .draw_series([Circle::new((*at, y), 5, colour(0).filled())])
                    .map_err(failed)?;
                chart
                    .draw_series([Text::new(
                        text.clone(),
                        (*at, y + 0.32),
                        ("sans-serif", 12).into_font(),
                    )])
                    .map_err(failed)?;
            }
        }
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cdf_chart_has_a_curve_and_a_legend_entry_per_lab() {
        let (mut a, mut b) = (Latencies::new(), Latencies::new());
        for v in 0..100u64 {
            a.record(10_000_000 + v * 10_000);
            b.record(40_000_000 + v * 100_000);
        }
        let chart = || {
            latency_cdfs(&[CdfPanel {
                title: "probe".into(),
                curves: vec![
                    Curve {
                        label: "near".into(),
                        series: 0,
                        latencies: &a,
                    },
                    Curve {
                        label: "far".into(),
                        series: 1,
                        latencies: &b,
                    },
                ],
            }])
            .unwrap()
        };
        let svg = chart();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        // Each lab's colour draws its curve and its legend mark.
        for colour in ["#4E79A7", "#F28E2B"] {
            let lines = svg
                .lines()
                .filter(|l| l.starts_with("<polyline") && l.contains(colour))
                .count();
            assert_eq!(lines, 2, "{colour}");
        }
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .filter_map(|t| t.split('>').nth(1)?.split('<').next())
            .map(str::trim)
            .collect();
        for label in [
            "probe",
            "near",
            "far",
            "latency (ms, log scale)",
            "10.0",
            "50.0",
        ] {
            assert!(texts.contains(&label), "{label}: {texts:?}");
        }
        assert_eq!(svg, chart(), "the same bytes every time");
    }

    #[test]
    fn log_ticks_label_every_range() {
        assert_eq!(
            log_ticks(0.5, 300.0),
            [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
        );
        assert_eq!(log_ticks(9.0, 35.0), [9.0, 10.0, 20.0, 30.0]);
        let narrow = log_ticks(20.01, 20.9);
        assert_eq!(narrow.len(), 3, "{narrow:?}");
        assert!(
            narrow.iter().all(|t| (20.01..=20.9).contains(t)),
            "{narrow:?}"
        );
    }
}
