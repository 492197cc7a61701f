//! Loading: the spec file's bytes → a JSON value plus the source span of every node.
//!
//! YAML is parsed with `marked-yaml`, which refuses anchors, aliases and tags (a free
//! billion-laughs guard) and bounds nesting depth. Scalars are typed by the YAML 1.2 core
//! schema; plain scalars that a YAML 1.1 reader would type differently (`yes`, `on`, `0777`)
//! are refused, so the spec means the same to every tool that reads it.

use crate::diagnostic::Diagnostic;
use crate::source::{Source, Span};
use marked_yaml::{LoadError, LoaderOptions, Node};
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
    root: Node,
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
        let mut node = &self.root;
        let mut spans = NodeSpans {
            key: None,
            value: self.node_span(node),
        };
        for segment in pointer.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            let next = match node {
                Node::Mapping(map) => map.iter().find(|(k, _)| k.as_str() == segment).map(|(k, v)| {
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

/// Reads and parses the spec at `path`. Every failure is a diagnostic; `Source` is returned
/// whenever the file could be read, so diagnostics can show it.
pub fn load(path: &Path) -> Result<Loaded, (Option<Source>, Vec<Diagnostic>)> {
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
    parse(Source::new(name, text))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Parses spec text. See [`load`].
pub fn parse(source: Source) -> Result<Loaded, (Option<Source>, Vec<Diagnostic>)> {
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
    if let Some(line) = too_deep(&source.text) {
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
    if let Some(offset) = second_document(&source.text) {
        let d = Diagnostic::error("the spec holds more than one YAML document")
            .at(
                Some(Span::new(offset, offset + 3)),
                "a second document starts here",
            )
            .help("a spec is one document: remove this `---` and merge or drop what follows");
        return Err((Some(source), vec![d]));
    }
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let node = match marked_yaml::parse_yaml_with_options(0, &source.text, options) {
        Ok(node) => node,
        Err(e) => {
            let d = load_error(&source, &e);
            return Err((Some(source), vec![d]));
        }
    };
    let mut builder = Builder {
        source: &source,
        diags: Vec::new(),
    };
    let value = builder.convert(&node);
    let diags = builder.diags;
    if !diags.is_empty() {
        return Err((Some(source), diags));
    }
    let spans = SpanIndex {
        root: node,
        source: source.clone(),
    };
    Ok(Loaded { source, value, spans })
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

fn load_error(source: &Source, e: &LoadError) -> Diagnostic {
    let at = |m: &marked_yaml::Marker| {
        let o = source.offset(m.line(), m.column());
        Some(Span::new(o, source.scalar_end(o)))
    };
    match e {
        LoadError::TopLevelMustBeMapping(m) => Diagnostic::error("the spec must be a YAML mapping")
            .at(
                at(m),
                "expected `apiVersion: gitopsc.io/v1alpha1`, `kind: Cluster`, ...",
            )
            .help("`gitopsc init` prints a starter spec"),
        LoadError::TopLevelMustBeSequence(m) => Diagnostic::error("unexpected YAML structure").at(at(m), ""),
        LoadError::UnexpectedAnchor(m) => Diagnostic::error(
            "YAML anchors and aliases are not allowed in a spec",
        )
        .at(at(m), "anchor or alias")
        .help("write the value out in full; anchors make specs hard to review and can expand without bound"),
        LoadError::MappingKeyMustBeScalar(m) => {
            Diagnostic::error("mapping keys must be plain strings").at(at(m), "complex key")
        }
        LoadError::UnexpectedTag(m) => Diagnostic::error("YAML tags are not allowed in a spec")
            .at(at(m), "tag")
            .help("remove the `!tag`; quote the value if it must be a string"),
        LoadError::ScanError(m, err) => {
            let info = err.info();
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
            let o = source.offset(m.line(), m.column());
            Diagnostic::error(msg)
                .at(Some(Span::new(o, o + 1)), "here")
                .help(help)
        }
        LoadError::DuplicateKey(inner) => {
            let o = source.offset(
                inner.key.span().start().map_or(1, |m| m.line()),
                inner.key.span().start().map_or(1, |m| m.column()),
            );
            Diagnostic::error(format!("duplicate key `{}`", inner.key.as_str()))
                .at(
                    Some(Span::new(o, o + inner.key.as_str().len().max(1))),
                    "defined again here",
                )
                .help("a key may appear once per mapping; remove one of them")
        }
    }
}

struct Builder<'a> {
    source: &'a Source,
    diags: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn start(&self, span: &marked_yaml::Span) -> usize {
        span.start()
            .map_or(0, |m| self.source.offset(m.line(), m.column()))
    }

    fn convert(&mut self, node: &Node) -> Value {
        match node {
            Node::Scalar(s) if s.may_coerce() => {
                let start = self.start(s.span());
                let span = Span::new(start, self.source.scalar_end(start));
                self.typed_scalar(s.as_str(), span)
            }
            Node::Scalar(s) => Value::String(s.as_str().to_string()),
            Node::Sequence(seq) => Value::Array(seq.iter().map(|item| self.convert(item)).collect()),
            Node::Mapping(map) => {
                let mut out = Map::new();
                for (k, v) in map.iter() {
                    if k.may_coerce() && is_yaml11_bool(k.as_str()) {
                        let ks = self.start(k.span());
                        let kspan = Span::new(ks, self.source.scalar_end(ks));
                        self.diags.push(
                            Diagnostic::error(format!(
                                "the key `{}` is ambiguous: YAML 1.1 tools read it as a boolean",
                                k.as_str()
                            ))
                            .at(Some(kspan), "ambiguous key")
                            .help(format!("quote it: `\"{}\":`", k.as_str())),
                        );
                    }
                    out.insert(k.as_str().to_string(), self.convert(v));
                }
                Value::Object(out)
            }
        }
    }

    /// Types a plain scalar by the YAML 1.2 core schema, refusing YAML 1.1 look-alikes.
    fn typed_scalar(&mut self, s: &str, span: Span) -> Value {
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
                .at(Some(span), "ambiguous scalar")
                .help(format!(
                    "write `true` or `false` for a boolean, or `\"{s}\"` for the string"
                )),
            );
            return Value::String(s.to_string());
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
                .at(Some(span), "ambiguous scalar")
                .help(format!(
                    "quote it (`\"{s}\"`) for a string, or write a plain decimal number"
                )),
            );
            return Value::String(s.to_string());
        }
        if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
            self.diags.push(
                Diagnostic::error(format!(
                    "`{s}` is ambiguous: YAML 1.1 tools read it as an octal number, YAML 1.2 tools as decimal"
                ))
                .at(Some(span), "ambiguous number")
                .help(format!(
                    "quote it (`\"{s}\"`) for a string, or drop the leading zeros for a number"
                )),
            );
            return Value::String(s.to_string());
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
                    .at(Some(span), "out of range")
                    .help(format!("quote it (`\"{s}\"`) if it is a string")),
            );
        }
        Value::String(s.to_string())
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
