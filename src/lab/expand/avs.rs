//! Azure VMware Solution private clouds (domain.md, "Azure VMware Solution"; seeds 000, 001).
//!
//! A private cloud `NAME` becomes a router `NAME` (its NSX edge and management fabric) speaking
//! BGP with a 4-byte ASN, ignoring the AS path's length (AVS ignores AS-path prepending and
//! spreads flows over its redundant paths), and announcing its segments and management network.
//! Each VM gets a link `VM-nic` from its network's gateway (the first address, shared by the
//! network's links); VM addresses follow from the second address, or are given. The management
//! network's links carry (Gen 1) a route 0.0.0.0/0 to None for what arrives over them: it wins
//! over a learned default of the same length, so a lone default route from on premises is
//! discarded for management traffic ("A single 0.0.0.0/0 route will be discarded by Azure VMware
//! Solution's management network", seed 001, a Gen 1 tutorial), while a more specific prefix
//! still wins, and workload segments use the default as usual. In Gen 2 the private cloud's
//! router does not learn routes itself (its VNet does), and the lab does not model the rule
//! there: seed 000 is silent on it.
//!
//! - Gen 1: the private cloud's Microsoft-managed circuit `NAME-er` (10 Gbps by default; the
//!   router is its customer edge; link-local /30s) is a circuit of the lab: Global Reach joins
//!   it to on premises, and an `ExpressRoute` connection (with one of its `authorizations`)
//!   links it to a VNet's gateway.
//! - Gen 2: the router sits in its VNet's address `block` (at least a /22) as a subnet of its
//!   own (the block's last /28 when the private cloud's networks lie in the block); the VNet routes the private cloud's networks to it and announces them through its
//!   gateways. It reaches on premises through the VNet's ExpressRoute gateway or a site-to-site
//!   VPN, one of which the VNet must have.
//!
//! This pass runs first: the circuits, connections and Global Reach it feeds come later.

use super::address::Allocator;
use crate::lab::error::Problem;
use crate::lab::spec::*;
use crate::substrate::route::Prefix;
use crate::units::Bitrate;
use std::net::Ipv4Addr;

/// AVS advertises with a public 4-byte ASN (seed 001); the default is RFC 5398's first
/// documentation ASN of the 4-byte range, a stand-in: set the one a private cloud shows.
pub const AVS_ASN: u32 = 65_536;
/// A Gen 1 private cloud's circuit when the lab gives no bandwidth.
pub const AVS_CIRCUIT: Bitrate = Bitrate(10_000_000_000);
/// The smallest Gen 2 address block (seed 000: "at least a /22").
const GEN2_BLOCK: u8 = 22;
/// The seed's words on the management network.
pub const LONE_DEFAULT: &str =
    "A single 0.0.0.0/0 route will be discarded by Azure VMware Solution's management network";

