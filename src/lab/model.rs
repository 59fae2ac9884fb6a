//! The validated lab: every name resolved to an index, every default filled in, every address
//! parsed. The engine builds a run from this and nothing else.

use crate::substrate::engine::Time;
use crate::substrate::gateway::Capacity;
use crate::substrate::ids::{Dir, LinkDir, LinkId, NodeId};
use crate::substrate::link::DirParams;
use crate::substrate::route::{NextHop, Prefix};
use crate::vpn::esp::CipherSuite;
use std::net::Ipv4Addr;

/// Most parallel connections one bulk app opens: the VPN gateway vendor benchmarks with 16 to
/// 100 streams.
pub const MAX_STREAMS: u16 = 128;

/// Client (local) ports: the dynamic range of RFC 6335, 49152..=65535. App i's first
/// connection uses `CLIENT_PORT_BASE + i`; the further streams of bulk apps count down from
/// 65535. Validation keeps apps plus further streams within [`CLIENT_PORTS`], so no two
/// connections share a client port.
pub const CLIENT_PORT_BASE: u16 = 49152;
pub const CLIENT_PORTS: u32 = 65536 - CLIENT_PORT_BASE as u32;

#[derive(Debug, Clone)]
pub struct Lab {
    pub name: String,
    pub seed: u64,
    pub duration: Time,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    pub tunnels: Vec<Tunnel>,
    pub apps: Vec<App>,
    /// Sorted by time; faults at the same time keep their order in the file.
    pub faults: Vec<Fault>,
    /// Valid settings that likely do not do what was meant, for `check` and the run to print.
    pub warnings: Vec<super::error::Problem>,
    /// Defaults an imported design was completed with (README, "Your own design"), each with
    /// what to write to change it; reports list them under "assumptions".
    pub assumptions: Vec<String>,
    pub expectations: Vec<Expectation>,
    /// In a sweep, the fraction of a combination's runs that must meet every expectation.
    pub expect_pass: f64,
    /// The ExpressRoute circuits the lab's `circuits` expanded into (empty for a lab written
    /// in links and routers).
    pub circuits: Vec<Circuit>,
    /// The virtual network gateways' instances (empty for a lab without `gateways`).
    pub gateways: Vec<GatewayInstance>,
    /// The lab's failure rates and repair times for `emulate resilience`, in file order.
    pub reliability: Vec<super::failure::Reliability>,
}

/// A virtual network gateway instance as its parts: the router it is, its SKU, and what an
/// unplanned and a planned failure of it are made of.
#[derive(Debug, Clone)]
pub struct GatewayInstance {
    pub gateway: String,
    pub instance: u8,
    pub node: NodeId,
    pub sku: crate::substrate::gateway::Sku,
    /// The steps of a failure at time 0, each at its time, the platform's takeover last; empty
    /// for an ExpressRoute gateway.
    pub unplanned: Vec<(Time, FaultKind)>,
    pub planned: Vec<(Time, FaultKind)>,
}

/// An ExpressRoute circuit as its parts: what fails when the circuit, one of its links, or
/// its peering location fails.
#[derive(Debug, Clone)]
pub struct Circuit {
    pub name: String,
    pub peering_location: Option<String>,
    /// The primary and the secondary link (customer edge to MSEE).
    pub links: [LinkId; 2],
    /// The MSEE of each link.
    pub msees: [NodeId; 2],
}

