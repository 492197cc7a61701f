//! What connects an app's objects to each other and to the cluster: a workload's Services when
//! its only port is also its metrics port, `helm.valuesFrom` references checked against the
//! app's own secrets, one source gate per chart repository, and the API-server egress rule
//! said for what it is.

mod common;

use common::gitopsc_in;
use std::collections::BTreeMap;
use std::path::Path;

/// Writes `spec` into a fresh folder and runs `gitopsc ARGS cluster.yaml` there.
fn run(dir: &Path, spec: &str, args: &[&str]) -> common::Run {
    std::fs::write(dir.join("cluster.yaml"), spec).unwrap();
    let mut all = vec!["--color", "never"];
    all.extend_from_slice(args);
    all.push("cluster.yaml");
    gitopsc_in(dir, &all)
}

/// Builds `spec` and returns the rendered tree (paths relative to the output root).
fn build(spec: &str) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), spec, &["build", "--out", "out"]).expect(0);
    common::read_tree(&dir.path().join("out"))
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
        .collect()
}

/// `validate` output (stdout + stderr) and its exit code.
fn validate(spec: &str) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), spec, &["validate"])
}

const HEAD: &str = "apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata:
  name: test
flux:
  version: \"2.9\"
";

#[test]
fn a_workload_whose_only_port_is_its_metrics_port_keeps_its_service() {
    let spec = format!(
        "{HEAD}apps:
  - name: web
    workloads:
      - name: web
        kind: Deployment
        image: registry.example.com/web:1.0.0
        service: true
        ports: [{{ name: http, port: 8080 }}]
        monitoring: {{ port: http }}
"
    );
    let tree = build(&spec);
    let services: Vec<&String> = tree.keys().filter(|p| p.contains("/service-")).collect();
    assert!(
        tree.contains_key("workloads/web/service-web.yaml"),
        "the main Service is missing: {services:?}"
    );
    let main = &tree["workloads/web/service-web.yaml"];
    assert!(
        main.contains("name: http") && main.contains("port: 8080"),
        "{main}"
    );
}

