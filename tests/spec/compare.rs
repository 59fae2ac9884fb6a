//! Designs side by side: each shared app's figures in every lab, and the change from the first.

use crate::common;
use common::*;
use std::path::PathBuf;

fn lab_file(tag: &str, delay: &str, apps: &str) -> PathBuf {
    let text = two_hosts(
        "3s",
        &format!(r#"delay: "{delay}", rate: "100Mbps""#),
        ("", ""),
        apps,
    )
    .replace("two-hosts", &format!("two-hosts-{tag}"));
    let path = std::env::temp_dir().join(format!(
        "hybridlab-compare-{}-{tag}.ron",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

const PROBE: &str = r#"(name: "probe", from: "a", to: "b", traffic: UdpProbe(interval: "10ms"))"#;
const PING: &str = r#"(name: "ping", from: "a", to: "b", traffic: Ping(interval: "100ms"))"#;

#[test]
fn compare_lines_up_apps_by_name_and_shows_the_change() {
    let near = lab_file("near", "5ms", PROBE);
    let far = lab_file("far", "20ms", &format!("{PROBE}, {PING}"));
    let (c, results) =
        hybridlab::drivers::compare::run(&[near.clone(), far.clone()], None).unwrap();
    std::fs::remove_file(&near).ok();
    std::fs::remove_file(&far).ok();
    assert_eq!(c.labs[0].0, "two-hosts-near");
    let row = |app: &str, figure: &str| {
        c.rows
            .iter()
            .find(|r| r.app == app && r.figure == figure)
            .unwrap_or_else(|| panic!("{app} {figure}: {c:?}"))
            .values
            .clone()
    };
    // 2 x 5 ms against 2 x 20 ms, with the same serialization on both.
    let rtt = row("probe", "rtt p50 (us)");
    let (a, b) = (rtt[0].unwrap(), rtt[1].unwrap());
    assert!((b - a - 30_000.0).abs() < 1.0, "{rtt:?}");
    // The near lab has no ping app: its column is empty.
    assert_eq!(row("ping", "rtt p50 (us)")[0], None);
    assert!(row("ping", "rtt p50 (us)")[1].is_some());
    let text = hybridlab::drivers::compare::render(&c);
    assert!(text.contains("[B] vs [A]"), "{text}");
    assert!(
        text.contains("+299.6%"),
        "the RTT change from 10.015 to 40.015 ms: {text}"
    );
    // The CDF chart: a panel per latency app, a curve per lab that has it.
    let svg = hybridlab::drivers::compare::latency_svg(&c, &results).unwrap();
    assert!(svg.contains("probe: round trip") && svg.contains("ping: round trip"));
    let curve = |colour: &str| {
        svg.lines()
            .filter(|l| l.starts_with("<polyline") && l.contains(colour))
            .count()
    };
    assert_eq!(
        curve("#4E79A7"),
        2,
        "[A]: the probe curve and its legend mark"
    );
    assert_eq!(
        curve("#F28E2B"),
        3,
        "[B]: the probe and ping curves and one legend mark"
    );
    assert!(
        svg.contains("[A] two-hosts-near"),
        "the legend names the labs"
    );
}

#[test]
fn compare_writes_the_cdf_svg_it_is_asked_for() {
    let near = lab_file("svg-near", "5ms", PROBE);
    let far = lab_file("svg-far", "20ms", PROBE);
    let svg = std::env::temp_dir().join(format!("hybridlab-cmp-{}.svg", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emulate"))
        .arg("compare")
        .args([&near, &far])
        .arg("--svg")
        .arg(&svg)
        .output()
        .unwrap();
    std::fs::remove_file(&near).ok();
    std::fs::remove_file(&far).ok();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&svg).unwrap();
    std::fs::remove_file(&svg).ok();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    // 5 ms and 20 ms one way: round trips near 10 and 40 ms, both on the axis.
    let labels: Vec<&str> = text
        .split("<text")
        .skip(1)
        .filter_map(|t| t.split('>').nth(1)?.split('<').next())
        .map(str::trim)
        .collect();
    for tick in ["10.0", "20.0"] {
        assert!(labels.contains(&tick), "{tick}: {labels:?}");
    }
}

#[test]
fn compare_needs_two_labs() {
    let one = lab_file("one", "5ms", PROBE);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emulate"))
        .arg("compare")
        .arg(&one)
        .output()
        .unwrap();
    std::fs::remove_file(&one).ok();
    assert_eq!(out.status.code(), Some(2));
}
