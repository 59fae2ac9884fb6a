//! Site-to-site VPN: IPsec ESP tunnels between two routers (an on-premises VPN device and a
//! cloud VPN gateway), TCP MSS clamping, and gateway SKUs.

pub mod dpd;
pub mod esp;
pub mod mss;

/// How a tunnel carried over one TCP connection frames its inner packets (see
/// `router::stream`).
pub use crate::wire::stream::Framing;
