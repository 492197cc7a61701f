//! Workloads: refused inputs (one fixture each under `tests/workloads/errors/`, its rendered
//! diagnostics snapshotted), the checksums (one config value changes its ConfigMap and one
//! annotation, and nothing else but the lock file), instance identity on a scale change,
//! the warnings `check`/`diff` give for immutable fields and for `replicas` leaving a live
//! workload, and Pod Security `restricted` admission of every emitted pod.
//! The whole trees of the examples are snapshotted by `tests/tree.rs`.

mod common;

use common::{gitopsc, gitopsc_in, read_tree, root, s};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Runs `gitopsc` with `args` in `dir`, expecting `code`.
fn run(dir: &Path, args: &[&str], code: i32) -> common::Run {
    let mut all = vec!["--color", "never"];
    all.extend_from_slice(args);
    gitopsc_in(dir, &all).expect(code)
}

/// Writes `text` as `cluster.yaml` in `dir`.
fn write_spec(dir: &Path, text: &str) {
    std::fs::write(dir.join("cluster.yaml"), text).unwrap();
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join(format!("examples/{name}/cluster.yaml"))).unwrap()
}

/// Replaces exactly one occurrence of `from` in `text`.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

/// The files whose bytes differ between two trees (added and removed included).
fn changed(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let paths: std::collections::BTreeSet<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|p| a.get(*p) != b.get(*p))
        .collect();
    paths.into_iter().cloned().collect()
}

/// The lines of `after` that differ from `before` (same length: line by line).
fn changed_lines(before: &[u8], after: &[u8]) -> Vec<(String, String)> {
    let (before, after) = (
        std::str::from_utf8(before).unwrap(),
        std::str::from_utf8(after).unwrap(),
    );
    assert_eq!(before.lines().count(), after.lines().count());
    before
        .lines()
        .zip(after.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect()
}

/// Builds `text` into a fresh output root and returns the tree on disk (lock file included).
fn build(text: &str) -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path(), text);
    run(dir.path(), &["build", "cluster.yaml", "--out", "out"], 0);
    let tree = read_tree(&dir.path().join("out"));
    (dir, tree)
}

// ------------------------------------------------------------------------------------------
// Refused inputs

#[test]
fn refused_inputs_say_why_at_their_place() {
    insta::glob!("workloads/errors/*.yaml", |path| {
        let rel = format!(
            "tests/workloads/errors/{}",
            path.file_name().unwrap().to_str().unwrap()
        );
        let out = gitopsc(&["--color", "never", "validate", &rel]).expect(2);
        assert!(out.stderr.starts_with("error[GSC") || out.stderr.starts_with("warning[GSC"));
        for block in out.stderr.split("\n\n").filter(|b| !b.trim().is_empty()) {
            assert!(
                block.contains(&format!("[{rel}:")),
                "a diagnostic without a location:\n{block}"
            );
            assert!(
                block.contains("help: ") || block.contains("is above"),
                "no help:\n{block}"
            );
        }
        insta::assert_snapshot!(out.stderr);
    });
}

// ------------------------------------------------------------------------------------------
// Checksums

#[test]
fn one_config_value_changes_its_configmap_and_one_annotation_only() {
    let spec = example("projections");
    let (_a, before) = build(&spec);
    // The first app's ConfigMap only (the lag variant has its own).
    let edited = spec.replacen("BATCH_SIZE: \"500\"", "BATCH_SIZE: \"1000\"", 1);
    let (_b, after) = build(&edited);
    let base = "workloads/projections/release";
    assert_eq!(
        changed(&before, &after),
        vec![
            "gitopsc.lock".to_string(),
            format!("{base}/configmap-projection-worker.yaml"),
            format!("{base}/deployment-projection-worker.yaml"),
        ]
    );
    let lines = changed_lines(
        &before[&format!("{base}/configmap-projection-worker.yaml")],
        &after[&format!("{base}/configmap-projection-worker.yaml")],
    );
    assert_eq!(
        lines,
        vec![(
            "  BATCH_SIZE: \"500\"".to_string(),
            "  BATCH_SIZE: \"1000\"".to_string()
        )]
    );
    let lines = changed_lines(
        &before[&format!("{base}/deployment-projection-worker.yaml")],
        &after[&format!("{base}/deployment-projection-worker.yaml")],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].0.trim_start().starts_with("checksum/config: "),
        "{lines:?}"
    );
    assert!(
        lines[0].1.trim_start().starts_with("checksum/config: "),
        "{lines:?}"
    );
}

