//! The run's watchdog: a storm of events (a component that wakes itself over and over without
//! moving virtual time on much, or packets circling without end) stops the run with a message
//! that names the component, instead of a silent crawl that takes minutes of wall time per
//! simulated second.
//!
//! The yardstick is the budget estimate's peak rate ([`crate::lab::budget::Estimate::peak_rate`]):
//! the events per second of virtual time the lab's apps and control plane cause with all of them
//! active at once. Every [`WINDOW`] events the watchdog compares the window's rate with
//! [`FACTOR`] times that; [`STRETCH`] such windows in a row trip it. Only once a window is over
//! the rate does it count events per component, so a run that keeps to its estimate pays one
//! comparison per event.

use crate::substrate::engine::Time;
use crate::substrate::ids::{LinkId, NodeId};

/// Events per check.
pub const WINDOW: u64 = 1 << 20;
/// How far over the estimate a window must be to count.
pub const FACTOR: f64 = 100.0;
/// Windows over the rate in a row that stop the run: 16 Mi events, a few seconds of wall time.
pub const STRETCH: u32 = 16;
/// The least rate the yardstick assumes (events per virtual second), for labs whose estimate
/// is near nothing (no apps): their routers' own timers.
const FLOOR: f64 = 100_000.0;

/// What the watchdog counts an event against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// A node's wake-ups (timers).
    Node(NodeId),
    /// Deliveries and departures on a link.
    Link(LinkId),
    /// Faults.
    Fault,
}

/// Why the watchdog stopped a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Storm {
    /// The virtual time it stopped at.
    pub at: Time,
    pub component: Component,
    /// The component's share of the last window's events.
    pub share: f64,
    /// Events per second of virtual time over the stretch, and what the estimate allowed.
    pub rate: f64,
    pub allowed: f64,
}

/// Watches the rate of events over a run.
#[derive(Debug, Clone)]
pub struct Watchdog {
    allowed: f64,
    window: u64,
    stretch: u32,
    /// Events left in the current window, and the virtual time it began.
    left: u64,
    window_start: Time,
    /// Windows over the rate in a row, and the virtual time the first began.
    over: u32,
    over_since: Time,
    /// Per node, then per link, events in this window (counted while `over > 0`).
    counts: Vec<u64>,
    nodes: usize,
    faults: u64,
}

impl Watchdog {
    /// A watchdog for a run whose estimate's peak rate is `peak` events per virtual second,
    /// over `nodes` nodes and `links` links.
    pub fn new(peak: f64, nodes: usize, links: usize) -> Self {
        let peak = if peak.is_nan() {
            FLOOR
        } else {
            peak.max(FLOOR)
        };
        Self::with_window(FACTOR * peak, nodes, links, WINDOW, STRETCH)
    }

    /// A watchdog that allows `allowed` events per virtual second, checking every `window`
    /// events and stopping after `stretch` windows over it in a row (tests use small ones).
    pub fn with_window(
        allowed: f64,
        nodes: usize,
        links: usize,
        window: u64,
        stretch: u32,
    ) -> Self {
        Watchdog {
            allowed,
            window: window.max(1),
            stretch: stretch.max(1),
            left: window.max(1),
            window_start: 0,
            over: 0,
            over_since: 0,
            counts: vec![0; nodes + links],
            nodes,
            faults: 0,
        }
    }

    /// Counts one event at `now` of `component`; a storm when the run must stop.
    #[inline]
    pub fn event(&mut self, now: Time, component: Component) -> Option<Storm> {
        if self.over > 0 {
            match component {
                Component::Node(n) => self.counts[n.index()] += 1,
                Component::Link(l) => self.counts[self.nodes + l.index()] += 1,
                Component::Fault => self.faults += 1,
            }
        }
        self.left -= 1;
        if self.left > 0 {
            return None;
        }
        self.left = self.window;
        self.check(now)
    }

    /// The end of a window at `now`.
    #[cold]
    fn check(&mut self, now: Time) -> Option<Storm> {
        let elapsed = now.saturating_sub(self.window_start);
        let rate = self.window as f64 * 1e9 / elapsed.max(1) as f64;
        let start = self.window_start;
        self.window_start = now;
        if rate <= self.allowed {
            self.over = 0;
            return None;
        }
        if self.over == 0 {
            self.over_since = start;
        }
        self.over += 1;
        if self.over <= self.stretch {
            // Counting starts with the second window over the rate; the last one is reported.
            self.counts.iter_mut().for_each(|c| *c = 0);
            self.faults = 0;
            return None;
        }
        let (top, &count) = self
            .counts
            .iter()
            .enumerate()
            .max_by_key(|&(i, c)| (c, std::cmp::Reverse(i)))
            .unwrap_or((0, &0));
        let component = if self.faults > count {
            Component::Fault
        } else if top < self.nodes {
            Component::Node(NodeId(top))
        } else {
            Component::Link(LinkId(top - self.nodes))
        };
        let span = now.saturating_sub(self.over_since).max(1);
        Some(Storm {
            at: now,
            component,
            share: count.max(self.faults) as f64 / self.window as f64,
            rate: f64::from(self.over) * self.window as f64 * 1e9 / span as f64,
            allowed: self.allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_at_its_estimate_is_never_stopped() {
        // 1,000 events per virtual second against a peak of 10,000 (floored to 100,000).
        assert_eq!(Watchdog::new(10_000.0, 2, 1).allowed, 1e7);
        let mut w = Watchdog::with_window(1e7, 2, 1, 64, 4);
        for i in 0..100_000u64 {
            assert_eq!(w.event(i * 1_000_000, Component::Link(LinkId(0))), None);
        }
    }

    #[test]
    fn a_sustained_storm_stops_the_run_naming_the_component() {
        let mut w = Watchdog::with_window(1e7, 3, 2, 64, 4);
        // Normal traffic first, then node 2 wakes every nanosecond.
        let mut now = 0;
        for _ in 0..1_000 {
            now += 1_000_000;
            assert_eq!(w.event(now, Component::Link(LinkId(1))), None);
        }
        let mut storm = None;
        for i in 0..10_000u64 {
            now += 1;
            let c = if i % 10 == 0 {
                Component::Link(LinkId(1))
            } else {
                Component::Node(NodeId(2))
            };
            if let Some(s) = w.event(now, c) {
                storm = Some((i, s));
                break;
            }
        }
        let (i, s) = storm.expect("stopped");
        // Four windows over the rate, then the fifth trips it.
        assert!(i < 64 * 6, "stopped after {i} events");
        assert_eq!(s.component, Component::Node(NodeId(2)));
        assert!((0.85..0.95).contains(&s.share), "{}", s.share);
        assert!(s.rate > 1e8, "{}", s.rate);
        assert_eq!(s.allowed, 1e7);
    }

    #[test]
    fn a_short_burst_is_not_a_storm() {
        let mut w = Watchdog::with_window(1e7, 1, 1, 64, 4);
        let mut now = 0;
        for round in 0..50 {
            // Three windows' worth at one event per nanosecond, then a quiet stretch.
            for _ in 0..64 * 3 {
                now += 1;
                assert_eq!(
                    w.event(now, Component::Node(NodeId(0))),
                    None,
                    "round {round}"
                );
            }
            for _ in 0..64 {
                now += 10_000_000;
                assert_eq!(w.event(now, Component::Link(LinkId(0))), None);
            }
        }
    }
}
