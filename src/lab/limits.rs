//! The valid range of every duration, interval, size and rate a lab file holds, each with the
//! reason for its bounds. Validation refuses a value outside its range, naming the item, the
//! value and the range ([`Limit::check`]); README's "Valid ranges" table lists the same.
//!
//! The bounds keep a lab physical (no link slower than a kilobit, no delay beyond a minute),
//! keep every sum of virtual times far below `u64::MAX` nanoseconds (a run is at most 30 days,
//! about 2.6 × 10¹⁵ ns, and every delay or interval a small multiple of that), and keep the
//! work a run does bounded by what its apps ask for: an interval of 1 ns would schedule a
//! billion sends per simulated second.

use crate::units::{format_bitrate, format_bytes, format_nanos};

/// What a limit's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Nanoseconds.
    Time,
    /// Bits per second.
    Rate,
    /// Bytes.
    Size,
    /// A plain count (packets, ports, connections).
    Count,
}

/// A closed range `min..=max` for one kind of value, and why.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// The value's name in messages ("link delay", "probe interval").
    pub what: &'static str,
    pub quantity: Quantity,
    pub min: u64,
    pub max: u64,
    /// The source or reason of the bounds, for the message.
    pub why: &'static str,
}

impl Limit {
    /// The same range under another name in messages ("request", "dpd interval").
    pub const fn named(self, what: &'static str) -> Limit {
        Limit { what, ..self }
    }

    /// `None` when `value` is within range, else the reason to refuse it.
    pub fn check(&self, value: u64) -> Option<String> {
        (!(self.min..=self.max).contains(&value)).then(|| {
            format!(
                "{} {} is outside {}..={} ({})",
                self.what,
                self.format(value),
                self.format(self.min),
                self.format(self.max),
                self.why
            )
        })
    }

    pub fn format(&self, v: u64) -> String {
        match self.quantity {
            // Readable units when they are exact, nanoseconds otherwise.
            Quantity::Time => {
                let readable = format_nanos(v);
                match readable.parse::<crate::units::Duration>() {
                    Ok(d) if d.0 == v => readable,
                    _ => format!("{v}ns"),
                }
            }
            Quantity::Rate => format_bitrate(v as f64).replace(' ', ""),
            Quantity::Size => format_bytes(v),
            Quantity::Count => v.to_string(),
        }
    }
}

const MS: u64 = 1_000_000;
const S: u64 = 1_000 * MS;

/// A run's length.
pub const DURATION: Limit = Limit {
    what: "duration",
    quantity: Quantity::Time,
    min: 1_000,
    max: 30 * 24 * 3600 * S,
    why: "1 us to 30 days of virtual time",
};

/// One-way propagation delay of a link direction or an ExpressRoute segment.
pub const LINK_DELAY: Limit = Limit {
    what: "delay",
    quantity: Quantity::Time,
    min: 0,
    max: 60 * S,
    why: "a geostationary hop is 0.27 s; a minute covers any real path",
};

/// Jitter amount (standard deviation, half-width or scale).
pub const JITTER: Limit = Limit {
    what: "jitter",
    quantity: Quantity::Time,
    min: 0,
    max: 60 * S,
    why: "as the delay it varies",
};

/// A link direction's or a gateway's rate, and a paced sender's.
pub const RATE: Limit = Limit {
    what: "rate",
    quantity: Quantity::Rate,
    min: 1_000,
    max: 10_000_000_000_000,
    why: "1 kbps, a 1500-byte packet in 12 s, to 10 Tbps",
};

/// Per-packet framing overhead on a link (Ethernet's is 38 bytes with preamble and gap).
pub const OVERHEAD: Limit = Limit {
    what: "overhead",
    quantity: Quantity::Size,
    min: 0,
    max: 1_000,
    why: "framing bytes per packet; Ethernet's are 38",
};

/// A link queue's limit in packets.
pub const QUEUE_PACKETS: Limit = Limit {
    what: "queue",
    quantity: Quantity::Count,
    min: 1,
    max: 1_000_000,
    why: "Linux's default txqueuelen is 1000",
};

/// A link queue's limit in bytes.
pub const QUEUE_BYTES: Limit = Limit {
    what: "queue",
    quantity: Quantity::Size,
    min: 1,
    max: 1 << 30,
    why: "room for at least one byte, at most 1 GiB",
};

/// How often a probe, ping or request is sent.
pub const APP_INTERVAL: Limit = Limit {
    what: "interval",
    quantity: Quantity::Time,
    min: 10_000,
    max: 30 * 24 * 3600 * S,
    why: "at most 100,000 sends per second per app",
};

/// A TCP request or response.
pub const MESSAGE_SIZE: Limit = Limit {
    what: "size",
    quantity: Quantity::Size,
    min: 1,
    max: 1 << 30,
    why: "1 byte to 1 GiB",
};

