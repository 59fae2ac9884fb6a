//! Bidirectional Forwarding Detection (RFC 5880, single hop RFC 5881): control packets on UDP
//! 3784 at a fixed interval; a session that hears nothing for multiplier × interval declares the
//! path down and takes its BGP session with it. Defaults (domain.md, "BFD over ER"): 300 ms ×
//! 3, so a failure is detected between 600 and 900 ms after the last packet arrived.
//!
//! While not Up a session transmits once a second (RFC 5880 §6.8.3). As §6.8.7 requires, each
//! interval between transmissions is reduced by a random 0–25% (10–25% with a detect multiplier
//! of 1), and each session starts at its own random phase within its interval, both drawn from
//! the session's seeded stream. With 300 ms × 3 a neighbour's last packet before a failure was
//! sent up to 300 ms before it, so detection falls anywhere from 0.6 to 0.9 s after the failure
//! and differs between the two ends, as real BFD (BIRD 2) measured on Linux does; a sweep over
//! seeds shows the spread.

use crate::rng::Rng;
use crate::substrate::engine::Time;
use rand::Rng as _;
use std::net::Ipv4Addr;

/// BFD control packets on the wire.
pub use crate::wire::bfd::{Repr as Packet, State, LEN};

/// BFD control port (RFC 5881).
pub const PORT: u16 = 3784;
/// Transmit interval while the session is not Up.
const SLOW_TX: Time = 1_000_000_000;

/// Diagnostic codes (RFC 5880 §4.1).
pub const DIAG_NONE: u8 = 0;
pub const DIAG_DETECTION_EXPIRED: u8 = 1;
pub const DIAG_NEIGHBOR_DOWN: u8 = 3;

/// What a session reports when its state crosses Up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Up,
    /// Down, with the diagnostic (detection time expired, or the neighbour said so).
    Down(u8),
}

/// One BFD session to a neighbour.
#[derive(Debug, Clone)]
pub struct Session {
    pub peer: Ipv4Addr,
    pub local: Ipv4Addr,
    /// Transmit interval and detection multiplier this end asks for.
    pub interval: Time,
    pub multiplier: u8,
    pub state: State,
    diag: u8,
    my_disc: u32,
    your_disc: u32,
    /// The peer's transmit interval and multiplier, from its last packet.
    peer_interval: Time,
    peer_multiplier: u8,
    last_rx: Time,
    next_tx: Time,
    /// The session's own stream, for the transmit jitter.
    rng: Rng,
}

impl Session {
    pub fn new(
        peer: Ipv4Addr,
        local: Ipv4Addr,
        interval: Time,
        multiplier: u8,
        my_disc: u32,
        mut rng: Rng,
    ) -> Self {
        let phase = rng.random_range(0..interval.max(1));
        Session {
            peer,
            local,
            interval,
            multiplier,
            state: State::Down,
            diag: DIAG_NONE,
            my_disc,
            your_disc: 0,
            peer_interval: interval,
            peer_multiplier: multiplier,
            last_rx: 0,
            next_tx: phase,
            rng,
        }
    }

    /// `interval` less the random reduction RFC 5880 §6.8.7 asks for: 0–25%, or 10–25% when
    /// the detect multiplier is 1 (so that one late packet cannot expire the peer's detection).
    fn jittered(&mut self, interval: Time) -> Time {
        let least = if self.multiplier == 1 { 0.10 } else { 0.0 };
        let cut = self.rng.random_range(least..0.25);
        interval - (interval as f64 * cut) as Time
    }

    /// Detection time: the peer's multiplier times the slower of its transmit and our receive
    /// interval (RFC 5880 §6.8.4).
    pub fn detection_time(&self) -> Time {
        u64::from(self.peer_multiplier).saturating_mul(self.peer_interval.max(self.interval))
    }

    fn set(&mut self, state: State, diag: u8) -> Option<Change> {
        let was_up = self.state == State::Up;
        self.state = state;
        self.diag = diag;
        match (was_up, state == State::Up) {
            (false, true) => Some(Change::Up),
            (true, false) => Some(Change::Down(diag)),
            _ => None,
        }
    }

