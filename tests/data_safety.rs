//! Data services that would pass validation and then fail in the cluster, or lose something
//! later: reserved names, extensions the image lacks, the deprecated in-tree backup, backups
//! of kept clusters, declared secret stores, chart value keys, timeouts. Each test names the
//! fixture it reads (under `tests/errors/`, snapshotted by `tests/cli_errors.rs` and `tests/cli_warnings.rs`) or writes its spec.

mod common;

use common::{gitopsc, root};
use std::path::Path;

/// `validate` of `rel` (relative to the crate root): exit code and stderr.
fn validate(rel: &str) -> (i32, String) {
    let run = gitopsc(&["--color", "never", "validate", rel]);
    (run.code, run.stderr)
}

/// Asserts that `stderr` holds `severity: message` located at `rel:line:col`.
fn assert_at(stderr: &str, severity: &str, message: &str, rel: &str, at: &str) {
    let block = stderr
        .split("\n\n")
        .find(|b| b.starts_with(&format!("{severity}[GSC")) && b.contains(&format!("]: {message}")))
        .unwrap_or_else(|| panic!("no `{severity}: {message}` in:\n{stderr}"));
    assert!(
        block.contains(&format!("[{rel}:{at}]")),
        "`{message}` is not at {rel}:{at}:\n{block}"
    );
}

/// The rendered file of `spec` whose path ends with `suffix`.
fn rendered(spec: &Path, suffix: &str) -> String {
    let compiled = gitopsc::compile(spec, None).unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
    let (_, bytes) = compiled
        .tree
        .iter()
        .find(|(path, _)| path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} in the tree of {}", spec.display()));
    String::from_utf8(bytes.clone()).unwrap()
}

/// Writes `text` as `cluster.yaml` in a new temporary folder.
fn spec_in(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), text).unwrap();
    dir
}

// ------------------------------------------------------------------------------------------
// 19.2: reserved names

#[test]
fn reserved_database_and_role_names_are_refused_at_their_line() {
    let rel = "tests/errors/reserved-database-names.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 2, "{stderr}");
    assert_at(
        &stderr,
        "error",
        "`template1` is a template database",
        rel,
        "17:17",
    );
    assert_at(
        &stderr,
        "error",
        "the database name `postgres` is reserved",
        rel,
        "20:19",
    );
    assert_at(
        &stderr,
        "error",
        "the role name `postgres` is reserved",
        rel,
        "22:19",
    );
}

#[test]
fn a_kubeblocks_template_database_is_refused() {
    let rel = "tests/errors/kubeblocks-template-database.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 2, "{stderr}");
    assert_at(
        &stderr,
        "error",
        "`template0` is a template database",
        rel,
        "17:17",
    );
}

#[test]
fn an_initdb_database_postgres_is_a_warning_that_says_what_is_skipped() {
    let rel = "tests/errors/warnings/initdb-database-postgres.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 0, "{stderr}");
    assert_at(
        &stderr,
        "warning",
        "the application database `postgres` exists",
        rel,
        "16:17",
    );
    assert!(stderr.contains("skips its owner and `postInitSQL`"), "{stderr}");
}

// ------------------------------------------------------------------------------------------
// 19.11: backups and extensions

#[test]
fn extensions_the_image_lacks_are_warnings() {
    let rel = "tests/errors/warnings/extension-not-in-image.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 0, "{stderr}");
    assert_at(
        &stderr,
        "warning",
        "the CloudNative-PG `standard` image does not ship the extension `postgis`",
        rel,
        "18:61",
    );
    assert_at(
        &stderr,
        "warning",
        "the CloudNative-PG `minimal` image does not ship the extension `vector`",
        rel,
        "25:62",
    );
    // `pg_trgm` (contrib) is in every image, `vector` in `standard`.
    assert_eq!(stderr.matches("warning[").count(), 2, "{stderr}");
}

