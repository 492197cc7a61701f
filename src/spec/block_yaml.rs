//! A fast parser for the plain block-style YAML that large specs are written in: block
//! mappings and sequences, one-line plain, single- and double-quoted scalars, `{}` and `[]`,
//! comments. It takes only what it fully understands and gives up (`None`) on anything
//! else — flow collections with content, block and multi-line scalars, anchors, aliases,
//! tags, complex or quoted keys, tabs, carriage returns, control characters and the Unicode
//! ones YAML readers disagree on, `\x`/`\u` escapes, document markers — and the caller then
//! parses that text with yaml-rust2. On what it takes it reports the same scalars,
//! collections and places, in the same order, as yaml-rust2 (the tests compare the two), so
//! the builder behind both sees no difference.

use super::load::{Mark, Sink};

/// Deepest nesting taken here; deeper text goes to yaml-rust2, which has its own limit.
const MAX_DEPTH: usize = 100;

/// A block collection's kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

/// An open block collection and the column of its entries.
struct Open {
    kind: Kind,
    indent: usize,
}

/// What the line before left open.
#[derive(Clone, Copy)]
enum After {
    /// Nothing yet (the first line).
    Start,
    /// A complete value of the entry at this column: a deeper line would continue it.
    Value(usize),
    /// A key at this column whose value is still to come.
    Key(usize),
    /// A sequence entry's `-` at this column whose value is still to come.
    Dash(usize),
}

/// Parses `text`, reporting to `sink`; `None` when the text holds anything this parser
/// does not take (the sink has then seen part of it and must be discarded).
pub(super) fn parse(text: &str, sink: &mut impl Sink) -> Option<()> {
    if !text.chars().all(|c| c == '\n' || is_quiet(c)) {
        return None;
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut after = After::Start;
    let mut line_no = 0;
    for line in text.split('\n') {
        line_no += 1;
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        let body = body.trim_end_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if indent == 0 && (body.starts_with("---") || body.starts_with("...") || body.starts_with('%')) {
            return None;
        }
        let entry = body == "-" || body.starts_with("- ");
        let at = Mark {
            line: line_no,
            col: indent,
        };
        // Places count characters, as yaml-rust2's do.
        let place = |byte: usize| Mark {
            line: line_no,
            col: if line.is_ascii() {
                byte
            } else {
                line[..byte].chars().count()
            },
        };
        // What the line before left open decides what this one is.
        let opened = match after {
            After::Start => true,
            After::Value(col) if indent > col => return None,
            After::Value(_) => false,
            After::Key(col) | After::Dash(col) => {
                let nested = indent > col || (matches!(after, After::Key(_)) && indent == col && entry);
                if !nested {
                    sink.scalar(String::new(), true, at);
                }
                nested
            }
        };
        if opened {
            let kind = if entry { Kind::Seq } else { Kind::Map };
            open(&mut stack, kind, indent, at, sink)?;
        } else {
            // Close what this line is not inside of; it must then continue an open collection.
            while let Some(top) = stack.last() {
                let done = top.indent > indent || (top.indent == indent && top.kind == Kind::Seq && !entry);
                if !done {
                    break;
                }
                stack.pop();
                sink.end();
            }
            let top = stack.last()?;
            if top.indent != indent || (top.kind == Kind::Seq) != entry {
                return None;
            }
        }
        after = if entry {
            let rest = &body[1..];
            let item = rest.trim_start_matches(' ');
            let col = indent + 1 + (rest.len() - item.len());
            if item.is_empty() || item.starts_with('#') {
                After::Dash(indent)
            } else if item == "-" || item.starts_with("- ") {
                return None; // `- - x`
            } else if let Some((key, rest)) = split_key(item) {
                open(&mut stack, Kind::Map, col, at, sink)?;
                entry_of(key, rest, col, &place, sink)?
            } else {
                value(item, place(col), sink)?;
                After::Value(indent)
            }
        } else {
            let (key, rest) = split_key(body)?;
            entry_of(key, rest, indent, &place, sink)?
        };
    }
    if let After::Key(_) | After::Dash(_) = after {
        sink.scalar(
            String::new(),
            true,
            Mark {
                line: line_no,
                col: 0,
            },
        );
    }
    for _ in stack.drain(..) {
        sink.end();
    }
    Some(())
}

/// Opens a collection whose entries sit at `indent`.
fn open(stack: &mut Vec<Open>, kind: Kind, indent: usize, at: Mark, sink: &mut impl Sink) -> Option<()> {
    if stack.len() >= MAX_DEPTH || stack.last().is_some_and(|top| top.indent > indent) {
        return None;
    }
    stack.push(Open { kind, indent });
    sink.start(kind == Kind::Map, at);
    Some(())
}

/// A mapping entry `key: rest` whose key starts at byte `col` of its line (`place` turns
/// bytes into places): reports the key and its value, if on this line.
fn entry_of(
    key: &str,
    rest: &str,
    col: usize,
    place: &impl Fn(usize) -> Mark,
    sink: &mut impl Sink,
) -> Option<After> {
    if !is_plain_key(key) {
        return None;
    }
    sink.scalar(key.to_string(), true, place(col));
    let item = rest.trim_start_matches(' ');
    if item.is_empty() || item.starts_with('#') {
        return Some(After::Key(col));
    }
    value(item, place(col + key.len() + 1 + (rest.len() - item.len())), sink)?;
    Some(After::Value(col))
}

/// Splits `key: value` (or `key:` at the end) at the first `:` followed by a space or the
/// end, before any comment; `None` when there is none, or the text starts with a quote.
fn split_key(text: &str) -> Option<(&str, &str)> {
    if text.starts_with(['"', '\'']) {
        return None;
    }
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b':' if matches!(bytes.get(i + 1), None | Some(b' ')) => {
                return Some((&text[..i], &text[i + 1..]));
            }
            b'#' if i > 0 && bytes[i - 1] == b' ' => return None,
            _ => {}
        }
    }
    None
}

