//! Diagnostics: errors and warnings as values with spans, and their one renderer.
//!
//! Every stage returns all the diagnostics it finds; only the CLI prints them.

pub mod codes;

pub use codes::Code;

use crate::source::{Source, Span};
use std::borrow::Cow;
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Stops the pipeline.
    Error,
    /// Reported; the pipeline goes on.
    Warning,
}

/// One problem found in the input, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The kind of problem: a stable code of the error index.
    pub code: Code,
    /// What is wrong, lowercase, names in backticks.
    pub message: String,
    /// Where, when it is in the spec.
    pub span: Option<Span>,
    /// A short note shown under the span.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error of the kind `code`.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
    }

    /// A new warning of the kind `code`.
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Points the diagnostic at a span, with a label under it.
    pub fn at(mut self, span: Option<Span>, label: impl Into<String>) -> Self {
        self.span = span;
        let label = label.into();
        self.label = (!label.is_empty()).then_some(label);
        self
    }

    /// Adds a suggestion.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// Sorts diagnostics by position (those without one last) for stable, readable output.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| (d.span.is_none(), d.span.map(|s| s.start), d.severity);
        key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
    });
}

/// The most diagnostics rendered; the rest are counted in one closing line. Past a few
/// hundred a reader learns nothing more, and each costs time and memory.
pub const MAX_RENDERED: usize = 200;

/// Renders diagnostics the way a user sees them: `error[GSC0201]: message`, then `--> file:line:col`
/// and the source line with the span underlined, then `help:`. The first [`MAX_RENDERED`]
/// are rendered, then `and N more errors`.
pub fn render(diags: &[Diagnostic], source: Option<&Source>, color: bool) -> String {
    let mut out = String::new();
    let mut columns = ColumnCursor::default();
    for d in diags.iter().take(MAX_RENDERED) {
        render_one(d, source, color, &mut columns, &mut out);
    }
    if let Some(rest) = diags.get(MAX_RENDERED..).filter(|r| !r.is_empty()) {
        let errors = rest.iter().filter(|d| d.is_error()).count();
        let warnings = rest.len() - errors;
        let count = |n: usize, word: &str| format!("{n} more {word}{}", if n == 1 { "" } else { "s" });
        let what = match (errors, warnings) {
            (e, 0) => count(e, "error"),
            (0, w) => count(w, "warning"),
            (e, w) => format!("{} and {}", count(e, "error"), count(w, "warning")),
        };
        out.push_str(&format!("and {what} (only the first {MAX_RENDERED} are shown)\n"));
    }
    out
}

/// A line longer than this (in bytes) is shown as a window around the span.
const LONG_LINE: usize = 240;

/// Bytes of a long line shown on each side of the span.
const WINDOW: usize = 60;

/// The 1-based character column of byte offsets, counted on from the last offset asked for
/// when it is earlier on the same line: diagnostics come sorted, so many on one long line
/// cost one pass over it, not one each.
#[derive(Default)]
struct ColumnCursor {
    /// (line start, offset, 1-based column of offset) of the last answer.
    last: Option<(usize, usize, usize)>,
}

impl ColumnCursor {
    fn column(&mut self, text: &str, line_start: usize, offset: usize) -> usize {
        let (from, col) = match self.last {
            Some((start, at, col)) if start == line_start && at <= offset => (at, col),
            _ => (line_start, 1),
        };
        let col = col + text.get(from..offset).map_or(0, |t| t.chars().count());
        self.last = Some((line_start, offset, col));
        col
    }
}

