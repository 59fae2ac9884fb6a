//! Expansion: high-level items (circuits, VNets, gateways, connections, peerings) become the
//! low-level lab that `emulate check --expanded` prints, and that lab is the same lab.

use crate::common;
use hybridlab::analysis::Summarize;
use hybridlab::input;
use hybridlab::lab;
use std::path::{Path, PathBuf};

fn shipped_labs() -> Vec<PathBuf> {
    let mut labs = common::shipped_labs();
    labs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/labs/every-field.ron"));
    labs
}

/// The summary JSON of the first `secs` seconds of a lab.
fn summary(mut l: lab::Lab, secs: u64) -> String {
    l.cut_short(secs * 1_000_000_000);
    serde_json::to_string(&hybridlab::sim::run(&l).summary(None)).unwrap()
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn every_shipped_lab_expanded_loads_and_runs_to_the_same_results() {
    for path in shipped_labs() {
        let text = input::expanded(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        let low = input::load_str(&text, Path::new("expanded.ron")).unwrap_or_else(|e| {
            panic!(
                "{}: the expanded lab does not load: {e}\n{text}",
                path.display()
            )
        });
        let original = input::load(&path).unwrap();
        assert_eq!(
            summary(low, 12),
            summary(original, 12),
            "{}: the expanded lab runs differently",
            path.display()
        );
        // Expanding the expanded lab changes nothing: it has no high-level items left.
        let file = std::env::temp_dir().join(format!(
            "hybridlab-expanded-{}-{}",
            std::process::id(),
            path.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&file, &text).unwrap();
        let again = input::expanded(&file, &[]).unwrap();
        std::fs::remove_file(&file).unwrap();
        assert_eq!(
            again.lines().skip(2).collect::<Vec<_>>(),
            text.lines().skip(2).collect::<Vec<_>>(),
            "{}: expansion is not idempotent",
            path.display()
        );
    }
}

#[test]
fn expansion_keeps_each_nodes_role_and_the_expanded_lab_keeps_it_too() {
    use hybridlab::lab::model::Role;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/expressroute.ron");
    let roles = |l: &lab::Lab| -> Vec<(String, Role)> {
        l.nodes.iter().map(|n| (n.name.clone(), n.role)).collect()
    };
    let lab = input::load(&path).unwrap();
    let want = [
        ("onprem-host", Role::Host),
        ("edge", Role::CustomerEdge),
        ("ergw", Role::Gateway),
        ("vnet", Role::Router),
        ("azure-vm", Role::Host),
        ("er-msee1", Role::Msee),
        ("er-msee2", Role::Msee),
    ];
    assert_eq!(
        roles(&lab),
        want.map(|(n, r)| (n.to_string(), r)),
        "roles from the circuit, not from AS numbers"
    );
    let text = input::expanded(&path, &[]).unwrap();
    let low = input::load_str(&text, Path::new("expanded.ron")).unwrap();
    assert_eq!(roles(&low), roles(&lab));
}
