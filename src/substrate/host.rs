//! End hosts: smoltcp interfaces (medium IP, real checksums) on one link, their sockets, and
//! the app agents that drive them.
//!
//! Each agent's socket lives in a stack of its own — one per local endpoint (protocol and
//! port, or ICMP identifier), shared only by the agents of one endpoint (a bulk app's
//! receivers) — so that a packet costs the work of its own endpoint, not of every socket on
//! the host: smoltcp walks all of a stack's sockets for every packet it takes in and every
//! poll. A delivered packet goes to the stack of its destination port; what matches none (an
//! echo request, a segment for a closed port) goes to the host's base stack, which answers it.
//!
//! A poll runs only the endpoints with a packet or a deadline due: ingest the packets in
//! arrival order, let the endpoints' agents read and write, then let their stacks send,
//! round-robin one segment per socket per round in endpoint order — the order one stack
//! holding every socket would send in — and ask each stack when it next needs a poll.

use crate::lab::model::TcpConfig;
use crate::results::AppRecord;
use crate::rng::Rng;
use crate::substrate::agent::Agent;
use crate::substrate::device::Stack;
use crate::substrate::engine::Time;
use crate::substrate::route::Prefix;
use rand::RngCore;
use smoltcp::iface::SocketSet;
use smoltcp::socket::tcp;
use smoltcp::wire::{
    Icmpv4Message, Icmpv4Packet, IpAddress, IpCidr, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket,
};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::Ipv4Addr;

/// A host's network settings, resolved from the lab.
pub struct HostConfig<'a> {
    pub name: &'a str,
    pub addresses: &'a [Prefix],
    pub gateway: Option<Ipv4Addr>,
    pub routes: &'a [(Prefix, Ipv4Addr)],
    pub mtu: usize,
    pub tcp: TcpConfig,
    /// The host's random stream: each stack's initial sequence numbers and ephemeral ports.
    pub rng: Rng,
}

/// Where an agent's socket receives: the key a delivered packet is steered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(u16),
    Udp(u16),
    /// Echo replies carrying this identifier.
    Icmp(u16),
}

impl Endpoint {
    /// A number per endpoint: protocol above, port or identifier below.
    fn key(self) -> u32 {
        let (proto, port) = match self {
            Endpoint::Tcp(p) => (IpProtocol::Tcp, p),
            Endpoint::Udp(p) => (IpProtocol::Udp, p),
            Endpoint::Icmp(id) => (IpProtocol::Icmp, id),
        };
        u32::from(u8::from(proto)) << 16 | u32::from(port)
    }
}

/// One endpoint: its stack and the agents whose sockets are in it.
struct Group {
    stack: Stack,
    agents: Vec<(usize, Box<dyn Agent>)>,
    /// The deadline this group has in the host's timer heap, if any.
    wake: Option<Time>,
    /// What its agents asked for in the poll running now.
    asked: Option<Time>,
    /// Whether it is in this poll's list of groups to run.
    due: bool,
}

pub struct Host {
    pub name: String,
    pub tcp: TcpConfig,
    /// The time of the one wake-up event this host has in the queue, if any.
    pub pending_wake: Option<Time>,
    addresses: Vec<Prefix>,
    gateway: Option<Ipv4Addr>,
    routes: Vec<(Prefix, Ipv4Addr)>,
    mtu: usize,
    rng: Rng,
    /// Answers what no endpoint takes; holds no sockets.
    base: Stack,
    groups: Vec<Group>,
    /// Groups by endpoint key ([`Endpoint::key`]), sorted: a search, no hashing.
    by_endpoint: Vec<(u32, u32)>,
    /// The group the next [`Host::add_agent`] joins (the last one [`Host::open`] named).
    opened: Option<u32>,
    /// Deadlines by group; an entry that no longer matches its group's `wake` is stale.
    timers: BinaryHeap<Reverse<(Time, u32)>>,
    inbox: VecDeque<Vec<u8>>,
    outbox: Vec<Vec<u8>>,
    /// This poll's groups to run, kept between polls for its capacity.
    run: Vec<u32>,
}

