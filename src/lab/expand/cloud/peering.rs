//! VNet peerings: links marked `peering` in link-local space, with or without gateway transit.

use super::model::*;
use crate::lab::error::Problem;
use crate::lab::expand::address::{hosts_of_30, Allocator};
use crate::lab::spec::*;
use std::collections::BTreeMap;

pub(super) fn peerings(
    spec: &LabSpec,
    vnets: &[Vnet],
    index: &BTreeMap<&str, usize>,
    alloc: &mut Allocator,
    problems: &mut Vec<Problem>,
) -> Vec<Peering> {
    let mut out: Vec<Peering> = Vec::new();
    for p in &spec.peerings {
        let item = format!("peering '{}'–'{}'", p.a, p.b);
        let (Some(&a), Some(&b)) = (index.get(p.a.as_str()), index.get(p.b.as_str())) else {
            for name in [&p.a, &p.b] {
                if !index.contains_key(name.as_str()) {
                    problems.push(Problem::new(&item, unknown_vnet(name, index)));
                }
            }
            continue;
        };
        if a == b {
            problems.push(Problem::new(&item, "a VNet cannot peer with itself"));
            continue;
        }
        if out
            .iter()
            .any(|q| q.side_of(a).is_some_and(|(_, o)| o == b))
        {
            problems.push(Problem::new(&item, "the two VNets are already peered"));
            continue;
        }
        if p.use_remote_gateways && !p.allow_gateway_transit {
            problems.push(Problem::new(
                &item,
                format!(
                    "'{}' uses remote gateways, but '{}' does not allow gateway transit",
                    p.b, p.a
                ),
            ));
        }
        let gateways_of = |v: usize| {
            spec.gateways
                .iter()
                .filter(|g| g.vnet == vnets[v].spec.name)
                .count()
        };
        if p.use_remote_gateways && gateways_of(a) == 0 {
            problems.push(Problem::new(
                &item,
                format!(
                    "'{}' uses remote gateways, but '{}' has no gateway",
                    p.b, p.a
                ),
            ));
        }
        if p.use_remote_gateways && gateways_of(b) > 0 {
            problems.push(Problem::new(
                &item,
                format!("'{}' has a gateway of its own: a VNet uses either its own gateway or a remote one, not both", p.b),
            ));
        }
        let Some(net) = alloc.link_30() else {
            problems.push(Problem::new(
                &item,
                "link-local space (169.254.0.0/16) is used up",
            ));
            continue;
        };
        let (x, y) = hosts_of_30(net);
        out.push(Peering {
            a,
            b,
            link: format!("peering-{}-{}", p.a, p.b),
            addr: [x, y],
            transit: p.use_remote_gateways && p.allow_gateway_transit,
        });
    }
    // A VNet uses at most one hub's gateways.
    for (v, vnet) in vnets.iter().enumerate() {
        if out.iter().filter(|q| q.transit && q.b == v).count() > 1 {
            problems.push(Problem::new(
                &format!("vnet '{}'", vnet.spec.name),
                "uses remote gateways over more than one peering; a VNet uses one hub's gateways",
            ));
        }
    }
    out
}
