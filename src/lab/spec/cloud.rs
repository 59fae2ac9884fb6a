//! The cloud's own vocabulary, as a Bicep or Terraform author writes it: virtual networks with
//! subnets and user-defined routes, virtual network gateways, local network gateways (the
//! on-premises VPN device), connections and peerings. `super::super::expand` turns each into
//! routers, links, tunnels, routes and BGP sessions with the platform's behaviour built in.
//!
//! Defaults and their sources (domain.md, "Virtual networks, peering and hub-spoke" and "More
//! on gateways") are named constants in `expand::cloud`.

use super::{is_false, DpdSpec};
use crate::substrate::gateway::Sku;
use crate::substrate::link::{JitterSpec, LossSpec, QueueLimit};
use crate::units::{Bitrate, Duration};
use crate::vpn::esp::CipherSuite;
use serde::{Deserialize, Serialize};

/// A virtual network: address space, subnets (where VMs attach), an optional GatewaySubnet.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VnetSpec {
    pub name: String,
    /// The VNet's prefixes; every subnet lies inside one.
    pub address_space: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<SubnetSpec>,
    /// The GatewaySubnet, where the VNet's gateways live (a /27 or larger when ExpressRoute
    /// and VPN gateways coexist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_subnet: Option<String>,
    /// One-way delay between a VM (or gateway) and the VNet's fabric. Default 50 µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// Delay between the VNet's gateways learning a route and its VMs using it. Default 2 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programming_delay: Option<Duration>,
}

/// A subnet: its prefix, the VMs on it, and its route table's user-defined routes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetSpec {
    pub name: String,
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmSpec>,
    /// User-defined routes: they win over BGP and system routes for the same prefix; the
    /// longest prefix still comes first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<UserRouteSpec>,
}

/// A node of the lab (a host, or a router acting as a network virtual appliance) with a NIC on
/// the subnet.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    pub node: String,
    /// Its address; default the next free one from the subnet's fifth (Azure keeps the first
    /// four and the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The NIC's bandwidth (a VM size's network limit). Default 10 Gbps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Bitrate>,
}

/// A user-defined route: `next_hop` is a virtual appliance's address (a VM of this VNet or of
/// a peered one) or "None" (drop).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserRouteSpec {
    pub prefix: String,
    pub next_hop: String,
}

/// Gateway type: what the gateway connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum GatewayKind {
    Vpn,
    ExpressRoute,
}

/// How a VPN gateway picks what enters a tunnel: by route (any SKU, BGP, several tunnels) or by
/// policy (traffic selectors: Basic only, static routing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum VpnType {
    #[default]
    RouteBased,
    PolicyBased,
}

/// A virtual network gateway in a VNet's GatewaySubnet.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    pub name: String,
    pub vnet: String,
    pub kind: GatewayKind,
    pub sku: Sku,
    /// Default 65515.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// VPN gateways: `RouteBased` (the default) or `PolicyBased` (Basic SKU only, no BGP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpn_type: Option<VpnType>,
    /// VPN gateways: the public address and prefix length of its internet side (e.g.
    /// "198.51.100.1/30"; the `internet` node takes the other host of a /30 or /31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// VPN gateways: the link to the internet (each instance has one like it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internet: Option<UplinkSpec>,
    /// VPN gateways: two instances, each with its own public address, tunnel and BGP session
    /// per site; both carry traffic. Default false (active-standby).
    #[serde(default, skip_serializing_if = "is_false")]
    pub active_active: bool,
    /// The second instance's public address (active-active), as `public_ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_public_ip: Option<String>,
    /// Active-standby: how long the standby takes over after a planned failure (maintenance).
    /// Default 15 s, the top of the documented 10–15 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_failover: Option<Duration>,
    /// Active-standby: how long after an unplanned failure the standby carries traffic; an
    /// active-active instance is back after the same time. Default 2 min (documented: 1–3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unplanned_failover: Option<Duration>,
    /// Delay between the gateway's BGP choosing a route and forwarding by it: the documented
    /// gateway–MSEE convergence, "up to a minute" after detection. Default 0, as the VNet's
    /// `programming_delay` already carries the measured "few seconds".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programming_delay: Option<Duration>,
    /// Point-to-site: the client address pool, e.g. "172.16.201.0/24".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2s_pool: Option<String>,
    /// Overrides the SKU's throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Bitrate>,
    /// Overrides the SKU's packets per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pps: Option<u64>,
    /// The queue in front of the capacity limit. Default 1000 packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueLimit>,
}

/// A link from a gateway to a router of the lab (the internet).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UplinkSpec {
    pub node: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<JitterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Bitrate>,
}

/// A local network gateway: the on-premises VPN device as the cloud knows it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalGatewaySpec {
    pub name: String,
    /// The device: a router of the lab.
    pub device: String,
    /// Its public IPv4 address: one of the device's interface addresses.
    pub ip: String,
    /// The on-premises prefixes, for connections without BGP (static routes both ways).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    /// BGP over the tunnel: the device's AS (its `bgp` must have it) and peering address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<LocalBgpSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalBgpSpec {
    pub asn: u32,
    /// The device's BGP address; added to the device as a /32 when it does not have it.
    pub ip: String,
    /// Prefixes the device announces on this connection only, besides its `originate` (a more
    /// specific prefix over the VPN pulls traffic off ExpressRoute: longest prefix first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announce: Vec<String>,
    /// Times the device prepends its AS on this connection (a less preferred path; the VPN
    /// gateway honours it). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepend: Option<u8>,
}

