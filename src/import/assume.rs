//! Completing an imported design into a lab: what the lab says about imported items (its
//! `imported` section, its own nodes and links) and, for what it leaves out, a stated default.
//! Every default here is a named constant, and every use of one is an assumption the report
//! lists and `emulate import` writes as a comment, with how to change it. A run never depends
//! on an assumption silently.
//!
//! What the code cannot say, and what is assumed when the lab does not:
//! - the on-premises device behind a local network gateway or a circuit: a *site*, one per
//!   local network gateway (with the circuits whose private peering has the same customer ASN)
//!   and one per remaining circuit, with a router `SITE-edge`, a LAN `SITE-lan` and a host
//!   `SITE-host` ([`LAN_DELAY`], [`LAN_RATE`]); a site with both a circuit and a VPN prefers
//!   the circuit (local preference [`CE_LOCAL_PREF`]) and clamps TCP's MSS to fit the tunnel;
//! - the internet path: the site's link to a router `internet` ([`ISP_DELAY`], [`ISP_RATE`],
//!   no loss) and each VPN gateway's ([`UPLINK_DELAY`], [`UPLINK_RATE`]);
//! - addresses known only at deployment: a gateway's public IP from 198.51.100.0/24 and a
//!   local gateway's (given by FQDN) from 203.0.113.0/24 (RFC 5737's documentation ranges);
//! - the provider's delay to the MSEEs and on to the gateway ([`CIRCUIT_DELAY`],
//!   [`BACKBONE_DELAY`]);
//! - traffic, when the lab has none: a UDP probe from each assumed site to a VM of each VNet
//!   it reaches, from [`PROBE_START`], every [`PROBE_INTERVAL`].

use super::design::{Design, Field};
use super::map::host_prefix;
use crate::lab::spec::*;
use crate::lab::Problem;
use crate::substrate::route::Prefix;
use crate::units::{Bitrate, Duration};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// The on-premises LAN between the assumed host and its edge router.
pub const LAN_DELAY: Duration = Duration(100_000);
pub const LAN_RATE: Bitrate = Bitrate(10_000_000_000);
/// A site's internet access: a regional path of about 1,000 km of fibre (domain.md: the
/// internet path has no published figures; a lab sets them).
pub const ISP_DELAY: Duration = Duration(10_000_000);
pub const ISP_RATE: Bitrate = Bitrate(1_000_000_000);
/// A VPN gateway's side of the internet: the cloud's edge is close to its region.
pub const UPLINK_DELAY: Duration = Duration(1_000_000);
pub const UPLINK_RATE: Bitrate = Bitrate(10_000_000_000);
/// The provider's link from the customer edge to the MSEEs, and the MSEEs to the gateway.
pub const CIRCUIT_DELAY: Duration = Duration(1_000_000);
pub const BACKBONE_DELAY: Duration = Duration(1_000_000);
/// What a site with both paths gives routes learned over the circuit, so both directions use
/// it (domain.md, "Route selection"; the vendor's advice for a VPN backing up a circuit).
pub const CE_LOCAL_PREF: u32 = 150;
/// The MSS a site that can fail over to a VPN clamps every SYN to (domain.md: the vendor asks
/// for 1350).
pub const SITE_MSS_CLAMP: u16 = 1350;
pub const PROBE_START: Duration = Duration(5_000_000_000);
pub const PROBE_INTERVAL: Duration = Duration(10_000_000);
/// The management network of a private cloud whose code does not state it: the first /26 of
/// its networkBlock ("The management CIDR is automatically carved up in smaller segments":
/// Microsoft Learn, planning an Azure VMware Solution deployment; the management /26 first).
pub const MANAGEMENT_LEN: u8 = 26;
/// A printed lab's duration: the probes' start and 25 s of steady state.
pub const DURATION: Duration = Duration(30_000_000_000);

/// A lab completed from a design.
pub struct Completed {
    pub spec: LabSpec,
    /// Each default used, with what to write to change it.
    pub assumptions: Vec<String>,
}

