//! Expectations: what a lab says must hold of its results, checked after a run. A miss makes
//! `emulate` exit 1, so a CI job fails when a failover outage grows; `--junit` writes one
//! test case per expectation for CI systems to display.

use crate::analysis::Summary;
use crate::lab::model::{Expectation, Lab};
use crate::units::{format_bitrate, format_nanos};
use std::fmt::Write;

/// One expectation checked against one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// What was expected, in words ("probe outage after 'circuit er down' at most 3s").
    pub expectation: String,
    /// What the run measured ("2.63s"), or why nothing could be measured.
    pub measured: String,
    pub passed: bool,
    /// About a fault the lab schedules after the run ends (`--duration` cut it short): neither
    /// met nor missed, and it does not fail the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_reached: bool,
}

/// Checks each of `lab`'s expectations against a run's summary.
pub fn check(lab: &Lab, s: &Summary) -> Vec<Outcome> {
    lab.expectations
        .iter()
        .filter(|e| !e.is_resilience())
        .map(|e| {
            let mut o = outcome(e, s);
            if after_the_end(lab, e) {
                o.measured = format!("not reached (run ends at {})", format_nanos(lab.duration));
                o.passed = true;
                o.not_reached = true;
            }
            o
        })
        .collect()
}

/// Whether `e` is about a fault the lab schedules only after the run ends.
fn after_the_end(lab: &Lab, e: &Expectation) -> bool {
    let fault = match e {
        Expectation::Outage { fault, .. } | Expectation::Detection { fault, .. } => fault,
        _ => return false,
    };
    let named = |f: &&crate::lab::model::Fault| f.label.split(", ").any(|l| l == fault);
    let mut faults = lab.faults.iter().filter(named).peekable();
    faults.peek().is_some() && faults.all(|f| f.at >= lab.duration)
}

/// " in phase 'x'" for an expectation about one phase; nothing for the whole run.
fn phase_words(phase: &Option<String>) -> String {
    phase
        .as_ref()
        .map_or(String::new(), |p| format!(" in phase '{p}'"))
}

fn ns(us: f64) -> String {
    format_nanos((us * 1e3).round() as u64)
}