fn render_one(
    d: &Diagnostic,
    source: Option<&Source>,
    color: bool,
    columns: &mut ColumnCursor,
    out: &mut String,
) {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let (word, paint) = match d.severity {
        Severity::Error => ("error", "\x1b[1;31m"),
        Severity::Warning => ("warning", "\x1b[1;33m"),
    };
    let code = d.code;
    if color {
        out.push_str(&format!(
            "{paint}{word}[{code}]\x1b[0m\x1b[1m: {}\x1b[0m\n",
            d.message
        ));
    } else {
        out.push_str(&format!("{word}[{code}]: {}\n", d.message));
    }
    match (source, d.span) {
        (Some(src), Some(span)) => {
            let (window, span) = window_around(src, span, columns);
            let report = Snippet { d, window, span };
            let handler = GraphicalReportHandler::new_themed(theme)
                .with_context_lines(CONTEXT_LINES)
                .with_width(100)
                .without_syntax_highlighting();
            let mut snippet = String::new();
            if handler.render_report(&mut snippet, &report).is_ok() {
                // miette first repeats the message (wrapped when long); the header above has it.
                let body = snippet.lines().skip_while(|l| !l.contains('╭'));
                for line in body {
                    if !line.trim().is_empty() {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            if let Some(help) = &d.help {
                out.push_str(&format!("  help: {help}\n"));
            }
        }
    }
    out.push('\n');
}

/// Lines of source shown before and after a diagnostic's own.
const CONTEXT_LINES: usize = 1;

/// The part of the source shown for `span`, and the span as shown. miette reads the source
/// from its start for each snippet: it gets the lines around the span only, or a spec with
/// many diagnostics takes quadratic time. When one of them is long (a minified JSON spec is
/// one line), it gets the span's line alone, cut to a window around the span with `…` at each
/// cut: miette lays a line out whole, and fails on one past 65,535 columns.
fn window_around<'a>(src: &'a Source, span: Span, columns: &mut ColumnCursor) -> (Window<'a>, Span) {
    let (range, first_line) = src.lines_around(span, CONTEXT_LINES + 1);
    let text = &src.text[range.clone()];
    // A spec of several files: the name and line numbers are those of the span's file.
    let (name, file_line) = (src.name_at(span.start), src.first_line_at(span.start));
    if text.lines().all(|l| l.len() <= LONG_LINE) {
        let window = Window {
            name,
            text: Cow::Borrowed(text),
            start: range.start,
            first_line: first_line - file_line,
            column: None,
        };
        return (window, span);
    }
    let (line_range, line) = src.lines_around(Span::new(span.start, span.start), 0);
    let line_text = src.text[line_range.clone()].trim_end_matches(['\n', '\r']);
    let line_end = line_range.start + line_text.len();
    let start = floor_boundary(&src.text, span.start.clamp(line_range.start, line_end));
    let end = floor_boundary(&src.text, span.end.clamp(start, line_end).min(start + WINDOW));
    let mut from = floor_boundary(&src.text, start.saturating_sub(WINDOW).max(line_range.start));
    let mut to = (end + WINDOW).min(line_end);
    while !src.text.is_char_boundary(to) {
        to += 1;
    }
    const CUT: &str = "…";
    // The `…` before the window stands in the place of the bytes just before it.
    let cut_before = from >= line_range.start + CUT.len();
    if !cut_before {
        from = line_range.start;
    }
    let mut shown = String::with_capacity(to - from + 2 * CUT.len());
    if cut_before {
        shown.push_str(CUT);
    }
    shown.push_str(&src.text[from..to]);
    if to < line_end {
        shown.push_str(CUT);
    }
    let window = Window {
        name,
        text: Cow::Owned(shown),
        start: if cut_before { from - CUT.len() } else { from },
        first_line: line - file_line,
        column: Some(columns.column(&src.text, line_range.start, start) - 1),
    };
    (window, Span::new(start, end))
}

/// The char boundary at or before `i`.
fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Adapter presenting one diagnostic to miette's renderer.
struct Snippet<'a> {
    d: &'a Diagnostic,
    window: Window<'a>,
    span: Span,
}

/// Lines of a source (or a window cut from one long line), presented to miette at their place
/// in the whole: offsets and line numbers are those of the file.
struct Window<'a> {
    name: &'a str,
    text: Cow<'a, str>,
    /// Byte offset of `text` in the file.
    start: usize,
    /// 0-based line number of the first line of `text`.
    first_line: usize,
    /// For a window cut from a long line: the 0-based character column of the span in the
    /// file, which the header shows (miette would count from the window's start).
    column: Option<usize>,
}

