//! Sweeps: every combination of seeds and values, merged, the same bytes for any thread count.

use crate::common;
use common::*;
use hybridlab::analysis::aggregate::Aggregate;
use hybridlab::drivers::sweep::{self, Plan};
use std::process::Command;

/// A lossy link that fails for a second, with probes and a bulk flow.
const LAB: &str = r#"(
    name: "sweep-lab", seed: 1, duration: "4s",
    nodes: [Host(name: "a"), Host(name: "b")],
    links: [(name: "wire", a: (node: "a", ip: "10.0.0.1/24"), b: (node: "b", ip: "10.0.0.2/24"),
             delay: "5ms", rate: "50Mbps", loss: Bernoulli(0.002))],
    faults: [(at: "1s", action: LinkDown("wire")), (at: "1.5s", action: LinkUp("wire"))],
    apps: [
        (name: "probe", from: "a", to: "b", traffic: UdpProbe(interval: "10ms")),
        (name: "bulk", from: "a", to: "b", traffic: TcpBulk()),
    ],
)"#;

fn lab_file(tag: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("hybridlab-sweep-{}-{tag}.ron", std::process::id()));
    std::fs::write(&path, LAB).unwrap();
    path
}

fn emulate(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args(args)
        .output()
        .expect("emulate runs");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (out.status.code().unwrap(), text)
}

