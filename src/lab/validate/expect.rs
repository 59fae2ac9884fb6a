//! Expectations: they must name apps and faults the lab has, and bounds that mean something.

use super::*;

pub(super) fn expectations(
    spec: &LabSpec,
    apps: &[App],
    faults: &[Fault],
    c: &mut Checker,
) -> Vec<Expectation> {
    let app_names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
    let mut fault_names: Vec<&str> = faults.iter().map(|f| f.label.as_str()).collect();
    fault_names.dedup();
    let mut out = Vec::new();
    for (k, e) in spec.expect.iter().enumerate() {
        let item = format!("expectation {}", k + 1);
        let app_of = |c: &mut Checker, name: &str, kinds: &[AppKind], what: &str| {
            match apps.iter().find(|a| a.name == name) {
                None => c.fail(
                    &item,
                    format!(
                        "unknown app '{name}'{}",
                        super::super::suggest::suggest(name, &app_names)
                    ),
                ),
                Some(a) if !kinds.contains(&a.traffic.kind()) => c.fail(
                    &item,
                    format!("app '{name}' is {}: {what}", a.traffic.kind()),
                ),
                Some(_) => {}
            }
            name.to_string()
        };
        let fault_of = |c: &mut Checker, name: &str| {
            if !fault_names.contains(&name) {
                c.fail(
                    &item,
                    format!(
                        "unknown fault '{name}'{}",
                        super::super::suggest::suggest(name, &fault_names)
                    ),
                );
            }
            name.to_string()
        };
        let positive = |c: &mut Checker, what: &str, d: u64| {
            if d == 0 {
                c.fail(&item, format!("{what} is zero"));
            }
            d
        };
        let echo_or_requests = [
            AppKind::UdpProbe,
            AppKind::Ping,
            AppKind::TcpRequestResponse,
        ];
        let expectation = match e {
            ExpectSpec::Outage { app, fault, max } => Expectation::Outage {
                app: app_of(
                    c,
                    app,
                    &[
                        AppKind::UdpProbe,
                        AppKind::Ping,
                        AppKind::TcpBulk,
                        AppKind::TcpRequestResponse,
                    ],
                    "",
                ),
                fault: fault_of(c, fault),
                max: max.0,
            },
            ExpectSpec::Detection { fault, within, by } => Expectation::Detection {
                fault: fault_of(c, fault),
                within: positive(c, "within", within.0),
                by: by.clone(),
            },
            ExpectSpec::Latency {
                app,
                phase,
                percentile,
                max,
            } => {
                if ![50.0, 90.0, 99.0, 99.9, 100.0].contains(percentile) {
                    c.fail(
                        &item,
                        format!("percentile {percentile} is not one of 50, 90, 99, 99.9, 100"),
                    );
                }
                Expectation::Latency {
                    app: app_of(
                        c,
                        app,
                        &echo_or_requests,
                        "latency is measured for probes, pings and requests",
                    ),
                    phase: phase.as_ref().map(|p| phase_of(c, &item, p, &fault_names)),
                    percentile: *percentile,
                    max: positive(c, "max", max.0),
                }
            }
            ExpectSpec::Goodput { app, phase, min } => Expectation::Goodput {
                app: app_of(
                    c,
                    app,
                    &[AppKind::TcpBulk],
                    "goodput is measured for bulk TCP",
                ),
                phase: phase.as_ref().map(|p| phase_of(c, &item, p, &fault_names)),
                min: min.0,
            },
            ExpectSpec::NoLossOutsideFailover { app } => Expectation::NoLossOutsideFailover {
                app: app_of(
                    c,
                    app,
                    &[AppKind::UdpProbe, AppKind::Ping],
                    "loss is counted for probes and pings",
                ),
            },
            ExpectSpec::NoSinglePointOfFailure { app } => Expectation::NoSinglePointOfFailure {
                app: app_of(c, app, &AppKind::ALL, ""),
            },
            ExpectSpec::WorstOutage { app, max } => Expectation::WorstOutage {
                app: app_of(c, app, &AppKind::ALL, ""),
                max: max.0,
            },
            ExpectSpec::Availability { app, min } => Expectation::Availability {
                app: app_of(c, app, &AppKind::ALL, ""),
                min: *min,
            },
            ExpectSpec::Unreachable { app } => Expectation::Unreachable {
                app: app_of(
                    c,
                    app,
                    &[AppKind::UdpProbe, AppKind::Ping],
                    "reachability is measured by probes and pings",
                ),
            },
        };
        out.push(expectation);
    }
    out
}

/// A phase is "start" or a fault's name.
fn phase_of(c: &mut Checker, item: &str, phase: &str, faults: &[&str]) -> String {
    if phase != "start" && !faults.contains(&phase) {
        let mut known = vec!["start"];
        known.extend(faults);
        c.fail(
            item,
            format!(
                "unknown phase '{phase}'{}",
                super::super::suggest::suggest(phase, &known)
            ),
        );
    }
    phase.to_string()
}
