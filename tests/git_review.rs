//! The review loop with git and the real hook runners: `check --staged` judges what the
//! commit records, `diff --base` renders a revision from git's objects, and the shipped
//! `.pre-commit-hooks.yaml` works in pre-commit and prek as a user installs it.

mod common;

use common::{root, s};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a program in `dir` with gitopsc's folder first on PATH; returns (exit code, output).
fn run(dir: &Path, program: &str, args: &[&str]) -> (i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_gitopsc"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("PRE_COMMIT_HOME", dir.join("../cache-pre-commit"))
        .env("PREK_HOME", dir.join("../cache-prek"))
        .env("GITOPSC_CACHE_DIR", dir.join("../cache-gitopsc"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[track_caller]
fn ok(dir: &Path, program: &str, args: &[&str]) -> String {
    let (code, text) = run(dir, program, args);
    assert_eq!(code, 0, "{program} {args:?}:\n{text}");
    text
}

/// A new repository holding the minimal fixture's spec and its built tree, committed.
fn repo(parent: &Path) -> PathBuf {
    repo_out(parent, "k8s")
}

/// [`repo`], its tree built into `out`.
fn repo_out(parent: &Path, out: &str) -> PathBuf {
    let dir = parent.join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    ok(&dir, "git", &["init", "-q", "-b", "main"]);
    std::fs::copy(
        root().join("tests/fixtures/minimal/cluster.yaml"),
        dir.join("cluster.yaml"),
    )
    .unwrap();
    ok(&dir, "gitopsc", &["build", "cluster.yaml", "--out", out]);
    ok(&dir, "git", &["add", "-A"]);
    ok(&dir, "git", &["commit", "-qm", "first"]);
    dir
}

/// A new repository holding the fleet example as `fleet.yaml` (and, with `out`, its tree built
/// there), committed; with the example's text.
fn fleet_repo(parent: &Path, out: Option<&str>) -> (PathBuf, String) {
    let dir = parent.join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    ok(&dir, "git", &["init", "-q", "-b", "main"]);
    let fleet = std::fs::read_to_string(root().join("examples/fleet/fleet.yaml")).unwrap();
    std::fs::write(dir.join("fleet.yaml"), &fleet).unwrap();
    if let Some(out) = out {
        ok(&dir, "gitopsc", &["build", "fleet.yaml", "--out", out]);
    }
    ok(&dir, "git", &["add", "-A"]);
    ok(&dir, "git", &["commit", "-qm", "first"]);
    (dir, fleet)
}

/// The fleet example's text without its `staging` cluster.
fn without_staging(fleet: &str) -> String {
    let start = fleet.find("  - name: staging\n").unwrap();
    let end = fleet.find("  - name: production\n").unwrap();
    format!("{}{}", &fleet[..start], &fleet[end..])
}

/// Adds an app to the spec.
fn add_app(dir: &Path) {
    let spec = dir.join("cluster.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let app = "  - name: second\n    helm: {chart: podinfo, version: 6.7.1, source: podinfo}\n";
    std::fs::write(&spec, text + app).unwrap();
}

#[test]
fn staged_check_fails_when_new_generated_files_are_not_staged() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    ok(
        &dir,
        "gitopsc",
        &["check", "cluster.yaml", "--out", "k8s", "--staged"],
    );
    add_app(&dir);
    ok(&dir, "gitopsc", &["build", "cluster.yaml", "--out", "k8s"]);
    // What `git commit -a` stages: the spec and changed tracked files, not the new ones.
    ok(&dir, "git", &["add", "-u"]);
    // The working tree is current, so the plain check passes …
    ok(&dir, "gitopsc", &["check", "cluster.yaml", "--out", "k8s"]);
    // … but the commit would not hold the new app's files.
    let (code, text) = run(
        &dir,
        "gitopsc",
        &["check", "cluster.yaml", "--out", "k8s", "--staged"],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("added    workloads/second/helmrelease.yaml"),
        "{text}"
    );
    assert!(
        text.contains("not staged (new files git does not track yet):\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  k8s/workloads/second/helmrelease.yaml\n"),
        "{text}"
    );
    assert!(text.contains("git add cluster.yaml k8s"), "{text}");
    ok(&dir, "git", &["add", "k8s"]);
    ok(
        &dir,
        "gitopsc",
        &["check", "cluster.yaml", "--out", "k8s", "--staged"],
    );
    // Neither the index nor the working tree was touched by the checks.
    let (_, status) = run(&dir, "git", &["status", "--porcelain"]);
    assert!(
        status.lines().all(|l| l.starts_with("A ") || l.starts_with("M ")),
        "{status}"
    );
}

#[test]
fn staged_check_renders_the_staged_spec_and_fails_on_unstaged_changes() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    // A spec changed on disk but not staged: the commit still holds the old spec and tree.
    add_app(&dir);
    let (code, text) = run(
        &dir,
        "gitopsc",
        &["check", "cluster.yaml", "--out", "k8s", "--staged"],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("k8s is up to date"),
        "the staged pair is consistent:\n{text}"
    );
    assert!(
        text.contains("changed since staged (the commit would not hold these versions):\n  cluster.yaml"),
        "{text}"
    );
    assert!(text.contains("git stash --keep-index"), "{text}");
    assert!(
        !text.contains("build, then"),
        "a current staged tree needs no build:\n{text}"
    );
    // A staged spec whose output is not staged (nor built).
    ok(&dir, "git", &["add", "cluster.yaml"]);
    let (code, text) = run(
        &dir,
        "gitopsc",
        &["check", "cluster.yaml", "--out", "k8s", "--staged"],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("k8s is stale"), "{text}");
    assert!(text.contains("build, then `git add cluster.yaml k8s`"), "{text}");
    // Errors in the staged spec name the repository's path, not a temporary one.
    std::fs::write(
        dir.join("cluster.yaml"),
        "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: x}\nbogus: 1\n",
    )
    .unwrap();
    ok(&dir, "git", &["add", "cluster.yaml"]);
    let (code, text) = run(
        &dir,
        "gitopsc",
        &["check", "cluster.yaml", "--out", "k8s", "--staged"],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("cluster.yaml:4:1") && !text.contains("gitopsc-git-"),
        "{text}"
    );
}

#[test]
fn diff_against_a_revision_needs_no_tree_on_disk() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    std::fs::remove_dir_all(dir.join("k8s")).unwrap();
    let spec = std::fs::read_to_string(dir.join("cluster.yaml")).unwrap();
    std::fs::write(dir.join("cluster.yaml"), spec.replace("6.7.1", "6.7.2")).unwrap();
    let caches = || std::fs::read_dir(temp.path().join("cache-gitopsc")).map_or(0, Iterator::count);
    let before = caches();
    let (code, text) = run(&dir, "gitopsc", &["diff", "cluster.yaml", "--base", "HEAD"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        caches(),
        before,
        "the caches of a temporary tree are not left behind"
    );
    assert!(text.contains("~ HelmRelease podinfo/podinfo"), "{text}");
    assert!(
        text.contains("-      version: \"6.7.1\"\n+      version: \"6.7.2\""),
        "{text}"
    );
    assert!(!dir.join("k8s").exists(), "diff --base writes nothing");
    // No change since the revision: exit 0.
    std::fs::write(dir.join("cluster.yaml"), spec).unwrap();
    ok(&dir, "gitopsc", &["diff", "cluster.yaml", "--base", "HEAD"]);
    // A revision that does not exist is an error that says so.
    let (code, text) = run(&dir, "gitopsc", &["diff", "cluster.yaml", "--base", "nope"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("`nope` names no commit"), "{text}");
}

#[test]
fn diff_against_a_revision_says_what_a_diff_against_its_built_tree_says() {
    // The base's tree is held in memory, never written: its report is the one made against
    // that tree built on disk, in text and in JSON — for a fleet whose cluster left it too.
    let temp = tempfile::tempdir().unwrap();
    let (dir, fleet) = fleet_repo(temp.path(), None);
    let base = temp.path().join("base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("fleet.yaml"), &fleet).unwrap();
    let built = temp.path().join("built");
    ok(
        &dir,
        "gitopsc",
        &[
            "build",
            base.join("fleet.yaml").to_str().unwrap(),
            "--out",
            built.to_str().unwrap(),
        ],
    );
    // A cluster gone and an app's value edited; nothing but a comment; a chart version edited
    // in one cluster: the apps whose render keys the base's hold are taken as it rendered them.
    assert!(fleet.contains("replicas: 1") && fleet.contains("version: 1.19.1"));
    let variants = [
        (
            without_staging(&fleet).replacen("replicas: 1", "replicas: 2", 1),
            1,
        ),
        (format!("{fleet}# a note\n"), 0),
        (fleet.replace("version: 1.19.1", "version: 1.19.2"), 1),
    ];
    for (changed, expected) in variants {
        std::fs::write(dir.join("fleet.yaml"), changed).unwrap();
        let against = ["diff", "fleet.yaml", "--out", built.to_str().unwrap()];
        let (code, on_disk) = run(&dir, "gitopsc", &against);
        assert_eq!(code, expected, "{on_disk}");
        let (code, held) = run(&dir, "gitopsc", &["diff", "fleet.yaml", "--base", "HEAD"]);
        assert_eq!((code, &held), (expected, &on_disk));
        let json = |args: &[&str]| {
            let (code, text) = run(&dir, "gitopsc", &[args, &["--format", "json"]].concat());
            let mut report: serde_json::Value = serde_json::from_str(&text).unwrap();
            // Each report names the tree it compared with (`out`): the built one, or the base.
            report.as_object_mut().unwrap().remove("out");
            for cluster in report["clusters"].as_array_mut().unwrap() {
                cluster["report"].as_object_mut().unwrap().remove("out");
            }
            (code, report)
        };
        assert_eq!(json(&["diff", "fleet.yaml", "--base", "HEAD"]), json(&against));
    }
    let (_, text) = run(&dir, "gitopsc", &["diff", "fleet.yaml", "--base", "HEAD"]);
    assert!(text.contains("staging") && text.contains("1.19.2"), "{text}");
}

#[test]
fn staged_check_and_diff_base_read_manifest_files_from_the_same_snapshot_as_the_spec() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    let spec = std::fs::read_to_string(dir.join("cluster.yaml")).unwrap();
    let app = "  - name: extras\n    manifests:\n      - path: extras/settings.yaml\n";
    std::fs::write(dir.join("cluster.yaml"), spec + app).unwrap();
    std::fs::create_dir_all(dir.join("extras")).unwrap();
    let settings = |mode: &str| {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{mode: {mode}}}\n"
        );
        std::fs::write(dir.join("extras/settings.yaml"), text).unwrap();
    };
    settings("first");
    ok(&dir, "gitopsc", &["build", "cluster.yaml", "--out", "k8s"]);
    ok(&dir, "git", &["add", "-A"]);
    ok(&dir, "git", &["commit", "-qm", "extras"]);
    let staged = ["check", "cluster.yaml", "--out", "k8s", "--staged"];
    ok(&dir, "gitopsc", &staged);
    // Changed on disk only: the staged manifest and tree agree; the change is named as one
    // the commit would not hold.
    settings("second");
    let (code, text) = run(&dir, "gitopsc", &staged);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("k8s is up to date"), "{text}");
    assert!(
        text.contains(
            "changed since staged (the commit would not hold these versions):\n  extras/settings.yaml"
        ),
        "{text}"
    );
    // Staged without the tree rebuilt: the staged manifest is the one rendered.
    ok(&dir, "git", &["add", "extras/settings.yaml"]);
    let (code, text) = run(&dir, "gitopsc", &staged);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("k8s is stale"), "{text}");
    // The base renders the manifest as committed, the work tree as it is now.
    let (code, text) = run(&dir, "gitopsc", &["diff", "cluster.yaml", "--base", "HEAD"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("-  mode: first\n+  mode: second"), "{text}");
    // A manifest file the commit does not hold is missing from the staged spec's inputs.
    ok(&dir, "git", &["rm", "-q", "--cached", "extras/settings.yaml"]);
    let (code, text) = run(&dir, "gitopsc", &staged);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("cannot read the manifests at `extras/settings.yaml`")
            && !text.contains("gitopsc-git-"),
        "{text}"
    );
}

