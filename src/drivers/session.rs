//! One run of a lab, from its file to its outputs, as a library call: the pipeline behind
//! `emulate run`, and the one the tests and the other commands drive.
//!
//! [`crate::input::prepare`] loads the lab (overrides, duration, budget); [`check_outputs`]
//! refuses outputs that cannot be written before anything runs; [`run`] watches the run with
//! the exports asked for, runs it in slices (reporting progress), writes every export, computes
//! the summary once, checks the expectations and returns a [`Finished`] run, whose
//! [`Document`] is the JSON a run writes.

use crate::analysis::expect::{self, Outcome};
use crate::analysis::{Summarize, Summary, Timing};
use crate::export::pcap::{PcapExport, PcapOptions};
use crate::lab::{Lab, LabError};
use crate::results::Results;
use crate::substrate::engine::Time;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a run writes besides its records. Every path is checked by [`check_outputs`] before
/// the run starts.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// Wireshark captures of the links.
    pub pcap: Option<PcapOptions>,
    /// Time series as CSV into a folder, at an interval (a multiple of 100 ms).
    pub csv: Option<(PathBuf, Time)>,
    /// The run's plots as SVG into a folder.
    pub svg: Option<PathBuf>,
    /// The one-page HTML report.
    pub html: Option<PathBuf>,
    /// The [`Document`] as JSON.
    pub json: Option<PathBuf>,
    /// Include wall-clock timing in the JSON (it then differs between runs).
    pub json_timing: bool,
    /// The expectations as JUnit XML.
    pub junit: Option<PathBuf>,
}

/// Why a run could not be made or its outputs written.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Lab(#[from] LabError),
    /// A request that cannot be met (an output that cannot be written, a bad interval, an
    /// unknown link to capture), refused before the run.
    #[error("{0}")]
    Refused(String),
    /// An output that failed while or after the run wrote it.
    #[error("{0}")]
    Output(String),
}

/// A finished run: its records, its summary (computed once), its expectations checked, and
/// what each export wrote.
#[derive(Debug)]
pub struct Finished {
    pub results: Results,
    /// The summary every output reads; its wall-clock timing included.
    pub summary: Summary,
    pub outcomes: Vec<Outcome>,
    /// One line per export written ("pcap: 4 files in out/"), for the report to list.
    pub exported: Vec<String>,
}

impl Finished {
    /// Whether the run met every expectation it reached.
    pub fn met_expectations(&self) -> bool {
        self.outcomes.iter().all(|o| o.passed)
    }

    /// The run's JSON document, with its wall-clock timing only when `timing` (timing makes
    /// two runs of one lab differ).
    pub fn document(&self, timing: bool) -> Document<'_> {
        Document {
            summary: &self.summary,
            timing: self.summary.timing.as_ref().filter(|_| timing),
            expectations: &self.outcomes,
        }
    }
}

/// The JSON a run writes: its summary, the expectations checked (when the lab has any) and,
/// when asked, its wall-clock timing.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    #[serde(flatten)]
    pub summary: &'a Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<&'a Timing>,
    #[serde(skip_serializing_if = "<[Outcome]>::is_empty")]
    pub expectations: &'a [Outcome],
}

impl Document<'_> {
    /// The document as pretty JSON with a final newline. Keys are sorted at every level, so
    /// the bytes depend on the values alone, never on the order fields are declared in.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let value = serde_json::to_value(self)?;
        Ok(serde_json::to_string_pretty(&value)? + "\n")
    }
}

/// Refuses, before anything runs, an output that cannot be written: a file path that is a
/// directory or read-only, an SVG folder that cannot be made or written, a CSV interval that
/// is not a multiple of 100 ms, a capture of a link the lab lacks. Missing folders are created.
pub fn check_outputs(lab: &Lab, outputs: &Outputs) -> Result<(), RunError> {
    for file in [&outputs.json, &outputs.junit, &outputs.html]
        .into_iter()
        .flatten()
    {
        writable(file)?;
    }
    if let Some(dir) = &outputs.svg {
        writable_dir(dir)?;
    }
    if let Some(p) = &outputs.pcap {
        PcapExport::check_links(lab, &p.links).map_err(RunError::Refused)?;
    }
    if let Some((_, interval)) = &outputs.csv {
        crate::export::series::check_interval(*interval).map_err(RunError::Refused)?;
    }
    Ok(())
}

