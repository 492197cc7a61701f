//! The spec's text and positions in it: byte spans, and their `line:col` form.

use std::sync::{Arc, OnceLock};

/// A loaded input file: its display name and its text. Clones share the text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as the user gave it, used in diagnostics.
    pub name: String,
    /// The whole text.
    pub text: Arc<String>,
    /// Where each line starts: computed the first time a position is asked for.
    line_starts: Arc<OnceLock<Vec<usize>>>,
    /// Whether each line is ASCII only: there a character column is a byte column, found
    /// without counting (a minified JSON spec is one long line, with many positions on it).
    ascii_lines: Arc<OnceLock<Vec<bool>>>,
}

/// A byte range in a [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }
}

impl Source {
    /// Wraps a file's text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: Arc::new(text.into()),
            line_starts: Arc::default(),
            ascii_lines: Arc::default(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(self.text.match_indices('\n').map(|(i, _)| i + 1));
            starts
        })
    }

    /// True when the 0-based line `line` is ASCII only.
    fn is_ascii_line(&self, line: usize) -> bool {
        let flags = self.ascii_lines.get_or_init(|| {
            let starts = self.line_starts();
            starts
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    let end = starts.get(i + 1).copied().unwrap_or(self.text.len());
                    self.text.as_bytes()[s..end].is_ascii()
                })
                .collect()
        });
        flags.get(line).copied().unwrap_or(false)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts().partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts()[line];
        let col = if self.is_ascii_line(line) {
            offset - start
        } else {
            self.text.get(start..offset).map_or(0, |t| t.chars().count())
        };
        (line + 1, col + 1)
    }

    /// Byte offset of a 1-based line and character column.
    pub fn offset(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts().get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let end = self.line_starts().get(line).copied().unwrap_or(self.text.len());
        let at = start + col.saturating_sub(1);
        if at < end && self.is_ascii_line(line.saturating_sub(1)) {
            return at;
        }
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(col.saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| start + i)
    }

    /// The whole lines around a span, `context` more on each side: their byte range and the
    /// 0-based number of the first.
    pub fn lines_around(&self, span: Span, context: usize) -> (std::ops::Range<usize>, usize) {
        let starts = self.line_starts();
        let line_of = |offset: usize| starts.partition_point(|&s| s <= offset.min(self.text.len())) - 1;
        let first = line_of(span.start).saturating_sub(context);
        let last = line_of(span.end) + context + 1;
        let end = starts.get(last).copied().unwrap_or(self.text.len());
        (starts[first]..end, first)
    }

    /// `name:line:col` of a span's start.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.start);
        format!("{}:{line}:{col}", self.name)
    }

    /// The end of the YAML scalar that starts at `start`: a quoted scalar up to its closing
    /// quote, a plain one up to a comment, a flow indicator or the end of the line.
    pub fn scalar_end(&self, start: usize) -> usize {
        let bytes = self.text.as_bytes();
        let Some(&first) = bytes.get(start) else {
            return start;
        };
        let mut i = start + 1;
        match first {
            b'"' => {
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => return i + 1,
                        _ => i += 1,
                    }
                }
                bytes.len()
            }
            b'\'' => {
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return i + 1;
                    }
                    i += 1;
                }
                bytes.len()
            }
            b'|' | b'>' => start + 1,
            _ => {
                let line_end = self.text[start..].find('\n').map_or(bytes.len(), |n| start + n);
                let mut end = start;
                let mut j = start;
                while j < line_end {
                    let b = bytes[j];
                    if b == b'#' && j > start && bytes[j - 1] == b' ' {
                        break;
                    }
                    if matches!(b, b',' | b']' | b'}')
                        || (b == b':' && bytes.get(j + 1).is_none_or(|n| *n == b' ' || *n == b'\n'))
                    {
                        break;
                    }
                    if b != b' ' {
                        end = j + 1;
                    }
                    j += 1;
                }
                end.max(start + 1).min(bytes.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let s = Source::new("x.yaml", "a: 1\nbé: \"q\\\"x\" # c\n");
        assert_eq!(s.line_col(0), (1, 1));
        let off = s.offset(2, 5);
        assert_eq!(&s.text[off..off + 1], "\"");
        assert_eq!(s.line_col(off), (2, 5));
        assert_eq!(&s.text[off..s.scalar_end(off)], "\"q\\\"x\"");
        assert_eq!(&s.text[3..s.scalar_end(3)], "1");
    }
}
