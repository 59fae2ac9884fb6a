//! Routers forward real IPv4 by longest-prefix match, spread flows over equal-cost routes, and
//! count every drop by cause; faults change links at their scheduled times.

use crate::common;
use common::*;
use hybridlab::analysis::Summarize;

/// h1 - r1 = (two parallel links p and q) = r2 - h2, with equal-cost static routes both ways.
fn ecmp_lab(apps: &str, faults: &str, p_fields: &str) -> String {
    format!(
        r#"(
        name: "ecmp", duration: "2s",
        nodes: [Host(name: "h1", gateway: "10.1.0.1", addresses: ["10.1.0.11/24", "10.1.0.12/24", "10.1.0.13/24"]),
                Router(name: "r1"), Router(name: "r2"), Host(name: "h2", gateway: "10.2.0.1")],
        links: [
            (name: "l1", a: (node: "h1", ip: "10.1.0.10/24"), b: (node: "r1", ip: "10.1.0.1/24")),
            (name: "p", a: (node: "r1", ip: "172.16.0.1/30"), b: (node: "r2", ip: "172.16.0.2/30"), delay: "1ms" {p_fields}),
            (name: "q", a: (node: "r1", ip: "172.16.1.1/30"), b: (node: "r2", ip: "172.16.1.2/30"), delay: "3ms"),
            (name: "l2", a: (node: "r2", ip: "10.2.0.1/24"), b: (node: "h2", ip: "10.2.0.10/24")),
        ],
        routes: [
            (node: "r1", prefix: "10.2.0.0/24", via: "172.16.0.2"),
            (node: "r1", prefix: "10.2.0.0/24", via: "172.16.1.2"),
            (node: "r2", prefix: "10.1.0.0/24", via: "172.16.0.1"),
            (node: "r2", prefix: "10.1.0.0/24", via: "172.16.1.1"),
        ],
        apps: [{apps}],
        faults: [{faults}],
    )"#
    )
}

