//! `--format json`: every command's report is one JSON document on stdout that validates
//! against the committed schema, is deterministic, and keeps the exit codes of text mode.

mod common;

use common::{gitopsc, gitopsc_env, root, s};
use serde_json::Value;
use std::path::Path;

/// The committed schema of the format.
fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas/json-output.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// Runs `gitopsc ARGS --format json` in `dir` and checks the contract: the exit code, stdout
/// is one JSON document valid against the schema (and nothing else), stderr is empty. Runs it
/// twice: the bytes are the same.
fn json_run(dir: &Path, args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = gitopsc_env(dir, &all, &[]).expect(code);
    assert_eq!(run.stderr, "", "{all:?}: stderr in json mode");
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{all:?}: stdout is not one JSON document ({e}):\n{}", run.stdout));
    let errors: Vec<String> = validator().iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{all:?}: {errors:?}\n{}", run.stdout);
    assert_eq!(report["schemaVersion"], 1);
    assert_eq!(report["exitCode"], code);
    assert_eq!(report["ok"], code == 0);
    if !args.contains(&"build") {
        let again = gitopsc_env(dir, &all, &[]).expect(code);
        assert_eq!(again.stdout, run.stdout, "{all:?}: not deterministic");
    }
    report
}

fn codes(report: &Value) -> Vec<&str> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect()
}

#[test]
fn the_schema_file_is_current() {
    let run = gitopsc(&["schema", "--output-json"]).expect(0);
    let file = std::fs::read_to_string(root().join("schemas/json-output.schema.json")).unwrap_or_default();
    assert!(
        run.stdout == file,
        "schemas/json-output.schema.json is stale: run `cargo run -- schema --output-json > schemas/json-output.schema.json`"
    );
}

#[test]
fn validate_reports_a_valid_spec_and_an_invalid_one() {
    let dir = root();
    let ok = json_run(&dir, &["validate", "examples/infra/cluster.yaml"], 0);
    assert_eq!(ok["command"], "validate");
    assert_eq!(ok["model"]["cluster"], "infra");
    assert!(codes(&ok).contains(&"GSC0422"), "{ok}");
    let bad = json_run(&dir, &["validate", "tests/errors/five-mistakes.yaml"], 2);
    assert_eq!(
        codes(&bad),
        ["GSC0205", "GSC0302", "GSC0201", "GSC0205", "GSC0305"],
        "{bad}"
    );
    let first = &bad["diagnostics"][0];
    assert_eq!(first["file"], "tests/errors/five-mistakes.yaml");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(7), Some(13))
    );
    assert_eq!(first["severity"], "error");
    let missing = json_run(&dir, &["validate", "tests/no-such-spec.yaml"], 2);
    assert_eq!(codes(&missing), ["GSC0101"]);
    assert!(missing["diagnostics"][0].get("file").is_none());
}

