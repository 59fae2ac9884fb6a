//! A tunnel carried by one TCP connection (OpenVPN in TCP mode, SSTP): inner IPv4 packets are
//! framed into the connection's byte stream, so they ride its retransmissions and congestion
//! control — TCP inside TCP. Under loss the outer connection holds back every inner packet
//! behind a lost segment while the inner TCP's own timers run: the meltdown a lab can show.
//!
//! Each end is its own small smoltcp stack holding the tunnel's address: the client (end `a`)
//! connects to the gateway's port 443 and reconnects after [`RETRY`] when the connection
//! fails; the gateway listens. The outer TCP behaves as Linux does ([`crate::tcp`]); its send
//! buffer is [`SEND_BUFFER`]: an inner packet that does not fit is dropped, as OpenVPN drops
//! past its TCP queue limit, and what waits in it delays every inner packet behind it.
//!
//! Framing, so that a capture decodes (Wireshark: "Decode As" OpenVPN for port 443):
//! - OpenVPN: a 2-byte length, then a data packet P_DATA_V2 (opcode 9, key id 0), a 3-byte
//!   peer id, a 4-byte packet id, the inner packet, a 16-byte AES-GCM tag: 26 bytes per packet.
//! - SSTP (MS-SSTP 2.2) inside TLS 1.2: a 5-byte application-data record header, an 8-byte
//!   explicit nonce, the 4-byte SSTP data header (version 1.0, length), the PPP protocol
//!   0x0021 (IPv4), the inner packet, a 16-byte tag: 35 bytes per packet.
//!
//! The payload is not encrypted (nothing here reads it); sizes are a real tunnel's.

use crate::device::Stack;
use crate::engine::Time;
use crate::vpn::Framing;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, IpProtocol, Ipv4Packet, TcpPacket};
use std::net::Ipv4Addr;

/// The server port of OpenVPN and SSTP on Azure VPN gateways.
pub const PORT: u16 = 443;
/// The client's first local port; each attempt takes the next.
const CLIENT_PORT: u16 = 50000;
/// A client retries a failed connection after this long.
pub const RETRY: Time = 5_000_000_000;
/// The outer connection's buffers, as the lab's hosts' default TCP buffers: a path's
/// bandwidth-delay product up to 1 MiB fills the pipe, and inner packets beyond a full send
/// buffer are dropped.
pub const SEND_BUFFER: usize = 1024 * 1024;
const RECV_BUFFER: usize = 1024 * 1024;
/// The AES-GCM tag both framings end with.
const TAG: usize = 16;

impl Framing {
    /// Bytes a frame adds to each inner packet.
    pub fn overhead(self) -> usize {
        match self {
            Framing::OpenVpn => 2 + 1 + 3 + 4 + TAG,
            Framing::Sstp => 5 + 8 + 4 + 2 + TAG,
        }
    }

    /// The inner packet's offset in a frame.
    fn header(self) -> usize {
        self.overhead() - TAG
    }

    /// The length of the frame starting `buf`, once its length field has arrived.
    fn frame_len(self, buf: &[u8]) -> Option<usize> {
        match self {
            Framing::OpenVpn => {
                Some(2 + usize::from(u16::from_be_bytes([*buf.first()?, *buf.get(1)?])))
            }
            Framing::Sstp => {
                Some(5 + usize::from(u16::from_be_bytes([*buf.get(3)?, *buf.get(4)?])))
            }
        }
    }

    /// Appends the frame of `inner`, numbered `id`, to `out`.
    fn write(self, out: &mut Vec<u8>, inner: &[u8], id: u32) {
        let body = inner.len() + self.overhead();
        match self {
            Framing::OpenVpn => {
                out.extend_from_slice(&((body - 2) as u16).to_be_bytes());
                out.push(9 << 3); // P_DATA_V2, key id 0
                out.extend_from_slice(&[0, 0, 1]); // peer id
                out.extend_from_slice(&id.to_be_bytes());
            }
            Framing::Sstp => {
                out.extend_from_slice(&[23, 3, 3]); // TLS 1.2 application data
                out.extend_from_slice(&((body - 5) as u16).to_be_bytes());
                out.extend_from_slice(&u64::from(id).to_be_bytes()); // explicit nonce
                let sstp = (inner.len() + 4 + 2) as u16;
                out.extend_from_slice(&[0x10, 0]); // version 1.0, data packet
                out.extend_from_slice(&sstp.to_be_bytes());
                out.extend_from_slice(&[0x00, 0x21]); // PPP: IPv4
            }
        }
        out.extend_from_slice(inner);
        out.extend_from_slice(&[0; TAG]);
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
    retry_at: Time,
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
        let mut stack = Stack::new(&[crate::route::Prefix::new(local, 32)], 1500, seed);
        let _ = stack.iface.routes_mut().add_default_ipv4_route(local);
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; RECV_BUFFER]),
            tcp::SocketBuffer::new(vec![0; SEND_BUFFER]),
        );
        crate::tcp::TcpBehaviour::linux(tcp::CongestionControl::Cubic).apply(&mut s);
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
            retry_at: 0,
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

    /// Hands the connection's stack a packet of it.
    pub fn deliver(&mut self, packet: Vec<u8>) {
        self.stack.deliver(packet);
    }

    /// Whether the connection carries traffic.
    pub fn up(&self) -> bool {
        self.stack.sockets.get::<tcp::Socket>(self.socket).state() == tcp::State::Established
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
        self.framing.write(&mut self.frame, inner, self.packet_id);
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
        let s = self.stack.sockets.get_mut::<tcp::Socket>(self.socket);
        if !s.is_open() || s.state() == tcp::State::CloseWait {
            if self.active && now >= self.retry_at {
                s.abort();
                self.attempt = self.attempt.wrapping_add(1);
                let local = IpListenEndpoint {
                    addr: Some(IpAddress::Ipv4(self.local)),
                    port: CLIENT_PORT + self.attempt % 1000,
                };
                let remote = IpEndpoint::new(IpAddress::Ipv4(self.remote), PORT);
                let _ = s.connect(self.stack.iface.context(), remote, local);
                self.retry_at = now.saturating_add(RETRY);
            } else if !self.active {
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
        let header = self.framing.header();
        let mut at = 0;
        while let Some(len) = self.framing.frame_len(&self.rx[at..]) {
            if self.rx.len() - at < len {
                break;
            }
            if len >= header + TAG {
                let mut p = free.pop().unwrap_or_default();
                p.clear();
                p.extend_from_slice(&self.rx[at + header..at + len - TAG]);
                inner.push(p);
            }
            at += len.max(1);
        }
        self.rx.drain(..at);
        let wake = self.stack.egress(now, free);
        let retry = (self.active && !self.up()).then_some(self.retry_at);
        match (wake, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(|w| w.max(now.saturating_add(1)))
    }

    /// Packets the connection sent during the last poll.
    pub fn outbox(&mut self) -> &mut Vec<Vec<u8>> {
        self.stack.outbox()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_add_their_overhead_and_give_the_packet_back() {
        for framing in [Framing::OpenVpn, Framing::Sstp] {
            let inner: Vec<u8> = (0..100).collect();
            let mut out = Vec::new();
            framing.write(&mut out, &inner, 7);
            assert_eq!(out.len(), inner.len() + framing.overhead());
            assert_eq!(framing.frame_len(&out), Some(out.len()), "{framing:?}");
            let h = framing.header();
            assert_eq!(&out[h..out.len() - TAG], &inner[..]);
        }
        assert_eq!(Framing::OpenVpn.overhead(), 26);
        assert_eq!(Framing::Sstp.overhead(), 35);
    }
}
