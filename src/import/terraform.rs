//! Terraform's JSON, translated into the platform's resource model so one mapping serves every
//! format: `terraform show -json` of a plan (`resource_changes`, each `after` with its
//! `after_unknown`; references to resources not yet created are followed through the plan's
//! `configuration`) or of a state (`values.root_module` and every `child_modules`), and a raw
//! `terraform.tfstate` (version 4). `format_version` 0.x and 1.x are read.
//!
//! azurerm's attributes mirror the resource model's properties in snake case (domain.md,
//! "Designs as infrastructure code"); [`translate`] renames them per type, synthesising the IDs
//! a plan does not know yet from names. Values known only after apply become unknowns, which
//! the mapping turns into stated assumptions where it can.

use super::arm::expr::unknown;
use super::json;
use super::resource::Resource;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What kind of Terraform JSON a value is.
pub fn is_terraform(v: &Value) -> bool {
    json::get(v, "format_version").is_some()
        && [
            "values",
            "planned_values",
            "resource_changes",
            "prior_state",
        ]
        .iter()
        .any(|k| json::get(v, k).is_some())
        || json::get(v, "version").and_then(Value::as_i64).is_some()
            && json::get(v, "terraform_version").is_some()
}

/// One managed resource: its address, type, and attribute values with what is not known yet.
struct TfResource {
    address: String,
    kind: String,
    values: Value,
    /// `after_unknown` of a plan: the same shape as `values`, `true` where a value is unknown.
    unknown: Value,
}

/// The resources of a Terraform JSON document, translated; problems as (item, reason).
pub fn resources(v: &Value, notes: &mut Vec<String>) -> Result<Vec<Resource>, (String, String)> {
    let mut list = Vec::new();
    let mut config = BTreeMap::new();
    if let Some(fv) = json::get(v, "format_version") {
        let fv = fv.as_str().unwrap_or("");
        if !(fv.starts_with("0.") || fv.starts_with("1.")) {
            return Err((
                "format_version".into(),
                format!(
                    "'{fv}' is not a version read here (0.x and 1.x of `terraform show -json`)"
                ),
            ));
        }
        if let Some(changes) = json::get(v, "resource_changes").and_then(Value::as_array) {
            for c in changes {
                if json::get(c, "mode").and_then(Value::as_str) != Some("managed") {
                    continue;
                }
                let actions: Vec<&str> = json::at(c, "change.actions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if actions == ["delete"] {
                    continue;
                }
                list.push(TfResource {
                    address: text(c, "address"),
                    kind: text(c, "type"),
                    values: json::at(c, "change.after").cloned().unwrap_or(Value::Null),
                    unknown: json::at(c, "change.after_unknown")
                        .cloned()
                        .unwrap_or(Value::Null),
                });
            }
            if let Some(root) = json::at(v, "configuration.root_module") {
                expressions(root, "", &mut config);
            }
        } else {
            let root = json::at(v, "values.root_module")
                .or_else(|| json::at(v, "planned_values.root_module"));
            if let Some(root) = root {
                module(root, &mut list);
            }
        }
    } else {
        let version = json::get(v, "version").and_then(Value::as_i64).unwrap_or(0);
        if version != 4 {
            return Err((
                "version".into(),
                format!("{version} is not a state version read here (4, Terraform 0.12 and later)"),
            ));
        }
        for r in json::get(v, "resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if json::get(r, "mode").and_then(Value::as_str) != Some("managed") {
                continue;
            }
            let prefix = json::get(r, "module")
                .and_then(Value::as_str)
                .map_or(String::new(), |m| format!("{m}."));
            let base = format!("{prefix}{}.{}", text(r, "type"), text(r, "name"));
            for i in json::get(r, "instances")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let address = match json::get(i, "index_key") {
                    Some(Value::String(k)) => format!("{base}[\"{k}\"]"),
                    Some(k) if !k.is_null() => format!("{base}[{k}]"),
                    _ => base.clone(),
                };
                list.push(TfResource {
                    address,
                    kind: text(r, "type"),
                    values: json::get(i, "attributes").cloned().unwrap_or(Value::Null),
                    unknown: Value::Null,
                });
            }
        }
    }
    let by_address: BTreeMap<String, usize> = list
        .iter()
        .enumerate()
        .map(|(i, r)| (r.address.clone(), i))
        .collect();
    let t = Translator {
        list: &list,
        by_address,
        config,
    };
    let mut out = Vec::new();
    for r in &list {
        t.translate(r, &mut out, notes)?;
    }
    t.associate(&mut out)?;
    Ok(out)
}