/// A connection of a virtual network gateway.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum ConnectionSpec {
    /// Site-to-site IPsec between a VPN gateway and a local network gateway.
    SiteToSite {
        name: String,
        gateway: String,
        local: String,
        /// Default AesGcm.
        #[serde(default)]
        cipher: CipherSuite,
        /// UDP 4500 encapsulation. Default false.
        #[serde(default, skip_serializing_if = "is_false")]
        nat_t: bool,
        /// TCP MSS clamp at both ends; `None` turns it off. Default 1350, as the vendor asks.
        #[serde(default = "super::default_mss_clamp")]
        mss_clamp: Option<u16>,
        /// IKE dead-peer detection; `None` turns it off. Default 45 s timeout, 10 s probes.
        #[serde(default = "super::default_dpd")]
        dpd: Option<DpdSpec>,
    },
    /// An ExpressRoute gateway linked to a circuit; `authorization` is one of the keys the
    /// circuit's owner issued (`authorizations` on the circuit) when the circuit is another
    /// owner's. A key is valid for one connection only.
    ExpressRoute {
        name: String,
        gateway: String,
        circuit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authorization: Option<String>,
        /// The weight the gateway gives routes learned over this circuit (the connection's
        /// `routingWeight`): of two circuits announcing the same prefix, the gateway prefers
        /// the one with the higher weight (domain.md: "RoutingWeight applies to ER connections
        /// only"). Default 0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        routing_weight: Option<u32>,
    },
    /// IPsec between two VPN gateways (each instance with the other's first); BGP over it
    /// when their ASNs differ, static routes to each other's address spaces when they do not.
    VnetToVnet {
        name: String,
        a: String,
        b: String,
        /// Default AesGcm.
        #[serde(default)]
        cipher: CipherSuite,
        #[serde(default = "super::default_mss_clamp")]
        mss_clamp: Option<u16>,
        #[serde(default = "super::default_dpd")]
        dpd: Option<DpdSpec>,
    },
}

impl ConnectionSpec {
    pub fn name(&self) -> &str {
        match self {
            ConnectionSpec::SiteToSite { name, .. }
            | ConnectionSpec::ExpressRoute { name, .. }
            | ConnectionSpec::VnetToVnet { name, .. } => name,
        }
    }
}

/// A point-to-site client's tunnel protocol (domain.md, "Point-to-site").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum P2sProtocol {
    /// IKEv2: ESP in UDP 4500 (NAT traversal, as clients behind a home router use it).
    IkeV2,
    /// OpenVPN over TCP 443: inner packets carried in an outer TCP connection.
    OpenVpn,
    /// SSTP: TCP 443; at most 128 connections per gateway.
    Sstp,
}

/// A point-to-site client: a host of the lab that runs its own tunnel to a VPN gateway, with
/// an address from the gateway's `p2s_pool`, over its home connection.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct P2sClientSpec {
    pub name: String,
    /// The client machine: a host of the lab.
    pub host: String,
    pub gateway: String,
    pub protocol: P2sProtocol,
    /// The home connection: where it attaches and its impairments.
    pub home: HomeSpec,
}

/// A P2S client's home connection: a link from the client's VPN stack to `node` (a home router
/// or the internet), the client taking `ip` (a /30 or /31 host; `node` the other).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HomeSpec {
    pub node: String,
    pub ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<JitterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Bitrate>,
}

/// An Azure VMware Solution private cloud's generation (domain.md, "Azure VMware Solution").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum AvsGeneration {
    /// With a Microsoft-managed ExpressRoute circuit of its own (`NAME-er`): on-premises by
    /// Global Reach, VNets by a connection to a VNet's ExpressRoute gateway.
    Gen1,
    /// Inside a VNet (`vnet`, in an address `block` of at least a /22): on-premises through
    /// that VNet's ExpressRoute gateway or a site-to-site VPN.
    Gen2,
}

/// An Azure VMware Solution private cloud: its NSX workload segments and management network,
/// each with VMs (hosts of the lab), behind one router `NAME` that speaks BGP with a 4-byte
/// ASN, ignores AS-path prepending and spreads flows over equal paths.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateCloudSpec {
    pub name: String,
    pub generation: AvsGeneration,
    /// Default 65536 (RFC 5398's documentation 4-byte ASN, standing in for the public 4-byte
    /// ASN AVS uses: seed 001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// NSX workload segments.
    pub segments: Vec<SegmentSpec>,
    /// The management network (vCenter, NSX Manager): it discards a lone 0.0.0.0/0.
    pub management: SegmentSpec,
    /// Gen 1: where its circuit meets Microsoft (Global Reach needs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peering_location: Option<String>,
    /// Gen 1: its circuit's bandwidth. Default 10 Gbps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<Bitrate>,
    /// Gen 1: authorization keys its circuit issues (for Global Reach and VNet connections).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizations: Vec<String>,
    /// Gen 2: the VNet it lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet: Option<String>,
    /// Gen 2: its address block in the VNet's address space, at least a /22.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
}

/// A network of a private cloud and the VMs on it (the gateway is its first address).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    pub name: String,
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmSpec>,
}

/// ExpressRoute Global Reach: configured on `circuit` with the `peer` circuit's ID and, when the
/// peer is another owner's, one of its `authorizations`; a /29 of its own (a /30 per MSEE pair).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalReachSpec {
    pub name: String,
    pub circuit: String,
    pub peer: String,
    /// A /29 that overlaps nothing else in the lab.
    pub subnet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
}

/// A VNet peering, both of its halves: `a` is the hub when gateway transit is used.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeeringSpec {
    pub a: String,
    pub b: String,
    /// `a` lets `b` use its gateways. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_gateway_transit: bool,
    /// `b` uses `a`'s gateways (`b` has none of its own; `a` allows transit). Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_remote_gateways: bool,
}
