//! Loading: the spec file's bytes → one tree of its data and the source span of every node.
//!
//! The whole spec is parsed once, by one parser (`saphyr-parser`), whose events carry both
//! ends of every node; `Builder` turns them into the [`SpanIndex`]: each node its span and
//! its data (a scalar's value, a mapping's entries sorted by key, a sequence's items). It is
//! validated and typed where it is (`super::typing`); no JSON value of the whole is made.
//! Anchors, aliases and tags are refused (a free billion-laughs guard), as are a second
//! document and nesting deeper than [`MAX_DEPTH`]. Scalars are typed by the YAML 1.2 core
//! schema; plain scalars that a YAML 1.1 reader would type differently (`yes`, `on`, `0777`)
//! are refused, so the spec means the same to every tool that reads it.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Span, Sparse};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle};
use serde_json::Value;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The spans of one node: its key in the parent mapping (if any) and its value.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpans {
    /// The key that holds the node.
    pub key: Option<Span>,
    /// The node itself.
    pub value: Span,
}

/// Where every node of the spec is, looked up by JSON pointer (`/apps/0/helm/version`).
#[derive(Debug)]
pub struct SpanIndex {
    root: SpanNode,
}

/// One node of the loaded spec: its span and its data, with those of its children; 32 bytes
/// a node, 56 a mapping's entry. Every node of the spec is held to the end of resolution, so
/// the tree is kept small: its offsets as `u32`s (a spec is at most [`MAX_TEXT`] bytes), its
/// lists without spare room, and a mapping a sorted slice, not a map.
#[derive(Debug, Clone)]
pub struct SpanNode {
    pub(super) at: At,
    pub(super) children: Children,
}

/// A span as a node holds it.
#[derive(Debug, Clone, Copy)]
pub(super) struct At {
    start: u32,
    end: u32,
}

impl At {
    /// The span as nodes hold it. Every offset of a loaded spec fits: a spec is at most
    /// [`MAX_TEXT`] bytes (`parse` and a fleet's join refuse a longer one).
    pub(super) fn of(span: Span) -> At {
        At {
            start: narrow(span.start),
            end: narrow(span.end),
        }
    }

    pub(super) fn span(self) -> Span {
        Span::new(self.start as usize, self.end as usize)
    }

    /// Where it starts.
    pub(super) fn start(self) -> u32 {
        self.start
    }

    /// Where it ends.
    pub(super) fn end(self) -> u32 {
        self.end
    }

    /// How many bytes it spans.
    pub(super) fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }
}

/// An offset or a count of a loaded spec as the tree's lists hold it: a spec is at most
/// [`MAX_TEXT`] bytes, and each node and key takes some of it.
pub(super) fn narrow(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A mapping's entry: its key, the key's span and the node of its value.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) key: Box<str>,
    pub(super) key_at: At,
    pub(super) node: SpanNode,
}

/// The data of a node: a scalar's value, a mapping's entries sorted by key (JSON's order
/// of an object's keys), a sequence's items.
#[derive(Debug, Clone)]
pub(super) enum Children {
    Scalar(Scalar),
    Map(Box<[Entry]>),
    Seq(Box<[SpanNode]>),
}

/// A scalar's value, as the YAML 1.2 core schema types it.
#[derive(Debug, Clone)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(Box<str>),
}

// The sizes the tree's doc states, kept true.
const _: () = assert!(std::mem::size_of::<SpanNode>() == 32 && std::mem::size_of::<Entry>() == 56);

/// The longest spec text that can be loaded, in bytes (4 GiB): a node's offsets are `u32`s.
pub const MAX_TEXT: usize = u32::MAX as usize;

/// Whether lookups of pointers that match no node are recorded ([`record_misses`]).
static RECORDING: AtomicBool = AtomicBool::new(false);

