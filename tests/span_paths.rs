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

/// The string literals of a Rust source without escapes in them, roughly (enough for pointer
/// templates, which hold none): `'"'` is a character, not a quote.
fn string_literals(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' if bytes.get(i + 1) == Some(&b'"') => i += 3,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => i += 4,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                while j < bytes.len() && bytes[j] != b'"' {
                    if bytes[j] == b'\\' {
                        escaped = true;
                        j += 1;
                    }
                    j += 1;
                }
                if !escaped && j <= bytes.len() {
                    found.push(&text[start..j.min(bytes.len())]);
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    found
}

/// A JSON-pointer template a check builds to place a diagnostic: `/apps/{a}/postgres` or
/// `{base}/helm/version`.
fn is_pointer_template(literal: &str) -> bool {
    let tops = [
        "/apps",
        "/defaults",
        "/flux",
        "/sources",
        "/secretStores",
        "/operators",
        "/metadata",
    ];
    let rooted = tops
        .iter()
        .any(|t| literal == *t || literal.starts_with(&format!("{t}/")));
    let based = literal.starts_with('{') && literal.contains("}/");
    (rooted || based)
        && literal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/{}_".contains(c))
}

/// Every property name of the spec's schema.
fn schema_properties(node: &serde_json::Value, names: &mut std::collections::BTreeSet<String>) {
    match node {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                names.extend(props.keys().cloned());
            }
            map.values().for_each(|v| schema_properties(v, names));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| schema_properties(v, names)),
        _ => {}
    }
}

#[test]
fn every_field_a_pointer_template_names_is_a_field_of_the_spec() {
    let mut names = std::collections::BTreeSet::new();
    schema_properties(gitopsc::spec::schema::schema(), &mut names);
    let root = common::root();
    let files: Vec<PathBuf> = [root.join("src/spec"), root.join("src/model")]
        .iter()
        .flat_map(|d| {
            let mut files = Vec::new();
            let mut dirs = vec![d.clone()];
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else if path.extension().is_some_and(|e| e == "rs") {
                        files.push(path);
                    }
                }
            }
            files
        })
        .collect();
    let mut templates = 0;
    let mut wrong = Vec::new();
    // The typed paths' own tests hold wrong pointers on purpose.
    for file in files.into_iter().filter(|f| !f.ends_with("spec/path.rs")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for literal in string_literals(&text)
            .into_iter()
            .filter(|l| is_pointer_template(l))
        {
            templates += 1;
            let unknown: Vec<&str> = literal
                .split('/')
                .skip(1)
                // `{a}` is an index or a key; `0` an index; the rest must be fields.
                .filter(|seg| !seg.contains('{') && seg.parse::<usize>().is_err())
                .filter(|seg| !names.contains(*seg))
                .collect();
            if !unknown.is_empty() {
                wrong.push(format!("{}: `{literal}`: {unknown:?}", file.display()));
            }
        }
    }
    assert!(templates > 100, "only {templates} pointer templates found");
    assert!(
        wrong.is_empty(),
        "pointers naming no field of the spec:\n{}",
        wrong.join("\n")
    );
}
