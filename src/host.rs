//! End hosts: a smoltcp [`Interface`] (medium IP, real checksums) on one link, its sockets, and
//! the app agents that drive them.
//!
//! Each poll is: ingest every delivered packet, let agents read and write, then let the stack
//! send (`Interface::poll`) at this same instant, and ask smoltcp when it next needs a poll.

use crate::app::Agent;
use crate::device::Stack;
use crate::engine::Time;
use crate::lab::model::TcpConfig;
use crate::results::AppRecord;
use crate::route::Prefix;
use smoltcp::iface::SocketSet;
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpCidr};
use std::net::Ipv4Addr;

/// A host's network settings, resolved from the lab.
pub struct HostConfig<'a> {
    pub name: &'a str,
    pub addresses: &'a [Prefix],
    pub gateway: Option<Ipv4Addr>,
    pub routes: &'a [(Prefix, Ipv4Addr)],
    pub mtu: usize,
    pub tcp: TcpConfig,
    /// Seeds the stack's initial sequence numbers and ephemeral ports.
    pub random_seed: u64,
}

pub struct Host {
    pub name: String,
    stack: Stack,
    agents: Vec<(usize, Box<dyn Agent>)>,
    pub tcp: TcpConfig,
    /// The time of the one wake-up event this host has in the queue, if any.
    pub pending_wake: Option<Time>,
}

impl Host {
    pub fn new(cfg: HostConfig<'_>) -> Self {
        let mut stack = Stack::new(cfg.addresses, cfg.mtu, cfg.random_seed);
        let routes = stack.iface.routes_mut();
        if let Some(gw) = cfg.gateway {
            let _ = routes.add_default_ipv4_route(gw);
        }
        for &(prefix, via) in cfg.routes {
            routes.update(|table| {
                let _ = table.push(smoltcp::iface::Route {
                    cidr: IpCidr::new(IpAddress::Ipv4(prefix.network().addr), prefix.len),
                    via_router: IpAddress::Ipv4(via),
                    preferred_until: None,
                    expires_at: None,
                });
            });
        }
        Host {
            name: cfg.name.to_string(),
            stack,
            agents: Vec::new(),
            tcp: cfg.tcp,
            pending_wake: None,
        }
    }

    pub fn sockets(&mut self) -> &mut SocketSet<'static> {
        &mut self.stack.sockets
    }

    /// A TCP socket with this host's buffer sizes, congestion control and Nagle setting.
    pub fn tcp_socket(&self) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0; self.tcp.rx_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0; self.tcp.tx_buffer]);
        let mut s = tcp::Socket::new(rx, tx);
        s.set_nagle_enabled(self.tcp.nagle);
        self.tcp.behaviour.apply(&mut s);
        s
    }

    /// Adds an agent that writes its measurements into app record `app`.
    pub fn add_agent(&mut self, app: usize, agent: Box<dyn Agent>) {
        self.agents.push((app, agent));
    }

    /// Hands the host a packet that arrived on its link.
    pub fn deliver(&mut self, packet: Vec<u8>) {
        self.stack.deliver(packet);
    }

    /// Packets the stack sent during the last poll, to be put on the link in order.
    pub fn outbox(&mut self) -> &mut Vec<Vec<u8>> {
        self.stack.outbox()
    }

    /// Runs the stack and the agents at `now`; returns when the host next needs a poll.
    pub fn poll(
        &mut self,
        now: Time,
        free: &mut Vec<Vec<u8>>,
        records: &mut [AppRecord],
    ) -> Option<Time> {
        // Ingest first and let the agents read before anything is sent, so that the ACK for new
        // data already advertises the window the application's read has reopened.
        self.stack.ingest(now, free);
        let mut wake: Option<Time> = None;
        for (app, agent) in &mut self.agents {
            let w = agent.poll(
                now,
                self.stack.iface.context(),
                &mut self.stack.sockets,
                &mut records[*app],
            );
            wake = earliest(wake, w);
        }
        earliest(wake, self.stack.egress(now, free))
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
