//! Resilience analysis: every single failure of a design, one run each, ranked by what it does
//! to each application.
//!
//! The candidates come from the validated lab itself (after expansion, so a design in the
//! cloud's vocabulary or imported from its infrastructure code is analysed as written): every
//! link, every circuit and peering location, every VNet peering, every router, gateway
//! instance and MSEE, every BGP session (not the VNets themselves: their fabric is the
//! platform's, and does not fail as a unit). A run
//! without failures (the lab's own faults removed, unless kept) finds when the control plane
//! has converged: its last route change; the failures happen [`MARGIN`] after that or after
//! the last app has started, whichever is later. Each candidate then runs the same lab with
//! that failure injected at that instant and repaired [`Plan::hold`] later, and the run goes on
//! [`SETTLE`] past the repair. An app whose traffic stops and does not come back before the
//! repair has a single point of failure in that component.
//!
//! The baseline is the same run with nothing failing: its gaps in the same window (a probe
//! lost to a queue a bulk transfer fills) are what the app sees anyway, and each candidate's
//! outage is shown against it.
//!
//! Candidates run in parallel; the analysis is in candidate order whatever the thread count.

use crate::analysis::expect::Outcome as Expected;
use crate::analysis::timeline::{gaps, phases};
use crate::analysis::{us, Figures};
use crate::lab::model::{Expectation, FaultKind, Lab, NodeKind, Role};
use crate::lab::{budget::Budget, LabError};
use crate::substrate::engine::Time;
use crate::substrate::ids::{LinkId, NodeId};
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

/// Time after the baseline's last route change before the failure is injected: every
/// session has been up and every route programmed for this long.
pub const MARGIN: Time = 2_000_000_000;
/// How long the run goes on after the repair, for traffic to settle back.
pub const SETTLE: Time = 10_000_000_000;
/// The default time a failure lasts.
pub const HOLD: Time = 30_000_000_000;

/// What kind of component a candidate is; `--only` names these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A link goes down in both directions, and comes back.
    Link,
    /// A VNet peering's link goes down, and comes back.
    Peering,
    /// A router of the customer's or the internet's: every link of it down, its control
    /// plane reset, and back.
    Router,
    /// A virtual network gateway instance fails unplanned: its links down, its sessions lost.
    Gateway,
    /// A Microsoft enterprise edge router (an MSEE) fails.
    Msee,
    /// A BGP session is reset once (from its first end); nothing else fails.
    BgpSession,
    /// An ExpressRoute circuit as a whole: both its links down, and back.
    Circuit,
    /// A peering location: the MSEEs of every circuit that meets Microsoft there fail (with
    /// them the circuits' links, their links to gateways and any Global Reach there).
    PeeringLocation,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Link,
        Kind::Peering,
        Kind::Circuit,
        Kind::PeeringLocation,
        Kind::Router,
        Kind::Gateway,
        Kind::Msee,
        Kind::BgpSession,
    ];

    /// The name `--only` and the outputs use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Link => "link",
            Kind::Peering => "peering",
            Kind::Router => "router",
            Kind::Gateway => "gateway",
            Kind::Msee => "msee",
            Kind::BgpSession => "bgp-session",
            Kind::Circuit => "circuit",
            Kind::PeeringLocation => "peering-location",
        }
    }

    pub fn parse(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown candidate kind '{s}': the kinds are {}",
                    names.join(", ")
                )
            })
    }
}

/// One component whose failure is run: what fails, and the faults that fail and repair it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub kind: Kind,
    pub name: String,
    pub fail: Vec<FaultKind>,
    /// Empty for a failure that repairs itself (a session reset).
    pub repair: Vec<FaultKind>,
}

