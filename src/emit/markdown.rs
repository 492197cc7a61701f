//! `diff --format markdown`: what a change does, as GitHub-flavoured Markdown for a pull
//! request comment — the objects, the loud sections, and a collapsible unified diff per file,
//! kept under the size a comment may have.

use super::report::{self, Paint};
use super::review::Review;
use super::{ChangeKind, Comparison, Tree};
use std::fmt::Write;

/// GitHub refuses comments over 65 536 characters; the rest of the budget is the frame.
const BUDGET: usize = 60_000;

/// The marker a CI job finds its earlier comment by, to update it instead of adding one.
pub const MARKER: &str = "<!-- gitopsc diff -->";

/// The comment for `cmp`: `title` names what was compared (e.g. the spec's path).
pub fn comment(title: &str, cmp: &Comparison, review: &Review, tree: &Tree) -> String {
    let plain = Paint(false);
    let mut out = format!("{MARKER}\n### gitopsc diff of `{}`\n\n", title.replace('`', "'"));
    if cmp.is_current() {
        out.push_str("No change to the rendered tree.\n");
        return out;
    }
    let _ = writeln!(out, "Files: {}.\n", report::summary(cmp));
    let alarms = report::leaving(review, plain)
        + &report::databases(review, plain)
        + &report::workloads(review, plain);
    if !alarms.is_empty() {
        out.push_str(
            "> [!CAUTION]\n> **Read before merging**: what a plain apply of this change does to state.\n\n",
        );
        fenced(&mut out, "text", &alarms);
    }
    let objects = report::objects(review, plain);
    if !objects.is_empty() {
        out.push_str("**Objects** (`+` created, `~` changed, `-` deleted):\n\n");
        fenced(&mut out, "text", &objects);
    }
    let conflicts = report::conflicts(cmp, plain);
    if !conflicts.is_empty() {
        out.push_str("**Files in the way** (not written by gitopsc, or edited by hand):\n\n");
        fenced(&mut out, "text", &conflicts);
    }
    files(&mut out, cmp, tree);
    out
}

/// One collapsible block per changed file, until the budget is spent; then a list of the rest.
fn files(out: &mut String, cmp: &Comparison, tree: &Tree) {
    let mut left_out = Vec::new();
    for change in &cmp.changes {
        let diff = report::file_diff(change, tree);
        let verb = match change.kind {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
        };
        let (plus, minus) = counts(&diff);
        let mut block = format!(
            "<details><summary><code>{}</code> {verb} (+{plus} −{minus})</summary>\n\n",
            escape_html(&change.path)
        );
        fenced(&mut block, "diff", &diff);
        block.push_str("</details>\n");
        if out.len() + block.len() > BUDGET {
            left_out.push(format!("- `{}` {verb}", change.path.replace('`', "'")));
        } else {
            out.push_str(&block);
        }
    }
    if !left_out.is_empty() {
        let _ = writeln!(
            out,
            "\n{} more files changed; their diffs would not fit in a comment (run `gitopsc diff` locally):\n",
            left_out.len()
        );
        out.push_str(&left_out.join("\n"));
        out.push('\n');
    }
}

/// Lines added and removed in a unified diff.
fn counts(diff: &str) -> (usize, usize) {
    diff.lines().fold((0, 0), |(p, m), line| {
        if line.starts_with("+++") || line.starts_with("---") {
            (p, m)
        } else if line.starts_with('+') {
            (p + 1, m)
        } else if line.starts_with('-') {
            (p, m + 1)
        } else {
            (p, m)
        }
    })
}

/// A fenced code block whose fence is longer than any run of backticks in `text`.
fn fenced(out: &mut String, lang: &str, text: &str) {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}{lang}\n{}\n{fence}\n", text.trim_end_matches('\n'));
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        let mut out = String::new();
        fenced(&mut out, "text", "a ```` b");
        assert!(out.starts_with("`````text\n"), "{out}");
    }

    #[test]
    fn diff_lines_are_counted_without_the_headers() {
        assert_eq!(
            counts("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n+more\n"),
            (2, 1)
        );
    }
}
