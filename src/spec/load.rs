//! Loading: the spec file's bytes → a JSON value plus the source span of every node.
//!
//! YAML is parsed with `marked-yaml`, which refuses anchors, aliases and tags (a free
//! billion-laughs guard) and bounds nesting depth. Scalars are typed by the YAML 1.2 core
//! schema; plain scalars that a YAML 1.1 reader would type differently (`yes`, `on`, `0777`)
//! are refused, so the spec means the same to every tool that reads it.

use crate::diagnostic::Diagnostic;
use crate::source::{Source, Span};
use marked_yaml::{LoaderOptions, Node};
use serde_json::{Map, Number, Value};
use std::path::Path;

/// The spans of one node: its key in the parent mapping (if any) and its value.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpans {
    /// The key that holds the node.
    pub key: Option<Span>,
    /// The node itself.
    pub value: Span,
}

/// Where every node of the spec is: the marked YAML tree, looked up by JSON pointer
/// (`/apps/0/helm/version`) only when a diagnostic needs a place — nothing is indexed ahead.
#[derive(Debug)]
pub struct SpanIndex {
    /// The marked tree, parsed again from the text the first time a place is asked for.
    tree: std::sync::OnceLock<Option<Node>>,
    source: Source,
}

impl SpanIndex {
    /// The value span of the node at `pointer`, or of its nearest existing ancestor.
    pub fn value(&self, pointer: &str) -> Option<Span> {
        self.nearest(pointer).map(|s| s.value)
    }

    /// The key span of the node at `pointer` (its value span when it has no key), or of its
    /// nearest existing ancestor.
    pub fn key(&self, pointer: &str) -> Option<Span> {
        self.nearest(pointer).map(|s| s.key.unwrap_or(s.value))
    }

    /// True when the spec has a node at `pointer`.
    pub fn contains(&self, pointer: &str) -> bool {
        self.walk(pointer).1
    }

    fn nearest(&self, pointer: &str) -> Option<NodeSpans> {
        Some(self.walk(pointer).0)
    }

    /// The spans of the deepest node on the way to `pointer`, and whether it is that node.
    fn walk(&self, pointer: &str) -> (NodeSpans, bool) {
        let tree = self.tree.get_or_init(|| {
            let options = LoaderOptions::default().prevent_coercion(true);
            marked_yaml::parse_yaml_with_options(0, self.source.text.as_str(), options).ok()
        });
        let Some(root) = tree else {
            let start = NodeSpans {
                key: None,
                value: Span::new(0, 1),
            };
            return (start, false);
        };
        let mut node = root;
        let mut spans = NodeSpans {
            key: None,
            value: self.node_span(node),
        };
        for segment in pointer.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            let next = match node {
                // Looked up by hash: a mapping can hold many keys, and a diagnostic each.
                Node::Mapping(map) => map.get_key_value(segment.as_str()).map(|(k, v)| {
                    let ks = self.start(k.span());
                    (Some(Span::new(ks, self.source.scalar_end(ks))), v)
                }),
                Node::Sequence(seq) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| seq.get(i))
                    .map(|v| (None, v)),
                Node::Scalar(_) => None,
            };
            let Some((key, child)) = next else {
                return (spans, false);
            };
            node = child;
            spans = NodeSpans {
                key,
                value: self.node_span(node),
            };
        }
        (spans, true)
    }

    fn start(&self, span: &marked_yaml::Span) -> usize {
        span.start()
            .map_or(0, |m| self.source.offset(m.line(), m.column()))
    }

    fn node_span(&self, node: &Node) -> Span {
        let start = self.start(node.span());
        match node {
            Node::Scalar(_) => Span::new(start, self.source.scalar_end(start)),
            _ => Span::new(start, start + 1),
        }
    }
}

