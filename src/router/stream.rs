//! A tunnel carried by one TCP connection (OpenVPN in TCP mode, SSTP): inner IPv4 packets are
//! framed into the connection's byte stream, so they ride its retransmissions and congestion
//! control — TCP inside TCP. Under loss the outer connection holds back every inner packet
//! behind a lost segment while the inner TCP's own timers run: the meltdown a lab can show.
//!
//! Each end is its own small smoltcp stack holding the tunnel's address: the client (end `a`)
//! connects to the gateway's port 443; the gateway listens, and takes a client's new attempt in
//! place of whatever it held. The outer TCP behaves as Linux does ([`crate::substrate::tcp`]); its send
//! buffer is [`SEND_BUFFER`]: an inner packet that does not fit is dropped, as OpenVPN drops
//! past its TCP queue limit, and what waits in it delays every inner packet behind it.
//!
//! Framing, so that a capture decodes, is [`crate::wire::stream`]'s: OpenVPN's P_DATA_V2 (26
//! bytes per packet) and SSTP in TLS 1.2 records (35 bytes per packet).
//!
//! The payload is not encrypted (nothing here reads it); sizes are a real tunnel's.
//!
//! Connecting, as OpenVPN's client does (openvpn(8), 2.4 and later, `--connect-timeout`,
//! `--connect-retry`): the SYN is retransmitted by the client's TCP (Linux: 1 s, then doubling:
//! 1, 3, 7, 15, 31 s after the first); an attempt not connected after [`CONNECT_TIMEOUT`] is
//! abandoned; after a failed attempt or a lost connection the client waits [`CONNECT_RETRY`]
//! before the next, doubling that wait after the fifth failure in a row up to
//! [`CONNECT_RETRY_MAX`]. A home link down from 0 s to 12 s thus connects at the SYN sent at
//! 15 s. The Windows SSTP client's redial policy is a per-profile setting with no published
//! default for always-on tunnels: SSTP clients here connect with the same timing, so the two
//! protocols differ in their framing only. Every step is on the virtual clock, and a client
//! waiting for its next attempt asks to be woken then, not before.

use crate::substrate::device::Stack;
use crate::substrate::engine::Time;
use crate::vpn::Framing;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, IpProtocol, Ipv4Packet, TcpPacket};
use std::net::Ipv4Addr;

/// The server port of OpenVPN and SSTP on Azure VPN gateways.
pub const PORT: u16 = 443;
/// The client's first local port; each attempt takes the next.
const CLIENT_PORT: u16 = 50000;
/// OpenVPN's `--connect-timeout` default: an attempt not connected after this long is given up.
pub const CONNECT_TIMEOUT: Time = 120_000_000_000;
/// OpenVPN's `--connect-retry` default: the wait after a failed attempt or a lost connection.
pub const CONNECT_RETRY: Time = 5_000_000_000;
/// OpenVPN's `--connect-retry` maximum default: the longest wait, once doubling has reached it.
pub const CONNECT_RETRY_MAX: Time = 300_000_000_000;
/// Failures in a row after which OpenVPN doubles its wait at each further failure.
const FAILURES_BEFORE_BACKOFF: u32 = 5;
/// The outer connection's buffers, as the lab's hosts' default TCP buffers: a path's
/// bandwidth-delay product up to 1 MiB fills the pipe, and inner packets beyond a full send
/// buffer are dropped.
pub const SEND_BUFFER: usize = 1024 * 1024;
const RECV_BUFFER: usize = 1024 * 1024;
/// Where a client stands in connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// Waiting until this time before the next attempt.
    Waiting(Time),
    /// An attempt started at this time.
    Connecting(Time),
    Connected,
}

/// The wait before the next attempt after `failures` failures in a row (at least one).
fn retry_wait(failures: u32) -> Time {
    let doublings = failures.saturating_sub(FAILURES_BEFORE_BACKOFF).min(16);
    CONNECT_RETRY
        .saturating_mul(1 << doublings)
        .min(CONNECT_RETRY_MAX)
}

/// How a client's connecting went: attempts, connections, and the time spent without one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connectivity {
    pub attempts: u64,
    pub connections: u64,
    /// When the first connection was made.
    pub first_connected: Option<Time>,
    /// Nanoseconds without a connection, up to the last poll.
    pub unconnected: Time,
    /// Since when the client has been without one (none while connected).
    down_since: Option<Time>,
}

impl Connectivity {
    /// The time without a connection up to `end`, counting a wait still going on.
    pub fn unconnected_until(&self, end: Time) -> Time {
        self.unconnected
            .saturating_add(self.down_since.map_or(0, |s| end.saturating_sub(s)))
    }
}

