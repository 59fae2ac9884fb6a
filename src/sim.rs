//! A run of a lab: builds the nodes and links from the validated model, then moves packets
//! between them on the engine's virtual clock.
//!
//! Events are packet arrivals at the end of a link, host wake-ups, and faults. A host keeps at
//! most one live wake-up in the queue: it is re-armed only for an earlier deadline, and an event
//! that no longer matches the host's pending deadline is stale and skipped.

use crate::app;
use crate::control::plane::ControlPlane;
use crate::engine::{Scheduler, Time};
use crate::host::{Host, HostConfig};
use crate::lab::model::{FaultKind, Iface, Lab, NodeKind, Traffic};
use crate::link::{Direction, Fate};
use crate::results::{AppRecord, LinkRecord, Results, TtlExpiry, TunnelRecord, TunnelStats};
use crate::rng::component_rng;
use crate::router::{Action, Router};
use rand::RngCore;

enum Event {
    /// A packet reaches the far end of direction `dir` of `link`.
    /// `path` identifies the links the packet crossed so far (see [`extend_path`]).
    Deliver {
        link: u32,
        dir: u8,
        epoch: u32,
        path: u64,
        packet: Vec<u8>,
    },
    /// A packet leaves a gateway's capacity limit onto direction `dir` of `link`.
    Transmit {
        link: u32,
        dir: u8,
        path: u64,
        packet: Vec<u8>,
    },
    Wake {
        node: u32,
    },
    Fault {
        index: u32,
    },
}

enum NodeState {
    Host(Box<Host>),
    Router(Box<Router>),
}

pub struct Sim {
    lab: Lab,
    sched: Scheduler<Event>,
    links: Vec<[Direction; 2]>,
    nodes: Vec<NodeState>,
    records: Vec<AppRecord>,
    /// Spare packet buffers, reused so the steady state allocates nothing per packet.
    free: Vec<Vec<u8>>,
    /// Where UDP probes are received: (host, port, app, true for the peer's end).
    probe_ports: Vec<(usize, u16, usize, bool)>,
    /// The instant of the last event, the events run at it, and the instant the run stopped
    /// at because virtual time no longer advanced ([`MAX_EVENTS_PER_INSTANT`]).
    instant: Time,
    at_instant: u64,
    stalled: Option<Time>,
}

/// More events than this at one instant means virtual time has stopped advancing: a path with
/// neither delay nor rate lets TCP exchange data without limit at one instant. The run stops
/// there, and says so, instead of never ending. A legitimate burst (a full queue released at
/// once) is thousands of events.
pub const MAX_EVENTS_PER_INSTANT: u64 = 10_000_000;