/// A loaded spec: its text, its data and where each node came from.
#[derive(Debug)]
pub struct Loaded {
    /// The file.
    pub source: Source,
    /// The spec as JSON.
    pub value: Value,
    /// Node spans by JSON pointer.
    pub spans: SpanIndex,
}

/// What loading failed with: the file when it could be read, and every diagnostic.
pub type LoadError = (Option<Source>, Vec<Diagnostic>);

/// Turns the apps of one piece of a large spec into something smaller than their JSON, while
/// the spec loads (in parallel, piece by piece, so the apps' JSON never exists whole); `None`
/// when any app does not fit, and the spec is then parsed whole, without digesting.
pub type Digest<'d, D> = &'d (dyn Fn(Vec<Value>) -> Option<D> + Sync);

/// Reads and parses the spec at `path`, digesting the apps of a spec large enough to load in
/// pieces: the loaded value then holds `apps: []` and the digests hold the apps, piece by
/// piece in order. Every failure is a diagnostic; `Source` is returned whenever the file
/// could be read, so diagnostics can show it.
pub fn load<D: Send>(path: &Path, digest: Digest<'_, D>) -> Result<(Loaded, Option<Vec<D>>), LoadError> {
    parse_with(read(path)?, Some(digest))
}

/// The spec's text.
fn read(path: &Path) -> Result<Source, LoadError> {
    let name = path.display().to_string();
    let fail = |msg: String, help: &str| (None, vec![Diagnostic::error(msg).help(help)]);
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(
            format!("cannot read the spec `{name}`: {}", io_reason(&e)),
            "pass the path of a cluster spec, e.g. `cluster.yaml`; `gitopsc init` writes a starter",
        )
    })?;
    if meta.is_dir() {
        return Err(fail(
            format!("the spec `{name}` is a directory"),
            "pass the cluster spec file inside it, e.g. `cluster.yaml`",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
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
                    Diagnostic::error(format!(
                        "the spec `{name}` is not valid UTF-8 (byte {at}, line {line}, column {col})"
                    ))
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

/// Parses spec text. See [`load`].
pub fn parse(source: Source) -> Result<Loaded, LoadError> {
    parse_with(source, None::<Digest<'_, ()>>).map(|(loaded, _)| loaded)
}

/// Parses spec text, digesting the apps when it loads in pieces. See [`load`].
fn parse_with<D: Send>(
    source: Source,
    digest: Option<Digest<'_, D>>,
) -> Result<(Loaded, Option<Vec<D>>), LoadError> {
    // A byte-order mark is not content.
    let source = match source.text.strip_prefix('\u{feff}') {
        Some(rest) => Source::new(source.name.clone(), rest.to_string()),
        None => source,
    };
    let text = &source.text;
    if text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    }) {
        let d = Diagnostic::error(format!("the spec `{}` is empty", source.name))
            .help("`gitopsc init > cluster.yaml` writes a commented starter spec");
        return Err((Some(source), vec![d]));
    }
    // Three scans of the text, side by side.
    let (deep, (second, split)) = rayon::join(
        || too_deep(text),
        || rayon::join(|| second_document(text), || split_apps(text, MIN_SPLIT_ITEMS)),
    );
    if let Some(line) = deep {
        // No snippet: the offending line can be megabytes long.
        let d = Diagnostic::error(format!(
            "the spec `{}` is nested too deeply at line {line}",
            source.name
        ))
        .help(format!(
            "a cluster spec needs only a few levels of nesting; gitopsc reads at most {MAX_DEPTH}"
        ));
        return Err((Some(source), vec![d]));
    }
    if let Some(offset) = second {
        let d = Diagnostic::error("the spec holds more than one YAML document")
            .at(
                Some(Span::new(offset, offset + 3)),
                "a second document starts here",
            )
            .help("a spec is one document: remove this `---` and merge or drop what follows");
        return Err((Some(source), vec![d]));
    }
    let (built, digests) = match split.and_then(|split| build_split(&source, &split, digest)) {
        Some((built, digests)) => (Ok(built), digests),
        // Any trouble in a piece: the whole text again, for the diagnostics of one parse.
        None => (build(&source, text), None),
    };
    let Built { root, diags, .. } = match built {
        Ok(built) => built,
        Err(d) => return Err((Some(source), vec![d])),
    };
    let value = match root {
        Some(v @ Value::Object(_)) => v,
        _ => {
            let d = Diagnostic::error("the spec must be a YAML mapping")
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
    let spans = SpanIndex {
        tree: std::sync::OnceLock::new(),
        source: source.clone(),
    };
    Ok((Loaded { source, value, spans }, digests))
}

/// Deepest block nesting gitopsc reads: a line may start with at most this many indentation
/// and block-indicator characters (the YAML parser recurses per level).
const MAX_DEPTH: usize = 200;

/// The first line (1-based) nested deeper than [`MAX_DEPTH`] in block style.
fn too_deep(text: &str) -> Option<usize> {
    text.split('\n')
        .position(|line| {
            line.bytes()
                .take_while(|b| matches!(b, b' ' | b'-' | b'?' | b':'))
                .count()
                > MAX_DEPTH
        })
        .map(|n| n + 1)
}

/// The offset of a `---` line that starts a second document, if any.
fn second_document(text: &str) -> Option<usize> {
    let mut seen_content = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        let is_marker = bare == "---" || bare.starts_with("--- ") || bare == "...";
        if is_marker && seen_content && bare != "..." {
            return Some(offset);
        }
        if !is_marker
            && !bare.trim_start().is_empty()
            && !bare.trim_start().starts_with('#')
            && !bare.starts_with('%')
        {
            seen_content = true;
        }
        offset += line.len();
    }
    None
}

/// What parsing a text produced: its root value, the diagnostics that do not stop loading,
/// and the line of the top-level `apps` key.
struct Built {
    root: Option<Value>,
    diags: Vec<Diagnostic>,
    apps_line: Option<usize>,
}

/// Parses `text` (the spec's text or a piece of it) with yaml-rust2; the error is the one
/// that stops loading.
fn build(source: &Source, text: &str) -> Result<Built, Diagnostic> {
    let mut builder = Builder::new(source);
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        return Err(scan_error(
            source,
            e.marker().line(),
            e.marker().col() + 1,
            e.info(),
        ));
    }
    builder.finish()
}

/// Parses a run of apps of a split spec: with the block-YAML parser when it takes the text
/// (several times faster), else with yaml-rust2. Either reports the same to the builder.
fn build_apps(source: &Source, text: &str) -> Result<Built, Diagnostic> {
    let mut builder = Builder::new(source);
    match super::block_yaml::parse(text, &mut builder) {
        Some(()) => builder.finish(),
        None => build(source, text),
    }
}

/// Below this many apps a spec is parsed in one piece.
const MIN_SPLIT_ITEMS: usize = 64;

/// A spec cut for parsing in parallel: the items of its top-level `apps:` block sequence in
/// pieces of whole items, and the rest of the text with those lines left blank.
#[derive(Debug)]
struct Split<'t> {
    /// The text without the items (same line numbers).
    header: String,
    /// The 1-based line of the `apps:` key.
    apps_line: usize,
    /// The items, in order, a run of whole items each.
    pieces: Vec<&'t str>,
}

/// Cuts the text at the lines that start an item of the top-level `apps:` block sequence
/// (`<k spaces>- `). Any line it does not fully understand means `None`: parse whole. The
/// cut cannot change what the text means: a construct that spans a cut (a quoted or flow
/// scalar) leaves a piece that does not parse, and a plain or block scalar cannot hold a
/// line indented as little as the items.
fn split_apps(text: &str, min_items: usize) -> Option<Split<'_>> {
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').enumerate().map(|(n, line)| {
        let at = offset;
        offset += line.len();
        (n, at, line)
    });
    let is_apps_key = |line: &str| {
        line.strip_prefix("apps:").is_some_and(|rest| {
            let rest = rest.trim_end_matches(['\r', '\n']).trim_start_matches(' ');
            rest.is_empty() || rest.starts_with('#')
        })
    };
    let (apps_index, _, _) = lines.by_ref().find(|(_, _, line)| is_apps_key(line))?;
    let mut indent = None;
    let mut starts = Vec::new();
    let mut end = text.len();
    for (_, at, line) in lines {
        let bare = line.trim_end_matches(['\r', '\n']);
        let content = bare.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if content.starts_with('\t') {
            return None;
        }
        let depth = bare.len() - content.len();
        let item = content == "-" || content.starts_with("- ");
        let k = *indent.get_or_insert(depth);
        if starts.is_empty() && !item {
            return None;
        }
        if depth < k || (depth == k && !item && k == 0) {
            end = at;
            break;
        }
        if depth == k {
            if !item {
                return None;
            }
            starts.push(at);
        }
    }
    if starts.len() < min_items.max(1) {
        return None;
    }
    let begin = starts[0];
    let pieces_wanted = (rayon::current_num_threads() * 4).clamp(1, starts.len());
    let share = (end - begin).div_ceil(pieces_wanted);
    let mut pieces = Vec::with_capacity(pieces_wanted);
    let mut from = begin;
    for &at in &starts[1..] {
        if at - from >= share {
            pieces.push(&text[from..at]);
            from = at;
        }
    }
    pieces.push(&text[from..end]);
    let blank = text[begin..end].bytes().filter(|&b| b == b'\n').count();
    let mut header = String::with_capacity(begin + blank + text.len() - end);
    header.push_str(&text[..begin]);
    header.extend(std::iter::repeat_n('\n', blank));
    header.push_str(&text[end..]);
    Some(Split {
        header,
        apps_line: apps_index + 1,
        pieces,
    })
}

