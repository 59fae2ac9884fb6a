//! Virtual network gateways: their instances (one, or two active-active) as routers on the
//! GatewaySubnet, their iBGP sessions with the VNets they serve, their internet links, and the
//! faults an instance failure is made of.

use super::model::*;
use crate::lab::error::Problem;
use crate::lab::expand::address::hosts_of_30;
use crate::lab::spec::*;
use crate::substrate::route::Prefix;
use crate::units::Duration;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Checks every gateway and gives it its link addresses from the GatewaySubnet: /30s from its
/// start, in file order (gateway first host, VNet second).
pub(super) fn gateways(
    spec: &LabSpec,
    vnets: &mut [Vnet],
    index: &BTreeMap<&str, usize>,
    problems: &mut Vec<Problem>,
) {
    for (g, gw) in spec.gateways.iter().enumerate() {
        let item = format!("gateway '{}'", gw.name);
        let Some(&v) = index.get(gw.vnet.as_str()) else {
            problems.push(Problem::new(&item, unknown_vnet(&gw.vnet, index)));
            continue;
        };
        match (gw.kind, gw.sku.is_vpn()) {
            (GatewayKind::Vpn, false) => problems.push(Problem::new(
                &item,
                format!("{:?} is an ExpressRoute SKU; a Vpn gateway takes Basic or VpnGw1 to VpnGw5(AZ)", gw.sku),
            )),
            (GatewayKind::ExpressRoute, true) => problems.push(Problem::new(
                &item,
                format!("{:?} is a VPN SKU; an ExpressRoute gateway takes Standard, HighPerformance, UltraPerformance, ErGw1Az to ErGw3Az or ErGwScale", gw.sku),
            )),
            _ => {}
        }
        if let Some(o) = spec.gateways.iter().take(g).find(|o| {
            o.vnet == gw.vnet
                && o.asn.unwrap_or(crate::lab::GATEWAY_ASN)
                    != gw.asn.unwrap_or(crate::lab::GATEWAY_ASN)
        }) {
            problems.push(Problem::new(
                &item,
                format!("its ASN differs from gateway '{}' in the same VNet: a VNet's gateways speak one AS", o.name),
            ));
        }
        if spec
            .gateways
            .iter()
            .take(g)
            .any(|o| o.vnet == gw.vnet && o.kind == gw.kind)
        {
            problems.push(Problem::new(
                &item,
                format!(
                    "vnet '{}' already has a {:?} gateway: a VNet has at most one of each type",
                    gw.vnet, gw.kind
                ),
            ));
        }
        match (gw.kind, gw.vpn_type, gw.sku) {
            (GatewayKind::ExpressRoute, Some(_), _) => {
                problems.push(Problem::new(&item, "`vpn_type` is for VPN gateways"))
            }
            (GatewayKind::Vpn, Some(VpnType::PolicyBased), sku) if !sku.may_be_policy_based() => {
                problems.push(Problem::new(
                    &item,
                    format!("a policy-based VPN gateway is Basic only, not {sku:?}"),
                ))
            }
            _ => {}
        }
        match (gw.kind, &gw.public_ip, &gw.internet) {
            (GatewayKind::Vpn, Some(_), Some(_)) | (GatewayKind::ExpressRoute, None, None) => {}
            (GatewayKind::Vpn, _, _) => problems.push(Problem::new(
                &item,
                "a VPN gateway needs `public_ip` and `internet` (the link its tunnels cross)",
            )),
            (GatewayKind::ExpressRoute, _, _) => problems.push(Problem::new(
                &item,
                "an ExpressRoute gateway has no public side: leave out `public_ip` and `internet`",
            )),
        }
        let vnet = &mut vnets[v];
        let Some(subnet) = vnet.gateway_subnet else {
            problems.push(Problem::new(
                &item,
                format!(
                    "vnet '{}' has no gateway_subnet (e.g. a /27 in its address space)",
                    gw.vnet
                ),
            ));
            continue;
        };
        if gw.active_active && gw.kind != GatewayKind::Vpn {
            problems.push(Problem::new(&item, "`active_active` is for VPN gateways (ExpressRoute gateways spread over their instances on their own)"));
        }
        if gw.active_active != gw.second_public_ip.is_some() {
            problems.push(Problem::new(&item, "an active-active VPN gateway has two public addresses: give `second_public_ip` with `active_active: true`, and only then"));
        }
        let instances: u8 = if gw.active_active { 2 } else { 1 };
        for index in 0..instances {
            let k = vnet.gateways.len() as u32;
            // /30s from the GatewaySubnet's start, below the two BGP addresses at its end.
            // In u64: a subnet at the top of the address space must not overflow.
            let base = u64::from(u32::from(subnet.addr)) + 4 * u64::from(k);
            let broadcast = u64::from(u32::from(subnet.addr)) + (1u64 << (32 - subnet.len)) - 1;
            if subnet.len > 29 || base + 3 >= broadcast - 2 {
                problems.push(Problem::new(
                    &item,
                    format!("gateway_subnet {subnet} of vnet '{}' is too small for its gateways (a /27 is what Azure asks)", gw.vnet),
                ));
                break;
            }
            let vpn = gw.kind == GatewayKind::Vpn;
            vnet.gateways.push(Instance {
                gateway: g,
                index,
                router: if instances == 1 {
                    gw.name.clone()
                } else {
                    format!("{}-in{index}", gw.name)
                },
                // In range: below the subnet's broadcast, checked above.
                gw_ip: Ipv4Addr::from((base + 1) as u32),
                vnet_ip: Ipv4Addr::from((base + 2) as u32),
                bgp: vpn.then(|| Ipv4Addr::from((broadcast - 1 - u64::from(index)) as u32)),
                public: if index == 0 {
                    gw.public_ip.clone()
                } else {
                    gw.second_public_ip.clone()
                },
            });
        }
    }
}

