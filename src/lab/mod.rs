//! Lab files: the RON format ([`spec`]), its validation ([`validate`]) into the model the engine
//! runs ([`model`]), and the errors a user sees ([`error`]).

mod circuit;
pub mod error;
pub mod limits;
pub mod model;
pub mod overrides;
mod reach;
pub mod spec;
mod suggest;
pub mod validate;

pub use error::{LabError, Problem};
pub use model::Lab;
pub use spec::LabSpec;

use std::path::Path;

/// Parses lab text. `path` is only used in error messages.
pub fn parse(text: &str, path: &Path) -> Result<LabSpec, LabError> {
    let options =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    options.from_str(text).map_err(|e| LabError::Syntax {
        path: path.to_path_buf(),
        line: e.span.start.line,
        col: e.span.start.col,
        message: e.code.to_string(),
    })
}

/// Parses and validates lab text.
pub fn load_str(text: &str, path: &Path) -> Result<Lab, LabError> {
    let spec = parse(text, path)?;
    let invalid = |problems| LabError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    let spec = circuit::expand(&spec).map_err(invalid)?;
    validate::validate(&spec).map_err(invalid)
}

/// Reads, parses and validates a lab file.
pub fn load(path: &Path) -> Result<Lab, LabError> {
    load_with(path, &[])
}

/// Reads a lab file, applies `sets` to its text in order (`--set`, see [`overrides`]), then
/// parses and validates it: an override meets the same checks as the file.
pub fn load_with(path: &Path, sets: &[overrides::Override]) -> Result<Lab, LabError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let changed = apply_overrides(&text, sets, path)?;
    match load_str(&changed, path) {
        // The file parsed before the overrides: say which one broke it, not where in text
        // the user never wrote.
        Err(LabError::Syntax { message, .. }) if !sets.is_empty() && parse(&text, path).is_ok() => {
            let culprit = (1..=sets.len())
                .find(|&n| {
                    apply_overrides(&text, &sets[..n], path).is_ok_and(|t| parse(&t, path).is_err())
                })
                .map_or(sets.len() - 1, |n| n - 1);
            Err(LabError::Override {
                path: path.to_path_buf(),
                message: format!("{}: the value does not fit there: {message}", sets[culprit]),
            })
        }
        other => other,
    }
}

fn apply_overrides(
    text: &str,
    sets: &[overrides::Override],
    path: &Path,
) -> Result<String, LabError> {
    sets.iter().try_fold(text.to_string(), |t, o| {
        overrides::apply(&t, o).map_err(|message| LabError::Override {
            path: path.to_path_buf(),
            message,
        })
    })
}
