//! A static reachability check over the initial routing state: every app's traffic must have a
//! path to its peer and back, and every tunnel's endpoints must reach each other over the
//! underlay, with no loop. Faults may break paths later; that is what a lab measures. A lab whose
//! traffic can never arrive is a mistake in the file and is reported.

use super::model::{has_address, host_addresses};
use super::model::{Lab, NodeKind};
use crate::substrate::ids::NodeId;
use crate::substrate::route::Port;
use std::net::Ipv4Addr;

/// An item and what is wrong with it.
pub type Finding = (String, String);

/// Longer paths than this are taken to be routing loops.
const MAX_HOPS: usize = 64;

/// Problems as (item, reason), then warnings: an app whose path VNet peering's
/// non-transitivity blocks is a design a lab may show on purpose, and the run counts its drops.
pub fn check(lab: &Lab) -> (Vec<Finding>, Vec<Finding>) {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    // With BGP, app paths are what the routers learn at run time: only the static parts (tunnel
    // underlays, BGP peers) can be checked before the run.
    let dynamic = lab
        .nodes
        .iter()
        .any(|n| matches!(&n.kind, NodeKind::Router(r) if r.bgp.is_some()));
    for app in lab.apps.iter().filter(|_| !dynamic) {
        let item = format!("app '{}'", app.name);
        let legs = [
            (app.from, app.to_addr, "no path"),
            (app.to, app.from_addr, "no return path"),
        ];
        for (start, dst, what) in legs {
            if let Err(e) = trace(lab, start, dst, true) {
                let list = if e.not_transitive {
                    &mut warnings
                } else {
                    &mut problems
                };
                list.push((
                    item.clone(),
                    format!("{what} from '{}' to {dst}: {e}", lab.nodes[start].name),
                ));
            }
        }
    }
    for t in &lab.tunnels {
        for side in 0..2 {
            let (from, dst) = (t.ends[side].0, t.ends[1 - side].1);
            if let Err(e) = trace(lab, from, dst, false) {
                problems.push((
                    format!("tunnel '{}'", t.name),
                    format!(
                        "the underlay has no path from '{}' to {dst}: {e}",
                        lab.nodes[from].name
                    ),
                ));
            }
        }
    }
    for (i, n) in lab.nodes.iter().enumerate() {
        let NodeKind::Router(r) = &n.kind else {
            continue;
        };
        let Some(bgp) = &r.bgp else { continue };
        let from = NodeId(i);
        for s in &bgp.sessions {
            if let Err(e) = trace(lab, from, s.bgp.peer, true) {
                problems.push((
                    format!("BGP session {}", s.bgp.name),
                    format!("'{}' cannot reach its peer {}: {e}", n.name, s.bgp.peer),
                ));
            }
        }
    }
    (problems, warnings)
}

/// The node at the far end of `port` of `node`: the link's other end, or the tunnel's.
fn peer(lab: &Lab, node: NodeId, port: Port) -> NodeId {
    match (port, &lab.nodes[node].kind) {
        (Port::Tunnel(k), NodeKind::Router(r)) => {
            let (t, side) = r.tunnels[k];
            lab.tunnels[t].ends[1 - side].0
        }
        (Port::Discard, _) => node,
        (Port::Iface(i), _) | (Port::Tunnel(i), _) => {
            let f = lab.nodes[node].ifaces[i];
            lab.links[f.link].receiver(f.side).0
        }
    }
}

