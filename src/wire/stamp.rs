//! The stamp at the front of every probe and ping payload: the probe's sequence number and
//! its send time (virtual nanoseconds), both 8-byte big-endian. Probes carry it in UDP, pings
//! in the ICMP echo's data; the sender reads it back from the answer, and exports read it from
//! packets on the wire.

use super::Error;
use crate::substrate::engine::Time;
use pnet_macros::packet;
use pnet_macros_support::types::*;

/// Bytes of the stamp; the payload's remainder is padding to the probe's size.
pub const LEN: usize = 16;

#[packet]
pub struct Stamp {
    pub sequence: u64be,
    pub sent: u64be,
    #[payload]
    pub padding: Vec<u8>,
}

/// A probe's stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub seq: u64,
    pub sent: Time,
}

impl Repr {
    pub fn parse(bytes: &[u8]) -> Result<Repr, Error> {
        let p = StampPacket::new(bytes).ok_or(Error::Truncated)?;
        Ok(Repr {
            seq: p.get_sequence(),
            sent: p.get_sent(),
        })
    }

    /// Writes the stamp at the front of `buf`, which must hold at least [`LEN`] bytes.
    pub fn emit(&self, buf: &mut [u8]) {
        let mut p = MutableStampPacket::new(buf).expect("a payload of at least LEN bytes");
        p.set_sequence(self.seq);
        p.set_sent(self.sent);
    }
}
