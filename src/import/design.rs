//! A design as the infrastructure code states it: the cloud-vocabulary items a lab file would
//! write (`vnets`, `gateways`, ...), plus what the code leaves open. [`super::map`] fills it
//! from resources; [`super::assume`] completes it with what the lab says, or stated defaults.

use crate::lab::spec::*;
use std::collections::BTreeMap;

/// The cloud side of a lab, read from code. Items are sorted by name, so the same design read
/// from any format is the same value.
#[derive(Debug, Clone, Default)]
pub struct Design {
    pub vnets: Vec<VnetSpec>,
    /// The VMs: hosts of the lab, on the subnets `vnets` lists them in.
    pub vms: Vec<String>,
    /// The VMs whose NIC forwards packets (`enableIPForwarding`): network virtual appliances,
    /// routers of the lab.
    pub appliances: Vec<String>,
    pub gateways: Vec<GatewaySpec>,
    /// `device` is left empty: the code never says which on-premises router it is.
    pub local_gateways: Vec<LocalGatewaySpec>,
    pub connections: Vec<ConnectionSpec>,
    /// `ce` is left empty, as for local gateways.
    pub circuits: Vec<CircuitSpec>,
    pub peerings: Vec<PeeringSpec>,
    pub global_reach: Vec<GlobalReachSpec>,
    pub private_clouds: Vec<PrivateCloudSpec>,
    /// The customer's ASN on each circuit's private peering (`peerASN`).
    pub circuit_peer_asn: BTreeMap<String, u32>,
    /// What the code says of each private cloud that its item leaves for completion: the
    /// address block the platform carves its management networks from, and its region.
    pub private_cloud_blocks: BTreeMap<String, PrivateCloudBlock>,
    /// Values the code leaves to deployment (a public IP's address, an FQDN's), by item.
    pub unknown: Vec<Unknown>,
    /// What the code says that the lab records only as a comment (a circuit's VLAN).
    pub facts: Vec<String>,
    /// What reading the code had to assume (which authorization a key is), stated as the
    /// assumptions of completing the design are.
    pub assumed: Vec<String>,
    /// Resources the model has no meaning for ("not modelled: TYPE NAME") or does not have yet
    /// ("not modelled yet: ..."), and parts of resources left out, each once.
    pub notes: Vec<String>,
}

/// A private cloud's `networkBlock` and region (`location`), by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateCloudBlock {
    pub block: crate::substrate::route::Prefix,
    pub region: Option<String>,
}

/// A value the code leaves to deployment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unknown {
    /// The item whose field it is: `gateway 'vpngw'`, `local gateway 'branch'`.
    pub item: String,
    pub field: Field,
    /// What the code wrote for it (`reference(...).ipAddress`, `fqdn vpn.example.com`).
    pub what: String,
}

/// Which field an unknown value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    /// A VPN gateway's public address (`public_ip`, `second_public_ip` for instance 1).
    PublicIp(u8),
    /// A local network gateway's address (`ip`).
    LocalIp,
}

impl Design {
    /// Appends `other` (another design entry), keeping every list sorted by name.
    pub fn merge(&mut self, other: Design) {
        self.vnets.extend(other.vnets);
        self.vms.extend(other.vms);
        self.appliances.extend(other.appliances);
        self.gateways.extend(other.gateways);
        self.local_gateways.extend(other.local_gateways);
        self.connections.extend(other.connections);
        self.circuits.extend(other.circuits);
        self.peerings.extend(other.peerings);
        self.global_reach.extend(other.global_reach);
        self.private_clouds.extend(other.private_clouds);
        self.circuit_peer_asn.extend(other.circuit_peer_asn);
        self.private_cloud_blocks.extend(other.private_cloud_blocks);
        self.unknown.extend(other.unknown);
        self.facts.extend(other.facts);
        self.assumed.extend(other.assumed);
        self.notes.extend(other.notes);
        self.sort();
    }

    /// Puts every list in name order.
    pub fn sort(&mut self) {
        self.vnets.sort_by(|a, b| a.name.cmp(&b.name));
        self.vms.sort();
        self.appliances.sort();
        self.gateways.sort_by(|a, b| a.name.cmp(&b.name));
        self.local_gateways.sort_by(|a, b| a.name.cmp(&b.name));
        self.connections.sort_by(|a, b| a.name().cmp(b.name()));
        self.circuits.sort_by(|a, b| a.name.cmp(&b.name));
        self.peerings
            .sort_by(|a, b| (&a.a, &a.b).cmp(&(&b.a, &b.b)));
        self.global_reach.sort_by(|a, b| a.name.cmp(&b.name));
        self.private_clouds.sort_by(|a, b| a.name.cmp(&b.name));
        self.unknown.sort();
        self.facts.sort();
        self.assumed.sort();
        self.notes.sort();
        self.notes.dedup();
    }
}
