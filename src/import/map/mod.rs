//! Azure resources to the cloud vocabulary (README, "Your own design", the mapping table):
//! VNets with their subnets, route tables and VMs; peerings joined from their two halves;
//! virtual network gateways, local network gateways, connections, ExpressRoute circuits with
//! their private peering, authorizations and Global Reach connections. What a resource says
//! that the model has no meaning for becomes a note; a reference to a resource the design does
//! not define, a value that does not parse, or a SKU the platform does not have is a problem
//! naming the resource and the property.

mod avs;

pub use avs::{PC_AUTHORIZATION, PC_GLOBAL_REACH, PC_SEGMENT, PRIVATE_CLOUD};

use super::arm::expr::is_unknown;
use super::design::{Design, Field, Unknown};
use super::json;
use super::resource::{reference, Resource};
use crate::lab::spec::*;
use crate::lab::Problem;
use crate::substrate::gateway::Sku;
use crate::substrate::route::Prefix;
use crate::units::{Bitrate, Duration};
use crate::vpn::esp::CipherSuite;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

pub const VNET: &str = "Microsoft.Network/virtualNetworks";
pub const SUBNET: &str = "Microsoft.Network/virtualNetworks/subnets";
pub const VNET_PEERING: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings";
pub const GATEWAY: &str = "Microsoft.Network/virtualNetworkGateways";
pub const LOCAL_GATEWAY: &str = "Microsoft.Network/localNetworkGateways";
pub const CONNECTION: &str = "Microsoft.Network/connections";
pub const CIRCUIT: &str = "Microsoft.Network/expressRouteCircuits";
pub const CIRCUIT_PEERING: &str = "Microsoft.Network/expressRouteCircuits/peerings";
pub const CIRCUIT_AUTHORIZATION: &str = "Microsoft.Network/expressRouteCircuits/authorizations";
pub const GLOBAL_REACH: &str = "Microsoft.Network/expressRouteCircuits/peerings/connections";
pub const ROUTE_TABLE: &str = "Microsoft.Network/routeTables";
pub const ROUTE: &str = "Microsoft.Network/routeTables/routes";
pub const NIC: &str = "Microsoft.Network/networkInterfaces";
pub const PUBLIC_IP: &str = "Microsoft.Network/publicIPAddresses";
pub const VM: &str = "Microsoft.Compute/virtualMachines";

/// Types the model does not have yet but a design's behaviour depends on: listed by name so the
/// user knows what the lab leaves out.
const NOT_YET: &[&str] = &[
    "Microsoft.Network/virtualHubs",
    "Microsoft.Network/virtualWans",
    "Microsoft.Network/vpnGateways",
    "Microsoft.Network/vpnSites",
    "Microsoft.Network/p2sVpnGateways",
    "Microsoft.Network/expressRouteGateways",
    "Microsoft.Network/virtualNetworkGateways/natRules",
    "Microsoft.Network/virtualHubs/bgpConnections",
    "Microsoft.Network/virtualHubs/ipConfigurations",
    "Microsoft.Network/networkVirtualAppliances",
    "Microsoft.Network/expressRoutePorts",
    "Microsoft.Network/expressRouteCrossConnections",
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/loadBalancers",
];

/// Types read as part of others (a public IP through its gateway, a NIC through its VM).
const CONSUMED: &[&str] = &[
    VNET,
    SUBNET,
    VNET_PEERING,
    GATEWAY,
    LOCAL_GATEWAY,
    CONNECTION,
    CIRCUIT,
    CIRCUIT_PEERING,
    CIRCUIT_AUTHORIZATION,
    GLOBAL_REACH,
    ROUTE_TABLE,
    ROUTE,
    NIC,
    PUBLIC_IP,
    VM,
    PRIVATE_CLOUD,
    PC_AUTHORIZATION,
    PC_SEGMENT,
    PC_GLOBAL_REACH,
];

/// Maps resources (every design entry's, together) to the design they describe.
pub fn map(resources: &[Resource]) -> Result<Design, Vec<Problem>> {
    let mut m = Mapper {
        res: resources,
        index: resources
            .iter()
            .enumerate()
            .map(|(i, r)| (key(&r.kind, &r.name), i))
            .collect(),
        problems: Vec::new(),
        d: Design::default(),
        used_public_ips: BTreeSet::new(),
        used_nics: BTreeSet::new(),
    };
    m.unmodelled();
    let vm_ips = m.vnets_and_vms();
    m.peerings();
    m.gateways();
    m.local_gateways();
    m.private_clouds();
    m.circuits();
    m.connections();
    m.drop_unreachable_routes(&vm_ips);
    m.leftovers();
    if m.problems.is_empty() {
        m.d.sort();
        Ok(m.d)
    } else {
        Err(m.problems)
    }
}

fn key(kind: &str, name: &str) -> (String, String) {
    (kind.to_ascii_lowercase(), name.to_ascii_lowercase())
}

struct Mapper<'a> {
    res: &'a [Resource],
    index: BTreeMap<(String, String), usize>,
    problems: Vec<Problem>,
    d: Design,
    used_public_ips: BTreeSet<usize>,
    used_nics: BTreeSet<usize>,
}

/// A subnet as gathered from its VNet's `subnets` and from child resources.
struct RawSubnet {
    name: String,
    prefix: Value,
    route_table: Option<Value>,
}

impl<'a> Mapper<'a> {
    fn of(&self, kind: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.res.iter().filter(move |r| r.is(kind))
    }

