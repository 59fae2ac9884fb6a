//! Runs merge without loss and without regard to order: the foundation of sweeps and shards.

use crate::common;
use common::*;
use hybridlab::analysis::aggregate::{Aggregate, MergeError};

/// A lossy link that fails for a second, with probes and a bulk flow, run with `seed`.
fn run_seed(seed: u64) -> Aggregate {
    let text = with_fields(
        &two_hosts(
            "6s",
            r#"delay: "5ms", rate: "100Mbps", loss: Bernoulli(0.002)"#,
            ("", ""),
            r#"(name: "probe", from: "a", to: "b", traffic: UdpProbe(interval: "10ms")),
        (name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
        )
        .replace("seed: 1,", &format!("seed: {seed},")),
        &wire_outage("2s", "3s"),
    );
    Aggregate::of(&run(&text))
}

fn merged(seeds: &[u64]) -> Aggregate {
    let mut all = run_seed(seeds[0]);
    for &s in &seeds[1..] {
        all.merge(&run_seed(s)).unwrap();
    }
    all
}

#[test]
fn merging_runs_in_any_grouping_gives_the_same_bytes() {
    let whole = merged(&[1, 2, 3, 4]);
    let mut left = merged(&[4, 2]);
    left.merge(&merged(&[3, 1])).unwrap();
    assert_eq!(left, whole);
    let json = serde_json::to_string(&whole).unwrap();
    assert_eq!(serde_json::to_string(&left).unwrap(), json);
    // A part written on one machine and read on another is the same part.
    let back: Aggregate = serde_json::from_str(&json).unwrap();
    assert_eq!(back, whole);
    assert_eq!(whole.seeds, [1, 2, 3, 4]);
}

#[test]
fn counters_add_histograms_merge_and_per_run_figures_keep_every_run() {
    let parts: Vec<Aggregate> = (1..=4).map(run_seed).collect();
    let whole = merged(&[1, 2, 3, 4]);
    let probe = |a: &Aggregate| a.apps[0].clone();
    assert_eq!(
        probe(&whole).sent,
        parts.iter().map(|p| probe(p).sent).sum::<u64>()
    );
    assert_eq!(
        probe(&whole).lost,
        parts.iter().map(|p| probe(p).lost).sum::<u64>()
    );
    assert_eq!(
        probe(&whole).rtt.len(),
        parts.iter().map(|p| probe(p).rtt.len()).sum::<u64>()
    );
    let min = parts.iter().filter_map(|p| probe(p).rtt.min()).min();
    assert_eq!(
        probe(&whole).rtt.min(),
        min,
        "the exact minimum survives merging"
    );
    // Goodput and the outages: one value per run.
    let bulk = &whole.apps[1];
    assert_eq!(bulk.goodput_bps.values().len(), 4);
    let down = &whole.faults[0];
    assert_eq!(down.fault, "link wire down");
    let outage = down.outages[0].outage_us.spread().unwrap();
    assert_eq!(outage.runs, 4);
    // The link is down for 1 s: every run's probe outage is a little over it.
    assert!(outage.min >= 1e6 && outage.max < 1.1e6, "{outage:?}");
}

#[test]
fn a_run_is_never_counted_twice_and_labs_do_not_mix() {
    let mut a = merged(&[1, 2]);
    let before = a.clone();
    assert_eq!(a.merge(&run_seed(2)), Err(MergeError::Seed(2)));
    assert_eq!(a, before, "a refused merge changes nothing");
    let mut other = run_seed(3);
    other.lab = "another".to_string();
    assert!(matches!(a.merge(&other), Err(MergeError::Lab(..))));
    let mut fewer = run_seed(3);
    fewer.apps.pop();
    assert_eq!(a.merge(&fewer), Err(MergeError::Shape("apps")));
}