/// A parsed piece of a split spec: the header, a run of apps, or their digest.
enum Piece<D> {
    Header(Built),
    Apps(Vec<Value>),
    Digested(D),
}

/// Parses a split spec's pieces in parallel and joins them, each piece's apps digested when
/// `digest` is given (then the root holds `apps: []`); `None` when any piece has a problem,
/// does not fit or does not digest (then the text is parsed whole).
fn build_split<D: Send>(
    source: &Source,
    split: &Split,
    digest: Option<Digest<'_, D>>,
) -> Option<(Built, Option<Vec<D>>)> {
    use rayon::prelude::*;
    let texts: Vec<&str> = std::iter::once(split.header.as_str())
        .chain(split.pieces.iter().copied())
        .collect();
    let mut pieces = texts
        .into_par_iter()
        .enumerate()
        .map(|(i, t)| {
            let built = if i == 0 {
                build(source, t)
            } else {
                build_apps(source, t)
            };
            match (i, built.ok()?) {
                (0, header) => Some(Piece::Header(header)),
                (
                    _,
                    Built {
                        root: Some(Value::Array(items)),
                        diags,
                        ..
                    },
                ) if diags.is_empty() => Some(match digest {
                    Some(digest) => Piece::Digested(digest(items)?),
                    None => Piece::Apps(items),
                }),
                _ => None,
            }
        })
        .collect::<Option<Vec<_>>>()?
        .into_iter();
    let Some(Piece::Header(Built {
        root: Some(Value::Object(mut root)),
        diags,
        apps_line,
    })) = pieces.next()
    else {
        return None;
    };
    // The header's `apps` key must be the line the items were cut from, and hold nothing.
    if !diags.is_empty() || apps_line != Some(split.apps_line) || root.get("apps") != Some(&Value::Null) {
        return None;
    }
    let mut apps = Vec::new();
    let mut digests = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Apps(items) => apps.extend(items),
            Piece::Digested(d) => digests.push(d),
            Piece::Header(_) => return None,
        }
    }
    root.insert("apps".to_string(), Value::Array(apps));
    let built = Built {
        root: Some(Value::Object(root)),
        diags: Vec::new(),
        apps_line: Some(split.apps_line),
    };
    Some((built, digest.map(|_| digests)))
}

