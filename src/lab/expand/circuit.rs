//! ExpressRoute circuits, expanded into the primitive nodes, links, sessions and faults they
//! are made of, before validation. Figures from domain.md ("ExpressRoute circuit"): bandwidth
//! tiers, a /30 per link (customer first host, MSEE second), MSEE AS 12076, gateway AS 65515,
//! BFD on by default.

use super::address::{hosts_of_30, Allocator};
use crate::lab::error::Problem;
use crate::lab::spec::*;
use crate::substrate::route::Prefix;
use std::net::Ipv4Addr;

pub const MSEE_ASN: u32 = 12076;
pub const GATEWAY_ASN: u32 = 65515;
/// Prefixes the private peering accepts from on premises, and with the Premium add-on
/// (domain.md, "Route selection": "past the limit the BGP session drops").
pub const PREFIX_LIMIT: u32 = 4_000;
pub const PREMIUM_PREFIX_LIMIT: u32 = 10_000;
const MBPS: u64 = 1_000_000;
/// Circuit tiers, and ExpressRoute Direct's 100 Gbps port.
const TIERS: [u64; 9] = [50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 100_000];

/// The two host addresses of a /30: (customer, MSEE).
fn hosts(item: &str, what: &str, s: &str) -> Result<(Ipv4Addr, Ipv4Addr), Problem> {
    let p: Prefix = s
        .parse()
        .map_err(|e| Problem::new(item, format!("{what}: {e}")))?;
    if p.len != 30 || p.network() != p {
        return Err(Problem::new(
            item,
            format!("{what} {p} is not a /30 network address (e.g. 192.168.100.0/30)"),
        ));
    }
    let base = u32::from(p.addr);
    Ok((Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2)))
}

