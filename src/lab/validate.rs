//! Turns a [`LabSpec`] into a [`Lab`]: resolves names, fills defaults, and checks every rule a
//! lab must obey. All problems are collected, so one run of `emulate check` lists them all.

use super::error::Problem;
use super::model::Bgp;
use super::model::*;
use super::spec::*;
use crate::gateway::{Capacity, Scope};
use crate::link::{DirParams, JitterDistribution, LossSpec, QueueLimit};
use crate::route::{NextHop, Port, Prefix};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Default per-socket TCP buffer: 1 MiB, above the bandwidth-delay product of 1 Gbps × 8 ms.
pub const DEFAULT_TCP_BUFFER: usize = 1 << 20;
/// smoltcp panics on a receive buffer above 1 GiB (its window scale tops out).
const MAX_TCP_BUFFER: u64 = 1 << 30;
/// The smallest MTU IPv4 allows (RFC 791).
const MIN_MTU: u32 = 68;
/// First server port given to an app that names none; app i gets `BASE_PORT + i`.
pub const BASE_PORT: u16 = 5000;
/// smoltcp's route table holds 8 entries (feature iface-max-route-count-8), one for the gateway.
const MAX_HOST_ROUTES: usize = 7;

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    /// Records a problem once (both directions of a link share most settings).
    fn fail(&mut self, item: impl Into<String>, reason: impl Into<String>) {
        let p = Problem {
            item: item.into(),
            reason: reason.into(),
        };
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    fn unique<'a>(&mut self, kind: &str, names: impl Iterator<Item = &'a str>) {
        let mut seen = BTreeSet::new();
        for name in names {
            if name.is_empty() {
                self.fail(format!("{kind} ''"), "a name must not be empty");
            } else if !seen.insert(name) {
                self.fail(format!("{kind} '{name}'"), "the name is used twice");
            }
        }
    }

    fn prefix(&mut self, item: &str, s: &str) -> Option<Prefix> {
        s.parse::<Prefix>().map_err(|e| self.fail(item, e)).ok()
    }

    fn addr(&mut self, item: &str, s: &str) -> Option<Ipv4Addr> {
        s.parse::<Ipv4Addr>()
            .map_err(|_| self.fail(item, format!("'{s}' is not an IPv4 address")))
            .ok()
    }

    fn probability(&mut self, item: &str, what: &str, p: f64) {
        if !(0.0..=1.0).contains(&p) {
            self.fail(item, format!("{what} {p} is outside 0..1"));
        }
    }

    /// Resolves one direction's parameters, reporting every out-of-range value.
    fn dir_params(&mut self, item: &str, spec: &DirSpec) -> DirParams {
        let d = DirParams::default();
        if let Some(loss) = &spec.loss {
            for (what, p) in loss.probabilities() {
                self.probability(item, what, p);
            }
            if let LossSpec::GilbertElliott { p, r, .. } = loss {
                if *p > 0.0 && *r == 0.0 {
                    self.fail(
                        item,
                        "Gilbert-Elliott r is 0: the bad state would never end",
                    );
                }
            }
        }
        if let Some(j) = &spec.jitter {
            self.probability(item, "jitter correlation", j.correlation);
            if j.distribution == JitterDistribution::Pareto && j.shape <= 1.0 {
                self.fail(
                    item,
                    format!(
                        "Pareto jitter shape {} must exceed 1 (the mean is infinite otherwise)",
                        j.shape
                    ),
                );
            }
        }
        if spec.rate.is_some_and(|r| r.0 == 0) {
            self.fail(
                item,
                "rate is zero: nothing could be sent; leave rate out for an unlimited link",
            );
        }
        let mtu = spec.mtu.unwrap_or(d.mtu);
        if !(MIN_MTU..=65535).contains(&mtu) {
            self.fail(item, format!("mtu {mtu} is outside {MIN_MTU}..65535"));
        }
        let queue = spec.queue.unwrap_or(d.queue);
        if matches!(queue, QueueLimit::Packets(0))
            || matches!(queue, QueueLimit::Bytes(b) if b.0 == 0)
        {
            self.fail(
                item,
                "the queue limit is zero: give it room for at least one packet",
            );
        }
        DirParams {
            delay: spec.delay.map_or(d.delay, |x| x.0),
            jitter: spec.jitter.clone().filter(|j| j.amount.0 > 0),
            loss: spec.loss.clone().unwrap_or(d.loss),
            rate: spec.rate.map(|r| r.0),
            overhead: spec.overhead.unwrap_or(d.overhead),
            queue,
            mtu,
        }
    }
}

