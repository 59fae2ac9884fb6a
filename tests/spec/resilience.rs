//! `emulate resilience`: every single failure of a lab, one run each, ranked per app, with the
//! single points of failure.

use hybridlab::drivers::resilience::{self, Analysis, Kind, Plan};
use std::collections::BTreeSet;
use std::path::Path;

/// A shipped lab's path.
fn path(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("topologies")
        .join(file)
}

fn analyse(file: &str, plan: &Plan, threads: usize) -> Analysis {
    resilience::analyse(&path(file), &[], plan, None, threads, &|_| {})
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn short() -> Plan {
    Plan {
        hold: 3_000_000_000,
        ..Plan::default()
    }
}

fn spofs(a: &Analysis, app: &str) -> BTreeSet<String> {
    a.single_points_of_failure
        .iter()
        .filter(|(x, _)| x == app)
        .map(|(_, c)| c.clone())
        .collect()
}

/// In a chain without redundancy every component on an app's path is a single point of
/// failure for it, and nothing off its path is.
#[test]
fn on_a_chain_every_component_on_an_apps_path_and_nothing_else_is_a_single_point_of_failure() {
    let a = analyse("three-hop.ron", &short(), 0);
    assert_eq!(a.outcomes.len(), 6);
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // probe runs a2 → b1, bulk a1 → b1 (three-hop.ron).
    assert_eq!(
        spofs(&a, "probe"),
        set(&["lan-a2", "wan", "lan-b1", "r1", "r2"])
    );
    assert_eq!(
        spofs(&a, "bulk"),
        set(&["lan-a1", "wan", "lan-b1", "r1", "r2"])
    );
    // The failure happens after the last app started, and the repair `hold` later.
    assert_eq!(a.repair_at_us - a.fail_at_us, 3e6);
    // Ranked worst first: the unrecovered first.
    for (_, rows) in &a.ranking {
        let first_recovered = rows.iter().position(|r| r.recovered).unwrap_or(rows.len());
        assert!(rows[first_recovered..].iter().all(|r| r.recovered));
    }
}

/// The analysis is the same to the byte on any number of threads.
#[test]
fn the_analysis_is_byte_identical_for_any_thread_count() {
    let json =
        |threads| serde_json::to_string(&analyse("three-hop.ron", &short(), threads)).unwrap();
    assert_eq!(json(1), json(2));
}

/// On the headline lab the circuit's primary link fails and traffic moves: an outage, but
/// recovered before the repair, and no longer than BFD's detection plus the reconvergence.
#[test]
fn the_headline_labs_primary_link_is_survived() {
    let lab = hybridlab::input::load(&path("er-vpn-failover.ron")).unwrap();
    let plan = Plan {
        only: vec![Kind::Link],
        skip: lab
            .links
            .iter()
            .map(|l| l.name.clone())
            .filter(|n| n != "er-primary")
            .collect(),
        ..short()
    };
    let a = analyse("er-vpn-failover.ron", &plan, 0);
    assert_eq!(a.outcomes.len(), 1);
    let probe = a.outcomes[0]
        .effects
        .iter()
        .find(|e| e.app == "probe")
        .unwrap();
    assert!(probe.recovered, "{probe:?}");
    assert!(probe.outage_us > 0.0 && probe.outage_us < 2e6, "{probe:?}");
    assert!(a
        .single_points_of_failure
        .iter()
        .all(|(_, c)| c != "er-primary"));
}

/// The candidates come from the lab after expansion: links, routers, gateways, MSEEs and each
/// BGP session once.
#[test]
fn candidates_cover_every_kind_of_component_and_each_session_once() {
    let lab = hybridlab::input::load(&path("er-vpn-failover.ron")).unwrap();
    let all = resilience::candidates(&lab);
    let count = |k: Kind| all.iter().filter(|c| c.kind == k).count();
    assert_eq!(count(Kind::Link), lab.links.len());
    assert_eq!(count(Kind::Gateway), 2);
    assert_eq!(count(Kind::Msee), 2);
    // The circuit as a whole: both its links at once.
    assert_eq!(count(Kind::Circuit), 1);
    let er = all.iter().find(|c| c.kind == Kind::Circuit).unwrap();
    assert_eq!(
        (er.name.as_str(), er.fail.len(), er.repair.len()),
        ("er", 2, 2)
    );
    let sessions: usize = lab
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            hybridlab::lab::model::NodeKind::Router(r) => r.bgp.as_ref(),
            _ => None,
        })
        .map(|b| b.sessions.len())
        .sum();
    assert_eq!(count(Kind::BgpSession) * 2, sessions);
    let names: BTreeSet<&str> = all.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), all.len(), "candidate names are unique");
    // The VNet is the platform's fabric, not a router that fails; its gateways are candidates.
    assert!(!names.contains("vnet"));
    assert!(names.contains("ergw") && names.contains("vpngw"));
}

