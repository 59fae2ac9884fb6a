//! What the cloud passes share: VNets, gateway instances and peerings as parsed, the defaults
//! with their sources, and small helpers.

use crate::lab::error::Problem;
use crate::lab::spec::*;
use crate::substrate::route::Prefix;
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
/// A VNet as parsed here.
pub(super) struct Vnet<'a> {
    pub(super) spec: &'a VnetSpec,
    pub(super) space: Vec<Prefix>,
    /// Networks of a Gen 2 private cloud inside it, with the address that routes them
    /// ([`super::super::Handoff::attached`]).
    pub(super) attached: &'a [(String, String)],
    pub(super) gateway_subnet: Option<Prefix>,
    /// Its gateways' instances, in file order.
    pub(super) gateways: Vec<Instance>,
}

/// One instance of a gateway: a router of its own. A gateway has one (active-standby: the
/// standby is not modelled as a node, only as the time it takes to take over) or two
/// (active-active, `NAME-in0` and `NAME-in1`).
pub(super) struct Instance {
    /// The gateway's index in the lab file.
    pub(super) gateway: usize,
    pub(super) index: u8,
    pub(super) router: String,
    /// Its address on the link to the VNet, and the VNet router's.
    pub(super) gw_ip: Ipv4Addr,
    pub(super) vnet_ip: Ipv4Addr,
    /// A VPN instance's BGP address: the GatewaySubnet's last usable address, the one before
    /// for the second instance.
    pub(super) bgp: Option<Ipv4Addr>,
    /// A VPN instance's public address with its length.
    pub(super) public: Option<String>,
}

/// A peering as built: the link and each side's address on it.
pub(super) struct Peering {
    pub(super) a: usize,
    pub(super) b: usize,
    pub(super) link: String,
    pub(super) addr: [Ipv4Addr; 2],
    pub(super) transit: bool,
}

impl Peering {
    /// `v`'s side (0 for a, 1 for b) and the other VNet, if `v` is in the peering.
    pub(super) fn side_of(&self, v: usize) -> Option<(usize, usize)> {
        if self.a == v {
            Some((0, self.b))
        } else if self.b == v {
            Some((1, self.a))
        } else {
            None
        }
    }
}

pub(super) fn prefix(
    item: &str,
    what: &str,
    s: &str,
    problems: &mut Vec<Problem>,
) -> Option<Prefix> {
    match s.parse::<Prefix>() {
        Ok(p) if p.network() == p => Some(p),
        Ok(p) => {
            problems.push(Problem::new(
                item,
                format!("{what} {p} has host bits set: write {}", p.network()),
            ));
            None
        }
        Err(e) => {
            problems.push(Problem::new(item, format!("{what}: {e}")));
            None
        }
    }
}

pub(super) fn unknown_vnet(name: &str, index: &BTreeMap<&str, usize>) -> String {
    let names: Vec<&str> = index.keys().copied().collect();
    format!("unknown vnet '{name}'{}", crate::lab::suggest(name, &names))
}

pub(super) fn route(node: &str, prefix: impl ToString, via: impl ToString) -> RouteSpec {
    RouteSpec {
        node: node.to_string(),
        prefix: prefix.to_string(),
        via: via.to_string(),
        ..RouteSpec::default()
    }
}

/// The VNets a VNet's gateways serve: itself and the spokes that use them.
pub(super) fn served(v: usize, peerings: &[Peering]) -> Vec<usize> {
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
pub(super) fn gateway_home(v: usize, peerings: &[Peering]) -> usize {
    peerings
        .iter()
        .find(|p| p.transit && p.b == v)
        .map_or(v, |p| p.a)
}

/// The other host address of the /30 or /31 that `p` is a host of.
pub(super) fn other_host(p: Prefix) -> Option<Ipv4Addr> {
    let a = u32::from(p.addr);
    let net = u32::from(p.network().addr);
    match p.len {
        31 => Some(Ipv4Addr::from(net + u32::from(a == net))),
        30 if a == net + 1 => Some(Ipv4Addr::from(net + 2)),
        30 if a == net + 2 => Some(Ipv4Addr::from(net + 1)),
        _ => None,
    }
}

/// "unknown gateway 'NAME'" with the lab's gateways as suggestions.
pub(super) fn unknown_gateway(name: &str, spec: &LabSpec) -> String {
    let names: Vec<&str> = spec.gateways.iter().map(|g| g.name.as_str()).collect();
    format!(
        "unknown gateway '{name}'{}",
        crate::lab::suggest(name, &names)
    )
}
