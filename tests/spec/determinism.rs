//! Same lab and seed give byte-identical results; the seed matters; components draw from their
//! own random streams.

use crate::common;
use common::*;
use hybridlab::analysis::Summarize;
use std::process::Command;

/// The JSON `emulate run LAB --json` writes, through the library.
fn json_of(path: &str, sets: &[&str], duration: Option<&str>) -> String {
    common::json_of(std::path::Path::new(path), sets, duration)
}

/// The JSON the command line writes for `path` with `args`.
fn cli_json(path: &str, args: &[&str]) -> String {
    // A file of its own per call, whatever tests run beside it.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out =
        std::env::temp_dir().join(format!("hybridlab-det-{}-{call}.json", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_emulate"))
        .arg(path)
        .args(["--quiet", "--json"])
        .arg(&out)
        .args(args)
        .status()
        .expect("emulate runs");
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).ok();
    text
}

#[test]
fn the_command_line_writes_the_librarys_document() {
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/point-to-point.ron");
    assert_eq!(
        cli_json(lab, &["--seed", "3", "--duration", "2s"]),
        json_of(lab, &["seed=3"], Some("2s"))
    );
    let timed: serde_json::Value =
        serde_json::from_str(&cli_json(lab, &["--json-timing", "--duration", "2s"])).unwrap();
    assert!(timed["timing"]["wall_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn two_runs_of_a_lab_are_byte_identical() {
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/three-hop.ron");
    let first = json_of(lab, &[], None);
    let second = json_of(lab, &[], None);
    assert_eq!(first, second);
    assert!(!first.contains("wall"), "no wall-clock values unless asked");
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn the_failover_lab_with_its_control_plane_is_byte_identical_too() {
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/expressroute.ron");
    let first = json_of(lab, &[], Some("12s"));
    assert_eq!(first, json_of(lab, &[], Some("12s")));
    assert!(
        first.contains("BFD down"),
        "the run exercised the control plane"
    );
}

#[test]
fn a_different_seed_changes_a_lossy_run() {
    // The runs differ in what they measured, not only in the seed they name.
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/point-to-point.ron");
    let measured = |seed: &str| {
        let mut v: serde_json::Value =
            serde_json::from_str(&json_of(lab, &[&format!("seed={seed}")], None)).unwrap();
        v.as_object_mut().unwrap().remove("seed");
        v
    };
    let (one, two) = (measured("1"), measured("2"));
    assert_ne!(one["links"], two["links"], "another loss pattern");
    assert_ne!(one["apps"], two["apps"]);
    assert_eq!(one, measured("1"));
}

const PROBES: &str =
    r#"(name: "p", from: "a", to: "b", traffic: UdpProbe(interval: "1ms", size: 64))"#;

fn loss_pattern(text: &str) -> Vec<bool> {
    let r = run(text);
    probes(&r, "p")
        .iter()
        .map(|p| p.arrived.is_some())
        .collect()
}

#[test]
fn adding_an_unrelated_link_leaves_another_links_loss_pattern_unchanged() {
    let base = two_hosts(
        "2s",
        r#"delay: "1ms", loss: Bernoulli(0.1)"#,
        ("", ""),
        PROBES,
    );
    let extra_link = r#"(name: "other", a: (node: "c", ip: "10.9.0.1/24"), b: (node: "d", ip: "10.9.0.2/24"), loss: Bernoulli(0.3))"#;
    let extended = base
        .replace(
            r#"Host(name: "b" )]"#,
            r#"Host(name: "b" ), Host(name: "c"), Host(name: "d")]"#,
        )
        .replace(
            r#"loss: Bernoulli(0.1))],"#,
            &format!(r#"loss: Bernoulli(0.1)), {extra_link}],"#),
        )
        .replace(
            PROBES,
            &format!(
                r#"{PROBES}, (name: "q", from: "c", to: "d", traffic: UdpProbe(interval: "1ms"))"#
            ),
        );
    assert_ne!(base, extended, "the extended lab has the extra link");
    let before = loss_pattern(&base);
    let after = loss_pattern(&extended);
    assert!(before.iter().any(|a| !a), "the link does lose probes");
    assert_eq!(before, after);
}

#[test]
fn parallel_paced_streams_over_a_lossy_link_are_byte_identical() {
    let text = two_hosts(
        "5s",
        r#"delay: "5ms", rate: "200Mbps", loss: Bernoulli(0.005)"#,
        ("", ""),
        r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk(streams: 8, rate: "150Mbps"))"#,
    );
    let json = || serde_json::to_string(&run(&text).summary(None)).unwrap();
    let first = json();
    assert_eq!(first, json());
    assert!(first.contains("\"streams\":8"), "{first}");
}
