//! A fleet spec in several files: a root fleet file that names the others in `include:`, or a
//! folder whose `fleet.yaml` is the root and every other `*.yaml` file below it a part. A part
//! (`kind: FleetPart`, its schema `schemas/fleet-part.schema.json`) holds apps, clusters, chart
//! sources or secret stores — one file per app, per team or per cluster — and they join the
//! root's lists, in the order of `include:` (or of the parts' paths). Nothing else: no
//! templating, no overrides between files; a name two files define is an error naming both.
//!
//! The files are laid end to end in one [`Source`], each node keeping its place in its file,
//! so the expansion and every diagnostic after it point into the right file and line.

use crate::Failure;
use crate::diagnostic::{Code, Diagnostic};
use crate::disk::{self, Kind};
use crate::emit::lock::is_safe_relative;
use crate::source::{Source, Span};
use crate::spec::load::{self, LoadError, Loaded, SpanIndex, SpanNode};
use crate::spec::schema::did_you_mean;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The fields of a part.
pub const PART_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "apps",
    "clusters",
    "sources",
    "secretStores",
];

/// The lists a part adds to: `(field, field below it)`.
const LISTS: &[(&str, Option<&str>)] = &[
    ("apps", None),
    ("clusters", None),
    ("secretStores", None),
    ("sources", Some("helm")),
];

/// The files of a fleet spec: the root's path, and its parts' (none for a fleet of one file).
pub struct Files {
    /// The root fleet file.
    pub root: PathBuf,
    /// Whether the spec was named as a folder.
    folder: bool,
}

impl Files {
    /// The root file of the spec at `path`: itself, or a folder's `fleet.yaml`; `None` for a
    /// folder without one.
    pub fn of(path: &Path) -> Option<Files> {
        if disk::is_dir(path) {
            let root = path.join("fleet.yaml");
            return disk::is_file(&root).then_some(Files { root, folder: true });
        }
        Some(Files {
            root: path.to_path_buf(),
            folder: false,
        })
    }
}

/// The loaded root, with its parts joined in when it has any, and the paths it was read from:
/// its files in order, then the folders walked for parts. `None` when the root is not a
/// fleet spec (or cannot be loaded: the cluster spec's way then says why).
pub fn load(files: &Files) -> Option<Result<(Loaded, Vec<PathBuf>), Failure>> {
    let mut root = load::load(&files.root).ok()?;
    if root.spans.root().get("kind").and_then(SpanNode::as_str) != Some("Fleet") {
        return None;
    }
    let (parts, folders) = match part_paths(files, &mut root) {
        Ok(found) => found,
        Err(diagnostics) => {
            return Some(Err(Failure {
                source: Some(root.source),
                diagnostics,
            }));
        }
    };
    let mut read: Vec<PathBuf> = std::iter::once(files.root.clone())
        .chain(parts.iter().map(|(p, _)| p.clone()))
        .collect();
    read.extend(folders);
    if parts.is_empty() {
        return Some(Ok((root, read)));
    }
    Some(load_parts(root, &parts).map(|joined| (joined, read)))
}

/// The files a run over `files` reads, the root first, as [`load`](fn@load) names them: `None` when the
/// root is no fleet spec or its parts cannot be listed.
pub fn file_paths(files: &Files) -> Option<Vec<PathBuf>> {
    let mut root = load::load(&files.root).ok()?;
    let (parts, _) = part_paths(files, &mut root).ok()?;
    Some(
        std::iter::once(files.root.clone())
            .chain(parts.into_iter().map(|(p, _)| p))
            .collect(),
    )
}