fn scan_error(source: &Source, line: usize, col: usize, info: &str) -> Diagnostic {
    let (msg, help) = if info.contains("recursion limit") {
        (
            "the spec is nested too deeply".to_string(),
            "a cluster spec needs only a few levels of nesting",
        )
    } else if info.contains("unknown anchor") {
        (
            "YAML aliases are not allowed in a spec".to_string(),
            "write the value out in full",
        )
    } else {
        (
            format!("invalid YAML: {info}"),
            "check the indentation and quoting around this point",
        )
    };
    let o = source.offset(line, col);
    Diagnostic::error(msg)
        .at(Some(Span::new(o, o + 1)), "here")
        .help(help)
}

/// A place in the text a parser reads: 1-based line, 0-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mark {
    pub line: usize,
    pub col: usize,
}

/// What a parser reports of the text, in order (anchors, aliases and tags are the builder's
/// to refuse, through yaml-rust2's events; [`super::block_yaml`] gives up on them).
pub(super) trait Sink {
    /// A scalar, `plain` when written without quotes.
    fn scalar(&mut self, text: String, plain: bool, at: Mark);
    /// The start of a mapping (`map`) or sequence.
    fn start(&mut self, map: bool, at: Mark);
    /// The end of the innermost open collection.
    fn end(&mut self);
}