/// Joins `design` to `lab` (its nodes, links, apps, faults and its `imported` section): the
/// lab's own items and completions first, stated defaults for the rest.
pub fn complete(design: &Design, lab: &LabSpec) -> Result<Completed, Vec<Problem>> {
    let (ud, ur, isd, isr) = (
        UPLINK_DELAY.exact(),
        UPLINK_RATE.exact(),
        ISP_DELAY.exact(),
        ISP_RATE.exact(),
    );
    let (cd, bd) = (CIRCUIT_DELAY.exact(), BACKBONE_DELAY.exact());
    let mut d = design.clone();
    let mut problems = Vec::new();
    let mut assumptions: Vec<String> = design.assumed.clone();
    let mut vm_rates = BTreeMap::new();
    if let Some(imp) = &lab.imported {
        refine(&mut d, imp, &mut vm_rates, &mut problems);
    }
    for v in &mut d.vnets {
        for s in &mut v.subnets {
            for vm in &mut s.vms {
                vm.rate = vm_rates.get(&vm.node).copied().or(vm.rate);
            }
        }
    }
    let mut out = lab.clone();
    out.design.clear();
    out.imported = None;
    // Names the lab already uses, so nothing assumed collides with them.
    let mut names: BTreeSet<String> = lab.nodes.iter().map(|n| n.name().to_string()).collect();
    names.extend(lab.links.iter().map(|l| l.name.clone()));
    names.extend(d.vms.iter().cloned());
    names.extend(d.vnets.iter().map(|v| v.name.clone()));
    names.extend(d.gateways.iter().map(|g| g.name.clone()));
    names.extend(
        d.circuits
            .iter()
            .flat_map(|c| [format!("{}-msee1", c.name), format!("{}-msee2", c.name)]),
    );
    names.extend(d.private_clouds.iter().flat_map(|p| {
        [
            p.name.clone(),
            format!("{}-er-msee1", p.name),
            format!("{}-er-msee2", p.name),
        ]
    }));
    let mut taken = Taken::new(&d, lab);
    let cloud_vms = private_clouds(&mut d, &mut names, &mut assumptions);

    // Deployment-time addresses.
    for u in &d.unknown {
        let gw = d
            .gateways
            .iter_mut()
            .find(|g| format!("gateway '{}'", g.name) == u.item);
        match (u.field, gw) {
            (Field::PublicIp(i), Some(g)) => {
                let slot = if i == 0 {
                    &mut g.public_ip
                } else {
                    &mut g.second_public_ip
                };
                if slot.is_some() || (i > 0 && !g.active_active) {
                    continue;
                }
                let Some(a) = taken.next(DOC_CLOUD) else {
                    problems.push(Problem::new(&u.item, "no documentation address is left for its public IP: give it under imported.gateways"));
                    continue;
                };
                *slot = Some(format!("{a}/30"));
                let field = if i == 0 {
                    "public_ip"
                } else {
                    "second_public_ip"
                };
                assumptions.push(format!("{} {field} {a}/30: its address is known only at deployment ({}) — write imported.gateways (name: \"{}\", {field}: ...) to change it", u.item, u.what, g.name));
            }
            (Field::LocalIp, _) => {
                let Some(l) = d
                    .local_gateways
                    .iter_mut()
                    .find(|l| format!("local gateway '{}'", l.name) == u.item)
                else {
                    continue;
                };
                if !l.ip.is_empty() {
                    continue;
                }
                let Some(a) = taken.next(DOC_ONPREM) else {
                    problems.push(Problem::new(&u.item, "no documentation address is left for it: give its ip under imported.local_gateways"));
                    continue;
                };
                l.ip = a.to_string();
                assumptions.push(format!("{} ip {a}: the code gives {} — write imported.local_gateways (name: \"{}\", ip: ...) to change it", u.item, u.what, l.name));
            }
            _ => {}
        }
    }

    // The internet router, when something needs one.
    let needs_internet = d
        .gateways
        .iter()
        .any(|g| g.kind == GatewayKind::Vpn && g.internet.is_none())
        || d.local_gateways.iter().any(|l| l.device.is_empty());
    let internet = if needs_internet {
        match lab.nodes.iter().find(|n| n.name() == "internet") {
            Some(NodeSpec::Router { .. }) => "internet".to_string(),
            _ => {
                let name = unique(&mut names, "internet");
                out.nodes.push(NodeSpec::router(&name));
                assumptions.push(format!("router '{name}' stands for the internet between the sites and the VPN gateways — write a node of that name to change it"));
                name
            }
        }
    } else {
        String::new()
    };
    for g in &mut d.gateways {
        if g.kind == GatewayKind::Vpn && g.internet.is_none() {
            g.internet = Some(UplinkSpec {
                node: internet.clone(),
                delay: Some(UPLINK_DELAY),
                jitter: None,
                loss: None,
                rate: Some(UPLINK_RATE),
            });
            assumptions.push(format!("gateway '{}' reaches '{internet}' over {ud} at {ur}, no loss — write imported.gateways (name: \"{}\", internet: (...)) to change it", g.name, g.name));
        }
    }

    // Sites: the devices the lab does not name.
    let mut sites: Vec<Site> = Vec::new();
    for l in &mut d.local_gateways {
        if !l.device.is_empty() {
            continue;
        }
        let site = Site::new(&l.name, &mut names);
        l.device = site.router.clone();
        let mut s = site;
        s.asn = l.bgp.as_ref().map(|b| b.asn);
        s.prefixes = l
            .prefixes
            .iter()
            .filter(|p| !p.ends_with("/32"))
            .cloned()
            .collect();
        s.local = Some((l.ip.clone(), l.name.clone()));
        assumptions.push(format!("local gateway '{}' is router '{}' of an assumed site (the code does not say which device it is) — write imported.local_gateways (name: \"{}\", device: ...) to change it", l.name, s.router, l.name));
        sites.push(s);
    }
    for c in &mut d.circuits {
        let asn = d.circuit_peer_asn.get(&c.name).copied();
        if c.ce.is_empty() {
            // The device of a local gateway with the circuit's customer ASN: one site.
            let same = d
                .local_gateways
                .iter()
                .find(|l| l.bgp.as_ref().map(|b| b.asn) == asn && asn.is_some());
            if let Some(l) = same {
                c.ce = l.device.clone();
                if let Some(s) = sites.iter_mut().find(|s| s.router == l.device) {
                    s.circuits.push(c.name.clone());
                }
                assumptions.push(format!("circuit '{}' ends at '{}', the device of local gateway '{}' (both AS {}) — write imported.circuits (name: \"{}\", ce: ...) to change it", c.name, l.device, l.name, asn.unwrap_or(0), c.name));
            } else {
                let mut s = Site::new(&c.name, &mut names);
                s.asn = asn;
                s.circuits.push(c.name.clone());
                c.ce = s.router.clone();
                assumptions.push(format!("circuit '{}' ends at router '{}' of an assumed site, AS {} (the private peering's peerASN) — write imported.circuits (name: \"{}\", ce: ...) to change it", c.name, s.router, asn.unwrap_or(0), c.name));
                sites.push(s);
            }
        }
        if c.delay.is_none() {
            c.delay = Some(CIRCUIT_DELAY);
            assumptions.push(format!("circuit '{}' provider links {cd} one way — write imported.circuits (name: \"{}\", delay: ...) to change it", c.name, c.name));
        }
        if c.backbone_delay.is_none() {
            c.backbone_delay = Some(BACKBONE_DELAY);
            assumptions.push(format!("circuit '{}' MSEEs to gateway {bd} one way — write imported.circuits (name: \"{}\", backbone_delay: ...) to change it", c.name, c.name));
        }
    }
    for s in &mut sites {
        if s.local.is_some() && !s.circuits.is_empty() {
            for c in d
                .circuits
                .iter_mut()
                .filter(|c| s.circuits.contains(&c.name) && c.ce_local_pref.is_none())
            {
                c.ce_local_pref = Some(CE_LOCAL_PREF);
                assumptions.push(format!("site '{}' prefers circuit '{}' over its VPN (local preference {CE_LOCAL_PREF}, as the vendor advises) and clamps TCP's MSS to {SITE_MSS_CLAMP} — write imported.circuits (name: \"{}\", ce_local_pref: ...) to change it", s.name, c.name, c.name));
            }
            s.mss_clamp = true;
        }
        if s.prefixes.is_empty() {
            match taken.lan() {
                Some(p) => {
                    assumptions.push(format!("site '{}' has a LAN {p} with host '{}' (the code does not say what lies behind its device) — write the site's nodes and links in the lab to change it", s.name, s.host));
                    s.prefixes.push(p.to_string());
                }
                None => problems.push(Problem::new(
                    &format!("site '{}'", s.name),
                    "no private /24 is left for its assumed LAN: write the site in the lab",
                )),
            }
        } else {
            assumptions.push(format!("site '{}' has host '{}' on its first prefix {} — write the site's nodes and links in the lab to change it", s.name, s.host, s.prefixes[0]));
        }
        if let Some((ip, _)) = &s.local {
            assumptions.push(format!("site '{}' reaches '{internet}' over {isd} at {isr}, no loss — write a link named '{}-isp' in the lab to change it", s.name, s.name));
            let _ = ip;
        }
    }
    for s in &sites {
        if let Err(p) = s.build(&internet, &mut out) {
            problems.push(p);
        }
    }

    // VMs: hosts of the lab, unless the lab writes its own node of that name.
    for vm in &d.vms {
        match lab.nodes.iter().find(|n| n.name() == vm) {
            Some(NodeSpec::Host { .. }) => {}
            Some(NodeSpec::Router { .. }) => {}
            None if d.appliances.contains(vm) => out.nodes.push(NodeSpec::router(vm)),
            None => out.nodes.push(NodeSpec::host(vm, None)),
        }
    }

    for vm in &cloud_vms {
        if !lab.nodes.iter().any(|n| n.name() == vm) {
            out.nodes.push(NodeSpec::host(vm, None));
        }
    }

    // Traffic, when the lab has none.
    if lab.apps.is_empty() {
        for s in &sites {
            let vnets = reached(&d, s);
            for pc in d.private_clouds.iter().filter(|pc| match pc.generation {
                AvsGeneration::Gen1 => d.global_reach.iter().any(|g| {
                    let own = format!("{}-er", pc.name);
                    (g.circuit == own && s.circuits.contains(&g.peer))
                        || (g.peer == own && s.circuits.contains(&g.circuit))
                }),
                AvsGeneration::Gen2 => pc.vnet.as_ref().is_some_and(|v| vnets.contains(v)),
            }) {
                let Some(vm) = pc
                    .segments
                    .iter()
                    .chain([&pc.management])
                    .flat_map(|n| &n.vms)
                    .next()
                else {
                    continue;
                };
                let app = probe_app(format!("{}-to-{}", s.name, pc.name), &s.host, &vm.node);
                assumptions.push(probe_assumption(&app));
                out.apps.push(app);
            }
        }
        for s in &sites {
            for vnet in reached(&d, s) {
                let Some(vm) = d.vnets.iter().find(|v| v.name == vnet).and_then(|v| {
                    v.subnets
                        .iter()
                        .flat_map(|s| &s.vms)
                        .find(|vm| !d.appliances.contains(&vm.node))
                }) else {
                    continue;
                };
                let app = probe_app(format!("{}-to-{vnet}", s.name), &s.host, &vm.node);
                assumptions.push(probe_assumption(&app));
                out.apps.push(app);
            }
        }
    }

    // The imported items join the lab's own, which may not share their names.
    out.vnets = join(
        "vnet",
        &d.vnets,
        &lab.vnets,
        |x| x.name.clone(),
        &mut problems,
    );
    out.gateways = join(
        "gateway",
        &d.gateways,
        &lab.gateways,
        |x| x.name.clone(),
        &mut problems,
    );
    out.local_gateways = join(
        "local gateway",
        &d.local_gateways,
        &lab.local_gateways,
        |x| x.name.clone(),
        &mut problems,
    );
    out.circuits = join(
        "circuit",
        &d.circuits,
        &lab.circuits,
        |x| x.name.clone(),
        &mut problems,
    );
    out.connections = join(
        "connection",
        &d.connections,
        &lab.connections,
        |x| x.name().to_string(),
        &mut problems,
    );
    out.global_reach = join(
        "global reach",
        &d.global_reach,
        &lab.global_reach,
        |x| x.name.clone(),
        &mut problems,
    );
    out.private_clouds = join(
        "private cloud",
        &d.private_clouds,
        &lab.private_clouds,
        |x| x.name.clone(),
        &mut problems,
    );
    let mut peerings = d.peerings.clone();
    peerings.extend(lab.peerings.iter().cloned());
    out.peerings = peerings;
    if problems.is_empty() {
        Ok(Completed {
            spec: out,
            assumptions,
        })
    } else {
        Err(problems)
    }
}

