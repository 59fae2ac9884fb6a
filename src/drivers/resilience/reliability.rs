//! Expected downtime a year: how often each candidate fails and how long its repair takes,
//! and what that costs each app, to first order.
//!
//! Each candidate fails independently at a rate (failures a year) and stays failed for its
//! repair time. An app that recovered from it in the run loses the outage the run measured, on
//! every failure; one that did not loses the repair time. The app's expected downtime a year
//! is the sum over the candidates run, and its availability is one minus that over a year of
//! 8760 h (the year the published availability figures are computed over). Left out: two
//! failures at once, failures that are not independent (a power cut taking a site's router
//! and its line together), a repair that takes longer than its stated time, and downtime
//! outside what the candidates model.
//!
//! Defaults: the platform's published monthly availability figures (domain.md, "Availability
//! figures") where there is one, turned into a rate with an assumed repair time; stated
//! assumptions for what has no figure (on-premises gear, the ISP's line). A lab's
//! `reliability` entries replace them, and every figure used says where it came from.

use super::{Candidate, Outcome};
use crate::lab::failure::{Kind, Reliability, Target};
use crate::lab::model::Lab;
use crate::substrate::engine::Time;
use crate::substrate::gateway::Sku;
use crate::units::Percent;
use serde::{Deserialize, Serialize};

/// A year of 8760 h, in seconds.
pub const YEAR_S: f64 = 8760.0 * 3600.0;
const HOUR: Time = 3_600_000_000_000;
const MINUTE: Time = 60_000_000_000;

/// The ExpressRoute circuit's published monthly availability.
pub const CIRCUIT_AVAILABILITY: Percent = Percent(999_500_000);
/// How long a platform incident lasts, assumed: turns a published availability into a rate.
pub const PLATFORM_REPAIR: Time = HOUR;
/// A repair of customer or ISP gear, assumed: a 4-hour hardware replacement or line repair.
pub const ONSITE_REPAIR: Time = 4 * HOUR;

/// A virtual network gateway SKU's published monthly availability: Basic 99.9%, the
/// zone-redundant (AZ) SKUs 99.99%, every other 99.95%.
pub fn gateway_availability(sku: Sku) -> Percent {
    Percent(match sku {
        Sku::Basic => 999_000_000,
        Sku::VpnGw1Az
        | Sku::VpnGw2Az
        | Sku::VpnGw3Az
        | Sku::VpnGw4Az
        | Sku::VpnGw5Az
        | Sku::ErGw1Az
        | Sku::ErGw2Az
        | Sku::ErGw3Az => 999_900_000,
        _ => 999_500_000,
    })
}

/// How often one candidate fails, how long its repair takes, and where those come from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rate {
    pub kind: Kind,
    pub candidate: String,
    pub failures_per_year: f64,
    pub repair_us: f64,
    pub source: String,
}

/// What a default or an entry says before the rate is worked out.
struct Basis {
    per_year: Option<f64>,
    availability: Option<Percent>,
    repair: Time,
    source: String,
}

impl Basis {
    fn assumed(per_year: f64, repair: Time, source: &str) -> Basis {
        Basis {
            per_year: Some(per_year),
            availability: None,
            repair,
            source: format!("assumed: {source}"),
        }
    }

    fn published(availability: Percent, repair: Time, what: &str) -> Basis {
        Basis {
            per_year: None,
            availability: Some(availability),
            repair,
            source: format!(
                "{what}: {availability} published monthly availability (domain.md, \"Availability figures\"), with an assumed {} repair",
                readable(repair)
            ),
        }
    }

    fn apply(&mut self, r: &Reliability) {
        if let Some(f) = r.failures_per_year {
            self.per_year = Some(f);
            self.availability = None;
        }
        if let Some(a) = r.availability {
            self.availability = Some(a);
            self.per_year = None;
        }
        if let Some(t) = r.repair {
            self.repair = t;
        }
        self.source = format!("{}; the lab's {}", self.source, r.item);
    }

    fn rate(self, c: &Candidate) -> Rate {
        let per_year = self.per_year.unwrap_or_else(|| {
            let down = self.availability.map_or(0, |a| Percent::ALL.0 - a.0);
            if self.repair == 0 {
                0.0
            } else {
                down as f64 * YEAR_S / (Percent::ALL.0 as f64 * (self.repair as f64 / 1e9))
            }
        });
        Rate {
            kind: c.kind,
            candidate: c.name.clone(),
            failures_per_year: per_year,
            repair_us: crate::analysis::us(self.repair),
            source: self.source,
        }
    }
}