    fn find(&self, kind: &str, name: &str) -> Option<&'a Resource> {
        self.index.get(&key(kind, name)).map(|&i| &self.res[i])
    }

    fn problem(&mut self, item: String, reason: impl Into<String>) {
        self.problems.push(Problem::new(&item, reason));
    }

    /// The resource a property refers to by ID, which must be of `kind` and in the design.
    fn follow(
        &mut self,
        item: &str,
        prop: &str,
        v: Option<&Value>,
        kind: &str,
    ) -> Option<&'a Resource> {
        let v = v?;
        if let Some(what) = is_unknown(v).or_else(|| json::get(v, "id").and_then(is_unknown)) {
            self.problem(
                format!("{item}, property {prop}"),
                format!("refers to a resource known only at deployment ({what})"),
            );
            return None;
        }
        let Some((k, name)) = reference(v) else {
            self.problem(
                format!("{item}, property {prop}"),
                format!("{} is not a resource ID", json::show(v)),
            );
            return None;
        };
        if !k.eq_ignore_ascii_case(kind) {
            self.problem(
                format!("{item}, property {prop}"),
                format!("refers to a {k}, where a {kind} belongs"),
            );
            return None;
        }
        let found = self.find(kind, &name);
        if found.is_none() {
            self.problem(format!("{item}, property {prop}"), format!("refers to {kind} '{name}', which the design does not define (import the template that does as another design entry)"));
        }
        found
    }

    /// The name a reference names, without requiring the resource.
    fn name_of(v: &Value) -> Option<(String, String)> {
        reference(v)
    }

    fn text(&mut self, item: &str, prop: &str, v: Option<&Value>) -> Option<String> {
        match v {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                let reason = match is_unknown(other) {
                    Some(what) => {
                        format!("is known only at deployment ({what}); the design needs it")
                    }
                    None => format!("{} is not a string", json::show(other)),
                };
                self.problem(format!("{item}, property {prop}"), reason);
                None
            }
        }
    }

    fn prefix(&mut self, item: &str, prop: &str, v: &Value) -> Option<String> {
        let s = self.text(item, prop, Some(v))?;
        match s.parse::<Prefix>() {
            Ok(_) => Some(s),
            Err(e) => {
                self.problem(
                    format!("{item}, property {prop}"),
                    format!("'{s}' is not an IPv4 prefix: {e}"),
                );
                None
            }
        }
    }

    fn prefixes(&mut self, item: &str, prop: &str, v: Option<&Value>) -> Vec<String> {
        match v {
            None => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|p| self.prefix(item, prop, p))
                .collect(),
            Some(other) => {
                self.problem(
                    format!("{item}, property {prop}"),
                    format!("{} is not a list of prefixes", json::show(other)),
                );
                vec![]
            }
        }
    }

    fn address(&mut self, item: &str, prop: &str, v: &Value) -> Option<Ipv4Addr> {
        let s = self.text(item, prop, Some(v))?;
        match s.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.problem(
                    format!("{item}, property {prop}"),
                    format!("'{s}' is not an IPv4 address"),
                );
                None
            }
        }
    }

    fn flag(&mut self, item: &str, prop: &str, v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => false,
            Some(x) => json::as_bool(x).unwrap_or_else(|| {
                self.problem(
                    format!("{item}, property {prop}"),
                    format!("{} is not a boolean", json::show(x)),
                );
                false
            }),
        }
    }

    fn int(&mut self, item: &str, prop: &str, v: Option<&Value>) -> Option<i64> {
        let x = v?;
        let n = json::as_int(x);
        if n.is_none() {
            self.problem(
                format!("{item}, property {prop}"),
                format!("{} is not a whole number", json::show(x)),
            );
        }
        n
    }

    fn asn(&mut self, item: &str, prop: &str, v: Option<&Value>) -> Option<u32> {
        let n = self.int(item, prop, v)?;
        u32::try_from(n).ok().filter(|a| *a > 0).or_else(|| {
            self.problem(
                format!("{item}, property {prop}"),
                format!("{n} is not an AS number (1 to 4294967295)"),
            );
            None
        })
    }

    /// Every resource of a type the model has no meaning for, noted once.
    fn unmodelled(&mut self) {
        for r in self.res {
            if CONSUMED.iter().any(|k| r.is(k)) {
                continue;
            }
            if NOT_YET.iter().any(|k| r.is(k)) {
                self.d
                    .notes
                    .push(format!("not modelled yet: {} {}", r.kind, r.name));
            } else {
                self.d
                    .notes
                    .push(format!("not modelled: {} {}", r.kind, r.name));
            }
        }
    }

    /// A VNet's subnets, from its `subnets` property and child resources (a child wins).
    fn subnets_of(&self, vnet: &Resource) -> Vec<(String, RawSubnet)> {
        let mut out: Vec<(String, RawSubnet)> = Vec::new();
        let mut add = |label: String, name: &str, props: Option<&Value>| {
            let props = props.cloned().unwrap_or(Value::Null);
            let prefix = json::at(&props, "addressPrefix")
                .cloned()
                .or_else(|| {
                    json::at(&props, "addressPrefixes")
                        .and_then(|a| a.get(0))
                        .cloned()
                })
                .unwrap_or(Value::Null);
            let route_table = json::at(&props, "routeTable").cloned();
            out.retain(|(_, s)| !s.name.eq_ignore_ascii_case(name));
            out.push((
                label,
                RawSubnet {
                    name: name.to_string(),
                    prefix,
                    route_table,
                },
            ));
        };
        if let Some(list) = vnet.prop("subnets").and_then(Value::as_array) {
            for s in list {
                let name = json::get(s, "name").and_then(Value::as_str).unwrap_or("");
                add(
                    format!("{}, subnet '{name}'", vnet.label()),
                    name,
                    Some(json::props(s)),
                );
            }
        }
        for c in self
            .of(SUBNET)
            .filter(|c| c.parent_name().eq_ignore_ascii_case(&vnet.name))
        {
            add(c.label(), c.short_name(), Some(json::props(&c.body)));
        }
        out
    }

    /// VNets, their subnets with user-defined routes, and the VMs on them. Returns each VM's
    /// address where the code fixes it.
    fn vnets_and_vms(&mut self) -> BTreeMap<Ipv4Addr, String> {
        // Each subnet's VMs, from VMs' primary NICs.
        let mut on_subnet: BTreeMap<(String, String), Vec<VmSpec>> = BTreeMap::new();
        let mut vm_ips = BTreeMap::new();
        let vms: Vec<&Resource> = self.of(VM).collect();
        for vm in vms {
            let item = vm.label();
            let nics = vm
                .prop("networkProfile.networkInterfaces")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let primary = nics
                .iter()
                .find(|n| json::at(json::props(n), "primary").and_then(json::as_bool) == Some(true))
                .or_else(|| nics.first());
            let Some(primary) = primary else {
                self.d.notes.push(format!(
                    "not modelled: {VM} {} (it has no network interface)",
                    vm.name
                ));
                continue;
            };
            if nics.len() > 1 {
                self.d.facts.push(format!(
                    "VM '{}' has {} NICs: the lab models its primary one",
                    vm.name,
                    nics.len()
                ));
            }
            let Some(nic) = self.follow(
                &item,
                "networkProfile.networkInterfaces",
                Some(primary),
                NIC,
            ) else {
                continue;
            };
            self.used_nics
                .insert(self.index[&key(&nic.kind, &nic.name)]);
            let configs = nic
                .prop("ipConfigurations")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let config = configs
                .iter()
                .find(|c| json::at(json::props(c), "primary").and_then(json::as_bool) == Some(true))
                .or_else(|| configs.first());
            let nic_item = nic.label();
            let Some(config) = config else {
                self.problem(nic_item, "has no ipConfigurations");
                continue;
            };
            let Some(subnet) = json::at(json::props(config), "subnet") else {
                self.problem(nic_item, "its IP configuration names no subnet");
                continue;
            };
            let Some((_, full)) = Self::name_of(subnet) else {
                self.problem(
                    format!("{nic_item}, property ipConfigurations.subnet"),
                    "is not a subnet's resource ID",
                );
                continue;
            };
            let Some((vnet, sub)) = full.split_once('/') else {
                self.problem(
                    format!("{nic_item}, property ipConfigurations.subnet"),
                    format!("'{full}' is not a subnet"),
                );
                continue;
            };
            // A dynamic address is the platform's to choose: the lab allocates it as the
            // platform does (the next free one from the subnet's fifth), so a template and
            // what it deployed give the same lab.
            let dynamic = json::at(json::props(config), "privateIPAllocationMethod")
                .and_then(Value::as_str)
                .is_some_and(|m| m.eq_ignore_ascii_case("Dynamic"));
            let ip = match json::at(json::props(config), "privateIPAddress") {
                Some(v) if is_unknown(v).is_none() && !dynamic => {
                    self.address(&nic_item, "ipConfigurations.privateIPAddress", v)
                }
                _ => None,
            };
            if let Some(ip) = ip {
                vm_ips.insert(ip, vm.name.clone());
            }
            on_subnet.entry(key(vnet, sub)).or_default().push(VmSpec {
                node: vm.name.clone(),
                ip: ip.map(|a| a.to_string()),
                rate: None,
            });
            if self.flag(
                &nic_item,
                "enableIPForwarding",
                nic.prop("enableIPForwarding"),
            ) {
                self.d.appliances.push(vm.name.clone());
            }
            self.d.vms.push(vm.name.clone());
        }
        let vnets: Vec<&Resource> = self.of(VNET).collect();
        for vnet in vnets {
            let item = vnet.label();
            let space = self.prefixes(
                &item,
                "addressSpace.addressPrefixes",
                vnet.prop("addressSpace.addressPrefixes"),
            );
            if space.is_empty() {
                self.problem(
                    item.clone(),
                    "has no address space (addressSpace.addressPrefixes)",
                );
            }
            let mut spec = VnetSpec {
                name: vnet.name.clone(),
                address_space: space,
                subnets: vec![],
                gateway_subnet: None,
                delay: None,
                programming_delay: None,
            };
            for (label, s) in self.subnets_of(vnet) {
                let Some(prefix) = self.prefix(&label, "addressPrefix", &s.prefix) else {
                    continue;
                };
                if s.name.eq_ignore_ascii_case("GatewaySubnet") {
                    spec.gateway_subnet = Some(prefix);
                    continue;
                }
                let routes = match &s.route_table {
                    Some(t) => self.route_table(&label, t),
                    None => vec![],
                };
                let mut vms = on_subnet
                    .remove(&key(&vnet.name, &s.name))
                    .unwrap_or_default();
                vms.sort_by(|a, b| a.node.cmp(&b.node));
                spec.subnets.push(SubnetSpec {
                    name: s.name.clone(),
                    prefix,
                    vms,
                    routes,
                });
            }
            spec.subnets.sort_by(|a, b| a.name.cmp(&b.name));
            self.d.vnets.push(spec);
        }
        for ((vnet, sub), vms) in on_subnet {
            for vm in vms {
                self.problem(format!("resource {VM} '{}'", vm.node), format!("its NIC is on subnet '{sub}' of VNet '{vnet}', which the design does not define"));
            }
        }
        vm_ips
    }

    /// A subnet's route table's routes, as user-defined routes the model has.
    fn route_table(&mut self, subnet: &str, t: &Value) -> Vec<UserRouteSpec> {
        let Some(table) = self.follow(subnet, "routeTable", Some(t), ROUTE_TABLE) else {
            return vec![];
        };
        let item = table.label();
        if json::as_bool(
            table
                .prop("disableBgpRoutePropagation")
                .unwrap_or(&Value::Null),
        ) == Some(true)
        {
            self.d.notes.push(format!("not modelled yet: {ROUTE_TABLE} {} disables BGP route propagation (the subnet still learns gateway routes in the lab)", table.name));
        }
        let mut raw: Vec<(String, Value)> = table
            .prop("routes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    json::get(r, "name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    json::props(r).clone(),
                )
            })
            .collect();
        for c in self
            .of(ROUTE)
            .filter(|c| c.parent_name().eq_ignore_ascii_case(&table.name))
        {
            raw.retain(|(n, _)| !n.eq_ignore_ascii_case(c.short_name()));
            raw.push((c.short_name().to_string(), json::props(&c.body).clone()));
        }
        let mut out = Vec::new();
        for (name, props) in raw {
            let label = format!("{item}, route '{name}'");
            let hop = json::get(&props, "nextHopType")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let Some(p) = json::get(&props, "addressPrefix") else {
                self.problem(label, "has no addressPrefix");
                continue;
            };
            if p.as_str()
                .is_some_and(|s| s.parse::<Prefix>().is_err() && !s.contains('.'))
            {
                self.d.notes.push(format!(
                    "not modelled yet: {label}: service tag {}",
                    json::show(p)
                ));
                continue;
            }
            let Some(prefix) = self.prefix(&label, "addressPrefix", p) else {
                continue;
            };
            match hop.to_ascii_lowercase().as_str() {
                "virtualappliance" => {
                    let Some(ip) = json::get(&props, "nextHopIpAddress") else {
                        self.problem(label, "has next hop type VirtualAppliance but no nextHopIpAddress");
                        continue;
                    };
                    if let Some(a) = self.address(&label, "nextHopIpAddress", ip) {
                        out.push(UserRouteSpec { prefix, next_hop: a.to_string() });
                    }
                }
                "none" => out.push(UserRouteSpec { prefix, next_hop: VIA_NONE.to_string() }),
                "virtualnetworkgateway" | "vnetlocal" | "internet" => self.d.notes.push(format!(
                    "not modelled yet: {label} to {prefix} (next hop type {hop}): left out"
                )),
                _ => self.problem(format!("{label}, property nextHopType"), format!("'{hop}' is not a next hop type (VirtualAppliance, VirtualNetworkGateway, VnetLocal, Internet, None)")),
            }
        }
        out.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        out
    }

    /// A route to an appliance the design has no VM at is left out with a note: the appliance
    /// is something the model lacks (a firewall, a load balancer's frontend).
    fn drop_unreachable_routes(&mut self, vm_ips: &BTreeMap<Ipv4Addr, String>) {
        for v in &mut self.d.vnets {
            for s in &mut v.subnets {
                s.routes.retain(|r| {
                    let keep = r.next_hop == VIA_NONE || r.next_hop.parse().is_ok_and(|a: Ipv4Addr| vm_ips.contains_key(&a));
                    if !keep {
                        self.d.notes.push(format!(
                            "not modelled yet: the route to {} on subnet '{}' of '{}': its next hop {} is no VM of the design (an appliance the model lacks): left out",
                            r.prefix, s.name, v.name, r.next_hop
                        ));
                    }
                    keep
                });
            }
        }
    }

    /// Peering halves, joined: both halves make a peering; one alone is not connected.
    fn peerings(&mut self) {
        // (from, to) → (allow transit, use remote gateways, label)
        let mut halves: BTreeMap<(String, String), (bool, bool, String)> = BTreeMap::new();
        let mut raw: Vec<(String, String, Value)> = Vec::new();
        for v in self.of(VNET) {
            for p in v
                .prop("virtualNetworkPeerings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = json::get(p, "name").and_then(Value::as_str).unwrap_or("");
                raw.push((
                    v.name.clone(),
                    format!("{}, peering '{name}'", v.label()),
                    json::props(p).clone(),
                ));
            }
        }
        for p in self.of(VNET_PEERING) {
            raw.push((
                p.parent_name().to_string(),
                p.label(),
                json::props(&p.body).clone(),
            ));
        }
        for (from, label, props) in raw {
            let Some(from_vnet) = self.find(VNET, &from) else {
                self.problem(
                    label,
                    format!("belongs to VNet '{from}', which the design does not define"),
                );
                continue;
            };
            let Some(remote) = self.follow(
                &label,
                "remoteVirtualNetwork",
                json::get(&props, "remoteVirtualNetwork"),
                VNET,
            ) else {
                if json::get(&props, "remoteVirtualNetwork").is_none() {
                    self.problem(label, "has no remoteVirtualNetwork");
                }
                continue;
            };
            let transit = self.flag(
                &label,
                "allowGatewayTransit",
                json::get(&props, "allowGatewayTransit"),
            );
            let remote_gw = self.flag(
                &label,
                "useRemoteGateways",
                json::get(&props, "useRemoteGateways"),
            );
            if json::get(&props, "allowForwardedTraffic").and_then(json::as_bool) == Some(false) {
                self.d.facts.push(format!(
                    "{label} does not allow forwarded traffic: the lab forwards it (not modelled)"
                ));
            }
            halves.insert(
                (from_vnet.name.clone(), remote.name.clone()),
                (transit, remote_gw, label),
            );
        }
        let mut done = BTreeSet::new();
        for ((x, y), (x_transit, x_remote, label)) in &halves {
            if done.contains(&(y.clone(), x.clone())) {
                continue;
            }
            done.insert((x.clone(), y.clone()));
            let Some((y_transit, y_remote, _)) = halves.get(&(y.clone(), x.clone())) else {
                self.d.notes.push(format!("not connected: {label} has no half from '{y}' back to '{x}' (the platform shows it Initiated)"));
                continue;
            };
            // `a` is the hub: the side that allows transit, or whose peer uses its gateways.
            let (a, b, allow, use_remote) = if *x_transit || *y_remote {
                (x, y, *x_transit, *y_remote)
            } else if *y_transit || *x_remote {
                (y, x, *y_transit, *x_remote)
            } else {
                (x, y, false, false)
            };
            self.d.peerings.push(PeeringSpec {
                a: a.clone(),
                b: b.clone(),
                allow_gateway_transit: allow,
                use_remote_gateways: use_remote,
            });
        }
    }

    fn gateways(&mut self) {
        let gws: Vec<&Resource> = self.of(GATEWAY).collect();
        for g in gws {
            let item = g.label();
            let kind = match g
                .prop("gatewayType")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("vpn") => GatewayKind::Vpn,
                Some("expressroute") => GatewayKind::ExpressRoute,
                Some("localgateway") => {
                    self.d.notes.push(format!(
                        "not modelled: {GATEWAY} {} (gateway type LocalGateway)",
                        g.name
                    ));
                    continue;
                }
                other => {
                    self.problem(
                        format!("{item}, property gatewayType"),
                        format!(
                            "{} is not Vpn or ExpressRoute",
                            other.map_or("nothing".to_string(), |o| format!("'{o}'"))
                        ),
                    );
                    continue;
                }
            };
            let sku_name = g
                .prop("sku.name")
                .or_else(|| g.field("sku.name"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let gen2 = g
                .prop("vpnGatewayGeneration")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("Generation2"));
            let scale = g
                .prop("autoScaleConfiguration.bounds.min")
                .and_then(json::as_int);
            let Some(sku) = sku(kind, &sku_name, gen2, scale) else {
                self.problem(format!("{item}, property sku.name"), format!("'{sku_name}' is not a SKU a{} gateway has (README, \"Your own design\", lists them)", if kind == GatewayKind::Vpn { " VPN" } else { "n ExpressRoute" }));
                continue;
            };
            let configs = g
                .prop("ipConfigurations")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut vnet = None;
            let mut public = Vec::new();
            for (i, c) in configs.iter().enumerate() {
                if let Some(s) = json::at(json::props(c), "subnet") {
                    match Self::name_of(s) {
                        Some((_, full)) => match full.split_once('/') {
                            Some((v, sub)) if sub.eq_ignore_ascii_case("GatewaySubnet") => vnet = Some(v.to_string()),
                            _ => self.problem(format!("{item}, property ipConfigurations.subnet"), format!("'{full}' is not a VNet's GatewaySubnet, where a gateway must be")),
                        },
                        None => self.problem(format!("{item}, property ipConfigurations.subnet"), "is not a subnet's resource ID"),
                    }
                }
                if kind == GatewayKind::Vpn {
                    public.push(self.public_ip(&item, c, i as u8));
                }
            }
            let Some(vnet_name) = vnet else {
                self.problem(item, "names no GatewaySubnet in its ipConfigurations");
                continue;
            };
            let Some(vnet) = self.find(VNET, &vnet_name).map(|v| v.name.clone()) else {
                self.problem(
                    format!("{item}, property ipConfigurations.subnet"),
                    format!("refers to VNet '{vnet_name}', which the design does not define"),
                );
                continue;
            };
            let active_active = self.flag(&item, "activeActive", g.prop("activeActive"));
            let bgp = self.flag(&item, "enableBgp", g.prop("enableBgp"));
            let asn = if bgp || kind == GatewayKind::ExpressRoute {
                self.asn(&item, "bgpSettings.asn", g.prop("bgpSettings.asn"))
                    .filter(|a| *a != crate::lab::GATEWAY_ASN)
            } else {
                None
            };
            let vpn_type = match g
                .prop("vpnType")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("policybased") => Some(VpnType::PolicyBased),
                _ => None,
            };
            let pool = g
                .prop("vpnClientConfiguration.vpnClientAddressPool.addressPrefixes")
                .and_then(|a| a.get(0))
                .cloned();
            let p2s_pool = pool.and_then(|p| {
                self.prefix(
                    &item,
                    "vpnClientConfiguration.vpnClientAddressPool.addressPrefixes",
                    &p,
                )
            });
            if let Some(protocols) = g
                .prop("vpnClientConfiguration.vpnClientProtocols")
                .and_then(Value::as_array)
            {
                let list: Vec<String> = protocols
                    .iter()
                    .map(|p| json::show(p).trim_matches('"').to_string())
                    .collect();
                self.d.facts.push(format!(
                    "gateway '{}' offers point-to-site over {}",
                    g.name,
                    list.join(", ")
                ));
            }
            if kind == GatewayKind::Vpn && active_active && configs.len() < 2 {
                self.problem(format!("{item}, property ipConfigurations"), "is active-active with fewer than two IP configurations (each instance needs its own public IP)");
            }
            self.d.gateways.push(GatewaySpec {
                name: g.name.clone(),
                vnet,
                kind,
                sku,
                asn,
                vpn_type,
                public_ip: public.first().cloned().flatten(),
                internet: None,
                active_active: kind == GatewayKind::Vpn && active_active,
                second_public_ip: if active_active {
                    public.get(1).cloned().flatten()
                } else {
                    None
                },
                planned_failover: None,
                unplanned_failover: None,
                programming_delay: None,
                p2s_pool,
                throughput: None,
                pps: None,
                queue: None,
            });
        }
    }

    /// A VPN gateway instance's public address as `ADDR/LEN` (the internet node takes the
    /// other host of a /30, or of a /31 where the address is a /30's first or last), or an
    /// unknown the assumptions fill.
    fn public_ip(&mut self, item: &str, config: &Value, instance: u8) -> Option<String> {
        let label = format!("gateway '{}'", item.rsplit('\'').nth(1).unwrap_or(""));
        let pip_ref = json::at(json::props(config), "publicIPAddress")?;
        let pip = self.follow(
            item,
            "ipConfigurations.publicIPAddress",
            Some(pip_ref),
            PUBLIC_IP,
        )?;
        self.used_public_ips
            .insert(self.index[&key(&pip.kind, &pip.name)]);
        match pip.prop("ipAddress") {
            Some(v) if is_unknown(v).is_none() => {
                let a = self.address(&pip.label(), "ipAddress", v)?;
                Some(host_prefix(a))
            }
            other => {
                let what = other.and_then(is_unknown).map_or_else(
                    || format!("public IP '{}' (allocated at deployment)", pip.name),
                    |w| w.to_string(),
                );
                self.d.unknown.push(Unknown {
                    item: label,
                    field: Field::PublicIp(instance),
                    what,
                });
                None
            }
        }
    }

    fn local_gateways(&mut self) {
        let lngs: Vec<&Resource> = self.of(LOCAL_GATEWAY).collect();
        for l in lngs {
            let item = l.label();
            let ip = match (l.prop("gatewayIpAddress"), l.prop("fqdn")) {
                (Some(v), _) if is_unknown(v).is_none() => self
                    .address(&item, "gatewayIpAddress", v)
                    .map(|a| a.to_string()),
                (_, Some(f)) => {
                    self.d.unknown.push(Unknown {
                        item: format!("local gateway '{}'", l.name),
                        field: Field::LocalIp,
                        what: format!("fqdn {}", json::show(f)),
                    });
                    Some(String::new())
                }
                (Some(v), None) => {
                    self.d.unknown.push(Unknown {
                        item: format!("local gateway '{}'", l.name),
                        field: Field::LocalIp,
                        what: is_unknown(v).unwrap_or("").to_string(),
                    });
                    Some(String::new())
                }
                (None, None) => {
                    self.problem(item.clone(), "has neither gatewayIpAddress nor fqdn");
                    None
                }
            };
            let Some(ip) = ip else { continue };
            let prefixes = self.prefixes(
                &item,
                "localNetworkAddressSpace.addressPrefixes",
                l.prop("localNetworkAddressSpace.addressPrefixes"),
            );
            let bgp = match l.prop("bgpSettings") {
                Some(b) if !b.is_null() => {
                    let asn = self.asn(&item, "bgpSettings.asn", json::get(b, "asn"));
                    let addr = match json::get(b, "bgpPeeringAddress") {
                        Some(v) => self.address(&item, "bgpSettings.bgpPeeringAddress", v),
                        None => {
                            self.problem(
                                format!("{item}, property bgpSettings"),
                                "has no bgpPeeringAddress",
                            );
                            None
                        }
                    };
                    asn.zip(addr).map(|(asn, ip)| LocalBgpSpec {
                        asn,
                        ip: ip.to_string(),
                        announce: vec![],
                        prepend: None,
                    })
                }
                _ => None,
            };
            // The BGP peer's own /32 (which older API versions required in the address space)
            // is the session's address, not a network behind the device.
            let prefixes = prefixes
                .into_iter()
                .filter(|p| bgp.as_ref().is_none_or(|b| *p != format!("{}/32", b.ip)))
                .collect();
            self.d.local_gateways.push(LocalGatewaySpec {
                name: l.name.clone(),
                device: String::new(),
                ip,
                prefixes,
                bgp,
            });
        }
    }

    fn circuits(&mut self) {
        let circuits: Vec<&Resource> = self.of(CIRCUIT).collect();
        for c in circuits {
            let item = c.label();
            let bandwidth = if let Some(m) = c.prop("serviceProviderProperties.bandwidthInMbps") {
                self.int(&item, "serviceProviderProperties.bandwidthInMbps", Some(m))
                    .map(|m| m.saturating_mul(1_000_000))
            } else if let Some(g) = c.prop("bandwidthInGbps") {
                let g = g.as_f64().or_else(|| json::as_int(g).map(|i| i as f64));
                g.map(|g| (g * 1e9) as i64)
            } else {
                self.problem(item.clone(), "has no bandwidth (serviceProviderProperties.bandwidthInMbps or bandwidthInGbps)");
                None
            };
            let Some(bandwidth) = bandwidth else { continue };
            let tier = c
                .field("sku.tier")
                .and_then(Value::as_str)
                .unwrap_or("Standard")
                .to_string();
            let location = c
                .prop("serviceProviderProperties.peeringLocation")
                .or_else(|| c.prop("peeringLocation"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let mut authorizations: Vec<String> = c
                .prop("authorizations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    json::get(a, "name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect();
            for a in self
                .of(CIRCUIT_AUTHORIZATION)
                .filter(|a| a.parent_name().eq_ignore_ascii_case(&c.name))
            {
                if !authorizations
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(a.short_name()))
                {
                    authorizations.push(a.short_name().to_string());
                }
            }
            authorizations.sort();
            // Peerings: from the `peerings` property and child resources.
            let mut peerings: Vec<(String, String, Value)> = c
                .prop("peerings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    let name = json::get(p, "name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    (
                        name.clone(),
                        format!("{item}, peering '{name}'"),
                        json::props(p).clone(),
                    )
                })
                .collect();
            for p in self
                .of(CIRCUIT_PEERING)
                .filter(|p| p.parent_name().eq_ignore_ascii_case(&c.name))
            {
                peerings.retain(|q| !q.0.eq_ignore_ascii_case(p.short_name()));
                peerings.push((
                    p.short_name().to_string(),
                    p.label(),
                    json::props(&p.body).clone(),
                ));
            }
            let mut private = None;
            for (name, label, props) in peerings {
                let ty = json::get(&props, "peeringType")
                    .and_then(Value::as_str)
                    .unwrap_or(&name)
                    .to_string();
                if ty.eq_ignore_ascii_case("AzurePrivatePeering") {
                    private = Some((name, label, props));
                } else {
                    self.d.notes.push(format!(
                        "not modelled: circuit '{}' peering '{name}' ({ty})",
                        c.name
                    ));
                }
            }
            let Some((peering_name, label, props)) = private else {
                self.d.notes.push(format!("not connected: {item} has no private peering, so no VNet is reached over it: left out"));
                continue;
            };
            let primary = json::get(&props, "primaryPeerAddressPrefix")
                .and_then(|p| self.prefix(&label, "primaryPeerAddressPrefix", p));
            let secondary = json::get(&props, "secondaryPeerAddressPrefix")
                .and_then(|p| self.prefix(&label, "secondaryPeerAddressPrefix", p));
            let asn = self.asn(&label, "peerASN", json::get(&props, "peerASN"));
            if let Some(vlan) = json::get(&props, "vlanId").and_then(json::as_int) {
                self.d
                    .facts
                    .push(format!("circuit '{}' private peering: VLAN {vlan}", c.name));
            }
            let (Some(primary), Some(secondary), Some(asn)) = (primary, secondary, asn) else {
                if json::get(&props, "primaryPeerAddressPrefix").is_none()
                    || json::get(&props, "secondaryPeerAddressPrefix").is_none()
                    || json::get(&props, "peerASN").is_none()
                {
                    self.problem(
                        label,
                        "needs primaryPeerAddressPrefix, secondaryPeerAddressPrefix and peerASN",
                    );
                }
                continue;
            };
            self.d.circuit_peer_asn.insert(c.name.clone(), asn);
            self.global_reach(c, &peering_name, &label, &props);
            self.d.circuits.push(CircuitSpec {
                peering_location: location,
                authorizations,
                premium: tier.eq_ignore_ascii_case("Premium"),
                ..CircuitSpec::new(
                    &c.name,
                    "",
                    Bitrate(u64::try_from(bandwidth).unwrap_or(0)),
                    primary,
                    secondary,
                )
            });
        }
    }

    /// Global Reach connections on a circuit's private peering (property or child resources).
    fn global_reach(&mut self, c: &Resource, peering: &str, label: &str, props: &Value) {
        let mut raw: Vec<(String, String, Value)> = json::get(props, "connections")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|x| {
                let n = json::get(x, "name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                (
                    n.clone(),
                    format!("{label}, connection '{n}'"),
                    json::props(x).clone(),
                )
            })
            .collect();
        let parent = format!("{}/{peering}", c.name);
        for x in self
            .of(GLOBAL_REACH)
            .filter(|x| x.parent_name().eq_ignore_ascii_case(&parent))
        {
            raw.retain(|r| !r.0.eq_ignore_ascii_case(x.short_name()));
            raw.push((
                x.short_name().to_string(),
                x.label(),
                json::props(&x.body).clone(),
            ));
        }
        for (name, item, p) in raw {
            let Some(peer) = json::get(&p, "peerExpressRouteCircuitPeering") else {
                self.problem(item, "has no peerExpressRouteCircuitPeering");
                continue;
            };
            let peer_pc = self.private_cloud_of(peer);
            if let Some(what) = is_unknown(peer).filter(|_| peer_pc.is_none()) {
                self.d.notes.push(format!(
                    "not connected: {item}: its peer circuit is known only at deployment ({what})"
                ));
                continue;
            }
            let peer = match peer_pc {
                Some(pc) => match self.private_cloud_circuit(&item, &pc) {
                    Some(c) => Some(c),
                    None => continue,
                },
                None => None,
            }
            .map_or_else(|| self.customer_circuit(&item, peer), Some);
            let Some(peer) = peer else {
                continue;
            };
            let Some(subnet) =
                json::get(&p, "addressPrefix").and_then(|a| self.prefix(&item, "addressPrefix", a))
            else {
                self.problem(item, "has no addressPrefix (a /29)");
                continue;
            };
            let authorization =
                json::get(&p, "authorizationKey").and_then(|k| self.authorization_name(k, &peer));
            self.d.global_reach.push(GlobalReachSpec {
                name,
                circuit: c.name.clone(),
                peer,
                subnet,
                authorization,
            });
        }
    }

    /// The circuit of the design a Global Reach connection's peer peering ID names.
    fn customer_circuit(&mut self, item: &str, peer: &Value) -> Option<String> {
        let Some((_, full)) = Self::name_of(peer) else {
            self.problem(
                format!("{item}, property peerExpressRouteCircuitPeering"),
                "is not a circuit peering's resource ID",
            );
            return None;
        };
        let peer_circuit = full.split('/').next().unwrap_or("").to_string();
        let found = self.find(CIRCUIT, &peer_circuit).map(|r| r.name.clone());
        if found.is_none() {
            self.problem(
                format!("{item}, property peerExpressRouteCircuitPeering"),
                format!("refers to circuit '{peer_circuit}', which the design does not define"),
            );
        }
        found
    }

    /// The authorization an authorization key stands for: the one a `reference(...)` reads
    /// the key of, or one of that name; a key the code holds as a secret is taken to be the
    /// circuit's first authorization, which a note states.
    fn authorization_name(&mut self, key: &Value, circuit: &str) -> Option<String> {
        // Each authorization's name and, where the JSON holds it (a deployed circuit), its key.
        let mut auths: Vec<(String, Option<String>)> = Vec::new();
        if let Some(c) = self.find(CIRCUIT, circuit) {
            for a in c
                .prop("authorizations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = json::get(a, "name").and_then(Value::as_str) {
                    let k = json::at(json::props(a), "authorizationKey")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    auths.push((n.to_string(), k));
                }
            }
        }
        for a in self
            .of(CIRCUIT_AUTHORIZATION)
            .filter(|a| a.parent_name().eq_ignore_ascii_case(circuit))
        {
            if !auths
                .iter()
                .any(|x| x.0.eq_ignore_ascii_case(a.short_name()))
            {
                let k = a
                    .prop("authorizationKey")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                auths.push((a.short_name().to_string(), k));
            }
        }
        auths.extend(self.private_cloud_authorizations(circuit));
        auths.sort();
        let text = is_unknown(key)
            .map(str::to_string)
            .or_else(|| key.as_str().map(str::to_string))?;
        let lower = text.to_ascii_lowercase();
        let names = |(a, k): &(String, Option<String>)| {
            text == *a
                || k.as_deref() == Some(text.as_str())
                || text.contains(&format!("'{a}'"))
                || lower.contains(&format!("/authorizations/{}\"", a.to_ascii_lowercase()))
        };
        if let Some((a, _)) = auths.iter().find(|x| names(x)) {
            return Some(a.clone());
        }
        let first = auths.first()?.0.clone();
        self.d.assumed.push(format!("the authorization key {} is circuit '{circuit}''s authorization '{first}' (the code holds the key, not which authorization issued it)", json::show(key)));
        Some(first)
    }

    fn connections(&mut self) {
        let conns: Vec<&Resource> = self.of(CONNECTION).collect();
        let mut v2v: Vec<(String, String, String, CipherSuite, Option<DpdSpec>)> = Vec::new();
        for c in conns {
            let item = c.label();
            let ty = c
                .prop("connectionType")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            if ty == "vpnclient" {
                self.d
                    .notes
                    .push(format!("not modelled: {CONNECTION} {} (VPNClient)", c.name));
                continue;
            }
            let gw = self.gateway_ref(
                &item,
                "virtualNetworkGateway1",
                c.prop("virtualNetworkGateway1"),
            );
            let cipher = self.cipher(&item, c.prop("ipsecPolicies"));
            let dpd = match c.prop("dpdTimeoutSeconds") {
                Some(v) => self
                    .int(&item, "dpdTimeoutSeconds", Some(v))
                    .map(|s| DpdSpec {
                        interval: None,
                        timeout: Some(Duration(
                            u64::try_from(s).unwrap_or(0).saturating_mul(1_000_000_000),
                        )),
                    }),
                None => Some(DpdSpec::default()),
            };
            let weight = self.int(&item, "routingWeight", c.prop("routingWeight"));
            match ty.as_str() {
                "ipsec" => {
                    let local = self
                        .follow(
                            &item,
                            "localNetworkGateway2",
                            c.prop("localNetworkGateway2"),
                            LOCAL_GATEWAY,
                        )
                        .map(|l| l.name.clone());
                    if c.prop("localNetworkGateway2").is_none() {
                        self.problem(
                            item.clone(),
                            "is an IPsec connection without localNetworkGateway2",
                        );
                    }
                    let bgp = self.flag(&item, "enableBgp", c.prop("enableBgp"));
                    let (Some(gateway), Some(local)) = (gw, local) else {
                        continue;
                    };
                    if !bgp {
                        if let Some(l) = self.d.local_gateways.iter_mut().find(|l| l.name == local)
                        {
                            if l.bgp.take().is_some() {
                                self.d.facts.push(format!("local gateway '{local}' has BGP settings but connection '{}' does not enable BGP: static routes", c.name));
                            }
                        }
                    } else if self
                        .d
                        .local_gateways
                        .iter()
                        .any(|l| l.name == local && l.bgp.is_none())
                    {
                        self.problem(
                            format!("{item}, property enableBgp"),
                            format!(
                                "is true but local network gateway '{local}' has no bgpSettings"
                            ),
                        );
                    }
                    self.d.connections.push(ConnectionSpec::SiteToSite {
                        name: c.name.clone(),
                        gateway,
                        local,
                        cipher,
                        nat_t: false,
                        mss_clamp: Some(1350),
                        dpd,
                    });
                }
                "vnet2vnet" => {
                    let other = self.gateway_ref(
                        &item,
                        "virtualNetworkGateway2",
                        c.prop("virtualNetworkGateway2"),
                    );
                    if let (Some(a), Some(b)) = (gw, other) {
                        v2v.push((c.name.clone(), a, b, cipher, dpd));
                    }
                }
                "expressroute" => {
                    let pc = c.prop("peer").and_then(|p| self.private_cloud_of(p));
                    let circuit = match c.prop("peer") {
                        Some(_) if pc.is_some() => {
                            match self.private_cloud_circuit(&item, pc.as_deref().unwrap_or("")) {
                                Some(x) => Some(x),
                                None => continue,
                            }
                        }
                        Some(p) => match Self::name_of(p) {
                            Some((_, n))
                                if self
                                    .d
                                    .circuits
                                    .iter()
                                    .any(|x| x.name.eq_ignore_ascii_case(&n)) =>
                            {
                                self.d
                                    .circuits
                                    .iter()
                                    .find(|x| x.name.eq_ignore_ascii_case(&n))
                                    .map(|x| x.name.clone())
                            }
                            Some((_, n)) if self.find(CIRCUIT, &n).is_some() => {
                                self.d.notes.push(format!(
                                    "not connected: {item}: circuit '{n}' is left out (see above)"
                                ));
                                continue;
                            }
                            Some((_, n)) => {
                                self.problem(format!("{item}, property peer"), format!("refers to circuit '{n}', which the design does not define (import the template that does as another design entry)"));
                                None
                            }
                            None => {
                                let what = is_unknown(p).map_or_else(
                                    || format!("{} is not a circuit's resource ID", json::show(p)),
                                    |w| format!("is known only at deployment ({w})"),
                                );
                                self.problem(format!("{item}, property peer"), what);
                                None
                            }
                        },
                        None => {
                            self.problem(
                                item.clone(),
                                "is an ExpressRoute connection without peer (the circuit)",
                            );
                            None
                        }
                    };
                    let (Some(gateway), Some(circuit)) = (gw, circuit) else {
                        continue;
                    };
                    let authorization = c
                        .prop("authorizationKey")
                        .cloned()
                        .and_then(|k| self.authorization_name(&k, &circuit));
                    if self.flag(
                        &item,
                        "expressRouteGatewayBypass",
                        c.prop("expressRouteGatewayBypass"),
                    ) {
                        if let Some(x) = self.d.circuits.iter_mut().find(|x| x.name == circuit) {
                            x.fast_path = true;
                        }
                    }
                    let routing_weight = weight
                        .filter(|w| *w != 0)
                        .map(|w| u32::try_from(w).unwrap_or(0));
                    self.d.connections.push(ConnectionSpec::ExpressRoute {
                        name: c.name.clone(),
                        gateway,
                        circuit,
                        authorization,
                        routing_weight,
                    });
                }
                other => self.problem(
                    format!("{item}, property connectionType"),
                    format!("'{other}' is not IPsec, Vnet2Vnet, ExpressRoute or VPNClient"),
                ),
            }
        }
        // The platform makes a VNet-to-VNet connection of two resources, one each way.
        v2v.sort_by(|x, y| (&x.0, &x.1, &x.2).cmp(&(&y.0, &y.1, &y.2)));
        let mut done = BTreeSet::new();
        for (i, (name, a, b, cipher, dpd)) in v2v.iter().enumerate() {
            if done.contains(&i) {
                continue;
            }
            match v2v.iter().enumerate().position(|(j, x)| j != i && !done.contains(&j) && x.1 == *b && x.2 == *a) {
                Some(j) => {
                    done.insert(j);
                    self.d.connections.push(ConnectionSpec::VnetToVnet { name: name.clone(), a: a.clone(), b: b.clone(), cipher: *cipher, mss_clamp: Some(1350), dpd: dpd.clone() });
                }
                None => self.d.notes.push(format!("not connected: {CONNECTION} {name} (Vnet2Vnet from '{a}' to '{b}') has no connection back from '{b}' to '{a}'")),
            }
        }
    }

    fn gateway_ref(&mut self, item: &str, prop: &str, v: Option<&Value>) -> Option<String> {
        if v.is_none() {
            self.problem(item.to_string(), format!("has no {prop}"));
            return None;
        }
        let g = self.follow(item, prop, v, GATEWAY)?;
        let name = g.name.clone();
        // A gateway the mapping refused has its own problem already.
        self.d
            .gateways
            .iter()
            .any(|x| x.name == name)
            .then_some(name)
    }

    /// The ESP transform of a custom IPsec policy; none is the default negotiation (AES-GCM).
    fn cipher(&mut self, item: &str, policies: Option<&Value>) -> CipherSuite {
        let Some(p) = policies.and_then(Value::as_array).and_then(|a| a.first()) else {
            return CipherSuite::AesGcm;
        };
        let enc = json::get(p, "ipsecEncryption")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        let integ = json::get(p, "ipsecIntegrity")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        match (enc.as_str(), integ.as_str()) {
            (e, _) if e.starts_with("GCMAES") => CipherSuite::AesGcm,
            ("AES256" | "AES192" | "AES128", "SHA256") => CipherSuite::AesCbcSha256,
            ("AES256" | "AES192" | "AES128", "SHA1") => CipherSuite::AesCbcSha1,
            _ => {
                self.problem(format!("{item}, property ipsecPolicies"), format!("ESP {enc} with {integ} is not modelled (GCMAES*, or AES* with SHA256 or SHA1)"));
                CipherSuite::AesGcm
            }
        }
    }

    /// Public IPs and NICs nothing in the design uses.
    fn leftovers(&mut self) {
        for (i, r) in self.res.iter().enumerate() {
            if r.is(PUBLIC_IP) && !self.used_public_ips.contains(&i) {
                self.d.notes.push(format!(
                    "not modelled: {PUBLIC_IP} {} (no VPN gateway uses it)",
                    r.name
                ));
            }
            if r.is(NIC) && !self.used_nics.contains(&i) {
                self.d
                    .notes
                    .push(format!("not modelled: {NIC} {} (no VM uses it)", r.name));
            }
        }
    }
}

