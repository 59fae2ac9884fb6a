//! The substrate every lab runs on: the discrete-event [`engine`] and its virtual clock,
//! impaired [`link`]s, [`route`] tables, the smoltcp [`device`] and [`host`]s with their
//! [`tcp`] profiles and traffic [`agent`]s, and the platform's [`gateway`] SKUs.

pub mod agent;
pub mod device;
pub mod engine;
pub mod gateway;
pub mod host;
pub mod link;
pub mod route;
pub mod tcp;
