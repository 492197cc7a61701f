//! The tool's own honesty: tests that cannot pass without testing, references gitopsc prints
//! that exist, warnings that every command prints alike, every error of a spec in one run.

mod common;

use common::{gitopsc, gitopsc_env, root, s};
use std::path::Path;

/// Not run on its own: [`a_missing_tool_fails_when_tools_are_required`] runs it in a child
/// process, with and without `GITOPSC_REQUIRE_TOOLS=1`.
#[test]
#[ignore = "run by a_missing_tool_fails_when_tools_are_required"]
fn probe_a_missing_tool() {
    common::skipped("probe: a tool that does not exist");
}

#[test]
fn a_missing_tool_fails_when_tools_are_required() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("skipped.txt");
    let probe = |require: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "probe_a_missing_tool", "--ignored", "--test-threads=1"])
            .env("GITOPSC_REQUIRE_TOOLS", require)
            .env("GITOPSC_SKIPPED_LIST", &list)
            .output()
            .unwrap()
    };
    let skipped = probe("0");
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(skipped.status.success(), "{stderr}");
    assert!(
        stderr.contains("SKIPPED: probe: a tool that does not exist"),
        "a skip shows on stderr: {stderr}"
    );
    let listed = std::fs::read_to_string(&list).unwrap();
    assert_eq!(listed, "SKIPPED: probe: a tool that does not exist\n");
    let required = probe("1");
    assert!(
        !required.status.success(),
        "with GITOPSC_REQUIRE_TOOLS=1 a missing tool fails the test"
    );
    assert_eq!(
        std::fs::read_to_string(&list).unwrap(),
        listed,
        "a failure is not a skip"
    );
}

/// Every `.rs` file below `dir`, with its text.
fn rust_files(dir: &Path) -> Vec<(String, String)> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            (e.path().display().to_string(), text)
        })
        .collect()
}

#[test]
fn every_skip_goes_through_the_one_helper() {
    for (path, text) in rust_files(&root().join("tests")) {
        if path.ends_with("common/mod.rs") {
            continue;
        }
        // Made here, so this file does not match itself.
        let printed = ["println", "eprintln"].map(|m| format!("{m}!(\"SKIPPED"));
        for (n, line) in text.lines().enumerate() {
            assert!(
                !printed.iter().any(|p| line.contains(p.as_str())),
                "{path}:{}: a skip must go through `common::skipped` (visible, and a failure with GITOPSC_REQUIRE_TOOLS=1): {line}",
                n + 1
            );
        }
    }
}

#[test]
fn ci_requires_every_tool_and_fails_when_one_cannot_be_installed() {
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.contains("export GITOPSC_REQUIRE_TOOLS=1"), "{ci}");
    assert!(
        ci.contains("python3 -m venv"),
        "PEP 668: the Python packages go into a venv"
    );
    assert!(
        !ci.contains("python3 -m pip install"),
        "no pip install into the system Python (PEP 668 refuses it on Debian 12)"
    );
    for line in ci.lines().filter(|l| l.contains("npm install")) {
        assert!(!line.contains("||"), "a failed npm install must fail CI: {line}");
    }
    assert!(
        ci.contains("test result:"),
        "CI prints the closing `test result:` lines"
    );
}

/// Every `docs/<name>.md` named in a string of the binary's sources (what it prints) or of the
/// blueprints (what it writes), and the file that names it.
fn doc_paths() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut texts = rust_files(&root().join("src"));
    for entry in walkdir::WalkDir::new(root().join("blueprints")).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            texts.push((entry.path().display().to_string(), text));
        }
    }
    texts.push((
        "README.md".into(),
        std::fs::read_to_string(root().join("README.md")).unwrap(),
    ));
    for (file, text) in texts {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("docs/") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/._-".contains(c)))
                .unwrap_or(tail.len());
            let path = tail[..end].trim_end_matches('.');
            if path.ends_with(".md") {
                found.push((file.clone(), path.to_string()));
            }
            rest = &tail[end.max(5)..];
        }
    }
    found
}

#[test]
fn every_doc_path_gitopsc_prints_exists() {
    let found = doc_paths();
    assert!(
        found.iter().any(|(_, p)| p == "docs/workloads.md"),
        "the REPLICAS alarm's reference is among the paths: {found:?}"
    );
    for (file, path) in found {
        assert!(
            root().join(&path).is_file(),
            "{file} names `{path}`, which does not exist"
        );
    }
    let workloads = std::fs::read_to_string(root().join("docs/workloads.md")).unwrap();
    assert!(
        workloads.contains("## Autoscaling and the HPA hand-over")
            && workloads.contains("--field-manager=hpa-handover"),
        "the REPLICAS alarm sends the reader to the \"Autoscaling and the HPA hand-over\" section"
    );
}

#[test]
fn every_gitopsc_command_gitopsc_prints_exists() {
    let mut commands = std::collections::BTreeSet::new();
    for (_, text) in rust_files(&root().join("src")) {
        for (at, _) in text.match_indices("`gitopsc ") {
            let word: String = text[at + 9..]
                .chars()
                .take_while(char::is_ascii_lowercase)
                .collect();
            if !word.is_empty() {
                commands.insert(word);
            }
        }
    }
    assert!(
        commands.contains("build") && commands.contains("init"),
        "{commands:?}"
    );
    for command in commands {
        gitopsc(&[command.as_str(), "--help"]).expect(0);
    }
}

