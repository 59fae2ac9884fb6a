//! Plots as SVG files, drawn after the run from its results and one observer:
//!
//! - `latency-APP.svg`: each probe, ping and request/response app's latency CDF, one curve
//!   per phase (from the start, then from each fault);
//! - `goodput-APP.svg`: each bulk TCP app's goodput per 100 ms, with every fault, detection,
//!   route change and the app's restoration marked and labelled;
//! - `queue-LINK.svg`: each link's queue over time, both directions (the longest queue a
//!   packet found in each 100 ms, at most [`MAX_POINTS`] points: longer runs are shown by the
//!   maximum over longer spans), for links whose queue ever held a packet;
//! - `timeline-K.svg`: fault K's failover: detection, route changes and each app's outage,
//!   first packet on a new path and restoration, in time after the fault.

use crate::analysis::Summarize;
use crate::export::plot::{CdfPanel, Curve, Line, Marker, PlotError, TimelineRow};
use crate::lab::model::Lab;
use crate::observe::{Observer, On};
use crate::results::{Results, GOODPUT_WINDOW};
use crate::substrate::engine::Time;
use crate::substrate::ids::{Dir, PerLinkDir};
use std::path::{Path, PathBuf};

/// The most points a queue chart draws.
pub const MAX_POINTS: usize = 2_000;
/// The span of one queue sample.
const SAMPLE: Time = 100_000_000;

/// Records each link direction's longest queue per 100 ms, for the queue charts.
pub struct QueueSamples {
    /// Per link, per direction: the peak of each sample span so far.
    peaks: PerLinkDir<Vec<u32>>,
    /// Samples merged per point once the series outgrew [`MAX_POINTS`].
    span: u64,
}

impl QueueSamples {
    pub fn new(lab: &Lab) -> Self {
        QueueSamples {
            peaks: PerLinkDir::filled(lab.links.len(), Vec::new()),
            span: 1,
        }
    }

    /// Halves the resolution of every series, keeping the maximum of each pair.
    fn coarsen(&mut self) {
        for dirs in self.peaks.pairs_mut() {
            for v in dirs.iter_mut() {
                *v = v
                    .chunks(2)
                    .map(|c| c.iter().copied().max().unwrap_or(0))
                    .collect();
            }
        }
        self.span *= 2;
    }
}

impl Observer for QueueSamples {
    fn sent(&mut self, at: Time, on: On, _packet: &[u8], queued: (u32, u64)) {
        let k = (at / SAMPLE / self.span) as usize;
        if k >= MAX_POINTS {
            self.coarsen();
            return self.sent(at, on, _packet, queued);
        }
        let v = &mut self.peaks[on.at];
        if v.len() <= k {
            v.resize(k + 1, 0);
        }
        v[k] = v[k].max(queued.0);
    }
}

