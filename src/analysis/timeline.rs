//! The failover timeline: for each fault (faults at the same instant count as one), when the
//! control plane detected it and by what, when each router moved its routes, and the outage each
//! application saw: the gap between the last packet delivered before and the first after, or for
//! TCP the longest stall. Latency per phase (between faults) is computed here too.

use crate::control::bgp::DownReason;
use crate::control::plane::What;
use crate::results::histogram::Latencies;
use crate::substrate::engine::Time;

use crate::analysis::{us, Figures, Latency};
use crate::results::{AppRecord, Measured, Results, STALL_MIN};
use serde::Serialize;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Detection {
    pub at_us: f64,
    /// Time from the fault.
    pub after_us: f64,
    pub router: String,
    pub peer: Ipv4Addr,
    /// "BFD", "hold timer", "connection closed", "notification", "reset"; after a repair
    /// "BFD up" or "BGP established".
    pub by: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouteMove {
    pub router: String,
    pub at_us: f64,
    pub after_us: f64,
    pub prefix: String,
    /// The BGP next hops after the change; empty when withdrawn.
    pub next_hops: Vec<Ipv4Addr>,
    /// Where the same prefix on the same router settled: its last change before the next
    /// fault (the first one if there was no other).
    pub settled_at_us: f64,
    pub settled_after_us: f64,
    pub settled_next_hops: Vec<Ipv4Addr>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outage {
    pub app: String,
    /// The gap the application saw, from its last delivery before the fault to its first after
    /// (probes), or its longest stall (TCP); 0 when nothing was lost or stalled. A gap that
    /// spans several faults is listed under the first of them, which began it; a gap between
    /// faults under the one whose phase holds it.
    pub outage_us: f64,
    /// Last delivery before the gap and first after it.
    pub from_us: f64,
    pub to_us: f64,
    /// Probes lost within the outage (probe and ping apps).
    pub lost: u64,
    /// UDP probes: when the first packet (probe or echo) was delivered over a path other than
    /// the one the last answered probe before the fault took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_path_us: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FaultTimeline {
    pub at_us: f64,
    pub fault: String,
    /// The first reaction of the control plane after the fault: a failure detected (BFD, hold
    /// timer, ...) or, after a repair, a session coming up.
    pub detection: Option<Detection>,
    /// Each router's first route change after the fault, in time order, with where that
    /// route settled.
    pub route_changes: Vec<RouteMove>,
    pub outages: Vec<Outage>,
}

/// Latency of an app within one phase of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Phase {
    /// "start", then the description of the fault that began the phase.
    pub phase: String,
    pub from_us: f64,
    pub to_us: f64,
    /// The app's figures within the phase: probes and requests sent in it (completion times of
    /// the requests issued in it), bulk TCP's bytes read in it over the time the app ran in it.
    #[serde(flatten)]
    pub figures: Figures,
}

/// Fault instants and their joined descriptions.
fn fault_groups(r: &Results) -> Vec<(Time, String)> {
    let mut groups: Vec<(Time, String)> = Vec::new();
    for (t, label) in &r.faults {
        match groups.last_mut() {
            Some((last, text)) if last == t => {
                if !text.split(", ").any(|x| x == label) {
                    text.push_str(", ");
                    text.push_str(label);
                }
            }
            _ => groups.push((*t, label.clone())),
        }
    }
    groups
}

fn how(what: &What) -> Option<&'static str> {
    match what {
        What::BfdUp => Some("BFD up"),
        What::BgpEstablished => Some("BGP established"),
        What::BfdDown(_) => Some("BFD"),
        What::DpdDead => Some("DPD"),
        What::DpdAlive => Some("DPD alive"),
        What::BgpDown(DownReason::HoldTimerExpired) => Some("hold timer"),
        What::BgpDown(DownReason::ConnectionClosed) => Some("connection closed"),
        What::BgpDown(DownReason::Notification(_)) => Some("notification"),
        What::BgpDown(DownReason::Reset) => Some("reset"),
        _ => None,
    }
}

/// The fault instant (index into `faults`, sorted) a gap belongs to: the last fault at or before
/// `due`, when the first delivery the gap misses was due. That fault began the gap (or its phase
/// holds it); a later fault inside the gap (a restoration) did not, and an outage is never
/// listed under a fault it did not follow. `None` for a gap that began before any fault.
fn owner(faults: &[Time], due: Time) -> Option<usize> {
    faults.partition_point(|&f| f <= due).checked_sub(1)
}

/// The gaps an app saw, as (last delivery before, first after, probes lost within, when the
/// first missing delivery was due): between answers with a lost probe in between (probes,
/// pings: due one interval after the last answer), between completions two normal intervals or
/// more apart (requests: one interval), or the receiver's stalls (bulk TCP: within the first
/// [`STALL_MIN`] of silence).
pub fn gaps(app: &AppRecord) -> Vec<(Time, Time, u64, Time)> {
    let due = |a: Time, b: Time, after: Time| a.saturating_add(after).min(b);
    match &app.measured {
        // What the sending application sees: answers coming back.
        Measured::UdpProbe(p) | Measured::Ping(p) => p
            .gaps()
            .map(|(a, b, l)| (a, b, l, due(a, b, p.interval)))
            .collect(),
        Measured::TcpRequestResponse(e) => e
            .gaps()
            .map(|(a, b, l)| (a, b, l, due(a, b, e.interval)))
            .collect(),
        Measured::TcpBulk(r) => r
            .read_gaps
            .iter()
            .map(|&(a, b)| (a, b, 0, due(a, b, STALL_MIN)))
            .collect(),
    }
}

