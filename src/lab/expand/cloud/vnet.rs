//! VNets: their address spaces and subnets, their routers (system routes), their VMs' NICs and
//! their subnets' user-defined routes.

use super::model::*;
use crate::lab::error::Problem;
use crate::lab::spec::*;
use crate::substrate::route::Prefix;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Azure keeps a subnet's first four addresses (network, gateway, two for DNS) and its last.
pub(super) const RESERVED_LOW: u32 = 4;

pub(super) fn parse_vnets<'a>(
    spec: &'a LabSpec,
    attached: &'a BTreeMap<String, Vec<(String, String)>>,
    problems: &mut Vec<Problem>,
) -> Vec<Vnet<'a>> {
    let mut out = Vec::new();
    for v in &spec.vnets {
        let item = format!("vnet '{}'", v.name);
        if out.iter().any(|o: &Vnet| o.spec.name == v.name) {
            problems.push(Problem::new(&item, "the name is used twice"));
            continue;
        }
        if v.address_space.is_empty() {
            problems.push(Problem::new(
                &item,
                "address_space is empty: give it a prefix",
            ));
        }
        let space: Vec<Prefix> = v
            .address_space
            .iter()
            .filter_map(|s| prefix(&item, "address space", s, problems))
            .collect();
        let inside = |p: Prefix| space.iter().any(|s| s.covers(p));
        let gateway_subnet = v
            .gateway_subnet
            .as_ref()
            .and_then(|s| prefix(&item, "gateway_subnet", s, problems));
        let mut taken: Vec<(String, Prefix)> = Vec::new();
        if let Some(g) = gateway_subnet {
            taken.push(("GatewaySubnet".to_string(), g));
        }
        for s in &v.subnets {
            let Some(p) = prefix(&item, &format!("subnet '{}'", s.name), &s.prefix, problems)
            else {
                continue;
            };
            if p.len > 29 {
                problems.push(Problem::new(
                    &item,
                    format!(
                        "subnet '{}' ({p}) is smaller than a /29, the smallest Azure allows",
                        s.name
                    ),
                ));
            }
            taken.push((s.name.clone(), p));
        }
        for (i, (name, p)) in taken.iter().enumerate() {
            if !inside(*p) {
                problems.push(Problem::new(
                    &item,
                    format!("subnet '{name}' ({p}) is outside the address space"),
                ));
            }
            for (other, q) in &taken[..i] {
                if p.overlaps(*q) {
                    problems.push(Problem::new(
                        &item,
                        format!("subnets '{other}' ({q}) and '{name}' ({p}) overlap"),
                    ));
                }
            }
        }
        out.push(Vnet {
            spec: v,
            space,
            attached: attached.get(&v.name).map_or(&[], Vec::as_slice),
            gateway_subnet,
            gateways: Vec::new(),
        });
    }
    // Address spaces of different VNets may not overlap when they are peered; they must not
    // overlap at all here, since the lab routes between them.
    for (i, v) in out.iter().enumerate() {
        for w in &out[..i] {
            for p in &v.space {
                if let Some(q) = w.space.iter().find(|q| q.overlaps(*p)) {
                    problems.push(Problem::new(
                        &format!("vnet '{}'", v.spec.name),
                        format!("address space {p} overlaps vnet '{}' ({q})", w.spec.name),
                    ));
                }
            }
        }
    }
    out
}