/// The pointers looked up that matched no node, while recording.
static MISSES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Turns the recording of missed lookups on or off, and returns (and forgets) the pointers
/// recorded so far. A check that locates its diagnostic by a mistyped pointer lands on the
/// nearest ancestor without a word: tests record every [`SpanIndex::value`] and
/// [`SpanIndex::key`] whose pointer matches no node, and fail on any.
pub fn record_misses(on: bool) -> Vec<String> {
    RECORDING.store(on, Ordering::SeqCst);
    std::mem::take(&mut *MISSES.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// True while misses are recorded.
pub(crate) fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

/// Records a miss: a lookup that matched no node, or a [`super::path::SpecPath`] step the
/// schema has no place for.
pub(crate) fn record_miss(miss: String) {
    MISSES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(miss);
}

impl SpanNode {
    /// A null at `span`: a node whose data is set later ([`SpanNode::fold`]).
    pub fn scalar(span: Span) -> Self {
        Self::leaf(span, Scalar::Null)
    }

    /// A scalar `value` at `span`.
    pub(super) fn leaf(span: Span, value: Scalar) -> Self {
        SpanNode {
            at: At::of(span),
            children: Children::Scalar(value),
        }
    }

    /// A mapping at `span` with its entries: key, key span, value.
    pub fn map(span: Span, entries: Vec<(String, Span, SpanNode)>) -> Self {
        let entries = entries
            .into_iter()
            .map(|(key, key_span, node)| Entry {
                key: key.into_boxed_str(),
                key_at: At::of(key_span),
                node,
            })
            .collect();
        Self::of_entries(span, entries)
    }

    /// A mapping at `span` with its entries, whose keys are unique: sorted by key, so they
    /// can be searched, and without the room the list grew into.
    pub(super) fn of_entries(span: Span, mut entries: Vec<Entry>) -> Self {
        entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        SpanNode {
            at: At::of(span),
            children: Children::Map(entries.into_boxed_slice()),
        }
    }

    /// A sequence at `span` with its items.
    pub fn seq(span: Span, items: Vec<SpanNode>) -> Self {
        SpanNode {
            at: At::of(span),
            children: Children::Seq(items.into_boxed_slice()),
        }
    }

    /// The node's own span.
    pub fn span(&self) -> Span {
        self.at.span()
    }

    /// The index of the entry `key` of a mapping.
    pub(super) fn find(entries: &[Entry], key: &str) -> Result<usize, usize> {
        entries.binary_search_by(|e| (*e.key).cmp(key))
    }

    /// The span of the key `key` of a mapping and the node of its value.
    pub fn entry(&self, key: &str) -> Option<(Span, &SpanNode)> {
        match &self.children {
            Children::Map(entries) => {
                let e = &entries[Self::find(entries, key).ok()?];
                Some((e.key_at.span(), &e.node))
            }
            _ => None,
        }
    }

    /// Calls `f` with every span below the node, its own first, each key's before its value,
    /// in order.
    pub fn visit(&self, f: &mut impl FnMut(Span)) {
        f(self.span());
        match &self.children {
            Children::Scalar(_) => {}
            Children::Map(entries) => {
                for e in entries {
                    f(e.key_at.span());
                    e.node.visit(f);
                }
            }
            Children::Seq(items) => items.iter().for_each(|n| n.visit(f)),
        }
    }

    /// Moves the node and every node below it `by` bytes on: its place in a text that holds
    /// its file from `by` on (at most [`MAX_TEXT`] bytes).
    pub fn shift(&mut self, by: usize) {
        let by = u32::try_from(by).unwrap_or(u32::MAX);
        self.shift_at(by);
    }

    fn shift_at(&mut self, by: u32) {
        let shift = |at: &mut At| {
            at.start = at.start.saturating_add(by);
            at.end = at.end.saturating_add(by);
        };
        shift(&mut self.at);
        match &mut self.children {
            Children::Scalar(_) => {}
            Children::Map(entries) => {
                for e in entries {
                    shift(&mut e.key_at);
                    e.node.shift_at(by);
                }
            }
            Children::Seq(items) => items.iter_mut().for_each(|n| n.shift_at(by)),
        }
    }

    /// [`SpanNode::entry`], to change the value's node.
    pub fn entry_mut(&mut self, key: &str) -> Option<(Span, &mut SpanNode)> {
        match &mut self.children {
            Children::Map(entries) => {
                let e = &mut entries[Self::find(entries, key).ok()?];
                Some((e.key_at.span(), &mut e.node))
            }
            _ => None,
        }
    }

    /// Sets the node's own span.
    pub fn set_span(&mut self, span: Span) {
        self.at = At::of(span);
    }

    /// Sets the span of the key `key` of a mapping and the node of its value, adding the
    /// entry when the mapping has no such key (no change to another node).
    pub fn put_entry(&mut self, key: &str, key_span: Span, node: SpanNode) {
        if let Children::Map(entries) = &mut self.children {
            let entry = Entry {
                key: key.into(),
                key_at: At::of(key_span),
                node,
            };
            match Self::find(entries, key) {
                Ok(i) => entries[i] = entry,
                Err(i) => {
                    let mut grown = std::mem::take(entries).into_vec();
                    grown.insert(i, entry);
                    *entries = grown.into_boxed_slice();
                }
            }
        }
    }

    /// Removes the entry `key` of a mapping: its key's span and its node.
    pub fn remove_entry(&mut self, key: &str) -> Option<(Span, SpanNode)> {
        let Children::Map(entries) = &mut self.children else {
            return None;
        };
        let i = Self::find(entries, key).ok()?;
        let mut rest = std::mem::take(entries).into_vec();
        let entry = rest.remove(i);
        *entries = rest.into_boxed_slice();
        Some((entry.key_at.span(), entry.node))
    }

    /// Sets the span of the key `key` of a mapping, keeping the node of its value.
    pub fn set_key_span(&mut self, key: &str, key_span: Span) {
        if let Children::Map(entries) = &mut self.children
            && let Ok(i) = Self::find(entries, key)
        {
            entries[i].key_at = At::of(key_span);
        }
    }

    /// The items of a sequence, to change (none for another node).
    pub fn items_mut(&mut self) -> &mut [SpanNode] {
        match &mut self.children {
            Children::Seq(items) => items,
            _ => &mut [],
        }
    }

    /// Appends items to a sequence (no change to another node).
    pub fn extend_items(&mut self, more: Vec<SpanNode>) {
        if let Children::Seq(items) = &mut self.children
            && !more.is_empty()
        {
            let mut grown = std::mem::take(items).into_vec();
            grown.extend(more);
            *items = grown.into_boxed_slice();
        }
    }

    /// The items of a sequence, moved out (none for another node).
    pub fn take_items(&mut self) -> Vec<SpanNode> {
        match &mut self.children {
            Children::Seq(items) => std::mem::take(items).into_vec(),
            _ => Vec::new(),
        }
    }

    /// The node of item `index` of a sequence.
    pub fn item(&self, index: usize) -> Option<&SpanNode> {
        match &self.children {
            Children::Seq(items) => items.get(index),
            _ => None,
        }
    }
}

impl SpanIndex {
    /// An index of the nodes below `root`: one built from other indexes' spans (a cluster of
    /// a fleet, whose nodes come from the fleet's definitions and overrides).
    pub fn new(root: SpanNode) -> Self {
        SpanIndex { root }
    }

    /// The root node, moved out.
    pub fn into_root(self) -> SpanNode {
        self.root
    }

    /// The root node.
    pub fn root(&self) -> &SpanNode {
        &self.root
    }

    /// The root node, to change.
    pub fn root_mut(&mut self) -> &mut SpanNode {
        &mut self.root
    }

    /// The value span of the node at `pointer`, or of its nearest existing ancestor.
    pub fn value(&self, pointer: &str) -> Option<Span> {
        Some(self.located(pointer).value)
    }

    /// The key span of the node at `pointer` (its value span when it has no key), or of its
    /// nearest existing ancestor.
    pub fn key(&self, pointer: &str) -> Option<Span> {
        let spans = self.located(pointer);
        Some(spans.key.unwrap_or(spans.value))
    }

    fn located(&self, pointer: &str) -> NodeSpans {
        located(&self, pointer)
    }

    /// True when the spec has a node at `pointer`.
    pub fn contains(&self, pointer: &str) -> bool {
        walk(&self, pointer).1
    }
}

impl<'t> Walk for &'t SpanIndex {
    type Node = &'t SpanNode;

    fn top(&self) -> &'t SpanNode {
        &self.root
    }

    fn span_of(&self, node: &'t SpanNode) -> Span {
        node.span()
    }

    fn child(&self, node: &'t SpanNode, segment: &str) -> Option<(Option<Span>, &'t SpanNode)> {
        match &node.children {
            // Sorted by key when built: a mapping can hold many keys, and a diagnostic each.
            Children::Map(entries) => {
                let e = &entries[SpanNode::find(entries, segment).ok()?];
                Some((Some(e.key_at.span()), &e.node))
            }
            Children::Seq(items) => Some((None, items.get(segment.parse::<usize>().ok()?)?)),
            Children::Scalar(_) => None,
        }
    }
}

/// A tree of places that a JSON pointer walks: the loaded tree, or its places alone.
pub(super) trait Walk {
    /// A node of the tree.
    type Node: Copy;
    /// The root.
    fn top(&self) -> Self::Node;
    /// A node's span.
    fn span_of(&self, node: Self::Node) -> Span;
    /// The child a pointer's (unescaped) segment names: a mapping's entry, with its key's
    /// span, or a sequence's item.
    fn child(&self, node: Self::Node, segment: &str) -> Option<(Option<Span>, Self::Node)>;
}

/// The spans of the deepest node on the way to `pointer`, and whether it is that node.
pub(super) fn walk<W: Walk>(tree: &W, pointer: &str) -> (NodeSpans, bool) {
    let mut node = tree.top();
    let mut spans = NodeSpans {
        key: None,
        value: tree.span_of(node),
    };
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        let Some((key, child)) = tree.child(node, &segment) else {
            return (spans, false);
        };
        node = child;
        spans = NodeSpans {
            key,
            value: tree.span_of(node),
        };
    }
    (spans, true)
}

