//! What a router would do with one packet now, without doing it: the route that matches, the
//! interface it leaves by, the tunnel it enters or comes out of. The answer comes from the
//! lookup forwarding itself uses ([`Router::select`]) on the router's state of the moment, so
//! a path shown is the path a packet takes; nothing here changes the router.

use super::{Hit, Miss, Router};
use crate::lab::model::Iface;
use crate::substrate::engine::Time;
use crate::substrate::route::{Port, Prefix};
use crate::vpn::esp;
use serde::Serialize;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv4Packet, Icmpv4Repr, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket,
    TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};
use std::net::Ipv4Addr;

/// The TTL a traced packet starts with (smoltcp's default hop limit, the hosts').
const HOST_TTL: u8 = 64;

/// The transport of a traced packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Udp,
    Tcp,
    Icmp,
}

/// A packet's 5-tuple and payload size: what a trace sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: Proto,
    /// Source and destination ports (TCP, UDP), or the echo identifier and 0 (ICMP).
    pub ports: (u16, u16),
    /// Bytes of payload after the transport header.
    pub payload: usize,
}

impl Flow {
    /// The same flow the other way: addresses and ports swapped.
    pub fn reverse(self) -> Flow {
        Flow {
            src: self.dst,
            dst: self.src,
            ports: (self.ports.1, self.ports.0),
            ..self
        }
    }

    /// The packet, as real bytes (a TCP segment carries ACK and PSH), its payload zeros.
    pub fn packet(&self) -> Vec<u8> {
        self.packet_with(&vec![0u8; self.payload])
    }

    /// The packet carrying `data` (`payload` is taken as its length).
    pub fn packet_with(&self, data: &[u8]) -> Vec<u8> {
        let flow = Flow {
            payload: data.len(),
            ..*self
        };
        flow.emit(data)
    }

    fn emit(&self, data: &[u8]) -> Vec<u8> {
        let caps = ChecksumCapabilities::default();
        let (src, dst) = (IpAddress::Ipv4(self.src), IpAddress::Ipv4(self.dst));
        let (next_header, transport_len) = match self.proto {
            Proto::Udp => (IpProtocol::Udp, 8 + self.payload),
            Proto::Tcp => (IpProtocol::Tcp, 20 + self.payload),
            Proto::Icmp => (IpProtocol::Icmp, 8 + self.payload),
        };
        let ip = Ipv4Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            next_header,
            payload_len: transport_len,
            hop_limit: HOST_TTL,
        };
        let mut buf = vec![0u8; ip.buffer_len() + transport_len];
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut packet, &caps);
        let payload = packet.payload_mut();
        match self.proto {
            Proto::Udp => UdpRepr {
                src_port: self.ports.0,
                dst_port: self.ports.1,
            }
            .emit(
                &mut UdpPacket::new_unchecked(payload),
                &src,
                &dst,
                self.payload,
                |b| b.copy_from_slice(data),
                &caps,
            ),
            Proto::Tcp => TcpRepr {
                src_port: self.ports.0,
                dst_port: self.ports.1,
                control: TcpControl::Psh,
                seq_number: TcpSeqNumber(1),
                ack_number: Some(TcpSeqNumber(1)),
                window_len: 65535,
                window_scale: None,
                max_seg_size: None,
                sack_permitted: false,
                sack_ranges: [None; 3],
                timestamp: None,
                payload: data,
            }
            .emit(&mut TcpPacket::new_unchecked(payload), &src, &dst, &caps),
            Proto::Icmp => Icmpv4Repr::EchoRequest {
                ident: self.ports.0,
                seq_no: 1,
                data,
            }
            .emit(&mut Icmpv4Packet::new_unchecked(payload), &caps),
        }
        buf
    }
}

/// Where a forwarding entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The subnet of one of the router's interfaces.
    Connected,
    /// A VNet system route: its own address space, a peered VNet's.
    System,
    /// A static route of the lab's (a VPN connection's address prefixes, a network's route).
    Static,
    /// A route of the table of the interface the packet came in on (a subnet's user-defined
    /// route table).
    User,
    /// Chosen by BGP and programmed.
    Bgp,
}

