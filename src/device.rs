//! The smoltcp device every stack (host or router control plane) sees: packets the engine
//! delivered go in, packets the stack sends come out, in order, at the instant of the poll.

use crate::engine::Time;
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use std::collections::VecDeque;

/// smoltcp's view of our link: packets the engine delivered, and packets the stack sent.
/// Buffers come from and return to the run's free list, so the steady state allocates nothing.
pub struct Port<'a> {
    pub inbox: &'a mut VecDeque<Vec<u8>>,
    pub spent: &'a mut Vec<Vec<u8>>,
    pub outbox: &'a mut Vec<Vec<u8>>,
    pub free: &'a mut Vec<Vec<u8>>,
    pub mtu: usize,
}

pub struct RxToken<'a> {
    buf: Vec<u8>,
    spent: &'a mut Vec<Vec<u8>>,
}

pub struct TxToken<'a> {
    outbox: &'a mut Vec<Vec<u8>>,
    free: &'a mut Vec<Vec<u8>>,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.buf);
        self.spent.push(self.buf);
        r
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.free.pop().unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        let r = f(&mut buf);
        self.outbox.push(buf);
        r
    }
}

impl phy::Device for Port<'_> {
    type RxToken<'b>
        = RxToken<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = TxToken<'b>
    where
        Self: 'b;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let buf = self.inbox.pop_front()?;
        Some((
            RxToken {
                buf,
                spent: self.spent,
            },
            TxToken {
                outbox: self.outbox,
                free: self.free,
            },
        ))
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            outbox: self.outbox,
            free: self.free,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps.max_burst_size = None;
        caps.checksum = ChecksumCapabilities::default();
        caps
    }
}

/// smoltcp counts whole microseconds.
pub fn instant(now: Time) -> Instant {
    Instant::from_micros((now / 1_000) as i64)
}

/// The next poll time smoltcp asks for, in engine time: never at or before `now`, since smoltcp
/// rounds to microseconds.
pub fn wake_after(now: Time, at: Instant) -> Time {
    let ns = at.total_micros().max(0) as u64 * 1_000;
    if ns <= now {
        (now / 1_000 + 1) * 1_000
    } else {
        ns
    }
}
