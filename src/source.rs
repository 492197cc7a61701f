//! The spec's text and positions in it: byte spans, and their `line:col` form.

use std::sync::{Arc, OnceLock};

/// A loaded input file: its display name and its text. Clones share the text.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The path as the user gave it, used in diagnostics.
    pub name: String,
    /// The whole text.
    pub text: Arc<String>,
    /// Where each line starts: computed the first time a position is asked for.
    line_starts: Arc<OnceLock<Vec<usize>>>,
    /// Whether each line is ASCII only: there a character column is a byte column, found
    /// without counting (a minified JSON spec is one long line, with many positions on it).
    /// Empty when the whole text is ASCII.
    ascii_lines: Arc<OnceLock<Vec<bool>>>,
    /// For a spec of several files laid end to end in `text`: where each starts, and its
    /// name; empty for one file.
    files: Arc<Vec<(usize, String)>>,
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
            files: Arc::default(),
        }
    }

    /// The files `files` laid end to end (each from the start of a line) as one source named
    /// `name`; a position in it is shown as the place in its file. Returns where each file
    /// starts.
    /// Each file's text is freed once copied (when nothing else holds it): all of them are
    /// never held twice.
    pub fn composite(name: impl Into<String>, files: Vec<Source>) -> (Source, Vec<usize>) {
        let read = files.into_iter().map(|f| (f.name.clone(), Ok(f))).collect();
        let (sparse, starts) = Sparse::of(name, read);
        (sparse.source, starts)
    }

    /// The file that holds `offset`: its name, and the range of the text it covers.
    fn file_at(&self, offset: usize) -> (&str, std::ops::Range<usize>) {
        let i = self.files.partition_point(|(start, _)| *start <= offset);
        match i.checked_sub(1).and_then(|i| self.files.get(i).map(|f| (i, f))) {
            None => (&self.name, 0..self.text.len()),
            Some((i, (start, name))) => {
                let end = self.files.get(i + 1).map_or(self.text.len(), |(next, _)| *next);
                (name, *start..end)
            }
        }
    }

    /// Where each file starts in the text, in order: `[0]` for one file.
    pub fn file_starts(&self) -> Vec<usize> {
        if self.files.is_empty() {
            return vec![0];
        }
        self.files.iter().map(|(start, _)| *start).collect()
    }

    /// The name of the file that holds `offset`.
    pub fn name_at(&self, offset: usize) -> &str {
        self.file_at(offset).0
    }

    /// The 0-based line (of the whole text) where the file that holds `offset` starts.
    pub fn first_line_at(&self, offset: usize) -> usize {
        let start = self.file_at(offset).1.start;
        self.line_starts().partition_point(|&s| s <= start) - 1
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
            // Most specs are ASCII throughout: then no line is looked at (empty flags).
            if self.text.is_ascii() {
                return Vec::new();
            }
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
        if flags.is_empty() {
            return line < self.line_starts().len();
        }
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

    /// The whole lines around a span, `context` more on each side (within its file): their
    /// byte range and the 0-based number of the first.
    pub fn lines_around(&self, span: Span, context: usize) -> (std::ops::Range<usize>, usize) {
        let starts = self.line_starts();
        let line_of = |offset: usize| starts.partition_point(|&s| s <= offset.min(self.text.len())) - 1;
        let file = self.file_at(span.start).1;
        let first = line_of(span.start)
            .saturating_sub(context)
            .max(line_of(file.start));
        let last = line_of(span.end) + context + 1;
        let end = starts.get(last).copied().unwrap_or(self.text.len()).min(file.end);
        (starts[first]..end.max(starts[first]), first)
    }

    /// `name:line:col` of a span's start, in the file that holds it.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.start);
        let line = line - self.first_line_at(span.start);
        format!("{}:{line}:{col}", self.name_at(span.start))
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

/// The text of several files as [`Source::composite`] lays them out, of which only some
/// were read: those alone, laid end to end the same way, each knowing where it starts in the
/// whole. A span of the whole text within a file read is placed in it ([`Sparse::place`]) at
/// the same line and column of the same file; the files not read cost nothing.
#[derive(Debug, Clone)]
pub struct Sparse {
    /// The files read, laid end to end.
    pub source: Source,
    /// For each file read: where it starts in the whole text and in `source`, and its length.
    places: Vec<(usize, usize, usize)>,
    /// The length of the whole text.
    whole_len: usize,
}

impl Sparse {
    /// A text read whole.
    pub fn whole(source: Source) -> Self {
        let len = source.text.len();
        Sparse {
            source,
            places: vec![(0, 0, len)],
            whole_len: len,
        }
    }

    /// `files`, each read or the length it has in the whole text, as the whole text lays them
    /// out in a source named `name`; with where each file starts in the whole text.
    pub fn of(name: impl Into<String>, files: Vec<(String, Result<Source, usize>)>) -> (Sparse, Vec<usize>) {
        let len = files
            .iter()
            .filter_map(|(_, f)| f.as_ref().ok())
            .map(|s| s.text.len() + 1)
            .sum();
        let mut text = String::with_capacity(len);
        let mut starts = Vec::with_capacity(files.len());
        let mut named = Vec::with_capacity(files.len());
        let mut places = Vec::new();
        // Where the whole text is, and whether it is empty or ends with a line break.
        let (mut at, mut empty, mut broken) = (0, true, false);
        for (file, read) in files {
            if !empty && !broken {
                at += 1;
                broken = true;
            }
            starts.push(at);
            match read {
                Ok(source) => {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    places.push((at, text.len(), source.text.len()));
                    named.push((text.len(), file));
                    text.push_str(&source.text);
                    at += source.text.len();
                    if !source.text.is_empty() {
                        (empty, broken) = (false, source.text.ends_with('\n'));
                    }
                }
                Err(0) => {}
                Err(blank) => {
                    at += blank;
                    (empty, broken) = (false, true);
                }
            }
        }
        let mut source = Source::new(name, text);
        source.files = Arc::new(named);
        let sparse = Sparse {
            source,
            places,
            whole_len: at,
        };
        (sparse, starts)
    }

    /// `d`, whose span is in the whole text, with its span placed in [`Sparse::source`] to be
    /// shown there; `None` when the span lies in no file read (of a text not read whole).
    pub fn show(&self, mut d: crate::diagnostic::Diagnostic) -> Option<crate::diagnostic::Diagnostic> {
        if let Some(span) = d.span {
            d.span = Some(self.place(span)?);
        }
        Some(d)
    }

    /// The length of the whole text.
    pub fn whole_len(&self) -> usize {
        self.whole_len
    }

    /// The numbers of the files that hold an end of one of `spans`, in a whole text whose
    /// files start at `starts`.
    pub fn files_holding(starts: &[usize], spans: &[Span]) -> std::collections::BTreeSet<usize> {
        spans
            .iter()
            .flat_map(|s| [s.start, s.end.max(s.start + 1) - 1])
            .map(|offset| starts.partition_point(|&s| s <= offset).saturating_sub(1))
            .collect()
    }

    /// Where `span` of the whole text is in [`Sparse::source`]: `None` unless it lies within
    /// one file read.
    pub fn place(&self, span: Span) -> Option<Span> {
        let i = self.places.partition_point(|&(start, _, _)| start <= span.start);
        let &(whole, here, len) = self.places.get(i.checked_sub(1)?)?;
        (span.end <= whole + len).then(|| Span::new(here + span.start - whole, here + span.end - whole))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_not_read_keep_every_place_of_the_files_read() {
        let files = [
            Source::new("a.yaml", "a: 1\nb: 2"),
            Source::new("b.yaml", "é: 1\n\nc: 3\n"),
            Source::new("e.yaml", ""),
            Source::new("c.yaml", "d: 4"),
            Source::new("d.yaml", "f: 5\n"),
        ];
        let (whole, starts) = Source::composite("a.yaml", files.to_vec());
        for read in [[1, 3], [0, 4], [3, 4]] {
            let part = |i: usize| {
                let len = starts.get(i + 1).unwrap_or(&whole.text.len()) - starts[i];
                let text = if read.contains(&i) {
                    Ok(files[i].clone())
                } else {
                    Err(len)
                };
                (files[i].name.clone(), text)
            };
            let (sparse, sparse_starts) = Sparse::of("a.yaml", (0..5).map(part).collect());
            assert_eq!(
                (sparse_starts, sparse.whole_len()),
                (starts.clone(), whole.text.len())
            );
            for &i in &read {
                let end = starts[i] + files[i].text.len();
                for offset in starts[i]..=end {
                    let span = Span::new(offset, end);
                    let placed = sparse.place(span).unwrap();
                    assert_eq!(
                        sparse.source.location(placed),
                        whole.location(span),
                        "{read:?} {offset}"
                    );
                    let in_file = |s: &Source, at: usize| {
                        let (line, col) = s.line_col(at);
                        (line - s.first_line_at(at), col)
                    };
                    assert_eq!(
                        in_file(&sparse.source, placed.start),
                        in_file(&whole, offset),
                        "{read:?} {offset}"
                    );
                    assert_eq!(sparse.source.name_at(placed.start), whole.name_at(offset));
                }
            }
            let unread = (0..5)
                .find(|i| !read.contains(i) && !files[*i].text.is_empty())
                .unwrap();
            assert_eq!(sparse.place(Span::new(starts[unread], starts[unread] + 1)), None);
        }
    }

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

    #[test]
    fn a_composite_shows_each_place_in_its_own_file() {
        let (s, starts) = Source::composite(
            "root.yaml",
            vec![
                Source::new("root.yaml", "a: 1\nb: 2"),
                Source::new("part.yaml", "c: 3\nd: 4\n"),
            ],
        );
        assert_eq!(starts, [0, 10]);
        assert_eq!(s.location(Span::new(5, 6)), "root.yaml:2:1");
        assert_eq!(s.location(Span::new(15, 16)), "part.yaml:2:1");
        assert_eq!(&s.text[15..16], "d");
        assert_eq!(s.first_line_at(15), 2);
        // The lines around a span stop at its file's ends.
        let (range, first) = s.lines_around(Span::new(10, 11), 3);
        assert_eq!((&s.text[range], first), ("c: 3\nd: 4\n", 2));
        let (range, _) = s.lines_around(Span::new(5, 6), 3);
        assert_eq!(&s.text[range], "a: 1\nb: 2\n");
        assert_eq!(Source::new("x", "y").location(Span::new(0, 1)), "x:1:1");
    }
}
