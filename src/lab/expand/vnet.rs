//! Virtual networks, their gateways, local network gateways, connections and peerings, expanded
//! into routers, links, tunnels, routes and BGP sessions, with the platform's behaviour built in
//! (domain.md, "Virtual networks, peering and hub-spoke", "Route selection", "More on
//! gateways"):
//!
//! - A VNet becomes a router named after it, standing for its fabric. Each VM's NIC is a link
//!   `VM-nic` from the subnet's gateway address (`.1`, shared by the subnet's links) to the VM.
//!   Its system routes are static routes marked `system`: its own address space to None (an
//!   address no VM holds is dropped, not sent on by a wider route) and each peer's address space
//!   over the peering; BGP routes inside them are never installed ("system routes win over BGP
//!   even if BGP routes are more specific").
//! - A subnet's user-defined routes are routes for packets that arrive over its VMs' NICs
//!   (`ingress`): on a tie of prefix length they win over BGP and system routes; the longest
//!   prefix still comes first. A next hop in a peered VNet is reached over the peering, and the
//!   peer forwards what arrives over that peering to the appliance.
//! - A peering is a link `peering-A-B` marked `peering`, with no delay and no rate: traffic across
//!   it has the latency of traffic inside one VNet and passes no gateway. What arrives over one
//!   peering never leaves over another, and a VNet counts packets to its peers' peers as "not
//!   transitive".
//! - A gateway is a router with the SKU's capacity, AS 65515, on a link `GW-vnet` from the
//!   GatewaySubnet. The VNet router (and every spoke that uses it through gateway transit) peers
//!   with it over iBGP, giving routes from ExpressRoute gateways weight 32769 and from VPN
//!   gateways 32768: for the same prefix the VNet prefers ExpressRoute with no lab edit.
//!   VNets announce their address spaces, so on-premises learns them, spokes' included.
//! - A site-to-site connection is an IPsec tunnel named after it between the local network
//!   gateway's device and the VPN gateway's public address; with BGP, a session over the tunnel
//!   between the device's BGP address and the gateway's (the GatewaySubnet's last address);
//!   without, static routes both ways and the gateway announcing the local prefixes.
//! - An ExpressRoute connection links the gateway to a circuit; the circuit pass builds it.

use super::{hosts_of_30, problem, Allocator};
use crate::lab::error::Problem;
use crate::lab::spec::*;
use crate::route::Prefix;
use crate::units::{Bitrate, Duration};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// One-way delay between a VM and its VNet's fabric: not published; 50 µs each way puts
/// VM-to-VM round trips in one region at 200 µs. Peerings add nothing (domain.md: "the latency
/// of traffic inside one VNet").
pub const VNET_DELAY: Duration = Duration(50_000);
/// Between a gateway learning a route and the VNet's VMs using it. The documented bound is "up
/// to a minute" after detection; the vendor's measured ER-to-VPN failover is "a few seconds
/// (less than 10)", which 2 s after a 0.9 s BFD detection reproduces.
pub const VNET_PROGRAMMING_DELAY: Duration = Duration(2_000_000_000);
/// A VM NIC's bandwidth when the lab gives none (VM sizes range from 1 to 100+ Gbps).
pub const VM_RATE: Bitrate = Bitrate(10_000_000_000);
/// Weights the VNet gives routes from its gateways: ExpressRoute over site-to-site VPN for the
/// same prefix (domain.md, "Route selection").
pub const ER_WEIGHT: u32 = 32769;
pub const VPN_WEIGHT: u32 = 32768;
/// Prefixes a VPN gateway accepts from a site over BGP (domain.md, "More on gateways").
pub const VPN_PREFIX_LIMIT: u32 = 4_000;
/// Azure keeps a subnet's first four addresses (network, gateway, two for DNS) and its last.
const RESERVED_LOW: u32 = 4;

/// A VNet as parsed here.
struct Vnet<'a> {
    spec: &'a VnetSpec,
    space: Vec<Prefix>,
    gateway_subnet: Option<Prefix>,
    /// Its gateways' instances, in file order.
    gateways: Vec<Instance>,
}

/// One instance of a gateway: a router of its own. A gateway has one (active-standby: the
/// standby is not modelled as a node, only as the time it takes to take over) or two
/// (active-active, `NAME-in0` and `NAME-in1`).
struct Instance {
    /// The gateway's index in the lab file.
    gateway: usize,
    index: u8,
    router: String,
    /// Its address on the link to the VNet, and the VNet router's.
    gw_ip: Ipv4Addr,
    vnet_ip: Ipv4Addr,
    /// A VPN instance's BGP address: the GatewaySubnet's last usable address, the one before
    /// for the second instance.
    bgp: Option<Ipv4Addr>,
    /// A VPN instance's public address with its length.
    public: Option<String>,
}

/// A peering as built: the link and each side's address on it.
struct Peering {
    a: usize,
    b: usize,
    link: String,
    addr: [Ipv4Addr; 2],
    transit: bool,
}

impl Peering {
    /// `v`'s side (0 for a, 1 for b) and the other VNet, if `v` is in the peering.
    fn side_of(&self, v: usize) -> Option<(usize, usize)> {
        if self.a == v {
            Some((0, self.b))
        } else if self.b == v {
            Some((1, self.a))
        } else {
            None
        }
    }
}