fn outcome(e: &Expectation, s: &Summary) -> Outcome {
    let app = |name: &str| s.apps.iter().find(|a| a.name == name);
    // The timeline of the fault instant whose description includes `fault`.
    let timeline = |fault: &str| {
        s.failover
            .iter()
            .find(|t| t.fault.split(", ").any(|f| f == fault))
    };
    fn phase<'a>(
        a: &'a crate::analysis::AppSummary,
        phase: &str,
    ) -> Option<&'a crate::analysis::timeline::Phase> {
        a.phases
            .iter()
            .find(|p| p.phase.split(", ").any(|f| f == phase))
    }
    let (expectation, measured, passed) = match e {
        Expectation::Outage {
            app: name,
            fault,
            max,
        } => {
            let text = format!(
                "{name} outage after '{fault}' at most {}",
                format_nanos(*max)
            );
            match timeline(fault).and_then(|t| t.outages.iter().find(|o| &o.app == name)) {
                Some(o) => (text, ns(o.outage_us), o.outage_us * 1e3 <= *max as f64),
                None => (text, format!("'{fault}' did not happen in the run"), false),
            }
        }
        Expectation::Detection { fault, within, by } => {
            let by_text = by.as_ref().map_or(String::new(), |b| format!(" by {b}"));
            let text = format!(
                "'{fault}' detected{by_text} within {}",
                format_nanos(*within)
            );
            match timeline(fault).map(|t| t.detection.as_ref()) {
                Some(Some(d)) => {
                    let right_kind = by.as_ref().is_none_or(|b| b == d.by);
                    (
                        text,
                        format!("{} by {}", ns(d.after_us), d.by),
                        right_kind && d.after_us * 1e3 <= *within as f64,
                    )
                }
                Some(None) => (text, "not detected".to_string(), false),
                None => (text, format!("'{fault}' did not happen in the run"), false),
            }
        }
        Expectation::Latency {
            app: name,
            phase: in_phase,
            percentile,
            max,
        } => {
            let within = phase_words(in_phase);
            let text = format!(
                "{name} p{percentile} latency{within} at most {}",
                format_nanos(*max)
            );
            let latency = app(name).and_then(|a| match in_phase {
                None => a
                    .figures
                    .rtt
                    .clone()
                    .or_else(|| a.figures.completion.clone()),
                Some(p) => phase(a, p).and_then(|p| {
                    p.figures
                        .rtt
                        .clone()
                        .or_else(|| p.figures.completion.clone())
                }),
            });
            match latency {
                Some(l) => {
                    // Validation allows 50, 90, 99, 99.9 and 100 (the maximum).
                    let v = [
                        (50.0, l.p50_us),
                        (90.0, l.p90_us),
                        (99.0, l.p99_us),
                        (99.9, l.p999_us),
                    ]
                    .iter()
                    .find(|(p, _)| p == percentile)
                    .map_or(l.max_us, |&(_, v)| v);
                    (text, ns(v), v * 1e3 <= *max as f64)
                }
                None => (text, "no latency measured".to_string(), false),
            }
        }
        Expectation::Goodput {
            app: name,
            phase: in_phase,
            min,
        } => {
            let within = phase_words(in_phase);
            let text = format!(
                "{name} goodput{within} at least {}",
                format_bitrate(*min as f64)
            );
            let goodput = app(name).and_then(|a| match in_phase {
                None => a.figures.goodput_bps,
                Some(p) => phase(a, p).and_then(|p| p.figures.goodput_bps),
            });
            match goodput {
                Some(g) => (text, format_bitrate(g), g >= *min as f64),
                None => (text, "no goodput measured".to_string(), false),
            }
        }
        Expectation::NoLossOutsideFailover { app: name } => {
            let text = format!("{name} loses nothing outside failover outages");
            match app(name) {
                Some(a) => {
                    let in_outages: u64 = s
                        .failover
                        .iter()
                        .flat_map(|t| t.outages.iter().filter(|o| &o.app == name))
                        .map(|o| o.lost)
                        .sum();
                    let outside = a.figures.lost.saturating_sub(in_outages);
                    (text, format!("{outside} lost outside"), outside == 0)
                }
                None => (text, "no such app in the run".to_string(), false),
            }
        }
        Expectation::NoSinglePointOfFailure { .. }
        | Expectation::WorstOutage { .. }
        | Expectation::Availability { .. } => {
            unreachable!("`check` leaves resilience expectations to `resilience`")
        }
        Expectation::Unreachable { app: name } => {
            let text = format!("{name} is unreachable");
            match app(name) {
                Some(a) => (
                    text,
                    format!("{} of {} came back", a.received, a.figures.sent),
                    a.figures.sent > 0 && a.received == 0,
                ),
                None => (text, "no such app in the run".to_string(), false),
            }
        }
    };
    Outcome {
        expectation,
        measured,
        passed,
        not_reached: false,
    }
}

/// The misses as report lines; empty when everything held.
pub fn render(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    if outcomes.is_empty() {
        return out;
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let skipped = outcomes.iter().filter(|o| o.not_reached).count();
    let _ = writeln!(
        out,
        "\nexpectations: {} of {} held{}",
        outcomes.len() - failed - skipped,
        outcomes.len() - skipped,
        if skipped > 0 {
            format!(" ({skipped} about faults after the run's end, not reached)")
        } else {
            String::new()
        }
    );
    for o in outcomes {
        let mark = match (o.not_reached, o.passed) {
            (true, _) => "skip",
            (false, true) => "ok  ",
            (false, false) => "MISS",
        };
        let measured = if o.not_reached { "" } else { "measured " };
        let _ = writeln!(out, "  {mark} {}: {measured}{}", o.expectation, o.measured);
    }
    out
}

/// JUnit XML: one test suite for the lab, one test case per expectation.
pub fn junit(lab: &str, outcomes: &[Outcome]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\"{}>",
        esc(lab),
        outcomes.len(),
        match outcomes.iter().filter(|o| o.not_reached).count() {
            0 => String::new(),
            n => format!(" skipped=\"{n}\""),
        }
    );
    for o in outcomes {
        let _ = write!(
            out,
            "  <testcase classname=\"hybridlab.{}\" name=\"{}\"",
            esc(lab),
            esc(&o.expectation)
        );
        if o.not_reached {
            let _ = writeln!(
                out,
                ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                esc(&o.measured)
            );
        } else if o.passed {
            let _ = writeln!(out, "/>");
        } else {
            let _ = writeln!(
                out,
                ">\n    <failure message=\"measured {}\"/>\n  </testcase>",
                esc(&o.measured)
            );
        }
    }
    out.push_str("</testsuite>\n");
    out
}
