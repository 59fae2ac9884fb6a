//! Gateway connections: site-to-site IPsec (BGP or static), ExpressRoute (authorization keys,
//! circuit limits) and VNet-to-VNet.

use super::model::*;
use crate::lab::error::Problem;
use crate::lab::spec::*;
use std::collections::BTreeMap;

pub(super) fn connections(
    spec: &LabSpec,
    vnets: &[Vnet],
    index: &BTreeMap<&str, usize>,
    out: &mut LabSpec,
    circuits: &mut BTreeMap<String, super::super::CircuitUse>,
    problems: &mut Vec<Problem>,
) {
    let gateway = |name: &str| spec.gateways.iter().find(|g| g.name == name);
    let mut names = Vec::new();
    let mut keys_used: Vec<(String, String, String)> = Vec::new();
    let mut er_over_limit = std::collections::BTreeSet::new();
    for c in &spec.connections {
        let item = format!("connection '{}'", c.name());
        if names.contains(&c.name()) {
            problems.push(Problem::new(&item, "the name is used twice"));
            continue;
        }
        names.push(c.name());
        match c {
            ConnectionSpec::ExpressRoute {
                gateway: g,
                circuit,
                authorization,
                routing_weight,
                ..
            } => {
                if let Some(key) = authorization {
                    match spec.circuits.iter().find(|k| k.name == *circuit) {
                        Some(k) if !k.authorizations.contains(key) => problems.push(Problem::new(&item, format!("circuit '{circuit}' issued no authorization '{key}' (it issued: {})", if k.authorizations.is_empty() { "none".to_string() } else { k.authorizations.join(", ") }))),
                        _ => {}
                    }
                    if let Some(first) = keys_used.iter().find(|(k, c, _)| k == key && c == circuit)
                    {
                        problems.push(Problem::new(&item, format!("authorization '{key}' of circuit '{circuit}' is already used by connection '{}': a key is valid for one connection only", first.2)));
                    }
                    keys_used.push((key.clone(), circuit.clone(), c.name().to_string()));
                }
                match gateway(g) {
                    Some(gw) if gw.kind == GatewayKind::ExpressRoute => {
                        let limit = gw.sku.circuit_connections();
                        let count = spec.connections.iter().filter(|k| matches!(k, ConnectionSpec::ExpressRoute { gateway, .. } if gateway == g)).count();
                        if let Some(limit) = limit.filter(|&l| count > l) {
                            if er_over_limit.insert(g.clone()) {
                                problems.push(Problem::new(&item, format!("gateway '{g}' ({:?}) accepts {limit} circuit connections; the lab gives it {count}", gw.sku)));
                            }
                        }
                    }
                    Some(_) => problems.push(Problem::new(&item, format!("gateway '{g}' is a VPN gateway; ExpressRoute connects to an ExpressRoute gateway"))),
                    None => problems.push(Problem::new(&item, unknown_gateway(g, spec))),
                }
                match out.circuits.iter().find(|k| k.name == *circuit) {
                    Some(_) => {
                        let k = circuits.entry(circuit.clone()).or_default();
                        k.connections.push(g.clone());
                        if let Some(w) = routing_weight {
                            k.weights.push((g.clone(), *w));
                        }
                        if let Some(key) = authorization {
                            k.used_keys.push((key.clone(), c.name().to_string()));
                        }
                    }
                    None => {
                        let circuits: Vec<&str> =
                            spec.circuits.iter().map(|k| k.name.as_str()).collect();
                        problems.push(Problem::new(
                            &item,
                            format!(
                                "unknown circuit '{circuit}'{}",
                                crate::lab::suggest(circuit, &circuits)
                            ),
                        ));
                    }
                }
            }
            ConnectionSpec::VnetToVnet {
                name,
                a,
                b,
                cipher,
                mss_clamp,
                dpd,
            } => {
                let ends: Vec<&GatewaySpec> = [a, b]
                    .iter()
                    .filter_map(|g| match gateway(g) {
                        Some(gw) if gw.kind == GatewayKind::Vpn => Some(gw),
                        Some(_) => {
                            problems.push(Problem::new(&item, format!("gateway '{g}' is an ExpressRoute gateway; VNet-to-VNet connects VPN gateways")));
                            None
                        }
                        None => {
                            problems.push(Problem::new(&item, unknown_gateway(g, spec)));
                            None
                        }
                    })
                    .collect();
                let [x, y] = ends.as_slice() else { continue };
                if x.vnet == y.vnet {
                    problems.push(Problem::new(&item, "both gateways are in one VNet"));
                    continue;
                }
                vnet_to_vnet(
                    vnets,
                    index,
                    spec,
                    [x, y],
                    &item,
                    out,
                    problems,
                    TunnelSpec::unplaced(name, *cipher, false, *mss_clamp, dpd.clone(), None),
                );
            }
            ConnectionSpec::SiteToSite {
                name,
                gateway: g,
                local,
                cipher,
                nat_t,
                mss_clamp,
                dpd,
            } => {
                let gw = match gateway(g) {
                    Some(gw) if gw.kind == GatewayKind::Vpn => gw,
                    Some(_) => {
                        problems.push(Problem::new(&item, format!("gateway '{g}' is an ExpressRoute gateway; a site-to-site connection needs a VPN gateway")));
                        continue;
                    }
                    None => {
                        problems.push(Problem::new(&item, unknown_gateway(g, spec)));
                        continue;
                    }
                };
                let Some(lgw) = spec.local_gateways.iter().find(|l| l.name == *local) else {
                    let locals: Vec<&str> = spec
                        .local_gateways
                        .iter()
                        .map(|l| l.name.as_str())
                        .collect();
                    problems.push(Problem::new(
                        &item,
                        format!(
                            "unknown local gateway '{local}'{}",
                            crate::lab::suggest(local, &locals)
                        ),
                    ));
                    continue;
                };
                site_to_site(
                    spec,
                    vnets,
                    index,
                    gw,
                    lgw,
                    &item,
                    out,
                    problems,
                    TunnelSpec::unplaced(name, *cipher, *nat_t, *mss_clamp, dpd.clone(), None),
                );
            }
        }
    }
    for l in &spec.local_gateways {
        if !spec
            .connections
            .iter()
            .any(|c| matches!(c, ConnectionSpec::SiteToSite { local, .. } if *local == l.name))
        {
            problems.push(Problem::new(
                &format!("local gateway '{}'", l.name),
                "no connection uses it",
            ));
        }
    }
}

