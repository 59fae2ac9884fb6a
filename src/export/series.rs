//! Time series as CSV, one row per interval (100 ms by default), written as the run goes so a
//! long run costs disk, not memory:
//!
//! - `links.csv`: per link direction and interval, packets offered and delivered, bytes
//!   delivered, drops by cause (queue, loss, mtu, down) and the longest queue an arriving
//!   packet found (packets waiting, itself included);
//! - `probes.csv`: per probe or ping app and interval, the answers that came back and their
//!   round trip (minimum, mean, maximum, microseconds), stamped when the answer arrived;
//! - `goodput.csv`: per bulk TCP app and interval from its start, the bytes its receiver read
//!   and as bits per second over the interval (the last one over the part the run reached);
//!   from the app's record after the run, so the interval is a multiple of 100 ms;
//! - `events.csv`: the faults, every control-plane event and every route change, in time
//!   order;
//! - `APP.hlog`: each probe and ping app's round trips per interval as an HdrHistogram
//!   interval log (V2 compressed histograms of nanoseconds, interval maxima in nanoseconds),
//!   the format HdrHistogram's own tools (HistogramLogProcessor, the plotter) read; intervals
//!   without an answer have no line.
//!
//! Times are seconds from the start of the run, to the nanosecond.

use crate::app;
use crate::control::plane::ControlEvent;
use crate::lab::model::{Lab, NodeKind, Traffic};
use crate::observe::{Observer, On};
use crate::results::{Results, RouteChange, GOODPUT_WINDOW};
use crate::substrate::engine::Time;
use crate::substrate::ids::{Dir, PerLinkDir};
use crate::substrate::link::LinkDrop;
use crate::wire::stamp::Repr as Stamp;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, UdpPacket};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The default interval.
pub const DEFAULT_INTERVAL: Time = 100_000_000;

/// One link direction's counters in the current interval.
#[derive(Debug, Clone, Copy, Default)]
struct DirRow {
    offered: u64,
    delivered: u64,
    bytes: u64,
    drops: [u64; 4],
    peak_queue: u32,
}

/// One probe app's answers in the current interval.
#[derive(Debug, Clone, Copy, Default)]
struct ProbeRow {
    answers: u64,
    min: Time,
    sum: u128,
    max: Time,
}

/// Where an answer to a probe app arrives: the client's UDP port, or its ICMP ident.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Udp(u16),
    Ping(u16),
}

/// The time series of one run, as an observer.
pub struct SeriesExport {
    interval: Time,
    /// The interval being counted.
    current: u64,
    link_names: Vec<String>,
    rows: PerLinkDir<DirRow>,
    /// Probe apps: name, and per link direction the answers its far end receives.
    probe_names: Vec<String>,
    answers: PerLinkDir<Vec<(Answer, usize)>>,
    probe_rows: Vec<ProbeRow>,
    links_csv: BufWriter<File>,
    probes_csv: BufWriter<File>,
    events_csv: BufWriter<File>,
    /// Per probe app: this interval's round trips, and its interval log.
    interval_hists: Vec<Histogram<u64>>,
    hlogs: Vec<BufWriter<File>>,
    serializer: V2DeflateSerializer,
    error: Option<std::io::Error>,
}