/// Runs `gitopsc ARGS --format json` in `dir`: the exit code and the report, which must be
/// valid against the committed schema, with nothing on stderr.
fn json_report(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gitopsc"))
        .args(args)
        .args(["--format", "json"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema = std::fs::read_to_string(root().join("schemas/json-output.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&serde_json::from_str(&schema).unwrap()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{report}");
    (out.status.code().unwrap_or(-1), report)
}

#[test]
fn diff_against_a_revision_reports_in_json() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    let spec = std::fs::read_to_string(dir.join("cluster.yaml")).unwrap();
    std::fs::write(dir.join("cluster.yaml"), spec.replace("6.7.1", "6.7.2")).unwrap();
    let (code, report) = json_report(&dir, &["diff", "cluster.yaml", "--base", "HEAD"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        (&report["command"], &report["spec"], report.get("out")),
        (
            &serde_json::json!("diff"),
            &serde_json::json!("cluster.yaml"),
            None
        )
    );
    assert!(
        report["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["change"] == "changed" && o["object"]["kind"] == "HelmRelease"),
        "{report}"
    );
    assert!(!report.to_string().contains("gitopsc-git-"), "{report}");
    // A revision that does not exist, and one whose spec does not build.
    let (code, report) = json_report(&dir, &["diff", "cluster.yaml", "--base", "nope"]);
    assert_eq!(
        (code, &report["diagnostics"][0]["code"]),
        (2, &serde_json::json!("GSC0706"))
    );
    std::fs::write(
        dir.join("cluster.yaml"),
        spec.replace("chart: podinfo", "chrt: podinfo"),
    )
    .unwrap();
    ok(&dir, "git", &["commit", "-qam", "broken"]);
    std::fs::write(dir.join("cluster.yaml"), &spec).unwrap();
    let (code, report) = json_report(&dir, &["diff", "cluster.yaml", "--base", "HEAD"]);
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!((code, report["command"].as_str()), (2, Some("diff")), "{report}");
    assert_eq!(codes, ["GSC0706", "GSC0202", "GSC0201"], "{report}");
    assert_eq!(report["diagnostics"][2]["file"], "cluster.yaml", "{report}");
}

/// A base whose spec checks but does not render (a patch that selects nothing, found only as
/// its tree renders, once the spec as it is now says which apps it keeps): the diff says the
/// base does not build, in text and in JSON, as it does for a base that does not check.
#[test]
fn diff_against_a_revision_that_does_not_render_says_the_base_does_not_build() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    let broken = std::fs::read_to_string(root().join("tests/errors/patch-selects-nothing.yaml")).unwrap();
    std::fs::write(dir.join("cluster.yaml"), &broken).unwrap();
    ok(&dir, "git", &["commit", "-qam", "a patch that selects nothing"]);
    std::fs::write(
        dir.join("cluster.yaml"),
        broken.replace("name: setings", "name: settings"),
    )
    .unwrap();
    let (code, text) = run(
        &dir,
        env!("CARGO_BIN_EXE_gitopsc"),
        &["diff", "cluster.yaml", "--base", "HEAD"],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("error: the spec at `HEAD` does not build") && text.contains("GSC0809"),
        "{text}"
    );
    let (code, report) = json_report(&dir, &["diff", "cluster.yaml", "--base", "HEAD"]);
    let codes: Vec<&str> = (report["diagnostics"].as_array().unwrap().iter())
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!((code, codes), (2, vec!["GSC0706", "GSC0809"]), "{report}");
}

/// A hook runner (`pre-commit` or `prek`) from PATH or the CI virtual environment, or `None`
/// after saying why (a failure when `GITOPSC_REQUIRE_TOOLS=1`).
fn runner(name: &str) -> Option<PathBuf> {
    let venv = root().join("target/ci-venv/bin").join(name);
    let found = if venv.is_file() {
        Some(venv)
    } else {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    };
    if found.is_none() {
        let why = format!("{name} is not installed (pip install {name})");
        assert!(
            std::env::var("GITOPSC_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{why}"
        );
        common::skipped(&why);
    }
    found
}

/// A repository of hooks holding this checkout's `.pre-commit-hooks.yaml`, committed; its
/// commit id is the `rev` a user pins.
fn hooks_repo(parent: &Path) -> (PathBuf, String) {
    let dir = parent.join("hooks");
    std::fs::create_dir_all(&dir).unwrap();
    ok(&dir, "git", &["init", "-q", "-b", "main"]);
    std::fs::copy(
        root().join(".pre-commit-hooks.yaml"),
        dir.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    ok(&dir, "git", &["add", "-A"]);
    ok(&dir, "git", &["commit", "-qm", "hooks"]);
    let rev = ok(&dir, "git", &["rev-parse", "HEAD"]).trim().to_string();
    (dir, rev)
}

fn install_hooks(dir: &Path, tool: &Path, hooks: &Path, rev: &str, ids: &[&str]) {
    let mut config = format!("repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n", s(hooks));
    for id in ids {
        config += &format!("      - id: {id}\n        args: [cluster.yaml, --out, k8s]\n");
    }
    std::fs::write(dir.join(".pre-commit-config.yaml"), config).unwrap();
    ok(dir, "git", &["add", ".pre-commit-config.yaml"]);
    ok(dir, s(tool), &["install"]);
}

fn check_hook_guards_the_commit(tool_name: &str) {
    let Some(tool) = runner(tool_name) else { return };
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    let (hooks, rev) = hooks_repo(temp.path());
    install_hooks(&dir, &tool, &hooks, &rev, &["gitopsc-check"]);
    ok(&dir, "git", &["commit", "-qm", "hooks"]);
    add_app(&dir);
    ok(&dir, "gitopsc", &["build", "cluster.yaml", "--out", "k8s"]);
    let (code, text) = run(&dir, "git", &["commit", "-am", "second app"]);
    assert_ne!(
        code, 0,
        "{tool_name} let a commit without the new files through:\n{text}"
    );
    assert!(text.contains("k8s/workloads/second/helmrelease.yaml"), "{text}");
    // `commit -a` staged into a temporary index only: stage both, as the message says.
    ok(&dir, "git", &["add", "cluster.yaml", "k8s"]);
    ok(&dir, "git", &["commit", "-qm", "second app"]);
}

fn build_hook_writes_and_asks_to_stage(tool_name: &str) {
    let Some(tool) = runner(tool_name) else { return };
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    let (hooks, rev) = hooks_repo(temp.path());
    install_hooks(&dir, &tool, &hooks, &rev, &["gitopsc-build", "gitopsc-check"]);
    ok(&dir, "git", &["commit", "-qm", "hooks"]);
    add_app(&dir);
    ok(&dir, "git", &["add", "cluster.yaml"]);
    let (code, text) = run(&dir, "git", &["commit", "-m", "second app"]);
    assert_ne!(code, 0, "the hook wrote files, so the commit must stop:\n{text}");
    assert!(
        dir.join("k8s/workloads/second/helmrelease.yaml").is_file(),
        "{text}"
    );
    ok(&dir, "git", &["add", "k8s"]);
    ok(&dir, "git", &["commit", "-qm", "second app"]);
}

#[test]
fn pre_commit_check_hook_guards_the_commit() {
    check_hook_guards_the_commit("pre-commit");
}

#[test]
fn prek_check_hook_guards_the_commit() {
    check_hook_guards_the_commit("prek");
}

#[test]
fn pre_commit_build_hook_writes_and_asks_to_stage() {
    build_hook_writes_and_asks_to_stage("pre-commit");
}

#[test]
fn prek_build_hook_writes_and_asks_to_stage() {
    build_hook_writes_and_asks_to_stage("prek");
}

#[test]
fn a_staged_check_of_a_clean_work_tree_runs_in_place_and_takes_the_caches() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("repo");
    let cache = temp.path().join("cache");
    std::fs::create_dir_all(dir.join("spec/apps")).unwrap();
    let git = |args: &[&str]| ok(&dir, "git", args);
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(
        dir.join("spec/fleet.yaml"),
        "apiVersion: gitopsc.io/v1alpha1\nkind: Fleet\nmetadata: {name: acme}\nsources:\n  helm:\n    - {name: podinfo, url: https://stefanprodan.github.io/podinfo}\nclusters:\n  - name: prod\n    apps:\n      - name: web\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("spec/apps/web.yaml"),
        "apiVersion: gitopsc.io/v1alpha1\nkind: FleetPart\napps:\n  - name: web\n    helm: {chart: podinfo, version: 6.7.1, source: podinfo}\n",
    )
    .unwrap();
    let gitopsc = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gitopsc"))
            .args(args)
            .current_dir(&dir)
            .env("GITOPSC_CACHE_DIR", &cache)
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    };
    assert_eq!(gitopsc(&["-q", "build", "spec", "--out", "k8s"]).0, 0);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "first"]);
    let recorded =
        || gitopsc::incremental::spec::recall_in(&cache, &dir.join("spec"), &dir.join("k8s")).is_some();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let staged = ["check", "spec", "--out", "k8s", "--staged"];
    let (code, text) = gitopsc(&staged);
    assert_eq!(code, 0, "{text}");
    assert!(recorded(), "a clean work tree is checked in place:\n{text}");
    // An ignored file the spec does not read (an editor's backup) leaves the spec's side as
    // staged: the check stays in place, and records the work tree again.
    std::fs::write(dir.join(".gitignore"), "*.bak\n").unwrap();
    git(&["add", ".gitignore"]);
    std::fs::write(dir.join("spec/apps/old.yaml.bak"), "x").unwrap();
    assert!(
        recorded(),
        "a file that is no part changes no part: the record stands"
    );
    let is_record = |e: &std::fs::DirEntry| e.path().extension().is_some_and(|x| x == "spec");
    let records = || {
        std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .filter(is_record)
            .count()
    };
    let before = records();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let (code, again) = gitopsc(&staged);
    assert_eq!((code, &again), (0, &text));
    assert!(
        recorded(),
        "an ignored file the spec does not read is checked in place:\n{again}"
    );
    // A part the index does not hold is not read, even one that would not load: the staged
    // spec is laid out of the index, and the run over that copy leaves no record behind.
    std::fs::write(dir.join("spec/apps/new.yaml"), "apiVersion: [\n").unwrap();
    let (code, again) = gitopsc(&staged);
    assert_eq!((code, &again), (0, &text));
    assert_eq!(
        records(),
        before,
        "a record of a temporary copy would never be read"
    );
    // So does an end-of-line conversion.
    std::fs::remove_file(dir.join("spec/apps/old.yaml.bak")).unwrap();
    std::fs::remove_file(dir.join("spec/apps/new.yaml")).unwrap();
    git(&["config", "core.autocrlf", "input"]);
    // The root written again with its own bytes: the record no longer holds, and a run in
    // place would record anew.
    let root = dir.join("spec/fleet.yaml");
    let rewrite_root = || std::fs::write(&root, std::fs::read(&root).unwrap()).unwrap();
    rewrite_root();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let (code, again) = gitopsc(&staged);
    assert_eq!((code, &again), (0, &text));
    assert!(
        !recorded(),
        "with autocrlf the work tree is not taken for the index"
    );
    // Nor with an attributes file git does not track where it applies (the top, below the
    // output root); one beside neither side is no matter (src/git/review.rs has each place).
    git(&["config", "--unset", "core.autocrlf"]);
    let cases = [
        (".gitattributes", false),
        ("k8s/clusters/.gitattributes", false),
        ("notes/.gitattributes", true),
    ];
    for (attributes, in_place) in cases {
        let file = dir.join(attributes);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "*.yaml text eol=crlf\n").unwrap();
        // The root written again sends the run the whole way: in place, it records.
        rewrite_root();
        std::thread::sleep(std::time::Duration::from_millis(30));
        assert!(!recorded());
        let (code, again) = gitopsc(&staged);
        assert_eq!((code, &again), (0, &text), "{attributes}");
        assert_eq!(recorded(), in_place, "{attributes}");
        std::fs::remove_file(&file).unwrap();
    }
}

