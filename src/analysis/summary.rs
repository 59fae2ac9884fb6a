//! The run's summary: the documented, serializable view of its records that the report, the
//! JSON, the HTML page and JUnit are made from, computed once per run.
//!
//! JSON units: times and latencies in microseconds (`_us`), rates in bits per second (`_bps`),
//! sizes in bytes. No wall-clock value appears unless [`Timing`] is asked for.

use super::Summarize;
use crate::lab::model::AppKind;
use crate::results::histogram::Latencies;
use crate::results::{
    AppRecord, BulkRecord, Measured, Results, RouterRecord, TunnelRecord, GOODPUT_WINDOW,
};
use crate::substrate::engine::Time;
use crate::substrate::ids::Dir;
use crate::substrate::link::DirStats;
use serde::Serialize;

/// Wall-clock figures of a run: excluded from the JSON unless asked for, since they differ
/// between two runs of the same lab.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Timing {
    pub wall_seconds: f64,
    pub sim_per_wall: f64,
    pub events_per_second: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq, serde::Deserialize)]
pub struct Latency {
    pub count: u64,
    pub min_us: f64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

impl Latency {
    /// `None` when nothing was recorded. Minimum and maximum are exact; the rest within
    /// [`crate::results::histogram::RELATIVE_PRECISION`], between them.
    pub fn of(h: &Latencies) -> Option<Latency> {
        let us = |ns: u64| (ns as f64 / 1e3 * 1e3).round() / 1e3;
        let q = |q: f64| h.quantile(q).map_or(0.0, us);
        Some(Latency {
            count: h.len(),
            min_us: us(h.min()?),
            mean_us: (h.mean()? / 1e3 * 1e3).round() / 1e3,
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: us(h.max()?),
        })
    }
}

/// What an app and each phase of it both report: what was sent and lost, latency, goodput.
/// Which figures an app has depends on its kind (probes: one-way and round-trip latency;
/// request/response: completion times; bulk TCP: goodput).
#[derive(Debug, Clone, Default, Serialize, PartialEq, serde::Deserialize)]
pub struct Figures {
    /// Probes, echoes or requests sent, or bytes written (the app's [`Unit`]).
    pub sent: u64,
    /// Never answered, not counting those still in flight at the end of the run.
    pub lost: u64,
    /// Sent so close to the end that their answers could still come.
    pub in_flight: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_way: Option<Latency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<Latency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion: Option<Latency>,
    /// Bulk TCP: bytes read over the time the app ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goodput_bps: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppSummary {
    pub name: String,
    pub kind: AppKind,
    pub from: String,
    pub to: String,
    /// What `sent`, `received`, `lost` and `in_flight` count.
    pub unit: Unit,
    /// What the app sent and how it fared over the whole run: counts, latency, goodput (TCP
    /// bulk: bytes read over the time from the app's start to its stop or completion).
    #[serde(flatten)]
    pub figures: Figures,
    pub received: u64,
    pub loss_ratio: f64,
    /// Probes only: how many reached the peer (one way).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrived: Option<u64>,
    /// TCP bulk: goodput over the second half of the transfer, past slow start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steady_goodput_bps: Option<f64>,
    /// TCP bulk: goodput per 100 ms window from the app's start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub goodput_series_bps: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub established_at_us: Option<f64>,
    /// Probe and ping latency per phase: from the start, then from each fault instant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<super::timeline::Phase>,
    /// TCP bulk: the limit the buffers put on goodput, and whether the flow is at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowLimit>,
}

/// What an app's `sent`, `received`, `lost` and `in_flight` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Probes,
    Echoes,
    Requests,
    Bytes,
}

impl Unit {
    /// Whether the unit is a message that is either answered or lost (bytes are neither: TCP
    /// delivers them all, late or not).
    pub fn counts_messages(self) -> bool {
        self != Unit::Bytes
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            Unit::Probes => "probes",
            Unit::Echoes => "echoes",
            Unit::Requests => "requests",
            Unit::Bytes => "bytes",
        })
    }
}

