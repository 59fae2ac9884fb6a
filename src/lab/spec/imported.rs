//! A lab whose cloud side comes from infrastructure code (README, "Your own design"): the
//! `design` entries to read, and under `imported`, what the lab says about imported items that
//! their code cannot (the on-premises device behind a local network gateway, a circuit's
//! provider delay, a gateway's internet path), each referring to an item by its resource name.
//! What the lab leaves out is filled with a stated default (`crate::import::assume`).

use super::{BfdSpec, UplinkSpec};
use crate::substrate::link::QueueLimit;
use crate::units::{Bitrate, Duration};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One source of the design, read at every run; paths are relative to the lab file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum DesignSource {
    /// An ARM template (`az bicep build` turns Bicep into one), with an optional
    /// deployment-parameters file and parameter values (`params: {"name": "value"}`; a value
    /// is read as the parameter's declared type).
    Arm {
        template: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parameters: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        params: BTreeMap<String, String>,
    },
    /// `terraform show -json` of a plan or a state, or a `terraform.tfstate` (version 4).
    Terraform { file: String },
    /// Resources as the platform returns them (`az resource list`, `az network vnet show`, an
    /// array of those, or `{"value": [...]}`).
    Resources { file: String },
}

/// What the lab adds to imported items, by their resource names.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vnets: Vec<ImportedVnet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<ImportedVm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<ImportedGateway>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_gateways: Vec<ImportedLocalGateway>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub circuits: Vec<ImportedCircuit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ImportedConnection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private_clouds: Vec<ImportedPrivateCloud>,
}

/// A VNet's fabric figures (the code has none).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedVnet {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programming_delay: Option<Duration>,
}

/// A VM's NIC bandwidth (its size's network limit); its TCP settings are those of the lab's
/// `Host` node of the same name, when the lab writes one.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedVm {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Bitrate>,
}

/// A gateway's deployment-time addresses, internet path and platform timings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedGateway {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_public_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internet: Option<UplinkSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_failover: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unplanned_failover: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programming_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Bitrate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pps: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueLimit>,
}

/// The on-premises device a local network gateway stands for, and what it announces.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedLocalGateway {
    pub name: String,
    /// A router of the lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Its public address, where the code gives an FQDN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announce: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepend: Option<u8>,
}

/// The customer edge of a circuit and the provider's figures.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedCircuit {
    pub name: String,
    /// A router of the lab with `bgp`, the AS of the private peering's `peerASN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backbone_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ce_local_pref: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ce_prepend: Option<u8>,
}

/// A VPN connection's settings the code does not carry.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedConnection {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_t: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mss_clamp: Option<Option<u16>>,
}

/// What the platform decides for a private cloud and its code does not state.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedPrivateCloud {
    pub name: String,
    /// The public 4-byte ASN it shows (default: a documentation ASN, as for written labs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Gen 1: where its circuit meets Microsoft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peering_location: Option<String>,
    /// Gen 1: its circuit's bandwidth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<Bitrate>,
    /// The management network's prefix (vCenter, NSX Manager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management: Option<String>,
}