/// Every candidate of `lab`, in a stable order: links, circuits, peering locations, nodes, BGP
/// sessions, each in the lab's order.
pub fn candidates(lab: &Lab) -> Vec<Candidate> {
    let mut out = Vec::new();
    for l in lab.link_ids() {
        let link = &lab.links[l];
        let peering = link
            .ends
            .iter()
            .any(|&(n, i)| lab.nodes[n].ifaces[i].peering);
        let state = |up| FaultKind::LinkState { link: l, up };
        out.push(Candidate {
            kind: if peering { Kind::Peering } else { Kind::Link },
            name: link.name.clone(),
            fail: vec![state(false)],
            repair: vec![state(true)],
        });
    }
    let links_down = |links: &[LinkId]| {
        let state = |up| -> Vec<FaultKind> {
            links
                .iter()
                .map(|&link| FaultKind::LinkState { link, up })
                .collect()
        };
        (state(false), state(true))
    };
    for c in &lab.circuits {
        let (fail, repair) = links_down(&c.links);
        out.push(Candidate {
            kind: Kind::Circuit,
            name: c.name.clone(),
            fail,
            repair,
        });
    }
    let mut locations: Vec<&str> = lab
        .circuits
        .iter()
        .filter_map(|c| c.peering_location.as_deref())
        .collect();
    locations.sort_unstable();
    locations.dedup();
    for place in locations {
        let msees: Vec<NodeId> = lab
            .circuits
            .iter()
            .filter(|c| c.peering_location.as_deref() == Some(place))
            .flat_map(|c| c.msees)
            .collect();
        let state = |up| -> Vec<FaultKind> {
            msees
                .iter()
                .map(|&node| FaultKind::NodeState { node, up })
                .collect()
        };
        let (fail, repair) = (state(false), state(true));
        out.push(Candidate {
            kind: Kind::PeeringLocation,
            name: place.to_string(),
            fail,
            repair,
        });
    }
    for n in lab.node_ids() {
        let node = &lab.nodes[n];
        let kind = match node.role {
            // A host is an app's own end; a VNet's fabric does not fail as a unit (its
            // gateways, peerings and links do).
            Role::Host | Role::VnetFabric => continue,
            Role::Router | Role::CustomerEdge => Kind::Router,
            Role::Gateway => Kind::Gateway,
            Role::Msee => Kind::Msee,
        };
        let state = |up| FaultKind::NodeState { node: n, up };
        out.push(Candidate {
            kind,
            name: node.name.clone(),
            fail: vec![state(false)],
            repair: vec![state(true)],
        });
    }
    for (n, peer, name) in bgp_sessions(lab) {
        out.push(Candidate {
            kind: Kind::BgpSession,
            name,
            fail: vec![FaultKind::BgpReset { node: n, peer }],
            repair: Vec::new(),
        });
    }
    out
}

/// Each BGP session once, from its end on the node that comes first in the lab: (that node,
/// the peer's address, the session's name).
fn bgp_sessions(lab: &Lab) -> Vec<(NodeId, std::net::Ipv4Addr, String)> {
    let owner = |ip: std::net::Ipv4Addr| {
        lab.node_ids()
            .find(|&m| crate::lab::model::has_address(&lab.nodes[m], ip))
    };
    let mut out = Vec::new();
    for n in lab.node_ids() {
        let NodeKind::Router(r) = &lab.nodes[n].kind else {
            continue;
        };
        let Some(bgp) = &r.bgp else { continue };
        for s in &bgp.sessions {
            // The far end lists the same session; keep the end that comes first.
            if owner(s.bgp.peer).is_some_and(|m| m < n) {
                continue;
            }
            out.push((n, s.bgp.peer, s.bgp.name.clone()));
        }
    }
    out
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Kinds to run; empty: all.
    pub only: Vec<Kind>,
    /// Candidates not to run, by name.
    pub skip: Vec<String>,
    /// When the failure happens; `None`: once the baseline has converged.
    pub at: Option<Time>,
    /// How long it lasts before the repair.
    pub hold: Time,
    /// Keep the lab's own faults in every run (and the baseline).
    pub keep_faults: bool,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            only: Vec::new(),
            skip: Vec::new(),
            at: None,
            hold: HOLD,
            keep_faults: false,
        }
    }
}

