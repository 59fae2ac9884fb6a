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
    // Where the traffic was lost, from the routers' own counters: r1 keeps sending into the
    // failed WAN link (a static route, nothing else to take).
    let wan = a.outcomes.iter().find(|o| o.candidate == "wan").unwrap();
    assert_eq!(
        (wan.drops[0].router.as_str(), wan.drops[0].cause.as_str()),
        ("r1", "link down")
    );
    assert!(wan.drops[0].packets > 100, "{:?}", wan.drops);
    // Which path the app had, and where it stops while the WAN is failed: the run's own
    // tables just before the failure and just before the repair.
    let probe = wan.effects.iter().find(|e| e.app == "probe").unwrap();
    assert_eq!(probe.path_before, "a2 > r1 > r2 > b1");
    assert_eq!(
        probe.path_while_failed,
        "a2 > stops at 'r1': every next hop's link is down"
    );
    let r2 = a.outcomes.iter().find(|o| o.candidate == "r2").unwrap();
    assert_eq!(
        r2.effects
            .iter()
            .find(|e| e.app == "bulk")
            .unwrap()
            .path_before,
        "a1 > r1 > r2 > b1"
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
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn the_headline_labs_primary_link_is_survived() {
    let lab = hybridlab::input::load(&path("er-vpn-failover.ron")).unwrap();
    let plan = Plan {
        only: vec![Kind::CircuitLink],
        skip: lab
            .links
            .iter()
            .map(|l| l.name.clone())
            .filter(|n| n == "er-secondary")
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
    let all = resilience::candidates(&lab, resilience::DEGRADE);
    let count = |k: Kind| all.iter().filter(|c| c.kind == k).count();
    // Every link once, by what it is: the circuit's two paths, the platform's own links (the
    // VNet's fabric, gateways and MSEEs) and the customer's and the internet's.
    assert_eq!(
        count(Kind::Link)
            + count(Kind::CircuitLink)
            + count(Kind::PlatformLink)
            + count(Kind::InternetPath),
        lab.links.len()
    );
    let named = |k: Kind| -> BTreeSet<&str> {
        all.iter()
            .filter(|c| c.kind == k)
            .map(|c| c.name.as_str())
            .collect()
    };
    assert_eq!(
        named(Kind::CircuitLink),
        BTreeSet::from(["er-primary", "er-secondary"])
    );
    assert_eq!(named(Kind::Link), BTreeSet::from(["lan", "vpngw-internet"]));
    // The edge's line to the internet carries the VPN: the site's internet path, which also
    // degrades.
    assert_eq!(named(Kind::InternetPath), BTreeSet::from(["isp-onprem"]));
    assert_eq!(named(Kind::DegradedPath), BTreeSet::from(["edge:degraded"]));
    assert_eq!(count(Kind::Gateway), 2);
    // The VPN gateway also goes down for planned maintenance; the ExpressRoute gateway is
    // failed through its circuit in a lab, and has no such candidate.
    assert_eq!(
        named(Kind::GatewayMaintenance),
        BTreeSet::from(["vpngw-maintenance"])
    );
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
        e.contains("link, circuit-link, internet-path, degraded-path, platform-link, peering, circuit, peering-location, router, gateway, gateway-maintenance, msee, bgp-session"),
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
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
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

/// Writes `text` as a lab file of its own, for a test to analyse.
fn lab_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hybridlab-resilience-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

/// three-hop.ron with `extra` written before its expectations.
fn three_hop_with(name: &str, extra: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(path("three-hop.ron"))
        .unwrap()
        .replacen("expect: [", &format!("{extra}\n    expect: ["), 1);
    lab_file(name, &text)
}

/// A VPN gateway instance fails as a lab's `GatewayFailure` makes it fail. Unplanned, the
/// platform drops it at once but the site waits for DPD, longer than the failure lasts: the
/// flows on it are down until the repair. Planned, it closes its sessions first and the edge
/// moves them to the other instance at once; the standby's takeover is the repair.
#[test]
fn a_vpn_gateway_instance_fails_unplanned_and_for_planned_maintenance_as_the_platform_does() {
    let plan = Plan {
        only: vec![Kind::Gateway, Kind::GatewayMaintenance],
        ..Plan::default()
    };
    let a = analyse("vpn-active-active.ron", &plan, 0);
    let outcome = |name: &str| a.outcomes.iter().find(|o| o.candidate == name).unwrap();
    for planned in ["vpngw-in0-maintenance", "vpngw-in1-maintenance"] {
        let o = outcome(planned);
        assert!(
            o.effects.iter().all(|e| e.recovered && e.outage_us < 2e6),
            "{o:?}"
        );
        // The gateway's planned failover (15 s by default), sooner than the 30 s hold.
        assert_eq!(o.repair_at_us - a.fail_at_us, 15e6);
    }
    for (unplanned, hit) in [("vpngw-in0", "p4"), ("vpngw-in1", "p1")] {
        let o = outcome(unplanned);
        assert_eq!(
            o.repair_at_us - a.fail_at_us,
            30e6,
            "the hold, before the 60 s takeover"
        );
        let e = o.effects.iter().find(|e| e.app == hit).unwrap();
        assert!(!e.recovered && e.outage_us > 29e6, "{e:?}");
        assert!(a
            .single_points_of_failure
            .contains(&(hit.to_string(), unplanned.to_string())));
    }
}

/// A run ends once every app delivers again and routes have been quiet for a while: what a
/// full run would have found (each app's outage, losses, recovery) is found the same.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn ending_a_run_once_traffic_has_settled_changes_no_finding() {
    let lab = hybridlab::input::load(&path("er-vpn-failover.ron")).unwrap();
    let mut quiet = lab.clone();
    quiet.faults.clear();
    let settled = resilience::converged(&quiet);
    assert!(
        settled.flowing.iter().all(|&f| f),
        "every app flows without failures"
    );
    let fail_at = settled.at.max(5_000_000_000) + resilience::MARGIN;
    let hold = 10_000_000_000;
    let mut base = lab.clone();
    base.faults.clear();
    base.cut_short(fail_at + hold + resilience::SETTLE);
    let all = resilience::candidates(&lab, resilience::DEGRADE);
    for name in ["er-primary", "er", "vpngw", "edge–er-msee2", "ergw-vnet"] {
        let c = all.iter().find(|c| c.name == name).unwrap();
        let (full, _) = resilience::run_candidate(&base, c, fail_at, hold, None);
        let (early, _) = resilience::run_candidate(&base, c, fail_at, hold, Some(&settled.flowing));
        let findings = |o: &resilience::Outcome| -> Vec<(f64, u64, bool)> {
            o.effects
                .iter()
                .map(|e| (e.outage_us, e.lost, e.recovered))
                .collect()
        };
        assert_eq!(findings(&full), findings(&early), "{name}");
        if early.effects.iter().all(|e| e.recovered) {
            assert!(early.end_us < full.end_us, "{name} ended early");
        }
    }
}

/// Expected downtime is each single failure's rate times what it costs the app: the outage
/// it recovered from, or the repair time. The lab's entries replace the defaults by kind and
/// by candidate, and `Availability` holds the result to a bound.
#[test]
fn expected_downtime_is_each_failures_rate_times_what_it_costs_the_app() {
    let file = three_hop_with(
        "three-hop-reliability.ron",
        r#"reliability: [
        (kind: "link", failures_per_year: 2, repair: "1h"),
        (candidate: "r1", availability: "99.9%", repair: "2h"),
    ],"#,
    );
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        "expect: [",
        r#"expect: [Availability(app: "probe", min: "99.99%"), Availability(app: "web", min: "99%"),"#,
        1,
    );
    std::fs::write(&file, text).unwrap();
    let a = resilience::analyse(&file, &[], &short(), None, 0, &|_| {}).unwrap();
    let rate = |name: &str| a.rates.iter().find(|r| r.candidate == name).unwrap();
    assert_eq!(rate("wan").failures_per_year, 2.0);
    assert_eq!(rate("wan").repair_us, 3600e6);
    // 0.1% of 8760 h is 8.76 h: 4.38 failures of 2 h.
    assert!((rate("r1").failures_per_year - 4.38).abs() < 1e-9);
    assert!(rate("r1").source.contains("reliability 2"));
    // r2 keeps the stated default for a router: once in five years, 4 h.
    assert_eq!(
        (rate("r2").failures_per_year, rate("r2").repair_us),
        (0.2, 4.0 * 3600e6)
    );
    // The probe (a2 → b1) does not survive its three links or either router.
    let probe = a.downtime.iter().find(|d| d.app == "probe").unwrap();
    let expected = 3.0 * 2.0 * 3600.0 + 4.38 * 7200.0 + 0.2 * 14400.0;
    assert!(
        (probe.seconds_per_year.unwrap() - expected).abs() < 1e-6,
        "{probe:?}"
    );
    assert_eq!(probe.contributors[0].candidate, "r1", "the largest first");
    let availability = 1.0 - expected / (8760.0 * 3600.0);
    assert!((probe.availability.unwrap() - availability).abs() < 1e-12);
    // 99.85%: under 99.99%, over 99%.
    assert!(!a.expectations[0].passed && a.expectations[0].measured.contains("r1"));
    assert!(a.expectations[1].passed, "{:?}", a.expectations[1]);
}

