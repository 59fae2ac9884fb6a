//! Designs side by side: several labs run in parallel, and for each app name they share, the
//! figures a choice between them rests on — latency percentiles, goodput, loss and the
//! longest failover outage — with each lab's difference from the first.

use crate::analysis::Summarize;
use crate::analysis::{AppSummary, Summary};
use crate::export::plot::{CdfPanel, Curve, PlotError};
use crate::lab::{self, LabError};
use crate::results::Results;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One figure of one app in every lab (`None` where a lab lacks the app or the figure).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub app: String,
    /// What the figure is, with its unit: "rtt p50 (us)", "goodput (bps)", ...
    pub figure: &'static str,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Each lab's name and file, in the order given.
    pub labs: Vec<(String, PathBuf)>,
    pub rows: Vec<Row>,
}

/// Runs the labs at `paths` in parallel and lines up their apps by name. The runs' results
/// come back too, in the order of `paths`, for [`latency_svg`].
/// A lab whose run would cost more than `budget` (when given) is refused before any runs.
pub fn run(
    paths: &[PathBuf],
    budget: Option<&lab::budget::Budget>,
) -> Result<(Comparison, Vec<Results>), LabError> {
    let labs = paths
        .iter()
        .map(|p| crate::input::prepare(p, &[], None, budget))
        .collect::<Result<Vec<_>, LabError>>()?;
    let results: Vec<Results> = labs.par_iter().map(crate::sim::run).collect();
    // A lab whose run stopped early measured only part of its time: it is not compared.
    if let Some((p, why)) = paths
        .iter()
        .zip(&results)
        .find_map(|(p, r)| r.stopped_because.as_ref().map(|why| (p, why)))
    {
        return Err(LabError::Stopped {
            path: p.clone(),
            message: format!("the run stopped early, so it is not compared: {why}"),
        });
    }
    let summaries: Vec<Summary> = results.iter().map(|r| r.summary(None)).collect();
    Ok((compare(paths, &summaries), results))
}

/// The latency CDFs of the compared labs as one SVG: a panel per app that measures latency
/// (round trips of probes and pings, completion times of requests), one curve per lab in the
/// order of the comparison's columns, on a logarithmic time axis.
pub fn latency_svg(c: &Comparison, results: &[Results]) -> Result<String, PlotError> {
    let mut apps: Vec<(&str, &'static str)> = Vec::new();
    for r in results {
        for a in &r.apps {
            if let Some((what, _)) = a.latency() {
                if !apps.iter().any(|(name, _)| *name == a.name) {
                    apps.push((&a.name, what));
                }
            }
        }
    }
    let panels: Vec<CdfPanel> = apps
        .iter()
        .map(|&(app, what)| CdfPanel {
            title: format!("{app}: {what}"),
            curves: results
                .iter()
                .zip(&c.labs)
                .enumerate()
                .filter_map(|(i, (r, (name, path)))| {
                    let (_, latencies) = r.apps.iter().find(|a| a.name == app)?.latency()?;
                    Some(Curve {
                        label: format!("[{}] {name} ({})", column(i), file_name(path)),
                        series: i,
                        latencies,
                    })
                })
                .collect(),
        })
        .collect();
    crate::export::plot::latency_cdfs(&panels)
}

/// The letter that names the `i`-th lab's column.
fn column(i: usize) -> char {
    (b'A' + (i % 26) as u8) as char
}

/// The figures each summary gives, row by row, for the apps in the order they first appear.
pub fn compare(paths: &[PathBuf], summaries: &[Summary]) -> Comparison {
    let mut apps: Vec<&str> = Vec::new();
    for s in summaries {
        for a in &s.apps {
            if !apps.contains(&a.name.as_str()) {
                apps.push(&a.name);
            }
        }
    }
    type Figure = fn(&Summary, &AppSummary) -> Option<f64>;
    let figures: [(&'static str, Figure); 8] = [
        ("rtt p50 (us)", |_, a| {
            a.figures.rtt.as_ref().map(|l| l.p50_us)
        }),
        ("rtt p99 (us)", |_, a| {
            a.figures.rtt.as_ref().map(|l| l.p99_us)
        }),
        ("completion p50 (us)", |_, a| {
            a.figures.completion.as_ref().map(|l| l.p50_us)
        }),
        ("completion p99 (us)", |_, a| {
            a.figures.completion.as_ref().map(|l| l.p99_us)
        }),
        ("goodput (bps)", |_, a| a.figures.goodput_bps),
        ("steady goodput (bps)", |_, a| a.steady_goodput_bps),
        ("loss (%)", |_, a| {
            a.unit.counts_messages().then_some(100.0 * a.loss_ratio)
        }),
        ("longest outage (us)", |s, a| {
            s.failover
                .iter()
                .flat_map(|t| t.outages.iter().filter(|o| o.app == a.name))
                .map(|o| o.outage_us)
                .reduce(f64::max)
        }),
    ];
    let mut rows = Vec::new();
    for app in apps {
        for (figure, of) in figures {
            let values: Vec<Option<f64>> = summaries
                .iter()
                .map(|s| s.apps.iter().find(|a| a.name == app).and_then(|a| of(s, a)))
                .collect();
            if values.iter().any(Option::is_some) {
                rows.push(Row {
                    app: app.to_string(),
                    figure,
                    values,
                });
            }
        }
    }
    Comparison {
        labs: summaries
            .iter()
            .zip(paths)
            .map(|(s, p)| (s.lab.clone(), p.clone()))
            .collect(),
        rows,
    }
}

/// The comparison as a table: a column per lab, then each later lab's change from the first.
pub fn render(c: &Comparison) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let names: Vec<String> = c
        .labs
        .iter()
        .map(|(name, path)| format!("{name} ({})", file_name(path)))
        .collect();
    for (i, n) in names.iter().enumerate() {
        let _ = writeln!(out, "[{}] {n}", column(i));
    }
    let mut header = format!("{:<12} {:<22}", "app", "figure");
    for i in 0..names.len() {
        let _ = write!(header, " {:>14}", format!("[{}]", column(i)));
    }
    for i in 1..names.len() {
        let _ = write!(header, " {:>12}", format!("[{}] vs [A]", column(i)));
    }
    let _ = writeln!(out, "\n{header}");
    for r in &c.rows {
        // Latencies in milliseconds and rates with their SI prefix, as the report writes them.
        let (label, fmt): (String, fn(f64) -> String) = match r.figure.strip_suffix(" (us)") {
            Some(name) => (format!("{name} (ms)"), |v| format!("{:.3}", v / 1e3)),
            None => match r.figure.strip_suffix(" (bps)") {
                Some(name) => (name.to_string(), crate::units::format_bitrate),
                None => (r.figure.to_string(), |v| format!("{v:.3}")),
            },
        };
        let mut line = format!("{:<12} {label:<22}", r.app);
        for v in &r.values {
            let _ = write!(line, " {:>14}", v.map_or("-".to_string(), fmt));
        }
        for v in &r.values[1..] {
            let change = match (r.values[0], *v) {
                (Some(a), Some(b)) if a != 0.0 => format!("{:+.1}%", 100.0 * (b - a) / a),
                (Some(a), Some(b)) if a == b => "=".to_string(),
                _ => "-".to_string(),
            };
            let _ = write!(line, " {change:>12}");
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}
