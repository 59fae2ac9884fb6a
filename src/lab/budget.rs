//! What a run will cost, estimated from the validated lab before it starts, and the budget it
//! must fit: a lab that would take hours or more memory than the machine has is refused with
//! the items that cost most and what to change, instead of running until it is killed.
//!
//! Memory counts what is reserved up front or kept per app: every TCP socket's receive and
//! send buffers (smoltcp allocates both when the socket is made), each latency histogram, and
//! bulk transfers' goodput series. Events count the packets the apps put on each link of
//! their path (the path with the fewest links between the two hosts) and the control plane's
//! BFD packets; a bulk transfer moves at most what the slowest link of that path, its buffers
//! over the path's round trip, or its own rate allow. The estimate is an upper bound of the
//! right order, not a prediction: README's budget section compares it with real runs.

use super::model::{Lab, NodeKind, Traffic};
use crate::substrate::engine::Time;
use crate::substrate::ids::{LinkDir, NodeId};
use crate::units::{format_bytes, Bytes};
use std::collections::VecDeque;

/// Events one packet costs per link it crosses: its transmission, its delivery and the
/// receiving node's poll, and a share of the timers (measured on the shipped labs).
const EVENTS_PER_HOP: f64 = 4.0;
/// A full TCP segment on the wire, for packet counts.
const SEGMENT: f64 = 1500.0;
/// ACKs per data segment (a delayed ACK covers two).
const ACKS_PER_SEGMENT: f64 = 0.5;
/// Memory of the run beyond what apps keep: nodes, links, the event queue.
const BASE_MEMORY: u64 = 16 << 20;

/// The engine's speed on one core of the reference machine (README's performance table).
const EVENTS_PER_SECOND: f64 = 7e6;
/// The default events budget: about an hour of wall time at 7 million events per second.
pub const DEFAULT_EVENTS: u64 = 25_000_000_000;

/// What one item of the lab costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// "app 'bulk'", "BGP session ...".
    pub item: String,
    pub memory: u64,
    pub events: f64,
    /// Events per second of virtual time while the item is active.
    pub rate: f64,
    /// How the figures come about, and what lowers them.
    pub detail: String,
}

/// The estimated cost of a run, item by item.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub costs: Vec<Cost>,
}

/// The most a run may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub memory: u64,
    pub events: u64,
}

impl Budget {
    /// Half of this machine's memory (4 GiB when it cannot be read) and [`DEFAULT_EVENTS`].
    pub fn for_this_machine() -> Budget {
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
                kib.checked_mul(1024)
            })
            .unwrap_or(8 << 30);
        Budget {
            memory: total / 2,
            events: DEFAULT_EVENTS,
        }
    }

    /// Applies `memory=SIZE` or `events=N` (as `--budget` gives them).
    pub fn set(&mut self, setting: &str) -> Result<(), String> {
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("--budget {setting}: write memory=SIZE or events=N"))?;
        match key.trim() {
            "memory" => self.memory = value.trim().parse::<Bytes>()?.0,
            "events" => {
                let v: f64 = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("--budget events={value}: not a number"))?;
                if !(v.is_finite() && v >= 1.0 && v < u64::MAX as f64) {
                    return Err(format!("--budget events={value}: not a count of events"));
                }
                self.events = v as u64;
            }
            other => {
                return Err(format!(
                    "--budget {other}: the budget has memory=SIZE and events=N"
                ))
            }
        }
        Ok(())
    }
}

impl Estimate {
    pub fn memory(&self) -> u64 {
        BASE_MEMORY.saturating_add(
            self.costs
                .iter()
                .map(|c| c.memory)
                .fold(0, u64::saturating_add),
        )
    }

    pub fn events(&self) -> f64 {
        self.costs.iter().map(|c| c.events).sum()
    }

    /// Events per second of virtual time with every item active at once: the most the run
    /// should see in any stretch of it (the watchdog's yardstick, [`crate::sim::Watchdog`]).
    pub fn peak_rate(&self) -> f64 {
        self.costs.iter().map(|c| c.rate).sum()
    }

