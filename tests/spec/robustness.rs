//! Never a panic, on any input: mutated lab files either load or give an error, and those that
//! load run (briefly) without panicking.

use crate::common;
use hybridlab::analysis::Summarize;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Deletes, duplicates or replaces a short span of `text`, on character boundaries.
fn mutate(text: &str, rng: &mut ChaCha8Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = rng.random_range(0..chars.len());
    let len = rng.random_range(1..=12).min(chars.len() - at);
    let mut out: Vec<char> = chars[..at].to_vec();
    match rng.random_range(0..4) {
        0 => {}
        1 => out.extend_from_slice(&chars[at..at + len]),
        2 => out.extend(std::iter::repeat_n(
            ['0', '9', '"', ',', ')', '(', '-', '.', 'x'][rng.random_range(0..9)],
            len,
        )),
        _ => {
            out.extend_from_slice(&chars[at..at + len]);
            out.extend_from_slice(&chars[at..at + len]);
        }
    }
    let rest = if rng.random_bool(0.5) { at + len } else { at };
    out.extend_from_slice(&chars[rest..]);
    out.into_iter().collect()
}

/// Every infrastructure file the tests and labs read: templates, parameters, resource JSON,
/// Terraform states and plans.
fn design_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![root.join("tests/iac"), root.join("topologies/iac")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "json" || x == "tfstate") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Mutated infrastructure files are imported or refused with a message, never a panic, and
/// the labs printed from those that import load or are refused, never panic. Overflow checks
/// are on in the test profile.
#[test]
fn mutated_designs_never_panic() {
    let files = design_files();
    assert!(files.len() >= 6, "{files:?}");
    let dir =
        std::env::temp_dir().join(format!("hybridlab-mutated-designs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut imported, mut refused) = (0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let target = dir.join(file.file_name().unwrap());
        for _ in 0..if long_run() { 1000 } else { 100 } {
            let broken = mutate(&text, &mut rng);
            std::fs::write(&target, &broken).unwrap();
            let result =
                std::panic::catch_unwind(|| hybridlab::import::import_file(&target, None, &[]));
            let Ok(result) = result else {
                panic!("importing {} panicked on:\n{broken}", file.display());
            };
            match result {
                Err(e) => {
                    refused += 1;
                    assert!(!e.to_string().is_empty());
                }
                Ok(lab) => {
                    imported += 1;
                    let loaded = std::panic::catch_unwind(|| {
                        hybridlab::input::load_str(&lab, Path::new("printed.ron")).map(|_| ())
                    });
                    assert!(
                        loaded.is_ok(),
                        "loading the lab printed from a mutant of {} panicked:\n{lab}",
                        file.display()
                    );
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    eprintln!("imported {imported}, refused {refused}");
    assert!(
        imported > 0 && refused > 0,
        "imported {imported}, refused {refused}"
    );
}

#[test]
fn mutated_labs_never_panic() {
    let files = common::shipped_labs();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut loaded, mut rejected, mut ran) = (0, 0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for _ in 0..if long_run() { 1500 } else { 150 } {
            let broken = mutate(&text, &mut rng);
            let result = std::panic::catch_unwind(|| hybridlab::input::load_str(&broken, file));
            let Ok(result) = result else {
                panic!("loading panicked on:\n{broken}");
            };
            match result {
                Err(e) => {
                    rejected += 1;
                    assert!(!e.to_string().is_empty());
                }
                Ok(mut lab) => {
                    loaded += 1;
                    if ran < 400 {
                        ran += 1;
                        lab.duration = lab.duration.min(1_000_000_000);
                        for a in &mut lab.apps {
                            a.stop = a.stop.min(lab.duration);
                            a.start = a.start.min(a.stop.saturating_sub(1));
                        }
                        let run =
                            std::panic::catch_unwind(|| hybridlab::sim::run(&lab).summary(None));
                        assert!(run.is_ok(), "running panicked on:\n{broken}");
                    }
                }
            }
        }
    }
    eprintln!("loaded {loaded}, rejected {rejected}, ran {ran}");
    assert!(
        loaded > 0 && rejected > 0,
        "loaded {loaded}, rejected {rejected}"
    );
}

/// A number in a lab file: where it is, and whether it is a quoted value with a unit (and
/// which base unit), a bare integer or a bare decimal.
#[derive(Debug, Clone, Copy)]
enum Number {
    /// `"12ms"`: the span of the digits, and the smallest unit of its kind.
    WithUnit(usize, usize, &'static str),
    Integer(usize, usize),
    Decimal(usize, usize),
}

/// Every number of `text` outside comments and addresses.
fn numbers(text: &str) -> Vec<Number> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                let end = i + 1 + text[i + 1..].find('"').unwrap_or(0);
                let s = &text[i + 1..end];
                let digits = s
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(s.len());
                let unit = &s[digits..];
                let base = match unit {
                    "ns" | "us" | "ms" | "s" | "min" | "h" => Some("ns"),
                    u if u.to_ascii_lowercase().ends_with("bps") => Some("bps"),
                    "B" | "KB" | "kB" | "MB" | "GB" | "KiB" | "MiB" | "GiB" => Some("B"),
                    _ => None,
                };
                if let Some(base) =
                    base.filter(|_| digits > 0 && s[..digits].matches('.').count() <= 1)
                {
                    out.push(Number::WithUnit(i + 1, i + 1 + digits, base));
                }
                i = end + 1;
            }
            c if c.is_ascii_digit() && i > 0 && matches!(b[i - 1], b' ' | b'(' | b'[') => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                if text[start..i].contains('.') {
                    out.push(Number::Decimal(start, i));
                } else {
                    out.push(Number::Integer(start, i));
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The lab `text` with number `n` replaced by each extreme value of its kind.
fn extremes(text: &str, n: Number) -> Vec<String> {
    let replace =
        |from: usize, to: usize, with: &str| format!("{}{with}{}", &text[..from], &text[to..]);
    match n {
        Number::WithUnit(from, to, base) => {
            let unit_end = from + text[from..].find('"').unwrap();
            let mut v: Vec<String> = [
                "0",
                "1",
                "18446744073709551615",
                "18446744073709551616",
                "99999999999999999999999999999999999999",
                "NaN",
                "inf",
                "-1",
                "1e400",
                "0.0000000001",
            ]
            .iter()
            .map(|x| replace(from, to, x))
            .collect();
            for x in ["1", "18446744073709551615", "18446744073709551616"] {
                v.push(replace(from, unit_end, &format!("{x}{base}")));
            }
            v
        }
        Number::Integer(from, to) => [
            "0",
            "1",
            "255",
            "65535",
            "65536",
            "4294967296",
            "18446744073709551615",
            "18446744073709551616",
            "-1",
        ]
        .iter()
        .map(|x| replace(from, to, x))
        .collect(),
        Number::Decimal(from, to) => ["NaN", "inf", "-inf", "-0.5", "0.0", "1.0", "2.0", "1e308"]
            .iter()
            .map(|x| replace(from, to, x))
            .collect(),
    }
}

/// How long one accepted mutant may take before it counts as a hang.
const WALL_BOUND: std::time::Duration = std::time::Duration::from_secs(60);

/// `HYBRIDLAB_MUTANTS=long`: the longer run README describes (every mutant for its whole
/// duration, and ten times the random mutations).
fn long_run() -> bool {
    std::env::var("HYBRIDLAB_MUTANTS").is_ok_and(|v| v == "long")
}

/// Runs `lab` in a thread with a wall-time bound, for its first 2 s of virtual time (all of it
/// in the long run): `Err` on a panic, a stall or a hang.
fn run_bounded(mut lab: hybridlab::lab::model::Lab) -> Result<(), String> {
    if !long_run() {
        lab.cut_short(lab.duration.min(2_000_000_000));
    }
    run_whole(lab)
}

/// The shipped labs, and `tests/labs/every-field.ron`, which sets every numeric field of the
/// format, in name order.
fn lab_files() -> Vec<std::path::PathBuf> {
    let mut files = common::shipped_labs();
    files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/labs/every-field.ron"));
    files
}

/// Every number of every shipped lab, and of a lab that sets every numeric field, set to each
/// extreme of its kind: each mutant is refused with a message or runs, within a wall-time
/// bound, without a panic, a stall or a hang. Overflow checks are on in the test profile, so
/// wrapping arithmetic panics here.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn extreme_numbers_in_every_field_are_refused_or_run() {
    let budget = hybridlab::lab::budget::Budget::for_this_machine();
    let files = lab_files();
    let (mut refused, mut accepted, mut ran, mut fields) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for n in numbers(&text) {
            fields += 1;
            for mutant in extremes(&text, n) {
                let loaded = std::panic::catch_unwind(|| {
                    let lab = hybridlab::input::load_str(&mutant, file)?;
                    hybridlab::lab::budget::admit(&lab, Path::new("m.ron"), &budget)?;
                    Ok::<_, hybridlab::lab::LabError>(lab)
                });
                let Ok(loaded) = loaded else {
                    failures.push(format!("{}: loading panicked on {n:?}", file.display()));
                    continue;
                };
                match loaded {
                    Err(e) => {
                        refused += 1;
                        let message = e.to_string();
                        assert!(!message.is_empty() && !message.contains("panicked"));
                    }
                    Ok(lab) => {
                        accepted += 1;
                        ran += 1;
                        if let Err(e) = run_bounded(lab) {
                            failures.push(format!("{}: {e} on {n:?}", file.display()));
                        }
                    }
                }
            }
        }
    }
    eprintln!("{fields} numbers: {refused} mutants refused, {accepted} accepted, {ran} run");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(fields > 100 && refused > 0 && accepted > 0 && ran > 0);
}

/// The watchdog, held to a yardstick far below what a bulk transfer needs, stops the run and
/// names what dominated: the run ends early with the reason in its results and report.
#[test]
fn a_run_far_above_its_estimated_rate_is_stopped_naming_the_component() {
    let text = common::two_hosts(
        "2s",
        r#"delay: "1ms", rate: "100Mbps""#,
        ("", ""),
        r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
    );
    let lab = common::lab(&text);
    let mut sim = hybridlab::sim::Sim::new(&lab);
    sim.set_watchdog(hybridlab::sim::Watchdog::with_window(
        1_000.0,
        lab.nodes.len(),
        lab.links.len(),
        1024,
        4,
    ));
    sim.run_until(lab.duration);
    let halt = sim.halt().expect("stopped").clone();
    let at = halt.at();
    assert!(at > 0 && at < lab.duration, "{at}");
    let message = halt.describe(&lab);
    assert!(
        message.contains("a storm of events stopped the run")
            && message.contains("link 'wire' carried packets"),
        "{message}"
    );
    let results = sim.finish();
    assert_eq!(results.stalled_at, Some(at));
    let report = hybridlab::export::report::render(&results.summary(None));
    assert!(
        report.contains("STOPPED at") && report.contains("link 'wire'"),
        "{report}"
    );
}

/// Virtual time each fault mutant runs for: past a point-to-site client's 5 s connect retry
/// and a few BGP connect retries, so a component that storms once its first timer fires is
/// caught here.
const FAULT_RUN: u64 = 12_000_000_000;
/// When a mutant's failed link or node comes back.
const FAULT_UP: u64 = 6_000_000_000;

/// Every shipped lab and `tests/labs/every-field.ron`, loaded (expanded and validated).
fn every_lab() -> Vec<(String, hybridlab::lab::model::Lab)> {
    lab_files()
        .iter()
        .map(|f| {
            let lab = hybridlab::input::load(f).unwrap_or_else(|e| panic!("{e}"));
            (f.file_name().unwrap().to_string_lossy().into_owned(), lab)
        })
        .collect()
}

/// Runs each mutant `edit` makes of every lab (for its first [`FAULT_RUN`], under a wall-time
/// bound, with overflow checks and the wake-up rule's assertions on) and fails listing every
/// one that panicked, stalled, stormed or hung.
fn run_mutants(
    kind: &str,
    edit: impl Fn(&hybridlab::lab::model::Lab) -> Vec<(String, hybridlab::lab::model::Lab)>,
) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (file, lab) in every_lab() {
        for (what, mut mutant) in edit(&lab) {
            mutant.cut_short(mutant.duration.min(FAULT_RUN));
            mutant.faults.sort_by_key(|f| f.at);
            ran += 1;
            if let Err(e) = run_whole(mutant) {
                failures.push(format!("{file}, {what}: {e}"));
            }
        }
    }
    assert!(ran > 0);
    assert!(
        failures.is_empty(),
        "{kind}: {} of {ran} mutants failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{kind}: {ran} mutants ran");
}

/// Runs `lab` whole in a thread with a wall-time bound, rendering its report and JSON: `Err`
/// on a panic, an early stop (the reason) or a hang.
fn run_whole(lab: hybridlab::lab::model::Lab) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            let results = hybridlab::sim::run(&lab);
            let summary = results.summary(None);
            let _ = hybridlab::export::report::render(&summary);
            let _ = serde_json::to_string(&summary);
            results.stopped_because
        });
        let _ = tx.send(outcome);
    });
    match rx.recv_timeout(WALL_BOUND) {
        Ok(Ok(None)) => Ok(()),
        Ok(Ok(Some(why))) => Err(why),
        Ok(Err(_)) => Err("running panicked".into()),
        Err(_) => Err(format!("running took more than {WALL_BOUND:?}: a hang")),
    }
}

