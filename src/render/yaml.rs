//! The one YAML emitter: every user value reaches a rendered manifest through here.
//!
//! Kubernetes decodes manifests with `sigs.k8s.io/yaml`, a YAML 1.1 reader, while most other
//! tools read YAML 1.2. A string is written plain only when neither reader could take it for
//! anything but that same string; otherwise it is double-quoted with every character that a
//! reader could fold, reject or reinterpret escaped (control characters, DEL, NEL, line and
//! paragraph separators, the byte-order mark).

use serde_json::Value;
use std::fmt::Write;

/// Writes `s` as a YAML scalar that every YAML 1.1 and 1.2 reader reads back as this string.
pub fn scalar(s: &str, out: &mut String) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        double_quoted(s, out);
    }
}

/// Returns `s` as a YAML scalar (see [`scalar`]).
pub fn scalar_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    scalar(s, &mut out);
    out
}

/// The longest key, as written (quotes and escapes included), that is written as a simple
/// `key: value`. YAML limits a simple key to 1024 characters and readers enforce it (PyYAML,
/// libyaml, go-yaml and so kustomize fail on a longer one); a longer key is written as an
/// explicit `? key` / `: value` pair, which has no limit. Bytes are counted, never fewer than
/// characters, so a key of multi-byte characters stays within the limit too.
const MAX_SIMPLE_KEY: usize = 1024;

/// Writes a value inline: scalars as scalars, maps and lists in flow style.
pub fn flow(value: &Value, out: &mut String) {
    flow_in(value, false, out);
}

fn flow_in(value: &Value, in_collection: bool, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => number(n, out),
        // Older YAML 1.1 readers end a plain scalar at any `:` inside a flow collection.
        Value::String(s) if in_collection && s.contains(':') => double_quoted(s, out),
        Value::String(s) => scalar(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow_in(item, true, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let mut key = String::new();
                flow_in(&Value::String(k.clone()), true, &mut key);
                if key.len() > MAX_SIMPLE_KEY {
                    out.push_str("? ");
                }
                out.push_str(&key);
                out.push_str(": ");
                flow_in(v, true, out);
            }
            out.push('}');
        }
    }
}

/// Writes a value in block style for a position already indented by `indent` spaces: the first
/// line carries no indentation of its own, every further line is indented by `indent`.
/// Scalars and empty collections come out inline.
pub fn block(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    newline(indent, out);
                }
                key(k, indent, out);
                nested(v, indent, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    newline(indent, out);
                }
                out.push('-');
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        out.push(' ');
                        block(item, indent + 2, out);
                    }
                    Value::Array(inner) if !inner.is_empty() => {
                        out.push(' ');
                        block(item, indent + 2, out);
                    }
                    _ => {
                        out.push(' ');
                        leaf(item, indent + 2, out);
                    }
                }
            }
        }
        _ => leaf(value, indent, out),
    }
}

/// Writes a mapping key and its `:`. A key longer than YAML's simple-key limit goes on a line
/// of its own after `? `, its `:` at the same indentation on the next line.
fn key(k: &str, indent: usize, out: &mut String) {
    let key = scalar_string(k);
    if key.len() > MAX_SIMPLE_KEY {
        out.push_str("? ");
        out.push_str(&key);
        newline(indent, out);
    } else {
        out.push_str(&key);
    }
    out.push(':');
}

/// Writes a value in block style, as [`block`] does at the start of a line, with a comment
/// after each scalar and empty collection: `note` of its JSON pointer. Strings are written
/// inline (never as `|` blocks), so each comment ends its value's line.
pub fn block_with_notes(value: &Value, note: &dyn Fn(&str) -> String, out: &mut String) {
    noted(value, "", 0, note, out);
}

fn noted(value: &Value, pointer: &str, indent: usize, note: &dyn Fn(&str) -> String, out: &mut String) {
    let nested = |v: &Value| match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    let child = |key: &str| format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    newline(indent, out);
                }
                key(k, indent, out);
                if nested(v) {
                    newline(indent + 2, out);
                    noted(v, &child(k), indent + 2, note, out);
                } else {
                    out.push(' ');
                    noted(v, &child(k), indent + 2, note, out);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    newline(indent, out);
                }
                out.push_str("- ");
                noted(item, &child(&i.to_string()), indent + 2, note, out);
            }
        }
        _ => {
            flow(value, out);
            out.push_str("  # ");
            // A comment ends at a line break: nothing in it may start another line.
            for c in note(pointer).chars() {
                if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
                    out.extend(c.escape_unicode());
                } else {
                    out.push(c);
                }
            }
        }
    }
}

