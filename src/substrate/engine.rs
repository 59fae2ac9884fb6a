//! The discrete-event engine: a virtual clock in nanoseconds and a queue of future events.
//!
//! Invariants: time never goes backwards; events due at the same instant run in the order they
//! were scheduled (a sequence number breaks ties), so a run is a pure function of its inputs.
//!
//! The rule for components that wake themselves (hosts and their apps' timers, routers: their
//! control plane with its BGP sessions and BFD, dead-peer detection, TCP-carried tunnels and
//! their client's connect timers, pending forwarding changes): a poll returns the next instant
//! the component needs, and a poll that neither sent nor received anything asks for an instant
//! strictly after now. Otherwise virtual time stops, or crawls a nanosecond at a time while the
//! wall clock runs. The run checks the rule at every wake-up it arms (`sim::Sim::next_wake`:
//! builds with debug assertions stop there naming the node), and a watchdog
//! (`sim::Watchdog`) stops a run whose events per virtual second stay far above the budget
//! estimate's, naming the component whose events dominate.
//!
//! Lanes: events that come in order — the arrivals on a link direction that does not reorder —
//! can be scheduled into a lane, a FIFO of their own, of which only the head waits in the
//! heap. Every event keeps its (time, sequence) key, so the order events run in is exactly the
//! order without lanes; the heap just holds one entry per busy lane instead of one per packet
//! in flight. An event that would overtake its lane's last one goes to the heap directly.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Virtual time in nanoseconds since the start of the run.
pub type Time = u64;

/// A heap entry: an event's key and where the event waits. Small (24 bytes), so sifting
/// moves little; the events themselves stay put.
#[derive(Clone, Copy)]
struct Entry {
    time: Time,
    seq: u64,
    /// Below the number of lanes: the head of that lane; above: a slot of `parked`.
    at: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
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
    heap: BinaryHeap<Entry>,
    /// Per lane, its events in (time, sequence) order; the first is in the heap.
    lanes: Vec<VecDeque<(Time, u64, E)>>,
    /// Events outside lanes, by slot, and the free slots.
    parked: Vec<Option<E>>,
    vacant: Vec<u32>,
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
            lanes: Vec::new(),
            parked: Vec::new(),
            vacant: Vec::new(),
        }
    }

    /// A scheduler with `lanes` lanes, numbered from 0.
    pub fn with_lanes(lanes: usize) -> Self {
        let mut s = Self::new();
        s.lanes = (0..lanes).map(|_| VecDeque::new()).collect();
        s
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
        let slot = match self.vacant.pop() {
            Some(slot) => {
                self.parked[slot as usize] = Some(event);
                slot
            }
            None => {
                self.parked.push(Some(event));
                (self.parked.len() - 1) as u32
            }
        };
        self.heap.push(Entry {
            time,
            seq: self.seq,
            at: self.lanes.len() as u32 + slot,
        });
    }

    /// Schedules `event` at `at` in lane `lane`: it runs exactly when [`Scheduler::schedule`]
    /// would run it, at less cost while the lane's events come in time order.
    pub fn schedule_in_lane(&mut self, lane: usize, at: Time, event: E) {
        let time = at.max(self.now);
        let queue = &mut self.lanes[lane];
        match queue.back() {
            // Behind the lane's last event: it waits in the lane.
            Some(&(last, _, _)) if time >= last => {
                self.seq += 1;
                queue.push_back((time, self.seq, event));
            }
            // It would overtake: the heap orders it.
            Some(_) => self.schedule(time, event),
            None => {
                self.seq += 1;
                queue.push_back((time, self.seq, event));
                self.heap.push(Entry {
                    time,
                    seq: self.seq,
                    at: lane as u32,
                });
            }
        }
    }

    /// Pops the next event due at or before `limit`, advancing the clock to its time.
    pub fn pop_until(&mut self, limit: Time) -> Option<(Time, E)> {
        if self.heap.peek()?.time > limit {
            return None;
        }
        let entry = self.heap.pop()?;
        self.now = entry.time;
        self.processed += 1;
        let lanes = self.lanes.len() as u32;
        let event = if entry.at < lanes {
            let queue = &mut self.lanes[entry.at as usize];
            let (_, _, e) = queue.pop_front()?;
            if let Some(&(time, seq, _)) = queue.front() {
                self.heap.push(Entry {
                    time,
                    seq,
                    at: entry.at,
                });
            }
            e
        } else {
            let slot = entry.at - lanes;
            self.vacant.push(slot);
            self.parked[slot as usize].take()?
        };
        Some((entry.time, event))
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
    fn lanes_change_nothing_about_the_order() {
        // The same schedule through the heap alone and through two lanes (with an event that
        // overtakes its lane's last one) runs in the same order.
        let plan: [(usize, Time); 8] = [
            (0, 5),
            (1, 5),
            (0, 7),
            (1, 6),
            (0, 6),
            (1, 9),
            (0, 9),
            (1, 9),
        ];
        let mut plain = Scheduler::new();
        let mut laned = Scheduler::with_lanes(2);
        for (i, &(lane, at)) in plan.iter().enumerate() {
            plain.schedule(at, i);
            laned.schedule_in_lane(lane, at, i);
        }
        laned.schedule(6, 100);
        plain.schedule(6, 100);
        let order = |s: &mut Scheduler<usize>| {
            std::iter::from_fn(|| s.pop_until(u64::MAX)).collect::<Vec<_>>()
        };
        assert_eq!(order(&mut laned), order(&mut plain));
        assert_eq!(laned.processed(), 9);
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
