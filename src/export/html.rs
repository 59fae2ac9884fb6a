//! A one-page lab report: one self-contained HTML file (inline SVG and CSS, no scripts, nothing
//! fetched) holding the lab's name and teaching notes, the topology, the failover timelines,
//! the plots and the report's tables — what a teacher projects and an engineer attaches to a
//! design review.

use crate::analysis::Summary;
use std::fmt::Write;

/// What the page shows.
pub struct Page<'a> {
    /// The run's summary (tables).
    pub summary: &'a Summary,
    /// The lab file's leading comment: its teaching notes.
    pub notes: &'a str,
    /// The topology drawing.
    pub topology: &'a str,
    /// The charts, as (file name, SVG): timelines, goodput, latency, queues.
    pub charts: &'a [(String, String)],
    /// The text report, as printed.
    pub report: &'a str,
    /// The lab's expectations and how the run met them, as printed.
    pub expectations: &'a str,
    /// The routing once converged and after each fault settled (VMs' effective routes and
    /// gateways' learned routes are shown).
    pub routing: &'a [crate::routing::Snapshot],
}

/// The page of a finished run of `lab` (whose file reads `lab_text`): its `summary` and
/// expectation `outcomes` (computed once per run, by the caller), charts from `queues`, the
/// topology and the text report.
pub fn report(
    lab: &crate::lab::model::Lab,
    lab_text: &str,
    results: &crate::results::Results,
    summary: &crate::analysis::Summary,
    outcomes: &[crate::analysis::expect::Outcome],
    queues: &super::plots::QueueSamples,
    routing: &[crate::routing::Snapshot],
) -> Result<String, crate::export::plot::PlotError> {
    let charts = super::plots::charts(lab, results, queues)?;
    Ok(page(&Page {
        routing,
        summary,
        notes: &teaching_notes(lab_text),
        topology: &super::draw::topology_svg(lab)?,
        charts: &charts,
        report: &crate::export::report::render(summary),
        expectations: &crate::analysis::expect::render(outcomes),
    }))
}

