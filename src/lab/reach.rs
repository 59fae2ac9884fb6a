//! A static reachability check over the initial routing state: every app's traffic must have a
//! path to its peer and back, with no loop. Faults may break paths later; that is what a lab
//! measures. A lab whose traffic can never arrive is a mistake in the file and is reported.

use super::model::{Lab, NodeKind};
use super::validate::host_addresses;
use std::net::Ipv4Addr;

/// Longer paths than this are taken to be routing loops.
const MAX_HOPS: usize = 64;

/// Problems as (item, reason).
pub fn check(lab: &Lab) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for app in &lab.apps {
        let item = format!("app '{}'", app.name);
        let legs = [
            (app.from, app.to_addr, "no path"),
            (app.to, app.from_addr, "no return path"),
        ];
        for (start, dst, what) in legs {
            if let Err(e) = trace(lab, start, dst) {
                problems.push((
                    item.clone(),
                    format!("{what} from '{}' to {dst}: {e}", lab.nodes[start].name),
                ));
            }
        }
    }
    problems
}

/// The node at the far end of interface `iface` of `node`.
fn peer(lab: &Lab, node: usize, iface: usize) -> usize {
    let f = lab.nodes[node].ifaces[iface];
    lab.links[f.link].ends[1 - f.side].0
}

/// Egress interfaces `node` would use towards `dst` (several when equal-cost).
fn egress(lab: &Lab, node: usize, dst: Ipv4Addr) -> Vec<usize> {
    let n = &lab.nodes[node];
    match &n.kind {
        NodeKind::Host(h) => {
            let on_link = host_addresses(n).any(|p| p.contains(dst));
            let routed = h.gateway.is_some() || h.routes.iter().any(|(p, _)| p.contains(dst));
            if (on_link || routed) && !n.ifaces.is_empty() {
                vec![0]
            } else {
                vec![]
            }
        }
        NodeKind::Router(r) => {
            let connected = n.ifaces.iter().enumerate().map(|(i, f)| (f.addr, i));
            let statics = r.routes.iter().map(|&(p, i, _)| (p, i));
            let matches: Vec<_> = connected
                .chain(statics)
                .filter(|(p, _)| p.contains(dst))
                .collect();
            let Some(best) = matches.iter().map(|(p, _)| p.len).max() else {
                return vec![];
            };
            let mut out: Vec<usize> = matches
                .iter()
                .filter(|(p, _)| p.len == best)
                .map(|&(_, i)| i)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

fn trace(lab: &Lab, start: usize, dst: Ipv4Addr) -> Result<(), String> {
    let mut stack = vec![(start, 0usize)];
    while let Some((node, hops)) = stack.pop() {
        let n = &lab.nodes[node];
        if host_addresses(n).any(|p| p.addr == dst) && matches!(n.kind, NodeKind::Host(_)) {
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
        let out = egress(lab, node, dst);
        if out.is_empty() {
            return Err(format!("'{}' has no route to {dst}", n.name));
        }
        for iface in out {
            stack.push((peer(lab, node, iface), hops + 1));
        }
    }
    Ok(())
}