/// A repair time as people say it: "4 h", "5 min", else to the nanosecond.
fn readable(t: Time) -> String {
    if t > 0 && t.is_multiple_of(HOUR) {
        format!("{} h", t / HOUR)
    } else if t > 0 && t.is_multiple_of(MINUTE) {
        format!("{} min", t / MINUTE)
    } else {
        crate::units::format_nanos(t)
    }
}

/// The default for candidate `c` of `lab`.
fn default(lab: &Lab, c: &Candidate) -> Basis {
    let sku = || {
        lab.gateways
            .iter()
            .find(|g| lab.nodes[g.node].name == c.name)
            .map(|g| g.sku)
    };
    match c.kind {
        Kind::Link => Basis::assumed(
            1.0,
            ONSITE_REPAIR,
            "a line of the customer's or the ISP's has no published figure: one failure a year, repaired in 4 h",
        ),
        Kind::InternetPath => Basis::assumed(
            1.0,
            ONSITE_REPAIR,
            "a site's internet line has no published figure: one failure a year, repaired in 4 h",
        ),
        Kind::DegradedPath => Basis::assumed(
            4.0,
            PLATFORM_REPAIR,
            "a site's internet path degrades (congestion, a fault upstream) four times a year, for an hour",
        ),
        Kind::CircuitLink => Basis::assumed(
            1.0,
            ONSITE_REPAIR,
            "one path of a circuit (the provider's port or fibre) has no figure of its own: one failure a year, repaired in 4 h",
        ),
        Kind::PlatformLink => Basis::assumed(
            0.0,
            0,
            "a link inside the platform fails as part of its gateway or circuit, whose figures count it",
        ),
        Kind::Peering => Basis::assumed(
            0.0,
            0,
            "a VNet peering is the platform's fabric, with no published figure of its own",
        ),
        Kind::Circuit => Basis::published(CIRCUIT_AVAILABILITY, PLATFORM_REPAIR, "ExpressRoute circuit"),
        Kind::PeeringLocation => Basis::assumed(
            0.1,
            ONSITE_REPAIR,
            "a whole peering location (a facility incident) has no published figure: once in ten years, 4 h",
        ),
        Kind::Router => Basis::assumed(
            0.2,
            ONSITE_REPAIR,
            "a router of the customer's or the ISP's has no published figure: once in five years, a 4-hour hardware replacement",
        ),
        Kind::Gateway => match sku() {
            Some(sku) => Basis::published(
                gateway_availability(sku),
                PLATFORM_REPAIR,
                &format!("gateway SKU {sku:?}"),
            ),
            None => Basis::assumed(
                0.2,
                ONSITE_REPAIR,
                "a gateway without a SKU in the lab: as a router, once in five years, 4 h",
            ),
        },
        Kind::GatewayMaintenance => Basis::assumed(
            4.0,
            c.restores_after.unwrap_or(0),
            "planned gateway maintenance has no published frequency: four times a year, over when the standby takes over",
        ),
        Kind::Msee => Basis::assumed(
            0.5,
            PLATFORM_REPAIR,
            "one MSEE has no figure of its own (the circuit's covers both): once in two years, 1 h",
        ),
        Kind::BgpSession => Basis::assumed(
            1.0,
            5 * MINUTE,
            "a session reset (a software fault, a clear) has no published figure: once a year; one that does not come back is cleared in 5 min",
        ),
    }
}

/// Every candidate's rate and repair time: the default, then the lab's entries for its kind,
/// then those for it by name, each in file order. An entry naming no candidate of the lab is
/// an error that names it.
pub fn rates(lab: &Lab, all: &[Candidate], run: &[Candidate]) -> Result<Vec<Rate>, String> {
    for r in &lab.reliability {
        if let Target::Candidate(name) = &r.target {
            if !all.iter().any(|c| &c.name == name) {
                let names: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
                return Err(format!(
                    "{} names candidate '{name}', which lab '{}' does not have{}",
                    r.item,
                    lab.name,
                    crate::lab::suggest::suggest(name, &names)
                ));
            }
        }
    }
    Ok(run
        .iter()
        .map(|c| {
            let mut basis = default(lab, c);
            for r in lab
                .reliability
                .iter()
                .filter(|r| r.target == Target::Kind(c.kind))
            {
                basis.apply(r);
            }
            for r in lab
                .reliability
                .iter()
                .filter(|r| r.target == Target::Candidate(c.name.clone()))
            {
                basis.apply(r);
            }
            basis.rate(c)
        })
        .collect())
}

/// One candidate's part in an app's expected downtime.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Contribution {
    pub kind: Kind,
    pub candidate: String,
    pub seconds_per_year: f64,
}

