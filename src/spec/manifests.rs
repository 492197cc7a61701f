//! The user's own manifests (`apps[].manifests`): objects written inline in the spec, or in
//! YAML files and folders beside it. This module holds their spec type and reads the files:
//! each document goes through the spec's own loader (the same YAML rules, the same refusals),
//! so what reaches the model is JSON, whatever file it came from. Their checks are the model
//! part's (`model::manifests`).

use super::path::SpecPath;
use super::places::Places;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Source;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Component, Path};

/// Objects the user writes, placed into one of the app's layers and owned like generated ones.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManifestSpec {
    /// One object written here (`apiVersion`, `kind`, `metadata.name`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Map<String, Value>>,
    /// Or: a YAML file (one or more documents) or a folder of them (`*.yaml`, `*.yml`, read
    /// in name order), relative to the spec's folder and inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The layer the objects go into (default `release`).
    #[serde(default)]
    pub layer: ManifestLayer,
    /// The objects are cluster-scoped: gitopsc gives them no namespace. Needed only for a
    /// kind gitopsc does not know; it knows the scope of its own.
    #[serde(default)]
    pub cluster_scoped: bool,
}

/// An app's layers, in apply order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ManifestLayer {
    /// With the data services, before the release.
    Data,
    /// With the one-off initialisation, before the release.
    Init,
    /// With the release or workloads.
    #[default]
    Release,
}

/// One object of a user manifest, read and parsed.
#[derive(Debug, Clone)]
pub struct UserObject {
    /// The object.
    pub value: Map<String, Value>,
    /// The JSON pointer of the `manifests` entry it comes from.
    pub pointer: SpecPath,
    /// Where it was written, for messages: `inline`, or `file.yaml` with its document.
    pub origin: String,
    /// The entry it comes from.
    pub entry: ManifestSpec,
}

/// Reads every app's manifests: inline objects as written, files and folders from `dir` (the
/// spec's folder). Returns the objects by app (in spec order) and every problem found.
pub fn read(
    spec: &super::ClusterSpec,
    dir: &Path,
    spans: &Places,
) -> (Vec<Vec<UserObject>>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let objects = spec
        .apps
        .iter()
        .enumerate()
        .map(|(a, app)| {
            let mut objects = Vec::new();
            for (m, entry) in app.manifests.iter().enumerate() {
                let pointer = SpecPath::app(a).field(super::AppSpec::MANIFESTS).index(m);
                read_entry(entry, &pointer, dir, spans, &mut objects, &mut diags);
            }
            objects
        })
        .collect();
    (objects, diags)
}

/// Reads one `manifests` entry.
fn read_entry(
    entry: &ManifestSpec,
    pointer: &SpecPath,
    dir: &Path,
    spans: &Places,
    objects: &mut Vec<UserObject>,
    diags: &mut Vec<Diagnostic>,
) {
    let object = |value: Map<String, Value>, origin: String| UserObject {
        value,
        pointer: pointer.clone(),
        origin,
        entry: entry.clone(),
    };
    match (&entry.object, &entry.path) {
        (Some(value), None) => objects.push(object(value.clone(), "inline".into())),
        (None, Some(path)) => {
            let at = spans.value(&pointer.field(ManifestSpec::PATH));
            let fail = |message: String, help: &str| {
                Diagnostic::error(Code::ManifestUnreadable, message)
                    .at(at, "")
                    .help(help)
            };
            if !is_inside(path) {
                diags.push(fail(
                    format!("the manifest path `{path}` leaves the spec's folder"),
                    "give a path relative to the spec's folder, without `..`",
                ));
                return;
            }
            let files = match files(&dir.join(path)) {
                Ok(files) => files,
                Err(e) => {
                    diags.push(fail(
                        format!("cannot read the manifests at `{path}`: {e}"),
                        "give a YAML file or a folder of them, relative to the spec's folder",
                    ));
                    return;
                }
            };
            for file in files {
                let name = file
                    .strip_prefix(dir)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .replace('\\', "/");
                match documents(&file, &name) {
                    Ok(docs) => objects.extend(docs.into_iter().map(|(value, origin)| object(value, origin))),
                    Err(problem) => diags.push(
                        Diagnostic::error(Code::ManifestUnreadable, format!("the manifest {problem}"))
                            .at(at, "read from here")
                            .help("each document must be a YAML mapping: one Kubernetes object"),
                    ),
                }
            }
        }
        _ => diags.push(
            Diagnostic::error(
                Code::ManifestEntry,
                "a `manifests` entry needs one of `object` and `path`",
            )
            .at(spans.key(pointer), "")
            .help("write the object under `object:`, or name a file or folder with `path:`"),
        ),
    }
}

