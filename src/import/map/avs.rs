//! Azure VMware Solution private clouds (domain.md, "Azure VMware Solution"): a
//! `Microsoft.AVS/privateClouds` resource (`azurerm_vmware_private_cloud`) with its
//! `authorizations` (`azurerm_vmware_express_route_authorization`), NSX workload segments
//! (`workloadNetworks/segments`) and Global Reach connections made from its side
//! (`globalReachConnections`). With `virtualNetworkId` it is a Gen 2 private cloud in that VNet
//! (its `networkBlock` the VNet's block for it); without, Gen 1 with a circuit of its own, which
//! the lab names `NAME-er` and which a connection or a Global Reach connection reaches by the
//! private cloud's ID, its circuit's ID, or a `reference(...)` to it. The networks' VMs and the
//! management network's prefix, where a deployed resource does not state it, are completed by
//! `assume` as stated assumptions: VMware's VMs are not Azure resources.

use super::*;
use crate::import::design::PrivateCloudBlock;

pub const PRIVATE_CLOUD: &str = "Microsoft.AVS/privateClouds";
pub const PC_AUTHORIZATION: &str = "Microsoft.AVS/privateClouds/authorizations";
pub const PC_SEGMENT: &str = "Microsoft.AVS/privateClouds/workloadNetworks/segments";
pub const PC_GLOBAL_REACH: &str = "Microsoft.AVS/privateClouds/globalReachConnections";

/// The longest `networkBlock` the platform accepts ("X is between 0 and 22", the resource's
/// reference).
const BLOCK_LEN: u8 = 22;

/// Where in a block the platform reserves room for Global Reach (the third /26 of the block's
/// address plan: management, HCX management, Global Reach); each AVS-side Global Reach
/// connection takes the next /29 from there that the management network leaves free.
const GLOBAL_REACH_OFFSET: u32 = 128;

impl<'a> Mapper<'a> {
    /// Every private cloud, before circuits and connections, which may refer to its circuit.
    pub(super) fn private_clouds(&mut self) {
        let pcs: Vec<&Resource> = self.of(PRIVATE_CLOUD).collect();
        for pc in pcs {
            let item = pc.label();
            let Some(raw) = pc.prop("networkBlock") else {
                self.problem(
                    item,
                    "has no networkBlock (the /22 its management networks are carved from)",
                );
                continue;
            };
            let Some(text) = self.prefix(&item, "networkBlock", raw) else {
                continue;
            };
            let block: Prefix = match text.parse::<Prefix>() {
                Ok(b) if b.network() == b && b.len <= BLOCK_LEN => b,
                _ => {
                    self.problem(
                        format!("{item}, property networkBlock"),
                        format!("'{text}' is not a network of at least a /{BLOCK_LEN}"),
                    );
                    continue;
                }
            };
            let vnet = match pc.prop("virtualNetworkId") {
                Some(v) => match self.follow(&item, "virtualNetworkId", Some(v), VNET) {
                    Some(r) => Some(r.name.clone()),
                    None => continue,
                },
                None => None,
            };
            // A deployed private cloud states its management network; a template does not.
            let management = match pc.prop("managementNetwork") {
                Some(v) if is_unknown(v).is_none() => {
                    match self.prefix(&item, "managementNetwork", v) {
                        Some(p) => p.parse::<Prefix>().map_or(p, |p| p.network().to_string()),
                        None => continue,
                    }
                }
                _ => String::new(),
            };
            let mut segments = Vec::new();
            let segs: Vec<&Resource> = self
                .of(PC_SEGMENT)
                .filter(|s| owner(&s.name).eq_ignore_ascii_case(&pc.name))
                .collect();
            for s in segs {
                let sitem = s.label();
                let Some(gw) = s.prop("subnet.gatewayAddress") else {
                    self.problem(
                        sitem,
                        "has no subnet.gatewayAddress (its gateway and length, as 10.1.1.1/24)",
                    );
                    continue;
                };
                if let Some(p) = self.prefix(&sitem, "subnet.gatewayAddress", gw) {
                    let p: Prefix = p.parse().unwrap_or(block);
                    segments.push(SegmentSpec {
                        name: s.short_name().to_string(),
                        prefix: p.network().to_string(),
                        vms: vec![],
                    });
                }
            }
            segments.sort_by(|a, b| a.name.cmp(&b.name));
            let mut authorizations: Vec<String> = self
                .of(PC_AUTHORIZATION)
                .filter(|a| a.parent_name().eq_ignore_ascii_case(&pc.name))
                .map(|a| a.short_name().to_string())
                .collect();
            authorizations.sort();
            let generation = if vnet.is_some() {
                if !authorizations.is_empty() {
                    self.problem(item.clone(), "is a Gen 2 private cloud (in a VNet): it has no circuit of its own to authorize connections to");
                }
                AvsGeneration::Gen2
            } else {
                AvsGeneration::Gen1
            };
            let region = pc
                .field("location")
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(size) = pc.prop("managementCluster.clusterSize") {
                self.d.facts.push(format!(
                    "private cloud '{}': management cluster of {} hosts{}",
                    pc.name,
                    json::show(size),
                    pc.field("sku.name")
                        .and_then(Value::as_str)
                        .map_or(String::new(), |s| format!(" ({s})"))
                ));
            }
            self.d
                .private_cloud_blocks
                .insert(pc.name.clone(), PrivateCloudBlock { block, region });
            self.d.private_clouds.push(PrivateCloudSpec {
                name: pc.name.clone(),
                generation,
                asn: None,
                segments,
                management: SegmentSpec {
                    name: "management".to_string(),
                    prefix: management,
                    vms: vec![],
                },
                peering_location: None,
                bandwidth: None,
                authorizations,
                block: vnet.as_ref().map(|_| block.to_string()),
                vnet,
            });
        }
        self.private_cloud_global_reach();
    }

