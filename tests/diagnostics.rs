//! Diagnostics on hostile layouts: a minified JSON spec is one valid YAML line, and an error
//! far along it, or very many errors on it, must render quickly, legibly and without a panic.

mod common;

use common::{gitopsc, s};
use std::time::{Duration, Instant};

/// A one-line JSON spec with `apps` podinfo apps (padded so the line is long) and, in the
/// last app's `helm`, the given extra fields (unknown fields: one error each).
fn one_line_spec(apps: usize, extra: usize) -> String {
    let mut out = String::from(
        r#"{"apiVersion": "gitopsc.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "m"}, "sources": {"helm": [{"name": "podinfo", "url": "https://stefanprodan.github.io/podinfo"}]}, "apps": ["#,
    );
    for i in 0..apps {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!(
            r#"{{"name": "a{i}", "helm": {{"chart": "podinfo", "version": "6.7.1", "source": "podinfo", "values": {{"x": "{}"}}"#,
            "y".repeat(40)
        ));
        if i + 1 == apps {
            for f in 0..extra {
                out.push_str(&format!(r#", "b{f}": 1"#));
            }
        }
        out.push_str("}}");
    }
    out.push_str("]}\n");
    out
}

#[test]
fn an_error_past_column_65535_renders_a_window_around_it() {
    let text = one_line_spec(1200, 1);
    let column = text.find("\"b0\"").unwrap() + 1;
    assert!(column > 100_000, "{column}");
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("min.json.yaml");
    std::fs::write(&spec, &text).unwrap();
    let run = gitopsc(&["validate", s(&spec)]).expect(2);
    assert!(
        run.stderr.starts_with("error[GSC0201]: unknown field `b0`\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("min.json.yaml:1:{column}]")),
        "{}",
        run.stderr
    );
    // The line is shown cut to a window around the field, marked with `…`.
    assert!(
        run.stderr.contains("1 │ …") && run.stderr.contains("\"b0\": 1}}]}"),
        "{}",
        run.stderr
    );
    for line in run.stderr.lines() {
        assert!(
            line.chars().count() < 300,
            "a long line was printed: {} chars",
            line.chars().count()
        );
    }
}

#[test]
fn a_hundred_thousand_errors_on_one_line_render_200_and_a_count() {
    let text = one_line_spec(1, 100_000);
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("many.yaml");
    std::fs::write(&spec, &text).unwrap();
    let started = Instant::now();
    let run = gitopsc(&["validate", s(&spec)]).expect(2);
    let took = started.elapsed();
    let shown = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error[GSC0201]: "))
        .count();
    assert_eq!(
        shown,
        200,
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(2000)..]
    );
    assert!(
        run.stderr
            .ends_with("and 99800 more errors (only the first 200 are shown)\n"),
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(2000)..]
    );
    // Quadratic, this took hours in a debug build (minutes in a release build); linear, it
    // takes seconds, tens of them on a busy debug machine.
    assert!(took < Duration::from_secs(150), "took {took:?}");
}