impl Host {
    pub fn new(cfg: HostConfig<'_>) -> Self {
        let mut rng = cfg.rng;
        let base_seed = rng.next_u64();
        let mut host = Host {
            name: cfg.name.to_string(),
            tcp: cfg.tcp,
            pending_wake: None,
            addresses: cfg.addresses.to_vec(),
            gateway: cfg.gateway,
            routes: cfg.routes.to_vec(),
            mtu: cfg.mtu,
            rng,
            base: Stack::new(&[], cfg.mtu, 0),
            groups: Vec::new(),
            by_endpoint: Vec::new(),
            opened: None,
            timers: BinaryHeap::new(),
            inbox: VecDeque::new(),
            outbox: Vec::new(),
            run: Vec::new(),
        };
        host.base = host.stack(base_seed);
        host
    }

    /// A stack with the host's addresses, gateway and routes.
    fn stack(&self, random_seed: u64) -> Stack {
        let mut stack = Stack::new(&self.addresses, self.mtu, random_seed);
        let routes = stack.iface.routes_mut();
        if let Some(gw) = self.gateway {
            let _ = routes.add_default_ipv4_route(gw);
        }
        for &(prefix, via) in &self.routes {
            routes.update(|table| {
                let _ = table.push(smoltcp::iface::Route {
                    cidr: IpCidr::new(IpAddress::Ipv4(prefix.network().addr), prefix.len),
                    via_router: IpAddress::Ipv4(via),
                    preferred_until: None,
                    expires_at: None,
                });
            });
        }
        stack
    }

