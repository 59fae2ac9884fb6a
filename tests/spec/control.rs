//! The control plane: BGP over real TCP learns routes, BFD detects a dead link within its
//! detection time, the hold timer does without BFD, and best-path rules pick the path.

use crate::common;
use common::*;
use hybridlab::analysis::Summarize;
use hybridlab::control::bgp::DownReason;
use hybridlab::control::plane::What;

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// h1 - r1 = wan = r2 - h2; r1 (AS 65001) and r2 (AS 65002) peer over the wan link.
fn pair(session_extra: &str, faults: &str, duration: &str) -> String {
    format!(
        r#"(
        name: "bgp-pair", duration: "{duration}",
        nodes: [
            Host(name: "h1", gateway: "10.1.0.1"),
            Router(name: "r1", bgp: (asn: 65001, originate: ["10.1.0.0/24"])),
            Router(name: "r2", bgp: (asn: 65002, originate: ["10.2.0.0/24"])),
            Host(name: "h2", gateway: "10.2.0.1"),
        ],
        links: [
            (name: "l1", a: (node: "h1", ip: "10.1.0.10/24"), b: (node: "r1", ip: "10.1.0.1/24")),
            (name: "wan", a: (node: "r1", ip: "192.168.0.1/30"), b: (node: "r2", ip: "192.168.0.2/30"), delay: "5ms"),
            (name: "l2", a: (node: "r2", ip: "10.2.0.1/24"), b: (node: "h2", ip: "10.2.0.10/24")),
        ],
        bgp_sessions: [(a: (node: "r1", ip: "192.168.0.1"), b: (node: "r2", ip: "192.168.0.2") {session_extra})],
        apps: [(name: "p", from: "h1", to: "h2", start: "1s", traffic: UdpProbe(interval: "10ms"))],
        faults: [{faults}],
    )"#
    )
}

#[test]
fn bgp_learns_the_peers_prefix_and_traffic_flows() {
    let r = run(&pair("", "", "3s"));
    let est: Vec<_> = r
        .control
        .iter()
        .filter(|e| e.what == What::BgpEstablished)
        .collect();
    assert_eq!(est.len(), 2, "{:?}", r.control);
    // Both routers installed the other's prefix: two route changes.
    assert_eq!(r.route_changes.len(), 2, "{:?}", r.route_changes);
    let s = app(&r, "p").summary(r.duration);
    assert_eq!(s.figures.lost, 0, "{s:?}");
    assert!(s.received > 190);
}

fn bfd_down_after(r: &hybridlab::results::Results, fault: u64) -> Vec<u64> {
    r.control
        .iter()
        .filter(|e| matches!(e.what, What::BfdDown(_)) && e.time >= fault)
        .map(|e| e.time - fault)
        .collect()
}

#[test]
fn bfd_detects_a_dead_link_within_its_detection_time() {
    let faults = r#"(at: "5s", action: LinkDown("wan")), (at: "8s", action: LinkUp("wan"))"#;
    let r = run(&pair(
        ", bfd: (interval: \"300ms\", multiplier: 3)",
        faults,
        "20s",
    ));
    let detect = bfd_down_after(&r, 5 * S);
    assert_eq!(detect.len(), 2, "both ends detect: {:?}", r.control);
    for d in &detect {
        // (multiplier − 1) × interval .. multiplier × interval after the fault (+ one-way delay).
        assert!((600 * MS..=905 * MS).contains(d), "detected after {d} ns");
    }
    let downs: Vec<_> = r
        .control
        .iter()
        .filter(|e| e.what == What::BgpDown(DownReason::Bfd))
        .collect();
    assert_eq!(downs.len(), 2, "BFD takes BGP down on both ends");
    // Routes are withdrawn, then learned again after the link returns.
    let withdrawn = r
        .route_changes
        .iter()
        .filter(|c| c.next_hops.is_empty())
        .count();
    assert_eq!(withdrawn, 2);
    let relearned = r
        .route_changes
        .iter()
        .filter(|c| c.time > 8 * S && !c.next_hops.is_empty())
        .count();
    assert_eq!(relearned, 2, "{:?}", r.route_changes);
    // Probes flow again at the end.
    let p = &probes(&r, "p");
    assert!(p.iter().rev().take(50).all(|x| x.returned.is_some()));
}