fn probe_apps(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(r#"(name: "p{i}", from: "h1", to: "h2", traffic: UdpProbe(interval: "10ms", port: {}))"#, 6000 + i)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn equal_cost_routes_share_flows_and_keep_each_flow_on_one_path() {
    let r = run(&ecmp_lab(&probe_apps(16), "", ""));
    let (p, q) = (&r.links[1].dirs[0], &r.links[2].dirs[0]);
    assert!(
        p.delivered_packets > 0 && q.delivered_packets > 0,
        "both members carry flows"
    );
    for a in &r.apps {
        // A flow stays on one member: its one-way delay never changes (1 ms or 3 ms path).
        let delays: Vec<u64> = a
            .probes()
            .unwrap()
            .log()
            .unwrap()
            .iter()
            .map(|p| p.arrived.unwrap() - p.sent)
            .collect();
        assert!(
            delays.iter().all(|&d| d == delays[0]),
            "{} was split across paths",
            a.name
        );
    }
    // Same lab, same split.
    let again = run(&ecmp_lab(&probe_apps(16), "", ""));
    assert_eq!(again.links[1].dirs[0], *p);
}

#[test]
fn a_failed_member_moves_its_flows_and_the_outage_is_visible() {
    // p fails 0.5 ms after the probes of 500 ms left: those on p are in flight.
    let faults = r#"(at: "500500us", action: LinkDown("p")), (at: "1500ms", action: LinkUp("p"))"#;
    let r = run(&ecmp_lab(&probe_apps(16), faults, ""));
    let p = &r.links[1].dirs[0];
    // Only the packets in flight on p at the fault are lost: at most one per flow.
    assert!(
        (1..=16).contains(&p.drops.down),
        "the packets in flight on p are lost, no more: {}",
        p.drops.down
    );
    let s = r.summary(None);
    let down = s
        .failover
        .iter()
        .find(|t| t.at_us == 500_500.0)
        .expect("a timeline for the fault at 500.5 ms");
    let (mut moved, mut stayed) = (0, 0);
    for a in &r.apps {
        let probes = a.probes().unwrap().log().unwrap();
        // A flow on p: 1 ms each way; on q: 3 ms.
        let on_p = |x: &hybridlab::results::Probe| x.arrived.map(|t| t - x.sent) == Some(1_000_000);
        let before = probes.iter().filter(|x| x.sent < 490_000_000).all(on_p);
        let after = probes
            .iter()
            .filter(|x| x.sent >= 500_000_000 && x.sent < 1_500_000_000)
            .any(on_p);
        let lost = probes
            .iter()
            .filter(|x| x.arrived.is_none() && x.sent < 1_900_000_000)
            .count();
        // Routers stop using the down member at once: a flow loses at most its probe in flight.
        assert!(lost <= 1, "{} lost {lost}", a.name);
        assert!(!after, "{}: nothing crosses p while it is down", a.name);
        let outage = down
            .outages
            .iter()
            .find(|o| o.app == a.name)
            .map_or(0.0, |o| o.outage_us);
        if before {
            moved += 1;
            // The last answer over p to the first over q: under three probe intervals.
            assert!(outage < 30_000.0, "{}: outage {outage} us", a.name);
            // Its probe of 500 ms died on p: from the answer at 492 ms to the first over q.
            assert_eq!(lost, 1, "{}", a.name);
            assert!(outage > 20_000.0, "{}: a lost probe is an outage", a.name);
        } else {
            stayed += 1;
            assert_eq!(outage, 0.0, "{} was on q and saw nothing", a.name);
            assert_eq!(lost, 0, "{}", a.name);
        }
    }
    assert!(
        moved > 0 && stayed > 0,
        "flows spread over both: {moved} on p, {stayed} on q"
    );
    let with_outage = down.outages.iter().filter(|o| o.outage_us > 0.0).count();
    assert!(
        with_outage >= 1,
        "the fault shows as an outage: {:?}",
        down.outages
    );
    assert_eq!(r.routers[0].drops.link_down, 0);
}

#[test]
fn with_every_route_down_the_router_counts_link_down() {
    let faults = r#"(at: "500ms", action: LinkDown("p")), (at: "500ms", action: LinkDown("q"))"#;
    let r = run(&ecmp_lab(&probe_apps(1), faults, ""));
    assert!(
        r.routers[0].drops.link_down >= 140,
        "{:?}",
        r.routers[0].drops
    );
    let s = app(&r, "p0").summary(r.duration);
    assert!(s.figures.lost >= 140);
}

#[test]
fn an_oversize_packet_is_dropped_and_counted_not_fragmented() {
    // The middle link's MTU is 1000; 1200-byte probes cross the first link and die at r1.
    let r = run(&ecmp_lab(
        r#"(name: "big", from: "h1", to: "h2", traffic: UdpProbe(interval: "100ms", size: 1200))"#,
        r#"(at: "0s", action: LinkDown("q"))"#,
        r#", mtu: 1000"#,
    ));
    assert_eq!(
        probes(&r, "big")
            .iter()
            .filter(|p| p.arrived.is_some())
            .count(),
        0
    );
    assert_eq!(r.routers[0].drops.mtu, 20);
}

#[test]
fn degrading_a_link_changes_delay_from_that_time() {
    let text = two_hosts(
        "2s",
        r#"delay: "5ms""#,
        ("", ""),
        r#"(name: "p", from: "a", to: "b", traffic: UdpProbe(interval: "100ms"))"#,
    )
    .replace(
        ")],\n)",
        ")],\n faults: [(at: \"1s\", action: Degrade(link: \"wire\", direction: AtoB, delay: \"50ms\"))],\n)",
    );
    let r = run(&text);
    let one_way: Vec<u64> = probes(&r, "p")
        .iter()
        .map(|p| p.arrived.unwrap() - p.sent)
        .collect();
    assert!(one_way[..10].iter().all(|&d| d == 5_000_000));
    assert!(one_way[10..].iter().all(|&d| d == 50_000_000));
    let rtt: Vec<u64> = probes(&r, "p")
        .iter()
        .map(|p| p.returned.unwrap() - p.sent)
        .collect();
    assert_eq!(rtt[19], 55_000_000, "only a->b changed");
}

#[test]
fn ping_crosses_routers_and_equal_cost_paths() {
    let r = run(&ecmp_lab(
        r#"(name: "ping", from: "h1", to: "h2", traffic: Ping(interval: "100ms"))"#,
        "",
        "",
    ));
    let s = app(&r, "ping").summary(r.duration);
    assert_eq!((s.figures.sent, s.received), (20, 20));
    assert_eq!(
        r.routers[0].forwarded, 40,
        "20 requests out, 20 replies back"
    );
}

#[test]
fn request_response_records_completion_times() {
    // 20 ms RTT, 10 Mbps: a 400 B request and a 10 KB response take at least one RTT plus the
    // response's serialization.
    let text = two_hosts(
        "3s",
        r#"delay: "10ms", rate: "10Mbps""#,
        ("", ""),
        r#"(name: "rr", from: "a", to: "b", traffic: TcpRequestResponse(request: "400B", response: "10KB", interval: "200ms"))"#,
    );
    let r = run(&text);
    let s = app(&r, "rr").summary(r.duration);
    assert_eq!(s.figures.sent, 15);
    assert_eq!(s.received, 15);
    let c = s.figures.completion.unwrap();
    assert!(c.min_us >= 20_000.0 + 8_000.0, "{c:?}");
    assert!(c.p50_us < 100_000.0, "{c:?}");
}

#[test]
fn a_forwarding_loop_is_reported_as_a_finding_with_its_routers_and_times() {
    // r2 sends the lower half of h2's subnet back to r1, which sends it to r2 again. r1 runs
    // BGP, so `check`'s static loop check does not apply: the run must show it.
    let text = r#"(
        name: "loop", duration: "2s",
        nodes: [Host(name: "h1", gateway: "10.1.0.1"), Router(name: "r1", bgp: (asn: 65001)),
                Router(name: "r2"), Host(name: "h2", gateway: "10.2.0.1")],
        links: [
            (name: "l1", a: (node: "h1", ip: "10.1.0.10/24"), b: (node: "r1", ip: "10.1.0.1/24"), delay: "1ms"),
            (name: "m", a: (node: "r1", ip: "172.16.0.1/30"), b: (node: "r2", ip: "172.16.0.2/30"), delay: "1ms"),
            (name: "l2", a: (node: "r2", ip: "10.2.0.1/24"), b: (node: "h2", ip: "10.2.0.10/24"), delay: "1ms"),
        ],
        routes: [
            (node: "r1", prefix: "10.2.0.0/24", via: "172.16.0.2"),
            (node: "r2", prefix: "10.1.0.0/24", via: "172.16.0.1"),
            (node: "r2", prefix: "10.2.0.0/25", via: "172.16.0.1"),
        ],
        apps: [(name: "p", from: "h1", to: "h2", traffic: UdpProbe(interval: "100ms"))],
    )"#;
    let r = run(text);
    let s = r.summary(None);
    assert_eq!(s.loops.len(), 1, "{:?}", s.loops);
    let l = &s.loops[0];
    assert_eq!(l.routers, ["r1", "r2"]);
    // Every probe circles: it reaches r1 at TTL 64 and loses one per 1 ms hop until it dies.
    assert_eq!(l.packets, 20);
    assert_eq!(
        l.first_us, 64_000.0,
        "the first probe, after 64 hops of 1 ms: {l:?}"
    );
    assert!((1_900_000.0..2_000_000.0).contains(&l.last_us), "{l:?}");
    let report = hybridlab::export::report::render(&s);
    assert!(
        report.contains("finding: forwarding loop between r1, r2: 20 packets died of TTL"),
        "{report}"
    );
    // A lab without a loop has no finding.
    let fine = run(&text.replace(
        r#"(node: "r2", prefix: "10.2.0.0/25", via: "172.16.0.1"),"#,
        "",
    ));
    assert!(fine.summary(None).loops.is_empty());
}