#[test]
fn a_config_value_only_a_sidecar_reads_rolls_a_deployment_and_recreates_a_job() {
    let spec = |value: &str| {
        format!(
            r#"apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata: {{ name: demo }}
apps:
  - name: shop
    configMaps:
      - name: proxy
        data: {{ upstream: "{value}" }}
    workloads:
      - name: web
        kind: Deployment
        image: example.com/web:1.0.0
        initContainers:
          - {{ name: proxy, sidecar: true, image: example.com/proxy:1.0.0, env: [{{ name: UPSTREAM, configMap: {{ name: proxy, key: upstream }} }}] }}
      - name: nightly
        kind: CronJob
        image: example.com/report:1.0.0
        job: {{ schedule: "@daily" }}
        initContainers:
          - {{ name: proxy, sidecar: true, image: example.com/proxy:1.0.0, files: [{{ configMap: proxy, mountPath: /etc/proxy }}] }}
      - name: migrate
        kind: Job
        image: example.com/migrate:1.0.0
        initContainers:
          - {{ name: proxy, sidecar: true, image: example.com/proxy:1.0.0, envFrom: [{{ configMap: proxy }}] }}
"#
        )
    };
    let (_a, before) = build(&spec("a.example.com"));
    let (_b, after) = build(&spec("b.example.com"));
    let base = "workloads/shop";
    assert_eq!(
        changed(&before, &after),
        vec![
            "gitopsc.lock".to_string(),
            format!("{base}/configmap-proxy.yaml"),
            format!("{base}/cronjob-nightly.yaml"),
            format!("{base}/deployment-web.yaml"),
            format!("{base}/job-migrate.yaml"),
        ]
    );
    for file in ["cronjob-nightly.yaml", "deployment-web.yaml", "job-migrate.yaml"] {
        let path = format!("{base}/{file}");
        let lines = changed_lines(&before[&path], &after[&path]);
        assert_eq!(lines.len(), 1, "{file}: {lines:?}");
        assert!(
            lines[0].1.trim_start().starts_with("checksum/config: "),
            "{file}: {lines:?}"
        );
    }
    let job = String::from_utf8(after[&format!("{base}/job-migrate.yaml")].clone()).unwrap();
    assert!(
        job.contains("kustomize.toolkit.fluxcd.io/force: enabled"),
        "a changed Job is recreated by Flux:\n{job}"
    );
}

#[test]
fn what_only_another_container_reads_rolls_the_pods_and_reloads_them() {
    let spec = |value: &str| {
        format!(
            r#"apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata: {{ name: demo }}
apps:
  - name: shop
    configMaps:
      - name: exporter
        data: {{ interval: "{value}" }}
    workloads:
      - name: web
        kind: Deployment
        image: example.com/web:1.0.0
        reloader: true
        containers:
          - name: exporter
            image: example.com/exporter:1.0.0
            env:
              - {{ name: INTERVAL, configMap: {{ name: exporter, key: interval }} }}
              - {{ name: TOKEN, secret: {{ name: exporter-token, key: token }} }}
"#
        )
    };
    let (_a, before) = build(&spec("15s"));
    let (_b, after) = build(&spec("30s"));
    let base = "workloads/shop";
    let deployment = format!("{base}/deployment-web.yaml");
    assert_eq!(
        changed(&before, &after),
        vec![
            "gitopsc.lock".to_string(),
            format!("{base}/configmap-exporter.yaml"),
            deployment.clone(),
        ]
    );
    let lines = changed_lines(&before[&deployment], &after[&deployment]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].1.trim_start().starts_with("checksum/config: "),
        "{lines:?}"
    );
    let text = String::from_utf8(after[&deployment].clone()).unwrap();
    assert!(
        text.contains("secret.reloader.stakater.com/reload: exporter-token"),
        "the Secret only the other container reads is reloaded:\n{text}"
    );
}