/// Egress ports `node` would use towards `dst` (several when equal-cost) for a packet that came
/// in over interface `ingress`.
fn egress(
    lab: &Lab,
    node: NodeId,
    dst: Ipv4Addr,
    tunnels: bool,
    ingress: Option<usize>,
) -> Vec<Port> {
    let n = &lab.nodes[node];
    match &n.kind {
        NodeKind::Host(h) => {
            let on_link = host_addresses(n).any(|p| p.contains(dst));
            let routed = h.gateway.is_some() || h.routes.iter().any(|(p, _)| p.contains(dst));
            if (on_link || routed) && !n.ifaces.is_empty() {
                vec![Port::Iface(0)]
            } else {
                vec![]
            }
        }
        NodeKind::Router(r) => {
            let connected = n
                .ifaces
                .iter()
                .enumerate()
                .map(|(i, f)| (f.connected, Port::Iface(i), false));
            let statics = r.routes.iter().map(|&(p, hop)| (p, hop.port, false));
            let own = r
                .ingress_routes
                .iter()
                .filter(|(i, _, _)| Some(*i) == ingress)
                .map(|&(_, p, hop)| (p, hop.port, true));
            let usable = |port: &Port| tunnels || !matches!(port, Port::Tunnel(_));
            let matches: Vec<_> = connected
                .chain(statics)
                .chain(own)
                .filter(|(p, port, _)| p.contains(dst) && usable(port))
                .collect();
            let Some(best) = matches.iter().map(|(p, _, _)| p.len).max() else {
                return vec![];
            };
            // The ingress interface's routes win a tie (a subnet's user-defined routes).
            let own_best = matches.iter().any(|(p, _, o)| *o && p.len == best);
            let mut out: Vec<Port> = matches
                .iter()
                .filter(|(p, _, o)| p.len == best && (*o || !own_best))
                .map(|&(_, port, _)| port)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

/// Why a path could not be traced: the reason, and whether it is VNet peering's
/// non-transitivity (a design a lab may show on purpose).
pub struct NoPath {
    pub reason: String,
    pub not_transitive: bool,
}

impl std::fmt::Display for NoPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

fn trace(lab: &Lab, start: NodeId, dst: Ipv4Addr, tunnels: bool) -> Result<(), NoPath> {
    let fail = |reason: String| NoPath {
        reason,
        not_transitive: false,
    };
    let not_transitive = |reason: String| {
        NoPath {
        reason: format!("{reason}: VNet peering is not transitive (route it through a router in the hub, with user-defined routes in the spokes)"),
        not_transitive: true,
    }
    };
    let mut stack = vec![(start, 0usize, None)];
    while let Some((node, hops, ingress)) = stack.pop() {
        let n = &lab.nodes[node];
        if has_address(n, dst) {
            continue;
        }
        if matches!(n.kind, NodeKind::Host(_)) && node != start {
            return Err(fail(format!(
                "packets reach host '{}', which does not forward",
                n.name
            )));
        }
        if hops >= MAX_HOPS {
            return Err(fail(format!(
                "routing loop (still at '{}' after {MAX_HOPS} hops)",
                n.name
            )));
        }
        let out = egress(lab, node, dst, tunnels, ingress);
        let beyond = match &n.kind {
            NodeKind::Router(r) => r.beyond_peerings.iter().any(|p| p.contains(dst)),
            NodeKind::Host(_) => false,
        };
        if out.is_empty() && beyond {
            return Err(not_transitive(format!(
                "'{}' has no route to {dst}",
                n.name
            )));
        }
        if out.is_empty() {
            return Err(fail(format!("'{}' has no route to {dst}", n.name)));
        }
        if out.contains(&Port::Discard) {
            return Err(fail(format!(
                "'{}' drops packets to {dst} (a route to None)",
                n.name
            )));
        }
        let peering = |port: &Port| matches!(port, Port::Iface(i) if n.ifaces[*i].peering);
        if ingress.is_some_and(|i: usize| n.ifaces[i].peering) && out.iter().all(peering) {
            return Err(not_transitive(format!(
                "'{}' would send packets to {dst} that came over a peering over another",
                n.name
            )));
        }
        for port in out {
            let next = peer(lab, node, port);
            let arrives = match port {
                Port::Iface(i) => {
                    let f = n.ifaces[i];
                    Some(lab.links[f.link].receiver(f.side).1)
                }
                _ => None,
            };
            stack.push((next, hops + 1, arrives));
        }
    }
    Ok(())
}