#[test]
fn a_scheduled_backup_starts_at_once_and_is_kept_with_its_cluster() {
    let spec = root().join("examples/infra/cluster.yaml");
    let backup = rendered(&spec, "postgres-scheduledbackup.yaml");
    assert!(backup.contains("\n  immediate: true\n"), "{backup}");
    assert!(
        backup.contains("kustomize.toolkit.fluxcd.io/prune: disabled"),
        "the ScheduledBackup of a prune-protected cluster is protected too:\n{backup}"
    );
    let store = rendered(&spec, "postgres-objectstore.yaml");
    assert!(
        store.contains("kustomize.toolkit.fluxcd.io/prune: disabled"),
        "{store}"
    );
    let runbook = rendered(&spec, "registry/harbor/README.md");
    assert!(
        runbook.contains("`harbor-pg-scheduled` (and the ObjectStore) are prune-protected like the cluster"),
        "the runbook says the backups outlive the app:\n{runbook}"
    );
}

// ------------------------------------------------------------------------------------------
// 19.17: the deprecated in-tree backup

#[test]
fn the_legacy_backup_warns_with_the_migration_path_and_gets_a_system_image() {
    let rel = "tests/errors/warnings/legacy-backup.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 0, "{stderr}");
    assert_at(
        &stderr,
        "warning",
        "`legacy: true` uses CloudNative-PG's in-tree",
        rel,
        "26:17",
    );
    assert!(
        stderr.contains("Migrating from Built-in CloudNativePG Backup"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("warning[").count(), 1, "{stderr}");
    let cluster = rendered(&root().join(rel), "postgres-cluster.yaml");
    assert!(
        cluster.contains("ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie"),
        "the in-tree backup needs barman-cloud, which only the system images carry:\n{cluster}"
    );
}

#[test]
fn the_legacy_backup_with_a_standard_image_warns_that_it_cannot_archive() {
    let rel = "tests/errors/warnings/legacy-backup-standard-image.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 0, "{stderr}");
    assert_at(
        &stderr,
        "warning",
        "the in-tree backup runs `barman-cloud`",
        rel,
        "20:14",
    );
}

// ------------------------------------------------------------------------------------------
// 19.10: what stays when an app leaves

/// A spec declaring a Vault ClusterSecretStore, with `apps` below it.
fn store_spec(apps: &str) -> String {
    format!(
        r#"apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata:
  name: infra
flux:
  external: [cluster-infra]
operators:
  externalSecrets: {{ external: cluster-infra, deployment: external-secrets, namespace: external-secrets }}
defaults:
  secretStore: vault
secretStores:
  - name: vault
    vault:
      server: https://vault.example.com
      path: secret
      auth: {{ kubernetes: {{ role: eso, serviceAccount: {{ name: eso, namespace: external-secrets }} }} }}
apps:
{apps}"#
    )
}

#[test]
fn a_declared_store_stays_when_its_last_app_leaves() {
    let with_app = spec_in(&store_spec(
        "  - name: web\n    secrets:\n      - { name: token, data: [{ key: token, remoteKey: web, property: token }] }\n",
    ));
    let without = spec_in(&store_spec("  - name: other\n"));
    for dir in [&with_app, &without] {
        let spec = dir.path().join("cluster.yaml");
        let store = rendered(&spec, "infrastructure/secret-stores/vault.yaml");
        assert!(store.contains("kind: ClusterSecretStore"), "{store}");
        let stores = rendered(&spec, "secret-stores.yaml");
        assert!(
            stores.contains("external-secrets"),
            "the stores wait for the External Secrets gate:\n{stores}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// 19.6, 19.7: what the Harbor chart reads

#[test]
fn harbor_with_a_sentinel_and_a_password_is_a_warning() {
    let rel = "tests/errors/warnings/harbor-sentinel-password.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 0, "{stderr}");
    assert_at(
        &stderr,
        "warning",
        "the harbor chart cannot use a Sentinel with a password",
        rel,
        "23:7",
    );
    assert!(stderr.contains("goharbor/harbor#14757"), "{stderr}");
    let runbook = rendered(&root().join(rel), "harbor/README.md");
    assert!(
        runbook.contains("Harbor cannot authenticate to Sentinel (goharbor/harbor#14757)"),
        "the runbook says so too:\n{runbook}"
    );
}

#[test]
fn chart_value_keys_the_chart_does_not_read_are_refused_with_a_suggestion() {
    let rel = "tests/errors/harbor-unknown-value-key.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 2, "{stderr}");
    assert_at(
        &stderr,
        "error",
        "the harbor chart 1.17.0 reads no `redis.external.trivyAdapterDatabaseIndex`",
        rel,
        "19:13",
    );
    assert!(stderr.contains("did you mean `trivyAdapterIndex`?"), "{stderr}");
    assert_at(
        &stderr,
        "error",
        "the harbor chart 1.17.0 reads no `redis.external.tlsOptions.verify`",
        rel,
        "20:41",
    );
    assert_at(
        &stderr,
        "error",
        "the harbor chart 1.17.0 reads no `database.external.sslMode`",
        rel,
        "22:23",
    );
    assert!(stderr.contains("did you mean `sslmode`?"), "{stderr}");
    assert_at(
        &stderr,
        "error",
        "the harbor chart 1.16.0 reads no `redis.external.tlsOptions`: it came with chart 1.17",
        rel,
        "31:13",
    );
    // `tlsOptions.enable` on 1.17 and the keys gitopsc wires are known.
    assert_eq!(stderr.matches("error[").count(), 4, "{stderr}");
}

#[test]
fn an_unknown_key_on_a_chart_version_outside_the_table_is_a_warning() {
    let rel = "tests/errors/warnings/harbor-unknown-value-key-new-chart.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 0, "{stderr}");
    assert_at(
        &stderr,
        "warning",
        "the harbor chart reads no `redis.external.trivyAdapterDatabaseIndex` in the versions gitopsc knows",
        rel,
        "19:13",
    );
    assert!(stderr.contains("did you mean `trivyAdapterIndex`?"), "{stderr}");
}

// ------------------------------------------------------------------------------------------
// 19.5: timeouts

#[test]
fn a_helm_timeout_longer_than_the_layer_waits_is_refused() {
    let rel = "tests/errors/helm-timeout-longer-than-layer.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 2, "{stderr}");
    assert_at(
        &stderr,
        "error",
        "`helm.timeout` 10m is longer than the Flux timeout of the app's release layer (5m, from `defaults.timeout`)",
        rel,
        "16:16",
    );
    let flat = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("set the app's `timeout: 10m`"), "{stderr}");
}

#[test]
fn an_app_timeout_shorter_than_the_bootstrap_is_a_warning() {
    let rel = "tests/errors/warnings/timeout-shorter-than-bootstrap.yaml";
    let (code, stderr) = validate(rel);
    assert_eq!(code, 0, "{stderr}");
    assert_at(
        &stderr,
        "warning",
        "`timeout` 5m is shorter than a CloudNative-PG cluster of 3 instances takes to bootstrap",
        rel,
        "13:14",
    );
    // The user's timeout is kept.
    let kustomization = rendered(&root().join(rel), "gitopsc/billing.yaml");
    assert!(kustomization.contains("\n  timeout: 5m\n"), "{kustomization}");
}

#[test]
fn the_default_data_layer_timeout_fits_the_bootstrap_of_every_instance() {
    let spec = |instances: u32| {
        format!(
            r#"apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata:
  name: infra
operators:
  cnpg: {{ external: cluster-infra, deployment: cnpg-controller-manager, namespace: cnpg-system }}
flux:
  external: [cluster-infra]
sources:
  helm:
    - {{ name: podinfo, url: https://stefanprodan.github.io/podinfo }}
apps:
  - name: billing
    postgres:
      version: "17.6"
      instances: {instances}
      storage: {{ size: 10Gi }}
      database: billing
    helm: {{ chart: podinfo, version: 6.9.0, source: podinfo }}
"#
        )
    };
    for (instances, data_timeout) in [(1, "5m"), (3, "15m"), (5, "25m")] {
        let dir = spec_in(&spec(instances));
        let flux = rendered(&dir.path().join("cluster.yaml"), "gitopsc/billing.yaml");
        let layers: Vec<&str> = flux.split("\n---\n").collect();
        let data = layers
            .iter()
            .find(|l| l.contains("name: billing-data\n"))
            .unwrap_or_else(|| panic!("a data layer in:\n{flux}"));
        let release = layers
            .iter()
            .find(|l| l.contains("name: billing\n"))
            .unwrap_or_else(|| panic!("a release layer in:\n{flux}"));
        assert!(
            data.contains(&format!("\n  timeout: {data_timeout}\n")),
            "{instances} instances: data layer\n{data}"
        );
        assert!(release.contains("\n  timeout: 5m\n"), "{release}");
    }
}
