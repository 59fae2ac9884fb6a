//! ESP (RFC 4303): the header in front of the protected data and the trailer at its end, and
//! how an IPv4 packet carries it, directly (protocol 50) or in UDP 4500 for NAT traversal
//! (RFC 3948), where IKE shares the port behind a four-byte non-ESP marker of zeros.

use super::Error;
use pnet_macros::packet;
use pnet_macros_support::types::*;
use smoltcp::wire::{IpProtocol, Ipv4Packet, UdpPacket};

/// IPsec NAT traversal port (RFC 3948).
pub const NAT_T_PORT: u16 = 4500;
/// The header: SPI and sequence number.
pub const HEADER_LEN: usize = 8;
/// The trailer's fixed part: pad length and next header.
pub const TRAILER_LEN: usize = 2;
/// What UDP 4500 carries in front of IKE, and never in front of ESP (an SPI is never 0).
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];

#[packet]
pub struct Esp {
    pub spi: u32be,
    pub sequence: u32be,
    // IV, payload, padding, trailer and ICV: which part is which depends on the transform.
    #[payload]
    pub protected: Vec<u8>,
}

/// Where the ESP header starts in the IPv4 packet `packet`, if the packet carries ESP:
/// directly, or in UDP to port 4500 without the non-ESP marker.
pub fn esp_offset(packet: &[u8]) -> Option<usize> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let ihl = usize::from(ip.header_len());
    match ip.next_header() {
        IpProtocol::IpSecEsp => Some(ihl),
        IpProtocol::Udp => {
            let udp = UdpPacket::new_checked(ip.payload()).ok()?;
            let marker = udp.payload().get(..NON_ESP_MARKER.len())?;
            (udp.dst_port() == NAT_T_PORT && marker != NON_ESP_MARKER).then_some(ihl + 8)
        }
        _ => None,
    }
}

/// The ESP header of an IPv4 packet that carries ESP.
pub fn header(packet: &[u8]) -> Option<EspPacket<'_>> {
    EspPacket::new(packet.get(esp_offset(packet)?..)?)
}

/// What an ESP packet's trailer says: the padding before it and the next header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub pad_len: usize,
    pub next_header: u8,
}

impl Trailer {
    /// Reads the trailer that ends `protected` (the bytes between the IV and the ICV).
    pub fn parse(protected: &[u8]) -> Result<Trailer, Error> {
        let at = protected
            .len()
            .checked_sub(TRAILER_LEN)
            .ok_or(Error::Truncated)?;
        let t = Trailer {
            pad_len: usize::from(protected[at]),
            next_header: protected[at + 1],
        };
        if t.pad_len > at {
            return Err(Error::Malformed("ESP padding longer than the payload"));
        }
        Ok(t)
    }
}