#[test]
fn without_bfd_the_hold_timer_detects_the_failure() {
    // Customer-lowered timers: keepalive 3 s, hold 10 s on both ends.
    let timers = r#"keepalive: "3s", hold: "10s""#;
    let text = pair("", r#"(at: "5s", action: LinkDown("wan"))"#, "20s")
        .replace(
            r#"ip: "192.168.0.1")"#,
            &format!(r#"ip: "192.168.0.1", {timers})"#),
        )
        .replace(
            r#"ip: "192.168.0.2")"#,
            &format!(r#"ip: "192.168.0.2", {timers})"#),
        );
    let r = run(&text);
    let downs: Vec<u64> = r
        .control
        .iter()
        .filter(|e| e.what == What::BgpDown(DownReason::HoldTimerExpired))
        .map(|e| e.time - 5 * S)
        .collect();
    assert_eq!(downs.len(), 2, "{:?}", r.control);
    for d in downs {
        // Between hold − keepalive and hold after the fault.
        assert!(
            (7 * S..=10 * S).contains(&d),
            "hold expired {d} ns after the fault"
        );
    }
}

#[test]
fn a_bgp_reset_fault_tears_down_and_reestablishes() {
    let r = run(&pair(
        "",
        r#"(at: "3s", action: BgpReset(router: "r1", peer: "192.168.0.2"))"#,
        "12s",
    ));
    assert!(r
        .control
        .iter()
        .any(|e| e.what == What::BgpDown(DownReason::Reset)));
    let est = r
        .control
        .iter()
        .filter(|e| e.what == What::BgpEstablished && e.time > 3 * S)
        .count();
    assert_eq!(est, 2, "{:?}", r.control);
    // The reset router told its peer why: a NOTIFICATION (Cease, code 6) before the close.
    assert!(
        r.control.iter().any(|e| e.router == "r2"
            && e.what == What::BgpDown(DownReason::Notification(6))
            && (3 * S..3 * S + 20 * MS).contains(&e.time)),
        "{:?}",
        r.control
    );
}

fn problems(text: &str) -> String {
    match hybridlab::input::load_str(text, std::path::Path::new("lab.ron")) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_domains_rules_for_bgp_are_enforced() {
    let gateway = |sku: &str| {
        pair("", "", "3s")
            .replace("asn: 65001", "asn: 65517")
            .replace(
                r#"Router(name: "r2", bgp: (asn: 65002"#,
                &format!(r#"Router(name: "r2", sku: {sku}, bgp: (asn: 65515"#),
            )
    };
    let e = problems(&gateway("ErGw1Az"));
    assert!(
        e.contains("'r1' uses ASN 65517, which Azure reserves"),
        "{e}"
    );
    // Over a site-to-site VPN gateway the timers are fixed and there is no BFD.
    let vpn = gateway("VpnGw1").replace("asn: 65517", "asn: 65001");
    assert_eq!(problems(&vpn), "", "a plain VPN session is fine");
    let e = problems(&vpn.replace(
        r#"ip: "192.168.0.1")"#,
        r#"ip: "192.168.0.1", hold: "30s")"#,
    ));
    assert!(e.contains("fixed at 60s / 180s"), "{e}");
    let e = problems(&vpn.replace(r#"ip: "192.168.0.2")"#, r#"ip: "192.168.0.2"), bfd: ()"#));
    assert!(e.contains("BFD is not available"), "{e}");
    let e = problems(&gateway("Basic").replace("asn: 65517", "asn: 65001"));
    assert!(e.contains("does not support BGP"), "{e}");
    // The customer may lower timers, but not below 3 s / 10 s.
    let e = problems(&pair("", "", "3s").replace(
        r#"ip: "192.168.0.1")"#,
        r#"ip: "192.168.0.1", keepalive: "1s", hold: "3s")"#,
    ));
    assert!(e.contains("below the minimum 3s / 10s"), "{e}");
}

#[test]
fn what_a_run_remembers_does_not_grow_with_its_length() {
    // A probe every 10 ms and a request every 100 ms through a 3 s outage, run for 20 s and
    // for 200 s: the records hold the same (the outage's lost probes and its gap, the stall),
    // not one entry per probe or request.
    let lab = |duration: &str| {
        two_hosts(
            duration,
            r#"delay: "5ms", rate: "100Mbps""#,
            ("", ""),
            r#"(name: "p", from: "a", to: "b", traffic: UdpProbe(interval: "10ms")),
               (name: "web", from: "a", to: "b", traffic: TcpRequestResponse(request: "500B", response: "20KiB", interval: "100ms"))"#,
        )
        .replace("apps: [", &format!("{} apps: [", wire_outage("5s", "8s")))
    };
    let held = |duration: &str| {
        let r = hybridlab::sim::run(&common::lab(&lab(duration)));
        let p = app(&r, "p").probes().unwrap();
        let web = app(&r, "web").exchanges().unwrap();
        assert!(p.log().is_none(), "no per-probe log unless asked");
        (p.sent, p.retained(), web.responses, web.retained())
    };
    let (short_sent, short_probes, short_done, short_web) = held("20s");
    let (long_sent, long_probes, long_done, long_web) = held("200s");
    assert!(long_sent >= 9 * short_sent && long_done >= 9 * short_done);
    assert!(
        short_probes > 250,
        "the outage's lost probes: {short_probes}"
    );
    assert_eq!(long_probes, short_probes);
    assert_eq!((short_web, long_web), (1, 1));
}
