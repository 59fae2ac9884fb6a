//! The path a packet would take at this instant of a run, hop by hop: each router's own
//! decision ([`Router::trace`]) on its state of the moment, each link's state and parameters of
//! the moment. Nothing is sent and nothing changes, so a run can be asked at any instant and go
//! on as if it had not been.

use super::{extend_path, NodeState, Sim};
use crate::lab::model::{has_address, Iface, NodeKind};
pub use crate::router::trace::{Flow, Proto};
use crate::router::trace::{Matched, Stop, Verdict};
use crate::substrate::engine::Time;
use crate::substrate::ids::NodeId;
use serde::Serialize;
use std::net::Ipv4Addr;

/// Most hops a path may have: a forwarding loop ends by TTL (64) long before.
const MAX_HOPS: usize = 256;

/// One link crossed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// The node that sends it on.
    pub node: String,
    /// The route it matched there; `None` for the sending host.
    pub route: Option<Matched>,
    /// The tunnel it came out of at this node, if any.
    pub unwrapped: Option<String>,
    /// The tunnel it entered here, and the route its outer packet matched.
    pub entered: Option<(String, Matched)>,
    /// That tunnel is carried in a TCP connection: the packet is sized as one segment with a
    /// 20-byte TCP header, and the connection's own TCP (Nagle, acknowledgements,
    /// retransmission) may hold it longer.
    pub tcp_tunnel: bool,
    pub link: String,
    /// The node at the link's far end.
    pub to: String,
    /// The packet's size on this link, every header and encapsulation included.
    pub bytes: usize,
    /// The node's capacity limits' processing time, the link's serialization and its one-way
    /// delay, in nanoseconds.
    pub service: Time,
    pub serialization: Time,
    pub delay: Time,
    /// The link adds random jitter to the delay.
    pub jitter: bool,
}

/// Where a path ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    /// At the host (or router) that has the destination address.
    Delivered { node: String },
    /// Dropped at `node`, and why.
    Stopped { node: String, why: Stop },
    /// At a host that does not have the destination address.
    WrongHost { node: String },
    /// Out of a link whose MTU is smaller than the packet.
    TooBig {
        link: String,
        bytes: usize,
        mtu: u32,
    },
    /// More than [`MAX_HOPS`] hops.
    Loop,
}

/// The hop-by-hop path of one packet at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    pub flow: Flow,
    /// The instant asked about, in nanoseconds.
    pub at: Time,
    pub hops: Vec<Hop>,
    pub end: End,
    /// Sum of the hops' processing, serialization and delay: the one-way delay on an idle path
    /// (plus the jitter of the links that have it).
    pub one_way: Time,
    /// The identifier the run gives a packet that crossed these links in this order: the one
    /// probes are tagged with.
    #[serde(skip)]
    pub id: u64,
}

impl Path {
    /// Whether the packet gets where it is addressed.
    pub fn delivered(&self) -> bool {
        matches!(self.end, End::Delivered { .. })
    }

    /// Whether a link of the path adds jitter.
    pub fn jitter(&self) -> bool {
        self.hops.iter().any(|h| h.jitter)
    }

    /// Whether the packet enters a tunnel carried in a TCP connection.
    pub fn tcp_tunnel(&self) -> bool {
        self.hops.iter().any(|h| h.tcp_tunnel)
    }

    /// The links crossed, in order.
    pub fn links(&self) -> Vec<&str> {
        self.hops.iter().map(|h| h.link.as_str()).collect()
    }
}

impl Sim {
    /// The node with address `ip`, if any.
    pub fn node_with(&self, ip: Ipv4Addr) -> Option<NodeId> {
        let nodes = &self.lab.nodes;
        (0..nodes.len())
            .map(NodeId)
            .find(|&n| has_address(&nodes[n], ip))
    }