/// Validates `spec`, returning the model or every problem found.
pub fn validate(spec: &LabSpec) -> Result<Lab, Vec<Problem>> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    c.unique("node", spec.nodes.iter().map(|n| n.name()));
    c.unique("link", spec.links.iter().map(|l| l.name.as_str()));
    c.unique("app", spec.apps.iter().map(|a| a.name.as_str()));
    if spec.duration.0 == 0 {
        c.fail("lab", "duration is zero");
    }
    let index: BTreeMap<&str, usize> = spec
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name(), i))
        .collect();

    let mut nodes: Vec<Node> = spec
        .nodes
        .iter()
        .map(|n| Node {
            name: n.name().to_string(),
            ifaces: Vec::new(),
            kind: match n {
                NodeSpec::Host { .. } => NodeKind::Host(Host {
                    extra_addresses: Vec::new(),
                    gateway: None,
                    routes: Vec::new(),
                    tcp: TcpConfig {
                        congestion: Congestion::Cubic,
                        rx_buffer: DEFAULT_TCP_BUFFER,
                        tx_buffer: DEFAULT_TCP_BUFFER,
                        nagle: true,
                    },
                }),
                NodeSpec::Router {
                    name,
                    sku,
                    throughput,
                    pps,
                    gateway_queue,
                    programming_delay,
                    mss_clamp,
                    ..
                } => {
                    let item = format!("router '{name}'");
                    let mut capacity = sku.map(|s| s.capacity());
                    if capacity.is_none() && (throughput.is_some() || pps.is_some()) {
                        capacity = Some(Capacity {
                            throughput: u64::MAX,
                            pps: None,
                            tunnel: None,
                            scope: Scope::All,
                            queue: QueueLimit::default(),
                        });
                    }
                    if let Some(cap) = &mut capacity {
                        if let Some(t) = throughput {
                            cap.throughput = t.0;
                        }
                        if pps.is_some() {
                            cap.pps = *pps;
                        }
                        if let Some(q) = gateway_queue {
                            cap.queue = *q;
                        }
                        if cap.throughput == 0 || cap.pps == Some(0) {
                            c.fail(&item, "throughput and pps must be above zero");
                        }
                    }
                    NodeKind::Router(Router {
                        capacity,
                        programming_delay: programming_delay.map_or(0, |d| d.0),
                        mss_clamp: *mss_clamp,
                        ..Router::default()
                    })
                }
            },
        })
        .collect();

    // Links and the interfaces they create.
    let mut links = Vec::new();
    for l in &spec.links {
        let item = format!("link '{}'", l.name);
        let mut ends = [(0, 0); 2];
        let mut ok = true;
        let mut addrs = [None, None];
        for (side, end) in [&l.a, &l.b].into_iter().enumerate() {
            match index.get(end.node.as_str()) {
                Some(&n) => ends[side].0 = n,
                None => {
                    c.fail(&item, format!("unknown node '{}'", end.node));
                    ok = false;
                }
            }
            addrs[side] = c.prefix(&item, &end.ip);
        }
        if ok && ends[0].0 == ends[1].0 {
            c.fail(&item, format!("both ends are node '{}'", l.a.node));
            ok = false;
        }
        if let [Some(a), Some(b)] = addrs {
            if a.network() != b.network() {
                c.fail(&item, format!("the ends {a} and {b} are not on one subnet"));
            } else if a.addr == b.addr {
                c.fail(&item, format!("both ends have the address {}", a.addr));
            }
        }
        let dirs = [
            c.dir_params(&item, &l.direction(0)),
            c.dir_params(&item, &l.direction(1)),
        ];
        if let (true, [Some(a), Some(b)]) = (ok, addrs) {
            let link = links.len();
            for (side, addr) in [a, b].into_iter().enumerate() {
                let node = &mut nodes[ends[side].0];
                ends[side].1 = node.ifaces.len();
                node.ifaces.push(Iface { link, side, addr });
            }
            links.push(Link {
                name: l.name.clone(),
                ends,
                dirs,
            });
        }
    }

    // Hosts: one interface, extra addresses, gateway, TCP settings.
    for (i, n) in spec.nodes.iter().enumerate() {
        let NodeSpec::Host {
            name,
            addresses,
            gateway,
            congestion,
            tcp_rx_buffer,
            tcp_tx_buffer,
            nagle,
        } = n
        else {
            continue;
        };
        let item = format!("host '{name}'");
        match nodes[i].ifaces.len() {
            1 => {}
            0 => c.fail(&item, "is not on any link"),
            k => c.fail(
                &item,
                format!("is on {k} links; a host has one interface (put a router between)"),
            ),
        }
        let extra: Vec<Prefix> = addresses
            .iter()
            .filter_map(|a| c.prefix(&item, a))
            .collect();
        if extra.len() + 1 > 8 {
            c.fail(&item, "has more than 8 addresses");
        }
        let own: Vec<Prefix> = nodes[i]
            .ifaces
            .iter()
            .map(|f| f.addr)
            .chain(extra.iter().copied())
            .collect();
        let gw = gateway.as_deref().and_then(|g| c.addr(&item, g));
        if let Some(g) = gw {
            if own.iter().any(|p| p.addr == g) {
                c.fail(&item, format!("gateway {g} is the host's own address"));
            } else if !own.iter().any(|p| p.contains(g)) {
                c.fail(
                    &item,
                    format!("gateway {g} is outside every subnet of the host"),
                );
            }
        }
        let mut buffer = |what: &str, b: &Option<crate::units::Bytes>| -> usize {
            match b {
                None => DEFAULT_TCP_BUFFER,
                Some(b) if b.0 == 0 || b.0 > MAX_TCP_BUFFER => {
                    c.fail(
                        &item,
                        format!("{what} {} bytes is outside 1 byte..1 GiB", b.0),
                    );
                    DEFAULT_TCP_BUFFER
                }
                Some(b) => b.0 as usize,
            }
        };
        let tcp = TcpConfig {
            congestion: *congestion,
            rx_buffer: buffer("tcp_rx_buffer", tcp_rx_buffer),
            tx_buffer: buffer("tcp_tx_buffer", tcp_tx_buffer),
            nagle: nagle.unwrap_or(true),
        };
        if let NodeKind::Host(h) = &mut nodes[i].kind {
            h.extra_addresses = extra;
            h.gateway = gw;
            h.tcp = tcp;
        }
    }

    // Routers' extra addresses.
    for (i, n) in spec.nodes.iter().enumerate() {
        if let NodeSpec::Router {
            name, addresses, ..
        } = n
        {
            let extra: Vec<Prefix> = addresses
                .iter()
                .filter_map(|a| c.prefix(&format!("router '{name}'"), a))
                .collect();
            if let NodeKind::Router(r) = &mut nodes[i].kind {
                r.extra_addresses = extra;
            }
        }
    }

    // Every address in the lab is unique.
    let mut owners: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
    for n in &nodes {
        for p in host_addresses(n) {
            if let Some(other) = owners.insert(p.addr, &n.name) {
                c.fail(
                    format!("node '{}'", n.name),
                    format!("address {} is also on node '{other}'", p.addr),
                );
            }
        }
    }

    // Routers: interface subnets must not overlap, or forwarding would be ambiguous.
    for n in nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Router(_)))
    {
        for (i, a) in n.ifaces.iter().enumerate() {
            for b in &n.ifaces[i + 1..] {
                if a.addr.overlaps(b.addr) {
                    c.fail(
                        format!("router '{}'", n.name),
                        format!(
                            "interfaces on links '{}' and '{}' have overlapping subnets {} and {}",
                            links[a.link].name,
                            links[b.link].name,
                            a.addr.network(),
                            b.addr.network()
                        ),
                    );
                }
            }
        }
    }

    // Tunnels: between two routers, each end one of its own interface addresses.
    let mut tunnels = Vec::new();
    let mut tunnel_names = BTreeSet::new();
    for t in &spec.tunnels {
        let item = format!("tunnel '{}'", t.name);
        if !tunnel_names.insert(t.name.as_str()) {
            c.fail(&item, "the name is used twice");
            continue;
        }
        let mut ends = [(0, Ipv4Addr::UNSPECIFIED); 2];
        let mut ok = true;
        for (side, end) in [&t.a, &t.b].into_iter().enumerate() {
            let Some(&n) = index.get(end.node.as_str()) else {
                c.fail(&item, format!("unknown node '{}'", end.node));
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
        if t.mss_clamp.is_some_and(|m| m < 88) {
            c.fail(&item, "mss_clamp below 88 bytes leaves no room for data");
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
            dpd: t.dpd.as_ref().map(|d| {
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
                }
                (interval, timeout)
            }),
            spi: [spi(0), spi(1)],
        });
    }

    // Static routes.
    for (k, r) in spec.routes.iter().enumerate() {
        let item = format!("route {} ({} to {})", k + 1, r.node, r.prefix);
        let Some(&n) = index.get(r.node.as_str()) else {
            c.fail(&item, format!("unknown node '{}'", r.node));
            continue;
        };
        let Some(prefix) = c.prefix(&item, &r.prefix) else {
            continue;
        };
        let node = &mut nodes[n];
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
                (Some(k), NodeKind::Router(rt)) => rt.routes.push((
                    prefix,
                    NextHop {
                        port: Port::Tunnel(k),
                        via: None,
                    },
                )),
                _ => c.fail(
                    &item,
                    format!(
                        "next hop '{}' is neither an IPv4 address nor a tunnel of '{}'",
                        r.via, r.node
                    ),
                ),
            }
            continue;
        };
        let Some(iface) = node.ifaces.iter().position(|f| f.addr.contains(via)) else {
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
        match &mut node.kind {
            NodeKind::Router(rt) => rt.routes.push((prefix, NextHop::iface(iface, Some(via)))),
            NodeKind::Host(h) => {
                if h.routes.len() == MAX_HOST_ROUTES {
                    c.fail(
                        &item,
                        format!("a host holds at most {MAX_HOST_ROUTES} static routes"),
                    );
                }
                h.routes.push((prefix, via));
            }
        }
    }

    bgp(spec, &index, &mut nodes, &mut c);

    // Apps.
    let mut apps = Vec::new();
    let mut server_ports: BTreeMap<(usize, u16, bool), &str> = BTreeMap::new();
    for (k, a) in spec.apps.iter().enumerate() {
        let item = format!("app '{}'", a.name);
        let host_of = |c: &mut Checker, name: &str, role: &str| -> Option<usize> {
            let Some(&n) = index.get(name) else {
                c.fail(&item, format!("{role} names unknown node '{name}'"));
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
        let from = host_of(&mut c, &a.from, "from");
        let to = match a.to.parse::<Ipv4Addr>() {
            Ok(ip) => {
                let owner = nodes.iter().position(|n| {
                    matches!(n.kind, NodeKind::Host(_)) && host_addresses(n).any(|p| p.addr == ip)
                });
                if owner.is_none() {
                    c.fail(&item, format!("to {ip} is not the address of any host"));
                }
                owner.map(|o| (o, ip))
            }
            Err(_) => host_of(&mut c, &a.to, "to")
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
        let traffic = match &a.traffic {
            TrafficSpec::UdpProbe {
                interval,
                size,
                port: p,
            } => {
                let interval = interval.map_or(10_000_000, |d| d.0);
                let size = size.map_or(64, |b| b.0);
                nonzero(&mut c, "interval", interval);
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
                nonzero(&mut c, "interval", interval);
                if !(16..=65507).contains(&size) {
                    c.fail(&item, format!("ping size {size} is outside 16..65507 bytes (it carries a sequence number and a timestamp)"));
                }
                Traffic::Ping {
                    interval,
                    size: size as usize,
                    ident: port,
                }
            }
            TrafficSpec::TcpBulk { size, port: p } => {
                if size.is_some_and(|s| s.0 == 0) {
                    c.fail(&item, "size is zero");
                }
                Traffic::TcpBulk {
                    size: size.map(|s| s.0),
                    port: p.unwrap_or(port),
                }
            }
            TrafficSpec::TcpRequestResponse {
                request,
                response,
                interval,
                port: p,
            } => {
                nonzero(&mut c, "request", request.0);
                nonzero(&mut c, "response", response.0);
                nonzero(&mut c, "interval", interval.0);
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
            Traffic::UdpProbe { size, .. } => Some(size + 28),
            Traffic::Ping { size, .. } => Some(size + 8 + 20),
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

    // Faults.
    let link_index: BTreeMap<&str, usize> = links
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let mut faults = Vec::new();
    for (k, f) in spec.faults.iter().enumerate() {
        let item = format!("fault {} (at {})", k + 1, f.at);
        if f.at.0 > spec.duration.0 {
            c.fail(
                &item,
                format!("happens after the end of the run ({})", spec.duration),
            );
        }
        let find = |c: &mut Checker, name: &str| {
            let found = link_index.get(name).copied();
            if found.is_none() {
                c.fail(&item, format!("unknown link '{name}'"));
            }
            found
        };
        let action = match &f.action {
            FaultAction::LinkDown(l) => {
                find(&mut c, l).map(|link| FaultKind::LinkState { link, up: false })
            }
            FaultAction::LinkUp(l) => {
                find(&mut c, l).map(|link| FaultKind::LinkState { link, up: true })
            }
            // Expanded into link faults before validation.
            FaultAction::CircuitDown(_) | FaultAction::CircuitUp(_) => None,
            FaultAction::NodeDown(n) | FaultAction::NodeUp(n) => match index.get(n.as_str()) {
                Some(&node) => Some(FaultKind::NodeState {
                    node,
                    up: matches!(f.action, FaultAction::NodeUp(_)),
                }),
                None => {
                    c.fail(&item, format!("unknown node '{n}'"));
                    None
                }
            },
            FaultAction::BgpReset { router, peer } => {
                let node = index.get(router.as_str()).copied();
                let peer_ip = c.addr(&item, peer);
                match (node, peer_ip) {
                    (Some(node), Some(peer)) => {
                        let has = matches!(&nodes[node].kind, NodeKind::Router(Router { bgp: Some(b), .. }) if b.sessions.iter().any(|s| s.bgp.peer == peer));
                        if !has {
                            c.fail(&item, format!("'{router}' has no BGP session with {peer}"));
                        }
                        Some(FaultKind::BgpReset { node, peer })
                    }
                    (None, _) => {
                        c.fail(&item, format!("unknown node '{router}'"));
                        None
                    }
                    _ => None,
                }
            }
            FaultAction::Degrade {
                link,
                direction,
                delay,
                jitter,
                loss,
                rate,
            } => find(&mut c, link).map(|link| {
                let sides: &[usize] = match direction {
                    Side::Both => &[0, 1],
                    Side::AtoB => &[0],
                    Side::BtoA => &[1],
                };
                let change = DirSpec {
                    delay: *delay,
                    jitter: jitter.clone(),
                    loss: loss.clone(),
                    rate: *rate,
                    ..DirSpec::default()
                };
                c.dir_params(&item, &change);
                FaultKind::LinkChange {
                    link,
                    sides: sides.to_vec(),
                    change: crate::link::Change {
                        delay: delay.map(|d| d.0),
                        jitter: jitter.clone().map(|j| (j.amount.0 > 0).then_some(j)),
                        loss: loss.clone(),
                        rate: rate.map(|r| r.0),
                    },
                }
            }),
        };
        if let Some(action) = action {
            faults.push(Fault {
                at: f.at.0,
                action,
                label: f.label.clone().unwrap_or_else(|| f.action.label()),
            });
        }
    }
    faults.sort_by_key(|f| f.at);

    let lab = Lab {
        tunnels,
        name: spec.name.clone(),
        seed: spec.seed,
        duration: spec.duration.0,
        nodes,
        links,
        apps,
        faults,
    };
    if c.problems.is_empty() {
        for (item, reason) in super::reach::check(&lab) {
            c.fail(item, reason);
        }
    }
    if c.problems.is_empty() {
        Ok(lab)
    } else {
        Err(c.problems)
    }
}

/// A node's addresses: its interfaces' first, then its extra addresses.
pub fn host_addresses(n: &Node) -> impl Iterator<Item = Prefix> + '_ {
    let extra = match &n.kind {
        NodeKind::Host(h) => h.extra_addresses.as_slice(),
        NodeKind::Router(r) => r.extra_addresses.as_slice(),
    };
    n.ifaces.iter().map(|f| f.addr).chain(extra.iter().copied())
}

/// Defaults (domain.md, "Control plane and failover timing").
const KEEPALIVE: u64 = 60_000_000_000;
const HOLD: u64 = 180_000_000_000;
const MIN_KEEPALIVE: u64 = 3_000_000_000;
const MIN_HOLD: u64 = 10_000_000_000;
const BFD_INTERVAL: u64 = 300_000_000;
const BFD_MULTIPLIER: u8 = 3;
/// Our choice, not the vendor's: how long a down session waits before trying again.
const CONNECT_RETRY: u64 = 5_000_000_000;
/// The Microsoft side's ASN (MSEE); 65515–65520 are reserved for Azure's gateways.
const MICROSOFT_ASN: u32 = 12076;
const RESERVED: std::ops::RangeInclusive<u32> = 65515..=65520;

/// BGP speakers and sessions.
fn bgp(spec: &LabSpec, index: &BTreeMap<&str, usize>, nodes: &mut [Node], c: &mut Checker) {
    use crate::control::{bgp::Config, plane::SessionSpec};
    for (i, n) in spec.nodes.iter().enumerate() {
        let NodeSpec::Router {
            name, bgp: Some(b), ..
        } = n
        else {
            continue;
        };
        let item = format!("router '{name}'");
        if b.asn == 0 {
            c.fail(&item, "BGP ASN 0 is not valid");
        }
        let originate = b
            .originate
            .iter()
            .filter_map(|p| c.prefix(&item, p))
            .collect();
        let first = host_addresses(&nodes[i])
            .next()
            .map_or(Ipv4Addr::UNSPECIFIED, |p| p.addr);
        let router_id = b
            .router_id
            .as_deref()
            .and_then(|r| c.addr(&item, r))
            .unwrap_or(first);
        if let NodeKind::Router(r) = &mut nodes[i].kind {
            r.bgp = Some(Bgp {
                asn: b.asn,
                router_id,
                originate,
                sessions: Vec::new(),
            });
        }
    }
    for (k, s) in spec.bgp_sessions.iter().enumerate() {
        let item = format!("BGP session {} ({}–{})", k + 1, s.a.node, s.b.node);
        let mut ends = Vec::new();
        for end in [&s.a, &s.b] {
            let Some(&n) = index.get(end.node.as_str()) else {
                c.fail(&item, format!("unknown node '{}'", end.node));
                continue;
            };
            let asn = match &nodes[n].kind {
                NodeKind::Router(Router { bgp: Some(b), .. }) => b.asn,
                _ => {
                    c.fail(
                        &item,
                        format!("'{}' is not a router with `bgp` set", end.node),
                    );
                    continue;
                }
            };
            let Some(ip) = c.addr(&item, &end.ip) else {
                continue;
            };
            if !host_addresses(&nodes[n]).any(|p| p.addr == ip) {
                c.fail(&item, format!("{ip} is not an address of '{}'", end.node));
                continue;
            }
            let keepalive = end.keepalive.map_or(KEEPALIVE, |d| d.0);
            let hold = end.hold.map_or(HOLD, |d| d.0);
            if keepalive < MIN_KEEPALIVE || hold < MIN_HOLD {
                c.fail(
                    &item,
                    format!(
                        "'{}': keepalive {} / hold {} is below the minimum 3s / 10s",
                        end.node,
                        crate::units::format_nanos(keepalive),
                        crate::units::format_nanos(hold)
                    ),
                );
            } else if keepalive >= hold {
                c.fail(
                    &item,
                    format!("'{}': keepalive must be shorter than hold", end.node),
                );
            }
            ends.push((n, ip, asn, keepalive, hold, end));
        }
        let [a, b] = ends.as_slice() else { continue };
        if a.0 == b.0 {
            c.fail(&item, "both ends are the same router");
            continue;
        }
        // The Microsoft side (MSEEs, gateways) peers with customers, whose ASN must not be one
        // Azure reserves.
        let microsoft = |n: usize| {
            matches!(
                &spec.nodes[n],
                NodeSpec::Router {
                    microsoft: true,
                    ..
                } | NodeSpec::Router { sku: Some(_), .. }
            )
        };
        for (x, y) in [(a, b), (b, a)] {
            if x.2 != y.2
                && microsoft(x.0)
                && !microsoft(y.0)
                && (RESERVED.contains(&y.2) || y.2 == MICROSOFT_ASN)
            {
                c.fail(&item, format!("'{}' uses ASN {}, which Azure reserves (65515–65520 and 12076): the customer side needs another ASN", nodes[y.0].name, y.2));
            }
        }
        // Site-to-site VPN gateways (domain.md): BGP timers fixed at 60 s / 180 s, no BFD, and
        // no BGP at all on the Basic SKU.
        let vpn_sku = |n: usize| match &spec.nodes[n] {
            NodeSpec::Router { sku: Some(sku), .. } if sku.is_vpn() => Some(*sku),
            _ => None,
        };
        for end in [a, b] {
            let Some(sku) = vpn_sku(end.0) else { continue };
            if sku == crate::gateway::Sku::Basic {
                c.fail(
                    &item,
                    format!(
                        "'{}' is a Basic VPN gateway, which does not support BGP",
                        nodes[end.0].name
                    ),
                );
            }
            let custom = [a, b]
                .iter()
                .any(|e| e.5.keepalive.is_some() || e.5.hold.is_some());
            if custom {
                c.fail(
                    &item,
                    format!(
                        "BGP timers over a site-to-site VPN ('{}') are fixed at 60s / 180s",
                        nodes[end.0].name
                    ),
                );
            }
            if s.bfd.is_some() {
                c.fail(
                    &item,
                    format!(
                        "BFD is not available over a site-to-site VPN ('{}')",
                        nodes[end.0].name
                    ),
                );
            }
        }
        let bfd = s.bfd.as_ref().map(|b| {
            let interval = b.interval.map_or(BFD_INTERVAL, |d| d.0);
            let mult = b.multiplier.unwrap_or(BFD_MULTIPLIER);
            if interval == 0 || mult == 0 {
                c.fail(&item, "BFD interval and multiplier must be above zero");
            }
            (interval, mult)
        });
        for (me, peer, active) in [(a, b, true), (b, a, false)] {
            let NodeSpec::Router {
                bgp: Some(spec_bgp),
                ..
            } = &spec.nodes[me.0]
            else {
                continue;
            };
            let NodeKind::Router(Router {
                bgp: Some(speaker), ..
            }) = &mut nodes[me.0].kind
            else {
                continue;
            };
            let cfg = Config {
                name: format!("{}–{}", s.a.node, s.b.node),
                local: me.1,
                peer: peer.1,
                local_asn: me.2,
                peer_asn: peer.2,
                router_id: speaker.router_id,
                active,
                keepalive: me.3,
                hold: me.4,
                connect_retry: spec_bgp.connect_retry.map_or(CONNECT_RETRY, |d| d.0),
                weight: me.5.weight.unwrap_or(0),
                local_pref: me.5.local_pref,
                announce: me
                    .5
                    .announce
                    .iter()
                    .filter_map(|p| c.prefix(&item, p))
                    .collect(),
            };
            speaker.sessions.push(SessionSpec { bgp: cfg, bfd });
        }
    }
}