/// A mapping or sequence being built, and for a mapping the key waiting for its value.
enum Frame {
    Map(Map<String, Value>, Option<(String, Mark)>),
    Seq(Vec<Value>),
}

/// Builds the spec's JSON straight from the parser's events: no intermediate tree.
struct Builder<'a> {
    source: &'a Source,
    stack: Vec<Frame>,
    root: Option<Value>,
    /// The line of the top-level `apps` key.
    apps_line: Option<usize>,
    /// The first error that stops loading (anchor, alias, tag, complex key, duplicate key).
    fatal: Option<Diagnostic>,
    /// Errors that do not (ambiguous scalars): all are reported.
    diags: Vec<Diagnostic>,
}

impl yaml_rust2::parser::MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: yaml_rust2::Event, mark: yaml_rust2::scanner::Marker) {
        use yaml_rust2::Event;
        if self.fatal.is_some() {
            return;
        }
        let at = Mark {
            line: mark.line(),
            col: mark.col(),
        };
        match ev {
            Event::Alias(_) => self.stop(
                Diagnostic::error("YAML anchors and aliases are not allowed in a spec")
                    .at(Some(self.span_at(at)), "alias")
                    .help("write the value out in full; aliases make specs hard to review and can expand without bound"),
            ),
            Event::Scalar(_, _, anchor, _) | Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                if anchor != 0 =>
            {
                self.stop(
                    Diagnostic::error("YAML anchors and aliases are not allowed in a spec")
                        .at(Some(self.span_at(at)), "anchor")
                        .help("write the value out in full; anchors make specs hard to review and can expand without bound"),
                )
            }
            Event::Scalar(_, _, _, Some(_)) | Event::SequenceStart(_, Some(_)) | Event::MappingStart(_, Some(_)) => self
                .stop(
                    Diagnostic::error("YAML tags are not allowed in a spec")
                        .at(Some(self.span_at(at)), "tag")
                        .help("remove the `!tag`; quote the value if it must be a string"),
                ),
            Event::Scalar(text, style, _, None) => {
                self.scalar(text, style == yaml_rust2::scanner::TScalarStyle::Plain, at)
            }
            Event::MappingStart(..) => self.start(true, at),
            Event::SequenceStart(..) => self.start(false, at),
            Event::SequenceEnd | Event::MappingEnd => self.end(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

impl Sink for Builder<'_> {
    fn scalar(&mut self, text: String, plain: bool, at: Mark) {
        if self.fatal.is_some() {
            return;
        }
        let top_level = self.stack.len() == 1;
        if let Some(Frame::Map(_, None)) = self.stack.last() {
            if plain && is_yaml11_bool(&text) {
                let span = self.span_at(at);
                self.diags.push(
                    Diagnostic::error(format!(
                        "the key `{text}` is ambiguous: YAML 1.1 tools read it as a boolean"
                    ))
                    .at(Some(span), "ambiguous key")
                    .help(format!("quote it: `\"{text}\":`")),
                );
            }
            if top_level && text == "apps" {
                self.apps_line = Some(at.line);
            }
            if let Some(Frame::Map(_, key)) = self.stack.last_mut() {
                *key = Some((text, at));
            }
            return;
        }
        let value = if plain {
            self.typed_scalar(text, at)
        } else {
            Value::String(text)
        };
        self.push(value);
    }

    fn start(&mut self, map: bool, at: Mark) {
        if self.fatal.is_some() {
            return;
        }
        if let Some(Frame::Map(_, None)) = self.stack.last() {
            let span = self.span_at(at);
            self.stop(Diagnostic::error("mapping keys must be plain strings").at(Some(span), "complex key"));
            return;
        }
        self.stack.push(if map {
            Frame::Map(Map::new(), None)
        } else {
            Frame::Seq(Vec::new())
        });
    }

    fn end(&mut self) {
        if self.fatal.is_some() {
            return;
        }
        match self.stack.pop() {
            Some(Frame::Map(map, _)) => self.push(Value::Object(map)),
            Some(Frame::Seq(items)) => self.push(Value::Array(items)),
            None => {}
        }
    }
}

impl<'a> Builder<'a> {
    fn new(source: &'a Source) -> Self {
        Builder {
            source,
            stack: Vec::new(),
            root: None,
            apps_line: None,
            fatal: None,
            diags: Vec::new(),
        }
    }

    /// What was built, or the error that stopped it.
    fn finish(mut self) -> Result<Built, Diagnostic> {
        match self.fatal.take() {
            Some(d) => Err(d),
            None => Ok(Built {
                root: self.root,
                diags: self.diags,
                apps_line: self.apps_line,
            }),
        }
    }

    /// The span of the scalar at `mark` (places are computed only for what goes wrong).
    fn span_at(&self, mark: Mark) -> Span {
        let at = self.source.offset(mark.line, mark.col + 1);
        Span::new(at, self.source.scalar_end(at))
    }

    fn stop(&mut self, d: Diagnostic) {
        self.fatal = Some(d);
    }

    /// Places a finished value: into the enclosing sequence or mapping, or as the root.
    fn push(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq(items)) => items.push(value),
            Some(Frame::Map(map, key)) => {
                let Some((key, mark)) = key.take() else { return };
                match map.entry(key) {
                    serde_json::map::Entry::Vacant(slot) => {
                        slot.insert(value);
                    }
                    serde_json::map::Entry::Occupied(taken) => {
                        let key = taken.key().clone();
                        let span = self.span_at(mark);
                        self.fatal = Some(
                            Diagnostic::error(format!("duplicate key `{key}`"))
                                .at(Some(span), "defined again here")
                                .help("a key may appear once per mapping; remove one of them"),
                        );
                    }
                }
            }
        }
    }