/// A key written plain that both parsers read alike: no indicator first, no flow
/// characters, no space at the end.
fn is_plain_key(key: &str) -> bool {
    let Some(&first) = key.as_bytes().first() else {
        return false;
    };
    key.len() <= 1024
        && !is_indicator(first)
        && !key.ends_with(' ')
        && !key.bytes().any(|b| matches!(b, b'{' | b'}' | b'[' | b']' | b','))
}

/// Characters that cannot start a plain scalar here (`-` is decided by the caller).
fn is_indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

/// Reports the value `text` (the rest of a line, comment included) that starts at `at`.
fn value(text: &str, at: Mark, sink: &mut impl Sink) -> Option<()> {
    let bytes = text.as_bytes();
    let (scalar, plain, rest) = match bytes[0] {
        b'"' => {
            let (s, used) = double_quoted(text)?;
            (s, false, &text[used..])
        }
        b'\'' => {
            let (s, used) = single_quoted(text)?;
            (s, false, &text[used..])
        }
        b'{' | b'[' => {
            let map = bytes[0] == b'{';
            let close = if map { b'}' } else { b']' };
            // The closing bracket is ASCII: the rest starts on a character.
            if bytes.get(1) != Some(&close) || !is_end(&text[2..]) {
                return None;
            }
            sink.start(map, at);
            sink.end();
            return Some(());
        }
        b'-' if matches!(bytes.get(1), None | Some(b' ')) => return None,
        b if b != b'-' && is_indicator(b) => return None,
        _ => {
            let end = text.find(" #").unwrap_or(text.len());
            let s = text[..end].trim_end_matches(' ');
            if s.contains(": ") || s.ends_with(':') {
                return None;
            }
            (s.to_string(), true, "")
        }
    };
    if !is_end(rest) {
        return None;
    }
    sink.scalar(scalar, plain, at);
    Some(())
}

