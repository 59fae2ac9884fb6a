//! Bulk TCP: one connection sending as fast as the stack accepts, from start until stop or until
//! `size` bytes; the receiver counts goodput per window.

use super::Agent;
use crate::engine::Time;
use crate::host::Host;
use crate::lab::model::App;
use crate::results::AppRecord;
use smoltcp::iface::{Context, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint};

pub struct Sender {
    socket: SocketHandle,
    dst: IpEndpoint,
    local_port: u16,
    start: Time,
    stop: Time,
    remaining: u64,
    connected: bool,
    closed: bool,
}

impl Sender {
    pub fn new(host: &mut Host, app: &App, local_port: u16, port: u16, size: Option<u64>) -> Self {
        let socket = host.tcp_socket();
        Sender {
            socket: host.sockets().add(socket),
            dst: IpEndpoint::new(IpAddress::Ipv4(app.to_addr), port),
            local_port,
            start: app.start,
            stop: app.stop,
            remaining: size.unwrap_or(u64::MAX),
            connected: false,
            closed: false,
        }
    }
}

impl Agent for Sender {
    fn poll(
        &mut self,
        now: Time,
        cx: &mut Context,
        sockets: &mut SocketSet<'static>,
        rec: &mut AppRecord,
    ) -> Option<Time> {
        if now < self.start {
            return Some(self.start);
        }
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        if !self.connected {
            self.connected = s.connect(cx, self.dst, self.local_port).is_ok();
        }
        if rec.established_at.is_none() && s.state() == tcp::State::Established {
            rec.established_at = Some(now);
        }
        if !self.closed && now < self.stop && self.remaining > 0 && s.may_send() {
            let remaining = self.remaining;
            let n = s
                .send(|buf| {
                    let n = (buf.len() as u64).min(remaining) as usize;
                    (n, n)
                })
                .unwrap_or(0) as u64;
            self.remaining -= n;
            rec.bytes_sent += n;
        }
        if !self.closed && (now >= self.stop || self.remaining == 0) {
            s.close();
            self.closed = true;
        }
        (!self.closed).then_some(self.stop)
    }
}

pub struct Receiver {
    socket: SocketHandle,
    port: u16,
    expected: Option<u64>,
}

impl Receiver {
    pub fn new(host: &mut Host, port: u16, expected: Option<u64>) -> Self {
        let socket = host.tcp_socket();
        Receiver {
            socket: host.sockets().add(socket),
            port,
            expected,
        }
    }
}

impl Agent for Receiver {
    fn poll(
        &mut self,
        now: Time,
        _: &mut Context,
        sockets: &mut SocketSet<'static>,
        rec: &mut AppRecord,
    ) -> Option<Time> {
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        if s.state() == tcp::State::Closed && rec.bytes_received == 0 {
            let _ = s.listen(self.port);
        }
        if s.can_recv() {
            let n = s.recv(|buf| (buf.len(), buf.len())).unwrap_or(0) as u64;
            if n > 0 {
                rec.record_goodput(now, n);
                if self.expected.is_some_and(|e| rec.bytes_received >= e)
                    && rec.completed_at.is_none()
                {
                    rec.completed_at = Some(now);
                }
            }
        }
        if s.state() == tcp::State::CloseWait {
            s.close();
        }
        None
    }
}
