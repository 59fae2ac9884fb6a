//! Routers: forward real IPv4 packets between any number of interfaces.
//!
//! For each packet: check the header (version, length, checksum); answer ICMP echo addressed to
//! the router; drop when the TTL would expire; look the destination up by longest prefix over
//! connected and static routes, skipping next hops whose link is down (so a less specific route
//! takes over, as on a real router); pick among equal-cost next hops by a stable 5-tuple hash;
//! decrement the TTL and recompute the header checksum. Every drop is counted by cause.

use crate::control::plane::ControlPlane;
use crate::control::plane::{ControlEvent, What};
use crate::lab::model::{Iface, Router as RouterModel, Tunnel};
use crate::results::{RouteChange, RouterRecord, TunnelStats};
use crate::rng::fnv1a;
use crate::substrate::engine::Time;
use crate::substrate::gateway::{Capacity, Scope};
use crate::substrate::link::Queue;
use crate::substrate::route::{Fib, NextHop, Port, Prefix};
use crate::vpn::{dpd, esp, mss};

mod stream;
pub mod trace;
mod tunnel;
use smoltcp::wire::{
    Icmpv4Message, Icmpv4Packet, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket, UdpPacket,
    UdpRepr,
};
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use tunnel::ike_packet;
pub use tunnel::TunnelEnd;

/// TTL of packets the router originates.
const ORIGIN_TTL: u8 = 64;

/// What to do with a packet after [`Router::process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Hand it to the router's own stack (BGP, BFD).
    Local,
    /// Send it out of interface `iface`. `tunnel` is the tunnel it was just wrapped for, and
    /// `unwrapped` the tunnel it came out of here: both go through the tunnel's crypto engine.
    Forward {
        iface: usize,
        tunnel: Option<usize>,
        unwrapped: Option<usize>,
    },
    /// Dropped; the cause is counted.
    Drop,
    /// Taken by TCP-carried tunnel `k` (a packet of its connection, or an inner packet framed
    /// into it): poll that tunnel ([`Router::poll_stream`]) so that its connection sends.
    Taken(usize),
}

/// A gateway's capacity limit: a serializer at the SKU's throughput and packet rate.
pub struct Limiter {
    pub capacity: Capacity,
    queue: Queue,
}

impl Limiter {
    /// When a packet of `bytes` offered at `now` leaves, or `None` if the queue is full.
    pub fn admit(&mut self, now: Time, bytes: usize) -> Option<Time> {
        self.queue
            .admit(now, bytes as u32, self.capacity.service_time(bytes))
    }

    /// Whether the limit applies to a packet that did (or did not) go through a tunnel here.
    pub fn applies(&self, crypto: bool) -> bool {
        self.capacity.scope == Scope::All || crypto
    }

    fn new(capacity: Capacity) -> Self {
        Limiter {
            capacity,
            queue: Queue::new(capacity.queue),
        }
    }
}

pub struct Router {
    pub ifaces: Vec<Iface>,
    pub tunnels: Vec<TunnelEnd>,
    /// A gateway's capacity limit, one per egress interface: the SKU figures are one-way
    /// measurements, so each direction through the gateway gets the full figure. Empty for a
    /// router without a SKU.
    pub limiters: Vec<Limiter>,
    fib: Fib,
    /// Routes for packets that came in over one interface (a subnet's route table), by
    /// interface; empty when the router has none. They join the lookup, winning ties.
    ingress: Vec<Fib>,
    /// VNet system routes: BGP routes inside them are not installed.
    system_routes: Vec<Prefix>,
    /// Address spaces only a second peering reaches: a miss there is "not transitive".
    beyond_peerings: Vec<Prefix>,
    /// Connected and static routes: what BGP next hops resolve through.
    static_fib: Fib,
    /// Routes BGP chose, by prefix.
    bgp_routes: BTreeMap<Prefix, Vec<NextHop>>,
    /// Every address of the router (its interfaces', loopbacks, BGP peering addresses), sorted:
    /// a hub with a thousand interfaces tells its own packets by a search, not a scan.
    own_addresses: Vec<Ipv4Addr>,
    pub control: Option<Box<ControlPlane>>,
    /// Delay between a control-plane decision and the forwarding change (gateway convergence).
    pub programming_delay: Time,
    programs: VecDeque<(Time, Prefix, Vec<Ipv4Addr>)>,
    pub route_log: Vec<RouteChange>,
    /// The time of the one wake-up event this router has in the queue, if any.
    pub pending_wake: Option<Time>,
    /// MSS every forwarded TCP SYN is clamped to, whatever its path.
    mss_clamp: Option<u16>,
    /// Packets the router itself sends outside its control plane (dead-peer detection, the
    /// connections of TCP-carried tunnels).
    pub outbox: Vec<Vec<u8>>,
    /// Inner packets out of TCP-carried tunnels, waiting for the engine to forward them.
    unwrapped: Vec<(Vec<u8>, usize)>,
    unwrapped_buf: Vec<Vec<u8>>,
    /// Tunnel liveness changes.
    pub log: Vec<ControlEvent>,
    /// Per-router hash salt, so that routers in series do not all pick the same member.
    salt: u64,
    pub stats: RouterRecord,
    /// Packets that died of TTL here, by the interface they came in on: the trace of a
    /// forwarding loop.
    pub ttl_expired: Vec<Expired>,
}