impl Sim {
    pub fn new(lab: &Lab) -> Sim {
        let lab = lab.clone();
        let links: Vec<[Direction; 2]> = lab
            .links
            .iter()
            .map(|l| {
                let dir = |d: usize| {
                    let stream =
                        format!("link/{}/{}", l.name, if d == 0 { "a->b" } else { "b->a" });
                    Direction::new(l.dirs[d].clone(), lab.seed, &stream)
                };
                [dir(0), dir(1)]
            })
            .collect();
        let mut nodes: Vec<NodeState> = lab
            .nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Host(h) => {
                    let addresses: Vec<_> = crate::lab::validate::host_addresses(n).collect();
                    let mtu = n
                        .ifaces
                        .first()
                        .map_or(1500, |f| lab.links[f.link].dirs[f.side].mtu as usize);
                    NodeState::Host(Box::new(Host::new(HostConfig {
                        name: &n.name,
                        addresses: &addresses,
                        gateway: h.gateway,
                        routes: &h.routes,
                        mtu,
                        tcp: h.tcp,
                        random_seed: component_rng(lab.seed, &format!("host/{}", n.name))
                            .next_u64(),
                    })))
                }
                NodeKind::Router(r) => {
                    let mut router = Router::new(&n.name, &n.ifaces, r, &lab.tunnels);
                    if let Some(bgp) = &r.bgp {
                        let addresses: Vec<_> = crate::lab::validate::host_addresses(n).collect();
                        let seed =
                            component_rng(lab.seed, &format!("router/{}", n.name)).next_u64();
                        router.control = Some(Box::new(ControlPlane::new(
                            &n.name,
                            bgp.asn,
                            &addresses,
                            bgp.originate.clone(),
                            bgp.sessions.clone(),
                            seed,
                        )));
                    }
                    NodeState::Router(Box::new(router))
                }
            })
            .collect();
        let mut records = Vec::with_capacity(lab.apps.len());
        let mut fault_instants: Vec<Time> = lab.faults.iter().map(|f| f.at).collect();
        fault_instants.sort_unstable();
        fault_instants.dedup();
        let mut stream_ports = app::StreamPorts::default();
        for (i, a) in lab.apps.iter().enumerate() {
            let (from, to) = (&lab.nodes[a.from].name, &lab.nodes[a.to].name);
            let record = app::record(a, from, to, &fault_instants);
            records.push(record);
            let (lo, hi) = (a.from.min(a.to), a.from.max(a.to));
            let (left, right) = nodes.split_at_mut(hi);
            if let (NodeState::Host(x), NodeState::Host(y)) = (&mut left[lo], &mut right[0]) {
                let (from, to) = if a.from < a.to { (x, y) } else { (y, x) };
                app::install(i, a, from, to, &mut stream_ports);
            }
        }
        let mut sched = Scheduler::new();
        for (i, n) in nodes.iter_mut().enumerate() {
            let pending = match n {
                NodeState::Host(h) => &mut h.pending_wake,
                NodeState::Router(r) if r.needs_polls() => &mut r.pending_wake,
                NodeState::Router(_) => continue,
            };
            *pending = Some(0);
            sched.schedule(0, Event::Wake { node: i as u32 });
        }
        for (i, f) in lab.faults.iter().enumerate() {
            sched.schedule(f.at, Event::Fault { index: i as u32 });
        }
        let probe_ports = lab
            .apps
            .iter()
            .enumerate()
            .filter_map(|(i, a)| match a.traffic {
                Traffic::UdpProbe { port, .. } => Some([
                    (a.to, port, i, true),
                    (a.from, app::client_port(i), i, false),
                ]),
                _ => None,
            })
            .flatten()
            .collect();
        Sim {
            instant: 0,
            at_instant: 0,
            stalled: None,
            probe_ports,
            lab,
            sched,
            links,
            nodes,
            records,
            free: Vec::new(),
        }
    }

    pub fn now(&self) -> Time {
        self.sched.now()
    }

    pub fn events(&self) -> u64 {
        self.sched.processed()
    }

    /// Runs every event due up to `until` (capped at the lab's duration).
    pub fn run_until(&mut self, until: Time) {
        let until = until.min(self.lab.duration);
        if self.stalled.is_some() {
            return;
        }
        while let Some((now, event)) = self.sched.pop_until(until) {
            if now == self.instant {
                self.at_instant += 1;
                if self.at_instant > MAX_EVENTS_PER_INSTANT {
                    self.stalled = Some(now);
                    return;
                }
            } else {
                (self.instant, self.at_instant) = (now, 0);
            }
            match event {
                Event::Deliver {
                    link,
                    dir,
                    epoch,
                    path,
                    packet,
                } => self.deliver(link as usize, dir as usize, epoch, path, packet),
                Event::Wake { node } => {
                    let node = node as usize;
                    match &mut self.nodes[node] {
                        NodeState::Host(h) if h.pending_wake == Some(now) => {
                            h.pending_wake = None;
                            self.poll_host(node);
                        }
                        NodeState::Router(r) if r.pending_wake == Some(now) => {
                            r.pending_wake = None;
                            self.poll_router(node);
                        }
                        _ => {}
                    }
                }
                Event::Transmit {
                    link,
                    dir,
                    path,
                    packet,
                } => self.send(link as usize, dir as usize, path, packet),
                Event::Fault { index } => self.fault(index as usize),
            }
        }
        self.sched.advance_to(until);
    }

    /// The instant the run stopped at because virtual time stopped advancing, if it did.
    pub fn stalled(&self) -> Option<Time> {
        self.stalled
    }

    /// Keeps every probe's record from now on, for tests and per-probe exports.
    pub fn keep_probe_logs(&mut self) {
        for r in &mut self.records {
            if let Some(p) = r.probes_mut() {
                p.keep_log();
            }
        }
    }

    /// Runs to the end and returns what was measured.
    pub fn run(mut self) -> Results {
        self.run_until(self.lab.duration);
        self.finish()
    }

    /// What was measured up to now.
    pub fn finish(self) -> Results {
        let lab = self.lab;
        Results {
            lab: lab.name.clone(),
            seed: lab.seed,
            duration: lab.duration,
            events: self.sched.processed(),
            apps: self.records,
            links: lab
                .links
                .iter()
                .zip(&self.links)
                .map(|(l, d)| LinkRecord {
                    name: l.name.clone(),
                    ends: [
                        lab.nodes[l.ends[0].0].name.clone(),
                        lab.nodes[l.ends[1].0].name.clone(),
                    ],
                    dirs: [d[0].stats.clone(), d[1].stats.clone()],
                })
                .collect(),
            tunnels: lab
                .tunnels
                .iter()
                .enumerate()
                .map(|(i, t)| TunnelRecord {
                    name: t.name.clone(),
                    ends: t.ends.map(|(n, _)| lab.nodes[n].name.clone()),
                    stats: [0, 1].map(|side| tunnel_end(&lab, &self.nodes, i, side)),
                })
                .collect(),
            stalled_at: self.stalled,
            // Faults that happened: a run cut short (`--duration`) never reached the others.
            faults: lab
                .faults
                .iter()
                .filter(|f| f.at <= lab.duration)
                .map(|f| (f.at, f.label.clone()))
                .collect(),
            control: {
                let mut log: Vec<_> = self
                    .nodes
                    .iter()
                    .filter_map(|n| match n {
                        NodeState::Router(r) => Some(
                            r.control
                                .as_ref()
                                .map(|c| c.log.clone())
                                .unwrap_or_default()
                                .into_iter()
                                .chain(r.log.iter().cloned()),
                        ),
                        NodeState::Host(_) => None,
                    })
                    .flatten()
                    .collect();
                log.sort_by_key(|e| e.time);
                log
            },
            route_changes: {
                let mut log: Vec<_> = self
                    .nodes
                    .iter()
                    .filter_map(|n| match n {
                        NodeState::Router(r) => Some(r.route_log.clone()),
                        NodeState::Host(_) => None,
                    })
                    .flatten()
                    .collect();
                log.sort_by_key(|e| e.time);
                log
            },
            ttl_expiries: self
                .nodes
                .iter()
                .filter_map(|n| match n {
                    NodeState::Router(r) => Some(r),
                    NodeState::Host(_) => None,
                })
                .flat_map(|r| {
                    r.ifaces
                        .iter()
                        .zip(&r.ttl_expired)
                        .filter(|(_, e)| e.count > 0)
                        .map(|(f, e)| {
                            let link = &lab.links[f.link];
                            TtlExpiry {
                                router: r.stats.name.clone(),
                                link: link.name.clone(),
                                from: lab.nodes[link.ends[1 - f.side].0].name.clone(),
                                count: e.count,
                                first: e.first,
                                last: e.last,
                            }
                        })
                })
                .collect(),
            routers: self
                .nodes
                .into_iter()
                .filter_map(|n| match n {
                    NodeState::Router(r) => Some(r.stats),
                    NodeState::Host(_) => None,
                })
                .collect(),
        }
    }

    /// Offers `packet` to direction `dir` of `link`.
    fn send(&mut self, link: usize, dir: usize, path: u64, packet: Vec<u8>) {
        send(
            &mut self.sched,
            &mut self.links,
            &mut self.free,
            (link, dir, path),
            packet,
        );
    }

    fn deliver(&mut self, link: usize, dir: usize, epoch: u32, path: u64, mut packet: Vec<u8>) {
        if !self.links[link][dir].arrive(epoch, packet.len()) {
            self.free.push(packet);
            return;
        }
        let (node, iface) = self.lab.links[link].ends[1 - dir];
        if matches!(self.nodes[node], NodeState::Host(_)) {
            self.note_probe_path(node, &packet, path);
        }
        match &mut self.nodes[node] {
            NodeState::Host(h) => {
                h.deliver(packet);
                self.poll_host(node);
            }
            NodeState::Router(r) => {
                let links = &self.links;
                let up = |f: Iface| links[f.link][f.side].is_up();
                let action = r.process(self.sched.now(), &mut packet, iface, up);
                self.emit(node, action, packet, false, path);
            }
        }
    }

    /// Carries out a router's decision about a packet: to its own stack, onto a link (after
    /// the MTU check and the gateway's capacity limit), or into the free list. `own` marks the
    /// router's own packets, which are not counted as forwarded; `path` is where the packet has
    /// been so far.
    fn emit(&mut self, node: usize, action: Action, packet: Vec<u8>, own: bool, path: u64) {
        let NodeState::Router(r) = &mut self.nodes[node] else {
            return;
        };
        let (out, tunnel, unwrapped) = match action {
            Action::Drop => {
                self.free.push(packet);
                return;
            }
            Action::Local => {
                if let Some(c) = &mut r.control {
                    c.deliver(packet);
                }
                self.poll_router(node);
                return;
            }
            Action::Forward {
                iface,
                tunnel,
                unwrapped,
            } => (iface, tunnel, unwrapped),
        };
        let f = r.ifaces[out];
        if packet.len() > self.links[f.link][f.side].params.mtu as usize {
            r.stats.drops.mtu += 1;
            if let Some(t) = tunnel {
                r.tunnels[t].stats.too_big += 1;
            }
            self.free.push(packet);
            return;
        }
        // Through the gateway's limits in series: the tunnel's own (wrapping or unwrapping),
        // then the aggregate of the egress direction.
        let now = self.sched.now();
        let len = packet.len();
        let per_tunnel = match (tunnel, unwrapped) {
            (Some(k), _) => r.tunnels[k].limiters.get_mut(0),
            (None, Some(k)) => r.tunnels[k].limiters.get_mut(1),
            (None, None) => None,
        };
        let departs = per_tunnel
            .map_or(Some(now), |l| l.admit(now, len))
            .and_then(|t| match r.limiters.get_mut(out) {
                Some(l) if l.applies(tunnel.is_some() || unwrapped.is_some()) => l.admit(t, len),
                _ => Some(t),
            });
        match departs {
            None => {
                r.stats.drops.capacity += 1;
                self.free.push(packet);
            }
            Some(t) => {
                if !own {
                    r.stats.forwarded += 1;
                }
                if t > now {
                    let event = Event::Transmit {
                        link: f.link as u32,
                        dir: f.side as u8,
                        path,
                        packet,
                    };
                    self.sched.schedule(t, event);
                } else {
                    self.send(f.link, f.side, path, packet);
                }
            }
        }
    }

    fn poll_router(&mut self, node: usize) {
        let now = self.sched.now();
        let NodeState::Router(r) = &mut self.nodes[node] else {
            return;
        };
        let wake = r.poll(now, &mut self.free);
        let mut packets = std::mem::take(&mut r.outbox);
        if let Some(c) = &mut r.control {
            packets.append(c.outbox());
        }
        for mut packet in packets.drain(..) {
            let NodeState::Router(r) = &mut self.nodes[node] else {
                return;
            };
            let links = &self.links;
            let action = r.originate(&mut packet, |f: Iface| links[f.link][f.side].is_up());
            self.emit(node, action, packet, true, 0);
        }
        let NodeState::Router(r) = &mut self.nodes[node] else {
            return;
        };
        // Give the (now empty) buffer back, keeping its capacity.
        r.outbox = packets;
        if let Some(w) = wake {
            if r.pending_wake.is_none_or(|p| w < p) {
                r.pending_wake = Some(w);
                self.sched.schedule(w, Event::Wake { node: node as u32 });
            }
        }
    }

    /// Notes the path of a UDP probe (or its echo) reaching host `node`.
    fn note_probe_path(&mut self, node: usize, packet: &[u8], path: u64) {
        if self.probe_ports.is_empty() || packet.len() < 28 || packet[9] != 17 {
            return;
        }
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        let Some(udp) = packet.get(ihl..) else { return };
        let Some(dst_port) = udp.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]])) else {
            return;
        };
        let Some(&(_, _, app, outbound)) = self
            .probe_ports
            .iter()
            .find(|p| p.0 == node && p.1 == dst_port)
        else {
            return;
        };
        let Some((seq, sent)) = udp.get(8..).and_then(app::read_stamp) else {
            return;
        };
        if let Some(p) = self.records[app].probes_mut() {
            p.tag_path(seq, sent, outbound, path);
        }
    }

    fn poll_node(&mut self, node: usize) {
        match &self.nodes[node] {
            NodeState::Host(_) => self.poll_host(node),
            NodeState::Router(r) if r.needs_polls() => self.poll_router(node),
            NodeState::Router(_) => {}
        }
    }

    fn poll_host(&mut self, node: usize) {
        let now = self.sched.now();
        let NodeState::Host(h) = &mut self.nodes[node] else {
            return;
        };
        let wake = h.poll(now, &mut self.free, &mut self.records);
        let f = self.lab.nodes[node].ifaces[0];
        for packet in h.outbox().drain(..) {
            send(
                &mut self.sched,
                &mut self.links,
                &mut self.free,
                (f.link, f.side, 0),
                packet,
            );
        }
        if let Some(w) = wake {
            if h.pending_wake.is_none_or(|p| w < p) {
                h.pending_wake = Some(w);
                self.sched.schedule(w, Event::Wake { node: node as u32 });
            }
        }
    }

    fn fault(&mut self, index: usize) {
        let now = self.sched.now();
        match &self.lab.faults[index].action {
            FaultKind::LinkState { link, up } => {
                for d in &mut self.links[*link] {
                    d.set_up(now, *up);
                }
            }
            FaultKind::NodeState { node, up } => {
                for f in &self.lab.nodes[*node].ifaces {
                    for d in &mut self.links[f.link] {
                        d.set_up(now, *up);
                    }
                }
                if let NodeState::Router(r) = &mut self.nodes[*node] {
                    if let Some(c) = &mut r.control {
                        c.reset(now, None);
                    }
                }
                self.poll_node(*node);
            }
            FaultKind::BgpReset { node, peer } => {
                if let NodeState::Router(r) = &mut self.nodes[*node] {
                    if let Some(c) = &mut r.control {
                        c.reset(now, Some(*peer));
                    }
                }
                self.poll_node(*node);
            }
            FaultKind::LinkChange {
                link,
                sides,
                change,
            } => {
                for &s in sides {
                    let d = &mut self.links[*link][s];
                    let params = change.apply(&d.params);
                    d.reconfigure(params);
                }
            }
        }
    }
}