pub(super) fn gateway_nodes(
    spec: &LabSpec,
    vnets: &[Vnet],
    peerings: &[Peering],
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    for (v, vnet) in vnets.iter().enumerate() {
        let delay = vnet.spec.delay.unwrap_or(VNET_DELAY);
        let name = vnet.spec.name.as_str();
        for inst in &vnet.gateways {
            let gw = &spec.gateways[inst.gateway];
            let (router_name, gw_ip, vnet_ip) = (inst.router.as_str(), inst.gw_ip, inst.vnet_ip);
            let item = format!("gateway '{}'", gw.name);
            let asn = gw.asn.unwrap_or(crate::lab::GATEWAY_ASN);
            let mut router = NodeSpec::router(router_name);
            if let NodeSpec::Router {
                sku,
                throughput,
                pps,
                gateway_queue,
                bgp,
                addresses,
                programming_delay,
                ..
            } = &mut router
            {
                *sku = Some(gw.sku);
                *throughput = gw.throughput;
                *pps = gw.pps;
                *gateway_queue = gw.queue;
                *programming_delay = gw.programming_delay;
                *bgp = Some(BgpSpec {
                    asn,
                    ..BgpSpec::default()
                });
                if let Some(b) = inst.bgp {
                    addresses.push(format!("{b}/32"));
                }
            }
            out.nodes.push(router);
            out.links.push(LinkSpec {
                delay: Some(delay),
                ..LinkSpec::new(
                    format!("{router_name}-vnet"),
                    EndSpec::new(router_name, format!("{gw_ip}/30")),
                    EndSpec::new(name, format!("{vnet_ip}/30")),
                )
            });
            let weight = match gw.kind {
                GatewayKind::ExpressRoute => ER_WEIGHT,
                GatewayKind::Vpn => VPN_WEIGHT,
            };
            // The VNet, and every spoke using the gateway, learn routes from it.
            for w in served(v, peerings) {
                let local = if w == v {
                    vnet_ip
                } else {
                    let Some((q, side)) = peerings
                        .iter()
                        .find_map(|q| q.side_of(w).filter(|s| s.1 == v).map(|s| (q, s.0)))
                    else {
                        continue;
                    };
                    // The gateway reaches the spoke's peering address through the hub.
                    out.routes
                        .push(route(router_name, format!("{}/32", q.addr[side]), vnet_ip));
                    q.addr[side]
                };
                out.bgp_sessions.push(BgpSessionSpec {
                    a: BgpEndSpec {
                        node: vnets[w].spec.name.clone(),
                        ip: local.to_string(),
                        weight: Some(weight),
                        ..BgpEndSpec::default()
                    },
                    b: BgpEndSpec {
                        node: router_name.to_string(),
                        ip: gw_ip.to_string(),
                        ..BgpEndSpec::default()
                    },
                    bfd: None,
                });
            }
            if let (Some(public), Some(up)) = (&inst.public, &gw.internet) {
                let Ok(p) = public.parse::<Prefix>() else {
                    problems.push(Problem::new(&item, format!("public address '{public}' is not an address with its length, e.g. 198.51.100.1/30")));
                    continue;
                };
                if p.len < 30 {
                    problems.push(Problem::new(&item, format!("public address {p}: give a /30 or /31, whose other address is the internet side")));
                    continue;
                }
                let (x, y) = hosts_of_30(p);
                let far = if p.len == 31 {
                    Ipv4Addr::from(
                        u32::from(p.network().addr) + u32::from(u32::from(p.addr) & 1 == 0),
                    )
                } else if p.addr == x {
                    y
                } else if p.addr == y {
                    x
                } else {
                    problems.push(Problem::new(
                        &item,
                        format!("public address {p} is not a host address of its /30"),
                    ));
                    continue;
                };
                out.links.push(LinkSpec {
                    delay: up.delay,
                    jitter: up.jitter.clone(),
                    loss: up.loss.clone(),
                    rate: up.rate,
                    ..LinkSpec::new(
                        format!("{router_name}-internet"),
                        EndSpec::new(&up.node, format!("{far}/{}", p.len)),
                        EndSpec::new(router_name, p.to_string()),
                    )
                });
            }
        }
    }
}

