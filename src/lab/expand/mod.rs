//! Expansion: the high-level items of a lab file (ExpressRoute circuits; virtual networks,
//! gateways, connections and peerings) turned into the low-level vocabulary the validator and
//! the engine know — routers, links, tunnels, static routes and BGP sessions — before
//! validation. Each kind is one pass, run in a fixed order; nothing is hidden: `emulate check
//! --expanded` prints the result, which loads and runs as it is.
//!
//! Addresses that passes invent come from one allocator (`address`), so two kinds never collide with
//! each other or with an address the file names.

mod address;
pub mod avs;
pub mod circuit;
pub mod cloud;
pub mod global_reach;

use super::error::Problem;
use super::spec::{FaultSpec, LabSpec};
use address::Allocator;
use std::collections::BTreeMap;

/// What one pass hands a later one beside the lab it rewrites: scratch state of the
/// expansion, never part of a lab file.
#[derive(Debug, Default)]
pub struct Handoff {
    /// Networks of a Gen 2 private cloud inside a VNet (by VNet name), with the address that
    /// routes them: system routes of the VNet, announced with its address space (from the
    /// private-cloud pass to the cloud pass).
    pub attached: BTreeMap<String, Vec<(String, String)>>,
    /// What the lab's connections make of each circuit, by name (from the cloud pass to the
    /// circuit and Global Reach passes).
    pub circuits: BTreeMap<String, CircuitUse>,
    /// Every gateway instance, as resilience analysis fails it (from the cloud pass).
    pub gateways: Vec<InstanceParts>,
}

/// A gateway instance as its parts: the router it is, its SKU (the platform's availability
/// figure depends on it) and, for a VPN gateway, the faults an unplanned and a planned failure
/// at time 0 are made of, the platform's takeover last (empty for an ExpressRoute gateway,
/// which the lab fails through its circuit).
#[derive(Debug, Clone)]
pub struct InstanceParts {
    pub gateway: String,
    pub instance: u8,
    pub router: String,
    pub sku: crate::substrate::gateway::Sku,
    pub unplanned: Vec<FaultSpec>,
    pub planned: Vec<FaultSpec>,
}

/// A circuit as the lab's ExpressRoute connections use it.
#[derive(Debug, Default, Clone)]
pub struct CircuitUse {
    /// Gateways the connections join to it, besides the one it names.
    pub connections: Vec<String>,
    /// The weight each of those gateways gives routes learned over the circuit (a
    /// connection's `routing_weight`).
    pub weights: Vec<(String, u32)>,
    /// Authorization keys used on it, with the connection that used each.
    pub used_keys: Vec<(String, String)>,
}

/// A lab with its high-level items expanded, and what the passes found valid but likely not
/// what was meant (asymmetric paths, coexistence rules), each naming the rule and its source.
pub struct Expanded {
    pub spec: LabSpec,
    pub warnings: Vec<Problem>,
    /// What each circuit became, by the names the circuit pass gives its parts.
    pub circuits: Vec<circuit::Parts>,
    /// The routers that stand for VNets (each named as its VNet).
    pub vnets: Vec<String>,
    /// Every gateway instance's parts.
    pub gateways: Vec<InstanceParts>,
}

/// Runs every pass in order: cloud resources first (they may connect circuits), circuits last.
pub fn expand(spec: &LabSpec) -> Result<Expanded, Vec<Problem>> {
    let mut alloc = Allocator::new(spec);
    let mut warnings = Vec::new();
    let mut handoff = Handoff::default();
    let spec = avs::expand(spec, &mut alloc, &mut warnings, &mut handoff)?;
    let vnets = spec.vnets.iter().map(|v| v.name.clone()).collect();
    let spec = cloud::expand(&spec, &mut alloc, &mut warnings, &mut handoff)?;
    let circuits = spec.circuits.clone();
    let spec = circuit::expand(&spec, &mut alloc, &handoff)?;
    let spec = global_reach::expand(&circuits, &handoff, spec)?;
    Ok(Expanded {
        spec,
        warnings,
        circuits: circuits.iter().map(circuit::Parts::of).collect(),
        vnets,
        gateways: handoff.gateways,
    })
}
