//! Building a run from the validated model: links with their random streams, hosts with their
//! stacks, routers with their control planes, each app's record and agents, and the first
//! events.

use super::{Event, NodeState, Sim, Watchdog};
use crate::app;
use crate::control::plane::ControlPlane;
use crate::lab::model::{Lab, NodeKind};
use crate::observe::ProbePaths;
use crate::rng::component_rng;
use crate::router::Router;
use crate::substrate::engine::{Scheduler, Time};
use crate::substrate::host::{Host, HostConfig};
use crate::substrate::ids::{Dir, PerLinkDir};
use crate::substrate::link::Direction;
use rand::RngCore;

impl Sim {
    pub fn new(lab: &Lab) -> Sim {
        let lab = lab.clone();
        let links = PerLinkDir::new(lab.links.len(), |link| {
            let l = &lab.links[link];
            Dir::BOTH.map(|d| {
                let stream = format!("link/{}/{}", l.name, d.label());
                Direction::new(l.dirs[d].clone(), lab.seed, &stream)
            })
        });
        let mut nodes: Vec<NodeState> = lab
            .nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Host(h) => {
                    let addresses: Vec<_> = crate::lab::validate::host_addresses(n).collect();
                    let mtu = n
                        .ifaces
                        .first()
                        .map_or(1500, |f| lab.links[f.link].dirs[f.side].mtu as usize);
                    NodeState::Host(Box::new(Host::new(HostConfig {
                        name: &n.name,
                        addresses: &addresses,
                        gateway: h.gateway,
                        routes: &h.routes,
                        mtu,
                        tcp: h.tcp,
                        rng: component_rng(lab.seed, &format!("host/{}", n.name)),
                    })))
                }
                NodeKind::Router(r) => {
                    let mut router = Router::new(&n.name, &n.ifaces, r, &lab.tunnels, lab.seed);
                    if let Some(bgp) = &r.bgp {
                        let addresses: Vec<_> = crate::lab::validate::host_addresses(n).collect();
                        let seed =
                            component_rng(lab.seed, &format!("router/{}", n.name)).next_u64();
                        let mut plane = ControlPlane::new(
                            &n.name,
                            bgp.asn,
                            &addresses,
                            bgp.originate.clone(),
                            bgp.sessions.clone(),
                            seed,
                        );
                        plane.ignore_as_path = bgp.ignore_as_path;
                        router.control = Some(Box::new(plane));
                    }
                    NodeState::Router(Box::new(router))
                }
            })
            .collect();
        let mut records = Vec::with_capacity(lab.apps.len());
        let mut fault_instants: Vec<Time> = lab
            .faults
            .iter()
            .filter(|f| !f.continues)
            .map(|f| f.at)
            .collect();
        fault_instants.sort_unstable();
        fault_instants.dedup();
        let mut stream_ports = app::StreamPorts::default();
        for (i, a) in lab.apps.iter().enumerate() {
            let (from, to) = (&lab.nodes[a.from].name, &lab.nodes[a.to].name);
            let record = app::record(a, from, to, &fault_instants);
            records.push(record);
            let (lo, hi) = (a.from.min(a.to), a.from.max(a.to));
            let (left, right) = nodes.split_at_mut(hi.index());
            if let (NodeState::Host(x), NodeState::Host(y)) = (&mut left[lo], &mut right[0]) {
                let (from, to) = if a.from < a.to { (x, y) } else { (y, x) };
                app::install(i, a, from, to, &mut stream_ports);
            }
        }
        // Lanes: arrivals on each link direction, then a gateway's departures onto each.
        let mut sched = Scheduler::with_lanes(2 * Sim::lanes_per_kind(&lab));
        for (i, n) in nodes.iter_mut().enumerate() {
            let pending = match n {
                NodeState::Host(h) => &mut h.pending_wake,
                NodeState::Router(r) if r.needs_polls() => &mut r.pending_wake,
                NodeState::Router(_) => continue,
            };
            *pending = Some(0);
            sched.schedule(0, Event::Wake { node: i as u32 });
        }
        for (i, f) in lab.faults.iter().enumerate() {
            sched.schedule(f.at, Event::Fault { index: i as u32 });
        }
        Sim {
            instant: 0,
            at_instant: 0,
            halt: None,
            watchdog: Watchdog::new(
                crate::lab::budget::estimate(&lab).peak_rate(),
                lab.nodes.len(),
                lab.links.len(),
            ),
            probe_paths: ProbePaths::new(&lab),
            exports: Vec::new(),
            seen_logs: vec![(0, 0, 0); lab.nodes.len()],
            lab,
            sched,
            links,
            nodes,
            records,
            free: Vec::new(),
        }
    }
}
