//! ExpressRoute Global Reach: two circuits joined at their MSEEs, so that the two customer
//! networks talk over the provider's backbone without entering a VNet (domain.md, "Global
//! Reach"; seed 001).
//!
//! A Global Reach `NAME` between circuits A and B becomes two links, `NAME-primary` (A's MSEE 1
//! to B's MSEE 1) and `NAME-secondary` (the MSEE 2s), each a /30 of the /29, with the two
//! circuits' backbone delays in series and no rate of its own (each circuit's links cap it, so
//! the smaller circuit does), and an iBGP session (AS 12076) over each that carries only the
//! routes each MSEE learned from its own customer edge: not the VNets', and not what it learned
//! from another Global Reach, so X–Y and Y–Z do not give X–Z. A site's router counts packets
//! for such a site as "not transitive".
//!
//! Rules, each a clear error: the circuits exist and differ and sit at different
//! `peering_location`s; the /29 overlaps nothing else; an authorization (one the peer circuit
//! issued) is valid for one connection, Global Reach or gateway; routers on the path without
//! 4-byte ASN support (`asn4: false`) refuse the other side's 4-byte ASN.

use crate::lab::error::Problem;
use crate::lab::spec::*;
use crate::substrate::route::Prefix;
use crate::units::Duration;
use std::net::Ipv4Addr;

