//! What runs labs: one run from file to outputs ([`session`]), seeds × parameter values in
//! parallel ([`sweep`]), designs side by side ([`compare`]), every single failure of a design
//! ([`resilience`]). Each is a library call the
//! command line and the tests make alike.

pub mod compare;
pub mod resilience;
pub mod session;
pub mod sweep;
