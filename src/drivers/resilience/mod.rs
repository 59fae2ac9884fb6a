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
pub mod reliability;

pub use crate::lab::failure::Kind;
use crate::lab::model::{Expectation, FaultKind, Lab, NodeKind, Role};
use crate::lab::{budget::Budget, LabError};
use crate::substrate::engine::Time;
use crate::substrate::ids::{Dir, LinkId, NodeId};
use rayon::prelude::*;
use reliability::{Downtime, Rate};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Time after the baseline's last route change before the failure is injected: every
/// session has been up and every route programmed for this long.
pub const MARGIN: Time = 2_000_000_000;
/// How long the run goes on after the repair, for traffic to settle back.
pub const SETTLE: Time = 10_000_000_000;
/// The default time a failure lasts.
pub const HOLD: Time = 30_000_000_000;

/// One component whose failure is run: the steps that fail it and the repair.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub kind: Kind,
    pub name: String,
    /// The failure's steps, each at its time after the failure begins.
    pub fail: Vec<(Time, FaultKind)>,
    /// What repairs it (empty for a failure that repairs itself: a session reset).
    pub repair: Vec<FaultKind>,
    /// When the platform repairs it itself (a gateway's standby taking over), if it does:
    /// the repair comes then, or at `--hold` if that is sooner.
    pub restores_after: Option<Time>,
}

impl Candidate {
    /// A failure of `fail` repaired by `repair` at `--hold`.
    fn held(kind: Kind, name: &str, fail: Vec<FaultKind>, repair: Vec<FaultKind>) -> Candidate {
        Candidate {
            kind,
            name: name.to_string(),
            fail: fail.into_iter().map(|f| (0, f)).collect(),
            repair,
            restores_after: None,
        }
    }

    /// How long after the failure the repair comes, with `hold` the longest a failure lasts.
    pub fn repaired_after(&self, hold: Time) -> Time {
        self.restores_after.map_or(hold, |t| t.min(hold))
    }
}

/// Whether node role `r` is the platform's: a VNet's fabric, a gateway or an MSEE.
fn platform(r: Role) -> bool {
    matches!(r, Role::VnetFabric | Role::Gateway | Role::Msee)
}

/// What kind of link `l` is: a VNet peering, one path of a circuit, a link inside the platform
/// (any link of a VNet's fabric, or between gateways and MSEEs), or one of the customer's or
/// the internet's.
fn link_kind(lab: &Lab, l: LinkId) -> Kind {
    let link = &lab.links[l];
    let roles = link.ends.map(|(n, _)| lab.nodes[n].role);
    if link
        .ends
        .iter()
        .any(|&(n, i)| lab.nodes[n].ifaces[i].peering)
    {
        Kind::Peering
    } else if lab.circuits.iter().any(|c| c.links.contains(&l)) {
        Kind::CircuitLink
    } else if site_internet_links(lab).iter().any(|&(_, x)| x == l) {
        Kind::InternetPath
    } else if roles.contains(&Role::VnetFabric) || roles.iter().all(|&r| platform(r)) {
        Kind::PlatformLink
    } else {
        Kind::Link
    }
}

/// Each site's link to the internet: per VPN tunnel end on a router of the customer's (not the
/// platform's), the link of the interface holding the tunnel's outer address, once each, as
/// (the site's router, the link).
fn site_internet_links(lab: &Lab) -> Vec<(NodeId, LinkId)> {
    let mut out: Vec<(NodeId, LinkId)> = Vec::new();
    for t in &lab.tunnels {
        for &(n, ip) in &t.ends {
            if platform(lab.nodes[n].role) {
                continue;
            }
            if let Some(f) = lab.nodes[n].ifaces.iter().find(|f| f.addr.addr == ip) {
                if !out.contains(&(n, f.link)) {
                    out.push((n, f.link));
                }
            }
        }
    }
    out
}

/// How a site's internet path degrades (`--degrade loss=2%,delay=+50ms`): the loss it has
/// instead of its own, and the delay added in each direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Degrade {
    /// A fraction of 1.
    pub loss: f64,
    pub delay: Time,
}

/// Unless `--degrade` says otherwise: 1% loss and 50 ms more each way, a congested path.
pub const DEGRADE: Degrade = Degrade {
    loss: 0.01,
    delay: 50_000_000,
};

impl std::str::FromStr for Degrade {
    type Err = String;
    /// "loss=2%,delay=+50ms", either part optional (the other as [`DEGRADE`]).
    fn from_str(s: &str) -> Result<Degrade, String> {
        let mut d = DEGRADE;
        let bad = |why: String| format!("--degrade {s}: {why} (write e.g. loss=2%,delay=+50ms)");
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("loss", v)) => {
                    d.loss = v.parse::<crate::units::Percent>().map_err(bad)?.fraction();
                }
                Some(("delay", v)) => {
                    let v = v.strip_prefix('+').ok_or_else(|| {
                        bad("the delay is added to the path's own: write it with a +".into())
                    })?;
                    d.delay = v.parse::<crate::units::Duration>().map_err(bad)?.0;
                }
                _ => return Err(bad(format!("'{part}' is neither loss=P% nor delay=+T"))),
            }
        }
        Ok(d)
    }
}

impl std::fmt::Display for Degrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "loss {} and {} more delay each way",
            crate::units::Percent((self.loss * 1e9).round() as u64),
            crate::units::format_nanos(self.delay)
        )
    }
}

