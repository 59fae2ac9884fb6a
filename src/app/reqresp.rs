//! Request/response over one TCP connection. Requests are issued on a fixed schedule and
//! pipelined; each completes when its whole response has been read. Completion time runs from the
//! scheduled issue time, so a stalled connection shows as the wait the user saw.

use super::{drain, fill, Agent};
use crate::lab::model::App;
use crate::results::AppRecord;
use crate::substrate::engine::Time;
use crate::substrate::host::{Endpoint, Host};
use smoltcp::iface::{Context, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint};

/// Writes up to `*owed` bytes into the socket.
fn write_owed(s: &mut tcp::Socket, owed: &mut u64) -> u64 {
    if *owed == 0 || !s.may_send() {
        return 0;
    }
    let n = fill(s, *owed);
    *owed -= n;
    n
}

pub struct Client {
    socket: SocketHandle,
    dst: IpEndpoint,
    local_port: u16,
    next: Time,
    stop: Time,
    request: u64,
    response: u64,
    interval: Time,
    connected: bool,
    /// Request k is scheduled at `first + k × interval`: requests `answered..issued` await
    /// their responses. Two counters, not a queue, so a stalled connection costs no memory.
    first: Time,
    issued: u64,
    answered: u64,
    unsent: u64,
    /// Bytes of the oldest outstanding response already read.
    got: u64,
}

impl Client {
    pub fn new(
        host: &mut Host,
        app: &App,
        local_port: u16,
        port: u16,
        (request, response, interval): (u64, u64, Time),
    ) -> Self {
        let socket = host.tcp_socket();
        Client {
            socket: host.open(Endpoint::Tcp(local_port)).add(socket),
            dst: IpEndpoint::new(IpAddress::Ipv4(app.to_addr), port),
            local_port,
            next: app.start,
            stop: app.stop,
            request,
            response,
            interval,
            connected: false,
            first: app.start,
            issued: 0,
            answered: 0,
            unsent: 0,
            got: 0,
        }
    }
}

impl Agent for Client {
    fn poll(
        &mut self,
        now: Time,
        cx: &mut Context,
        sockets: &mut SocketSet<'static>,
        rec: &mut AppRecord,
    ) -> Option<Time> {
        if now < self.next && !self.connected {
            return Some(self.next);
        }
        let rec = rec.exchanges_mut()?;
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        if !self.connected {
            self.connected = s.connect(cx, self.dst, self.local_port).is_ok();
        }
        if rec.established_at.is_none() && s.state() == tcp::State::Established {
            rec.established_at = Some(now);
        }
        while self.next <= now && self.next < self.stop {
            self.issued += 1;
            self.unsent += self.request;
            rec.requests += 1;
            self.next = self.next.saturating_add(self.interval);
        }
        rec.bytes_sent += write_owed(s, &mut self.unsent);
        let mut read = drain(s);
        rec.bytes_received += read;
        while read > 0 && self.answered < self.issued {
            let take = read.min(self.response - self.got);
            self.got += take;
            read -= take;
            if self.got == self.response {
                let issued = self
                    .first
                    .saturating_add(self.answered.saturating_mul(self.interval));
                self.answered += 1;
                self.got = 0;
                rec.completed(issued, now);
            }
        }
        (self.next < self.stop).then_some(self.next)
    }
}

pub struct Server {
    socket: SocketHandle,
    port: u16,
    request: u64,
    response: u64,
    /// Bytes of the current request read so far, and response bytes not yet written.
    got: u64,
    owed: u64,
    listening: bool,
}

impl Server {
    pub fn new(host: &mut Host, port: u16, request: u64, response: u64) -> Self {
        let socket = host.tcp_socket();
        Server {
            socket: host.open(Endpoint::Tcp(port)).add(socket),
            port,
            request,
            response,
            got: 0,
            owed: 0,
            listening: false,
        }
    }
}

impl Agent for Server {
    fn poll(
        &mut self,
        _: Time,
        _: &mut Context,
        sockets: &mut SocketSet<'static>,
        _: &mut AppRecord,
    ) -> Option<Time> {
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        if !self.listening {
            self.listening = s.listen(self.port).is_ok();
        }
        self.got += drain(s);
        self.owed += self.got / self.request * self.response;
        self.got %= self.request;
        write_owed(s, &mut self.owed);
        if s.state() == tcp::State::CloseWait {
            s.close();
        }
        None
    }
}
