//! The lab file as written: RON, parsed with serde. Every struct denies unknown fields so that a
//! misspelt field is an error with its line and column, never silently ignored. Optional fields
//! may be written bare (`gateway: "10.0.1.1"`); `Some(...)` also works.
//!
//! Nothing here is checked beyond its syntax: [`super::validate`] turns a spec into a model.

mod cloud;
mod imported;
pub use cloud::*;
pub use imported::*;

use crate::substrate::gateway::Sku;
use crate::substrate::link::{JitterSpec, LossSpec, QueueLimit};
use crate::units::{Bitrate, Bytes, Duration, Percent};
use crate::vpn::esp::CipherSuite;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    pub name: String,
    /// Seed of every random stream in the run. Default 1.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Virtual time the run lasts.
    pub duration: Duration,
    /// Infrastructure code the cloud side is read from, at every run (README, "Your own
    /// design"): its VNets, gateways, circuits, connections, peerings and VMs join the lab's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub design: Vec<DesignSource>,
    /// What the lab says about imported items that their code cannot, by resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<ImportedSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tunnels: Vec<TunnelSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bgp_sessions: Vec<BgpSessionSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub circuits: Vec<CircuitSpec>,
    /// Virtual networks (the cloud vocabulary, expanded into routers and links).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vnets: Vec<VnetSpec>,
    /// Virtual network gateways.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<GatewaySpec>,
    /// Local network gateways (on-premises VPN devices).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_gateways: Vec<LocalGatewaySpec>,
    /// Gateway connections: site-to-site VPN, ExpressRoute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionSpec>,
    /// VNet peerings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peerings: Vec<PeeringSpec>,
    /// Point-to-site VPN clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub p2s_clients: Vec<P2sClientSpec>,
    /// Azure VMware Solution private clouds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private_clouds: Vec<PrivateCloudSpec>,
    /// ExpressRoute Global Reach: two circuits joined at their MSEEs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_reach: Vec<GlobalReachSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// What must hold of the results; a run that misses any exits 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<ExpectSpec>,
    /// In a sweep, the fraction of a combination's seeds whose runs must meet every
    /// expectation. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_pass: Option<f64>,
    /// How often components fail and how long a repair takes, for `emulate resilience`'s
    /// expected downtime: each entry changes the default of a kind of candidate or of one
    /// candidate (README, "Expected downtime a year").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reliability: Vec<ReliabilitySpec>,
}

/// A failure rate and repair time for a kind of candidate (`kind: "circuit"`, as `--only`
/// names kinds) or for one candidate (`candidate: "edge"`, as `--list` names it). The rate is
/// `failures_per_year`, or derived from an `availability` ("99.95%") and the repair time as
/// (1 − availability) × a year ÷ repair.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReliabilitySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures_per_year: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Percent>,
    /// How long the component stays failed when nothing else carries the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<Duration>,
}

/// One expectation. `fault` names a fault as the report does ("circuit er down", "link wan
/// down"); `phase` is "start" or such a fault.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum ExpectSpec {
    /// The app's outage after the fault is at most `max`.
    Outage {
        app: String,
        fault: String,
        max: Duration,
    },
    /// The control plane reacts to the fault within `within` (and by `by`: "BFD", "hold
    /// timer", "DPD", ... if given).
    Detection {
        fault: String,
        within: Duration,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The app's latency percentile (50, 90, 99, 99.9 or 100) is at most `max`: RTT for probes
    /// and pings, completion time for requests; over the run or in a phase.
    Latency {
        app: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
        percentile: f64,
        max: Duration,
    },
    /// Bulk TCP goodput is at least `min`, over the run or in a phase.
    Goodput {
        app: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
        min: Bitrate,
    },
    /// Probes and pings lose nothing except within the outages that follow faults.
    NoLossOutsideFailover { app: String },
    /// Not one probe or ping comes back: a design that must block the traffic (spoke to
    /// spoke with no router in the hub, a segmented network).
    Unreachable { app: String },
    /// `emulate resilience`: no single failure stops the app until it is repaired.
    NoSinglePointOfFailure { app: String },
    /// `emulate resilience`: the app's longest outage over every single failure is at most
    /// `max`.
    WorstOutage { app: String, max: Duration },
    /// `emulate resilience`: the app's availability over a year, from every single failure's
    /// rate and what it costs the app, is at least `min` ("99.99%").
    Availability { app: String, min: Percent },
}