/// TTL-expired drops of packets that came in over one interface: how many, first and last.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expired {
    pub count: u64,
    pub first: Time,
    pub last: Time,
}

/// What a lookup chose: the port, the route that matched (a route of the ingress interface's
/// table when `ingress`), and which of its live equal-cost next hops the flow hash picked.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub port: Port,
    /// The next-hop address of the next hop picked.
    pub via: Option<Ipv4Addr>,
    pub route: &'a crate::substrate::route::Route,
    pub ingress: bool,
    /// (the one picked, of how many live next hops).
    pub pick: (usize, usize),
}

/// Why a lookup found nothing usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    NoRoute,
    /// A route whose next hop is None (a user-defined route that drops what it matches).
    Discard,
    LinkDown,
    /// In over one VNet peering, out over another; or to a VNet only a second peering reaches.
    NotTransitive,
}

impl Router {
    /// `seed` is the lab's: the TCP-carried tunnels' stacks draw from it by component name.
    pub fn new(
        name: &str,
        ifaces: &[Iface],
        model: &RouterModel,
        tunnels: &[Tunnel],
        seed: u64,
    ) -> Self {
        let connected = ifaces
            .iter()
            .enumerate()
            .map(|(i, f)| (f.connected, NextHop::iface(i, None)));
        let fib = Fib::from_entries(connected.chain(model.routes.iter().copied()));
        let mut ingress = Vec::new();
        if !model.ingress_routes.is_empty() {
            let mut by_iface = vec![Vec::new(); ifaces.len()];
            for &(i, prefix, hop) in &model.ingress_routes {
                by_iface[i].push((prefix, hop));
            }
            ingress = by_iface.into_iter().map(Fib::from_entries).collect();
        }
        let tunnels = model
            .tunnels
            .iter()
            .map(|&(t, side)| {
                let t = &tunnels[t];
                TunnelEnd {
                    sa: esp::Sa {
                        spi: t.spi[side],
                        local: t.ends[side].1,
                        remote: t.ends[1 - side].1,
                        suite: t.suite,
                        nat_t: t.nat_t,
                    },
                    peer_spi: t.spi[1 - side],
                    mss_clamp: t.mss_clamp,
                    // A TCP-carried tunnel is up once its connection is.
                    up: t.tcp.is_none(),
                    stream: t.tcp.map(|framing| {
                        use rand::RngCore;
                        let seed =
                            crate::rng::component_rng(seed, &format!("tunnel/{}/{side}", t.name))
                                .next_u64();
                        Box::new(stream::Stream::new(
                            t.ends[side].1,
                            t.ends[1 - side].1,
                            side == 0,
                            framing,
                            seed,
                        ))
                    }),
                    dpd: t.dpd.map(|(interval, timeout)| {
                        dpd::Dpd::new(t.ends[1 - side].1, interval, timeout)
                    }),
                    seq: 0,
                    limiters: model
                        .capacity
                        .and_then(|c| c.per_tunnel())
                        .map(|c| vec![Limiter::new(c), Limiter::new(c)])
                        .unwrap_or_default(),
                    stats: TunnelStats::default(),
                }
            })
            .collect();
        Router {
            ifaces: ifaces.to_vec(),
            ttl_expired: vec![Expired::default(); ifaces.len()],
            tunnels,
            limiters: model
                .capacity
                .map(|capacity| ifaces.iter().map(|_| Limiter::new(capacity)).collect())
                .unwrap_or_default(),
            static_fib: fib.clone(),
            fib,
            ingress,
            system_routes: model.system_routes.clone(),
            beyond_peerings: model.beyond_peerings.clone(),
            bgp_routes: BTreeMap::new(),
            own_addresses: {
                let ips = ifaces.iter().map(|f| f.addr.addr);
                let mut own: Vec<_> = ips
                    .chain(model.extra_addresses.iter().map(|p| p.addr))
                    .collect();
                own.sort_unstable();
                own.dedup();
                own
            },
            control: None,
            programming_delay: model.programming_delay,
            programs: VecDeque::new(),
            route_log: Vec::new(),
            pending_wake: None,
            mss_clamp: model.mss_clamp,
            outbox: Vec::new(),
            unwrapped: Vec::new(),
            unwrapped_buf: Vec::new(),
            log: Vec::new(),
            salt: fnv1a(name.as_bytes()),
            stats: RouterRecord {
                name: name.to_string(),
                ..RouterRecord::default()
            },
        }
    }

