//! BFD control packets (RFC 5880 §4.1): a 24-byte mandatory section, version 1.

use super::Error;
use pnet_macros::packet;
use pnet_macros_support::types::*;

/// Length of the mandatory section, all a control packet without authentication carries.
pub const LEN: usize = 24;
const VERSION: u8 = 1;

/// The mandatory section (RFC 5880 §4.1).
#[packet]
pub struct Bfd {
    pub version: u3,
    pub diag: u5,
    pub state: u2,
    // Poll, Final, Control Plane Independent, Authentication Present, Demand, Multipoint.
    pub flags: u6,
    pub detect_mult: u8,
    pub length: u8,
    pub my_discriminator: u32be,
    pub your_discriminator: u32be,
    // Microseconds, as the two below.
    pub desired_min_tx: u32be,
    pub required_min_rx: u32be,
    pub required_min_echo_rx: u32be,
    #[payload]
    pub authentication: Vec<u8>,
}

/// A session's state as its packets carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    AdminDown = 0,
    Down = 1,
    Init = 2,
    Up = 3,
}

impl State {
    fn from_bits(b: u8) -> State {
        match b & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
}

/// A BFD control packet as a session reads and writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Diagnostic code, 0–31.
    pub diag: u8,
    pub state: State,
    pub multiplier: u8,
    pub my_disc: u32,
    pub your_disc: u32,
    /// Microseconds.
    pub desired_min_tx: u32,
    pub required_min_rx: u32,
}

impl Repr {
    /// Reads a control packet: version 1, a length that covers the mandatory section and a
    /// detect multiplier above zero (RFC 5880 §6.8.6).
    pub fn parse(bytes: &[u8]) -> Result<Repr, Error> {
        let p = BfdPacket::new(bytes).ok_or(Error::Truncated)?;
        if p.get_version() != VERSION {
            return Err(Error::Malformed("BFD version is not 1"));
        }
        if usize::from(p.get_length()) < LEN {
            return Err(Error::Malformed("BFD length below 24"));
        }
        if p.get_detect_mult() == 0 {
            return Err(Error::Malformed("BFD detect multiplier 0"));
        }
        Ok(Repr {
            diag: p.get_diag(),
            state: State::from_bits(p.get_state()),
            multiplier: p.get_detect_mult(),
            my_disc: p.get_my_discriminator(),
            your_disc: p.get_your_discriminator(),
            desired_min_tx: p.get_desired_min_tx(),
            required_min_rx: p.get_required_min_rx(),
        })
    }

    /// Writes the packet into the first [`LEN`] bytes of `buf` (at least that long).
    pub fn emit(&self, buf: &mut [u8]) {
        let mut p = MutableBfdPacket::new(&mut buf[..LEN]).expect("a buffer of LEN bytes");
        p.set_version(VERSION);
        p.set_diag(self.diag & 0x1f);
        p.set_state(self.state as u8);
        p.set_flags(0);
        p.set_detect_mult(self.multiplier);
        p.set_length(LEN as u8);
        p.set_my_discriminator(self.my_disc);
        p.set_your_discriminator(self.your_disc);
        p.set_desired_min_tx(self.desired_min_tx);
        p.set_required_min_rx(self.required_min_rx);
        p.set_required_min_echo_rx(0);
    }

    /// The packet's bytes.
    pub fn to_bytes(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        self.emit(&mut b);
        b
    }
}