/// A `reliability` entry must name a kind that exists, or a candidate the lab has, and say
/// something; what does not is refused with the entry and what exists.
#[test]
fn a_reliability_entry_that_names_nothing_or_says_nothing_is_refused() {
    let bad_kind = three_hop_with(
        "three-hop-bad-kind.ron",
        r#"reliability: [(kind: "lnk", failures_per_year: 1)],"#,
    );
    let e = hybridlab::input::load(&bad_kind).unwrap_err().to_string();
    assert!(
        e.contains("reliability 1") && e.contains("circuit-link"),
        "{e}"
    );
    let empty = three_hop_with(
        "three-hop-empty.ron",
        r#"reliability: [(kind: "link"), (candidate: "wan", failures_per_year: 1, availability: "99.9%", repair: "1h")],"#,
    );
    let e = hybridlab::input::load(&empty).unwrap_err().to_string();
    assert!(
        e.contains("reliability 1") && e.contains("changes nothing"),
        "{e}"
    );
    assert!(e.contains("reliability 2") && e.contains("not both"), "{e}");
    let unknown = three_hop_with(
        "three-hop-unknown.ron",
        r#"reliability: [(candidate: "wna", failures_per_year: 1)],"#,
    );
    let e = resilience::analyse(&unknown, &[], &short(), None, 0, &|_| {}).unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("reliability 1") && e.contains("'wna'") && e.contains("wan"),
        "{e}"
    );
}

