//! Private clouds: ExpressRoute Global Reach (and, on it, Azure VMware Solution), as domain.md's
//! "Global Reach" section and seed 001 describe them.

use crate::common;
use common::{app, lab, run, topology};
use hybridlab::analysis::Summarize;
use hybridlab::results::Results;

fn refused(text: &str, words: &[&str]) {
    let e = hybridlab::input::load_str(text, std::path::Path::new("t.ron"))
        .expect_err("refused")
        .to_string();
    for w in words {
        assert!(e.contains(w), "'{w}' missing from: {e}");
    }
}

fn lab_text() -> String {
    topology("global-reach.ron")
}

#[test]
fn global_reach_joins_two_sites_over_the_backbone_capped_by_the_smaller_circuit() {
    let r = run(&lab_text());
    let p = app(&r, "ams-to-lon").probes().unwrap();
    // Both circuits' edge delays and both backbones, each way, plus the LANs (100 us each).
    let min = p.rtt.min().unwrap() as f64 / 1e6;
    assert!((14.4..14.5).contains(&min), "RTT {min} ms");
    let bulk = app(&r, "bulk")
        .summary(r.duration)
        .figures
        .goodput_bps
        .unwrap()
        / 1e6;
    assert!(
        (400.0..500.0).contains(&bulk),
        "{bulk} Mbps: London's 500 Mbps caps it"
    );
    // The VNet behind Amsterdam's circuit stays Amsterdam's.
    assert_eq!(app(&r, "lon-to-vnet").probes().unwrap().returned, 0);
}