/// Refuses a file that cannot be written: a directory, a read-only file, a folder that cannot
/// be made. A file that did not exist is left not existing.
pub fn writable(path: &Path) -> Result<(), RunError> {
    let fail =
        |e: std::io::Error| RunError::Refused(format!("{}: cannot write: {e}", path.display()));
    if path.is_dir() {
        return Err(RunError::Refused(format!(
            "{}: cannot write: it is a directory",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(fail)?;
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(fail)?;
        std::fs::remove_file(path).map_err(fail)?;
    }
    Ok(())
}

/// Makes folder `dir` if missing and refuses it if files cannot be written in it.
pub fn writable_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| RunError::Refused(format!("{}: cannot write: {e}", dir.display())))?;
    writable(&dir.join(".hybridlab-write-test"))
}

/// Writes `text` to `path`, naming the file when it fails.
fn write(path: &Path, text: impl AsRef<[u8]>) -> Result<(), RunError> {
    std::fs::write(path, text)
        .map_err(|e| RunError::Output(format!("{}: cannot write: {e}", path.display())))
}

/// Runs `lab` (read from `path`, a validated lab as [`crate::input::prepare`] gives it) with the
/// exports `outputs` asks for, calling `progress` with the virtual time reached after each
/// hundredth of the run. The outputs are checked first ([`check_outputs`]). A run that stops
/// early (virtual time stopped, a storm of events) is an error that says why.
pub fn run(
    lab: &Lab,
    path: &Path,
    outputs: &Outputs,
    progress: &mut dyn FnMut(Time),
) -> Result<Finished, RunError> {
    check_outputs(lab, outputs)?;
    let mut sim = crate::sim::Sim::new(lab);
    if let Some(options) = &outputs.pcap {
        let export = PcapExport::create(lab, options).map_err(|e| {
            RunError::Output(format!(
                "{}: cannot write the captures: {e}",
                options.dir.display()
            ))
        })?;
        sim.observe(Box::new(export));
    }
    // Queue samples feed the plots, of the SVG folder and of the HTML page alike.
    let queues = (outputs.svg.is_some() || outputs.html.is_some()).then(|| {
        let (observer, handle) =
            crate::observe::Shared::attach(crate::export::plots::QueueSamples::new(lab));
        sim.observe(observer);
        handle
    });
    if let Some((dir, interval)) = &outputs.csv {
        let export =
            crate::export::series::SeriesExport::create(lab, dir, *interval).map_err(|e| {
                RunError::Output(format!("{}: cannot write the series: {e}", dir.display()))
            })?;
        sim.observe(Box::new(export));
    }
    let started = Instant::now();
    // Run in slices of 1% of virtual time so a progress bar can follow.
    let slice = (lab.duration / 100).max(1);
    while sim.now() < lab.duration && sim.stalled().is_none() {
        sim.run_until(sim.now().saturating_add(slice));
        progress(sim.now());
    }
    let events = sim.events();
    let mut exported = sim
        .finish_exports()
        .map_err(|e| RunError::Output(format!("writing the exports failed: {e}")))?;
    if let Some(halt) = sim.halt() {
        return Err(LabError::Stopped {
            path: path.to_path_buf(),
            message: halt.describe(lab),
        }
        .into());
    }
    let results = sim.finish();
    if let Some((dir, interval)) = &outputs.csv {
        crate::export::series::write_goodput(dir, *interval, &results).map_err(|e| {
            RunError::Output(format!("{}: cannot write the series: {e}", dir.display()))
        })?;
    }
    let lost = || RunError::Output("the queue samples were lost".to_string());
    if let (Some(dir), Some(queues)) = (&outputs.svg, &queues) {
        let queues = queues.lock().map_err(|_| lost())?;
        let files = crate::export::plots::write_svgs(dir, lab, &results, &queues)
            .map_err(RunError::Output)?;
        exported.push(format!("svg: {} plots in {}", files.len(), dir.display()));
    }
    let wall = started.elapsed().as_secs_f64();
    let timing = Timing {
        wall_seconds: wall,
        sim_per_wall: lab.duration as f64 / 1e9 / wall.max(1e-9),
        events_per_second: events as f64 / wall.max(1e-9),
    };
    // The summary, once: the HTML page, expectations, JSON and report all read this one.
    let summary = results.summary(Some(timing));
    let outcomes = expect::check(lab, &summary);
    if let (Some(file), Some(queues)) = (&outputs.html, &queues) {
        let queues = queues.lock().map_err(|_| lost())?;
        let lab_text = std::fs::read_to_string(path).unwrap_or_default();
        // The tables once converged and after each fault settled: a second, identical run of
        // the lab read at those instants (the run above does not stop to look).
        let all: Vec<_> = (0..lab.nodes.len())
            .map(crate::substrate::ids::NodeId)
            .collect();
        let routing = crate::routing::settled_routes(lab, &all);
        let page = crate::export::html::report(
            lab, &lab_text, &results, &summary, &outcomes, &queues, &routing,
        )
        .map_err(|e| RunError::Output(e.to_string()))?;
        write(file, page)?;
        exported.push(format!("html: {}", file.display()));
    }
    let finished = Finished {
        results,
        summary,
        outcomes,
        exported,
    };
    if let Some(file) = &outputs.json {
        let text = finished
            .document(outputs.json_timing)
            .to_json()
            .map_err(|e| RunError::Output(e.to_string()))?;
        write(file, text)?;
    }
    if let Some(file) = &outputs.junit {
        write(file, expect::junit(&lab.name, &finished.outcomes))?;
    }
    Ok(finished)
}
