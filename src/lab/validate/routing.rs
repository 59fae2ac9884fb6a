//! Tunnels and static routes.

use super::*;
use crate::substrate::ids::NodeId;

/// Tunnels: between two routers, each end one of its own interface addresses.
pub(super) fn tunnels(
    spec: &LabSpec,
    index: &BTreeMap<&str, NodeId>,
    nodes: &mut [Node],
    c: &mut Checker,
) -> Vec<Tunnel> {
    let mut tunnels = Vec::new();
    let mut tunnel_names = BTreeSet::new();
    for t in &spec.tunnels {
        let item = format!("tunnel '{}'", t.name);
        if !tunnel_names.insert(t.name.as_str()) {
            c.fail(&item, "the name is used twice");
            continue;
        }
        let mut ends = [(NodeId(0), Ipv4Addr::UNSPECIFIED); 2];
        let mut ok = true;
        for (side, end) in [&t.a, &t.b].into_iter().enumerate() {
            let Some(&n) = index.get(end.node.as_str()) else {
                c.unknown_node(&item, "", &end.node);
                ok = false;
                continue;
            };
            if !matches!(nodes[n].kind, NodeKind::Router(_)) {
                c.fail(
                    &item,
                    format!(
                        "'{}' is a host; tunnels end on routers (VPN devices and gateways)",
                        end.node
                    ),
                );
                ok = false;
            }
            match c.addr(&item, &end.ip) {
                Some(ip) if nodes[n].ifaces.iter().any(|f| f.addr.addr == ip) => {
                    ends[side] = (n, ip)
                }
                Some(ip) => {
                    c.fail(
                        &item,
                        format!("{ip} is not an interface address of '{}'", end.node),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        if ok && ends[0].0 == ends[1].0 {
            c.fail(&item, format!("both ends are node '{}'", t.a.node));
            ok = false;
        }
        if let Some(m) = t.mss_clamp {
            c.within(&item, &limits::MSS_CLAMP, u64::from(m));
        }
        if !ok {
            continue;
        }
        let index = tunnels.len();
        for (side, &(n, _)) in ends.iter().enumerate() {
            if let NodeKind::Router(r) = &mut nodes[n].kind {
                r.tunnels.push((index, side));
            }
        }
        // SPIs 0-255 are reserved (RFC 4303).
        let spi = |side: usize| {
            (crate::rng::fnv1a(format!("{}/{side}", t.name).as_bytes()) as u32) | 0x100
        };
        tunnels.push(Tunnel {
            name: t.name.clone(),
            ends,
            suite: t.cipher,
            nat_t: t.nat_t,
            mss_clamp: t.mss_clamp,
            // A TCP-carried tunnel's liveness is its connection.
            dpd: t.dpd.as_ref().filter(|_| t.tcp.is_none()).map(|d| {
                let interval = d.interval.map_or(10_000_000_000, |x| x.0);
                let timeout = d.timeout.map_or(45_000_000_000, |x| x.0);
                if !(9_000_000_000..=3_600_000_000_000).contains(&timeout) {
                    c.fail(
                        &item,
                        format!(
                            "DPD timeout {} is outside 9s..3600s",
                            crate::units::format_nanos(timeout)
                        ),
                    );
                }
                if interval == 0 || interval > timeout {
                    c.fail(
                        &item,
                        "the DPD interval must be above zero and below the timeout",
                    );
                } else {
                    c.within(&item, &limits::DPD_TIME.named("DPD interval"), interval);
                }
                (interval, timeout)
            }),
            spi: [spi(0), spi(1)],
            tcp: t.tcp,
        });
    }
    tunnels
}

/// Static routes: via an address on a connected subnet, or into one of the node's tunnels.
pub(super) fn routes(
    spec: &LabSpec,
    index: &BTreeMap<&str, NodeId>,
    nodes: &mut [Node],
    tunnels: &[Tunnel],
    links: &[Link],
    c: &mut Checker,
) {
    for (k, r) in spec.routes.iter().enumerate() {
        let item = format!("route {} ({} to {})", k + 1, r.node, r.prefix);
        let Some(&n) = index.get(r.node.as_str()) else {
            c.unknown_node(&item, "", &r.node);
            continue;
        };
        let Some(prefix) = c.prefix(&item, &r.prefix) else {
            continue;
        };
        let node = &mut nodes[n];
        let is_router = matches!(node.kind, NodeKind::Router(_));
        if !is_router && (r.ingress.is_some() || r.system || r.via == VIA_NONE) {
            c.fail(
                &item,
                format!(
                    "'{}' is a host: `ingress`, `system` and via \"{VIA_NONE}\" are for routers",
                    r.node
                ),
            );
            continue;
        }
        // The interface a route for one ingress applies to.
        let ingress = match &r.ingress {
            None => None,
            Some(link) => match node.ifaces.iter().position(|f| links[f.link].name == *link) {
                Some(i) => Some(i),
                None => {
                    let own: Vec<&str> = node
                        .ifaces
                        .iter()
                        .map(|f| links[f.link].name.as_str())
                        .collect();
                    c.fail(
                        &item,
                        format!(
                            "ingress '{link}' is not a link of '{}'{}",
                            r.node,
                            super::super::suggest::suggest(link, &own)
                        ),
                    );
                    continue;
                }
            },
        };
        let NodeKind::Router(_) = node.kind else {
            // Hosts: handled below with addresses only.
            route_host(&item, r, prefix, node, c);
            continue;
        };
        let add = |node: &mut Node, hop: NextHop| {
            if let NodeKind::Router(rt) = &mut node.kind {
                match ingress {
                    Some(i) => rt.ingress_routes.push((i, prefix, hop)),
                    None => rt.routes.push((prefix, hop)),
                }
                if r.system {
                    rt.system_routes.push(prefix);
                }
            }
        };
        if r.via == VIA_NONE {
            add(
                node,
                NextHop {
                    port: Port::Discard,
                    via: None,
                },
            );
            continue;
        }
        let Ok(via) = r.via.parse::<Ipv4Addr>() else {
            // Not an address: the name of one of the node's tunnels.
            let found = match &node.kind {
                NodeKind::Router(rt) => rt
                    .tunnels
                    .iter()
                    .position(|&(t, _)| tunnels[t].name == r.via),
                NodeKind::Host(_) => None,
            };
            match (found, &mut node.kind) {
                (Some(k), NodeKind::Router(_)) => add(
                    node,
                    NextHop {
                        port: Port::Tunnel(k),
                        via: None,
                    },
                ),
                (_, kind) => {
                    let own: Vec<&str> = match kind {
                        NodeKind::Router(rt) => rt
                            .tunnels
                            .iter()
                            .map(|&(t, _)| tunnels[t].name.as_str())
                            .collect(),
                        NodeKind::Host(_) => Vec::new(),
                    };
                    let hint = super::super::suggest::suggest(&r.via, &own);
                    c.fail(
                        &item,
                        format!(
                            "next hop '{}' is neither an IPv4 address nor a tunnel of '{}'{hint}",
                            r.via, r.node
                        ),
                    )
                }
            }
            continue;
        };
        let Some(iface) = node.ifaces.iter().position(|f| f.connected.contains(via)) else {
            c.fail(
                &item,
                format!(
                    "next hop {via} is not on a directly connected subnet of '{}'",
                    r.node
                ),
            );
            continue;
        };
        if node.ifaces[iface].addr.addr == via {
            c.fail(&item, format!("next hop {via} is the node's own address"));
            continue;
        }
        add(node, NextHop::iface(iface, Some(via)));
    }
}

/// A host's static route: via an address on its subnet.
fn route_host(item: &str, r: &RouteSpec, prefix: Prefix, node: &mut Node, c: &mut Checker) {
    let Ok(via) = r.via.parse::<Ipv4Addr>() else {
        c.fail(
            item,
            format!(
                "next hop '{}' is not an IPv4 address (hosts have no tunnels)",
                r.via
            ),
        );
        return;
    };
    if !node.ifaces.iter().any(|f| f.addr.contains(via)) {
        c.fail(
            item,
            format!(
                "next hop {via} is not on a directly connected subnet of '{}'",
                r.node
            ),
        );
        return;
    }
    if node.ifaces.iter().any(|f| f.addr.addr == via) {
        c.fail(item, format!("next hop {via} is the node's own address"));
        return;
    }
    if let NodeKind::Host(h) = &mut node.kind {
        if h.routes.len() == MAX_HOST_ROUTES {
            c.fail(
                item,
                format!("a host holds at most {MAX_HOST_ROUTES} static routes"),
            );
        }
        h.routes.push((prefix, via));
    }
}