fn text(v: &Value, key: &str) -> String {
    json::get(v, key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A state's module and its child modules, depth first.
fn module(m: &Value, out: &mut Vec<TfResource>) {
    for r in json::get(m, "resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if json::get(r, "mode").and_then(Value::as_str) == Some("managed") {
            out.push(TfResource {
                address: text(r, "address"),
                kind: text(r, "type"),
                values: json::get(r, "values").cloned().unwrap_or(Value::Null),
                unknown: Value::Null,
            });
        }
    }
    for c in json::get(m, "child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        module(c, out);
    }
}

/// A plan's configuration: each resource's `expressions`, by address (`module.NAME.` before
/// resources of module calls).
fn expressions(m: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    for r in json::get(m, "resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.insert(
            format!("{prefix}{}", text(r, "address")),
            json::get(r, "expressions").cloned().unwrap_or(Value::Null),
        );
    }
    for (name, call) in json::get(m, "module_calls")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let inner_prefix = format!("{prefix}module.{name}.");
        // What the call passes the module's variables, resolved in this module.
        out.insert(
            format!("{inner_prefix}var"),
            json::get(call, "expressions")
                .cloned()
                .unwrap_or(Value::Null),
        );
        if let Some(inner) = json::get(call, "module") {
            expressions(inner, &inner_prefix, out);
        }
    }
}

struct Translator<'a> {
    list: &'a [TfResource],
    by_address: BTreeMap<String, usize>,
    config: BTreeMap<String, Value>,
}

