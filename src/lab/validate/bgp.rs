//! BGP speakers and sessions, and the domain's rules on them.

use super::*;
use crate::substrate::ids::NodeId;

/// Defaults (domain.md, "Control plane and failover timing").
const KEEPALIVE: u64 = 60_000_000_000;
const HOLD: u64 = 180_000_000_000;
const MIN_KEEPALIVE: u64 = 3_000_000_000;
const MIN_HOLD: u64 = 10_000_000_000;
const BFD_INTERVAL: u64 = 300_000_000;
const BFD_MULTIPLIER: u8 = 3;
/// Our choice, not the vendor's: how long a down session waits before trying again.
const CONNECT_RETRY: u64 = 5_000_000_000;
/// The Microsoft side's ASN (MSEE); 65515–65520 are reserved for Azure's gateways.
const MICROSOFT_ASN: u32 = 12076;
const RESERVED: std::ops::RangeInclusive<u32> = 65515..=65520;

/// BGP speakers and sessions.
pub(super) fn bgp(
    spec: &LabSpec,
    index: &BTreeMap<&str, NodeId>,
    nodes: &mut [Node],
    c: &mut Checker,
) {
    use crate::control::{bgp::Config, plane::SessionSpec};
    for (i, n) in spec.nodes.iter().enumerate() {
        let NodeSpec::Router {
            name, bgp: Some(b), ..
        } = n
        else {
            continue;
        };
        let item = format!("router '{name}'");
        if b.asn == 0 {
            c.fail(&item, "BGP ASN 0 is not valid");
        }
        if let Some(d) = b.connect_retry {
            c.within(&item, &limits::CONNECT_RETRY, d.0);
        }
        let originate = b
            .originate
            .iter()
            .filter_map(|p| c.prefix(&item, p))
            .collect();
        let first = host_addresses(&nodes[i])
            .next()
            .map_or(Ipv4Addr::UNSPECIFIED, |p| p.addr);
        let router_id = b
            .router_id
            .as_deref()
            .and_then(|r| c.addr(&item, r))
            .unwrap_or(first);
        if let NodeKind::Router(r) = &mut nodes[i].kind {
            r.bgp = Some(Bgp {
                asn: b.asn,
                router_id,
                originate,
                sessions: Vec::new(),
                ignore_as_path: b.ignore_as_path,
            });
        }
    }
    for (k, s) in spec.bgp_sessions.iter().enumerate() {
        let item = format!("BGP session {} ({}–{})", k + 1, s.a.node, s.b.node);
        let mut ends = Vec::new();
        for end in [&s.a, &s.b] {
            let Some(&n) = index.get(end.node.as_str()) else {
                c.unknown_node(&item, "", &end.node);
                continue;
            };
            let asn = match &nodes[n].kind {
                NodeKind::Router(Router { bgp: Some(b), .. }) => b.asn,
                _ => {
                    c.fail(
                        &item,
                        format!("'{}' is not a router with `bgp` set", end.node),
                    );
                    continue;
                }
            };
            let Some(ip) = c.addr(&item, &end.ip) else {
                continue;
            };
            if !host_addresses(&nodes[n]).any(|p| p.addr == ip) {
                let own: Vec<String> = host_addresses(&nodes[n])
                    .map(|p| p.addr.to_string())
                    .collect();
                let hint = super::super::suggest::suggest(&ip.to_string(), &own);
                c.fail(
                    &item,
                    format!("{ip} is not an address of '{}'{hint}", end.node),
                );
                continue;
            }
            if let Some(p) = end.prepend {
                c.within(&item, &limits::PREPEND, u64::from(p));
            }
            if let Some(m) = end.max_prefixes {
                c.within(&item, &limits::MAX_PREFIXES, u64::from(m));
            }
            let keepalive = end.keepalive.map_or(KEEPALIVE, |d| d.0);
            let hold = end.hold.map_or(HOLD, |d| d.0);
            let fits = c.within(&item, &limits::BGP_TIMER.named("keepalive"), keepalive)
                & c.within(&item, &limits::BGP_TIMER.named("hold"), hold);
            if !fits {
                continue;
            }
            if keepalive < MIN_KEEPALIVE || hold < MIN_HOLD {
                c.fail(
                    &item,
                    format!(
                        "'{}': keepalive {} / hold {} is below the minimum 3s / 10s",
                        end.node,
                        crate::units::format_nanos(keepalive),
                        crate::units::format_nanos(hold)
                    ),
                );
            } else if keepalive >= hold {
                c.fail(
                    &item,
                    format!("'{}': keepalive must be shorter than hold", end.node),
                );
            }
            ends.push((n, ip, asn, keepalive, hold, end));
        }
        let [a, b] = ends.as_slice() else { continue };
        if a.0 == b.0 {
            c.fail(&item, "both ends are the same router");
            continue;
        }
        // The Microsoft side (MSEEs, gateways) peers with customers, whose ASN must not be one
        // Azure reserves.
        let microsoft = |n: NodeId| {
            matches!(
                &spec.nodes[n],
                NodeSpec::Router {
                    microsoft: true,
                    ..
                } | NodeSpec::Router { sku: Some(_), .. }
            )
        };
        for (x, y) in [(a, b), (b, a)] {
            if x.2 != y.2
                && microsoft(x.0)
                && !microsoft(y.0)
                && (RESERVED.contains(&y.2) || y.2 == MICROSOFT_ASN)
            {
                c.fail(&item, format!("'{}' uses ASN {}, which Azure reserves (65515–65520 and 12076): the customer side needs another ASN", nodes[y.0].name, y.2));
            }
        }
        // Site-to-site VPN gateways (domain.md): BGP timers fixed at 60 s / 180 s, no BFD, and
        // no BGP at all on the Basic SKU.
        let vpn_sku = |n: NodeId| match &spec.nodes[n] {
            NodeSpec::Router { sku: Some(sku), .. } if sku.is_vpn() => Some(*sku),
            _ => None,
        };
        // A router without 4-byte ASN support (RFC 6793) facing one fails (seed 001: every
        // gateway and router on the path must support them).
        for (x, y) in [(a, b), (b, a)] {
            let no_asn4 = matches!(&spec.nodes[x.0], NodeSpec::Router { asn4: false, .. });
            if no_asn4 && y.2 > u32::from(u16::MAX) {
                c.fail(&item, format!("'{}' does not support 4-byte AS numbers (`asn4: false`) and its peer '{}' has AS {}", nodes[x.0].name, nodes[y.0].name, y.2));
            }
        }
        // The platform's own sessions (a VNet with its gateways, all AS 65515) are iBGP; the
        // rules are about the customer's side.
        for end in [a, b].into_iter().filter(|_| a.2 != b.2) {
            let Some(sku) = vpn_sku(end.0) else { continue };
            if !sku.supports_bgp() {
                c.fail(
                    &item,
                    format!(
                        "'{}' is a Basic VPN gateway, which does not support BGP",
                        nodes[end.0].name
                    ),
                );
            }
            let custom = [a, b]
                .iter()
                .any(|e| e.5.keepalive.is_some() || e.5.hold.is_some());
            if custom {
                c.fail(
                    &item,
                    format!(
                        "BGP timers over a site-to-site VPN ('{}') are fixed at 60s / 180s",
                        nodes[end.0].name
                    ),
                );
            }
            if s.bfd.is_some() {
                c.fail(
                    &item,
                    format!(
                        "BFD is not available over a site-to-site VPN ('{}')",
                        nodes[end.0].name
                    ),
                );
            }
        }
        let bfd = s.bfd.as_ref().map(|b| {
            let interval = b.interval.map_or(BFD_INTERVAL, |d| d.0);
            let mult = b.multiplier.unwrap_or(BFD_MULTIPLIER);
            if interval == 0 || mult == 0 {
                c.fail(&item, "BFD interval and multiplier must be above zero");
            } else {
                c.within(&item, &limits::BFD_INTERVAL, interval);
            }
            (interval, mult)
        });
        for (me, peer, active) in [(a, b, true), (b, a, false)] {
            let NodeSpec::Router {
                bgp: Some(spec_bgp),
                ..
            } = &spec.nodes[me.0]
            else {
                continue;
            };
            let NodeKind::Router(Router {
                bgp: Some(speaker), ..
            }) = &mut nodes[me.0].kind
            else {
                continue;
            };
            let cfg = Config {
                name: format!("{}–{}", s.a.node, s.b.node),
                local: me.1,
                peer: peer.1,
                local_asn: me.2,
                peer_asn: peer.2,
                router_id: speaker.router_id,
                active,
                keepalive: me.3,
                hold: me.4,
                connect_retry: spec_bgp.connect_retry.map_or(CONNECT_RETRY, |d| d.0),
                weight: me.5.weight.unwrap_or(0),
                local_pref: me.5.local_pref,
                announce: me
                    .5
                    .announce
                    .iter()
                    .filter_map(|p| c.prefix(&item, p))
                    .collect(),
                prepend: me.5.prepend.unwrap_or(0),
                max_prefixes: me.5.max_prefixes.map(|m| m as usize),
                export_from: me
                    .5
                    .export_from
                    .iter()
                    .filter_map(|a| c.addr(&item, a))
                    .collect(),
            };
            speaker.sessions.push(SessionSpec { bgp: cfg, bfd });
        }
    }
}