#[test]
fn a_config_key_the_pod_does_not_read_rolls_nothing() {
    // harbor-core mounts only `app.conf` of `harbor-core-files`: another key of that
    // ConfigMap changes the ConfigMap, not the pods.
    let spec = example("harbor-core");
    let (_a, before) = build(&spec);
    let edited = replace_once(
        &spec,
        "      - name: harbor-core-files\n        data:\n",
        "      - name: harbor-core-files\n        data:\n          unused.conf: \"x\"\n",
    );
    let (_b, after) = build(&edited);
    assert_eq!(
        changed(&before, &after),
        vec![
            "gitopsc.lock".to_string(),
            "workloads/harbor-core/release/configmap-harbor-core-files.yaml".to_string(),
        ]
    );
}

#[test]
fn what_an_external_secret_fetches_changes_its_annotation() {
    let spec = example("harbor-core");
    let (_a, before) = build(&spec);
    let edited = replace_once(&spec, "property: csrf-key", "property: xsrf-key");
    let (_b, after) = build(&edited);
    let sts = "workloads/harbor-core/release/statefulset-harbor-core.yaml";
    // The app's runbook lists the remote keys and properties it reads, too.
    assert_eq!(
        changed(&before, &after),
        vec![
            "gitopsc.lock".to_string(),
            "workloads/harbor-core/README.md".to_string(),
            "workloads/harbor-core/data/externalsecret-harbor-core.yaml".to_string(),
            sts.to_string(),
        ]
    );
    let lines = changed_lines(&before[sts], &after[sts]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]
            .1
            .trim_start()
            .starts_with("checksum/externalsecret-spec: "),
        "{lines:?}"
    );
    // A refresh interval changes no value: the pods do not roll.
    let refreshed = replace_once(
        &spec,
        "      - name: harbor-jobservice\n",
        "      - name: harbor-jobservice\n        refreshInterval: 15m\n",
    );
    let (_c, refreshed) = build(&refreshed);
    assert!(!changed(&before, &refreshed).contains(&sts.to_string()));
}

#[test]
fn instance_identity_follows_replicas_and_rolls_every_pod() {
    let spec = example("harbor-core");
    let (_a, before) = build(&spec);
    let (_b, after) = build(&replace_once(&spec, "replicas: 5", "replicas: 6"));
    let sts = "workloads/harbor-core/release/statefulset-harbor-core.yaml";
    let lines = changed_lines(&before[sts], &after[sts]);
    assert_eq!(
        lines,
        vec![
            ("  replicas: 5".to_string(), "  replicas: 6".to_string()),
            (
                "              value: \"5\"".to_string(),
                "              value: \"6\"".to_string()
            ),
        ],
        "the replica count and TOTAL_INSTANCES in the pod template"
    );
}

/// The workload-references fixture.
fn references_fixture() -> String {
    std::fs::read_to_string(root().join("tests/fixtures/workload-references/cluster.yaml")).unwrap()
}

#[test]
fn references_in_env_values_resolve_into_the_pod_template() {
    let (_d, tree) = build(&references_fixture());
    let deployment = "workloads/orders/release/deployment-api.yaml";
    let text = std::str::from_utf8(&tree[deployment]).unwrap();
    insta::assert_snapshot!(text);
    for (path, bytes) in &tree {
        let text = std::str::from_utf8(bytes).unwrap();
        assert!(!text.contains("(("), "{path} keeps a reference:\n{text}");
    }
}

#[test]
fn a_referenced_value_changing_changes_the_pod_template() {
    let spec = references_fixture();
    let (_a, before) = build(&spec);
    let (_b, after) = build(&replace_once(&spec, "database: inventory", "database: stock"));
    let deployment = "workloads/orders/release/deployment-api.yaml";
    let lines = changed_lines(&before[deployment], &after[deployment]);
    assert_eq!(
        lines,
        vec![(
            "              value: postgres://inventory-pg-rw.inventory.svc:5432/inventory".to_string(),
            "              value: postgres://inventory-pg-rw.inventory.svc:5432/stock".to_string()
        )],
        "the env value in the pod template, which rolls the pods"
    );
}