/// The imported items, then the lab's own; a name in both is a problem.
fn join<T: Clone>(
    kind: &str,
    imported: &[T],
    own: &[T],
    name: fn(&T) -> String,
    problems: &mut Vec<Problem>,
) -> Vec<T> {
    for x in own {
        let n = name(x);
        if imported.iter().any(|y| name(y) == n) {
            problems.push(Problem::new(
                &format!("{kind} '{n}'"),
                "is both imported and written in the lab: complete it under `imported` instead",
            ));
        }
    }
    imported.iter().chain(own).cloned().collect()
}

/// RFC 5737's documentation ranges: cloud-side public addresses, on-premises public addresses.
const DOC_CLOUD: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 0);
const DOC_ONPREM: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 0);

/// Addresses and prefixes in use, for choosing assumed ones that collide with nothing.
struct Taken {
    prefixes: Vec<Prefix>,
}

impl Taken {
    fn new(d: &Design, lab: &LabSpec) -> Taken {
        let mut texts: Vec<String> = Vec::new();
        for v in &d.vnets {
            texts.extend(v.address_space.iter().cloned());
        }
        for g in &d.gateways {
            texts.extend(g.public_ip.iter().chain(&g.second_public_ip).cloned());
            texts.extend(g.p2s_pool.iter().cloned());
        }
        for l in &d.local_gateways {
            texts.extend(l.prefixes.iter().cloned());
            if !l.ip.is_empty() {
                texts.push(host_prefix(l.ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)));
            }
            texts.extend(l.bgp.iter().map(|b| format!("{}/32", b.ip)));
        }
        for c in &d.circuits {
            texts.push(c.primary.clone());
            texts.push(c.secondary.clone());
        }
        for g in &d.global_reach {
            texts.push(g.subnet.clone());
        }
        for b in d.private_cloud_blocks.values() {
            texts.push(b.block.to_string());
        }
        for pc in &d.private_clouds {
            texts.extend(pc.segments.iter().map(|s| s.prefix.clone()));
            texts.push(pc.management.prefix.clone());
        }
        for l in &lab.links {
            texts.push(l.a.ip.clone());
            texts.push(l.b.ip.clone());
        }
        for n in &lab.nodes {
            texts.extend(n.addresses().iter().cloned());
        }
        Taken {
            prefixes: texts
                .iter()
                .filter_map(|t| t.parse::<Prefix>().ok().map(Prefix::network))
                .collect(),
        }
    }

    fn free(&self, p: Prefix) -> bool {
        !self.prefixes.iter().any(|q| q.overlaps(p))
    }

    /// The first host of the next free /30 in a documentation /24.
    fn next(&mut self, base: Ipv4Addr) -> Option<Ipv4Addr> {
        (0..64u32)
            .map(|i| Prefix::new(Ipv4Addr::from(u32::from(base) + 4 * i), 30))
            .find(|p| self.free(*p))
            .map(|p| {
                self.prefixes.push(p);
                Ipv4Addr::from(u32::from(p.addr) + 1)
            })
    }

    /// A free /24 for an assumed LAN: 10.255.0.0/24 downwards, then 192.168.0.0/24 upwards.
    fn lan(&mut self) -> Option<Prefix> {
        let tens = (0..=255u32)
            .rev()
            .map(|i| Prefix::new(Ipv4Addr::new(10, 255, i as u8, 0), 24));
        let one92 = (0..=255u32).map(|i| Prefix::new(Ipv4Addr::new(192, 168, i as u8, 0), 24));
        let p = tens.chain(one92).find(|p| self.free(*p))?;
        self.prefixes.push(p);
        Some(p)
    }
}

