//! The transmit queue of a link direction: drop-tail, bounded in packets or bytes, in front of a
//! serializer running at the link rate.
//!
//! The queue holds packets waiting for the serializer; the packet being serialized is not
//! counted, as in a Linux qdisc. Each admitted packet's start and end of serialization are fixed
//! on admission (virtual finish time), so the engine needs one event per packet per link.

use crate::substrate::engine::Time;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The bound of a drop-tail queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum QueueLimit {
    Packets(u32),
    Bytes(crate::units::Bytes),
}

impl Default for QueueLimit {
    /// 1000 packets: Linux's default `txqueuelen`.
    fn default() -> Self {
        QueueLimit::Packets(1000)
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    start: Time,
    end: Time,
    bytes: u32,
}

/// Occupancy of the serializer and the queue in front of it.
#[derive(Debug, Clone)]
pub struct Queue {
    limit: QueueLimit,
    slots: VecDeque<Slot>,
    /// Packets and bytes in `slots` (in service and waiting).
    packets: u32,
    bytes: u64,
    busy_until: Time,
    pub peak_packets: u32,
    pub peak_bytes: u64,
}

impl Queue {
    pub fn new(limit: QueueLimit) -> Self {
        Queue {
            limit,
            slots: VecDeque::new(),
            packets: 0,
            bytes: 0,
            busy_until: 0,
            peak_packets: 0,
            peak_bytes: 0,
        }
    }

    fn retire(&mut self, now: Time) {
        while let Some(front) = self.slots.front() {
            if front.end > now {
                break;
            }
            self.packets -= 1;
            self.bytes -= u64::from(front.bytes);
            self.slots.pop_front();
        }
    }

    /// Packets and bytes waiting (not in service) at `now`.
    fn waiting(&self, now: Time) -> (u32, u64) {
        match self.slots.front() {
            Some(front) if front.start <= now => {
                (self.packets - 1, self.bytes - u64::from(front.bytes))
            }
            _ => (self.packets, self.bytes),
        }
    }

    /// Packets and bytes waiting for the serializer at `now` (not the one in service).
    pub fn depth(&mut self, now: Time) -> (u32, u64) {
        self.retire(now);
        self.waiting(now)
    }

    /// Admits a packet of `bytes` that takes `tx_time` to serialize, returning the time its last
    /// bit leaves, or `None` when the queue is full (drop-tail).
    pub fn admit(&mut self, now: Time, bytes: u32, tx_time: Time) -> Option<Time> {
        self.retire(now);
        let (wait_pkts, wait_bytes) = self.waiting(now);
        let start = self.busy_until.max(now);
        if start > now {
            // The packet must wait: it needs room in the queue.
            let fits = match self.limit {
                QueueLimit::Packets(n) => wait_pkts < n,
                QueueLimit::Bytes(b) => wait_bytes + u64::from(bytes) <= b.0,
            };
            if !fits {
                return None;
            }
            self.peak_packets = self.peak_packets.max(wait_pkts + 1);
            self.peak_bytes = self.peak_bytes.max(wait_bytes + u64::from(bytes));
        }
        let end = start + tx_time;
        self.busy_until = end;
        if end > now {
            self.slots.push_back(Slot { start, end, bytes });
            self.packets += 1;
            self.bytes += u64::from(bytes);
        }
        Some(end)
    }

    /// Empties the queue (the link went down): waiting packets are lost with it.
    pub fn flush(&mut self, now: Time) {
        self.slots.clear();
        self.packets = 0;
        self.bytes = 0;
        self.busy_until = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_back_to_back_and_drops_when_full() {
        let mut q = Queue::new(QueueLimit::Packets(2));
        assert_eq!(q.admit(0, 100, 10), Some(10)); // in service
        assert_eq!(q.admit(0, 100, 10), Some(20)); // waiting 1
        assert_eq!(q.admit(0, 100, 10), Some(30)); // waiting 2
        assert_eq!(q.admit(0, 100, 10), None); // full
        assert_eq!(q.peak_packets, 2);
        // At t=10 the first left and the second is in service: one slot is free again.
        assert_eq!(q.admit(10, 100, 10), Some(40));
        assert_eq!(q.admit(10, 100, 10), None);
    }

    #[test]
    fn byte_limit_counts_waiting_bytes() {
        let mut q = Queue::new(QueueLimit::Bytes(crate::units::Bytes(1500)));
        assert!(q.admit(0, 1500, 5).is_some());
        assert!(q.admit(0, 1500, 5).is_some());
        assert!(q.admit(0, 1, 5).is_none());
    }

    #[test]
    fn an_idle_link_starts_immediately() {
        let mut q = Queue::new(QueueLimit::Packets(1));
        assert_eq!(q.admit(100, 1000, 8), Some(108));
        assert_eq!(q.admit(200, 1000, 8), Some(208));
        assert_eq!(q.peak_packets, 0);
    }
}