#[test]
fn build_check_and_diff_report_changes_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let spec = root().join("tests/fixtures/minimal/cluster.yaml");
    let out = dir.path().join("out");
    let (spec, out) = (s(&spec), s(&out));
    // Nothing built yet: check is stale, diff lists what a build adds.
    let stale = json_run(dir.path(), &["check", spec, "--out", out], 1);
    assert_eq!(stale["command"], "check");
    assert!(
        stale["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["change"] == "added")
    );
    let diff = json_run(dir.path(), &["diff", spec, "--out", out], 1);
    assert!(
        diff["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["change"] == "added" && o["object"]["kind"] == "HelmRelease"),
        "{diff}"
    );
    let built = json_run(dir.path(), &["build", spec, "--out", out], 0);
    let written = built["files"]["written"].as_u64().unwrap();
    assert!(written > 0 && written == built["files"]["total"].as_u64().unwrap());
    // Built: current, the fast path included.
    let current = json_run(dir.path(), &["check", spec, "--out", out], 0);
    assert_eq!(current["changes"], Value::Array(Vec::new()));
    let again = json_run(dir.path(), &["build", spec, "--out", out], 0);
    assert_eq!(again["files"]["written"], 0);
    json_run(dir.path(), &["diff", spec, "--out", out], 0);
    // An invalid spec: exit 2 and its diagnostics, for each command.
    let bad = root().join("tests/errors/unknown-field.yaml");
    for command in ["build", "check", "diff"] {
        let report = json_run(dir.path(), &[command, s(&bad), "--out", out], 2);
        assert_eq!(codes(&report), ["GSC0201"], "{command}");
    }
    // An output root that is a file: exit 2 with the output error.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let report = json_run(dir.path(), &["check", spec, "--out", s(&file)], 2);
    assert_eq!(codes(&report), ["GSC0701"]);
}

#[test]
fn the_loud_sections_are_data() {
    let spec = |extra: &str| {
        format!(
            "apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata: {{name: demo}}
operators:
  cnpg: {{external: infra, deployment: cnpg-controller-manager, namespace: cnpg-system}}
flux: {{external: [infra]}}
apps:
  - name: web
    postgres: {{instances: 1, version: \"17.6\", storage: {{size: 1Gi}}, database: web{extra}}}
    workloads:
      - {{name: web, kind: Deployment, image: ghcr.io/example/web:1.0.0}}
"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.yaml");
    std::fs::write(&path, spec("")).unwrap();
    json_run(dir.path(), &["build", s(&path), "--out", "out"], 0);
    std::fs::write(&path, spec(", name: web-db")).unwrap();
    for command in ["diff", "check"] {
        let report = json_run(dir.path(), &[command, s(&path), "--out", "out"], 1);
        let renamed = &report["databases"][0];
        assert_eq!(renamed["change"], "renamed", "{report}");
        assert_eq!(renamed["from"]["name"], "web-pg");
        assert_eq!(renamed["to"]["name"], "web-db");
        assert!(
            report["leaving"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["object"]["kind"] == "Cluster" && l["protected"] == true),
            "{report}"
        );
    }
}

/// Runs git in `dir`, which must succeed.
fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn paths(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

#[test]
fn a_staged_check_reports_what_the_commit_would_not_hold() {
    if !common::tool_runs("git", &["--version"]) {
        common::skipped("check --staged --format json: git is not installed");
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    git(dir, &["init", "-q"]);
    std::fs::copy(
        root().join("tests/fixtures/minimal/cluster.yaml"),
        dir.join("cluster.yaml"),
    )
    .unwrap();
    gitopsc_env(dir, &["build", "cluster.yaml", "--out", "k8s"], &[]).expect(0);
    git(dir, &["add", "-A"]);
    let staged = ["check", "cluster.yaml", "--out", "k8s", "--staged"];
    let report = json_run(dir, &staged, 0);
    assert_eq!(
        (report["command"].as_str(), report["spec"].as_str()),
        (Some("check"), Some("cluster.yaml"))
    );
    assert_eq!(report["out"], "k8s");
    assert!(paths(&report["staged"]["unstaged"]).is_empty(), "{report}");
    // A new app built but its new files not staged (what `git commit -a` does).
    let spec = dir.join("cluster.yaml");
    let app = "  - name: second\n    helm: {chart: podinfo, version: 6.7.1, source: podinfo}\n";
    std::fs::write(&spec, std::fs::read_to_string(&spec).unwrap() + app).unwrap();
    gitopsc_env(dir, &["build", "cluster.yaml", "--out", "k8s"], &[]).expect(0);
    git(dir, &["add", "-u"]);
    let report = json_run(dir, &staged, 1);
    assert!(
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["path"] == "workloads/second/helmrelease.yaml" && c["change"] == "added"),
        "{report}"
    );
    assert!(
        paths(&report["staged"]["untracked"]).contains(&"k8s/workloads/second/helmrelease.yaml"),
        "{report}"
    );
    // All staged, then the spec changed on disk only: the staged pair is current, the
    // unstaged spec fails the check.
    git(dir, &["add", "k8s"]);
    json_run(dir, &staged, 0);
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap() + "  - name: third\n",
    )
    .unwrap();
    let report = json_run(dir, &staged, 1);
    assert!(report["changes"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(paths(&report["staged"]["unstaged"]), ["cluster.yaml"], "{report}");
    // A staged spec that does not compile: its diagnostics name the repository's path.
    std::fs::write(
        &spec,
        "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: x}\nbogus: 1\n",
    )
    .unwrap();
    git(dir, &["add", "cluster.yaml"]);
    let report = json_run(dir, &staged, 2);
    assert_eq!(report["diagnostics"][0]["file"], "cluster.yaml", "{report}");
    assert_eq!(report["diagnostics"][0]["line"], 4, "{report}");
    // Outside a repository, the git failure is a diagnostic too.
    let elsewhere = tempfile::tempdir().unwrap();
    let report = json_run(elsewhere.path(), &staged, 2);
    assert_eq!(report["diagnostics"][0]["code"], "GSC0706", "{report}");
}

#[test]
fn a_fleet_reports_once_with_each_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("fleet.yaml");
    std::fs::copy(root().join("tests/fleets/two-clusters.yaml"), &spec).unwrap();
    let (spec, out) = (s(&spec), "out");
    let clusters = |report: &Value| -> Vec<String> {
        report["clusters"]
            .as_array()
            .unwrap_or_else(|| panic!("no clusters: {report}"))
            .iter()
            .map(|c| c["cluster"].as_str().unwrap().to_string())
            .collect()
    };
    let valid = json_run(dir.path(), &["validate", spec], 0);
    assert_eq!(valid["fleet"], "acme");
    assert_eq!(clusters(&valid), ["staging", "production"]);
    assert_eq!(valid["clusters"][1]["report"]["model"]["cluster"], "production");
    let stale = json_run(dir.path(), &["check", spec, "--out", out], 1);
    assert_eq!(stale["clusters"][0]["report"]["exitCode"], 1);
    assert!(stale["changes"].as_array().unwrap().is_empty(), "{stale}");
    let built = json_run(dir.path(), &["build", spec, "--out", out], 0);
    for cluster in built["clusters"].as_array().unwrap() {
        assert!(
            cluster["report"]["files"]["written"].as_u64().unwrap() > 0,
            "{built}"
        );
    }
    let one = json_run(
        dir.path(),
        &["check", spec, "--out", out, "--cluster", "production"],
        0,
    );
    assert_eq!(clusters(&one), ["production"]);
    // A cluster the fleet does not have: one report, its error.
    let wrong = json_run(dir.path(), &["diff", spec, "--out", out, "--cluster", "prod"], 2);
    assert_eq!(codes(&wrong), ["GSC1002"]);
    // A cluster that runs an app the fleet does not define: the fleet's error, once.
    let text = std::fs::read_to_string(spec).unwrap();
    std::fs::write(
        spec,
        text.replacen("      - name: web\n", "      - name: webb\n", 1),
    )
    .unwrap();
    let bad = json_run(dir.path(), &["build", spec, "--out", out], 2);
    assert!(codes(&bad).contains(&"GSC1001"), "{bad}");
    assert!(bad.get("clusters").is_none(), "{bad}");
}

#[test]
fn show_and_a_promotion_report_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("fleet.yaml");
    std::fs::copy(root().join("tests/fleets/two-clusters.yaml"), &spec).unwrap();
    let spec = s(&spec);
    let shown = json_run(dir.path(), &["show", spec, "production", "web"], 0);
    assert_eq!(
        (shown["command"].as_str(), shown["fleet"].as_str()),
        (Some("show"), Some("acme"))
    );
    let app = &shown["shown"];
    assert_eq!(
        (app["cluster"].as_str(), app["app"].as_str()),
        (Some("production"), Some("web"))
    );
    assert_eq!(app["value"]["helm"]["values"]["replicaCount"], 3, "{shown}");
    let place = |pointer: &str| {
        app["places"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pointer"] == pointer)
            .and_then(|p| p["place"].as_str())
            .unwrap_or_else(|| panic!("no place for {pointer}: {shown}"))
            .to_string()
    };
    assert!(
        place("/helm/values/replicaCount").ends_with("(cluster `production`)"),
        "{shown}"
    );
    assert!(place("/helm/chart").ends_with("(app `web`)"), "{shown}");
    let promotion = json_run(
        dir.path(),
        &["diff", spec, "--cluster", "production", "--against", "staging"],
        1,
    );
    let p = &promotion["promotion"];
    assert_eq!(
        (p["cluster"].as_str(), p["against"].as_str()),
        (Some("production"), Some("staging"))
    );
    let web = p["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == "web")
        .unwrap();
    let replicas = web["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "helm.values.replicaCount")
        .unwrap_or_else(|| panic!("{promotion}"));
    assert_eq!(replicas["change"], "changed");
    assert_eq!(
        (replicas["value"].as_i64(), replicas["againstValue"].as_i64()),
        (Some(3), Some(1))
    );
    assert!(
        replicas["place"].as_str().unwrap().contains("fleet.yaml:"),
        "{promotion}"
    );
    // Errors are diagnostics of the report.
    let unknown = json_run(dir.path(), &["show", spec, "prod", "web"], 2);
    assert_eq!(unknown["diagnostics"][0]["severity"], "error", "{unknown}");
    let itself = json_run(
        dir.path(),
        &["diff", spec, "--cluster", "staging", "--against", "staging"],
        2,
    );
    assert!(itself["promotion"].is_null(), "{itself}");
}