/// [`walk`] for a diagnostic's place: a miss is recorded while recording is on.
pub(super) fn located<W: Walk>(tree: &W, pointer: &str) -> NodeSpans {
    let (spans, found) = walk(tree, pointer);
    if !found && recording() {
        record_miss(pointer.to_string());
    }
    spans
}

/// A loaded spec: its text, and its data with where each node came from.
#[derive(Debug)]
pub struct Loaded {
    /// The file.
    pub source: Source,
    /// The spec's data and the spans of its nodes, looked up by JSON pointer.
    pub spans: SpanIndex,
    /// The folder of the output root that holds the cluster's app, operator and
    /// infrastructure folders: empty (the root itself) for a cluster spec, `fleet/<cluster>`
    /// for a cluster of a fleet (docs/fleet.md).
    pub tree_root: String,
}

impl Loaded {
    /// The data of app `index` as JSON (null when the spec has no such app).
    pub fn app_value(&self, index: usize) -> Value {
        let apps = self.spans.root().get("apps").and_then(SpanNode::as_seq);
        apps.and_then(|apps| apps.get(index))
            .map_or(Value::Null, SpanNode::to_value)
    }
}

/// What loading failed with: the file when it could be read, and every diagnostic.
pub type LoadError = (Option<Source>, Vec<Diagnostic>);

/// Reads and parses the spec at `path`. Every failure is a diagnostic; `Source` is returned
/// whenever the file could be read, so diagnostics can show it.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    parse(read(path)?)
}

/// The spec's text.
fn read(path: &Path) -> Result<Source, LoadError> {
    let name = path.display().to_string();
    let fail = |msg: String, help: &str| {
        (
            None,
            vec![Diagnostic::error(Code::SpecUnreadable, msg).help(help)],
        )
    };
    let kind = crate::disk::kind_followed(path).map_err(|e| {
        fail(
            format!("cannot read the spec `{name}`: {}", io_reason(&e)),
            "pass the path of a cluster spec, e.g. `cluster.yaml`; `gitopsc init` writes a starter",
        )
    })?;
    if kind == crate::disk::Kind::Folder {
        return Err(fail(
            format!("the spec `{name}` is a directory"),
            "pass the cluster spec file inside it, e.g. `cluster.yaml`",
        ));
    }
    let bytes = crate::disk::read(path).map_err(|e| {
        fail(
            format!("cannot read the spec `{name}`: {}", io_reason(&e)),
            "check the file's permissions",
        )
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
            let src = Source::new(&name, prefix);
            let (line, col) = src.line_col(at);
            return Err((
                None,
                vec![
                    Diagnostic::error(
                        Code::NotUtf8,
                        format!(
                            "the spec `{name}` is not valid UTF-8 (byte {at}, line {line}, column {col})"
                        ),
                    )
                    .help("save the file as UTF-8"),
                ],
            ));
        }
    };
    Ok(Source::new(name, text))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The text of the spec file at `path`, as [`load`] parses it (without a byte-order mark).
pub fn read_text(path: &Path) -> Option<Source> {
    read_spec(path).ok()
}

/// [`read_text`], with why the file cannot be read, as [`load`] says it.
pub fn read_spec(path: &Path) -> Result<Source, LoadError> {
    let source = read(path)?;
    Ok(match source.text.strip_prefix('\u{feff}') {
        Some(rest) => Source::new(source.name.clone(), rest.to_string()),
        None => source,
    })
}

/// The text of the spec files `files` as a run over all of them lays it out
/// ([`Source::composite`]), each where `starts` places it, but for the files that `wanted`
/// leaves out: those are not read ([`Sparse`]). The last file is always read: no start
/// records where it ends. `None` when a file cannot be read or does not end where the next
/// one starts.
pub fn read_in_part(
    files: &[std::path::PathBuf],
    starts: &[usize],
    wanted: impl Fn(usize) -> bool + Sync,
) -> Option<Sparse> {
    use rayon::prelude::*;
    (starts.len() == files.len()).then_some(())?;
    let last = files.len().checked_sub(1)?;
    let read: Vec<(String, Result<Source, usize>)> = files
        .par_iter()
        .enumerate()
        .map(|(i, f)| {
            let text = if i == last || wanted(i) {
                Ok(read_text(f)?)
            } else {
                Err(starts.get(i + 1)?.checked_sub(*starts.get(i)?)?)
            };
            Some((f.display().to_string(), text))
        })
        .collect::<Option<_>>()?;
    let name = read.first()?.0.clone();
    let (text, laid) = Sparse::of(name, read);
    (laid == starts).then_some(text)
}

/// Parses spec text. See [`load`].
pub fn parse(source: Source) -> Result<Loaded, LoadError> {
    // A byte-order mark is not content.
    let source = match source.text.strip_prefix('\u{feff}') {
        Some(rest) => Source::new(source.name.clone(), rest.to_string()),
        None => source,
    };
    if let Some(d) = too_long(&source.name, source.text.len()) {
        return Err((None, vec![d]));
    }
    let text = &source.text;
    if text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    }) {
        let d = Diagnostic::error(Code::EmptySpec, format!("the spec `{}` is empty", source.name))
            .help("`gitopsc init > cluster.yaml` writes a commented starter spec");
        return Err((Some(source), vec![d]));
    }
    if let Some(d) = forbidden_character(&source).or_else(|| yaml_version(&source)) {
        return Err((Some(source), vec![d]));
    }
    let (root, diags) = match build(&source) {
        Ok(built) => built,
        Err(d) => return Err((Some(source), vec![d])),
    };
    let root = match root {
        Some(
            root @ SpanNode {
                children: Children::Map(_),
                ..
            },
        ) => root,
        _ => {
            let d = Diagnostic::error(Code::NotAMapping, "the spec must be a YAML mapping")
                .at(
                    Some(Span::new(0, source.scalar_end(0))),
                    "expected `apiVersion: gitopsc.io/v1alpha1`, `kind: Cluster`, ...",
                )
                .help("`gitopsc init` prints a starter spec");
            return Err((Some(source), vec![d]));
        }
    };
    if !diags.is_empty() {
        return Err((Some(source), diags));
    }
    let spans = SpanIndex { root };
    Ok(Loaded {
        source,
        spans,
        tree_root: String::new(),
    })
}