/// A site-to-site connection: per gateway instance a tunnel (named after the connection, with
/// `-inN` for an active-active gateway), the underlay routes to each other's public address,
/// and a BGP session over the tunnel, or static routes both ways.
#[allow(clippy::too_many_arguments)]
pub(super) fn site_to_site(
    spec: &LabSpec,
    vnets: &[Vnet],
    index: &BTreeMap<&str, usize>,
    gw: &GatewaySpec,
    lgw: &LocalGatewaySpec,
    item: &str,
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
    template: TunnelSpec,
) {
    let Some(device) = spec.nodes.iter().find(|n| n.name() == lgw.device) else {
        let names: Vec<&str> = spec.nodes.iter().map(|n| n.name()).collect();
        problems.push(Problem::new(
            item,
            format!(
                "local gateway '{}': device '{}' is not a node of the lab{}",
                lgw.name,
                lgw.device,
                crate::lab::suggest(&lgw.device, &names)
            ),
        ));
        return;
    };
    let NodeSpec::Router {
        bgp: device_bgp, ..
    } = device
    else {
        problems.push(Problem::new(
            item,
            format!(
                "local gateway '{}': '{}' is a host; the VPN device is a router",
                lgw.name, lgw.device
            ),
        ));
        return;
    };
    // The device's public address is one of its interfaces: the far end is its next hop.
    let Some(isp) = spec.links.iter().find_map(|l| {
        let ends = [&l.a, &l.b];
        (0..2).find_map(|s| {
            let ip = ends[s].ip.split('/').next()?;
            (ends[s].node == lgw.device && ip == lgw.ip)
                .then(|| ends[1 - s].ip.split('/').next().map(str::to_string))
                .flatten()
        })
    }) else {
        problems.push(Problem::new(
            item,
            format!(
                "local gateway '{}': {} is not an interface address of '{}'",
                lgw.name, lgw.ip, lgw.device
            ),
        ));
        return;
    };
    let v = index[gw.vnet.as_str()];
    let g = spec
        .gateways
        .iter()
        .position(|x| x.name == gw.name)
        .unwrap_or(usize::MAX);
    let instances: Vec<&Instance> = vnets[v]
        .gateways
        .iter()
        .filter(|i| i.gateway == g)
        .collect();
    match (&lgw.bgp, lgw.prefixes.is_empty()) {
        (Some(b), true) => {
            if device_bgp.as_ref().is_none_or(|d| d.asn != b.asn) {
                problems.push(Problem::new(
                    item,
                    format!(
                        "local gateway '{}': device '{}' must run BGP with AS {}",
                        lgw.name, lgw.device, b.asn
                    ),
                ));
                return;
            }
            if !gw.sku.supports_bgp() || gw.vpn_type == Some(VpnType::PolicyBased) {
                problems.push(Problem::new(item, format!("gateway '{}' is Basic or policy-based, which does not support BGP: give the local gateway `prefixes` instead", gw.name)));
                return;
            }
            // The device's BGP address: added when the device does not have it.
            let has = device
                .addresses()
                .iter()
                .any(|a| a.split('/').next() == Some(b.ip.as_str()))
                || spec.links.iter().any(|l| {
                    [&l.a, &l.b].iter().any(|e| {
                        e.node == lgw.device && e.ip.split('/').next() == Some(b.ip.as_str())
                    })
                });
            if !has {
                if let Some(NodeSpec::Router { addresses, .. }) =
                    out.nodes.iter_mut().find(|n| n.name() == lgw.device)
                {
                    if !addresses
                        .iter()
                        .any(|a| a.split('/').next() == Some(b.ip.as_str()))
                    {
                        addresses.push(format!("{}/32", b.ip));
                    }
                }
            }
        }
        (Some(_), false) => {
            problems.push(Problem::new(
                item,
                format!(
                    "local gateway '{}' has both `bgp` and `prefixes`: BGP learns the prefixes",
                    lgw.name
                ),
            ));
            return;
        }
        (None, true) => {
            problems.push(Problem::new(
                item,
                format!("local gateway '{}' needs `bgp` or `prefixes`", lgw.name),
            ));
            return;
        }
        (None, false) => {}
    }
    for inst in instances {
        let Some(public) = inst.public.as_ref() else {
            continue;
        };
        let public = public.split('/').next().unwrap_or_default().to_string();
        let Some(far) = out
            .links
            .iter()
            .find(|l| l.name == format!("{}-internet", inst.router))
            .map(|l| l.a.ip.split('/').next().unwrap_or_default().to_string())
        else {
            continue;
        };
        let mut tunnel = template.clone();
        if gw.active_active {
            tunnel.name = format!("{}-in{}", template.name, inst.index);
        }
        tunnel.a = TunnelEndSpec {
            node: lgw.device.clone(),
            ip: lgw.ip.clone(),
        };
        tunnel.b = TunnelEndSpec {
            node: inst.router.clone(),
            ip: public.clone(),
        };
        out.routes
            .push(route(&lgw.device, format!("{public}/32"), &isp));
        out.routes
            .push(route(&inst.router, format!("{}/32", lgw.ip), &far));
        if let Some(b) = &lgw.bgp {
            let Some(gw_bgp) = inst.bgp else { continue };
            out.routes
                .push(route(&lgw.device, format!("{gw_bgp}/32"), &tunnel.name));
            out.routes
                .push(route(&inst.router, format!("{}/32", b.ip), &tunnel.name));
            out.bgp_sessions.push(BgpSessionSpec {
                a: BgpEndSpec {
                    node: lgw.device.clone(),
                    ip: b.ip.clone(),
                    announce: b.announce.clone(),
                    prepend: b.prepend,
                    ..BgpEndSpec::default()
                },
                b: BgpEndSpec {
                    node: inst.router.clone(),
                    ip: gw_bgp.to_string(),
                    max_prefixes: Some(VPN_PREFIX_LIMIT),
                    ..BgpEndSpec::default()
                },
                bfd: None,
            });
        } else {
            // Static: the instance routes the local prefixes into its tunnel and announces
            // them to the VNets it serves; the device routes their address spaces into it.
            for p in &lgw.prefixes {
                out.routes.push(route(&inst.router, p, &tunnel.name));
                if let Some(NodeSpec::Router { bgp: Some(b), .. }) =
                    out.nodes.iter_mut().find(|n| n.name() == inst.router)
                {
                    b.originate.push(p.clone());
                }
            }
            let spaces: Vec<String> = vnets[v]
                .spec
                .address_space
                .iter()
                .cloned()
                .chain(
                    spec.peerings
                        .iter()
                        .filter(|p| {
                            p.a == gw.vnet && p.use_remote_gateways && p.allow_gateway_transit
                        })
                        .flat_map(|p| {
                            spec.vnets
                                .iter()
                                .find(|w| w.name == p.b)
                                .map(|w| w.address_space.clone())
                                .unwrap_or_default()
                        }),
                )
                .collect();
            for s in spaces {
                out.routes.push(route(&lgw.device, s, &tunnel.name));
            }
        }
        out.tunnels.push(tunnel);
    }
}

