//! Pod Security as a fact of what runs in a namespace (docs/pod-security.md): gitopsc's own
//! workloads keep `restricted`, a KubeBlocks data service gets `baseline` (an explicit
//! `restricted` is refused), a chart gitopsc cannot vouch for is enforced at `baseline` and
//! audited at `restricted` unless its app asks, a shared namespace gets the least level, and
//! the `gitopsc init` starter passes the level it enforces.

mod common;

use common::{gitopsc_in, read_tree, serde_load_all};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn run(dir: &Path, spec: &str, args: &[&str]) -> common::Run {
    std::fs::write(dir.join("cluster.yaml"), spec).unwrap();
    let mut all = vec!["--color", "never"];
    all.extend_from_slice(args);
    all.push("cluster.yaml");
    gitopsc_in(dir, &all)
}

/// Builds `spec`: the rendered tree and what `build` printed on stderr.
fn build(spec: &str) -> (BTreeMap<String, String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), spec, &["build", "--out", "out"]).expect(0);
    let tree = read_tree(&dir.path().join("out"))
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
        .collect();
    (tree, out.stderr)
}

/// The (enforce, audit, warn) labels of the Namespace in `file`.
fn levels(tree: &BTreeMap<String, String>, file: &str) -> (String, String, String) {
    let text = tree
        .get(file)
        .unwrap_or_else(|| panic!("no {file}: {:?}", tree.keys()));
    let doc = &serde_load_all(text).unwrap()[0];
    let label = |mode: &str| {
        doc["metadata"]["labels"][format!("pod-security.kubernetes.io/{mode}")]
            .as_str()
            .unwrap()
            .to_string()
    };
    (label("enforce"), label("audit"), label("warn"))
}

fn three(enforce: &str, report: &str) -> (String, String, String) {
    (enforce.into(), report.into(), report.into())
}

const HEAD: &str = "apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata:
  name: test
flux:
  version: \"2.9\"
  external: [infra]
defaults:
  podSecurity: restricted