/// The forwarding entry a lookup used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matched {
    pub prefix: Prefix,
    pub source: Source,
    /// The next-hop address of the next hop picked, if the route has one.
    pub via: Option<Ipv4Addr>,
    /// Which of the route's live equal-cost next hops the flow hash picked, of how many.
    pub pick: (usize, usize),
}

/// What the router does with the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Addressed to the router itself.
    Local,
    /// Sent out of interface `iface`.
    Forward(Forwarded),
    /// Dropped, and why.
    Stop(Stop),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub iface: usize,
    /// The route the packet matched (into the tunnel, when it entered one).
    pub route: Matched,
    /// The tunnel it came out of here (the router's index of it), if any.
    pub unwrapped: Option<usize>,
    /// The tunnel it entered here, and the route its outer packet then matched.
    pub entered: Option<(usize, Matched)>,
    /// Time the router's capacity limits take to process it, when idle (a gateway's SKU).
    pub service: Time,
}

/// Why a packet goes no further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    NoRoute,
    /// A route whose next hop is None matched.
    RouteToNone,
    /// Every next hop of every matching route is down.
    LinkDown,
    /// In over one VNet peering and out over another, or to a VNet only a second peering
    /// reaches: peering is not transitive.
    NotTransitive,
    TtlExpired,
    Malformed,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::NoRoute => "no route",
            Stop::RouteToNone => "a route with next hop None drops it",
            Stop::LinkDown => "every next hop's link is down",
            Stop::NotTransitive => "VNet peering is not transitive",
            Stop::TtlExpired => "TTL expired",
            Stop::Malformed => "malformed packet",
        })
    }
}

impl From<Miss> for Stop {
    fn from(m: Miss) -> Stop {
        match m {
            Miss::NoRoute => Stop::NoRoute,
            Miss::Discard => Stop::RouteToNone,
            Miss::LinkDown => Stop::LinkDown,
            Miss::NotTransitive => Stop::NotTransitive,
        }
    }
}

impl Router {
    /// Where forwarding entry `prefix` of this router comes from (`ingress`: a route of an
    /// interface's own table).
    pub fn source(&self, prefix: Prefix, ingress: bool) -> Source {
        if ingress {
            Source::User
        } else if !self.static_fib.has(prefix) && self.bgp_routes.contains_key(&prefix) {
            Source::Bgp
        } else if self.ifaces.iter().any(|f| f.connected.network() == prefix) {
            Source::Connected
        } else if self.system_routes.contains(&prefix) {
            Source::System
        } else {
            Source::Static
        }
    }

    fn matched(&self, hit: &Hit<'_>) -> Matched {
        Matched {
            prefix: hit.route.prefix,
            source: self.source(hit.route.prefix, hit.ingress),
            via: hit.via,
            pick: hit.pick,
        }
    }