fn default_seed() -> u64 {
    1
}

/// TCP congestion control of a host's sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
pub enum Congestion {
    #[default]
    Cubic,
    Reno,
    None,
}

/// A profile of TCP defaults, named in a host's `tcp` field; `crate::substrate::tcp` lists what each
/// resolves to and the sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
pub enum TcpProfile {
    /// The defaults of a current Linux kernel.
    #[default]
    Linux,
    /// smoltcp 0.14 as released: RFC 6298's 1 s RTO floor, no SACK-based recovery.
    Rfc6298,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum NodeSpec {
    /// An end host: a smoltcp stack with one interface (its link's address) and apps.
    Host {
        name: String,
        /// Further addresses on the host's interface, with their prefix length.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        addresses: Vec<String>,
        /// Default gateway; must be on one of the host's subnets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        #[serde(default)]
        congestion: Congestion,
        /// TCP receive buffer per socket, fixed at this size (as `SO_RCVBUF`; also sets the
        /// window scale). Default: the profile's (`Linux`: autotuned, `Rfc6298`: 1 MiB).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tcp_rx_buffer: Option<Bytes>,
        /// TCP send buffer per socket, fixed at this size (as `SO_SNDBUF`). Default: the
        /// profile's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tcp_tx_buffer: Option<Bytes>,
        /// Overrides whether buffers the lab does not size are autotuned (`Linux`: true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tcp_autotune: Option<bool>,
        /// The most receive-buffer autotuning grows to (Linux's `tcp_rmem[2]`). Default 32 MiB.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tcp_rx_buffer_max: Option<Bytes>,
        /// The most send-buffer autotuning grows to (Linux's `tcp_wmem[2]`). Default 4 MiB.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tcp_tx_buffer_max: Option<Bytes>,
        /// Nagle's algorithm on TCP sockets. Default true.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nagle: Option<bool>,
        /// TCP defaults: `Linux` (the default) or `Rfc6298` (stock smoltcp 0.14).
        #[serde(default)]
        tcp: TcpProfile,
        /// Overrides the profile's minimum retransmission timeout.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_rto: Option<Duration>,
        /// Overrides the profile's initial congestion window, in segments.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        initial_window: Option<u16>,
        /// Overrides whether SACK is used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sack: Option<bool>,
        /// Overrides whether the initial slow start runs HyStart++ (RFC 9406); the Linux
        /// profile runs it with Cubic, as Linux does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hystart: Option<bool>,
        /// Overrides the profile's delayed-ACK timeout; "0ms" acknowledges at once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ack_delay: Option<Duration>,
    },
    /// A router: forwards IPv4 between its interfaces (and IPsec tunnels) by longest-prefix
    /// match. A cloud gateway is a router with a `sku`, which limits its capacity.
    Router {
        name: String,
        /// Gateway SKU: sets throughput, packet rate and what they apply to (see `gateway`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sku: Option<Sku>,
        /// Overrides the SKU's throughput.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        throughput: Option<Bitrate>,
        /// Overrides the SKU's packets per second.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pps: Option<u64>,
        /// The gateway's queue in front of its capacity limit. Default 1000 packets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gateway_queue: Option<QueueLimit>,
        /// Addresses beyond the interfaces' (loopbacks, BGP peering addresses), with length.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        addresses: Vec<String>,
        /// A BGP speaker on this router; its sessions are listed in `bgp_sessions`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bgp: Option<BgpSpec>,
        /// Delay between a control-plane decision and the forwarding change (the documented
        /// gateway–MSEE convergence, "up to a minute"). Default 0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        programming_delay: Option<Duration>,
        /// Clamp the MSS of every TCP SYN the router forwards (like "adjust-mss" on all its
        /// interfaces). Default: no clamp.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mss_clamp: Option<u16>,
        /// A router of Microsoft's edge (an MSEE), as circuits create them: the customer ASN
        /// rules apply to its peers. Default false.
        #[serde(default, skip_serializing_if = "is_false")]
        microsoft: bool,
        /// Address spaces of VNets peered with this VNet's peers but not with it (or of sites
        /// only a second Global Reach reaches): a packet to them that finds no route is counted
        /// as dropped because peering is not transitive.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        beyond_peerings: Vec<String>,
        /// Whether the router's BGP handles 4-byte AS numbers (RFC 6793). Default true; a
        /// router without it facing a 4-byte ASN is refused, as a real one would fail.
        #[serde(default = "default_true", skip_serializing_if = "is_true")]
        asn4: bool,
    },
}

impl NodeSpec {
    pub fn name(&self) -> &str {
        match self {
            NodeSpec::Host { name, .. } | NodeSpec::Router { name, .. } => name,
        }
    }