/// Writes the value of a mapping entry whose key (and colon) is already written.
fn nested(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            newline(indent + 2, out);
            block(value, indent + 2, out);
        }
        // Sequences inside mappings are indented by two, the style kubectl and Flux print.
        Value::Array(items) if !items.is_empty() => {
            newline(indent + 2, out);
            block(value, indent + 2, out);
        }
        _ => {
            out.push(' ');
            leaf(value, indent + 2, out);
        }
    }
}

/// Writes a scalar or an empty collection; multi-line strings become literal block scalars
/// when that form reads back exactly.
fn leaf(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::String(s) if literal_block_safe(s) => literal_block(s, indent, out),
        _ => flow(value, out),
    }
}

fn newline(indent: usize, out: &mut String) {
    out.push('\n');
    for _ in 0..indent {
        out.push(' ');
    }
}

fn number(n: &serde_json::Number, out: &mut String) {
    if n.is_f64() {
        let text = n.to_string();
        // YAML 1.1 floats need a dot and a signed exponent: `1e20` would read back as a string.
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m.to_string(), Some(e.to_string())),
            None => (text.clone(), None),
        };
        out.push_str(&mantissa);
        if !mantissa.contains('.') {
            out.push_str(".0");
        }
        if let Some(e) = exponent {
            out.push('e');
            if !e.starts_with(['+', '-']) {
                out.push('+');
            }
            out.push_str(&e);
        }
    } else {
        let _ = write!(out, "{n}");
    }
}

/// A multi-line string is written as a `|` block when its lines are plain printable text.
fn literal_block_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && !s.ends_with("\n\n")
        && s.chars().all(|c| c == '\n' || (is_printable(c) && c != '\t'))
        // A line of only spaces before the end would be folded into indentation.
        && s.split('\n').all(|line| !line.ends_with(' '))
}

fn literal_block(s: &str, indent: usize, out: &mut String) {
    let (body, chomp) = match s.strip_suffix('\n') {
        Some(body) => (body, ""),
        None => (s, "-"),
    };
    out.push('|');
    out.push_str(chomp);
    for line in body.split('\n') {
        if line.is_empty() {
            out.push('\n');
        } else {
            newline(indent, out);
            out.push_str(line);
        }
    }
}

/// Characters a YAML reader takes as printable and never folds or rejects.
fn is_printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

fn double_quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xFF => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
}

/// True when `s` can be written as a plain scalar that YAML 1.1 and 1.2 both read as this
/// exact string. Deliberately conservative: anything doubtful is quoted.
pub fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    // Plain scalars here are restricted to a quiet ASCII alphabet: no flow indicators, no
    // comment or anchor characters, no quotes, no spaces at the ends.
    if !bytes.iter().all(|&b| QUIET[usize::from(b)]) {
        return false;
    }
    if !(first.is_ascii_alphanumeric() || first == b'/' || first == b'_' || first == b'.') {
        return false;
    }
    if s.ends_with([' ', ':']) || (bytes.contains(&b' ') && (s.contains(": ") || s.contains(" #"))) {
        return false;
    }
    !looks_typed(s)
}

/// The bytes a plain scalar may hold (see [`is_plain_safe`]), as a table: the emitter asks
/// for every string it writes.
const QUIET: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"-_./:@+=~%^$ ()";
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
};