    /// Types a plain scalar by the YAML 1.2 core schema, refusing YAML 1.1 look-alikes.
    fn typed_scalar(&mut self, text: String, mark: Mark) -> Value {
        let s = text.as_str();
        match s {
            "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
            "true" | "True" | "TRUE" => return Value::Bool(true),
            "false" | "False" | "FALSE" => return Value::Bool(false),
            _ => {}
        }
        if is_yaml11_bool(s) {
            self.diags.push(
                Diagnostic::error(format!(
                    "`{s}` is ambiguous: YAML 1.1 tools read it as a boolean, YAML 1.2 tools as a string"
                ))
                .at(Some(self.span_at(mark)), "ambiguous scalar")
                .help(format!(
                    "write `true` or `false` for a boolean, or `\"{s}\"` for the string"
                )),
            );
            return Value::String(text);
        }
        let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
        if is_yaml11_only_number(digits)
            || digits.starts_with("0o")
            || digits.starts_with("0b")
            || (is_yaml12_float(s) && !s.contains('.'))
        {
            self.diags.push(
                Diagnostic::error(format!(
                    "`{s}` is ambiguous: YAML 1.1 and YAML 1.2 tools read it differently"
                ))
                .at(Some(self.span_at(mark)), "ambiguous scalar")
                .help(format!(
                    "quote it (`\"{s}\"`) for a string, or write a plain decimal number"
                )),
            );
            return Value::String(text);
        }
        if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
            self.diags.push(
                Diagnostic::error(format!(
                    "`{s}` is ambiguous: YAML 1.1 tools read it as an octal number, YAML 1.2 tools as decimal"
                ))
                .at(Some(self.span_at(mark)), "ambiguous number")
                .help(format!(
                    "quote it (`\"{s}\"`) for a string, or drop the leading zeros for a number"
                )),
            );
            return Value::String(text);
        }
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = s.parse::<i64>()
        {
            return Value::Number(i.into());
        }
        if let Some(hex) = s.strip_prefix("0x")
            && let Ok(i) = i64::from_str_radix(hex, 16)
        {
            return Value::Number(i.into());
        }
        if let Some(oct) = s.strip_prefix("0o")
            && let Ok(i) = i64::from_str_radix(oct, 8)
        {
            return Value::Number(i.into());
        }
        if is_yaml12_float(s)
            && let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64)
        {
            return Value::Number(n);
        }
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            || is_yaml12_float(s)
            || matches!(digits, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN")
        {
            self.diags.push(
                Diagnostic::error(format!("`{s}` cannot be represented as a number"))
                    .at(Some(self.span_at(mark)), "out of range")
                    .help(format!("quote it (`\"{s}\"`) if it is a string")),
            );
        }
        Value::String(text)
    }
}

