//! A BGP session over a real TCP connection (smoltcp): the RFC 4271 finite-state machine reduced
//! to what the labs need. One end is active (connects), the other passive (listens on 179).
//!
//! Timers: the hold time is the lower of the two ends' (it travels in OPEN); the keepalive
//! interval is the lower of this end's setting and a third of the negotiated hold time. Defaults
//! (domain.md, "BGP over ER"): keepalive 60 s, hold 180 s. When nothing arrives for the hold
//! time the session sends NOTIFICATION (hold timer expired) and goes down; its routes are
//! withdrawn. A down session retries after `connect_retry`. Keepalive and connect-retry
//! intervals are each multiplied by a random 0.75–1.0 from the session's seeded stream (RFC 4271
//! §10), so when a hold timer notices a failure (between hold − keepalive and hold after it) varies
//! from seed to seed, as on real routers.

use crate::rng::Rng;
use crate::substrate::engine::Time;
use crate::substrate::route::Prefix;
use crate::wire::bgp::{Attributes, Message, CEASE, HOLD_TIMER_EXPIRED, MAX_PREFIXES_REACHED};
use rand::Rng as _;
use smoltcp::iface::{Context, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

pub const PORT: u16 = 179;
/// First local port of active sessions; each attempt takes the next one so that a stale
/// connection at the peer never collides with a new attempt.
const EPHEMERAL_BASE: u16 = 40000;
const BUFFER: usize = 64 * 1024;
/// How often a passive end checks whether its NOTIFICATION has been taken, and for how long at
/// most: a round trip of any lab path, and well inside the active end's connect retry (half of
/// it at most), so the passive end listens before the next attempt arrives.
const DRAIN_POLL: Time = 10_000_000;
const DRAIN_MAX: Time = 1_000_000_000;
/// Withdrawn routes per UPDATE: at most 5 bytes each, so 800 fit in the 4,096-byte limit.
const WITHDRAWN_PER_UPDATE: usize = 800;

/// One end's settings of a session.
#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub local: Ipv4Addr,
    pub peer: Ipv4Addr,
    pub local_asn: u32,
    pub peer_asn: u32,
    pub router_id: Ipv4Addr,
    /// Whether this end opens the TCP connection.
    pub active: bool,
    pub keepalive: Time,
    pub hold: Time,
    pub connect_retry: Time,
    /// Import policy: weight and local preference given to routes learned here.
    pub weight: u32,
    pub local_pref: Option<u32>,
    /// Prefixes this end announces on this session only, besides the router's own.
    pub announce: Vec<Prefix>,
    /// Times this end prepends its own AS to the paths it announces (eBGP): the on-premises way
    /// to make a path less preferred. 0 for none.
    pub prepend: u8,
    /// The most prefixes this end accepts from the peer; one more and it sends NOTIFICATION
    /// (cease, "maximum number of prefixes reached", RFC 4486) and drops the session.
    pub max_prefixes: Option<usize>,
    /// When not empty, this end announces only routes learned from these peers (an export
    /// policy: Global Reach carries the customers' routes, not the VNets').
    pub export_from: Vec<Ipv4Addr>,
}

impl Config {
    pub fn ibgp(&self) -> bool {
        self.local_asn == self.peer_asn
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Idle,
    Connect,
    OpenSent,
    OpenConfirm,
    Established,
}

/// Why a session went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DownReason {
    HoldTimerExpired,
    Bfd,
    /// The peer sent a NOTIFICATION with this error code.
    Notification(u8),
    ConnectionClosed,
    /// A fault reset it.
    Reset,
    /// The peer sent more prefixes than this end accepts.
    PrefixLimit,
}

/// What a poll observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Established,
    Down(DownReason),
    /// Routes learned from the peer changed.
    Updated,
}

pub struct Session {
    pub cfg: Config,
    socket: SocketHandle,
    pub phase: Phase,
    attempt: u16,
    index: u16,
    rx: Vec<u8>,
    tx: Vec<u8>,
    hold: Time,
    keepalive: Time,
    last_rx: Time,
    next_keepalive: Time,
    retry_at: Time,
    /// After a NOTIFICATION and close, a passive end waits until then at most for its peer to
    /// take the NOTIFICATION before listening again (listening aborts the old connection).
    drain_until: Time,
    /// Routes the peer advertised (Adj-RIB-In), and what we advertised to it (Adj-RIB-Out).
    pub adj_in: BTreeMap<Prefix, Attributes>,
    pub adj_out: BTreeMap<Prefix, Attributes>,
    /// The session's own stream, for the timers' jitter.
    rng: Rng,
}