/// The lab file's leading `//` comment lines, without the slashes.
pub fn teaching_notes(lab_text: &str) -> String {
    lab_text
        .lines()
        .map(str::trim_start)
        .take_while(|l| l.starts_with("//") || l.is_empty())
        .map(|l| {
            l.trim_start_matches('/')
                .strip_prefix(' ')
                .unwrap_or(l.trim_start_matches('/'))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Text made safe inside HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1500px;color:#222}\
h1{font-size:1.8em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;\
text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}\
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.85em}\
.notes{white-space:pre-wrap;background:#f4f8fc;padding:1em;border-left:4px solid #4e79a7}\
figure{margin:1em 0}svg{max-width:100%;height:auto}";

/// The id of the row of snapshot `k` that shows `router`'s route for `prefix`: the route of
/// the first VM of a VNet, or of a gateway.
fn route_anchor(k: usize, router: &str, prefix: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    };
    format!("route-{k}-{}-{}", clean(router), clean(prefix))
}

/// A table row's cells, and the prefix it is for.
type Row = (Vec<String>, String);

/// The routing section: per snapshot, each VM's effective routes and each gateway's learned
/// routes, a row new since the snapshot before marked; and the ids of the rows a route change
/// can link to.
fn routing_section(snaps: &[crate::routing::Snapshot]) -> (String, Vec<String>) {
    use crate::routing::View;
    let mut h = String::new();
    let mut anchors = Vec::new();
    if snaps.is_empty() {
        return (h, anchors);
    }
    h.push_str("<h2>Routing</h2>\n<p>Read from the run at each instant (<code>emulate routes</code> prints every table). A row marked <mark>new</mark> was not in the table before.</p>\n");
    let mut before: std::collections::BTreeMap<String, Vec<Vec<String>>> = Default::default();
    for (k, s) in snaps.iter().enumerate() {
        let _ = writeln!(
            h,
            "<h3>At {} ({})</h3>",
            crate::units::format_nanos(s.moment.at),
            escape(&s.moment.label)
        );
        for v in &s.views {
            let (title, key, router, head, rows): (String, String, &str, &[&str], Vec<Row>) =
                match v {
                    View::EffectiveRoutes { vm, vnet, routes } => (
                        format!("Effective routes of VM {}", escape(vm)),
                        format!("vm/{vm}"),
                        vnet.as_str(),
                        &[
                            "source",
                            "state",
                            "address prefix",
                            "next hop type",
                            "next hop IP",
                            "",
                        ],
                        routes
                            .iter()
                            .map(|r| {
                                let ips: Vec<String> =
                                    r.next_hop_ip.iter().map(|a| a.to_string()).collect();
                                (
                                    vec![
                                        r.source.to_string(),
                                        r.state.to_string(),
                                        r.prefix.to_string(),
                                        r.next_hop_type.to_string(),
                                        ips.join(", "),
                                        r.note.clone().unwrap_or_default(),
                                    ],
                                    r.prefix.to_string(),
                                )
                            })
                            .collect(),
                    ),
                    View::Gateway {
                        gateway, learned, ..
                    } => (
                        format!("Learned routes of gateway {}", escape(gateway)),
                        format!("gw/{gateway}"),
                        gateway.as_str(),
                        &[
                            "network",
                            "origin",
                            "source peer",
                            "AS path",
                            "weight",
                            "next hop",
                            "",
                        ],
                        learned
                            .iter()
                            .map(|l| {
                                let path: Vec<String> =
                                    l.as_path.iter().map(u32::to_string).collect();
                                let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
                                (
                                    vec![
                                        l.network.to_string(),
                                        l.origin.to_string(),
                                        opt(l.source_peer.map(|p| p.to_string())),
                                        path.join(" "),
                                        opt(l.weight.map(|w| w.to_string())),
                                        opt(l.next_hop.map(|n| n.to_string())),
                                        match &l.lost {
                                            Some(why) => format!("not used: {why}"),
                                            None => String::new(),
                                        },
                                    ],
                                    l.network.to_string(),
                                )
                            })
                            .collect(),
                    ),
                    _ => continue,
                };
            let _ = write!(h, "<h4>{title}</h4>\n<table><tr>");
            for c in head {
                let _ = write!(h, "<th>{c}</th>");
            }
            h.push_str("</tr>\n");
            let old = before.get(&key);
            for (cells, prefix) in &rows {
                let anchor = route_anchor(k, router, prefix);
                let id = if anchors.contains(&anchor) {
                    String::new()
                } else {
                    anchors.push(anchor.clone());
                    format!(" id=\"{anchor}\"")
                };
                let new = old.is_some_and(|o| !o.contains(cells));
                let _ = write!(h, "<tr{id}>");
                for (i, c) in cells.iter().enumerate() {
                    let c = escape(c);
                    if new && i == 0 {
                        let _ = write!(h, "<td><mark>new</mark> {c}</td>");
                    } else {
                        let _ = write!(h, "<td>{c}</td>");
                    }
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
            before.insert(key, rows.into_iter().map(|r| r.0).collect());
        }
    }
    (h, anchors)
}

/// Milliseconds from microseconds, as the report writes them.
fn ms(us: f64) -> String {
    format!("{:.3}", us / 1e3)
}

/// The page.
pub fn page(p: &Page) -> String {
    let s = p.summary;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{name}: hybridlab report</title><style>{STYLE}</style></head><body>\n\
         <h1>{name}</h1>\n<p>seed {seed}, {duration:.3} s of virtual time, {events} events</p>\n",
        name = escape(&s.lab),
        seed = s.seed,
        duration = s.duration_us / 1e6,
        events = s.events
    );
    if !p.notes.is_empty() {
        let _ = write!(
            h,
            "<h2>Teaching notes</h2>\n<div class=\"notes\">{}</div>\n",
            escape(p.notes)
        );
    }
    if !s.assumptions.is_empty() {
        // What the run depends on that the imported design does not say: never silently.
        h.push_str("<h2>Assumptions (what the imported design does not say)</h2>\n<ul>\n");
        for a in &s.assumptions {
            let _ = writeln!(h, "<li>{}</li>", escape(a));
        }
        h.push_str("</ul>\n");
    }
    let _ = write!(h, "<h2>Topology</h2>\n<figure>{}</figure>\n", p.topology);
    if !p.expectations.is_empty() {
        let _ = write!(
            h,
            "<h2>Expectations</h2>\n<pre>{}</pre>\n",
            escape(p.expectations)
        );
    }
    // Apps.
    let _ = write!(
        h,
        "<h2>Apps</h2>\n<table><tr><th>app</th><th>kind</th><th>from → to</th><th>sent</th>\
         <th>received</th><th>lost</th><th>p50 (ms)</th><th>p99 (ms)</th><th>max (ms)</th>\
         <th>goodput (Mbps)</th></tr>\n"
    );
    for a in &s.apps {
        let latency = a.figures.rtt.as_ref().or(a.figures.completion.as_ref());
        let cell =
            |f: fn(&crate::analysis::Latency) -> f64| latency.map_or(String::new(), |l| ms(f(l)));
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{} {}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&a.name),
            a.kind,
            escape(&a.from),
            escape(&a.to),
            a.figures.sent,
            a.unit,
            a.received,
            a.figures.lost,
            cell(|l| l.p50_us),
            cell(|l| l.p99_us),
            cell(|l| l.max_us),
            a.figures
                .goodput_bps
                .map_or(String::new(), |g| format!("{:.2}", g / 1e6))
        );
    }
    h.push_str("</table>\n");
    let (routing_html, anchors) = routing_section(p.routing);
    // Failover.
    if !s.failover.is_empty() {
        h.push_str("<h2>Failover</h2>\n");
        for (k, t) in s.failover.iter().enumerate() {
            let _ = write!(
                h,
                "<h3>{} at {:.3} s</h3>\n<table><tr><th>step</th><th>at (s)</th><th>after the fault (ms)</th></tr>\n",
                escape(&t.fault),
                t.at_us / 1e6
            );
            if let Some(d) = &t.detection {
                let _ = writeln!(
                    h,
                    "<tr><td>detected by {} at {} (peer {})</td><td>{:.6}</td><td>{}</td></tr>",
                    d.by,
                    escape(&d.router),
                    d.peer,
                    d.at_us / 1e6,
                    ms(d.after_us)
                );
            }
            // The snapshot taken once this fault settled, whose rows a route change links to.
            let snap = p
                .routing
                .iter()
                .position(|r| r.after_fault.is_some_and(|f| f as f64 / 1e3 == t.at_us));
            for m in &t.route_changes {
                let anchor = snap
                    .map(|k| route_anchor(k, &m.router, &m.prefix))
                    .filter(|a| anchors.contains(a));
                let what = format!("{} moves {}", escape(&m.router), escape(&m.prefix));
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{:.6}</td><td>{}</td></tr>",
                    match anchor {
                        Some(a) => format!("<a href=\"#{a}\">{what}</a>"),
                        None => what,
                    },
                    m.at_us / 1e6,
                    ms(m.after_us)
                );
            }
            h.push_str("</table>\n<table><tr><th>app</th><th>outage (ms)</th><th>lost</th><th>new path after (ms)</th></tr>\n");
            for o in &t.outages {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&o.app),
                    ms(o.outage_us),
                    o.lost,
                    o.new_path_us.map_or(String::new(), |p| ms(p - t.at_us))
                );
            }
            h.push_str("</table>\n");
            if let Some((_, svg)) = p
                .charts
                .iter()
                .find(|(name, _)| *name == format!("timeline-{}.svg", k + 1))
            {
                let _ = writeln!(h, "<figure>{svg}</figure>");
            }
        }
    }
    h.push_str(&routing_html);
    // Plots.
    h.push_str("<h2>Plots</h2>\n");
    for prefix in ["goodput-", "latency-", "queue-"] {
        for (_, svg) in p.charts.iter().filter(|(name, _)| name.starts_with(prefix)) {
            let _ = writeln!(h, "<figure>{svg}</figure>");
        }
    }
    // Links.
    h.push_str(
        "<h2>Links</h2>\n<table><tr><th>link</th><th>direction</th><th>offered</th>\
         <th>delivered</th><th>drops: queue</th><th>loss</th><th>mtu</th><th>down</th>\
         <th>peak queue</th></tr>\n",
    );
    for l in &s.links {
        let d = &l.stats;
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&l.link),
            escape(&l.from),
            escape(&l.to),
            d.offered_packets,
            d.delivered_packets,
            d.drops.queue,
            d.drops.loss,
            d.drops.mtu,
            d.drops.down,
            d.peak_queue_packets
        );
    }
    h.push_str("</table>\n");
    let _ = write!(
        h,
        "<h2>The report</h2>\n<pre>{}</pre>\n</body></html>\n",
        escape(p.report)
    );
    h
}

