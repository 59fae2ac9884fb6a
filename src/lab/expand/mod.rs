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
use super::spec::LabSpec;
use address::Allocator;

/// A lab with its high-level items expanded, and what the passes found valid but likely not
/// what was meant (asymmetric paths, coexistence rules), each naming the rule and its source.
pub struct Expanded {
    pub spec: LabSpec,
    pub warnings: Vec<Problem>,
}

/// Runs every pass in order: cloud resources first (they may connect circuits), circuits last.
pub fn expand(spec: &LabSpec) -> Result<Expanded, Vec<Problem>> {
    let mut alloc = Allocator::new(spec);
    let mut warnings = Vec::new();
    let spec = avs::expand(spec, &mut alloc, &mut warnings)?;
    let spec = cloud::expand(&spec, &mut alloc, &mut warnings)?;
    let circuits = spec.circuits.clone();
    let spec = circuit::expand(&spec, &mut alloc)?;
    let spec = global_reach::expand(&circuits, spec)?;
    Ok(Expanded { spec, warnings })
}