/// `a` with the length that gives it a peer host: a /30 where `a` is one of its two hosts,
/// else a /31.
pub fn host_prefix(a: Ipv4Addr) -> String {
    match u32::from(a) % 4 {
        1 | 2 => format!("{a}/30"),
        _ => format!("{a}/31"),
    }
}

/// The lab SKU for a gateway's type and the platform's SKU name (without case); legacy names
/// are the VPN SKUs they were for a VPN gateway and the ExpressRoute ones for an ER gateway.
pub fn sku(kind: GatewayKind, name: &str, gen2: bool, scale_units: Option<i64>) -> Option<Sku> {
    use Sku::*;
    let n = name.to_ascii_lowercase();
    match kind {
        GatewayKind::Vpn => Some(match (n.as_str(), gen2) {
            ("basic", _) => Basic,
            ("standard", _) => VpnStandard,
            ("highperformance", _) => VpnHighPerformance,
            ("vpngw1", false) => VpnGw1,
            ("vpngw2", false) => VpnGw2,
            ("vpngw3", false) => VpnGw3,
            ("vpngw4", false) => VpnGw4,
            ("vpngw5", false) => VpnGw5,
            ("vpngw1", true) => VpnGw1Gen2,
            ("vpngw2", true) => VpnGw2Gen2,
            ("vpngw3", true) => VpnGw3Gen2,
            ("vpngw4", true) => VpnGw4Gen2,
            ("vpngw5", true) => VpnGw5Gen2,
            ("vpngw1az", _) => VpnGw1Az,
            ("vpngw2az", _) => VpnGw2Az,
            ("vpngw3az", _) => VpnGw3Az,
            ("vpngw4az", _) => VpnGw4Az,
            ("vpngw5az", _) => VpnGw5Az,
            _ => return None,
        }),
        GatewayKind::ExpressRoute => Some(match n.as_str() {
            "standard" => Standard,
            "highperformance" => HighPerformance,
            "ultraperformance" => UltraPerformance,
            "ergw1az" => ErGw1Az,
            "ergw2az" => ErGw2Az,
            "ergw3az" => ErGw3Az,
            "ergwscale" => {
                ErGwScale(u32::try_from(scale_units.unwrap_or(1).clamp(1, 40)).unwrap_or(1))
            }
            _ => return None,
        }),
    }
}
