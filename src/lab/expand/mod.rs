//! Expansion: the high-level items of a lab file (ExpressRoute circuits; virtual networks,
//! gateways, connections and peerings) turned into the low-level vocabulary the validator and
//! the engine know — routers, links, tunnels, static routes and BGP sessions — before
//! validation. Each kind is one pass, run in a fixed order; nothing is hidden: `emulate check
//! --expanded` prints the result, which loads and runs as it is.
//!
//! Addresses that passes invent come from one [`Allocator`], so two kinds never collide with
//! each other or with an address the file names.

pub mod circuit;
pub mod vnet;

use super::error::Problem;
use super::spec::LabSpec;
use crate::route::Prefix;
use std::net::Ipv4Addr;

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
    let spec = vnet::expand(spec, &mut alloc, &mut warnings)?;
    let spec = circuit::expand(&spec, &mut alloc)?;
    Ok(Expanded { spec, warnings })
}

/// The item and the reason, as every pass reports them.
pub(crate) fn problem(item: &str, reason: impl Into<String>) -> Problem {
    Problem {
        item: item.to_string(),
        reason: reason.into(),
    }
}

/// Hands out /30 networks from link-local space (169.254.0.0/16, RFC 3927) for links the
/// provider owns and the user never addresses (MSEE to gateway), in order, skipping any that
/// overlaps a prefix the lab file writes.
pub struct Allocator {
    next: u32,
    taken: Vec<Prefix>,
}

const LINK_LOCAL: u32 = 0xA9FE_0000;
const LINK_LOCAL_END: u32 = 0xA9FF_0000;

impl Allocator {
    pub fn new(spec: &LabSpec) -> Self {
        let taken = spec
            .links
            .iter()
            .flat_map(|l| [&l.a.ip, &l.b.ip])
            .chain(spec.nodes.iter().flat_map(|n| n.addresses()))
            .filter_map(|s| s.parse::<Prefix>().ok())
            .collect();
        Allocator {
            next: LINK_LOCAL,
            taken,
        }
    }

    /// The next free /30, or `None` when link-local space is used up (16,384 of them).
    pub fn link_30(&mut self) -> Option<Prefix> {
        while self.next < LINK_LOCAL_END {
            let p = Prefix::new(Ipv4Addr::from(self.next), 30);
            self.next += 4;
            if !self.taken.iter().any(|t| t.overlaps(p)) {
                return Some(p);
            }
        }
        None
    }
}

/// The two host addresses of a /30, in order.
pub fn hosts_of_30(p: Prefix) -> (Ipv4Addr, Ipv4Addr) {
    let base = u32::from(p.network().addr);
    (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2))
}
