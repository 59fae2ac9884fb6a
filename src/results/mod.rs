//! What a run measured. Raw records keep full HDR histograms and per-probe times (so later
//! features can merge runs and find outage gaps); [`Summary`] is the documented, serializable
//! view that the report and the JSON export are made from.
//!
//! JSON units: times and latencies in microseconds (`_us`), rates in bits per second (`_bps`),
//! sizes in bytes. No wall-clock value appears unless [`Timing`] is asked for.

use crate::engine::Time;
use crate::histogram::Latencies;
use crate::lab::model::AppKind;
use crate::link::DirStats;
use serde::Serialize;

mod exchanges;
mod probes;
pub use exchanges::ExchangeRecord;
pub use probes::{PhaseProbes, ProbeRecord};

/// Width of a goodput window.
pub const GOODPUT_WINDOW: Time = 100_000_000;
/// An unanswered probe sent within this time of the end of the run is in flight, not lost: four
/// times the largest round trip seen, at least 10 ms, and 1 s when no probe ever returned.
pub fn probe_timeout(rtt: &Latencies) -> Time {
    rtt.max().map_or(1_000_000_000, |max| {
        max.saturating_mul(4).clamp(10_000_000, 1_000_000_000)
    })
}

/// One UDP probe or ICMP echo: when it left, reached the peer, and came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Probe {
    pub sent: Time,
    pub arrived: Option<Time>,
    pub returned: Option<Time>,
    /// Identifiers of the links crossed on the way out and back (UDP probes; 0 if unknown):
    /// equal for probes that took the same path.
    pub path_out: u64,
    pub path_back: u64,
}

/// Everything one app measured: what every app has, and what its kind measures.
#[derive(Debug, Clone)]
pub struct AppRecord {
    pub name: String,
    pub from: String,
    pub to: String,
    pub start: Time,
    pub stop: Time,
    pub measured: Measured,
}

/// What an app measured, by kind: each kind keeps only the figures it has.
#[derive(Debug, Clone)]
pub enum Measured {
    UdpProbe(ProbeRecord),
    Ping(ProbeRecord),
    TcpBulk(BulkRecord),
    TcpRequestResponse(ExchangeRecord),
}

/// A bulk TCP transfer over one or more parallel connections.
#[derive(Debug, Clone)]
pub struct BulkRecord {
    /// Parallel connections.
    pub streams: u16,
    /// Bytes the sending app handed to its sockets, and bytes the receiving app read.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Bytes read per [`GOODPUT_WINDOW`] since the app's start.
    pub goodput_windows: Vec<u64>,
    /// With a size: when the last byte was read.
    pub completed_at: Option<Time>,
    /// When the (first) connection was established.
    pub established_at: Option<Time>,
    /// Silences of at least [`STALL_MIN`] between reads, as (last read, next read).
    pub read_gaps: Vec<(Time, Time)>,
    pub last_read: Option<Time>,
    /// The receiving socket's buffer and the sending socket's (bytes, per connection), and the
    /// smallest RTT any sender measured.
    pub rx_buffer: Option<u64>,
    pub tx_buffer: Option<u64>,
    /// The most autotuning may grow each buffer to, for buffers that are autotuned.
    pub rx_buffer_max: Option<u64>,
    pub tx_buffer_max: Option<u64>,
    pub min_rtt: Option<Time>,
    /// The lab's fault instants, sorted and distinct: phase k > 0 begins at `phase_starts[k-1]`.
    pub phase_starts: Vec<Time>,
    /// Bytes read in each phase (one more entry than `phase_starts`).
    pub phase_bytes: Vec<u64>,
}

/// The shortest silence between reads of a bulk TCP receiver that is kept as a stall.
pub const STALL_MIN: Time = 50_000_000;

impl AppRecord {
    pub fn new(
        name: &str,
        from: &str,
        to: &str,
        start: Time,
        stop: Time,
        measured: Measured,
    ) -> Self {
        AppRecord {
            name: name.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            start,
            stop,
            measured,
        }
    }

    pub fn kind(&self) -> AppKind {
        match self.measured {
            Measured::UdpProbe(_) => AppKind::UdpProbe,
            Measured::Ping(_) => AppKind::Ping,
            Measured::TcpBulk(_) => AppKind::TcpBulk,
            Measured::TcpRequestResponse(_) => AppKind::TcpRequestResponse,
        }
    }

