//! Helpers of the CLI test binaries (tests/cli_*.rs): the infra example in a temporary
//! folder, the trees the library compiles, spec edits, and where diagnostics point.

use super::{Run, gitopsc_in, root};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub type Tree = BTreeMap<String, Vec<u8>>;

/// The harbor HelmRelease of the infra example.
pub const HARBOR_RELEASE: &str = "workloads/platform/registry/harbor/release/helmrelease.yaml";

/// The tree the library compiles from `spec`: what a build leaves on disk besides the lock
/// file. The binary's counts and listings are checked against it, so the tests follow the
/// example as it grows while still catching a wrong count.
pub fn compiled(spec: &Path) -> Tree {
    match gitopsc::compile(spec, None) {
        Ok(c) => c.tree,
        Err(f) => panic!(
            "{} does not compile:\n{}",
            spec.display(),
            gitopsc::diagnostic::render(&f.diagnostics, f.source.as_ref(), false)
        ),
    }
}

/// What `build` reports when the tree on disk goes from `old` to `new` (no conflicts):
/// `N files, W written, R removed`.
pub fn build_summary(old: &Tree, new: &Tree) -> String {
    let written = new.iter().filter(|(p, b)| old.get(*p) != Some(*b)).count();
    let removed = old.keys().filter(|p| !new.contains_key(*p)).count();
    format!("{} files, {written} written, {removed} removed", new.len())
}

/// The paths `new` adds, changes and removes relative to `old`.
pub fn changed_paths(old: &Tree, new: &Tree) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = new
        .iter()
        .filter(|(p, b)| old.get(*p) != Some(*b))
        .map(|(p, _)| p.clone())
        .collect();
    out.extend(old.keys().filter(|p| !new.contains_key(*p)).cloned());
    out
}

/// A temp dir holding a copy of the infra example's spec as `cluster.yaml`; `out` is where
/// the tests build it.
pub struct Infra {
    pub dir: tempfile::TempDir,
}

impl Infra {
    pub fn new() -> Infra {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            root().join("examples/infra/cluster.yaml"),
            dir.path().join("cluster.yaml"),
        )
        .unwrap();
        Infra { dir }
    }

    /// Infra with `out/` already built.
    pub fn built() -> Infra {
        let infra = Infra::new();
        infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
        infra
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    pub fn spec_text(&self) -> String {
        std::fs::read_to_string(self.path().join("cluster.yaml")).unwrap()
    }

    /// The tree the spec `cluster.yaml` of the temp dir compiles to.
    pub fn compiled(&self) -> Tree {
        compiled(&self.path().join("cluster.yaml"))
    }

    /// Writes `text` as the spec `name` in the temp dir.
    pub fn write_spec(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).unwrap();
    }

    /// Runs gitopsc in the temp dir, with `--color never`.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--color", "never"];
        all.extend_from_slice(args);
        gitopsc_in(self.path(), &all)
    }
}

/// The spec text without the app `name` (its list item under `apps:`).
pub fn without_app(text: &str, name: &str) -> String {
    let start_line = format!("  - name: {name}");
    let mut out = String::new();
    let mut skipping = false;
    let mut found = false;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == start_line {
            skipping = true;
            found = true;
            continue;
        }
        if skipping && (line.starts_with("  - ") || (!line.starts_with(' ') && !line.trim().is_empty())) {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
        }
    }
    assert!(found, "no app `{name}` in the spec");
    out
}

/// The spec text without the apps `names`, removed in order.
pub fn without_apps(text: &str, names: &[&str]) -> String {
    names.iter().fold(text.to_string(), |t, n| without_app(&t, n))
}

/// Replaces the one occurrence of `from` by `to`.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur exactly once");
    text.replacen(from, to, 1)
}

/// Asserts that every diagnostic of `stderr` (all of them of `severity`, `error` or
/// `warning`) points into `file` with `file:line:col` on the line right under its message,
/// and returns their count.
pub fn assert_located_as(severity: &str, file: &str, stderr: &str) -> usize {
    let rel = format!("tests/errors/{file}");
    let blocks: Vec<&str> = stderr
        .split(&format!("\n{severity}[GSC"))
        .filter(|b| !b.trim().is_empty())
        .collect();
    assert!(stderr.starts_with(&format!("{severity}[GSC")), "{stderr}");
    for block in &blocks {
        let second = block.lines().nth(1).unwrap_or_default();
        assert!(
            second.trim_start().starts_with(&format!("╭─[{rel}:")),
            "the line under the message of a diagnostic in {rel} is not its location:\n{block}"
        );
        let at = block
            .find(&format!("[{rel}:"))
            .unwrap_or_else(|| panic!("a diagnostic without a location in {rel}:\n{block}"));
        let rest = &block[at + rel.len() + 2..];
        let loc = &rest[..rest.find(']').unwrap()];
        let parts: Vec<&str> = loc.split(':').collect();
        assert!(
            parts.len() == 2 && parts.iter().all(|p| p.parse::<u32>().is_ok_and(|n| n > 0)),
            "`{loc}` is not line:col in {rel}"
        );
    }
    blocks.len()
}