/// One end of a TCP-carried tunnel.
pub struct Stream {
    stack: Stack,
    socket: SocketHandle,
    /// The client end connects; the gateway end listens.
    active: bool,
    local: Ipv4Addr,
    remote: Ipv4Addr,
    framing: Framing,
    /// Bytes read but not yet a whole frame.
    rx: Vec<u8>,
    frame: Vec<u8>,
    attempt: u16,
    /// The client end's progress in connecting (unused at the gateway end).
    client: Client,
    /// Failed attempts or lost connections in a row.
    failures: u32,
    connectivity: Connectivity,
    packet_id: u32,
}

impl Stream {
    pub fn new(
        local: Ipv4Addr,
        remote: Ipv4Addr,
        active: bool,
        framing: Framing,
        seed: u64,
    ) -> Self {
        let mut stack = Stack::new(
            &[crate::substrate::route::Prefix::new(local, 32)],
            1500,
            seed,
        );
        let _ = stack.iface.routes_mut().add_default_ipv4_route(local);
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; RECV_BUFFER]),
            tcp::SocketBuffer::new(vec![0; SEND_BUFFER]),
        );
        crate::substrate::tcp::TcpBehaviour::linux(tcp::CongestionControl::Cubic).apply(&mut s);
        let socket = stack.sockets.add(s);
        Stream {
            stack,
            socket,
            active,
            local,
            remote,
            framing,
            rx: Vec::new(),
            frame: Vec::new(),
            attempt: 0,
            client: Client::Waiting(0),
            failures: 0,
            connectivity: Connectivity {
                down_since: Some(0),
                ..Connectivity::default()
            },
            packet_id: 0,
        }
    }

    /// Whether `packet`, an IPv4 packet addressed to the router, is this connection's.
    pub fn matches(&self, packet: &[u8]) -> bool {
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            return false;
        };
        if ip.next_header() != IpProtocol::Tcp
            || ip.dst_addr() != self.local
            || ip.src_addr() != self.remote
        {
            return false;
        }
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            return false;
        };
        if self.active {
            tcp.src_port() == PORT
        } else {
            tcp.dst_port() == PORT
        }
    }

    /// Hands the connection's stack a packet of it. At the gateway, a client's SYN starts a
    /// new connection in place of the one held (a client only tries again once it has given
    /// the old one up, and a server accepts every new connection).
    pub fn deliver(&mut self, packet: Vec<u8>) {
        if !self.active && is_syn(&packet) {
            let s = self.stack.sockets.get_mut::<tcp::Socket>(self.socket);
            if s.state() != tcp::State::Listen {
                s.abort();
                let _ = s.listen(IpListenEndpoint {
                    addr: Some(IpAddress::Ipv4(self.local)),
                    port: PORT,
                });
            }
        }
        self.stack.deliver(packet);
    }

    /// How the client end's connecting went; none at the gateway end.
    pub fn client_connectivity(&self) -> Option<Connectivity> {
        self.active.then_some(self.connectivity)
    }

    /// Whether the connection carries traffic.
    pub fn up(&self) -> bool {
        self.stack.sockets.get::<tcp::Socket>(self.socket).state() == tcp::State::Established
    }

    /// The connection's ports now, (local, remote), while it is established.
    pub fn ports(&self) -> Option<(u16, u16)> {
        let s = self.stack.sockets.get::<tcp::Socket>(self.socket);
        match (s.state(), s.local_endpoint(), s.remote_endpoint()) {
            (tcp::State::Established, Some(l), Some(r)) => Some((l.port, r.port)),
            _ => None,
        }
    }

    /// How the connection frames inner packets.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Frames `inner` into the connection; false when it cannot take it (not connected, or
    /// the send buffer has no room for the whole frame).
    pub fn send(&mut self, inner: &[u8]) -> bool {
        let s = self.stack.sockets.get_mut::<tcp::Socket>(self.socket);
        let len = inner.len() + self.framing.overhead();
        if s.state() != tcp::State::Established || s.send_capacity() - s.send_queue() < len {
            return false;
        }
        self.frame.clear();
        self.packet_id = self.packet_id.wrapping_add(1);
        self.framing.emit(&mut self.frame, inner, self.packet_id);
        s.send_slice(&self.frame).is_ok_and(|n| n == len)
    }

    /// Runs the connection at `now`: what arrived, (re)connecting, reading whole frames into
    /// `inner`, sending. Returns when it next needs a poll.
    pub fn poll(
        &mut self,
        now: Time,
        free: &mut Vec<Vec<u8>>,
        inner: &mut Vec<Vec<u8>>,
    ) -> Option<Time> {
        self.stack.ingest(now, free);
        if self.active {
            self.connect(now);
        } else {
            let s = self.stack.sockets.get_mut::<tcp::Socket>(self.socket);
            if !s.is_open() || s.state() == tcp::State::CloseWait {
                s.abort();
                let _ = s.listen(IpListenEndpoint {
                    addr: Some(IpAddress::Ipv4(self.local)),
                    port: PORT,
                });
            }
        }
        let s = self.stack.sockets.get_mut::<tcp::Socket>(self.socket);
        while s.can_recv() {
            let n = s
                .recv(|b| {
                    self.rx.extend_from_slice(b);
                    (b.len(), b.len())
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
        }
        let mut at = 0;
        while let Some(len) = self.framing.frame_len(&self.rx[at..]) {
            if self.rx.len() - at < len {
                break;
            }
            // A frame that is not one of ours is skipped whole, as its length says.
            if let Ok((_, packet)) = self.framing.parse(&self.rx[at..at + len]) {
                let mut p = free.pop().unwrap_or_default();
                p.clear();
                p.extend_from_slice(packet);
                inner.push(p);
            }
            at += len.max(1);
        }
        self.rx.drain(..at);
        let wake = self.stack.egress(now, free);
        let own = match self.client {
            _ if !self.active => None,
            Client::Waiting(until) => Some(until),
            Client::Connecting(since) => Some(since.saturating_add(CONNECT_TIMEOUT)),
            Client::Connected => None,
        };
        match (wake, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The client's connecting at `now`: notes a connection made or lost, gives up an attempt
    /// past its timeout, and starts the next attempt once its wait is over.
    fn connect(&mut self, now: Time) {
        let s = self.stack.sockets.get_mut::<tcp::Socket>(self.socket);
        let state = s.state();
        let c = &mut self.connectivity;
        let failed = match self.client {
            Client::Connecting(since) => {
                if state == tcp::State::Established {
                    self.client = Client::Connected;
                    self.failures = 0;
                    c.connections += 1;
                    c.first_connected.get_or_insert(now);
                    if let Some(from) = c.down_since.take() {
                        c.unconnected = c.unconnected.saturating_add(now.saturating_sub(from));
                    }
                    false
                } else {
                    !s.is_open()
                        || state == tcp::State::CloseWait
                        || now >= since.saturating_add(CONNECT_TIMEOUT)
                }
            }
            Client::Connected => state != tcp::State::Established,
            Client::Waiting(_) => false,
        };
        if failed {
            s.abort();
            self.failures = self.failures.saturating_add(1);
            self.client = Client::Waiting(now.saturating_add(retry_wait(self.failures)));
            c.down_since.get_or_insert(now);
        }
        if let Client::Waiting(until) = self.client {
            if now >= until {
                self.attempt = self.attempt.wrapping_add(1);
                c.attempts += 1;
                let local = IpListenEndpoint {
                    addr: Some(IpAddress::Ipv4(self.local)),
                    port: CLIENT_PORT + self.attempt % 1000,
                };
                let remote = IpEndpoint::new(IpAddress::Ipv4(self.remote), PORT);
                let _ = s.connect(self.stack.iface.context(), remote, local);
                self.client = Client::Connecting(now);
            }
        }
    }

    /// Packets the connection sent during the last poll.
    pub fn outbox(&mut self) -> &mut Vec<Vec<u8>> {
        self.stack.outbox()
    }
}

/// Whether `packet` (IPv4) opens a TCP connection: SYN without ACK.
fn is_syn(packet: &[u8]) -> bool {
    Ipv4Packet::new_checked(packet)
        .ok()
        .and_then(|ip| {
            let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
            Some(tcp.syn() && !tcp.ack())
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_add_their_overhead_and_give_the_packet_back() {
        for framing in [Framing::OpenVpn, Framing::Sstp] {
            let inner: Vec<u8> = (0..100).collect();
            let mut out = Vec::new();
            framing.emit(&mut out, &inner, 7);
            assert_eq!(out.len(), inner.len() + framing.overhead());
            assert_eq!(framing.frame_len(&out), Some(out.len()), "{framing:?}");
            assert_eq!(framing.parse(&out), Ok((7, &inner[..])));
        }
        assert_eq!(Framing::OpenVpn.overhead(), 26);
        assert_eq!(Framing::Sstp.overhead(), 35);
    }
}