#[test]
fn a_database_denied_by_default_admits_the_namespaces_it_allows() {
    let deny = replace_once(
        &references_fixture(),
        "      database: inventory\n",
        "      database: inventory\n    networkPolicy: { defaultDeny: true }\n",
    );
    let policy = "workloads/inventory/networkpolicy-inventory-pg-database.yaml";
    let from_orders = "kubernetes.io/metadata.name: orders";
    let (a, closed) = build(&deny);
    let text = std::str::from_utf8(&closed[policy]).unwrap();
    assert!(!text.contains(from_orders), "{text}");
    let warned = run(a.path(), &["validate", "cluster.yaml"], 0).stderr;
    assert!(warned.contains("warning[GSC0428]"), "{warned}");
    assert!(
        warned.contains("add `orders` to `postgres.allowNamespaces`"),
        "{warned}"
    );
    let allowed = replace_once(
        &deny,
        "      database: inventory\n",
        "      database: inventory\n      allowNamespaces: [orders]\n",
    );
    let (b, open) = build(&allowed);
    let quiet = run(b.path(), &["validate", "cluster.yaml"], 0).stderr;
    assert!(!quiet.contains("GSC0428"), "{quiet}");
    let lines = changed_lines_added(&closed[policy], &open[policy]);
    assert_eq!(
        lines,
        vec![
            "    - from:",
            "        - namespaceSelector:",
            "            matchLabels:",
            "              kubernetes.io/metadata.name: orders",
            "      ports:",
            "        - port: 5432",
            "          protocol: TCP",
        ],
        "one ingress rule on 5432 from the allowed namespace"
    );
}