/// An assumed on-premises site.
struct Site {
    name: String,
    router: String,
    host: String,
    asn: Option<u32>,
    prefixes: Vec<String>,
    /// Its local gateway's public address and name, when it has a VPN.
    local: Option<(String, String)>,
    circuits: Vec<String>,
    mss_clamp: bool,
}

impl Site {
    fn new(name: &str, names: &mut BTreeSet<String>) -> Site {
        Site {
            name: name.to_string(),
            router: unique(names, &format!("{name}-edge")),
            host: unique(names, &format!("{name}-host")),
            asn: None,
            prefixes: vec![],
            local: None,
            circuits: vec![],
            mss_clamp: false,
        }
    }

    /// The site's router, host, LAN and internet link.
    fn build(&self, internet: &str, out: &mut LabSpec) -> Result<(), Problem> {
        let item = format!("site '{}'", self.name);
        let lan: Prefix = self.prefixes[0].parse().map_err(|e| {
            Problem::new(
                &item,
                format!("its LAN {} does not parse: {e}", self.prefixes[0]),
            )
        })?;
        let lan = lan.network();
        if lan.len > 29 {
            return Err(Problem::new(
                &item,
                format!("its first prefix {lan} is too small for a LAN: write the site in the lab"),
            ));
        }
        let router_ip = Ipv4Addr::from(u32::from(lan.addr) + 1);
        let host_ip = Ipv4Addr::from(u32::from(lan.addr) + 10.min((1u32 << (32 - lan.len)) - 2));
        let mut router = NodeSpec::router(&self.router);
        if let NodeSpec::Router { bgp, mss_clamp, .. } = &mut router {
            *bgp = self.asn.map(|asn| BgpSpec {
                asn,
                originate: self.prefixes.clone(),
                ..BgpSpec::default()
            });
            *mss_clamp = self.mss_clamp.then_some(SITE_MSS_CLAMP);
        }
        out.nodes
            .push(NodeSpec::host(&self.host, Some(router_ip.to_string())));
        out.nodes.push(router);
        out.links.push(LinkSpec {
            delay: Some(LAN_DELAY),
            rate: Some(LAN_RATE),
            ..LinkSpec::new(
                format!("{}-lan", self.name),
                EndSpec::new(&self.host, format!("{host_ip}/{}", lan.len)),
                EndSpec::new(&self.router, format!("{router_ip}/{}", lan.len)),
            )
        });
        if let Some((ip, _)) = &self.local {
            let a: Ipv4Addr = ip.parse().map_err(|_| {
                Problem::new(&item, format!("its public address '{ip}' does not parse"))
            })?;
            let p = host_prefix(a);
            let len: u8 = p
                .rsplit('/')
                .next()
                .and_then(|l| l.parse().ok())
                .unwrap_or(30);
            let net = u32::from(a) & !((1u32 << (32 - len)) - 1);
            let other = if len == 31 {
                net + (1 - (u32::from(a) - net))
            } else {
                net + 3 - (u32::from(a) - net)
            };
            out.links.push(LinkSpec {
                delay: Some(ISP_DELAY),
                rate: Some(ISP_RATE),
                ..LinkSpec::new(
                    format!("{}-isp", self.name),
                    EndSpec::new(&self.router, p.clone()),
                    EndSpec::new(internet, format!("{}/{len}", Ipv4Addr::from(other))),
                )
            });
        }
        Ok(())
    }
}

