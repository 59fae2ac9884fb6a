//! Input: a lab file, with the design it names imported from infrastructure code
//! ([`crate::import`]), into the validated model a run takes ([`crate::lab`]). Runs, sweeps,
//! comparisons and `check` all load through here; it sits above both the lab format and the
//! importer, which reads into that format.

use crate::import;
use crate::lab::{budget, expand, overrides, parse, validate, Lab, LabError, Problem};
use std::path::Path;

/// Parses and validates lab text.
pub fn load_str(text: &str, path: &Path) -> Result<Lab, LabError> {
    let (spec, assumptions) = import::resolve(parse(text, path)?, path)?;
    let invalid = |problems| LabError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    let expanded = expand::expand(&spec).map_err(invalid)?;
    let mut lab = validate::validate(&expanded.spec).map_err(invalid)?;
    lab.warnings.splice(0..0, expanded.warnings);
    lab.circuits = expanded
        .circuits
        .iter()
        .filter_map(|p| lab.circuit(p))
        .collect();
    lab.gateways = expanded
        .gateways
        .iter()
        .filter_map(|p| lab.gateway_instance(p))
        .collect();
    for n in lab.node_ids() {
        if expanded.vnets.contains(&lab.nodes[n].name) {
            lab.nodes[n].role = crate::lab::model::Role::VnetFabric;
        }
    }
    lab.assumptions = assumptions;
    Ok(lab)
}

/// The low-level lab a file becomes once every high-level item is expanded (`emulate check
/// --expanded`): RON that loads and runs as it is, to the same results. The lab must be valid.
pub fn expanded(path: &Path, sets: &[overrides::Override]) -> Result<String, LabError> {
    load_with(path, sets)?;
    let text = apply_overrides(&read_text(path)?, sets, path)?;
    let (spec, _) = import::resolve(parse(&text, path)?, path)?;
    let spec = expand::expand(&spec)
        .map_err(|problems| LabError::Invalid {
            path: path.to_path_buf(),
            problems,
        })?
        .spec;
    let config = ron::ser::PrettyConfig::new()
        .extensions(ron::extensions::Extensions::IMPLICIT_SOME)
        .depth_limit(2);
    let body = ron::ser::to_string_pretty(&spec, config).map_err(|e| LabError::Invalid {
        path: path.to_path_buf(),
        problems: vec![Problem {
            item: "expanded lab".to_string(),
            reason: format!("cannot be written: {e}"),
        }],
    })?;
    Ok(format!(
        "// {}, expanded: the routers, links, tunnels, routes and BGP sessions its high-level\n// items become (emulate check --expanded). It loads and runs as it is.\n{body}\n",
        path.display()
    ))
}

/// Reads, parses and validates a lab file.
pub fn load(path: &Path) -> Result<Lab, LabError> {
    load_with(path, &[])
}

/// A lab file's text. Bytes that are not UTF-8 are a syntax error at the line and column of
/// the first of them (the column counts the characters before it on its line, from 1).
fn read_text(path: &Path) -> Result<String, LabError> {
    let bytes = std::fs::read(path).map_err(|source| LabError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let good = e.utf8_error().valid_up_to();
        let before = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        LabError::Syntax {
            path: path.to_path_buf(),
            line: before.matches('\n').count() + 1,
            col: before[line_start..].chars().count() + 1,
            message: format!(
                "byte 0x{:02x} is not UTF-8 text: save the lab file as UTF-8",
                bytes[good]
            ),
        }
    })
}

/// [`load_with`], run for `duration` (what `--duration` asks) when given. Shorter than the
/// file's: the run ends early, apps stop by then and later faults never happen
/// ([`Lab::cut_short`]). Longer: as if the file said so, so apps without an explicit stop run
/// to the new end, and the duration meets the file's checks.
pub fn load_for(
    path: &Path,
    sets: &[overrides::Override],
    duration: Option<crate::substrate::engine::Time>,
) -> Result<Lab, LabError> {
    let mut lab = load_with(path, sets)?;
    match duration {
        Some(d) if d > lab.duration => {
            let mut longer = sets.to_vec();
            longer.push(
                format!("duration={d}ns")
                    .parse()
                    .expect("a duration override parses"),
            );
            load_with(path, &longer)
        }
        Some(d) => {
            lab.cut_short(d);
            Ok(lab)
        }
        None => Ok(lab),
    }
}

/// A lab ready to run: [`load_for`] (`sets`, then `duration`), refused when its estimated
/// cost exceeds `budget` (when given). Runs, sweeps and comparisons all load through here.
pub fn prepare(
    path: &Path,
    sets: &[overrides::Override],
    duration: Option<crate::substrate::engine::Time>,
    budget: Option<&budget::Budget>,
) -> Result<Lab, LabError> {
    let lab = load_for(path, sets, duration)?;
    if let Some(b) = budget {
        budget::admit(&lab, path, b)?;
    }
    Ok(lab)
}

/// Reads a lab file, applies `sets` to its text in order (`--set`, see [`overrides`](crate::lab::overrides)), then
/// parses and validates it: an override meets the same checks as the file.
pub fn load_with(path: &Path, sets: &[overrides::Override]) -> Result<Lab, LabError> {
    let text = read_text(path)?;
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