pub fn expand(
    spec: &LabSpec,
    alloc: &mut Allocator,
    warnings: &mut Vec<Problem>,
    handoff: &mut super::Handoff,
) -> Result<LabSpec, Vec<Problem>> {
    let mut out = spec.clone();
    out.private_clouds.clear();
    let mut problems = Vec::new();
    for pc in &spec.private_clouds {
        let item = format!("private cloud '{}'", pc.name);
        let mut router = NodeSpec::router(&pc.name);
        let networks: Vec<&SegmentSpec> = pc.segments.iter().chain([&pc.management]).collect();
        let mut originate = Vec::new();
        for seg in &networks {
            match seg.prefix.parse::<Prefix>() {
                Ok(p) if p.network() == p && p.len <= 30 => originate.push(p.to_string()),
                _ => problems.push(Problem::new(
                    &item,
                    format!(
                        "network '{}': '{}' is not a network address of a /30 or larger",
                        seg.name, seg.prefix
                    ),
                )),
            }
        }
        if let NodeSpec::Router { bgp, .. } = &mut router {
            *bgp = Some(BgpSpec {
                asn: pc.asn.unwrap_or(AVS_ASN),
                originate: originate.clone(),
                ignore_as_path: true,
                ..BgpSpec::default()
            });
        }
        out.nodes.push(router);
        attach_vms(pc, &networks, &mut out, &mut problems);
        match pc.generation {
            AvsGeneration::Gen1 => gen1(pc, &item, alloc, &mut out, &mut problems),
            AvsGeneration::Gen2 => gen2(
                spec,
                pc,
                &originate,
                &item,
                &mut out,
                handoff,
                &mut problems,
            ),
        }
        if pc.generation == AvsGeneration::Gen1 {
            lone_default(spec, pc, warnings);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Each VM of each network: its NIC link from the network's gateway, its address, its gateway;
/// the management network's links discard a lone default route.
fn attach_vms(
    pc: &PrivateCloudSpec,
    networks: &[&SegmentSpec],
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    for seg in networks {
        let item = format!("private cloud '{}' network '{}'", pc.name, seg.name);
        let Ok(p) = seg.prefix.parse::<Prefix>() else {
            continue;
        };
        if p.len > 30 {
            continue;
        }
        let first = u64::from(u32::from(p.addr));
        let last = first + (1u64 << (32 - p.len)) - 1;
        let gateway = Ipv4Addr::from((first + 1) as u32);
        let mut next = first + 2;
        for vm in &seg.vms {
            let ip = match &vm.ip {
                Some(ip) => {
                    match ip.parse::<Ipv4Addr>() {
                        Ok(a)
                            if p.contains(a)
                                && u64::from(u32::from(a)) > first + 1
                                && u64::from(u32::from(a)) < last =>
                        {
                            a
                        }
                        _ => {
                            problems.push(Problem::new(&item, format!("VM '{}': '{ip}' is not a host address of {p} after its gateway", vm.node)));
                            continue;
                        }
                    }
                }
                None => {
                    if next >= last {
                        problems.push(Problem::new(
                            &item,
                            format!("no address left for VM '{}'", vm.node),
                        ));
                        continue;
                    }
                    next += 1;
                    Ipv4Addr::from((next - 1) as u32)
                }
            };
            match out.nodes.iter_mut().find(|n| n.name() == vm.node) {
                Some(NodeSpec::Host { gateway: g, .. }) => match g {
                    None => *g = Some(gateway.to_string()),
                    Some(g) if *g == gateway.to_string() => {}
                    Some(g) => {
                        problems.push(Problem::new(
                            &item,
                            format!("VM '{}' has gateway {g}; on {p} it is {gateway}", vm.node),
                        ));
                        continue;
                    }
                },
                Some(_) => {
                    problems.push(Problem::new(
                        &item,
                        format!("'{}' is a router; a private cloud's VMs are hosts", vm.node),
                    ));
                    continue;
                }
                None => {
                    problems.push(Problem::new(
                        &item,
                        format!("VM '{}' is not a node of the lab", vm.node),
                    ));
                    continue;
                }
            }
            let link = format!("{}-nic", vm.node);
            out.links.push(LinkSpec {
                rate: Some(super::cloud::VM_RATE),
                delay: Some(super::cloud::VNET_DELAY),
                ..LinkSpec::new(
                    link.clone(),
                    EndSpec {
                        shared: true,
                        ..EndSpec::new(&pc.name, format!("{gateway}/{}", p.len))
                    },
                    EndSpec::new(&vm.node, format!("{ip}/{}", p.len)),
                )
            });
            if std::ptr::eq(*seg, &pc.management) && pc.generation == AvsGeneration::Gen1 {
                out.routes.push(RouteSpec {
                    node: pc.name.clone(),
                    prefix: "0.0.0.0/0".to_string(),
                    via: VIA_NONE.to_string(),
                    ingress: Some(link),
                    system: false,
                });
            }
        }
    }
}

/// Gen 1: the private cloud's own circuit, its router the customer edge.
fn gen1(
    pc: &PrivateCloudSpec,
    item: &str,
    alloc: &mut Allocator,
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    if pc.vnet.is_some() || pc.block.is_some() {
        problems.push(Problem::new(
            item,
            "a Gen 1 private cloud has its own circuit: `vnet` and `block` are for Gen 2",
        ));
    }
    let (Some(primary), Some(secondary)) = (alloc.link_30(), alloc.link_30()) else {
        problems.push(Problem::new(
            item,
            "link-local space (169.254.0.0/16) is used up",
        ));
        return;
    };
    out.circuits.push(CircuitSpec {
        peering_location: pc.peering_location.clone(),
        authorizations: pc.authorizations.clone(),
        ..CircuitSpec::new(
            &format!("{}-er", pc.name),
            &pc.name,
            pc.bandwidth.unwrap_or(AVS_CIRCUIT),
            primary.to_string(),
            secondary.to_string(),
        )
    });
}

/// Gen 2: a subnet of its VNet, which routes the private cloud's networks to it.
fn gen2(
    spec: &LabSpec,
    pc: &PrivateCloudSpec,
    networks: &[String],
    item: &str,
    out: &mut LabSpec,
    handoff: &mut super::Handoff,
    problems: &mut Vec<Problem>,
) {
    if pc.peering_location.is_some() || !pc.authorizations.is_empty() || pc.bandwidth.is_some() {
        problems.push(Problem::new(item, "a Gen 2 private cloud has no circuit of its own: `peering_location`, `bandwidth` and `authorizations` are for Gen 1"));
    }
    let (Some(vnet), Some(block)) = (&pc.vnet, &pc.block) else {
        problems.push(Problem::new(item, "a Gen 2 private cloud lives in a VNet: give `vnet` and its address `block` (at least a /22)"));
        return;
    };
    let Some(v) = out.vnets.iter().position(|x| x.name == *vnet) else {
        let names: Vec<&str> = spec.vnets.iter().map(|x| x.name.as_str()).collect();
        problems.push(Problem::new(
            item,
            format!("unknown vnet '{vnet}'{}", crate::lab::suggest(vnet, &names)),
        ));
        return;
    };
    let block = match block.parse::<Prefix>() {
        Ok(b) if b.network() == b && b.len <= GEN2_BLOCK => b,
        _ => {
            problems.push(Problem::new(
                item,
                format!("block '{block}' is not a network of at least a /{GEN2_BLOCK} (seed 000)"),
            ));
            return;
        }
    };
    let space: Vec<Prefix> = out.vnets[v]
        .address_space
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    if !space.iter().any(|s| s.covers(block)) {
        problems.push(Problem::new(
            item,
            format!("block {block} is outside vnet '{vnet}''s address space"),
        ));
        return;
    }
    // It reaches on premises through the VNet's ExpressRoute gateway or a site-to-site VPN.
    let reaches = spec.gateways.iter().any(|g| {
        g.vnet == *vnet && match g.kind {
            GatewayKind::ExpressRoute => true,
            GatewayKind::Vpn => spec.connections.iter().any(
                |c| matches!(c, ConnectionSpec::SiteToSite { gateway, .. } if *gateway == g.name),
            ),
        }
    });
    if !reaches {
        problems.push(Problem::new(item, format!("vnet '{vnet}' has no ExpressRoute gateway (gateway type ExpressRoute, not VPN) or site-to-site VPN to reach on premises (seed 000)")));
    }
    // The router's subnet: the block, or, when the private cloud's own networks lie in it (as
    // the platform carves the management networks from it), the block's last /28.
    let inside = networks
        .iter()
        .filter_map(|n| n.parse::<Prefix>().ok())
        .any(|n| n.overlaps(block));
    let subnet = if inside {
        let size = 1u64 << (32 - u32::from(block.len));
        let last = Prefix::new(
            Ipv4Addr::from((u64::from(u32::from(block.addr)) + size - 16) as u32),
            28,
        );
        if networks
            .iter()
            .filter_map(|n| n.parse::<Prefix>().ok())
            .any(|n| n.overlaps(last))
        {
            problems.push(Problem::new(
                item,
                format!("its networks fill block {block}: its last /28 ({last}) must be free for its VNet attachment"),
            ));
            return;
        }
        last
    } else {
        block
    };
    let at = Ipv4Addr::from(u32::from(subnet.addr) + 4);
    out.vnets[v].subnets.push(SubnetSpec {
        name: pc.name.clone(),
        prefix: subnet.to_string(),
        vms: vec![VmSpec {
            node: pc.name.clone(),
            ip: Some(at.to_string()),
            rate: None,
        }],
        routes: vec![],
    });
    let attached = handoff.attached.entry(vnet.clone()).or_default();
    for n in networks {
        attached.push((n.clone(), at.to_string()));
    }
}

/// `check` warns, in the seed's words, when what reaches the private cloud from on premises is
/// a lone default route: its management network will have no route.
fn lone_default(spec: &LabSpec, pc: &PrivateCloudSpec, warnings: &mut Vec<Problem>) {
    let circuit = format!("{}-er", pc.name);
    // The on-premises routers that announce to it: across Global Reach (Gen 1), or through its
    // VNet's circuits and site-to-site connections (Gen 2).
    let mut edges: Vec<&str> = spec
        .global_reach
        .iter()
        .filter_map(|g| {
            if g.circuit == circuit {
                Some(&g.peer)
            } else if g.peer == circuit {
                Some(&g.circuit)
            } else {
                None
            }
        })
        .filter_map(|c| spec.circuits.iter().find(|k| k.name == *c))
        .map(|k| k.ce.as_str())
        .collect();
    if let Some(vnet) = &pc.vnet {
        for g in spec.gateways.iter().filter(|g| g.vnet == *vnet) {
            for c in &spec.connections {
                match c {
                    ConnectionSpec::ExpressRoute {
                        gateway, circuit, ..
                    } if *gateway == g.name => {
                        edges.extend(
                            spec.circuits
                                .iter()
                                .filter(|k| k.name == *circuit)
                                .map(|k| k.ce.as_str()),
                        );
                    }
                    ConnectionSpec::SiteToSite { gateway, local, .. } if *gateway == g.name => {
                        edges.extend(
                            spec.local_gateways
                                .iter()
                                .filter(|l| l.name == *local)
                                .map(|l| l.device.as_str()),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    for edge in edges {
        let Some(NodeSpec::Router { bgp: Some(b), .. }) =
            spec.nodes.iter().find(|n| n.name() == edge)
        else {
            continue;
        };
        let defaults_only = !b.originate.is_empty()
            && b.originate
                .iter()
                .all(|p| p.parse::<Prefix>().is_ok_and(|p| p.len == 0));
        if defaults_only {
            warnings.push(Problem::new(
                &format!("private cloud '{}'", pc.name),
                format!("'{edge}' announces only 0.0.0.0/0 to it. \"{LONE_DEFAULT}\" (seed 001): management traffic will have no route while workload segments work; announce a more specific on-premises prefix as well"),
            ));
        }
    }
}