/// A server port (0 is no port: a socket cannot be bound to it).
pub const PORT: Limit = Limit {
    what: "port",
    quantity: Quantity::Count,
    min: 1,
    max: 65_535,
    why: "TCP and UDP ports are 1..=65535; 0 means none",
};

/// How long a router takes to install a route its control plane chose.
pub const PROGRAMMING_DELAY: Limit = Limit {
    what: "programming_delay",
    quantity: Quantity::Time,
    min: 0,
    max: 600 * S,
    why: "Azure programs a VNet in seconds; ten minutes is beyond any platform",
};

/// TCP's minimum retransmission timeout.
pub const MIN_RTO: Limit = Limit {
    what: "min_rto",
    quantity: Quantity::Time,
    min: MS,
    max: 60 * S,
    why: "RFC 6298 caps the RTO at no less than 60 s; Linux's floor is 200 ms",
};

/// How long a TCP receiver may hold an ACK.
pub const ACK_DELAY: Limit = Limit {
    what: "ack_delay",
    quantity: Quantity::Time,
    min: 0,
    max: 500 * MS,
    why: "RFC 1122 4.2.3.2: an ACK must not be delayed more than 0.5 s",
};

/// IKE dead peer detection's interval and timeout.
pub const DPD_TIME: Limit = Limit {
    what: "dpd",
    quantity: Quantity::Time,
    min: 100 * MS,
    max: 3_600 * S,
    why:
        "Azure's DPD timeout is 9 to 3600 s; a tenth of a second is faster than any IKE peer checks",
};

/// BFD's transmit and receive interval.
pub const BFD_INTERVAL: Limit = Limit {
    what: "bfd interval",
    quantity: Quantity::Time,
    min: MS,
    max: 60 * S,
    why: "hardware BFD runs at 3.3 ms and more; ExpressRoute's is 300 ms",
};

/// BGP's keepalive and hold times (RFC 4271 4.2: hold time is in whole seconds, 16 bits).
pub const BGP_TIMER: Limit = Limit {
    what: "bgp timer",
    quantity: Quantity::Time,
    min: 0,
    max: 65_535 * S,
    why: "RFC 4271 carries the hold time in 16 bits of seconds",
};

/// BGP's ConnectRetry time.
pub const CONNECT_RETRY: Limit = Limit {
    what: "connect_retry",
    quantity: Quantity::Time,
    min: 100 * MS,
    max: 65_535 * S,
    why: "RFC 4271 suggests 120 s; below 100 ms a router would retry in a busy loop",
};

/// A gateway's packets per second.
pub const PPS: Limit = Limit {
    what: "pps",
    quantity: Quantity::Count,
    min: 1,
    max: 1_000_000_000,
    why: "the largest gateways forward a few million packets per second",
};

/// The MSS a router or tunnel clamps TCP SYNs to.
pub const MSS_CLAMP: Limit = Limit {
    what: "mss_clamp",
    quantity: Quantity::Count,
    min: 88,
    max: 65_495,
    why: "bytes: Linux's smallest MSS is 88; 65,495 fills the largest IPv4 packet",
};

/// Times a BGP speaker prepends its own AS on a session.
pub const PREPEND: Limit = Limit {
    what: "prepend",
    quantity: Quantity::Count,
    min: 0,
    max: 10,
    why: "operators prepend a few times; ten outweighs any real path",
};

/// The most prefixes a BGP end accepts from its peer.
pub const MAX_PREFIXES: Limit = Limit {
    what: "max_prefixes",
    quantity: Quantity::Count,
    min: 1,
    max: 1_000_000,
    why: "a full Internet table is about a million IPv4 prefixes",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_outside_its_range_is_named_with_the_range_and_the_reason() {
        assert_eq!(PORT.check(5000), None);
        assert_eq!(
            PORT.check(0).unwrap(),
            "port 0 is outside 1..=65535 (TCP and UDP ports are 1..=65535; 0 means none)"
        );
        let e = APP_INTERVAL.check(1).unwrap();
        assert!(
            e.starts_with("interval 1ns is outside 10us..=2592000s"),
            "{e}"
        );
        assert!(LINK_DELAY.check(u64::MAX).is_some());
        assert!(RATE.check(999).unwrap().contains("1.00kbps"));
    }

    #[test]
    fn sums_of_in_range_times_cannot_wrap() {
        // The longest run plus a thousand of the longest delays and intervals still fits.
        let worst = DURATION.max as u128
            + 1_000
                * (LINK_DELAY.max
                    + JITTER.max
                    + PROGRAMMING_DELAY.max
                    + CONNECT_RETRY.max
                    + BGP_TIMER.max
                    + DPD_TIME.max
                    + APP_INTERVAL.max) as u128;
        assert!(worst < u64::MAX as u128 / 4);
    }
}