    /// What the router would do now with `packet`, arriving over interface `in_iface` (`None`:
    /// originated here), rewriting it as forwarding would (TTL, ESP wrapping and unwrapping,
    /// framing into and out of a TCP-carried tunnel) so the caller can follow it to the next
    /// hop. `up(iface)` tells whether an interface's outgoing link is up.
    pub fn trace(
        &self,
        packet: &mut Vec<u8>,
        in_iface: Option<usize>,
        up: impl Fn(Iface) -> bool,
    ) -> Verdict {
        let mut unwrapped = None;
        // As in forwarding: the interface whose table joins the lookup, and whether the packet
        // is forwarded (its TTL checked and decremented) rather than originated here. An inner
        // packet out of a TCP-carried tunnel is forwarded with no ingress interface.
        let (mut ingress, mut forwarding) = (in_iface, in_iface.is_some());
        loop {
            let (dst, ttl) = match Ipv4Packet::new_checked(&packet[..]) {
                Ok(ip) if ip.version() == 4 && ip.verify_checksum() => {
                    (ip.dst_addr(), ip.hop_limit())
                }
                _ => return Verdict::Stop(Stop::Malformed),
            };
            if self.owns(dst) {
                let ours =
                    |t: &super::TunnelEnd| t.stream.as_ref().is_some_and(|s| s.matches(packet));
                if let Some(k) = self.tunnels.iter().position(ours) {
                    // The segment carries one whole frame (a traced packet is sent alone).
                    let Some(framing) = self.tunnels[k].stream.as_ref().map(|s| s.framing()) else {
                        return Verdict::Stop(Stop::Malformed);
                    };
                    let inner = Ipv4Packet::new_checked(&packet[..]).ok().and_then(|ip| {
                        let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
                        let (_, inner) = framing.parse(tcp.payload()).ok()?;
                        Some(inner.to_vec())
                    });
                    let Some(inner) = inner else {
                        return Verdict::Stop(Stop::Malformed);
                    };
                    *packet = inner;
                    unwrapped = Some(k);
                    (ingress, forwarding) = (None, true);
                    continue;
                }
                let spi = esp::spi(packet);
                let tunnel = self
                    .tunnels
                    .iter()
                    .position(|t| Some(t.peer_spi) == spi && t.sa.local == dst);
                if let Some(k) = tunnel {
                    if esp::decapsulate(packet, self.tunnels[k].sa.suite).is_err() {
                        return Verdict::Stop(Stop::Malformed);
                    }
                    unwrapped = Some(k);
                    continue;
                }
                return Verdict::Local;
            }
            if forwarding && ttl <= 1 {
                return Verdict::Stop(Stop::TtlExpired);
            }
            let hit = match self.select(packet, dst, ingress, true, &up) {
                Ok(hit) => hit,
                Err(miss) => return Verdict::Stop(miss.into()),
            };
            let route = self.matched(&hit);
            if forwarding {
                let mut ip = Ipv4Packet::new_unchecked(&mut packet[..]);
                ip.set_hop_limit(ttl - 1);
                ip.fill_checksum();
            }
            let (iface, entered) = match hit.port {
                Port::Iface(iface) => (iface, None),
                Port::Tunnel(k) => {
                    let t = &self.tunnels[k];
                    match &t.stream {
                        Some(s) => {
                            // One segment of the connection carrying the framed packet.
                            let Some(ports) = s.ports() else {
                                return Verdict::Stop(Stop::LinkDown);
                            };
                            let mut frame = Vec::new();
                            s.framing().emit(&mut frame, packet, 1);
                            let outer = Flow {
                                src: t.sa.local,
                                dst: t.sa.remote,
                                proto: Proto::Tcp,
                                ports,
                                payload: frame.len(),
                            };
                            *packet = outer.packet_with(&frame);
                        }
                        None => t.sa.encapsulate(packet, t.seq.wrapping_add(1)),
                    }
                    let outer = match self.select(packet, t.sa.remote, None, false, &up) {
                        Ok(hit) => hit,
                        Err(miss) => return Verdict::Stop(miss.into()),
                    };
                    let Port::Iface(iface) = outer.port else {
                        return Verdict::Stop(Stop::NoRoute);
                    };
                    (iface, Some((k, self.matched(&outer))))
                }
                Port::Discard => return Verdict::Stop(Stop::RouteToNone),
            };
            let tunnel = entered.as_ref().map(|e| e.0);
            let service = self.service_time(iface, tunnel, unwrapped, packet.len());
            return Verdict::Forward(Forwarded {
                iface,
                route,
                unwrapped,
                entered,
                service,
            });
        }
    }

    /// Whether tunnel `k` of this router is carried in a TCP connection.
    pub fn tcp_carried(&self, k: usize) -> bool {
        self.tunnels.get(k).is_some_and(|t| t.stream.is_some())
    }

    /// The time the router's capacity limits take to pass a packet of `len` bytes out of
    /// interface `out` when they are idle: what [`Router::egress`] adds before the link, the
    /// tunnel's own limit then the direction's aggregate.
    pub fn service_time(
        &self,
        out: usize,
        tunnel: Option<usize>,
        unwrapped: Option<usize>,
        len: usize,
    ) -> Time {
        let per_tunnel = match (tunnel, unwrapped) {
            (Some(k), _) => self.tunnels[k].limiters.first(),
            (None, Some(k)) => self.tunnels[k].limiters.get(1),
            (None, None) => None,
        };
        let aggregate = self
            .limiters
            .get(out)
            .filter(|l| l.applies(tunnel.is_some() || unwrapped.is_some()));
        per_tunnel
            .into_iter()
            .chain(aggregate)
            .map(|l| l.capacity.service_time(len))
            .fold(0, Time::saturating_add)
    }
}
