//! The discrete-event engine: a virtual clock in nanoseconds and a queue of future events.
//!
//! Invariants: time never goes backwards; events due at the same instant run in the order they
//! were scheduled (a sequence number breaks ties), so a run is a pure function of its inputs.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Virtual time in nanoseconds since the start of the run.
pub type Time = u64;

struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A future-event list over events of type `E`.
pub struct Scheduler<E> {
    now: Time,
    seq: u64,
    processed: u64,
    heap: BinaryHeap<Entry<E>>,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Scheduler<E> {
    pub fn new() -> Self {
        Scheduler {
            now: 0,
            seq: 0,
            processed: 0,
            heap: BinaryHeap::with_capacity(1024),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Events popped so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Schedules `event` at absolute time `at`; a time in the past is treated as now.
    pub fn schedule(&mut self, at: Time, event: E) {
        let time = at.max(self.now);
        self.seq += 1;
        self.heap.push(Entry {
            time,
            seq: self.seq,
            event,
        });
    }

    /// Pops the next event due at or before `limit`, advancing the clock to its time.
    pub fn pop_until(&mut self, limit: Time) -> Option<(Time, E)> {
        if self.heap.peek()?.time > limit {
            return None;
        }
        let entry = self.heap.pop()?;
        self.now = entry.time;
        self.processed += 1;
        Some((entry.time, entry.event))
    }

    /// Advances the clock to `t` when no event is due before it (end of a run slice).
    pub fn advance_to(&mut self, t: Time) {
        debug_assert!(self.heap.peek().is_none_or(|e| e.time >= t));
        self.now = self.now.max(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_instant_events_run_in_scheduling_order() {
        let mut s = Scheduler::new();
        s.schedule(5, "b");
        s.schedule(3, "a");
        s.schedule(5, "c");
        s.schedule(5, "d");
        let order: Vec<_> = std::iter::from_fn(|| s.pop_until(u64::MAX)).collect();
        assert_eq!(order, vec![(3, "a"), (5, "b"), (5, "c"), (5, "d")]);
        assert_eq!(s.now(), 5);
    }

    #[test]
    fn pop_respects_the_limit_and_the_past_is_now() {
        let mut s = Scheduler::new();
        s.schedule(10, 1);
        assert!(s.pop_until(9).is_none());
        assert_eq!(s.pop_until(10), Some((10, 1)));
        s.schedule(2, 2);
        assert_eq!(s.pop_until(100), Some((10, 2)));
    }
}
