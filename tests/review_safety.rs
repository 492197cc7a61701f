//! What `check`, `diff` and `build` say loudly about changes that lose data or do not reach the
//! live cluster: a stateful object moving to another Flux Kustomization, a database cluster
//! renamed, a change CloudNative-PG reads only when it creates a cluster.

mod common;

use common::{gitopsc_env, s};
use std::path::Path;

/// A spec with the CloudNative-PG operator and app `web`; `web` holds `app` (YAML lines at
/// the app's indentation, e.g. `postgres:`), and `defaults` the spec's defaults.
fn spec(defaults: &str, app: &str) -> String {
    format!(
        "apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata: {{name: demo}}
defaults: {{{defaults}}}
sources:
  helm:
    - {{name: cloudnative-pg, url: oci://ghcr.io/cloudnative-pg/charts}}
operators:
  cnpg: {{app: cloudnative-pg}}
apps:
  - name: cloudnative-pg
    namespace: cnpg-system
    helm: {{chart: cloudnative-pg, version: 0.27.1, source: cloudnative-pg}}
  - name: web
{app}    workloads:
      - name: web
        kind: Deployment
        image: ghcr.io/example/web:1.0.0
"
    )
}

/// `web`'s Postgres cluster, with the lines `extra` (at the field indentation) added.
fn postgres(extra: &str) -> String {
    format!(
        "    postgres:\n      instances: 1\n      version: \"17.6\"\n      storage: {{size: 1Gi}}\n{extra}"
    )
}

/// Builds `before`, writes `after` in its place and runs `command` on it: (exit code, stdout).
fn after_build(dir: &Path, before: &str, after: &str, command: &str) -> (i32, String) {
    let path = dir.join("cluster.yaml");
    let out = dir.join("out");
    std::fs::write(&path, before).unwrap();
    gitopsc_env(dir, &["build", s(&path), "--out", s(&out)], &[("NO_COLOR", "1")]).expect(0);
    std::fs::write(&path, after).unwrap();
    let run = gitopsc_env(dir, &[command, s(&path), "--out", s(&out)], &[("NO_COLOR", "1")]);
    (run.code, run.stdout)
}

#[test]
fn a_namespace_moving_to_the_new_data_layer_is_called_out() {
    let (plain, with_data) = (
        spec("pruneProtection: false", ""),
        spec("pruneProtection: false", &postgres("      database: web\n")),
    );
    for command in ["diff", "check", "build"] {
        let dir = tempfile::tempdir().unwrap();
        let (code, stdout) = after_build(dir.path(), &plain, &with_data, command);
        assert_eq!(code, if command == "build" { 0 } else { 1 }, "{stdout}");
        assert!(
            stdout.contains("!! stateful objects move to another Flux Kustomization"),
            "{command}: {stdout}"
        );
        assert!(
            stdout.contains("DELETED Namespace web — moves from Flux Kustomization `web` to `web-data`"),
            "{command}: {stdout}"
        );
        assert!(stdout.contains("Do it in two commits"), "{command}: {stdout}");
    }
    // The way back: the namespace leaves `web-data`, whose Flux Kustomization goes.
    let dir = tempfile::tempdir().unwrap();
    let (_, stdout) = after_build(dir.path(), &with_data, &plain, "diff");
    assert!(
        stdout.contains("DELETED Namespace web — moves from Flux Kustomization `web-data` to `web`"),
        "{stdout}"
    );
}

#[test]
fn a_protected_namespace_that_moves_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, with_data) = (
        spec("pruneProtection: true", ""),
        spec("pruneProtection: true", &postgres("      database: web\n")),
    );
    let (_, stdout) = after_build(dir.path(), &plain, &with_data, "diff");
    assert!(
        stdout.contains("kept    Namespace web — moves from Flux Kustomization `web` to `web-data`"),
        "{stdout}"
    );
    assert!(!stdout.contains("DELETED"), "{stdout}");
    assert!(!stdout.contains("two commits"), "{stdout}");
}

#[test]
fn bootstrap_only_changes_say_the_live_cluster_does_not_follow() {
    let before = spec("", &postgres("      database: web\n"));
    let after = spec(
        "",
        &postgres("      database: shop\n      owner: shopper\n      encoding: SQL_ASCII\n      locale: C\n"),
    );
    for command in ["diff", "check", "build"] {
        let dir = tempfile::tempdir().unwrap();
        let (_, stdout) = after_build(dir.path(), &before, &after, command);
        assert!(
            stdout.contains("!! database changes the live cluster does not follow:"),
            "{command}: {stdout}"
        );
        let line = stdout
            .lines()
            .find(|l| l.contains("BOOTSTRAP"))
            .unwrap_or_else(|| panic!("{command}: {stdout}"));
        assert!(line.contains("Cluster web/web-pg"), "{line}");
        for field in ["database", "owner", "encoding"] {
            assert!(
                line.contains(&format!("`spec.bootstrap.initdb.{field}`")),
                "{line}"
            );
        }
        assert!(stdout.contains("NOTHING changes on the live cluster"), "{stdout}");
        assert!(stdout.contains("ALTER DATABASE"), "{stdout}");
    }
}

#[test]
fn a_renamed_cluster_is_a_new_empty_one() {
    let before = spec("", &postgres("      database: web\n"));
    let after = spec("", &postgres("      database: web\n      name: web-db\n"));
    for command in ["diff", "check", "build"] {
        let dir = tempfile::tempdir().unwrap();
        let (_, stdout) = after_build(dir.path(), &before, &after, command);
        assert!(
            stdout.contains(
                "RENAMED   Cluster web/web-pg → `web-db` — a renamed cluster is a NEW, EMPTY cluster"
            ),
            "{command}: {stdout}"
        );
        assert!(stdout.contains("bootstrap.initdb.import"), "{stdout}");
        // The old cluster leaves the tree as before: kept, since it is protected by default.
        assert!(
            stdout.contains("kept    Cluster web/web-pg"),
            "{command}: {stdout}"
        );
    }
}

#[test]
fn an_unchanged_bootstrap_says_nothing() {
    let before = spec("", &postgres("      database: web\n"));
    let after = spec(
        "",
        &postgres("      database: web\n      instances: 2\n").replace("      instances: 1\n", ""),
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout) = after_build(dir.path(), &before, &after, "diff");
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("~ Cluster web/web-pg"), "{stdout}");
    assert!(!stdout.contains("!!"), "{stdout}");
}