impl Lab {
    /// Every node's id, in order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.nodes.len()).map(NodeId)
    }

    /// The circuit whose parts the expansion named `parts`, resolved to this lab's links and
    /// nodes (`None` if any is missing).
    pub fn circuit(&self, parts: &super::expand::circuit::Parts) -> Option<Circuit> {
        let link = |name: &str| self.link_ids().find(|&l| self.links[l].name == name);
        let node = |name: &str| self.node_ids().find(|&n| self.nodes[n].name == name);
        Some(Circuit {
            name: parts.name.clone(),
            peering_location: parts.peering_location.clone(),
            links: [link(&parts.links[0])?, link(&parts.links[1])?],
            msees: [node(&parts.msees[0])?, node(&parts.msees[1])?],
        })
    }

    /// A gateway instance's parts by the ids of this lab; `None` when a part is not in it.
    pub fn gateway_instance(
        &self,
        parts: &super::expand::InstanceParts,
    ) -> Option<GatewayInstance> {
        let node = |name: &str| self.node_ids().find(|&n| self.nodes[n].name == name);
        let steps = |faults: &[crate::lab::spec::FaultSpec]| -> Option<Vec<(Time, FaultKind)>> {
            use crate::lab::spec::FaultAction;
            faults
                .iter()
                .map(|f| {
                    let kind = match &f.action {
                        FaultAction::NodeDown(n) | FaultAction::NodeUp(n) => FaultKind::NodeState {
                            node: node(n)?,
                            up: matches!(f.action, FaultAction::NodeUp(_)),
                        },
                        FaultAction::BgpReset { router, peer } => FaultKind::BgpReset {
                            node: node(router)?,
                            peer: peer.parse().ok()?,
                        },
                        _ => return None,
                    };
                    Some((f.at.0, kind))
                })
                .collect()
        };
        Some(GatewayInstance {
            gateway: parts.gateway.clone(),
            instance: parts.instance,
            node: node(&parts.router)?,
            sku: parts.sku,
            unplanned: steps(&parts.unplanned)?,
            planned: steps(&parts.planned)?,
        })
    }

    /// Every link's id, in order.
    pub fn link_ids(&self) -> impl Iterator<Item = LinkId> + use<> {
        (0..self.links.len()).map(LinkId)
    }

    /// Ends the run at `duration` (what `--duration` asks): apps stop by then, and the faults
    /// after it never happen.
    pub fn cut_short(&mut self, duration: Time) {
        self.duration = duration;
        for app in &mut self.apps {
            app.stop = app.stop.min(duration);
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    /// Interfaces in the order their links appear in the file.
    pub ifaces: Vec<Iface>,
    pub kind: NodeKind,
    pub role: Role,
}

/// What a node is in the design, as the lab (or its expansion) states it, never guessed from
/// addresses or AS numbers: the drawing places nodes by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    /// A router of the customer's or the internet's.
    Router,
    /// The router a VNet expands into: the platform's forwarding between its subnets, peerings
    /// and gateways, which does not fail as a unit.
    VnetFabric,
    /// A router with a gateway's capacity (a SKU, or a throughput or packet rate).
    Gateway,
    /// A router of Microsoft's edge (`microsoft: true`, as circuits create them).
    Msee,
    /// A customer router with a BGP session to an MSEE: a circuit's customer edge.
    CustomerEdge,
}

/// A node's attachment to one end of a link.
#[derive(Debug, Clone, Copy)]
pub struct Iface {
    pub link: LinkId,
    /// The direction the node sends on: a→b when it is the link's `a` end, b→a when `b`; it
    /// receives on the other.
    pub side: Dir,
    pub addr: Prefix,
    /// The route the node has for the link: the subnet of `addr`, or the far end's /32 when
    /// the end is `shared` (a VNet subnet's gateway, one link per VM).
    pub connected: Prefix,
    /// The link is a VNet peering (see `LinkSpec::peering`).
    pub peering: bool,
}

impl Iface {
    /// An interface on a subnet of its own (not shared, not a peering).
    pub fn new(link: LinkId, side: Dir, addr: Prefix) -> Iface {
        Iface {
            link,
            side,
            addr,
            connected: addr.network(),
            peering: false,
        }
    }

    /// The link direction the interface sends on.
    pub fn out(&self) -> LinkDir {
        self.link.dir(self.side)
    }

    /// The link direction the interface receives on.
    pub fn inbound(&self) -> LinkDir {
        self.out().reverse()
    }
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Host(Host),
    Router(Router),
}

#[derive(Debug, Clone)]
pub struct Host {
    /// Addresses beyond the interface's own.
    pub extra_addresses: Vec<Prefix>,
    pub gateway: Option<Ipv4Addr>,
    pub routes: Vec<(Prefix, Ipv4Addr)>,
    pub tcp: TcpConfig,
}