/// A relative path that stays below its base.
fn is_inside(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The manifest paths (`manifests[].path`) anywhere in the data of a spec or of a fleet's
/// file, those inside the spec's folder, normalized (`a/b`): what a command that lays the spec
/// out of git needs beside it.
pub fn named_paths(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                let entries = map
                    .get(super::AppSpec::MANIFESTS.name())
                    .and_then(Value::as_array);
                let paths = entries
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.get(ManifestSpec::PATH.name())?.as_str());
                found.extend(paths.filter(|p| is_inside(p)).map(|p| {
                    Path::new(p)
                        .components()
                        .filter_map(|c| {
                            c.as_os_str()
                                .to_str()
                                .filter(|_| matches!(c, Component::Normal(_)))
                        })
                        .collect::<Vec<_>>()
                        .join("/")
                }));
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The YAML files at `path`: itself, or those below it in name order.
fn files(path: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    use crate::disk::{self, Kind};
    if disk::kind_followed(path)? == Kind::File {
        return Ok(vec![path.to_path_buf()]);
    }
    let yaml = |p: &Path| p.extension().is_some_and(|e| e == "yaml" || e == "yml");
    let out: Vec<std::path::PathBuf> = (disk::walk(path, true)?.into_iter())
        .filter(|(p, kind)| *kind == Kind::File && yaml(p))
        .map(|(p, _)| p)
        .collect();
    if out.is_empty() {
        return Err(std::io::Error::other(
            "the folder holds no `.yaml` or `.yml` file",
        ));
    }
    Ok(out)
}

/// One document of a manifest file: the object and where it was written.
type Document = (Map<String, Value>, String);

/// The documents of a YAML file, each an object, with its origin (`file.yaml` or
/// `file.yaml, document 2`); a problem is said as `<file> line L: <what>`.
fn documents(file: &Path, name: &str) -> Result<Vec<Document>, String> {
    let text = crate::disk::read_to_string(file).map_err(|e| format!("`{name}` cannot be read: {e}"))?;
    let parts = split_documents(&text);
    let several = parts.len() > 1;
    let mut out = Vec::new();
    for (n, (first_line, doc)) in parts.into_iter().enumerate() {
        let origin = if several {
            format!("{name}, document {}", n + 1)
        } else {
            name.to_string()
        };
        let source = Source::new(name, doc);
        match super::load::parse(source) {
            Ok(loaded) => match loaded.spans.root().to_value() {
                Value::Object(map) => out.push((map, origin)),
                _ => return Err(format!("`{origin}` is not a mapping")),
            },
            Err((source, found)) => {
                let d = found
                    .first()
                    .cloned()
                    .unwrap_or_else(|| Diagnostic::error(Code::ManifestUnreadable, "unreadable"));
                let line = match (&source, d.span) {
                    (Some(s), Some(span)) => s.line_col(span.start).0 + first_line,
                    _ => first_line + 1,
                };
                let what = d.message.replace("the spec", "the document");
                return Err(format!("`{name}` line {line}: {what}"));
            }
        }
    }
    Ok(out)
}

/// The documents of a YAML stream, split at `---` lines, each with the 0-based line it starts
/// on; documents that hold only comments and blank lines are left out.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs: Vec<(usize, String)> = vec![(0, String::new())];
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let marker = line
            .strip_prefix("---")
            .filter(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r']));
        match marker {
            Some(rest) => docs.push((n, rest.trim_start_matches([' ', '\t']).to_string())),
            None if line.trim_end() == "..." => docs.push((n + 1, String::new())),
            None => {
                if let Some(last) = docs.last_mut() {
                    last.1.push_str(line);
                }
            }
        }
    }
    docs.retain(|(_, doc)| {
        doc.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
    });
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_paths_are_found_at_any_depth_and_kept_inside() {
        let value = serde_json::json!({
            "apps": [{"name": "a", "manifests": [{"path": "./x/y.yaml"}, {"path": "../out.yaml"}, {"object": {}}]}],
            "clusters": [{"overrides": {"apps": [{"manifests": [{"path": "z"}]}]}}]
        });
        assert_eq!(named_paths(&value), ["x/y.yaml", "z"]);
    }

    #[test]
    fn streams_split_at_document_markers() {
        let docs =
            split_documents("# head\n---\na: 1\n--- {b: 2}\n...\n# only a comment\n---\nc: |\n  ---x\n");
        let texts: Vec<&str> = docs.iter().map(|(_, d)| d.as_str()).collect();
        // The rest of a marker line stays, so lines are counted from the marker.
        assert_eq!(texts, ["\na: 1\n", "{b: 2}\n", "\nc: |\n  ---x\n"]);
        assert_eq!(docs.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 3, 6]);
    }

    #[test]
    fn paths_stay_inside_the_spec_folder() {
        assert!(is_inside("manifests/a.yaml"));
        assert!(is_inside("./extra"));
        assert!(!is_inside("../secrets.yaml"));
        assert!(!is_inside("/etc/passwd"));
        assert!(!is_inside(""));
    }
}
