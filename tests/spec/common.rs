#![allow(dead_code)]

//! Helpers shared by the specification tests.

use hybridlab::input;
use hybridlab::lab::Lab;
use hybridlab::results::{AppRecord, Results};
use std::path::Path;

/// Parses and validates lab text, panicking with the error message if it is invalid.
pub fn lab(text: &str) -> Lab {
    input::load_str(text, Path::new("test.ron")).unwrap_or_else(|e| panic!("{e}"))
}

/// The text of a shipped lab in topologies/.
pub fn topology(file: &str) -> String {
    std::fs::read_to_string(format!("{}/topologies/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Every shipped lab, in name order: topologies/*.ron, then the labs that read their cloud side
/// from infrastructure code, topologies/iac/*.ron.
pub fn shipped_labs() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies");
    let ron_files = |dir: &Path| {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "ron"))
            .collect();
        files.sort();
        files
    };
    let mut labs = ron_files(&root);
    labs.extend(ron_files(&root.join("iac")));
    labs
}

/// The JSON document a run of the lab file at `path` writes (`emulate run --json`), with
/// overrides `sets` (`PATH=VALUE`) and a `duration` ("12s") if given.
pub fn json_of(path: &Path, sets: &[&str], duration: Option<&str>) -> String {
    let sets: Vec<_> = sets.iter().map(|s| s.parse().unwrap()).collect();
    let duration = duration.map(|d| d.parse::<hybridlab::units::Duration>().unwrap().0);
    let lab = input::prepare(path, &sets, duration, None).unwrap_or_else(|e| panic!("{e}"));
    let outputs = hybridlab::drivers::session::Outputs::default();
    let finished = hybridlab::drivers::session::run(&lab, path, &outputs, &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    finished.document(false).to_json().unwrap()
}

/// Runs the lab, keeping every probe's record for the tests that look at single probes.
pub fn run(text: &str) -> Results {
    hybridlab::sim::run_with_probe_logs(&lab(text))
}

pub fn app<'a>(r: &'a Results, name: &str) -> &'a AppRecord {
    r.apps.iter().find(|a| a.name == name).expect("app exists")
}

/// The probes or echoes of app `name`, by sequence number.
pub fn probes<'a>(r: &'a Results, name: &str) -> &'a [hybridlab::results::Probe] {
    app(r, name)
        .probes()
        .expect("a probe or ping app")
        .log()
        .expect("common::run keeps probe logs")
}

/// Two hosts `a` (10.0.0.1) and `b` (10.0.0.2) on one link with the given link fields, running
/// the given apps.
pub fn two_hosts(duration: &str, link_fields: &str, hosts: (&str, &str), apps: &str) -> String {
    format!(
        r#"(
    name: "two-hosts", seed: 1, duration: "{duration}",
    nodes: [Host(name: "a" {}), Host(name: "b" {})],
    links: [(name: "wire", a: (node: "a", ip: "10.0.0.1/24"), b: (node: "b", ip: "10.0.0.2/24"), {link_fields})],
    apps: [{apps}],
)"#,
        hosts.0, hosts.1
    )
}

/// `lab` (as [`two_hosts`] writes it) with top-level `fields` (`faults: [...],`, `expect:
/// [...],`) added before its apps.
pub fn with_fields(lab: &str, fields: &str) -> String {
    assert!(lab.contains("apps: ["), "a lab with apps");
    lab.replacen("apps: [", &format!("{fields}\n    apps: ["), 1)
}

/// The `faults` field of a two-host lab whose link fails at `down` and returns at `up`.
pub fn wire_outage(down: &str, up: &str) -> String {
    format!(
        r#"faults: [(at: "{down}", action: LinkDown("wire")), (at: "{up}", action: LinkUp("wire"))],"#
    )
}

/// Runs `f` in a thread and returns its result, or panics naming `what` when it takes longer
/// than `wall` of wall time: a test of something that once hung fails instead of hanging.
pub fn within<T: Send + 'static>(
    wall: std::time::Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(wall) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {wall:?} of wall time: a hang")
        }
        Err(e) => panic!("{what}: {e} (the run panicked)"),
    }
}
