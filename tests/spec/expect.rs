//! Expectations: what a lab says must hold. A miss exits 1, lists the measured value and the
//! bound, and shows in JUnit XML; every shipped lab carries expectations that hold.

use crate::common;
use common::*;
use hybridlab::analysis::Summarize;
use std::process::Command;

fn emulate(args: &[&str], lab: &str, tag: &str) -> (i32, String) {
    let path =
        std::env::temp_dir().join(format!("hybridlab-expect-{}-{tag}.ron", std::process::id()));
    std::fs::write(&path, lab).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args(args)
        .arg(&path)
        .output()
        .expect("emulate runs");
    std::fs::remove_file(&path).ok();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (out.status.code().unwrap(), text)
}

/// Probes over 5 ms each way; the link fails from 1 s to 1.5 s; with the given expectations.
fn lab_expecting(expect: &str) -> String {
    two_hosts(
        "3s",
        r#"delay: "5ms""#,
        ("", ""),
        r#"(name: "probe", from: "a", to: "b", traffic: UdpProbe(interval: "10ms"))"#,
    )
    .replace(
        "apps: [",
        &format!(
            "{}\n    expect: [{expect}],\n    apps: [",
            wire_outage("1s", "1.5s")
        ),
    )
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn every_shipped_lab_meets_its_expectations() {
    for path in shipped_labs() {
        let lab = hybridlab::input::load(&path).unwrap();
        assert!(
            !lab.expectations.is_empty(),
            "{} states what must hold",
            path.display()
        );
        let summary = hybridlab::sim::run(&lab).summary(None);
        for o in hybridlab::analysis::expect::check(&lab, &summary) {
            assert!(
                o.passed,
                "{}: {} measured {}",
                path.display(),
                o.expectation,
                o.measured
            );
        }
    }
}

#[test]
fn a_missed_expectation_exits_1_and_says_what_was_measured() {
    let lab = lab_expecting(
        r#"Latency(app: "probe", percentile: 99, max: "5ms"), Outage(app: "probe", fault: "link wire down", max: "1s")"#,
    );
    let junit = std::env::temp_dir().join(format!("hybridlab-expect-{}.xml", std::process::id()));
    let (code, text) = emulate(&["--junit", junit.to_str().unwrap()], &lab, "miss");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("expectations: 1 of 2 held"), "{text}");
    assert!(
        text.contains("MISS probe p99 latency at most 5ms: measured 10ms"),
        "{text}"
    );
    assert!(
        text.contains("ok   probe outage after 'link wire down' at most 1s"),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    std::fs::remove_file(&junit).ok();
    assert!(
        xml.contains(r#"<testsuite name="two-hosts" tests="2" failures="1">"#),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"measured 10ms\"/>"),
        "{xml}"
    );
    // Quiet runs still tell what was missed.
    let (code, text) = emulate(&["--quiet"], &lab, "quiet");
    assert_eq!(code, 1);
    assert!(text.contains("MISS"), "{text}");
    // Held expectations exit 0.
    let ok = lab_expecting(r#"Outage(app: "probe", fault: "link wire down", max: "1s")"#);
    assert_eq!(emulate(&["--quiet"], &ok, "ok").0, 0);
}

#[test]
fn expectations_must_name_what_the_lab_has() {
    for (expect, words) in [
        (
            r#"Outage(app: "prob", fault: "link wire down", max: "1s")"#,
            "unknown app 'prob' (did you mean 'probe'?)",
        ),
        (
            r#"Outage(app: "probe", fault: "link wir down", max: "1s")"#,
            "unknown fault 'link wir down' (did you mean 'link wire down'?)",
        ),
        (
            r#"Latency(app: "probe", percentile: 95, max: "1s")"#,
            "percentile 95 is not one of",
        ),
        (
            r#"Latency(app: "probe", phase: "middle", percentile: 99, max: "1s")"#,
            "unknown phase 'middle'",
        ),
        (
            r#"Goodput(app: "probe", min: "1Mbps")"#,
            "app 'probe' is udp-probe: goodput is measured for bulk TCP",
        ),
    ] {
        let (code, text) = emulate(&["check"], &lab_expecting(expect), "bad");
        assert_eq!(code, 2, "{expect}: {text}");
        assert!(text.contains(words), "{expect}: {text}");
    }
}

#[test]
fn a_sweep_counts_the_seeds_that_meet_every_expectation() {
    // Never met: the probes lose half a second in every run.
    let never = lab_expecting(r#"Outage(app: "probe", fault: "link wire down", max: "100ms")"#);
    let (code, text) = emulate(
        &["sweep", "--seeds", "1..=3", "--threads", "2"],
        &never,
        "never",
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("expectations: 0 of 3 runs met all (at least 100% must): MISSED"),
        "{text}"
    );
    // ... unless the lab asks for none of its seeds to pass.
    let lenient = never.replace("expect: [", "expect_pass: 0.0, expect: [");
    let (code, text) = emulate(&["sweep", "--seeds", "1..=3"], &lenient, "lenient");
    assert_eq!(code, 0, "{text}");
}

#[test]
fn an_expectation_about_a_fault_after_the_runs_end_is_not_reached_not_missed() {
    // The outage bound would miss; `--duration` ends the run before the fault at 1 s.
    let lab = lab_expecting(r#"Outage(app: "probe", fault: "link wire down", max: "100ms")"#);
    let junit = std::env::temp_dir().join(format!(
        "hybridlab-expect-{}-skipped.xml",
        std::process::id()
    ));
    let (code, text) = emulate(
        &[
            "run",
            "--duration",
            "900ms",
            "--junit",
            junit.to_str().unwrap(),
        ],
        &lab,
        "short",
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("skip probe outage after 'link wire down' at most 100ms: not reached (run ends at 900ms)"),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    std::fs::remove_file(&junit).ok();
    assert!(
        xml.contains(r#"failures="0" skipped="1""#)
            && xml.contains(r#"<skipped message="not reached (run ends at 900ms)"/>"#),
        "{xml}"
    );
    // Reached, it misses as before; and a sweep cut short says how many runs never reached it.
    let (code, _) = emulate(&["run"], &lab, "full");
    assert_eq!(code, 1);
    let (code, text) = emulate(
        &["sweep", "--seeds", "1..=2", "--duration", "900ms"],
        &lab,
        "sweep-short",
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("not reached in 2 of 2 runs (they end before its fault)"),
        "{text}"
    );
}