    /// Probes and echoes; `None` for TCP apps.
    pub fn probes(&self) -> Option<&ProbeRecord> {
        match &self.measured {
            Measured::UdpProbe(p) | Measured::Ping(p) => Some(p),
            _ => None,
        }
    }

    pub fn bulk(&self) -> Option<&BulkRecord> {
        match &self.measured {
            Measured::TcpBulk(b) => Some(b),
            _ => None,
        }
    }

    pub fn exchanges(&self) -> Option<&ExchangeRecord> {
        match &self.measured {
            Measured::TcpRequestResponse(e) => Some(e),
            _ => None,
        }
    }

    /// The mutable parts of each kind, for the agents that measure them.
    pub fn probes_mut(&mut self) -> Option<&mut ProbeRecord> {
        match &mut self.measured {
            Measured::UdpProbe(p) | Measured::Ping(p) => Some(p),
            _ => None,
        }
    }

    pub fn bulk_mut(&mut self) -> Option<&mut BulkRecord> {
        match &mut self.measured {
            Measured::TcpBulk(b) => Some(b),
            _ => None,
        }
    }

    pub fn exchanges_mut(&mut self) -> Option<&mut ExchangeRecord> {
        match &mut self.measured {
            Measured::TcpRequestResponse(e) => Some(e),
            _ => None,
        }
    }

    /// The latency that characterises the app, and what it is: probes' and pings' round trips,
    /// requests' completion times. `None` for bulk transfers, which measure goodput.
    pub fn latency(&self) -> Option<(&'static str, &Latencies)> {
        match &self.measured {
            Measured::UdpProbe(p) | Measured::Ping(p) => Some(("round trip", &p.rtt)),
            Measured::TcpRequestResponse(e) => Some(("completion time", &e.completion)),
            Measured::TcpBulk(_) => None,
        }
    }
}

impl BulkRecord {
    /// A transfer over `streams` connections whose reads are counted in phases: one from the
    /// start, then one from each of `fault_instants` (sorted, distinct).
    pub fn new(streams: u16, fault_instants: &[Time]) -> Self {
        BulkRecord {
            streams,
            bytes_sent: 0,
            bytes_received: 0,
            goodput_windows: Vec::new(),
            completed_at: None,
            established_at: None,
            read_gaps: Vec::new(),
            last_read: None,
            rx_buffer: None,
            tx_buffer: None,
            rx_buffer_max: None,
            tx_buffer_max: None,
            min_rtt: None,
            phase_starts: fault_instants.to_vec(),
            phase_bytes: vec![0; fault_instants.len() + 1],
        }
    }

    /// Records an RTT a sender measured.
    pub fn tcp_rtt(&mut self, rtt: Time) {
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
    }

    /// Counts bytes read by the receiving app at `now`, for an app that started at `start`.
    pub fn record_goodput(&mut self, start: Time, now: Time, bytes: u64) {
        let w = (now.saturating_sub(start) / GOODPUT_WINDOW) as usize;
        if self.goodput_windows.len() <= w {
            self.goodput_windows.resize(w + 1, 0);
        }
        self.goodput_windows[w] += bytes;
        self.bytes_received += bytes;
        let phase = self.phase_starts.partition_point(|&f| f <= now);
        self.phase_bytes[phase] += bytes;
        if let Some(last) = self.last_read {
            if now - last >= STALL_MIN {
                self.read_gaps.push((last, now));
            }
        }
        self.last_read = Some(now);
    }

    /// The buffers' limit on goodput, once both ends and an RTT are known; `from` and `to`
    /// name the sending and receiving hosts.
    fn window_limit(&self, from: &str, to: &str, steady_bps: Option<f64>) -> Option<WindowLimit> {
        let (rx, tx, rtt) = (self.rx_buffer?, self.tx_buffer?, self.min_rtt?);
        let (window_bytes, buffer, host, autotune_max) = if rx <= tx {
            (rx, "tcp_rx_buffer", to, self.rx_buffer_max)
        } else {
            (tx, "tcp_tx_buffer", from, self.tx_buffer_max)
        };
        let limit_bps =
            f64::from(self.streams) * window_bytes as f64 * 8.0 / (rtt.max(1) as f64 / 1e9);
        // An autotuned buffer below its maximum would have grown had the flow needed it.
        let could_grow = autotune_max.is_some_and(|max| window_bytes < max);
        Some(WindowLimit {
            streams: self.streams,
            window_bytes,
            buffer,
            host: host.to_string(),
            autotune_max,
            min_rtt_us: us(rtt),
            limit_bps,
            limited: !could_grow
                && steady_bps.is_some_and(|g| g >= (1.0 - WINDOW_LIMITED) * limit_bps),
        })
    }
}

