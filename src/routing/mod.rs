//! The routing of a lab as its engineer sees it in the portal and on their own routers, at
//! chosen instants of a run: a VM's effective routes, a gateway's learned and advertised
//! routes, a circuit's route table per path, a router's BGP and forwarding tables
//! ([`views`]); and the path of one packet ([`path`]).
//!
//! Every table is read from the run's own state at that instant ([`Sim::tables`]), every path
//! from the routers' own lookups ([`Sim::trace`]): nothing here selects routes a second time.

pub mod path;
pub mod text;
pub mod views;

use crate::lab::model::Lab;
use crate::sim::Sim;
use crate::substrate::engine::Time;
use crate::substrate::ids::NodeId;
use serde::Serialize;
pub use views::View;

/// How long without a route change counts as settled.
pub const QUIET: Time = 5_000_000_000;
/// The step a run advances by while waiting to settle.
const SLICE: Time = 500_000_000;

/// An instant to show, and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    /// Nanoseconds.
    pub at: Time,
    pub label: String,
}

/// The tables of `nodes` once the control plane has converged (every BGP session established
/// and no route change for [`QUIET`]), then once after each fault instant has settled (no
/// route change for [`QUIET`], or just before the next fault): what `emulate routes` shows
/// without `--at`. Each is read at the instant it was found settled, which its label says
/// along with the last route change before it. One run of the lab.
pub fn settled_routes(lab: &Lab, nodes: &[NodeId]) -> Vec<Snapshot> {
    let mut sim = Sim::new(lab);
    let mut out = Vec::new();
    let mut faults: Vec<(Time, Vec<String>)> = Vec::new();
    for f in &lab.faults {
        match faults.last_mut() {
            Some((t, labels)) if *t == f.at => {
                if !labels.contains(&f.label) {
                    labels.push(f.label.clone());
                }
            }
            _ => faults.push((f.at, vec![f.label.clone()])),
        }
    }
    let first = faults.first().map_or(lab.duration, |f| f.0);
    let last = settle(&mut sim, 0, first.saturating_sub(1), true);
    out.push(snapshot(&sim, lab, nodes, "converged".to_string(), last));
    for (i, (at, labels)) in faults.iter().enumerate() {
        if *at >= lab.duration || sim.halt().is_some() {
            break;
        }
        let next = faults.get(i + 1).map_or(lab.duration, |f| f.0);
        sim.run_until(*at);
        let last = settle(&mut sim, *at, next.saturating_sub(1), false);
        let label = format!(
            "after {} (at {})",
            labels.join(", "),
            crate::units::format_nanos(*at)
        );
        let mut s = snapshot(&sim, lab, nodes, label, last);
        s.after_fault = Some(*at);
        out.push(s);
    }
    out
}

/// The instant the control plane of `lab` has converged, as [`settled_routes`] finds it.
pub fn converged(lab: &Lab) -> Time {
    let mut sim = Sim::new(lab);
    let first = lab.faults.first().map_or(lab.duration, |f| f.at);
    settle(&mut sim, 0, first.saturating_sub(1), true);
    sim.now()
}

fn snapshot(sim: &Sim, lab: &Lab, nodes: &[NodeId], label: String, last: Option<Time>) -> Snapshot {
    let label = match last {
        Some(t) => format!(
            "{label}; last route change at {}",
            crate::units::format_nanos(t)
        ),
        None => label,
    };
    Snapshot {
        moment: Moment {
            at: sim.now(),
            label,
        },
        after_fault: None,
        views: views::of(sim, lab, nodes),
    }
}

/// Runs `sim` from `from` until routes have not changed for [`QUIET`] (and, with
/// `established`, every BGP session is up), or until `limit`. The last route change at or
/// after `from`, if any.
fn settle(sim: &mut Sim, from: Time, limit: Time, established: bool) -> Option<Time> {
    loop {
        let t = sim.now().saturating_add(SLICE).min(limit);
        sim.run_until(t);
        let last = sim.last_route_change().filter(|&c| c >= from);
        let quiet = t >= last.unwrap_or(from).saturating_add(QUIET)
            && (!established || sim.bgp_established());
        if quiet || t >= limit || sim.halt().is_some() {
            return last;
        }
    }
}

/// The tables of one instant.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    #[serde(flatten)]
    pub moment: Moment,
    /// The fault instant this follows (ns), for a snapshot taken once it settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_fault: Option<Time>,
    pub views: Vec<View>,
}

/// The nodes `names` ask for (all when empty), or an error naming the unknown one.
pub fn select_nodes(lab: &Lab, names: &[String]) -> Result<Vec<NodeId>, String> {
    if names.is_empty() {
        return Ok((0..lab.nodes.len()).map(NodeId).collect());
    }
    let all: Vec<&str> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
    names
        .iter()
        .map(|name| {
            all.iter()
                .position(|n| n == name)
                .map(NodeId)
                .ok_or_else(|| {
                    format!(
                        "--node '{name}' is not a node of lab '{}'{}",
                        lab.name,
                        crate::lab::suggest(name, &all)
                    )
                })
        })
        .collect()
}

/// The routing views of `nodes` at each moment, from one run of `lab` (moments in any order:
/// they are shown in time order). Refuses a moment past the end of the lab.
pub fn routes(lab: &Lab, moments: &[Moment], nodes: &[NodeId]) -> Result<Vec<Snapshot>, String> {
    let mut sorted = moments.to_vec();
    sorted.sort_by_key(|m| m.at);
    if let Some(m) = sorted.iter().find(|m| m.at > lab.duration) {
        return Err(format!(
            "--at {}: the lab ends at {}",
            crate::units::format_nanos(m.at),
            crate::units::format_nanos(lab.duration)
        ));
    }
    let mut sim = Sim::new(lab);
    let mut out = Vec::new();
    for m in sorted {
        sim.run_until(m.at);
        out.push(Snapshot {
            views: views::of(&sim, lab, nodes),
            moment: m,
            after_fault: None,
        });
    }
    Ok(out)
}