/// The error for a spec text of `len` bytes, when it is longer than [`MAX_TEXT`].
pub fn too_long(name: &str, len: usize) -> Option<Diagnostic> {
    (len > MAX_TEXT).then(|| {
        Diagnostic::error(
            Code::SpecUnreadable,
            format!("the spec `{name}` is {len} bytes long: gitopsc reads at most {MAX_TEXT} (4 GiB)"),
        )
        .help("split the apps over several clusters or repositories")
    })
}

/// True for a character YAML allows in a stream (the production `c-printable` of YAML 1.2):
/// tab, line feed, carriage return, the printable ASCII characters, NEL, and the rest of
/// Unicode but the C1 controls, surrogates (never in a Rust string) and U+FFFE, U+FFFF.
fn is_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        || c >= '\u{10000}'
}

/// The first character of the text YAML forbids, as an error at its place: parsers stop
/// at some of them (a NUL ended the spec there, and the apps after it were dropped). NEL,
/// LS and PS are refused too, raw: YAML 1.1 readers (libyaml, PyYAML) take them for line
/// breaks, YAML 1.2 readers for content, so the text means two things; and so is a
/// byte-order mark past the start.
fn forbidden_character(source: &Source) -> Option<Diagnostic> {
    let (at, c) = source
        .text
        .char_indices()
        .find(|&(_, c)| !is_printable(c) || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'))?;
    let (line, col) = source.line_col(at);
    let code = u32::from(c);
    let (message, help) = if c == '\u{feff}' {
        // A byte-order mark is allowed at the start only (taken off before this); inside
        // the text, parsers skip it or keep it.
        (
            format!("the spec holds a byte-order mark (U+FEFF) inside its text (line {line}, column {col})"),
            "remove it, or write it as the escape `\\uFEFF` in a double-quoted string".to_string(),
        )
    } else if is_printable(c) {
        (
            format!(
                "the spec holds the character U+{code:04X} raw, which YAML 1.1 readers take for a line break (line {line}, column {col})"
            ),
            format!("remove it, or write it as the escape `\\u{code:04X}` in a double-quoted string"),
        )
    } else {
        (
            format!("the spec holds the character U+{code:04X}, which YAML does not allow (line {line}, column {col})"),
            "remove it; a control character in a value is written as an escape in a double-quoted string, e.g. `\"\\t\"`".to_string(),
        )
    };
    Some(
        Diagnostic::error(Code::ForbiddenCharacter, message)
            .at(Some(Span::new(at, at + c.len_utf8())), "not allowed here")
            .help(help),
    )
}

/// A `%YAML` directive for another version than 1.2, as an error: the spec is read as YAML
/// 1.2 whatever it declares, so declaring 1.1 would mislead its readers.
fn yaml_version(source: &Source) -> Option<Diagnostic> {
    let mut offset = 0;
    for line in source.text.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        let Some(version) = line.strip_prefix("%YAML") else {
            continue;
        };
        let version = version.split('#').next().unwrap_or_default().trim();
        if version != "1.2" {
            let end = at + line.trim_end().len();
            return Some(
                Diagnostic::error(
                    Code::YamlVersion,
                    format!("the spec declares `%YAML {version}`; gitopsc reads YAML 1.2 only"),
                )
                .at(Some(Span::new(at, end)), "YAML version directive")
                .help("remove the directive (or write `%YAML 1.2`): the spec is read as YAML 1.2"),
            );
        }
    }
    None
}

/// True when the text's last line is a line of text of the block scalar that starts at
/// `start` (the parser's start: its first character of text, or its header when it has
/// none, `header`), with no line break after it: a line with anything but spaces, or with
/// more spaces than the scalar's indentation (the column of its first character; spaces past
/// it are text). A line ends at a line feed or a carriage return (YAML's line breaks).
fn ends_in_content_line(source: &str, start: usize, header: bool) -> bool {
    let last = &source[source.rfind(['\n', '\r']).map_or(0, |i| i + 1)..];
    if !last.trim().is_empty() {
        return true;
    }
    if header {
        return false;
    }
    let indent = start - source[..start].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    last.len() > indent
}