/// A private cloud's management network (the first /26 of its block, where the code does not
/// state it), its circuit's location (Gen 1, when Global Reach needs one), and a host standing
/// for the VMs of each of its networks (VMware's VMs are not Azure resources). Returns those
/// hosts' names.
fn private_clouds(
    d: &mut Design,
    names: &mut BTreeSet<String>,
    assumptions: &mut Vec<String>,
) -> Vec<String> {
    let mut vms = Vec::new();
    for pc in &mut d.private_clouds {
        let block = d.private_cloud_blocks.get(&pc.name);
        if pc.management.prefix.is_empty() {
            if let Some(b) = block {
                let m = Prefix::new(b.block.addr, MANAGEMENT_LEN);
                pc.management.prefix = m.to_string();
                assumptions.push(format!("private cloud '{}' management network {m}: the first /{MANAGEMENT_LEN} of its networkBlock {}, which the platform carves its management networks from — write imported.private_clouds (name: \"{}\", management: ...) to change it", pc.name, b.block, pc.name));
            }
        }
        let own = format!("{}-er", pc.name);
        let joined = d
            .global_reach
            .iter()
            .any(|g| g.circuit == own || g.peer == own);
        if pc.generation == AvsGeneration::Gen1 && pc.peering_location.is_none() && joined {
            let region = block
                .and_then(|b| b.region.clone())
                .unwrap_or_else(|| "its region".to_string());
            let at = format!("{} ({region})", pc.name);
            assumptions.push(format!("private cloud '{}''s circuit meets Microsoft at '{at}', a location of its own (each private cloud is its own ExpressRoute location, where Global Reach joins it) — write imported.private_clouds (name: \"{}\", peering_location: ...) to change it", pc.name, pc.name));
            pc.peering_location = Some(at);
        }
        let mut stand_ins = Vec::new();
        for seg in pc.segments.iter_mut().chain([&mut pc.management]) {
            if seg.vms.is_empty() {
                let want = if seg.name == "management" {
                    format!("{}-vcenter", pc.name)
                } else {
                    format!("{}-{}-vm", pc.name, seg.name)
                };
                let vm = unique(names, &want);
                stand_ins.push(format!("'{vm}' on {} {}", seg.name, seg.prefix));
                seg.vms.push(VmSpec {
                    node: vm.clone(),
                    ip: None,
                    rate: None,
                });
                vms.push(vm);
            }
        }
        if !stand_ins.is_empty() {
            assumptions.push(format!("private cloud '{}' has hosts {} standing for its VMs (VMware's VMs are not in the code) — refer to them in apps, or write the private cloud in the lab to change it", pc.name, stand_ins.join(", ")));
        }
    }
    vms
}