impl Plan {
    /// The candidates of `lab` this plan runs; an unknown `--skip` name is an error naming it.
    pub fn select(&self, lab: &Lab) -> Result<Vec<Candidate>, String> {
        let all = candidates(lab);
        if let Some(unknown) = self
            .skip
            .iter()
            .find(|s| !all.iter().any(|c| &c.name == *s))
        {
            let names: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
            return Err(format!(
                "--skip names '{unknown}', which is no candidate of lab '{}'{}",
                lab.name,
                crate::lab::suggest::suggest(unknown, &names)
            ));
        }
        Ok(all
            .into_iter()
            .filter(|c| self.only.is_empty() || self.only.contains(&c.kind))
            .filter(|c| !self.skip.contains(&c.name))
            .collect())
    }
}

/// What one failure did to one app.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Effect {
    pub app: String,
    /// The gap the app saw after the failure (as the failover timeline computes it); 0 when
    /// nothing was lost or stalled.
    pub outage_us: f64,
    /// Probes lost within the outage.
    pub lost: u64,
    /// Traffic flowed again before the repair (always, when there was no outage).
    pub recovered: bool,
    /// The app's figures while the component was failed.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One candidate's run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcome {
    pub kind: Kind,
    pub candidate: String,
    pub effects: Vec<Effect>,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_because: Option<String>,
}

/// One row of an app's ranking.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranked {
    pub kind: Kind,
    pub candidate: String,
    pub outage_us: f64,
    /// The failure changed nothing the app saw: its outage is the baseline's gap.
    pub as_baseline: bool,
    pub recovered: bool,
}

/// The whole analysis of one lab.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Analysis {
    pub lab: String,
    pub seed: u64,
    /// When each failure was injected and repaired, and when each run ended.
    pub fail_at_us: f64,
    pub repair_at_us: f64,
    pub end_us: f64,
    /// Per app, what the run without a failure saw in the same window.
    pub baseline: Vec<Effect>,
    pub outcomes: Vec<Outcome>,
    /// Per app, the candidates worst first (longest outage; one never recovered from first).
    pub ranking: Vec<(String, Vec<Ranked>)>,
    /// (app, candidate) pairs the app did not recover from before the repair.
    pub single_points_of_failure: Vec<(String, String)>,
    /// The lab's resilience expectations (`NoSinglePointOfFailure`, `WorstOutage`), checked.
    pub expectations: Vec<Expected>,
}

impl Analysis {
    /// Whether every resilience expectation of the lab holds.
    pub fn met_expectations(&self) -> bool {
        self.expectations.iter().all(|o| o.passed)
    }
}

/// Checks `lab`'s resilience expectations against its analysis.
pub fn check(lab: &Lab, a: &Analysis) -> Vec<Expected> {
    let spofs = |app: &str| -> Vec<&str> {
        a.single_points_of_failure
            .iter()
            .filter(|(x, _)| x == app)
            .map(|(_, c)| c.as_str())
            .collect()
    };
    lab.expectations
        .iter()
        .filter_map(|e| match e {
            Expectation::NoSinglePointOfFailure { app } => {
                let found = spofs(app);
                Some(Expected {
                    expectation: format!("{app} has no single point of failure"),
                    measured: if found.is_empty() {
                        format!("none in {} single failures", a.outcomes.len())
                    } else {
                        found.join(", ")
                    },
                    passed: found.is_empty(),
                    not_reached: false,
                })
            }
            Expectation::WorstOutage { app, max } => {
                let worst = a
                    .ranking
                    .iter()
                    .find(|(x, _)| x == app)
                    .and_then(|(_, rows)| rows.first());
                let measured = match worst {
                    Some(w) if !w.recovered => format!(
                        "{} ({} '{}', not recovered before the repair)",
                        format_us(w.outage_us),
                        w.kind.name(),
                        w.candidate
                    ),
                    Some(w) => format!(
                        "{} ({} '{}')",
                        format_us(w.outage_us),
                        w.kind.name(),
                        w.candidate
                    ),
                    None => "no single failure was run".to_string(),
                };
                Some(Expected {
                    expectation: format!(
                        "{app} outage over every single failure at most {}",
                        crate::units::format_nanos(*max)
                    ),
                    measured,
                    passed: worst.is_none_or(|w| w.recovered && w.outage_us * 1e3 <= *max as f64),
                    not_reached: false,
                })
            }
            _ => None,
        })
        .collect()
}