    /// The path `flow` takes now when `from` sends it.
    pub fn trace(&self, from: NodeId, flow: Flow) -> Path {
        let lab = &self.lab;
        let mut packet = flow.packet();
        let mut hops = Vec::new();
        let mut id = 0u64;
        let mut node = from;
        let mut in_iface: Option<usize> = None;
        let up = |f: Iface| self.links[f.out()].is_up();
        let name = |n: NodeId| lab.nodes[n].name.clone();
        let tunnel = |n: NodeId, k: usize| match &lab.nodes[n].kind {
            NodeKind::Router(r) => r
                .tunnels
                .get(k)
                .map_or_else(String::new, |&(t, _)| lab.tunnels[t].name.clone()),
            NodeKind::Host(_) => String::new(),
        };
        let end = loop {
            if hops.len() >= MAX_HOPS {
                break End::Loop;
            }
            let (out, mut hop) = match &self.nodes[node] {
                NodeState::Host(_) if in_iface.is_some() || node != from => {
                    break if has_address(&lab.nodes[node], flow.dst) {
                        End::Delivered { node: name(node) }
                    } else {
                        End::WrongHost { node: name(node) }
                    };
                }
                NodeState::Host(_) => {
                    let NodeKind::Host(h) = &lab.nodes[node].kind else {
                        break End::Loop;
                    };
                    let f = lab.nodes[node].ifaces[0];
                    let routed = h.gateway.is_some()
                        || f.connected.contains(flow.dst)
                        || h.routes.iter().any(|(p, _)| p.contains(flow.dst));
                    if has_address(&lab.nodes[node], flow.dst) {
                        break End::Delivered { node: name(node) };
                    }
                    if !routed {
                        break End::Stopped {
                            node: name(node),
                            why: Stop::NoRoute,
                        };
                    }
                    if !up(f) {
                        break End::Stopped {
                            node: name(node),
                            why: Stop::LinkDown,
                        };
                    }
                    (f, hop(name(node), None, None, None, 0))
                }
                NodeState::Router(r) => match r.trace(&mut packet, in_iface, up) {
                    Verdict::Local => break End::Delivered { node: name(node) },
                    Verdict::Stop(why) => {
                        break End::Stopped {
                            node: name(node),
                            why,
                        }
                    }
                    Verdict::Forward(f) => (
                        r.ifaces[f.iface],
                        Hop {
                            tcp_tunnel: f.entered.as_ref().is_some_and(|e| r.tcp_carried(e.0)),
                            ..hop(
                                name(node),
                                Some(f.route),
                                f.unwrapped.map(|k| tunnel(node, k)),
                                f.entered.map(|(k, m)| (tunnel(node, k), m)),
                                f.service,
                            )
                        },
                    ),
                },
            };
            let dir = out.out();
            let d = &self.links[dir];
            let link = &lab.links[out.link];
            if packet.len() > d.params.mtu as usize {
                break End::TooBig {
                    link: link.name.clone(),
                    bytes: packet.len(),
                    mtu: d.params.mtu,
                };
            }
            let (next, next_iface) = link.receiver(out.side);
            hop.link = link.name.clone();
            hop.to = name(next);
            hop.bytes = packet.len();
            hop.serialization = d.params.serialization(packet.len());
            hop.delay = d.params.delay;
            hop.jitter = d.params.jitter.is_some();
            hops.push(hop);
            id = extend_path(id, dir);
            node = next;
            in_iface = Some(next_iface);
        };
        let one_way = hops
            .iter()
            .map(|h| h.service + h.serialization + h.delay)
            .fold(0, Time::saturating_add);
        Path {
            flow,
            at: self.now(),
            hops,
            end,
            one_way,
            id,
        }
    }
}

fn hop(
    node: String,
    route: Option<Matched>,
    unwrapped: Option<String>,
    entered: Option<(String, Matched)>,
    service: Time,
) -> Hop {
    Hop {
        node,
        route,
        unwrapped,
        entered,
        tcp_tunnel: false,
        link: String::new(),
        to: String::new(),
        bytes: 0,
        service,
        serialization: 0,
        delay: 0,
        jitter: false,
    }
}
