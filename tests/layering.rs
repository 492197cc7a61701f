//! The pipeline's stages depend only downward: shared facts ← spec (load, validate) ← model
//! (resolve) ← render ← emit. A file of a stage that names `crate::<module>` of a later stage
//! (in a `use` or a path in code) fails this test; doc comments may link anywhere, and a
//! file's unit tests (`#[cfg(test)] mod tests`, last in the file) may drive the whole pipeline.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The stages, from the bottom. Anything not listed (the CLI, commands, fleet, git, import,
/// the JSON report, `charts::vendor`) sits above or beside the pipeline.
const FACTS: usize = 0;
const SPEC: usize = 1;
const MODEL: usize = 2;
const RENDER: usize = 3;
const EMIT: usize = 4;
const ABOVE: usize = 5;
const NAMES: [&str; 6] = ["facts", "spec", "model", "render", "emit", "above the pipeline"];

/// The stage of a source file, by its path below `src/`.
fn file_stage(rel: &str) -> usize {
    match rel {
        "kinds.rs" | "digest.rs" | "disk.rs" | "source.rs" | "diagnostic.rs" | "charts/table.rs" => FACTS,
        _ if rel.starts_with("diagnostic/") => FACTS,
        "charts/mod.rs" => SPEC,
        _ if rel.starts_with("spec/") => SPEC,
        _ if rel.starts_with("model/") => MODEL,
        _ if rel.starts_with("render/") => RENDER,
        // The incremental seam is the emit stage's memory of the trees it wrote.
        _ if rel.starts_with("emit/") || rel.starts_with("incremental") => EMIT,
        _ => ABOVE,
    }
}

/// The stage of the module a `crate::a::b` path names.
fn path_stage(first: &str, second: &str) -> usize {
    match (first, second) {
        ("kinds" | "digest" | "disk" | "source" | "diagnostic", _) | ("charts", "table") => FACTS,
        ("charts", "vendor") => ABOVE,
        ("spec" | "charts", _) => SPEC,
        ("model", _) => MODEL,
        ("render", _) => RENDER,
        ("emit" | "incremental", _) => EMIT,
        _ => ABOVE,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::a::b` a line of code names (not its comments), as (`a`, `b`). A grouped
/// `use crate::{a, b::c}` names each of its modules.
fn crate_paths(code: &str) -> Vec<(String, String)> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let groups: Vec<String> = if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            inner[..end].split(',').map(|s| s.trim().to_string()).collect()
        } else {
            vec![rest.to_string()]
        };
        for g in groups {
            let first = ident(&g);
            let second = g
                .strip_prefix(&first)
                .and_then(|s| s.strip_prefix("::"))
                .map(ident)
                .unwrap_or_default();
            if !first.is_empty() {
                found.push((first, second));
            }
        }
    }
    found
}

/// The code of a file without its comments (line comments and doc comments; the sources
/// use no block comments around code paths).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, line)| {
        let code = match line.find("//") {
            // A `//` inside a string (a URL) leaves the rest of the line as code; a path
            // after it in the same string would be text anyway.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        (i + 1, code)
    })
}

/// Every reference from a file of one stage to a module of a later stage.
fn backward_references() -> Vec<String> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let stage = file_stage(&rel);
        if stage == ABOVE {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .find("#[cfg(test)]\nmod tests")
            .map_or(text.as_str(), |at| &text[..at]);
        for (line, code) in code_lines(text) {
            for (first, second) in crate_paths(code) {
                let target = path_stage(&first, &second);
                if target > stage {
                    found.push(format!(
                        "src/{rel}:{line}: a {} file names `crate::{first}::{second}` ({}): {}",
                        NAMES[stage],
                        NAMES[target],
                        code.trim()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn stages_depend_only_downward() {
    let found = backward_references();
    assert!(
        found.is_empty(),
        "move the fact to the earlier stage (or to a facts module) instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_backward_paths() {
    assert_eq!(
        crate_paths("use crate::model::charts::lookup;"),
        [("model".to_string(), "charts".to_string())]
    );
    assert_eq!(
        crate_paths("use crate::{emit::Tree, kinds};"),
        [
            ("emit".to_string(), "Tree".to_string()),
            ("kinds".to_string(), String::new())
        ]
    );
    assert_eq!(
        crate_paths("let h = crate::emit::lock::sha256_hex(b);"),
        [("emit".to_string(), "lock".to_string())]
    );
    assert!(crate_paths("gitopsc_crate::x").is_empty());
    assert_eq!(path_stage("charts", "table"), FACTS);
    assert_eq!(path_stage("charts", "Folder"), SPEC);
    assert_eq!(file_stage("spec/chart_keys.rs"), SPEC);
    assert!(path_stage("render", "yaml") > file_stage("model/helm.rs"));
    let comment: Vec<_> = code_lines("/// [`crate::render::post`]\nuse x; // crate::emit\n")
        .flat_map(|(_, c)| crate_paths(c))
        .collect();
    assert!(comment.is_empty(), "{comment:?}");
}