/// True when what follows a value is nothing, spaces, or a comment after a space.
fn is_end(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

/// Characters taken here: printable ones a YAML 1.2 reader never takes for a line break,
/// a byte-order mark or a control character (tabs and carriage returns are left to yaml-rust2).
fn is_quiet(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// A one-line double-quoted scalar at the start of `text`: its value and the bytes it
/// spans. `None` for an escape left to yaml-rust2 (`\x`, `\u`, `\U`, line breaks) or no
/// closing quote on the line.
fn double_quoted(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 1;
    loop {
        // `"` and `\` are ASCII: the text between them is whole characters.
        let run = bytes[i..].iter().position(|&b| b == b'"' || b == b'\\')?;
        out.push_str(&text[i..i + run]);
        i += run;
        if bytes[i] == b'"' {
            return Some((out, i + 1));
        }
        out.push(match *bytes.get(i + 1)? {
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\x0b',
            b'f' => '\x0c',
            b'r' => '\r',
            b'e' => '\x1b',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            _ => return None,
        });
        i += 2;
    }
}

/// A one-line single-quoted scalar at the start of `text`: its value and the bytes it spans.
fn single_quoted(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 1;
    loop {
        let run = bytes[i..].iter().position(|&b| b == b'\'')?;
        out.push_str(&text[i..i + run]);
        i += run;
        if bytes.get(i + 1) != Some(&b'\'') {
            return Some((out, i + 1));
        }
        out.push('\'');
        i += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::Event;

    /// Everything a parser reported, one line each. The builder places only what it may
    /// refuse: keys and non-empty scalars; the places of collections (refused only as
    /// keys, which this parser never reports) and of empty values are left out.
    #[derive(Default)]
    struct Record(Vec<String>);

    impl Sink for Record {
        fn scalar(&mut self, text: String, plain: bool, at: Mark) {
            let place = if text.is_empty() && plain {
                String::new()
            } else {
                format!(" at {}:{}", at.line, at.col)
            };
            self.0.push(format!("scalar {text:?} plain={plain}{place}"));
        }
        fn start(&mut self, map: bool, _: Mark) {
            self.0.push(format!("start map={map}"));
        }
        fn end(&mut self) {
            self.0.push("end".into());
        }
    }

    impl yaml_rust2::parser::MarkedEventReceiver for Record {
        fn on_event(&mut self, ev: Event, mark: yaml_rust2::scanner::Marker) {
            let at = Mark {
                line: mark.line(),
                col: mark.col(),
            };
            match ev {
                Event::Scalar(text, style, 0, None) => {
                    self.scalar(text, style == yaml_rust2::scanner::TScalarStyle::Plain, at)
                }
                Event::MappingStart(0, None) => self.start(true, at),
                Event::SequenceStart(0, None) => self.start(false, at),
                Event::MappingEnd | Event::SequenceEnd => self.end(),
                Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
                other => self.0.push(format!("other {other:?}")),
            }
        }
    }

    /// What yaml-rust2 reports of `text`, or `None` when it refuses it.
    fn reference(text: &str) -> Option<Vec<String>> {
        let mut record = Record::default();
        let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
        parser.load(&mut record, false).ok()?;
        Some(record.0)
    }

    /// Parses `text` both ways; when the fast parser takes it, yaml-rust2 must report the
    /// same. Returns whether the fast parser took it.
    fn agrees(text: &str) -> bool {
        let mut record = Record::default();
        if parse(text, &mut record).is_none() {
            return false;
        }
        assert_eq!(Some(record.0), reference(text), "{text:?}");
        true
    }

    #[test]
    fn block_yaml_is_taken_and_read_as_yaml_rust2_reads_it() {
        for text in [
            "a: 1\n",
            "a: 1\nb:\n  c: x\n  d: [] # none\n  e: {}\nf: \"q \\\"x\\\" \\n\\t\\\\ \\/ \\0\"\n",
            "  - name: app\n    group: team/x\n    values:\n      list:\n      - a\n      - b: 1\n        c: 'it''s'\n      empty:\n    last: ~\n  - name: b\n",
            "- \n  a: 1\n-\n- x # c\n-   k: v\n    k2: v2\n",
            "a:\n# c\n  b: c:d\n  url: https://x.example.com/a?b=c#frag\n  e: a #comment\n",
            "a: -1\nb: .5\nc: ---\nd: '#'\ne: \"\"\nf: ''\ng: x,y[0]{z}\nh: yes\n<<: m\n",
            "k:\n- a\n- b\nk2: v\n",
            "top:\n  - a\n  -\n    - not taken\n",
            "a: 1\n\n\n   \nb: 2",
            "a:\n  b:\n    c:\n",
        ] {
            agrees(text);
        }
        assert!(agrees("  - name: app\n    helm:\n      values: {}\n"));
        assert!(agrees("a: \"x\"\nb:\n- 1\n- 'y'\n"));
        assert!(agrees("ünï: \"cödé ☃\"\nb: ☃ x\n"));
        assert!(agrees("- ünï: cödé\n  k: 'é''s' # ☃\n  l: \"☃\\\"\" # é\n"));
    }

    #[test]
    fn what_it_does_not_take_it_leaves_to_yaml_rust2() {
        for text in [
            "a: {b: 1}\n",
            "a: [1, 2]\n",
            "a: |\n  x\n",
            "a: >\n  x\n",
            "a: b\n  c\n",
            "a:\n  b\n",
            "a: &x 1\n",
            "a: *x\n",
            "a: !t 1\n",
            "? a\n: b\n",
            "\"a\": 1\n",
            "a: \"b\n  c\"\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: \u{85}\n",
            "a: x\u{2028}y\n",
            "a: \u{feff}x\n",
            "a: \"\\x41\"\n",
            "- - a\n",
            "a: b: c\n",
            "a: b:\n",
            "---\na: 1\n",
            "a: 1\n b: 2\n",
            "a:\n    b: 1\n  c: 2\n",
            "a: \"x\"y\n",
            "a: -\n",
        ] {
            let mut record = Record::default();
            assert!(parse(text, &mut record).is_none(), "{text:?} was taken");
        }
    }

    /// How many random texts a test tries: `default`, or `GITOPSC_RANDOM_TEXTS` for a longer
    /// run (and other texts).
    fn rounds(default: usize) -> usize {
        std::env::var("GITOPSC_RANDOM_TEXTS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    }

    /// A xorshift generator of numbers below `n`.
    fn random(mut seed: u64) -> impl FnMut(usize) -> usize {
        move |n| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        }
    }

    /// Short texts of characters that mean something to YAML, in any order: the fast parser
    /// never panics, and whatever it takes, yaml-rust2 reads the same.
    #[test]
    fn random_characters_read_alike() {
        const ALPHABET: &[&str] = &[
            "-", ":", " ", " ", "#", "'", "\"", "{", "}", "[", "]", "\n", "\n", "a", "b", "1", "é", "\\",
            ",", "&", "*", "!", "|", "?", ".",
        ];
        let rounds = rounds(50_000);
        let mut next = random(0x2545_F491_4F6C_DD1D ^ rounds as u64);
        for _ in 0..rounds {
            let text: String = (0..next(40)).map(|_| ALPHABET[next(ALPHABET.len())]).collect();
            agrees(&text);
        }
    }

    /// Texts built from fragments, hostile ones among them, at random indentations: whatever
    /// the fast parser takes, yaml-rust2 reads the same.
    #[test]
    fn random_texts_read_alike() {
        let rounds = rounds(20_000);
        const KEYS: &[&str] = &[
            "a",
            "name",
            "b c",
            "app.kubernetes.io/name",
            "yes",
            "x:y",
            "-k",
            "<<",
            "1",
            "k#",
            "ü",
        ];
        const VALUES: &[&str] = &[
            "",
            "v",
            "1",
            "1.5",
            "-1",
            "~",
            "null",
            "yes",
            "a b",
            "a: b",
            "a #c",
            "a#c",
            "{}",
            "[]",
            "{a}",
            "{",
            "[",
            "{é",
            "[]x",
            "\"d\\n\\\"\"",
            "'s''q'",
            "'",
            "\"",
            "- x",
            "-x",
            "|",
            "&a x",
            "http://h:1/p",
            "x:",
            ":x",
            "?x",
            "@x",
            "%x",
            "[x]",
            "\"q\" #c",
            "'q'x",
            "ünï ☃",
            "\"é\\\\ü\"",
            "'☃''☃'",
        ];
        let mut next = random(0x9E37_79B9_7F4A_7C15 ^ rounds as u64);
        let mut taken = 0;
        for _ in 0..rounds {
            let mut text = String::new();
            for _ in 0..1 + next(8) {
                let indent = " ".repeat(if next(3) == 0 { next(9) } else { next(4) * 2 });
                let (key, value) = (KEYS[next(KEYS.len())], VALUES[next(VALUES.len())]);
                let line = match next(8) {
                    0 => format!("{indent}- {value}"),
                    1 => format!("{indent}- {key}: {value}"),
                    2 => format!("{indent}-   {key}: {value}"),
                    3 => format!("{indent}# note"),
                    4 => format!("{indent}-"),
                    5 => format!("{indent}{key}: # note"),
                    _ => format!("{indent}{key}: {value}"),
                };
                text.push_str(line.trim_end());
                text.push('\n');
            }
            if agrees(&text) {
                taken += 1;
            }
        }
        assert!(taken > rounds / 10, "only {taken} of {rounds} texts taken");
    }
}
