//! The human-readable report of a run, rendered from a [`Summary`].

use crate::analysis::{Latency, Summary, WindowLimit};
use crate::units::{format_bitrate, format_bytes, format_nanos};
use std::fmt::Write;

/// A window-limited flow: the limit, and what doubling the buffer that sets it (or, for an
/// autotuned buffer, its maximum) would allow.
fn window_line(out: &mut String, w: &WindowLimit) {
    let streams = match w.streams {
        1 => String::new(),
        n => format!("{n} streams × "),
    };
    let (setting, how) = match w.autotune_max {
        Some(_) => (format!("{}_max", w.buffer), ", autotuned to its maximum"),
        None => (w.buffer.to_string(), ""),
    };
    let _ = writeln!(
        out,
        "    window-limited: {streams}{} ({} on {}{how}) / {} RTT = {}; {setting}: \"{}\" would allow up to {} if the path carries it",
        format_bytes(w.window_bytes),
        w.buffer,
        w.host,
        format_nanos((w.min_rtt_us * 1e3) as u64),
        format_bitrate(w.limit_bps),
        format_bytes(2 * w.window_bytes),
        format_bitrate(2.0 * w.limit_bps),
    );
}

fn latency_line(out: &mut String, label: &str, l: &Option<Latency>) {
    if let Some(l) = l {
        let _ = writeln!(
            out,
            "    {label:<10} p50 {:>10}  p90 {:>10}  p99 {:>10}  p99.9 {:>10}  max {:>10}  (n={})",
            ms(l.p50_us),
            ms(l.p90_us),
            ms(l.p99_us),
            ms(l.p999_us),
            ms(l.max_us),
            l.count
        );
    }
}

/// Microseconds as seconds with three decimals.
fn secs(us: f64) -> String {
    format!("{:.3}", us / 1e6)
}

/// Microseconds as milliseconds with three decimals (microsecond resolution).
fn ms(us: f64) -> String {
    format!("{:.3}ms", us / 1e3)
}

pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lab {}  seed {}  duration {}",
        s.lab,
        s.seed,
        format_nanos((s.duration_us * 1e3) as u64)
    );
    if !s.assumptions.is_empty() {
        let _ = writeln!(out, "\nassumptions (what the imported design does not say)");
        for a in &s.assumptions {
            let _ = writeln!(out, "  {}", crate::lab::escape(a));
        }
    }
    if let Some(at) = s.stalled_at_us {
        let _ = writeln!(
            out,
            "STOPPED at {}: {}; nothing after it was measured",
            format_nanos((at * 1e3).round() as u64),
            s.stopped_because
                .as_deref()
                .unwrap_or("the run stopped early")
        );
    }
    if !s.apps.is_empty() {
        let _ = writeln!(out, "\napps");
    }
    for a in &s.apps {
        let _ = writeln!(out, "  {} ({}, {} -> {})", a.name, a.kind, a.from, a.to);
        if a.unit == crate::analysis::Unit::Bytes {
            let _ = writeln!(
                out,
                "    sent {} B, received {} B",
                a.figures.sent, a.received
            );
        } else {
            let _ = writeln!(
                out,
                "    sent {} {u}, received {}, lost {} ({:.3}%), in flight at end {}",
                a.figures.sent,
                a.received,
                a.figures.lost,
                a.loss_ratio * 100.0,
                a.figures.in_flight,
                u = a.unit
            );
        }
        latency_line(&mut out, "one-way", &a.figures.one_way);
        latency_line(&mut out, "rtt", &a.figures.rtt);
        latency_line(&mut out, "completion", &a.figures.completion);
        if let Some(g) = a.figures.goodput_bps {
            let _ = write!(out, "    goodput {}", format_bitrate(g));
            if let Some(st) = a.steady_goodput_bps {
                let _ = write!(out, ", steady state {}", format_bitrate(st));
            }
            if let Some(t) = a.completed_at_us {
                let _ = write!(out, ", completed at {}", format_nanos((t * 1e3) as u64));
            }
            let _ = writeln!(out);
        }
        if let Some(w) = a.window.as_ref().filter(|w| w.limited) {
            window_line(&mut out, w);
        }
        for p in &a.phases {
            let phase = format!("{} ({}s)", p.phase, secs(p.from_us));
            if let Some(g) = p.figures.goodput_bps {
                let _ = writeln!(out, "    phase {phase:<32} goodput {}", format_bitrate(g));
                continue;
            }
            let (label, l) = match (&p.figures.rtt, &p.figures.completion) {
                (Some(l), _) => ("rtt", Some(l)),
                (None, Some(l)) => ("completion", Some(l)),
                _ => ("rtt", None),
            };
            let rtt = l.map_or("-".to_string(), |l| ms(l.p50_us));
            let p99 = l.map_or("-".to_string(), |l| ms(l.p99_us));
            let _ = writeln!(
                out,
                "    phase {phase:<32} {label} p50 {:>10}  p99 {:>10}  sent {:>6}  lost {:>5}",
                rtt, p99, p.figures.sent, p.figures.lost
            );
        }
        if a.kind.is_tcp() && a.established_at_us.is_none() {
            let _ = writeln!(out, "    the connection never established");
        }
    }
    let _ = writeln!(out, "\nlinks");
    let label = |l: &crate::analysis::LinkSummary| format!("{} {}->{}", l.link, l.from, l.to);
    let w = s
        .links
        .iter()
        .map(|l| label(l).len())
        .max()
        .unwrap_or(0)
        .max(14);
    let _ = writeln!(
        out,
        "  {:<w$} {:>10} {:>14} {:>10} {:>8} {:>8} {:>6} {:>6} {:>10}",
        "link direction",
        "packets",
        "bytes",
        "delivered",
        "queue",
        "loss",
        "mtu",
        "down",
        "peak queue"
    );
    for l in &s.links {
        let st = &l.stats;
        let _ = writeln!(
            out,
            "  {:<w$} {:>10} {:>14} {:>10} {:>8} {:>8} {:>6} {:>6} {:>10}",
            label(l),
            st.offered_packets,
            st.offered_bytes,
            st.delivered_packets,
            st.drops.queue,
            st.drops.loss,
            st.drops.mtu,
            st.drops.down,
            st.peak_queue_packets
        );
    }
    if !s.routers.is_empty() {
        let _ = writeln!(out, "\nrouters");
        for r in &s.routers {
            let d = &r.drops;
            let _ = write!(
                out,
                "  {:<16} forwarded {:>10}  local {:>6}  drops: no route {}, ttl {}, mtu {}, link down {}, malformed {}, capacity {}",
                r.name, r.forwarded, r.local, d.no_route, d.ttl_expired, d.mtu, d.link_down, d.malformed, d.capacity
            );
            // VNet peering is not transitive: only VNet labs meet it, so only they show it.
            if d.not_transitive > 0 {
                let _ = write!(out, ", not transitive {}", d.not_transitive);
            }
            let _ = writeln!(out);
        }
    }
    for r in s.routers.iter().filter(|r| r.drops.not_transitive > 0) {
        let _ = writeln!(
            out,
            "  finding: {} dropped {} packets that only a second VNet peering or Global Reach would carry: neither is transitive; for spokes, route them through an appliance in the hub with user-defined routes; for sites, join the two circuits directly",
            r.name, r.drops.not_transitive
        );
    }
    for l in &s.loops {
        let _ = writeln!(
            out,
            "  finding: forwarding loop between {}: {} packets died of TTL from {} to {} (sent at TTL 64, they circled)",
            l.routers.join(", "),
            l.packets,
            format_nanos((l.first_us * 1e3).round() as u64),
            format_nanos((l.last_us * 1e3).round() as u64)
        );
    }
    if !s.tunnels.is_empty() {
        let _ = writeln!(out, "\ntunnels");
    }
    for t in &s.tunnels {
        for (side, st) in t.stats.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:<16} at {:<16} sent {:>9}  received {:>9}  MSS clamped {:>4}  too big {:>6}",
                t.name, t.ends[side], st.encapsulated, st.decapsulated, st.mss_clamped, st.too_big
            );
            if st.too_big > 0 {
                let _ = writeln!(
                    out,
                    "    {} packets from {} were too large once wrapped in ESP and were dropped (ESP is never \
                     fragmented): clamp the TCP MSS (mss_clamp: 1350) or lower the MTU",
                    st.too_big, t.ends[side]
                );
            }
            if st.stream_full > 0 {
                let _ = writeln!(
                    out,
                    "    {} packets from {} found the tunnel's TCP connection's send buffer full and were dropped \
                     (TCP inside TCP: they wait behind the outer connection's retransmissions)",
                    st.stream_full, t.ends[side]
                );
            }
            if st.connect_attempts > 0 {
                let without = format_nanos(st.unconnected);
                let _ = match st.first_connected {
                    Some(first) => writeln!(
                        out,
                        "    {} connected {} time(s) in {} attempt(s), the first at {}; without a connection for {} in all",
                        t.ends[side],
                        st.connections,
                        st.connect_attempts,
                        format_nanos(first),
                        without
                    ),
                    None => writeln!(
                        out,
                        "    {} never connected: {} attempt(s), without a connection for the whole run ({}); its traffic had no tunnel",
                        t.ends[side], st.connect_attempts, without
                    ),
                };
            }
        }
    }
    // Sessions lost before any fault (a prefix limit, a misconfiguration): no timeline
    // explains them, so they are listed here, once per session and cause.
    let first_fault = s.failover.first().map_or(f64::INFINITY, |t| t.at_us);
    let mut lost: Vec<(&str, std::net::Ipv4Addr, &str, usize, f64, f64)> = Vec::new();
    for e in s
        .control
        .iter()
        .filter(|e| e.time_us < first_fault && e.event.contains("down"))
    {
        match lost
            .iter_mut()
            .find(|l| l.0 == e.router && l.1 == e.peer && l.2 == e.event)
        {
            Some(l) => (l.3, l.5) = (l.3 + 1, e.time_us),
            None => lost.push((&e.router, e.peer, &e.event, 1, e.time_us, e.time_us)),
        }
    }
    if !lost.is_empty() {
        let _ = writeln!(out, "\ncontrol plane, before any fault");
        for (router, peer, event, n, first, last) in lost {
            let _ = writeln!(
                out,
                "  {router} (peer {peer}): {event}, {n} time(s), first at {}s, last at {}s",
                secs(first),
                secs(last)
            );
        }
    }
    if !s.failover.is_empty() {
        let _ = writeln!(out, "\nfailover timeline");
    }
    for t in &s.failover {
        let _ = writeln!(out, "  {:>9}s  {}", secs(t.at_us), t.fault);
        // The steps after the fault, in the order they happened.
        let mut steps: Vec<(f64, String)> = Vec::new();
        match &t.detection {
            Some(d) => steps.push((
                d.after_us,
                format!("{} at {} (peer {})", d.by, d.router, d.peer),
            )),
            None => {
                let _ = writeln!(out, "    the control plane did not react");
            }
        }
        for m in &t.route_changes {
            let hops = |hops: &[std::net::Ipv4Addr]| {
                if hops.is_empty() {
                    "withdrawn".to_string()
                } else {
                    hops.iter()
                        .map(|h| h.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let mut text = format!("{} moves {} -> {}", m.router, m.prefix, hops(&m.next_hops));
            if m.settled_next_hops != m.next_hops || m.settled_at_us != m.at_us {
                let later = match ((m.settled_at_us - m.at_us) * 1e3).round() as u64 {
                    0 => "at the same instant".to_string(),
                    ns => format!("{} later", format_nanos(ns)),
                };
                let _ = write!(text, ", settling on {} {later}", hops(&m.settled_next_hops));
            }
            steps.push((m.after_us, text));
        }
        for o in &t.outages {
            if let Some(at) = o.new_path_us {
                steps.push((
                    at - t.at_us,
                    format!("first {} packet delivered on the new path", o.app),
                ));
            }
        }
        steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (after, text) in steps {
            let _ = writeln!(out, "    +{:>8}s  {text}", secs(after));
        }
        for o in &t.outages {
            if o.outage_us > 0.0 {
                let lost = if o.lost > 0 {
                    format!(", {} lost", o.lost)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "    {:<10} outage {:>9}s  (from {}s to {}s{lost})",
                    o.app,
                    secs(o.outage_us),
                    secs(o.from_us),
                    secs(o.to_us)
                );
            } else {
                let _ = writeln!(out, "    {:<10} no outage", o.app);
            }
        }
    }
    let _ = writeln!(out, "\nrun: {} events", s.events);
    if let Some(t) = &s.timing {
        let _ = writeln!(
            out,
            "     wall {:.3}s, {:.1}x real time, {:.2} M events/s",
            t.wall_seconds,
            t.sim_per_wall,
            t.events_per_second / 1e6
        );
    }
    out
}

/// A sweep, per combination: each app's merged latencies and loss, its goodput across runs,
/// and per fault the detection time and each app's outage across runs.
pub fn render_sweep(combos: &[crate::drivers::sweep::Combination]) -> String {
    use crate::analysis::aggregate::Spread;
    let mut out = String::new();
    let spread = |s: Option<Spread>, unit: fn(f64) -> String| match s {
        None => "-".to_string(),
        Some(s) => format!(
            "median {}  p95 {}  min {}  max {}  mean {} ± {} (95%, {} runs)",
            unit(s.median),
            unit(s.p95),
            unit(s.min),
            unit(s.max),
            unit(s.mean),
            unit(s.ci95),
            s.runs
        ),
    };
    let us_ms = |v: f64| ms(v);
    let bitrate = |v: f64| format_bitrate(v);
    for c in combos {
        let a = &c.aggregate;
        let label = if c.sets.is_empty() {
            "the lab as written".to_string()
        } else {
            c.sets.join("  ")
        };
        let _ = writeln!(out, "{label}  ({} seeds)", a.seeds.len());
        for app in &a.apps {
            let _ = writeln!(out, "  {} ({})", app.name, app.kind);
            if app.kind.echoes() || app.kind == crate::lab::model::AppKind::TcpRequestResponse {
                let _ = writeln!(
                    out,
                    "    sent {}, lost {} ({:.3}%)",
                    app.sent,
                    app.lost,
                    100.0 * app.lost as f64 / (app.sent - app.in_flight).max(1) as f64
                );
            }
            for (label, l) in [
                ("one-way", &app.one_way),
                ("rtt", &app.rtt),
                ("completion", &app.completion),
            ] {
                latency_line(&mut out, label, &Latency::of(l));
            }
            if let Some(s) = app.goodput_bps.spread() {
                let _ = writeln!(out, "    goodput {}", spread(Some(s), bitrate));
            }
        }
        if !c.expectations.is_empty() {
            let runs = a.seeds.len();
            let _ = writeln!(
                out,
                "  expectations: {} of {runs} runs met all (at least {:.0}% must): {}",
                c.runs_meeting_all,
                100.0 * c.required_fraction,
                if c.passed() { "ok" } else { "MISSED" }
            );
            for t in c.expectations.iter().filter(|t| t.met < t.runs) {
                let _ = writeln!(
                    out,
                    "    {} held in {} of {} runs",
                    t.expectation, t.met, t.runs
                );
            }
            for t in c.expectations.iter().filter(|t| t.not_reached > 0) {
                let _ = writeln!(
                    out,
                    "    {} not reached in {} of {} runs (they end before its fault)",
                    t.expectation, t.not_reached, t.runs
                );
            }
        }
        for f in &a.faults {
            let _ = writeln!(out, "  fault at {}s: {}", secs(f.at_us), f.fault);
            let _ = writeln!(
                out,
                "    detection  {}{}",
                spread(f.detection_us.spread(), us_ms),
                match f.undetected {
                    0 => String::new(),
                    n => format!("; undetected in {n} runs"),
                }
            );
            for o in &f.outages {
                let text = match o.outage_us.spread() {
                    Some(s) if s.max == 0.0 => format!("none in {} runs", s.runs),
                    other => spread(other, us_ms),
                };
                let _ = writeln!(out, "    {:<10} outage {text}", o.app);
            }
        }
    }
    out
}

/// A sweep as CSV: one row per combination and figure. Per-run figures (goodput, detection,
/// outage) give their spread across runs; latencies give the merged distribution of every
/// sample (count = samples, no interval).
pub fn sweep_csv(combos: &[crate::drivers::sweep::Combination]) -> String {
    let mut out = String::from("combination,app,fault,metric,count,min,median,p95,max,mean,ci95\n");
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    for c in combos {
        let combo = quote(&c.sets.join(" "));
        let mut row = |app: &str, fault: &str, metric: &str, f: [String; 7]| {
            let _ = writeln!(
                out,
                "{combo},{},{},{metric},{}",
                quote(app),
                quote(fault),
                f.join(",")
            );
        };
        let per_run = |p: &crate::analysis::aggregate::PerRun| {
            p.spread().map(|s| {
                [s.runs as f64, s.min, s.median, s.p95, s.max, s.mean, s.ci95]
                    .map(|v| v.to_string())
            })
        };
        for app in &c.aggregate.apps {
            for (metric, l) in [
                ("one_way_us", &app.one_way),
                ("rtt_us", &app.rtt),
                ("completion_us", &app.completion),
            ] {
                if let Some(summary) = Latency::of(l) {
                    let p95 = l.quantile(0.95).map_or(0.0, |ns| ns as f64 / 1e3);
                    row(
                        &app.name,
                        "",
                        metric,
                        [
                            summary.count.to_string(),
                            summary.min_us.to_string(),
                            summary.p50_us.to_string(),
                            p95.to_string(),
                            summary.max_us.to_string(),
                            summary.mean_us.to_string(),
                            String::new(),
                        ],
                    );
                }
            }
            for (metric, p) in [
                ("goodput_bps", &app.goodput_bps),
                ("steady_goodput_bps", &app.steady_goodput_bps),
            ] {
                if let Some(f) = per_run(p) {
                    row(&app.name, "", metric, f);
                }
            }
        }
        for f in &c.aggregate.faults {
            if let Some(v) = per_run(&f.detection_us) {
                row("", &f.fault, "detection_us", v);
            }
            for o in &f.outages {
                if let Some(v) = per_run(&o.outage_us) {
                    row(&o.app, &f.fault, "outage_us", v);
                }
            }
        }
    }
    out
}

/// A resilience analysis as CSV: one row per candidate and app (the baseline first, as
/// candidate kind `baseline`), with what the failure did, its rate and what it costs the app a
/// year.
pub fn resilience_csv(analyses: &[crate::drivers::resilience::Analysis]) -> String {
    let mut out = String::from(
        "lab,kind,candidate,app,outage_us,lost,recovered,single_point_of_failure,unchanged,repair_at_us,end_us,p99_us,goodput_bps,failures_per_year,repair_us,downtime_s_per_year\n",
    );
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let p99 = |f: &crate::analysis::Figures| {
        f.rtt
            .as_ref()
            .or(f.completion.as_ref())
            .map(|l| l.p99_us.to_string())
            .unwrap_or_default()
    };
    let goodput =
        |f: &crate::analysis::Figures| f.goodput_bps.map(|g| g.to_string()).unwrap_or_default();
    for a in analyses {
        let lab = quote(&a.lab);
        for e in &a.baseline {
            let _ = writeln!(
                out,
                "{lab},baseline,\"\",{},{},{},{},false,true,{},{},{},{},0,0,0",
                quote(&e.app),
                e.outage_us,
                e.lost,
                e.recovered,
                a.repair_at_us,
                a.end_us,
                p99(&e.figures),
                goodput(&e.figures),
            );
        }
        for (o, rate) in a.outcomes.iter().zip(&a.rates) {
            for e in &o.effects {
                let spof = a
                    .single_points_of_failure
                    .iter()
                    .any(|(app, c)| *app == e.app && *c == o.candidate);
                let unchanged = a
                    .ranking
                    .iter()
                    .find(|(app, _)| *app == e.app)
                    .and_then(|(_, rows)| rows.iter().find(|r| r.candidate == o.candidate))
                    .is_some_and(|r| r.as_baseline);
                let downtime = a
                    .downtime
                    .iter()
                    .find(|d| d.app == e.app)
                    .and_then(|d| d.contributors.iter().find(|c| c.candidate == o.candidate))
                    .map_or(0.0, |c| c.seconds_per_year);
                let _ = writeln!(
                    out,
                    "{lab},{},{},{},{},{},{},{spof},{unchanged},{},{},{},{},{},{},{downtime}",
                    o.kind.name(),
                    quote(&o.candidate),
                    quote(&e.app),
                    e.outage_us,
                    e.lost,
                    e.recovered,
                    o.repair_at_us,
                    o.end_us,
                    p99(&e.figures),
                    goodput(&e.figures),
                    rate.failures_per_year,
                    rate.repair_us,
                );
            }
        }
    }
    out
}
