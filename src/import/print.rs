//! The lab an imported design becomes, as commented RON (`emulate import`): what was read,
//! what the model leaves out, every assumption with how to change it, then the lab itself,
//! which checks clean and runs as it is.

use super::assume::{self, Completed, DURATION};
use super::Design;
use crate::lab::spec::LabSpec;

/// The printed lab for `design`, read from `source` (as the user named it).
pub fn lab(design: &Design, name: &str, source: &str) -> Result<String, String> {
    let empty = LabSpec {
        name: name.to_string(),
        seed: 1,
        duration: DURATION,
        design: vec![],
        imported: None,
        nodes: vec![],
        links: vec![],
        routes: vec![],
        tunnels: vec![],
        bgp_sessions: vec![],
        circuits: vec![],
        vnets: vec![],
        gateways: vec![],
        local_gateways: vec![],
        connections: vec![],
        peerings: vec![],
        p2s_clients: vec![],
        private_clouds: vec![],
        global_reach: vec![],
        apps: vec![],
        faults: vec![],
        expect: vec![],
        expect_pass: None,
        reliability: vec![],
    };
    let Completed { spec, assumptions } = assume::complete(design, &empty).map_err(|problems| {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let config = ron::ser::PrettyConfig::new()
        .extensions(ron::extensions::Extensions::IMPLICIT_SOME)
        .depth_limit(2);
    let body = ron::ser::to_string_pretty(&spec, config)
        .map_err(|e| format!("the lab cannot be written: {e}"))?;
    let mut out = String::new();
    out.push_str(&format!("// {name}: the lab {source} becomes (emulate import). It checks clean and runs as it is.\n"));
    out.push_str("// To keep a lab current with the code, write `design: [...]` in it instead of the cloud\n");
    out.push_str(
        "// items below and keep only what you add or change (README, \"Your own design\").\n",
    );
    section(&mut out, "Read from the code", &design.facts);
    section(&mut out, "Not in the lab", &design.notes);
    let assumed: Vec<String> = assumptions
        .iter()
        .map(|a| format!("assumed: {a}"))
        .collect();
    section(&mut out, "What the code does not say, assumed", &assumed);
    out.push_str(&body);
    out.push('\n');
    Ok(out)
}

fn section(out: &mut String, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    out.push_str(&format!("//\n// {title}:\n"));
    for l in lines {
        out.push_str(&format!("//   {}\n", crate::lab::escape(l)));
    }
}
