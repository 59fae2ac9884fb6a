//! IPsec ESP in tunnel mode (RFC 4303), with optional UDP encapsulation for NAT traversal
//! (RFC 3948). The payload is not encrypted, but every header and trailer is present and sized
//! exactly as on the wire, so a capture decodes as ESP and every size includes the overhead.
//!
//! Layout: outer IPv4 (20) [+ UDP 4500 (8)] + SPI (4) + sequence (4) + IV + inner packet +
//! padding + pad length (1) + next header (1) + ICV. Overheads (domain.md, "IPsec ESP tunnel
//! overhead"): AES-GCM 54 bytes plus 0–3 padding to a multiple of 4; AES-CBC with
//! HMAC-SHA256-128 62 bytes plus 0–15 padding to 16; AES-CBC with HMAC-SHA1-96 58 bytes plus
//! 0–15 padding to 16.

pub use crate::wire::esp::{esp_offset, NAT_T_PORT};
use crate::wire::esp::{MutableEspPacket, Trailer, HEADER_LEN as ESP_HEADER};
use serde::{Deserialize, Serialize};
use smoltcp::wire::{IpProtocol, Ipv4Packet, UdpPacket};
use std::net::Ipv4Addr;

/// IP protocol number of ESP.
pub const PROTO_ESP: u8 = 50;
/// ESP "next header" for an IPv4 inner packet.
const NEXT_IPV4: u8 = 4;
const IPV4_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
const TRAILER: usize = crate::wire::esp::TRAILER_LEN;
/// The outer header's time to live.
const OUTER_TTL: u8 = 64;

/// The ESP transform of a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum CipherSuite {
    /// AES-GCM (GCMAES128/256): 8-byte IV, 16-byte ICV, 4-byte alignment.
    #[default]
    AesGcm,
    /// AES-CBC with HMAC-SHA256-128: 16-byte IV, 16-byte ICV, 16-byte blocks.
    AesCbcSha256,
    /// AES-CBC with HMAC-SHA1-96: 16-byte IV, 12-byte ICV, 16-byte blocks.
    AesCbcSha1,
}

impl CipherSuite {
    pub fn iv_len(self) -> usize {
        match self {
            CipherSuite::AesGcm => 8,
            CipherSuite::AesCbcSha256 | CipherSuite::AesCbcSha1 => 16,
        }
    }

    pub fn icv_len(self) -> usize {
        match self {
            CipherSuite::AesGcm | CipherSuite::AesCbcSha256 => 16,
            CipherSuite::AesCbcSha1 => 12,
        }
    }

    /// Payload, padding and the 2-byte trailer together fill a multiple of this.
    pub fn block(self) -> usize {
        match self {
            CipherSuite::AesGcm => 4,
            CipherSuite::AesCbcSha256 | CipherSuite::AesCbcSha1 => 16,
        }
    }

    /// Padding bytes for an inner packet of `len` bytes.
    pub fn padding(self, len: usize) -> usize {
        (self.block() - (len + TRAILER) % self.block()) % self.block()
    }
}

/// One direction of a tunnel's security association, as the sender sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sa {
    pub spi: u32,
    pub local: Ipv4Addr,
    pub remote: Ipv4Addr,
    pub suite: CipherSuite,
    pub nat_t: bool,
}

impl Sa {
    /// Bytes added to an inner packet of `len` bytes.
    pub fn overhead(&self, len: usize) -> usize {
        IPV4_HEADER
            + if self.nat_t { UDP_HEADER } else { 0 }
            + ESP_HEADER
            + self.suite.iv_len()
            + self.suite.padding(len)
            + TRAILER
            + self.suite.icv_len()
    }

    /// Wraps the inner IPv4 packet in `buf` in ESP, in place, with sequence number `seq`.
    pub fn encapsulate(&self, buf: &mut Vec<u8>, seq: u32) {
        let inner = buf.len();
        // The outer header copies the inner one's DSCP and ECN (RFC 4301 §5.1.2.1).
        let (dscp, ecn) = Ipv4Packet::new_checked(&buf[..]).map_or((0, 0), |p| (p.dscp(), p.ecn()));
        let iv = self.suite.iv_len();
        let pad = self.suite.padding(inner);
        let udp = if self.nat_t { UDP_HEADER } else { 0 };
        let head = IPV4_HEADER + udp + ESP_HEADER + iv;
        let total = inner + self.overhead(inner);
        // Make room for the headers in front, then append the trailer.
        buf.splice(0..0, std::iter::repeat_n(0u8, head));
        buf.extend((1..=pad).map(|i| i as u8)); // RFC 4303: padding bytes are 1, 2, 3, ...
        buf.push(pad as u8);
        buf.push(NEXT_IPV4);
        buf.resize(total, 0); // ICV
        let mut ip = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.set_version(4);
        ip.set_header_len(IPV4_HEADER as u8);
        ip.set_dscp(dscp);
        ip.set_ecn(ecn);
        ip.set_total_len(total as u16);
        ip.set_ident(seq as u16);
        ip.clear_flags();
        ip.set_dont_frag(true); // ESP packets are never fragmented
        ip.set_frag_offset(0);
        ip.set_hop_limit(OUTER_TTL);
        ip.set_next_header(if self.nat_t {
            IpProtocol::Udp
        } else {
            IpProtocol::IpSecEsp
        });
        ip.set_src_addr(self.local);
        ip.set_dst_addr(self.remote);
        ip.fill_checksum();
        if self.nat_t {
            let mut u = UdpPacket::new_unchecked(&mut buf[IPV4_HEADER..]);
            u.set_src_port(NAT_T_PORT);
            u.set_dst_port(NAT_T_PORT);
            u.set_len((total - IPV4_HEADER) as u16);
            // A zero UDP checksum is allowed for UDP-encapsulated ESP (RFC 3948).
            u.set_checksum(0);
        }
        let esp = IPV4_HEADER + udp;
        let mut e = MutableEspPacket::new(&mut buf[esp..]).expect("room for the ESP header");
        e.set_spi(self.spi);
        e.set_sequence(seq);
        // A deterministic IV: a real one is random, but its size is what matters here.
        for (i, b) in buf[esp + ESP_HEADER..head].iter_mut().enumerate() {
            *b = (seq as u8).wrapping_add(i as u8);
        }
    }
}

