//! A router's tables at this instant of a run, read from the router itself: its forwarding
//! table (what packets are looked up in), its BGP table (every path, the best marked and why
//! each other lost) and what it advertises to each peer. Names replace indices; nothing is
//! recomputed.

use super::{NodeState, Sim};
use crate::control::plane::PathEntry;
use crate::lab::model::Role;
use crate::router::trace::Source;
use crate::router::Router;
use crate::substrate::engine::Time;
use crate::substrate::ids::NodeId;
use crate::substrate::route::{Fib, Port, Prefix};
use serde::Serialize;
use std::net::Ipv4Addr;

/// Where a forwarding entry's next hop sends a packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Out {
    /// Out of the interface on `link`, to `neighbour` (the node at its far end).
    Link {
        link: String,
        neighbour: String,
    },
    Tunnel {
        tunnel: String,
    },
    /// Dropped (next hop type None).
    Drop,
}

/// One next hop of a forwarding entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Next {
    pub out: Out,
    pub via: Option<Ipv4Addr>,
    /// Whether it is usable now (its link up, its tunnel up).
    pub up: bool,
}

/// One forwarding entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub prefix: Prefix,
    pub source: Source,
    /// For a route of one interface's own table: the link of that interface.
    pub ingress: Option<String>,
    pub next_hops: Vec<Next>,
}

/// What became of a path BGP uses, in forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Programmed {
    /// In the forwarding table.
    Yes,
    /// A VNet system route covers it: BGP routes inside one are not installed.
    SystemRoute(Prefix),
    /// A connected or static route for the same prefix wins.
    StaticRoute,
    /// Chosen, and programmed after the router's programming delay, at this time (ns).
    Pending(Time),
    /// Its next hop resolves through no connected or static route.
    Unresolved,
}

/// A path of the BGP table, with what forwarding made of it (for the paths used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BgpPath {
    #[serde(flatten)]
    pub path: PathEntry,
    pub programmed: Option<Programmed>,
}

/// A route advertised to a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advertised {
    pub peer: Ipv4Addr,
    pub prefix: Prefix,
    pub next_hop: Option<Ipv4Addr>,
    pub as_path: Vec<u32>,
    pub local_pref: Option<u32>,
}

/// A BGP session's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub peer: Ipv4Addr,
    pub peer_asn: u32,
    pub established: bool,
    /// Prefixes received from the peer.
    pub received: usize,
}

/// Everything a router's tables hold now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tables {
    pub node: String,
    #[serde(skip)]
    pub id: NodeId,
    #[serde(skip)]
    pub role: Role,
    pub asn: Option<u32>,
    pub forwarding: Vec<Entry>,
    pub sessions: Vec<Session>,
    pub bgp: Vec<BgpPath>,
    pub advertised: Vec<Advertised>,
}

impl Sim {
    /// The router `node`'s tables now; `None` for a host.
    pub fn tables(&self, node: NodeId) -> Option<Tables> {
        let NodeState::Router(r) = &self.nodes[node] else {
            return None;
        };
        let lab = &self.lab;
        let next = |h: &crate::substrate::route::NextHop| {
            let (out, up) = match h.port {
                Port::Iface(i) => {
                    let f = r.ifaces[i];
                    let link = &lab.links[f.link];
                    let (far, _) = link.receiver(f.side);
                    (
                        Out::Link {
                            link: link.name.clone(),
                            neighbour: lab.nodes[far].name.clone(),
                        },
                        self.links[f.out()].is_up(),
                    )
                }
                Port::Tunnel(k) => (
                    Out::Tunnel {
                        tunnel: tunnel_name(lab, node, k),
                    },
                    r.tunnels[k].up,
                ),
                Port::Discard => (Out::Drop, true),
            };
            Next {
                out,
                via: h.via,
                up,
            }
        };
        let entries = |fib: &Fib, ingress: Option<String>| -> Vec<Entry> {
            fib.routes()
                .iter()
                .map(|route| Entry {
                    prefix: route.prefix,
                    source: r.source(route.prefix, ingress.is_some()),
                    ingress: ingress.clone(),
                    next_hops: route.next_hops.iter().map(next).collect(),
                })
                .collect()
        };
        let mut forwarding = entries(r.fib(), None);
        for (i, f) in r.ifaces.iter().enumerate() {
            if let Some(fib) = r.ingress_fib(i) {
                forwarding.extend(entries(fib, Some(lab.links[f.link].name.clone())));
            }
        }
        let (mut sessions, mut bgp, mut advertised, mut asn) = (vec![], vec![], vec![], None);
        if let Some(c) = &r.control {
            asn = Some(c.asn());
            sessions = c
                .sessions
                .iter()
                .map(|s| Session {
                    peer: s.cfg.peer,
                    peer_asn: s.cfg.peer_asn,
                    established: s.phase == crate::control::bgp::Phase::Established,
                    received: s.adj_in.len(),
                })
                .collect();
            bgp = c
                .table()
                .into_iter()
                .map(|path| BgpPath {
                    programmed: (path.used && path.peer.is_some())
                        .then(|| programmed(r, path.prefix)),
                    path,
                })
                .collect();
            advertised = c
                .advertised()
                .into_iter()
                .map(|(peer, prefix, a)| Advertised {
                    peer,
                    prefix,
                    next_hop: a.next_hop,
                    as_path: a.as_path,
                    local_pref: a.local_pref,
                })
                .collect();
        }
        Some(Tables {
            node: lab.nodes[node].name.clone(),
            id: node,
            role: lab.nodes[node].role,
            asn,
            forwarding,
            sessions,
            bgp,
            advertised,
        })
    }
}

/// What forwarding made of BGP's choice for `prefix`: the router's own checks, in the order
/// [`Router`] programs a decision.
fn programmed(r: &Router, prefix: Prefix) -> Programmed {
    if let Some(at) = r.pending(prefix) {
        Programmed::Pending(at)
    } else if let Some(s) = r.system_cover(prefix) {
        Programmed::SystemRoute(s)
    } else if r.static_has(prefix) {
        Programmed::StaticRoute
    } else if r.bgp_programmed(prefix) {
        Programmed::Yes
    } else {
        Programmed::Unresolved
    }
}

/// The name of router `node`'s tunnel `k`.
fn tunnel_name(lab: &crate::lab::model::Lab, node: NodeId, k: usize) -> String {
    match &lab.nodes[node].kind {
        crate::lab::model::NodeKind::Router(m) => m
            .tunnels
            .get(k)
            .map_or_else(String::new, |&(t, _)| lab.tunnels[t].name.clone()),
        crate::lab::model::NodeKind::Host(_) => String::new(),
    }
}
