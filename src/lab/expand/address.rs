//! Addresses the expansion passes invent: one allocator, so that two kinds never collide with
//! each other or with an address the lab file writes.

use crate::lab::spec::LabSpec;
use crate::substrate::route::Prefix;
use std::net::Ipv4Addr;

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