pub(super) fn vnet_routers(
    spec: &LabSpec,
    vnets: &[Vnet],
    peerings: &[Peering],
    out: &mut LabSpec,
) {
    for (v, vnet) in vnets.iter().enumerate() {
        let name = vnet.spec.name.as_str();
        let mut router = NodeSpec::router(name);
        let home = gateway_home(v, peerings);
        let speaks_bgp = !vnets[home].gateways.is_empty();
        if let NodeSpec::Router {
            bgp,
            programming_delay,
            beyond_peerings,
            ..
        } = &mut router
        {
            if speaks_bgp {
                // The VNet speaks its gateways' AS (65515 unless a gateway says otherwise), so
                // its sessions with them are iBGP.
                let asn = vnets[home]
                    .gateways
                    .first()
                    .and_then(|i| spec.gateways[i.gateway].asn)
                    .unwrap_or(crate::lab::GATEWAY_ASN);
                *bgp = Some(BgpSpec {
                    asn,
                    originate: vnet
                        .spec
                        .address_space
                        .iter()
                        .chain(vnet.attached.iter().map(|(p, _)| p))
                        .cloned()
                        .collect(),
                    ..BgpSpec::default()
                });
                *programming_delay = Some(
                    vnet.spec
                        .programming_delay
                        .unwrap_or(VNET_PROGRAMMING_DELAY),
                );
            }
            // Peers of peers that are not peers: not transitive.
            let peers: Vec<usize> = peerings
                .iter()
                .filter_map(|p| p.side_of(v))
                .map(|s| s.1)
                .collect();
            let mut beyond: Vec<usize> = peerings
                .iter()
                .filter_map(|p| peers.iter().find_map(|&q| p.side_of(q)).map(|(_, r)| r))
                .filter(|r| *r != v && !peers.contains(r))
                .collect();
            beyond.sort_unstable();
            beyond.dedup();
            *beyond_peerings = beyond
                .iter()
                .flat_map(|&r| vnets[r].space.iter().map(|p| p.to_string()))
                .collect();
        }
        out.nodes.push(router);
        for p in &vnet.space {
            out.routes.push(RouteSpec {
                system: true,
                ..route(name, p, VIA_NONE)
            });
        }
        // A Gen 2 private cloud's networks: system routes through its router.
        for (p, via) in vnet.attached {
            out.routes.push(RouteSpec {
                system: true,
                ..route(name, p, via)
            });
        }
        for peering in peerings {
            let Some((side, other)) = peering.side_of(v) else {
                continue;
            };
            if side == 0 {
                out.links.push(LinkSpec {
                    peering: true,
                    ..LinkSpec::new(
                        peering.link.clone(),
                        EndSpec::new(name, format!("{}/30", peering.addr[0])),
                        EndSpec::new(&vnets[other].spec.name, format!("{}/30", peering.addr[1])),
                    )
                });
            }
            for p in &vnets[other].space {
                out.routes.push(RouteSpec {
                    system: true,
                    ..route(name, p, peering.addr[1 - side])
                });
            }
        }
    }
    let _ = spec;
}

/// Attaches every VM: its NIC link, its address, its default gateway. Returns each VM address
/// with its VNet.
pub(super) fn vms(
    spec: &LabSpec,
    vnets: &[Vnet],
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) -> BTreeMap<Ipv4Addr, usize> {
    let mut addrs = BTreeMap::new();
    let mut attached: BTreeMap<&str, String> = BTreeMap::new();
    for (v, vnet) in vnets.iter().enumerate() {
        let delay = vnet.spec.delay.unwrap_or(VNET_DELAY);
        for s in &vnet.spec.subnets {
            let item = format!("vnet '{}' subnet '{}'", vnet.spec.name, s.name);
            let Ok(p) = s.prefix.parse::<Prefix>() else {
                continue;
            };
            let first = u32::from(p.addr);
            let size = 1u64 << (32 - p.len);
            let gateway = Ipv4Addr::from(first.wrapping_add(1));
            let usable = |ip: Ipv4Addr| {
                let off = u64::from(u32::from(ip).wrapping_sub(first));
                p.contains(ip) && off >= u64::from(RESERVED_LOW) && off < size - 1
            };
            let mut given: Vec<Ipv4Addr> = Vec::new();
            for vm in &s.vms {
                if let Some(ip) = &vm.ip {
                    match ip.parse::<Ipv4Addr>() {
                        Ok(a) if usable(a) => given.push(a),
                        Ok(a) => problems.push(Problem::new(&item, format!("VM '{}': {a} is not a usable address of {p} (Azure keeps the first four and the last)", vm.node))),
                        Err(_) => problems.push(Problem::new(&item, format!("VM '{}': '{ip}' is not an IPv4 address", vm.node))),
                    }
                }
            }
            // In u64: a subnet at the top of the address space must not overflow.
            let mut next = u64::from(first) + u64::from(RESERVED_LOW);
            let addr = |n: u64| u32::try_from(n).ok().map(Ipv4Addr::from);
            for vm in &s.vms {
                if let Some(before) = attached.insert(&vm.node, item.clone()) {
                    problems.push(Problem::new(
                        &item,
                        format!("VM '{}' is already on {before}", vm.node),
                    ));
                    continue;
                }
                let ip = match &vm.ip {
                    Some(ip) => match ip.parse::<Ipv4Addr>() {
                        Ok(a) => a,
                        Err(_) => continue,
                    },
                    None => {
                        while addr(next).is_some_and(|a| given.contains(&a)) {
                            next += 1;
                        }
                        let a = addr(next);
                        next += 1;
                        let Some(a) = a.filter(|&a| usable(a)) else {
                            problems.push(Problem::new(
                                &item,
                                format!("no address left for VM '{}'", vm.node),
                            ));
                            continue;
                        };
                        a
                    }
                };
                if addrs.insert(ip, v).is_some() {
                    problems.push(Problem::new(
                        &item,
                        format!("VM '{}': {ip} is taken", vm.node),
                    ));
                }
                let Some(node) = out.nodes.iter_mut().find(|n| n.name() == vm.node) else {
                    let names: Vec<&str> = spec.nodes.iter().map(|n| n.name()).collect();
                    problems.push(Problem::new(
                        &item,
                        format!(
                            "VM '{}' is not a node of the lab{}",
                            vm.node,
                            crate::lab::suggest(&vm.node, &names)
                        ),
                    ));
                    continue;
                };
                match node {
                    NodeSpec::Host { gateway: g, .. } => match g {
                        None => *g = Some(gateway.to_string()),
                        Some(g) if *g == gateway.to_string() => {}
                        Some(g) => problems.push(Problem::new(
                            &item,
                            format!("VM '{}' has gateway {g}; on {p} it is {gateway}", vm.node),
                        )),
                    },
                    NodeSpec::Router { name, .. } => {
                        // A network virtual appliance: its default route is the subnet's gateway
                        // unless the lab routes it otherwise.
                        let own_default = spec.routes.iter().any(|r| {
                            r.node == *name && r.ingress.is_none() && r.prefix == "0.0.0.0/0"
                        });
                        if !own_default {
                            out.routes.push(route(name, "0.0.0.0/0", gateway));
                        }
                    }
                }
                out.links.push(LinkSpec {
                    delay: Some(delay),
                    rate: Some(vm.rate.unwrap_or(VM_RATE)),
                    ..LinkSpec::new(
                        format!("{}-nic", vm.node),
                        EndSpec {
                            shared: true,
                            ..EndSpec::new(&vnet.spec.name, format!("{gateway}/{}", p.len))
                        },
                        EndSpec::new(&vm.node, format!("{ip}/{}", p.len)),
                    )
                });
            }
        }
    }
    addrs
}

