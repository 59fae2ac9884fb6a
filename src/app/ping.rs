//! ICMP echo through smoltcp's ICMP socket; the peer's stack answers on its own.

use super::Agent;
use crate::lab::model::App;
use crate::results::AppRecord;
use crate::substrate::engine::Time;
use crate::substrate::host::{Endpoint, Host};
use crate::wire::stamp::Repr as Stamp;
use smoltcp::iface::{Context, SocketHandle, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::icmp;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress};
use std::net::Ipv4Addr;

const SLOTS: usize = 16;

pub struct Pinger {
    socket: SocketHandle,
    dst: Ipv4Addr,
    ident: u16,
    next: Time,
    interval: Time,
    stop: Time,
    payload: Vec<u8>,
    buf: Vec<u8>,
}

impl Pinger {
    pub fn new(host: &mut Host, app: &App, ident: u16, interval: Time, size: usize) -> Self {
        let bytes = 8 + size;
        let buffer = || {
            icmp::PacketBuffer::new(
                vec![icmp::PacketMetadata::EMPTY; SLOTS],
                vec![0; SLOTS * bytes],
            )
        };
        let mut socket = icmp::Socket::new(buffer(), buffer());
        let _ = socket.bind(icmp::Endpoint::Ident(ident));
        Pinger {
            socket: host.open(Endpoint::Icmp(ident)).add(socket),
            dst: app.to_addr,
            ident,
            next: app.start,
            interval,
            stop: app.stop,
            payload: vec![0; size],
            buf: vec![0; bytes],
        }
    }
}

impl Agent for Pinger {
    fn poll(
        &mut self,
        now: Time,
        _: &mut Context,
        sockets: &mut SocketSet<'static>,
        rec: &mut AppRecord,
    ) -> Option<Time> {
        let rec = rec.probes_mut()?;
        let caps = ChecksumCapabilities::default();
        let s = sockets.get_mut::<icmp::Socket>(self.socket);
        while let Ok((n, _)) = s.recv_slice(&mut self.buf) {
            let Ok(packet) = Icmpv4Packet::new_checked(&self.buf[..n]) else {
                continue;
            };
            let Ok(Icmpv4Repr::EchoReply { ident, data, .. }) = Icmpv4Repr::parse(&packet, &caps)
            else {
                continue;
            };
            let Some(Stamp { seq, sent }) = Stamp::parse(data).ok().filter(|_| ident == self.ident)
            else {
                continue;
            };
            rec.returned(seq, sent, now);
        }
        while self.next <= now && self.next < self.stop {
            let seq = rec.sent;
            Stamp { seq, sent: now }.emit(&mut self.payload);
            let repr = Icmpv4Repr::EchoRequest {
                ident: self.ident,
                seq_no: seq as u16,
                data: &self.payload,
            };
            let Ok(buf) = s.send(repr.buffer_len(), IpAddress::Ipv4(self.dst)) else {
                break;
            };
            repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &caps);
            rec.sent(now);
            self.next = self.next.saturating_add(self.interval);
        }
        (self.next < self.stop).then_some(self.next)
    }
}