    /// The sockets of `endpoint`'s stack, made on first use, for the agent
    /// [`Host::add_agent`] adds next to put its socket in.
    pub fn open(&mut self, endpoint: Endpoint) -> &mut SocketSet<'static> {
        let key = endpoint.key();
        let g = match self.by_endpoint.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(at) => self.by_endpoint[at].1,
            Err(at) => {
                let seed = self.rng.next_u64();
                let stack = self.stack(seed);
                let g = self.groups.len() as u32;
                self.groups.push(Group {
                    stack,
                    agents: Vec::new(),
                    wake: None,
                    asked: None,
                    due: false,
                });
                self.by_endpoint.insert(at, (key, g));
                g
            }
        };
        self.opened = Some(g);
        &mut self.groups[g as usize].stack.sockets
    }

    /// A TCP socket with this host's buffer sizes (autotuned ones start small and grow as
    /// far as the connection needs), congestion control and Nagle setting.
    pub fn tcp_socket(&self) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0; self.tcp.rx_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0; self.tcp.tx_buffer]);
        let mut s = tcp::Socket::new(rx, tx);
        s.set_rx_buffer_max(self.tcp.rx_buffer_max);
        s.set_tx_buffer_max(self.tcp.tx_buffer_max);
        s.set_nagle_enabled(self.tcp.nagle);
        self.tcp.behaviour.apply(&mut s);
        s
    }

    /// Adds an agent, whose socket is in the stack [`Host::open`] last gave out, that writes
    /// its measurements into app record `app`. It first runs at the host's first poll.
    pub fn add_agent(&mut self, app: usize, agent: Box<dyn Agent>) {
        let Some(g) = self.opened else {
            debug_assert!(false, "an agent is added after its endpoint is opened");
            return;
        };
        let group = &mut self.groups[g as usize];
        group.agents.push((app, agent));
        if group.wake.is_none() {
            group.wake = Some(0);
            self.timers.push(Reverse((0, g)));
        }
    }

    /// Hands the host a packet that arrived on its link.
    pub fn deliver(&mut self, packet: Vec<u8>) {
        self.inbox.push_back(packet);
    }

    /// Whether packets wait to be taken in at the next poll.
    pub fn has_inbox(&self) -> bool {
        !self.inbox.is_empty()
    }

    /// Packets the host sent during the last poll, to be put on the link in order.
    pub fn outbox(&mut self) -> &mut Vec<Vec<u8>> {
        &mut self.outbox
    }

    /// The group whose endpoint `packet` is addressed to, if any.
    fn steer(&self, packet: &[u8]) -> Option<u32> {
        let ip = Ipv4Packet::new_checked(packet).ok()?;
        if ip.more_frags() || ip.frag_offset() != 0 {
            return None;
        }
        let endpoint = match ip.next_header() {
            IpProtocol::Tcp => Endpoint::Tcp(TcpPacket::new_checked(ip.payload()).ok()?.dst_port()),
            IpProtocol::Udp => Endpoint::Udp(UdpPacket::new_checked(ip.payload()).ok()?.dst_port()),
            IpProtocol::Icmp => {
                let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                if icmp.msg_type() != Icmpv4Message::EchoReply {
                    return None;
                }
                Endpoint::Icmp(icmp.echo_ident())
            }
            _ => return None,
        };
        let key = endpoint.key();
        let at = self
            .by_endpoint
            .binary_search_by_key(&key, |&(k, _)| k)
            .ok()?;
        Some(self.by_endpoint[at].1)
    }

    /// Marks group `g` to run in this poll.
    fn mark(&mut self, g: u32) {
        let group = &mut self.groups[g as usize];
        if !group.due {
            group.due = true;
            self.run.push(g);
        }
    }

    /// Runs the endpoints that have packets or deadlines at `now`; returns when the host next
    /// needs a poll.
    pub fn poll(
        &mut self,
        now: Time,
        free: &mut Vec<Vec<u8>>,
        records: &mut [AppRecord],
    ) -> Option<Time> {
        // Ingest first, in arrival order, and let the agents read before anything is sent, so
        // that the ACK for new data already advertises the window the application's read has
        // reopened. What ingesting answers at once (a duplicate ACK, a reset) goes out first.
        while let Some(packet) = self.inbox.pop_front() {
            let stack = match self.steer(&packet) {
                Some(g) => {
                    self.mark(g);
                    &mut self.groups[g as usize].stack
                }
                None => &mut self.base,
            };
            stack.deliver(packet);
            stack.ingest(now, free);
            self.outbox.append(stack.outbox());
        }
        while let Some(&Reverse((t, g))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            if self.groups[g as usize].wake == Some(t) {
                self.groups[g as usize].wake = None;
                self.mark(g);
            }
        }
        // Endpoint order is the order of the agents that opened them, as their sockets were
        // made.
        self.run.sort_unstable();
        for &g in &self.run {
            let group = &mut self.groups[g as usize];
            let mut wake = None;
            for (app, agent) in &mut group.agents {
                let w = agent.poll(
                    now,
                    group.stack.iface.context(),
                    &mut group.stack.sockets,
                    &mut records[*app],
                );
                wake = earliest(wake, w);
            }
            group.asked = wake;
        }
        loop {
            let mut sent = false;
            for &g in &self.run {
                let stack = &mut self.groups[g as usize].stack;
                sent |= stack.egress_round(now, free);
                self.outbox.append(stack.outbox());
            }
            if !sent {
                break;
            }
        }
        for g in self.run.drain(..) {
            let group = &mut self.groups[g as usize];
            group.due = false;
            let wake = earliest(group.asked, group.stack.poll_at(now));
            // An unchanged deadline keeps its entry; a changed one leaves the old entry stale.
            if wake != group.wake {
                group.wake = wake;
                if let Some(w) = wake {
                    self.timers.push(Reverse((w, g)));
                }
            }
        }
        // Stale entries wait until their time; past twice the groups, drop them all at once.
        if self.timers.len() > 2 * self.groups.len() + 64 {
            let groups = &self.groups;
            self.timers
                .retain(|&Reverse((t, g))| groups[g as usize].wake == Some(t));
        }
        // The next deadline, past the stale entries.
        while let Some(&Reverse((t, g))) = self.timers.peek() {
            if self.groups[g as usize].wake == Some(t) {
                return Some(t);
            }
            self.timers.pop();
        }
        None
    }
}

