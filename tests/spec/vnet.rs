//! The cloud vocabulary (VNets, gateways, connections, peerings) and the platform behaviour it
//! builds in (domain.md, "Virtual networks, peering and hub-spoke" and "Route selection").

use crate::common;
use common::{app, lab, run};
use hybridlab::analysis::Summarize;
use hybridlab::results::Results;

/// On premises: a host behind an edge router that is both the ExpressRoute CE and the VPN
/// device. In the cloud: `vnets`, with an ExpressRoute and a VPN gateway in `hub`. `extra` is
/// spliced in after the connections (more fields), `lgw_bgp` extends the local gateway's BGP.
fn hybrid(vnets: &str, peerings: &str, lgw_bgp: &str, edge_originate: &str, apps: &str) -> String {
    let spoke_vm = if vnets.contains("spoke-vm") {
        r#", Host(name: "spoke-vm")"#
    } else {
        ""
    };
    format!(
        r#"(
    name: "hybrid", seed: 1, duration: "8s",
    nodes: [
        Host(name: "onprem-host", gateway: "10.1.0.1"),
        Router(name: "edge", mss_clamp: 1350, bgp: (asn: 65001, originate: [{edge_originate}])),
        Router(name: "internet"),
        Host(name: "hub-vm"), Host(name: "hub-vm2"), Router(name: "nva") {spoke_vm}
    ],
    links: [
        (name: "lan", a: (node: "onprem-host", ip: "10.1.0.10/24"), b: (node: "edge", ip: "10.1.0.1/24"), delay: "100us", rate: "10Gbps"),
        (name: "isp", a: (node: "edge", ip: "203.0.113.1/30"), b: (node: "internet", ip: "203.0.113.2/30"), delay: "12ms", rate: "500Mbps"),
    ],
    vnets: [{vnets}],
    peerings: [{peerings}],
    gateways: [
        (name: "vpngw", vnet: "hub", kind: Vpn, sku: VpnGw2, public_ip: "198.51.100.1/30", internet: (node: "internet", delay: "8ms")),
        (name: "ergw", vnet: "hub", kind: ExpressRoute, sku: ErGw1Az),
    ],
    local_gateways: [(name: "onprem", device: "edge", ip: "203.0.113.1", bgp: (asn: 65001, ip: "172.16.255.1" {lgw_bgp}))],
    circuits: [(name: "er", ce: "edge", bandwidth: "1Gbps", primary: "192.168.100.0/30", secondary: "192.168.100.4/30", delay: "2ms", backbone_delay: "1ms", ce_local_pref: 150)],
    connections: [
        SiteToSite(name: "s2s", gateway: "vpngw", local: "onprem"),
        ExpressRoute(name: "er-conn", gateway: "ergw", circuit: "er"),
    ],
    apps: [{apps}],
)"#
    )
}

const HUB: &str = r#"(name: "hub", address_space: ["10.20.0.0/16"], gateway_subnet: "10.20.254.0/27",
    subnets: [(name: "workload", prefix: "10.20.0.0/24", vms: [(node: "hub-vm"), (node: "hub-vm2")]),
              (name: "appliances", prefix: "10.20.1.0/24", vms: [(node: "nva")])])"#;
const SPOKE: &str = r#"(name: "spoke", address_space: ["10.30.0.0/16"],
    subnets: [(name: "workload", prefix: "10.30.1.0/24", vms: [(node: "spoke-vm")])])"#;
const TRANSIT: &str =
    r#"(a: "hub", b: "spoke", allow_gateway_transit: true, use_remote_gateways: true)"#;
const EDGE: &str = r#""10.1.0.0/16""#;

fn probe(name: &str, from: &str, to: &str) -> String {
    probe_at(name, from, to, "4s")
}

fn probe_at(name: &str, from: &str, to: &str, start: &str) -> String {
    format!(
        r#"(name: "{name}", from: "{from}", to: "{to}", start: "{start}", traffic: UdpProbe(interval: "10ms")),"#
    )
}

fn rtt_p50_ms(r: &Results, name: &str) -> f64 {
    let p = app(r, name).probes().unwrap();
    assert!(p.returned > 0, "{name}: no probe came back");
    p.rtt.quantile(0.5).unwrap() as f64 / 1e6
}

fn forwarded(r: &Results, router: &str) -> u64 {
    r.routers
        .iter()
        .find(|x| x.name == router)
        .unwrap()
        .forwarded
}

fn hub_only(apps: &str) -> String {
    hybrid(HUB, "", "", EDGE, apps)
}

#[test]
fn for_the_same_prefix_the_vnet_prefers_expressroute_with_no_weight_written() {
    let r = run(&hub_only(&probe("p", "hub-vm", "onprem-host")));
    // ExpressRoute: 2 x (2 ms + 1 ms) plus the VNet; the VPN would be 2 x 20 ms.
    let rtt = rtt_p50_ms(&r, "p");
    assert!(
        (6.0..8.0).contains(&rtt),
        "RTT {rtt} ms is not ExpressRoute's"
    );
    let p = app(&r, "p").probes().unwrap();
    assert_eq!(p.returned, p.sent, "every probe comes back");
}

#[test]
fn a_more_specific_prefix_over_the_vpn_still_wins() {
    let text = hybrid(
        HUB,
        "",
        r#", announce: ["10.1.0.0/24"]"#,
        EDGE,
        &probe("p", "hub-vm", "onprem-host"),
    );
    let rtt = rtt_p50_ms(&run(&text), "p");
    // Out over the VPN (20 ms), back over ExpressRoute (3 ms), which on premises prefers.
    assert!(
        (23.0..26.0).contains(&rtt),
        "RTT {rtt} ms: the /24 over the VPN should win one way"
    );
}