/// Draws every chart of a run into `dir` (made if missing); the files written.
pub fn write_svgs(
    dir: &Path,
    lab: &Lab,
    r: &Results,
    queues: &QueueSamples,
) -> Result<Vec<PathBuf>, String> {
    let fail = |e: std::io::Error| format!("{}: cannot write the plots: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut written = Vec::new();
    for (name, svg) in charts(lab, r, queues).map_err(|e| e.to_string())? {
        let path = dir.join(name);
        std::fs::write(&path, svg).map_err(fail)?;
        written.push(path);
    }
    Ok(written)
}

/// Every chart of a run, as (file name, SVG), in the order of the module's list.
pub fn charts(
    lab: &Lab,
    r: &Results,
    queues: &QueueSamples,
) -> Result<Vec<(String, String)>, PlotError> {
    let summary = r.summary(None);
    let mut written = Vec::new();
    let mut write = |name: String, svg: String| written.push((name, svg));
    let end = r.duration as f64 / 1e9;
    // Phase names: the start, then each fault instant's faults.
    let phases: Vec<String> = std::iter::once("start".to_string())
        .chain(
            summary
                .failover
                .iter()
                .map(|t| format!("after {}", t.fault)),
        )
        .collect();
    for a in &r.apps {
        let per_phase: Vec<&crate::results::histogram::Latencies> = if let Some(p) = a.probes() {
            p.phases.iter().map(|ph| &ph.rtt).collect()
        } else if let Some(e) = a.exchanges() {
            e.phases.iter().collect()
        } else {
            Vec::new()
        };
        if let Some((what, _)) = a.latency() {
            let curves = per_phase
                .iter()
                .take(phases.len())
                .enumerate()
                .map(|(k, l)| Curve {
                    label: phases[k].clone(),
                    series: k,
                    latencies: l,
                })
                .collect();
            let svg = crate::export::plot::latency_cdfs(&[CdfPanel {
                title: format!("{}: {what} by phase", a.name),
                curves,
            }])?;
            write(format!("latency-{}.svg", super::file_part(&a.name)), svg);
        }
        if let Some(b) = a.bulk() {
            let start = a.start as f64 / 1e9;
            let points = b
                .goodput_windows
                .iter()
                .enumerate()
                .map(|(k, &bytes)| {
                    let t = start + (k as f64 + 0.5) * GOODPUT_WINDOW as f64 / 1e9;
                    (t, bytes as f64 * 8.0 / (GOODPUT_WINDOW as f64 / 1e9) / 1e6)
                })
                .collect();
            let mut markers = Vec::new();
            for t in &summary.failover {
                let at = t.at_us / 1e6;
                markers.push(Marker {
                    at,
                    label: format!("fault: {}", t.fault),
                });
                if let Some(d) = &t.detection {
                    markers.push(Marker {
                        at: d.at_us / 1e6,
                        label: format!("detected by {} at {}", d.by, d.router),
                    });
                }
                // One label for the route changes, at the first, naming how many and until when.
                for (i, m) in t.route_changes.iter().enumerate() {
                    let last = t.route_changes.last().map_or(0.0, |l| l.at_us / 1e6);
                    markers.push(Marker {
                        at: m.at_us / 1e6,
                        label: if i == 0 {
                            format!(
                                "{} route change{} ({}) to {last:.3} s",
                                t.route_changes.len(),
                                if t.route_changes.len() == 1 { "" } else { "s" },
                                m.router
                            )
                        } else {
                            String::new()
                        },
                    });
                }
                if let Some(o) = t
                    .outages
                    .iter()
                    .find(|o| o.app == a.name && o.outage_us > 0.0)
                {
                    markers.push(Marker {
                        at: o.to_us / 1e6,
                        label: format!("{} restored", a.name),
                    });
                }
            }
            markers.sort_by(|x, y| x.at.total_cmp(&y.at));
            let svg = crate::export::plot::time_chart(
                &format!("{}: goodput", a.name),
                "goodput (Mbps)",
                &[Line {
                    label: a.name.clone(),
                    points,
                }],
                &markers,
                end,
            )?;
            write(format!("goodput-{}.svg", super::file_part(&a.name)), svg);
        }
    }
    let step = (SAMPLE * queues.span) as f64 / 1e9;
    for (l, dirs) in lab.links.iter().zip(queues.peaks.pairs()) {
        if dirs.iter().all(|v| v.iter().all(|&q| q == 0)) {
            continue;
        }
        let lines: Vec<Line> = Dir::BOTH
            .iter()
            .zip(dirs)
            .map(|(d, v)| Line {
                label: d.label().to_string(),
                points: v
                    .iter()
                    .enumerate()
                    .map(|(k, &q)| ((k as f64 + 0.5) * step, f64::from(q)))
                    .collect(),
            })
            .collect();
        let svg = crate::export::plot::time_chart(
            &format!("{}: queue", l.name),
            "packets waiting (peak per sample)",
            &lines,
            &[],
            end,
        )?;
        write(format!("queue-{}.svg", super::file_part(&l.name)), svg);
    }
    for (k, t) in summary.failover.iter().enumerate() {
        let after = |us: f64| (us - t.at_us) / 1e6;
        let mut rows = Vec::new();
        if let Some(d) = &t.detection {
            rows.push(TimelineRow {
                label: "detection".into(),
                bar: None,
                points: vec![(after(d.at_us), format!("{} at {}", d.by, d.router))],
            });
        }
        if !t.route_changes.is_empty() {
            // Routers that moved within 20 ms of each other share one mark, so labels stay
            // readable.
            let mut points: Vec<(f64, String)> = Vec::new();
            for m in &t.route_changes {
                match points.last_mut() {
                    Some((at, names)) if after(m.at_us) - *at < 0.02 => {
                        if !names.split(", ").any(|n| n == m.router) {
                            names.push_str(", ");
                            names.push_str(&m.router);
                        }
                    }
                    _ => points.push((after(m.at_us), m.router.clone())),
                }
            }
            rows.push(TimelineRow {
                label: "route changes".into(),
                bar: None,
                points,
            });
        }
        for o in &t.outages {
            let mut points = Vec::new();
            if let Some(p) = o.new_path_us {
                points.push((after(p), "new path".to_string()));
            }
            let bar = (o.outage_us > 0.0).then(|| (after(o.from_us).max(0.0), after(o.to_us)));
            if let Some((_, b)) = bar {
                points.push((b, format!("restored ({:.3} s)", o.outage_us / 1e6)));
            }
            rows.push(TimelineRow {
                label: o.app.clone(),
                bar,
                points,
            });
        }
        let svg = crate::export::plot::timeline_chart(
            &format!("{} at {:.3} s", t.fault, t.at_us / 1e6),
            &rows,
        )?;
        write(format!("timeline-{}.svg", k + 1), svg);
    }
    Ok(written)
}
