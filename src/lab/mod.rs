//! Lab files: the RON format ([`spec`]), overrides of its text ([`overrides`]), its expansion
//! ([`expand`]) and validation ([`validate`]) into the model the engine runs ([`model`]), and
//! the errors a user sees ([`error`]). Loading a file, its design imported, is
//! [`crate::input`]'s.

pub mod budget;
pub mod error;
pub mod expand;
pub mod failure;
pub mod limits;
pub mod model;
pub mod overrides;
mod reach;
pub mod spec;
pub mod suggest;
pub use expand::circuit::{GATEWAY_ASN, MSEE_ASN};
pub use suggest::suggest;
pub mod validate;

pub use error::{escape, LabError, Problem};
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