/// An app's expected downtime a year over the single failures run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Downtime {
    pub app: String,
    /// `None` for an app that gets nothing through without a failure either.
    pub seconds_per_year: Option<f64>,
    /// A fraction of 1.
    pub availability: Option<f64>,
    /// Every candidate that costs the app anything, the largest first (pairs named "a + b").
    pub contributors: Vec<Contribution>,
    /// Of the downtime, what double failures add (depth 2; 0 otherwise).
    pub from_pairs: f64,
}

/// Each app's expected downtime: rate × (the outage it recovered from, or the repair time).
pub fn downtime(
    apps: &[String],
    baseline: &[super::Effect],
    outcomes: &[Outcome],
    unchanged: &[Vec<bool>],
    rates: &[Rate],
) -> Vec<Downtime> {
    apps.iter()
        .enumerate()
        .map(|(i, app)| {
            if !baseline[i].recovered {
                return Downtime {
                    app: app.clone(),
                    seconds_per_year: None,
                    availability: None,
                    contributors: Vec::new(),
                    from_pairs: 0.0,
                };
            }
            let mut contributors: Vec<Contribution> = outcomes
                .iter()
                .zip(rates)
                .zip(unchanged)
                .filter_map(|((o, r), same)| {
                    let e = &o.effects[i];
                    let each_s = if same[i] {
                        0.0
                    } else if e.recovered {
                        e.outage_us / 1e6
                    } else {
                        r.repair_us.max(e.outage_us) / 1e6
                    };
                    let s = r.failures_per_year * each_s;
                    (s > 0.0).then(|| Contribution {
                        kind: o.kind,
                        candidate: o.candidate.clone(),
                        seconds_per_year: s,
                    })
                })
                .collect();
            contributors.sort_by(|a, b| b.seconds_per_year.total_cmp(&a.seconds_per_year));
            let total = contributors.iter().fold(0.0, |t, c| t + c.seconds_per_year);
            Downtime {
                app: app.clone(),
                seconds_per_year: Some(total),
                availability: Some(1.0 - total / YEAR_S),
                contributors,
                from_pairs: 0.0,
            }
        })
        .collect()
}

/// Adds the double failures' term to each app's downtime (depth 2), to first order: a pair
/// counts only where each of its failures alone left the app recovered (otherwise that single
/// failure's term already counts it). Two failures overlap λa·λb·(ra + rb) ÷ a year times a
/// year, for ra·rb ÷ (ra + rb) on average: an app the pair stops loses λa·λb·ra·rb ÷ a year;
/// one it recovers from loses the pair's outage beyond the longer single one, each time.
pub fn add_pairs(
    downtime: &mut [Downtime],
    baseline: &[super::Effect],
    singles: &[Outcome],
    pairs: &[Outcome],
    unchanged: &[Vec<bool>],
    rates: &[Rate],
) {
    let of = |name: &str| singles.iter().zip(rates).find(|(o, _)| o.candidate == name);
    for (i, d) in downtime.iter_mut().enumerate() {
        if !baseline[i].recovered {
            continue;
        }
        let mut added = Vec::new();
        for (pair, same) in pairs.iter().zip(unchanged) {
            let Some(b) = &pair.with else { continue };
            let (Some((oa, ra)), Some((ob, rb))) = (of(&pair.candidate), of(&b.candidate)) else {
                continue;
            };
            let (ea, eb, e) = (&oa.effects[i], &ob.effects[i], &pair.effects[i]);
            if same[i] || !ea.recovered || !eb.recovered {
                continue;
            }
            let (la, lb) = (ra.failures_per_year, rb.failures_per_year);
            let (sa, sb) = (ra.repair_us / 1e6, rb.repair_us / 1e6);
            let s = if e.recovered {
                let extra = (e.outage_us - ea.outage_us.max(eb.outage_us)).max(0.0) / 1e6;
                la * lb * (sa + sb) / YEAR_S * extra
            } else {
                la * lb * sa * sb / YEAR_S
            };
            if s > 0.0 {
                added.push(Contribution {
                    kind: pair.kind,
                    candidate: pair.name(),
                    seconds_per_year: s,
                });
            }
        }
        let extra = added.iter().fold(0.0, |t, c| t + c.seconds_per_year);
        d.from_pairs = extra;
        if let Some(total) = d.seconds_per_year.as_mut() {
            *total += extra;
            d.availability = Some(1.0 - *total / YEAR_S);
        }
        d.contributors.extend(added);
        d.contributors
            .sort_by(|a, b| b.seconds_per_year.total_cmp(&a.seconds_per_year));
    }
}
