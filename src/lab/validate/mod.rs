//! Turns a [`LabSpec`] into a [`Lab`]: resolves names, fills defaults, and checks every rule a
//! lab must obey. All problems are collected, so one run of `emulate check` lists them all.

use super::error::Problem;
use super::limits;
use super::model::*;
use super::spec::*;
use crate::substrate::gateway::{Capacity, Scope};
use crate::substrate::ids::NodeId;
use crate::substrate::link::{DirParams, JitterDistribution, LossSpec, QueueLimit};
use crate::substrate::route::{NextHop, Port, Prefix};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// smoltcp panics on a receive buffer above 1 GiB (its window scale tops out).
const MAX_TCP_BUFFER: u64 = 1 << 30;
/// The smallest MTU IPv4 allows (RFC 791).
const MIN_MTU: u32 = 68;
/// First server port given to an app that names none; app i gets `BASE_PORT + i`.
pub const BASE_PORT: u16 = 5000;
/// smoltcp's route table holds 8 entries (feature iface-max-route-count-8), one for the gateway.
const MAX_HOST_ROUTES: usize = 7;

struct Checker {
    problems: Vec<Problem>,
    /// The lab's node and link names, to suggest the intended one for a misspelt reference.
    node_names: Vec<String>,
    link_names: Vec<String>,
    /// A reference named a node or link that does not exist: problems that follow from it
    /// (a host left without a link) are not reported on top of it.
    /// Valid input that likely does not mean what its author thinks.
    warnings: Vec<Problem>,
    dangling: bool,
}

impl Checker {
    /// Records a problem once (both directions of a link share most settings).
    fn fail(&mut self, item: impl Into<String>, reason: impl Into<String>) {
        let p = Problem {
            item: item.into(),
            reason: reason.into(),
        };
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    /// `item` names node `name`, which does not exist; `lead` begins the reason ("from ").
    fn unknown_node(&mut self, item: &str, lead: &str, name: &str) {
        let hint = super::suggest::suggest(name, &self.node_names);
        self.dangling = true;
        self.fail(item, format!("{lead}unknown node '{name}'{hint}"));
    }

    /// `item` names link `name`, which does not exist.
    fn unknown_link(&mut self, item: &str, name: &str) {
        let hint = super::suggest::suggest(name, &self.link_names);
        self.dangling = true;
        self.fail(item, format!("unknown link '{name}'{hint}"));
    }

    /// Names are printable text: a control character (a newline, a terminal escape) would
    /// break or spoof every line that prints the name.
    fn printable(&mut self, kind: &str, name: &str) -> bool {
        match name.chars().find(|c| c.is_control()) {
            Some(bad) => {
                self.fail(
                    format!("{kind} '{}'", name.escape_debug()),
                    format!(
                        "the name holds the control character U+{:04X}; names are printable text",
                        u32::from(bad)
                    ),
                );
                false
            }
            None => true,
        }
    }

    fn unique<'a>(&mut self, kind: &str, names: impl Iterator<Item = &'a str>) {
        let mut seen = BTreeSet::new();
        for name in names {
            if !self.printable(kind, name) {
                continue;
            }
            if name.is_empty() {
                self.fail(format!("{kind} ''"), "a name must not be empty");
            } else if !seen.insert(name) {
                self.fail(format!("{kind} '{name}'"), "the name is used twice");
            }
        }
    }

    fn prefix(&mut self, item: &str, s: &str) -> Option<Prefix> {
        s.parse::<Prefix>().map_err(|e| self.fail(item, e)).ok()
    }

    fn addr(&mut self, item: &str, s: &str) -> Option<Ipv4Addr> {
        s.parse::<Ipv4Addr>()
            .map_err(|_| self.fail(item, format!("'{s}' is not an IPv4 address")))
            .ok()
    }

