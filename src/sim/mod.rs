//! A run of a lab: built from the validated model (`build.rs`), it moves packets between nodes
//! on the engine's virtual clock (here), and hands over what it measured (`collect.rs`).
//! Routers decide and send ([`crate::router`]); exports watch ([`crate::observe`]).
//!
//! Events are packet arrivals at the end of a link, host wake-ups, and faults. A host keeps at
//! most one live wake-up in the queue: it is re-armed only for an earlier deadline, and an event
//! that no longer matches the host's pending deadline is stale and skipped.

mod build;
mod collect;
pub mod path;
pub mod tables;
mod watchdog;
use crate::lab::model::{FaultKind, Iface, Lab};
use crate::observe::{Observer, On, ProbePaths};
use crate::results::{AppRecord, Results};
use crate::router::{Action, Router};
use crate::substrate::engine::{Scheduler, Time};
use crate::substrate::host::Host;
use crate::substrate::ids::{Dir, LinkDir, LinkId, NodeId, PerLinkDir};
use crate::substrate::link::{Direction, Fate, LinkDrop};
pub use watchdog::{Component, Storm, Watchdog};

enum Event {
    /// A packet reaches the far end of direction `dir` of `link`.
    /// `path` identifies the links the packet crossed so far (see [`extend_path`]).
    Deliver {
        link: u32,
        dir: u8,
        epoch: u32,
        path: u64,
        packet: Vec<u8>,
    },
    /// A packet leaves a gateway's capacity limit onto direction `dir` of `link`.
    Transmit {
        link: u32,
        dir: u8,
        path: u64,
        packet: Vec<u8>,
    },
    Wake {
        node: u32,
    },
    Fault {
        index: u32,
    },
}

impl Event {
    /// The compact form of a link direction events carry.
    fn on(at: LinkDir) -> (u32, u8) {
        (at.link.index() as u32, at.dir.index() as u8)
    }

    /// The link direction from its compact form.
    fn at(link: u32, dir: u8) -> LinkDir {
        LinkId(link as usize).dir(Dir::from_index(usize::from(dir)))
    }

    fn wake(node: NodeId) -> Event {
        Event::Wake {
            node: node.index() as u32,
        }
    }
}

enum NodeState {
    Host(Box<Host>),
    Router(Box<Router>),
}

pub struct Sim {
    lab: Lab,
    sched: Scheduler<Event>,
    links: PerLinkDir<Direction>,
    nodes: Vec<NodeState>,
    records: Vec<AppRecord>,
    /// Spare packet buffers, reused so the steady state allocates nothing per packet.
    free: Vec<Vec<u8>>,
    /// Tags UDP probes with the paths they took, for the apps' records.
    probe_paths: ProbePaths,
    /// Exports watching the run ([`Sim::observe`]), and per node how much of its control and
    /// route logs they have seen.
    exports: Vec<Box<dyn Observer>>,
    seen_logs: Vec<(usize, usize, usize)>,
    /// The instant of the last event, the events run at it, and why the run stopped early:
    /// virtual time no longer advanced ([`MAX_EVENTS_PER_INSTANT`]) or a storm of events.
    instant: Time,
    at_instant: u64,
    halt: Option<Halt>,
    watchdog: Watchdog,
}

/// Why a run stopped before its end.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// More than [`MAX_EVENTS_PER_INSTANT`] events at this instant.
    Instant(Time),
    /// The watchdog saw a sustained storm of events.
    Storm(Storm),
}

impl Halt {
    /// The virtual time the run stopped at.
    pub fn at(&self) -> Time {
        match self {
            Halt::Instant(t) => *t,
            Halt::Storm(s) => s.at,
        }
    }