/// Words YAML 1.1 reads as booleans and YAML 1.2 as strings.
fn is_yaml11_bool(s: &str) -> bool {
    matches!(
        s,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "y"
            | "Y"
            | "n"
            | "N"
    )
}

/// Integers only YAML 1.1 reads as numbers: with `_` separators or base-60 `:` groups.
fn is_yaml11_only_number(digits: &str) -> bool {
    let starts_digit = digits.bytes().next().is_some_and(|b| b.is_ascii_digit());
    starts_digit
        && (digits.contains('_') || digits.contains(':'))
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'_' | b':' | b'.'))
}

fn is_yaml12_float(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (!int.is_empty() || !frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
}

/// Escapes a mapping key for use in a JSON pointer.
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Loaded, Vec<Diagnostic>> {
        parse(Source::new("t.yaml", text)).map_err(|(_, d)| d)
    }

    #[test]
    fn types_follow_yaml_1_2_and_quotes_keep_strings() {
        let l = load_str("a: 1\nb: '1'\nc: 1.5\nd: true\ne: ~\nf: 1.16.0\ng: \"yes\"\n").unwrap();
        assert_eq!(
            l.value,
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

    /// The whole parse's root, and the split parse's when the text splits and every piece
    /// parses (it must then be the same).
    fn whole_and_split(text: &str) -> (Option<Value>, Option<Option<Value>>) {
        let source = Source::new("t.yaml", text);
        let whole = build(&source, text)
            .ok()
            .and_then(|b| b.diags.is_empty().then_some(b.root))
            .flatten();
        let split = split_apps(text, 1)
            .map(|s| build_split(&source, &s, None::<Digest<'_, ()>>).and_then(|(b, _)| b.root));
        if let Some(Some(root)) = &split {
            assert_eq!(Some(root), whole.as_ref(), "{text:?}");
        }
        (whole, split)
    }

    #[test]
    fn the_apps_of_a_spec_parse_in_pieces_to_the_same_value() {
        let mut many = String::from("# spec\napps: # the apps\n");
        for i in 0..40 {
            many.push_str(&format!(
                "  - name: app{i}\n    # a comment\n\n    notes: |\n      - not an item\n  - name: b{i}\n    list:\n    - x\n    - \"y\n      z\"\n"
            ));
        }
        many.push_str("# after\nflux: {version: \"2.9\"}\n");
        let crlf = many.replace('\n', "\r\n");
        let zero = "apps:\n- name: a\n- name: b\n  x: [1,\n    2]\nflux: {}\n";
        for text in [many.as_str(), crlf.as_str(), zero] {
            let (whole, split) = whole_and_split(text);
            assert!(whole.is_some());
            assert!(matches!(split, Some(Some(_))), "{text:?} did not split");
        }
        for root in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")).unwrap() {
            let text = std::fs::read_to_string(root.unwrap().path().join("cluster.yaml")).unwrap();
            assert!(matches!(whole_and_split(&text).1, Some(Some(_))));
        }
    }

    #[test]
    fn block_style_apps_parse_fast_to_the_value_of_the_whole_parse() {
        let mut text = String::from("apiVersion: gitopsc.io/v1alpha1\napps:\n");
        for i in 0..80 {
            text.push_str(&format!(
                "  - name: app{i}\n    # note\n    values:\n      a: \"q \\\"{i}\\\" ü\"\n      b: 'it''s'\n      list:\n      - x\n      - k: 1.5\n        e: {{}}\n      none: []\n      u: https://h.example.com/p?a=b#f\n\n"
            ));
        }
        text.push_str("flux:\n  version: \"2.9\"\n");
        let source = Source::new("t.yaml", text.as_str());
        let split = split_apps(&text, 1).unwrap();
        for piece in &split.pieces {
            let mut builder = Builder::new(&source);
            assert!(
                super::super::block_yaml::parse(piece, &mut builder).is_some(),
                "{piece}"
            );
        }
        let (whole, split) = whole_and_split(&text);
        assert!(whole.is_some());
        assert!(matches!(split, Some(Some(_))));
        // A mistake in a piece taken fast is reported from the whole parse, in place.
        let wrong = text.replacen("  - name: app50\n", "  - name: app50\n    flag: on\n", 1);
        let diags = load_str(&wrong).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        let line = wrong[..diags[0].span.unwrap().start].matches('\n').count() + 1;
        assert_eq!(wrong.lines().nth(line - 1), Some("    flag: on"));
    }

    #[test]
    fn a_cut_through_a_multi_line_construct_falls_back_to_the_whole_parse() {
        for text in [
            // `apps:` inside a quoted scalar, and the real key later.
            "x: \"foo\napps:\n  - name: a\n\"\napps:\n",
            "x: \"foo\napps:\n  - name: a\n\"\n\"apps\":\n",
            // A quoted or flow scalar running across items.
            "apps:\n  - name: \"a\n  - b\"\n",
            "apps:\n  - name: [a,\n  - b]\n",
            // Not a block sequence under `apps:`, or one indented with a tab.
            "apps: []\n",
            "apps:\n  x: 1\n",
            "apps:\n\t- a\n",
            "apps:\n  - a\n  x: 1\n",
        ] {
            let (_, split) = whole_and_split(text);
            assert!(!matches!(split, Some(Some(_))), "{text:?} split");
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
        let deep = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(
            load_str(&deep).unwrap_err()[0]
                .message
                .contains("nested too deeply")
        );
    }
}