    /// Global Reach made from a private cloud's side: to the customer's circuit, with one of
    /// its authorizations; the platform takes the /29 from the private cloud's block.
    fn private_cloud_global_reach(&mut self) {
        let grs: Vec<&Resource> = self.of(PC_GLOBAL_REACH).collect();
        let mut taken: BTreeMap<String, u64> = BTreeMap::new();
        for g in grs {
            let item = g.label();
            let pc = g.parent_name().to_string();
            let Some(spec) = self
                .d
                .private_clouds
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&pc))
            else {
                if self.find(PRIVATE_CLOUD, &pc).is_none() {
                    self.problem(
                        item,
                        format!(
                            "belongs to private cloud '{pc}', which the design does not define"
                        ),
                    );
                }
                continue;
            };
            let pc = spec.name.clone();
            let management = spec.management.prefix.parse::<Prefix>().ok();
            if spec.generation == AvsGeneration::Gen2 {
                self.problem(item, format!("private cloud '{pc}' is Gen 2 (in a VNet): it has no circuit of its own for Global Reach"));
                continue;
            }
            let Some(peer) = g.prop("peerExpressRouteCircuit") else {
                self.problem(
                    item,
                    "has no peerExpressRouteCircuit (the on-premises circuit's ID)",
                );
                continue;
            };
            let Some(peer) = self
                .follow(&item, "peerExpressRouteCircuit", Some(peer), CIRCUIT)
                .map(|r| r.name.clone())
            else {
                continue;
            };
            let authorization = g
                .prop("authorizationKey")
                .cloned()
                .and_then(|k| self.authorization_name(&k, &peer));
            let Some(b) = self.d.private_cloud_blocks.get(&pc).map(|b| b.block) else {
                continue;
            };
            // The next /29 of the range that the management network, where a deployed private
            // cloud states it, leaves free.
            let size = 1u64 << (32 - u32::from(b.len));
            let n = taken
                .entry(pc.clone())
                .or_insert(u64::from(GLOBAL_REACH_OFFSET));
            let free = (*n..size).step_by(8).find(|o| {
                let p = Prefix::new(
                    Ipv4Addr::from((u64::from(u32::from(b.addr)) + o) as u32),
                    29,
                );
                !management.is_some_and(|m| m.overlaps(p))
            });
            let Some(o) = free else {
                self.problem(
                    item,
                    format!("private cloud '{pc}''s networkBlock {b} has no /29 left for it"),
                );
                continue;
            };
            *n = o + 8;
            let subnet = Prefix::new(
                Ipv4Addr::from((u64::from(u32::from(b.addr)) + o) as u32),
                29,
            );
            self.d.assumed.push(format!("{item} uses {subnet} (the platform takes the /29 from private cloud '{pc}''s networkBlock {b}, its Global Reach range)"));
            self.d.global_reach.push(GlobalReachSpec {
                name: g.short_name().to_string(),
                circuit: format!("{pc}-er"),
                peer,
                subnet: subnet.to_string(),
                authorization,
            });
        }
    }

    /// The private cloud whose circuit `v` names: the private cloud's own ID, the ID of its
    /// circuit or circuit peering as a deployed private cloud states them, or a
    /// `reference(...)` to the private cloud (`reference(...).circuit.expressRouteID`).
    pub(super) fn private_cloud_of(&self, v: &Value) -> Option<String> {
        let v = match json::get(v, "id") {
            Some(id) if is_unknown(v).is_none() => id,
            _ => v,
        };
        let text = match is_unknown(v) {
            Some(what) => what.to_string(),
            None => match v {
                Value::String(s) => s.clone(),
                _ => return None,
            },
        };
        let lower = text.to_ascii_lowercase();
        let marker = "microsoft.avs/privateclouds/";
        if let Some(at) = lower.find(marker) {
            let rest = &text[at + marker.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| !matches!(c, '/' | '"' | '\'' | ',' | ')'))
                .collect();
            return self
                .d
                .private_clouds
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&name))
                .map(|p| p.name.clone());
        }
        // A deployed private cloud's circuit, by the IDs the platform gives it.
        let trimmed = lower.trim_end_matches('/');
        self.of(PRIVATE_CLOUD)
            .find(|pc| {
                [
                    "circuit.expressRouteID",
                    "circuit.expressRoutePrivatePeeringID",
                ]
                .iter()
                .filter_map(|k| pc.prop(k).and_then(Value::as_str))
                .any(|id| id.to_ascii_lowercase().trim_end_matches('/') == trimmed)
            })
            .and_then(|pc| {
                self.d
                    .private_clouds
                    .iter()
                    .find(|p| p.name == pc.name)
                    .map(|p| p.name.clone())
            })
    }

    /// The lab's name for a Gen 1 private cloud's circuit, or a problem for a Gen 2 one.
    pub(super) fn private_cloud_circuit(&mut self, item: &str, pc: &str) -> Option<String> {
        let spec = self.d.private_clouds.iter().find(|p| p.name == pc)?;
        if spec.generation == AvsGeneration::Gen2 {
            self.problem(
                item.to_string(),
                format!("refers to private cloud '{pc}''s circuit, but it is Gen 2 (in a VNet) and has none"),
            );
            return None;
        }
        Some(format!("{pc}-er"))
    }

    /// A private cloud's authorizations as (name, key where the JSON holds it).
    pub(super) fn private_cloud_authorizations(
        &self,
        circuit: &str,
    ) -> Vec<(String, Option<String>)> {
        let Some(pc) = circuit.strip_suffix("-er") else {
            return vec![];
        };
        if !self.d.private_clouds.iter().any(|p| p.name == pc) {
            return vec![];
        }
        self.of(PC_AUTHORIZATION)
            .filter(|a| a.parent_name().eq_ignore_ascii_case(pc))
            .map(|a| {
                let key = a
                    .prop("expressRouteAuthorizationKey")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                (a.short_name().to_string(), key)
            })
            .collect()
    }
}

/// The private cloud a workload segment belongs to (`pc/default/segment`).
fn owner(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}