#[test]
fn global_reach_is_not_transitive() {
    // A third site, Paris, joined to London only: Amsterdam cannot reach it.
    let text = lab_text()
        .replace(
            r#"Host(name: "vm"),"#,
            r#"Host(name: "vm"), Host(name: "par-host", gateway: "10.3.0.1"),
        Router(name: "par-edge", bgp: (asn: 65003, originate: ["10.3.0.0/16"])),"#,
        )
        .replace(
            "    circuits: [",
            r#"    circuits: [
        (name: "er-par", ce: "par-edge", bandwidth: "1Gbps", peering_location: "Paris",
         primary: "192.168.30.0/30", secondary: "192.168.30.4/30", delay: "1ms"),"#,
        )
        .replace(
            "    global_reach: [",
            r#"    global_reach: [
        (name: "lon-par", circuit: "er-par", peer: "er-lon", subnet: "192.168.50.8/29"),"#,
        )
        .replace(
            r#"(name: "ams-lan","#,
            r#"(name: "par-lan", a: (node: "par-host", ip: "10.3.0.10/24"), b: (node: "par-edge", ip: "10.3.0.1/24")),
        (name: "ams-lan","#,
        )
        .replace(
            "    apps: [",
            r#"    apps: [
        (name: "lon-to-par", from: "lon-host", to: "par-host", start: "3s", traffic: UdpProbe(interval: "100ms")),
        (name: "ams-to-par", from: "ams-host", to: "par-host", start: "3s", traffic: UdpProbe(interval: "100ms")),"#,
        );
    let r: Results = run(&text);
    let probes = |name: &str| app(&r, name).probes().unwrap().clone();
    assert!(probes("lon-to-par").returned > 50, "each join works");
    let ams = probes("ams-to-par");
    assert_eq!(ams.returned, 0, "X-Y and Y-Z do not give X-Z");
    let edge = r.routers.iter().find(|x| x.name == "ams-edge").unwrap();
    assert_eq!(edge.drops.not_transitive, ams.sent, "and the cause says so");
}

#[test]
fn global_reach_rules_are_the_platforms() {
    let text = lab_text();
    lab(&text);
    refused(
        &text.replace(
            r#"peering_location: "London""#,
            r#"peering_location: "Amsterdam""#,
        ),
        &[
            "global reach 'ams-lon'",
            "both at peering location 'Amsterdam'",
        ],
    );
    refused(
        &text.replace(r#", peering_location: "London""#, ""),
        &["give both circuits ('er-ams', 'er-lon') their `peering_location`"],
    );
    refused(
        &text.replace(
            r#"subnet: "192.168.50.0/29""#,
            r#"subnet: "192.168.20.0/29""#,
        ),
        &["subnet 192.168.20.0/29 overlaps 192.168.20.0/30"],
    );
    refused(
        &text.replace(
            r#"subnet: "192.168.50.0/29""#,
            r#"subnet: "192.168.50.0/30""#,
        ),
        &["is not a /29 network address"],
    );
    refused(
        &text.replace(r#"authorization: "ams-key")"#, r#"authorization: "other")"#),
        &["circuit 'er-lon' issued no authorization 'other'"],
    );
    // The same key for a gateway connection to London's circuit as well.
    refused(
        &text.replace(
            r#"connections: [ExpressRoute(name: "ams-conn", gateway: "ergw", circuit: "er-ams")],"#,
            r#"connections: [ExpressRoute(name: "ams-conn", gateway: "ergw", circuit: "er-ams"),
                   ExpressRoute(name: "lon-conn", gateway: "ergw", circuit: "er-lon", authorization: "ams-key")],"#,
        ),
        &["authorization 'ams-key' of circuit 'er-lon' is already used by 'lon-conn'"],
    );
    // A 4-byte ASN on one side, a router without 4-byte support on the other.
    refused(
        &text
            .replace(r#"(asn: 65002, originate"#, r#"(asn: 4200000002, originate"#)
            .replace(
                r#"Router(name: "ams-edge", bgp"#,
                r#"Router(name: "ams-edge", asn4: false, bgp"#,
            ),
        &["'ams-edge' does not support 4-byte AS numbers (`asn4: false`) and routes from 'lon-edge' (AS 4200000002) reach it"],
    );
}

#[test]
fn a_gen1_private_cloud_reaches_on_premises_by_global_reach_and_a_vnet_by_its_gateway() {
    let r = run(&topology("avs-gen1.ron"));
    let min = |name: &str| app(&r, name).probes().unwrap().rtt.min().unwrap() as f64 / 1e6;
    // London's edge and backbone each way (2 x 5 ms) plus the LANs and NICs.
    assert!(
        (10.2..10.4).contains(&min("onprem-to-avs")),
        "{}",
        min("onprem-to-avs")
    );
    assert!(
        min("vnet-to-avs") < 1.0,
        "in-region: {}",
        min("vnet-to-avs")
    );
    // On premises learned the private cloud's segment and management network.
    for prefix in ["10.100.0.0/24", "10.99.0.0/24"] {
        assert!(r
            .route_changes
            .iter()
            .any(|c| c.router == "edge" && c.prefix.to_string() == prefix));
    }
}

#[test]
fn the_management_network_discards_a_lone_default_route() {
    let text = topology("avs-default-route.ron");
    let warned = |text: &str| {
        lab(text).warnings.iter().any(|w| {
            w.reason
                .contains("A single 0.0.0.0/0 route will be discarded")
        })
    };
    assert!(warned(&text), "check quotes the seed");
    let r = run(&text);
    let returned = |r: &Results, name: &str| app(r, name).probes().unwrap().returned;
    assert_eq!(returned(&r, "to-vcenter"), 0);
    assert!(
        returned(&r, "to-workload") > 50,
        "workload segments use the default"
    );
    // The fix: a more specific on-premises prefix as well.
    let fixed = text.replace(
        r#"originate: ["0.0.0.0/0"]"#,
        r#"originate: ["0.0.0.0/0", "10.1.0.0/16"]"#,
    );
    assert!(!warned(&fixed));
    let r = run(&fixed);
    assert!(returned(&r, "to-vcenter") > 50);
}

#[test]
fn a_gen2_private_cloud_lives_in_a_vnet_and_fails_over_with_it() {
    let text = topology("avs-gen2.ron");
    let r = run(&text);
    let p = app(&r, "onprem-to-avs").probes().unwrap();
    let min = p.rtt.min().unwrap() as f64 / 1e6;
    assert!((10.4..10.6).contains(&min), "{min}");
    refused(
        &text.replace(r#"block: "10.30.0.0/22""#, r#"block: "10.30.0.0/23""#),
        &["private cloud 'avs'", "not a network of at least a /22"],
    );
    refused(
        &text.replace(r#"block: "10.30.0.0/22""#, r#"block: "10.40.0.0/22""#),
        &["outside vnet 'avs-vnet''s address space"],
    );
    refused(
        &text
            .replace(
                r#"        (name: "ergw", vnet: "avs-vnet", kind: ExpressRoute, sku: ErGw1Az),"#,
                "",
            )
            .replace(
                r#"        ExpressRoute(name: "er-conn", gateway: "ergw", circuit: "er-onprem"),"#,
                "",
            )
            .replace(
                r#"        SiteToSite(name: "s2s", gateway: "vpngw", local: "onprem"),"#,
                "",
            ),
        &["has no ExpressRoute gateway (gateway type ExpressRoute, not VPN) or site-to-site VPN"],
    );
    refused(
        &topology("avs-gen1.ron").replace(
            r#"generation: Gen1, peering_location"#,
            r#"generation: Gen1, vnet: "hub", peering_location"#,
        ),
        &["`vnet` and `block` are for Gen 2"],
    );
    // AVS speaks a 4-byte ASN: an edge without support is refused across Global Reach.
    refused(
        &topology("avs-gen1.ron").replace(
            r#"Router(name: "edge", bgp"#,
            r#"Router(name: "edge", asn4: false, bgp"#,
        ),
        &["'edge' does not support 4-byte AS numbers", "AS 65536"],
    );
}

#[test]
fn a_gen2_private_clouds_own_networks_may_lie_in_its_block() {
    // As the platform carves the management networks from the block: the private cloud then
    // sits in the block's last /28, and both its networks are reached.
    let text = topology("avs-gen2.ron")
        .replace(r#"prefix: "10.99.0.0/24""#, r#"prefix: "10.30.0.0/26""#)
        .replace(r#"prefix: "10.100.0.0/24""#, r#"prefix: "10.30.1.0/24""#);
    let r = run(&text);
    let outside = run(&topology("avs-gen2.ron"));
    for a in ["onprem-to-avs", "onprem-to-vcenter"] {
        let (p, q) = (
            app(&r, a).probes().unwrap(),
            app(&outside, a).probes().unwrap(),
        );
        // Reached as when the networks lie outside the block, failover and all.
        assert!(
            p.returned > 0 && (p.sent, p.returned) == (q.sent, q.returned),
            "{a}: {} of {} returned, {} of {} outside the block",
            p.returned,
            p.sent,
            q.returned,
            q.sent
        );
    }
    // A network over the last /28 leaves it no room.
    refused(
        &text.replace(r#"prefix: "10.30.1.0/24""#, r#"prefix: "10.30.3.0/24""#),
        &[
            "private cloud 'avs'",
            "its last /28 (10.30.3.240/28) must be free",
        ],
    );
}