    /// Warns when a direction's jitter is so wide beside its delay that cutting negative delays
    /// at zero moves the mean delay by more than [`JITTER_MEAN_TOLERANCE`].
    fn warn_truncated_jitter(&mut self, item: &str, p: &DirParams) {
        let Some(j) = &p.jitter else { return };
        let delay = p.delay as f64;
        let untruncated = match j.distribution {
            JitterDistribution::Pareto => return,
            _ => delay,
        };
        let mean = crate::substrate::link::Jitter::truncated_mean(j, delay);
        if mean - untruncated > JITTER_MEAN_TOLERANCE * untruncated {
            let ns = |v: f64| crate::units::format_nanos(v.round() as u64);
            let kind = match j.distribution {
                JitterDistribution::Normal => "normal jitter of standard deviation",
                _ => "uniform jitter of ±",
            };
            self.warnings.push(Problem {
                item: item.to_string(),
                reason: format!(
                    "{kind} {} on a delay of {} is cut at zero (no packet arrives before it is sent, as in netem), so packets are delayed {} on average, not {}; raise the delay or narrow the jitter",
                    ns(j.amount.0 as f64),
                    ns(delay),
                    ns(mean),
                    ns(delay)
                ),
            });
        }
    }

    /// Refuses `value` outside `limit`'s range; true when it is within.
    fn within(&mut self, item: &str, limit: &super::limits::Limit, value: u64) -> bool {
        match limit.check(value) {
            Some(reason) => {
                self.fail(item, reason);
                false
            }
            None => true,
        }
    }

    fn probability(&mut self, item: &str, what: &str, p: f64) {
        if !(0.0..=1.0).contains(&p) {
            self.fail(item, format!("{what} {p} is outside 0..1"));
        }
    }

    /// Resolves one direction's parameters, reporting every out-of-range value.
    fn dir_params(&mut self, item: &str, spec: &DirSpec) -> DirParams {
        let d = DirParams::default();
        if let Some(loss) = &spec.loss {
            for (what, p) in loss.probabilities() {
                self.probability(item, what, p);
            }
            if let LossSpec::GilbertElliott { p, r, .. } = loss {
                if *p > 0.0 && *r == 0.0 {
                    self.fail(
                        item,
                        "Gilbert-Elliott r is 0: the bad state would never end",
                    );
                }
            }
        }
        if let Some(j) = &spec.jitter {
            self.probability(item, "jitter correlation", j.correlation);
            if !j.shape.is_finite() {
                self.fail(item, format!("jitter shape {} is not a number", j.shape));
            } else if j.distribution == JitterDistribution::Pareto && j.shape <= 1.0 {
                self.fail(
                    item,
                    format!(
                        "Pareto jitter shape {} must exceed 1 (the mean is infinite otherwise)",
                        j.shape
                    ),
                );
            }
        }
        if let Some(delay) = spec.delay {
            self.within(item, &limits::LINK_DELAY, delay.0);
        }
        if let Some(j) = &spec.jitter {
            self.within(item, &limits::JITTER, j.amount.0);
        }
        match spec.rate {
            Some(r) if r.0 == 0 => self.fail(
                item,
                "rate is zero: nothing could be sent; leave rate out for an unlimited link",
            ),
            Some(r) => {
                self.within(item, &limits::RATE, r.0);
            }
            None => {}
        }
        if let Some(overhead) = spec.overhead {
            self.within(item, &limits::OVERHEAD, u64::from(overhead));
        }
        let mtu = spec.mtu.unwrap_or(d.mtu);
        if !(MIN_MTU..=65535).contains(&mtu) {
            self.fail(item, format!("mtu {mtu} is outside {MIN_MTU}..65535"));
        }
        let queue = spec.queue.unwrap_or(d.queue);
        if matches!(queue, QueueLimit::Packets(0))
            || matches!(queue, QueueLimit::Bytes(b) if b.0 == 0)
        {
            self.fail(
                item,
                "the queue limit is zero: give it room for at least one packet",
            );
        } else {
            match queue {
                QueueLimit::Packets(n) => self.within(item, &limits::QUEUE_PACKETS, u64::from(n)),
                QueueLimit::Bytes(b) => self.within(item, &limits::QUEUE_BYTES, b.0),
            };
        }
        DirParams {
            delay: spec.delay.map_or(d.delay, |x| x.0),
            jitter: spec.jitter.clone().filter(|j| j.amount.0 > 0),
            loss: spec.loss.clone().unwrap_or(d.loss),
            rate: spec.rate.map(|r| r.0),
            overhead: spec.overhead.unwrap_or(d.overhead),
            queue,
            mtu,
        }
    }
}