#[test]
fn a_dragonfly_read_from_another_namespace_is_refused_unless_allowed() {
    let template = "apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata: {name: c}
flux: {version: \"2.9\", external: [infra]}
operators:
  dragonfly: {external: infra, deployment: dragonfly-operator-controller-manager, namespace: dragonfly-operator-system}
apps:
  - name: cache
    redis: {provider: dragonfly, version: 1.39.0ALLOW}
DENY  - name: web
    dependsOn: [cache]
    workloads:
      - name: web
        kind: Deployment
        image: example.com/web:1.0.0
        env: [{name: REDIS, value: ((apps.cache.redis.address))}]
";
    let spec = |allow: &str, deny: &str| template.replace("ALLOW", allow).replace("DENY", deny);
    let dir = tempfile::tempdir().unwrap();
    // The operator's own NetworkPolicy admits the instance's namespace only: with or without
    // gitopsc's default deny, another namespace needs `allowNamespaces`.
    for deny in ["", "    networkPolicy: {defaultDeny: true}\n"] {
        write_spec(dir.path(), &spec("", deny));
        let warned = run(dir.path(), &["validate", "cluster.yaml"], 0).stderr;
        assert!(
            warned.contains("warning[GSC0428]: app `web` connects to the Dragonfly of app `cache`"),
            "{warned}"
        );
        assert!(
            warned.contains("add `web` to `redis.allowNamespaces` of app `cache`"),
            "{warned}"
        );
        write_spec(dir.path(), &spec(", allowNamespaces: [web]", deny));
        let quiet = run(dir.path(), &["validate", "cluster.yaml"], 0).stderr;
        assert!(!quiet.contains("GSC0428"), "{quiet}");
    }
    // A KubeBlocks Redis is refused to other namespaces by a default deny of its own, and
    // admits those `allowNamespaces` names: its database policy lets them in.
    let kubeblocks = |allow: &str, deny: &str| {
        spec(allow, deny)
            .replace(
                "provider: dragonfly, version: 1.39.0",
                "provider: kubeblocks, version: 7.2.4, storage: {size: 1Gi}",
            )
            .replace(
                "operators:\n",
                "operators:\n  kubeblocks: {external: infra, deployment: kubeblocks, namespace: kb-system}\n",
            )
    };
    write_spec(dir.path(), &kubeblocks("", ""));
    let open = run(dir.path(), &["validate", "cluster.yaml"], 0).stderr;
    assert!(
        !open.contains("GSC0428"),
        "no default deny, nothing refused: {open}"
    );
    let deny = "    networkPolicy: {defaultDeny: true}\n";
    write_spec(dir.path(), &kubeblocks("", deny));
    let warned = run(dir.path(), &["validate", "cluster.yaml"], 0).stderr;
    assert!(
        warned.contains("warning[GSC0428]: app `web` connects to the Redis of app `cache`")
            && warned.contains("add `web` to `redis.allowNamespaces` of app `cache`"),
        "{warned}"
    );
    write_spec(dir.path(), &kubeblocks(", allowNamespaces: [web]", deny));
    let quiet = run(dir.path(), &["validate", "cluster.yaml"], 0).stderr;
    assert!(!quiet.contains("GSC0428"), "{quiet}");
    run(dir.path(), &["build", "cluster.yaml", "--out", "out"], 0);
    let tree = common::read_tree(&dir.path().join("out"));
    let policy = tree
        .iter()
        .find(|(p, _)| p.contains("networkpolicy") && p.contains("database"))
        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_else(|| panic!("no database policy in {:?}", tree.keys()));
    assert!(
        policy.contains("kubernetes.io/metadata.name: web") && policy.contains("port: 6379"),
        "{policy}"
    );
}

/// The lines `after` adds to `before` (in order; `before`'s lines all kept).
fn changed_lines_added(before: &[u8], after: &[u8]) -> Vec<String> {
    let (before, after) = (
        std::str::from_utf8(before).unwrap().lines().collect::<Vec<_>>(),
        std::str::from_utf8(after).unwrap().lines().collect::<Vec<_>>(),
    );
    let prefix = before.iter().zip(&after).take_while(|(x, y)| x == y).count();
    let suffix = before[prefix..]
        .iter()
        .rev()
        .zip(after[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    assert_eq!(
        prefix + suffix,
        before.len(),
        "lines of the policy changed, not only added"
    );
    after[prefix..after.len() - suffix]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

// ------------------------------------------------------------------------------------------
// Warnings about live workloads

#[test]
fn replicas_leaving_a_live_workload_is_announced_by_check_diff_and_build() {
    // The guide's 3 replicas, then the autoscaler of the example taking over.
    let spec = example("projections");
    let fixed = replace_once(
        &spec,
        "        autoscaling:\n          minReplicas: 2\n          maxReplicas: 10\n          cpu: 70\n          behavior: { preset: conservative }\n",
        "        replicas: 3\n",
    );
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path(), &fixed);
    run(dir.path(), &["build", "cluster.yaml", "--out", "out"], 0);
    write_spec(dir.path(), &spec);
    let needle =
        "REPLICAS  Deployment projections/projection-worker — `spec.replicas: 3` leaves the manifest";
    let check = run(dir.path(), &["check", "cluster.yaml", "--out", "out"], 1);
    assert!(check.stdout.contains(needle), "{}", check.stdout);
    assert!(check.stdout.contains("can drop to one pod"), "{}", check.stdout);
    let diff = run(dir.path(), &["diff", "cluster.yaml", "--out", "out"], 1);
    assert!(diff.stdout.contains(needle), "{}", diff.stdout);
    assert!(diff.stdout.contains("docs/workloads.md"), "{}", diff.stdout);
    let build = run(dir.path(), &["build", "cluster.yaml", "--out", "out"], 0);
    assert!(build.stdout.contains(needle), "{}", build.stdout);
    // Once applied, the tree is current and nothing is announced again.
    let check = run(dir.path(), &["check", "cluster.yaml", "--out", "out"], 0);
    assert!(!check.stdout.contains("REPLICAS"), "{}", check.stdout);
}

#[test]
fn immutable_fields_changes_are_flagged_by_diff() {
    let spec = example("harbor-core");
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path(), &spec);
    run(dir.path(), &["build", "cluster.yaml", "--out", "out"], 0);
    // A volume claim template and the pod management policy of the StatefulSet.
    let edited = replace_once(
        &spec,
        "        updateStrategy: { type: RollingUpdate }\n",
        "        updateStrategy: { type: RollingUpdate }\n        podManagementPolicy: Parallel\n        volumeClaimTemplates: [{ name: data, mountPath: /data, size: 1Gi }]\n",
    );
    write_spec(dir.path(), &edited);
    let diff = run(dir.path(), &["diff", "cluster.yaml", "--out", "out"], 1);
    assert!(
        diff.stdout.contains(
            "IMMUTABLE StatefulSet harbor/harbor-core — `spec.podManagementPolicy`, `spec.volumeClaimTemplates` changed"
        ),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("--cascade=orphan"), "{}", diff.stdout);
    // A change of mutable fields only is not flagged.
    let scaled = replace_once(&spec, "replicas: 5", "replicas: 4");
    write_spec(dir.path(), &scaled);
    let diff = run(dir.path(), &["diff", "cluster.yaml", "--out", "out"], 1);
    assert!(!diff.stdout.contains("IMMUTABLE"), "{}", diff.stdout);
}

// ------------------------------------------------------------------------------------------
// Pod Security

/// Capabilities `restricted` lets a container add.
const RESTRICTED_ADD: &[&str] = &["NET_BIND_SERVICE"];
/// Volume types `restricted` allows.
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The reasons Pod Security `restricted` (v1.33) would refuse a pod spec.
fn restricted_violations(pod: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let psc = &pod["securityContext"];
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod[field] == Value::Bool(true) {
            out.push(field.to_string());
        }
    }
    for v in pod["volumes"].as_array().into_iter().flatten() {
        let kind = v
            .as_object()
            .unwrap()
            .keys()
            .find(|k| *k != "name")
            .cloned()
            .unwrap_or_default();
        if !RESTRICTED_VOLUMES.contains(&kind.as_str()) {
            out.push(format!("volume type {kind}"));
        }
    }
    let containers = pod["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(pod["initContainers"].as_array().into_iter().flatten());
    for c in containers {
        let sc = &c["securityContext"];
        let name = c["name"].as_str().unwrap_or_default();
        if sc["privileged"] == Value::Bool(true) {
            out.push(format!("{name}: privileged"));
        }
        if sc["allowPrivilegeEscalation"] != Value::Bool(false) {
            out.push(format!("{name}: allowPrivilegeEscalation must be false"));
        }
        let drops = sc["capabilities"]["drop"].as_array().cloned().unwrap_or_default();
        if !drops.iter().any(|d| d == "ALL") {
            out.push(format!("{name}: capabilities must drop ALL"));
        }
        for add in sc["capabilities"]["add"].as_array().into_iter().flatten() {
            if !RESTRICTED_ADD.contains(&add.as_str().unwrap_or_default()) {
                out.push(format!("{name}: adds {add}"));
            }
        }
        let non_root = sc.get("runAsNonRoot").unwrap_or(&psc["runAsNonRoot"]);
        if non_root != &Value::Bool(true) {
            out.push(format!("{name}: runAsNonRoot must be true"));
        }
        for ctx in [sc, psc] {
            if ctx["runAsUser"] == 0 {
                out.push(format!("{name}: runAsUser 0"));
            }
        }
        let seccomp = sc["seccompProfile"]["type"]
            .as_str()
            .or(psc["seccompProfile"]["type"].as_str());
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            out.push(format!(
                "{name}: seccompProfile must be RuntimeDefault or Localhost"
            ));
        }
        for port in c["ports"].as_array().into_iter().flatten() {
            if port.get("hostPort").is_some_and(|p| *p != 0) {
                out.push(format!("{name}: hostPort"));
            }
        }
    }
    out
}

#[test]
fn every_emitted_pod_is_admitted_by_pod_security_restricted() {
    let mut pods = 0;
    for entry in walkdir::WalkDir::new(root().join("output")).sort_by_file_name() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy();
        let cron = name.starts_with("cronjob-");
        if !(["deployment-", "statefulset-", "job-"]
            .iter()
            .any(|p| name.starts_with(p))
            || cron)
        {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let pod = if cron {
            &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        } else {
            &doc["spec"]["template"]["spec"]
        };
        assert!(pod.is_object(), "{}: a pod template", s(entry.path()));
        let violations = restricted_violations(pod);
        assert!(violations.is_empty(), "{}: {violations:?}", s(entry.path()));
        pods += 1;
    }
    assert!(pods >= 4, "the examples hold workloads ({pods} found)");
}

#[test]
fn the_restricted_check_catches_what_restricted_refuses() {
    let pod: Value = serde_json::json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "securityContext": {
            "allowPrivilegeEscalation": true, "capabilities": {"add": ["SYS_ADMIN"]}}}],
    });
    assert_eq!(
        restricted_violations(&pod).len(),
        4,
        "{:?}",
        restricted_violations(&pod)
    );
}

