//! Designs from infrastructure code: ARM templates (what Bicep compiles to), resource JSON as
//! the platform returns it, and Terraform's JSON, read into the cloud vocabulary of a lab file
//! (README, "Your own design"). Data flows one way: each format's reader gives [`Resource`]s in
//! the platform's resource model; [`map`] turns them into a [`Design`]; [`assume`] completes
//! the design with what the lab says, or with stated defaults; [`print`] writes the lab that
//! results. Nothing here reaches past the spec: the lab is then expanded and validated as any.

pub mod arm;
pub mod assume;
pub mod azure;
pub mod design;
pub mod json;
pub mod map;
pub mod resource;
pub mod terraform;

pub use design::Design;
pub use resource::Resource;

pub mod print;

use crate::lab::spec::{DesignSource, LabSpec};
use crate::lab::{LabError, Problem};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What a file of infrastructure code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An ARM template (Bicep's output, `az group export`).
    ArmTemplate,
    /// Resource JSON as the platform returns it.
    Resources,
    /// `terraform show -json` of a plan or a state, or a `terraform.tfstate`.
    Terraform,
}

impl Format {
    /// Recognises a file's format from its content.
    pub fn detect(v: &Value) -> Option<Format> {
        let schema = json::get(v, "$schema")
            .and_then(Value::as_str)
            .unwrap_or("");
        if schema.to_ascii_lowercase().contains("deploymenttemplate")
            || (json::get(v, "resources").is_some() && json::get(v, "contentVersion").is_some())
        {
            Some(Format::ArmTemplate)
        } else if terraform::is_terraform(v) {
            Some(Format::Terraform)
        } else if azure::is_resources(v) {
            Some(Format::Resources)
        } else {
            None
        }
    }
}

/// One file's resources, read as `format` (or as what it is, when `None`), with the
/// parameters an ARM template is given.
pub fn resources(
    path: &Path,
    expect: Option<Format>,
    parameters: Option<&Path>,
    params: &[(String, String)],
    notes: &mut Vec<String>,
) -> Result<Vec<Resource>, LabError> {
    let v = json::read(path)?;
    let invalid = |item: String, reason: String| LabError::Invalid {
        path: path.to_path_buf(),
        problems: vec![Problem { item, reason }],
    };
    let found = Format::detect(&v);
    let format = match (expect, found) {
        (_, None) => return Err(invalid("file".into(), "is neither an ARM template (\"$schema\" ending deploymentTemplate.json#, or \"resources\" with \"contentVersion\"), Terraform JSON (\"format_version\", or a state's \"version\" and \"terraform_version\") nor resource JSON (objects with \"type\" and \"id\"): README, \"Your own design\", lists what is read".into())),
        (Some(want), Some(got)) if want != got => return Err(invalid("file".into(), format!("is {}, but the design entry says {}", describe(got), describe(want)))),
        (_, Some(f)) => f,
    };
    match format {
        Format::ArmTemplate => {
            let mut given = match parameters {
                Some(p) => {
                    let pv = json::read(p)?;
                    arm::parameters_file(&pv).map_err(|e| LabError::Invalid {
                        path: p.to_path_buf(),
                        problems: vec![Problem {
                            item: e.item,
                            reason: e.reason,
                        }],
                    })?
                }
                None => vec![],
            };
            given.extend(
                params
                    .iter()
                    .map(|(k, v)| (k.clone(), arm::Given::Text(v.clone()))),
            );
            arm::evaluate(&v, &given, notes).map_err(|e| invalid(e.item, e.reason))
        }
        Format::Resources => azure::resources(&v).map_err(|(item, reason)| invalid(item, reason)),
        Format::Terraform => {
            terraform::resources(&v, notes).map_err(|(item, reason)| invalid(item, reason))
        }
    }
}

fn describe(f: Format) -> &'static str {
    match f {
        Format::ArmTemplate => "an ARM template",
        Format::Resources => "resource JSON",
        Format::Terraform => "Terraform JSON",
    }
}

/// The design a lab's `design` entries describe, their paths relative to `base`. `lab` is
/// the file problems of the combined design are reported against.
pub fn read_design(sources: &[DesignSource], base: &Path, lab: &Path) -> Result<Design, LabError> {
    let mut all = Vec::new();
    let mut notes = Vec::new();
    for s in sources {
        let (file, expect, parameters, params) = match s {
            DesignSource::Arm {
                template,
                parameters,
                params,
            } => (
                template,
                Format::ArmTemplate,
                parameters.as_ref().map(|p| base.join(p)),
                params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>(),
            ),
            DesignSource::Resources { file } => (file, Format::Resources, None, vec![]),
            DesignSource::Terraform { file } => (file, Format::Terraform, None, vec![]),
        };
        all.extend(resources(
            &base.join(file),
            Some(expect),
            parameters.as_deref(),
            &params,
            &mut notes,
        )?);
    }
    let mut design = map::map(&all).map_err(|problems| LabError::Invalid {
        path: lab.to_path_buf(),
        problems,
    })?;
    design.notes.extend(notes);
    design.sort();
    Ok(design)
}

/// A lab with `design` entries, completed: the imported cloud side joined to what the lab
/// writes, and the assumptions made for what neither says. A lab without them is returned as
/// it is.
pub fn resolve(spec: LabSpec, path: &Path) -> Result<(LabSpec, Vec<String>), LabError> {
    if spec.design.is_empty() {
        if spec.imported.is_some() {
            return Err(LabError::Invalid {
                path: path.to_path_buf(),
                problems: vec![Problem::new(
                    "imported",
                    "completes imported items, but the lab has no `design` to import them from",
                )],
            });
        }
        return Ok((spec, vec![]));
    }
    let base: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let design = read_design(&spec.design, &base, path)?;
    let done = assume::complete(&design, &spec).map_err(|problems| LabError::Invalid {
        path: path.to_path_buf(),
        problems,
    })?;
    Ok((done.spec, done.assumptions))
}

/// The lab `emulate import` prints for one file (an ARM template with its parameters, or
/// resource JSON), named after the file.
pub fn import_file(
    path: &Path,
    parameters: Option<&Path>,
    params: &[(String, String)],
) -> Result<String, LabError> {
    let mut notes = Vec::new();
    let all = resources(path, None, parameters, params, &mut notes)?;
    let mut design = map::map(&all).map_err(|problems| LabError::Invalid {
        path: path.to_path_buf(),
        problems,
    })?;
    design.notes.extend(notes);
    design.sort();
    let name = path
        .file_stem()
        .map_or("imported".to_string(), |s| s.to_string_lossy().to_string());
    print::lab(&design, &name, &path.display().to_string()).map_err(|reason| LabError::Invalid {
        path: path.to_path_buf(),
        problems: vec![Problem::new("design", reason)],
    })
}