fn format_us(us: f64) -> String {
    crate::units::format_nanos((us * 1e3).round() as Time)
}

/// Why an analysis could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ResilienceError {
    #[error("{0}")]
    Lab(#[from] LabError),
    #[error("{0}")]
    Refused(String),
}

/// Runs the analysis of the lab at `path` (with `sets` applied): the baseline, then every
/// selected candidate on `threads` threads (0: every core), `progress` told each finished run.
pub fn analyse(
    path: &Path,
    sets: &[crate::lab::overrides::Override],
    plan: &Plan,
    budget: Option<&Budget>,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Analysis, ResilienceError> {
    let lab = crate::input::prepare(path, sets, None, budget)?;
    let selected = plan.select(&lab).map_err(ResilienceError::Refused)?;
    let mut quiet = lab.clone();
    if !plan.keep_faults {
        quiet.faults.clear();
    }
    let fail_at = match plan.at {
        Some(at) => at,
        None => {
            let started = lab.apps.iter().map(|a| a.start).max().unwrap_or(0);
            converged(&quiet).max(started).saturating_add(MARGIN)
        }
    };
    let repair_at = fail_at.saturating_add(plan.hold);
    let end = repair_at.saturating_add(SETTLE);
    // The runs last until the repair has settled: a longer run is loaded as if the file said
    // so (apps without a stop run to the new end), a shorter one is cut.
    let mut base = if end > lab.duration {
        crate::input::prepare(path, sets, Some(end), budget)?
    } else {
        let mut l = lab.clone();
        l.cut_short(end);
        l
    };
    if !plan.keep_faults {
        base.faults.clear();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ResilienceError::Refused(format!("cannot start {threads} threads: {e}")))?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    // Nothing fails in the baseline, but its phases and gaps are split at the same instants.
    let nothing = FaultKind::LinkChange {
        link: LinkId(0),
        sides: Vec::new(),
        change: Default::default(),
    };
    let quiet_run = Candidate {
        kind: Kind::Link,
        name: "nothing".into(),
        fail: vec![nothing.clone()],
        repair: vec![nothing],
    };
    let baseline = run_candidate(&base, &quiet_run, fail_at, repair_at).effects;
    let outcomes: Vec<Outcome> = pool.install(|| {
        selected
            .par_iter()
            .map(|c| {
                let o = run_candidate(&base, c, fail_at, repair_at);
                progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                o
            })
            .collect()
    });
    let (ranking, single_points_of_failure) = rank(&base, &baseline, &outcomes);
    let mut analysis = Analysis {
        lab: lab.name.clone(),
        seed: lab.seed,
        fail_at_us: us(fail_at),
        repair_at_us: us(repair_at),
        end_us: us(end),
        baseline,
        outcomes,
        ranking,
        single_points_of_failure,
        expectations: Vec::new(),
    };
    analysis.expectations = check(&lab, &analysis);
    Ok(analysis)
}

/// When the control plane of `lab` has converged: its last route change (0 for a lab whose
/// routes are all static).
pub fn converged(lab: &Lab) -> Time {
    let r = crate::sim::run(lab);
    r.route_changes.iter().map(|c| c.time).max().unwrap_or(0)
}

/// Runs `base` with candidate `c` failing at `fail_at` and repaired at `repair_at`.
pub fn run_candidate(base: &Lab, c: &Candidate, fail_at: Time, repair_at: Time) -> Outcome {
    let mut lab = base.clone();
    let label = format!("{} '{}' fails", c.kind.name(), c.name);
    let fault = |at, action: &FaultKind, label: &str| crate::lab::model::Fault {
        at,
        action: action.clone(),
        label: label.to_string(),
        continues: false,
    };
    for f in &c.fail {
        lab.faults.push(fault(fail_at, f, &label));
    }
    let repaired = format!("{} '{}' repaired", c.kind.name(), c.name);
    for f in &c.repair {
        lab.faults.push(fault(repair_at, f, &repaired));
    }
    // Stable: the lab's own faults at the same instant stay first.
    lab.faults.sort_by_key(|f| f.at);
    let r = crate::sim::run(&lab);
    let effects = r
        .apps
        .iter()
        .map(|app| {
            // The longest gap that overlaps the failure: one that began just before it (a
            // request due before the failure whose answer it cut off) counts too.
            let (outage, lost, to) = gaps(app)
                .into_iter()
                .filter(|&(a, b, _, _)| a < repair_at && b > fail_at)
                .max_by_key(|&(a, b, _, _)| (b - a, std::cmp::Reverse(a)))
                .map_or((0, 0, 0), |(a, b, lost, _)| (b - a, lost, b));
            let phases = phases(&r, app);
            let phase = |from: Time| {
                phases
                    .iter()
                    .find(|p| p.from_us == us(from))
                    .map(|p| p.figures.clone())
                    .unwrap_or_default()
            };
            let failed = phase(fail_at);
            // A silence that lasts to the app's stop (or the end of the run) leaves no gap with
            // an end: it counts from the last delivery, and never as recovered.
            let stop = app.stop.min(lab.duration);
            let (last, patience) = app.last_delivery();
            let from = last.unwrap_or(app.start);
            let trailing =
                stop.saturating_sub(from) > patience && from < repair_at && stop > fail_at;
            let (outage, recovered) = if trailing && stop - from >= outage {
                (stop - from, false)
            } else {
                (outage, outage == 0 || to < repair_at)
            };
            Effect {
                app: app.name.clone(),
                outage_us: us(outage),
                lost,
                recovered,
                figures: failed,
            }
        })
        .collect();
    Outcome {
        kind: c.kind,
        candidate: c.name.clone(),
        effects,
        stopped_because: r.stopped_because,
    }
}

type Rankings = Vec<(String, Vec<Ranked>)>;

/// Per app, the candidates worst first, and the single points of failure.
fn rank(lab: &Lab, baseline: &[Effect], outcomes: &[Outcome]) -> (Rankings, Vec<(String, String)>) {
    let mut ranking = Vec::new();
    let mut spofs = Vec::new();
    for (i, app) in lab.apps.iter().enumerate() {
        let mut rows: Vec<Ranked> = outcomes
            .iter()
            .map(|o| Ranked {
                kind: o.kind,
                candidate: o.candidate.clone(),
                outage_us: o.effects[i].outage_us,
                as_baseline: o.effects[i].outage_us == baseline[i].outage_us
                    && o.effects[i].lost == baseline[i].lost
                    && o.effects[i].recovered == baseline[i].recovered,
                recovered: o.effects[i].recovered,
            })
            .collect();
        // Never recovered first, then the longest outage; ties in candidate order.
        rows.sort_by(|a, b| {
            a.recovered
                .cmp(&b.recovered)
                .then(b.outage_us.total_cmp(&a.outage_us))
        });
        // An app that does not get through without a failure either (a design that keeps it
        // off a path) has no single point of failure: nothing a failure takes away.
        for r in rows
            .iter()
            .filter(|r| !r.recovered && baseline[i].recovered)
        {
            spofs.push((app.name.clone(), r.candidate.clone()));
        }
        ranking.push((app.name.clone(), rows));
    }
    (ranking, spofs)
}

/// The analysis as text: per app its worst candidates, then the single points of failure.
pub fn render(a: &Analysis, top: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let secs = |u: f64| crate::units::format_nanos((u * 1e3) as Time);
    let _ = writeln!(
        out,
        "resilience of '{}' (seed {}): {} single failures, each at {} and repaired at {}, runs end at {}",
        a.lab,
        a.seed,
        a.outcomes.len(),
        secs(a.fail_at_us),
        secs(a.repair_at_us),
        secs(a.end_us)
    );
    for ((app, rows), base) in a.ranking.iter().zip(&a.baseline) {
        let _ = writeln!(
            out,
            "\napp '{app}', worst first (without a failure, its longest gap in that window: {})",
            secs(base.outage_us)
        );
        if !base.recovered {
            let _ = writeln!(
                out,
                "  it gets nothing through in that window without a failure either: no failure can take anything away"
            );
            continue;
        }
        let hurting: Vec<&Ranked> = rows
            .iter()
            .filter(|r| !r.recovered || !r.as_baseline)
            .take(top)
            .collect();
        if hurting.is_empty() {
            let _ = writeln!(out, "  no single failure changes what it sees");
        }
        for r in hurting {
            let what = if r.recovered {
                format!("outage {}", secs(r.outage_us))
            } else {
                "DOWN until repaired: single point of failure".to_string()
            };
            let _ = writeln!(out, "  {:<16} {:<32} {what}", r.kind.name(), r.candidate);
        }
    }
    let _ = writeln!(out);
    if a.single_points_of_failure.is_empty() {
        let _ = writeln!(out, "no single points of failure");
    } else {
        let _ = writeln!(out, "single points of failure:");
        for (app, c) in &a.single_points_of_failure {
            let _ = writeln!(out, "  app '{app}': {c}");
        }
    }
    out.push_str(&crate::analysis::expect::render(&a.expectations));
    for o in a.outcomes.iter().filter(|o| o.stopped_because.is_some()) {
        let _ = writeln!(
            out,
            "warning: the run of {} '{}' stopped early: {}",
            o.kind.name(),
            o.candidate,
            o.stopped_because.as_deref().unwrap_or_default()
        );
    }
    out
}

/// One line on a candidate for `--list`: its kind, its name, and what failing it does.
pub fn describe(lab: &Lab, c: &Candidate) -> String {
    // The links or nodes a failure of several parts takes down, by name.
    let parts = || {
        let names: Vec<&str> = c
            .fail
            .iter()
            .filter_map(|f| match f {
                FaultKind::LinkState { link, .. } => Some(lab.links[*link].name.as_str()),
                FaultKind::NodeState { node, .. } => Some(lab.nodes[*node].name.as_str()),
                _ => None,
            })
            .collect();
        names.join(", ")
    };
    let what = match c.fail.first() {
        Some(FaultKind::LinkState { .. }) if c.fail.len() > 1 => format!("links {} down", parts()),
        Some(FaultKind::NodeState { .. }) if c.fail.len() > 1 => {
            format!("{} fail with every link of theirs", parts())
        }
        Some(FaultKind::LinkState { link, .. }) => {
            let [(a, _), (b, _)] = lab.links[*link].ends;
            format!(
                "link between '{}' and '{}'",
                lab.nodes[a].name, lab.nodes[b].name
            )
        }
        Some(FaultKind::NodeState { node, .. }) => {
            format!(
                "every link of '{}' down, its control plane reset",
                lab.nodes[*node].name
            )
        }
        Some(FaultKind::BgpReset { node, peer }) => {
            format!("'{}' resets its session with {peer}", lab.nodes[*node].name)
        }
        _ => String::new(),
    };
    format!("{:<16} {:<32} {what}", c.kind.name(), c.name)
}
