//! The control plane of routers: BGP sessions over real TCP, BFD over UDP, route selection and
//! the programming of the forwarding table.

pub mod bfd;
pub mod bgp;
pub mod plane;
pub mod rib;