/// The root and its parts joined. The parts are read in parallel and laid end to end after
/// the root as the fleet's text, each freed once copied there; then each is parsed from its
/// place in it, in parallel: no text is held twice beside the parsed data. The first part that
/// fails, in their order, is reported.
fn load_parts(mut root: Loaded, parts: &[Part]) -> Result<Loaded, Failure> {
    use rayon::prelude::*;
    let failed = |(source, diagnostics): LoadError| Failure { source, diagnostics };
    let read: Vec<Result<Source, LoadError>> =
        parts.par_iter().map(|(path, _)| load::read_spec(path)).collect();
    if read.iter().any(Result::is_err) {
        // A part before the one that cannot be read may not parse: the first is reported.
        let first = (read.iter()).find_map(|text| text.clone().and_then(load::parse).err());
        if let Some(failure) = first {
            return Err(failed(failure));
        }
    }
    let texts: Vec<Source> = std::iter::once(std::mem::take(&mut root.source))
        .chain(read.into_iter().flatten())
        .collect();
    let at: Vec<(String, usize)> = texts.iter().map(|t| (t.name.clone(), t.text.len())).collect();
    let (source, starts) = Source::composite(at[0].0.clone(), texts);
    // Each part's text is copied for its parse only: the copy goes with it.
    let parsed: Vec<Result<SpanNode, LoadError>> = (1..starts.len())
        .into_par_iter()
        .map(|i| {
            let ((name, len), start) = (&at[i], starts[i]);
            super::shared::parse_part(name, &source.text[start..start + len])
        })
        .collect();
    let mut loaded = vec![root.spans.into_root()];
    for part in parsed {
        loaded.push(part.map_err(failed)?);
    }
    joined_parts(source, &starts, loaded)
}

/// The root and the parts `parts` (of all the spec's, in their order) joined: what a run over
/// some of a fleet's files reads ([`super::changed`]). A part read already is taken
/// from `read`. `None` when a file cannot be read or parsed, or does not join.
pub fn load_some(
    files: &Files,
    parts: &[PathBuf],
    mut read: std::collections::HashMap<PathBuf, Loaded>,
) -> Option<Loaded> {
    use rayon::prelude::*;
    let mut root = load::load(&files.root).ok()?;
    root.spans.root_mut().remove_entry("include");
    let taken: Vec<Option<Loaded>> = parts.iter().map(|p| read.remove(p)).collect();
    let parsed: Vec<Option<Loaded>> = parts
        .par_iter()
        .zip(taken)
        .map(|(path, taken)| taken.or_else(|| load::load(path).ok()))
        .collect();
    let mut loaded = vec![root];
    for part in parsed {
        loaded.push(part?);
    }
    join(loaded).ok()
}

/// The files a fleet root (`value`, its parsed data) names in `include:`, relative to its
/// folder as written: what a command that lays the spec out of git needs beside it. Empty for
/// anything else.
pub fn listed(value: &Value) -> Vec<String> {
    if value.get("kind").and_then(Value::as_str) != Some("Fleet") {
        return Vec::new();
    }
    value["include"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|p| is_safe_relative(p))
        .map(String::from)
        .collect()
}

/// A part's path, and the span of the `include:` entry that names it (none in a folder).
type Part = (PathBuf, Option<Span>);

/// The parts of the spec, with the span of the `include:` entry that names each (none in a
/// folder), and for a folder every folder walked for them, itself included (a file added to
/// or removed from one changes the folder's own times); takes `include` out of the root's
/// value.
fn part_paths(files: &Files, root: &mut Loaded) -> Result<(Vec<Part>, Vec<PathBuf>), Vec<Diagnostic>> {
    let include = root.spans.root_mut().remove_entry("include");
    let base = files.root.parent().unwrap_or(Path::new("."));
    if files.folder {
        if let Some((key_span, _)) = include {
            let span = Some(key_span);
            return Err(vec![
                Diagnostic::error(Code::IncludeInFolder, "a folder's `fleet.yaml` includes every other `*.yaml` file of the folder: `include` has no place here")
                    .at(span, "in a folder's root")
                    .help("remove `include`, or name the root file itself instead of its folder"),
            ]);
        }
        let (yaml, folders) = walked(base).map_err(|e| {
            vec![Diagnostic::error(Code::SpecUnreadable, format!("the fleet folder `{}` cannot be read: {e}", base.display()))
                .help("every folder below a fleet folder is read for `*.yaml` parts: make it readable, or move it out")]
        })?;
        let parts = (yaml.into_iter())
            .filter(|p| *p != files.root)
            .map(|p| (p, None))
            .collect();
        return Ok((parts, folders));
    }
    let Some((_, include)) = include else {
        return Ok((Vec::new(), Vec::new()));
    };
    let Some(entries) = include.as_seq() else {
        let span = Some(include.span());
        return Err(vec![
            Diagnostic::error(Code::WrongType, "`include` must be a list of files")
                .at(span, "not a list")
                .help("write `include: [apps/harbor.yaml, clusters/production.yaml]`"),
        ]);
    };
    let mut diags = Vec::new();
    let mut paths: Vec<Part> = Vec::new();
    for entry in entries {
        let span = Some(entry.span());
        let file = entry.as_str().unwrap_or_default();
        let path = base.join(file);
        let fault = if !is_safe_relative(file) {
            Some("a relative path inside the root file's folder, without `.` or `..`")
        } else if paths.iter().any(|(p, _)| *p == path) {
            Some("each file once")
        } else if !disk::is_file(&path) {
            Some("a file that exists")
        } else {
            None
        };
        match fault {
            Some(expected) => diags.push(
                Diagnostic::error(
                    Code::IncludeFile,
                    format!("`include` names `{file}`; expected {expected}"),
                )
                .at(span, "this file")
                .help(format!("files are looked up from `{}`", base.display())),
            ),
            None => paths.push((path, span)),
        }
    }
    if diags.is_empty() {
        Ok((paths, Vec::new()))
    } else {
        Err(diags)
    }
}