/// A minimal spec: one app of plain workloads.
const ONE_APP: &str = "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: demo}\napps:\n  - name: web\n    workloads:\n      - name: web\n        kind: Deployment\n        image: ghcr.io/example/web:1.0.0\n";

#[test]
fn the_blocked_files_message_quotes_a_command_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(&spec, ONE_APP).unwrap();
    let out = dir.path().join("out");
    gitopsc(&["build", s(&spec), "--out", s(&out)]).expect(0);
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("gitopsc.lock")).unwrap()).unwrap();
    let file = lock["files"].as_object().unwrap().keys().next().unwrap().clone();
    std::fs::write(out.join(&file), "edited by hand\n").unwrap();
    let run = gitopsc_env(
        &root(),
        &["check", s(&spec), "--out", s(&out)],
        &[("NO_COLOR", "1")],
    )
    .expect(1);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("run `gitopsc build"))
        .unwrap_or_else(|| panic!("no command in: {}", run.stdout));
    assert_eq!(line.matches('`').count(), 2, "one quoted command: {line}");
    let command = line.split('`').nth(1).unwrap();
    assert_eq!(
        command,
        format!("gitopsc build {} --out {} --force", s(&spec), s(&out))
    );
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    gitopsc(&args).expect(0);
}

/// One app whose spec draws two warnings: an image on `:latest`, a budget that blocks drains.
const WARNED: &str = "# two warnings
apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata: {name: demo}
apps:
  - name: web
    workloads:
      - name: web
        kind: Deployment
        image: ghcr.io/example/web:latest
        disruptionBudget: {maxUnavailable: 0}
";

#[test]
fn every_command_prints_the_same_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(&spec, WARNED).unwrap();
    let out = dir.path().join("out");
    let run = |args: &[&str], code: i32| {
        let mut all = args.to_vec();
        all.insert(1, s(&spec));
        gitopsc_env(dir.path(), &all, &[("NO_COLOR", "1")])
            .expect(code)
            .stderr
    };
    let built = run(&["build", "--out", s(&out)], 0);
    assert!(built.contains("`latest`"), "{built}");
    assert!(built.contains("allows no disruption"), "{built}");
    assert!(built.contains("cluster.yaml:10:"), "at its place: {built}");
    assert_eq!(
        run(&["check", "--out", s(&out)], 0),
        built,
        "check, from the lock file"
    );
    assert_eq!(
        run(&["build", "--out", s(&out)], 0),
        built,
        "a build that writes nothing"
    );
    assert_eq!(run(&["diff", "--out", s(&out)], 0), built, "diff");
    assert_eq!(run(&["validate"], 0), built, "validate");
    // A comment moves the warnings: the tree stays current, the lock's offsets follow.
    std::fs::write(&spec, format!("# moved\n{WARNED}")).unwrap();
    let moved = run(&["check", "--out", s(&out)], 0);
    assert!(moved.contains("cluster.yaml:11:"), "{moved}");
    run(&["build", "--out", s(&out)], 0);
    assert_eq!(run(&["check", "--out", s(&out)], 0), moved);
    // A spec without warnings leaves none behind in the lock file.
    std::fs::write(
        &spec,
        WARNED
            .replace(":latest", ":1.0.0")
            .replace("maxUnavailable: 0", "maxUnavailable: 1"),
    )
    .unwrap();
    run(&["build", "--out", s(&out)], 0);
    assert_eq!(run(&["check", "--out", s(&out)], 0), "");
}

/// A password literal in chart values (found by the spec's own checks) and Harbor's
/// jobservice and registry on one Redis database (found while the chart is wired).
const TWO_KINDS: &str = "apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata: {name: infra}
sources:
  helm:
    - {name: harbor, url: https://helm.goharbor.io}
apps:
  - name: harbor
    redis:
      address: dragonfly.dragonfly.svc.cluster.local:6379
      databases: {core: 0, jobservice: 1, registry: 1, trivy: 5}
    helm:
      chart: harbor
      version: 1.19.1
      source: harbor
      values:
        externalURL: https://harbor.example.com
        database:
          external:
            password: hunter2hunter2
  - name: web
    dependsOn: [nowhere]
    helm: {chart: web, version: 1.0.0, source: undeclared}
";

#[test]
fn one_run_reports_every_kind_of_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(&spec, TWO_KINDS).unwrap();
    for command in ["validate", "check", "build"] {
        let mut args = vec![command, s(&spec)];
        if command != "validate" {
            args.extend(["--out", "out"]);
        }
        let run = gitopsc_env(dir.path(), &args, &[("NO_COLOR", "1")]).expect(2);
        let errors: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error[")).collect();
        assert!(
            errors.iter().any(|e| e.starts_with("error[GSC0508]: ")),
            "{command}: the password literal: {}",
            run.stderr
        );
        assert!(
            errors.iter().any(|e| e.starts_with("error[GSC0411]: ")),
            "{command}: the wiring conflict: {}",
            run.stderr
        );
        assert!(
            errors.iter().any(|e| e.contains("`nowhere`"))
                && errors.iter().any(|e| e.contains("`undeclared`")),
            "{command}: the unknown names: {}",
            run.stderr
        );
        let mut unique = errors.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            errors.len(),
            "{command}: each error once: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("internal"), "{}", run.stderr);
        assert!(!dir.path().join("out").exists(), "nothing is written");
    }
}
