//! Observers: what watches a run without changing it.
//!
//! An observer sees every packet offered to a link direction, every packet the link drops
//! (with the cause) and every packet it delivers, every control-plane event and every route
//! change, in virtual-time order. It gets the packet's bytes read-only and nothing of the
//! run's state, so what a run computes is the same with any observers attached (a test holds
//! the JSON of every shipped lab byte-identical with every export on).
//!
//! Probe-path tagging is the observer the run itself uses ([`ProbePaths`]: its tags are the
//! one thing it hands back); exports (captures, time series) are the others, attached with
//! [`crate::sim::Sim::observe`]. A run without exports makes no dynamic call per packet.

mod probe_paths;
pub use probe_paths::{ProbePaths, Tag};

use crate::control::plane::ControlEvent;
use crate::results::RouteChange;
use crate::substrate::engine::Time;
use crate::substrate::ids::LinkDir;
use crate::substrate::link::LinkDrop;

/// Where a packet is: on link direction `at`, having crossed the links `path` identifies
/// (equal for packets that crossed the same links in the same order; 0 before the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct On {
    pub at: LinkDir,
    pub path: u64,
}

pub trait Observer: Send {
    /// `packet` was offered to `on` at `at`; `queued` is what then waits in the link's
    /// transmit queue, in packets and bytes (the packet among them if it had to wait).
    fn sent(&mut self, _at: Time, _on: On, _packet: &[u8], _queued: (u32, u64)) {}
    /// The link dropped `packet` at `at`: its queue was full, it was lost, it exceeded the MTU,
    /// or the link was (or went) down.
    fn dropped(&mut self, _at: Time, _on: On, _packet: &[u8], _cause: LinkDrop) {}
    /// `packet` reached the far end of `on` at `at`.
    fn delivered(&mut self, _at: Time, _on: On, _packet: &[u8]) {}
    /// A router's control plane acted (BFD, BGP, DPD).
    fn control(&mut self, _event: &ControlEvent) {}
    /// A router's forwarding table changed.
    fn route_change(&mut self, _change: &RouteChange) {}
    /// A fault of the lab happened (`label` as the report names it).
    fn fault(&mut self, _at: Time, _label: &str) {}
    /// The run ended at `at`: write out what is buffered. An error here is the export's
    /// (a full disk), reported by the caller.
    fn finish(&mut self, _at: Time) -> std::io::Result<()> {
        Ok(())
    }
    /// One line for the user on what the export wrote, once finished.
    fn outcome(&self) -> Option<String> {
        None
    }
}

/// An observer the caller keeps a handle on, to read what it gathered after the run.
pub struct Shared<T>(pub std::sync::Arc<std::sync::Mutex<T>>);

impl<T: Observer> Shared<T> {
    /// The observer to attach, and the handle to keep.
    pub fn attach(observer: T) -> (Box<dyn Observer>, std::sync::Arc<std::sync::Mutex<T>>)
    where
        T: 'static,
    {
        let handle = std::sync::Arc::new(std::sync::Mutex::new(observer));
        (Box::new(Shared(handle.clone())), handle)
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // A poisoned lock means an observer panicked; the run is already unwinding.
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

impl<T: Observer> Observer for Shared<T> {
    fn sent(&mut self, at: Time, on: On, packet: &[u8], queued: (u32, u64)) {
        self.with(|o| o.sent(at, on, packet, queued));
    }
    fn dropped(&mut self, at: Time, on: On, packet: &[u8], cause: LinkDrop) {
        self.with(|o| o.dropped(at, on, packet, cause));
    }
    fn delivered(&mut self, at: Time, on: On, packet: &[u8]) {
        self.with(|o| o.delivered(at, on, packet));
    }
    fn control(&mut self, event: &ControlEvent) {
        self.with(|o| o.control(event));
    }
    fn route_change(&mut self, change: &RouteChange) {
        self.with(|o| o.route_change(change));
    }
    fn fault(&mut self, at: Time, label: &str) {
        self.with(|o| o.fault(at, label));
    }
    fn finish(&mut self, at: Time) -> std::io::Result<()> {
        self.with(|o| o.finish(at))
    }
    fn outcome(&self) -> Option<String> {
        self.with(|o| o.outcome())
    }
}
