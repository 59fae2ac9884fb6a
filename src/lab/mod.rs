//! Lab files: the RON format ([`spec`]), its validation ([`validate`]) into the model the engine
//! runs ([`model`]), and the errors a user sees ([`error`]).

mod circuit;
pub mod error;
pub mod model;
mod reach;
pub mod spec;
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
    let text = std::fs::read_to_string(path).map_err(|source| LabError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&text, path)
}