/// Narrowing names what does not exist instead of running nothing.
#[test]
fn an_unknown_kind_or_skipped_name_is_refused_with_what_exists() {
    let e = Kind::parse("circuit-thing").unwrap_err();
    assert!(
        e.contains("link, peering, circuit, peering-location, router, gateway, msee, bgp-session"),
        "{e}"
    );
    let lab = hybridlab::input::load(&path("three-hop.ron")).unwrap();
    let plan = Plan {
        skip: vec!["wna".into()],
        ..Plan::default()
    };
    let e = plan.select(&lab).unwrap_err();
    assert!(e.contains("'wna'") && e.contains("wan"), "{e}");
}

/// Global Reach joins two circuits at two peering locations: losing either location or either
/// circuit stops the site-to-site flows that cross it, and an app the design keeps off every
/// path (the VNet behind the other circuit) has nothing a failure could take away.
#[test]
fn a_peering_location_takes_its_circuits_and_global_reach_with_it() {
    let plan = Plan {
        only: vec![Kind::Circuit, Kind::PeeringLocation],
        hold: 10_000_000_000,
        ..Plan::default()
    };
    let a = analyse("global-reach.ron", &plan, 0);
    let names = |app| spofs(&a, app).into_iter().collect::<Vec<_>>();
    assert_eq!(names("bulk"), ["Amsterdam", "London", "er-ams", "er-lon"]);
    assert_eq!(
        names("ams-to-lon"),
        ["Amsterdam", "London", "er-ams", "er-lon"]
    );
    let kept_off = a.baseline.iter().find(|e| e.app == "lon-to-vnet").unwrap();
    assert!(!kept_off.recovered);
    assert!(names("lon-to-vnet").is_empty());
}

/// `NoSinglePointOfFailure` and `WorstOutage` are checked by the analysis, which exits 1 when
/// one misses; a run of the same lab leaves them out.
#[test]
fn resilience_expectations_are_checked_by_the_analysis_and_left_out_of_a_run() {
    let dir = std::env::temp_dir().join(format!("hybridlab-resilience-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(path("three-hop.ron"))
        .unwrap()
        .replacen(
            "expect: [",
            r#"expect: [NoSinglePointOfFailure(app: "probe"), WorstOutage(app: "web", max: "5s"),"#,
            1,
        );
    let lab_file = dir.join("three-hop-spof.ron");
    std::fs::write(&lab_file, text).unwrap();
    let a = resilience::analyse(&lab_file, &[], &short(), None, 0, &|_| {}).unwrap();
    assert_eq!(a.expectations.len(), 2);
    assert!(
        a.expectations.iter().all(|o| !o.passed),
        "{:?}",
        a.expectations
    );
    assert!(
        a.expectations[0].measured.contains("wan"),
        "{:?}",
        a.expectations[0]
    );
    assert!(
        a.expectations[1].measured.contains("not recovered"),
        "{:?}",
        a.expectations[1]
    );
    // The CLI exits 1 and writes one JUnit test case each.
    let junit = dir.join("res.xml");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args(["resilience", "-q", "--hold", "3s", "--junit"])
        .arg(&junit)
        .arg(&lab_file)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .matches("<testcase")
            .count(),
        2
    );
    // A run checks only the lab's other expectations, and meets them.
    let lab = hybridlab::input::load(&lab_file).unwrap();
    let results = hybridlab::sim::run(&lab);
    use hybridlab::analysis::Summarize;
    let outcomes = hybridlab::analysis::expect::check(&lab, &results.summary(None));
    assert_eq!(outcomes.len(), lab.expectations.len() - 2);
    assert!(outcomes.iter().all(|o| o.passed));
    std::fs::remove_dir_all(&dir).unwrap();
}
