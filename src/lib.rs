//! hybridlab: a packet-level, deterministic network emulator for hybrid connectivity labs.
//!
//! Data flows one way: a lab file ([`lab::spec`]) is validated into a model ([`lab::model`]),
//! the model is run ([`sim`]) on a discrete-event engine ([`engine`]) that moves real IPv4
//! packets over impaired [`link`]s between smoltcp [`host`]s and [`router`]s into [`results`]
//! (records), which [`analysis`] reads into a summary that [`report`] and [`export`] render.

pub mod agent;
pub mod analysis;
pub mod app;
pub mod compare;
pub mod control;
pub mod device;
pub mod engine;
pub mod export;
pub mod gateway;
pub mod histogram;
pub mod host;
pub mod import;
pub mod lab;
pub mod link;
pub mod observe;
pub mod plot;
pub mod report;
pub mod results;
pub mod rng;
pub mod route;
pub mod router;
pub mod session;
pub mod sim;
pub mod sweep;
pub mod tcp;
pub mod units;
pub mod vpn;
pub mod wire;