/// Counters of one link.
#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub name: String,
    /// Node names at ends a and b.
    pub ends: [String; 2],
    pub dirs: [DirStats; 2],
}

/// Why a router dropped a packet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouterDrops {
    pub no_route: u64,
    pub ttl_expired: u64,
    pub mtu: u64,
    pub link_down: u64,
    /// Not a valid IPv4 packet, or a bad header checksum.
    pub malformed: u64,
    /// The gateway's queue in front of its SKU capacity was full.
    pub capacity: u64,
    /// VNet peering is not transitive: in over one peering and out over another, or to a VNet
    /// only a second peering reaches.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_transitive: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A change of a router's forwarding table made by its control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteChange {
    /// Nanoseconds; the JSON export converts to microseconds.
    #[serde(skip)]
    pub time: Time,
    pub router: String,
    pub prefix: crate::route::Prefix,
    /// The BGP next hops now used; empty when the route was withdrawn.
    pub next_hops: Vec<std::net::Ipv4Addr>,
}

/// Counters of one end of an IPsec tunnel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TunnelStats {
    /// Packets wrapped in ESP and sent.
    pub encapsulated: u64,
    /// ESP packets received and unwrapped.
    pub decapsulated: u64,
    /// Wrapped packets too large for the outgoing link: ESP is never fragmented.
    pub too_big: u64,
    /// TCP SYNs whose MSS option was lowered.
    pub mss_clamped: u64,
    /// ESP packets that failed to unwrap.
    pub malformed: u64,
    /// A TCP-carried tunnel: inner packets dropped because its connection's send buffer was
    /// full (or the connection down).
    #[serde(skip_serializing_if = "is_zero")]
    pub stream_full: u64,
    /// A TCP-carried tunnel's client end: connection attempts made, connections made.
    #[serde(skip_serializing_if = "is_zero")]
    pub connect_attempts: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub connections: u64,
    /// A client end: when its first connection was made (none: never), and how long in all it
    /// was without one. Nanoseconds; the JSON carries microseconds.
    #[serde(
        rename = "first_connected_us",
        serialize_with = "opt_us",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_connected: Option<Time>,
    #[serde(
        rename = "unconnected_us",
        serialize_with = "as_us",
        skip_serializing_if = "is_zero"
    )]
    pub unconnected: Time,
}

fn as_us<S: serde::Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*t as f64 / 1e3)
}

fn opt_us<S: serde::Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => as_us(t, s),
        None => s.serialize_none(),
    }
}

/// Packets that died of TTL at a router after coming in over one link: with every host sending
/// at TTL 64 across paths of a few hops, the trace of a forwarding loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlExpiry {
    pub router: String,
    /// The link the packets came in on, and the node at its other end.
    pub link: String,
    pub from: String,
    pub count: u64,
    pub first: Time,
    pub last: Time,
}

/// Counters of a tunnel, per end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TunnelRecord {
    pub name: String,
    /// Router names at ends a and b.
    pub ends: [String; 2],
    pub stats: [TunnelStats; 2],
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouterRecord {
    pub name: String,
    pub forwarded: u64,
    /// Packets addressed to the router itself (pings it answered, BGP, BFD).
    pub local: u64,
    /// TCP SYNs whose MSS the router-wide clamp lowered.
    pub mss_clamped: u64,
    pub drops: RouterDrops,
}

/// The complete outcome of one run.
#[derive(Debug, Clone)]
pub struct Results {
    pub lab: String,
    /// The lab's assumptions (an imported design's defaults).
    pub assumptions: Vec<String>,
    pub seed: u64,
    pub duration: Time,
    pub events: u64,
    pub apps: Vec<AppRecord>,
    pub links: Vec<LinkRecord>,
    pub routers: Vec<RouterRecord>,
    pub tunnels: Vec<TunnelRecord>,
    /// Control-plane events of every router, in time order (stable: router order within a time).
    pub control: Vec<crate::control::plane::ControlEvent>,
    /// Forwarding-table changes made by control planes, in time order.
    pub route_changes: Vec<RouteChange>,
    /// The lab's faults: time and description.
    pub faults: Vec<(Time, String)>,
    /// TTL-expired drops by router and incoming link, in router then interface order.
    pub ttl_expiries: Vec<TtlExpiry>,
    /// The instant the run stopped at because virtual time stopped advancing, if it did
    /// ([`crate::sim::MAX_EVENTS_PER_INSTANT`]): nothing after it was measured.
    pub stalled_at: Option<Time>,
    /// Why the run stopped early ([`crate::sim::Halt::describe`]).
    pub stopped_because: Option<String>,
}

