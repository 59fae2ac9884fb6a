//! Frames of a tunnel carried by one TCP connection (`router::stream`), each ending in a
//! 16-byte AES-GCM tag, so that a capture decodes (Wireshark: "Decode As" OpenVPN for 443):
//! - OpenVPN: a 2-byte length (TCP mode), then a data packet P_DATA_V2 (opcode 9, key id 0), a
//!   3-byte peer id, a 4-byte packet id, the inner packet: 26 bytes per packet with the tag.
//! - SSTP (MS-SSTP 2.2) inside TLS 1.2: a 5-byte application-data record header, an 8-byte
//!   explicit nonce, the 4-byte SSTP data header (version 1.0, length), the PPP protocol
//!   0x0021 (IPv4), the inner packet: 35 bytes per packet with the tag.

use super::Error;
use pnet_macros::packet;
use pnet_macros_support::types::*;

/// The AES-GCM tag both framings end with.
pub const TAG: usize = 16;
/// P_DATA_V2 (RFC-less: OpenVPN's ssl_pkt.h).
const P_DATA_V2: u8 = 9;
/// TLS content type application data, version 1.2.
const TLS_APPLICATION_DATA: u8 = 23;
const TLS_1_2: u16 = 0x0303;
/// SSTP version 1.0; the data packet has the control bit clear.
const SSTP_VERSION: u8 = 0x10;
/// PPP protocol number of IPv4.
const PPP_IPV4: u16 = 0x0021;

/// How a tunnel carried over one TCP connection frames its inner packets: point-to-site
/// OpenVPN and SSTP run over TCP 443.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum Framing {
    OpenVpn,
    Sstp,
}

/// OpenVPN's TCP length prefix and data packet header.
#[packet]
pub struct OpenVpnData {
    // Bytes that follow this field.
    pub length: u16be,
    pub opcode: u5,
    pub key_id: u3,
    pub peer_id: u24be,
    pub packet_id: u32be,
    #[payload]
    pub payload: Vec<u8>,
}

/// A TLS record header and, inside, the SSTP data packet header with the PPP protocol.
#[packet]
pub struct SstpData {
    pub content_type: u8,
    pub tls_version: u16be,
    // Bytes of the record after this header.
    pub record_length: u16be,
    pub explicit_nonce: u64be,
    pub sstp_version: u8,
    // Reserved bits and the control bit (clear: a data packet).
    pub sstp_flags: u8,
    pub sstp_reserved: u4,
    // The SSTP packet's length, its 4-byte header included.
    pub sstp_length: u12be,
    pub ppp_protocol: u16be,
    #[payload]
    pub payload: Vec<u8>,
}

impl Framing {
    /// Bytes a frame adds to each inner packet.
    pub fn overhead(self) -> usize {
        self.header_len() + TAG
    }

    /// The inner packet's offset in a frame.
    pub fn header_len(self) -> usize {
        match self {
            Framing::OpenVpn => OpenVpnDataPacket::minimum_packet_size(),
            Framing::Sstp => SstpDataPacket::minimum_packet_size(),
        }
    }

    /// The length of the frame starting `buf`, once its header has arrived.
    pub fn frame_len(self, buf: &[u8]) -> Option<usize> {
        match self {
            Framing::OpenVpn => {
                OpenVpnDataPacket::new(buf).map(|p| 2 + usize::from(p.get_length()))
            }
            Framing::Sstp => {
                SstpDataPacket::new(buf).map(|p| 5 + usize::from(p.get_record_length()))
            }
        }
    }

    /// Appends the frame of `inner`, numbered `id`, to `out`.
    pub fn emit(self, out: &mut Vec<u8>, inner: &[u8], id: u32) {
        let start = out.len();
        let header = self.header_len();
        let body = inner.len() + self.overhead();
        out.resize(start + header, 0);
        let h = &mut out[start..];
        match self {
            Framing::OpenVpn => {
                let mut p = MutableOpenVpnDataPacket::new(h).expect("room for the header");
                p.set_length((body - 2) as u16);
                p.set_opcode(P_DATA_V2);
                p.set_key_id(0);
                p.set_peer_id(1);
                p.set_packet_id(id);
            }
            Framing::Sstp => {
                let mut p = MutableSstpDataPacket::new(h).expect("room for the header");
                p.set_content_type(TLS_APPLICATION_DATA);
                p.set_tls_version(TLS_1_2);
                p.set_record_length((body - 5) as u16);
                p.set_explicit_nonce(u64::from(id));
                p.set_sstp_version(SSTP_VERSION);
                p.set_sstp_flags(0);
                p.set_sstp_reserved(0);
                p.set_sstp_length((inner.len() + 4 + 2) as u16);
                p.set_ppp_protocol(PPP_IPV4);
            }
        }
        out.extend_from_slice(inner);
        out.extend_from_slice(&[0; TAG]);
    }

    /// The packet id and inner packet of one whole frame.
    pub fn parse(self, frame: &[u8]) -> Result<(u32, &[u8]), Error> {
        let (len, id) = match self {
            Framing::OpenVpn => {
                let p = OpenVpnDataPacket::new(frame).ok_or(Error::Truncated)?;
                if p.get_opcode() != P_DATA_V2 {
                    return Err(Error::Malformed("not an OpenVPN P_DATA_V2 packet"));
                }
                (2 + usize::from(p.get_length()), p.get_packet_id())
            }
            Framing::Sstp => {
                let p = SstpDataPacket::new(frame).ok_or(Error::Truncated)?;
                if p.get_content_type() != TLS_APPLICATION_DATA
                    || p.get_sstp_version() != SSTP_VERSION
                    || p.get_ppp_protocol() != PPP_IPV4
                {
                    return Err(Error::Malformed("not an SSTP data packet carrying IPv4"));
                }
                let len = 5 + usize::from(p.get_record_length());
                if len >= self.overhead() && usize::from(p.get_sstp_length()) != len - TAG - 13 {
                    return Err(Error::Malformed(
                        "SSTP length disagrees with the TLS record",
                    ));
                }
                (len, p.get_explicit_nonce() as u32)
            }
        };
        if frame.len() < len || len < self.overhead() {
            return Err(Error::Truncated);
        }
        Ok((id, &frame[self.header_len()..len - TAG]))
    }
}