    /// A host with every optional field left out (the profile's defaults), with `gateway`.
    pub fn host(name: &str, gateway: Option<String>) -> NodeSpec {
        NodeSpec::Host {
            name: name.to_string(),
            addresses: vec![],
            gateway,
            congestion: Congestion::default(),
            tcp_rx_buffer: None,
            tcp_tx_buffer: None,
            tcp_autotune: None,
            tcp_rx_buffer_max: None,
            tcp_tx_buffer_max: None,
            nagle: None,
            tcp: TcpProfile::default(),
            min_rto: None,
            initial_window: None,
            sack: None,
            hystart: None,
            ack_delay: None,
        }
    }

    /// A router with every optional field left out.
    pub fn router(name: &str) -> NodeSpec {
        NodeSpec::Router {
            name: name.to_string(),
            sku: None,
            throughput: None,
            pps: None,
            gateway_queue: None,
            addresses: vec![],
            bgp: None,
            programming_delay: None,
            mss_clamp: None,
            microsoft: false,
            beyond_peerings: vec![],
            asn4: true,
        }
    }

    /// The addresses the node lists beyond its links'.
    pub fn addresses(&self) -> &[String] {
        match self {
            NodeSpec::Host { addresses, .. } | NodeSpec::Router { addresses, .. } => addresses,
        }
    }
}

/// One end of a link: the node and the interface address on the link's subnet.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EndSpec {
    pub node: String,
    pub ip: String,
    /// The address is a subnet's gateway that several links of this router share (a VNet's
    /// `.1`, one link per VM): the router reaches the far end by a host route instead of the
    /// whole subnet, and the address may repeat on its links. Routers only. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shared: bool,
}

/// Link parameters. On the link they apply to both directions; in `a_to_b` / `b_to_a` they
/// override one direction.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<JitterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Bitrate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

impl DirSpec {
    /// Fields set in `over` replace those in `self`.
    pub fn overlay(&self, over: &DirSpec) -> DirSpec {
        DirSpec {
            delay: over.delay.or(self.delay),
            jitter: over.jitter.clone().or_else(|| self.jitter.clone()),
            loss: over.loss.clone().or_else(|| self.loss.clone()),
            rate: over.rate.or(self.rate),
            overhead: over.overhead.or(self.overhead),
            queue: over.queue.or(self.queue),
            mtu: over.mtu.or(self.mtu),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub name: String,
    pub a: EndSpec,
    pub b: EndSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<JitterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Bitrate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a_to_b: Option<DirSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_to_a: Option<DirSpec>,
    /// A VNet peering: a packet that arrives over one peering never leaves over another
    /// (peering is not transitive) and is counted as such. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub peering: bool,
}

impl EndSpec {
    pub fn new(node: &str, ip: impl Into<String>) -> EndSpec {
        EndSpec {
            node: node.to_string(),
            ip: ip.into(),
            shared: false,
        }
    }
}

impl LinkSpec {
    /// A link with every optional field left out.
    pub fn new(name: impl Into<String>, a: EndSpec, b: EndSpec) -> LinkSpec {
        LinkSpec {
            name: name.into(),
            a,
            b,
            ..LinkSpec::default()
        }
    }

    /// The parameters of direction a→b (`side` 0) or b→a (`side` 1), overrides applied.
    pub fn direction(&self, side: usize) -> DirSpec {
        let both = DirSpec {
            delay: self.delay,
            jitter: self.jitter.clone(),
            loss: self.loss.clone(),
            rate: self.rate,
            overhead: self.overhead,
            queue: self.queue,
            mtu: self.mtu,
        };
        let over = if side == 0 {
            &self.a_to_b
        } else {
            &self.b_to_a
        };
        match over {
            Some(o) => both.overlay(o),
            None => both,
        }
    }
}

/// One end of a tunnel: a router and the (public) address of one of its interfaces.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelEndSpec {
    pub node: String,
    pub ip: String,
}

/// A site-to-site IPsec tunnel (ESP, tunnel mode) between two routers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelSpec {
    pub name: String,
    pub a: TunnelEndSpec,
    pub b: TunnelEndSpec,
    /// Default AesGcm.
    #[serde(default)]
    pub cipher: CipherSuite,
    /// UDP 4500 encapsulation (NAT traversal). Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nat_t: bool,
    /// MSS the endpoints clamp TCP SYNs to; `None` turns clamping off. Default 1350, as the
    /// vendor requires.
    #[serde(default = "default_mss_clamp")]
    pub mss_clamp: Option<u16>,
    /// IKE dead-peer detection; `None` turns it off. Default: timeout 45 s, probes every 10 s.
    #[serde(default = "default_dpd")]
    pub dpd: Option<DpdSpec>,
    /// Carry the tunnel in one TCP connection to port 443 of end `b` instead of ESP, framed
    /// as `OpenVpn` or `Sstp` (no DPD: the connection is the liveness). Default: ESP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<crate::vpn::Framing>,
}