/// Returns `spec` with every circuit replaced by what it is made of.
pub fn expand(
    spec: &LabSpec,
    alloc: &mut Allocator,
    handoff: &super::Handoff,
) -> Result<LabSpec, Vec<Problem>> {
    let mut out = spec.clone();
    let mut problems = Vec::new();
    out.circuits.clear();
    for c in &spec.circuits {
        let item = format!("circuit '{}'", c.name);
        if !TIERS.iter().any(|t| t * MBPS == c.bandwidth.0) {
            problems.push(Problem::new(&item, format!("bandwidth {} is not an ExpressRoute tier (50, 100, 200, 500 Mbps, 1, 2, 5, 10 Gbps; 100 Gbps Direct)", crate::units::format_bitrate(c.bandwidth.0 as f64))));
        }
        let find = |name: &str| spec.nodes.iter().find(|n| n.name() == name);
        // A misspelt gateway or CE: the routers it might have meant (a CE runs BGP).
        let routers = |bgp_only: bool| -> Vec<&str> {
            spec.nodes
                .iter()
                .filter(|n| match n {
                    NodeSpec::Router { bgp, .. } => bgp.is_some() || !bgp_only,
                    _ => false,
                })
                .map(|n| n.name())
                .collect()
        };
        let hint = |name: &str, bgp_only: bool| {
            if find(name).is_some() {
                String::new()
            } else {
                crate::lab::suggest(name, &routers(bgp_only))
            }
        };
        // The gateways the circuit connects to: the one it names, then its connections'.
        let used = handoff.circuits.get(&c.name).cloned().unwrap_or_default();
        let gateways: Vec<&String> = c.gateway.iter().chain(&used.connections).collect();
        let reached = spec
            .global_reach
            .iter()
            .any(|g| g.circuit == c.name || g.peer == c.name);
        if gateways.is_empty() && !reached {
            problems.push(Problem::new(
                &item,
                "no gateway: name one (`gateway`), connect the circuit to an ExpressRoute gateway in `connections`, or join it to another circuit by `global_reach`",
            ));
        }
        let mut gw_skus = Vec::new();
        for gateway in &gateways {
            match find(gateway) {
                Some(NodeSpec::Router { sku, bgp, .. }) => {
                    if bgp.as_ref().is_none_or(|b| b.asn != GATEWAY_ASN) {
                        problems.push(Problem::new(
                            &item,
                            format!("gateway '{gateway}' must run BGP with AS {GATEWAY_ASN}"),
                        ));
                    }
                    gw_skus.push(*sku);
                }
                _ => {
                    problems.push(Problem::new(
                        &item,
                        format!(
                            "gateway '{gateway}' is not a router in the lab{}",
                            hint(gateway, false)
                        ),
                    ));
                    gw_skus.push(None);
                }
            }
        }
        if !matches!(find(&c.ce), Some(NodeSpec::Router { bgp: Some(_), .. })) {
            problems.push(Problem::new(
                &item,
                format!(
                    "ce '{}' is not a router with `bgp` in the lab{}",
                    c.ce,
                    hint(&c.ce, true)
                ),
            ));
        }
        if c.fast_path
            && !gw_skus.iter().all(|sku| {
                matches!(
                    sku,
                    Some(
                        crate::substrate::gateway::Sku::UltraPerformance
                            | crate::substrate::gateway::Sku::ErGw3Az
                    )
                )
            })
        {
            problems.push(Problem::new(
                &item,
                "FastPath needs an UltraPerformance or ErGw3Az gateway",
            ));
        }
        let (primary, secondary) = match (
            hosts(&item, "primary", &c.primary),
            hosts(&item, "secondary", &c.secondary),
        ) {
            (Ok(p), Ok(s)) => (p, s),
            (p, s) => {
                problems.extend(p.err());
                problems.extend(s.err());
                continue;
            }
        };
        let bfd = c.bfd_enabled.then(|| {
            c.bfd.clone().unwrap_or(BfdSpec {
                interval: None,
                multiplier: None,
            })
        });
        for (i, (ce_ip, msee_ip)) in [primary, secondary].into_iter().enumerate() {
            let parts = Parts::of(c);
            let msee = parts.msees[i].clone();
            let mut router = NodeSpec::router(&msee);
            if let NodeSpec::Router { bgp, microsoft, .. } = &mut router {
                *bgp = Some(BgpSpec {
                    asn: MSEE_ASN,
                    ..BgpSpec::default()
                });
                *microsoft = true;
            }
            out.nodes.push(router);
            let link = |name: String,
                        a: (&str, String),
                        b: (&str, String),
                        delay: Option<crate::units::Duration>| LinkSpec {
                delay,
                rate: Some(c.bandwidth),
                ..LinkSpec::new(name, EndSpec::new(a.0, a.1), EndSpec::new(b.0, b.1))
            };
            out.links.push(link(
                parts.links[i].clone(),
                (&c.ce, format!("{ce_ip}/30")),
                (&msee, format!("{msee_ip}/30")),
                c.delay,
            ));
            let end = |node: &str, ip: Ipv4Addr| BgpEndSpec {
                node: node.to_string(),
                ip: ip.to_string(),
                ..BgpEndSpec::default()
            };
            let mut ce_end = end(&c.ce, ce_ip);
            ce_end.keepalive = c.keepalive;
            ce_end.hold = c.hold;
            ce_end.local_pref = c.ce_local_pref;
            ce_end.prepend = c.ce_prepend;
            // The private peering's prefix limit: past it the session drops.
            let mut msee_end = end(&msee, msee_ip);
            msee_end.max_prefixes = Some(if c.premium {
                PREMIUM_PREFIX_LIMIT
            } else {
                PREFIX_LIMIT
            });
            out.bgp_sessions.push(BgpSessionSpec {
                a: ce_end,
                b: msee_end,
                bfd: bfd.clone(),
            });
            // Each MSEE–gateway link sits in link-local space (the allocator's), not the
            // circuit's bottleneck: the backbone runs at the MSEE's line rate.
            for gateway in &gateways {
                let Some(net) = alloc.link_30() else {
                    problems.push(Problem::new(
                        &item,
                        "link-local space (169.254.0.0/16) is used up",
                    ));
                    break;
                };
                let (m, g) = hosts_of_30(net);
                let name = match c.gateway.as_ref() {
                    Some(first) if first == *gateway => format!("{msee}-gw"),
                    _ => format!("{msee}-{gateway}"),
                };
                let mut backbone_link = link(
                    name,
                    (&msee, format!("{m}/30")),
                    (gateway, format!("{g}/30")),
                    c.backbone_delay,
                );
                backbone_link.rate = None;
                out.links.push(backbone_link);
                let weight = used.weights.iter().find(|w| w.0 == **gateway).map(|w| w.1);
                out.bgp_sessions.push(BgpSessionSpec {
                    a: end(&msee, m),
                    b: BgpEndSpec {
                        weight,
                        ..end(gateway, g)
                    },
                    bfd: None,
                });
            }
        }
        if c.fast_path {
            // The data path bypasses the gateway: its capacity limit no longer applies.
            for n in &mut out.nodes {
                if let NodeSpec::Router {
                    name,
                    sku,
                    throughput,
                    pps,
                    ..
                } = n
                {
                    if gateways.contains(&&*name) {
                        (*sku, *throughput, *pps) = (None, None, None);
                    }
                }
            }
        }
    }
    // Circuit faults act on both links.
    out.faults.clear();
    for f in &spec.faults {
        match &f.action {
            FaultAction::CircuitDown(name) | FaultAction::CircuitUp(name) => {
                if !spec.circuits.iter().any(|c| &c.name == name) {
                    problems.push(Problem::new(
                        &format!("fault at {}", f.at),
                        format!(
                            "unknown circuit '{name}'{}",
                            crate::lab::suggest(
                                name,
                                &spec
                                    .circuits
                                    .iter()
                                    .map(|c| c.name.as_str())
                                    .collect::<Vec<_>>()
                            )
                        ),
                    ));
                    continue;
                }
                let Some(c) = spec.circuits.iter().find(|c| &c.name == name) else {
                    continue;
                };
                for link in Parts::of(c).links {
                    let action = match f.action {
                        FaultAction::CircuitDown(_) => FaultAction::LinkDown(link),
                        _ => FaultAction::LinkUp(link),
                    };
                    out.faults.push(FaultSpec {
                        at: f.at,
                        action,
                        label: Some(f.action.label()),
                        continues: false,
                    });
                }
            }
            _ => out.faults.push(f.clone()),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The names of what a circuit expands into: its links (primary, secondary) and their MSEEs.
#[derive(Debug, Clone)]
pub struct Parts {
    pub name: String,
    pub peering_location: Option<String>,
    pub links: [String; 2],
    pub msees: [String; 2],
}

impl Parts {
    pub fn of(c: &CircuitSpec) -> Parts {
        Parts {
            name: c.name.clone(),
            peering_location: c.peering_location.clone(),
            links: ["primary", "secondary"].map(|side| format!("{}-{side}", c.name)),
            msees: [1, 2].map(|i| format!("{}-msee{i}", c.name)),
        }
    }
}