#[test]
fn a_staged_check_views_the_output_root_as_staged_where_it_is() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    let tree: Vec<String> = ok(&dir, "git", &["ls-files", "k8s"])
        .lines()
        .filter(|p| p.ends_with(".yaml") && !p.contains("kustomization"))
        .map(String::from)
        .collect();
    let (edited, staged) = (&tree[0], &tree[1]);
    // The work tree differs from the index below the output root: an untracked note, and a
    // hand edit not staged. The staged tree is what the staged spec renders.
    std::fs::write(dir.join("k8s/NOTES.txt"), "notes\n").unwrap();
    std::fs::write(dir.join(edited), "hand: edit\n").unwrap();
    let (code, text) = run(
        &dir,
        "gitopsc",
        &["check", "cluster.yaml", "--out", "k8s", "--staged"],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("k8s is up to date"),
        "the staged pair is consistent:\n{text}"
    );
    assert!(
        text.contains(edited.as_str()),
        "the unstaged edit is listed:\n{text}"
    );
    assert_eq!(std::fs::read_to_string(dir.join(edited)).unwrap(), "hand: edit\n");
    // A hand edit staged: the staged tree is stale.
    std::fs::write(dir.join(staged), "staged: edit\n").unwrap();
    ok(&dir, "git", &["add", staged]);
    let (code, text) = run(
        &dir,
        "gitopsc",
        &["check", "cluster.yaml", "--out", "k8s", "--staged"],
    );
    assert_eq!(code, 1, "{text}");
    let in_root = staged.trim_start_matches("k8s/");
    assert!(
        text.contains("k8s is stale") && text.contains(&format!("blocked  {in_root}")),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(staged)).unwrap(),
        "staged: edit\n"
    );
    // Nothing is left in the repository's folder.
    let left: Vec<_> = std::fs::read_dir(dir.join(".git"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("gitopsc-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[cfg(unix)]
#[test]
fn a_staged_check_of_a_root_that_differs_only_by_strangers_runs_in_place() {
    use std::os::unix::fs::MetadataExt;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("repo");
    std::fs::create_dir_all(dir.join("spec")).unwrap();
    ok(&dir, "git", &["init", "-q", "-b", "main"]);
    std::fs::copy(
        root().join("tests/fixtures/minimal/cluster.yaml"),
        dir.join("spec/cluster.yaml"),
    )
    .unwrap();
    std::fs::write(dir.join(".gitignore"), "*.swp\n").unwrap();
    ok(&dir, "gitopsc", &["build", "spec/cluster.yaml", "--out", "k8s"]);
    ok(&dir, "git", &["add", "-A"]);
    ok(&dir, "git", &["commit", "-qm", "first"]);
    let tree: Vec<String> = ok(&dir, "git", &["ls-files", "k8s"])
        .lines()
        .filter(|p| p.ends_with(".yaml"))
        .map(String::from)
        .collect();
    let folder = Path::new(&tree[0]).parent().unwrap();
    // What a desktop or an editor leaves: an untracked file and an ignored one.
    std::fs::write(dir.join("k8s/.DS_Store"), "x").unwrap();
    std::fs::write(dir.join(folder).join(".app.yaml.swp"), "x").unwrap();
    let changed = |path: &str| std::fs::symlink_metadata(dir.join(path)).unwrap().ctime_nsec();
    let before: Vec<i64> = tree.iter().map(|p| changed(p)).collect();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let staged = ["check", "spec/cluster.yaml", "--out", "k8s", "--staged"];
    let (code, text) = run(&dir, "gitopsc", &staged);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("k8s is up to date"), "{text}");
    let after: Vec<i64> = tree.iter().map(|p| changed(p)).collect();
    assert_eq!(
        before, after,
        "the tree is checked in place: none of its files is linked"
    );
    // A file the lock file lists that the index does not hold is no stranger: the staged
    // tree lacks it.
    ok(&dir, "git", &["rm", "-q", "--cached", &tree[0]]);
    let (code, text) = run(&dir, "gitopsc", &staged);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("k8s is stale"), "{text}");
    // What is named as not staged is what the tree needs: not the stranger.
    let listed = text
        .split("not staged (new files git does not track yet):")
        .nth(1)
        .unwrap_or("");
    assert!(listed.contains(tree[0].as_str()), "{text}");
    assert!(!listed.contains(".DS_Store"), "{text}");
    ok(&dir, "git", &["add", &tree[0]]);
    // Nor is a stranger that bears a name gitopsc writes: the staged tree has no such file.
    std::fs::write(dir.join(folder).join("gitopsc.lock"), "{}").unwrap();
    let (code, text) = run(&dir, "gitopsc", &staged);
    assert_eq!(code, 0, "{text}");
    std::fs::remove_file(dir.join(folder).join("gitopsc.lock")).unwrap();
    // A staged spec the staged tree does not follow: stale, said in place, with the same
    // report as the staged tree's...
    let spec = dir.join("spec/cluster.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let app = "  - name: second\n    helm: {chart: podinfo, version: 6.7.1, source: podinfo}\n";
    std::fs::write(&spec, text + app).unwrap();
    ok(&dir, "git", &["add", "spec/cluster.yaml"]);
    let before: Vec<i64> = tree.iter().map(|p| changed(p)).collect();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let (code, in_place) = run(&dir, "gitopsc", &staged);
    assert_eq!(code, 1, "{in_place}");
    assert!(in_place.contains("k8s is stale"), "{in_place}");
    let after: Vec<i64> = tree.iter().map(|p| changed(p)).collect();
    assert_eq!(before, after, "a stale tree is said in place too");
    // ...and with a stranger named like a rendered file, which the staged tree lacks.
    std::fs::write(dir.join(folder).join("extra.yaml"), "x").unwrap();
    let (code, again) = run(&dir, "gitopsc", &staged);
    assert_eq!((code, &again), (1, &in_place));
    let after: Vec<i64> = tree.iter().map(|p| changed(p)).collect();
    assert_eq!(before, after, "no file of the tree is linked or copied");
}

/// The report of `gitopsc check SPEC --out k8s --staged` in JSON, but for what it says of
/// files not staged.
fn staged_verdict(dir: &Path, spec: &[&str]) -> serde_json::Value {
    let args = [
        &["check"],
        spec,
        &["--out", "k8s", "--staged", "--format", "json"],
    ]
    .concat();
    let (code, text) = run(dir, "gitopsc", &args);
    assert!(code < 2, "{text}");
    let mut report: serde_json::Value = serde_json::from_str(&text).unwrap();
    for field in ["staged", "exitCode", "ok"] {
        report.as_object_mut().unwrap().remove(field);
    }
    report
}

type Case<'c> = (&'c str, Box<dyn Fn() + 'c>);

/// Runs each case from the commit in `dir` (which left the work tree and the index apart
/// below the output root) and compares the staged check of each of `specs` (a spec and the
/// arguments after it) with the one made once the work tree holds what is staged (untracked
/// files cleaned, the index checked out); no file of the tree is linked or copied.
#[cfg(unix)]
fn the_view_says_what_the_staged_work_tree_says(dir: &Path, specs: &[&[&str]], cases: &[Case]) {
    use std::os::unix::fs::MetadataExt;
    let tree: Vec<String> = ok(dir, "git", &["ls-files", "k8s"])
        .lines()
        .map(String::from)
        .collect();
    let changed = |path: &str| {
        std::fs::symlink_metadata(dir.join(path))
            .map(|m| m.ctime_nsec())
            .ok()
    };
    let mut verdicts = std::collections::BTreeSet::new();
    for (what, make) in cases {
        ok(dir, "git", &["reset", "-q", "--hard"]);
        ok(dir, "git", &["clean", "-qfdx"]);
        make();
        let before: Vec<Option<i64>> = tree.iter().map(|p| changed(p)).collect();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let viewed: Vec<serde_json::Value> = specs.iter().map(|spec| staged_verdict(dir, spec)).collect();
        let after: Vec<Option<i64>> = tree.iter().map(|p| changed(p)).collect();
        assert_eq!(before, after, "{what}: the tree is looked at where it is");
        // The work tree made to hold what is staged: untracked files gone, the index's out.
        ok(dir, "git", &["clean", "-qfdx"]);
        ok(dir, "git", &["checkout-index", "-a", "-f"]);
        for (spec, viewed) in specs.iter().zip(viewed) {
            let held = staged_verdict(dir, spec);
            assert_eq!(viewed, held, "{what} ({spec:?})");
            verdicts.insert(held.to_string());
        }
    }
    assert!(verdicts.len() > 2, "the cases reach different verdicts");
}

#[cfg(unix)]
#[test]
fn a_staged_view_of_the_output_root_says_what_the_staged_work_tree_says() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo(temp.path());
    let tree: Vec<String> = ok(&dir, "git", &["ls-files", "k8s"])
        .lines()
        .filter(|p| p.ends_with(".yaml") && !p.contains("kustomization"))
        .map(String::from)
        .collect();
    let (first, second) = (tree[0].as_str(), tree[1].as_str());
    let folder = Path::new(first).parent().unwrap().to_str().unwrap().to_string();
    let write = |path: &str, text: &str| std::fs::write(dir.join(path), text).unwrap();
    let build = || ok(&dir, "gitopsc", &["build", "cluster.yaml", "--out", "k8s"]);
    // An app added and staged, its tree built and not staged: the hook's common failure.
    let built_not_staged = || {
        add_app(&dir);
        ok(&dir, "git", &["add", "cluster.yaml"]);
        build();
    };
    let cases: Vec<Case> = vec![
        (
            "a hand edit staged, the working copy restored",
            Box::new(|| {
                let bytes = std::fs::read(dir.join(first)).unwrap();
                write(first, "hand: edit\n");
                ok(&dir, "git", &["add", first]);
                std::fs::write(dir.join(first), bytes).unwrap();
            }),
        ),
        (
            "a file deleted but not staged",
            Box::new(|| std::fs::remove_file(dir.join(second)).unwrap()),
        ),
        (
            "an app's folder deleted but not staged",
            Box::new(|| std::fs::remove_dir_all(dir.join(&folder)).unwrap()),
        ),
        (
            "an app's folder replaced by a symlink, not staged",
            Box::new(|| {
                let away = dir.join("../away");
                std::fs::create_dir_all(&away).unwrap();
                std::fs::remove_dir_all(dir.join(&folder)).unwrap();
                std::os::unix::fs::symlink(&away, dir.join(&folder)).unwrap();
            }),
        ),
        (
            "a file taken out of the index, left on disk",
            Box::new(|| {
                ok(&dir, "git", &["rm", "-q", "--cached", second]);
            }),
        ),
        (
            "strangers named as gitopsc names its files",
            Box::new(|| {
                write(&format!("{folder}/gitopsc.lock"), "{}");
                write(&format!("{folder}/extra.yaml"), "x: 1\n");
                write("k8s/.gitopsc-journal", "x");
            }),
        ),
        (
            "the lock file edited but not staged",
            Box::new(|| write("k8s/gitopsc.lock", "{}")),
        ),
        (
            "a staged spec, its tree built but not staged",
            Box::new(built_not_staged),
        ),
        (
            "a staged spec, its tree built but not staged, then a file of it edited by hand",
            Box::new(|| {
                built_not_staged();
                write(first, "hand: edit\n");
            }),
        ),
        (
            "a staged spec, its tree built but not staged, an interrupted build's journal left",
            Box::new(|| {
                built_not_staged();
                write("k8s/.gitopsc-journal", "x");
            }),
        ),
        (
            "a spec edit and its tree, neither staged (the spec read from git)",
            Box::new(|| {
                add_app(&dir);
                build();
            }),
        ),
        (
            "a staged spec and tree, then the tree rebuilt from an older spec",
            Box::new(|| {
                add_app(&dir);
                build();
                ok(&dir, "git", &["add", "-A"]);
                ok(&dir, "git", &["checkout", "HEAD", "--", "cluster.yaml"]);
                build();
                ok(&dir, "git", &["add", "cluster.yaml"]);
            }),
        ),
    ];
    the_view_says_what_the_staged_work_tree_says(&dir, &[&["cluster.yaml"]], &cases);
}

#[cfg(unix)]
#[test]
fn a_staged_view_of_a_fleets_output_root_says_what_the_staged_work_tree_says() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, fleet) = fleet_repo(temp.path(), Some("k8s"));
    let without_staging = without_staging(&fleet);
    let write = |path: &str, text: &str| {
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::write(dir.join(path), text).unwrap();
    };
    let cases: Vec<Case> = vec![
        (
            "a cluster's folder deleted but not staged",
            Box::new(|| {
                std::fs::remove_dir_all(dir.join("k8s/fleet/staging")).unwrap();
            }),
        ),
        (
            "a cluster left the fleet, its folder deleted but not staged",
            Box::new(|| {
                write("fleet.yaml", &without_staging);
                ok(&dir, "git", &["add", "fleet.yaml"]);
                std::fs::remove_dir_all(dir.join("k8s/fleet/staging")).unwrap();
            }),
        ),
        (
            "a cluster's lock file edited but not staged",
            Box::new(|| write("k8s/fleet/production/gitopsc.lock", "{}")),
        ),
        (
            "a fleet edit staged, its tree built but not staged",
            Box::new(|| {
                write("fleet.yaml", &format!("{fleet}# a note\n"));
                ok(&dir, "git", &["add", "fleet.yaml"]);
                ok(&dir, "gitopsc", &["build", "fleet.yaml", "--out", "k8s"]);
            }),
        ),
        (
            "a cluster left the fleet, staged, the tree built but not staged",
            Box::new(|| {
                write("fleet.yaml", &without_staging);
                ok(&dir, "git", &["add", "fleet.yaml"]);
                ok(&dir, "gitopsc", &["build", "fleet.yaml", "--out", "k8s"]);
            }),
        ),
        (
            "a stranger's folder beside the clusters', with a lock file",
            Box::new(|| {
                let lock = std::fs::read_to_string(dir.join("k8s/fleet/staging/gitopsc.lock")).unwrap();
                write("k8s/fleet/ghost/gitopsc.lock", &lock.replace("staging", "ghost"));
            }),
        ),
        (
            "a cluster's lock file taken out of the index",
            Box::new(|| {
                ok(
                    &dir,
                    "git",
                    &["rm", "-q", "--cached", "k8s/fleet/production/gitopsc.lock"],
                );
            }),
        ),
    ];
    let specs: [&[&str]; 2] = [&["fleet.yaml"], &["fleet.yaml", "--cluster", "production"]];
    the_view_says_what_the_staged_work_tree_says(&dir, &specs, &cases);
}