impl TunnelSpec {
    /// A tunnel of these settings whose ends are still to be filled in.
    pub fn unplaced(
        name: &str,
        cipher: CipherSuite,
        nat_t: bool,
        mss_clamp: Option<u16>,
        dpd: Option<DpdSpec>,
        tcp: Option<crate::vpn::Framing>,
    ) -> TunnelSpec {
        let nowhere = || TunnelEndSpec {
            node: String::new(),
            ip: String::new(),
        };
        TunnelSpec {
            name: name.to_string(),
            a: nowhere(),
            b: nowhere(),
            cipher,
            nat_t,
            mss_clamp,
            dpd,
            tcp,
        }
    }
}

pub(crate) fn default_mss_clamp() -> Option<u16> {
    Some(1350)
}

/// Dead-peer detection settings (domain.md: timeout default 45 s, range 9–3600 s).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DpdSpec {
    /// Default 10 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Default 45 s; 9 s to 3600 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

pub(crate) fn default_dpd() -> Option<DpdSpec> {
    Some(DpdSpec::default())
}

/// An ExpressRoute circuit: two links (primary, secondary) from the customer edge router to two
/// Microsoft edge routers (MSEE, AS 12076), each MSEE linked to the ExpressRoute gateway. The
/// lab gets nodes `NAME-msee1`, `NAME-msee2`, links `NAME-primary`, `NAME-secondary`,
/// `NAME-msee1-gw`, `NAME-msee2-gw`, and the four BGP sessions (CE–MSEE with BFD).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitSpec {
    pub name: String,
    /// The customer edge router (with `bgp`).
    pub ce: String,
    /// The ExpressRoute virtual network gateway (a router with an ER `sku` and `bgp` AS 65515).
    /// Leave it out when `connections` link the circuit to its gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// A bandwidth tier: 50, 100, 200, 500 Mbps, 1, 2, 5, 10 Gbps (100 Gbps for ER Direct),
    /// each direction, on each link.
    pub bandwidth: Bitrate,
    /// The /30 of the primary link: the customer takes the first host, the MSEE the second.
    pub primary: String,
    /// The /30 of the secondary link.
    pub secondary: String,
    /// One-way delay of the provider links (CE to MSEE). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// One-way delay from the MSEEs to the gateway. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backbone_delay: Option<Duration>,
    /// BFD on the CE–MSEE sessions. Default on, 300 ms × 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdSpec>,
    /// Set false to turn BFD off.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub bfd_enabled: bool,
    /// The CE's BGP timers on the circuit (default 60 s / 180 s; at least 3 s / 10 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Duration>,
    /// Local preference the CE gives routes learned over the circuit (150 keeps on-premises
    /// paths symmetric when a VPN backs the circuit up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ce_local_pref: Option<u32>,
    /// Times the CE prepends its AS to what it announces over the circuit (to make the circuit
    /// the less preferred of two). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ce_prepend: Option<u8>,
    /// The ExpressRoute location where the circuit meets Microsoft (Global Reach joins circuits
    /// at different ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peering_location: Option<String>,
    /// Authorization keys the circuit's owner issued, for connections from gateways of other
    /// owners; each is valid for one connection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizations: Vec<String>,
    /// The Premium add-on: the private peering accepts 10,000 prefixes instead of 4,000.
    #[serde(default, skip_serializing_if = "is_false")]
    pub premium: bool,
    /// FastPath: data traffic bypasses the gateway (UltraPerformance or ErGw3Az only), so its
    /// capacity limit does not apply.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fast_path: bool,
}