    /// What happened and what to do, naming the lab's items.
    pub fn describe(&self, lab: &Lab) -> String {
        let at = crate::units::format_nanos(self.at());
        match self {
            Halt::Instant(_) => format!(
                "virtual time stopped advancing at {at}: more than {MAX_EVENTS_PER_INSTANT} events at that instant; a path with neither delay nor rate lets TCP send without limit at one instant: give its links a delay or a rate"
            ),
            Halt::Storm(s) => {
                let who = match s.component {
                    Component::Node(n) => format!(
                        "node '{}' woke itself",
                        crate::lab::escape(&lab.nodes[n].name)
                    ),
                    Component::Link(l) => format!(
                        "link '{}' carried packets",
                        crate::lab::escape(&lab.links[l].name)
                    ),
                    Component::Fault => "faults fired".to_string(),
                };
                format!(
                    "a storm of events stopped the run at {at}: {who} for {:.0}% of the last {} events, at {:.2e} events per virtual second over {} events in a row, more than {:.2e} ({}x the budget estimate's peak rate); this is a fault of the emulator's model, not of the lab: please report it with the lab file",
                    s.share * 100.0,
                    watchdog::WINDOW,
                    s.rate,
                    u64::from(watchdog::STRETCH + 1) * watchdog::WINDOW,
                    s.allowed,
                    watchdog::FACTOR
                )
            }
        }
    }
}

/// More events than this at one instant means virtual time has stopped advancing: a path with
/// neither delay nor rate lets TCP exchange data without limit at one instant. The run stops
/// there, and says so, instead of never ending. A legitimate burst (a full queue released at
/// once, every app and session starting at time 0) is thousands of events; a million leaves
/// room for labs a thousand times larger and stops a stalled run in a fraction of a second.
pub const MAX_EVENTS_PER_INSTANT: u64 = 1_000_000;

impl Sim {
    /// Scheduler lanes of one kind: one per link direction.
    fn lanes_per_kind(lab: &Lab) -> usize {
        2 * lab.links.len()
    }

    pub fn now(&self) -> Time {
        self.sched.now()
    }

    pub fn events(&self) -> u64 {
        self.sched.processed()
    }

    /// Runs every event due up to `until` (capped at the lab's duration).
    pub fn run_until(&mut self, until: Time) {
        let until = until.min(self.lab.duration);
        if self.halt.is_some() {
            return;
        }
        while let Some((now, event)) = self.sched.pop_until(until) {
            if now == self.instant {
                self.at_instant += 1;
                if self.at_instant > MAX_EVENTS_PER_INSTANT {
                    self.halt = Some(Halt::Instant(now));
                    return;
                }
            } else {
                (self.instant, self.at_instant) = (now, 0);
            }
            let component = match &event {
                Event::Deliver { link, .. } | Event::Transmit { link, .. } => {
                    Component::Link(LinkId(*link as usize))
                }
                Event::Wake { node } => Component::Node(NodeId(*node as usize)),
                Event::Fault { .. } => Component::Fault,
            };
            if let Some(storm) = self.watchdog.event(now, component) {
                self.halt = Some(Halt::Storm(storm));
                return;
            }
            match event {
                Event::Deliver {
                    link,
                    dir,
                    epoch,
                    path,
                    packet,
                } => self.deliver(Event::at(link, dir), epoch, path, packet),
                Event::Wake { node } => {
                    let node = NodeId(node as usize);
                    match &mut self.nodes[node] {
                        NodeState::Host(h) if h.pending_wake == Some(now) => {
                            h.pending_wake = None;
                            self.poll_host(node);
                        }
                        NodeState::Router(r) if r.pending_wake == Some(now) => {
                            r.pending_wake = None;
                            self.poll_router(node);
                        }
                        _ => {}
                    }
                }
                Event::Transmit {
                    link,
                    dir,
                    path,
                    packet,
                } => self.send(Event::at(link, dir), path, packet),
                Event::Fault { index } => self.fault(index as usize),
            }
        }
        self.sched.advance_to(until);
    }

    /// Attaches an export: from now on it sees every packet sent, dropped and delivered on
    /// every link direction and every control-plane event and route change. It never changes
    /// what the run computes.
    pub fn observe(&mut self, export: Box<dyn Observer>) {
        self.exports.push(export);
    }