    /// Handles a packet from the peer (RFC 5880 §6.8.6).
    pub fn receive(&mut self, now: Time, p: &Packet) -> Option<Change> {
        if p.your_disc != 0 && p.your_disc != self.my_disc {
            return None;
        }
        self.your_disc = p.my_disc;
        self.peer_interval = Time::from(p.desired_min_tx) * 1_000;
        self.peer_multiplier = p.multiplier;
        self.last_rx = now;
        match (self.state, p.state) {
            (_, State::AdminDown) if self.state != State::Down => {
                self.set(State::Down, DIAG_NEIGHBOR_DOWN)
            }
            (State::Down, State::Down) => self.set(State::Init, DIAG_NONE),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                self.set(State::Up, DIAG_NONE)
            }
            (State::Up, State::Down) => self.set(State::Down, DIAG_NEIGHBOR_DOWN),
            _ => None,
        }
    }

    /// Runs timers at `now`: detection, then transmission. Returns a state change and the packet
    /// to send, if any.
    pub fn poll(&mut self, now: Time) -> (Option<Change>, Option<[u8; LEN]>) {
        let mut change = None;
        if matches!(self.state, State::Init | State::Up)
            && now >= self.last_rx.saturating_add(self.detection_time())
        {
            change = self.set(State::Down, DIAG_DETECTION_EXPIRED);
            self.your_disc = 0;
        }
        let mut out = None;
        if now >= self.next_tx {
            let packet = Packet {
                diag: self.diag,
                state: self.state,
                multiplier: self.multiplier,
                my_disc: self.my_disc,
                your_disc: self.your_disc,
                desired_min_tx: if self.state == State::Up {
                    (self.interval / 1_000) as u32
                } else {
                    (SLOW_TX / 1_000) as u32
                },
                required_min_rx: (self.interval / 1_000) as u32,
            };
            out = Some(packet.to_bytes());
            let gap = if self.state == State::Up {
                self.interval
            } else {
                SLOW_TX.max(self.interval)
            };
            let gap = self.jittered(gap);
            self.next_tx = now.saturating_add(gap);
        }
        (change, out)
    }

    /// The next time [`Session::poll`] has work.
    pub fn next_wake(&self) -> Time {
        let mut t = self.next_tx;
        if matches!(self.state, State::Init | State::Up) {
            t = t.min(self.last_rx.saturating_add(self.detection_time()));
        }
        t
    }

    /// Forces the session down (its router or link failed administratively).
    pub fn reset(&mut self, now: Time) -> Option<Change> {
        self.your_disc = 0;
        self.next_tx = now;
        self.set(State::Down, DIAG_NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Time = 1_000_000;

    fn session(to: u8, disc: u32, multiplier: u8, seed: u64) -> Session {
        Session::new(
            Ipv4Addr::new(10, 0, 0, to),
            Ipv4Addr::new(10, 0, 0, 3 - to),
            300 * MS,
            multiplier,
            disc,
            crate::rng::component_rng(seed, &format!("bfd/{disc}")),
        )
    }

    fn pair() -> (Session, Session) {
        (session(2, 1, 3, 1), session(1, 2, 3, 1))
    }

    /// Exchanges packets instantly at `now`, returning the changes seen by a and b.
    fn exchange(a: &mut Session, b: &mut Session, now: Time) -> (Vec<Change>, Vec<Change>) {
        let (mut ca, mut cb) = (vec![], vec![]);
        let (c, pa) = a.poll(now);
        ca.extend(c);
        let (c, pb) = b.poll(now);
        cb.extend(c);
        if let Some(p) = pa {
            cb.extend(b.receive(now, &Packet::parse(&p).unwrap()));
        }
        if let Some(p) = pb {
            ca.extend(a.receive(now, &Packet::parse(&p).unwrap()));
        }
        (ca, cb)
    }

    #[test]
    fn comes_up_by_three_way_handshake_and_detects_silence() {
        let (mut a, mut b) = pair();
        let mut t = 0;
        let mut ups = 0;
        while t < 3_000 * MS {
            let (ca, cb) = exchange(&mut a, &mut b, t);
            ups += ca.iter().chain(&cb).filter(|c| **c == Change::Up).count();
            t += 100 * MS;
        }
        assert_eq!((a.state, b.state, ups), (State::Up, State::Up, 2));
        // b falls silent: a declares it down 900 ms after the last packet it heard.
        let last = a.last_rx;
        let mut down_at = None;
        while down_at.is_none() {
            let (c, _) = a.poll(t);
            if c == Some(Change::Down(DIAG_DETECTION_EXPIRED)) {
                down_at = Some(t);
            }
            t = a.next_wake();
        }
        assert_eq!(down_at.unwrap() - last, 900 * MS);
    }

    /// The gaps between one session's transmissions once Up.
    fn gaps(multiplier: u8, seed: u64) -> Vec<Time> {
        let mut s = session(2, 1, multiplier, seed);
        s.state = State::Up;
        let mut sent = Vec::new();
        let mut t = 0;
        while sent.len() < 2_000 {
            s.last_rx = t; // the peer keeps talking
            if s.poll(t).1.is_some() {
                sent.push(t);
            }
            t = s.next_tx;
        }
        sent.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[test]
    fn each_interval_is_reduced_by_a_random_quarter_at_most() {
        let g = gaps(3, 1);
        let (lo, hi) = (g.iter().min().unwrap(), g.iter().max().unwrap());
        assert!(*lo >= 225 * MS && *hi <= 300 * MS, "{lo}..{hi}");
        // Spread over the whole range, not a fixed reduction.
        assert!(*lo < 230 * MS && *hi > 295 * MS, "{lo}..{hi}");
        let mean = g.iter().sum::<Time>() as f64 / g.len() as f64 / MS as f64;
        assert!((260.0..265.0).contains(&mean), "{mean}");
        // With a detect multiplier of 1: 10-25%.
        let g = gaps(1, 1);
        assert!(g.iter().all(|&x| (225 * MS..=270 * MS).contains(&x)));
        // Another seed, other gaps; the same seed, the same.
        assert_ne!(gaps(3, 2), gaps(3, 1));
        assert_eq!(gaps(3, 1), gaps(3, 1));
    }

    #[test]
    fn each_session_starts_at_its_own_phase() {
        let first: Vec<Time> = (0..20).map(|seed| session(2, 1, 3, seed).next_tx).collect();
        assert!(first.iter().all(|&t| t < 300 * MS));
        let distinct: std::collections::BTreeSet<_> = first.iter().collect();
        assert_eq!(distinct.len(), 20, "{first:?}");
    }

    #[test]
    fn packets_round_trip() {
        let p = Packet {
            diag: 1,
            state: State::Init,
            multiplier: 3,
            my_disc: 7,
            your_disc: 9,
            desired_min_tx: 300_000,
            required_min_rx: 300_000,
        };
        assert_eq!(Packet::parse(&p.to_bytes()), Ok(p));
        assert!(Packet::parse(&[0u8; 24]).is_err());
    }
}