/// `lab` with a fault `down` at 0 s and its repair `up` at [`FAULT_UP`], named `what`.
fn down_then_up(
    lab: &hybridlab::lab::model::Lab,
    what: String,
    down: hybridlab::lab::model::FaultKind,
    up: hybridlab::lab::model::FaultKind,
) -> (String, hybridlab::lab::model::Lab) {
    let fault = |at, action| hybridlab::lab::model::Fault {
        at,
        action,
        label: "mutant".into(),
        continues: false,
    };
    let mut m = lab.clone();
    m.faults.push(fault(0, down));
    m.faults.push(fault(FAULT_UP, up));
    (format!("{what} down 0-6 s"), m)
}

/// Each link of every lab down from 0 s and up again later: connections that cannot start,
/// sessions that wait, tunnels that retry; the run ends on time.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn every_link_down_at_start_then_up_runs_to_its_end() {
    use hybridlab::lab::model::FaultKind;
    run_mutants("link down at 0 s", |lab| {
        lab.link_ids()
            .map(|l| {
                let state = |up| FaultKind::LinkState { link: l, up };
                let what = format!("link '{}'", lab.links[l].name);
                down_then_up(lab, what, state(false), state(true))
            })
            .collect()
    });
}

/// Each link of every lab losing every packet, both ways, for the whole run.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn every_link_losing_everything_runs_to_its_end() {
    use hybridlab::substrate::link::LossSpec;
    run_mutants("100% loss", |lab| {
        lab.link_ids()
            .map(|l| {
                let mut m = lab.clone();
                for d in &mut m.links[l].dirs {
                    d.loss = LossSpec::Bernoulli(1.0);
                }
                (format!("link '{}' losing 100%", lab.links[l].name), m)
            })
            .collect()
    });
}

/// Each gateway instance of every lab (a router with a SKU) down from 0 s and back later.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn every_gateway_instance_down_at_start_runs_to_its_end() {
    use hybridlab::lab::model::{FaultKind, NodeKind};
    run_mutants("gateway instance down at 0 s", |lab| {
        lab.node_ids()
            .filter(|&n| matches!(&lab.nodes[n].kind, NodeKind::Router(r) if r.capacity.is_some()))
            .map(|n| {
                let state = |up| FaultKind::NodeState { node: n, up };
                let what = format!("gateway instance '{}'", lab.nodes[n].name);
                down_then_up(lab, what, state(false), state(true))
            })
            .collect()
    });
}