// ------------------------------------------------------------------------------------------
// YAML is data

/// Strings YAML readers retype, fold or take for syntax.
const HOSTILE: &[&str] = &[
    "yes",
    "on",
    "n",
    "~",
    "null",
    "0777",
    "1_000",
    "1:20",
    "2001-12-14",
    "1e3",
    ".inf",
    "=",
    "<<",
    "a: b",
    "a #b",
    "#x",
    "- a",
    "{{ .x }}",
    "${VAR}",
    "\"",
    "'",
    "x\ny\n",
    "x\n\n",
    " lead",
    "trail ",
    "\t",
    // DEL and the C1 controls are refused in a spec (tests/hostile_input.rs).
    "\u{2028}",
    "\u{feff}",
    "",
];

#[test]
fn hostile_strings_in_config_env_and_alerts_read_back_as_written() {
    let data: serde_json::Map<String, Value> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, h)| (format!("K{i}"), Value::String(h.to_string())))
        .collect();
    let env: Vec<Value> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, h)| serde_json::json!({"name": format!("E{i}"), "value": h}))
        .collect();
    let spec = serde_json::json!({
        "apiVersion": "gitopsc.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "hostile"},
        "defaults": {"monitoring": {"labels": {"release": "yes"}}},
        "apps": [{
            "name": "app",
            "configMaps": [{"name": "cfg", "data": data}],
            "workloads": [{
                "name": "web",
                "kind": "Deployment",
                "image": "example.com/web:1.0.0",
                "args": HOSTILE,
                "env": env,
                "envFrom": [{"configMap": "cfg"}],
                "labels": {"tier": "on"},
                "annotations": {"note": "a: b\n#c"},
            }],
            "alerts": [{"name": "on", "rules": [{
                "alert": "Hostile", "expr": "up == 0 # yes", "severity": "warning",
                "summary": "{{ $labels.x }}: no", "description": "1:20\n- a",
            }]}],
        }],
    });
    // JSON writes LS and the byte-order mark raw; a spec holds them only as escapes.
    let text = serde_json::to_string_pretty(&spec)
        .unwrap()
        .replace('\u{2028}', "\\u2028")
        .replace('\u{feff}', "\\ufeff");
    let (_dir, tree) = build(&text);
    let doc = |path: &str| -> Value { serde_yaml::from_slice(&tree[path]).unwrap() };
    let cm = doc("workloads/app/configmap-cfg.yaml");
    assert_eq!(
        Value::Object(cm["data"].as_object().unwrap().clone()),
        spec["apps"][0]["configMaps"][0]["data"]
    );
    let deployment = doc("workloads/app/deployment-web.yaml");
    let pod = &deployment["spec"]["template"];
    assert_eq!(pod["spec"]["containers"][0]["env"], Value::Array(env));
    assert_eq!(pod["spec"]["containers"][0]["args"], serde_json::json!(HOSTILE));
    assert_eq!(pod["metadata"]["labels"]["tier"], "on");
    assert_eq!(pod["metadata"]["annotations"]["note"], "a: b\n#c");
    let rule = doc("workloads/app/prometheusrule.yaml");
    assert_eq!(rule["metadata"]["labels"]["release"], "yes");
    assert_eq!(rule["spec"]["groups"][0]["name"], "on");
    assert_eq!(rule["spec"]["groups"][0]["rules"][0]["expr"], "up == 0 # yes");
    assert_eq!(
        rule["spec"]["groups"][0]["rules"][0]["annotations"]["description"],
        "1:20\n- a"
    );
    // The YAML 1.1 reader Kubernetes uses reads the same, when Python has PyYAML.
    if common::python_has(&["yaml"]) {
        for path in [
            "workloads/app/configmap-cfg.yaml",
            "workloads/app/deployment-web.yaml",
            "workloads/app/prometheusrule.yaml",
        ] {
            let text = String::from_utf8(tree[path].clone()).unwrap();
            let py = common::pyyaml_load_all(std::slice::from_ref(&text))
                .remove(0)
                .unwrap();
            assert_eq!(py, vec![doc(path)], "{path}");
        }
    } else {
        common::skipped("the YAML 1.1 read-back: python3 with PyYAML is not available");
    }
}