/// The most a TCP bulk app can carry with its buffers: every stream has at most a window of
/// unacknowledged data in flight, the smaller of the receiver's receive buffer and the sender's
/// send buffer, so goodput is at most streams × window / RTT.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WindowLimit {
    pub streams: u16,
    /// The smaller buffer, in bytes, and which it is: `tcp_rx_buffer` on the receiving host or
    /// `tcp_tx_buffer` on the sending one.
    pub window_bytes: u64,
    pub buffer: &'static str,
    pub host: String,
    /// For an autotuned buffer, the most it may grow to (`window_bytes` is what it grew to);
    /// absent for a fixed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autotune_max: Option<u64>,
    /// The smallest RTT the senders measured (microseconds): the path without queueing.
    pub min_rtt_us: f64,
    pub limit_bps: f64,
    /// Steady-state goodput is within [`WINDOW_LIMITED`] of the limit: a bigger buffer would
    /// raise it, until the path's capacity or loss holds it.
    pub limited: bool,
}

/// How close to streams × window / RTT a flow's steady goodput must be to count as window
/// limited.
pub const WINDOW_LIMITED: f64 = 0.05;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LinkSummary {
    pub link: String,
    /// "a->b" or "b->a".
    pub direction: &'static str,
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub stats: DirStats,
}

/// A control-plane event, for the JSON export.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ControlSummary {
    pub time_us: f64,
    pub router: String,
    pub peer: std::net::Ipv4Addr,
    pub event: String,
}

/// A forwarding change made by a control plane, for the JSON export.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouteChangeSummary {
    pub time_us: f64,
    pub router: String,
    pub prefix: String,
    pub next_hops: Vec<std::net::Ipv4Addr>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub lab: String,
    /// Defaults an imported design was completed with: a run never depends on one silently.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
    pub seed: u64,
    pub duration_us: f64,
    pub events: u64,
    /// Every latency's percentiles and mean lie within this fraction of a recorded value and
    /// between its minimum and maximum, which are exact.
    pub latency_precision: f64,
    pub apps: Vec<AppSummary>,
    pub links: Vec<LinkSummary>,
    pub routers: Vec<RouterRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tunnels: Vec<TunnelRecord>,
    /// One timeline per fault instant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failover: Vec<super::timeline::FaultTimeline>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub control: Vec<ControlSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub route_changes: Vec<RouteChangeSummary>,
    /// When the run stopped because virtual time stopped advancing (see
    /// [`Results::stalled_at`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stalled_at_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_because: Option<String>,
    /// Forwarding loops the run observed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loops: Vec<super::findings::ForwardingLoop>,
    /// Wall-clock figures, for the report; the JSON carries them only when asked
    /// ([`crate::drivers::session::Finished::document`]), as they differ between runs.
    #[serde(skip)]
    pub timing: Option<Timing>,
}

/// Nanoseconds as microseconds, the JSON's unit of time.
pub fn us(t: Time) -> f64 {
    t as f64 / 1e3
}

fn bps(bytes: u64, span: Time) -> f64 {
    if span == 0 {
        0.0
    } else {
        (bytes as f64 * 8.0 / (span as f64 / 1e9)).round()
    }
}

impl Summarize for AppRecord {
    type With = Time;
    type Summary = AppSummary;

    /// The app's figures over a run that ended at `run_end`.
    fn summary(&self, run_end: Time) -> AppSummary {
        let mut s = AppSummary {
            name: self.name.clone(),
            kind: self.kind(),
            from: self.from.clone(),
            to: self.to.clone(),
            unit: Unit::Bytes,
            figures: Figures::default(),
            received: 0,
            loss_ratio: 0.0,
            arrived: None,
            steady_goodput_bps: None,
            goodput_series_bps: Vec::new(),
            completed_at_us: None,
            established_at_us: None,
            phases: Vec::new(),
            window: None,
        };
        match &self.measured {
            Measured::UdpProbe(p) | Measured::Ping(p) => {
                let probe = matches!(self.measured, Measured::UdpProbe(_));
                s.unit = if probe { Unit::Probes } else { Unit::Echoes };
                s.figures.sent = p.sent;
                s.received = p.returned;
                s.figures.in_flight = p.in_flight(run_end).0;
                s.figures.lost = s.figures.sent - s.received - s.figures.in_flight;
                if probe {
                    s.arrived = Some(p.arrived);
                }
                s.figures.one_way = Latency::of(&p.one_way);
                s.figures.rtt = Latency::of(&p.rtt);
            }
            Measured::TcpRequestResponse(e) => {
                s.unit = Unit::Requests;
                s.figures.sent = e.requests;
                s.received = e.responses;
                s.figures.in_flight = e.requests - e.responses;
                s.figures.completion = Latency::of(&e.completion);
                s.established_at_us = e.established_at.map(us);
            }
            Measured::TcpBulk(b) => {
                s.figures.sent = b.bytes_sent;
                s.received = b.bytes_received;
                s.figures.in_flight = b.bytes_sent - b.bytes_received;
                s.completed_at_us = b.completed_at.map(us);
                s.established_at_us = b.established_at.map(us);
                let end = b.completed_at.unwrap_or(self.stop.min(run_end));
                let span = end.saturating_sub(self.start);
                s.figures.goodput_bps = Some(bps(b.bytes_received, span));
                s.goodput_series_bps = b
                    .goodput_windows
                    .iter()
                    .map(|&w| bps(w, GOODPUT_WINDOW))
                    .collect();
                let windows = (span / GOODPUT_WINDOW) as usize;
                let half = &b.goodput_windows[(windows / 2).min(b.goodput_windows.len())
                    ..windows.min(b.goodput_windows.len())];
                if !half.is_empty() {
                    s.steady_goodput_bps =
                        Some(bps(half.iter().sum(), GOODPUT_WINDOW * half.len() as u64));
                }
                s.window = window_limit(b, &self.from, &self.to, s.steady_goodput_bps);
            }
        }
        if s.figures.sent > 0 && s.unit.counts_messages() {
            s.loss_ratio =
                s.figures.lost as f64 / (s.figures.sent - s.figures.in_flight).max(1) as f64;
        }
        s
    }
}