impl miette::SourceCode for Window<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let local = miette::SourceSpan::new(span.offset().saturating_sub(self.start).into(), span.len());
        let text: &'b str = &self.text;
        let inner = text.read_span(&local, before, after)?;
        let at = inner.span().offset() + self.start;
        // The header's column comes from a read of the span alone.
        let column = match self.column {
            Some(column) if before == 0 && after == 0 => column,
            _ => inner.column(),
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            miette::SourceSpan::new(at.into(), inner.span().len()),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

impl fmt::Debug for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl fmt::Display for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Snippet<'_> {}

impl miette::Diagnostic for Snippet<'_> {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.window)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = miette::SourceSpan::new(self.span.start.into(), self.span.end - self.span.start);
        Some(Box::new(std::iter::once(miette::LabeledSpan::new_with_span(
            self.d.label.clone(),
            span,
        ))))
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_of_multibyte_characters_is_cut_on_character_boundaries() {
        let text = format!("a: [{}bad{}]\nb: 1\n", "é".repeat(40_000), "ü".repeat(40_000));
        let source = Source::new("wide.yaml", text.clone());
        let at = text.find("bad").unwrap();
        let spans = [
            Span::new(at, at + 3),
            Span::new(at + 1, text.len()),
            Span::new(0, 2),
            Span::new(at, at),
        ];
        let diags: Vec<Diagnostic> = spans
            .iter()
            .map(|&s| Diagnostic::error(Code::InvalidValue, "bad").at(Some(s), "here"))
            .collect();
        let out = render(&diags, Some(&source), false);
        assert!(out.contains("[wide.yaml:1:40005]"), "{out}");
        assert!(out.contains("[wide.yaml:1:40006]"), "{out}");
        assert!(out.contains("[wide.yaml:1:1]"), "{out}");
        assert!(
            out.contains("…éé") && out.contains("bad") && out.contains("üü…"),
            "{out}"
        );
        assert!(out.lines().all(|l| l.chars().count() < 300), "{out}");
    }

    #[test]
    fn past_the_cap_diagnostics_are_counted() {
        let mut diags: Vec<Diagnostic> = (0..MAX_RENDERED + 3)
            .map(|i| Diagnostic::error(Code::InvalidValue, format!("e{i}")))
            .collect();
        diags.push(Diagnostic::warning(Code::InvalidValue, "w"));
        let out = render(&diags, None, false);
        assert_eq!(
            out.lines().filter(|l| l.starts_with("error[GSC0206]: ")).count(),
            MAX_RENDERED
        );
        assert!(
            out.ends_with("and 3 more errors and 1 more warning (only the first 200 are shown)\n"),
            "{out}"
        );
    }

    #[test]
    fn a_snippet_deep_in_a_file_shows_its_lines_and_numbers() {
        let text: String = (1..=2000).map(|n| format!("key{n}: value{n}\n")).collect();
        let source = Source::new("big.yaml", text.clone());
        let at = text.find("key1500:").unwrap();
        let d = Diagnostic::error(Code::UnknownField, "bad key")
            .at(Some(Span::new(at, at + 7)), "here")
            .help("fix it");
        let out = render(&[d], Some(&source), false);
        assert!(out.contains("[big.yaml:1500:1]"), "{out}");
        for line in [
            "1499 │ key1499: value1499",
            "1500 │ key1500: value1500",
            "1501 │ key1501: value1501",
        ] {
            assert!(out.contains(line), "{line} in\n{out}");
        }
        assert!(!out.contains("1498 │") && !out.contains("1502 │"), "{out}");
        // At the very start and end of a file.
        let last = text.rfind("key2000").unwrap();
        for (span, line) in [
            (Span::new(0, 4), "1 │ key1: value1"),
            (Span::new(last, last + 7), "2000 │ key2000"),
        ] {
            let d = Diagnostic::error(Code::UnknownField, "bad key").at(Some(span), "here");
            let out = render(&[d], Some(&source), false);
            assert!(out.contains(line), "{line} in\n{out}");
        }
    }
}
