//! Analysis: what the records of runs mean, read in one direction from [`crate::results`] —
//! the summary of a run, its phases and failover timelines, findings (forwarding loops), the
//! lab's expectations checked against the summary, and sweeps' aggregates over seeds. Nothing
//! here changes a record; nothing in `results` reads back from here.

pub mod aggregate;
pub mod expect;
pub mod findings;
pub mod summary;
pub mod timeline;

pub use summary::*;

/// A record's summary: `Results` into the run's [`Summary`] (given its wall-clock timing, if
/// any), an `AppRecord` into its [`AppSummary`] (given when the run ended).
pub trait Summarize {
    type With;
    type Summary;
    fn summary(&self, with: Self::With) -> Self::Summary;
}
