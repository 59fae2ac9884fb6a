//! A node's routing in the shape its engineer knows: the platform's views for what the
//! platform runs (a VM's effective routes, a virtual network gateway's learned and advertised
//! routes, an ExpressRoute circuit's route table per path), a router's BGP and forwarding
//! tables for the customer's own gear. Each is a rearrangement of [`Tables`], the run's own
//! state; the vocabulary (sources, next hop types, origins) is the platform's, domain.md
//! ("Routing as the platform shows it").

use crate::lab::model::{Lab, NodeKind, Role};
use crate::router::trace::Source;
use crate::sim::tables::{Advertised, Out, Programmed, Tables};
use crate::sim::Sim;
use crate::substrate::ids::NodeId;
use crate::substrate::route::Prefix;
use serde::Serialize;
use std::net::Ipv4Addr;

/// One node's routing at one instant.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "view", rename_all = "kebab-case")]
pub enum View {
    /// A VM's effective routes: the routes of its VNet that apply to what its NIC sends.
    EffectiveRoutes {
        vm: String,
        vnet: String,
        routes: Vec<EffectiveRoute>,
    },
    /// A virtual network gateway's learned routes and what it advertises to each peer.
    Gateway {
        gateway: String,
        learned: Vec<Learned>,
        advertised: Vec<Advertised>,
    },
    /// An ExpressRoute circuit's route table on one path (one MSEE).
    Circuit {
        circuit: String,
        path: String,
        msee: String,
        routes: Vec<CircuitRoute>,
    },
    /// A router's (or a VNet's) BGP and forwarding tables.
    Router { tables: Tables },
    /// A host outside a VNet: what its stack sends where.
    Host {
        host: String,
        gateway: Option<Ipv4Addr>,
        routes: Vec<(Prefix, Ipv4Addr)>,
    },
}

/// A row of a VM's effective routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveRoute {
    /// "Default", "User" or "VirtualNetworkGateway".
    pub source: &'static str,
    /// "Active", or "Invalid" for a route another one overrides.
    pub state: &'static str,
    pub prefix: Prefix,
    /// VnetLocal (the portal's "Virtual network"), VNetPeering, VirtualNetworkGateway, VirtualAppliance or None.
    pub next_hop_type: &'static str,
    pub next_hop_ip: Vec<Ipv4Addr>,
    /// Why a route is invalid, or that its next hop is down now.
    pub note: Option<String>,
}

/// A row of a gateway's learned routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Learned {
    pub network: Prefix,
    /// Network (its own), EBgp, IBgp, or Static (a connection's address prefixes).
    pub origin: &'static str,
    pub source_peer: Option<Ipv4Addr>,
    pub as_path: Vec<u32>,
    pub weight: Option<u32>,
    pub next_hop: Option<Ipv4Addr>,
    /// Used for forwarding (the best or as good as it).
    pub used: bool,
    /// Why a path is not used.
    pub lost: Option<String>,
}

/// A row of a circuit's route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CircuitRoute {
    pub network: Prefix,
    pub next_hop: Option<Ipv4Addr>,
    pub local_pref: u32,
    pub weight: u32,
    pub path: Vec<u32>,
    pub best: bool,
    pub used: bool,
}

/// The views of `nodes` now. Of all nodes (`nodes` holding every node), VNets' own tables and
/// on-premises hosts are left out (their VMs' effective routes say it); asked for by name,
/// they are shown.
pub fn of(sim: &Sim, lab: &Lab, nodes: &[NodeId]) -> Vec<View> {
    let every = nodes.len() == lab.nodes.len();
    let mut views = Vec::new();
    for &n in nodes {
        let node = &lab.nodes[n];
        match (&node.kind, node.role) {
            (NodeKind::Host(h), _) => match vnet_of(lab, n) {
                Some(vnet) => {
                    if let Some(t) = sim.tables(vnet) {
                        views.push(effective_routes(sim, lab, n, &t));
                    }
                }
                None if !every => views.push(View::Host {
                    host: node.name.clone(),
                    gateway: h.gateway,
                    routes: h.routes.clone(),
                }),
                None => {}
            },
            (NodeKind::Router(_), Role::VnetFabric) if every => {}
            (NodeKind::Router(_), role) => {
                let Some(t) = sim.tables(n) else { continue };
                match role {
                    Role::Gateway if t.asn.is_some() => views.push(gateway(&t)),
                    Role::Msee => {
                        let circuits: Vec<_> = lab
                            .circuits
                            .iter()
                            .flat_map(|c| {
                                c.msees
                                    .iter()
                                    .position(|&m| m == n)
                                    .map(|k| (c.name.clone(), k))
                            })
                            .collect();
                        if circuits.is_empty() {
                            views.push(View::Router { tables: t.clone() });
                        }
                        for (circuit, k) in circuits {
                            views.push(circuit_table(circuit, k, &t));
                        }
                    }
                    _ => views.push(View::Router { tables: t }),
                }
            }
        }
    }
    views
}