impl CircuitSpec {
    /// A circuit with every optional field left out (BFD on, as the default is).
    pub fn new(
        name: &str,
        ce: &str,
        bandwidth: Bitrate,
        primary: String,
        secondary: String,
    ) -> CircuitSpec {
        CircuitSpec {
            name: name.to_string(),
            ce: ce.to_string(),
            gateway: None,
            bandwidth,
            primary,
            secondary,
            delay: None,
            backbone_delay: None,
            bfd: None,
            bfd_enabled: true,
            keepalive: None,
            hold: None,
            ce_local_pref: None,
            ce_prepend: None,
            peering_location: None,
            authorizations: vec![],
            premium: false,
            fast_path: false,
        }
    }
}

fn default_true() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// A router's BGP speaker.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BgpSpec {
    pub asn: u32,
    /// Default: the router's first address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    /// Prefixes this router announces to its peers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub originate: Vec<String>,
    /// Wait before a down session tries again. Default 5 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_retry: Option<Duration>,
    /// Leave the AS path's length out of route selection, as Azure VMware Solution does: it
    /// ignores AS-path prepending and spreads flows over its redundant paths. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_as_path: bool,
}

/// One end of a BGP session.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BgpEndSpec {
    pub node: String,
    /// The address this end speaks from (an interface or extra address of the node).
    pub ip: String,
    /// Default 60 s; at least 3 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<Duration>,
    /// Default 180 s; at least 10 s. The lower of the two ends' hold times applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Duration>,
    /// Weight this end gives routes learned on the session (ER 32769 over VPN 32768 at the
    /// cloud gateway). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Local preference this end gives routes learned on the session (e.g. 150 for ER on
    /// premises). Default: 100 for eBGP, the received value for iBGP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// Prefixes this end announces on this session only, besides its router's `originate`
    /// (e.g. a more specific prefix over the VPN alone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announce: Vec<String>,
    /// Times this end prepends its own AS to what it announces on the session (eBGP), to make
    /// the path less preferred. Default 0; at most 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepend: Option<u8>,
    /// The most prefixes this end accepts on the session: one more and it drops the session
    /// with a NOTIFICATION (RFC 4486). Default: no limit (circuits and VPN gateways set the
    /// platform's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prefixes: Option<u32>,
    /// Announce on this session only the routes learned from these peers (their addresses).
    /// Default: every route.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub export_from: Vec<String>,
}

/// BFD on a BGP session: detection after `interval` × `multiplier` of silence.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BfdSpec {
    /// Default 300 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<u8>,
}

/// A BGP session; end `a` opens the TCP connection.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BgpSessionSpec {
    pub a: BgpEndSpec,
    pub b: BgpEndSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdSpec>,
}

/// A static route on a router: packets to `prefix` go to the neighbour `via` (an address on a
/// connected subnet, or reached through one), into the tunnel named `via`, or nowhere when
/// `via` is "None" (dropped as having no route, Azure's next hop type None).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub node: String,
    pub prefix: String,
    pub via: String,
    /// Applies only to packets that arrive over this link (a route table associated with one
    /// subnet); on a prefix length tie it wins over the router's other routes. Default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<String>,
    /// A VNet system route (its address space, a peer's): routes BGP learns inside it are
    /// not installed, as Azure's system routes win over BGP even when BGP is more specific.
    /// Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub system: bool,
}

/// `via` of a route that drops what it matches.
pub const VIA_NONE: &str = "None";