/// `interval` times a random factor from 0.75 to 1.0, as RFC 4271 §10 asks of the keepalive
/// and connect-retry timers, so that peers restarted together do not stay in step.
fn jitter(rng: &mut Rng, interval: Time) -> Time {
    (interval as f64 * rng.random_range(0.75..=1.0)) as Time
}

impl Session {
    pub fn new(cfg: Config, index: u16, sockets: &mut SocketSet<'static>, rng: Rng) -> Self {
        let socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; BUFFER]),
            tcp::SocketBuffer::new(vec![0; BUFFER]),
        );
        Session {
            socket: sockets.add(socket),
            hold: cfg.hold,
            keepalive: cfg.keepalive,
            cfg,
            phase: Phase::Idle,
            attempt: 0,
            index,
            rx: Vec::new(),
            tx: Vec::new(),
            last_rx: 0,
            next_keepalive: 0,
            retry_at: 0,
            drain_until: 0,
            adj_in: BTreeMap::new(),
            adj_out: BTreeMap::new(),
            rng,
        }
    }

    fn send(&mut self, m: &Message) {
        m.encode(&mut self.tx);
    }

    /// Queues an UPDATE. Empty changes send nothing.
    pub fn advertise(&mut self, withdrawn: Vec<Prefix>, announced: Vec<(Prefix, Attributes)>) {
        // An UPDATE holds at most 4,096 bytes (RFC 4271 4.1): withdrawals go in chunks.
        for chunk in withdrawn.chunks(WITHDRAWN_PER_UPDATE) {
            self.send(&Message::Update {
                withdrawn: chunk.to_vec(),
                attributes: Attributes::default(),
                nlri: vec![],
            });
        }
        for (prefix, attributes) in announced {
            self.send(&Message::Update {
                withdrawn: vec![],
                attributes,
                nlri: vec![prefix],
            });
        }
    }

    /// Takes the session down and forgets everything learned. After a hold-timer expiry, a
    /// reset or BFD's verdict the router tells its peer why (RFC 4271 6.5, 6.7: a NOTIFICATION,
    /// then the connection closes, so the NOTIFICATION goes out before the FIN); otherwise the
    /// connection is aborted. A new attempt aborts whatever is left of it.
    pub fn down(
        &mut self,
        now: Time,
        reason: DownReason,
        sockets: &mut SocketSet<'static>,
    ) -> Event {
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        if matches!(
            reason,
            DownReason::HoldTimerExpired
                | DownReason::Reset
                | DownReason::Bfd
                | DownReason::PrefixLimit
        ) && s.may_send()
        {
            let (code, subcode) = match reason {
                DownReason::HoldTimerExpired => (HOLD_TIMER_EXPIRED, 0),
                DownReason::PrefixLimit => (CEASE, MAX_PREFIXES_REACHED),
                _ => (CEASE, 0),
            };
            let mut buf = Vec::new();
            Message::Notification { code, subcode }.encode(&mut buf);
            self.drain_until = now.saturating_add(DRAIN_MAX.min(self.cfg.connect_retry / 2));
            let _ = s.send_slice(&buf);
            s.close();
        } else {
            s.abort();
        }
        self.phase = Phase::Idle;
        self.rx.clear();
        self.tx.clear();
        self.adj_in.clear();
        self.adj_out.clear();
        // The passive end listens again at once; the active end waits before reconnecting.
        self.retry_at = if self.cfg.active {
            now.saturating_add(jitter(&mut self.rng, self.cfg.connect_retry))
        } else {
            now
        };
        Event::Down(reason)
    }

    /// Runs the state machine at `now`.
    pub fn poll(
        &mut self,
        now: Time,
        cx: &mut Context,
        sockets: &mut SocketSet<'static>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        match self.phase {
            // A passive end lets its NOTIFICATION and FIN reach the peer before it listens
            // again, checking every DRAIN_POLL.
            Phase::Idle
                if now >= self.retry_at
                    && !self.cfg.active
                    && now < self.drain_until
                    && s.is_open()
                    && s.send_queue() > 0 =>
            {
                self.retry_at = now.saturating_add(DRAIN_POLL);
            }
            Phase::Idle if now >= self.retry_at => {
                s.abort();
                let ok = if self.cfg.active {
                    self.attempt = self.attempt.wrapping_add(1);
                    let port = EPHEMERAL_BASE + (self.index % 256) * 64 + self.attempt % 64;
                    let remote = IpEndpoint::new(IpAddress::Ipv4(self.cfg.peer), PORT);
                    let local = IpListenEndpoint {
                        addr: Some(IpAddress::Ipv4(self.cfg.local)),
                        port,
                    };
                    s.connect(cx, remote, local).is_ok()
                } else {
                    s.listen(IpListenEndpoint {
                        addr: Some(IpAddress::Ipv4(self.cfg.local)),
                        port: PORT,
                    })
                    .is_ok()
                };
                if ok {
                    self.phase = Phase::Connect;
                }
                self.retry_at = now.saturating_add(jitter(&mut self.rng, self.cfg.connect_retry));
            }
            Phase::Connect => {
                if s.state() == tcp::State::Established {
                    let hold = (self.cfg.hold / 1_000_000_000).min(u64::from(u16::MAX)) as u16;
                    let open = Message::Open {
                        asn: self.cfg.local_asn,
                        hold_time: hold,
                        router_id: self.cfg.router_id,
                    };
                    open.encode(&mut self.tx);
                    self.phase = Phase::OpenSent;
                    self.last_rx = now;
                } else if self.cfg.active && now >= self.retry_at {
                    // The connection attempt timed out: start over.
                    self.phase = Phase::Idle;
                    self.retry_at = now;
                    return self.poll(now, cx, sockets);
                }
            }
            _ => {}
        }
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        if self.phase >= Phase::OpenSent {
            // What arrived before a close is read first: a NOTIFICATION comes just ahead of
            // its FIN, and says why.
            while s.can_recv() {
                let n = s.recv(|b| {
                    self.rx.extend_from_slice(b);
                    (b.len(), b.len())
                });
                if n.unwrap_or(0) == 0 {
                    break;
                }
            }
            while let Some(len) = Message::frame_len(&self.rx).filter(|&l| l <= self.rx.len()) {
                let frame: Vec<u8> = self.rx.drain(..len.max(1)).collect();
                self.last_rx = now;
                match Message::decode(&frame) {
                    Some(Message::Open { hold_time, asn, .. }) if self.phase == Phase::OpenSent => {
                        if asn != self.cfg.peer_asn {
                            self.send(&Message::Notification {
                                code: 2,
                                subcode: 2,
                            }); // bad peer AS
                            events.push(self.down(now, DownReason::Notification(2), sockets));
                            return events;
                        }
                        self.hold = self.cfg.hold.min(Time::from(hold_time) * 1_000_000_000);
                        self.keepalive = self.cfg.keepalive.min(self.hold / 3);
                        self.send(&Message::Keepalive);
                        self.next_keepalive =
                            now.saturating_add(jitter(&mut self.rng, self.keepalive));
                        self.phase = Phase::OpenConfirm;
                    }
                    Some(Message::Keepalive) if self.phase == Phase::OpenConfirm => {
                        self.phase = Phase::Established;
                        events.push(Event::Established);
                    }
                    Some(Message::Update {
                        withdrawn,
                        attributes,
                        nlri,
                    }) if self.phase == Phase::Established => {
                        for p in withdrawn {
                            self.adj_in.remove(&p.network());
                        }
                        // Loop prevention: ignore paths that already contain our AS.
                        if !attributes.as_path.contains(&self.cfg.local_asn) || self.cfg.ibgp() {
                            for p in nlri {
                                self.adj_in.insert(p.network(), attributes.clone());
                            }
                        }
                        if self.cfg.max_prefixes.is_some_and(|m| self.adj_in.len() > m) {
                            events.push(self.down(now, DownReason::PrefixLimit, sockets));
                            return events;
                        }
                        events.push(Event::Updated);
                    }
                    Some(Message::Notification { code, .. }) => {
                        events.push(self.down(now, DownReason::Notification(code), sockets));
                        return events;
                    }
                    _ => {}
                }
            }
            let s = sockets.get_mut::<tcp::Socket>(self.socket);
            if !s.is_open() || s.state() == tcp::State::CloseWait {
                events.push(self.down(now, DownReason::ConnectionClosed, sockets));
                return events;
            }
            if now >= self.last_rx.saturating_add(self.hold) {
                events.push(self.down(now, DownReason::HoldTimerExpired, sockets));
                return events;
            }
            if self.phase >= Phase::OpenConfirm && now >= self.next_keepalive {
                self.send(&Message::Keepalive);
                self.next_keepalive = now.saturating_add(jitter(&mut self.rng, self.keepalive));
            }
        }
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        if !self.tx.is_empty() && s.may_send() {
            let n = s.send_slice(&self.tx).unwrap_or(0);
            self.tx.drain(..n);
        }
        events
    }

    /// When the session next needs a poll on its own: a passive end waiting for its peer to
    /// connect has no timer of its own.
    pub fn next_wake(&self) -> Option<Time> {
        match self.phase {
            Phase::Idle => Some(self.retry_at),
            Phase::Connect if self.cfg.active => Some(self.retry_at),
            Phase::Connect => None,
            Phase::OpenSent => Some(self.last_rx.saturating_add(self.hold)),
            Phase::OpenConfirm | Phase::Established => Some(
                self.next_keepalive
                    .min(self.last_rx.saturating_add(self.hold)),
            ),
        }
    }
}