    /// Tells every export the run ended, for it to write out what it buffers: what each
    /// wrote, or the first export's error.
    pub fn finish_exports(&mut self) -> std::io::Result<Vec<String>> {
        let now = self.sched.now();
        self.exports.iter_mut().try_for_each(|o| o.finish(now))?;
        Ok(self.exports.iter().filter_map(|o| o.outcome()).collect())
    }

    /// The instant the run stopped at before its end, if it did.
    pub fn stalled(&self) -> Option<Time> {
        self.halt.as_ref().map(Halt::at)
    }

    /// Why the run stopped before its end, if it did.
    pub fn halt(&self) -> Option<&Halt> {
        self.halt.as_ref()
    }

    /// Replaces the watchdog (tests use one with a small window or a low yardstick).
    pub fn set_watchdog(&mut self, watchdog: Watchdog) {
        self.watchdog = watchdog;
    }

    /// Keeps every probe's record from now on, for tests and per-probe exports.
    pub fn keep_probe_logs(&mut self) {
        for r in &mut self.records {
            if let Some(p) = r.probes_mut() {
                p.keep_log();
            }
        }
    }

    /// What each app has measured so far, in the lab's order.
    pub fn records(&self) -> &[AppRecord] {
        &self.records
    }

    /// Every router's counters so far (what it forwarded, and dropped by cause), in node order.
    pub fn router_counts(&self) -> Vec<&crate::results::RouterRecord> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                NodeState::Router(r) => Some(&r.stats),
                NodeState::Host(_) => None,
            })
            .collect()
    }

    /// The time of the latest route change of any router so far.
    pub fn last_route_change(&self) -> Option<Time> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                NodeState::Router(r) => r.route_log.last().map(|c| c.time),
                NodeState::Host(_) => None,
            })
            .max()
    }

    /// Whether every BGP session of every router is established.
    pub fn bgp_established(&self) -> bool {
        self.nodes.iter().all(|n| match n {
            NodeState::Router(r) => r.control.as_ref().is_none_or(|c| c.all_established()),
            NodeState::Host(_) => true,
        })
    }

    /// Ends the run here, as if the lab lasted until now: apps stop now, and the faults after
    /// now never happen. For a caller that has seen what it ran for.
    pub fn end_here(&mut self) {
        let now = self.sched.now();
        self.lab.cut_short(now);
    }

    /// Runs to the end and returns what was measured.
    pub fn run(mut self) -> Results {
        self.run_until(self.lab.duration);
        self.finish()
    }

    /// Offers `packet` to link direction `to`.
    fn send(&mut self, to: LinkDir, path: u64, packet: Vec<u8>) {
        send(
            &mut self.sched,
            &mut self.links,
            &mut self.free,
            &mut self.exports,
            (to, path),
            packet,
        );
    }

    fn deliver(&mut self, at: LinkDir, epoch: u32, path: u64, mut packet: Vec<u8>) {
        let now = self.sched.now();
        let on = On { at, path };
        if !self.links[at].arrive(epoch, packet.len()) {
            for o in &mut self.exports {
                o.dropped(now, on, &packet, LinkDrop::Down);
            }
            self.free.push(packet);
            return;
        }
        for o in &mut self.exports {
            o.delivered(now, on, &packet);
        }
        let (node, iface) = self.lab.links[at.link].receiver(at.dir);
        if matches!(self.nodes[node], NodeState::Host(_)) {
            self.probe_paths.delivered(now, on, &packet);
            for t in self.probe_paths.drain() {
                if let Some(p) = self.records[t.app].probes_mut() {
                    p.tag_path(t.seq, t.sent, t.outbound, t.path);
                }
            }
        }
        match &mut self.nodes[node] {
            NodeState::Host(h) => {
                h.deliver(packet);
                self.poll_host(node);
            }
            NodeState::Router(r) => {
                let links = &self.links;
                let up = |f: Iface| links[f.out()].is_up();
                let action = r.process(self.sched.now(), &mut packet, iface, up);
                self.emit(node, action, packet, false, path);
            }
        }
    }

    /// Carries out a router's decision about a packet: to its own stack, through the router's
    /// egress ([`Router::egress`]) onto a link, or into the free list. `own` marks the router's
    /// own packets; `path` is where the packet has been so far.
    fn emit(&mut self, node: NodeId, action: Action, packet: Vec<u8>, own: bool, path: u64) {
        let NodeState::Router(r) = &mut self.nodes[node] else {
            return;
        };
        let (out, tunnel, unwrapped) = match action {
            Action::Drop => {
                self.free.push(packet);
                return;
            }
            Action::Taken(k) => {
                self.free.push(packet);
                self.poll_router_part(node, Some(k), true);
                return;
            }
            Action::Local => {
                if let Some(c) = &mut r.control {
                    c.deliver(packet);
                }
                self.poll_router_part(node, None, true);
                return;
            }
            Action::Forward {
                iface,
                tunnel,
                unwrapped,
            } => (iface, tunnel, unwrapped),
        };
        let f = r.ifaces[out];
        let now = self.sched.now();
        let mtu = self.links[f.out()].params.mtu;
        match r.egress(now, out, tunnel, unwrapped, packet.len(), mtu, own) {
            None => self.free.push(packet),
            Some(t) if t > now => {
                let (link, dir) = Event::on(f.out());
                let event = Event::Transmit {
                    link,
                    dir,
                    path,
                    packet,
                };
                // A gateway's departures onto one link direction are a lane too, after the
                // arrival lanes.
                let lane = Sim::lanes_per_kind(&self.lab) + f.out().lane();
                self.sched.schedule_in_lane(lane, t, event);
            }
            Some(_) => self.send(f.out(), path, packet),
        }
    }

    fn poll_router(&mut self, node: NodeId) {
        self.poll_router_part(node, None, false);
    }

    /// Polls a router: all of it, or only its TCP-carried tunnel `stream`. Either way its
    /// pending wake-up stays the earliest any part wants: a part polled alone can only ask for
    /// an earlier one, and the others' still stand. `received`: the poll follows a packet
    /// handed to the router's own stack or tunnel.
    fn poll_router_part(&mut self, node: NodeId, stream: Option<usize>, received: bool) {
        let now = self.sched.now();
        let NodeState::Router(r) = &mut self.nodes[node] else {
            return;
        };
        let routes_before = r.route_log.len();
        let wake = match stream {
            Some(k) => r.poll_stream(now, k, &mut self.free),
            None => r.poll(now, &mut self.free),
        };
        let mut packets = std::mem::take(&mut r.outbox);
        if let Some(c) = &mut r.control {
            packets.append(c.outbox());
        }
        let mut sent = !packets.is_empty();
        for mut packet in packets.drain(..) {
            let NodeState::Router(r) = &mut self.nodes[node] else {
                return;
            };
            let links = &self.links;
            let action = r.originate(&mut packet, |f: Iface| links[f.out()].is_up());
            self.emit(node, action, packet, true, 0);
        }
        let NodeState::Router(r) = &mut self.nodes[node] else {
            return;
        };
        // Give the (now empty) buffer back, keeping its capacity.
        r.outbox = packets;
        // What came out of TCP-carried tunnels goes on like what comes out of ESP.
        let unwrapped = r.take_unwrapped();
        sent |= !unwrapped.is_empty();
        for (mut packet, k) in unwrapped {
            let NodeState::Router(r) = &mut self.nodes[node] else {
                return;
            };
            let links = &self.links;
            let action = r.forward_unwrapped(&mut packet, k, |f: Iface| links[f.out()].is_up());
            self.emit(node, action, packet, false, 0);
        }
        let NodeState::Router(r) = &mut self.nodes[node] else {
            return;
        };
        if !self.exports.is_empty() {
            let seen = &mut self.seen_logs[node];
            let control = r.control.as_ref().map_or(&[][..], |c| &c.log[..]);
            for e in control[seen.0..].iter().chain(&r.log[seen.1..]) {
                for o in &mut self.exports {
                    o.control(e);
                }
            }
            for c in &r.route_log[seen.2..] {
                for o in &mut self.exports {
                    o.route_change(c);
                }
            }
            *seen = (control.len(), r.log.len(), r.route_log.len());
        }
        let progressed = received || sent || r.route_log.len() != routes_before;
        if let Some(w) = wake.map(|w| self.next_wake(node, w, progressed)) {
            let NodeState::Router(r) = &mut self.nodes[node] else {
                return;
            };
            if r.pending_wake.is_none_or(|p| w < p) {
                r.pending_wake = Some(w);
                self.sched.schedule(w, Event::wake(node));
            }
        }
    }

    /// The wake-up a node asked for after a poll at `now`, checked against the rule every
    /// component that wakes itself keeps ([`crate::substrate::engine`]): a poll that sent and received
    /// nothing asks for a later instant. Builds with debug assertions stop at a breach, naming
    /// the node; others move the wake-up to the next nanosecond, and the run's watchdog
    /// ([`Watchdog`]) stops a storm of such polls.
    fn next_wake(&self, node: NodeId, wake: Time, progressed: bool) -> Time {
        let now = self.sched.now();
        debug_assert!(
            wake > now || progressed,
            "'{}' asked to be woken at {wake} ns, not after now ({now} ns), from a poll that sent and received nothing: a component that wakes itself must advance virtual time between polls that make no progress",
            self.lab.nodes[node].name
        );
        wake.max(now.saturating_add(1))
    }

    fn poll_node(&mut self, node: NodeId) {
        match &self.nodes[node] {
            NodeState::Host(_) => self.poll_host(node),
            NodeState::Router(r) if r.needs_polls() => self.poll_router(node),
            NodeState::Router(_) => {}
        }
    }

    fn poll_host(&mut self, node: NodeId) {
        let now = self.sched.now();
        let NodeState::Host(h) = &mut self.nodes[node] else {
            return;
        };
        let received = h.has_inbox();
        let wake = h.poll(now, &mut self.free, &mut self.records);
        let progressed = received || !h.outbox().is_empty();
        let f = self.lab.nodes[node].ifaces[0];
        for packet in h.outbox().drain(..) {
            send(
                &mut self.sched,
                &mut self.links,
                &mut self.free,
                &mut self.exports,
                (f.out(), 0),
                packet,
            );
        }
        if let Some(w) = wake.map(|w| self.next_wake(node, w, progressed)) {
            let NodeState::Host(h) = &mut self.nodes[node] else {
                return;
            };
            if h.pending_wake.is_none_or(|p| w < p) {
                h.pending_wake = Some(w);
                self.sched.schedule(w, Event::wake(node));
            }
        }
    }

    fn fault(&mut self, index: usize) {
        let now = self.sched.now();
        for o in &mut self.exports {
            o.fault(now, &self.lab.faults[index].label);
        }
        match &self.lab.faults[index].action {
            FaultKind::LinkState { link, up } => {
                for d in &mut self.links[*link] {
                    d.set_up(now, *up);
                }
            }
            FaultKind::NodeState { node, up } => {
                for f in &self.lab.nodes[*node].ifaces {
                    for d in &mut self.links[f.link] {
                        d.set_up(now, *up);
                    }
                }
                if let NodeState::Router(r) = &mut self.nodes[*node] {
                    if let Some(c) = &mut r.control {
                        c.reset(now, None);
                    }
                }
                self.poll_node(*node);
            }
            FaultKind::BgpReset { node, peer } => {
                if let NodeState::Router(r) = &mut self.nodes[*node] {
                    if let Some(c) = &mut r.control {
                        c.reset(now, Some(*peer));
                    }
                }
                self.poll_node(*node);
            }
            FaultKind::LinkChange {
                link,
                sides,
                change,
            } => {
                for &s in sides {
                    let d = &mut self.links[link.dir(s)];
                    let params = change.apply(&d.params);
                    d.reconfigure(params);
                }
            }
        }
    }
}

