//! A router's control plane: its own smoltcp stack (holding every address of the router), the
//! BGP sessions and BFD sessions that run over it, route selection, and export.
//!
//! Packets addressed to the router reach the stack; what the stack sends is routed by the
//! router's forwarding table like any other packet. The plane reports changes of best paths
//! (prefix → next-hop addresses); the router turns them into forwarding entries, after its
//! programming delay.

use super::bfd;
use super::bgp::{self, DownReason, Event, Phase};
use super::rib::{self, Candidate, DEFAULT_LOCAL_PREF};
use crate::substrate::device::Stack;
use crate::substrate::engine::Time;
use crate::substrate::route::Prefix;
use crate::wire::bgp::Attributes;
use serde::Serialize;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Weight of locally originated routes (the customary default for local routes).
const LOCAL_WEIGHT: u32 = 32768;
/// Source port of BFD packets (RFC 5881 asks for one in 49152–65535).
const BFD_SOURCE_PORT: u16 = 49152;

/// Something the control plane did, with its virtual time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlEvent {
    /// Nanoseconds; the JSON export converts to microseconds.
    #[serde(skip)]
    pub time: Time,
    pub router: String,
    pub peer: Ipv4Addr,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum What {
    BfdUp,
    /// BFD declared the path down; the diagnostic code says why (1: detection time expired).
    BfdDown(u8),
    BgpEstablished,
    BgpDown(DownReason),
    /// IKE dead-peer detection declared the tunnel's peer dead, or heard it again.
    DpdDead,
    DpdAlive,
}

impl std::fmt::Display for What {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::BfdUp => write!(f, "BFD up"),
            What::BfdDown(bfd::DIAG_DETECTION_EXPIRED) => {
                write!(f, "BFD down (detection time expired)")
            }
            What::BfdDown(bfd::DIAG_NEIGHBOR_DOWN) => {
                write!(f, "BFD down (neighbor signaled down)")
            }
            What::BfdDown(_) => write!(f, "BFD down"),
            What::BgpEstablished => write!(f, "BGP established"),
            What::BgpDown(DownReason::HoldTimerExpired) => {
                write!(f, "BGP down (hold timer expired)")
            }
            What::BgpDown(DownReason::Bfd) => write!(f, "BGP down (BFD)"),
            What::BgpDown(DownReason::Notification(code)) => {
                write!(f, "BGP down (notification, code {code})")
            }
            What::BgpDown(DownReason::ConnectionClosed) => {
                write!(f, "BGP down (connection closed)")
            }
            What::BgpDown(DownReason::Reset) => write!(f, "BGP down (reset)"),
            What::BgpDown(DownReason::PrefixLimit) => {
                write!(f, "BGP down (prefix limit exceeded)")
            }
            What::DpdDead => write!(f, "tunnel dead (DPD)"),
            What::DpdAlive => write!(f, "tunnel alive (DPD)"),
        }
    }
}

/// Where a path in a BGP table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Origin {
    /// Originated by the router itself (its own or its VNet's address space).
    Network,
    #[serde(rename = "eBGP")]
    Ebgp,
    #[serde(rename = "iBGP")]
    Ibgp,
}

/// One path of a BGP table ([`ControlPlane::table`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathEntry {
    pub prefix: Prefix,
    /// The peer it was learned from; `None` for the router's own prefixes.
    pub peer: Option<Ipv4Addr>,
    /// The NEXT_HOP attribute as received.
    pub next_hop: Option<Ipv4Addr>,
    pub weight: u32,
    pub local_pref: u32,
    pub as_path: Vec<u32>,
    pub origin: Origin,
    /// The best path (the first of those used).
    pub best: bool,
    /// Used for forwarding: the best, or as good as it (multipath).
    pub used: bool,
    /// Why it is not used: the first step of selection where the best beat it.
    pub lost: Option<rib::Lost>,
}

/// A BGP session's settings plus its optional BFD (interval, multiplier).
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub bgp: bgp::Config,
    pub bfd: Option<(Time, u8)>,
}

pub struct ControlPlane {
    pub router: String,
    asn: u32,
    originate: Vec<Prefix>,
    stack: Stack,
    pub sessions: Vec<bgp::Session>,
    bfd: Vec<Option<bfd::Session>>,
    bfd_rx: SocketHandle,
    bfd_tx: SocketHandle,
    /// Next-hop addresses of the best paths this router forwards by (not its own prefixes).
    installed: BTreeMap<Prefix, Vec<Ipv4Addr>>,
    dirty: bool,
    /// Route selection leaves the AS path's length out (Azure VMware Solution).
    pub ignore_as_path: bool,
    pub log: Vec<ControlEvent>,
}

