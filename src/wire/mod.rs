//! Our own wire formats, each as a checked view and a `Repr`, as smoltcp's `wire` does for
//! IPv4, TCP and UDP (which we read through smoltcp's views).
//!
//! Every fixed header is a `#[packet]` struct that pnet_packet's derive turns into a view:
//! `XPacket::new(bytes)` returns `None` when the bytes are shorter than the header, and past
//! that no accessor can panic. Each module's `Repr` is the message as the model uses it:
//! `Repr::parse` reads one from bytes (any bytes: a value or an [`Error`], never a panic) and
//! `emit` writes it back, so that what is emitted parses to itself (the property tests hold
//! both on arbitrary input).

pub mod bfd;
pub mod bgp;
pub mod esp;
pub mod ike;
pub mod stamp;
pub mod stream;

/// Why bytes are not a message of the format read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Shorter than the format or its own length fields say.
    #[error("truncated")]
    Truncated,
    /// A field holds a value the format does not allow.
    #[error("malformed: {0}")]
    Malformed(&'static str),
}
