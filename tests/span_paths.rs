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
/// templates, which hold none), each with its byte offset: `'"'` is a character, not a quote.
fn string_literals(text: &str) -> Vec<(usize, &str)> {
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
                    found.push((start, &text[start..j.min(bytes.len())]));
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    found
}

/// A JSON pointer written as text that names a field of the spec: `/apps/{a}/postgres` or
/// `{base}/helm/version` (not `{pointer}/{}`, which names none).
fn names_a_field(literal: &str) -> bool {
    let tops = [
        "/apps",
        "/defaults",
        "/flux",
        "/sources",
        "/secretStores",
        "/operators",
        "/metadata",
        "/imageAutomation",
    ];
    let rooted = tops
        .iter()
        .any(|t| literal == *t || literal.starts_with(&format!("{t}/")));
    let based = literal.starts_with('{') && literal.contains("}/");
    let field = literal
        .split('/')
        .skip(1)
        .any(|seg| !seg.is_empty() && !seg.contains('{') && seg.parse::<usize>().is_err());
    (rooted || based)
        && field
        && literal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/{}_".contains(c))
}

#[test]
fn the_detector_finds_pointer_templates() {
    assert!(names_a_field("/apps/{a}/postgres"));
    assert!(names_a_field("{base}/helm/version"));
    assert!(names_a_field("/defaults/podSecurity"));
    assert!(!names_a_field("{pointer}/{}"));
    assert!(!names_a_field("{flux_name}-{}"));
    assert!(!names_a_field("/{i}"));
}

/// Checks place diagnostics by typed paths (`src/spec/path.rs`), never by a pointer written as
/// text, where a misspelled field would land on the nearest parent. A literal that is not a
/// place in the spec (a pointer into a rendered object or into the walked data) says so on the
/// line above: `not a spec path`.
#[test]
fn no_check_writes_a_pointer_into_the_spec_as_text() {
    let root = common::root();
    let mut files = Vec::new();
    let mut dirs = vec![root.join("src/spec"), root.join("src/model")];
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
    files.sort();
    assert!(files.len() > 40, "{}", files.len());
    let mut written = Vec::new();
    // The typed paths', the span index's and the places' own tests hold raw pointers on purpose.
    let own = ["spec/path.rs", "spec/load.rs", "spec/places.rs"];
    for file in files.iter().filter(|f| !own.iter().any(|o| f.ends_with(o))) {
        let text = std::fs::read_to_string(file).unwrap();
        for (offset, literal) in string_literals(&text) {
            if !names_a_field(literal) {
                continue;
            }
            let line = text[..offset].matches('\n').count();
            let above = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
            if !above.contains("not a spec path") {
                written.push(format!("{}:{}: `{literal}`", file.display(), line + 1));
            }
        }
    }
    assert!(
        written.is_empty(),
        "pointers written as text (build a SpecPath from the spec's fields):\n{}",
        written.join("\n")
    );
}
