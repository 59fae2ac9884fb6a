//! Probe-path tagging: which links each UDP probe and its echo crossed.
//!
//! The run tags every packet with an identifier of the links it crossed so far (equal for
//! packets that took the same links in the same order). When a probe or an echo reaches a host
//! where its app listens, this observer reads the probe's stamp and hands back a [`Tag`]; the
//! run passes it to the app's record, which tells from it when traffic first moved to a new
//! path after a fault.

use crate::app;
use crate::lab::model::{Lab, NodeKind, Traffic};
use crate::substrate::engine::Time;
use crate::substrate::ids::PerLinkDir;
use smoltcp::wire::{IpProtocol, Ipv4Packet, UdpPacket};

/// The path a probe (`outbound`) or its echo took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub app: usize,
    pub seq: u64,
    pub sent: Time,
    pub outbound: bool,
    pub path: u64,
}

/// Where UDP probes are received, by the link direction that delivers to the host.
pub struct ProbePaths {
    /// Per link, per direction: (UDP port, app, outbound) of the probes its far end receives,
    /// by port (a hub's VM may listen for a thousand).
    listening: PerLinkDir<Vec<(u16, usize, bool)>>,
    tags: Vec<Tag>,
}

impl super::Observer for ProbePaths {
    /// A probe or an echo its app waits for at the far end of `on`: keep its tag.
    fn delivered(&mut self, _at: Time, on: super::On, packet: &[u8]) {
        let listening = &self.listening[on.at];
        if listening.is_empty() {
            return;
        }
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            return;
        };
        if ip.next_header() != IpProtocol::Udp {
            return;
        }
        let Ok(udp) = UdpPacket::new_checked(ip.payload()) else {
            return;
        };
        let port = udp.dst_port();
        let first = listening.partition_point(|l| l.0 < port);
        let Some(&(_, app, outbound)) = listening.get(first).filter(|l| l.0 == port) else {
            return;
        };
        if let Ok(crate::wire::stamp::Repr { seq, sent }) =
            crate::wire::stamp::Repr::parse(udp.payload())
        {
            self.tags.push(Tag {
                app,
                seq,
                sent,
                outbound,
                path: on.path,
            });
        }
    }
}

impl ProbePaths {
    pub fn new(lab: &Lab) -> Self {
        let mut listening = PerLinkDir::filled(lab.links.len(), Vec::new());
        for (i, a) in lab.apps.iter().enumerate() {
            let Traffic::UdpProbe { port, .. } = a.traffic else {
                continue;
            };
            for (host, port, outbound) in [(a.to, port, true), (a.from, app::client_port(i), false)]
            {
                debug_assert!(matches!(lab.nodes[host].kind, NodeKind::Host(_)));
                // A host has one interface: the link direction towards it delivers its packets.
                for f in &lab.nodes[host].ifaces {
                    listening[f.inbound()].push((port, i, outbound));
                }
            }
        }
        for dirs in listening.pairs_mut() {
            for l in dirs {
                // Stable: of two apps on one port, the first still answers.
                l.sort_by_key(|&(port, _, _)| port);
            }
        }
        ProbePaths {
            listening,
            tags: Vec::new(),
        }
    }

    /// The tags kept since the last call, for the run to hand to the apps' records.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Tag> {
        self.tags.drain(..)
    }
}