    fn owns(&self, ip: Ipv4Addr) -> bool {
        self.own_addresses.binary_search(&ip).is_ok()
    }

    /// Picks the egress port for `dst`: the longest prefix with a live next hop, then one of its
    /// equal-cost next hops by flow hash. Routes of the interface the packet came in on
    /// (`ingress`) join the lookup and win a tie of prefix length. Tunnels are skipped when
    /// `tunnels` is false (the outer packet of a tunnel must leave on a link).
    fn select(
        &self,
        packet: &[u8],
        dst: Ipv4Addr,
        ingress: Option<usize>,
        tunnels: bool,
        up: &impl Fn(Iface) -> bool,
    ) -> Result<Hit<'_>, Miss> {
        let live = |h: &&NextHop| match h.port {
            Port::Iface(i) => up(self.ifaces[i]),
            Port::Tunnel(t) => tunnels && self.tunnels[t].up,
            Port::Discard => true,
        };
        // A route with a live next hop decides; one without lets a shorter route decide.
        let decide = |route, from_ingress| -> Option<Result<Hit<'_>, Miss>> {
            let route: &crate::substrate::route::Route = route;
            // One next hop (the usual case): no counting, no hashing.
            let (hop, pick) = if let [h] = route.next_hops.as_slice() {
                (live(&h).then_some(*h)?, (0, 1))
            } else {
                let count = route.next_hops.iter().filter(live).count();
                if count == 0 {
                    return None;
                }
                let pick = (flow_hash(packet, self.salt) % count as u64) as usize;
                (
                    *route.next_hops.iter().filter(live).nth(pick)?,
                    (pick, count),
                )
            };
            let port = hop.port;
            Some(match port {
                Port::Iface(out)
                    if ingress.is_some_and(|i| self.ifaces[i].peering)
                        && self.ifaces[out].peering =>
                {
                    Err(Miss::NotTransitive)
                }
                Port::Discard => Err(Miss::Discard),
                port => Ok(Hit {
                    port,
                    via: hop.via,
                    route,
                    ingress: from_ingress,
                    pick,
                }),
            })
        };
        let mut miss = Miss::NoRoute;
        match ingress.and_then(|i| self.ingress.get(i)) {
            // The common case: no routes of the ingress interface's own.
            None => {
                for route in self.fib.matches(dst) {
                    if let Some(r) = decide(route, false) {
                        return r;
                    }
                    miss = Miss::LinkDown;
                }
            }
            Some(own) => {
                let mut main = self.fib.matches(dst).peekable();
                let mut own = own.matches(dst).peekable();
                loop {
                    let take_own = match (own.peek(), main.peek()) {
                        (Some(o), Some(m)) => o.prefix.len >= m.prefix.len,
                        (o, _) => o.is_some(),
                    };
                    let next = if take_own { own.next() } else { main.next() };
                    let Some(route) = next else { break };
                    match decide(route, take_own) {
                        Some(r) => return r,
                        None => miss = Miss::LinkDown,
                    }
                }
            }
        }
        if matches!(miss, Miss::NoRoute) && self.beyond_peerings.iter().any(|p| p.contains(dst)) {
            miss = Miss::NotTransitive;
        }
        Err(miss)
    }

    fn count_miss(&mut self, miss: Miss) -> Action {
        match miss {
            Miss::NoRoute | Miss::Discard => self.stats.drops.no_route += 1,
            Miss::LinkDown => self.stats.drops.link_down += 1,
            Miss::NotTransitive => self.stats.drops.not_transitive += 1,
        }
        Action::Drop
    }

    /// The router's egress for a packet of `len` bytes it sends out of interface `out` at
    /// `now` after [`Action::Forward`]: the outgoing link's `mtu` (ESP is never fragmented, and
    /// neither is anything else here), then the gateway's limits in series — the tunnel's own
    /// (wrapping or unwrapping), then the aggregate of the egress direction. Returns when the
    /// packet leaves, or `None` when it is dropped (and counted). `own` packets (the router's
    /// control plane and DPD) are not counted as forwarded.
    #[allow(clippy::too_many_arguments)]
    pub fn egress(
        &mut self,
        now: Time,
        out: usize,
        tunnel: Option<usize>,
        unwrapped: Option<usize>,
        len: usize,
        mtu: u32,
        own: bool,
    ) -> Option<Time> {
        if len > mtu as usize {
            self.stats.drops.mtu += 1;
            if let Some(t) = tunnel {
                self.tunnels[t].stats.too_big += 1;
            }
            return None;
        }
        let per_tunnel = match (tunnel, unwrapped) {
            (Some(k), _) => self.tunnels[k].limiters.get_mut(0),
            (None, Some(k)) => self.tunnels[k].limiters.get_mut(1),
            (None, None) => None,
        };
        let departs = per_tunnel
            .map_or(Some(now), |l| l.admit(now, len))
            .and_then(|t| match self.limiters.get_mut(out) {
                Some(l) if l.applies(tunnel.is_some() || unwrapped.is_some()) => l.admit(t, len),
                _ => Some(t),
            });
        match departs {
            None => self.stats.drops.capacity += 1,
            Some(_) if !own => self.stats.forwarded += 1,
            Some(_) => {}
        }
        departs
    }

    /// Decides the fate of `packet`, which arrived on interface `in_iface`, rewriting it in place
    /// (TTL, checksum, ESP wrapping or unwrapping). `up(iface)` tells whether an interface's
    /// outgoing link is up.
    pub fn process(
        &mut self,
        now: Time,
        packet: &mut Vec<u8>,
        in_iface: usize,
        up: impl Fn(Iface) -> bool,
    ) -> Action {
        let mut unwrapped = None;
        loop {
            let (dst, ttl) = match Ipv4Packet::new_checked(&packet[..]) {
                Ok(ip) if ip.version() == 4 && ip.verify_checksum() => {
                    (ip.dst_addr(), ip.hop_limit())
                }
                _ => {
                    self.stats.drops.malformed += 1;
                    return Action::Drop;
                }
            };
            if self.owns(dst) {
                // A segment of one of our TCP-carried tunnels' connections.
                let ours = |t: &TunnelEnd| t.stream.as_ref().is_some_and(|s| s.matches(packet));
                if let Some(k) = self.tunnels.iter().position(ours) {
                    if let Some(s) = &mut self.tunnels[k].stream {
                        s.deliver(std::mem::take(packet));
                    }
                    return Action::Taken(k);
                }
                // ESP for one of our tunnels: unwrap and forward the inner packet.
                let spi = esp::spi(packet);
                let tunnel = self
                    .tunnels
                    .iter()
                    .position(|t| Some(t.peer_spi) == spi && t.sa.local == dst);
                if let Some(k) = tunnel {
                    let t = &mut self.tunnels[k];
                    if esp::decapsulate(packet, t.sa.suite).is_err() {
                        t.stats.malformed += 1;
                        self.stats.drops.malformed += 1;
                        return Action::Drop;
                    }
                    t.stats.decapsulated += 1;
                    if let Some(change) = t.dpd.as_mut().and_then(|d| d.heard(now)) {
                        self.dpd_change(now, k, change);
                    }
                    unwrapped = Some(k);
                    continue;
                }
                self.stats.local += 1;
                match self.ike_liveness(now, packet) {
                    // An answer to a peer's probe goes back the way the peer is reached.
                    Some(true) => return self.originate(packet, up),
                    Some(false) => return Action::Drop,
                    None => {}
                }
                let mut ip = Ipv4Packet::new_unchecked(&mut packet[..]);
                if answer_echo(&mut ip) {
                    return match up(self.ifaces[in_iface]) {
                        true => Action::Forward {
                            iface: in_iface,
                            tunnel: None,
                            unwrapped,
                        },
                        false => Action::Drop,
                    };
                }
                return if self.control.is_some() {
                    Action::Local
                } else {
                    Action::Drop
                };
            }
            if ttl <= 1 {
                self.stats.drops.ttl_expired += 1;
                let e = &mut self.ttl_expired[in_iface];
                if e.count == 0 {
                    e.first = now;
                }
                e.count += 1;
                e.last = now;
                return Action::Drop;
            }
            return self.route_out(packet, dst, Some((ttl, Some(in_iface))), unwrapped, &up);
        }
    }

    /// Sends a packet the router's own stack originated.
    pub fn originate(&mut self, packet: &mut Vec<u8>, up: impl Fn(Iface) -> bool) -> Action {
        match Ipv4Packet::new_checked(&packet[..]) {
            Ok(ip) => {
                let dst = ip.dst_addr();
                self.route_out(packet, dst, None, None, &up)
            }
            Err(_) => {
                self.stats.drops.malformed += 1;
                Action::Drop
            }
        }
    }

    /// Looks `dst` up and sends the packet on its way: when forwarding (`forwarding` holds the
    /// current TTL and the interface the packet came in on), decrements the TTL, and wraps it in
    /// ESP when the route is a tunnel.
    fn route_out(
        &mut self,
        packet: &mut Vec<u8>,
        dst: Ipv4Addr,
        forwarding: Option<(u8, Option<usize>)>,
        unwrapped: Option<usize>,
        up: &impl Fn(Iface) -> bool,
    ) -> Action {
        let port = match self.select(packet, dst, forwarding.and_then(|f| f.1), true, up) {
            Ok(hit) => hit.port,
            Err(miss) => return self.count_miss(miss),
        };
        if let Some((ttl, _)) = forwarding {
            decrement_ttl(&mut Ipv4Packet::new_unchecked(&mut packet[..]), ttl);
            // A router-wide clamp ("adjust-mss" on every interface) covers flows whatever path
            // they start on, so a later failover to a tunnel does not black-hole them.
            if let Some(m) = self.mss_clamp {
                if mss::clamp(packet, m) {
                    self.stats.mss_clamped += 1;
                }
            }
        }
        let k = match port {
            Port::Iface(iface) => {
                return Action::Forward {
                    iface,
                    tunnel: None,
                    unwrapped,
                }
            }
            Port::Tunnel(k) => k,
            Port::Discard => return self.count_miss(Miss::NoRoute),
        };
        let t = &mut self.tunnels[k];
        if let Some(m) = t.mss_clamp {
            if mss::clamp(packet, m) {
                t.stats.mss_clamped += 1;
            }
        }
        if let Some(s) = &mut t.stream {
            // Framed into the connection, or dropped when its send buffer is full.
            return if s.send(packet) {
                t.stats.encapsulated += 1;
                Action::Taken(k)
            } else {
                t.stats.stream_full += 1;
                self.stats.drops.capacity += 1;
                Action::Drop
            };
        }
        t.seq = t.seq.wrapping_add(1);
        t.sa.encapsulate(packet, t.seq);
        t.stats.encapsulated += 1;
        let remote = t.sa.remote;
        match self
            .select(packet, remote, None, false, up)
            .map(|hit| hit.port)
        {
            Ok(Port::Iface(iface)) => Action::Forward {
                iface,
                tunnel: Some(k),
                unwrapped,
            },
            // The outer lookup excludes tunnels and never returns a discard.
            Ok(Port::Tunnel(_) | Port::Discard) => self.count_miss(Miss::NoRoute),
            Err(miss) => self.count_miss(miss),
        }
    }

    /// Runs the control plane at `now` and applies forwarding changes that are due. Returns the
    /// next time the router needs a poll.
    pub fn poll(&mut self, now: Time, free: &mut Vec<Vec<u8>>) -> Option<Time> {
        let mut wake = None;
        for k in 0..self.tunnels.len() {
            if let Some(w) = self.poll_stream(now, k, free) {
                wake = Some(wake.map_or(w, |x: Time| x.min(w)));
            }
        }
        for k in 0..self.tunnels.len() {
            let t = &mut self.tunnels[k];
            let Some(d) = &mut t.dpd else { continue };
            let (change, probe) = d.poll(now);
            let next = d.next_wake();
            if let Some(id) = probe {
                let mut buf = free.pop().unwrap_or_default();
                let msg = dpd::Liveness {
                    spi_i: u64::from(t.sa.spi),
                    spi_r: u64::from(t.peer_spi),
                    message_id: id,
                    response: false,
                };
                ike_packet(&mut buf, t.sa.local, t.sa.remote, t.sa.nat_t, &msg);
                self.outbox.push(buf);
            }
            if let Some(change) = change {
                self.dpd_change(now, k, change);
            }
            wake = Some(wake.map_or(next, |w: Time| w.min(next)));
        }
        if let Some(control) = &mut self.control {
            let (w, changes) = control.poll(now, free);
            wake = match (wake, w) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            for (prefix, peers) in changes {
                self.programs.push_back((
                    now.saturating_add(self.programming_delay),
                    prefix,
                    peers,
                ));
            }
        }
        let mut changed = false;
        while self.programs.front().is_some_and(|p| p.0 <= now) {
            if let Some((_, prefix, peers)) = self.programs.pop_front() {
                changed |= self.install(now, prefix, &peers);
            }
        }
        if changed {
            self.rebuild_fib();
        }
        match (wake, self.programs.front()) {
            (Some(w), Some(p)) => Some(w.min(p.0)),
            (w, p) => w.or(p.map(|p| p.0)),
        }
    }

    /// Runs TCP-carried tunnel `k`'s connection at `now` (nothing for another tunnel): what it
    /// sends goes to the outbox, what it unwraps to [`Router::take_unwrapped`]. Returns when it
    /// next needs a poll. A packet for one tunnel runs that tunnel alone, so a gateway with
    /// many point-to-site clients does not poll them all per packet.
    pub fn poll_stream(&mut self, now: Time, k: usize, free: &mut Vec<Vec<u8>>) -> Option<Time> {
        let t = self.tunnels.get_mut(k)?;
        let s = t.stream.as_mut()?;
        let mut inner = std::mem::take(&mut self.unwrapped_buf);
        let wake = s.poll(now, free, &mut inner);
        t.up = s.up();
        t.stats.decapsulated += inner.len() as u64;
        self.unwrapped.extend(inner.drain(..).map(|p| (p, k)));
        self.unwrapped_buf = inner;
        self.outbox.append(s.outbox());
        wake
    }

    /// The counters of tunnel `k` at `end` (the run's last instant): a TCP-carried tunnel's
    /// client adds how its connecting went, a wait still going on counted up to `end`.
    pub fn tunnel_stats(&self, k: usize, end: Time) -> TunnelStats {
        let t = &self.tunnels[k];
        let mut st = t.stats.clone();
        if let Some(c) = t.stream.as_ref().and_then(|s| s.client_connectivity()) {
            st.connect_attempts = c.attempts;
            st.connections = c.connections;
            st.first_connected = c.first_connected;
            st.unconnected = c.unconnected_until(end);
        }
        st
    }

    /// Whether the router runs anything on its own clock (a control plane, dead-peer detection,
    /// a TCP-carried tunnel).
    pub fn needs_polls(&self) -> bool {
        self.control.is_some()
            || self
                .tunnels
                .iter()
                .any(|t| t.dpd.is_some() || t.stream.is_some())
    }

    /// Inner packets that came out of TCP-carried tunnels in the last poll, with the tunnel:
    /// the engine forwards each with [`Router::forward_unwrapped`].
    pub fn take_unwrapped(&mut self) -> Vec<(Vec<u8>, usize)> {
        std::mem::take(&mut self.unwrapped)
    }

    /// Forwards an inner packet that came out of tunnel `k` (TCP-carried) as one out of ESP:
    /// the header checked, the TTL decremented, the route looked up.
    pub fn forward_unwrapped(
        &mut self,
        packet: &mut Vec<u8>,
        k: usize,
        up: impl Fn(Iface) -> bool,
    ) -> Action {
        let (dst, ttl) = match Ipv4Packet::new_checked(&packet[..]) {
            Ok(ip) if ip.version() == 4 && ip.verify_checksum() => (ip.dst_addr(), ip.hop_limit()),
            _ => {
                self.stats.drops.malformed += 1;
                return Action::Drop;
            }
        };
        if ttl <= 1 {
            self.stats.drops.ttl_expired += 1;
            return Action::Drop;
        }
        self.route_out(packet, dst, Some((ttl, None)), Some(k), &up)
    }

    /// The forwarding table now: connected, static and programmed BGP routes.
    pub fn fib(&self) -> &Fib {
        &self.fib
    }

    /// The routes of interface `iface`'s own table (a subnet's user-defined routes), if any.
    pub fn ingress_fib(&self, iface: usize) -> Option<&Fib> {
        self.ingress.get(iface).filter(|f| !f.routes().is_empty())
    }

    /// The VNet system route that keeps BGP from installing `prefix`, if one covers it.
    pub fn system_cover(&self, prefix: Prefix) -> Option<Prefix> {
        self.system_routes
            .iter()
            .copied()
            .find(|s| s.covers(prefix))
    }

    /// Whether a connected or static route for exactly `prefix` keeps BGP's out.
    pub fn static_has(&self, prefix: Prefix) -> bool {
        self.static_fib.has(prefix)
    }

    /// Whether BGP's choice for `prefix` has been programmed (its programming delay passed).
    pub fn bgp_programmed(&self, prefix: Prefix) -> bool {
        self.bgp_routes.contains_key(&prefix.network())
    }

    /// When BGP's latest decision about `prefix`, not yet in forwarding, will be programmed.
    pub fn pending(&self, prefix: Prefix) -> Option<Time> {
        self.programs
            .iter()
            .rev()
            .find(|p| p.1 == prefix)
            .map(|p| p.0)
    }

    /// Puts a BGP decision into the forwarding table: each next-hop address is resolved through
    /// connected and static routes; a static or connected route for the same prefix wins, and a
    /// VNet system route wins over every BGP route inside it.
    /// Returns whether the forwarding table needs a rebuild ([`Router::rebuild_fib`]).
    fn install(&mut self, now: Time, prefix: Prefix, peers: &[Ipv4Addr]) -> bool {
        // Inside a VNet system route BGP changes nothing: neither forwarding nor the log.
        if self.system_cover(prefix).is_some() {
            return false;
        }
        let hops: Vec<NextHop> = peers
            .iter()
            .filter_map(|&peer| {
                let route = self.static_fib.lookup(peer)?;
                Some(NextHop {
                    port: route.next_hops.first()?.port,
                    via: Some(peer),
                })
            })
            .collect();
        if hops.is_empty() {
            self.bgp_routes.remove(&prefix);
        } else {
            self.bgp_routes.insert(prefix, hops);
        }
        self.route_log.push(RouteChange {
            time: now,
            router: self.stats.name.clone(),
            prefix,
            next_hops: peers.to_vec(),
        });
        true
    }

    /// The forwarding table: connected and static routes, then BGP's for other prefixes.
    fn rebuild_fib(&mut self) {
        self.fib = self.static_fib.clone();
        self.fib
            .extend_new(self.bgp_routes.iter().map(|(p, hops)| (*p, hops.clone())));
    }
}