/// The counters of end `side` of tunnel `index`.
fn tunnel_end(lab: &Lab, nodes: &[NodeState], index: usize, side: usize) -> TunnelStats {
    let node = lab.tunnels[index].ends[side].0;
    match (&lab.nodes[node].kind, &nodes[node]) {
        (NodeKind::Router(model), NodeState::Router(r)) => model
            .tunnels
            .iter()
            .position(|&e| e == (index, side))
            .map(|k| r.tunnels[k].stats.clone())
            .unwrap_or_default(),
        _ => TunnelStats::default(),
    }
}

/// A packet's path so far, extended by direction `dir` of `link`: equal for packets that
/// crossed the same links in the same order.
fn extend_path(path: u64, link: usize, dir: usize) -> u64 {
    (path.rotate_left(7) ^ (link as u64 * 2 + dir as u64 + 1)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Offers a packet to a link direction (`to`: link, direction, path so far) and schedules its
/// arrival, or recycles it if dropped.
fn send(
    sched: &mut Scheduler<Event>,
    links: &mut [[Direction; 2]],
    free: &mut Vec<Vec<u8>>,
    to: (usize, usize, u64),
    packet: Vec<u8>,
) {
    let (link, dir, path) = to;
    match links[link][dir].send(sched.now(), packet.len()) {
        Fate::Arrives { at, epoch } => sched.schedule(
            at,
            Event::Deliver {
                link: link as u32,
                dir: dir as u8,
                epoch,
                path: extend_path(path, link, dir),
                packet,
            },
        ),
        Fate::Dropped(_) => free.push(packet),
    }
}

/// Validates nothing: runs an already validated lab to the end.
pub fn run(lab: &Lab) -> Results {
    Sim::new(lab).run()
}

/// [`run`], keeping every probe's record as well ([`crate::results::ProbeRecord::log`]):
/// memory then grows with the run's length. What the run computes is the same.
pub fn run_with_probe_logs(lab: &Lab) -> Results {
    let mut sim = Sim::new(lab);
    sim.keep_probe_logs();
    sim.run()
}