/// How long a planned failure lets the instance's NOTIFICATIONs reach its sites before it stops:
/// one way across any lab's internet path.
pub(super) const PLANNED_DRAIN: Duration = Duration(1_000_000_000);
/// Active-standby takeover after planned maintenance: the top of the documented 10–15 s.
pub const PLANNED_FAILOVER: Duration = Duration(15_000_000_000);
/// After an unplanned failure: the middle of the documented 1–3 minutes.
pub const UNPLANNED_FAILOVER: Duration = Duration(120_000_000_000);

/// Gateway instance failures, as the faults they are made of ([`failure`]); the instance's
/// return is left out when the run ends first.
pub(super) fn gateway_faults(
    spec: &LabSpec,
    vnets: &[Vnet],
    peerings: &[Peering],
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    out.faults.clear();
    for f in &spec.faults {
        let FaultAction::GatewayFailure {
            gateway,
            instance,
            planned,
        } = &f.action
        else {
            out.faults.push(f.clone());
            continue;
        };
        let item = format!("fault at {}", f.at);
        let Some(g) = spec.gateways.iter().position(|x| x.name == *gateway) else {
            problems.push(Problem::new(&item, unknown_gateway(gateway, spec)));
            continue;
        };
        let gw = &spec.gateways[g];
        if gw.kind != GatewayKind::Vpn {
            problems.push(Problem::new(&item, format!("'{gateway}' is an ExpressRoute gateway: fail its circuit or the circuit's links instead")));
            continue;
        }
        let Some((v, inst)) = find_instance(vnets, g, *instance) else {
            let count = if gw.active_active { 2 } else { 1 };
            problems.push(Problem::new(&item, format!("gateway '{gateway}' has {count} instance(s): instance {instance} does not exist (0{})", if count == 2 { " or 1" } else { "" })));
            continue;
        };
        let steps = failure(spec, peerings, v, inst, vnets, *planned, f.at);
        let after_the_end =
            |s: &FaultSpec| matches!(s.action, FaultAction::NodeUp(_)) && s.at >= spec.duration;
        out.faults
            .extend(steps.into_iter().filter(|s| !after_the_end(s)));
    }
}

