//! A static reachability check over the initial routing state: every app's traffic must have a
//! path to its peer and back, and every tunnel's endpoints must reach each other over the
//! underlay, with no loop. Faults may break paths later; that is what a lab measures. A lab whose
//! traffic can never arrive is a mistake in the file and is reported.

use super::model::{Lab, NodeKind};
use super::validate::host_addresses;
use crate::route::Port;
use std::net::Ipv4Addr;

/// Longer paths than this are taken to be routing loops.
const MAX_HOPS: usize = 64;

/// Problems as (item, reason).
pub fn check(lab: &Lab) -> Vec<(String, String)> {
    let mut problems = Vec::new();
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
                problems.push((
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
    for n in &lab.nodes {
        let NodeKind::Router(r) = &n.kind else {
            continue;
        };
        let Some(bgp) = &r.bgp else { continue };
        let from = lab
            .nodes
            .iter()
            .position(|m| std::ptr::eq(m, n))
            .unwrap_or(0);
        for s in &bgp.sessions {
            if let Err(e) = trace(lab, from, s.bgp.peer, true) {
                problems.push((
                    format!("BGP session {}", s.bgp.name),
                    format!("'{}' cannot reach its peer {}: {e}", n.name, s.bgp.peer),
                ));
            }
        }
    }
    problems
}

/// The node at the far end of `port` of `node`: the link's other end, or the tunnel's.
fn peer(lab: &Lab, node: usize, port: Port) -> usize {
    match (port, &lab.nodes[node].kind) {
        (Port::Tunnel(k), NodeKind::Router(r)) => {
            let (t, side) = r.tunnels[k];
            lab.tunnels[t].ends[1 - side].0
        }
        (Port::Iface(i), _) | (Port::Tunnel(i), _) => {
            let f = lab.nodes[node].ifaces[i];
            lab.links[f.link].ends[1 - f.side].0
        }
    }
}

/// Egress ports `node` would use towards `dst` (several when equal-cost).
fn egress(lab: &Lab, node: usize, dst: Ipv4Addr, tunnels: bool) -> Vec<Port> {
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
                .map(|(i, f)| (f.addr, Port::Iface(i)));
            let statics = r.routes.iter().map(|&(p, hop)| (p, hop.port));
            let usable = |port: &Port| tunnels || matches!(port, Port::Iface(_));
            let matches: Vec<_> = connected
                .chain(statics)
                .filter(|(p, port)| p.contains(dst) && usable(port))
                .collect();
            let Some(best) = matches.iter().map(|(p, _)| p.len).max() else {
                return vec![];
            };
            let mut out: Vec<Port> = matches
                .iter()
                .filter(|(p, _)| p.len == best)
                .map(|&(_, port)| port)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

fn trace(lab: &Lab, start: usize, dst: Ipv4Addr, tunnels: bool) -> Result<(), String> {
    let mut stack = vec![(start, 0usize)];
    while let Some((node, hops)) = stack.pop() {
        let n = &lab.nodes[node];
        if host_addresses(n).any(|p| p.addr == dst) {
            continue;
        }
        if matches!(n.kind, NodeKind::Host(_)) && node != start {
            return Err(format!(
                "packets reach host '{}', which does not forward",
                n.name
            ));
        }
        if hops >= MAX_HOPS {
            return Err(format!(
                "routing loop (still at '{}' after {MAX_HOPS} hops)",
                n.name
            ));
        }
        let out = egress(lab, node, dst, tunnels);
        if out.is_empty() {
            return Err(format!("'{}' has no route to {dst}", n.name));
        }
        for port in out {
            stack.push((peer(lab, node, port), hops + 1));
        }
    }
    Ok(())
}
