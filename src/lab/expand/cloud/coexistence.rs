//! ExpressRoute and VPN gateways in one VNet: the coexistence guide's rules, and whether the
//! two directions of a site's flows take the same path.

use super::model::*;
use crate::lab::error::Problem;
use crate::lab::spec::*;

/// Local preference a route carries when no policy sets one (RFC 4271's customary default).
pub(super) const DEFAULT_LOCAL_PREF: u32 = 100;

/// The rules of ExpressRoute and VPN gateways in one VNet (the coexistence guide; domain.md,
/// "Rules that make a lab wrong" and "More on gateways"), and whether the two directions of a
/// flow between a site and the VNet take the same path.
pub(super) fn coexistence(
    spec: &LabSpec,
    vnets: &[Vnet],
    peerings: &[Peering],
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    for (v, vnet) in vnets.iter().enumerate() {
        let of_kind = |kind| {
            vnet.gateways
                .iter()
                .map(|i| &spec.gateways[i.gateway])
                .find(|g| g.kind == kind)
        };
        let (Some(vpn), Some(er)) = (
            of_kind(GatewayKind::Vpn),
            of_kind(GatewayKind::ExpressRoute),
        ) else {
            continue;
        };
        let item = format!("vnet '{}'", vnet.spec.name);
        const GUIDE: &str = "the ExpressRoute and site-to-site coexistence guide";
        if !vpn.sku.coexists_with_expressroute() {
            problems.push(Problem::new(&item, format!("its ExpressRoute and VPN gateways coexist, and '{}' is Basic: coexistence needs VpnGw1 or above ({GUIDE})", vpn.name)));
        }
        if vpn.vpn_type == Some(VpnType::PolicyBased) {
            problems.push(Problem::new(&item, format!("its ExpressRoute and VPN gateways coexist, and '{}' is policy-based: coexistence needs a route-based VPN gateway ({GUIDE})", vpn.name)));
        }
        if vpn.p2s_pool.is_some() {
            warnings.push(Problem::new(&item, format!("point-to-site on '{}' beside ExpressRoute gateway '{}': the 2016 cross-premises guide (seed 004) says point-to-site cannot coexist with ExpressRoute on one VNet; the current coexistence guide shows how to add it, as modelled here", vpn.name, er.name)));
        }
        if let Some(g) = vnet.gateway_subnet.filter(|g| g.len > 27) {
            problems.push(Problem::new(&item, format!("gateway_subnet {g} is smaller than the /27 that coexisting ExpressRoute and VPN gateways need ({GUIDE})")));
        }
        // The sites: VPN devices of the VPN gateway, customer edges of the ER gateway's circuits.
        let vpn_sites: Vec<&LocalGatewaySpec> = spec
            .connections
            .iter()
            .filter_map(|c| match c {
                ConnectionSpec::SiteToSite { gateway, local, .. } if *gateway == vpn.name => {
                    spec.local_gateways.iter().find(|l| l.name == *local)
                }
                _ => None,
            })
            .collect();
        let er_sites: Vec<&CircuitSpec> = spec
            .circuits
            .iter()
            .filter(|c| {
                c.gateway.as_deref() == Some(&er.name)
                    || spec.connections.iter().any(|k| matches!(k, ConnectionSpec::ExpressRoute { gateway, circuit, .. } if *gateway == er.name && *circuit == c.name))
            })
            .collect();
        for l in &vpn_sites {
            // Two devices of one site, joined by iBGP on premises, reach each other there.
            for c in er_sites
                .iter()
                .filter(|c| c.ce != l.device && !one_site(spec, &l.device, &c.ce))
            {
                warnings.push(Problem::new(&item, format!("site '{}' (VPN) and site '{}' (circuit '{}') do not reach each other through it: there is no transit routing between VPN sites and ExpressRoute sites ({GUIDE}; Azure Route Server adds it)", l.device, c.ce, c.name)));
            }
        }
        let spaces: Vec<String> = served(v, peerings)
            .iter()
            .flat_map(|&w| vnets[w].spec.address_space.clone())
            .collect();
        for l in &vpn_sites {
            for c in er_sites.iter().filter(|c| c.ce == l.device) {
                asymmetry(&item, l, c, &spaces, warnings);
            }
        }
    }
}

/// Whether routers `a` and `b` are one site: joined by a chain of iBGP sessions (both ends in
/// one AS) among the lab's own routers.
fn one_site(spec: &LabSpec, a: &str, b: &str) -> bool {
    let asn = |node: &str| {
        spec.nodes.iter().find_map(|n| match n {
            NodeSpec::Router {
                name, bgp: Some(g), ..
            } if name == node => Some(g.asn),
            _ => None,
        })
    };
    let Some(site_as) = asn(a) else {
        return false;
    };
    let mut reached = vec![a.to_string()];
    let mut next = 0;
    while next < reached.len() {
        let here = reached[next].clone();
        next += 1;
        for s in &spec.bgp_sessions {
            let (x, y) = (&s.a.node, &s.b.node);
            let other = if *x == here {
                y
            } else if *y == here {
                x
            } else {
                continue;
            };
            if asn(other) == Some(site_as) && !reached.contains(other) {
                reached.push(other.clone());
            }
        }
    }
    reached.iter().any(|n| n == b)
}

/// One site reaching the VNet both ways: the VNet prefers ExpressRoute (weight 32769 over
/// 32768) except for prefixes only the VPN announces (longest prefix first); the site prefers
/// what its own policy says. A warning when the two differ.
pub(super) fn asymmetry(
    item: &str,
    l: &LocalGatewaySpec,
    c: &CircuitSpec,
    spaces: &[String],
    warnings: &mut Vec<Problem>,
) {
    let lp = c.ce_local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    let site_uses_vpn = match &l.bgp {
        None => Some(format!("its static routes into the tunnel win over what BGP learns over circuit '{}'", c.name)),
        Some(_) if lp <= DEFAULT_LOCAL_PREF => Some(format!(
            "with equal local preference ({lp}) the VPN's AS path (65515) is shorter than the circuit's (12076 65515)"
        )),
        Some(_) => None,
    };
    let spaces = spaces.join(", ");
    match (site_uses_vpn, &l.bgp) {
        (Some(why), _) => warnings.push(Problem::new(item, format!("'{}' sends to {spaces} over the VPN ({why}), while the VNet sends to it over circuit '{}' (ExpressRoute's weight 32769 beats the VPN's 32768): the two directions take different paths; give the circuit `ce_local_pref: 150` (domain.md, \"Route selection\")", l.device, c.name))),
        (None, Some(b)) if !b.announce.is_empty() => warnings.push(Problem::new(item, format!("the VNet sends to {} over the VPN (a longer prefix wins over what circuit '{}' carries), while '{}' sends to {spaces} over the circuit (local preference {lp}): the two directions take different paths", b.announce.join(", "), c.name, l.device))),
        _ => {}
    }
}
