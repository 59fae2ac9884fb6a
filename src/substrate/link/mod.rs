//! Point-to-point, full-duplex links. Each direction is an independent [`Direction`]: a drop-tail
//! [`Queue`] in front of a serializer at the link rate, then random loss, then propagation delay
//! plus [`Jitter`]. A packet larger than the MTU is dropped and counted, never fragmented.
//!
//! Parameters and defaults (per direction, from the lab file):
//! - `delay`: one-way propagation delay, default 0.
//! - `jitter`: see [`jitter`]; default none.
//! - `loss`: see [`loss`]; default none.
//! - `rate`: serialization rate; default unlimited (no serialization delay).
//! - `overhead`: framing bytes added to every packet for serialization only (e.g. 38 for
//!   Ethernet's preamble, header, FCS and inter-frame gap); default 0.
//! - `queue`: drop-tail limit, default 1000 packets.
//! - `mtu`: largest IP packet carried, default 1500 bytes.

pub mod jitter;
pub mod loss;
pub mod queue;

pub use jitter::{Jitter, JitterDistribution, JitterSpec};
pub use loss::{Loss, LossSpec};
pub use queue::{Queue, QueueLimit};

use crate::rng::{component_rng, Rng};
use crate::substrate::engine::Time;
use serde::Serialize;

/// The configuration of one direction of a link, fully resolved (no defaults left open).
#[derive(Debug, Clone, PartialEq)]
pub struct DirParams {
    pub delay: Time,
    pub jitter: Option<JitterSpec>,
    pub loss: LossSpec,
    /// Bits per second; `None` is unlimited.
    pub rate: Option<u64>,
    pub overhead: u32,
    pub queue: QueueLimit,
    pub mtu: u32,
}

impl Default for DirParams {
    fn default() -> Self {
        DirParams {
            delay: 0,
            jitter: None,
            loss: LossSpec::None,
            rate: None,
            overhead: 0,
            queue: QueueLimit::default(),
            mtu: 1500,
        }
    }
}

impl DirParams {
    /// Time to serialize a packet of `bytes` (plus framing overhead) at the rate, rounded up to
    /// the nanosecond.
    pub fn serialization(&self, bytes: usize) -> Time {
        match self.rate {
            None => 0,
            Some(rate) => {
                // Bits times 10^9 fit 64 bits for any packet (up to 2.3 GB): a 64-bit division
                // per packet instead of a 128-bit one; the same integer either way.
                let bytes = bytes as u64 + u64::from(self.overhead);
                match bytes.checked_mul(8_000_000_000) {
                    Some(bits) => bits.div_ceil(rate),
                    None => (u128::from(bytes) * 8_000_000_000).div_ceil(u128::from(rate)) as Time,
                }
            }
        }
    }
}

/// A change of some of a direction's parameters, applied by a fault at a given time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub delay: Option<Time>,
    /// `Some(None)` removes jitter.
    pub jitter: Option<Option<JitterSpec>>,
    pub loss: Option<LossSpec>,
    pub rate: Option<u64>,
}

impl Change {
    /// `params` with this change applied.
    pub fn apply(&self, params: &DirParams) -> DirParams {
        DirParams {
            delay: self.delay.unwrap_or(params.delay),
            jitter: self.jitter.clone().unwrap_or_else(|| params.jitter.clone()),
            loss: self.loss.clone().unwrap_or_else(|| params.loss.clone()),
            rate: self.rate.or(params.rate),
            ..params.clone()
        }
    }
}

/// Why a link dropped a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkDrop {
    Queue,
    Loss,
    Mtu,
    Down,
}

/// Drop counters by cause.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkDrops {
    /// Drop-tail queue overflow.
    pub queue: u64,
    /// Random loss (Bernoulli or Gilbert-Elliott).
    pub loss: u64,
    /// Larger than the link MTU.
    pub mtu: u64,
    /// Sent into, queued on, or in flight on a link that was down.
    pub down: u64,
}