pub fn expand(
    spec: &LabSpec,
    alloc: &mut Allocator,
    warnings: &mut Vec<Problem>,
) -> Result<LabSpec, Vec<Problem>> {
    let mut out = spec.clone();
    out.vnets.clear();
    out.gateways.clear();
    out.local_gateways.clear();
    out.connections.clear();
    out.peerings.clear();
    out.p2s_clients.clear();
    let mut problems = Vec::new();
    let vnets = parse_vnets(spec, &mut problems);
    let index: BTreeMap<&str, usize> = vnets
        .iter()
        .enumerate()
        .map(|(i, v)| (v.spec.name.as_str(), i))
        .collect();
    let peerings = peerings(spec, &vnets, &index, alloc, &mut problems);
    let mut vnets = vnets;
    gateways(spec, &mut vnets, &index, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    vnet_routers(spec, &vnets, &peerings, &mut out);
    let vm_addrs = vms(spec, &vnets, &mut out, &mut problems);
    user_routes(&vnets, &peerings, &vm_addrs, &mut out, &mut problems);
    gateway_nodes(spec, &vnets, &peerings, &mut out, &mut problems);
    connections(spec, &vnets, &index, &mut out, &mut problems);
    p2s_clients(spec, &vnets, &index, &peerings, &mut out, &mut problems);
    coexistence(spec, &vnets, &peerings, &mut problems, warnings);
    gateway_faults(spec, &vnets, &peerings, &mut out, &mut problems);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn prefix(item: &str, what: &str, s: &str, problems: &mut Vec<Problem>) -> Option<Prefix> {
    match s.parse::<Prefix>() {
        Ok(p) if p.network() == p => Some(p),
        Ok(p) => {
            problems.push(problem(
                item,
                format!("{what} {p} has host bits set: write {}", p.network()),
            ));
            None
        }
        Err(e) => {
            problems.push(problem(item, format!("{what}: {e}")));
            None
        }
    }
}

fn parse_vnets<'a>(spec: &'a LabSpec, problems: &mut Vec<Problem>) -> Vec<Vnet<'a>> {
    let mut out = Vec::new();
    for v in &spec.vnets {
        let item = format!("vnet '{}'", v.name);
        if out.iter().any(|o: &Vnet| o.spec.name == v.name) {
            problems.push(problem(&item, "the name is used twice"));
            continue;
        }
        if v.address_space.is_empty() {
            problems.push(problem(&item, "address_space is empty: give it a prefix"));
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
                problems.push(problem(
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
                problems.push(problem(
                    &item,
                    format!("subnet '{name}' ({p}) is outside the address space"),
                ));
            }
            for (other, q) in &taken[..i] {
                if p.overlaps(*q) {
                    problems.push(problem(
                        &item,
                        format!("subnets '{other}' ({q}) and '{name}' ({p}) overlap"),
                    ));
                }
            }
        }
        out.push(Vnet {
            spec: v,
            space,
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
                    problems.push(problem(
                        &format!("vnet '{}'", v.spec.name),
                        format!("address space {p} overlaps vnet '{}' ({q})", w.spec.name),
                    ));
                }
            }
        }
    }
    out
}

fn unknown_vnet(name: &str, index: &BTreeMap<&str, usize>) -> String {
    let names: Vec<&str> = index.keys().copied().collect();
    format!("unknown vnet '{name}'{}", crate::lab::suggest(name, &names))
}

fn peerings(
    spec: &LabSpec,
    vnets: &[Vnet],
    index: &BTreeMap<&str, usize>,
    alloc: &mut Allocator,
    problems: &mut Vec<Problem>,
) -> Vec<Peering> {
    let mut out: Vec<Peering> = Vec::new();
    for p in &spec.peerings {
        let item = format!("peering '{}'–'{}'", p.a, p.b);
        let (Some(&a), Some(&b)) = (index.get(p.a.as_str()), index.get(p.b.as_str())) else {
            for name in [&p.a, &p.b] {
                if !index.contains_key(name.as_str()) {
                    problems.push(problem(&item, unknown_vnet(name, index)));
                }
            }
            continue;
        };
        if a == b {
            problems.push(problem(&item, "a VNet cannot peer with itself"));
            continue;
        }
        if out
            .iter()
            .any(|q| q.side_of(a).is_some_and(|(_, o)| o == b))
        {
            problems.push(problem(&item, "the two VNets are already peered"));
            continue;
        }
        if p.use_remote_gateways && !p.allow_gateway_transit {
            problems.push(problem(
                &item,
                format!(
                    "'{}' uses remote gateways, but '{}' does not allow gateway transit",
                    p.b, p.a
                ),
            ));
        }
        let gateways_of = |v: usize| {
            spec.gateways
                .iter()
                .filter(|g| g.vnet == vnets[v].spec.name)
                .count()
        };
        if p.use_remote_gateways && gateways_of(a) == 0 {
            problems.push(problem(
                &item,
                format!(
                    "'{}' uses remote gateways, but '{}' has no gateway",
                    p.b, p.a
                ),
            ));
        }
        if p.use_remote_gateways && gateways_of(b) > 0 {
            problems.push(problem(
                &item,
                format!("'{}' has a gateway of its own: a VNet uses either its own gateway or a remote one, not both", p.b),
            ));
        }
        let Some(net) = alloc.link_30() else {
            problems.push(problem(
                &item,
                "link-local space (169.254.0.0/16) is used up",
            ));
            continue;
        };
        let (x, y) = hosts_of_30(net);
        out.push(Peering {
            a,
            b,
            link: format!("peering-{}-{}", p.a, p.b),
            addr: [x, y],
            transit: p.use_remote_gateways && p.allow_gateway_transit,
        });
    }
    // A VNet uses at most one hub's gateways.
    for (v, vnet) in vnets.iter().enumerate() {
        if out.iter().filter(|q| q.transit && q.b == v).count() > 1 {
            problems.push(problem(
                &format!("vnet '{}'", vnet.spec.name),
                "uses remote gateways over more than one peering; a VNet uses one hub's gateways",
            ));
        }
    }
    out
}