/// The earlier of two optional times.
pub fn earliest(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::model::TcpConfig;
    use smoltcp::iface::Context;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{IpProtocol, Ipv4Address, Ipv4Repr, UdpRepr};
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts its polls; wants one at `wake` until then.
    struct Counting {
        polls: Rc<Cell<u32>>,
        wake: Time,
    }

    impl Agent for Counting {
        fn poll(
            &mut self,
            now: Time,
            _: &mut Context,
            _: &mut SocketSet<'static>,
            _: &mut AppRecord,
        ) -> Option<Time> {
            self.polls.set(self.polls.get() + 1);
            (now < self.wake).then_some(self.wake)
        }
    }

    fn udp_to(port: u16) -> Vec<u8> {
        let (src, dst) = (Ipv4Address::new(10, 0, 0, 2), Ipv4Address::new(10, 0, 0, 1));
        let udp = UdpRepr {
            src_port: 40_000,
            dst_port: port,
        };
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Udp,
            payload_len: udp.header_len() + 4,
            hop_limit: 64,
        };
        let mut buf = vec![0; ip.buffer_len() + ip.payload_len];
        let caps = ChecksumCapabilities::default();
        let mut packet = Ipv4Packet::new_unchecked(&mut buf);
        ip.emit(&mut packet, &caps);
        let mut datagram = UdpPacket::new_unchecked(packet.payload_mut());
        udp.emit(
            &mut datagram,
            &src.into(),
            &dst.into(),
            4,
            |b| b.copy_from_slice(b"ping"),
            &caps,
        );
        buf
    }

    #[test]
    fn a_poll_runs_only_the_endpoints_a_packet_or_a_deadline_concerns() {
        let addresses = ["10.0.0.1/24".parse().unwrap()];
        let mut host = Host::new(HostConfig {
            name: "h",
            addresses: &addresses,
            gateway: None,
            routes: &[],
            mtu: 1500,
            tcp: TcpConfig {
                behaviour: Default::default(),
                rx_buffer: 1024,
                rx_buffer_max: 1024,
                tx_buffer: 1024,
                tx_buffer_max: 1024,
                nagle: false,
            },
            rng: crate::rng::component_rng(1, "host/h"),
        });
        let (a, b) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        for (port, polls, wake) in [(7001, &a, 5_000), (7002, &b, 9_000)] {
            host.open(Endpoint::Udp(port));
            host.add_agent(
                0,
                Box::new(Counting {
                    polls: polls.clone(),
                    wake,
                }),
            );
        }
        let probes =
            crate::results::Measured::UdpProbe(crate::results::ProbeRecord::new(1_000, &[]));
        let mut records = vec![AppRecord::new("p", "h", "g", 0, 10_000, probes)];
        let mut free = Vec::new();
        // The first poll starts every agent.
        assert_eq!(host.poll(0, &mut free, &mut records), Some(5_000));
        assert_eq!((a.get(), b.get()), (1, 1));
        // A packet for port 7002 runs its endpoint alone.
        host.deliver(udp_to(7002));
        assert_eq!(host.poll(1_000, &mut free, &mut records), Some(5_000));
        assert_eq!((a.get(), b.get()), (1, 2));
        host.outbox().clear();
        // A packet no endpoint takes runs none.
        host.deliver(udp_to(9));
        host.poll(2_000, &mut free, &mut records);
        assert_eq!((a.get(), b.get()), (1, 2));
        assert_eq!(
            host.outbox().len(),
            1,
            "the base stack answers port unreachable"
        );
        // A deadline runs its endpoint alone.
        assert_eq!(host.poll(5_000, &mut free, &mut records), Some(9_000));
        assert_eq!((a.get(), b.get()), (2, 2));
        assert_eq!(host.poll(9_000, &mut free, &mut records), None);
        assert_eq!((a.get(), b.get()), (2, 3));
    }
}
