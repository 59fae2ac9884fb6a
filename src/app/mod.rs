//! Traffic: each app of the lab is a pair of agents, one on each host, that drive smoltcp
//! sockets and write what they measure into the app's [`AppRecord`].
//!
//! An agent is polled whenever its host is (a packet arrived, a timer fired) and returns the next
//! time it wants to act on its own (send a probe, start, stop), or `None`.

mod bulk;
mod ping;
mod probe;
mod reqresp;

use crate::engine::Time;
use crate::host::Host;
use crate::lab::model::{App, Traffic};
use crate::results::AppRecord;
use smoltcp::iface::{Context, SocketSet};

pub trait Agent {
    fn poll(
        &mut self,
        now: Time,
        cx: &mut Context,
        sockets: &mut SocketSet<'static>,
        rec: &mut AppRecord,
    ) -> Option<Time>;
}

/// First local port of clients; app i uses `CLIENT_PORT_BASE + i`.
const CLIENT_PORT_BASE: u16 = 49152;

/// The local port of app `index`'s client side.
pub fn client_port(index: usize) -> u16 {
    CLIENT_PORT_BASE.wrapping_add(index as u16)
}

/// Writes a probe's sequence number and send time at the front of `buf`.
fn stamp(buf: &mut [u8], seq: u64, sent: Time) {
    buf[..8].copy_from_slice(&seq.to_be_bytes());
    buf[8..16].copy_from_slice(&sent.to_be_bytes());
}

/// Reads what [`stamp`] wrote.
pub fn read_stamp(buf: &[u8]) -> Option<(u64, Time)> {
    let seq = u64::from_be_bytes(buf.get(..8)?.try_into().ok()?);
    let sent = u64::from_be_bytes(buf.get(8..16)?.try_into().ok()?);
    Some((seq, sent))
}

/// Installs app `index`'s agents on its two hosts. `from` and `to` are distinct hosts.
pub fn install(index: usize, app: &App, from: &mut Host, to: &mut Host) {
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
        Traffic::TcpBulk { size, port } => {
            let server = bulk::Receiver::new(to, port, size);
            to.add_agent(index, Box::new(server));
            let client = bulk::Sender::new(from, app, client_port, port, size);
            from.add_agent(index, Box::new(client));
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