/// Joins the circuits of `circuits` (the lab's, before the circuit pass) that `spec.global_reach`
/// names, in `spec` (after it).
pub fn expand(
    circuits: &[CircuitSpec],
    handoff: &super::Handoff,
    spec: LabSpec,
) -> Result<LabSpec, Vec<Problem>> {
    let mut out = spec;
    let reaches = std::mem::take(&mut out.global_reach);
    let mut problems = Vec::new();
    let names: Vec<&str> = circuits.iter().map(|c| c.name.as_str()).collect();
    // Every prefix the lab already holds, for the /29's overlap check.
    let taken: Vec<Prefix> = out
        .links
        .iter()
        .flat_map(|l| [&l.a.ip, &l.b.ip])
        .chain(out.nodes.iter().flat_map(|n| n.addresses()))
        .filter_map(|s| s.parse::<Prefix>().ok())
        .map(Prefix::network)
        .collect();
    let mut keys: Vec<(String, String, String)> = circuits
        .iter()
        .flat_map(|c| {
            let used = handoff.circuits.get(&c.name);
            used.into_iter()
                .flat_map(|u| &u.used_keys)
                .map(|(k, by)| (c.name.clone(), k.clone(), by.clone()))
        })
        .collect();
    let mut joined: Vec<(usize, usize)> = Vec::new();
    for g in &reaches {
        let item = format!("global reach '{}'", g.name);
        let find = |name: &str, problems: &mut Vec<Problem>| {
            let found = circuits.iter().position(|c| c.name == name);
            if found.is_none() {
                problems.push(Problem::new(
                    &item,
                    format!(
                        "unknown circuit '{name}'{}",
                        crate::lab::suggest(name, &names)
                    ),
                ));
            }
            found
        };
        let (Some(a), Some(b)) = (
            find(&g.circuit, &mut problems),
            find(&g.peer, &mut problems),
        ) else {
            continue;
        };
        let (ca, cb) = (&circuits[a], &circuits[b]);
        if a == b {
            problems.push(Problem::new(&item, "a circuit cannot reach itself"));
            continue;
        }
        if joined.contains(&(a, b)) || joined.contains(&(b, a)) {
            problems.push(Problem::new(
                &item,
                format!(
                    "circuits '{}' and '{}' are already joined",
                    ca.name, cb.name
                ),
            ));
            continue;
        }
        match (&ca.peering_location, &cb.peering_location) {
            (Some(x), Some(y)) if x == y => problems.push(Problem::new(&item, format!("circuits '{}' and '{}' are both at peering location '{x}': Global Reach joins circuits at different locations", ca.name, cb.name))),
            (Some(_), Some(_)) => {}
            _ => problems.push(Problem::new(&item, format!("give both circuits ('{}', '{}') their `peering_location`: Global Reach joins circuits at different locations", ca.name, cb.name))),
        }
        if let Some(key) = &g.authorization {
            if !cb.authorizations.contains(key) {
                problems.push(Problem::new(
                    &item,
                    format!("circuit '{}' issued no authorization '{key}'", cb.name),
                ));
            }
            if let Some((_, _, by)) = keys.iter().find(|(c, k, _)| *c == cb.name && k == key) {
                problems.push(Problem::new(&item, format!("authorization '{key}' of circuit '{}' is already used by '{by}': a key is valid for one connection only", cb.name)));
            }
            keys.push((cb.name.clone(), key.clone(), g.name.clone()));
        }
        let subnet = match g.subnet.parse::<Prefix>() {
            Ok(p) if p.len == 29 && p.network() == p => p,
            _ => {
                problems.push(Problem::new(
                    &item,
                    format!(
                        "subnet '{}' is not a /29 network address (e.g. 192.168.50.0/29)",
                        g.subnet
                    ),
                ));
                continue;
            }
        };
        if let Some(t) = taken.iter().find(|t| t.overlaps(subnet)) {
            problems.push(Problem::new(&item, format!("subnet {subnet} overlaps {t}, already in the lab: Global Reach needs a /29 of its own")));
            continue;
        }
        // 4-byte ASNs: a CE without support facing the other side's.
        let ce_asn = |c: &CircuitSpec| {
            out.nodes
                .iter()
                .find(|n| n.name() == c.ce)
                .and_then(|n| match n {
                    NodeSpec::Router {
                        bgp: Some(b), asn4, ..
                    } => Some((b.asn, *asn4)),
                    _ => None,
                })
        };
        for (me, other) in [(ca, cb), (cb, ca)] {
            if let (Some((_, false)), Some((asn, _))) = (ce_asn(me), ce_asn(other)) {
                if asn > u32::from(u16::MAX) {
                    problems.push(Problem::new(&item, format!("'{}' does not support 4-byte AS numbers (`asn4: false`) and routes from '{}' (AS {asn}) reach it: every router on a Global Reach path must", me.ce, other.ce)));
                }
            }
        }
        joined.push((a, b));
        let backbone = Duration(
            ca.backbone_delay
                .unwrap_or_default()
                .0
                .saturating_add(cb.backbone_delay.unwrap_or_default().0),
        );
        for (i, side) in ["primary", "secondary"].into_iter().enumerate() {
            let base = u32::from(subnet.addr) + 4 * i as u32;
            let (x, y) = (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2));
            let (ma, mb) = (
                format!("{}-msee{}", ca.name, i + 1),
                format!("{}-msee{}", cb.name, i + 1),
            );
            out.links.push(LinkSpec {
                delay: Some(backbone),
                ..LinkSpec::new(
                    format!("{}-{side}", g.name),
                    EndSpec::new(&ma, format!("{x}/30")),
                    EndSpec::new(&mb, format!("{y}/30")),
                )
            });
            // Each MSEE passes on only what its own customer edge told it.
            let ce_ip = |c: &CircuitSpec| {
                let p: Option<Prefix> = [&c.primary, &c.secondary][i].parse().ok();
                p.map(|p| Ipv4Addr::from(u32::from(p.network().addr) + 1).to_string())
            };
            out.bgp_sessions.push(BgpSessionSpec {
                a: BgpEndSpec {
                    node: ma,
                    ip: x.to_string(),
                    export_from: ce_ip(ca).into_iter().collect(),
                    ..BgpEndSpec::default()
                },
                b: BgpEndSpec {
                    node: mb,
                    ip: y.to_string(),
                    export_from: ce_ip(cb).into_iter().collect(),
                    ..BgpEndSpec::default()
                },
                bfd: None,
            });
        }
    }
    // Gateways do not take routes from another circuit: the MSEEs of a joined circuit announce
    // to its gateways only what its own customer edge told them.
    let joined_circuits: Vec<usize> = joined.iter().flat_map(|&(a, b)| [a, b]).collect();
    for &k in &joined_circuits {
        let c = &circuits[k];
        for (i, p) in [&c.primary, &c.secondary].into_iter().enumerate() {
            let msee = format!("{}-msee{}", c.name, i + 1);
            let Ok(p) = p.parse::<Prefix>() else { continue };
            let ce = Ipv4Addr::from(u32::from(p.network().addr) + 1).to_string();
            for s in &mut out.bgp_sessions {
                if s.a.node == msee
                    && s.b.node != c.ce
                    && !s.b.node.ends_with(&format!("-msee{}", i + 1))
                {
                    s.a.export_from = vec![ce.clone()];
                }
            }
        }
    }
    // Not transitive: a site learns nothing of the sites two joins away; its router says so.
    for (x, cx) in circuits.iter().enumerate() {
        let direct = |a: usize| -> Vec<usize> {
            joined
                .iter()
                .filter_map(|&(p, q)| {
                    if p == a {
                        Some(q)
                    } else if q == a {
                        Some(p)
                    } else {
                        None
                    }
                })
                .collect()
        };
        let near = direct(x);
        let far: Vec<usize> = near
            .iter()
            .flat_map(|&y| direct(y))
            .filter(|&z| z != x && !near.contains(&z))
            .collect();
        let prefixes: Vec<String> = far
            .iter()
            .filter_map(|&z| out.nodes.iter().find(|n| n.name() == circuits[z].ce))
            .flat_map(|n| match n {
                NodeSpec::Router { bgp: Some(b), .. } => b.originate.clone(),
                _ => vec![],
            })
            .collect();
        if let Some(NodeSpec::Router {
            beyond_peerings, ..
        }) = out.nodes.iter_mut().find(|n| n.name() == cx.ce)
        {
            for p in prefixes {
                if !beyond_peerings.contains(&p) {
                    beyond_peerings.push(p);
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