/// Every `*.yaml` file below `dir`, and every folder walked, `dir` included (hidden folders
/// and files skipped, symlinks not followed), each sorted by path.
fn walked(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut files, mut folders) = (Vec::new(), Vec::new());
    for (path, kind) in disk::walk(dir, false)? {
        match kind {
            Kind::File if path.extension().is_some_and(|x| x == "yaml") => files.push(path),
            Kind::Folder => folders.push(path),
            _ => {}
        }
    }
    files.sort();
    folders.sort();
    Ok((files, folders))
}

/// The root and its parts as one loaded spec: the parts' lists appended to the root's. The
/// files' values and spans move into the joined spec (shifted to their place in the text).
fn join(mut files: Vec<Loaded>) -> Result<Loaded, Failure> {
    // Each file's text moves into the whole text, and is freed as soon as it is copied there.
    let sources: Vec<Source> = (files.iter_mut())
        .map(|f| std::mem::take(&mut f.source))
        .collect();
    let name = sources.first().map(|s| s.name.clone()).unwrap_or_default();
    let (source, starts) = Source::composite(name, sources);
    let parsed = files.into_iter().map(|f| f.spans.into_root()).collect();
    joined_parts(source, &starts, parsed)
}

/// The files parsed (`parsed`: the root first), their text laid out as `source` with each
/// starting at its place in `starts`, joined into one loaded spec.
fn joined_parts(source: Source, starts: &[usize], parsed: Vec<SpanNode>) -> Result<Loaded, Failure> {
    if let Some(d) = crate::spec::load::too_long(&source.name, source.text.len()) {
        return Err(Failure {
            source: None,
            diagnostics: vec![d],
        });
    }
    let mut diags = Vec::new();
    let mut parts: Vec<SpanNode> = parsed
        .into_iter()
        .zip(starts)
        .map(|(mut part, &at)| {
            part.shift(at);
            part
        })
        .collect();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            check_part(part, &mut diags);
        }
        check_lists(part, &mut diags);
    }
    if diags.iter().any(Diagnostic::is_error) {
        crate::diagnostic::sort(&mut diags);
        return Err(Failure {
            source: Some(source),
            diagnostics: diags,
        });
    }
    // The root's own fields first; the lists are made below, from every file.
    let root = &mut parts[0];
    let root_span = root.span();
    let own: Vec<String> = (root.entries())
        .map(|(k, _)| k)
        .filter(|k| !LISTS.iter().any(|(l, _)| l == k))
        .map(String::from)
        .collect();
    let mut entries: Vec<(String, Span, SpanNode)> = own
        .into_iter()
        .filter_map(|key| {
            let (key_span, node) = root.remove_entry(&key)?;
            Some((key, key_span, node))
        })
        .collect();
    for (field, below) in LISTS {
        if let Some((key_span, node)) = joined(&mut parts, field, *below) {
            entries.push(((*field).to_string(), key_span, node));
        }
    }
    Ok(Loaded {
        source,
        spans: SpanIndex::new(SpanNode::map(root_span, entries)),
        tree_root: String::new(),
    })
}