/// The ARM type of each azurerm type the model reads or names.
const TYPES: &[(&str, &str)] = &[
    (
        "azurerm_virtual_network",
        "Microsoft.Network/virtualNetworks",
    ),
    (
        "azurerm_subnet",
        "Microsoft.Network/virtualNetworks/subnets",
    ),
    (
        "azurerm_virtual_network_peering",
        "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    ),
    (
        "azurerm_virtual_network_gateway",
        "Microsoft.Network/virtualNetworkGateways",
    ),
    (
        "azurerm_local_network_gateway",
        "Microsoft.Network/localNetworkGateways",
    ),
    (
        "azurerm_virtual_network_gateway_connection",
        "Microsoft.Network/connections",
    ),
    (
        "azurerm_express_route_circuit",
        "Microsoft.Network/expressRouteCircuits",
    ),
    (
        "azurerm_express_route_circuit_peering",
        "Microsoft.Network/expressRouteCircuits/peerings",
    ),
    (
        "azurerm_express_route_circuit_authorization",
        "Microsoft.Network/expressRouteCircuits/authorizations",
    ),
    (
        "azurerm_express_route_circuit_connection",
        "Microsoft.Network/expressRouteCircuits/peerings/connections",
    ),
    ("azurerm_route_table", "Microsoft.Network/routeTables"),
    ("azurerm_route", "Microsoft.Network/routeTables/routes"),
    (
        "azurerm_network_interface",
        "Microsoft.Network/networkInterfaces",
    ),
    (
        "azurerm_linux_virtual_machine",
        "Microsoft.Compute/virtualMachines",
    ),
    (
        "azurerm_windows_virtual_machine",
        "Microsoft.Compute/virtualMachines",
    ),
    (
        "azurerm_virtual_machine",
        "Microsoft.Compute/virtualMachines",
    ),
    ("azurerm_public_ip", "Microsoft.Network/publicIPAddresses"),
    (
        "azurerm_vmware_private_cloud",
        "Microsoft.AVS/privateClouds",
    ),
    (
        "azurerm_vmware_express_route_authorization",
        "Microsoft.AVS/privateClouds/authorizations",
    ),
    (
        "azurerm_network_security_group",
        "Microsoft.Network/networkSecurityGroups",
    ),
    ("azurerm_virtual_hub", "Microsoft.Network/virtualHubs"),
    ("azurerm_route_server", "Microsoft.Network/virtualHubs"),
    ("azurerm_virtual_wan", "Microsoft.Network/virtualWans"),
    ("azurerm_vpn_gateway", "Microsoft.Network/vpnGateways"),
    (
        "azurerm_express_route_gateway",
        "Microsoft.Network/expressRouteGateways",
    ),
    (
        "azurerm_express_route_connection",
        "Microsoft.Network/expressRouteGateways/expressRouteConnections",
    ),
    (
        "azurerm_virtual_network_gateway_nat_rule",
        "Microsoft.Network/virtualNetworkGateways/natRules",
    ),
    ("azurerm_firewall", "Microsoft.Network/azureFirewalls"),
    ("azurerm_lb", "Microsoft.Network/loadBalancers"),
    (
        "azurerm_express_route_port",
        "Microsoft.Network/expressRoutePorts",
    ),
];

impl Translator<'_> {
    /// A plain attribute (null and unknown count as absent).
    fn get<'v>(&self, r: &'v TfResource, key: &str) -> Option<&'v Value> {
        json::get(&r.values, key).filter(|v| !v.is_null())
    }

    fn is_unknown(r: &TfResource, path: &[&str]) -> bool {
        let mut u = &r.unknown;
        for p in path {
            u = match (u, p.parse::<usize>()) {
                (Value::Array(a), Ok(i)) => match a.get(i) {
                    Some(x) => x,
                    None => return false,
                },
                _ => match json::get(u, p) {
                    Some(x) => x,
                    None => return false,
                },
            };
        }
        u == &Value::Bool(true)
    }

    /// An attribute at `path` (`ip_configuration.0.subnet_id`): its value, an unknown where a
    /// plan does not know it yet, or `None`.
    fn attr(&self, r: &TfResource, path: &str) -> Option<Value> {
        let parts: Vec<&str> = path.split('.').collect();
        if let Some(v) = Self::walk(&r.values, &parts) {
            return Some(v.clone());
        }
        Self::is_unknown(r, &parts)
            .then(|| unknown(&format!("{}.{path} (known after apply)", r.address)))
    }

    fn walk<'v>(v: &'v Value, parts: &[&str]) -> Option<&'v Value> {
        let mut v = v;
        for p in parts {
            v = match (v, p.parse::<usize>()) {
                (Value::Array(a), Ok(i)) => a.get(i)?,
                _ => json::get(v, p)?,
            };
        }
        (!v.is_null()).then_some(v)
    }

    /// A value that only exists after apply (an authorization key): what the attribute holds,
    /// or, where a plan does not know it yet, an unknown that names the resource its
    /// expression reads it from, as a template's `reference(ID).authorizationKey` does.
    fn secret(&self, r: &TfResource, path: &str) -> Option<Value> {
        let v = self.attr(r, path)?;
        if super::arm::expr::is_unknown(&v).is_none() {
            return Some(v);
        }
        let parts: Vec<&str> = path.split('.').collect();
        let from = self
            .config
            .get(&config_address(&r.address))
            .and_then(|c| Self::walk(c, &parts))
            .and_then(|expr| self.follow_references(expr, module_of(r), None, 0));
        Some(match from {
            Some(Value::String(id)) => unknown(&format!("reference({}).{path}", json!(id))),
            _ => v,
        })
    }

    /// The ID an attribute holds, or, where a plan does not know it yet, the ID of the resource
    /// its expression refers to, made from that resource's names.
    fn id(&self, r: &TfResource, path: &str) -> Option<Value> {
        match self.attr(r, path) {
            Some(Value::String(s)) => Some(Value::String(s)),
            // A reference that leads to no resource of the plan stays known after apply.
            other => self.referenced_id(r, path).or(other),
        }
    }

    /// The ID of the resource the configuration's expression for `path` refers to.
    fn referenced_id(&self, r: &TfResource, path: &str) -> Option<Value> {
        let parts: Vec<&str> = path.split('.').collect();
        let config = self.config.get(&config_address(&r.address))?;
        let module = module_of(r);
        // A reference inside a `for_each` or `count` resource is to the instance of the same
        // key (`each.key`), else to the only or first one.
        let key = r
            .address
            .rfind('[')
            .filter(|_| r.address.ends_with(']'))
            .map(|i| r.address[i..].to_string());
        if let Some(expr) = Self::walk(config, &parts) {
            // A reference that leads to no resource of the plan stays known after apply.
            return self.follow_references(expr, module, key.as_deref(), 0);
        }
        // A list written as one expression (`[azurerm_network_interface.a.id, ...]`): its
        // item `i` is the `i`-th resource the expression refers to.
        let (last, head) = parts.split_last()?;
        let i: usize = last.parse().ok()?;
        let expr = Self::walk(config, head)?;
        let mut targets: Vec<&str> = Vec::new();
        for t in json::get(expr, "references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let t = t.strip_suffix(".id").unwrap_or(t);
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        let one = json!({ "references": [targets.get(i)?] });
        self.follow_references(&one, module, key.as_deref(), 0)
    }

    /// The ID of the first resource `expr`'s references name, from module `module`; a module
    /// variable (`var.X`) is followed to what the module's caller passes it.
    fn follow_references(
        &self,
        expr: &Value,
        module: &str,
        key: Option<&str>,
        depth: usize,
    ) -> Option<Value> {
        if depth > 16 {
            return None;
        }
        let refs = json::get(expr, "references").and_then(Value::as_array)?;
        for target in refs.iter().filter_map(Value::as_str) {
            if let Some(var) = target.strip_prefix("var.") {
                let passed = self
                    .config
                    .get(&format!("{module}var"))
                    .and_then(|v| json::get(v, var.split('.').next().unwrap_or(var)));
                let parent = module
                    .trim_end_matches('.')
                    .rsplit_once("module.")
                    .map_or("", |p| p.0);
                if let Some(found) =
                    passed.and_then(|p| self.follow_references(p, parent, None, depth + 1))
                {
                    return Some(found);
                }
                continue;
            }
            let target = target.strip_suffix(".id").unwrap_or(target);
            let full = format!("{module}{target}");
            let candidates = [
                key.map(|k| format!("{full}{k}")),
                Some(full.clone()),
                Some(format!("{full}[0]")),
            ];
            if let Some(&i) = candidates
                .iter()
                .flatten()
                .find_map(|a| self.by_address.get(a))
            {
                return self.synth_id(&self.list[i]).map(Value::String);
            }
        }
        None
    }

    /// A resource's ID from its names (for resources a plan has not created yet).
    fn synth_id(&self, r: &TfResource) -> Option<String> {
        if let Some(Value::String(id)) = self.get(r, "id") {
            return Some(id.clone());
        }
        let kind = arm_type(&r.kind)?;
        let rg = self
            .get(r, "resource_group_name")
            .and_then(Value::as_str)
            .unwrap_or(super::arm::expr::RESOURCE_GROUP);
        let name = self.name(r)?;
        let parts: Vec<&str> = kind.split('/').collect();
        let names: Vec<&str> = name.split('/').collect();
        let mut id = format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/{}",
            super::arm::expr::SUBSCRIPTION,
            parts[0]
        );
        for (t, n) in parts[1..].iter().zip(names) {
            id.push_str(&format!("/{t}/{n}"));
        }
        Some(id)
    }

    /// A resource's full name in the resource model (`vnet/subnet` for a subnet).
    fn name(&self, r: &TfResource) -> Option<String> {
        let own = self
            .get(r, "name")
            .and_then(Value::as_str)
            .map(str::to_string);
        let s = |k: &str| self.get(r, k).and_then(Value::as_str).map(str::to_string);
        match r.kind.as_str() {
            "azurerm_subnet" | "azurerm_virtual_network_peering" => {
                Some(format!("{}/{}", s("virtual_network_name")?, own?))
            }
            "azurerm_route" => Some(format!("{}/{}", s("route_table_name")?, own?)),
            "azurerm_express_route_circuit_authorization" => {
                Some(format!("{}/{}", s("express_route_circuit_name")?, own?))
            }
            "azurerm_express_route_circuit_peering" => Some(format!(
                "{}/{}",
                s("express_route_circuit_name")?,
                s("peering_type")?
            )),
            "azurerm_express_route_circuit_connection" => {
                let peering = self.id(r, "peering_id")?;
                let (_, p) = super::resource::reference(&peering)?;
                Some(format!("{p}/{}", own?))
            }
            "azurerm_vmware_express_route_authorization" => {
                let pc = self.id(r, "private_cloud_id")?;
                let (_, p) = super::resource::reference(&pc)?;
                Some(format!("{p}/{}", own?))
            }
            _ => own,
        }
    }

    fn translate(
        &self,
        r: &TfResource,
        out: &mut Vec<Resource>,
        notes: &mut Vec<String>,
    ) -> Result<(), (String, String)> {
        if r.kind == "azurerm_resource_group" || r.kind == "azurerm_subnet_route_table_association"
        {
            // A container, not part of the design; an association, applied to its subnet.
            return Ok(());
        }
        let item = format!("resource {}", r.address);
        let Some(kind) = arm_type(&r.kind) else {
            notes.push(format!("not modelled: {} {}", r.kind, r.address));
            return Ok(());
        };
        let name = self.name(r).ok_or_else(|| (item.clone(), "has no name the design can use (its name, or its parent's, is known only after apply)".to_string()))?;
        let g = |k: &str| self.attr(r, k);
        let id = |k: &str| self.id(r, k).map(|v| json!({ "id": v }));
        let flag = |new: &str, old: &str| g(new).or_else(|| g(old));
        let mut sku = None;
        let props = match r.kind.as_str() {
            "azurerm_virtual_network" => {
                let subnets: Vec<Value> = self
                    .get(r, "subnet")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|s| json!({ "name": json::get(s, "name"), "properties": { "addressPrefix": first_prefix(s) } }))
                    .collect();
                json!({ "addressSpace": { "addressPrefixes": g("address_space") }, "subnets": subnets })
            }
            "azurerm_subnet" => json!({ "addressPrefix": first_prefix(&r.values) }),
            "azurerm_virtual_network_peering" => json!({
                "remoteVirtualNetwork": id("remote_virtual_network_id"),
                "allowGatewayTransit": g("allow_gateway_transit"),
                "useRemoteGateways": g("use_remote_gateways"),
                "allowForwardedTraffic": g("allow_forwarded_traffic"),
            }),
            "azurerm_virtual_network_gateway" => {
                let configs: Vec<Value> = (0..self.get(r, "ip_configuration").and_then(Value::as_array).map_or(0, Vec::len))
                    .map(|i| json!({ "name": g(&format!("ip_configuration.{i}.name")), "properties": {
                        "subnet": self.id(r, &format!("ip_configuration.{i}.subnet_id")).map(|v| json!({"id": v})),
                        "publicIPAddress": self.id(r, &format!("ip_configuration.{i}.public_ip_address_id")).map(|v| json!({"id": v})),
                    }}))
                    .collect();
                json!({
                    "gatewayType": g("type"),
                    "vpnType": g("vpn_type"),
                    "sku": { "name": g("sku") },
                    "vpnGatewayGeneration": g("generation"),
                    "activeActive": g("active_active"),
                    "enableBgp": flag("bgp_enabled", "enable_bgp"),
                    "bgpSettings": { "asn": g("bgp_settings.0.asn") },
                    "ipConfigurations": configs,
                    "vpnClientConfiguration": g("vpn_client_configuration.0").map(|_| json!({
                        "vpnClientAddressPool": { "addressPrefixes": g("vpn_client_configuration.0.address_space") },
                        "vpnClientProtocols": g("vpn_client_configuration.0.vpn_client_protocols"),
                    })),
                })
            }
            "azurerm_local_network_gateway" => json!({
                "gatewayIpAddress": g("gateway_address"),
                "fqdn": g("gateway_fqdn"),
                "localNetworkAddressSpace": { "addressPrefixes": g("address_space") },
                "bgpSettings": g("bgp_settings.0").map(|_| json!({ "asn": g("bgp_settings.0.asn"), "bgpPeeringAddress": g("bgp_settings.0.bgp_peering_address") })),
            }),
            "azurerm_virtual_network_gateway_connection" => json!({
                "connectionType": g("type"),
                "virtualNetworkGateway1": id("virtual_network_gateway_id"),
                "localNetworkGateway2": id("local_network_gateway_id"),
                "virtualNetworkGateway2": id("peer_virtual_network_gateway_id"),
                "peer": id("express_route_circuit_id"),
                "authorizationKey": self.secret(r, "authorization_key"),
                "routingWeight": g("routing_weight"),
                "enableBgp": flag("bgp_enabled", "enable_bgp"),
                "dpdTimeoutSeconds": g("dpd_timeout_seconds"),
                "expressRouteGatewayBypass": g("express_route_gateway_bypass"),
                "ipsecPolicies": g("ipsec_policy.0").map(|_| json!([{ "ipsecEncryption": g("ipsec_policy.0.ipsec_encryption"), "ipsecIntegrity": g("ipsec_policy.0.ipsec_integrity") }])),
            }),
            "azurerm_express_route_circuit" => {
                sku = Some(json!({ "tier": g("sku.0.tier"), "family": g("sku.0.family") }));
                json!({
                    "serviceProviderProperties": g("bandwidth_in_mbps").map(|_| json!({
                        "serviceProviderName": g("service_provider_name"),
                        "peeringLocation": g("peering_location"),
                        "bandwidthInMbps": g("bandwidth_in_mbps"),
                    })),
                    "bandwidthInGbps": g("bandwidth_in_gbps"),
                    "peeringLocation": g("peering_location"),
                })
            }
            "azurerm_express_route_circuit_peering" => json!({
                "peeringType": g("peering_type"),
                "peerASN": g("peer_asn"),
                "primaryPeerAddressPrefix": g("primary_peer_address_prefix"),
                "secondaryPeerAddressPrefix": g("secondary_peer_address_prefix"),
                "vlanId": g("vlan_id"),
            }),
            "azurerm_express_route_circuit_authorization" => {
                json!({ "authorizationKey": g("authorization_key") })
            }
            "azurerm_express_route_circuit_connection" => json!({
                "expressRouteCircuitPeering": id("peering_id"),
                "peerExpressRouteCircuitPeering": id("peer_peering_id"),
                "addressPrefix": g("address_prefix_ipv4"),
                "authorizationKey": self.secret(r, "authorization_key"),
            }),
            "azurerm_route_table" => {
                let routes: Vec<Value> = self
                    .get(r, "route")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(route)
                    .collect();
                let disabled = match (
                    g("bgp_route_propagation_enabled"),
                    g("disable_bgp_route_propagation"),
                ) {
                    (Some(Value::Bool(on)), _) => Some(Value::Bool(!on)),
                    (_, d) => d,
                };
                json!({ "disableBgpRoutePropagation": disabled, "routes": routes })
            }
            "azurerm_route" => route(&r.values)
                .get("properties")
                .cloned()
                .unwrap_or(Value::Null),
            "azurerm_network_interface" => {
                let configs: Vec<Value> = (0..self.get(r, "ip_configuration").and_then(Value::as_array).map_or(0, Vec::len))
                    .map(|i| json!({ "name": g(&format!("ip_configuration.{i}.name")), "properties": {
                        "subnet": self.id(r, &format!("ip_configuration.{i}.subnet_id")).map(|v| json!({"id": v})),
                        "privateIPAllocationMethod": g(&format!("ip_configuration.{i}.private_ip_address_allocation")),
                        "privateIPAddress": g(&format!("ip_configuration.{i}.private_ip_address")),
                        "primary": g(&format!("ip_configuration.{i}.primary")),
                    }}))
                    .collect();
                json!({ "enableIPForwarding": flag("ip_forwarding_enabled", "enable_ip_forwarding"), "ipConfigurations": configs })
            }
            "azurerm_linux_virtual_machine"
            | "azurerm_windows_virtual_machine"
            | "azurerm_virtual_machine" => {
                // A plan lists the IDs of NICs it has not created yet as unknowns.
                let n = [&r.values, &r.unknown]
                    .iter()
                    .filter_map(|v| json::get(v, "network_interface_ids").and_then(Value::as_array))
                    .map(Vec::len)
                    .max()
                    .unwrap_or(0);
                let nics: Vec<Value> = (0..n)
                    .filter_map(|i| {
                        self.id(r, &format!("network_interface_ids.{i}"))
                            .map(|id| json!({ "id": id, "properties": { "primary": i == 0 } }))
                    })
                    .collect();
                json!({ "networkProfile": { "networkInterfaces": nics } })
            }
            "azurerm_public_ip" => json!({ "ipAddress": g("ip_address") }),
            "azurerm_vmware_private_cloud" => {
                sku = Some(json!({ "name": g("sku_name") }));
                json!({
                    "networkBlock": g("network_subnet_cidr"),
                    "managementNetwork": g("management_subnet_cidr"),
                    "managementCluster": { "clusterSize": g("management_cluster.0.size") },
                    "circuit": {
                        "expressRouteID": g("circuit.0.express_route_id"),
                        "expressRoutePrivatePeeringID": g("circuit.0.express_route_private_peering_id"),
                    },
                })
            }
            "azurerm_vmware_express_route_authorization" => json!({
                "expressRouteAuthorizationKey": g("express_route_authorization_key"),
            }),
            _ => json!({}),
        };
        let mut body = Map::new();
        body.insert("properties".into(), strip_nulls(props));
        if let Some(s) = sku {
            body.insert("sku".into(), strip_nulls(s));
        }
        if let Some(l) = self.get(r, "location") {
            body.insert("location".into(), l.clone());
        }
        out.push(Resource::new(kind, &name, Value::Object(body)));
        Ok(())
    }

    /// `azurerm_subnet_route_table_association`: the route table joins its subnet.
    fn associate(&self, out: &mut [Resource]) -> Result<(), (String, String)> {
        for r in self
            .list
            .iter()
            .filter(|r| r.kind == "azurerm_subnet_route_table_association")
        {
            let item = format!("resource {}", r.address);
            let subnet = self
                .id(r, "subnet_id")
                .and_then(|v| super::resource::reference(&v));
            let table = self.id(r, "route_table_id");
            let (Some((_, subnet)), Some(table)) = (subnet, table) else {
                return Err((
                    item,
                    "names no subnet_id and route_table_id the design has".into(),
                ));
            };
            let (vnet, short) = subnet.split_once('/').unwrap_or(("", ""));
            let found = out
                .iter_mut()
                .find(|x| {
                    x.is("Microsoft.Network/virtualNetworks/subnets")
                        && x.name.eq_ignore_ascii_case(&subnet)
                })
                .map(|x| &mut x.body);
            let target = match found {
                Some(b) => b.get_mut("properties"),
                None => out
                    .iter_mut()
                    .find(|x| {
                        x.is("Microsoft.Network/virtualNetworks")
                            && x.name.eq_ignore_ascii_case(vnet)
                    })
                    .and_then(|v| v.body.get_mut("properties"))
                    .and_then(|p| p.get_mut("subnets"))
                    .and_then(Value::as_array_mut)
                    .and_then(|a| {
                        a.iter_mut()
                            .find(|s| json::get(s, "name").and_then(Value::as_str) == Some(short))
                    })
                    .and_then(|s| s.get_mut("properties")),
            };
            match target.and_then(Value::as_object_mut) {
                Some(p) => {
                    p.insert("routeTable".into(), json!({ "id": table }));
                }
                None => {
                    return Err((
                        item,
                        format!("refers to subnet '{subnet}', which the design does not define"),
                    ))
                }
            }
        }
        Ok(())
    }
}

/// A resource's address in the plan's configuration: instance keys dropped.
/// The module path an address is in (`module.spokes["a"].`), or "" at the root.
fn module_of(r: &TfResource) -> &str {
    r.address
        .find(&format!("{}.", r.kind))
        .map_or("", |i| &r.address[..i])
}

fn config_address(address: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in address.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn arm_type(kind: &str) -> Option<&'static str> {
    TYPES.iter().find(|t| t.0 == kind).map(|t| t.1)
}

/// A subnet's first prefix (`address_prefixes`, or the older `address_prefix`).
fn first_prefix(s: &Value) -> Value {
    json::get(s, "address_prefixes")
        .and_then(|a| a.get(0))
        .or_else(|| json::get(s, "address_prefix"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn route(r: &Value) -> Value {
    json!({ "name": json::get(r, "name"), "properties": {
        "addressPrefix": json::get(r, "address_prefix"),
        "nextHopType": json::get(r, "next_hop_type"),
        "nextHopIpAddress": json::get(r, "next_hop_in_ip_address").filter(|v| !v.is_null() && v.as_str() != Some("")),
    }})
}

/// Drops nulls (attributes left unset) so the mapping sees them absent.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k, strip_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}
