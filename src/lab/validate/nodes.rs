//! Nodes and links: hosts and routers with their settings, the links between them and the
//! interfaces they create, and the rules on addresses.

use super::*;
use crate::lab::spec::TcpProfile;
use crate::substrate::ids::{Dir, LinkId, NodeId};
use crate::substrate::tcp::{
    TcpBehaviour, FIXED_BUFFER, LINUX_RX_BUFFER, LINUX_RX_BUFFER_MAX, LINUX_TX_BUFFER,
    LINUX_TX_BUFFER_MAX,
};
use smoltcp::socket::tcp::CongestionControl;

/// The nodes with their kind-specific settings (interfaces come with the links).
pub(super) fn nodes(spec: &LabSpec, c: &mut Checker) -> Vec<Node> {
    spec.nodes
        .iter()
        .map(|n| Node {
            name: n.name().to_string(),
            ifaces: Vec::new(),
            role: match n {
                NodeSpec::Host { .. } => Role::Host,
                NodeSpec::Router {
                    microsoft: true, ..
                } => Role::Msee,
                NodeSpec::Router {
                    sku,
                    throughput,
                    pps,
                    ..
                } if sku.is_some() || throughput.is_some() || pps.is_some() => Role::Gateway,
                NodeSpec::Router { .. } => Role::Router,
            },
            kind: match n {
                NodeSpec::Host { .. } => NodeKind::Host(Host {
                    extra_addresses: Vec::new(),
                    gateway: None,
                    routes: Vec::new(),
                    tcp: TcpConfig {
                        behaviour: Default::default(),
                        rx_buffer: FIXED_BUFFER,
                        rx_buffer_max: FIXED_BUFFER,
                        tx_buffer: FIXED_BUFFER,
                        tx_buffer_max: FIXED_BUFFER,
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
                    if let Some(t) = throughput.filter(|t| t.0 > 0) {
                        c.within(&item, &limits::RATE.named("throughput"), t.0);
                    }
                    if let Some(d) = programming_delay {
                        c.within(&item, &limits::PROGRAMMING_DELAY, d.0);
                    }
                    if let Some(p) = pps.filter(|&p| p > 0) {
                        c.within(&item, &limits::PPS, p);
                    }
                    if let Some(m) = mss_clamp {
                        c.within(&item, &limits::MSS_CLAMP, u64::from(*m));
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
        .collect()
}

/// Links, and the interface each end gets on its node.
pub(super) fn links(
    spec: &LabSpec,
    index: &BTreeMap<&str, NodeId>,
    nodes: &mut [Node],
    c: &mut Checker,
) -> Vec<Link> {
    let mut links = Vec::new();
    for l in &spec.links {
        let item = format!("link '{}'", l.name);
        let mut ends = [(NodeId(0), 0); 2];
        let mut ok = true;
        let mut addrs = [None, None];
        for (side, end) in [&l.a, &l.b].into_iter().enumerate() {
            match index.get(end.node.as_str()) {
                Some(&n) => ends[side].0 = n,
                None => {
                    c.unknown_node(&item, "", &end.node);
                    ok = false;
                }
            }
            addrs[side] = c.prefix(&item, &end.ip);
        }
        if ok && ends[0].0 == ends[1].0 {
            c.fail(&item, format!("both ends are node '{}'", l.a.node));
            ok = false;
        }
        for (end, peer) in [(&l.a, &l.b), (&l.b, &l.a)] {
            if end.shared && peer.shared {
                c.fail(&item, "only one end may be `shared` (the subnet's gateway)");
            } else if end.shared
                && index
                    .get(end.node.as_str())
                    .is_some_and(|&n| !matches!(spec.nodes[n], NodeSpec::Router { .. }))
            {
                c.fail(
                    &item,
                    format!(
                        "'{}' is a host: only a router's end may be `shared`",
                        end.node
                    ),
                );
            }
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
        for (dir, d) in dirs.iter().zip(Dir::BOTH) {
            c.warn_truncated_jitter(&format!("{item} {}", d.label()), dir);
        }
        if let (true, [Some(a), Some(b)]) = (ok, addrs) {
            let link = LinkId(links.len());
            for (side, addr) in Dir::BOTH.into_iter().zip([a, b]) {
                let node = &mut nodes[ends[side].0];
                ends[side].1 = node.ifaces.len();
                let (end, far) = match side {
                    Dir::AToB => (&l.a, b),
                    Dir::BToA => (&l.b, a),
                };
                node.ifaces.push(Iface {
                    link,
                    side,
                    addr,
                    connected: if end.shared {
                        Prefix::new(far.addr, 32)
                    } else {
                        addr.network()
                    },
                    peering: l.peering,
                });
            }
            links.push(Link {
                name: l.name.clone(),
                ends,
                dirs,
            });
        }
    }
    links
}

/// Hosts: one interface, extra addresses, gateway, TCP settings; routers' extra addresses.
pub(super) fn hosts(spec: &LabSpec, nodes: &mut [Node], c: &mut Checker) {
    for (i, n) in spec.nodes.iter().enumerate() {
        let NodeSpec::Host {
            name,
            addresses,
            gateway,
            congestion,
            tcp_rx_buffer,
            tcp_tx_buffer,
            tcp_autotune,
            tcp_rx_buffer_max,
            tcp_tx_buffer_max,
            nagle,
            tcp,
            min_rto,
            initial_window,
            sack,
            hystart,
            ack_delay,
        } = n
        else {
            continue;
        };
        let item = format!("host '{name}'");
        match nodes[i].ifaces.len() {
            1 => {}
            // A link naming a node that does not exist is reported; this would follow from it.
            0 if c.dangling => continue,
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
        let control = match congestion {
            Congestion::Cubic => CongestionControl::Cubic,
            Congestion::Reno => CongestionControl::Reno,
            Congestion::None => CongestionControl::None,
        };
        let mut behaviour = match tcp {
            TcpProfile::Linux => TcpBehaviour::linux(control),
            TcpProfile::Rfc6298 => TcpBehaviour::rfc6298(control),
        };
        // smoltcp's TCP timers count whole milliseconds.
        use crate::units::Duration;
        let mut whole_ms = |what: &str, d: Duration, range: std::ops::RangeInclusive<u64>| {
            let ms = d.0 / 1_000_000;
            if !d.0.is_multiple_of(1_000_000) || !range.contains(&ms) {
                let (lo, hi) = (
                    Duration::from_millis(*range.start()),
                    Duration::from_millis(*range.end()),
                );
                c.fail(
                    &item,
                    format!("{what} {d} must be whole milliseconds from {lo} to {hi}"),
                );
            }
            ms.clamp(*range.start(), *range.end())
        };
        // The ranges of limits.rs, in the whole milliseconds smoltcp counts.
        let ms_range = |l: &limits::Limit| l.min / 1_000_000..=l.max / 1_000_000;
        if let Some(d) = min_rto {
            behaviour.min_rto_ms = whole_ms("min_rto", *d, ms_range(&limits::MIN_RTO));
        }
        if let Some(d) = ack_delay {
            let ms = whole_ms("ack_delay", *d, ms_range(&limits::ACK_DELAY));
            behaviour.ack_delay_ms = (ms > 0).then_some(ms);
        }
        if let Some(w) = initial_window {
            if !(1..=1000).contains(w) {
                c.fail(
                    &item,
                    format!("initial_window {w} must be 1 to 1000 segments"),
                );
            }
            behaviour.initial_window = Some(*w);
        }
        if let Some(s) = sack {
            behaviour.sack = *s;
        }
        if let Some(h) = hystart {
            behaviour.hystart = *h;
        }
        let autotune = tcp_autotune.unwrap_or(behaviour.autotune);
        // A written size fixes the buffer (as SO_RCVBUF and SO_SNDBUF do on Linux); one not
        // written is autotuned from Linux's starting size up to its maximum, or fixed.
        let mut buffer = |what: &str,
                          size: &Option<crate::units::Bytes>,
                          max: &Option<crate::units::Bytes>,
                          (start, default_max): (usize, usize)|
         -> (usize, usize) {
            let checked = |c: &mut Checker, field: &str, b: crate::units::Bytes| {
                if b.0 == 0 || b.0 > MAX_TCP_BUFFER {
                    c.fail(
                        &item,
                        format!("{field} {} bytes is outside 1 byte..1 GiB", b.0),
                    );
                    FIXED_BUFFER
                } else {
                    b.0 as usize
                }
            };
            let max = max.map(|m| (m, checked(c, &format!("{what}_max"), m)));
            match (size, max) {
                (Some(b), None) => {
                    let b = checked(c, what, *b);
                    (b, b)
                }
                (Some(_), Some(_)) => {
                    c.fail(
                        &item,
                        format!(
                            "sets both {what} and {what}_max: a written {what} fixes the size, \
                             {what}_max bounds an autotuned one; write one of them"
                        ),
                    );
                    (FIXED_BUFFER, FIXED_BUFFER)
                }
                (None, _) if !autotune => {
                    if max.is_some() {
                        c.fail(
                            &item,
                            format!(
                                "sets {what}_max with autotuning off: the buffer is fixed at \
                                 {FIXED_BUFFER} bytes; remove {what}_max or set tcp_autotune: true"
                            ),
                        );
                    }
                    (FIXED_BUFFER, FIXED_BUFFER)
                }
                (None, Some((m, bytes))) if bytes < start => {
                    c.fail(
                        &item,
                        format!(
                            "{what}_max {} bytes is below the {start} bytes an autotuned buffer starts at",
                            m.0
                        ),
                    );
                    (start, start)
                }
                (None, max) => (start, max.map_or(default_max, |(_, bytes)| bytes)),
            }
        };
        let (rx_buffer, rx_buffer_max) = buffer(
            "tcp_rx_buffer",
            tcp_rx_buffer,
            tcp_rx_buffer_max,
            (LINUX_RX_BUFFER, LINUX_RX_BUFFER_MAX),
        );
        let (tx_buffer, tx_buffer_max) = buffer(
            "tcp_tx_buffer",
            tcp_tx_buffer,
            tcp_tx_buffer_max,
            (LINUX_TX_BUFFER, LINUX_TX_BUFFER_MAX),
        );
        let tcp = TcpConfig {
            behaviour,
            rx_buffer,
            rx_buffer_max,
            tx_buffer,
            tx_buffer_max,
            nagle: nagle.unwrap_or(true),
        };
        if let NodeKind::Host(h) = &mut nodes[i].kind {
            h.extra_addresses = extra;
            h.gateway = gw;
            h.tcp = tcp;
        }
    }
    for (i, n) in spec.nodes.iter().enumerate() {
        if let NodeSpec::Router {
            name,
            addresses,
            beyond_peerings,
            ..
        } = n
        {
            let extra: Vec<Prefix> = addresses
                .iter()
                .filter_map(|a| c.prefix(&format!("router '{name}'"), a))
                .collect();
            let beyond: Vec<Prefix> = beyond_peerings
                .iter()
                .filter_map(|a| c.prefix(&format!("router '{name}'"), a))
                .collect();
            if let NodeKind::Router(r) = &mut nodes[i].kind {
                r.extra_addresses = extra;
                r.beyond_peerings = beyond;
            }
        }
    }
}

/// Every address in the lab is unique; a router's interface subnets do not overlap, or
/// forwarding would be ambiguous.
pub(super) fn addresses(nodes: &[Node], links: &[Link], c: &mut Checker) {
    let mut owners: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
    for n in nodes {
        for p in host_addresses(n) {
            if let Some(other) = owners.insert(p.addr, &n.name) {
                c.fail(
                    format!("node '{}'", n.name),
                    format!("address {} is also on node '{other}'", p.addr),
                );
            }
        }
    }
    for n in nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Router(_)))
    {
        for (i, a) in n.ifaces.iter().enumerate() {
            for b in &n.ifaces[i + 1..] {
                if a.connected.overlaps(b.connected) {
                    c.fail(
                        format!("router '{}'", n.name),
                        format!(
                            "interfaces on links '{}' and '{}' have overlapping subnets {} and {}",
                            links[a.link].name, links[b.link].name, a.connected, b.connected
                        ),
                    );
                }
            }
        }
    }
}
