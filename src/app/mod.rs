//! Traffic: each app of the lab is a pair of agents, one on each host, that drive smoltcp
//! sockets and write what they measure into the app's [`AppRecord`].
//!
//! An agent is polled whenever its host is (a packet arrived, a timer fired) and returns the next
//! time it wants to act on its own (send a probe, start, stop), or `None`.

mod bulk;
mod ping;
mod probe;
mod reqresp;

use crate::lab::model::{App, Traffic, CLIENT_PORT_BASE};
use crate::results::{AppRecord, BulkRecord, ExchangeRecord, Measured, ProbeRecord};
pub use crate::substrate::agent::Agent;
use crate::substrate::engine::Time;
use crate::substrate::host::Host;
use smoltcp::socket::tcp;

/// The local port of app `index`'s client side (its first stream).
pub fn client_port(index: usize) -> u16 {
    CLIENT_PORT_BASE.wrapping_add(index as u16)
}

/// Hands out the client ports of bulk apps' further streams, from 65535 down
/// ([`CLIENT_PORT_BASE`] says why they never meet the apps' first ports).
#[derive(Debug)]
pub struct StreamPorts {
    next: u16,
}

impl Default for StreamPorts {
    fn default() -> Self {
        StreamPorts { next: u16::MAX }
    }
}

impl StreamPorts {
    fn take(&mut self) -> u16 {
        let port = self.next;
        self.next = self.next.saturating_sub(1);
        port
    }
}

/// Writes up to `limit` bytes into the socket's send buffer, as much as it takes: a ring
/// offers its free space in at most two pieces, so one piece is not "full" (an application's
/// blocking write fills the buffer, whatever else happens on the host). Bytes written.
fn fill(s: &mut tcp::Socket, limit: u64) -> u64 {
    let mut total = 0;
    while total < limit {
        let left = limit - total;
        let n = s
            .send(|buf| {
                let n = (buf.len() as u64).min(left) as usize;
                (n, n)
            })
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    total
}

/// Reads and discards everything readable, both pieces of a wrapped ring. Bytes read.
fn drain(s: &mut tcp::Socket) -> u64 {
    let mut total = 0;
    while s.can_recv() {
        let n = s.recv(|buf| (buf.len(), buf.len())).unwrap_or(0);
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    total
}

/// The empty record app `app` measures into, of its traffic's kind. Probes and bulk
/// transfers are counted per phase: from the start, then from each of `fault_instants`
/// (sorted, distinct).
pub fn record(app: &App, from: &str, to: &str, fault_instants: &[Time]) -> AppRecord {
    let measured = match app.traffic {
        Traffic::UdpProbe { interval, .. } => {
            Measured::UdpProbe(ProbeRecord::new(interval, fault_instants))
        }
        Traffic::Ping { interval, .. } => {
            Measured::Ping(ProbeRecord::new(interval, fault_instants))
        }
        Traffic::TcpBulk { streams, .. } => {
            Measured::TcpBulk(BulkRecord::new(streams, fault_instants))
        }
        Traffic::TcpRequestResponse { interval, .. } => {
            Measured::TcpRequestResponse(ExchangeRecord::new(interval, fault_instants))
        }
    };
    AppRecord::new(&app.name, from, to, app.start, app.stop, measured)
}

/// Installs app `index`'s agents on its two hosts. `from` and `to` are distinct hosts.
pub fn install(index: usize, app: &App, from: &mut Host, to: &mut Host, ports: &mut StreamPorts) {
    let client_port = client_port(index);
    match app.traffic {
        Traffic::UdpProbe {
            interval,
            size,
            port,
        } => {
            let server = probe::Echo::new(to, port, size);
            to.add_agent(index, Box::new(server));
            let client = probe::Sender::new(from, app, client_port, (interval, size, port));
            from.add_agent(index, Box::new(client));
        }
        Traffic::Ping {
            interval,
            size,
            ident,
        } => {
            let client = ping::Pinger::new(from, app, ident, interval, size);
            from.add_agent(index, Box::new(client));
        }
        Traffic::TcpBulk {
            size,
            port,
            streams,
            rate,
        } => {
            // Stream k carries an equal share of the size and rate, the first ones the
            // remainder of the size.
            let n = u64::from(streams);
            for k in 0..n {
                let server = bulk::Receiver::new(to, port, size);
                to.add_agent(index, Box::new(server));
                let local_port = if k == 0 { client_port } else { ports.take() };
                let share = size.map(|s| s / n + u64::from(k < s % n));
                let pace = rate.map(|r| r / n);
                let client = bulk::Sender::new(from, app, local_port, port, share, pace);
                from.add_agent(index, Box::new(client));
            }
        }
        Traffic::TcpRequestResponse {
            request,
            response,
            interval,
            port,
        } => {
            let server = reqresp::Server::new(to, port, request, response);
            to.add_agent(index, Box::new(server));
            let client =
                reqresp::Client::new(from, app, client_port, port, (request, response, interval));
            from.add_agent(index, Box::new(client));
        }
    }
}
