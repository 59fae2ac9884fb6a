//! Exports: what a run writes beside its report, each an observer of the run
//! ([`crate::observe`]) that never changes what the run computes.

pub mod pcap;
pub mod plots;
pub mod series;