/// Each subnet's user-defined routes, as routes for packets arriving over its VMs' NICs.
pub(super) fn user_routes(
    vnets: &[Vnet],
    peerings: &[Peering],
    vm_addrs: &BTreeMap<Ipv4Addr, usize>,
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    for (v, vnet) in vnets.iter().enumerate() {
        let name = vnet.spec.name.as_str();
        for s in &vnet.spec.subnets {
            let item = format!("vnet '{name}' subnet '{}'", s.name);
            for r in &s.routes {
                let Some(p) = prefix(&item, "route", &r.prefix, problems) else {
                    continue;
                };
                let via = if r.next_hop == VIA_NONE {
                    VIA_NONE.to_string()
                } else {
                    let Ok(hop) = r.next_hop.parse::<Ipv4Addr>() else {
                        problems.push(Problem::new(
                            &item,
                            format!(
                                "route to {p}: next hop '{}' is neither an address nor \"None\"",
                                r.next_hop
                            ),
                        ));
                        continue;
                    };
                    match vm_addrs.get(&hop) {
                        Some(&w) if w == v => hop.to_string(),
                        Some(&w) => match peerings
                            .iter()
                            .find_map(|q| q.side_of(v).filter(|s| s.1 == w).map(|s| (q, s.0)))
                        {
                            Some((q, side)) => {
                                // The peer sends what arrives over this peering to the appliance.
                                out.routes.push(RouteSpec {
                                    ingress: Some(q.link.clone()),
                                    ..route(&vnets[w].spec.name, p, hop)
                                });
                                q.addr[1 - side].to_string()
                            }
                            None => {
                                problems.push(Problem::new(&item, format!("route to {p}: next hop {hop} is in vnet '{}', which is not peered with '{name}'", vnets[w].spec.name)));
                                continue;
                            }
                        },
                        None => {
                            problems.push(Problem::new(&item, format!("route to {p}: next hop {hop} is not a VM of '{name}' or of a VNet peered with it")));
                            continue;
                        }
                    }
                };
                for vm in &s.vms {
                    out.routes.push(RouteSpec {
                        ingress: Some(format!("{}-nic", vm.node)),
                        ..route(name, p, &via)
                    });
                }
            }
        }
    }
}