/// The SPI of an ESP packet.
pub fn spi(packet: &[u8]) -> Option<u32> {
    crate::wire::esp::header(packet).map(|h| h.get_spi())
}

/// Why an ESP packet could not be unwrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecapError {
    NotEsp,
    Truncated,
    BadTrailer,
}

/// Unwraps an ESP packet of `suite` in place, leaving the inner IPv4 packet in `buf`.
pub fn decapsulate(buf: &mut Vec<u8>, suite: CipherSuite) -> Result<(), DecapError> {
    let esp = esp_offset(buf).ok_or(DecapError::NotEsp)?;
    // esp_offset checked the outer header (its view's `check_len`): its total length fits `buf`.
    let total = usize::from(Ipv4Packet::new_unchecked(&buf[..]).total_len());
    let start = esp + ESP_HEADER + suite.iv_len();
    let protected = total
        .checked_sub(suite.icv_len())
        .and_then(|end| buf.get(start..end))
        .filter(|p| p.len() >= TRAILER)
        .ok_or(DecapError::Truncated)?;
    let t = Trailer::parse(protected).map_err(|_| DecapError::BadTrailer)?;
    if t.next_header != NEXT_IPV4 {
        return Err(DecapError::BadTrailer);
    }
    let end = start + protected.len() - TRAILER - t.pad_len;
    buf.truncate(end);
    buf.drain(..start);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::Ipv4Packet;

    fn sa(suite: CipherSuite, nat_t: bool) -> Sa {
        Sa {
            spi: 0x1234_5678,
            local: Ipv4Addr::new(203, 0, 113, 1),
            remote: Ipv4Addr::new(198, 51, 100, 1),
            suite,
            nat_t,
        }
    }

    /// A valid inner IPv4 packet of `len` bytes.
    fn inner(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[8] = 63;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 1, 0, 10]);
        p[16..20].copy_from_slice(&[10, 20, 0, 10]);
        for (i, b) in p[20..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    #[test]
    fn sizes_are_exact_for_every_suite_and_inner_size() {
        for nat_t in [false, true] {
            for len in 20..=1500 {
                for (suite, base, block) in [
                    (CipherSuite::AesGcm, 54, 4),
                    (CipherSuite::AesCbcSha256, 62, 16),
                    (CipherSuite::AesCbcSha1, 58, 16),
                ] {
                    let s = sa(suite, nat_t);
                    let mut buf = inner(len);
                    s.encapsulate(&mut buf, 7);
                    let pad = buf.len() - len - base - if nat_t { 8 } else { 0 };
                    assert!(pad < block, "{suite:?} {len}: padding {pad}");
                    // Payload + padding + trailer fill whole blocks.
                    assert_eq!((len + pad + 2) % block, 0, "{suite:?} {len}");
                    assert_eq!(buf.len(), len + s.overhead(len));
                    let outer = Ipv4Packet::new_checked(&buf[..]).unwrap();
                    assert_eq!(usize::from(outer.total_len()), buf.len());
                    assert!(outer.verify_checksum());
                    assert!(outer.dont_frag());
                    assert_eq!(spi(&buf), Some(0x1234_5678));
                    decapsulate(&mut buf, suite).unwrap();
                    assert_eq!(buf, inner(len), "{suite:?} {len} round trip");
                }
            }
        }
    }

    #[test]
    fn gcm_overhead_is_54_plus_up_to_3_and_nat_t_adds_udp_4500() {
        let mut buf = inner(1400);
        sa(CipherSuite::AesGcm, false).encapsulate(&mut buf, 1);
        assert_eq!(buf.len(), 1400 + 54 + 2); // (1400 + 2 + 2) % 4 == 0
        assert_eq!(buf[9], PROTO_ESP);
        let mut buf = inner(1400);
        sa(CipherSuite::AesGcm, true).encapsulate(&mut buf, 1);
        assert_eq!(buf[9], 17);
        assert_eq!(u16::from_be_bytes([buf[22], buf[23]]), NAT_T_PORT);
        assert_eq!(buf.len(), 1400 + 54 + 8 + 2);
    }

    #[test]
    fn ike_on_port_4500_and_other_traffic_is_not_esp() {
        let mut ike = inner(100);
        ike[20..22].copy_from_slice(&4500u16.to_be_bytes());
        ike[22..24].copy_from_slice(&4500u16.to_be_bytes());
        ike[28..32].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(esp_offset(&ike), None);
        assert_eq!(
            decapsulate(&mut inner(100), CipherSuite::AesGcm),
            Err(DecapError::NotEsp)
        );
    }
}
