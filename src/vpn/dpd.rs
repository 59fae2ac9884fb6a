//! IKEv2 dead peer detection (RFC 7296 §2.4): each tunnel end sends an empty INFORMATIONAL
//! request to its peer every `interval`, over UDP 500 (4500 with NAT traversal); the peer
//! answers. Anything heard from the peer, answers or ESP, counts as alive. When nothing has
//! been heard for `timeout` (domain.md: default 45 s, range 9–3600 s) the tunnel is declared
//! dead and carries nothing; it comes back when the peer is heard again.
//!
//! The probe interval (default 10 s) is our choice; the vendor documents only the timeout.

use crate::substrate::engine::Time;
use std::net::Ipv4Addr;

pub const IKE_PORT: u16 = 500;

/// The liveness messages on the wire.
pub use crate::wire::ike::Liveness;

/// A change of a tunnel's liveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Dead,
    Alive,
}

/// One tunnel end's dead-peer detection.
#[derive(Debug, Clone)]
pub struct Dpd {
    pub interval: Time,
    pub timeout: Time,
    pub peer: Ipv4Addr,
    last_heard: Time,
    next_probe: Time,
    message_id: u32,
    pub alive: bool,
}

impl Dpd {
    pub fn new(peer: Ipv4Addr, interval: Time, timeout: Time) -> Self {
        Dpd {
            interval,
            timeout,
            peer,
            last_heard: 0,
            next_probe: interval,
            message_id: 0,
            alive: true,
        }
    }

    /// The peer was heard from (an answer, a request, or ESP).
    pub fn heard(&mut self, now: Time) -> Option<Change> {
        self.last_heard = now;
        if self.alive {
            None
        } else {
            self.alive = true;
            Some(Change::Alive)
        }
    }

    /// Runs the timers: returns a change of liveness and, when a probe is due, its message ID.
    pub fn poll(&mut self, now: Time) -> (Option<Change>, Option<u32>) {
        let mut change = None;
        if self.alive && now >= self.last_heard.saturating_add(self.timeout) {
            self.alive = false;
            change = Some(Change::Dead);
        }
        let mut probe = None;
        if now >= self.next_probe {
            self.message_id = self.message_id.wrapping_add(1);
            probe = Some(self.message_id);
            self.next_probe = now.saturating_add(self.interval);
        }
        (change, probe)
    }

    pub fn next_wake(&self) -> Time {
        if self.alive {
            self.next_probe
                .min(self.last_heard.saturating_add(self.timeout))
        } else {
            self.next_probe
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Time = 1_000_000_000;

    #[test]
    fn declares_the_peer_dead_after_the_timeout_and_alive_when_heard() {
        let mut d = Dpd::new(Ipv4Addr::new(198, 51, 100, 1), 10 * S, 45 * S);
        d.heard(3 * S);
        let mut t = 0;
        let mut dead_at = None;
        while t < 100 * S {
            if d.poll(t).0 == Some(Change::Dead) {
                dead_at = Some(t);
            }
            t = d.next_wake();
        }
        assert_eq!(dead_at, Some(48 * S));
        assert_eq!(d.heard(101 * S), Some(Change::Alive));
    }

    #[test]
    fn liveness_messages_round_trip() {
        let m = Liveness {
            spi_i: 7,
            spi_r: 9,
            message_id: 3,
            response: true,
        };
        assert_eq!(Liveness::parse(&m.to_bytes()), Ok(m));
    }
}