    /// `Err` with what to change when the run would not fit `budget`: the largest items first.
    pub fn fits(&self, budget: &Budget) -> Result<(), String> {
        let mut over = Vec::new();
        if self.memory() > budget.memory {
            over.push(format!(
                "about {} of memory, over the budget of {}",
                format_bytes(self.memory()),
                format_bytes(budget.memory)
            ));
        }
        if self.events() > budget.events as f64 {
            over.push(if self.events().is_finite() {
                format!(
                    "about {:.2e} events ({} of wall time at {:.0e} events per second), over the budget of {:.2e}",
                    self.events(),
                    crate::units::format_nanos((self.events() / EVENTS_PER_SECOND * 1e9) as u64),
                    EVENTS_PER_SECOND,
                    budget.events as f64
                )
            } else {
                "events without limit".to_string()
            });
        }
        if over.is_empty() {
            return Ok(());
        }
        let mut costs: Vec<&Cost> = self.costs.iter().collect();
        costs.sort_by(|a, b| {
            (b.memory as f64 / budget.memory as f64 + b.events / budget.events as f64).total_cmp(
                &(a.memory as f64 / budget.memory as f64 + a.events / budget.events as f64),
            )
        });
        let mut message = format!(
            "the run would need {}; the largest costs:",
            over.join(" and ")
        );
        for c in costs.iter().take(5) {
            message.push_str(&format!(
                "\n  - {}: {} of memory, {:.2e} events: {}",
                c.item,
                format_bytes(c.memory),
                c.events,
                c.detail
            ));
        }
        message.push_str("\nshorten the run or lower what these items ask for, or raise the budget (--budget memory=SIZE, --budget events=N)");
        Err(message)
    }
}

/// Refuses `lab` (read from `path`) when its estimated cost exceeds `budget`.
pub fn admit(
    lab: &Lab,
    path: &std::path::Path,
    budget: &Budget,
) -> Result<Estimate, super::LabError> {
    let e = estimate(lab);
    e.fits(budget)
        .map_err(|message| super::LabError::OverBudget {
            path: path.to_path_buf(),
            name: lab.name.clone(),
            message,
        })?;
    Ok(e)
}

/// The path with the fewest links from node `from` to node `to`, as the link directions it
/// crosses.
fn path(lab: &Lab, from: NodeId, to: NodeId) -> Option<Vec<LinkDir>> {
    let mut came: Vec<Option<(NodeId, LinkDir)>> = vec![None; lab.nodes.len()];
    let mut seen = vec![false; lab.nodes.len()];
    let mut queue = VecDeque::from([from]);
    seen[from] = true;
    while let Some(n) = queue.pop_front() {
        if n == to {
            let mut hops = Vec::new();
            let mut at = to;
            while let Some((prev, hop)) = came[at] {
                hops.push(hop);
                at = prev;
            }
            hops.reverse();
            return Some(hops);
        }
        // Hosts do not forward.
        if n != from && matches!(lab.nodes[n].kind, NodeKind::Host(_)) {
            continue;
        }
        for f in &lab.nodes[n].ifaces {
            let next = lab.links[f.link].receiver(f.side).0;
            if !seen[next] {
                seen[next] = true;
                came[next] = Some((n, f.link.dir(f.side)));
                queue.push_back(next);
            }
        }
    }
    None
}

