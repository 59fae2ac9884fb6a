//! Apps: traffic between two hosts.

use super::*;
use crate::substrate::ids::NodeId;

pub(super) fn apps(
    spec: &LabSpec,
    index: &BTreeMap<&str, NodeId>,
    nodes: &[Node],
    links: &[Link],
    c: &mut Checker,
) -> Vec<App> {
    let mut apps = Vec::new();
    let mut server_ports: BTreeMap<(NodeId, u16, bool), &str> = BTreeMap::new();
    let mut extra_streams: u32 = 0;
    for (k, a) in spec.apps.iter().enumerate() {
        let item = format!("app '{}'", a.name);
        let host_of = |c: &mut Checker, name: &str, role: &str| -> Option<NodeId> {
            let Some(&n) = index.get(name) else {
                c.unknown_node(&item, &format!("{role} names "), name);
                return None;
            };
            if matches!(nodes[n].kind, NodeKind::Router(_)) {
                c.fail(
                    &item,
                    format!("{role} '{name}' is a router; apps run on hosts"),
                );
                return None;
            }
            Some(n)
        };
        let from = host_of(c, &a.from, "from");
        let to = match a.to.parse::<Ipv4Addr>() {
            Ok(ip) => {
                let owner = nodes.iter().position(|n| {
                    matches!(n.kind, NodeKind::Host(_)) && host_addresses(n).any(|p| p.addr == ip)
                });
                if owner.is_none() {
                    c.fail(&item, format!("to {ip} is not the address of any host"));
                }
                owner.map(|o| (NodeId(o), ip))
            }
            Err(_) => host_of(c, &a.to, "to")
                .and_then(|n| host_addresses(&nodes[n]).next().map(|p| (n, p.addr))),
        };
        let start = a.start.map_or(0, |d| d.0);
        let stop = a.stop.map_or(spec.duration.0, |d| d.0);
        if start >= stop {
            c.fail(
                &item,
                format!(
                    "start {} is not before stop {}",
                    crate::units::format_nanos(start),
                    crate::units::format_nanos(stop)
                ),
            );
        }
        if stop > spec.duration.0 {
            c.fail(
                &item,
                format!(
                    "stop {} is after the end of the run ({})",
                    crate::units::format_nanos(stop),
                    spec.duration
                ),
            );
        }
        let port = BASE_PORT.wrapping_add(k as u16);
        let nonzero = |c: &mut Checker, what: &str, d: u64| {
            if d == 0 {
                c.fail(&item, format!("{what} is zero"));
            }
        };
        let interval_ok = |c: &mut Checker, d: u64| {
            if d == 0 {
                c.fail(&item, "interval is zero");
            } else {
                c.within(&item, &limits::APP_INTERVAL, d);
            }
        };
        let port_ok = |c: &mut Checker, p: Option<u16>| {
            if let Some(p) = p {
                c.within(&item, &limits::PORT, u64::from(p));
            }
        };
        let traffic = match &a.traffic {
            TrafficSpec::UdpProbe {
                interval,
                size,
                port: p,
            } => {
                let interval = interval.map_or(10_000_000, |d| d.0);
                let size = size.map_or(64, |b| b.0);
                interval_ok(c, interval);
                port_ok(c, *p);
                if !(16..=65507).contains(&size) {
                    c.fail(&item, format!("probe size {size} is outside 16..65507 bytes (it carries a sequence number and a timestamp)"));
                }
                Traffic::UdpProbe {
                    interval,
                    size: size as usize,
                    port: p.unwrap_or(port),
                }
            }
            TrafficSpec::Ping { interval, size } => {
                let interval = interval.map_or(1_000_000_000, |d| d.0);
                let size = size.map_or(56, |b| b.0);
                interval_ok(c, interval);
                if !(16..=65507).contains(&size) {
                    c.fail(&item, format!("ping size {size} is outside 16..65507 bytes (it carries a sequence number and a timestamp)"));
                }
                Traffic::Ping {
                    interval,
                    size: size as usize,
                    ident: port,
                }
            }
            TrafficSpec::TcpBulk {
                size,
                port: p,
                streams,
                rate,
            } => {
                let streams = streams.unwrap_or(1);
                port_ok(c, *p);
                if let Some(r) = rate.filter(|r| r.0 >= u64::from(streams.max(1))) {
                    c.within(&item, &limits::RATE, r.0);
                }
                if !(1..=MAX_STREAMS).contains(&streams) {
                    c.fail(
                        &item,
                        format!("streams {streams} is outside 1..={MAX_STREAMS}"),
                    );
                }
                if size.is_some_and(|s| s.0 < u64::from(streams.max(1))) {
                    c.fail(
                        &item,
                        format!("size must give each of the {streams} streams at least a byte"),
                    );
                }
                if rate.is_some_and(|r| r.0 < u64::from(streams.max(1))) {
                    c.fail(
                        &item,
                        format!("rate must give each of the {streams} streams at least 1 bit/s"),
                    );
                }
                extra_streams += u32::from(streams.clamp(1, MAX_STREAMS) - 1);
                Traffic::TcpBulk {
                    size: size.map(|s| s.0),
                    port: p.unwrap_or(port),
                    streams: streams.clamp(1, MAX_STREAMS),
                    rate: rate.map(|r| r.0),
                }
            }
            TrafficSpec::TcpRequestResponse {
                request,
                response,
                interval,
                port: p,
            } => {
                nonzero(c, "request", request.0);
                nonzero(c, "response", response.0);
                for (what, size) in [("request", request.0), ("response", response.0)] {
                    if size > 0 {
                        c.within(&item, &limits::MESSAGE_SIZE.named(what), size);
                    }
                }
                interval_ok(c, interval.0);
                port_ok(c, *p);
                Traffic::TcpRequestResponse {
                    request: request.0,
                    response: response.0,
                    interval: interval.0,
                    port: p.unwrap_or(port),
                }
            }
        };
        let (Some(from), Some((to, to_addr))) = (from, to) else {
            continue;
        };
        if from == to {
            c.fail(&item, format!("from and to are the same host '{}'", a.from));
            continue;
        }
        let server_port = match traffic {
            Traffic::UdpProbe { port, .. } => Some((port, false)),
            Traffic::TcpBulk { port, .. } | Traffic::TcpRequestResponse { port, .. } => {
                Some((port, true))
            }
            Traffic::Ping { .. } => None,
        };
        if let Some((port, tcp)) = server_port {
            if let Some(other) = server_ports.insert((to, port, tcp), &a.name) {
                c.fail(
                    &item,
                    format!(
                        "port {port} on '{}' is already used by app '{other}'",
                        nodes[to].name
                    ),
                );
            }
        }
        let packet = match traffic {
            Traffic::UdpProbe { size, .. } => Some(size.saturating_add(28)),
            Traffic::Ping { size, .. } => Some(size.saturating_add(8 + 20)),
            _ => None,
        };
        for host in [from, to] {
            let Some(f) = nodes[host].ifaces.first() else {
                continue;
            };
            let mtu = links[f.link].dirs[f.side].mtu as usize;
            if packet.is_some_and(|p| p > mtu) {
                c.fail(
                    &item,
                    format!(
                        "its packets of {} bytes exceed the MTU {mtu} of '{}'s link (hosts do not fragment)",
                        packet.unwrap_or(0),
                        nodes[host].name
                    ),
                );
            }
        }
        let from_addr = host_addresses(&nodes[from])
            .next()
            .map_or(Ipv4Addr::UNSPECIFIED, |p| p.addr);
        apps.push(App {
            name: a.name.clone(),
            from,
            to,
            from_addr,
            to_addr,
            start,
            stop,
            traffic,
        });
    }
    let ports = spec.apps.len() as u64 + u64::from(extra_streams);
    if ports > u64::from(CLIENT_PORTS) {
        c.fail(
            "apps",
            format!("their {ports} connections need more than the {CLIENT_PORTS} client ports 49152..=65535"),
        );
    }
    apps
}
