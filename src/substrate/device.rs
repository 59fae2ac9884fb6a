//! The smoltcp device every stack (host or router control plane) sees: packets the engine
//! delivered go in, packets the stack sends come out, in order, at the instant of the poll.

use crate::substrate::engine::Time;
use crate::substrate::route::Prefix;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult, SocketSet};
use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use std::collections::VecDeque;

/// A smoltcp interface with its sockets and the queues between it and the engine: what a host
/// is, and what a router's control plane runs on.
pub struct Stack {
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
    inbox: VecDeque<Vec<u8>>,
    outbox: Vec<Vec<u8>>,
    spent: Vec<Vec<u8>>,
    mtu: usize,
}

impl Stack {
    /// An interface holding `addresses` (at most 8, smoltcp's table size), with real checksums.
    /// `random_seed` sets its initial sequence numbers and ephemeral ports.
    pub fn new(addresses: &[Prefix], mtu: usize, random_seed: u64) -> Self {
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = random_seed;
        let (mut inbox, mut outbox, mut spent, mut free) =
            (VecDeque::new(), Vec::new(), Vec::new(), Vec::new());
        let mut port = Port {
            inbox: &mut inbox,
            spent: &mut spent,
            outbox: &mut outbox,
            free: &mut free,
            mtu,
        };
        let mut iface = Interface::new(config, &mut port, instant(0));
        iface.update_ip_addrs(|addrs| {
            for p in addresses {
                let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(p.addr), p.len));
            }
        });
        Stack {
            iface,
            sockets: SocketSet::new(Vec::new()),
            inbox,
            outbox,
            spent,
            mtu,
        }
    }

    /// Hands the stack a packet from the engine.
    pub fn deliver(&mut self, packet: Vec<u8>) {
        self.inbox.push_back(packet);
    }

    /// Packets the stack sent, to be put on their way in order.
    pub fn outbox(&mut self) -> &mut Vec<Vec<u8>> {
        &mut self.outbox
    }

    /// Processes every delivered packet, sending nothing yet (so that applications can read
    /// before the stack acknowledges).
    pub fn ingest(&mut self, now: Time, free: &mut Vec<Vec<u8>>) {
        self.with_port(free, |iface, port, sockets| {
            while iface.poll_ingress_single(instant(now), port, sockets)
                != PollIngressSingleResult::None
            {}
        });
    }

    /// Lets the stack send what is due at `now`; returns when it next needs a poll.
    pub fn egress(&mut self, now: Time, free: &mut Vec<Vec<u8>>) -> Option<Time> {
        self.with_port(free, |iface, port, sockets| {
            iface.poll(instant(now), port, sockets);
        });
        self.poll_at(now)
    }

    /// One round of sending: each socket sends at most one packet. Whether any did.
    pub fn egress_round(&mut self, now: Time, free: &mut Vec<Vec<u8>>) -> bool {
        self.with_port(free, |iface, port, sockets| {
            iface.poll_egress(instant(now), port, sockets) != PollResult::None
        })
    }

    /// Runs `f` on the interface with the device between it and the engine, then returns the
    /// buffers of the packets it took in to the run's free list.
    fn with_port<R>(
        &mut self,
        free: &mut Vec<Vec<u8>>,
        f: impl FnOnce(&mut Interface, &mut Port<'_>, &mut SocketSet<'static>) -> R,
    ) -> R {
        let mut port = Port {
            inbox: &mut self.inbox,
            spent: &mut self.spent,
            outbox: &mut self.outbox,
            free,
            mtu: self.mtu,
        };
        let r = f(&mut self.iface, &mut port, &mut self.sockets);
        port.free.append(port.spent);
        r
    }

    /// When the stack next needs a poll, after one at `now`.
    pub fn poll_at(&mut self, now: Time) -> Option<Time> {
        self.iface
            .poll_at(instant(now), &self.sockets)
            .map(|t| wake_after(now, t))
    }
}

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
        caps.checksum = checksums();
        caps
    }
}

/// What the stacks compute and verify. Every packet is sent with real checksums. On receipt,
/// builds with debug assertions (the test suite) verify them all, so a rewrite on the way (TTL,
/// MSS clamp, ESP, framing) that broke one fails the tests; release builds trust them, as a
/// host trusts its NIC's offload: links here never corrupt a packet, and verifying a TCP
/// checksum reads the whole payload again at every host.
fn checksums() -> ChecksumCapabilities {
    let mut caps = ChecksumCapabilities::default();
    if !cfg!(debug_assertions) {
        caps.ipv4 = Checksum::Tx;
        caps.udp = Checksum::Tx;
        caps.tcp = Checksum::Tx;
        caps.icmpv4 = Checksum::Tx;
    }
    caps
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
