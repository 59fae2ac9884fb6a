//! hybridlab's specifications: one test binary with a module per area, so a fresh `cargo
//! test` compiles and links one program instead of two dozen.

mod common;

mod aggregate;
mod bad_input;
mod compare;
mod control;
mod determinism;
mod expand;
mod expect;
mod export;
mod failover;
mod forwarding;
mod import;
mod private_cloud;
mod real_stacks;
mod resilience;
mod robustness;
mod routing;
mod sweep;
mod tcp;
mod theory;
mod vnet;
mod vpn;
mod wire;