#[test]
fn a_staged_check_of_a_tree_at_the_top_of_the_repository() {
    let temp = tempfile::tempdir().unwrap();
    let dir = repo_out(temp.path(), ".");
    // The top is a pathspec git takes (`.`), in place and with a stranger beside the tree.
    let staged = ["check", "cluster.yaml", "--out", ".", "--staged"];
    let text = ok(&dir, "gitopsc", &staged);
    assert!(text.contains(". is up to date"), "{text}");
    std::fs::write(dir.join(".DS_Store"), "x").unwrap();
    let text = ok(&dir, "gitopsc", &staged);
    assert!(text.contains(". is up to date"), "{text}");
    add_app(&dir);
    ok(&dir, "git", &["add", "cluster.yaml"]);
    let (code, text) = run(&dir, "gitopsc", &staged);
    assert_eq!(code, 1, "a staged spec the staged tree does not follow:\n{text}");
}

/// A fleet whose cluster names its own vendored charts folder: a staged check of a spec
/// edited but not staged reads the spec's side out of git — the folder too — and says what
/// the work tree says once it holds what is staged.
#[test]
fn a_staged_check_reads_the_charts_folder_a_cluster_names_for_itself() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, fleet) = fleet_repo(temp.path(), None);
    let named = fleet.replace(
        "      secretStore: vault-staging\n",
        "      secretStore: vault-staging\n      chartsDir: staging-charts\n",
    );
    assert_ne!(named, fleet);
    std::fs::write(dir.join("fleet.yaml"), &named).unwrap();
    let chart = dir.join("staging-charts/harbor/1.19.1");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(chart.join("values.yaml"), "externalURL: https://x\nexpose: {}\n").unwrap();
    ok(&dir, "gitopsc", &["build", "fleet.yaml", "--out", "k8s"]);
    ok(&dir, "git", &["add", "-A"]);
    ok(&dir, "git", &["commit", "-qm", "charts"]);
    let current = staged_verdict(&dir, &["fleet.yaml"]);
    // The spec edited, not staged: its side is read as staged.
    std::fs::write(dir.join("fleet.yaml"), format!("{named}# a note\n")).unwrap();
    assert_eq!(staged_verdict(&dir, &["fleet.yaml"]), current);
    // The vendored values edited and staged: the staged tree is stale, as in the work tree.
    std::fs::write(chart.join("values.yaml"), "externalURL: https://y\n").unwrap();
    ok(&dir, "git", &["add", "staging-charts"]);
    let viewed = staged_verdict(&dir, &["fleet.yaml"]);
    ok(&dir, "git", &["checkout", "-q", "fleet.yaml"]);
    assert_eq!(staged_verdict(&dir, &["fleet.yaml"]), viewed);
    assert_ne!(viewed, current);
}