/// The VNet whose fabric host `n`'s NIC attaches to, if any.
fn vnet_of(lab: &Lab, n: NodeId) -> Option<NodeId> {
    let f = lab.nodes[n].ifaces.first()?;
    let (far, _) = lab.links[f.link].receiver(f.side);
    (lab.nodes[far].role == Role::VnetFabric).then_some(far)
}

/// The platform's next hop type for a route of VNet `t` out of `out`.
fn next_hop_type(lab: &Lab, out: &Out, source: Source) -> &'static str {
    match out {
        Out::Drop if source == Source::System => "VnetLocal",
        Out::Drop => "None",
        Out::Tunnel { .. } => "VirtualNetworkGateway",
        Out::Link { link, neighbour } => {
            let peering = lab
                .links
                .iter()
                .any(|l| l.name == *link && lab.nodes[l.ends[0].0].ifaces[l.ends[0].1].peering);
            let role = lab
                .nodes
                .iter()
                .find(|n| n.name == *neighbour)
                .map(|n| n.role);
            match role {
                _ if peering => "VNetPeering",
                Some(Role::Gateway | Role::Msee) => "VirtualNetworkGateway",
                _ => "VirtualAppliance",
            }
        }
    }
}

/// VM `vm`'s effective routes: the routes of its VNet's forwarding table that apply to what
/// its NIC sends (the VNet's and its NIC subnet's), in the platform's vocabulary. The VNet's
/// connected plumbing (each NIC's and each gateway's and peering's link) is how the model
/// carries the VnetLocal route, and is not listed. BGP's choices that forwarding does not
/// use are listed as Invalid, with the route that overrides them.
fn effective_routes(sim: &Sim, lab: &Lab, vm: NodeId, t: &Tables) -> View {
    let nic = lab.nodes[vm]
        .ifaces
        .first()
        .map(|f| lab.links[f.link].name.clone());
    let user: Vec<Prefix> = t
        .forwarding
        .iter()
        .filter(|e| e.ingress.is_some() && e.ingress == nic)
        .map(|e| e.prefix)
        .collect();
    let mut routes = Vec::new();
    for e in &t.forwarding {
        let own = match &e.ingress {
            Some(_) => e.ingress == nic,
            None => e.source != Source::Connected,
        };
        if !own {
            continue;
        }
        let source = match e.source {
            Source::User => "User",
            Source::Bgp => "VirtualNetworkGateway",
            _ => "Default",
        };
        let overridden = e.source != Source::User && user.contains(&e.prefix);
        let down = e.next_hops.iter().all(|h| !h.up);
        let out = e.next_hops.first().map_or(&Out::Drop, |h| &h.out);
        let (next_hop_type, next_hop_ip) = match (e.source, out) {
            (Source::User, Out::Drop) => ("None", vec![]),
            // An appliance in a peered VNet: the route crosses the peering, and the peer's
            // route for what arrives over it names the appliance.
            (Source::User, Out::Link { link, neighbour }) => (
                "VirtualAppliance",
                appliance(sim, lab, link, neighbour, e.prefix).map_or_else(
                    || e.next_hops.iter().filter_map(|h| h.via).collect(),
                    |a| vec![a],
                ),
            ),
            (Source::Bgp, _) => (
                "VirtualNetworkGateway",
                e.next_hops.iter().filter_map(|h| h.via).collect(),
            ),
            // The platform names no address for a peering or the VNet itself.
            _ => match next_hop_type(lab, out, e.source) {
                t @ ("VNetPeering" | "VnetLocal") => (t, vec![]),
                t => (t, e.next_hops.iter().filter_map(|h| h.via).collect()),
            },
        };
        routes.push(EffectiveRoute {
            source,
            state: if overridden { "Invalid" } else { "Active" },
            prefix: e.prefix,
            next_hop_type,
            next_hop_ip,
            note: if overridden {
                Some("a user route for the same prefix wins".to_string())
            } else if down {
                Some("next hop down now".to_string())
            } else {
                None
            },
        });
    }
    for p in t
        .bgp
        .iter()
        .filter(|p| p.path.used && p.path.peer.is_some())
    {
        let note = match p.programmed {
            Some(Programmed::SystemRoute(s)) => format!("the system route {s} wins over BGP"),
            Some(Programmed::StaticRoute) => "a route for the same prefix wins".to_string(),
            Some(Programmed::Pending(at)) => {
                format!("chosen; programmed at {}", crate::units::format_nanos(at))
            }
            Some(Programmed::Unresolved) => "its next hop is unreachable".to_string(),
            Some(Programmed::Yes) | None => continue,
        };
        routes.push(EffectiveRoute {
            source: "VirtualNetworkGateway",
            state: "Invalid",
            prefix: p.path.prefix,
            next_hop_type: "VirtualNetworkGateway",
            next_hop_ip: p.path.peer.into_iter().collect(),
            note: Some(note),
        });
    }
    routes.sort_by(|a, b| (a.prefix, a.source).cmp(&(b.prefix, b.source)));
    // Several used BGP paths of one prefix: one row, its next hops together.
    routes.dedup_by(|b, a| {
        let same = a.prefix == b.prefix && a.source == b.source && a.state == b.state;
        if same {
            a.next_hop_ip.extend(b.next_hop_ip.iter().copied());
        }
        same
    });
    View::EffectiveRoutes {
        vm: lab.nodes[vm].name.clone(),
        vnet: t.node.clone(),
        routes,
    }
}

