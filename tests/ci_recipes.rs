//! The CI recipes of docs/ci/, run as their CI would run them: the YAML files are parsed, and
//! their shell steps run in order, with the variables the CI provides, in a clone of a
//! temporary repository whose `origin` holds the base (examples/infra's spec and its built
//! tree) and a change on top. The API calls go to stub `gh` and `curl` commands first on PATH,
//! which record their arguments and the body they were sent and answer with canned comment
//! lists; the installation step is replaced by the gitopsc under test on PATH.

mod common;

use common::{git, root, s};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The marker gitopsc's markdown starts with (src/emit/markdown.rs), which both recipes look
/// their earlier comment up by.
const MARKER: &str = "<!-- gitopsc diff -->";

/// Records one call (arguments, and the body read from standard input when it is sent as
/// `-` / `@-`) and answers: the listing of comments or notes from `$STUB_ANSWERS`, `{}` else.
const STUB: &str = r#"#!/usr/bin/env bash
set -eu
n=$(( $(cat "$STUB_LOG/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$STUB_LOG/count"
call="$STUB_LOG/$(printf %03d "$n")-$(basename "$0")"
mkdir -p "$call"
printf '%s\n' "$@" >"$call/args"
for arg in "$@"; do
  if [ "$arg" = - ] || [ "$arg" = @- ]; then cat >"$call/stdin"; fi
done
case "$(basename "$0") $*" in
  "gh "*--paginate*) cat "$STUB_ANSWERS/gh-comments" ;;
  "curl "*page=*)
    page=$(printf '%s\n' "$@" | sed -n 's/.*[?&]page=\([0-9]*\).*/\1/p')
    if [ -f "$STUB_ANSWERS/notes-$page" ]; then cat "$STUB_ANSWERS/notes-$page"; else echo '[]'; fi ;;
  *) echo '{}' ;;
esac
"#;

/// A commit of a test branch: its message, and what it changes in the work tree.
type Change<'a> = (&'a str, &'a dyn Fn(&Path));

/// A recorded call of a stub.
#[derive(Debug)]
struct Call {
    program: String,
    args: Vec<String>,
    body: Option<String>,
}

/// The sandbox: a bare `origin`, a folder for the stubs and their records, the runner's
/// temporary folder.
struct Sandbox {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Sandbox {
    /// `origin` with `main`: examples/infra's spec and its built tree.
    fn new() -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        for d in ["stubs", "answers", "seed"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        for program in ["gh", "curl"] {
            let path = dir.join("stubs").join(program);
            std::fs::write(&path, STUB).unwrap();
            make_executable(&path);
        }
        git(&dir, &["init", "-q", "--bare", "-b", "main", "origin.git"]);
        let seed = dir.join("seed");
        git(&seed, &["init", "-q", "-b", "main"]);
        std::fs::copy(
            root().join("examples/infra/cluster.yaml"),
            seed.join("cluster.yaml"),
        )
        .unwrap();
        build(&seed);
        commit(&seed, "base: the infra cluster");
        git(&seed, &["remote", "add", "origin", s(&dir.join("origin.git"))]);
        git(&seed, &["push", "-q", "origin", "main"]);
        Sandbox { _tmp: tmp, dir }
    }

    /// Pushes `branch`: main plus one commit per `(message, change)`.
    fn push_branch(&self, branch: &str, commits: &[Change]) {
        let seed = self.dir.join("seed");
        git(&seed, &["checkout", "-q", "-B", branch, "main"]);
        for (message, change) in commits {
            change(&seed);
            commit(&seed, message);
        }
        git(&seed, &["push", "-q", "--force", "origin", branch]);
    }

    /// A fresh clone of `origin` at `branch` (as a CI checkout with its full history).
    fn clone_at(&self, branch: &str) -> PathBuf {
        let work = self.dir.join(format!("work-{}", branch.replace('/', "-")));
        let _ = std::fs::remove_dir_all(&work);
        git(&self.dir, &["clone", "-q", "-b", branch, "origin.git", s(&work)]);
        work
    }

    /// Clears the stub records and sets what the listing calls answer.
    fn answers(&self, answers: &[(&str, &str)]) {
        for d in ["answers", "log"] {
            let _ = std::fs::remove_dir_all(self.dir.join(d));
            std::fs::create_dir_all(self.dir.join(d)).unwrap();
        }
        for (name, text) in answers {
            std::fs::write(self.dir.join("answers").join(name), text).unwrap();
        }
    }