fn seconds(t: Time) -> String {
    format!("{}.{:09}", t / 1_000_000_000, t % 1_000_000_000)
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl SeriesExport {
    /// Creates the CSV files in `dir` (made if missing) for `lab`, one row per `interval`.
    pub fn create(lab: &Lab, dir: &Path, interval: Time) -> std::io::Result<SeriesExport> {
        std::fs::create_dir_all(dir)?;
        let open = |name: &str, header: &str| -> std::io::Result<BufWriter<File>> {
            let mut w = BufWriter::new(File::create(dir.join(name))?);
            writeln!(w, "{header}")?;
            Ok(w)
        };
        let mut answers = PerLinkDir::filled(lab.links.len(), Vec::new());
        let mut probe_names = Vec::new();
        for (i, a) in lab.apps.iter().enumerate() {
            let answer = match a.traffic {
                Traffic::UdpProbe { .. } => Answer::Udp(app::client_port(i)),
                Traffic::Ping { ident, .. } => Answer::Ping(ident),
                _ => continue,
            };
            debug_assert!(matches!(lab.nodes[a.from].kind, NodeKind::Host(_)));
            for f in &lab.nodes[a.from].ifaces {
                answers[f.inbound()].push((answer, probe_names.len()));
            }
            probe_names.push(a.name.clone());
        }
        let mut hlogs = Vec::new();
        for name in &probe_names {
            let mut w = BufWriter::new(File::create(
                dir.join(format!("{}.hlog", super::file_part(name))),
            )?);
            writeln!(
                w,
                "#[Round trips of app '{name}' per {} interval, in nanoseconds]",
                crate::units::format_nanos(interval)
            )?;
            writeln!(
                w,
                "#[StartTime: 0.000 (seconds since epoch): the start of the run]"
            )?;
            writeln!(w, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"")?;
            hlogs.push(w);
        }
        let interval_hists = probe_names
            .iter()
            .map(|_| {
                Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
            })
            .collect();
        Ok(SeriesExport {
            interval_hists,
            hlogs,
            serializer: V2DeflateSerializer::new(),
            interval,
            current: 0,
            link_names: lab.links.iter().map(|l| l.name.clone()).collect(),
            rows: PerLinkDir::filled(lab.links.len(), DirRow::default()),
            probe_rows: vec![ProbeRow::default(); probe_names.len()],
            probe_names,
            answers,
            links_csv: open(
                "links.csv",
                "time_s,link,direction,offered_packets,delivered_packets,delivered_bytes,drops_queue,drops_loss,drops_mtu,drops_down,peak_queue_packets",
            )?,
            probes_csv: open(
                "probes.csv",
                "time_s,app,answers,rtt_min_us,rtt_mean_us,rtt_max_us",
            )?,
            events_csv: open("events.csv", "time_s,kind,where,what")?,
            error: None,
        })
    }

    /// Writes the rows of every interval that ended by `at`.
    fn roll(&mut self, at: Time) {
        while (self.current + 1).saturating_mul(self.interval) <= at {
            let written = self.write_rows();
            if let Err(e) = written {
                self.error.get_or_insert(e);
            }
            self.current += 1;
        }
    }

    fn write_rows(&mut self) -> std::io::Result<()> {
        let t = seconds(self.current * self.interval);
        for (name, rows) in self.link_names.iter().zip(self.rows.pairs_mut()) {
            for (d, r) in Dir::BOTH.iter().zip(rows) {
                writeln!(
                    self.links_csv,
                    "{t},{},{},{},{},{},{},{},{},{},{}",
                    field(name),
                    d.label(),
                    r.offered,
                    r.delivered,
                    r.bytes,
                    r.drops[0],
                    r.drops[1],
                    r.drops[2],
                    r.drops[3],
                    r.peak_queue
                )?;
                *r = DirRow::default();
            }
        }
        let start = std::time::Duration::from_nanos(self.current * self.interval);
        let length = std::time::Duration::from_nanos(self.interval);
        for (h, log) in self.interval_hists.iter_mut().zip(&mut self.hlogs) {
            if h.is_empty() {
                continue;
            }
            let mut writer =
                IntervalLogWriterBuilder::new().begin_log_with(log, &mut self.serializer)?;
            writer
                .write_histogram(h, start, length, None)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            h.reset();
        }
        for (name, r) in self.probe_names.iter().zip(&mut self.probe_rows) {
            if r.answers == 0 {
                writeln!(self.probes_csv, "{t},{},0,,,", field(name))?;
            } else {
                let us = |ns: f64| ns / 1e3;
                writeln!(
                    self.probes_csv,
                    "{t},{},{},{:.3},{:.3},{:.3}",
                    field(name),
                    r.answers,
                    us(r.min as f64),
                    us(r.sum as f64 / r.answers as f64),
                    us(r.max as f64)
                )?;
            }
            *r = ProbeRow::default();
        }
        Ok(())
    }

    fn event(&mut self, at: Time, kind: &str, place: &str, what: &str) {
        self.roll(at);
        let written = writeln!(
            self.events_csv,
            "{},{kind},{},{}",
            seconds(at),
            field(place),
            field(what)
        );
        if let Err(e) = written {
            self.error.get_or_insert(e);
        }
    }

    /// The stamp of an answer to probe app `k`'s probe in `packet`, if it is one.
    fn answer(&self, on: On, packet: &[u8]) -> Option<(usize, Time)> {
        let waiting = &self.answers[on.at];
        if waiting.is_empty() {
            return None;
        }
        let ip = Ipv4Packet::new_checked(packet).ok()?;
        match ip.next_header() {
            IpProtocol::Udp => {
                let udp = UdpPacket::new_checked(ip.payload()).ok()?;
                let &(_, k) = waiting
                    .iter()
                    .find(|(a, _)| matches!(a, Answer::Udp(p) if *p == udp.dst_port()))?;
                Stamp::parse(udp.payload()).ok().map(|s| (k, s.sent))
            }
            IpProtocol::Icmp => {
                let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                let Ok(Icmpv4Repr::EchoReply { ident, data, .. }) =
                    Icmpv4Repr::parse(&icmp, &ChecksumCapabilities::default())
                else {
                    return None;
                };
                let &(_, k) = waiting
                    .iter()
                    .find(|(a, _)| matches!(a, Answer::Ping(i) if *i == ident))?;
                Stamp::parse(data).ok().map(|s| (k, s.sent))
            }
            _ => None,
        }
    }
}

impl Observer for SeriesExport {
    fn sent(&mut self, at: Time, on: On, _packet: &[u8], queued: (u32, u64)) {
        self.roll(at);
        let r = &mut self.rows[on.at];
        r.offered += 1;
        r.peak_queue = r.peak_queue.max(queued.0);
    }

    fn dropped(&mut self, at: Time, on: On, _packet: &[u8], cause: LinkDrop) {
        self.roll(at);
        let k = match cause {
            LinkDrop::Queue => 0,
            LinkDrop::Loss => 1,
            LinkDrop::Mtu => 2,
            LinkDrop::Down => 3,
        };
        self.rows[on.at].drops[k] += 1;
    }

    fn delivered(&mut self, at: Time, on: On, packet: &[u8]) {
        self.roll(at);
        let r = &mut self.rows[on.at];
        r.delivered += 1;
        r.bytes += packet.len() as u64;
        if let Some((k, sent)) = self.answer(on, packet) {
            let rtt = at.saturating_sub(sent);
            let p = &mut self.probe_rows[k];
            p.min = if p.answers == 0 { rtt } else { p.min.min(rtt) };
            p.max = p.max.max(rtt);
            p.sum += u128::from(rtt);
            p.answers += 1;
            let _ = self.interval_hists[k].record(rtt.clamp(1, 3_600_000_000_000));
        }
    }

    fn control(&mut self, e: &ControlEvent) {
        self.event(
            e.time,
            "control",
            &e.router,
            &format!("{} (peer {})", e.what, e.peer),
        );
    }

    fn route_change(&mut self, c: &RouteChange) {
        let hops: Vec<String> = c.next_hops.iter().map(|h| h.to_string()).collect();
        let what = if hops.is_empty() {
            format!("{} withdrawn", c.prefix)
        } else {
            format!("{} via {}", c.prefix, hops.join(" "))
        };
        self.event(c.time, "route", &c.router, &what);
    }

    fn fault(&mut self, at: Time, label: &str) {
        self.event(at, "fault", "", label);
    }

    fn finish(&mut self, at: Time) -> std::io::Result<()> {
        // The interval the run ended in, complete or not.
        self.roll(at);
        if at > self.current * self.interval {
            self.write_rows()?;
            self.current += 1;
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.links_csv.flush()?;
        self.probes_csv.flush()?;
        for log in &mut self.hlogs {
            log.flush()?;
        }
        self.events_csv.flush()
    }

    fn outcome(&self) -> Option<String> {
        Some(format!(
            "csv: {} intervals of {} in links.csv, probes.csv, events.csv and an HdrHistogram log per probe app",
            self.current,
            crate::units::format_nanos(self.interval)
        ))
    }
}

/// Writes `goodput.csv` in `dir`: each bulk app's goodput per `interval` (a multiple of
/// [`GOODPUT_WINDOW`]) from its record.
pub fn write_goodput(dir: &Path, interval: Time, r: &Results) -> std::io::Result<PathBuf> {
    let per = (interval / GOODPUT_WINDOW).max(1) as usize;
    let path = dir.join("goodput.csv");
    let mut w = BufWriter::new(File::create(&path)?);
    writeln!(w, "time_s,app,bytes,goodput_bps")?;
    for a in &r.apps {
        let Some(b) = a.bulk() else { continue };
        for (k, chunk) in b.goodput_windows.chunks(per).enumerate() {
            let bytes: u64 = chunk.iter().sum();
            let span = GOODPUT_WINDOW * chunk.len() as u64;
            writeln!(
                w,
                "{},{},{bytes},{:.0}",
                seconds(a.start + k as u64 * interval),
                field(&a.name),
                bytes as f64 * 8.0 / (span as f64 / 1e9)
            )?;
        }
    }
    w.flush()?;
    Ok(path)
}

/// `Err` unless `interval` is a positive multiple of 100 ms (the goodput windows apps keep).
pub fn check_interval(interval: Time) -> Result<(), String> {
    if interval == 0 || !interval.is_multiple_of(GOODPUT_WINDOW) {
        return Err(format!(
            "--interval {}: the series come in multiples of 100ms",
            crate::units::format_nanos(interval)
        ));
    }
    Ok(())
}