#[derive(Debug, Clone, Copy)]
pub struct TcpConfig {
    /// Congestion control, timers, initial window, SACK and delayed ACKs, from the host's
    /// profile and overrides.
    pub behaviour: crate::substrate::tcp::TcpBehaviour,
    /// Receive buffer per socket at the start, and the most it may grow to by autotuning
    /// (equal: a fixed buffer).
    pub rx_buffer: usize,
    pub rx_buffer_max: usize,
    /// Send buffer per socket at the start, and the most it may grow to.
    pub tx_buffer: usize,
    pub tx_buffer_max: usize,
    pub nagle: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Router {
    /// Static routes.
    pub routes: Vec<(Prefix, NextHop)>,
    /// Routes for packets that arrive over one interface only: (interface, prefix, next hop).
    pub ingress_routes: Vec<(usize, Prefix, NextHop)>,
    /// VNet system routes: BGP routes inside them are not installed.
    pub system_routes: Vec<Prefix>,
    /// Address spaces beyond a peering's reach: a miss there is "not transitive".
    pub beyond_peerings: Vec<Prefix>,
    /// The tunnels this router terminates: (tunnel index in the lab, side 0 = a / 1 = b).
    /// `Port::Tunnel(k)` refers to entry k.
    pub tunnels: Vec<(usize, usize)>,
    /// A gateway's processing capacity, if it has a SKU.
    pub capacity: Option<Capacity>,
    /// Addresses beyond the interfaces' (loopbacks, BGP peering addresses).
    pub extra_addresses: Vec<Prefix>,
    pub bgp: Option<Bgp>,
    /// Delay between a control-plane decision and the forwarding change.
    pub programming_delay: Time,
    /// MSS every forwarded TCP SYN is clamped to.
    pub mss_clamp: Option<u16>,
}

/// A router's BGP speaker.
#[derive(Debug, Clone)]
pub struct Bgp {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    /// Prefixes this router announces.
    pub originate: Vec<Prefix>,
    /// Its sessions, this router's end of each.
    pub sessions: Vec<crate::control::plane::SessionSpec>,
    /// Route selection leaves the AS path's length out (prepending has no effect; equal paths
    /// of different lengths share flows).
    pub ignore_as_path: bool,
}

#[derive(Debug, Clone)]
pub struct Tunnel {
    pub name: String,
    /// (router node, outer address) of ends a and b.
    pub ends: [(NodeId, Ipv4Addr); 2],
    pub suite: CipherSuite,
    pub nat_t: bool,
    pub mss_clamp: Option<u16>,
    /// The SPI each end puts on the packets it sends.
    pub spi: [u32; 2],
    /// Dead-peer detection: probe interval and timeout.
    pub dpd: Option<(Time, Time)>,
    /// Carried in one TCP connection (end `a` connects to port 443 of end `b`) instead of ESP.
    pub tcp: Option<crate::vpn::Framing>,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    /// (node, interface index on that node) for ends a and b.
    pub ends: [(NodeId, usize); 2],
    /// Indexed by [`Dir`]: a→b, then b→a.
    pub dirs: [DirParams; 2],
}

impl Link {
    /// The (node, interface) that sends on `dir`.
    pub fn sender(&self, dir: Dir) -> (NodeId, usize) {
        self.ends[dir.index()]
    }

    /// The (node, interface) that receives what `dir` carries.
    pub fn receiver(&self, dir: Dir) -> (NodeId, usize) {
        self.ends[dir.receiver()]
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub from: NodeId,
    pub to: NodeId,
    pub from_addr: Ipv4Addr,
    pub to_addr: Ipv4Addr,
    pub start: Time,
    pub stop: Time,
    pub traffic: Traffic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    UdpProbe {
        interval: Time,
        size: usize,
        port: u16,
    },
    Ping {
        interval: Time,
        size: usize,
        ident: u16,
    },
    TcpBulk {
        /// Bytes to send over all streams.
        size: Option<u64>,
        port: u16,
        /// Parallel connections, 1 to [`MAX_STREAMS`].
        streams: u16,
        /// Application sending rate over all streams, in bits per second.
        rate: Option<u64>,
    },
    TcpRequestResponse {
        request: u64,
        response: u64,
        interval: Time,
        port: u16,
    },
}

/// What must hold of a run's results (validated: apps and faults exist).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Expectation {
    Outage {
        app: String,
        fault: String,
        max: Time,
    },
    Detection {
        fault: String,
        within: Time,
        by: Option<String>,
    },
    Latency {
        app: String,
        phase: Option<String>,
        percentile: f64,
        max: Time,
    },
    Goodput {
        app: String,
        phase: Option<String>,
        min: u64,
    },
    NoLossOutsideFailover {
        app: String,
    },
    Unreachable {
        app: String,
    },
    /// Checked by `emulate resilience`, not by a run.
    NoSinglePointOfFailure {
        app: String,
    },
    /// Checked by `emulate resilience`, not by a run.
    WorstOutage {
        app: String,
        max: Time,
    },
    /// Checked by `emulate resilience`, not by a run: a fraction of 1.
    Availability {
        app: String,
        min: crate::units::Percent,
    },
}

impl Expectation {
    /// About every single failure of the design, which `emulate resilience` runs; a run of
    /// the lab leaves it out.
    pub fn is_resilience(&self) -> bool {
        matches!(
            self,
            Expectation::NoSinglePointOfFailure { .. }
                | Expectation::WorstOutage { .. }
                | Expectation::Availability { .. }
        )
    }
}

/// What kind of traffic an app is, as results and reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppKind {
    UdpProbe,
    Ping,
    TcpBulk,
    TcpRequestResponse,
}

