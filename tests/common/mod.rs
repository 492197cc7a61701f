//! Helpers shared by the integration test binaries: running the `gitopsc` binary, reading a
//! tree from disk, finding the example and fixture specs, and asking Python (PyYAML, the YAML
//! 1.1 reader) to parse documents.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses only some of its helpers"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate root: every relative path in the tests is relative to it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs `gitopsc ARGS` in `cwd` with extra environment variables. `NO_COLOR` and
/// `RAYON_NUM_THREADS` from the caller's environment are removed so every run starts alike,
/// and the incremental cache goes below the build's temporary folder, not the user's home.
pub fn gitopsc_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitopsc"));
    cmd.args(args).current_dir(cwd);
    cmd.env_remove("NO_COLOR").env_remove("RAYON_NUM_THREADS");
    cmd.env(
        "GITOPSC_CACHE_DIR",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/gitopsc-cache"),
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run gitopsc");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `gitopsc ARGS` in the crate root.
pub fn gitopsc(args: &[&str]) -> Run {
    gitopsc_env(&root(), args, &[])
}

/// Runs `gitopsc ARGS` in `cwd`.
pub fn gitopsc_in(cwd: &Path, args: &[&str]) -> Run {
    gitopsc_env(cwd, args, &[])
}

/// A path as a `&str` argument.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Every regular file below `dir` (relative path with `/` → bytes), sorted. Symlinks are not
/// followed.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(base, &path, out);
            } else if kind.is_file() {
                let rel = path.strip_prefix(base).unwrap();
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_str().unwrap())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Every directory below `dir` (relative, with `/`), sorted.
pub fn dirs(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                let path = entry.path();
                out.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .replace('\\', "/"),
                );
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `examples/*/cluster.yaml` and `tests/fixtures/*/cluster.yaml`, relative to the crate root,
/// sorted.
pub fn specs() -> Vec<String> {
    let mut out = Vec::new();
    for base in ["examples", "tests/fixtures"] {
        let dir = root().join(base);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| dir.join(n).join("cluster.yaml").is_file())
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| format!("{base}/{n}/cluster.yaml")));
    }
    assert!(out.len() >= 3, "expected examples and fixtures, found {out:?}");
    out
}

/// The example names: `examples/<name>/cluster.yaml`.
pub fn examples() -> Vec<String> {
    specs()
        .into_iter()
        .filter_map(|s| {
            s.strip_prefix("examples/")
                .and_then(|r| r.strip_suffix("/cluster.yaml"))
                .map(String::from)
        })
        .collect()
}

/// Every example: its name and its spec, `examples/<name>/cluster.yaml` or, for a fleet,
/// `examples/<name>/fleet.yaml`; sorted by name.
pub fn example_specs() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = examples()
        .into_iter()
        .map(|n| (n.clone(), format!("examples/{n}/cluster.yaml")))
        .collect();
    for entry in std::fs::read_dir(root().join("examples")).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        if entry.path().join("fleet.yaml").is_file() {
            out.push((name.clone(), format!("examples/{name}/fleet.yaml")));
        }
    }
    out.sort();
    out
}

/// Renders a tree as one string: `=== path` then the content, path by path.
pub fn render_tree(tree: &BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::new();
    for (path, bytes) in tree {
        out.push_str("=== ");
        out.push_str(path);
        out.push('\n');
        out.push_str(std::str::from_utf8(bytes).expect("rendered files are UTF-8"));
    }
    out
}

/// True when `python3` runs and imports every module.
pub fn python_has(modules: &[&str]) -> bool {
    let code = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    Command::new("python3")
        .args(["-c", &code])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when `program --version`-like probe `args` runs successfully.
pub fn tool_runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

const PYYAML_READER: &str = r#"
import json, sys, yaml, datetime

def plain(v):
    # Anything JSON cannot hold (a date, a set, bytes) is marked, so it never compares equal
    # to what a YAML 1.2 reader saw.
    if isinstance(v, dict):
        return {("__nonstr_key__:" + repr(k)) if not isinstance(k, str) else k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float) and v == v and v not in (float("inf"), float("-inf")):
        return v
    return {"__nonjson__": type(v).__name__ + ":" + repr(v)}

with open(sys.argv[1], encoding="utf-8") as f:
    items = json.load(f)
out = []
for item in items:
    try:
        out.append({"ok": [plain(d) for d in yaml.safe_load_all(item["text"])]})
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False)
"#;

/// Parses each text with PyYAML's `safe_load_all` (one Python process for all of them) and
/// returns, per text, its documents as JSON or PyYAML's error.
pub fn pyyaml_load_all(texts: &[String]) -> Vec<Result<Vec<serde_json::Value>, String>> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    let output = dir.path().join("out.json");
    let items: Vec<serde_json::Value> = texts.iter().map(|t| serde_json::json!({ "text": t })).collect();
    std::fs::write(&input, serde_json::to_vec(&items).unwrap()).unwrap();
    let status = Command::new("python3")
        .args(["-c", PYYAML_READER, s(&input), s(&output)])
        .output()
        .expect("run python3");
    assert!(
        status.status.success(),
        "the PyYAML reader failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let out: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    assert_eq!(out.len(), texts.len());
    out.into_iter()
        .map(|r| match r.get("ok") {
            Some(serde_json::Value::Array(docs)) => Ok(docs.clone()),
            _ => Err(r["error"].as_str().unwrap_or("?").to_string()),
        })
        .collect()
}

/// Parses every document of a text with serde_yaml (YAML 1.2) into JSON values.
pub fn serde_load_all(text: &str) -> Result<Vec<serde_json::Value>, String> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).map_err(|e| e.to_string()))
        .collect()
}

/// Copies `from` (a directory) into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The one rule for a check whose tool is missing (python3 with PyYAML/jsonschema, node and
/// the CEL evaluator in tests/cel, kubectl, ../shared/conformance): with
/// `GITOPSC_REQUIRE_TOOLS=1` (set by `.ci/run`) the test fails; otherwise `SKIPPED: <why>` goes
/// to the process's standard error, which the test harness does not capture, so the line
/// shows in a plain `cargo test` run, and onto the list `.ci/run` prints after the test
/// summary: `target/skipped-checks.txt`, or the file `GITOPSC_SKIPPED_LIST` names.
#[track_caller]
pub fn skipped(why: &str) {
    use std::io::Write;
    if require_tools() {
        panic!("GITOPSC_REQUIRE_TOOLS=1 and a tool this test needs is missing: {why}");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
    let list = std::env::var_os("GITOPSC_SKIPPED_LIST")
        .map_or_else(|| root().join("target/skipped-checks.txt"), PathBuf::from);
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(list) {
        let _ = writeln!(file, "SKIPPED: {why}");
    }
}

/// True when `GITOPSC_REQUIRE_TOOLS=1`: a missing tool fails the test instead of skipping it.
pub fn require_tools() -> bool {
    std::env::var("GITOPSC_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}
pub mod cli;

/// Runs git in `dir` with a fixed identity; panics when it fails; returns its output.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
