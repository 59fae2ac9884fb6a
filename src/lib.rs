//! hybridlab: a packet-level, deterministic network emulator for hybrid connectivity labs.
//!
//! Data flows one way: a lab file ([`lab::spec`]) and the infrastructure code it names
//! ([`import`]) are loaded ([`input`]) into a validated model ([`lab::model`]); the model is run ([`sim`]) on the [`substrate`] (a
//! discrete-event engine moving real IPv4 packets over impaired links between smoltcp hosts)
//! with [`router`]s, tunnels ([`vpn`]) and a control plane ([`control`]) speaking the formats of
//! [`wire`], into [`results`] (records), which [`analysis`] reads into a summary that
//! [`export`] renders (report, plots, captures, series, HTML); [`routing`] shows a run's routing
//! tables and packet paths at chosen instants, read from its own state. [`drivers`] run it all: one run
//! as a library call ([`drivers::session`]), sweeps and comparisons.

pub mod analysis;
pub mod app;
pub mod control;
pub mod drivers;
pub mod export;
pub mod import;
pub mod input;
pub mod lab;
pub mod observe;
pub mod results;
pub mod rng;
pub mod router;
pub mod routing;
pub mod sim;
pub mod substrate;
pub mod units;
pub mod vpn;
pub mod wire;