mod apps;
mod bgp;
mod expect;
mod faults;
mod nodes;
mod reliability;
mod routing;

/// How far truncating a symmetric jitter at zero may move a link's mean delay before
/// validation warns.
pub const JITTER_MEAN_TOLERANCE: f64 = 0.05;

/// Validates `spec`, returning the model or every problem found.
pub fn validate(spec: &LabSpec) -> Result<Lab, Vec<Problem>> {
    let mut c = Checker {
        problems: Vec::new(),
        node_names: spec.nodes.iter().map(|n| n.name().to_string()).collect(),
        link_names: spec.links.iter().map(|l| l.name.clone()).collect(),
        warnings: Vec::new(),
        dangling: false,
    };
    let c = &mut c;
    c.unique("node", spec.nodes.iter().map(|n| n.name()));
    c.unique("link", spec.links.iter().map(|l| l.name.as_str()));
    c.unique("app", spec.apps.iter().map(|a| a.name.as_str()));
    for t in &spec.tunnels {
        c.printable("tunnel", &t.name);
    }
    c.printable("lab", &spec.name);
    for f in &spec.faults {
        if let Some(label) = &f.label {
            c.printable("fault label", label);
        }
    }
    if spec.duration.0 == 0 {
        c.fail("lab", "duration is zero");
    } else {
        c.within("lab", &limits::DURATION, spec.duration.0);
    }
    let index: BTreeMap<&str, NodeId> = spec
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name(), NodeId(i)))
        .collect();
    let mut nodes = nodes::nodes(spec, c);
    let links = nodes::links(spec, &index, &mut nodes, c);
    nodes::hosts(spec, &mut nodes, c);
    nodes::addresses(&nodes, &links, c);
    let tunnels = routing::tunnels(spec, &index, &mut nodes, c);
    routing::routes(spec, &index, &mut nodes, &tunnels, &links, c);
    bgp::bgp(spec, &index, &mut nodes, c);
    // A customer router peering with an MSEE is a circuit's customer edge.
    for s in &spec.bgp_sessions {
        let (Some(&a), Some(&b)) = (index.get(s.a.node.as_str()), index.get(s.b.node.as_str()))
        else {
            continue;
        };
        for (x, y) in [(a, b), (b, a)] {
            if nodes[x].role == Role::Router && nodes[y].role == Role::Msee {
                nodes[x].role = Role::CustomerEdge;
            }
        }
    }
    let apps = apps::apps(spec, &index, &nodes, &links, c);
    let faults = faults::faults(spec, &index, &nodes, &links, c);
    let expectations = expect::expectations(spec, &apps, &faults, c);
    let reliability = reliability::reliability(spec, c);
    let expect_pass = spec.expect_pass.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&expect_pass) {
        c.fail("lab", format!("expect_pass {expect_pass} is outside 0..1"));
    }
    let mut lab = Lab {
        name: spec.name.clone(),
        seed: spec.seed,
        duration: spec.duration.0,
        nodes,
        links,
        tunnels,
        apps,
        faults,
        warnings: std::mem::take(&mut c.warnings),
        assumptions: Vec::new(),
        expectations,
        expect_pass,
        circuits: Vec::new(),
        gateways: Vec::new(),
        reliability,
    };
    if c.problems.is_empty() {
        let (problems, warnings) = super::reach::check(&lab);
        for (item, reason) in problems {
            c.fail(item, reason);
        }
        lab.warnings.extend(
            warnings
                .into_iter()
                .map(|(item, reason)| Problem { item, reason }),
        );
    }
    if c.problems.is_empty() {
        Ok(lab)
    } else {
        Err(std::mem::take(&mut c.problems))
    }
}

pub use super::model::host_addresses;