/// `want`, or `want-2`, `want-3`... whichever no item of the lab has.
fn unique(names: &mut BTreeSet<String>, want: &str) -> String {
    let name = (1..)
        .map(|i| {
            if i == 1 {
                want.to_string()
            } else {
                format!("{want}-{i}")
            }
        })
        .find(|n| !names.contains(n))
        .expect("some suffix is free");
    names.insert(name.clone());
    name
}

/// The VNets a site reaches: those whose gateways connect to its local gateway or circuits,
/// and the spokes that use those gateways.
fn reached(d: &Design, s: &Site) -> Vec<String> {
    let mut hubs = BTreeSet::new();
    for c in &d.connections {
        let gw = match c {
            ConnectionSpec::SiteToSite { gateway, local, .. }
                if s.local.as_ref().is_some_and(|l| &l.1 == local) =>
            {
                gateway
            }
            ConnectionSpec::ExpressRoute {
                gateway, circuit, ..
            } if s.circuits.contains(circuit) => gateway,
            _ => continue,
        };
        if let Some(g) = d.gateways.iter().find(|g| &g.name == gw) {
            hubs.insert(g.vnet.clone());
        }
    }
    let mut out: BTreeSet<String> = hubs.clone();
    for p in &d.peerings {
        if hubs.contains(&p.a) && p.allow_gateway_transit && p.use_remote_gateways {
            out.insert(p.b.clone());
        }
    }
    out.into_iter().collect()
}

