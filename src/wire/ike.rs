//! The IKEv2 header (RFC 7296 §3.1), all an empty INFORMATIONAL exchange (dead peer detection,
//! §2.4) carries: 28 bytes.

use super::Error;
use pnet_macros::packet;
use pnet_macros_support::types::*;

/// Header length, and the whole message when it carries no payload.
pub const HEADER_LEN: usize = 28;
/// Exchange type INFORMATIONAL.
pub const INFORMATIONAL: u8 = 37;
/// Major version 2, minor 0.
const VERSION: u8 = 0x20;
const FLAG_INITIATOR: u8 = 0x08;
const FLAG_RESPONSE: u8 = 0x20;

#[packet]
pub struct Ike {
    pub initiator_spi: u64be,
    pub responder_spi: u64be,
    pub next_payload: u8,
    pub version: u8,
    pub exchange_type: u8,
    pub flags: u8,
    pub message_id: u32be,
    pub length: u32be,
    #[payload]
    pub payloads: Vec<u8>,
}

/// An IKEv2 liveness message: an INFORMATIONAL request or response without payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    pub spi_i: u64,
    pub spi_r: u64,
    pub message_id: u32,
    pub response: bool,
}

impl Liveness {
    /// Reads an IKEv2 INFORMATIONAL message (its payloads, if any, ignored).
    pub fn parse(bytes: &[u8]) -> Result<Liveness, Error> {
        let p = IkePacket::new(bytes).ok_or(Error::Truncated)?;
        if p.get_version() != VERSION {
            return Err(Error::Malformed("IKE version is not 2.0"));
        }
        if p.get_exchange_type() != INFORMATIONAL {
            return Err(Error::Malformed("not an INFORMATIONAL exchange"));
        }
        Ok(Liveness {
            spi_i: p.get_initiator_spi(),
            spi_r: p.get_responder_spi(),
            message_id: p.get_message_id(),
            response: p.get_flags() & FLAG_RESPONSE != 0,
        })
    }

    /// Writes the message into the first [`HEADER_LEN`] bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) {
        let mut p = MutableIkePacket::new(&mut buf[..HEADER_LEN]).expect("a 28-byte buffer");
        p.set_initiator_spi(self.spi_i);
        p.set_responder_spi(self.spi_r);
        p.set_next_payload(0); // none
        p.set_version(VERSION);
        p.set_exchange_type(INFORMATIONAL);
        p.set_flags(if self.response {
            FLAG_RESPONSE
        } else {
            FLAG_INITIATOR
        });
        p.set_message_id(self.message_id);
        p.set_length(HEADER_LEN as u32);
    }

    /// The message's bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.emit(&mut b);
        b
    }
}