#[test]
fn each_chart_repository_gates_only_its_own_apps() {
    let spec = format!(
        "{HEAD}sources:
  helm:
    - {{ name: good, url: https://charts.good.example.com }}
    - {{ name: bad, url: https://charts.bad.example.com }}
apps:
  - name: one
    helm: {{ chart: one, version: 1.0.0, source: good }}
  - name: two
    helm: {{ chart: two, version: 1.0.0, source: bad }}
"
    );
    let tree = build(&spec);
    let sources = &tree["clusters/test/gitopsc/sources.yaml"];
    for repo in ["good", "bad"] {
        assert!(sources.contains(&format!("name: source-{repo}\n")), "{sources}");
        let dir = format!("infrastructure/sources/helm/{repo}");
        assert!(
            sources.contains(&format!("path: ./{dir}\n")),
            "{repo} has no folder of its own: {sources}"
        );
        assert!(tree[&format!("{dir}/helmrepository.yaml")].contains(&format!("name: {repo}\n")));
    }
    let one = &tree["clusters/test/gitopsc/one.yaml"];
    assert!(one.contains("- name: source-good\n"), "{one}");
    assert!(
        !one.contains("source-bad"),
        "app `one` waits for a repository it does not use: {one}"
    );
    let two = &tree["clusters/test/gitopsc/two.yaml"];
    assert!(
        two.contains("- name: source-bad\n") && !two.contains("source-good"),
        "{two}"
    );
}

/// An app whose workload talks to the API server behind a default deny; `network` goes under
/// `defaults:`.
fn api_client(network: &str) -> String {
    format!(
        "{HEAD}defaults:
  network: {network}
apps:
  - name: ctl
    networkPolicy: {{ defaultDeny: true }}
    serviceAccounts:
      - name: ctl
        rules: [{{ apiGroups: [\"\"], resources: [configmaps], verbs: [get] }}]
    workloads:
      - name: ctl
        kind: Deployment
        image: registry.example.com/ctl:1.0.0
        serviceAccount: ctl
"
    )
}

#[test]
fn egress_to_the_api_server_by_port_only_is_said_for_what_it_is() {
    let spec = api_client("{}");
    let tree = build(&spec);
    let policy = &tree["workloads/ctl/networkpolicy-ctl.yaml"];
    assert!(
        policy.contains("# The rule for the API server allows egress to ANY address on port 443, 6443:"),
        "{policy}"
    );
    let runbook = &tree["workloads/ctl/README.md"];
    assert!(runbook.contains("**any address** on port 443, 6443"), "{runbook}");
    let checked = validate(&spec).expect(0);
    assert!(
        checked.stderr.contains("warning[GSC0625]: the NetworkPolicies `ctl` of app `ctl` allow egress to the API server as egress to any address on port 443, 6443")
            && checked.stderr.contains("defaults.network.apiServerCidrs"),
        "{}",
        checked.stderr
    );

    // With the API server's addresses given, the rule names them and nothing is said.
    let spec = api_client("{ apiServerCidrs: [10.0.0.1/32] }");
    let tree = build(&spec);
    let policy = &tree["workloads/ctl/networkpolicy-ctl.yaml"];
    assert!(
        policy.contains("10.0.0.1/32") && !policy.contains("ANY address"),
        "{policy}"
    );
    let checked = validate(&spec).expect(0);
    assert!(!checked.stderr.contains("any address"), "{}", checked.stderr);
}

/// An app with one ExternalSecret and a release that reads `entry` through `valuesFrom`.
fn values_from(entry: &str) -> String {
    format!(
        "{HEAD}  external: [infra]
sources:
  helm:
    - {{ name: charts, url: https://charts.example.com }}
secretStores:
  - name: vault
operators:
  externalSecrets: {{ external: infra, deployment: external-secrets, namespace: external-secrets }}
apps:
  - name: shop
    podSecurity: baseline
    secrets:
      - name: shop-db
        store: vault
        data: [{{ key: password, remoteKey: shop/db, property: password }}]
    helm:
      chart: shop
      version: 1.0.0
      source: charts
      valuesFrom:
        - {entry}
"
    )
}

#[test]
fn values_from_secrets_are_checked_against_the_apps_own_secrets() {
    // A mistyped name: refused with a did-you-mean.
    let run = validate(&values_from(
        "{ kind: Secret, name: shop-bd, valuesKey: password, targetPath: db.password }",
    ))
    .expect(2);
    assert!(
        run.stderr.contains(
            "error[GSC0512]: Secret `shop-bd` is not one that the app's ExternalSecrets or data services produce"
        ) && run.stderr.contains("did you mean `shop-db`?"),
        "{}",
        run.stderr
    );
    // A key the ExternalSecret does not build.
    let run = validate(&values_from(
        "{ kind: Secret, name: shop-db, valuesKey: pasword, targetPath: db.password }",
    ))
    .expect(2);
    assert!(
        run.stderr
            .contains("error[GSC0511]: Secret `shop-db` (the app's ExternalSecret) has no key `pasword`")
            && run.stderr.contains("did you mean `password`?"),
        "{}",
        run.stderr
    );
    // `optional: true` is no acknowledgement: the release would install without the values.
    validate(&values_from(
        "{ kind: Secret, name: elsewhere, valuesKey: token, targetPath: token, optional: true }",
    ))
    .expect(2);
    // `external: true` is: the Secret is someone else's, and the runbook says Flux does not watch it.
    let spec =
        values_from("{ kind: Secret, name: elsewhere, valuesKey: token, targetPath: token, external: true }");
    validate(&spec).expect(0);
    let tree = build(&spec);
    let runbook = &tree["workloads/shop/README.md"];
    assert!(
        runbook.contains("helm-controller does not watch the Secrets `elsewhere`")
            && runbook.contains("--watch-configs-label-selector=owner!=helm"),
        "{runbook}"
    );
}

#[test]
fn a_secret_read_by_values_from_is_watched_by_flux() {
    let spec = values_from("{ kind: Secret, name: shop-db, valuesKey: password, targetPath: db.password }");
    let tree = build(&spec);
    let secret = tree
        .iter()
        .find(|(p, _)| p.contains("externalsecret") && p.contains("shop-db"))
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("no ExternalSecret: {:?}", tree.keys()));
    let doc = &common::serde_load_all(secret).unwrap()[0];
    assert_eq!(
        doc["spec"]["target"]["template"]["metadata"]["labels"]["reconcile.fluxcd.io/watch"], "Enabled",
        "{secret}"
    );
}