/// App `app`'s outage for fault instant `i` of `faults`: the largest of its gaps that belong to
/// that fault (see [`owner`]), so that a gap spanning several faults is listed once.
fn outage(app: &AppRecord, faults: &[Time], i: usize) -> Outage {
    let mut o = Outage {
        app: app.name.clone(),
        outage_us: 0.0,
        from_us: 0.0,
        to_us: 0.0,
        lost: 0,
        new_path_us: app.probes().and_then(|p| p.new_path(i)).map(us),
    };
    let largest = gaps(app)
        .into_iter()
        .filter(|&(_, _, _, due)| owner(faults, due) == Some(i))
        .max_by_key(|&(a, b, _, _)| (b - a, std::cmp::Reverse(a)));
    if let Some((a, b, lost, _)) = largest {
        (o.outage_us, o.from_us, o.to_us, o.lost) = (us(b - a), us(a), us(b), lost);
    }
    o
}

/// One timeline per fault instant.
pub fn timelines(r: &Results) -> Vec<FaultTimeline> {
    let groups = fault_groups(r);
    let instants: Vec<Time> = groups.iter().map(|g| g.0).collect();
    groups
        .iter()
        .enumerate()
        .map(|(i, (at, fault))| {
            let end = groups.get(i + 1).map_or(r.duration, |g| g.0);
            let detection = r
                .control
                .iter()
                .filter(|e| e.time >= *at && e.time < end)
                .find_map(|e| {
                    how(&e.what).map(|by| Detection {
                        at_us: us(e.time),
                        after_us: us(e.time - at),
                        router: e.router.clone(),
                        peer: e.peer,
                        by,
                    })
                });
            let mut route_changes: Vec<RouteMove> = Vec::new();
            for c in r
                .route_changes
                .iter()
                .filter(|c| c.time >= *at && c.time < end)
            {
                let prefix = c.prefix.to_string();
                match route_changes.iter_mut().find(|m| m.router == c.router) {
                    None => route_changes.push(RouteMove {
                        router: c.router.clone(),
                        at_us: us(c.time),
                        after_us: us(c.time - at),
                        prefix,
                        next_hops: c.next_hops.clone(),
                        settled_at_us: us(c.time),
                        settled_after_us: us(c.time - at),
                        settled_next_hops: c.next_hops.clone(),
                    }),
                    Some(m) if m.prefix == prefix => {
                        m.settled_at_us = us(c.time);
                        m.settled_after_us = us(c.time - at);
                        m.settled_next_hops = c.next_hops.clone();
                    }
                    Some(_) => {}
                }
            }
            let outages = r.apps.iter().map(|a| outage(a, &instants, i)).collect();
            FaultTimeline {
                at_us: us(*at),
                fault: fault.clone(),
                detection,
                route_changes,
                outages,
            }
        })
        .collect()
}

/// Each app's figures per phase (start, then after each fault instant): probes' and pings'
/// one-way and round-trip times, requests' completion times, bulk TCP's goodput; empty for a
/// lab without faults.
pub fn phases(r: &Results, app: &AppRecord) -> Vec<Phase> {
    let groups = fault_groups(r);
    if groups.is_empty() {
        return Vec::new();
    }
    let bulk = app.bulk();
    let app_end = bulk
        .and_then(|b| b.completed_at)
        .unwrap_or(app.stop.min(r.duration));
    let exchanges = app.exchanges();
    let probes = app.probes();
    let probes_in_flight = probes.map(|p| p.in_flight(r.duration).1);
    let mut bounds = vec![(0, "start".to_string())];
    bounds.extend(groups);
    bounds
        .iter()
        .enumerate()
        .map(|(i, (from, name))| {
            let to = bounds.get(i + 1).map_or(r.duration, |b| b.0);
            let (mut one_way, mut rtt, mut completion) =
                (Latencies::new(), Latencies::new(), Latencies::new());
            let (mut sent, mut lost, mut in_flight) = (0, 0, 0);
            if let Some(e) = exchanges {
                completion = e.phases[i].clone();
                sent = completion.len();
            }
            if let (Some(p), Some(flying)) = (probes, &probes_in_flight) {
                let phase = &p.phases[i];
                sent = phase.sent;
                in_flight = flying[i];
                lost = phase.sent - phase.rtt.len() - in_flight;
                one_way = phase.one_way.clone();
                rtt = phase.rtt.clone();
            }
            // Bulk TCP: bytes read in the phase over the part of it the app was running.
            let active = to.min(app_end).saturating_sub((*from).max(app.start));
            let goodput_bps = bulk.filter(|_| active > 0).map(|b| {
                let bytes = b.phase_bytes.get(i).copied().unwrap_or(0);
                bytes as f64 * 8.0 / (active as f64 / 1e9)
            });
            Phase {
                phase: name.clone(),
                from_us: us(*from),
                to_us: us(to),
                figures: Figures {
                    sent,
                    lost,
                    in_flight,
                    goodput_bps,
                    one_way: Latency::of(&one_way),
                    rtt: Latency::of(&rtt),
                    completion: Latency::of(&completion),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_belongs_to_the_last_fault_before_its_first_missing_delivery() {
        let faults = [8, 20, 23];
        // Gaps as (last delivery, first missing one due).
        assert_eq!(
            owner(&faults, 20),
            Some(1),
            "began by the fault at 20, not 23"
        );
        assert_eq!(
            owner(&faults, 11),
            Some(0),
            "inside the phase of the fault at 8"
        );
        assert_eq!(owner(&faults, 25), Some(2));
        assert_eq!(
            owner(&faults, 3),
            None,
            "before any fault, whatever it spans"
        );
        // A delivery just after a fault, then silence through a restoration at 50: the fault
        // at 20 began it.
        let faults = [20_000_000_000, 50_000_000_000];
        assert_eq!(owner(&faults, 20_000_000_400 + 20_000_000), Some(0));
    }
}