/// The headline design's edge carries both the circuit and the VPN, so nothing survives it;
/// the variant with a device for each path survives either, and its expected downtime drops
/// by what the edge cost.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn a_second_edge_device_takes_away_the_headline_designs_single_point_of_failure() {
    let plan = Plan {
        only: vec![Kind::Router, Kind::Circuit],
        hold: 5_000_000_000,
        ..Plan::default()
    };
    let one = analyse("er-vpn-failover.ron", &plan, 0);
    let two = analyse("er-vpn-two-edges.ron", &plan, 0);
    for app in ["probe", "bulk", "web"] {
        assert!(spofs(&one, app).contains("edge"), "{app}");
        let left = spofs(&two, app);
        assert!(
            !left.contains("edge-er") && !left.contains("edge-vpn"),
            "{app}: {left:?}"
        );
        // The circuit's edge costs what the circuit does: BFD, then the VNet's programming.
        let edge_er = two
            .outcomes
            .iter()
            .find(|o| o.candidate == "edge-er")
            .unwrap();
        let e = edge_er.effects.iter().find(|e| e.app == app).unwrap();
        assert!(e.recovered && e.outage_us < 5e6, "{e:?}");
        let downtime = |a: &Analysis| {
            a.downtime
                .iter()
                .find(|d| d.app == app)
                .unwrap()
                .seconds_per_year
                .unwrap()
        };
        // The edge's 0.2 failures a year of 4 h each are gone.
        assert!(downtime(&one) - downtime(&two) > 0.9 * 0.2 * 4.0 * 3600.0);
    }
    // The variant's own resilience expectation holds, the comparison's CLI form prints both.
    assert!(two.met_expectations(), "{:?}", two.expectations);
    let text = resilience::render_comparison(&one, &two, 3);
    assert!(text.contains("er-vpn-failover") && text.contains("er-vpn-two-edges"));
}