#[test]
fn a_sweep_gives_the_same_bytes_on_one_thread_and_on_two() {
    let lab = lab_file("threads");
    let outputs: Vec<(String, String)> = ["1", "2"]
        .iter()
        .map(|threads| {
            let json = lab.with_extension(format!("{threads}.json"));
            let csv = lab.with_extension(format!("{threads}.csv"));
            let (code, text) = emulate(&[
                "sweep",
                lab.to_str().unwrap(),
                "--seeds",
                "1..=4",
                "--set",
                "links.wire.delay=5ms,20ms",
                "--threads",
                threads,
                "--quiet",
                "--json",
                json.to_str().unwrap(),
                "--csv",
                csv.to_str().unwrap(),
            ]);
            assert_eq!(code, 0, "{text}");
            let read = |p: &std::path::Path| {
                let t = std::fs::read_to_string(p).unwrap();
                std::fs::remove_file(p).ok();
                t
            };
            (read(&json), read(&csv))
        })
        .collect();
    std::fs::remove_file(&lab).ok();
    assert_eq!(outputs[0], outputs[1]);
    let (json, csv) = &outputs[0];
    assert!(json.contains(r#""links.wire.delay=\"20ms\"""#), "{json}");
    // A CSV row per combination and figure: the longer delay shows in the probes' RTT.
    assert!(csv.starts_with("combination,app,fault,metric,count,min,median,p95,max,mean,ci95\n"));
    let rtt_min = |delay: &str| -> f64 {
        let row = csv
            .lines()
            .find(|l| l.contains(delay) && l.contains(",rtt_us,"))
            .unwrap_or_else(|| panic!("{csv}"));
        row.split(',').nth(5).unwrap().parse().unwrap()
    };
    assert!(rtt_min("20ms") > rtt_min("\"\"5ms\"\"") + 29_000.0, "{csv}");
}

#[test]
fn each_combination_is_its_seeds_merged() {
    let lab = lab_file("merge");
    let plan = Plan {
        seeds: vec![1, 2, 3],
        axes: vec!["links.wire.loss=Bernoulli(0.002),Bernoulli(0.02)"
            .parse()
            .unwrap()],
        shard: None,
        duration: None,
        budget: None,
    };
    let combos = sweep::run(&lab, &plan, 2, &|_| {}).unwrap();
    assert_eq!(combos.len(), 2);
    let mut by_hand: Option<Aggregate> = None;
    for seed in [3, 1, 2] {
        let text = LAB.replace("seed: 1,", &format!("seed: {seed},"));
        let one = Aggregate::of(&run(&text));
        match &mut by_hand {
            None => by_hand = Some(one),
            Some(a) => a.merge(&one).unwrap(),
        }
    }
    assert_eq!(combos[0].aggregate, by_hand.unwrap());
    assert_eq!(combos[1].sets, ["links.wire.loss=Bernoulli(0.02)"]);
    // Ten times the loss: about 3.6% more of the 1,200 round trips lost beside the 150 of the
    // outages, and less goodput.
    let lost = |c: usize| combos[c].aggregate.apps[0].lost;
    assert!(lost(1) >= lost(0) + 30, "{} vs {}", lost(1), lost(0));
    let goodput = |c: usize| {
        combos[c].aggregate.apps[1]
            .goodput_bps
            .spread()
            .unwrap()
            .mean
    };
    assert!(
        goodput(1) < 0.5 * goodput(0),
        "{} vs {}",
        goodput(1),
        goodput(0)
    );
    std::fs::remove_file(&lab).ok();
}

#[test]
fn a_bad_sweep_is_refused_before_anything_runs() {
    let lab = lab_file("bad");
    let path = lab.to_str().unwrap();
    let (code, text) = emulate(&["sweep", path, "--seeds", "5..2"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no seeds"), "{text}");
    let (code, text) = emulate(&["sweep", path, "--set", "links.wyre.delay=1ms,2ms"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("did you mean 'wire'?"), "{text}");
    let (code, text) = emulate(&[
        "sweep",
        path,
        "--set",
        "links.wire.loss=Bernoulli(0.1),Bernoulli(3)",
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("loss 3 is outside 0..1"), "{text}");
    std::fs::remove_file(&lab).ok();
}

#[test]
fn shards_merged_on_another_machine_give_exactly_the_single_run() {
    let lab = lab_file("shards");
    let path = lab.to_str().unwrap();
    let out = |tag: &str| lab.with_extension(format!("{tag}.json"));
    let read = |p: &std::path::Path| {
        let t = std::fs::read_to_string(p).unwrap();
        std::fs::remove_file(p).ok();
        t
    };
    let common = [
        "--seeds",
        "1..=5",
        "--set",
        "links.wire.delay=5ms,20ms",
        "--quiet",
    ];
    let whole = out("whole");
    let (code, text) = emulate(
        &[
            &["sweep", path, "--json", whole.to_str().unwrap()][..],
            &common,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{text}");
    let mut parts = Vec::new();
    for k in 1..=3 {
        let part = out(&format!("part{k}"));
        let shard = format!("{k}/3");
        let args = [
            &[
                "sweep",
                path,
                "--shard",
                &shard,
                "--json",
                part.to_str().unwrap(),
            ][..],
            &common,
        ]
        .concat();
        let (code, text) = emulate(&args);
        assert_eq!(code, 0, "{text}");
        parts.push(part);
    }
    // Merged in another order than run: the same bytes.
    let merged = out("merged");
    let mut args = vec!["merge", "--quiet", "--json", merged.to_str().unwrap()];
    args.extend(parts.iter().rev().map(|p| p.to_str().unwrap()));
    let (code, text) = emulate(&args);
    assert_eq!(code, 0, "{text}");
    assert_eq!(read(&merged), read(&whole));
    // A part merged twice would count its runs twice: refused.
    let (code, text) = emulate(&[
        "merge",
        parts[0].to_str().unwrap(),
        parts[0].to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("in both parts"), "{text}");
    for p in &parts {
        std::fs::remove_file(p).ok();
    }
    std::fs::remove_file(&lab).ok();
}

#[test]
fn a_sweep_run_in_parts_by_gnu_parallel_merges_to_the_single_run() {
    // tools/sweep-parallel.sh: three shards as separate processes, then `emulate merge`.
    let lab = lab_file("parallel");
    let path = lab.to_str().unwrap();
    let whole = lab.with_extension("whole.json");
    let merged = lab.with_extension("merged.json");
    let axis = "links.wire.loss=Bernoulli(0.002),Bernoulli(0.02)";
    let (code, text) = emulate(&[
        "sweep",
        path,
        "--seeds",
        "1..=4",
        "--set",
        axis,
        "--quiet",
        "--json",
        whole.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/sweep-parallel.sh");
    let out = Command::new("bash")
        .args([script, "3", merged.to_str().unwrap(), path, "1..=4", axis])
        .env("EMULATE", env!("CARGO_BIN_EXE_emulate"))
        .output()
        .expect("bash runs (GNU parallel is installed by .ci/run)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &std::path::Path| {
        let t = std::fs::read_to_string(p).unwrap();
        std::fs::remove_file(p).ok();
        t
    };
    assert_eq!(read(&merged), read(&whole));
    std::fs::remove_file(&lab).ok();
}

#[test]
fn a_sweep_cut_short_runs_only_the_first_part_of_each_run() {
    // The lab fails at 1 s and is repaired at 1.5 s; cut at 1.2 s, only the failure happened.
    let lab = lab_file("short");
    let plan = Plan {
        seeds: vec![1, 2],
        axes: Vec::new(),
        shard: None,
        duration: Some(1_200_000_000),
        budget: None,
    };
    let combos = sweep::run(&lab, &plan, 1, &|_| {}).unwrap();
    std::fs::remove_file(&lab).ok();
    let faults: Vec<&str> = combos[0]
        .aggregate
        .faults
        .iter()
        .map(|f| f.fault.as_str())
        .collect();
    assert_eq!(faults, ["link wire down"]);
    // 120 probes per run until 1.2 s, a few still unanswered when it ends.
    let probe = &combos[0].aggregate.apps[0];
    assert_eq!(probe.sent, 240);
}