/// The VNet holding instance `index` of gateway `g`, and the instance.
fn find_instance<'v>(vnets: &'v [Vnet], g: usize, index: u8) -> Option<(usize, &'v Instance)> {
    vnets.iter().enumerate().find_map(|(v, vn)| {
        vn.gateways
            .iter()
            .find(|i| i.gateway == g && i.index == index)
            .map(|i| (v, i))
    })
}

/// The faults a failure of VPN gateway instance `inst` (in VNet `v`) at `at` is made of. The
/// platform stops using the instance at once (its VNets reset their sessions with it); a
/// planned failure first closes the instance's sessions with its sites (a NOTIFICATION each),
/// then stops it after `PLANNED_DRAIN`; an unplanned one stops it silently, so the sites
/// notice by DPD or BGP. The instance (or the standby) carries traffic again after the
/// gateway's failover time: the last step, "... back".
fn failure(
    spec: &LabSpec,
    peerings: &[Peering],
    v: usize,
    inst: &Instance,
    vnets: &[Vnet],
    planned: bool,
    at: Duration,
) -> Vec<FaultSpec> {
    let gw = &spec.gateways[inst.gateway];
    let label = Some(
        FaultAction::GatewayFailure {
            gateway: gw.name.clone(),
            instance: inst.index,
            planned,
        }
        .label(),
    );
    let fault = |at: Duration, action: FaultAction, label: &Option<String>| FaultSpec {
        at,
        action,
        label: label.clone(),
        continues: false,
    };
    let mut out = Vec::new();
    // The platform knows at once: every VNet using the instance drops it.
    for w in served(v, peerings) {
        out.push(fault(
            at,
            FaultAction::BgpReset {
                router: vnets[w].spec.name.clone(),
                peer: inst.gw_ip.to_string(),
            },
            &label,
        ));
    }
    let mut stop = at;
    if planned {
        let sites = spec.connections.iter().filter_map(|c| match c {
            ConnectionSpec::SiteToSite {
                gateway: x, local, ..
            } if *x == gw.name => spec
                .local_gateways
                .iter()
                .find(|l| l.name == *local)
                .and_then(|l| l.bgp.as_ref()),
            _ => None,
        });
        for b in sites {
            out.push(fault(
                at,
                FaultAction::BgpReset {
                    router: inst.router.clone(),
                    peer: b.ip.clone(),
                },
                &label,
            ));
        }
        stop = Duration(at.0.saturating_add(PLANNED_DRAIN.0));
    }
    out.push(FaultSpec {
        continues: planned,
        ..fault(stop, FaultAction::NodeDown(inst.router.clone()), &label)
    });
    let takeover = if planned {
        gw.planned_failover.unwrap_or(PLANNED_FAILOVER)
    } else {
        gw.unplanned_failover.unwrap_or(UNPLANNED_FAILOVER)
    };
    out.push(fault(
        Duration(at.0.saturating_add(takeover.0)),
        FaultAction::NodeUp(inst.router.clone()),
        &Some(format!("gateway {} instance {} back", gw.name, inst.index)),
    ));
    out
}

/// Every gateway instance as resilience analysis fails it: its router, its SKU and, for a VPN
/// gateway, the faults an unplanned and a planned failure at time 0 are made of (the same
/// steps as a `GatewayFailure` in the lab, the platform's own takeover last).
pub(super) fn instance_parts(
    spec: &LabSpec,
    vnets: &[Vnet],
    peerings: &[Peering],
) -> Vec<crate::lab::expand::InstanceParts> {
    let mut out = Vec::new();
    for (v, vnet) in vnets.iter().enumerate() {
        for inst in &vnet.gateways {
            let gw = &spec.gateways[inst.gateway];
            let vpn = gw.kind == GatewayKind::Vpn;
            let steps = |planned| {
                if vpn {
                    failure(spec, peerings, v, inst, vnets, planned, Duration(0))
                } else {
                    Vec::new()
                }
            };
            out.push(crate::lab::expand::InstanceParts {
                gateway: gw.name.clone(),
                instance: inst.index,
                router: inst.router.clone(),
                sku: gw.sku,
                unplanned: steps(false),
                planned: steps(true),
            });
        }
    }
    out
}