/// A VNet-to-VNet connection: a tunnel between the two gateways' first instances (their public
/// addresses over the internet links), then BGP between their BGP addresses when their ASNs
/// differ (Azure requires distinct ASNs for BGP here), else static routes to each other's
/// address spaces (and the spokes each serves), announced into each VNet.
#[allow(clippy::too_many_arguments)]
pub(super) fn vnet_to_vnet(
    vnets: &[Vnet],
    index: &BTreeMap<&str, usize>,
    spec: &LabSpec,
    gws: [&GatewaySpec; 2],
    item: &str,
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
    mut tunnel: TunnelSpec,
) {
    let first = |gw: &GatewaySpec| {
        let g = spec.gateways.iter().position(|x| x.name == gw.name)?;
        let v = *index.get(gw.vnet.as_str())?;
        let inst = vnets[v]
            .gateways
            .iter()
            .find(|i| i.gateway == g && i.index == 0)?;
        let public = inst.public.as_ref()?.split('/').next()?.to_string();
        let far = out
            .links
            .iter()
            .find(|l| l.name == format!("{}-internet", inst.router))?
            .a
            .ip
            .split('/')
            .next()?
            .to_string();
        Some((v, inst, public, far))
    };
    let (Some(x), Some(y)) = (first(gws[0]), first(gws[1])) else {
        return;
    };
    tunnel.a = TunnelEndSpec {
        node: x.1.router.clone(),
        ip: x.2.clone(),
    };
    tunnel.b = TunnelEndSpec {
        node: y.1.router.clone(),
        ip: y.2.clone(),
    };
    for (me, peer) in [(&x, &y), (&y, &x)] {
        out.routes
            .push(route(&me.1.router, format!("{}/32", peer.2), &me.3));
    }
    let asn = |gw: &GatewaySpec| gw.asn.unwrap_or(crate::lab::GATEWAY_ASN);
    if asn(gws[0]) != asn(gws[1]) {
        let (Some(bx), Some(by)) = (x.1.bgp, y.1.bgp) else {
            return;
        };
        out.routes
            .push(route(&x.1.router, format!("{by}/32"), &tunnel.name));
        out.routes
            .push(route(&y.1.router, format!("{bx}/32"), &tunnel.name));
        out.bgp_sessions.push(BgpSessionSpec {
            a: BgpEndSpec {
                node: x.1.router.clone(),
                ip: bx.to_string(),
                ..BgpEndSpec::default()
            },
            b: BgpEndSpec {
                node: y.1.router.clone(),
                ip: by.to_string(),
                ..BgpEndSpec::default()
            },
            bfd: None,
        });
    } else {
        // Static: each gateway routes the other side's spaces into the tunnel and announces
        // them to the VNets it serves.
        let spaces = |v: usize| -> Vec<String> {
            spec.peerings
                .iter()
                .filter(|p| {
                    p.a == vnets[v].spec.name && p.use_remote_gateways && p.allow_gateway_transit
                })
                .filter_map(|p| spec.vnets.iter().find(|w| w.name == p.b))
                .flat_map(|w| w.address_space.clone())
                .chain(vnets[v].spec.address_space.clone())
                .collect()
        };
        for (me, peer) in [(&x, &y), (&y, &x)] {
            for s in spaces(peer.0) {
                out.routes.push(route(&me.1.router, &s, &tunnel.name));
                if let Some(NodeSpec::Router { bgp: Some(b), .. }) =
                    out.nodes.iter_mut().find(|n| n.name() == me.1.router)
                {
                    b.originate.push(s);
                }
            }
        }
    }
    let _ = (item, problems);
    out.tunnels.push(tunnel);
}
