//! Bulk TCP: one connection (one stream of a bulk app) sending as fast as the stack accepts, or
//! at an application rate, from start until stop or until `size` bytes; the receiver counts
//! goodput per window.
//!
//! A rate-limited sender writes what its rate allows since the start every [`PACING_INTERVAL`],
//! as iperf3 `-b` does with its default `--pacing-timer` of 1000 µs: TCP then sends each
//! write as its window allows.

use super::{drain, fill, Agent};
use crate::lab::model::App;
use crate::results::AppRecord;
use crate::substrate::engine::Time;
use crate::substrate::host::{Endpoint, Host};
use smoltcp::iface::{Context, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint};

/// How often a rate-limited sender writes: iperf3's default pacing timer.
pub const PACING_INTERVAL: Time = 1_000_000;

pub struct Sender {
    socket: SocketHandle,
    dst: IpEndpoint,
    local_port: u16,
    start: Time,
    stop: Time,
    remaining: u64,
    /// Application rate in bits per second, if paced.
    rate: Option<u64>,
    /// Bytes written to the socket so far.
    written: u64,
    connected: bool,
    closed: bool,
    /// The send buffer's autotuning maximum, if it is autotuned.
    tx_buffer_max: Option<u64>,
}

impl Sender {
    pub fn new(
        host: &mut Host,
        app: &App,
        local_port: u16,
        port: u16,
        size: Option<u64>,
        rate: Option<u64>,
    ) -> Self {
        let socket = host.tcp_socket();
        let tcp = host.tcp;
        Sender {
            socket: host.open(Endpoint::Tcp(local_port)).add(socket),
            dst: IpEndpoint::new(IpAddress::Ipv4(app.to_addr), port),
            local_port,
            start: app.start,
            stop: app.stop,
            remaining: size.unwrap_or(u64::MAX),
            rate,
            written: 0,
            connected: false,
            closed: false,
            tx_buffer_max: (tcp.tx_buffer_max > tcp.tx_buffer).then_some(tcp.tx_buffer_max as u64),
        }
    }

    /// Bytes the application may have written by `now`: all of them without a rate.
    fn allowance(&self, now: Time) -> u64 {
        match self.rate {
            None => u64::MAX,
            Some(bps) => {
                let bits = u128::from(bps) * u128::from(now.saturating_sub(self.start));
                u64::try_from(bits / 8_000_000_000).unwrap_or(u64::MAX)
            }
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
        let rec = rec.bulk_mut()?;
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        if !self.connected {
            self.connected = s.connect(cx, self.dst, self.local_port).is_ok();
        }
        if rec.established_at.is_none() && s.state() == tcp::State::Established {
            rec.established_at = Some(now);
        }
        rec.tx_buffer = Some(s.send_capacity() as u64);
        rec.tx_buffer_max = self.tx_buffer_max;
        if let Some(rtt) = s.min_rtt() {
            rec.tcp_rtt(rtt.total_micros() * 1_000);
        }
        if !self.closed && now < self.stop && self.remaining > 0 && s.may_send() {
            let limit = self
                .remaining
                .min(self.allowance(now).saturating_sub(self.written));
            let n = fill(s, limit);
            self.remaining -= n;
            self.written += n;
            rec.bytes_sent += n;
        }
        if !self.closed && (now >= self.stop || self.remaining == 0) {
            s.close();
            self.closed = true;
        }
        if self.closed {
            return None;
        }
        // A paced sender comes back for its next write; the stack wakes it otherwise.
        let next = match self.rate {
            Some(_) => now.saturating_add(PACING_INTERVAL).min(self.stop),
            None => self.stop,
        };
        Some(next)
    }
}

pub struct Receiver {
    socket: SocketHandle,
    port: u16,
    expected: Option<u64>,
    /// The receive buffer's autotuning maximum, if it is autotuned.
    rx_buffer_max: Option<u64>,
}

impl Receiver {
    pub fn new(host: &mut Host, port: u16, expected: Option<u64>) -> Self {
        let socket = host.tcp_socket();
        let tcp = host.tcp;
        Receiver {
            socket: host.open(Endpoint::Tcp(port)).add(socket),
            port,
            expected,
            rx_buffer_max: (tcp.rx_buffer_max > tcp.rx_buffer).then_some(tcp.rx_buffer_max as u64),
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
        let start = rec.start;
        let rec = rec.bulk_mut()?;
        let s = sockets.get_mut::<tcp::Socket>(self.socket);
        rec.rx_buffer = Some(s.recv_capacity() as u64);
        rec.rx_buffer_max = self.rx_buffer_max;
        if s.state() == tcp::State::Closed && rec.bytes_received == 0 {
            let _ = s.listen(self.port);
        }
        if s.can_recv() {
            let n = drain(s);
            if n > 0 {
                rec.record_goodput(start, now, n);
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