/// Counters of one link direction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DirStats {
    /// Packets and bytes offered to the link by the sending node.
    pub offered_packets: u64,
    pub offered_bytes: u64,
    /// Packets and bytes delivered to the receiving node.
    pub delivered_packets: u64,
    pub delivered_bytes: u64,
    pub drops: LinkDrops,
    /// Largest number of packets, and of bytes, waiting in the queue at once.
    pub peak_queue_packets: u32,
    pub peak_queue_bytes: u64,
}

/// One direction of a link: its parameters, its state and its counters.
pub struct Direction {
    pub params: DirParams,
    up: bool,
    /// Incremented each time the link goes down; a packet in flight from an older epoch is lost.
    epoch: u32,
    queue: Queue,
    loss: Loss,
    jitter: Option<Jitter>,
    loss_rng: Rng,
    jitter_rng: Rng,
    last_arrival: Time,
    pub stats: DirStats,
}

/// What became of a packet handed to a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It will reach the far end at this time, if the link is still in this epoch then.
    Arrives {
        at: Time,
        epoch: u32,
    },
    Dropped(LinkDrop),
}

impl Direction {
    /// `stream` is the stable name the random streams derive from, e.g. "link/wan/a->b".
    pub fn new(params: DirParams, seed: u64, stream: &str) -> Self {
        Direction {
            queue: Queue::new(params.queue),
            loss: Loss::new(params.loss.clone()),
            jitter: params.jitter.clone().map(Jitter::new),
            loss_rng: component_rng(seed, &format!("{stream}/loss")),
            jitter_rng: component_rng(seed, &format!("{stream}/jitter")),
            params,
            up: true,
            epoch: 0,
            last_arrival: 0,
            stats: DirStats::default(),
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Offers a packet of `bytes` at `now`. The order of checks is the order on a real
    /// interface: link state, MTU, queue room, then loss on the wire and the flight time.
    pub fn send(&mut self, now: Time, bytes: usize) -> Fate {
        self.stats.offered_packets += 1;
        self.stats.offered_bytes += bytes as u64;
        let fate = self.fate(now, bytes);
        if let Fate::Dropped(cause) = fate {
            self.count_drop(cause);
        }
        fate
    }

    fn fate(&mut self, now: Time, bytes: usize) -> Fate {
        if !self.up {
            return Fate::Dropped(LinkDrop::Down);
        }
        if bytes > self.params.mtu as usize {
            return Fate::Dropped(LinkDrop::Mtu);
        }
        let tx = self.params.serialization(bytes);
        let Some(tx_end) = self.queue.admit(now, bytes as u32, tx) else {
            return Fate::Dropped(LinkDrop::Queue);
        };
        self.stats.peak_queue_packets = self.queue.peak_packets;
        self.stats.peak_queue_bytes = self.queue.peak_bytes;
        if self.loss.lose(&mut self.loss_rng) {
            return Fate::Dropped(LinkDrop::Loss);
        }
        let mut arrival = tx_end.saturating_add(self.params.delay);
        if let Some(jitter) = &mut self.jitter {
            let shifted = arrival as f64 + jitter.draw(&mut self.jitter_rng);
            arrival = shifted.max(tx_end as f64).round() as Time;
            if jitter.keeps_order() {
                arrival = arrival.max(self.last_arrival);
            }
        }
        self.last_arrival = self.last_arrival.max(arrival);
        Fate::Arrives {
            at: arrival,
            epoch: self.epoch,
        }
    }

    fn count_drop(&mut self, cause: LinkDrop) {
        let d = &mut self.stats.drops;
        match cause {
            LinkDrop::Queue => d.queue += 1,
            LinkDrop::Loss => d.loss += 1,
            LinkDrop::Mtu => d.mtu += 1,
            LinkDrop::Down => d.down += 1,
        }
    }

    /// Accounts for a packet reaching the far end. Returns false (and counts the drop) when the
    /// link went down while the packet was queued or in flight.
    /// Packets and bytes waiting in the transmit queue at `now`.
    pub fn queue_depth(&mut self, now: Time) -> (u32, u64) {
        self.queue.depth(now)
    }

    pub fn arrive(&mut self, epoch: u32, bytes: usize) -> bool {
        if epoch != self.epoch || !self.up {
            self.count_drop(LinkDrop::Down);
            return false;
        }
        self.stats.delivered_packets += 1;
        self.stats.delivered_bytes += bytes as u64;
        true
    }

    /// Administrative state change (a fault). Going down loses everything queued or in flight.
    pub fn set_up(&mut self, now: Time, up: bool) {
        if self.up && !up {
            self.epoch += 1;
            self.queue.flush(now);
        }
        self.up = up;
    }

    /// Changes delay, loss, rate or jitter from now on; packets already admitted keep theirs.
    pub fn reconfigure(&mut self, params: DirParams) {
        if params.loss != self.params.loss {
            self.loss = Loss::new(params.loss.clone());
        }
        if params.jitter != self.params.jitter {
            self.jitter = params.jitter.clone().map(Jitter::new);
        }
        self.params = params;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(params: DirParams) -> Direction {
        Direction::new(params, 1, "test")
    }

    #[test]
    fn serialization_includes_overhead_and_rounds_up() {
        let p = DirParams {
            rate: Some(100_000_000),
            overhead: 38,
            ..DirParams::default()
        };
        // (1500 + 38) bytes * 8 / 100 Mbps = 123.04 us.
        assert_eq!(p.serialization(1500), 123_040);
        let p = DirParams {
            rate: Some(3),
            ..DirParams::default()
        };
        assert_eq!(p.serialization(1), 2_666_666_667);
        // Past what 64 bits hold, the same rounding in 128.
        let p = DirParams {
            rate: Some(7),
            ..DirParams::default()
        };
        let huge = 3_000_000_000usize;
        let exact = (huge as u128 * 8_000_000_000).div_ceil(7) as Time;
        assert_eq!(p.serialization(huge), exact);
    }

    #[test]
    fn arrival_is_serialization_plus_propagation() {
        let mut d = dir(DirParams {
            delay: 5_000_000,
            rate: Some(1_000_000_000),
            ..DirParams::default()
        });
        // 1000 bytes at 1 Gbps = 8 us.
        assert_eq!(
            d.send(0, 1000),
            Fate::Arrives {
                at: 5_008_000,
                epoch: 0
            }
        );
        // Back-to-back: the second waits for the first.
        assert_eq!(
            d.send(0, 1000),
            Fate::Arrives {
                at: 5_016_000,
                epoch: 0
            }
        );
    }

    #[test]
    fn oversize_and_down_are_dropped_and_counted() {
        let mut d = dir(DirParams::default());
        assert_eq!(d.send(0, 1501), Fate::Dropped(LinkDrop::Mtu));
        let Fate::Arrives { epoch, .. } = d.send(0, 100) else {
            panic!()
        };
        d.set_up(1, false);
        assert!(!d.arrive(epoch, 100), "in flight when the link failed");
        assert_eq!(d.send(2, 100), Fate::Dropped(LinkDrop::Down));
        d.set_up(3, true);
        assert!(matches!(d.send(4, 100), Fate::Arrives { .. }));
        assert_eq!(d.stats.drops.mtu, 1);
        assert_eq!(d.stats.drops.down, 2);
    }

    #[test]
    fn keep_order_prevents_reordering() {
        let jitter = JitterSpec {
            amount: crate::units::Duration::from_millis(5),
            distribution: JitterDistribution::Uniform,
            shape: 3.0,
            correlation: 0.0,
            keep_order: true,
        };
        let mut d = dir(DirParams {
            delay: 10_000_000,
            jitter: Some(jitter.clone()),
            ..DirParams::default()
        });
        let mut last = 0;
        for i in 0..1000 {
            let Fate::Arrives { at, .. } = d.send(i * 100_000, 100) else {
                panic!()
            };
            assert!(at >= last);
            last = at;
        }
        let mut d = dir(DirParams {
            delay: 10_000_000,
            jitter: Some(JitterSpec {
                keep_order: false,
                ..jitter
            }),
            ..DirParams::default()
        });
        let arrivals: Vec<Time> = (0..1000)
            .map(|i| match d.send(i * 100_000, 100) {
                Fate::Arrives { at, .. } => at,
                Fate::Dropped(_) => panic!(),
            })
            .collect();
        assert!(
            arrivals.windows(2).any(|w| w[1] < w[0]),
            "expected reordering"
        );
    }
}