/// The colour of a resilience matrix cell: what the failure did to the app.
fn cell_colour(r: &crate::drivers::resilience::Ranked) -> &'static str {
    if !r.recovered {
        "#ef9a9a"
    } else if r.as_baseline {
        "#e8f5e9"
    } else if r.outage_us < 1e6 {
        "#fff9c4"
    } else if r.outage_us < 10e6 {
        "#ffe0b2"
    } else {
        "#ffccbc"
    }
}

/// One page of resilience analyses (`emulate resilience --html`): per lab the expected
/// downtime, a matrix of candidates × apps coloured by outage with the single points of
/// failure marked, and each candidate's failover timeline as a chart.
pub fn resilience_page(
    analyses: &[crate::drivers::resilience::Analysis],
) -> Result<String, crate::export::plot::PlotError> {
    use crate::drivers::resilience::{format_seconds, percent};
    use crate::export::plot::{timeline_chart, TimelineRow};
    let names: Vec<&str> = analyses.iter().map(|a| a.lab.as_str()).collect();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}: hybridlab resilience</title><style>{STYLE}</style></head><body>\n\
         <h1>Resilience of {title}</h1>\n",
        title = escape(&names.join(" and "))
    );
    for a in analyses {
        let _ = write!(
            h,
            "<h2>{lab}</h2>\n<p>seed {seed}: {n} single failures{pairs}, each at {fail:.3} s, \
             repaired at {repair:.3} s (or when the platform restores it)</p>\n",
            lab = escape(&a.lab),
            seed = a.seed,
            n = a.outcomes.len(),
            pairs = if a.pairs.is_empty() {
                String::new()
            } else {
                format!(" and {} pairs", a.pairs.len())
            },
            fail = a.fail_at_us / 1e6,
            repair = a.repair_at_us / 1e6,
        );
        h.push_str("<h3>Expected downtime a year (first order)</h3>\n<table><tr><th>app</th><th>downtime</th><th>availability</th><th>largest contributors</th></tr>\n");
        for d in &a.downtime {
            let (down, avail) = match (d.seconds_per_year, d.availability) {
                (Some(s), Some(v)) => (format_seconds(s), percent(v)),
                _ => ("none: nothing gets through".to_string(), String::new()),
            };
            let top: Vec<String> = d
                .contributors
                .iter()
                .take(3)
                .map(|c| {
                    format!(
                        "{} {}",
                        escape(&c.candidate),
                        format_seconds(c.seconds_per_year)
                    )
                })
                .collect();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{down}</td><td>{avail}</td><td>{}</td></tr>",
                escape(&d.app),
                top.join(", ")
            );
        }
        h.push_str("</table>\n");
        // The matrix: a row per candidate, a column per app.
        h.push_str("<h3>Every single failure</h3>\n<p>Green: nothing the app sees changes; yellow, orange: an outage under 1 s, under 10 s, longer; red: DOWN until the repair, a single point of failure.</p>\n<table><tr><th>kind</th><th>candidate</th>");
        for (app, _) in &a.ranking {
            let _ = write!(h, "<th>{}</th>", escape(app));
        }
        h.push_str("</tr>\n");
        for o in &a.outcomes {
            let _ = write!(
                h,
                "<tr><td>{}</td><td><a href=\"#{lab}-{c}\">{c}</a></td>",
                o.kind.name(),
                lab = escape(&a.lab),
                c = escape(&o.candidate)
            );
            for (_, rows) in &a.ranking {
                let Some(r) = rows.iter().find(|r| r.candidate == o.candidate) else {
                    h.push_str("<td></td>");
                    continue;
                };
                let text = if !r.recovered {
                    "<b>SPOF</b>".to_string()
                } else if r.as_baseline {
                    "—".to_string()
                } else {
                    format!("{:.3} s", r.outage_us / 1e6)
                };
                let _ = write!(h, "<td style=\"background:{}\">{text}</td>", cell_colour(r));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
        if !a.single_points_of_failure.is_empty() {
            h.push_str(
                "<h3>Single points of failure: the path before, and while failed</h3>\n<ul>\n",
            );
            for (app, c) in &a.single_points_of_failure {
                let paths = match a.effect(c, app).filter(|e| !e.path_before.is_empty()) {
                    Some(e) => format!(
                        "<br>before: {}<br>while failed: {}",
                        escape(&e.path_before),
                        escape(&e.path_while_failed)
                    ),
                    None => String::new(),
                };
                let _ = writeln!(h, "<li>{}: {}{paths}</li>", escape(app), escape(c));
            }
            h.push_str("</ul>\n");
        }
        if !a.double_points_of_failure.is_empty() {
            h.push_str("<h3>Pairs that stop an app it survives each alone</h3>\n<ul>\n");
            for (app, pair) in &a.double_points_of_failure {
                let _ = writeln!(h, "<li>{}: {}</li>", escape(app), escape(pair));
            }
            h.push_str("</ul>\n");
        }
        // Each candidate's timeline: its apps' outages against the failure and the repair.
        h.push_str("<h3>Failover timelines</h3>\n");
        for o in &a.outcomes {
            let mut rows: Vec<TimelineRow> = o
                .effects
                .iter()
                .map(|e| TimelineRow {
                    label: e.app.clone(),
                    bar: (e.outage_us > 0.0).then(|| {
                        (
                            (e.from_us - a.fail_at_us).max(0.0) / 1e6,
                            (e.to_us - a.fail_at_us) / 1e6,
                        )
                    }),
                    points: Vec::new(),
                })
                .collect();
            rows.push(TimelineRow {
                label: "failure".to_string(),
                bar: None,
                points: vec![
                    (0.0, "fails".to_string()),
                    (
                        (o.repair_at_us - a.fail_at_us) / 1e6,
                        "repaired".to_string(),
                    ),
                ],
            });
            let chart = timeline_chart(&format!("{} '{}'", o.kind.name(), o.candidate), &rows)?;
            let _ = writeln!(
                h,
                "<figure id=\"{}-{}\">{chart}</figure>",
                escape(&a.lab),
                escape(&o.candidate)
            );
        }
        if !a.expectations.is_empty() {
            let _ = write!(
                h,
                "<h3>Expectations</h3>\n<pre>{}</pre>\n",
                escape(&crate::analysis::expect::render(&a.expectations))
            );
        }
    }
    h.push_str("</body></html>\n");
    Ok(h)
}