/// True when a YAML 1.1 or 1.2 reader could resolve the plain scalar `s` to a non-string:
/// null, boolean, integer (any base, with `_`, sexagesimal), float, timestamp, merge or value key.
fn looks_typed(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true",
        "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "<<", "=", ".inf",
        ".Inf", ".INF", ".nan", ".NaN", ".NAN",
    ];
    if s.len() <= 5 && WORDS.contains(&s) {
        return true;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let first = body.as_bytes().first().copied().unwrap_or(b'x');
    // Everything numeric starts with a digit or a dot followed by a digit.
    let numeric_start =
        first.is_ascii_digit() || (first == b'.' && body.as_bytes().get(1).is_some_and(u8::is_ascii_digit));
    if !numeric_start {
        return false;
    }
    // Numbers, floats, sexagesimals and timestamps use only this alphabet (plus x/o/b prefixes
    // and hex digits); a digit-led string made only of it is treated as typed.
    body.bytes()
        .all(|b| b.is_ascii_digit() || b"._:+-eExXoObBaAcCdDfFtTzZ ".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notes_follow_every_value_and_the_text_reads_back() {
        let value = json!({
            "name": "web",
            "helm": {"version": "1.2", "values": {"a/b": "x\ny", "list": [1, {"k": "yes"}], "empty": {}}},
            "tags": []
        });
        let mut out = String::new();
        block_with_notes(&value, &|p| format!("at {p}\nnext"), &mut out);
        let back: Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(back, value, "{out}");
        assert!(
            out.contains("version: \"1.2\"  # at /helm/version\\u{a}next\n"),
            "{out}"
        );
        assert!(
            out.contains("a/b: \"x\\ny\"  # at /helm/values/a~1b\\u{a}next"),
            "{out}"
        );
        assert!(out.contains("- k: \"yes\"  # at /helm/values/list/1/k"), "{out}");
        assert_eq!(out.lines().count(), 10, "{out}");
    }

    #[test]
    fn typed_lookalikes_are_quoted() {
        for s in [
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "Y",
            "N",
            "true",
            "null",
            "~",
            "",
            "1_000",
            "1:20",
            "0777",
            "0o17",
            "0x1F",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "=",
            "<<",
            "1e3",
            "1.5",
            ".5",
            "-1",
            "+1",
            ".inf",
            "-.inf",
            ".nan",
            "1.16.0",
            "12",
            "0b101",
        ] {
            assert!(!is_plain_safe(s), "{s:?} must be quoted");
        }
    }

    #[test]
    fn ordinary_words_stay_plain() {
        for s in [
            "harbor",
            "30m",
            "1h30m",
            "flux-system",
            "https://helm.goharbor.io",
            "./kubernetes/apps",
            "GitRepository",
            "v1.2.3",
            "app.kubernetes.io/name",
            "rook-ceph-block",
        ] {
            assert!(is_plain_safe(s), "{s:?} should stay plain");
        }
    }

    #[test]
    fn hostile_strings_are_escaped() {
        assert_eq!(scalar_string("a\u{85}b"), "\"a\\x85b\"");
        assert_eq!(scalar_string("a\u{7F}"), "\"a\\x7F\"");
        assert_eq!(scalar_string("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(scalar_string("{{ .x }}"), "\"{{ .x }}\"");
        assert_eq!(scalar_string("a: b"), "\"a: b\"");
        assert_eq!(scalar_string("\u{2028}"), "\"\\u2028\"");
    }

    #[test]
    fn block_layout() {
        let v = json!({"a": {"b": [1, {"c": "yes", "d": []}], "e": {}}, "f": "x\ny\n"});
        let mut out = String::new();
        block(&v, 2, &mut out);
        assert_eq!(
            out,
            "a:\n    b:\n      - 1\n      - c: \"yes\"\n        d: []\n    e: {}\n  f: |\n    x\n    y"
        );
    }

    #[test]
    fn keys_over_the_simple_key_limit_are_explicit() {
        let short = "k".repeat(1024);
        let long = "k".repeat(1025);
        let v = json!({ short.clone(): 1, long.clone(): {"a": [1]} });
        let mut out = String::new();
        block(&v, 2, &mut out);
        assert_eq!(out, format!("{short}: 1\n  ? {long}\n  :\n    a:\n      - 1"));
        let mut out = String::new();
        flow(&json!({ long.clone(): 1 }), &mut out);
        assert_eq!(out, format!("{{? {long}: 1}}"));
    }

    #[test]
    fn floats_read_back_as_floats_in_yaml_1_1() {
        let mut out = String::new();
        flow(&json!(1e20), &mut out);
        assert_eq!(out, "1.0e+20");
    }
}