impl AppKind {
    pub const ALL: [AppKind; 4] = [
        AppKind::UdpProbe,
        AppKind::Ping,
        AppKind::TcpBulk,
        AppKind::TcpRequestResponse,
    ];

    /// The name in reports and JSON ("udp-probe", ...).
    pub fn name(self) -> &'static str {
        match self {
            AppKind::UdpProbe => "udp-probe",
            AppKind::Ping => "ping",
            AppKind::TcpBulk => "tcp-bulk",
            AppKind::TcpRequestResponse => "tcp-request-response",
        }
    }

    /// Probes and pings: apps whose unit is an echoed packet.
    pub fn echoes(self) -> bool {
        matches!(self, AppKind::UdpProbe | AppKind::Ping)
    }

    pub fn is_tcp(self) -> bool {
        matches!(self, AppKind::TcpBulk | AppKind::TcpRequestResponse)
    }
}

impl std::fmt::Display for AppKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Traffic {
    pub fn kind(&self) -> AppKind {
        match self {
            Traffic::UdpProbe { .. } => AppKind::UdpProbe,
            Traffic::Ping { .. } => AppKind::Ping,
            Traffic::TcpBulk { .. } => AppKind::TcpBulk,
            Traffic::TcpRequestResponse { .. } => AppKind::TcpRequestResponse,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub at: Time,
    pub action: FaultKind,
    /// What the lab file said, for the report ("circuit er down").
    pub label: String,
    /// A later step of an earlier fault with the same label (a planned failure's stop): it
    /// starts no phase and no timeline of its own.
    pub continues: bool,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    LinkState {
        link: LinkId,
        up: bool,
    },
    /// Every link of the node goes down (or up); going down resets its control plane.
    NodeState {
        node: NodeId,
        up: bool,
    },
    /// Reset the node's BGP session(s) with `peer`.
    BgpReset {
        node: NodeId,
        peer: Ipv4Addr,
    },
    /// A change of parameters for the listed directions of a link.
    LinkChange {
        link: LinkId,
        sides: Vec<Dir>,
        change: crate::substrate::link::Change,
    },
}

/// Whether `ip` is one of node `n`'s addresses ([`host_addresses`] without listing them).
pub fn has_address(n: &Node, ip: Ipv4Addr) -> bool {
    let extra = match &n.kind {
        NodeKind::Host(h) => h.extra_addresses.as_slice(),
        NodeKind::Router(r) => r.extra_addresses.as_slice(),
    };
    n.ifaces.iter().any(|f| f.addr.addr == ip) || extra.iter().any(|p| p.addr == ip)
}

/// A node's addresses: its interfaces' first (a shared subnet gateway once), then its extra
/// addresses.
pub fn host_addresses(n: &Node) -> impl Iterator<Item = Prefix> + '_ {
    let extra = match &n.kind {
        NodeKind::Host(h) => h.extra_addresses.as_slice(),
        NodeKind::Router(r) => r.extra_addresses.as_slice(),
    };
    n.ifaces
        .iter()
        .enumerate()
        .filter(|(i, f)| !n.ifaces[..*i].iter().any(|g| g.addr == f.addr))
        .map(|(_, f)| f.addr)
        .chain(extra.iter().copied())
}
