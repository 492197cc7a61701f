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
            let report = Snippet {
                d,
                named: miette::NamedSource::new(&src.name, src.text.to_string()),
                span,
            };
            let handler = GraphicalReportHandler::new_themed(theme)
                .with_context_lines(1)
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

/// Adapter presenting one diagnostic to miette's renderer.
struct Snippet<'a> {
    d: &'a Diagnostic,
    named: miette::NamedSource<String>,
    span: Span,
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
        Some(&self.named)
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
