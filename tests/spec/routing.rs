//! Routes and paths: the tables `emulate routes` shows and the paths `emulate path` traces are
//! the run's own, and what packets do agrees with them.

use crate::common;
use hybridlab::input;
use hybridlab::lab::model::{Lab, Traffic};
use hybridlab::routing::{self, path, View};
use hybridlab::sim::path::{End, Proto};
use hybridlab::sim::Sim;
use hybridlab::substrate::ids::NodeId;
use std::path::Path;

fn lab(name: &str) -> Lab {
    input::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("topologies")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// `lab` with app `i` alone and no jitter: its path is idle and its delays exact.
fn alone(lab: &Lab, i: usize) -> Lab {
    let mut l = lab.clone();
    l.apps = vec![l.apps[i].clone()];
    l.expectations.clear();
    for link in &mut l.links {
        for d in &mut link.dirs {
            d.jitter = None;
        }
    }
    l
}

fn request(lab: &Lab, app: usize, at: u64) -> path::Request {
    let a = &lab.apps[app];
    path::Request {
        from: lab.nodes[a.from].name.clone(),
        to: a.to_addr,
        at: Some(at),
        proto: Proto::Udp,
        port: None,
        sport: None,
        size: None,
    }
}

/// The truth test: in every shipped lab, for each UDP probe app alone on an idle, jitter-free
/// path, once converged and after each fault has settled, the path printed is the one its
/// next probe takes (the same links in the same order, as the run tags them) and its one-way
/// delay is the probe's to the nanosecond: the sum of the links' propagation and
/// serialization and the gateways' processing.
#[test]
fn every_shipped_lab_path_is_the_one_its_probes_take_and_their_delay() {
    let mut exact = 0;
    for file in common::shipped_labs() {
        let full = input::load(&file).unwrap_or_else(|e| panic!("{e}"));
        for (i, a) in full.apps.iter().enumerate() {
            if !matches!(a.traffic, Traffic::UdpProbe { .. }) {
                continue;
            }
            let l = alone(&full, i);
            for s in routing::settled_routes(&l, &[]) {
                let at = s.moment.at;
                // The probe after `at`, and its echo, must see the state of `at`.
                let window = at..=at.saturating_add(2_000_000_000);
                if *window.end() > l.duration
                    || at < a.start
                    || l.faults.iter().any(|f| window.contains(&f.at))
                {
                    continue;
                }
                let r = path::path(&l, &request(&l, 0, at)).unwrap();
                let what = format!(
                    "{}: app '{}' at {} ns ({})",
                    file.display(),
                    a.name,
                    at,
                    s.moment.label
                );
                if !r.forward.delivered() {
                    assert!(
                        r.measured
                            .as_ref()
                            .is_none_or(|m| m.sent > at + 1_000_000_000),
                        "{what}: the path stops ({:?}) but a probe got through: {:?}",
                        r.forward.end,
                        r.measured
                    );
                    continue;
                }
                let m = r
                    .measured
                    .as_ref()
                    .unwrap_or_else(|| panic!("{what}: delivered, yet no probe arrived"));
                if r.forward.tcp_tunnel() {
                    // The tunnel's connection adds its own TCP on top.
                    assert!(m.one_way >= r.forward.one_way, "{what}: {m:?}");
                    continue;
                }
                assert!(
                    m.same_links,
                    "{what}: the probe crossed other links than {:?}",
                    r.forward.links()
                );
                assert_eq!(
                    m.one_way,
                    r.forward.one_way,
                    "{what}: measured against the path's propagation + serialization + processing\n{}",
                    path::render(&r)
                );
                let reverse = r.reverse.as_ref().unwrap();
                if !reverse.delivered() {
                    assert_eq!(
                        m.back, None,
                        "{what}: the return path stops, yet the echo came back"
                    );
                    continue;
                }
                let (back, same) = m.back.unwrap_or_else(|| panic!("{what}: no echo"));
                assert!(
                    same,
                    "{what}: the echo crossed other links than {:?}",
                    reverse.links()
                );
                assert_eq!(
                    back,
                    reverse.one_way,
                    "{what}: the echo's delay back\n{}",
                    path::render(&r)
                );
                exact += 1;
            }
        }
    }
    assert!(exact >= 60, "only {exact} paths checked exactly");
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn the_headline_lab_routes_before_and_after_the_circuit_fails() {
    let l = lab("er-vpn-failover.ron");
    let snaps = routing::settled_routes(&l, &routing::select_nodes(&l, &[]).unwrap());
    assert_eq!(
        snaps.len(),
        3,
        "converged, after the circuit fails, after it returns"
    );
    let vm_route = |s: &routing::Snapshot| {
        s.views
            .iter()
            .find_map(|v| match v {
                View::EffectiveRoutes { vm, routes, .. } if vm == "azure-vm" => routes
                    .iter()
                    .find(|r| r.prefix.to_string() == "10.1.0.0/16")
                    .cloned(),
                _ => None,
            })
            .expect("the VM's route to on-premises")
    };
    // Converged: on-premises through the ExpressRoute gateway.
    let before = vm_route(&snaps[0]);
    assert_eq!(
        (before.source, before.next_hop_type),
        ("VirtualNetworkGateway", "VirtualNetworkGateway")
    );
    assert_eq!(
        before.next_hop_ip,
        ["10.20.254.1".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    // The circuit down: through the VPN gateway.
    let after = vm_route(&snaps[1]);
    assert_eq!(
        after.next_hop_ip,
        ["10.20.254.5".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    // The edge's BGP table: the VPN path lost on local preference while the circuit is up.
    let edge = |s: &routing::Snapshot| {
        s.views
            .iter()
            .find_map(|v| match v {
                View::Router { tables } if tables.node == "edge" => Some(tables.clone()),
                _ => None,
            })
            .unwrap()
    };
    let t = edge(&snaps[0]);
    let cloud: Vec<_> = t
        .bgp
        .iter()
        .filter(|p| p.path.prefix.to_string() == "10.20.0.0/16")
        .collect();
    assert_eq!(cloud.len(), 3, "two circuit paths and the VPN's");
    assert_eq!(
        cloud.iter().filter(|p| p.path.used).count(),
        2,
        "both links of the circuit"
    );
    let vpn = cloud.iter().find(|p| !p.path.used).unwrap();
    assert_eq!(
        vpn.path.lost,
        Some(hybridlab::control::rib::Lost::LocalPreference)
    );
    let t = edge(&snaps[1]);
    let used: Vec<_> = t
        .bgp
        .iter()
        .filter(|p| p.path.used && p.path.peer.is_some())
        .collect();
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].path.peer.unwrap().to_string(), "10.20.254.30");
    // The circuit's route tables: each path learned on-premises from the edge, until it fails.
    let circuit = |s: &routing::Snapshot, path: &str| {
        s.views
            .iter()
            .find_map(|v| match v {
                View::Circuit {
                    path: p, routes, ..
                } if p == path => Some(routes.clone()),
                _ => None,
            })
            .unwrap()
    };
    for p in ["primary", "secondary"] {
        let onprem = |s| {
            circuit(s, p)
                .iter()
                .any(|r| r.network.to_string() == "10.1.0.0/16" && r.best)
        };
        assert!(
            onprem(&snaps[0]) && !onprem(&snaps[1]) && onprem(&snaps[2]),
            "{p}"
        );
    }
    let text = routing::text::render(&snaps);
    assert!(text.contains("lost: lower local preference"), "{text}");
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn a_spoke_cannot_reach_another_spoke_peering_is_not_transitive() {
    let l = lab("hub-spoke.ron");
    let blocked = l
        .apps
        .iter()
        .position(|a| a.name == "a-to-b-blocked")
        .unwrap();
    let r = path::path(&l, &request(&l, blocked, 8_000_000_000)).unwrap();
    assert_eq!(
        r.forward.end,
        End::Stopped {
            node: "spoke-a".to_string(),
            why: hybridlab::router::trace::Stop::NotTransitive
        }
    );
    // Through the hub's appliance, by the user routes, it goes.
    let routed = l
        .apps
        .iter()
        .position(|a| a.name == "a-to-b-via-nva")
        .unwrap();
    let r = path::path(&l, &request(&l, routed, 8_000_000_000)).unwrap();
    assert!(r.forward.delivered());
    let nodes: Vec<&str> = r.forward.hops.iter().map(|h| h.node.as_str()).collect();
    assert_eq!(
        nodes,
        ["a-routed", "spoke-a", "hub", "nva", "hub", "spoke-b"]
    );
    let user = r.forward.hops[1].route.as_ref().unwrap();
    assert_eq!(user.source, hybridlab::router::trace::Source::User);
    // The VM's effective routes name the appliance, as the portal does.
    let snaps = routing::routes(
        &l,
        &[routing::Moment {
            at: 8_000_000_000,
            label: String::new(),
        }],
        &routing::select_nodes(&l, &["a-routed".to_string()]).unwrap(),
    )
    .unwrap();
    let View::EffectiveRoutes { routes, .. } = &snaps[0].views[0] else {
        panic!("{:?}", snaps[0].views)
    };
    let udr = routes.iter().find(|r| r.source == "User").unwrap();
    assert_eq!(udr.next_hop_type, "VirtualAppliance");
    assert_eq!(
        udr.next_hop_ip,
        ["10.0.1.4".parse::<std::net::Ipv4Addr>().unwrap()]
    );
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn a_more_specific_prefix_over_the_vpn_makes_the_return_path_differ() {
    let l = lab("vpn-more-specific.ron");
    let r = path::path(&l, &request(&l, 0, 8_000_000_000)).unwrap();
    assert!(r.asymmetric, "{}", path::render(&r));
    let back = r.reverse.as_ref().unwrap();
    let vnet = &back.hops[1];
    assert_eq!(
        vnet.route.as_ref().unwrap().prefix.to_string(),
        "10.1.0.0/24"
    );
    assert!(back
        .hops
        .iter()
        .any(|h| h.entered.as_ref().is_some_and(|e| e.0 == "s2s")));
    assert!(
        !r.forward.hops.iter().any(|h| h.entered.is_some()),
        "out over the circuit"
    );
    assert!(path::render(&r).contains("asymmetric routing"));
    // The headline lab, the same design without the /24: symmetric.
    let l = lab("er-vpn-failover.ron");
    let r = path::path(&l, &request(&l, 0, 8_000_000_000)).unwrap();
    assert!(!r.asymmetric, "{}", path::render(&r));
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn equal_cost_paths_are_picked_by_the_flow_hash_as_forwarding_does() {
    // The two links of a circuit: different source ports spread over both, each the link its
    // probes take (the truth test checks that per app; here the choice itself).
    let l = lab("er-vpn-failover.ron");
    let mut sim = Sim::new(&l);
    sim.run_until(10_000_000_000);
    let host = NodeId(
        l.nodes
            .iter()
            .position(|n| n.name == "onprem-host")
            .unwrap(),
    );
    let mut links = std::collections::BTreeSet::new();
    for sport in 49152..49184 {
        let flow = hybridlab::sim::path::Flow {
            src: "10.1.0.10".parse().unwrap(),
            dst: "10.20.0.10".parse().unwrap(),
            proto: Proto::Udp,
            ports: (sport, 5000),
            payload: 100,
        };
        let p = sim.trace(host, flow);
        assert!(p.delivered());
        let edge = &p.hops[1];
        assert_eq!(edge.route.as_ref().unwrap().pick.1, 2, "two live next hops");
        links.insert(edge.link.clone());
    }
    assert_eq!(
        links.into_iter().collect::<Vec<_>>(),
        ["er-primary", "er-secondary"]
    );
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn routes_and_paths_refuse_what_they_cannot_answer() {
    let l = lab("er-vpn-failover.ron");
    let e = routing::select_nodes(&l, &["edgee".to_string()]).unwrap_err();
    assert!(e.contains("'edgee'") && e.contains("edge"), "{e}");
    let late = routing::Moment {
        at: l.duration + 1,
        label: String::new(),
    };
    let e = routing::routes(&l, &[late], &[]).unwrap_err();
    assert!(e.contains("the lab ends at"), "{e}");
    let mut req = request(&l, 0, 10_000_000_000);
    req.from = "nobody".to_string();
    assert!(path::path(&l, &req).unwrap_err().contains("'nobody'"));
    let mut req = request(&l, 0, 10_000_000_000);
    req.to = "10.99.0.1".parse().unwrap();
    let e = path::path(&l, &req).unwrap_err();
    assert!(e.contains("--port"), "{e}");
    req.port = Some(53);
    let r = path::path(&l, &req).unwrap();
    assert!(r.assumptions.iter().any(|a| a.contains("source port")));
    assert!(r.reverse.is_none(), "no node has 10.99.0.1");
    assert!(!r.forward.delivered());
}

/// `emulate routes` without `--at` on every shipped lab: once converged and after each fault
/// has settled, every VM's effective routes hold its own VNet's space (Default, Active,
/// VnetLocal), every gateway uses some route it learned, every circuit path has a best
/// route per network, every router forwards somewhere, and the text and JSON name them all.
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn every_shipped_lab_shows_its_tables_converged_and_after_each_fault() {
    let mut kinds = [false; 4];
    for file in common::shipped_labs() {
        let l = input::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let every: Vec<NodeId> = (0..l.nodes.len()).map(NodeId).collect();
        let snapshots = routing::settled_routes(&l, &every);
        let what = file.display();
        assert!(snapshots[0].moment.label.starts_with("converged"), "{what}");
        let faults: std::collections::BTreeSet<u64> = l
            .faults
            .iter()
            .map(|f| f.at)
            .filter(|&t| t < l.duration)
            .collect();
        assert_eq!(snapshots.len(), 1 + faults.len(), "{what}");
        for s in &snapshots {
            for v in &s.views {
                match v {
                    View::EffectiveRoutes { vm, routes, .. } => {
                        kinds[0] = true;
                        assert!(
                            routes.iter().any(|r| r.source == "Default"
                                && r.state == "Active"
                                && r.next_hop_type == "VnetLocal"),
                            "{what}: {vm} at {}: {routes:?}",
                            s.moment.label
                        );
                    }
                    View::Gateway {
                        gateway, learned, ..
                    } => {
                        kinds[1] = true;
                        assert!(
                            learned.iter().any(|r| r.used),
                            "{what}: {gateway}: {learned:?}"
                        );
                    }
                    View::Circuit {
                        circuit,
                        path,
                        routes,
                        ..
                    } if s.after_fault.is_none() => {
                        kinds[2] = true;
                        for r in routes {
                            assert!(
                                routes.iter().any(|b| b.network == r.network && b.best),
                                "{what}: {circuit} {path}: no best route to {}",
                                r.network
                            );
                        }
                    }
                    View::Router { tables } => {
                        kinds[3] = true;
                        assert!(!tables.forwarding.is_empty(), "{what}: {v:?}");
                    }
                    _ => {}
                }
            }
            let text = routing::text::render(std::slice::from_ref(s));
            for v in &s.views {
                if let View::EffectiveRoutes { vm, .. } = v {
                    assert!(
                        text.contains(vm.as_str()),
                        "{what}: {vm} missing from\n{text}"
                    );
                }
            }
        }
        serde_json::to_string(&snapshots).unwrap();
    }
    assert_eq!(kinds, [true; 4], "every kind of view shown by some lab");
}