/// Every candidate of `lab`, in a stable order: links, circuits, peering locations, nodes, BGP
/// sessions, each in the lab's order.
pub fn candidates(lab: &Lab, degrade: Degrade) -> Vec<Candidate> {
    let mut out = Vec::new();
    for l in lab.link_ids() {
        let state = |up| FaultKind::LinkState { link: l, up };
        out.push(Candidate::held(
            link_kind(lab, l),
            &lab.links[l].name,
            vec![state(false)],
            vec![state(true)],
        ));
    }
    // Each site's internet path degraded: its loss replaced, its delay lengthened, each
    // direction from its own figures, and put back.
    for (n, l) in site_internet_links(lab) {
        let link = &lab.links[l];
        let change = |d: Dir, worse: bool| {
            let own = &link.dirs[d];
            FaultKind::LinkChange {
                link: l,
                sides: vec![d],
                change: crate::substrate::link::Change {
                    delay: Some(if worse {
                        own.delay.saturating_add(degrade.delay)
                    } else {
                        own.delay
                    }),
                    loss: Some(if worse {
                        crate::substrate::link::LossSpec::Bernoulli(degrade.loss)
                    } else {
                        own.loss.clone()
                    }),
                    ..Default::default()
                },
            }
        };
        out.push(Candidate::held(
            Kind::DegradedPath,
            &format!("{}:degraded", lab.nodes[n].name),
            vec![change(Dir::AToB, true), change(Dir::BToA, true)],
            vec![change(Dir::AToB, false), change(Dir::BToA, false)],
        ));
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
        out.push(Candidate::held(Kind::Circuit, &c.name, fail, repair));
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
        out.push(Candidate::held(
            Kind::PeeringLocation,
            place,
            state(false),
            state(true),
        ));
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
        let instance = lab.gateways.iter().find(|g| g.node == n);
        match instance {
            // A VPN gateway instance fails as the lab's `GatewayFailure` does, unplanned and
            // planned: the platform's own takeover is its repair.
            Some(g) if !g.unplanned.is_empty() => {
                for (kind, steps, name) in [
                    (Kind::Gateway, &g.unplanned, node.name.clone()),
                    (
                        Kind::GatewayMaintenance,
                        &g.planned,
                        format!("{}-maintenance", node.name),
                    ),
                ] {
                    let Some((back, fail)) = steps.split_last() else {
                        continue;
                    };
                    out.push(Candidate {
                        kind,
                        name,
                        fail: fail.to_vec(),
                        repair: vec![back.1.clone()],
                        restores_after: Some(back.0),
                    });
                }
            }
            _ => out.push(Candidate::held(
                kind,
                &node.name,
                vec![state(false)],
                vec![state(true)],
            )),
        }
    }
    for (n, peer, name) in bgp_sessions(lab) {
        out.push(Candidate::held(
            Kind::BgpSession,
            &name,
            vec![FaultKind::BgpReset { node: n, peer }],
            Vec::new(),
        ));
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
    /// 1: every single failure; 2: every pair besides.
    pub depth: u8,
    /// The most runs an analysis may take before it is refused.
    pub max_runs: usize,
    /// How a site's internet path degrades.
    pub degrade: Degrade,
}

/// The most runs an analysis takes unless told otherwise: a depth-2 analysis of 45 candidates.
pub const MAX_RUNS: usize = 1035;

impl Default for Plan {
    fn default() -> Self {
        Plan {
            only: Vec::new(),
            skip: Vec::new(),
            at: None,
            hold: HOLD,
            keep_faults: false,
            depth: 1,
            max_runs: MAX_RUNS,
            degrade: DEGRADE,
        }
    }
}

impl Plan {
    /// The failures `n` selected candidates make at this depth, as indices: every single one
    /// `(i, None)` in order, then at depth 2 every pair `(i, Some(j))`, `i < j`.
    pub fn failures(&self, n: usize) -> Vec<(usize, Option<usize>)> {
        let singles = (0..n).map(|i| (i, None));
        let pairs = (0..n).flat_map(|i| ((i + 1)..n).map(move |j| (i, Some(j))));
        if self.depth >= 2 {
            singles.chain(pairs).collect()
        } else {
            singles.collect()
        }
    }

    /// What the plan runs on `n` candidates, in words, and whether that is within
    /// `max_runs` (an error saying how many and what to do otherwise).
    pub fn runs(&self, lab: &str, n: usize) -> Result<String, String> {
        let runs = self.failures(n).len();
        let pairs = runs - n;
        let what = if self.depth >= 2 {
            format!("{n} single failures and {pairs} pairs: {runs} runs")
        } else {
            format!("{n} single failures: {runs} runs")
        };
        if runs > self.max_runs {
            return Err(format!(
                "the analysis of '{lab}' at depth {} is {what}, more than --max-runs {}: narrow it with --only or --skip, or raise --max-runs",
                self.depth, self.max_runs
            ));
        }
        Ok(what)
    }

    /// The candidates of `lab` this plan runs; an unknown `--skip` name is an error naming it.
    pub fn select(&self, lab: &Lab) -> Result<Vec<Candidate>, String> {
        let all = candidates(lab, self.degrade);
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Effect {
    pub app: String,
    /// The gap the app saw after the failure (as the failover timeline computes it); 0 when
    /// nothing was lost or stalled.
    pub outage_us: f64,
    /// Probes lost within the outage (the figures' `lost` counts the whole failure).
    #[serde(rename = "lost_in_outage")]
    pub lost: u64,
    /// Traffic flowed again before the repair (always, when there was no outage).
    pub recovered: bool,
    /// When the outage began and ended (its last delivery before, its first after, or the end
    /// of the app or the run for one never recovered); both 0 without an outage.
    pub from_us: f64,
    pub to_us: f64,
    /// The app's figures while the component was failed.
    #[serde(flatten)]
    pub figures: Figures,
    /// The path of the app's flow just before the failure, and just before the repair (or at
    /// the end of the run, when it ended sooner), in one line each: from the run's own tables.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_before: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_while_failed: String,
}

/// One candidate's run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub kind: Kind,
    pub candidate: String,
    /// In a double failure, the other candidate failing at the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<Companion>,
    /// When it was repaired: at `--hold`, or sooner when the platform restores it itself.
    pub repair_at_us: f64,
    /// When its run ended: early, once every app delivered and routes were quiet.
    pub end_us: f64,
    /// What routers dropped from the failure to the run's end, most first: where the traffic
    /// that did not get through was lost, and why (no route, link down, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<Dropped>,
    pub effects: Vec<Effect>,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_because: Option<String>,
}

/// Packets a router dropped for one cause while a component was failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dropped {
    pub router: String,
    /// As the report names it: "no route", "link down", "capacity", ...
    pub cause: String,
    pub packets: u64,
}

/// What each router dropped after `before` (its counters then), by cause, most first.
fn dropped_since(
    before: &[crate::results::RouterDrops],
    after: &[crate::results::RouterRecord],
) -> Vec<Dropped> {
    let mut out = Vec::new();
    for (b, r) in before.iter().zip(after) {
        let a = &r.drops;
        for (cause, now, then) in [
            ("no route", a.no_route, b.no_route),
            ("link down", a.link_down, b.link_down),
            ("not transitive", a.not_transitive, b.not_transitive),
            ("capacity", a.capacity, b.capacity),
            ("mtu", a.mtu, b.mtu),
            ("ttl expired", a.ttl_expired, b.ttl_expired),
            ("malformed", a.malformed, b.malformed),
        ] {
            if now > then {
                out.push(Dropped {
                    router: r.name.clone(),
                    cause: cause.to_string(),
                    packets: now - then,
                });
            }
        }
    }
    // Most first; ties in router order (the sort is stable).
    out.sort_by_key(|d| std::cmp::Reverse(d.packets));
    out
}

/// The second candidate of a double failure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Companion {
    pub kind: Kind,
    pub candidate: String,
}