/// Wall-clock figures of a run: excluded from the JSON unless asked for, since they differ
/// between two runs of the same lab.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Timing {
    pub wall_seconds: f64,
    pub sim_per_wall: f64,
    pub events_per_second: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
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
    /// [`crate::histogram::RELATIVE_PRECISION`], between them.
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppSummary {
    pub name: String,
    pub kind: AppKind,
    pub from: String,
    pub to: String,
    /// What `sent`, `received`, `lost` and `in_flight` count.
    pub unit: Unit,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub in_flight: u64,
    pub loss_ratio: f64,
    /// Probes only: how many reached the peer (one way).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrived: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_way: Option<Latency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<Latency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion: Option<Latency>,
    /// TCP bulk: bytes read over the time from the app's start to its stop or completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goodput_bps: Option<f64>,
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
    pub phases: Vec<crate::timeline::Phase>,
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
    pub failover: Vec<crate::timeline::FaultTimeline>,
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
    pub loops: Vec<crate::findings::ForwardingLoop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
}

/// Nanoseconds as microseconds, the JSON's unit of time.
pub(crate) fn us(t: Time) -> f64 {
    t as f64 / 1e3
}

fn bps(bytes: u64, span: Time) -> f64 {
    if span == 0 {
        0.0
    } else {
        (bytes as f64 * 8.0 / (span as f64 / 1e9)).round()
    }
}

impl AppRecord {
    pub fn summary(&self, run_end: Time) -> AppSummary {
        let mut s = AppSummary {
            name: self.name.clone(),
            kind: self.kind(),
            from: self.from.clone(),
            to: self.to.clone(),
            unit: Unit::Bytes,
            sent: 0,
            received: 0,
            lost: 0,
            in_flight: 0,
            loss_ratio: 0.0,
            arrived: None,
            one_way: None,
            rtt: None,
            completion: None,
            goodput_bps: None,
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
                s.sent = p.sent;
                s.received = p.returned;
                s.in_flight = p.in_flight(run_end).0;
                s.lost = s.sent - s.received - s.in_flight;
                if probe {
                    s.arrived = Some(p.arrived);
                }
                s.one_way = Latency::of(&p.one_way);
                s.rtt = Latency::of(&p.rtt);
            }
            Measured::TcpRequestResponse(e) => {
                s.unit = Unit::Requests;
                s.sent = e.requests;
                s.received = e.responses;
                s.in_flight = e.requests - e.responses;
                s.completion = Latency::of(&e.completion);
                s.established_at_us = e.established_at.map(us);
            }
            Measured::TcpBulk(b) => {
                s.sent = b.bytes_sent;
                s.received = b.bytes_received;
                s.in_flight = b.bytes_sent - b.bytes_received;
                s.completed_at_us = b.completed_at.map(us);
                s.established_at_us = b.established_at.map(us);
                let end = b.completed_at.unwrap_or(self.stop.min(run_end));
                let span = end.saturating_sub(self.start);
                s.goodput_bps = Some(bps(b.bytes_received, span));
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
                s.window = b.window_limit(&self.from, &self.to, s.steady_goodput_bps);
            }
        }
        if s.sent > 0 && s.unit.counts_messages() {
            s.loss_ratio = s.lost as f64 / (s.sent - s.in_flight).max(1) as f64;
        }
        s
    }
}

impl Results {
    pub fn summary(&self, timing: Option<Timing>) -> Summary {
        let mut links = Vec::new();
        for l in &self.links {
            for (d, stats) in l.dirs.iter().enumerate() {
                links.push(LinkSummary {
                    link: l.name.clone(),
                    direction: if d == 0 { "a->b" } else { "b->a" },
                    from: l.ends[d].clone(),
                    to: l.ends[1 - d].clone(),
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
            latency_precision: crate::histogram::RELATIVE_PRECISION,
            apps: self
                .apps
                .iter()
                .map(|a| {
                    let mut s = a.summary(self.duration);
                    s.phases = crate::timeline::phases(self, a);
                    s
                })
                .collect(),
            links,
            routers: self.routers.clone(),
            tunnels: self.tunnels.clone(),
            failover: crate::timeline::timelines(self),
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
            loops: crate::findings::forwarding_loops(self),
            timing,
        }
    }
}