/// Every shipped lab analyses cleanly (bounded to the components that fail as a unit, with a
/// short hold): every candidate ran to its end or settled, every app has an outcome, a rank
/// and a downtime figure, every rate says where it comes from, and the lab's resilience
/// expectations hold.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn every_shipped_lab_analyses_cleanly() {
    let plan = Plan {
        only: vec![
            Kind::Circuit,
            Kind::PeeringLocation,
            Kind::Peering,
            Kind::Router,
            Kind::Gateway,
            Kind::GatewayMaintenance,
        ],
        hold: 3_000_000_000,
        ..Plan::default()
    };
    for lab in crate::common::shipped_labs() {
        let a = resilience::analyse(&lab, &[], &plan, None, 0, &|_| {})
            .unwrap_or_else(|e| panic!("{}: {e}", lab.display()));
        let apps = a.baseline.len();
        assert!(apps > 0, "{}", lab.display());
        for o in &a.outcomes {
            assert_eq!(o.effects.len(), apps);
            assert!(o.stopped_because.is_none(), "{}: {o:?}", lab.display());
            assert!(o.end_us <= a.end_us && o.repair_at_us <= a.repair_at_us);
        }
        assert_eq!(a.ranking.len(), apps);
        assert!(a
            .ranking
            .iter()
            .all(|(_, rows)| rows.len() == a.outcomes.len()));
        assert_eq!(a.downtime.len(), apps);
        assert_eq!(a.rates.len(), a.outcomes.len());
        assert!(a.rates.iter().all(|r| !r.source.is_empty()));
        assert!(
            a.met_expectations(),
            "{}: {:?}",
            lab.display(),
            a.expectations
        );
    }
}

/// An analysis split into shards (each runs the baseline and every N-th failure) and merged is
/// the analysis one machine makes, to the byte; a part missing, given twice or of another
/// analysis is refused.
#[test]
fn shards_merge_to_the_analysis_one_machine_makes() {
    let lab = path("three-hop.ron");
    let plan = short();
    let whole = serde_json::to_string(&analyse("three-hop.ron", &plan, 0)).unwrap();
    let part = |k| resilience::run_part(&lab, &[], &plan, None, 1, Some((k, 3)), &|_| {}).unwrap();
    let parts: Vec<resilience::Part> = (1..=3).map(part).collect();
    assert!(parts.iter().all(|p| !p.outcomes.is_empty()));
    // Through JSON, as parts travel between machines, and in any order.
    let travelled: Vec<resilience::Part> = parts
        .iter()
        .rev()
        .map(|p| serde_json::from_str(&serde_json::to_string(p).unwrap()).unwrap())
        .collect();
    let merged = resilience::assemble(travelled).unwrap();
    assert_eq!(serde_json::to_string(&merged).unwrap(), whole);
    let e = resilience::assemble(parts[..2].to_vec()).unwrap_err();
    assert!(e.contains("3/3 are missing"), "{e}");
    let e = resilience::assemble(vec![parts[0].clone(), parts[0].clone(), parts[1].clone()])
        .unwrap_err();
    assert!(e.contains("1/3 is given twice"), "{e}");
    let mut other = parts[1].clone();
    other.seed += 1;
    let e = resilience::assemble(vec![parts[0].clone(), other, parts[2].clone()]).unwrap_err();
    assert!(e.contains("another analysis"), "{e}");
}