impl Outcome {
    /// What failed: the candidate's name, or both names of a double failure.
    pub fn name(&self) -> String {
        match &self.with {
            Some(b) => format!("{} + {}", self.candidate, b.candidate),
            None => self.candidate.clone(),
        }
    }
}

/// One row of an app's ranking.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
    /// At depth 2, every pair of candidates failing at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<Outcome>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pair_ranking: Vec<(String, Vec<Ranked>)>,
    /// (app, "a + b") pairs the app does not recover from, though it recovers from each alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub double_points_of_failure: Vec<(String, String)>,
    /// Each candidate's failure rate and repair time, with their source.
    pub rates: Vec<Rate>,
    /// Per app, the expected downtime a year over the single failures run.
    pub downtime: Vec<Downtime>,
    /// The lab's resilience expectations (`NoSinglePointOfFailure`, `WorstOutage`), checked.
    pub expectations: Vec<Expected>,
}

impl Analysis {
    /// Whether every resilience expectation of the lab holds.
    pub fn met_expectations(&self) -> bool {
        self.expectations.iter().all(|o| o.passed)
    }

    /// What `candidate`'s run found for `app`, if both are in the analysis.
    pub fn effect(&self, candidate: &str, app: &str) -> Option<&Effect> {
        let i = self.baseline.iter().position(|b| b.app == app)?;
        let o = self.outcomes.iter().find(|o| o.candidate == candidate)?;
        o.effects.get(i)
    }
}

/// Checks a lab's resilience expectations against its analysis.
pub fn check(expectations: &[Expectation], a: &Analysis) -> Vec<Expected> {
    let spofs = |app: &str| -> Vec<&str> {
        a.single_points_of_failure
            .iter()
            .filter(|(x, _)| x == app)
            .map(|(_, c)| c.as_str())
            .collect()
    };
    expectations
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
            Expectation::Availability { app, min } => {
                let d = a.downtime.iter().find(|d| d.app == *app);
                let (measured, passed) = match d.and_then(|d| d.availability.map(|v| (d, v))) {
                    Some((d, v)) => (
                        format!(
                            "{} ({} a year{})",
                            percent(v),
                            format_seconds(d.seconds_per_year.unwrap_or(0.0)),
                            d.contributors
                                .first()
                                .map(|c| format!(", most from {} '{}'", c.kind.name(), c.candidate))
                                .unwrap_or_default()
                        ),
                        v >= min.fraction(),
                    ),
                    None => (
                        "none: it gets nothing through without a failure either".to_string(),
                        false,
                    ),
                };
                Some(Expected {
                    expectation: format!("{app} available at least {min} of a year"),
                    measured,
                    passed,
                    not_reached: false,
                })
            }
            _ => None,
        })
        .collect()
}