/// Estimates what running `lab` costs.
pub fn estimate(lab: &Lab) -> Estimate {
    let hist =
        |values: f64| crate::results::histogram::Latencies::heap_bytes_for(values.ceil() as u64);
    let phases = {
        let mut at: Vec<Time> = lab.faults.iter().map(|f| f.at).collect();
        at.sort_unstable();
        at.dedup();
        at.len() as u64 + 1
    };
    let mut costs = Vec::new();
    for a in &lab.apps {
        let seconds = a.stop.saturating_sub(a.start) as f64 / 1e9;
        let route = path(lab, a.from, a.to).unwrap_or_default();
        let hops = route.len().max(1) as f64;
        let delay: Time = route
            .iter()
            .map(|&h| lab.links[h.link].dirs[h.dir].delay)
            .sum();
        let slowest = route
            .iter()
            .filter_map(|&h| lab.links[h.link].dirs[h.dir].rate)
            .chain(route.iter().filter_map(|&h| {
                let end = lab.links[h.link].receiver(h.dir).0;
                match &lab.nodes[end].kind {
                    NodeKind::Router(r) => r.capacity.map(|c| c.throughput),
                    NodeKind::Host(_) => None,
                }
            }))
            .min();
        // A socket's buffers at the start (autotuned ones grow only for bulk flows).
        let tcp = |node: NodeId| match &lab.nodes[node].kind {
            NodeKind::Host(h) => (h.tcp.rx_buffer + h.tcp.tx_buffer) as u64,
            NodeKind::Router(_) => 0,
        };
        let (memory, events, detail) = match a.traffic {
            Traffic::UdpProbe { interval, .. } | Traffic::Ping { interval, .. } => {
                let sent = seconds * 1e9 / interval as f64;
                (
                    hist(sent) * (2 + 2 * phases),
                    sent * 2.0 * hops * EVENTS_PER_HOP,
                    format!(
                        "{sent:.0} probes out and back over {hops} links; a longer interval lowers it"
                    ),
                )
            }
            Traffic::TcpRequestResponse {
                request,
                response,
                interval,
                ..
            } => {
                let requests = seconds * 1e9 / interval as f64;
                let packets = ((request + response) as f64 / SEGMENT).ceil() + 2.0;
                (
                    tcp(a.from) + tcp(a.to) + hist(requests) * (1 + phases),
                    requests * packets * (1.0 + ACKS_PER_SEGMENT) * hops * EVENTS_PER_HOP,
                    format!(
                        "{requests:.0} requests over {hops} links and a socket's buffers on each host"
                    ),
                )
            }
            Traffic::TcpBulk {
                size,
                streams,
                rate,
                ..
            } => {
                let (sender, receiver) = match (&lab.nodes[a.from].kind, &lab.nodes[a.to].kind) {
                    (NodeKind::Host(x), NodeKind::Host(y)) => (Some(&x.tcp), Some(&y.tcp)),
                    _ => (None, None),
                };
                // The most a window can be: what autotuning may grow the buffers to.
                let window = match (sender, receiver) {
                    (Some(x), Some(y)) => x.tx_buffer_max.min(y.rx_buffer_max),
                    _ => 0,
                } as f64;
                // Bits per second: the slowest link or gateway, the buffers over the round
                // trip, the app's own rate; unbounded when the path has neither rate nor delay.
                let by_window = f64::from(streams) * window * 8.0 / (2.0 * delay as f64 / 1e9);
                let bps = [
                    slowest.map(|r| r as f64),
                    (delay > 0).then_some(by_window),
                    rate.map(|r| r as f64),
                ]
                .into_iter()
                .flatten()
                .fold(f64::INFINITY, f64::min);
                let bytes = size
                    .map_or(f64::INFINITY, |s| s as f64)
                    .min(bps * seconds / 8.0);
                // Autotuned buffers grow as far as the flow needs: the receive buffer to about
                // four bandwidth-delay products (twice a round trip's reads, and twice that while
                // the sender speeds up), the send buffer to two windows; fixed ones are fixed.
                let bdp = if bps.is_finite() {
                    bps / 8.0 * (2.0 * delay as f64 / 1e9)
                } else {
                    f64::INFINITY
                };
                let grown = |start: usize, max: usize, windows: f64| -> u64 {
                    (windows * bdp).clamp(start as f64, max as f64) as u64
                };
                let per_stream = match (sender, receiver) {
                    (Some(x), Some(y)) => {
                        let sending = grown(x.tx_buffer, x.tx_buffer_max, 2.0) + x.rx_buffer as u64;
                        let receiving =
                            grown(y.rx_buffer, y.rx_buffer_max, 4.0) + y.tx_buffer as u64;
                        sending + receiving
                    }
                    _ => 0,
                };
                let buffers = u64::from(streams).saturating_mul(per_stream);
                let windows = (seconds * 10.0).ceil() as u64;
                (
                    buffers + hist(f64::INFINITY) + windows * 8,
                    bytes / SEGMENT * (1.0 + ACKS_PER_SEGMENT) * hops * EVENTS_PER_HOP,
                    if bps.is_finite() {
                        format!(
                            "{streams} stream(s) at up to {} over {hops} links, each with its hosts' socket buffers ({})",
                            crate::units::format_bitrate(bps),
                            format_bytes(per_stream)
                        )
                    } else {
                        "its path has no rate and no delay, so TCP would move data without limit at one instant: give a link of the path a delay or a rate, or the app a size or rate".to_string()
                    },
                )
            }
        };
        costs.push(Cost {
            item: format!("app '{}'", a.name),
            memory,
            events,
            rate: events / seconds.max(1e-9),
            detail,
        });
    }
    for n in &lab.nodes {
        let NodeKind::Router(r) = &n.kind else {
            continue;
        };
        let Some(bgp) = &r.bgp else { continue };
        for s in &bgp.sessions {
            if let Some((interval, _)) = s.bfd {
                let packets = lab.duration as f64 / interval as f64;
                costs.push(Cost {
                    item: format!("BFD of '{}' with {}", n.name, s.bgp.peer),
                    memory: 0,
                    events: packets * EVENTS_PER_HOP,
                    rate: EVENTS_PER_HOP * 1e9 / interval as f64,
                    detail: "one control packet per interval; a longer interval lowers it".into(),
                });
            }
        }
    }
    Estimate { costs }
}