/// True when the block scalar that starts at `start` (at its `header`, or at its first
/// character of text) keeps its final line breaks (`|+`): its header is the last `|` or `>`
/// up to there.
fn keeps_breaks(source: &str, start: usize, header: bool) -> bool {
    let through = if header { start + 1 } else { start };
    source[..through]
        .rfind(['|', '>'])
        .and_then(|header| source[header + 1..].split([' ', '\t', '\n', '\r', '#']).next())
        .is_some_and(|indicators| indicators.contains('+'))
}

/// Deepest nesting of mappings and sequences gitopsc reads (the root mapping is level 1).
/// Chart values sit four levels down (`apps`, an app, `helm`, `values`), so they may nest
/// up to 96 levels; the limit keeps every later reader of the data (JSON parsers allow 128)
/// and the recursion of the stages within bounds.
pub const MAX_DEPTH: usize = 100;

/// What parsing the spec produced: its root node, and the diagnostics that do not stop
/// loading.
type Built = (Option<SpanNode>, Vec<Diagnostic>);

/// Parses the spec's text; the error is the one that stops loading.
fn build(source: &Source) -> Result<Built, Diagnostic> {
    build_in(source, source.text.len() >= PIPELINED)
}

/// [`build`], the text parsed on a thread of its own when `pipelined`.
fn build_in(source: &Source, pipelined: bool) -> Result<Built, Diagnostic> {
    let mut builder = Builder::new(source);
    // The parser is given a text that ends with a line break: it chomps a block scalar that
    // ends the text on a blank line without one wrongly. What the added break adds to a
    // block scalar whose last line of text ends the file is taken off in `event`.
    let padded;
    let text = if source.text.ends_with(['\n', '\r']) {
        source.text.as_str()
    } else {
        padded = format!("{}\n", source.text);
        padded.as_str()
    };
    let mut documents = 0;
    let mut take = |next: Next| -> Option<Result<(), Diagnostic>> {
        let (event, span) = match next {
            Ok(next) => next,
            Err(e) => return Some(Err(scan_error(&mut builder.offsets, e.marker(), e.info()))),
        };
        match event {
            Event::StreamEnd => return Some(Ok(())),
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    let at = builder.offsets.byte(span.start.index());
                    return Some(Err(Diagnostic::error(
                        Code::MultipleDocuments,
                        "the spec holds more than one YAML document",
                    )
                    .at(Some(Span::new(at, at + 3)), "a second document starts here")
                    .help(
                        "a spec is one document: remove this `---` and merge or drop what follows",
                    )));
                }
            }
            event => builder.event(event, span),
        }
        builder.fatal.take().map(Err)
    };
    let done = if pipelined {
        parsed_beside(text, &mut take)
    } else {
        Parser::new_from_str(text).find_map(&mut take)
    };
    done.unwrap_or(Ok(()))?;
    Ok((builder.root, builder.diags))
}

/// What the parser yields: an event and its span, or why the text is not YAML.
type Next<'t> = Result<(Event<'t>, saphyr_parser::Span), saphyr_parser::ScanError>;

/// The length from which a text is parsed on a thread of its own while its events are
/// built into the value and spans on this one: a spec of a few hundred apps and up, where
/// the two halves of the work each take a good part of the run and nothing else is running.
/// Shorter texts, a fleet's files among them (parsed in parallel already), are parsed in line.
const PIPELINED: usize = 256 * 1024;

/// Parses `text` on a scoped thread, handing its events to `take` in order, in batches,
/// until `take` returns `Some` (the end, or an error); the parser stops when `take` does.
/// Where no thread can be started, the text is parsed in line.
fn parsed_beside<'t>(
    text: &'t str,
    take: &mut impl FnMut(Next<'t>) -> Option<Result<(), Diagnostic>>,
) -> Option<Result<(), Diagnostic>> {
    const BATCH: usize = 4096;
    std::thread::scope(|scope| {
        let (send, batches) = std::sync::mpsc::sync_channel::<Vec<Next<'t>>>(4);
        let parser = std::thread::Builder::new().spawn_scoped(scope, move || {
            let mut batch = Vec::with_capacity(BATCH);
            for next in Parser::new_from_str(text) {
                // The parser's last word: the end of the stream, or an error.
                let last = matches!(next, Err(_) | Ok((Event::StreamEnd, _)));
                batch.push(next);
                if last || batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // The builder stopped (it dropped its end), or there is nothing more.
                    if send.send(full).is_err() || last {
                        return;
                    }
                }
            }
            let _ = send.send(batch);
        });
        if parser.is_err() {
            // No thread to be had: the text is parsed in line.
            return Parser::new_from_str(text).find_map(take);
        }
        batches.into_iter().flatten().find_map(take)
    })
}

fn scan_error(offsets: &mut Offsets, at: &Marker, info: &str) -> Diagnostic {
    let o = offsets.byte(at.index());
    // An alias of an anchor never defined fails in the parser, before the builder sees it.
    let (code, msg, help) = if info.contains("recursion limit") {
        (
            Code::TooDeep,
            "the spec is nested too deeply".to_string(),
            "a cluster spec needs only a few levels of nesting",
        )
    } else if info.contains("unknown anchor") {
        (
            Code::AnchorOrAlias,
            "YAML aliases are not allowed in a spec".to_string(),
            "write the value out in full",
        )
    } else {
        (
            Code::YamlSyntax,
            format!("invalid YAML: {info}"),
            "check the indentation and quoting around this point",
        )
    };
    Diagnostic::error(code, msg)
        .at(Some(Span::new(o, o + 1)), "here")
        .help(help)
}