/// Traffic between two hosts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    pub name: String,
    /// The host that starts the traffic.
    pub from: String,
    /// The peer: a host name (its first address) or one of a host's addresses.
    pub to: String,
    /// Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Duration>,
    /// Default: the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Duration>,
    pub traffic: TrafficSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum TrafficSpec {
    /// UDP datagrams at a fixed interval, echoed by the peer: one-way delay, RTT and loss of
    /// every probe. `size` is the UDP payload (at least 16 bytes); default 10 ms and 64 bytes.
    UdpProbe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval: Option<Duration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<Bytes>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
    /// ICMP echo requests; the peer's stack answers. `size` is the echo payload (at least 16
    /// bytes); default 1 s and 56 bytes.
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval: Option<Duration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<Bytes>,
    },
    /// TCP connections sending from `from` to `to` as fast as TCP allows (or at `rate`), until
    /// `size` bytes in all (if given) or the stop time.
    TcpBulk {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<Bytes>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Parallel connections, as `iperf3 -P`; `size` and `rate` are shared equally. Default 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        streams: Option<u16>,
        /// The application's sending rate over all streams (paced writes); default as fast as
        /// TCP allows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rate: Option<Bitrate>,
    },
    /// One TCP connection carrying a request of `request` bytes every `interval`, each answered
    /// with `response` bytes; records each request's completion time.
    TcpRequestResponse {
        request: Bytes,
        response: Bytes,
        interval: Duration,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
}

/// Which direction of a link a change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum Side {
    #[default]
    Both,
    AtoB,
    BtoA,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub at: Duration,
    pub action: FaultAction,
    /// The name reports and expectations use for the fault; expansion sets it when one fault
    /// acts on several items (a circuit's on both its links). Default: from the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A later step of an earlier fault with the same `label` (expansion writes it: a planned
    /// gateway failure stops the instance after its NOTIFICATIONs): reports list it under that
    /// fault. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub continues: bool,
}

impl FaultAction {
    /// A short description for reports.
    pub fn label(&self) -> String {
        match self {
            FaultAction::LinkDown(l) => format!("link {l} down"),
            FaultAction::LinkUp(l) => format!("link {l} up"),
            FaultAction::CircuitDown(c) => format!("circuit {c} down"),
            FaultAction::CircuitUp(c) => format!("circuit {c} up"),
            FaultAction::NodeDown(n) => format!("node {n} down"),
            FaultAction::NodeUp(n) => format!("node {n} up"),
            FaultAction::BgpReset { router, peer } => format!("BGP reset {router}–{peer}"),
            FaultAction::GatewayFailure {
                gateway,
                instance,
                planned,
            } => format!(
                "gateway {gateway} instance {instance} {} failure",
                if *planned { "planned" } else { "unplanned" }
            ),
            FaultAction::Degrade { link, .. } => format!("link {link} degraded"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum FaultAction {
    /// Take a link down: both directions drop everything queued, in flight and offered.
    LinkDown(String),
    /// Bring a link back up.
    LinkUp(String),
    /// Fail a whole ExpressRoute circuit: both its links go down.
    CircuitDown(String),
    /// Restore a circuit's links.
    CircuitUp(String),
    /// Take a node down: every link it is on goes down, and its BGP and BFD sessions reset.
    NodeDown(String),
    /// Bring a node's links back up.
    NodeUp(String),
    /// Reset the BGP session of `router` with the peer address `peer` (a clear).
    BgpReset { router: String, peer: String },
    /// A VPN gateway instance fails (`instance` 0 or 1 of an active-active gateway; 0 for
    /// active-standby). Planned: it closes its BGP sessions first and the standby takes over in
    /// the gateway's `planned_failover`; unplanned: it goes silent, the peers notice by DPD or
    /// BGP, and it is back after `unplanned_failover`. The platform stops using it at once.
    GatewayFailure {
        gateway: String,
        #[serde(default)]
        instance: u8,
        #[serde(default)]
        planned: bool,
    },
    /// Change a link's parameters from this time on.
    Degrade {
        link: String,
        #[serde(default)]
        direction: Side,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay: Option<Duration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jitter: Option<JitterSpec>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loss: Option<LossSpec>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rate: Option<Bitrate>,
    },
}