impl Summarize for Results {
    type With = Option<Timing>;
    type Summary = Summary;

    /// The run's summary, with its wall-clock `timing` when asked for.
    fn summary(&self, timing: Option<Timing>) -> Summary {
        let mut links = Vec::new();
        for l in &self.links {
            for (d, stats) in Dir::BOTH.into_iter().zip(&l.dirs) {
                links.push(LinkSummary {
                    link: l.name.clone(),
                    direction: d.label(),
                    from: l.ends[d].clone(),
                    to: l.ends[d.reverse()].clone(),
                    stats: stats.clone(),
                });
            }
        }
        Summary {
            lab: self.lab.clone(),
            assumptions: self.assumptions.clone(),
            seed: self.seed,
            duration_us: us(self.duration),
            events: self.events,
            latency_precision: crate::results::histogram::RELATIVE_PRECISION,
            apps: self
                .apps
                .iter()
                .map(|a| {
                    let mut s = a.summary(self.duration);
                    s.phases = super::timeline::phases(self, a);
                    s
                })
                .collect(),
            links,
            routers: self.routers.clone(),
            tunnels: self.tunnels.clone(),
            failover: super::timeline::timelines(self),
            control: self
                .control
                .iter()
                .map(|e| ControlSummary {
                    time_us: us(e.time),
                    router: e.router.clone(),
                    peer: e.peer,
                    event: e.what.to_string(),
                })
                .collect(),
            route_changes: self
                .route_changes
                .iter()
                .map(|c| RouteChangeSummary {
                    time_us: us(c.time),
                    router: c.router.clone(),
                    prefix: c.prefix.to_string(),
                    next_hops: c.next_hops.clone(),
                })
                .collect(),
            stalled_at_us: self.stalled_at.map(us),
            stopped_because: self.stopped_because.clone(),
            loops: super::findings::forwarding_loops(self),
            timing,
        }
    }
}

/// The buffers' limit on goodput, once both ends and an RTT are known; `from` and `to`
/// name the sending and receiving hosts.
fn window_limit(
    b: &BulkRecord,
    from: &str,
    to: &str,
    steady_bps: Option<f64>,
) -> Option<WindowLimit> {
    let (rx, tx, rtt) = (b.rx_buffer?, b.tx_buffer?, b.min_rtt?);
    let (window_bytes, buffer, host, autotune_max) = if rx <= tx {
        (rx, "tcp_rx_buffer", to, b.rx_buffer_max)
    } else {
        (tx, "tcp_tx_buffer", from, b.tx_buffer_max)
    };
    let limit_bps = f64::from(b.streams) * window_bytes as f64 * 8.0 / (rtt.max(1) as f64 / 1e9);
    // An autotuned buffer below its maximum would have grown had the flow needed it.
    let could_grow = autotune_max.is_some_and(|max| window_bytes < max);
    Some(WindowLimit {
        streams: b.streams,
        window_bytes,
        buffer,
        host: host.to_string(),
        autotune_max,
        min_rtt_us: us(rtt),
        limit_bps,
        limited: !could_grow && steady_bps.is_some_and(|g| g >= (1.0 - WINDOW_LIMITED) * limit_bps),
    })
}
