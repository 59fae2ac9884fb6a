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

mod coexistence;
mod connection;
mod gateway;
mod model;
mod p2s;
mod peering;
mod vnet;

pub use gateway::{PLANNED_FAILOVER, UNPLANNED_FAILOVER};
pub use model::{
    ER_WEIGHT, VM_RATE, VNET_DELAY, VNET_PROGRAMMING_DELAY, VPN_PREFIX_LIMIT, VPN_WEIGHT,
};

use super::address::Allocator;
use crate::lab::error::Problem;
use crate::lab::spec::*;
use std::collections::BTreeMap;

pub fn expand(
    spec: &LabSpec,
    alloc: &mut Allocator,
    warnings: &mut Vec<Problem>,
    handoff: &mut super::Handoff,
) -> Result<LabSpec, Vec<Problem>> {
    let mut out = spec.clone();
    out.vnets.clear();
    out.gateways.clear();
    out.local_gateways.clear();
    out.connections.clear();
    out.peerings.clear();
    out.p2s_clients.clear();
    let mut problems = Vec::new();
    let vnets = vnet::parse_vnets(spec, &handoff.attached, &mut problems);
    let index: BTreeMap<&str, usize> = vnets
        .iter()
        .enumerate()
        .map(|(i, v)| (v.spec.name.as_str(), i))
        .collect();
    let peerings = peering::peerings(spec, &vnets, &index, alloc, &mut problems);
    let mut vnets = vnets;
    gateway::gateways(spec, &mut vnets, &index, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    vnet::vnet_routers(spec, &vnets, &peerings, &mut out);
    let vm_addrs = vnet::vms(spec, &vnets, &mut out, &mut problems);
    vnet::user_routes(&vnets, &peerings, &vm_addrs, &mut out, &mut problems);
    gateway::gateway_nodes(spec, &vnets, &peerings, &mut out, &mut problems);
    connection::connections(
        spec,
        &vnets,
        &index,
        &mut out,
        &mut handoff.circuits,
        &mut problems,
    );
    p2s::p2s_clients(spec, &vnets, &index, &peerings, &mut out, &mut problems);
    coexistence::coexistence(spec, &vnets, &peerings, &mut problems, warnings);
    gateway::gateway_faults(spec, &vnets, &peerings, &mut out, &mut problems);
    handoff.gateways = gateway::instance_parts(spec, &vnets, &peerings);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