/// tools/resilience-parallel.sh: three shards as separate processes under GNU parallel, then
/// `emulate merge`, give what one `emulate resilience --json` writes.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn a_resilience_analysis_run_in_parts_by_gnu_parallel_merges_to_the_single_run() {
    let dir = std::env::temp_dir().join(format!("hybridlab-res-parallel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (whole, merged) = (dir.join("whole.json"), dir.join("merged.json"));
    let lab = path("three-hop.ron");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args(["resilience", "-q", "--hold", "3s", "--json"])
        .arg(&whole)
        .arg(&lab)
        .status()
        .unwrap();
    assert!(status.success());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/resilience-parallel.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg("3")
        .arg(&merged)
        .arg(&lab)
        .args(["--hold", "3s"])
        .env("EMULATE", env!("CARGO_BIN_EXE_emulate"))
        .output()
        .expect("bash runs (GNU parallel is installed by .ci/run)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&merged).unwrap(),
        std::fs::read_to_string(&whole).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--csv` writes one row per candidate and app, after the baseline's, with the rate and what
/// the failure costs the app a year; two labs are put side by side.
#[test]
fn the_cli_writes_csv_and_compares_two_designs() {
    let dir = std::env::temp_dir().join(format!("hybridlab-res-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("r.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args([
            "resilience",
            "--hold",
            "3s",
            "--only",
            "link,router",
            "--csv",
        ])
        .arg(&csv)
        .arg(path("three-hop.ron"))
        .arg(path("point-to-point.ron"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("side by side") && text.contains("expected downtime a year"),
        "{text}"
    );
    let table = std::fs::read_to_string(&csv).unwrap();
    let mut rows = table.lines();
    assert!(rows
        .next()
        .unwrap()
        .starts_with("lab,kind,candidate,app,outage_us"));
    let three_hop: Vec<&str> = rows.filter(|r| r.starts_with("\"three-hop\"")).collect();
    // Three apps: a baseline row each, then six candidates (four links, two routers) each.
    assert_eq!(three_hop.len(), 3 + 6 * 3);
    let wan_probe = three_hop
        .iter()
        .find(|r| r.contains(",\"wan\",\"probe\","))
        .unwrap();
    let cells: Vec<&str> = wan_probe.split(',').collect();
    // Not recovered, a single point of failure; 1 failure a year of 4 h.
    assert_eq!((cells[6], cells[7]), ("false", "true"), "{wan_probe}");
    assert_eq!(cells[15], "14400", "{wan_probe}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// At depth 2 every pair fails at once: the pairs that stop an app although it survives each
/// failure alone are found (both edges of the two-edge design, or the circuit and the VPN's
/// edge), their overlap adds λa·λb·ra·rb a year to the downtime, and more runs than allowed
/// are refused with the count.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn double_failures_find_what_no_single_failure_stops() {
    let plan = Plan {
        only: vec![Kind::Router, Kind::Circuit],
        hold: 5_000_000_000,
        depth: 2,
        ..Plan::default()
    };
    let a = analyse("er-vpn-two-edges.ron", &plan, 0);
    // core, edge-er, edge-vpn, internet and the circuit: 5 single failures, 10 pairs.
    assert_eq!((a.outcomes.len(), a.pairs.len()), (5, 10));
    let doubles: BTreeSet<String> = a
        .double_points_of_failure
        .iter()
        .filter(|(app, _)| app == "probe")
        .map(|(_, p)| p.clone())
        .collect();
    assert!(doubles.contains("edge-er + edge-vpn"), "{doubles:?}");
    assert!(doubles.contains("er + edge-vpn"), "{doubles:?}");
    // `core` stops the probe alone: no pair with it is news.
    assert!(doubles.iter().all(|p| !p.contains("core")), "{doubles:?}");
    let rate = |name: &str| a.rates.iter().find(|r| r.candidate == name).unwrap();
    let (er, ev) = (rate("er"), rate("edge-vpn"));
    let overlap =
        er.failures_per_year * ev.failures_per_year * (er.repair_us / 1e6) * (ev.repair_us / 1e6)
            / (8760.0 * 3600.0);
    let probe = a.downtime.iter().find(|d| d.app == "probe").unwrap();
    let pair = probe
        .contributors
        .iter()
        .find(|c| c.candidate == "er + edge-vpn")
        .unwrap();
    assert!((pair.seconds_per_year - overlap).abs() < 1e-9, "{pair:?}");
    assert!(probe.from_pairs >= overlap);
    // Refused beyond --max-runs, before anything runs.
    let e = resilience::analyse(
        &path("er-vpn-two-edges.ron"),
        &[],
        &Plan {
            max_runs: 10,
            ..plan
        },
        None,
        0,
        &|_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("5 single failures and 10 pairs: 15 runs") && e.contains("--max-runs 10"),
        "{e}"
    );
}

/// A site's internet path is the link its VPN tunnel leaves by: down, nothing of a VPN-only
/// site gets through until it is back; degraded (`--degrade`), traffic flows with the loss and
/// the delay added to each direction.
#[test]
fn a_sites_internet_path_fails_and_degrades() {
    let plan = Plan {
        only: vec![Kind::InternetPath, Kind::DegradedPath],
        hold: 10_000_000_000,
        degrade: "loss=0%,delay=+40ms".parse().unwrap(),
        ..Plan::default()
    };
    let a = analyse("s2s-vpn.ron", &plan, 0);
    let names: Vec<&str> = a.outcomes.iter().map(|o| o.candidate.as_str()).collect();
    assert_eq!(names, ["isp-onprem", "onprem-vpn:degraded"]);
    assert!(spofs(&a, "probe").contains("isp-onprem"));
    let rtt = |e: &resilience::Effect| e.figures.rtt.as_ref().unwrap().min_us;
    let base = a.baseline.iter().find(|e| e.app == "probe").unwrap();
    let degraded = a.outcomes[1]
        .effects
        .iter()
        .find(|e| e.app == "probe")
        .unwrap();
    assert!(degraded.recovered);
    // 40 ms more each way: the shortest round trip is 80 ms longer, to within a millisecond.
    let more = rtt(degraded) - rtt(base);
    assert!((more - 80e3).abs() < 1e3, "{more} µs");
    assert_eq!(
        "delay=50ms".parse::<resilience::Degrade>().unwrap_err(),
        "--degrade delay=50ms: the delay is added to the path's own: write it with a + (write e.g. loss=2%,delay=+50ms)"
    );
}

/// A VNet peering fails as a link does: the spoke behind it is cut off from on premises (the
/// hub's gateway is its only way out), the other spoke is not; and traffic blocked by design
/// (spoke to spoke without the hub's router) has nothing a failure takes away.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn a_peering_cuts_off_the_spoke_behind_it_and_nothing_else() {
    let plan = Plan {
        only: vec![Kind::Peering],
        hold: 5_000_000_000,
        ..Plan::default()
    };
    let a = analyse("hub-spoke.ron", &plan, 0);
    assert!(spofs(&a, "onprem-to-a").contains("peering-hub-spoke-a"));
    assert!(!spofs(&a, "onprem-to-a").contains("peering-hub-spoke-b"));
    assert!(spofs(&a, "onprem-to-b").contains("peering-hub-spoke-b"));
    assert!(!spofs(&a, "onprem-to-b").contains("peering-hub-spoke-a"));
    assert!(spofs(&a, "a-to-b-blocked").is_empty());
}

/// An MSEE fails with its links; BFD on the circuit moves the edge to the other MSEE at once.
/// A BGP session reset once comes back by itself. Neither is a single point of failure. A link
/// inside the platform whose sessions run without BFD is: the routes over it stay until BGP's
/// hold timer, longer than the failure.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn an_msee_and_a_session_reset_are_survived_and_a_link_without_bfd_is_not() {
    let plan = Plan {
        only: vec![Kind::Msee, Kind::BgpSession, Kind::PlatformLink],
        hold: 10_000_000_000,
        ..Plan::default()
    };
    let a = analyse("er-vpn-failover.ron", &plan, 0);
    let effect = |candidate: &str, app: &str| {
        a.outcomes
            .iter()
            .find(|o| o.candidate == candidate)
            .unwrap()
            .effects
            .iter()
            .find(|e| e.app == app)
            .unwrap()
            .clone()
    };
    for candidate in [
        "er-msee1",
        "er-msee2",
        "edge–er-msee1",
        "edge–er-msee2",
        "vnet–ergw",
    ] {
        for app in ["probe", "bulk", "web"] {
            let e = effect(candidate, app);
            assert!(e.recovered && e.outage_us < 2e6, "{candidate} {app}: {e:?}");
        }
    }
    // The probe's flow hashes onto MSEE 1's link to the gateway.
    let e = effect("er-msee1-ergw", "probe");
    assert!(!e.recovered, "{e:?}");
}

/// `--html`: one page with the downtime, a matrix cell per candidate and app (each single point
/// of failure marked) and a failover timeline chart per candidate.
#[test]
fn the_html_page_has_a_matrix_cell_per_candidate_and_app_and_a_timeline_each() {
    let a = analyse("three-hop.ron", &short(), 0);
    let page = hybridlab::export::html::resilience_page(std::slice::from_ref(&a)).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
    assert_eq!(
        page.matches("<b>SPOF</b>").count(),
        a.single_points_of_failure.len()
    );
    for o in &a.outcomes {
        assert!(
            page.contains(&format!("<figure id=\"three-hop-{}\"><svg", o.candidate)),
            "{}",
            o.candidate
        );
    }
    assert_eq!(page.matches("<svg").count(), a.outcomes.len());
    assert!(page.contains("Expected downtime a year"));
}