#[test]
fn a_user_defined_route_wins_over_bgp_for_the_same_prefix_but_not_over_a_longer_one() {
    let udr = |prefix: &str| {
        HUB.replace(
            r#"vms: [(node: "hub-vm"), (node: "hub-vm2")])"#,
            &format!(r#"vms: [(node: "hub-vm"), (node: "hub-vm2")], routes: [(prefix: "{prefix}", next_hop: "10.20.1.4")])"#),
        )
    };
    let same = run(&hybrid(
        &udr("10.1.0.0/16"),
        "",
        "",
        EDGE,
        &probe("p", "hub-vm", "onprem-host"),
    ));
    assert!(
        forwarded(&same, "nva") > 0,
        "the appliance carries the VM's traffic"
    );
    assert!(rtt_p50_ms(&same, "p") < 8.0);
    let shorter = run(&hybrid(
        &udr("10.0.0.0/8"),
        "",
        "",
        EDGE,
        &probe("p", "hub-vm", "onprem-host"),
    ));
    assert_eq!(
        forwarded(&shorter, "nva"),
        0,
        "BGP's /16 is longer than the UDR's /8"
    );
}

#[test]
fn vnet_and_peering_system_routes_win_over_more_specific_bgp() {
    // On premises announces a /24 inside the spoke's address space.
    let text = hybrid(
        &format!("{HUB}, {SPOKE}"),
        TRANSIT,
        "",
        r#""10.1.0.0/16", "10.30.1.0/24""#,
        &probe("p", "hub-vm", "spoke-vm"),
    );
    let r = run(&text);
    let rtt = rtt_p50_ms(&r, "p");
    assert!(
        rtt < 1.0,
        "RTT {rtt} ms: the peering, not on premises, must carry it"
    );
    // The hub's gateways did learn the /24; the VNet neither installed nor logged it.
    assert!(r
        .route_changes
        .iter()
        .any(|c| c.router == "ergw" && c.prefix.to_string() == "10.30.1.0/24"));
    assert!(!r.route_changes.iter().any(|c| c.router == "hub"
        && c.prefix.to_string() == "10.30.1.0/24"
        && !c.next_hops.is_empty()));
}

#[test]
fn spokes_use_the_hubs_gateway_and_on_premises_learns_their_address_spaces() {
    let text = hybrid(
        &format!("{HUB}, {SPOKE}"),
        TRANSIT,
        "",
        EDGE,
        &probe("p", "onprem-host", "spoke-vm"),
    );
    let r = run(&text);
    let rtt = rtt_p50_ms(&r, "p");
    assert!(
        (6.0..8.0).contains(&rtt),
        "RTT {rtt} ms is not ExpressRoute's"
    );
    let learned = |prefix: &str| {
        r.route_changes
            .iter()
            .any(|c| c.router == "edge" && c.prefix.to_string() == prefix)
    };
    assert!(
        learned("10.30.0.0/16"),
        "on premises learns the spoke's address space"
    );
    assert!(!learned("10.30.1.0/24"), "address spaces, not subnets");
    // Without gateway transit the spoke has no way to on premises.
    let text = hybrid(
        &format!("{HUB}, {SPOKE}"),
        r#"(a: "hub", b: "spoke")"#,
        "",
        EDGE,
        &probe("p", "onprem-host", "spoke-vm"),
    );
    let r = run(&text);
    assert_eq!(app(&r, "p").probes().unwrap().returned, 0);
}

#[test]
fn a_peering_has_the_latency_of_traffic_inside_one_vnet() {
    let text = hybrid(
        &format!("{HUB}, {SPOKE}"),
        TRANSIT,
        "",
        EDGE,
        &format!(
            "{}{}",
            probe("across", "hub-vm", "spoke-vm"),
            // Offset, so neither queues behind the other on the VM's NIC.
            probe_at("inside", "hub-vm", "hub-vm2", "4.005s")
        ),
    );
    let r = run(&text);
    let min = |name: &str| app(&r, name).probes().unwrap().rtt.min().unwrap();
    assert_eq!(min("across"), min("inside"));
}

/// Three VNets with no gateway: a hub with an appliance and two spokes peered with it.
fn hub_and_spokes(spoke_routes: bool) -> String {
    let routes = |other: &str| {
        if spoke_routes {
            format!(r#", routes: [(prefix: "{other}", next_hop: "10.0.1.4")]"#)
        } else {
            String::new()
        }
    };
    format!(
        r#"(
    name: "spokes", seed: 1, duration: "2s",
    nodes: [Host(name: "a-vm"), Host(name: "b-vm"), Router(name: "nva")],
    links: [],
    vnets: [
        (name: "hub", address_space: ["10.0.0.0/16"], subnets: [(name: "nva", prefix: "10.0.1.0/24", vms: [(node: "nva")])]),
        (name: "spoke-a", address_space: ["10.1.0.0/16"], subnets: [(name: "w", prefix: "10.1.0.0/24", vms: [(node: "a-vm")]{})]),
        (name: "spoke-b", address_space: ["10.2.0.0/16"], subnets: [(name: "w", prefix: "10.2.0.0/24", vms: [(node: "b-vm")]{})]),
    ],
    peerings: [(a: "hub", b: "spoke-a"), (a: "hub", b: "spoke-b")],
    apps: [(name: "p", from: "a-vm", to: "b-vm", start: "0s", traffic: UdpProbe(interval: "10ms"))],
)"#,
        routes("10.2.0.0/16"),
        routes("10.1.0.0/16")
    )
}

#[test]
fn peering_is_not_transitive_unless_the_hub_routes_it() {
    let text = hub_and_spokes(false);
    let l = lab(&text);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.reason.contains("not transitive")),
        "check warns: {:?}",
        l.warnings
    );
    let r = run(&text);
    let p = app(&r, "p").probes().unwrap();
    assert!(p.sent > 100);
    assert_eq!(p.returned, 0);
    let a = r.routers.iter().find(|x| x.name == "spoke-a").unwrap();
    assert_eq!(
        a.drops.not_transitive, p.sent,
        "every probe dropped as not transitive"
    );

    // A low-level route that sends spoke A's traffic to the hub itself: the hub does not pass
    // it from one peering to another. (The two vocabularies mix; the first peering takes
    // 169.254.0.0/30, the hub's end first.)
    let text = hub_and_spokes(false).replace(
        "    apps: [",
        r#"    routes: [(node: "spoke-a", prefix: "10.2.0.0/16", via: "169.254.0.1")],
    apps: ["#,
    );
    let r = run(&text);
    let p = app(&r, "p").probes().unwrap();
    assert_eq!(p.returned, 0);
    let hub = r.routers.iter().find(|x| x.name == "hub").unwrap();
    assert_eq!(hub.drops.not_transitive, p.sent, "the hub drops them all");

    // User-defined routes in both spokes through the hub's appliance.
    let r = run(&hub_and_spokes(true));
    let p = app(&r, "p").probes().unwrap();
    assert_eq!(p.returned, p.sent);
    assert_eq!(
        forwarded(&r, "nva"),
        2 * p.sent,
        "both directions pass the appliance"
    );
    let hub = r.routers.iter().find(|x| x.name == "hub").unwrap();
    assert_eq!(hub.drops.not_transitive, 0);
}

