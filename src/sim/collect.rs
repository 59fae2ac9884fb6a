//! Gathering what a run measured into [`Results`]: the apps' records, every link's, router's and
//! tunnel's counters, the control-plane and route logs, and the TTL-expired drops.

use super::{NodeState, Sim};
use crate::lab::model::{Lab, NodeKind};
use crate::results::{LinkRecord, Results, TtlExpiry, TunnelRecord, TunnelStats};
use crate::substrate::ids::LinkId;

impl Sim {
    /// What was measured up to now.
    pub fn finish(self) -> Results {
        let end = self.sched.now();
        let lab = self.lab;
        Results {
            lab: lab.name.clone(),
            assumptions: lab.assumptions.clone(),
            seed: lab.seed,
            duration: lab.duration,
            events: self.sched.processed(),
            apps: self.records,
            links: lab
                .links
                .iter()
                .enumerate()
                .map(|(i, l)| (l, &self.links[LinkId(i)]))
                .map(|(l, d)| LinkRecord {
                    name: l.name.clone(),
                    ends: [
                        lab.nodes[l.ends[0].0].name.clone(),
                        lab.nodes[l.ends[1].0].name.clone(),
                    ],
                    dirs: [d[0].stats.clone(), d[1].stats.clone()],
                })
                .collect(),
            tunnels: lab
                .tunnels
                .iter()
                .enumerate()
                .map(|(i, t)| TunnelRecord {
                    name: t.name.clone(),
                    ends: t.ends.map(|(n, _)| lab.nodes[n].name.clone()),
                    stats: [0, 1].map(|side| tunnel_end(&lab, &self.nodes, i, side, end)),
                })
                .collect(),
            stalled_at: self.halt.as_ref().map(super::Halt::at),
            stopped_because: self.halt.as_ref().map(|h| h.describe(&lab)),
            // Faults that happened: a run cut short (`--duration`) never reached the others.
            faults: lab
                .faults
                .iter()
                .filter(|f| f.at <= lab.duration && !f.continues)
                .map(|f| (f.at, f.label.clone()))
                .collect(),
            control: {
                let mut log: Vec<_> = self
                    .nodes
                    .iter()
                    .filter_map(|n| match n {
                        NodeState::Router(r) => Some(
                            r.control
                                .as_ref()
                                .map(|c| c.log.clone())
                                .unwrap_or_default()
                                .into_iter()
                                .chain(r.log.iter().cloned()),
                        ),
                        NodeState::Host(_) => None,
                    })
                    .flatten()
                    .collect();
                log.sort_by_key(|e| e.time);
                log
            },
            route_changes: {
                let mut log: Vec<_> = self
                    .nodes
                    .iter()
                    .filter_map(|n| match n {
                        NodeState::Router(r) => Some(r.route_log.clone()),
                        NodeState::Host(_) => None,
                    })
                    .flatten()
                    .collect();
                log.sort_by_key(|e| e.time);
                log
            },
            ttl_expiries: self
                .nodes
                .iter()
                .filter_map(|n| match n {
                    NodeState::Router(r) => Some(r),
                    NodeState::Host(_) => None,
                })
                .flat_map(|r| {
                    r.ifaces
                        .iter()
                        .zip(&r.ttl_expired)
                        .filter(|(_, e)| e.count > 0)
                        .map(|(f, e)| {
                            let link = &lab.links[f.link];
                            TtlExpiry {
                                router: r.stats.name.clone(),
                                link: link.name.clone(),
                                from: lab.nodes[link.receiver(f.side).0].name.clone(),
                                count: e.count,
                                first: e.first,
                                last: e.last,
                            }
                        })
                })
                .collect(),
            routers: self
                .nodes
                .into_iter()
                .filter_map(|n| match n {
                    NodeState::Router(r) => Some(r.stats),
                    NodeState::Host(_) => None,
                })
                .collect(),
        }
    }
}

/// The counters of end `side` of tunnel `index`.
fn tunnel_end(
    lab: &Lab,
    nodes: &[NodeState],
    index: usize,
    side: usize,
    end: crate::substrate::engine::Time,
) -> TunnelStats {
    let node = lab.tunnels[index].ends[side].0;
    match (&lab.nodes[node].kind, &nodes[node]) {
        (NodeKind::Router(model), NodeState::Router(r)) => model
            .tunnels
            .iter()
            .position(|&e| e == (index, side))
            .map(|k| r.tunnel_stats(k, end))
            .unwrap_or_default(),
        _ => TunnelStats::default(),
    }
}