/// An app's figures while failed, in a few words: p99 latency (round trip or completion) and
/// goodput, where the app has them.
fn figures(f: &Figures) -> String {
    let mut parts = Vec::new();
    if let Some(l) = f.rtt.as_ref().or(f.completion.as_ref()) {
        parts.push(format!(
            "p99 {}",
            crate::units::format_nanos((l.p99_us * 1e3).round() as Time)
        ));
    }
    if let Some(g) = f.goodput_bps {
        parts.push(format!("goodput {}", crate::units::format_bitrate(g)));
    }
    if f.lost > 0 {
        parts.push(format!("{} lost", f.lost));
    }
    if parts.is_empty() {
        "nothing measured".to_string()
    } else {
        parts.join(", ")
    }
}

/// A fraction of 1 as a percentage to the digits availability figures are read in.
pub fn percent(v: f64) -> String {
    format!("{:.4}%", v * 100.0)
}

/// Seconds a year, in the largest unit that reads well.
pub fn format_seconds(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
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

/// Runs the analysis of the lab at `path` (with `sets` applied): the baseline and every
/// selected candidate on `threads` threads (0: every core), `progress` told each finished run.
pub fn analyse(
    path: &Path,
    sets: &[crate::lab::overrides::Override],
    plan: &Plan,
    budget: Option<&Budget>,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Analysis, ResilienceError> {
    let part = run_part(path, sets, plan, budget, threads, None, progress)?;
    assemble(vec![part]).map_err(ResilienceError::Refused)
}

/// What one machine's share of an analysis found (`emulate resilience --shard K/N`): the
/// baseline (every shard runs it, and merging checks they agree), the outcomes of every N-th
/// selected candidate from the K-th, and what the analysis needs besides.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Part {
    /// The format of a part, for `emulate merge` to tell it from a sweep's.
    pub resilience_part: u32,
    /// (K, N); (1, 1) for a whole analysis.
    pub shard: (usize, usize),
    pub lab: String,
    pub seed: u64,
    pub fail_at: Time,
    pub hold: Time,
    pub repair_at: Time,
    pub end: Time,
    /// How many candidates the whole analysis runs.
    pub candidates: usize,
    pub apps: Vec<String>,
    pub baseline: Vec<Effect>,
    /// Each app's gaps in the baseline.
    pub baseline_gaps: Vec<Vec<(Time, Time)>>,
    /// Every selected candidate's rate (every part has them all).
    pub rates: Vec<Rate>,
    /// This part's failures: their index among all (single failures first, then pairs), and
    /// outcome.
    pub outcomes: Vec<(usize, Outcome)>,
    /// The lab's resilience expectations.
    pub expectations: Vec<Expectation>,
}

/// The format [`Part`] is in.
pub const PART_FORMAT: u32 = 1;

/// Runs the share `shard` (K, N) of the analysis of the lab at `path` (all of it for `None`).
pub fn run_part(
    path: &Path,
    sets: &[crate::lab::overrides::Override],
    plan: &Plan,
    budget: Option<&Budget>,
    threads: usize,
    shard: Option<(usize, usize)>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Part, ResilienceError> {
    let lab = crate::input::prepare(path, sets, None, budget)?;
    let selected = plan.select(&lab).map_err(ResilienceError::Refused)?;
    let rates = reliability::rates(&lab, &candidates(&lab, plan.degrade), &selected)
        .map_err(ResilienceError::Refused)?;
    let (k, n) = shard.unwrap_or((1, 1));
    if k == 0 || k > n {
        return Err(ResilienceError::Refused(format!(
            "--shard {k}/{n}: expected K/N with 1 <= K <= N"
        )));
    }
    let mut quiet = lab.clone();
    if !plan.keep_faults {
        quiet.faults.clear();
    }
    let settled = converged(&quiet);
    let fail_at = match plan.at {
        Some(at) => at,
        None => {
            let started = lab.apps.iter().map(|a| a.start).max().unwrap_or(0);
            settled.at.max(started).saturating_add(MARGIN)
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
    // Nothing fails in the baseline, but its phases and gaps are split at the same instants;
    // it runs to the end, for every candidate's window to compare with.
    let nothing = FaultKind::LinkChange {
        link: LinkId(0),
        sides: Vec::new(),
        change: Default::default(),
    };
    let quiet_run = Candidate::held(Kind::Link, "nothing", vec![nothing.clone()], vec![nothing]);
    plan.runs(&lab.name, selected.len())
        .map_err(ResilienceError::Refused)?;
    let mine: Vec<(usize, (usize, Option<usize>))> = plan
        .failures(selected.len())
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .collect();
    let ((baseline, baseline_gaps), outcomes): (Baseline, Vec<(usize, Outcome)>) =
        pool.install(|| {
            rayon::join(
                || {
                    let (o, r) = run_candidate(&base, &quiet_run, fail_at, plan.hold, None);
                    let gaps = r
                        .apps
                        .iter()
                        .map(|a| gaps(a).into_iter().map(|(a, b, _, _)| (a, b)).collect())
                        .collect();
                    (o.effects, gaps)
                },
                || {
                    mine.par_iter()
                        .map(|&(i, (a, b))| {
                            let (o, _) = run_failures(
                                &base,
                                &selected[a],
                                b.map(|b| &selected[b]),
                                fail_at,
                                plan.hold,
                                Some(&settled.flowing),
                            );
                            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                            (i, o)
                        })
                        .collect()
                },
            )
        });
    Ok(Part {
        resilience_part: PART_FORMAT,
        shard: (k, n),
        lab: lab.name.clone(),
        seed: lab.seed,
        fail_at,
        hold: plan.hold,
        repair_at,
        end,
        candidates: selected.len(),
        apps: base.apps.iter().map(|a| a.name.clone()).collect(),
        baseline,
        baseline_gaps,
        rates,
        outcomes,
        expectations: lab
            .expectations
            .iter()
            .filter(|e| e.is_resilience())
            .cloned()
            .collect(),
    })
}

/// Whether two parts are shares of one analysis.
fn same_analysis(a: &Part, b: &Part) -> bool {
    a.lab == b.lab
        && a.seed == b.seed
        && a.fail_at == b.fail_at
        && a.hold == b.hold
        && a.end == b.end
        && a.candidates == b.candidates
        && a.apps == b.apps
        && a.baseline == b.baseline
        && a.baseline_gaps == b.baseline_gaps
        && a.expectations == b.expectations
        && a.rates == b.rates
        && a.shard.1 == b.shard.1
}

/// Joins the parts of an analysis (one, or every shard's) into the analysis one machine would
/// have made; parts of different analyses, a missing or repeated part are refused.
pub fn assemble(parts: Vec<Part>) -> Result<Analysis, String> {
    let mut parts = parts.into_iter();
    let mut first = parts.next().ok_or("no parts to merge")?;
    let n = first.shard.1;
    let mut seen = vec![first.shard.0];
    for (p, part) in parts.enumerate() {
        if !same_analysis(&part, &first) {
            return Err(format!(
                "part {} is of another analysis than the first (lab '{}', shard {}/{})",
                p + 2,
                part.lab,
                part.shard.0,
                part.shard.1
            ));
        }
        if seen.contains(&part.shard.0) {
            return Err(format!("shard {}/{n} is given twice", part.shard.0));
        }
        seen.push(part.shard.0);
        first.outcomes.extend(part.outcomes);
    }
    if seen.len() != n {
        let missing: Vec<String> = (1..=n)
            .filter(|k| !seen.contains(k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        return Err(format!("shards {} are missing", missing.join(", ")));
    }
    first.outcomes.sort_by_key(|(i, _)| *i);
    let part = first;
    let (mut outcomes, mut pairs) = (Vec::new(), Vec::new());
    for (i, o) in part.outcomes {
        if i < part.candidates {
            outcomes.push(o);
        } else {
            pairs.push(o);
        }
    }
    let rates = part.rates;
    let same = unchanged(&part.baseline, &part.baseline_gaps, &outcomes, part.fail_at);
    let (ranking, single_points_of_failure) = rank(&part.apps, &part.baseline, &outcomes, &same);
    let pairs_unchanged = unchanged(&part.baseline, &part.baseline_gaps, &pairs, part.fail_at);
    let (pair_ranking, both_down) = rank(&part.apps, &part.baseline, &pairs, &pairs_unchanged);
    // A pair that stops an app is news only when neither of its failures alone does.
    let double_points_of_failure = both_down
        .into_iter()
        .filter(|(app, name)| {
            !name
                .split(" + ")
                .any(|c| single_points_of_failure.contains(&(app.clone(), c.to_string())))
        })
        .collect();
    let mut downtime = reliability::downtime(&part.apps, &part.baseline, &outcomes, &same, &rates);
    reliability::add_pairs(
        &mut downtime,
        &part.baseline,
        &outcomes,
        &pairs,
        &pairs_unchanged,
        &rates,
    );
    let mut analysis = Analysis {
        lab: part.lab,
        seed: part.seed,
        fail_at_us: us(part.fail_at),
        repair_at_us: us(part.repair_at),
        end_us: us(part.end),
        baseline: part.baseline,
        outcomes,
        ranking,
        single_points_of_failure,
        pairs,
        pair_ranking,
        double_points_of_failure,
        rates,
        downtime,
        expectations: Vec::new(),
    };
    analysis.expectations = check(&part.expectations, &analysis);
    Ok(analysis)
}

/// How long a run goes on with every app delivering and no route changing before it ends
/// early: what it would measure after that is what it measures already.
pub const QUIET: Time = 5_000_000_000;
/// How often a run looks whether it has settled.
const SLICE: Time = 500_000_000;

/// A run without failures, as far as it takes to converge.
pub struct Settled {
    /// Its last route change (0 for a lab whose routes are all static).
    pub at: Time,
    /// Per app, whether its traffic flows once converged (an app the design keeps off every
    /// path does not, and a run does not wait for it).
    pub flowing: Vec<bool>,
}

/// When the control plane of `lab` has converged: every BGP session established, every app
/// started, and no route changed for [`QUIET`] (or the end of the lab, if that never comes).
pub fn converged(lab: &Lab) -> Settled {
    let started = lab.apps.iter().map(|a| a.start).max().unwrap_or(0);
    let mut sim = crate::sim::Sim::new(lab);
    loop {
        let t = sim.now().saturating_add(SLICE).min(lab.duration);
        sim.run_until(t);
        let last = sim.last_route_change().unwrap_or(0);
        let quiet = t >= started.saturating_add(QUIET) && t >= last.saturating_add(QUIET);
        if (quiet && sim.bgp_established()) || t >= lab.duration || sim.halt().is_some() {
            let flowing = sim.records().iter().map(|a| delivering(a, t)).collect();
            return Settled { at: last, flowing };
        }
    }
}

/// Whether app `a` has had a delivery within its patience before `t` (or is not running at
/// `t`).
fn delivering(a: &crate::results::AppRecord, t: Time) -> bool {
    if t < a.start || t >= a.stop {
        return true;
    }
    let (last, patience) = a.last_delivery();
    last.is_some_and(|l| t.saturating_sub(l) <= patience)
}

/// Runs `base` with candidate `c` failing at `fail_at` and repaired when the platform restores
/// it or `hold` later, whichever is sooner (steps of the failure due after that are not taken).
/// With `watch` (per app, whether it flows without failures), the run ends early once every
/// such app delivers and no route has changed for [`QUIET`], [`QUIET`] after the failure or
/// later. The outcome, and the run's results.
pub fn run_candidate(
    base: &Lab,
    c: &Candidate,
    fail_at: Time,
    hold: Time,
    watch: Option<&[bool]>,
) -> (Outcome, crate::results::Results) {
    run_failures(base, c, None, fail_at, hold, watch)
}

/// [`run_candidate`] with `second`, if given, failing at the same time (a double failure), each
/// repaired at its own time; an app has recovered when traffic flowed before the first repair.
pub fn run_failures(
    base: &Lab,
    first: &Candidate,
    second: Option<&Candidate>,
    fail_at: Time,
    hold: Time,
    watch: Option<&[bool]>,
) -> (Outcome, crate::results::Results) {
    let mut lab = base.clone();
    let fault = |at, action: &FaultKind, label: &str| crate::lab::model::Fault {
        at,
        action: action.clone(),
        label: label.to_string(),
        continues: false,
    };
    let mut repair_at = Time::MAX;
    for c in std::iter::once(first).chain(second) {
        let after = c.repaired_after(hold);
        let repaired_at = fail_at.saturating_add(after);
        repair_at = repair_at.min(repaired_at);
        let label = format!("{} '{}' fails", c.kind.name(), c.name);
        for (at, f) in c.fail.iter().filter(|(at, _)| *at < after) {
            lab.faults
                .push(fault(fail_at.saturating_add(*at), f, &label));
        }
        let repaired = format!("{} '{}' repaired", c.kind.name(), c.name);
        for f in &c.repair {
            lab.faults.push(fault(repaired_at, f, &repaired));
        }
    }
    // Stable: the lab's own faults at the same instant stay first.
    lab.faults.sort_by_key(|f| f.at);
    let mut sim = crate::sim::Sim::new(&lab);
    // The path each app's flow has just before the failure, and while failed.
    let paths = |sim: &crate::sim::Sim| -> Vec<String> {
        (0..lab.apps.len())
            .map(|i| {
                let flow = crate::routing::path::flow_of(&lab, i);
                crate::routing::path::one_line(&sim.trace(lab.apps[i].from, flow))
            })
            .collect()
    };
    sim.run_until(fail_at.saturating_sub(1));
    let path_before = paths(&sim);
    let mut path_during = None;
    // What the routers had dropped before the failure, to tell what they drop while failed.
    sim.run_until(fail_at);
    let before: Vec<crate::results::RouterDrops> = sim
        .router_counts()
        .iter()
        .map(|r| r.drops.clone())
        .collect();
    match watch {
        None => {
            sim.run_until(repair_at.saturating_sub(1));
            path_during = Some(paths(&sim));
            sim.run_until(lab.duration)
        }
        Some(flowing) => loop {
            let t = sim.now().saturating_add(SLICE).min(lab.duration);
            if path_during.is_none() && t >= repair_at {
                sim.run_until(repair_at.saturating_sub(1));
                path_during = Some(paths(&sim));
            }
            sim.run_until(t);
            if t >= lab.duration || sim.halt().is_some() {
                break;
            }
            let all = sim
                .records()
                .iter()
                .zip(flowing)
                .all(|(a, &f)| !f || delivering(a, t));
            let last = sim.last_route_change().unwrap_or(0);
            if all && t >= fail_at.saturating_add(QUIET) && t >= last.saturating_add(QUIET) {
                sim.end_here();
                break;
            }
        },
    }
    let path_during = path_during.unwrap_or_else(|| paths(&sim));
    let r = sim.finish();
    let drops = dropped_since(&before, &r.routers);
    let effects = r
        .apps
        .iter()
        .enumerate()
        .map(|(i, app)| {
            // The longest gap that overlaps the failure: one that began just before it (a
            // request due before the failure whose answer it cut off) counts too, one whose
            // first missing delivery was due at the repair or later is the repair's.
            let (outage, lost, begun, to) = gaps(app)
                .into_iter()
                .filter(|&(_, b, _, due)| due < repair_at && b > fail_at)
                .max_by_key(|&(a, b, _, _)| (b - a, std::cmp::Reverse(a)))
                .map_or((0, 0, 0, 0), |(a, b, lost, _)| (b - a, lost, a, b));
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
            let stop = app.stop.min(r.duration);
            let (last, patience) = app.last_delivery();
            let from = last.unwrap_or(app.start);
            let trailing =
                stop.saturating_sub(from) > patience && from < repair_at && stop > fail_at;
            let (outage, recovered, span) = if trailing && stop - from >= outage {
                (stop - from, false, (from, stop))
            } else {
                (outage, outage == 0 || to < repair_at, (begun, to))
            };
            Effect {
                app: app.name.clone(),
                outage_us: us(outage),
                lost,
                recovered,
                from_us: us(span.0),
                to_us: us(span.1),
                figures: failed,
                path_before: path_before[i].clone(),
                path_while_failed: path_during[i].clone(),
            }
        })
        .collect();
    let outcome = Outcome {
        kind: first.kind,
        candidate: first.name.clone(),
        with: second.map(|b| Companion {
            kind: b.kind,
            candidate: b.name.clone(),
        }),
        repair_at_us: us(repair_at),
        end_us: us(r.duration),
        drops,
        effects,
        stopped_because: r.stopped_because.clone(),
    };
    (outcome, r)
}

/// Per candidate and app, whether the failure left the app no worse off than the run without
/// one over the same window (the candidate's run may end early): recovered, and no longer a gap
/// than the baseline's longest there.
fn unchanged(
    baseline: &[Effect],
    baseline_gaps: &[Vec<(Time, Time)>],
    outcomes: &[Outcome],
    fail_at: Time,
) -> Vec<Vec<bool>> {
    outcomes
        .iter()
        .map(|o| {
            let until = ((o.repair_at_us.min(o.end_us)) * 1e3).round() as Time;
            let end = (o.end_us * 1e3).round() as Time;
            o.effects
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let own = baseline_gaps[i]
                        .iter()
                        .filter(|&&(a, b)| a < until && b > fail_at && a < end)
                        .map(|&(a, b)| b.min(end) - a)
                        .max()
                        .unwrap_or(0);
                    e.recovered && baseline[i].recovered && e.outage_us <= us(own)
                })
                .collect()
        })
        .collect()
}

type Rankings = Vec<(String, Vec<Ranked>)>;
/// The baseline's effects, and each app's gaps in it.
type Baseline = (Vec<Effect>, Vec<Vec<(Time, Time)>>);

/// Per app, the candidates worst first, and the single points of failure.
fn rank(
    apps: &[String],
    baseline: &[Effect],
    outcomes: &[Outcome],
    unchanged: &[Vec<bool>],
) -> (Rankings, Vec<(String, String)>) {
    let mut ranking = Vec::new();
    let mut spofs = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        let mut rows: Vec<Ranked> = outcomes
            .iter()
            .zip(unchanged)
            .map(|(o, same)| Ranked {
                kind: o.kind,
                candidate: o.name(),
                outage_us: o.effects[i].outage_us,
                as_baseline: same[i],
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
            spofs.push((app.clone(), r.candidate.clone()));
        }
        ranking.push((app.clone(), rows));
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
            let _ = writeln!(out, "  {:<19} {:<32} {what}", r.kind.name(), r.candidate);
        }
        // A degraded path takes nothing down: what it changes is latency and goodput.
        let i = a.baseline.iter().position(|b| b.app == *app).unwrap_or(0);
        for o in a.outcomes.iter().filter(|o| o.kind == Kind::DegradedPath) {
            let _ = writeln!(
                out,
                "  {:<19} {:<32} {} (without: {})",
                o.kind.name(),
                o.candidate,
                figures(&o.effects[i].figures),
                figures(&base.figures)
            );
        }
    }
    let _ = writeln!(out);
    if a.single_points_of_failure.is_empty() {
        let _ = writeln!(out, "no single points of failure");
    } else {
        let _ = writeln!(out, "single points of failure:");
        for (app, c) in &a.single_points_of_failure {
            let _ = writeln!(out, "  app '{app}': {c}");
            // Which path it had, and what is left of it while the component is failed: the
            // run's own tables at those instants.
            if let Some(e) = a.effect(c, app).filter(|e| !e.path_before.is_empty()) {
                let _ = writeln!(out, "    its path before: {}", e.path_before);
                let _ = writeln!(out, "    while failed:    {}", e.path_while_failed);
            }
        }
        // Where the traffic was lost while each was failed, from the routers' own counters:
        // no route (nothing else to take), link down (a route still on the failed link).
        let _ = writeln!(out, "where the traffic was lost while each was failed:");
        let mut seen: Vec<&str> = Vec::new();
        for (_, c) in &a.single_points_of_failure {
            if seen.contains(&c.as_str()) {
                continue;
            }
            seen.push(c);
            let Some(o) = a.outcomes.iter().find(|o| o.candidate == *c) else {
                continue;
            };
            let why: Vec<String> = o
                .drops
                .iter()
                .take(3)
                .map(|d| format!("{} dropped {} ({})", d.router, d.packets, d.cause))
                .collect();
            let why = if why.is_empty() {
                "no router dropped anything: the packets died with the failed part itself"
                    .to_string()
            } else {
                why.join(", ")
            };
            let _ = writeln!(out, "  {c}: {why}");
        }
    }
    if !a.pairs.is_empty() {
        let _ = writeln!(
            out,
            "\ndouble failures: {} pairs, each failing at once",
            a.pairs.len()
        );
        if a.double_points_of_failure.is_empty() {
            let _ = writeln!(
                out,
                "  no pair stops an app that each of its failures alone does not"
            );
        } else {
            let _ = writeln!(
                out,
                "  pairs that stop an app, though it survives each alone:"
            );
            for (app, pair) in &a.double_points_of_failure {
                let _ = writeln!(out, "  app '{app}': {pair}");
            }
        }
    }
    let _ = writeln!(
        out,
        "\nexpected downtime a year (first order, over the {} single failures{} run; README, \"Expected downtime a year\"):",
        a.outcomes.len(),
        if a.pairs.is_empty() {
            String::new()
        } else {
            format!(" and {} pairs", a.pairs.len())
        }
    );
    for d in &a.downtime {
        match (d.seconds_per_year, d.availability) {
            (Some(s), Some(v)) => {
                let top: Vec<String> = d
                    .contributors
                    .iter()
                    .take(3)
                    .map(|c| format!("{} {}", c.candidate, format_seconds(c.seconds_per_year)))
                    .collect();
                let _ = writeln!(
                    out,
                    "  app '{}': {} a year{}, available {}{}",
                    d.app,
                    format_seconds(s),
                    if a.pairs.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} from double failures)", format_seconds(d.from_pairs))
                    },
                    percent(v),
                    if top.is_empty() {
                        String::new()
                    } else {
                        format!("; most from {}", top.join(", "))
                    }
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  app '{}': none (it gets nothing through without a failure either)",
                    d.app
                );
            }
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
    let faults: Vec<&FaultKind> = c.fail.iter().map(|(_, f)| f).collect();
    // The links or nodes a failure of several parts takes down, by name.
    let parts = || {
        let names: Vec<&str> = faults
            .iter()
            .filter_map(|f| match f {
                FaultKind::LinkState { link, .. } => Some(lab.links[*link].name.as_str()),
                FaultKind::NodeState { node, .. } => Some(lab.nodes[*node].name.as_str()),
                _ => None,
            })
            .collect();
        names.join(", ")
    };
    let back = || {
        c.restores_after
            .map(crate::units::format_nanos)
            .unwrap_or_default()
    };
    let what = match faults.first() {
        _ if c.kind == Kind::Gateway && c.restores_after.is_some() => format!(
            "unplanned: the platform stops using it at once, its sites notice by DPD or BGP, it (or its standby) carries traffic again after {}",
            back()
        ),
        _ if c.kind == Kind::GatewayMaintenance => format!(
            "planned: it closes its BGP sessions, then stops; the standby carries traffic after {}",
            back()
        ),
        Some(FaultKind::LinkState { .. }) if faults.len() > 1 => format!("links {} down", parts()),
        Some(FaultKind::NodeState { .. }) if faults.len() > 1 => {
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
        Some(FaultKind::LinkChange { link, .. }) => format!(
            "the site's internet link '{}' degraded, not down (--degrade)",
            lab.links[*link].name
        ),
        _ => String::new(),
    };
    format!("{:<19} {:<32} {what}", c.kind.name(), c.name)
}

/// Two analyses side by side (`emulate resilience A B`): per app both designs' expected
/// downtime and availability, single points of failure, and their worst failures.
pub fn render_comparison(a: &Analysis, b: &Analysis, top: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let secs = |u: f64| crate::units::format_nanos((u * 1e3) as Time);
    let _ = writeln!(
        out,
        "resilience of '{}' ({} single failures) and '{}' ({}), side by side",
        a.lab,
        a.outcomes.len(),
        b.lab,
        b.outcomes.len()
    );
    let width = 44;
    let row = |out: &mut String, label: &str, left: String, right: String| {
        let _ = writeln!(out, "  {label:<26} {left:<width$} {right}");
    };
    let mut apps: Vec<&str> = a.downtime.iter().map(|d| d.app.as_str()).collect();
    for d in &b.downtime {
        if !apps.contains(&d.app.as_str()) {
            apps.push(&d.app);
        }
    }
    for app in apps {
        let _ = writeln!(out, "\napp '{app}'");
        let _ = writeln!(out, "  {:<26} {:<width$} {}", "", a.lab, b.lab);
        let downtime = |x: &Analysis| match x.downtime.iter().find(|d| d.app == app) {
            None => "(no such app)".to_string(),
            Some(d) => match (d.seconds_per_year, d.availability) {
                (Some(s), Some(v)) => format!("{} ({})", format_seconds(s), percent(v)),
                _ => "none (nothing gets through)".to_string(),
            },
        };
        row(
            &mut out,
            "expected downtime a year",
            downtime(a),
            downtime(b),
        );
        let spofs = |x: &Analysis| {
            let names: Vec<&str> = x
                .single_points_of_failure
                .iter()
                .filter(|(y, _)| y == app)
                .map(|(_, c)| c.as_str())
                .collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                format!("{}: {}", names.len(), names.join(", "))
            }
        };
        row(&mut out, "single points of failure", spofs(a), spofs(b));
        let worst = |x: &Analysis| -> Vec<String> {
            x.ranking
                .iter()
                .find(|(y, _)| y == app)
                .map(|(_, rows)| {
                    rows.iter()
                        .filter(|r| !r.recovered || !r.as_baseline)
                        .take(top)
                        .map(|r| {
                            if r.recovered {
                                format!("{} {}", r.candidate, secs(r.outage_us))
                            } else {
                                format!("{} DOWN", r.candidate)
                            }
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (wa, wb) = (worst(a), worst(b));
        for i in 0..wa.len().max(wb.len()) {
            row(
                &mut out,
                if i == 0 { "worst failures" } else { "" },
                wa.get(i).cloned().unwrap_or_default(),
                wb.get(i).cloned().unwrap_or_default(),
            );
        }
    }
    for x in [a, b] {
        if !x.expectations.is_empty() {
            let _ = writeln!(out, "\n'{}':", x.lab);
            out.push_str(&crate::analysis::expect::render(&x.expectations));
        }
    }
    out
}