/// Checks every gateway and gives it its link addresses from the GatewaySubnet: /30s from its
/// start, in file order (gateway first host, VNet second).
fn gateways(
    spec: &LabSpec,
    vnets: &mut [Vnet],
    index: &BTreeMap<&str, usize>,
    problems: &mut Vec<Problem>,
) {
    for (g, gw) in spec.gateways.iter().enumerate() {
        let item = format!("gateway '{}'", gw.name);
        let Some(&v) = index.get(gw.vnet.as_str()) else {
            problems.push(problem(&item, unknown_vnet(&gw.vnet, index)));
            continue;
        };
        match (gw.kind, gw.sku.is_vpn()) {
            (GatewayKind::Vpn, false) => problems.push(problem(
                &item,
                format!("{:?} is an ExpressRoute SKU; a Vpn gateway takes Basic or VpnGw1 to VpnGw5(AZ)", gw.sku),
            )),
            (GatewayKind::ExpressRoute, true) => problems.push(problem(
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
            problems.push(problem(
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
            problems.push(problem(
                &item,
                format!(
                    "vnet '{}' already has a {:?} gateway: a VNet has at most one of each type",
                    gw.vnet, gw.kind
                ),
            ));
        }
        match (gw.kind, gw.vpn_type, gw.sku) {
            (GatewayKind::ExpressRoute, Some(_), _) => {
                problems.push(problem(&item, "`vpn_type` is for VPN gateways"))
            }
            (GatewayKind::Vpn, Some(VpnType::PolicyBased), sku)
                if sku != crate::gateway::Sku::Basic =>
            {
                problems.push(problem(
                    &item,
                    format!("a policy-based VPN gateway is Basic only, not {sku:?}"),
                ))
            }
            _ => {}
        }
        match (gw.kind, &gw.public_ip, &gw.internet) {
            (GatewayKind::Vpn, Some(_), Some(_)) | (GatewayKind::ExpressRoute, None, None) => {}
            (GatewayKind::Vpn, _, _) => problems.push(problem(
                &item,
                "a VPN gateway needs `public_ip` and `internet` (the link its tunnels cross)",
            )),
            (GatewayKind::ExpressRoute, _, _) => problems.push(problem(
                &item,
                "an ExpressRoute gateway has no public side: leave out `public_ip` and `internet`",
            )),
        }
        let vnet = &mut vnets[v];
        let Some(subnet) = vnet.gateway_subnet else {
            problems.push(problem(
                &item,
                format!(
                    "vnet '{}' has no gateway_subnet (e.g. a /27 in its address space)",
                    gw.vnet
                ),
            ));
            continue;
        };
        if gw.active_active && gw.kind != GatewayKind::Vpn {
            problems.push(problem(&item, "`active_active` is for VPN gateways (ExpressRoute gateways spread over their instances on their own)"));
        }
        if gw.active_active != gw.second_public_ip.is_some() {
            problems.push(problem(&item, "an active-active VPN gateway has two public addresses: give `second_public_ip` with `active_active: true`, and only then"));
        }
        let instances: u8 = if gw.active_active { 2 } else { 1 };
        for index in 0..instances {
            let k = vnet.gateways.len() as u32;
            // /30s from the GatewaySubnet's start, below the two BGP addresses at its end.
            let base = u32::from(subnet.addr) + 4 * k;
            let broadcast = u32::from(subnet.addr) + (1u32 << (32 - subnet.len)) - 1;
            if subnet.len > 29 || base + 3 >= broadcast - 2 {
                problems.push(problem(
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
                gw_ip: Ipv4Addr::from(base + 1),
                vnet_ip: Ipv4Addr::from(base + 2),
                bgp: vpn.then(|| Ipv4Addr::from(broadcast - 1 - u32::from(index))),
                public: if index == 0 {
                    gw.public_ip.clone()
                } else {
                    gw.second_public_ip.clone()
                },
            });
        }
    }
}

fn route(node: &str, prefix: impl ToString, via: impl ToString) -> RouteSpec {
    RouteSpec {
        node: node.to_string(),
        prefix: prefix.to_string(),
        via: via.to_string(),
        ..RouteSpec::default()
    }
}

/// The VNets a VNet's gateways serve: itself and the spokes that use them.
fn served(v: usize, peerings: &[Peering]) -> Vec<usize> {
    std::iter::once(v)
        .chain(
            peerings
                .iter()
                .filter(|p| p.transit && p.a == v)
                .map(|p| p.b),
        )
        .collect()
}

/// The VNet whose gateways `v` uses: its own, or its hub's.
fn gateway_home(v: usize, peerings: &[Peering]) -> usize {
    peerings
        .iter()
        .find(|p| p.transit && p.b == v)
        .map_or(v, |p| p.a)
}

fn vnet_routers(spec: &LabSpec, vnets: &[Vnet], peerings: &[Peering], out: &mut LabSpec) {
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
                    originate: vnet.spec.address_space.clone(),
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
fn vms(
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
            let gateway = Ipv4Addr::from(first + 1);
            let usable = |ip: Ipv4Addr| {
                let off = u64::from(u32::from(ip).wrapping_sub(first));
                p.contains(ip) && off >= u64::from(RESERVED_LOW) && off < size - 1
            };
            let mut given: Vec<Ipv4Addr> = Vec::new();
            for vm in &s.vms {
                if let Some(ip) = &vm.ip {
                    match ip.parse::<Ipv4Addr>() {
                        Ok(a) if usable(a) => given.push(a),
                        Ok(a) => problems.push(problem(&item, format!("VM '{}': {a} is not a usable address of {p} (Azure keeps the first four and the last)", vm.node))),
                        Err(_) => problems.push(problem(&item, format!("VM '{}': '{ip}' is not an IPv4 address", vm.node))),
                    }
                }
            }
            let mut next = first + RESERVED_LOW;
            for vm in &s.vms {
                if let Some(before) = attached.insert(&vm.node, item.clone()) {
                    problems.push(problem(
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
                        while given.contains(&Ipv4Addr::from(next)) {
                            next += 1;
                        }
                        let a = Ipv4Addr::from(next);
                        next += 1;
                        if !usable(a) {
                            problems.push(problem(
                                &item,
                                format!("no address left for VM '{}'", vm.node),
                            ));
                            continue;
                        }
                        a
                    }
                };
                if addrs.insert(ip, v).is_some() {
                    problems.push(problem(&item, format!("VM '{}': {ip} is taken", vm.node)));
                }
                let Some(node) = out.nodes.iter_mut().find(|n| n.name() == vm.node) else {
                    let names: Vec<&str> = spec.nodes.iter().map(|n| n.name()).collect();
                    problems.push(problem(
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
                        Some(g) => problems.push(problem(
                            &item,
                            format!("VM '{}' has gateway {g}; on {p} it is {gateway}", vm.node),
                        )),
                    },
                    NodeSpec::Router { name, .. } => {
                        // A network virtual appliance: its default route is the subnet's gateway
                        // unless the lab routes it otherwise.
                        let own_default = spec
                            .routes
                            .iter()
                            .any(|r| r.node == *name && r.prefix.starts_with("0.0.0.0/"));
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
fn user_routes(
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
                        problems.push(problem(
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
                                problems.push(problem(&item, format!("route to {p}: next hop {hop} is in vnet '{}', which is not peered with '{name}'", vnets[w].spec.name)));
                                continue;
                            }
                        },
                        None => {
                            problems.push(problem(&item, format!("route to {p}: next hop {hop} is not a VM of '{name}' or of a VNet peered with it")));
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

fn gateway_nodes(
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
                ..
            } = &mut router
            {
                *sku = Some(gw.sku);
                *throughput = gw.throughput;
                *pps = gw.pps;
                *gateway_queue = gw.queue;
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
                    problems.push(problem(&item, format!("public address '{public}' is not an address with its length, e.g. 198.51.100.1/30")));
                    continue;
                };
                if p.len < 30 {
                    problems.push(problem(&item, format!("public address {p}: give a /30 or /31, whose other address is the internet side")));
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
                    problems.push(problem(
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

fn connections(
    spec: &LabSpec,
    vnets: &[Vnet],
    index: &BTreeMap<&str, usize>,
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    let gateway = |name: &str| spec.gateways.iter().find(|g| g.name == name);
    let gateway_names: Vec<&str> = spec.gateways.iter().map(|g| g.name.as_str()).collect();
    let mut names = Vec::new();
    let mut keys_used: Vec<(String, String, String)> = Vec::new();
    let mut er_over_limit = std::collections::BTreeSet::new();
    for c in &spec.connections {
        let item = format!("connection '{}'", c.name());
        if names.contains(&c.name()) {
            problems.push(problem(&item, "the name is used twice"));
            continue;
        }
        names.push(c.name());
        match c {
            ConnectionSpec::ExpressRoute {
                gateway: g,
                circuit,
                authorization,
                ..
            } => {
                if let Some(key) = authorization {
                    match spec.circuits.iter().find(|k| k.name == *circuit) {
                        Some(k) if !k.authorizations.contains(key) => problems.push(problem(&item, format!("circuit '{circuit}' issued no authorization '{key}' (it issued: {})", if k.authorizations.is_empty() { "none".to_string() } else { k.authorizations.join(", ") }))),
                        _ => {}
                    }
                    if let Some(first) = keys_used.iter().find(|(k, c, _)| k == key && c == circuit)
                    {
                        problems.push(problem(&item, format!("authorization '{key}' of circuit '{circuit}' is already used by connection '{}': a key is valid for one connection only", first.2)));
                    }
                    keys_used.push((key.clone(), circuit.clone(), c.name().to_string()));
                }
                match gateway(g) {
                    Some(gw) if gw.kind == GatewayKind::ExpressRoute => {
                        // ErGw1Az/2Az/3Az (and Standard, HighPerformance, UltraPerformance)
                        // accept 4, 8 and 16 circuit connections (domain.md, "More on gateways").
                        let limit = match gw.sku {
                            crate::gateway::Sku::ErGw1Az | crate::gateway::Sku::Standard => Some(4),
                            crate::gateway::Sku::ErGw2Az | crate::gateway::Sku::HighPerformance => Some(8),
                            crate::gateway::Sku::ErGw3Az | crate::gateway::Sku::UltraPerformance => Some(16),
                            _ => None,
                        };
                        let count = spec.connections.iter().filter(|k| matches!(k, ConnectionSpec::ExpressRoute { gateway, .. } if gateway == g)).count();
                        if let Some(limit) = limit.filter(|&l| count > l) {
                            if er_over_limit.insert(g.clone()) {
                                problems.push(problem(&item, format!("gateway '{g}' ({:?}) accepts {limit} circuit connections; the lab gives it {count}", gw.sku)));
                            }
                        }
                    }
                    Some(_) => problems.push(problem(&item, format!("gateway '{g}' is a VPN gateway; ExpressRoute connects to an ExpressRoute gateway"))),
                    None => problems.push(problem(&item, format!("unknown gateway '{g}'{}", crate::lab::suggest(g, &gateway_names)))),
                }
                match out.circuits.iter_mut().find(|k| k.name == *circuit) {
                    Some(k) => k.connections.push(g.clone()),
                    None => {
                        let circuits: Vec<&str> =
                            spec.circuits.iter().map(|k| k.name.as_str()).collect();
                        problems.push(problem(
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
                            problems.push(problem(&item, format!("gateway '{g}' is an ExpressRoute gateway; VNet-to-VNet connects VPN gateways")));
                            None
                        }
                        None => {
                            problems.push(problem(&item, format!("unknown gateway '{g}'{}", crate::lab::suggest(g, &gateway_names))));
                            None
                        }
                    })
                    .collect();
                let [x, y] = ends.as_slice() else { continue };
                if x.vnet == y.vnet {
                    problems.push(problem(&item, "both gateways are in one VNet"));
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
                    TunnelSpec {
                        name: name.clone(),
                        a: TunnelEndSpec {
                            node: String::new(),
                            ip: String::new(),
                        },
                        b: TunnelEndSpec {
                            node: String::new(),
                            ip: String::new(),
                        },
                        cipher: *cipher,
                        nat_t: false,
                        mss_clamp: *mss_clamp,
                        dpd: dpd.clone(),
                        tcp: None,
                    },
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
                        problems.push(problem(&item, format!("gateway '{g}' is an ExpressRoute gateway; a site-to-site connection needs a VPN gateway")));
                        continue;
                    }
                    None => {
                        problems.push(problem(
                            &item,
                            format!(
                                "unknown gateway '{g}'{}",
                                crate::lab::suggest(g, &gateway_names)
                            ),
                        ));
                        continue;
                    }
                };
                let Some(lgw) = spec.local_gateways.iter().find(|l| l.name == *local) else {
                    let locals: Vec<&str> = spec
                        .local_gateways
                        .iter()
                        .map(|l| l.name.as_str())
                        .collect();
                    problems.push(problem(
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
                    TunnelSpec {
                        name: name.clone(),
                        a: TunnelEndSpec {
                            node: String::new(),
                            ip: String::new(),
                        },
                        b: TunnelEndSpec {
                            node: String::new(),
                            ip: String::new(),
                        },
                        cipher: *cipher,
                        nat_t: *nat_t,
                        mss_clamp: *mss_clamp,
                        dpd: dpd.clone(),
                        tcp: None,
                    },
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
            problems.push(problem(
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
fn site_to_site(
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
        problems.push(problem(
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
        problems.push(problem(
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
        problems.push(problem(
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
                problems.push(problem(
                    item,
                    format!(
                        "local gateway '{}': device '{}' must run BGP with AS {}",
                        lgw.name, lgw.device, b.asn
                    ),
                ));
                return;
            }
            if gw.sku == crate::gateway::Sku::Basic || gw.vpn_type == Some(VpnType::PolicyBased) {
                problems.push(problem(item, format!("gateway '{}' is Basic or policy-based, which does not support BGP: give the local gateway `prefixes` instead", gw.name)));
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
            problems.push(problem(
                item,
                format!(
                    "local gateway '{}' has both `bgp` and `prefixes`: BGP learns the prefixes",
                    lgw.name
                ),
            ));
            return;
        }
        (None, true) => {
            problems.push(problem(
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

/// How long a planned failure lets the instance's NOTIFICATIONs reach its sites before it stops:
/// one way across any lab's internet path.
const PLANNED_DRAIN: Duration = Duration(1_000_000_000);
/// Active-standby takeover after planned maintenance: the top of the documented 10–15 s.
pub const PLANNED_FAILOVER: Duration = Duration(15_000_000_000);
/// After an unplanned failure: the middle of the documented 1–3 minutes.
pub const UNPLANNED_FAILOVER: Duration = Duration(120_000_000_000);

/// Gateway instance failures, as the faults they are made of. The platform stops using the
/// instance at once (its VNets reset their sessions with it); a planned failure first closes
/// the instance's sessions with its sites (a NOTIFICATION each), then stops it after
/// `PLANNED_DRAIN`; an unplanned one stops it silently, so the sites notice by DPD or BGP. The
/// instance (or the standby) carries traffic again after the gateway's failover time, a fault
/// of its own ("... back") when the run lasts that long.
fn gateway_faults(
    spec: &LabSpec,
    vnets: &[Vnet],
    peerings: &[Peering],
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    out.faults.clear();
    let names: Vec<&str> = spec.gateways.iter().map(|g| g.name.as_str()).collect();
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
            problems.push(problem(
                &item,
                format!(
                    "unknown gateway '{gateway}'{}",
                    crate::lab::suggest(gateway, &names)
                ),
            ));
            continue;
        };
        let gw = &spec.gateways[g];
        if gw.kind != GatewayKind::Vpn {
            problems.push(problem(&item, format!("'{gateway}' is an ExpressRoute gateway: fail its circuit or the circuit's links instead")));
            continue;
        }
        let Some((v, inst)) = vnets.iter().enumerate().find_map(|(v, vn)| {
            vn.gateways
                .iter()
                .find(|i| i.gateway == g && i.index == *instance)
                .map(|i| (v, i))
        }) else {
            let count = if gw.active_active { 2 } else { 1 };
            problems.push(problem(&item, format!("gateway '{gateway}' has {count} instance(s): instance {instance} does not exist (0{})", if count == 2 { " or 1" } else { "" })));
            continue;
        };
        let label = Some(f.action.label());
        let fault = |at: Duration, action: FaultAction, label: &Option<String>| FaultSpec {
            at,
            action,
            label: label.clone(),
            continues: false,
        };
        // The platform knows at once: every VNet using the instance drops it.
        for w in served(v, peerings) {
            out.faults.push(fault(
                f.at,
                FaultAction::BgpReset {
                    router: vnets[w].spec.name.clone(),
                    peer: inst.gw_ip.to_string(),
                },
                &label,
            ));
        }
        let mut stop = f.at;
        if *planned {
            let sites = spec.connections.iter().filter_map(|c| match c {
                ConnectionSpec::SiteToSite {
                    gateway: x, local, ..
                } if x == gateway => spec
                    .local_gateways
                    .iter()
                    .find(|l| l.name == *local)
                    .and_then(|l| l.bgp.as_ref()),
                _ => None,
            });
            for b in sites {
                out.faults.push(fault(
                    f.at,
                    FaultAction::BgpReset {
                        router: inst.router.clone(),
                        peer: b.ip.clone(),
                    },
                    &label,
                ));
            }
            stop = Duration(f.at.0.saturating_add(PLANNED_DRAIN.0));
        }
        out.faults.push(FaultSpec {
            continues: *planned,
            ..fault(stop, FaultAction::NodeDown(inst.router.clone()), &label)
        });
        let takeover = if *planned {
            gw.planned_failover.unwrap_or(PLANNED_FAILOVER)
        } else {
            gw.unplanned_failover.unwrap_or(UNPLANNED_FAILOVER)
        };
        let back = Duration(f.at.0.saturating_add(takeover.0));
        if back < spec.duration {
            out.faults.push(fault(
                back,
                FaultAction::NodeUp(inst.router.clone()),
                &Some(format!("gateway {gateway} instance {instance} back")),
            ));
        }
    }
}

/// A VNet-to-VNet connection: a tunnel between the two gateways' first instances (their public
/// addresses over the internet links), then BGP between their BGP addresses when their ASNs
/// differ (Azure requires distinct ASNs for BGP here), else static routes to each other's
/// address spaces (and the spokes each serves), announced into each VNet.
#[allow(clippy::too_many_arguments)]
fn vnet_to_vnet(
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

/// Point-to-site connections a VPN SKU takes, IKEv2 and OpenVPN together (domain.md,
/// "Point-to-site"); SSTP takes at most [`SSTP_LIMIT`] on any SKU.
fn p2s_limit(sku: crate::gateway::Sku) -> u32 {
    use crate::gateway::Sku::*;
    match sku {
        Basic => 0,
        VpnGw1 | VpnGw1Gen2 | VpnGw1Az => 250,
        VpnGw2 | VpnGw2Gen2 | VpnGw2Az => 500,
        VpnGw3 | VpnGw3Gen2 | VpnGw3Az => 1_000,
        VpnGw4 | VpnGw4Gen2 | VpnGw4Az => 5_000,
        _ => 10_000,
    }
}
const SSTP_LIMIT: u32 = 128;

/// Point-to-site clients. Each becomes its VPN stack, a router `NAME-vpn` (one per client, as
/// on the client machine), linked to the host by `NAME-adapter` (a /31 from the gateway's pool:
/// the adapter takes the even address, the host the odd one, so the lab's pool serves half as
/// many clients as Azure's) and to its home by `NAME-home`. An IKEv2 client's tunnel `NAME`
/// runs ESP in UDP 4500 to the gateway's first instance; the gateway routes the client's
/// address into it and announces the pool to the VNets it serves.
fn p2s_clients(
    spec: &LabSpec,
    vnets: &[Vnet],
    index: &BTreeMap<&str, usize>,
    peerings: &[Peering],
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    let gateway_names: Vec<&str> = spec.gateways.iter().map(|g| g.name.as_str()).collect();
    let mut per_gateway: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new();
    for c in &spec.p2s_clients {
        let item = format!("p2s client '{}'", c.name);
        let Some(g) = spec.gateways.iter().position(|x| x.name == c.gateway) else {
            problems.push(problem(
                &item,
                format!(
                    "unknown gateway '{}'{}",
                    c.gateway,
                    crate::lab::suggest(&c.gateway, &gateway_names)
                ),
            ));
            continue;
        };
        let gw = &spec.gateways[g];
        if gw.kind != GatewayKind::Vpn {
            problems.push(problem(&item, format!("gateway '{}' is an ExpressRoute gateway; point-to-site clients connect to a VPN gateway", gw.name)));
            continue;
        }
        let Some(pool) = gw
            .p2s_pool
            .as_ref()
            .and_then(|p| prefix(&item, "p2s_pool", p, problems))
        else {
            problems.push(problem(
                &item,
                format!(
                    "gateway '{}' has no `p2s_pool` (the client address pool)",
                    gw.name
                ),
            ));
            continue;
        };
        let counts = per_gateway.entry(&gw.name).or_default();
        let k = counts.0;
        counts.0 += 1;
        match c.protocol {
            P2sProtocol::Sstp => counts.2 += 1,
            _ => counts.1 += 1,
        }
        let v = index[gw.vnet.as_str()];
        if vnets
            .iter()
            .any(|w| w.space.iter().any(|s| s.overlaps(pool)))
        {
            problems.push(problem(
                &item,
                format!(
                    "p2s_pool {pool} of gateway '{}' overlaps a VNet's address space",
                    gw.name
                ),
            ));
            continue;
        }
        let base = u32::from(pool.addr) + 2 + 2 * k;
        let last = u32::from(pool.addr) + ((1u64 << (32 - pool.len)) - 1) as u32;
        if pool.len > 30 || base + 1 >= last {
            problems.push(problem(
                &item,
                format!(
                    "p2s_pool {pool} of gateway '{}' has no address left for it",
                    gw.name
                ),
            ));
            continue;
        }
        let (adapter, client) = (Ipv4Addr::from(base), Ipv4Addr::from(base + 1));
        let Some(inst) = vnets[v]
            .gateways
            .iter()
            .find(|i| i.gateway == g && i.index == 0)
        else {
            continue;
        };
        let (Some(public), Some(gw_far)) = (
            inst.public
                .as_ref()
                .and_then(|p| p.split('/').next())
                .map(str::to_string),
            out.links
                .iter()
                .find(|l| l.name == format!("{}-internet", inst.router))
                .and_then(|l| l.a.ip.split('/').next().map(str::to_string)),
        ) else {
            continue;
        };
        // The client machine: a host whose gateway is its VPN adapter.
        match out.nodes.iter_mut().find(|n| n.name() == c.host) {
            Some(NodeSpec::Host { gateway, .. }) => match gateway {
                None => *gateway = Some(adapter.to_string()),
                Some(g) => {
                    problems.push(problem(&item, format!("host '{}' has gateway {g}: a P2S client's traffic goes through its VPN adapter", c.host)));
                    continue;
                }
            },
            Some(_) => {
                problems.push(problem(
                    &item,
                    format!("'{}' is a router; a P2S client is a host", c.host),
                ));
                continue;
            }
            None => {
                let names: Vec<&str> = spec.nodes.iter().map(|n| n.name()).collect();
                problems.push(problem(
                    &item,
                    format!(
                        "host '{}' is not a node of the lab{}",
                        c.host,
                        crate::lab::suggest(&c.host, &names)
                    ),
                ));
                continue;
            }
        }
        let Ok(home) = c.home.ip.parse::<Prefix>() else {
            problems.push(problem(
                &item,
                format!(
                    "home ip '{}' is not an address with its length, e.g. 192.0.2.10/30",
                    c.home.ip
                ),
            ));
            continue;
        };
        let Some(home_far) = other_host(home) else {
            problems.push(problem(&item, format!("home ip {home}: give a host of a /30 or /31, whose other address is `home.node`'s")));
            continue;
        };
        let vpn = format!("{}-vpn", c.name);
        out.nodes.push(NodeSpec::router(&vpn));
        out.links.push(LinkSpec::new(
            format!("{}-adapter", c.name),
            EndSpec::new(&c.host, format!("{client}/31")),
            EndSpec::new(&vpn, format!("{adapter}/31")),
        ));
        out.links.push(LinkSpec {
            delay: c.home.delay,
            jitter: c.home.jitter.clone(),
            loss: c.home.loss.clone(),
            rate: c.home.rate,
            ..LinkSpec::new(
                format!("{}-home", c.name),
                EndSpec::new(&vpn, home.to_string()),
                EndSpec::new(&c.home.node, format!("{home_far}/{}", home.len)),
            )
        });
        out.tunnels.push(TunnelSpec {
            name: c.name.clone(),
            a: TunnelEndSpec {
                node: vpn.clone(),
                ip: home.addr.to_string(),
            },
            b: TunnelEndSpec {
                node: inst.router.clone(),
                ip: public.clone(),
            },
            cipher: crate::vpn::esp::CipherSuite::AesGcm,
            nat_t: c.protocol == P2sProtocol::IkeV2,
            mss_clamp: default_mss_clamp(),
            dpd: default_dpd(),
            tcp: match c.protocol {
                P2sProtocol::IkeV2 => None,
                P2sProtocol::OpenVpn => Some(crate::vpn::Framing::OpenVpn),
                P2sProtocol::Sstp => Some(crate::vpn::Framing::Sstp),
            },
        });
        out.routes
            .push(route(&vpn, format!("{public}/32"), home_far));
        out.routes
            .push(route(&inst.router, format!("{}/32", home.addr), &gw_far));
        out.routes
            .push(route(&inst.router, format!("{client}/32"), &c.name));
        for w in served(v, peerings) {
            for s in &vnets[w].spec.address_space {
                out.routes.push(route(&vpn, s, &c.name));
            }
        }
        if let Some(NodeSpec::Router { bgp: Some(b), .. }) =
            out.nodes.iter_mut().find(|n| n.name() == inst.router)
        {
            let p = pool.to_string();
            if !b.originate.contains(&p) {
                b.originate.push(p);
            }
        }
    }
    for (name, (_, tunnelled, sstp)) in per_gateway {
        let Some(gw) = spec.gateways.iter().find(|g| g.name == name) else {
            continue;
        };
        let limit = p2s_limit(gw.sku);
        if tunnelled > limit {
            problems.push(problem(&format!("gateway '{name}'"), format!("{:?} takes {limit} IKEv2 and OpenVPN point-to-site connections; the lab gives it {tunnelled}", gw.sku)));
        }
        if sstp > SSTP_LIMIT {
            problems.push(problem(&format!("gateway '{name}'"), format!("SSTP takes at most {SSTP_LIMIT} connections per gateway; the lab gives it {sstp}")));
        }
    }
}

/// The other host address of the /30 or /31 that `p` is a host of.
fn other_host(p: Prefix) -> Option<Ipv4Addr> {
    let a = u32::from(p.addr);
    let net = u32::from(p.network().addr);
    match p.len {
        31 => Some(Ipv4Addr::from(net + u32::from(a == net))),
        30 if a == net + 1 => Some(Ipv4Addr::from(net + 2)),
        30 if a == net + 2 => Some(Ipv4Addr::from(net + 1)),
        _ => None,
    }
}

/// Local preference a route carries when no policy sets one (RFC 4271's customary default).
const DEFAULT_LOCAL_PREF: u32 = 100;

/// The rules of ExpressRoute and VPN gateways in one VNet (the coexistence guide; domain.md,
/// "Rules that make a lab wrong" and "More on gateways"), and whether the two directions of a
/// flow between a site and the VNet take the same path.
fn coexistence(
    spec: &LabSpec,
    vnets: &[Vnet],
    peerings: &[Peering],
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    for (v, vnet) in vnets.iter().enumerate() {
        let of_kind = |kind| {
            vnet.gateways
                .iter()
                .map(|i| &spec.gateways[i.gateway])
                .find(|g| g.kind == kind)
        };
        let (Some(vpn), Some(er)) = (
            of_kind(GatewayKind::Vpn),
            of_kind(GatewayKind::ExpressRoute),
        ) else {
            continue;
        };
        let item = format!("vnet '{}'", vnet.spec.name);
        const GUIDE: &str = "the ExpressRoute and site-to-site coexistence guide";
        if vpn.sku == crate::gateway::Sku::Basic {
            problems.push(problem(&item, format!("its ExpressRoute and VPN gateways coexist, and '{}' is Basic: coexistence needs VpnGw1 or above ({GUIDE})", vpn.name)));
        }
        if vpn.vpn_type == Some(VpnType::PolicyBased) {
            problems.push(problem(&item, format!("its ExpressRoute and VPN gateways coexist, and '{}' is policy-based: coexistence needs a route-based VPN gateway ({GUIDE})", vpn.name)));
        }
        if vpn.p2s_pool.is_some() {
            warnings.push(problem(&item, format!("point-to-site on '{}' beside ExpressRoute gateway '{}': the 2016 cross-premises guide (seed 004) says point-to-site cannot coexist with ExpressRoute on one VNet; the current coexistence guide shows how to add it, as modelled here", vpn.name, er.name)));
        }
        if let Some(g) = vnet.gateway_subnet.filter(|g| g.len > 27) {
            problems.push(problem(&item, format!("gateway_subnet {g} is smaller than the /27 that coexisting ExpressRoute and VPN gateways need ({GUIDE})")));
        }
        // The sites: VPN devices of the VPN gateway, customer edges of the ER gateway's circuits.
        let vpn_sites: Vec<&LocalGatewaySpec> = spec
            .connections
            .iter()
            .filter_map(|c| match c {
                ConnectionSpec::SiteToSite { gateway, local, .. } if *gateway == vpn.name => {
                    spec.local_gateways.iter().find(|l| l.name == *local)
                }
                _ => None,
            })
            .collect();
        let er_sites: Vec<&CircuitSpec> = spec
            .circuits
            .iter()
            .filter(|c| {
                c.gateway.as_deref() == Some(&er.name)
                    || spec.connections.iter().any(|k| matches!(k, ConnectionSpec::ExpressRoute { gateway, circuit, .. } if *gateway == er.name && *circuit == c.name))
            })
            .collect();
        for l in &vpn_sites {
            for c in er_sites.iter().filter(|c| c.ce != l.device) {
                warnings.push(problem(&item, format!("site '{}' (VPN) and site '{}' (circuit '{}') do not reach each other through it: there is no transit routing between VPN sites and ExpressRoute sites ({GUIDE}; Azure Route Server adds it)", l.device, c.ce, c.name)));
            }
        }
        let spaces: Vec<String> = served(v, peerings)
            .iter()
            .flat_map(|&w| vnets[w].spec.address_space.clone())
            .collect();
        for l in &vpn_sites {
            for c in er_sites.iter().filter(|c| c.ce == l.device) {
                asymmetry(&item, l, c, &spaces, warnings);
            }
        }
    }
}

/// One site reaching the VNet both ways: the VNet prefers ExpressRoute (weight 32769 over
/// 32768) except for prefixes only the VPN announces (longest prefix first); the site prefers
/// what its own policy says. A warning when the two differ.
fn asymmetry(
    item: &str,
    l: &LocalGatewaySpec,
    c: &CircuitSpec,
    spaces: &[String],
    warnings: &mut Vec<Problem>,
) {
    let lp = c.ce_local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    let site_uses_vpn = match &l.bgp {
        None => Some(format!("its static routes into the tunnel win over what BGP learns over circuit '{}'", c.name)),
        Some(_) if lp <= DEFAULT_LOCAL_PREF => Some(format!(
            "with equal local preference ({lp}) the VPN's AS path (65515) is shorter than the circuit's (12076 65515)"
        )),
        Some(_) => None,
    };
    let spaces = spaces.join(", ");
    match (site_uses_vpn, &l.bgp) {
        (Some(why), _) => warnings.push(problem(item, format!("'{}' sends to {spaces} over the VPN ({why}), while the VNet sends to it over circuit '{}' (ExpressRoute's weight 32769 beats the VPN's 32768): the two directions take different paths; give the circuit `ce_local_pref: 150` (domain.md, \"Route selection\")", l.device, c.name))),
        (None, Some(b)) if !b.announce.is_empty() => warnings.push(problem(item, format!("the VNet sends to {} over the VPN (a longer prefix wins over what circuit '{}' carries), while '{}' sends to {spaces} over the circuit (local preference {lp}): the two directions take different paths", b.announce.join(", "), c.name, l.device))),
        _ => {}
    }
}
