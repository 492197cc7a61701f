//! The documentation stays true: the spec reference is what the schema says, and every
//! relative link in the README and `docs/` leads to a file of the repository.

mod common;

use common::{gitopsc, root};
use std::path::Path;

#[test]
fn spec_reference_is_current() {
    let run = gitopsc(&["schema", "--markdown"]).expect(0);
    let file = std::fs::read_to_string(root().join("docs/spec-reference.md")).unwrap_or_default();
    assert!(
        run.stdout == file,
        "docs/spec-reference.md is not what `gitopsc schema --markdown` prints; regenerate it with \
         `cargo run -- schema --markdown > docs/spec-reference.md`"
    );
}

/// `docs/kinds.md` is the kind table as it is; `GITOPSC_UPDATE_DOCS=1` rewrites it.
#[test]
fn kinds_table_is_current() {
    let expected = gitopsc::kinds::markdown();
    let path = root().join("docs/kinds.md");
    if std::env::var_os("GITOPSC_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let file = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        file == expected,
        "docs/kinds.md is not the kind table of src/kinds.rs; regenerate it with \
         `GITOPSC_UPDATE_DOCS=1 cargo test --test docs kinds_table_is_current`"
    );
}

/// The relative link targets of a Markdown text: `](target)` outside code spans, without a
/// scheme or anchor.
fn relative_links(text: &str) -> Vec<String> {
    let prose: String = text.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    prose
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or("").to_string())
        .filter(|target| !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:"))
        .collect()
}

#[test]
fn every_relative_link_in_the_docs_exists() {
    let mut pages = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "md") {
            pages.push(entry.path());
        }
    }
    let mut dead = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let dir = page.parent().unwrap_or(Path::new("."));
        for link in relative_links(&text) {
            if !dir.join(&link).exists() {
                dead.push(format!(
                    "{}: {link}",
                    page.strip_prefix(root()).unwrap_or(page).display()
                ));
            }
        }
    }
    assert!(dead.is_empty(), "links to missing files:\n{}", dead.join("\n"));
}

#[test]
fn relative_links_are_found() {
    let links = relative_links("see [a](docs/a.md#x), [b](https://x.io), `[x](y)` and [c](../c.md)");
    assert_eq!(links, ["docs/a.md", "../c.md"]);
}

#[test]
fn completions_and_the_manual_come_from_the_argument_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let run = gitopsc(&["completions", shell]).expect(0);
        assert!(
            run.stdout.contains("gitopsc") && run.stdout.contains("staged"),
            "{shell}"
        );
    }
    let man = gitopsc(&["man"]).expect(0);
    assert!(man.stdout.contains(".TH gitopsc 1") && man.stdout.contains("completions"));
    // In a git checkout the version names the commit it was built from.
    let version = gitopsc(&["--version"]).expect(0);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success());
    if head.is_some() {
        assert!(version.stdout.contains(" ("), "{}", version.stdout);
    }
}

#[test]
fn generated_text_that_cannot_be_written_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        common::skipped("no /dev/full on this system");
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gitopsc"))
        .args(["completions", "bash"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
}