    /// The calls the stubs recorded, in order.
    fn calls(&self) -> Vec<Call> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.join("log"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_str().unwrap();
                Call {
                    program: name.split_once('-').unwrap().1.to_string(),
                    args: std::fs::read_to_string(p.join("args"))
                        .unwrap()
                        .lines()
                        .map(String::from)
                        .collect(),
                    body: std::fs::read_to_string(p.join("stdin")).ok(),
                }
            })
            .collect()
    }

    /// The environment every step gets: PATH with the stubs and gitopsc first, the stubs'
    /// folders, no git configuration of this machine (a runner's has no identity).
    fn base_env(&self) -> BTreeMap<String, String> {
        let bin = Path::new(env!("CARGO_BIN_EXE_gitopsc")).parent().unwrap();
        let path = std::env::join_paths([self.dir.join("stubs"), bin.to_path_buf()].into_iter().chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        let temp = self.dir.join("runner-temp");
        std::fs::create_dir_all(&temp).unwrap();
        BTreeMap::from([
            ("PATH".into(), path.into_string().unwrap()),
            ("STUB_LOG".into(), s(&self.dir.join("log")).into()),
            ("STUB_ANSWERS".into(), s(&self.dir.join("answers")).into()),
            ("RUNNER_TEMP".into(), s(&temp).into()),
            ("TMPDIR".into(), s(&temp).into()),
            ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("NO_COLOR".into(), "1".into()),
        ])
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn commit(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// `gitopsc build cluster.yaml --out kubernetes` in `dir`.
fn build(dir: &Path) {
    common::gitopsc_in(dir, &["build", "cluster.yaml", "--out", "kubernetes", "--quiet"]).expect(0);
}

/// Bumps the Harbor chart of the spec from 1.16.0 to 1.16.2.
fn bump(dir: &Path) {
    let spec = dir.join("cluster.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(
        text.contains("version: 1.16.0 "),
        "the Harbor chart moved in examples/infra"
    );
    std::fs::write(&spec, text.replace("version: 1.16.0 ", "version: 1.16.2 ")).unwrap();
}

/// Makes the spec invalid: the Harbor chart's version a number.
fn break_spec(dir: &Path) {
    let spec = dir.join("cluster.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("version: 1.16.0 ", "version: 1.16 ")).unwrap();
}

/// A recipe file of docs/ci, parsed.
fn recipe(name: &str) -> Value {
    let path = root().join("docs/ci").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The outcome of a shell step: exit code and output.
struct Ran {
    code: i32,
    output: String,
}

/// Runs `script` the way both runners do (bash, `-e`, `-o pipefail`) in `dir`.
fn shell(dir: &Path, script: &str, env: &BTreeMap<String, String>) -> Ran {
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .env("HOME", dir.parent().unwrap())
        .output()
        .expect("run bash");
    Ran {
        code: out.status.code().unwrap_or(-1),
        output: String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    }
}

/// What the GitHub expressions of a step's `env` stand for here.
fn github_expression(expr: &str, outputs: &BTreeMap<String, String>) -> String {
    match expr {
        "github.token" => "stub-token".into(),
        "github.event.pull_request.number" => "7".into(),
        _ => {
            let output = expr
                .strip_prefix("steps.")
                .and_then(|rest| rest.split_once(".outputs."))
                .map(|(step, name)| format!("{step}.{name}"));
            let Some(key) = output else {
                panic!("the test does not know the expression `{expr}`")
            };
            outputs.get(&key).cloned().unwrap_or_default()
        }
    }
}

/// Replaces each `${{ expr }}` of a value.
fn resolve(value: &str, outputs: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        let end = rest[start..].find("}}").expect("closed expression") + start;
        out.push_str(&rest[..start]);
        out.push_str(&github_expression(rest[start + 3..end].trim(), outputs));
        rest = &rest[end + 2..];
    }
    out + rest
}

/// Runs the job's `run:` steps in `dir` as GitHub's runner does: job and step `env`, outputs
/// through `$GITHUB_OUTPUT`, later steps skipped after a failure unless it may continue.
/// `install` is skipped (gitopsc is on PATH). Returns each step's outcome by id; the job
/// fails when a step failed without `continue-on-error`.
fn run_github_job(
    sandbox: &Sandbox,
    job: &Value,
    dir: &Path,
    env: &[(&str, &str)],
) -> (bool, BTreeMap<String, Ran>) {
    let mut base = sandbox.base_env();
    for (k, v) in job["env"].as_object().into_iter().flatten() {
        base.insert(k.clone(), v.as_str().expect("plain job env").into());
    }
    base.extend(env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let (mut outputs, mut ran, mut failed) = (BTreeMap::new(), BTreeMap::new(), false);
    for step in job["steps"].as_array().expect("steps") {
        let (Some(id), Some(script)) = (step["id"].as_str(), step["run"].as_str()) else {
            continue;
        };
        if id == "install" || failed {
            continue;
        }
        let mut env = base.clone();
        for (k, v) in step["env"].as_object().into_iter().flatten() {
            env.insert(k.clone(), resolve(v.as_str().expect("a string"), &outputs));
        }
        let output_file = sandbox.dir.join(format!("runner-temp/output-{id}"));
        std::fs::write(&output_file, "").unwrap();
        env.insert("GITHUB_OUTPUT".into(), s(&output_file).into());
        let result = shell(dir, script, &env);
        for line in std::fs::read_to_string(&output_file).unwrap().lines() {
            let (k, v) = line.split_once('=').expect("name=value outputs");
            outputs.insert(format!("{id}.{k}"), v.to_string());
        }
        failed = result.code != 0 && step["continue-on-error"] != true;
        ran.insert(id.to_string(), result);
    }
    (!failed, ran)
}

/// Checks what every workflow shares: actions pinned by major version, every `run` step named
/// by an `id`, the install step present.
fn check_workflow(workflow: &Value, job: &str, ids: &[&str]) -> Value {
    let job = workflow["jobs"][job].clone();
    let mut found = Vec::new();
    for step in job["steps"].as_array().expect("steps") {
        if let Some(action) = step["uses"].as_str() {
            let (_, version) = action.split_once('@').expect("a pinned action");
            assert!(
                version.starts_with('v') && version[1..].chars().all(|c| c.is_ascii_digit()),
                "`{action}`: pin actions by major version"
            );
        } else {
            assert!(
                step["run"].is_string(),
                "a step without `uses` runs a script: {step}"
            );
            found.push(step["id"].as_str().expect("every run step has an id"));
        }
    }
    assert_eq!(found, ids, "the steps this test knows how to run");
    job
}

/// The comment body of the one call that sent one.
fn sent_body(calls: &[Call]) -> String {
    let bodies: Vec<&Call> = calls.iter().filter(|c| c.body.is_some()).collect();
    assert_eq!(bodies.len(), 1, "one comment sent: {calls:#?}");
    let payload: Value = serde_json::from_str(bodies[0].body.as_ref().unwrap()).expect("a JSON body");
    let body = payload["body"].as_str().expect("{body: ...}").to_string();
    assert!(
        body.starts_with(&format!("{MARKER}\n")),
        "the body starts with the marker:\n{body}"
    );
    body
}

fn has_arg(call: &Call, arg: &str) -> bool {
    call.args.iter().any(|a| a == arg)
}

#[test]
fn the_recipes_are_valid_yaml_and_start_with_the_markdown_marker() {
    let sandbox = Sandbox::new();
    let seed = sandbox.dir.join("seed");
    let markdown = common::gitopsc_in(
        &seed,
        &["diff", "cluster.yaml", "--base", "HEAD", "--format", "markdown"],
    );
    assert_eq!(markdown.stdout.lines().next(), Some(MARKER), "{markdown:?}");
    for name in ["github-actions.yml", "gitlab-ci.yml", "renovate-rebuild.yml"] {
        let text = std::fs::read_to_string(root().join("docs/ci").join(name)).unwrap();
        let value = recipe(name);
        assert!(value.is_object(), "{name}");
        if name != "renovate-rebuild.yml" {
            assert!(
                text.contains(&format!("marker='{MARKER}'")),
                "{name} looks comments up by the marker"
            );
        }
    }
    let github = recipe("github-actions.yml");
    assert_eq!(github["permissions"]["pull-requests"], "write");
    assert!(github["on"]["pull_request"].is_null() && github["on"].get("pull_request").is_some());
    let checkout = &github["jobs"]["review"]["steps"][0];
    assert!(
        checkout["uses"]
            .as_str()
            .unwrap()
            .starts_with("actions/checkout@")
    );
    assert_eq!(
        checkout["with"]["fetch-depth"], 0,
        "the base revision needs the history"
    );
    let gitlab = recipe("gitlab-ci.yml");
    assert_eq!(gitlab["gitopsc"]["variables"]["GIT_DEPTH"], "0");
    let rules = gitlab["gitopsc"]["rules"].to_string();
    assert!(rules.contains("merge_request_event"), "{rules}");
}

/// What a CI job did: whether it passed, the API calls it made, its output.
struct JobRun {
    passed: bool,
    calls: Vec<Call>,
    log: String,
}

/// A pull request that bumps a chart: without the rebuilt tree, then with it, then with an
/// invalid spec. `run` runs the CI's steps on a clone at the branch; its second argument says
/// whether the listing should hold an earlier comment (`update`) or not (`first`).
fn scenarios(sandbox: &Sandbox, run: &dyn Fn(&Path, &str) -> JobRun) {
    let rebuilt: &dyn Fn(&Path) = &|d| build(d);
    sandbox.push_branch("bump", &[("bump harbor", &bump)]);
    let JobRun { passed, calls, log } = run(&sandbox.clone_at("bump"), "first");
    assert!(!passed, "the tree is stale: the job fails\n{log}");
    let body = sent_body(&calls);
    assert!(body.contains("~ HelmRelease harbor/harbor"), "{body}");
    assert!(body.contains("release/helmrelease.yaml"), "{body}");
    assert!(body.contains("`gitopsc check` failed"), "{body}");

    sandbox.push_branch("bump", &[("bump harbor", &bump), ("rebuild", rebuilt)]);
    let JobRun { passed, calls, log } = run(&sandbox.clone_at("bump"), "update");
    assert!(passed, "the tree is current: the job passes\n{log}");
    let body = sent_body(&calls);
    assert!(body.contains("~ HelmRelease harbor/harbor"), "{body}");
    assert!(!body.contains("`gitopsc check` failed"), "{body}");

    sandbox.push_branch("broken", &[("break the spec", &break_spec)]);
    let JobRun { passed, calls, log } = run(&sandbox.clone_at("broken"), "first");
    assert!(!passed, "{log}");
    let body = sent_body(&calls);
    assert!(body.contains("gitopsc could not render the change"), "{body}");
    assert!(body.contains("expected a string here, found number"), "{body}");
}

#[test]
fn the_github_workflow_comments_the_diff_and_fails_on_a_stale_tree() {
    if !common::tool_runs("jq", &["--version"]) {
        common::skipped("jq not installed (the recipes read the comment lists with it)");
        return;
    }
    let sandbox = Sandbox::new();
    let job = check_workflow(
        &recipe("github-actions.yml"),
        "review",
        &["install", "review", "comment", "verdict"],
    );
    let ours = format!(r#"{{"id": 555, "body": "{MARKER}\n### old"}}"#);
    scenarios(&sandbox, &|dir, kind| {
        // Two pages of comments; on an update, this job's comment is on the second.
        let pages = match kind {
            "update" => {
                format!(r#"[{{"id": 1, "body": "lgtm"}}][{ours}, {{"id": 2, "body": "x {MARKER}"}}]"#)
            }
            _ => r#"[{"id": 1, "body": "lgtm"}][]"#.to_string(),
        };
        sandbox.answers(&[("gh-comments", &pages)]);
        let env = [("GITHUB_BASE_REF", "main"), ("GITHUB_REPOSITORY", "acme/infra")];
        let (passed, ran) = run_github_job(&sandbox, &job, dir, &env);
        let log: String = ran
            .iter()
            .map(|(id, r)| format!("--- {id} ({})\n{}", r.code, r.output))
            .collect();
        assert_eq!(ran["comment"].code, 0, "{log}");
        let calls = sandbox.calls();
        assert!(calls.iter().all(|c| c.program == "gh"), "{calls:#?}");
        let list = &calls[0];
        assert_eq!(
            list.args,
            ["api", "--paginate", "repos/acme/infra/issues/7/comments"]
        );
        let send = calls.iter().find(|c| c.body.is_some()).expect("a comment sent");
        let (method, url) = if kind == "update" {
            ("PATCH", "repos/acme/infra/issues/comments/555")
        } else {
            ("POST", "repos/acme/infra/issues/7/comments")
        };
        assert!(has_arg(send, method) && has_arg(send, url), "{send:#?}");
        JobRun { passed, calls, log }
    });
}

#[test]
fn the_gitlab_job_notes_the_diff_and_fails_on_a_stale_tree() {
    if !common::tool_runs("jq", &["--version"]) {
        common::skipped("jq not installed (the recipes read the note lists with it)");
        return;
    }
    let sandbox = Sandbox::new();
    let job = &recipe("gitlab-ci.yml")["gitopsc"];
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let script = script.join("\n");
    let mut env = sandbox.base_env();
    for (k, v) in job["variables"].as_object().unwrap() {
        env.insert(k.clone(), v.as_str().expect("plain variables").into());
    }
    let base = git(&sandbox.dir.join("seed"), &["rev-parse", "main"]);
    let gitlab: Map<String, Value> = serde_json::from_value(serde_json::json!({
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
        "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7", "GITOPSC_NOTE_TOKEN": "stub-token",
    }))
    .unwrap();
    env.extend(
        gitlab
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())),
    );
    let notes = "https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes";
    let ours = format!(r#"[{{"id": 555, "body": "{MARKER}\n### old"}}]"#);
    scenarios(&sandbox, &|dir, kind| {
        // Notes come a page at a time; on an update, this job's note is on the second page.
        let first_page = r#"[{"id": 1, "body": "lgtm"}]"#;
        match kind {
            "update" => sandbox.answers(&[("notes-1", first_page), ("notes-2", &ours)]),
            _ => sandbox.answers(&[("notes-1", first_page)]),
        }
        let ran = shell(dir, &script, &env);
        let calls = sandbox.calls();
        assert!(calls.iter().all(|c| c.program == "curl"), "{calls:#?}");
        assert!(
            calls.iter().all(|c| has_arg(c, "PRIVATE-TOKEN: stub-token")),
            "{calls:#?}"
        );
        let send = calls.iter().find(|c| c.body.is_some()).expect("a note sent");
        let (method, url) = if kind == "update" {
            ("PUT", format!("{notes}/555"))
        } else {
            ("POST", notes.to_string())
        };
        assert!(
            has_arg(send, method) && has_arg(send, &url),
            "{send:#?}\n{}",
            ran.output
        );
        JobRun {
            passed: ran.code == 0,
            calls,
            log: ran.output,
        }
    });

    // A fork's pipeline has no token: no note, the verdict stands.
    env.remove("GITOPSC_NOTE_TOKEN");
    sandbox.answers(&[]);
    let ran = shell(&sandbox.clone_at("bump"), &script, &env);
    assert_eq!(ran.code, 0, "{}", ran.output);
    assert!(
        ran.output.contains("GITOPSC_NOTE_TOKEN is not set"),
        "{}",
        ran.output
    );
    assert!(sandbox.calls().is_empty());
}

#[test]
fn the_renovate_rebuild_job_pushes_the_rebuilt_tree_once() {
    let sandbox = Sandbox::new();
    let workflow = recipe("renovate-rebuild.yml");
    assert_eq!(workflow["on"]["push"]["branches"][0], "renovate/**");
    assert_eq!(workflow["permissions"]["contents"], "write");
    let job = check_workflow(&workflow, "rebuild", &["install", "rebuild"]);
    let branch = "renovate/harbor-1.x";
    sandbox.push_branch(branch, &[("Update Helm release harbor to v1.16.2", &bump)]);
    let origin = sandbox.dir.join("origin.git");
    let bumped = git(&origin, &["rev-parse", branch]);
    let env = [("GITHUB_REF_NAME", branch)];

    let (passed, ran) = run_github_job(&sandbox, &job, &sandbox.clone_at(branch), &env);
    assert!(passed, "{}", ran["rebuild"].output);
    let pushed = git(&origin, &["rev-parse", branch]);
    assert_ne!(pushed, bumped, "a commit was pushed");
    assert_eq!(git(&origin, &["rev-parse", &format!("{pushed}^")]), bumped);
    let author = git(&origin, &["log", "-1", "--format=%ae", &pushed]);
    let docs = std::fs::read_to_string(root().join("docs/renovate.md")).unwrap();
    assert!(
        docs.contains(&format!("\"gitIgnoredAuthors\": [\"{author}\"]")),
        "docs/renovate.md names `{author}`"
    );
    let changed = git(&origin, &["diff", "--name-only", &bumped, &pushed]);
    assert!(changed.lines().all(|p| p.starts_with("kubernetes/")), "{changed}");
    // The pull request's check passes on what was pushed.
    let fresh = sandbox.clone_at(branch);
    common::gitopsc_in(
        &fresh,
        &["check", "cluster.yaml", "--out", "kubernetes", "--quiet"],
    )
    .expect(0);

    // The push starts the workflow again: the tree is current, nothing is pushed.
    let (passed, ran) = run_github_job(&sandbox, &job, &fresh, &env);
    assert!(passed, "{}", ran["rebuild"].output);
    assert!(
        ran["rebuild"].output.contains("nothing to push"),
        "{}",
        ran["rebuild"].output
    );
    assert_eq!(git(&origin, &["rev-parse", branch]), pushed);
}