/// Turns an ICMP echo request addressed to us into the reply, in place. False for anything else.
fn answer_echo(ip: &mut Ipv4Packet<&mut [u8]>) -> bool {
    if ip.next_header() != IpProtocol::Icmp || ip.more_frags() || ip.frag_offset() != 0 {
        return false;
    }
    {
        let Ok(mut icmp) = Icmpv4Packet::new_checked(ip.payload_mut()) else {
            return false;
        };
        if icmp.msg_type() != Icmpv4Message::EchoRequest || !icmp.verify_checksum() {
            return false;
        }
        icmp.set_msg_type(Icmpv4Message::EchoReply);
        icmp.fill_checksum();
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    ip.set_src_addr(dst);
    ip.set_dst_addr(src);
    ip.set_hop_limit(ORIGIN_TTL);
    ip.fill_checksum();
    true
}

/// Sets a checked header's TTL from `ttl` to `ttl - 1`, updating its checksum incrementally
/// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m'), m the 16-bit word of TTL and protocol) instead
/// of summing the header again.
fn decrement_ttl(ip: &mut Ipv4Packet<&mut [u8]>, ttl: u8) {
    let proto = u8::from(ip.next_header());
    let old = u16::from_be_bytes([ttl, proto]);
    let new = u16::from_be_bytes([ttl - 1, proto]);
    ip.set_hop_limit(ttl - 1);
    let sum = u32::from(!ip.checksum()) + u32::from(!old) + u32::from(new);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    ip.set_checksum(!(sum as u16));
}

/// A stable hash of the flow's 5-tuple (addresses, protocol, and ports for TCP and UDP) of a
/// checked IPv4 packet.
fn flow_hash(packet: &[u8], salt: u64) -> u64 {
    let ip = Ipv4Packet::new_unchecked(packet);
    let mut key = [0u8; 21];
    key[..8].copy_from_slice(&salt.to_be_bytes());
    key[8..12].copy_from_slice(&ip.src_addr().octets());
    key[12..16].copy_from_slice(&ip.dst_addr().octets());
    key[16] = u8::from(ip.next_header());
    // Later fragments carry no ports: a flow's fragments hash alike only by the first.
    let ports = match ip.next_header() {
        _ if ip.frag_offset() != 0 => None,
        IpProtocol::Tcp => TcpPacket::new_checked(ip.payload())
            .ok()
            .map(|t| (t.src_port(), t.dst_port())),
        IpProtocol::Udp => UdpPacket::new_checked(ip.payload())
            .ok()
            .map(|u| (u.src_port(), u.dst_port())),
        _ => None,
    };
    if let Some((src, dst)) = ports {
        key[17..19].copy_from_slice(&src.to_be_bytes());
        key[19..21].copy_from_slice(&dst.to_be_bytes());
    }
    // FNV's low bits are weak; a final avalanche (MurmurHash3's fmix64) spreads them.
    let mut h = fnv1a(&key);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::substrate::ids::{Dir, LinkId};
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{Icmpv4Repr, Ipv4Repr};

    fn router() -> Router {
        let ifaces = [
            Iface::new(LinkId(0), Dir::BToA, "10.1.0.1/24".parse().unwrap()),
            Iface::new(LinkId(1), Dir::AToB, "10.2.0.1/24".parse().unwrap()),
        ];
        Router::new("r", &ifaces, &RouterModel::default(), &[], 1)
    }

    /// A real ICMP echo request from 10.1.0.10 to `dst` with the given TTL.
    fn echo(dst: [u8; 4], ttl: u8) -> Vec<u8> {
        let caps = ChecksumCapabilities::default();
        let icmp = Icmpv4Repr::EchoRequest {
            ident: 7,
            seq_no: 1,
            data: b"hybridlab",
        };
        let ip = Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 1, 0, 10),
            dst_addr: Ipv4Addr::from(dst),
            next_header: IpProtocol::Icmp,
            payload_len: icmp.buffer_len(),
            hop_limit: ttl,
        };
        let mut buf = vec![0; ip.buffer_len() + icmp.buffer_len()];
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut packet, &caps);
        icmp.emit(
            &mut Icmpv4Packet::new_unchecked(packet.payload_mut()),
            &caps,
        );
        buf
    }

    #[test]
    fn an_incremental_ttl_update_gives_the_full_checksum() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..10_000 {
            let mut header = [0u8; 20];
            rng.fill(&mut header[..]);
            header[0] = 0x45;
            let ttl = rng.random_range(2..=255u8);
            header[8] = ttl;
            let mut ip = Ipv4Packet::new_unchecked(&mut header[..]);
            ip.fill_checksum();
            decrement_ttl(&mut ip, ttl);
            assert_eq!(ip.hop_limit(), ttl - 1);
            let incremental = ip.checksum();
            ip.fill_checksum();
            assert_eq!(incremental, ip.checksum(), "the bytes a full sum gives");
        }
    }

    #[test]
    fn forwards_by_prefix_decrementing_ttl_with_a_valid_checksum() {
        let mut r = router();
        let mut p = echo([10, 2, 0, 10], 64);
        assert_eq!(
            r.process(0, &mut p, 0, |_| true),
            Action::Forward {
                iface: 1,
                tunnel: None,
                unwrapped: None
            }
        );
        let ip = Ipv4Packet::new_checked(&p[..]).unwrap();
        assert_eq!(ip.hop_limit(), 63);
        assert!(ip.verify_checksum());
        assert_eq!(
            r.stats.forwarded, 0,
            "the engine counts forwarding once the link accepts"
        );
    }

    #[test]
    fn counts_ttl_expiry_no_route_link_down_and_malformed() {
        let mut r = router();
        assert_eq!(
            r.process(0, &mut echo([10, 2, 0, 10], 1), 0, |_| true),
            Action::Drop
        );
        assert_eq!(
            r.process(0, &mut echo([192, 168, 0, 1], 64), 0, |_| true),
            Action::Drop
        );
        assert_eq!(
            r.process(0, &mut echo([10, 2, 0, 10], 64), 0, |f| f.link != LinkId(1)),
            Action::Drop
        );
        let mut corrupt = echo([10, 2, 0, 10], 64);
        corrupt[8] ^= 0xff;
        assert_eq!(r.process(0, &mut corrupt, 0, |_| true), Action::Drop);
        let d = &r.stats.drops;
        assert_eq!(
            (d.ttl_expired, d.no_route, d.link_down, d.malformed),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn answers_an_echo_request_addressed_to_itself() {
        let mut r = router();
        let mut p = echo([10, 1, 0, 1], 64);
        assert_eq!(
            r.process(0, &mut p, 0, |_| true),
            Action::Forward {
                iface: 0,
                tunnel: None,
                unwrapped: None
            }
        );
        let ip = Ipv4Packet::new_checked(&p[..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(ip.dst_addr(), Ipv4Addr::new(10, 1, 0, 10));
        let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(icmp.msg_type(), Icmpv4Message::EchoReply);
        assert!(icmp.verify_checksum());
        assert_eq!(r.stats.local, 1);
    }
}
