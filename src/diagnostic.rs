//! Diagnostics: errors and warnings as values with spans, and their one renderer.
//!
//! Every stage returns all the diagnostics it finds; only the CLI prints them.

use crate::source::{Source, Span};
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
    /// A new error.
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
    }

    /// A new warning.
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
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

/// Renders diagnostics the way a user sees them: `error: message`, then `--> file:line:col`
/// and the source line with the span underlined, then `help:`.
pub fn render(diags: &[Diagnostic], source: Option<&Source>, color: bool) -> String {
    let mut out = String::new();
    for d in diags {
        render_one(d, source, color, &mut out);
    }
    out
}

fn render_one(d: &Diagnostic, source: Option<&Source>, color: bool, out: &mut String) {
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
    if color {
        out.push_str(&format!("{paint}{word}\x1b[0m\x1b[1m: {}\x1b[0m\n", d.message));
    } else {
        out.push_str(&format!("{word}: {}\n", d.message));
    }
    match (source, d.span) {
        (Some(src), Some(span)) => {
            // miette reads the source from its start for each snippet: it gets the lines
            // around the span only, or a spec with many diagnostics takes quadratic time.
            let (range, first_line) = src.lines_around(span, CONTEXT_LINES + 1);
            let report = Snippet {
                d,
                window: Window {
                    name: &src.name,
                    text: &src.text[range.clone()],
                    start: range.start,
                    first_line,
                },
                span,
            };
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

/// Adapter presenting one diagnostic to miette's renderer.
struct Snippet<'a> {
    d: &'a Diagnostic,
    window: Window<'a>,
    span: Span,
}

/// Whole lines of a source, presented to miette at their place in the whole: offsets and
/// line numbers are those of the file.
struct Window<'a> {
    name: &'a str,
    text: &'a str,
    /// Byte offset of `text` in the file.
    start: usize,
    /// 0-based line number of the first line of `text`.
    first_line: usize,
}

impl miette::SourceCode for Window<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let local = miette::SourceSpan::new(span.offset().saturating_sub(self.start).into(), span.len());
        let inner = self.text.read_span(&local, before, after)?;
        let at = inner.span().offset() + self.start;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            miette::SourceSpan::new(at.into(), inner.span().len()),
            inner.line() + self.first_line,
            inner.column(),
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
    fn a_snippet_deep_in_a_file_shows_its_lines_and_numbers() {
        let text: String = (1..=2000).map(|n| format!("key{n}: value{n}\n")).collect();
        let source = Source::new("big.yaml", text.clone());
        let at = text.find("key1500:").unwrap();
        let d = Diagnostic::error("bad key")
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
            let d = Diagnostic::error("bad key").at(Some(span), "here");
            let out = render(&[d], Some(&source), false);
            assert!(out.contains(line), "{line} in\n{out}");
        }
    }
}