#[test]
fn the_vocabulary_refuses_what_the_platform_refuses() {
    let refused = |text: String, words: &[&str]| {
        let e = hybridlab::input::load_str(&text, std::path::Path::new("t.ron"))
            .err()
            .unwrap_or_else(|| panic!("accepted: {text}"))
            .to_string();
        for w in words {
            assert!(e.contains(w), "'{w}' missing from: {e}");
        }
    };
    let spokes = format!("{HUB}, {SPOKE}");
    refused(
        hybrid(
            &spokes,
            r#"(a: "hub", b: "spoke", use_remote_gateways: true)"#,
            "",
            EDGE,
            "",
        ),
        &["peering 'hub'–'spoke'", "does not allow gateway transit"],
    );
    refused(
        hybrid(
            &spokes,
            r#"(a: "spoke", b: "hub", allow_gateway_transit: true, use_remote_gateways: true)"#,
            "",
            EDGE,
            "",
        ),
        &["'spoke' has no gateway", "'hub' has a gateway of its own"],
    );
    refused(
        hybrid(HUB, "", "", EDGE, "").replace(
            "kind: ExpressRoute, sku: ErGw1Az",
            "kind: ExpressRoute, sku: VpnGw1",
        ),
        &["gateway 'ergw'", "VpnGw1 is a VPN SKU"],
    );
    refused(
        hybrid(HUB, "", "", EDGE, "").replace(r#"public_ip: "198.51.100.1/30", "#, ""),
        &["gateway 'vpngw'", "needs `public_ip` and `internet`"],
    );
    refused(
        hybrid(
            &HUB.replace(r#"prefix: "10.20.1.0/24""#, r#"prefix: "10.21.1.0/24""#),
            "",
            "",
            EDGE,
            "",
        ),
        &[
            "vnet 'hub'",
            "subnet 'appliances' (10.21.1.0/24) is outside the address space",
        ],
    );
    refused(
        hybrid(&spokes, r#"(a: "hub", b: "spokee")"#, "", EDGE, ""),
        &["unknown vnet 'spokee'", "did you mean 'spoke'"],
    );
    refused(
        hybrid(
            &HUB.replace(
                r#"(node: "hub-vm2")])"#,
                r#"(node: "hub-vm2")], routes: [(prefix: "10.1.0.0/16", next_hop: "10.20.9.9")])"#,
            ),
            "",
            "",
            EDGE,
            "",
        ),
        &["subnet 'workload'", "next hop 10.20.9.9 is not a VM"],
    );
    refused(
        hybrid(
            &HUB.replace(r#"(node: "nva")"#, r#"(node: "hub-vm")"#),
            "",
            "",
            EDGE,
            "",
        ),
        &["VM 'hub-vm' is already on vnet 'hub' subnet 'workload'"],
    );
    refused(
        hybrid(
            &HUB.replace(r#"gateway_subnet: "10.20.254.0/27","#, ""),
            "",
            "",
            EDGE,
            "",
        ),
        &["vnet 'hub' has no gateway_subnet"],
    );
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn past_its_prefix_limit_a_peering_drops_the_session_and_premium_raises_the_limit() {
    // 4,001 /24s from on premises: one past the private peering's and the VPN gateway's 4,000.
    let many: Vec<String> = (0..4001)
        .map(|i| format!("\"11.{}.{}.0/24\"", i / 256, i % 256))
        .collect();
    let text = hybrid(HUB, "", "", &format!("{EDGE}, {}", many.join(", ")), "");
    let r = run(&text);
    let down = |r: &Results, router: &str, what: &str| {
        r.control
            .iter()
            .filter(|e| e.router.starts_with(router) && e.what.to_string() == what)
            .count()
    };
    assert!(
        down(&r, "er-msee", "BGP down (prefix limit exceeded)") >= 2,
        "both MSEEs drop it"
    );
    assert!(down(&r, "vpngw", "BGP down (prefix limit exceeded)") >= 1);
    // The edge hears why: NOTIFICATION, cease.
    assert!(down(&r, "edge", "BGP down (notification, code 6)") >= 3);
    // No fault explains it: the report lists it on its own.
    let report = hybridlab::export::report::render(&r.summary(None));
    assert!(
        report.contains("control plane, before any fault")
            && report.contains("er-msee1 (peer 192.168.100.1): BGP down (prefix limit exceeded)"),
        "{report}"
    );

    let premium = run(&text.replace("ce_local_pref: 150", "ce_local_pref: 150, premium: true"));
    assert_eq!(
        down(&premium, "er-msee", "BGP down (prefix limit exceeded)"),
        0
    );
    let learned = premium
        .route_changes
        .iter()
        .filter(|c| c.router == "ergw" && !c.next_hops.is_empty())
        .map(|c| c.prefix)
        .collect::<std::collections::BTreeSet<_>>();
    // The 4,001, the /16 beside them, and the VNet's own address space.
    assert_eq!(learned.len(), 4003, "every prefix reached the gateway");
}

#[test]
fn as_path_prepending_makes_a_circuit_the_less_preferred() {
    let lab = |prepend: &str| {
        format!(
            r#"(
    name: "two-circuits", seed: 1, duration: "4s",
    nodes: [Router(name: "edge", bgp: (asn: 65001, originate: ["10.1.0.0/16"])), Host(name: "vm")],
    links: [],
    vnets: [(name: "vnet", address_space: ["10.20.0.0/16"], gateway_subnet: "10.20.254.0/27",
             subnets: [(name: "w", prefix: "10.20.0.0/24", vms: [(node: "vm")])])],
    gateways: [(name: "ergw", vnet: "vnet", kind: ExpressRoute, sku: ErGw1Az)],
    circuits: [
        (name: "er1", ce: "edge", bandwidth: "1Gbps", primary: "192.168.1.0/30", secondary: "192.168.1.4/30"),
        (name: "er2", ce: "edge", bandwidth: "1Gbps", primary: "192.168.2.0/30", secondary: "192.168.2.4/30" {prepend}),
    ],
    connections: [ExpressRoute(name: "c1", gateway: "ergw", circuit: "er1"), ExpressRoute(name: "c2", gateway: "ergw", circuit: "er2")],
)"#
        )
    };
    // What the gateway settles on for on premises: its MSEE next hops.
    let settled = |text: String| {
        let r = run(&text);
        r.route_changes
            .iter()
            .rfind(|c| c.router == "ergw" && c.prefix.to_string() == "10.1.0.0/16")
            .map(|c| c.next_hops.len())
            .unwrap()
    };
    assert_eq!(
        settled(lab("")),
        4,
        "equal paths: all four MSEEs share the flows"
    );
    assert_eq!(settled(lab(", ce_prepend: 3")), 2, "only er1's MSEEs");
}

fn warnings(text: &str) -> Vec<String> {
    lab(text).warnings.iter().map(|w| w.to_string()).collect()
}

#[test]
fn check_warns_when_the_two_directions_would_take_different_paths_and_the_run_agrees() {
    let symmetric = hub_only(&probe("p", "onprem-host", "hub-vm"));
    assert!(
        !warnings(&symmetric)
            .iter()
            .any(|w| w.contains("different paths")),
        "local preference 150 on the circuit keeps both directions on it"
    );
    // Without it, on premises prefers the VPN's shorter AS path.
    let text = symmetric.replace(", ce_local_pref: 150", "");
    let w = warnings(&text);
    assert!(
        w.iter()
            .any(|w| w.contains("'edge' sends to 10.20.0.0/16 over the VPN")
                && w.contains("different paths")
                && w.contains("ce_local_pref: 150")),
        "{w:?}"
    );
    let rtt = rtt_p50_ms(&run(&text), "p");
    assert!(
        (23.0..26.0).contains(&rtt),
        "RTT {rtt} ms: in over the VPN, back over the circuit"
    );
    // A more specific prefix over the VPN: the VNet sends it there, on premises does not.
    let text = hybrid(HUB, "", r#", announce: ["10.1.0.0/24"]"#, EDGE, "");
    assert!(
        warnings(&text)
            .iter()
            .any(|w| w.contains("the VNet sends to 10.1.0.0/24 over the VPN")
                && w.contains("different paths")),
        "{:?}",
        warnings(&text)
    );
}

#[test]
fn coexisting_gateways_follow_the_coexistence_rules() {
    let refused = |text: String, words: &str| {
        let e = hybridlab::input::load_str(&text, std::path::Path::new("t.ron"))
            .expect_err("refused")
            .to_string();
        assert!(e.contains(words), "{e}");
        assert!(e.contains("coexistence guide"), "the rule's source: {e}");
    };
    let text = hub_only("");
    refused(
        text.replace("sku: VpnGw2", "sku: Basic"),
        "'vpngw' is Basic: coexistence needs VpnGw1 or above",
    );
    refused(
        text.replace("sku: VpnGw2", "sku: Basic, vpn_type: PolicyBased"),
        "'vpngw' is policy-based: coexistence needs a route-based VPN gateway",
    );
    refused(
        text.replace(
            r#"gateway_subnet: "10.20.254.0/27""#,
            r#"gateway_subnet: "10.20.254.0/28""#,
        ),
        "gateway_subnet 10.20.254.0/28 is smaller than the /27",
    );
}

#[test]
fn there_is_no_transit_between_a_vpn_site_and_an_expressroute_site() {
    // A branch with its own VPN device joins; the edge keeps only the circuit.
    let text = hub_only(&probe("p", "branch-host", "onprem-host"))
        .replace(
            r#"Router(name: "internet"),"#,
            r#"Router(name: "internet"), Host(name: "branch-host", gateway: "10.2.0.1"),
        Router(name: "branch", bgp: (asn: 65002, originate: ["10.2.0.0/16"])),"#,
        )
        .replace(
            r#"(name: "isp", a:"#,
            r#"(name: "branch-lan", a: (node: "branch-host", ip: "10.2.0.10/24"), b: (node: "branch", ip: "10.2.0.1/24")),
        (name: "branch-isp", a: (node: "branch", ip: "203.0.113.5/30"), b: (node: "internet", ip: "203.0.113.6/30"), delay: "10ms"),
        (name: "isp", a:"#,
        )
        .replace(
            r#"(name: "onprem", device: "edge", ip: "203.0.113.1", bgp: (asn: 65001, ip: "172.16.255.1" )"#,
            r#"(name: "onprem", device: "branch", ip: "203.0.113.5", bgp: (asn: 65002, ip: "172.16.255.2" )"#,
        );
    let w = warnings(&text);
    assert!(
        w.iter().any(|w| w.contains(
            "site 'branch' (VPN) and site 'edge' (circuit 'er') do not reach each other"
        ) && w
            .contains("no transit routing between VPN sites and ExpressRoute sites")),
        "{w:?}"
    );
    let r = run(&text);
    assert_eq!(
        app(&r, "p").probes().unwrap().returned,
        0,
        "the VNet does not pass one site's routes to the other"
    );
    // Both sites still reach the VNet.
    let text = text.replace(
        r#"apps: [(name: "p", from: "branch-host", to: "onprem-host""#,
        r#"apps: [(name: "p", from: "branch-host", to: "hub-vm""#,
    );
    assert!(rtt_p50_ms(&run(&text), "p") > 30.0);
}

/// The active-active lab, without its expectations, with its text changed by `edits` (from,
/// to).
fn active_active(edits: &[(&str, &str)]) -> Results {
    let lab = common::topology("vpn-active-active.ron");
    let mut text = format!(
        "{}    expect: [],\n)\n",
        lab.split("    expect: [").next().unwrap()
    );
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    run(&text)
}

fn outage_s(r: &Results, app_name: &str, fault: &str) -> f64 {
    let t = hybridlab::analysis::timeline::timelines(r);
    let t = t
        .iter()
        .find(|t| t.fault == fault)
        .unwrap_or_else(|| panic!("no fault '{fault}'"));
    t.outages
        .iter()
        .find(|o| o.app == app_name)
        .unwrap()
        .outage_us
        / 1e6
}

const UNPLANNED: &str = "gateway vpngw instance 0 unplanned failure";

#[test]
fn both_instances_of_an_active_active_gateway_carry_traffic() {
    let r = active_active(&[]);
    for t in ["s2s-in0", "s2s-in1"] {
        let t = r.tunnels.iter().find(|x| x.name == t).unwrap();
        assert!(t.stats.iter().all(|s| s.encapsulated > 1000), "{t:?}");
    }
}

#[test]
fn an_active_active_instance_failure_moves_flows_when_dead_peer_detection_notices() {
    // Flows hashed onto instance 0 wait for DPD: 45 s by default, 9 s at its minimum.
    let r = active_active(&[]);
    let p4 = outage_s(&r, "p4", UNPLANNED);
    assert!((45.0..45.2).contains(&p4), "{p4}");
    let r = active_active(&[(
        r#"local: "onprem")"#,
        r#"local: "onprem", dpd: (interval: "3s", timeout: "9s"))"#,
    )]);
    let p4 = outage_s(&r, "p4", UNPLANNED);
    assert!((9.0..9.2).contains(&p4), "{p4}");
    // The others never notice: the VNet's side moved within its programming delay and their
    // forward path was the other instance.
    assert_eq!(outage_s(&r, "p1", UNPLANNED), 0.0);
}

#[test]
fn an_active_standby_gateway_fails_over_in_its_documented_times() {
    let standby = [
        ("active_active: true,", ""),
        (r#"second_public_ip: "198.51.100.5/30","#, ""),
        (
            r#"unplanned_failover: "60s""#,
            r#"unplanned_failover: "30s""#,
        ),
    ];
    let second = (
        r#"GatewayFailure(gateway: "vpngw", instance: 1, planned: true)"#,
        r#"GatewayFailure(gateway: "vpngw", instance: 0, planned: true)"#,
    );
    let r = active_active(&[standby[0], standby[1], standby[2], second]);
    // Every flow waits for the standby (30 s here), then for the edge to find its BGP session
    // gone (its next keepalive, at most 60 s), reconnect (5 s) and the VNet to program (2 s).
    for app_name in ["p1", "p2", "p3", "p4"] {
        let o = outage_s(&r, app_name, UNPLANNED);
        assert!((30.0..98.0).contains(&o), "{app_name}: {o}");
    }
    // Planned: 15 s to the standby.
    let planned = "gateway vpngw instance 0 planned failure";
    let r = active_active(&[
        standby[0],
        standby[1],
        (
            r#"GatewayFailure(gateway: "vpngw", instance: 0)"#,
            r#"GatewayFailure(gateway: "vpngw", instance: 0, planned: true)"#,
        ),
        (
            r#"(at: "100s", action: GatewayFailure(gateway: "vpngw", instance: 1, planned: true)),"#,
            "",
        ),
    ]);
    // Planned: the standby in 15 s, then the edge's next connect retry (5 s) and the VNet's
    // programming (2 s).
    for app_name in ["p1", "p4"] {
        let o = outage_s(&r, app_name, planned);
        assert!((15.0..23.0).contains(&o), "{app_name}: {o}");
    }
}

/// Two VNets, each with a VPN gateway on one internet router, joined VNet-to-VNet.
fn two_vnets(asn_b: &str) -> String {
    format!(
        r#"(
    name: "v2v", seed: 1, duration: "6s",
    nodes: [Router(name: "internet"), Host(name: "vm-a"), Host(name: "vm-b")],
    links: [],
    vnets: [
        (name: "east", address_space: ["10.1.0.0/16"], gateway_subnet: "10.1.255.0/27",
         subnets: [(name: "w", prefix: "10.1.0.0/24", vms: [(node: "vm-a")])]),
        (name: "west", address_space: ["10.2.0.0/16"], gateway_subnet: "10.2.255.0/27",
         subnets: [(name: "w", prefix: "10.2.0.0/24", vms: [(node: "vm-b")])]),
    ],
    gateways: [
        (name: "gw-east", vnet: "east", kind: Vpn, sku: VpnGw1, public_ip: "198.51.100.1/30",
         internet: (node: "internet", delay: "15ms")),
        (name: "gw-west", vnet: "west", kind: Vpn, sku: VpnGw1, public_ip: "198.51.100.5/30",
         internet: (node: "internet", delay: "15ms") {asn_b}),
    ],
    connections: [VnetToVnet(name: "east-west", a: "gw-east", b: "gw-west")],
    apps: [(name: "p", from: "vm-a", to: "vm-b", start: "4s", traffic: UdpProbe(interval: "10ms"))],
)"#
    )
}

#[test]
fn vnet_to_vnet_joins_two_vnets_over_ipsec_with_bgp_or_static_routes() {
    for asn_b in ["", ", asn: 65010"] {
        let r = run(&two_vnets(asn_b));
        let rtt = rtt_p50_ms(&r, "p");
        assert!(
            (60.0..61.0).contains(&rtt),
            "{asn_b}: RTT {rtt} ms: 2 x 2 x 15 ms of internet"
        );
        let t = r.tunnels.iter().find(|t| t.name == "east-west").unwrap();
        assert!(t.stats[0].encapsulated > 100, "{asn_b}: through the tunnel");
        let bgp = r
            .control
            .iter()
            .any(|e| e.router == "gw-east" && e.peer.to_string() == "10.2.255.30");
        assert_eq!(
            bgp,
            !asn_b.is_empty(),
            "BGP over the tunnel only with distinct ASNs"
        );
    }
}

#[test]
fn an_authorization_key_is_valid_for_one_connection_only() {
    let text = hub_only("")
        .replace("ce_local_pref: 150)", r#"ce_local_pref: 150, authorizations: ["key-1"])"#)
        .replace(
            r#"ExpressRoute(name: "er-conn", gateway: "ergw", circuit: "er"),"#,
            r#"ExpressRoute(name: "er-conn", gateway: "ergw", circuit: "er", authorization: "key-1"),"#,
        );
    lab(&text);
    let refused = |text: String, words: &str| {
        let e = hybridlab::input::load_str(&text, std::path::Path::new("t.ron"))
            .expect_err("refused")
            .to_string();
        assert!(e.contains(words), "{e}");
    };
    refused(
        text.replace(r#"authorization: "key-1""#, r#"authorization: "key-2""#),
        "circuit 'er' issued no authorization 'key-2' (it issued: key-1)",
    );
    // A second ER gateway in another VNet presenting the same key.
    let second = text
        .replace(
            "    gateways: [",
            r#"    gateways: [(name: "ergw2", vnet: "other", kind: ExpressRoute, sku: ErGw1Az),"#,
        )
        .replace(
            "    vnets: [",
            r#"    vnets: [(name: "other", address_space: ["10.99.0.0/16"], gateway_subnet: "10.99.255.0/27"),"#,
        )
        .replace(
            r#"authorization: "key-1"),"#,
            r#"authorization: "key-1"), ExpressRoute(name: "other-conn", gateway: "ergw2", circuit: "er", authorization: "key-1"),"#,
        );
    refused(
        second,
        "connection 'other-conn': authorization 'key-1' of circuit 'er' is already used by connection 'er-conn'",
    );
}

/// A VNet with a VPN gateway and `clients` (P2S client items), each client host at home behind
/// the internet router.
fn p2s(pool: &str, clients: &str, hosts: &str, apps: &str) -> String {
    format!(
        r#"(
    name: "p2s", seed: 1, duration: "6s",
    nodes: [Router(name: "internet"), Host(name: "vm") {hosts}],
    links: [],
    vnets: [(name: "vnet", address_space: ["10.20.0.0/16"], gateway_subnet: "10.20.254.0/27",
             subnets: [(name: "w", prefix: "10.20.0.0/24", vms: [(node: "vm")])])],
    gateways: [(name: "vpngw", vnet: "vnet", kind: Vpn, sku: VpnGw1, public_ip: "198.51.100.1/30",
                internet: (node: "internet", delay: "8ms"), p2s_pool: "{pool}")],
    p2s_clients: [{clients}],
    apps: [{apps}],
)"#
    )
}

#[test]
fn an_ikev2_client_reaches_the_vnet_through_its_own_tunnel_with_a_pool_address() {
    let text = p2s(
        "172.16.201.0/24",
        r#"(name: "alice", host: "laptop", gateway: "vpngw", protocol: IkeV2,
            home: (node: "internet", ip: "192.0.2.1/30", delay: "10ms", rate: "50Mbps"))"#,
        r#", Host(name: "laptop")"#,
        &probe_at("p", "laptop", "vm", "2s"),
    );
    let l = lab(&text);
    let laptop = l.nodes.iter().find(|n| n.name == "laptop").unwrap();
    assert_eq!(
        laptop.ifaces[0].addr.to_string(),
        "172.16.201.3/31",
        "from the pool"
    );
    let r = run(&text);
    let rtt = rtt_p50_ms(&r, "p");
    assert!((36.0..37.0).contains(&rtt), "RTT {rtt} ms: 2 x (10 + 8) ms");
    let t = r.tunnels.iter().find(|t| t.name == "alice").unwrap();
    assert!(t.stats[0].encapsulated > 100);
    // The VNet learned the pool from the gateway.
    assert!(r
        .route_changes
        .iter()
        .any(|c| c.router == "vnet" && c.prefix.to_string() == "172.16.201.0/24"));
}

#[test]
fn point_to_site_limits_and_rules_are_the_platforms() {
    let refused = |text: String, words: &str| {
        let e = hybridlab::input::load_str(&text, std::path::Path::new("t.ron"))
            .expect_err("refused")
            .to_string();
        assert!(e.contains(words), "{e}");
    };
    let client = |n: usize, protocol: &str| {
        format!(
            r#"(name: "c{n}", host: "h{n}", gateway: "vpngw", protocol: {protocol},
                home: (node: "internet", ip: "192.0.{}.{}/30"))"#,
            n / 64,
            (n % 64) * 4 + 1
        )
    };
    let many = |count: usize, protocol: &str| {
        let clients: Vec<String> = (0..count).map(|n| client(n, protocol)).collect();
        let hosts: String = (0..count)
            .map(|n| format!(r#", Host(name: "h{n}")"#))
            .collect();
        p2s("172.16.0.0/16", &clients.join(", "), &hosts, "")
    };
    lab(&many(250, "IkeV2"));
    refused(
        many(251, "IkeV2"),
        "VpnGw1 takes 250 IKEv2 and OpenVPN point-to-site connections; the lab gives it 251",
    );
    refused(
        p2s(
            "172.16.201.0/30",
            &[client(0, "IkeV2"), client(1, "IkeV2")].join(", "),
            r#", Host(name: "h0"), Host(name: "h1")"#,
            "",
        ),
        "p2s_pool 172.16.201.0/30 of gateway 'vpngw' has no address left",
    );
    refused(
        p2s(
            "10.20.128.0/24",
            &client(0, "IkeV2"),
            r#", Host(name: "h0")"#,
            "",
        ),
        "overlaps a VNet's address space",
    );
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn tunnels_carried_in_tcp_melt_down_under_loss_and_esp_does_not() {
    let text = common::topology("p2s-clients.ron");
    let r = run(&text);
    let p50 = |name: &str| app(&r, name).probes().unwrap().rtt.quantile(0.5).unwrap() as f64 / 1e6;
    let ike = p50("alice-probe");
    assert!(
        (36.0..37.0).contains(&ike),
        "IKEv2 keeps the path's RTT: {ike}"
    );
    for tcp in ["bob-probe", "carol-probe"] {
        assert!(p50(tcp) > 10.0 * ike, "{tcp}: {} ms", p50(tcp));
    }
    // Each client's tunnel carried its traffic, in both directions.
    for name in ["alice", "bob", "carol"] {
        let t = r.tunnels.iter().find(|t| t.name == name).unwrap();
        assert!(
            t.stats
                .iter()
                .all(|s| s.encapsulated > 1000 && s.decapsulated > 1000),
            "{name}"
        );
    }
    // Without loss the TCP-carried tunnels carry what ESP carries, within their framing.
    let clean = run(&text.replace(", loss: Bernoulli(0.01)", ""));
    let goodput = |name: &str| {
        let s = app(&clean, name).summary(clean.duration);
        s.figures.goodput_bps.unwrap()
    };
    let (alice, bob) = (goodput("alice-bulk"), goodput("bob-bulk"));
    assert!(bob > 0.9 * alice, "OpenVPN {bob} vs IKEv2 {alice}");
}

/// The shipped point-to-site lab with `client`'s home link changed by `edit` (a fault list or a
/// loss), run to `duration` under a wall-time bound.
fn p2s_client_edit(client: &str, faults: &str, loss: &str, duration: &str) -> Results {
    let text = common::topology("p2s-clients.ron")
        .replace(r#"duration: "20s""#, &format!(r#"duration: "{duration}""#))
        .replace(
            "    expect: [",
            &format!("    faults: [{faults}],\n    expect: ["),
        );
    let home = format!(r#"(name: "{client}", "#);
    let text: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with(&home) {
                l.replace("Bernoulli(0.01)", loss)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let what = format!("{client}: {faults} {loss}");
    common::within(std::time::Duration::from_secs(30), &what, move || {
        run(&text)
    })
}

#[test]
fn a_tcp_carried_client_whose_home_link_is_down_at_start_connects_when_it_returns() {
    // OpenVPN (bob) and SSTP (carol): the home link is down from 0 s to 12 s. The client's TCP
    // sends its SYN at 0 s and again 1, 3, 7 and 15 s later (Linux: 1 s, doubling); the one at
    // 15 s is the first to find the link up, and connects a round trip later (2 x 18 ms).
    for client in ["bob", "carol"] {
        let link = format!("{client}-home");
        let faults = format!(
            r#"(at: "0s", action: LinkDown("{link}")), (at: "12s", action: LinkUp("{link}"))"#
        );
        let r = p2s_client_edit(client, &faults, "Bernoulli(0.01)", "20s");
        let t = r.tunnels.iter().find(|t| t.name == client).unwrap();
        let c = &t.stats[0];
        assert_eq!(
            (c.connect_attempts, c.connections),
            (1, 1),
            "{client}: {c:?}"
        );
        let first = c.first_connected.unwrap() as f64 / 1e9;
        assert!(
            (15.03..15.05).contains(&first),
            "{client} connected at {first} s"
        );
        assert_eq!(c.unconnected, c.first_connected.unwrap(), "{client}");
        // The tunnel then carries the client's probes.
        let probe = format!("{client}-probe");
        let answered = app(&r, &probe).probes().unwrap().rtt.len();
        assert!(answered > 100, "{probe}: {answered} answered");
        let report = hybridlab::export::report::render(&r.summary(None));
        assert!(
            report.contains(&format!(
                "{client}-vpn connected 1 time(s) in 1 attempt(s), the first at 15.036s; without a connection for 15.036s in all"
            )),
            "{report}"
        );
    }
}

#[test]
fn a_tcp_carried_client_that_never_reaches_the_gateway_retries_as_openvpn_does() {
    // Every packet of bob's home link lost: each attempt is given up after OpenVPN's 120 s
    // connect timeout and the next starts 5 s later, at 0, 125 and 250 s.
    let text = p2s(
        "172.16.201.0/24",
        r#"(name: "bob", host: "laptop", gateway: "vpngw", protocol: OpenVpn,
            home: (node: "internet", ip: "192.0.2.1/30", delay: "10ms", loss: Bernoulli(1)))"#,
        r#", Host(name: "laptop")"#,
        &probe_at("p", "laptop", "vm", "1s"),
    )
    .replace(r#"duration: "6s""#, r#"duration: "300s""#);
    let r = common::within(
        std::time::Duration::from_secs(30),
        "bob, 100% loss",
        move || run(&text),
    );
    let t = r.tunnels.iter().find(|t| t.name == "bob").unwrap();
    let c = &t.stats[0];
    assert_eq!((c.connect_attempts, c.connections), (3, 0), "{c:?}");
    assert_eq!(c.first_connected, None);
    assert_eq!(c.unconnected, 300_000_000_000);
    let report = hybridlab::export::report::render(&r.summary(None));
    assert!(
        report.contains(
            "bob-vpn never connected: 3 attempt(s), without a connection for the whole run (300s)"
        ),
        "{report}"
    );
}

#[test]
fn site_to_site_and_point_to_site_share_the_gateways_throughput() {
    // VpnGw1: 650 Mbps for all its tunnels together. A site and a home worker each send
    // 500 Mbps to the VNet.
    let lab = |apps: &str| {
        format!(
            r#"(
    name: "shared", seed: 1, duration: "7s",
    nodes: [Router(name: "internet"), Host(name: "vm", tcp_rx_buffer: "4MiB"),
            Host(name: "laptop", tcp_tx_buffer: "4MiB"),
            Host(name: "site-host", gateway: "10.1.0.1", tcp_tx_buffer: "4MiB"),
            Router(name: "edge", bgp: (asn: 65001, originate: ["10.1.0.0/16"]))],
    links: [(name: "lan", a: (node: "site-host", ip: "10.1.0.10/24"), b: (node: "edge", ip: "10.1.0.1/24"), rate: "10Gbps"),
            (name: "isp", a: (node: "edge", ip: "203.0.113.1/30"), b: (node: "internet", ip: "203.0.113.2/30"), delay: "1ms", rate: "10Gbps")],
    vnets: [(name: "vnet", address_space: ["10.20.0.0/16"], gateway_subnet: "10.20.254.0/27",
             subnets: [(name: "w", prefix: "10.20.0.0/24", vms: [(node: "vm")])])],
    gateways: [(name: "vpngw", vnet: "vnet", kind: Vpn, sku: VpnGw1, public_ip: "198.51.100.1/30",
                internet: (node: "internet", delay: "1ms", rate: "10Gbps"), p2s_pool: "172.16.201.0/24")],
    local_gateways: [(name: "site", device: "edge", ip: "203.0.113.1", bgp: (asn: 65001, ip: "172.16.255.1"))],
    connections: [SiteToSite(name: "s2s", gateway: "vpngw", local: "site")],
    p2s_clients: [(name: "worker", host: "laptop", gateway: "vpngw", protocol: IkeV2,
                   home: (node: "internet", ip: "192.0.2.1/30", delay: "1ms", rate: "10Gbps"))],
    apps: [{apps}],
)"#
        )
    };
    let site = r#"(name: "site", from: "site-host", to: "vm", start: "4s", traffic: TcpBulk(rate: "500Mbps")),"#;
    let home = r#"(name: "home", from: "laptop", to: "vm", start: "4s", traffic: TcpBulk(rate: "500Mbps")),"#;
    let goodput = |r: &Results, name: &str| {
        app(r, name)
            .summary(r.duration)
            .figures
            .goodput_bps
            .unwrap()
            / 1e6
    };
    let alone = run(&lab(site));
    assert!(
        goodput(&alone, "site") > 450.0,
        "{}",
        goodput(&alone, "site")
    );
    let both = run(&lab(&format!("{site}{home}")));
    let sum = goodput(&both, "site") + goodput(&both, "home");
    assert!(
        (550.0..=660.0).contains(&sum),
        "together {sum} Mbps: the gateway's 650 Mbps"
    );
}

#[test]
fn a_gateways_programming_delay_holds_back_what_it_learns() {
    let first_install = |text: String| {
        let r = run(&text);
        r.route_changes
            .iter()
            .find(|c| c.router == "ergw" && c.prefix.to_string() == "10.1.0.0/16")
            .map(|c| c.time)
            .unwrap()
    };
    let prompt = first_install(hub_only(""));
    let slow = first_install(hub_only("").replace(
        "kind: ExpressRoute, sku: ErGw1Az)",
        r#"kind: ExpressRoute, sku: ErGw1Az, programming_delay: "3s")"#,
    ));
    assert!(prompt < 1_000_000_000, "{prompt}");
    assert_eq!(slow - prompt, 3_000_000_000);
}

#[test]
fn addresses_at_the_ends_of_the_space_are_refused_never_overflowing() {
    let loads = |text: String| {
        let _ = hybridlab::input::load_str(&text, std::path::Path::new("t.ron"));
    };
    let top = r#"(name: "top", address_space: ["255.255.255.0/24"], gateway_subnet: "255.255.255.224/27",
        subnets: [(name: "w", prefix: "255.255.255.248/29", vms: [(node: "a"), (node: "b"), (node: "c"), (node: "d")])])"#;
    let hosts = r#", Host(name: "a"), Host(name: "b"), Host(name: "c"), Host(name: "d")"#;
    for (vnet, pool) in [
        (top, "255.255.255.252/30"),
        (top, "0.0.0.0/0"),
        (
            r#"(name: "all", address_space: ["0.0.0.0/0"], gateway_subnet: "0.0.0.0/0",
               subnets: [(name: "w", prefix: "255.255.255.255/32", vms: [(node: "a")])])"#,
            "255.255.255.254/31",
        ),
    ] {
        let text = p2s(pool, "", hosts, "").replace(
            r#"vnets: [(name: "vnet", address_space: ["10.20.0.0/16"], gateway_subnet: "10.20.254.0/27",
             subnets: [(name: "w", prefix: "10.20.0.0/24", vms: [(node: "vm")])])],"#,
            &format!("vnets: [{vnet}],"),
        );
        assert!(text.contains(vnet), "the VNet is in the lab");
        loads(text.replace(r#"vnet: "vnet""#, r#"vnet: "top""#));
        loads(text.replace(r#"vnet: "vnet""#, r#"vnet: "all""#));
    }
}