/// A packet's path so far, extended by link direction `by`: equal for packets that crossed the
/// same links in the same order.
fn extend_path(path: u64, by: LinkDir) -> u64 {
    (path.rotate_left(7) ^ (by.lane() as u64 + 1)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Offers a packet to a link direction (`to`: the direction, the path so far) and schedules
/// its arrival, or recycles it if dropped; the exports see both.
fn send(
    sched: &mut Scheduler<Event>,
    links: &mut PerLinkDir<Direction>,
    free: &mut Vec<Vec<u8>>,
    exports: &mut [Box<dyn Observer>],
    to: (LinkDir, u64),
    packet: Vec<u8>,
) {
    let (at, path) = to;
    let now = sched.now();
    let on = On { at, path };
    let fate = links[at].send(now, packet.len());
    if !exports.is_empty() {
        let queued = links[at].queue_depth(now);
        for o in exports.iter_mut() {
            o.sent(now, on, &packet, queued);
        }
    }
    match fate {
        // Each link direction's arrivals are a lane: in order unless jitter or a shorter
        // delay reorders them (the scheduler handles both).
        Fate::Arrives { at: when, epoch } => {
            let (link, dir) = Event::on(at);
            let event = Event::Deliver {
                link,
                dir,
                epoch,
                path: extend_path(path, at),
                packet,
            };
            sched.schedule_in_lane(at.lane(), when, event)
        }
        Fate::Dropped(cause) => {
            for o in exports.iter_mut() {
                o.dropped(now, on, &packet, cause);
            }
            free.push(packet)
        }
    }
}

/// Validates nothing: runs an already validated lab to the end.
pub fn run(lab: &Lab) -> Results {
    Sim::new(lab).run()
}

/// [`run`] with `exports` watching: the results, and what each export wrote (or the first
/// export's error).
pub fn run_with_exports(
    lab: &Lab,
    exports: Vec<Box<dyn Observer>>,
) -> std::io::Result<(Results, Vec<String>)> {
    let mut sim = Sim::new(lab);
    for e in exports {
        sim.observe(e);
    }
    sim.run_until(lab.duration);
    let written = sim.finish_exports()?;
    Ok((sim.finish(), written))
}

/// [`run`], keeping every probe's record as well ([`crate::results::ProbeRecord::log`]):
/// memory then grows with the run's length. What the run computes is the same.
pub fn run_with_probe_logs(lab: &Lab) -> Results {
    let mut sim = Sim::new(lab);
    sim.keep_probe_logs();
    sim.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_hosts() -> Sim {
        let text = r#"(name: "t", seed: 1, duration: "1s",
            nodes: [Host(name: "a"), Host(name: "b")],
            links: [(name: "wire", a: (node: "a", ip: "10.0.0.1/24"), b: (node: "b", ip: "10.0.0.2/24"), delay: "1ms")],
            apps: [])"#;
        Sim::new(&crate::input::load_str(text, std::path::Path::new("t.ron")).unwrap())
    }

    #[test]
    fn a_poll_that_made_progress_may_ask_for_now_and_is_moved_on_a_nanosecond() {
        let sim = two_hosts();
        assert_eq!(sim.next_wake(NodeId(0), 0, true), 1);
        assert_eq!(sim.next_wake(NodeId(1), 5, false), 5);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(
        expected = "'b' asked to be woken at 0 ns, not after now (0 ns), from a poll that sent and received nothing"
    )]
    fn a_poll_without_progress_that_asks_for_now_again_names_the_node() {
        two_hosts().next_wake(NodeId(1), 0, false);
    }
}