/// Applies the lab's `imported` completions; a name the design lacks is a problem.
fn refine(
    d: &mut Design,
    imp: &ImportedSpec,
    vm_rates: &mut BTreeMap<String, Bitrate>,
    problems: &mut Vec<Problem>,
) {
    fn missing<'a>(
        problems: &mut Vec<Problem>,
        kind: &str,
        name: &str,
        have: impl Iterator<Item = &'a str>,
    ) {
        let have: Vec<&str> = have.collect();
        problems.push(Problem::new(
            &format!("imported.{kind} '{name}'"),
            format!(
                "the design has no such item{}",
                crate::lab::suggest(name, &have)
            ),
        ));
    }
    for r in &imp.vnets {
        match d.vnets.iter_mut().find(|v| v.name == r.name) {
            Some(v) => {
                v.delay = r.delay.or(v.delay);
                v.programming_delay = r.programming_delay.or(v.programming_delay);
            }
            None => missing(
                problems,
                "vnets",
                &r.name,
                d.vnets.iter().map(|v| v.name.as_str()),
            ),
        }
    }
    for r in &imp.vms {
        if d.vms.contains(&r.name) {
            if let Some(rate) = r.rate {
                vm_rates.insert(r.name.clone(), rate);
            }
        } else {
            missing(problems, "vms", &r.name, d.vms.iter().map(String::as_str));
        }
    }
    for r in &imp.gateways {
        match d.gateways.iter_mut().find(|g| g.name == r.name) {
            Some(g) => {
                g.public_ip = r.public_ip.clone().or(g.public_ip.take());
                g.second_public_ip = r.second_public_ip.clone().or(g.second_public_ip.take());
                g.internet = r.internet.clone().or(g.internet.take());
                g.planned_failover = r.planned_failover.or(g.planned_failover);
                g.unplanned_failover = r.unplanned_failover.or(g.unplanned_failover);
                g.programming_delay = r.programming_delay.or(g.programming_delay);
                g.throughput = r.throughput.or(g.throughput);
                g.pps = r.pps.or(g.pps);
                g.queue = r.queue.or(g.queue);
            }
            None => missing(
                problems,
                "gateways",
                &r.name,
                d.gateways.iter().map(|g| g.name.as_str()),
            ),
        }
    }
    for r in &imp.local_gateways {
        match d.local_gateways.iter_mut().find(|l| l.name == r.name) {
            Some(l) => {
                if let Some(dev) = &r.device {
                    l.device = dev.clone();
                }
                if let Some(ip) = &r.ip {
                    l.ip = ip.clone();
                }
                if let Some(b) = &mut l.bgp {
                    b.announce.extend(r.announce.iter().cloned());
                    b.prepend = r.prepend.or(b.prepend);
                } else if !r.announce.is_empty() || r.prepend.is_some() {
                    problems.push(Problem::new(
                        &format!("imported.local_gateways '{}'", r.name),
                        "announce and prepend need BGP, which its connections do not enable",
                    ));
                }
            }
            None => missing(
                problems,
                "local_gateways",
                &r.name,
                d.local_gateways.iter().map(|l| l.name.as_str()),
            ),
        }
    }
    for r in &imp.circuits {
        match d.circuits.iter_mut().find(|c| c.name == r.name) {
            Some(c) => {
                if let Some(ce) = &r.ce {
                    c.ce = ce.clone();
                }
                c.delay = r.delay.or(c.delay);
                c.backbone_delay = r.backbone_delay.or(c.backbone_delay);
                c.bfd = r.bfd.clone().or(c.bfd.take());
                c.bfd_enabled = r.bfd_enabled.unwrap_or(c.bfd_enabled);
                c.keepalive = r.keepalive.or(c.keepalive);
                c.hold = r.hold.or(c.hold);
                c.ce_local_pref = r.ce_local_pref.or(c.ce_local_pref);
                c.ce_prepend = r.ce_prepend.or(c.ce_prepend);
            }
            None => missing(
                problems,
                "circuits",
                &r.name,
                d.circuits.iter().map(|c| c.name.as_str()),
            ),
        }
    }
    for r in &imp.private_clouds {
        match d.private_clouds.iter_mut().find(|p| p.name == r.name) {
            Some(p) => {
                p.asn = r.asn.or(p.asn);
                p.peering_location = r.peering_location.clone().or(p.peering_location.take());
                p.bandwidth = r.bandwidth.or(p.bandwidth);
                if let Some(m) = &r.management {
                    p.management.prefix = m.clone();
                }
                if p.generation == AvsGeneration::Gen2
                    && (r.peering_location.is_some() || r.bandwidth.is_some())
                {
                    problems.push(Problem::new(
                        &format!("imported.private_clouds '{}'", r.name),
                        "is Gen 2 (in a VNet): peering_location and bandwidth are its circuit's, and it has none",
                    ));
                }
            }
            None => missing(
                problems,
                "private_clouds",
                &r.name,
                d.private_clouds.iter().map(|p| p.name.as_str()),
            ),
        }
    }
    for r in &imp.connections {
        let names: Vec<String> = d.connections.iter().map(|c| c.name().to_string()).collect();
        match d.connections.iter_mut().find(|c| c.name() == r.name) {
            Some(ConnectionSpec::SiteToSite {
                nat_t, mss_clamp, ..
            }) => {
                *nat_t = r.nat_t.unwrap_or(*nat_t);
                if let Some(m) = r.mss_clamp {
                    *mss_clamp = m;
                }
            }
            Some(ConnectionSpec::VnetToVnet { mss_clamp, .. }) => {
                if let Some(m) = r.mss_clamp {
                    *mss_clamp = m;
                }
                if r.nat_t.is_some() {
                    problems.push(Problem::new(
                        &format!("imported.connections '{}'", r.name),
                        "nat_t applies to site-to-site connections only",
                    ));
                }
            }
            Some(ConnectionSpec::ExpressRoute { .. }) => problems.push(Problem::new(
                &format!("imported.connections '{}'", r.name),
                "is an ExpressRoute connection: nat_t and mss_clamp apply to VPN connections",
            )),
            None => missing(
                problems,
                "connections",
                &r.name,
                names.iter().map(String::as_str),
            ),
        }
    }
}

/// The UDP probe app assumed from `from` to `to` when a lab has no apps.
fn probe_app(name: String, from: &str, to: &str) -> AppSpec {
    AppSpec {
        name,
        from: from.to_string(),
        to: to.to_string(),
        start: Some(PROBE_START),
        stop: None,
        traffic: TrafficSpec::UdpProbe {
            interval: Some(PROBE_INTERVAL),
            size: None,
            port: None,
        },
    }
}

/// How [`probe_app`]'s assumption reads.
fn probe_assumption(app: &AppSpec) -> String {
    format!(
        "app '{}': UDP probes from '{}' to '{}' every {} from {} (the lab has no apps) — write apps in the lab to change it",
        app.name,
        app.from,
        app.to,
        PROBE_INTERVAL.exact(),
        PROBE_START.exact()
    )
}
