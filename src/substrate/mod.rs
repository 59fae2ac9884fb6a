//! The substrate every lab runs on: the discrete-event [`engine`] and its virtual clock,
//! impaired [`link`]s, [`route`] tables, the smoltcp [`device`] and [`host`]s with their
//! [`tcp`] profiles and traffic [`agent`]s, the platform's [`gateway`] SKUs, and the typed
//! [`ids`] of nodes, links and their directions.

pub mod agent;
pub mod device;
pub mod engine;
pub mod gateway;
pub mod host;
pub mod ids;
pub mod link;
pub mod route;
pub mod tcp;
