//! A router's ends of IPsec tunnels: their security associations, per-tunnel limits and
//! counters, and IKE dead-peer detection (liveness messages on UDP 500 or 4500).

use super::*;
use crate::wire::esp::NON_ESP_MARKER;

/// This router's end of an IPsec tunnel.
pub struct TunnelEnd {
    /// How this end wraps what it sends.
    pub sa: esp::Sa,
    /// The SPI the far end puts on what it sends here.
    pub peer_spi: u32,
    pub mss_clamp: Option<u16>,
    /// Whether the tunnel carries traffic (dead-peer detection may take it down).
    pub up: bool,
    pub dpd: Option<dpd::Dpd>,
    pub(super) seq: u32,
    /// The SKU's per-tunnel limit: [wrapping, unwrapping]; empty without one.
    pub limiters: Vec<Limiter>,
    pub stats: TunnelStats,
    /// A tunnel carried in one TCP connection instead of ESP (OpenVPN, SSTP).
    pub stream: Option<Box<super::stream::Stream>>,
}

impl Router {
    /// Handles an IKE liveness message addressed to us: `None` when the packet is not one. A
    /// request is turned into the answer, in place (`Some(true)`: send it); an answer marks the
    /// peer alive and is consumed (`Some(false)`).
    pub(super) fn ike_liveness(&mut self, now: Time, packet: &mut Vec<u8>) -> Option<bool> {
        let (src, dst, msg) = parse_ike(packet)?;
        let k = self
            .tunnels
            .iter()
            .position(|t| t.sa.local == dst && t.sa.remote == src)?;
        let change = self.tunnels[k].dpd.as_mut().and_then(|d| d.heard(now));
        if let Some(change) = change {
            self.dpd_change(now, k, change);
        }
        if msg.response {
            return Some(false);
        }
        let t = &self.tunnels[k];
        let answer = dpd::Liveness {
            response: true,
            ..msg
        };
        ike_packet(packet, t.sa.local, t.sa.remote, t.sa.nat_t, &answer);
        Some(true)
    }

    /// A tunnel died or came back: it stops (or resumes) carrying traffic, and BGP sessions that
    /// reach their peer through it are reset.
    pub(super) fn dpd_change(&mut self, now: Time, k: usize, change: dpd::Change) {
        let t = &mut self.tunnels[k];
        t.up = change == dpd::Change::Alive;
        let what = if t.up { What::DpdAlive } else { What::DpdDead };
        let peer = t.sa.remote;
        self.log.push(ControlEvent {
            time: now,
            router: self.stats.name.clone(),
            peer,
            what,
        });
        if change == dpd::Change::Dead {
            if let Some(c) = &mut self.control {
                let over: Vec<Ipv4Addr> = c
                    .sessions
                    .iter()
                    .map(|s| s.cfg.peer)
                    .filter(|&p| {
                        self.static_fib
                            .lookup(p)
                            .is_some_and(|r| r.next_hops.iter().any(|h| h.port == Port::Tunnel(k)))
                    })
                    .collect();
                for p in over {
                    c.reset(now, Some(p));
                }
            }
        }
    }
}

/// Writes an IPv4/UDP packet carrying an IKE liveness message into `buf`: port 500, or 4500
/// with the four-byte non-ESP marker under NAT traversal.
pub(super) fn ike_packet(
    buf: &mut Vec<u8>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    nat_t: bool,
    msg: &dpd::Liveness,
) {
    let mut payload = Vec::with_capacity(32);
    if nat_t {
        payload.extend_from_slice(&NON_ESP_MARKER);
    }
    payload.extend_from_slice(&msg.to_bytes());
    let port = if nat_t {
        esp::NAT_T_PORT
    } else {
        dpd::IKE_PORT
    };
    let udp = UdpRepr {
        src_port: port,
        dst_port: port,
    };
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: 8 + payload.len(),
        hop_limit: ORIGIN_TTL,
    };
    buf.clear();
    buf.resize(ip.buffer_len() + 8 + payload.len(), 0);
    let caps = smoltcp::phy::ChecksumCapabilities::default();
    let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
    ip.emit(&mut p, &caps);
    let (s, d) = (IpAddress::Ipv4(src), IpAddress::Ipv4(dst));
    udp.emit(
        &mut UdpPacket::new_unchecked(p.payload_mut()),
        &s,
        &d,
        payload.len(),
        |b| b.copy_from_slice(&payload),
        &caps,
    );
}

/// The source, destination and IKE liveness message of a packet, if it is one.
fn parse_ike(packet: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, dpd::Liveness)> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    if ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    let body = match udp.dst_port() {
        dpd::IKE_PORT => udp.payload(),
        esp::NAT_T_PORT => udp.payload().strip_prefix(&NON_ESP_MARKER)?,
        _ => return None,
    };
    Some((
        ip.src_addr(),
        ip.dst_addr(),
        dpd::Liveness::parse(body).ok()?,
    ))
}
