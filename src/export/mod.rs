//! Output: the text report ([`report`]), charts ([`plot`]), and the exports a run writes beside
//! it, each an observer of the run ([`crate::observe`]) that never changes what the run
//! computes, or a reader of its records and summary.

pub mod draw;
pub mod html;
pub mod pcap;
pub mod plot;
pub mod plots;
pub mod report;
pub mod series;

/// A file name for a lab item (a link, an app): ASCII letters, digits, `-` and `_` stay, every
/// other character becomes `_`, so no name can reach outside the export's folder.
pub(crate) fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