sources:
  helm:
    - { name: charts, url: https://charts.example.com }
operators:
  kubeblocks: { external: infra, deployment: kubeblocks, namespace: kb-system }
  cnpg: { external: infra, deployment: cnpg, namespace: cnpg-system }
";

const WORKLOAD: &str = "    workloads:
      - name: web
        kind: Deployment
        image: registry.example.com/web:1.0.0
        securityContext: { runAsUser: 1000 }
";

#[test]
fn own_workloads_and_cloudnative_pg_keep_restricted() {
    let spec = format!(
        "{HEAD}apps:
  - name: shop
    postgres: {{ provider: cnpg, instances: 1, version: \"17\", database: shop, storage: {{ size: 1Gi }} }}
{WORKLOAD}"
    );
    let (tree, stderr) = build(&spec);
    assert_eq!(
        levels(&tree, "workloads/shop/data/namespace.yaml"),
        three("restricted", "restricted")
    );
    assert!(!stderr.contains("GSC0605"), "{stderr}");
}

#[test]
fn a_kubeblocks_data_service_gets_baseline_and_its_runbook_says_why() {
    let spec = format!(
        "{HEAD}apps:
  - name: shop
    postgres: {{ provider: kubeblocks, instances: 1, version: 16.4.0, database: shop, storage: {{ size: 1Gi }} }}
"
    );
    let (tree, stderr) = build(&spec);
    assert_eq!(
        levels(&tree, "workloads/shop/data/namespace.yaml"),
        three("baseline", "baseline")
    );
    assert!(
        stderr.contains("`defaults.podSecurity: restricted` is not enforced in namespaces `shop` (baseline)")
            && stderr
                .contains("app `shop` runs a KubeBlocks data service, whose addon runs the database as root"),
        "{stderr}"
    );
    let runbook = &tree["workloads/shop/README.md"];
    assert!(
        runbook.contains("Namespace `shop` enforces Pod Security `baseline`")
            && runbook.contains(
                "run the database as root (`runAsUser: 0`), which `restricted` refuses and `baseline` allows"
            ),
        "{runbook}"
    );
}

#[test]
fn an_explicit_restricted_beside_kubeblocks_is_refused() {
    let spec = format!(
        "{HEAD}apps:
  - name: shop
    podSecurity: restricted
    redis: {{ provider: kubeblocks, version: 7.2.4, storage: {{ size: 1Gi }} }}
"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &spec, &["validate"]).expect(2);
    assert!(
        out.stderr.contains(
            "error[GSC0604]: app `shop` runs a KubeBlocks data service, which Pod Security `restricted` refuses"
        ) && out.stderr.contains("run the database as root")
            && out.stderr.contains("podSecurity: baseline"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unknown_chart_is_enforced_at_baseline_and_audited_at_restricted() {
    let spec = format!(
        "{HEAD}apps:
  - name: kafka
    helm: {{ chart: strimzi-kafka-operator, version: 0.45.0, source: charts }}
"
    );
    let (tree, stderr) = build(&spec);
    assert_eq!(
        levels(&tree, "workloads/kafka/namespace.yaml"),
        three("baseline", "restricted")
    );
    assert!(
        stderr.contains(
            "warning[GSC0605]: `defaults.podSecurity: restricted` is not enforced in namespaces `kafka` (baseline)"
        ) && stderr.contains("chart `strimzi-kafka-operator`, not known to pass `restricted`"),
        "{stderr}"
    );
    let dir = tempfile::tempdir().unwrap();
    let validate = run(dir.path(), &spec, &["validate"]).expect(0);
    assert!(
        validate.stderr.contains("warning[GSC0605]: ")
            && validate.stderr.contains("is not enforced in namespaces `kafka`"),
        "{}",
        validate.stderr
    );

    // Asked for explicitly, the level is enforced as written and nothing is said.
    let explicit = spec.replace(
        "  - name: kafka\n",
        "  - name: kafka\n    podSecurity: restricted\n",
    );
    let (tree, stderr) = build(&explicit);
    assert_eq!(
        levels(&tree, "workloads/kafka/namespace.yaml"),
        three("restricted", "restricted")
    );
    assert!(!stderr.contains("GSC0605"), "{stderr}");
}

#[test]
fn a_shared_namespace_gets_the_least_level_any_app_needs() {
    let spec = format!(
        "{HEAD}apps:
  - name: web
    namespace: shop
{WORKLOAD}  - name: search
    namespace: shop
    helm: {{ chart: opensearch, version: 2.0.0, source: charts }}
"
    );
    let (tree, _) = build(&spec);
    let namespaces: Vec<&String> = tree.keys().filter(|p| p.ends_with("namespace.yaml")).collect();
    assert_eq!(namespaces, ["workloads/web/namespace.yaml"]);
    assert_eq!(
        levels(&tree, "workloads/web/namespace.yaml"),
        three("baseline", "restricted")
    );
}

/// The HelmRelease values of the starter's podinfo.
fn starter_values(tree: &BTreeMap<String, String>) -> Value {
    let release = &serde_load_all(&tree["workloads/apps/podinfo/helmrelease.yaml"]).unwrap()[0];
    release["spec"]["values"].clone()
}

#[test]
fn the_init_starter_passes_the_level_it_enforces() {
    let dir = tempfile::tempdir().unwrap();
    let starter = gitopsc_in(dir.path(), &["init"]).expect(0).stdout;
    let (tree, stderr) = build(&starter);
    assert!(!stderr.contains("warning"), "the starter warns: {stderr}");
    assert_eq!(
        levels(&tree, "workloads/apps/podinfo/namespace.yaml"),
        three("restricted", "restricted")
    );
    // podinfo's chart puts `podSecurityContext` on the pod and `securityContext` on its
    // container; `restricted` needs all of these (and a numeric user: the image's is `app`).
    let values = starter_values(&tree);
    let pod = &values["podSecurityContext"];
    let container = &values["securityContext"];
    assert_eq!(pod["runAsNonRoot"], Value::Bool(true), "{values}");
    let uid = pod["runAsUser"]
        .as_u64()
        .unwrap_or_else(|| panic!("no numeric runAsUser: {values}"));
    assert_ne!(uid, 0, "{values}");
    assert_eq!(pod["seccompProfile"]["type"], "RuntimeDefault", "{values}");
    assert_eq!(
        container["allowPrivilegeEscalation"],
        Value::Bool(false),
        "{values}"
    );
    assert_eq!(
        container["capabilities"]["drop"],
        serde_json::json!(["ALL"]),
        "{values}"
    );
    assert!(container["capabilities"].get("add").is_none(), "{values}");
}
