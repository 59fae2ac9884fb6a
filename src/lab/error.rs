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
    /// One line: whatever values of the lab the item and reason echo, their control characters
    /// (a newline, a terminal escape) are written escaped, so no value can break or spoof it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", escape(&self.item), escape(&self.reason))
    }
}

/// `text` with every control character escaped as Rust writes it in a string (`\n`, `\t`,
/// `\u{1b}`), everything else as it is.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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
    #[error("{path}: {}", escape(.message))]
    Override { path: PathBuf, message: String },
    /// A valid lab whose run would cost more than the budget allows.
    #[error("{}: lab '{}' is refused: {message}", .path.display(), escape(.name))]
    OverBudget {
        path: PathBuf,
        name: String,
        message: String,
    },
    /// A run that stopped before its end (virtual time stopped, or a storm of events): a sweep
    /// or comparison gives no figures from it.
    #[error("{}: {}", .path.display(), escape(.message))]
    Stopped { path: PathBuf, message: String },
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