/// Byte offsets of the parser's character indices: a cursor that moves from one asked
/// index to the next (the parser reports them in nearly increasing order), so converting
/// every position of the text costs one pass over it.
struct Offsets<'t> {
    text: &'t str,
    /// Every character is one byte: indices are offsets.
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'t> Offsets<'t> {
    fn new(text: &'t str) -> Self {
        Offsets {
            text,
            ascii: text.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    /// The byte offset of the character at `index` (the text's length past its end).
    fn byte(&mut self, index: usize) -> usize {
        if self.ascii {
            return index.min(self.text.len());
        }
        while self.chars < index {
            let Some(c) = self.text[self.bytes..].chars().next() else {
                return self.text.len();
            };
            self.bytes += c.len_utf8();
            self.chars += 1;
        }
        while self.chars > index {
            let Some(c) = self.text[..self.bytes].chars().next_back() else {
                break;
            };
            self.bytes -= c.len_utf8();
            self.chars -= 1;
        }
        self.bytes
    }
}

/// A mapping or sequence being built, with its children; for a mapping the key waiting for
/// its value.
enum Frame {
    Map {
        entries: Vec<Entry>,
        /// The keys of a mapping of more than [`FEW_KEYS`] entries, to refuse a duplicate
        /// without comparing each new key with all the others.
        keys: Option<std::collections::HashSet<Box<str>>>,
        key: Option<(String, Span)>,
        at: Span,
    },
    Seq {
        items: Vec<SpanNode>,
        at: Span,
    },
}

/// The entries of a mapping whose keys a new key is compared with one by one.
const FEW_KEYS: usize = 16;

/// Builds the spec's tree straight from the parser's events: no other tree.
struct Builder<'a> {
    source: &'a Source,
    offsets: Offsets<'a>,
    stack: Vec<Frame>,
    root: Option<SpanNode>,
    /// The first error that stops loading (anchor, alias, tag, complex key, duplicate key,
    /// depth).
    fatal: Option<Diagnostic>,
    /// Errors that do not (ambiguous scalars): all are reported.
    diags: Vec<Diagnostic>,
}

impl<'a> Builder<'a> {
    fn new(source: &'a Source) -> Self {
        Builder {
            source,
            offsets: Offsets::new(&source.text),
            stack: Vec::new(),
            root: None,
            fatal: None,
            diags: Vec::new(),
        }
    }

    /// Takes one event of the document.
    fn event(&mut self, event: Event<'_>, span: saphyr_parser::Span) {
        let at = self.offsets.byte(span.start.index());
        match event {
            Event::Alias(_) => self.stop(
                Diagnostic::error(Code::AnchorOrAlias, "YAML anchors and aliases are not allowed in a spec")
                    .at(Some(Span::new(at, self.source.scalar_end(at))), "alias")
                    .help("write the value out in full; aliases make specs hard to review and can expand without bound"),
            ),
            Event::Scalar(_, _, anchor, _) | Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                if anchor != 0 =>
            {
                self.stop(
                    Diagnostic::error(Code::AnchorOrAlias, "YAML anchors and aliases are not allowed in a spec")
                        .at(Some(Span::new(at, self.source.scalar_end(at))), "anchor")
                        .help("write the value out in full; anchors make specs hard to review and can expand without bound"),
                )
            }
            Event::Scalar(_, _, _, Some(_)) | Event::SequenceStart(_, Some(_)) | Event::MappingStart(_, Some(_)) => self
                .stop(
                    Diagnostic::error(Code::YamlTag, "YAML tags are not allowed in a spec")
                        .at(Some(Span::new(at, self.source.scalar_end(at))), "tag")
                        .help("remove the `!tag`; quote the value if it must be a string"),
                ),
            Event::Scalar(text, style, _, None) => {
                let end = self.offsets.byte(span.end.index());
                let mut text = text.into_owned();
                // A block scalar whose last line of text ends the file, without a line break,
                // has no final line break to keep (YAML 1.2, `b-chomped-last`); the parser
                // read the one `build` added.
                let source = self.source.text.as_str();
                // The parser starts a block scalar without text at its header; the text of
                // one with text may begin with `|` or `>` too.
                let header = source[at..].starts_with(['|', '>']) && !text.starts_with(['|', '>']);
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && !source.ends_with(['\n', '\r'])
                    && end >= source.len()
                    && (ends_in_content_line(source, at, header) || keeps_breaks(source, at, header))
                    && text.ends_with('\n')
                {
                    text.pop();
                }
                // The parser reads a plain scalar into a buffer of 32 bytes or more; every
                // scalar is held to the end of resolution, so each gets an allocation of its size.
                let text = if text.capacity() > text.len() {
                    String::from(text.as_str())
                } else {
                    text
                };
                let span = self.scalar_span(at, end, style);
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && text.bytes().all(|b| b == b'\n')
                    && keeps_breaks(source, at, header)
                {
                    // saphyr-parser and libyaml disagree on such a scalar's line breaks.
                    self.diags.push(
                        Diagnostic::error(Code::EmptyKeepScalar, "a `|+` block scalar with nothing but empty lines")
                            .at(Some(span), "YAML readers count its line breaks differently")
                            .help("write the value as a quoted string, e.g. `\"\\n\"` or `\"\"`"),
                    );
                }
                self.scalar(text, style == ScalarStyle::Plain, span);
            }
            Event::MappingStart(..) => self.start(true, Span::new(at, at + 1)),
            Event::SequenceStart(..) => self.start(false, Span::new(at, at + 1)),
            Event::SequenceEnd | Event::MappingEnd => self.end(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd => {}
        }
    }

    /// The span of a scalar from the parser's ends: a quoted scalar's end is its closing
    /// quote (the parser's runs on to a comment after it), a block scalar's the end of its
    /// last line of text (not the blank lines after it).
    fn scalar_span(&self, start: usize, end: usize, style: ScalarStyle) -> Span {
        if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) {
            return Span::new(start, self.source.scalar_end(start));
        }
        let text = self.source.text.get(start..end).unwrap_or_default();
        Span::new(start, start + text.trim_end().len())
    }

    fn stop(&mut self, d: Diagnostic) {
        self.fatal = Some(d);
    }

    fn scalar(&mut self, text: String, plain: bool, span: Span) {
        if let Some(c) = text.chars().find(|c| ('\u{7f}'..='\u{9f}').contains(c)) {
            self.diags.push(
                Diagnostic::error(Code::ControlCharacter, format!(
                    "this string holds the control character U+{:04X} ({})",
                    u32::from(c),
                    if c == '\u{7f}' { "DEL" } else { "a C1 control" }
                ))
                .at(Some(span), "control character")
                .help("remove it: every tree is applied through `kubectl kustomize`, which cannot read DEL or a C1 control back from the YAML it is given, so the apply would fail"),
            );
        }
        if plain && text.starts_with('?') && self.in_flow() {
            // `{?}`, `[?a]`: YAML 1.2 and libyaml read the `?` as the indicator of a mapping
            // key (of an empty one, or of `a`); saphyr-parser as part of a string.
            self.diags.push(
                Diagnostic::error(
                    Code::AmbiguousScalar,
                    format!("`{text}` in a flow collection is ambiguous: YAML readers read its `?` as the indicator of a mapping key or as part of a string"),
                )
                .at(Some(span), "ambiguous `?`")
                .help(format!("quote it: `\"{text}\"`")),
            );
        }
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            if plain && let Some(refusal) = super::plain::key(&text) {
                self.diags.push(refused(refusal, span));
            }
            if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                *key = Some((text, span));
            }
            return;
        }
        let value = match plain.then(|| super::plain::value(&text)) {
            Some(Ok(Value::Null)) => Scalar::Null,
            Some(Ok(Value::Bool(b))) => Scalar::Bool(b),
            Some(Ok(Value::Number(n))) => Scalar::Number(n),
            Some(Err(refusal)) => {
                self.diags.push(refused(refusal, span));
                Scalar::Str(text.into_boxed_str())
            }
            Some(Ok(_)) | None => Scalar::Str(text.into_boxed_str()),
        };
        self.push(SpanNode::leaf(span, value));
    }

    /// Whether the node being read is in a flow collection (`{…}`, `[…]`), perhaps in a
    /// single-pair mapping within one (`[a: b]`, which starts at its key).
    fn in_flow(&self) -> bool {
        self.stack.iter().rev().any(|frame| {
            let (Frame::Map { at, .. } | Frame::Seq { at, .. }) = frame;
            matches!(self.source.text.as_bytes().get(at.start), Some(b'{' | b'['))
        })
    }

    fn start(&mut self, map: bool, at: Span) {
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            self.stop(
                Diagnostic::error(Code::ComplexKey, "mapping keys must be plain strings")
                    .at(Some(at), "complex key"),
            );
            return;
        }
        if self.stack.len() >= MAX_DEPTH {
            self.stop(
                Diagnostic::error(Code::TooDeep, "the spec is nested too deeply")
                    .at(Some(at), format!("level {} starts here", MAX_DEPTH + 1))
                    .help(format!(
                        "gitopsc reads at most {MAX_DEPTH} levels of mappings and sequences; a cluster spec needs only a few"
                    )),
            );
            return;
        }
        self.stack.push(if map {
            Frame::Map {
                entries: Vec::new(),
                keys: None,
                key: None,
                at,
            }
        } else {
            Frame::Seq {
                items: Vec::new(),
                at,
            }
        });
    }

    fn end(&mut self) {
        let node = match self.stack.pop() {
            // Keys are unique: duplicates are refused.
            Some(Frame::Map { entries, at, .. }) => SpanNode::of_entries(at, entries),
            Some(Frame::Seq { items, at }) => SpanNode::seq(at, items),
            None => return,
        };
        self.push(node);
    }

    /// Places a finished node: into the enclosing sequence or mapping, or as the root.
    fn push(&mut self, node: SpanNode) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, keys, key, ..
            }) => {
                let Some((key, key_span)) = key.take() else { return };
                let again = match keys {
                    Some(keys) => !keys.insert(key.as_str().into()),
                    None => entries.iter().any(|e| *e.key == *key),
                };
                if again {
                    let d = Diagnostic::error(Code::DuplicateKey, format!("duplicate key `{key}`"))
                        .at(Some(key_span), "defined again here")
                        .help("a key may appear once per mapping; remove one of them");
                    self.stop(d);
                    return;
                }
                entries.push(Entry {
                    key: key.into_boxed_str(),
                    key_at: At::of(key_span),
                    node,
                });
                if keys.is_none() && entries.len() > FEW_KEYS {
                    *keys = Some(entries.iter().map(|e| e.key.clone()).collect());
                }
            }
        }
    }
}

