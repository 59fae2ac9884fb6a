//! UDP probes: the sender stamps each datagram with a sequence number and its send time; the
//! peer records the one-way delay and echoes it; the sender records the round trip.

use super::Agent;
use crate::lab::model::App;
use crate::results::AppRecord;
use crate::substrate::engine::Time;
use crate::substrate::host::{Endpoint, Host};
use crate::wire::stamp::Repr as Stamp;
use smoltcp::iface::{Context, SocketHandle, SocketSet};
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint};

/// Datagrams a probe socket can hold in each direction.
const SLOTS: usize = 64;

fn udp_socket(size: usize) -> udp::Socket<'static> {
    let buffer = || {
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; SLOTS],
            vec![0; SLOTS * size],
        )
    };
    udp::Socket::new(buffer(), buffer())
}

pub struct Sender {
    socket: SocketHandle,
    dst: IpEndpoint,
    next: Time,
    interval: Time,
    stop: Time,
    size: usize,
    buf: Vec<u8>,
}

impl Sender {
    pub fn new(
        host: &mut Host,
        app: &App,
        local_port: u16,
        (interval, size, port): (Time, usize, u16),
    ) -> Self {
        let mut socket = udp_socket(size);
        // Binding cannot fail for a non-zero port on a fresh socket.
        let _ = socket.bind(local_port);
        Sender {
            socket: host.open(Endpoint::Udp(local_port)).add(socket),
            dst: IpEndpoint::new(IpAddress::Ipv4(app.to_addr), port),
            next: app.start,
            interval,
            stop: app.stop,
            size,
            buf: vec![0; size],
        }
    }
}

impl Agent for Sender {
    fn poll(
        &mut self,
        now: Time,
        _: &mut Context,
        sockets: &mut SocketSet<'static>,
        rec: &mut AppRecord,
    ) -> Option<Time> {
        let rec = rec.probes_mut()?;
        let s = sockets.get_mut::<udp::Socket>(self.socket);
        while let Ok((n, _)) = s.recv_slice(&mut self.buf) {
            if let Ok(Stamp { seq, sent }) = Stamp::parse(&self.buf[..n]) {
                rec.returned(seq, sent, now);
            }
        }
        while self.next <= now && self.next < self.stop {
            let seq = rec.sent;
            Stamp { seq, sent: now }.emit(&mut self.buf);
            if s.send_slice(&self.buf[..self.size], self.dst).is_err() {
                break;
            }
            rec.sent(now);
            self.next = self.next.saturating_add(self.interval);
        }
        (self.next < self.stop).then_some(self.next)
    }
}

/// The peer side: records arrival and one-way delay, and sends the datagram back.
pub struct Echo {
    socket: SocketHandle,
    buf: Vec<u8>,
}

impl Echo {
    pub fn new(host: &mut Host, port: u16, size: usize) -> Self {
        let mut socket = udp_socket(size);
        let _ = socket.bind(port);
        Echo {
            socket: host.open(Endpoint::Udp(port)).add(socket),
            buf: vec![0; size.max(16)],
        }
    }
}

impl Agent for Echo {
    fn poll(
        &mut self,
        now: Time,
        _: &mut Context,
        sockets: &mut SocketSet<'static>,
        rec: &mut AppRecord,
    ) -> Option<Time> {
        let rec = rec.probes_mut()?;
        let s = sockets.get_mut::<udp::Socket>(self.socket);
        while let Ok((n, meta)) = s.recv_slice(&mut self.buf) {
            if let Ok(Stamp { seq, sent }) = Stamp::parse(&self.buf[..n]) {
                rec.arrived(seq, sent, now);
            }
            let _ = s.send_slice(&self.buf[..n], meta.endpoint);
        }
        None
    }
}