/// The appliance a user route for `prefix` reaches over VNet peering `link`: the next hop of
/// the peer `neighbour`'s route for `prefix` for what arrives over that peering.
fn appliance(
    sim: &Sim,
    lab: &Lab,
    link: &str,
    neighbour: &str,
    prefix: Prefix,
) -> Option<Ipv4Addr> {
    let n = lab.nodes.iter().position(|n| n.name == neighbour)?;
    let t = sim.tables(NodeId(n))?;
    t.forwarding
        .iter()
        .find(|e| e.prefix == prefix && e.ingress.as_deref() == Some(link))
        .and_then(|e| e.next_hops.first())
        .and_then(|h| h.via)
}

/// A gateway's learned routes (its own networks, its BGP paths, its static routes) and what
/// it advertises.
fn gateway(t: &Tables) -> View {
    let mut learned: Vec<Learned> = t
        .bgp
        .iter()
        .map(|p| {
            let p = &p.path;
            Learned {
                network: p.prefix,
                origin: match p.origin {
                    crate::control::plane::Origin::Network => "Network",
                    crate::control::plane::Origin::Ebgp => "EBgp",
                    crate::control::plane::Origin::Ibgp => "IBgp",
                },
                source_peer: p.peer,
                as_path: p.as_path.clone(),
                weight: Some(p.weight),
                next_hop: p.next_hop,
                used: p.used,
                lost: p.lost.map(|l| l.to_string()),
            }
        })
        .collect();
    for e in t.forwarding.iter().filter(|e| e.source == Source::Static) {
        learned.push(Learned {
            network: e.prefix,
            origin: "Static",
            source_peer: None,
            as_path: vec![],
            weight: None,
            next_hop: e.next_hops.first().and_then(|h| h.via),
            used: true,
            lost: None,
        });
    }
    learned.sort_by_key(|l| l.network);
    View::Gateway {
        gateway: t.node.clone(),
        learned,
        advertised: t.advertised.clone(),
    }
}

/// Circuit `circuit`'s route table on path `k` (0 primary, 1 secondary): its MSEE's BGP table.
fn circuit_table(circuit: String, k: usize, t: &Tables) -> View {
    View::Circuit {
        circuit,
        path: if k == 0 { "primary" } else { "secondary" }.to_string(),
        msee: t.node.clone(),
        routes: t
            .bgp
            .iter()
            .map(|p| CircuitRoute {
                network: p.path.prefix,
                next_hop: p.path.next_hop,
                local_pref: p.path.local_pref,
                weight: p.path.weight,
                path: p.path.as_path.clone(),
                best: p.path.best,
                used: p.path.used,
            })
            .collect(),
    }
}