impl ControlPlane {
    pub fn new(
        router: &str,
        asn: u32,
        addresses: &[Prefix],
        originate: Vec<Prefix>,
        sessions: Vec<SessionSpec>,
        seed: u64,
    ) -> Self {
        let mut stack = Stack::new(addresses, 1500, seed);
        // The router itself decides where its packets go: send everything to the device.
        if let Some(first) = addresses.first() {
            let _ = stack.iface.routes_mut().add_default_ipv4_route(first.addr);
        }
        let sockets = &mut stack.sockets;
        let udp_socket = |port: u16| {
            let buffer =
                || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 64], vec![0; 64 * 64]);
            let mut s = udp::Socket::new(buffer(), buffer());
            let _ = s.bind(port);
            // RFC 5881: single-hop BFD is sent with TTL 255.
            s.set_hop_limit(Some(255));
            s
        };
        let bfd_rx = sockets.add(udp_socket(bfd::PORT));
        let bfd_tx = sockets.add(udp_socket(BFD_SOURCE_PORT));
        let mut bgp_sessions = Vec::new();
        let mut bfd_sessions = Vec::new();
        for (i, s) in sessions.into_iter().enumerate() {
            bfd_sessions.push(s.bfd.map(|(interval, mult)| {
                bfd::Session::new(
                    s.bgp.peer,
                    s.bgp.local,
                    interval,
                    mult,
                    1 + i as u32,
                    crate::rng::component_rng(seed, &format!("bfd/{}", s.bgp.peer)),
                )
            }));
            let rng = crate::rng::component_rng(seed, &format!("bgp/{}", s.bgp.peer));
            bgp_sessions.push(bgp::Session::new(s.bgp, i as u16, sockets, rng));
        }
        ControlPlane {
            router: router.to_string(),
            asn,
            originate,
            stack,
            sessions: bgp_sessions,
            bfd: bfd_sessions,
            bfd_rx,
            bfd_tx,
            installed: BTreeMap::new(),
            dirty: true,
            ignore_as_path: false,
            log: Vec::new(),
        }
    }

    /// Whether every BGP session of the router is established.
    pub fn all_established(&self) -> bool {
        self.sessions.iter().all(|s| s.phase == Phase::Established)
    }

    /// Hands the stack a packet addressed to the router.
    pub fn deliver(&mut self, packet: Vec<u8>) {
        self.stack.deliver(packet);
    }

    /// Packets the stack sent during the last poll.
    pub fn outbox(&mut self) -> &mut Vec<Vec<u8>> {
        self.stack.outbox()
    }

    fn record(&mut self, time: Time, peer: Ipv4Addr, what: What) {
        self.log.push(ControlEvent {
            time,
            router: self.router.clone(),
            peer,
            what,
        });
    }

    fn session_down(&mut self, now: Time, i: usize, reason: DownReason) {
        if self.sessions[i].phase != Phase::Idle {
            let was_up = self.sessions[i].phase == Phase::Established;
            self.sessions[i].down(now, reason, &mut self.stack.sockets);
            if was_up {
                let peer = self.sessions[i].cfg.peer;
                self.record(now, peer, What::BgpDown(reason));
            }
            self.dirty = true;
        }
    }

    /// Resets every session with `peer` (all sessions when `None`): a fault.
    pub fn reset(&mut self, now: Time, peer: Option<Ipv4Addr>) {
        for i in 0..self.sessions.len() {
            if peer.is_none_or(|p| self.sessions[i].cfg.peer == p) {
                self.session_down(now, i, DownReason::Reset);
                if let Some(b) = &mut self.bfd[i] {
                    if b.reset(now) == Some(bfd::Change::Down(bfd::DIAG_NONE)) {
                        let peer = b.peer;
                        self.record(now, peer, What::BfdDown(bfd::DIAG_NONE));
                    }
                }
            }
        }
    }

    fn bfd_change(&mut self, now: Time, i: usize, change: bfd::Change) {
        let peer = self.sessions[i].cfg.peer;
        match change {
            bfd::Change::Up => self.record(now, peer, What::BfdUp),
            bfd::Change::Down(diag) => {
                self.record(now, peer, What::BfdDown(diag));
                if self.sessions[i].phase == Phase::Established {
                    self.session_down(now, i, DownReason::Bfd);
                }
            }
        }
    }

    /// Runs the stack, BFD and BGP at `now`. Returns the next wake-up and the best-path changes
    /// (prefix, next-hop addresses; empty means withdrawn).
    pub fn poll(
        &mut self,
        now: Time,
        free: &mut Vec<Vec<u8>>,
    ) -> (Option<Time>, Vec<(Prefix, Vec<Ipv4Addr>)>) {
        self.stack.ingest(now, free);

        // BFD: packets in, then timers and packets out.
        let mut buf = [0u8; 64];
        loop {
            let rx = self.stack.sockets.get_mut::<udp::Socket>(self.bfd_rx);
            let Ok((n, meta)) = rx.recv_slice(&mut buf) else {
                break;
            };
            let (Some(packet), IpAddress::Ipv4(src)) =
                (bfd::Packet::parse(&buf[..n]).ok(), meta.endpoint.addr)
            else {
                continue;
            };
            if let Some(i) = self
                .bfd
                .iter()
                .position(|b| b.as_ref().is_some_and(|b| b.peer == src))
            {
                if let Some(change) = self.bfd[i].as_mut().and_then(|b| b.receive(now, &packet)) {
                    self.bfd_change(now, i, change);
                }
            }
        }
        for i in 0..self.bfd.len() {
            let Some(b) = &mut self.bfd[i] else { continue };
            let (change, packet) = b.poll(now);
            let dst = IpEndpoint::new(IpAddress::Ipv4(b.peer), bfd::PORT);
            if let Some(p) = packet {
                let _ = self
                    .stack
                    .sockets
                    .get_mut::<udp::Socket>(self.bfd_tx)
                    .send_slice(&p, dst);
            }
            if let Some(change) = change {
                self.bfd_change(now, i, change);
            }
        }

        // BGP.
        for i in 0..self.sessions.len() {
            let events =
                self.sessions[i].poll(now, self.stack.iface.context(), &mut self.stack.sockets);
            for e in events {
                let peer = self.sessions[i].cfg.peer;
                match e {
                    Event::Established => {
                        self.record(now, peer, What::BgpEstablished);
                        self.dirty = true;
                    }
                    Event::Down(reason) => {
                        self.record(now, peer, What::BgpDown(reason));
                        self.dirty = true;
                    }
                    Event::Updated => self.dirty = true,
                }
            }
        }
        let changes = if self.dirty {
            self.decide()
        } else {
            Vec::new()
        };
        self.dirty = false;
        // Send what the sessions queued (updates from `decide` included).
        for i in 0..self.sessions.len() {
            self.sessions[i].poll(now, self.stack.iface.context(), &mut self.stack.sockets);
        }

        let mut wake = self.stack.egress(now, free);
        let timers = self
            .sessions
            .iter()
            .filter_map(|s| s.next_wake())
            .chain(self.bfd.iter().flatten().map(|b| b.next_wake()));
        for t in timers {
            wake = Some(wake.map_or(t, |w| w.min(t)));
        }
        // Every timer is in the future after a poll (the run checks it: [`crate::substrate::engine`]).
        (wake, changes)
    }

    /// Every path to every prefix the router has now, as route selection sees them: its own
    /// prefixes (session index `usize::MAX`) and what each established session learned.
    fn candidates(&self) -> BTreeMap<Prefix, Vec<(Candidate, Attributes)>> {
        let mut candidates: BTreeMap<Prefix, Vec<(Candidate, Attributes)>> = BTreeMap::new();
        for &p in &self.originate {
            let c = Candidate {
                session: usize::MAX,
                peer: Ipv4Addr::UNSPECIFIED,
                weight: LOCAL_WEIGHT,
                local_pref: DEFAULT_LOCAL_PREF,
                as_path: vec![],
                ibgp: false,
            };
            candidates
                .entry(p.network())
                .or_default()
                .push((c, Attributes::default()));
        }
        for (i, s) in self.sessions.iter().enumerate() {
            if s.phase != Phase::Established {
                continue;
            }
            for (p, a) in &s.adj_in {
                let local_pref = match (s.cfg.local_pref, s.cfg.ibgp()) {
                    (Some(lp), _) => lp,
                    (None, true) => a.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
                    (None, false) => DEFAULT_LOCAL_PREF,
                };
                let c = Candidate {
                    session: i,
                    peer: s.cfg.peer,
                    weight: s.cfg.weight,
                    local_pref,
                    as_path: a.as_path.clone(),
                    ibgp: s.cfg.ibgp(),
                };
                candidates.entry(*p).or_default().push((c, a.clone()));
            }
        }
        candidates
    }

    /// The router's BGP table now: every path to every prefix, the best ones marked and each
    /// other one with the step of selection it lost at, by prefix then session (own first).
    pub fn table(&self) -> Vec<PathEntry> {
        let mut rows = Vec::new();
        for (p, list) in self.candidates() {
            let cands: Vec<Candidate> = list.iter().map(|(c, _)| c.clone()).collect();
            let chosen = rib::select(&cands, self.ignore_as_path);
            let Some(&best) = chosen.first() else {
                continue;
            };
            let mut paths: Vec<&(Candidate, Attributes)> = list.iter().collect();
            paths.sort_by_key(|(c, _)| c.session.wrapping_add(1));
            for (c, a) in paths {
                let own = c.session == usize::MAX;
                rows.push(PathEntry {
                    prefix: p,
                    peer: (!own).then_some(c.peer),
                    next_hop: if own { None } else { a.next_hop },
                    weight: c.weight,
                    local_pref: c.local_pref,
                    as_path: c.as_path.clone(),
                    origin: match (own, c.ibgp) {
                        (true, _) => Origin::Network,
                        (false, true) => Origin::Ibgp,
                        (false, false) => Origin::Ebgp,
                    },
                    best: c.session == best.session,
                    used: chosen.iter().any(|u| u.session == c.session),
                    lost: rib::why_lost(best, c, self.ignore_as_path),
                });
            }
        }
        rows
    }

    /// What the router advertises now to each established peer: (peer, prefix, attributes),
    /// by session then prefix.
    pub fn advertised(&self) -> Vec<(Ipv4Addr, Prefix, Attributes)> {
        self.sessions
            .iter()
            .filter(|s| s.phase == Phase::Established)
            .flat_map(|s| s.adj_out.iter().map(|(p, a)| (s.cfg.peer, *p, a.clone())))
            .collect()
    }

    /// The router's AS number.
    pub fn asn(&self) -> u32 {
        self.asn
    }

    /// Selects best paths, queues updates to peers, and returns forwarding changes.
    fn decide(&mut self) -> Vec<(Prefix, Vec<Ipv4Addr>)> {
        let candidates = self.candidates();
        let mut installed = BTreeMap::new();
        let mut best: BTreeMap<Prefix, (Candidate, Attributes)> = BTreeMap::new();
        for (p, list) in &candidates {
            let cands: Vec<Candidate> = list.iter().map(|(c, _)| c.clone()).collect();
            let chosen = rib::select(&cands, self.ignore_as_path);
            let Some(first) = chosen.first() else {
                continue;
            };
            let attrs = list
                .iter()
                .find(|(c, _)| c.session == first.session)
                .map(|(_, a)| a.clone())
                .unwrap_or_default();
            best.insert(*p, ((*first).clone(), attrs));
            if first.session != usize::MAX {
                installed.insert(
                    *p,
                    chosen
                        .iter()
                        .filter(|c| c.session != usize::MAX)
                        .map(|c| c.peer)
                        .collect::<Vec<_>>(),
                );
            }
        }
        // Export the best paths to each established peer.
        for (i, s) in self.sessions.iter_mut().enumerate() {
            if s.phase != Phase::Established {
                continue;
            }
            let mut desired = BTreeMap::new();
            for p in &s.cfg.announce {
                let as_path = if s.cfg.ibgp() {
                    vec![]
                } else {
                    vec![self.asn; 1 + usize::from(s.cfg.prepend)]
                };
                desired.insert(
                    p.network(),
                    Attributes {
                        as_path,
                        next_hop: Some(s.cfg.local),
                        local_pref: None,
                    },
                );
            }
            for (p, (c, a)) in &best {
                let learned_ibgp = c.session != usize::MAX && c.ibgp;
                if c.session == i || (learned_ibgp && s.cfg.ibgp()) {
                    continue;
                }
                if !s.cfg.export_from.is_empty()
                    && (c.session == usize::MAX || !s.cfg.export_from.contains(&c.peer))
                {
                    continue;
                }
                let mut attrs = Attributes {
                    next_hop: Some(s.cfg.local),
                    ..Attributes::default()
                };
                if s.cfg.ibgp() {
                    attrs.as_path = a.as_path.clone();
                    attrs.local_pref = Some(c.local_pref);
                } else {
                    if c.as_path.contains(&s.cfg.peer_asn) {
                        continue;
                    }
                    attrs.as_path = std::iter::repeat_n(self.asn, 1 + usize::from(s.cfg.prepend))
                        .chain(a.as_path.iter().copied())
                        .collect();
                }
                desired.insert(*p, attrs);
            }
            let withdrawn: Vec<Prefix> = s
                .adj_out
                .keys()
                .filter(|p| !desired.contains_key(p))
                .copied()
                .collect();
            let announced: Vec<(Prefix, Attributes)> = desired
                .iter()
                .filter(|(p, a)| s.adj_out.get(p) != Some(a))
                .map(|(p, a)| (*p, a.clone()))
                .collect();
            s.advertise(withdrawn, announced);
            s.adj_out = desired;
        }
        let mut changes = Vec::new();
        for (p, hops) in &installed {
            if self.installed.get(p) != Some(hops) {
                changes.push((*p, hops.clone()));
            }
        }
        for p in self.installed.keys() {
            if !installed.contains_key(p) {
                changes.push((*p, Vec::new()));
            }
        }
        self.installed = installed;
        changes
    }
}
