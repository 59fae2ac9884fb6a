//! `reliability` entries: each names one kind of candidate or one candidate, and gives values
//! that mean something (a rate that is a number of failures a year, an availability with a
//! repair time to turn it into a rate).

use super::*;
use crate::lab::failure::{Kind, Reliability, Target};

/// The most failures a year an entry may state: one an hour.
const MOST_FAILURES_PER_YEAR: f64 = 8760.0;

pub(super) fn reliability(spec: &LabSpec, c: &mut Checker) -> Vec<Reliability> {
    let mut out = Vec::new();
    for (k, r) in spec.reliability.iter().enumerate() {
        let item = format!("reliability {}", k + 1);
        let target = match (&r.kind, &r.candidate) {
            (Some(kind), None) => match Kind::parse(kind) {
                Ok(kind) => Some(Target::Kind(kind)),
                Err(e) => {
                    c.fail(&item, e);
                    None
                }
            },
            (None, Some(name)) => Some(Target::Candidate(name.clone())),
            _ => {
                c.fail(
                    &item,
                    "give either `kind` (as `emulate resilience --only` names kinds) or `candidate` (as `--list` names candidates)",
                );
                None
            }
        };
        if r.failures_per_year.is_some() && r.availability.is_some() {
            c.fail(
                &item,
                "give `failures_per_year` or `availability`, not both: the availability and the repair time make the rate",
            );
        }
        if r.failures_per_year.is_none() && r.availability.is_none() && r.repair.is_none() {
            c.fail(
                &item,
                "changes nothing: give `failures_per_year` or `availability`, and/or `repair`",
            );
        }
        if let Some(f) = r.failures_per_year {
            if !(0.0..=MOST_FAILURES_PER_YEAR).contains(&f) {
                c.fail(
                    &item,
                    format!("failures_per_year {f} is outside 0..={MOST_FAILURES_PER_YEAR} (one an hour)"),
                );
            }
        }
        if r.availability.is_some() && r.repair.is_some_and(|d| d.0 == 0) {
            c.fail(
                &item,
                "an availability needs a repair time above zero to make a failure rate",
            );
        }
        if let Some(target) = target {
            out.push(Reliability {
                target,
                failures_per_year: r.failures_per_year,
                availability: r.availability,
                repair: r.repair.map(|d| d.0),
                item,
            });
        }
    }
    out
}
