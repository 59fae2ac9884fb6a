//! Errors in lab files. Each says where: file, line and column for syntax, the offending item and
//! the broken rule for meaning.

use std::fmt;
use std::path::PathBuf;

/// One semantic problem: which item (e.g. "link 'wan'") and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub item: String,
    pub reason: String,
}

impl Problem {
    /// The item and the reason, as every check reports them.
    pub fn new(item: &str, reason: impl Into<String>) -> Problem {
        Problem {
            item: item.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.item, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{path}: cannot read the lab file: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    /// A `--set` that names nothing in the file, or whose value does not parse there.
    #[error("{path}: {message}")]
    Override { path: PathBuf, message: String },
    /// A valid lab whose run would cost more than the budget allows.
    #[error("{}: lab '{name}' is refused: {message}", .path.display())]
    OverBudget {
        path: PathBuf,
        name: String,
        message: String,
    },
    #[error("{}", invalid_message(.path, .problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn invalid_message(path: &std::path::Path, problems: &[Problem]) -> String {
    let mut s = format!(
        "{}: the lab is not valid ({} problem{}):",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str(&format!("\n  - {p}"));
    }
    s
}
