//! Every diagnostic of every fixture is placed by a pointer that names a node of its spec: a
//! mistyped pointer would silently land on the nearest ancestor. One test in its own binary,
//! since the recording of missed lookups is process-wide.

mod common;

use gitopsc::diagnostic::Code;
use gitopsc::spec::load::record_misses;
use std::path::{Path, PathBuf};

/// The YAML files under `dir`, recursively, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_diagnostic_is_placed_by_a_pointer_that_names_a_node() {
    let root = common::root();
    let mut specs: Vec<PathBuf> = ["tests/errors", "tests/workloads", "tests/fixtures", "examples"]
        .iter()
        .flat_map(|d| yaml_files(&root.join(d)))
        .collect();
    // And the error index's examples.
    let dir = tempfile::tempdir().unwrap();
    for code in Code::ALL {
        if let Some(example) = code.example() {
            let path = dir.path().join(format!("{code}.yaml"));
            std::fs::write(&path, example).unwrap();
            specs.push(path);
        }
    }
    assert!(specs.len() > 100, "{}", specs.len());
    let mut missed = Vec::new();
    record_misses(true);
    for spec in &specs {
        let diagnostics = match gitopsc::check_spec(spec) {
            Ok(checked) => checked.warnings.len(),
            Err(failure) => failure.diagnostics.len(),
        };
        for pointer in record_misses(true) {
            missed.push(format!(
                "{} ({diagnostics} diagnostics): `{pointer}`",
                spec.display()
            ));
        }
    }
    record_misses(false);
    assert!(
        missed.is_empty(),
        "lookups that matched no node:\n{}",
        missed.join("\n")
    );
}