/// A refused plain scalar as a diagnostic at its place.
fn refused(refusal: super::plain::Refusal, span: Span) -> Diagnostic {
    Diagnostic::error(Code::AmbiguousScalar, refusal.message)
        .at(Some(span), refusal.label)
        .help(refusal.help)
}

/// Escapes a mapping key for use in a JSON pointer.
pub fn escape_pointer(key: &str) -> std::borrow::Cow<'_, str> {
    if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1").into()
    } else {
        key.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Loaded, Vec<Diagnostic>> {
        parse(Source::new("t.yaml", text)).map_err(|(_, d)| d)
    }

    /// A long text whose events are built as the parser makes them on its own thread
    /// builds what the parser in line builds: value, spans, diagnostics, or the error that
    /// stopped it, wherever in the text that comes.
    #[test]
    fn a_text_parsed_beside_its_builder_builds_what_it_builds_in_line() {
        let app = |i: usize| {
            format!(
                "  - name: app-{i}\n    labels: {{tier: \"web\", n: {i}}}\n    note: |\n      line {i}\n    on: [a, 'b', 1.5, null]\n"
            )
        };
        let body: String = (0..3000).map(app).collect();
        // Each tail, and whether it stops the build: a syntax error, an anchor (refused by
        // the builder), a second document; `yes` is only reported.
        let tails = [
            ("", false),
            ("  - name: [unclosed\n", true),
            ("  - &anchor {a: 1}\n", true),
            ("  - yes\n", false),
            ("---\nb: 2\n", true),
        ];
        for (tail, fails) in tails {
            let text = format!("apps:\n{body}{tail}");
            assert!(text.len() > PIPELINED);
            let source = Source::new("t.yaml", text);
            let shown = |built: Result<Built, Diagnostic>| match built {
                Ok((root, diags)) => format!("{root:?}\n{diags:?}"),
                Err(d) => format!("error {d:?}"),
            };
            let beside = shown(build_in(&source, true));
            assert_eq!(beside, shown(build_in(&source, false)), "tail {tail:?}");
            assert_eq!(beside.starts_with("error"), fails, "tail {tail:?}");
        }
    }

    #[test]
    fn types_follow_yaml_1_2_and_quotes_keep_strings() {
        let l = load_str("a: 1\nb: '1'\nc: 1.5\nd: true\ne: ~\nf: 1.16.0\ng: \"yes\"\n").unwrap();
        assert_eq!(
            l.spans.root().to_value(),
            serde_json::json!({"a": 1, "b": "1", "c": 1.5, "d": true, "e": null, "f": "1.16.0", "g": "yes"})
        );
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let l = load_str("apps:\n  - name: harbor\n    helm: {version: 1.2.3}\n").unwrap();
        let v = l.spans.value("/apps/0/helm/version").unwrap();
        assert_eq!(&l.source.text[v.start..v.end], "1.2.3");
        let k = l.spans.key("/apps/0/name").unwrap();
        assert_eq!(&l.source.text[k.start..k.end], "name");
        let missing = l.spans.value("/apps/0/helm/chart").unwrap();
        assert_eq!(missing.start, l.spans.value("/apps/0/helm").unwrap().start);
    }

    #[test]
    fn a_span_tree_edited_as_a_fleet_merges_stays_searchable_and_shifts_whole() {
        let l = load_str("b: 1\nd: [x]\n").unwrap();
        let mut root = l.spans.into_root();
        root.put_entry("a", Span::new(20, 21), SpanNode::scalar(Span::new(22, 23)));
        root.put_entry(
            "c",
            Span::new(24, 25),
            SpanNode::seq(Span::new(26, 27), Vec::new()),
        );
        root.put_entry("b", Span::new(30, 31), SpanNode::scalar(Span::new(32, 33)));
        let (_, d) = root.entry_mut("d").unwrap();
        d.extend_items(vec![SpanNode::scalar(Span::new(40, 41))]);
        root.shift(100);
        let index = SpanIndex::new(root);
        for (pointer, key, value) in [("/a", 120, 122), ("/b", 130, 132), ("/c", 124, 126)] {
            assert_eq!(index.key(pointer).unwrap().start, key, "{pointer}");
            assert_eq!(index.value(pointer).unwrap().start, value, "{pointer}");
        }
        assert_eq!(index.value("/d/0").unwrap().start, 109);
        assert_eq!(index.value("/d/1").unwrap().start, 140);
        assert!(!index.contains("/d/2"));
    }

    #[test]
    fn a_text_longer_than_a_node_can_place_is_refused() {
        assert!(too_long("cluster.yaml", MAX_TEXT).is_none());
        let d = too_long("cluster.yaml", MAX_TEXT + 1).unwrap();
        assert!(d.message.contains("4 GiB"), "{}", d.message);
    }

    #[test]
    fn a_plain_question_mark_in_a_flow_collection_is_refused_and_elsewhere_or_quoted_a_string() {
        // libyaml reads `{?}` as `{null: null}` and `[?a b]` as `[{"a b": null}]`;
        // saphyr-parser as `{"?": null}` and `["?a b"]`.
        for text in [
            "k: {?}\n",
            "k: [?, a]\n",
            "k: {a: ?}\n",
            "k: [?a >%]\n",
            "k: {?a: 1}\n",
            "k: [?a: b x]\n",
        ] {
            let diags = load_str(text).err().unwrap_or_default();
            assert!(
                diags
                    .iter()
                    .any(|d| d.message.contains("in a flow collection is ambiguous")),
                "{text:?}: {diags:?}"
            );
        }
        let l = load_str("k: {\"?\": '?a'}\nq: ?x\nl:\n  - ?y\n").unwrap();
        assert_eq!(
            l.spans.root().to_value(),
            serde_json::json!({"k": {"?": "?a"}, "q": "?x", "l": ["?y"]})
        );
    }

    #[test]
    fn a_block_scalar_at_the_end_keeps_its_line_break_when_a_carriage_return_ends_its_line() {
        // The last line is a blank one after a lone carriage return (a YAML line break).
        for (text, read) in [
            ("k: |\n a\r ", "a\n"),
            ("k: |\n a\n ", "a\n"),
            ("k: |\n a", "a"),
            ("k: |\n a\r b", "a\nb"),
            // Text that begins like a header.
            ("k: |\n  |+a\n\n  b\n ", "|+a\n\nb\n"),
            ("k: |+\n  |a\n\n ", "|a\n\n"),
        ] {
            let l = load_str(text).unwrap();
            assert_eq!(
                l.spans.root().to_value(),
                serde_json::json!({ "k": read }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn hostile_inputs_are_refused_with_a_message() {
        for (text, needle) in [
            ("", "empty"),
            ("# only a comment\n", "empty"),
            ("a: &x 1\nb: *x\n", "anchors"),
            ("a: *x\n", "aliases"),
            ("a: 1\n---\nb: 2\n", "more than one YAML document"),
            ("a: 1\na: 2\n", "duplicate key"),
            ("a: !!str 1\n", "tags"),
            ("a: yes\n", "ambiguous"),
            ("a: 0777\n", "ambiguous"),
            ("- 1\n", "mapping"),
            ("a: [\n", "invalid YAML"),
        ] {
            let diags = load_str(text).unwrap_err();
            assert!(
                diags[0].message.contains(needle),
                "{text:?}: {:?}",
                diags[0].message
            );
        }
        // A key given again in a mapping of more keys than are compared one by one.
        let many: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        let again = load_str(&format!("m:\n{}  k7: x\n", many.replace('k', "  k"))).unwrap_err();
        assert!(again[0].message.contains("duplicate key `k7`"), "{again:?}");
        assert!(load_str(&format!("m:\n{}", many.replace('k', "  k"))).is_ok());
        let deep = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(
            load_str(&deep).unwrap_err()[0]
                .message
                .contains("nested too deeply")
        );
    }
}
