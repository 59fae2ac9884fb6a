//! What a run measured: the records a run writes. They keep full HDR histograms and per-probe
//! times (so runs merge and outage gaps are found); [`crate::analysis`] reads them, in one
//! direction, into the documented, serializable summary the report and exports are made of.

use crate::lab::model::AppKind;
use crate::results::histogram::Latencies;
use crate::substrate::engine::Time;
use crate::substrate::link::DirStats;
use serde::Serialize;

mod exchanges;
pub mod histogram;
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
    /// The last delivery the app saw (an answer, a completion, bytes read), and the silence
    /// after which the app counts a gap ([`STALL_MIN`] for bulk TCP; one interval for probes,
    /// two for requests, as their gaps are counted).
    pub fn last_delivery(&self) -> (Option<Time>, Time) {
        match &self.measured {
            Measured::UdpProbe(p) | Measured::Ping(p) => (p.last_answer(), p.interval),
            Measured::TcpRequestResponse(e) => (e.last_completion(), 2 * e.interval),
            Measured::TcpBulk(b) => (b.last_read, STALL_MIN),
        }
    }

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
    pub prefix: crate::substrate::route::Prefix,
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