/// Checks a part's own structure: its kind and fields.
fn check_part(part: &SpanNode, diags: &mut Vec<Diagnostic>) {
    let at = |key: &str| part.entry(key).map(|(k, _)| k).or(Some(part.span()));
    if part.get("apiVersion").and_then(SpanNode::as_str) != Some(crate::spec::API_VERSION) {
        diags.push(
            Diagnostic::error(
                Code::NotAFleetPart,
                format!(
                    "an included file's `apiVersion` is `{}`",
                    crate::spec::API_VERSION
                ),
            )
            .at(at("apiVersion"), "expected `apiVersion: gitopsc.io/v1alpha1`"),
        );
    }
    match part.get("kind").and_then(SpanNode::as_str) {
        Some("FleetPart") => {}
        other => diags.push(
            Diagnostic::error(Code::NotAFleetPart, format!(
                "an included file is a `FleetPart`{}",
                other.map(|k| format!(", not a `{k}`")).unwrap_or_default()
            ))
            .at(at("kind"), "expected `kind: FleetPart`")
            .help("start it with `apiVersion: gitopsc.io/v1alpha1` and `kind: FleetPart`; it holds `apps`, `clusters`, `sources` or `secretStores`"),
        ),
    }
    for (key, _) in part.entries() {
        if !PART_FIELDS.contains(&key) {
            let mut d = Diagnostic::error(Code::UnknownField, format!("unknown field `{key}`"))
                .at(at(key), "not a field of a fleet part");
            d = match did_you_mean(key, PART_FIELDS.iter().copied()) {
                Some(best) => d.help(format!("did you mean `{best}`?")),
                None => d.help(
                    "a part holds `apps`, `clusters`, `sources` or `secretStores`; the rest is the root's",
                ),
            };
            diags.push(d);
        }
    }
    if let Some(sources) = part.get("sources") {
        for (key, _) in sources.entries().filter(|(k, _)| *k != "helm") {
            let span = sources.entry(key).map(|(k, _)| k);
            diags.push(
                Diagnostic::error(Code::UnknownField, format!("unknown field `{key}`"))
                    .at(span, "a part's `sources` holds `helm` only"),
            );
        }
    }
}

/// Reports a list field of a file (the root or a part) that is not a list: its items could
/// not join the others'.
fn check_lists(file: &SpanNode, diags: &mut Vec<Diagnostic>) {
    for (field, below) in LISTS {
        let node = match below {
            None => file.get(field),
            Some(inner) => file.get(field).and_then(|n| n.get(inner)),
        };
        if let Some(node) = node
            && node.as_seq().is_none()
        {
            let name = below.map_or_else(|| (*field).to_string(), |inner| format!("{field}.{inner}"));
            diags.push(
                Diagnostic::error(Code::WrongType, format!("`{name}` must be a list"))
                    .at(Some(node.span()), "not a list")
                    .help(format!("write `{name}:` with one `- name: ...` item per entry")),
            );
        }
    }
}

/// One list of every file joined: its key span and node, moved out of the files. `None` when
/// no file has it.
fn joined(parts: &mut [SpanNode], field: &str, below: Option<&str>) -> Option<(Span, SpanNode)> {
    let mut nodes = Vec::new();
    let mut first: Option<(Span, Span)> = None;
    for part in parts.iter_mut() {
        let Some((key_span, node)) = part.entry_mut(field) else {
            continue;
        };
        let list = match below {
            None => node,
            Some(inner) => match node.entry_mut(inner) {
                Some((_, inner_node)) => inner_node,
                None => continue,
            },
        };
        // What is not a list is reported by `check_lists`.
        if list.as_seq().is_none() {
            continue;
        }
        first.get_or_insert((key_span, list.span()));
        nodes.extend(list.take_items());
    }
    let (key_span, list_span) = first?;
    let list = SpanNode::seq(list_span, nodes);
    Some(match below {
        None => (key_span, list),
        Some(inner) => (
            key_span,
            SpanNode::map(list_span, vec![(inner.to_string(), key_span, list)]),
        ),
    })
}
