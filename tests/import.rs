//! `gitopsc import`: build → import → build of every example, and a hand-written app folder in
//! the style of a home-lab Flux repository.

mod common;

use common::{gitopsc, read_tree, s, serde_load_all};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Objects by (apiVersion, kind, namespace, name).
type Objects = BTreeMap<(String, String, String, String), Value>;

/// Every object of a tree (kustomize's own `kustomization.yaml`s aside), by
/// (apiVersion, kind, namespace, name).
fn objects(dir: &Path) -> Objects {
    let mut out = BTreeMap::new();
    for (path, bytes) in read_tree(dir) {
        if !path.ends_with(".yaml") {
            continue;
        }
        for doc in serde_load_all(std::str::from_utf8(&bytes).unwrap()).unwrap() {
            let text = |p: &str| {
                doc.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            if text("/apiVersion").starts_with("kustomize.config.k8s.io/") || text("/kind").is_empty() {
                continue;
            }
            let key = (
                text("/apiVersion"),
                text("/kind"),
                text("/metadata/namespace"),
                text("/metadata/name"),
            );
            out.insert(key, doc);
        }
    }
    out
}

/// The "renders N of the M objects" line of `import`'s notes.
fn reproduced(stderr: &str) -> (usize, usize) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("note: the spec renders "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[4].parse().unwrap(), words[7].parse().unwrap())
}

/// One tree to import: an example's output, or one cluster's part of a fleet's output.
struct Case {
    /// The example (and cluster) it is, for messages.
    name: String,
    /// The folders of the built tree `import` reads.
    paths: Vec<std::path::PathBuf>,
    /// The cluster's name.
    cluster: String,
}

/// The fixture whose workloads import reads into `workloads` (and its database's
/// `allowNamespaces`): a case of the round trip like the examples.
const WORKLOADS_FIXTURE: (&str, &str) = ("import-workloads", "tests/fixtures/import-workloads/cluster.yaml");

/// Builds every example (each fleet cluster is a case of its own: `clusters/<c>` and
/// `fleet/<c>` of the fleet's tree) into `dir`; returns the cases and every tree's objects.
fn cases(dir: &Path) -> Vec<(Case, Objects)> {
    let mut out = Vec::new();
    let mut specs = common::example_specs();
    specs.push((WORKLOADS_FIXTURE.0.into(), WORKLOADS_FIXTURE.1.into()));
    for (example, spec) in specs {
        let first = dir.join(&example).join("first");
        let spec = common::root().join(spec);
        gitopsc(&["-q", "build", s(&spec), "--out", s(&first)]).expect(0);
        if !spec.ends_with("fleet.yaml") {
            let case = Case {
                name: example.clone(),
                paths: vec![first.clone()],
                cluster: example.clone(),
            };
            out.push((case, objects(&first)));
            continue;
        }
        let mut clusters: Vec<String> = std::fs::read_dir(first.join("clusters"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        clusters.sort();
        assert!(!clusters.is_empty(), "{example}: the fleet built no cluster");
        for cluster in clusters {
            let paths = vec![
                first.join("clusters").join(&cluster),
                first.join("fleet").join(&cluster),
            ];
            let mut all = Objects::new();
            for path in &paths {
                all.extend(objects(path));
            }
            let case = Case {
                name: format!("{example}/{cluster}"),
                paths,
                cluster,
            };
            out.push((case, all));
        }
    }
    out
}

/// Imports a case's tree and builds the imported spec; returns the second tree's objects and
/// the import's stderr.
fn round_trip(case: &Case, dir: &Path) -> (Objects, String) {
    let mut args = vec!["import"];
    args.extend(case.paths.iter().map(|p| s(p)));
    args.extend(["--cluster", &case.cluster]);
    let imported = gitopsc(&args).expect(0);
    let spec_path = dir.join(format!("{}.yaml", case.cluster));
    std::fs::write(&spec_path, &imported.stdout).unwrap();
    let second = dir.join(format!("second-{}", case.cluster));
    gitopsc(&["-q", "build", s(&spec_path), "--out", s(&second)]).expect(0);
    (objects(&second), imported.stderr)
}

/// Every example, and each cluster of the fleet example, imports back into a spec that
/// renders every object byte for byte — what no field says carried as user manifests, and
/// the notes say so.
#[test]
fn build_import_build_reproduces_every_example_object_for_object() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    assert!(
        cases.len() > common::examples().len(),
        "the fleet's clusters are cases too"
    );
    let mut carried_workloads = Vec::new();
    for (case, first) in &cases {
        let work = dir.path().join(case.name.replace('/', "-"));
        std::fs::create_dir_all(&work).unwrap();
        let (second, stderr) = round_trip(case, &work);
        let name = &case.name;
        let keys = |m: &Objects| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(first), keys(&second), "{name}: {stderr}");
        for (key, object) in first {
            assert_eq!(
                object, &second[key],
                "{name}: {key:?} differs after build → import → build"
            );
        }
        assert_eq!(
            reproduced(&stderr),
            (first.len(), first.len()),
            "{name}: {stderr}"
        );
        // Nothing is dropped or rendered differently: the only notes are what is carried.
        let other: Vec<&str> = stderr
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("  - carried as a user manifest: "))
            .collect();
        assert!(other.is_empty(), "{name}: {other:?}");
        assert_carried_kinds(name, &stderr);
        carried_workloads.extend(stderr.lines().filter_map(|l| {
            let rest = l.strip_prefix("  - carried as a user manifest: ")?;
            let (kind, object) = rest.split_once(' ')?;
            let object = object.split(' ').next()?;
            ["Deployment", "StatefulSet", "Job", "CronJob"]
                .contains(&kind)
                .then(|| format!("{name}: {kind} {object}"))
        }));
    }
    // Every workload of the examples is read into `workloads` — with its Services, monitor,
    // ConfigMaps, ServiceAccount, autoscaler, disruption budget and instance identity — but the
    // one a patch gives fields the model lacks.
    assert_eq!(carried_workloads, ["custom: Deployment shop/web"]);
}

/// The kinds import carries as user manifests in the examples: network policies and routes to
/// workloads, which it does not read into fields yet, a workload with fields the model lacks
/// and its Service, and the `custom` example's own user
/// manifests (a PVC, an Ingress, a PriorityClass), and a chart's scrape and disruption budget
/// (`infra`, `observability`). Data services, secrets, stores,
/// sources, alerts, image automation and Flux settings must be read into their fields.
const CARRIED_KINDS: [&str; 9] = [
    "Deployment",
    "Service",
    "HTTPRoute",
    "NetworkPolicy",
    "VMServiceScrape",
    "PersistentVolumeClaim",
    "Ingress",
    "PriorityClass",
    "PodDisruptionBudget",
];

fn assert_carried_kinds(name: &str, stderr: &str) {
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("  - carried as a user manifest: ") else {
            continue;
        };
        let kind = rest.split(' ').next().unwrap();
        assert!(
            CARRIED_KINDS.contains(&kind),
            "{name}: a {kind} is carried, not read into its field: {line}"
        );
        // A workload is carried only with the fields that kept it out of `workloads`.
        if ["Deployment", "StatefulSet", "Job", "CronJob"].contains(&kind) {
            assert!(
                rest.contains(" — not read into `workloads`: "),
                "{name}: a {kind} is carried with no reason: {line}"
            );
        }
    }
}

/// The fixture's workloads land in `workloads` (with their Services, monitors and ConfigMaps)
/// and its database's `allowNamespaces` in `postgres`; only the network policies, which import
/// does not read, are carried.
#[test]
fn workloads_and_allowed_namespaces_are_read_into_their_fields() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let fixture = common::root().join(WORKLOADS_FIXTURE.1);
    gitopsc(&["-q", "build", s(&fixture), "--out", s(&first)]).expect(0);
    let imported = gitopsc(&["import", s(&first), "--cluster", "iw"]).expect(0);
    let spec = &serde_load_all(&imported.stdout).unwrap()[0];
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|w| w["name"].as_str().unwrap().to_string())
            .collect()
    };
    let orders = &spec["apps"][0];
    assert_eq!(orders["name"], "orders");
    let mut read = names(&orders["workloads"]);
    read.sort();
    assert_eq!(
        read,
        ["api", "ledger", "migrate", "nightly"],
        "{}",
        imported.stderr
    );
    assert_eq!(names(&spec["apps"][1]["workloads"]), ["web"]);
    assert_eq!(names(&orders["services"]), ["api-public", "ledger-peers"]);
    assert_eq!(
        names(&orders["configMaps"]),
        ["settings", "unused"],
        "a ConfigMap no pod reads is the app's too"
    );
    assert_eq!(
        orders["postgres"]["allowNamespaces"],
        serde_json::json!(["web", "reports"])
    );
    assert_eq!(orders["redis"]["allowNamespaces"], serde_json::json!(["web"]));
    let workloads = orders["workloads"].as_array().unwrap();
    let api = workloads.iter().find(|w| w["name"] == "api").unwrap();
    assert_eq!(api["monitoring"]["interval"], "30s");
    assert_eq!(api["initContainers"][1]["sidecar"], true);
    assert_eq!(api["env"][3]["field"], "podName");
    assert_eq!(
        api["annotations"],
        serde_json::json!({"example.com/team": "orders"}),
        "the checksums gitopsc computes are not the user's annotations"
    );
    let carried: Vec<&str> = imported
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  - carried as a user manifest: "))
        .collect();
    assert!(
        carried.iter().all(|l| l.starts_with("NetworkPolicy ")),
        "{carried:#?}"
    );
}

/// A workload with a field the model has no place for stays a user manifest, and the note
/// names the field; a Service over its pods stays with it.
#[test]
fn a_workload_with_a_field_the_model_lacks_is_carried_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("web");
    std::fs::create_dir_all(app.join("app")).unwrap();
    std::fs::write(
        app.join("ks.yaml"),
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: web, namespace: flux-system}\n\
         spec:\n  targetNamespace: web\n  path: ./web/app\n  prune: true\n  interval: 30m\n  \
         sourceRef: {kind: GitRepository, name: flux-system}\n",
    )
    .unwrap();
    std::fs::write(
        app.join("app/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n\
         spec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    \
         spec:\n      priorityClassName: high\n      containers:\n        - name: web\n          image: nginx:1.27\n          \
         ports: [{name: http, containerPort: 8080}]\n          lifecycle: {preStop: {exec: {command: [sleep, '5']}}}\n",
    )
    .unwrap();
    // Every field has its place, but the spec refuses a port name of more than 15 characters.
    let labels = "{app.kubernetes.io/instance: web, app.kubernetes.io/name: api}";
    std::fs::write(
        app.join("app/api.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api, labels: {labels}}}\n\
             spec:\n  replicas: 1\n  selector: {{matchLabels: {labels}}}\n  template:\n    metadata: {{labels: {labels}}}\n    \
             spec:\n      containers:\n        - name: api\n          image: nginx:1.27\n          \
             ports: [{{name: much-too-long-port-name, containerPort: 8080}}]\n"
        ),
    )
    .unwrap();
    let run = gitopsc(&["import", s(&app), "--cluster", "x"]).expect(0);
    let spec: Value = serde_load_all(&run.stdout).unwrap().remove(0);
    let web = &spec["apps"][0];
    assert!(web["workloads"].is_null(), "{}", run.stdout);
    assert_eq!(web["manifests"][0]["object"]["kind"], "Deployment");
    let note = run
        .stderr
        .lines()
        .find(|l| l.contains("Deployment web/web"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let api = run
        .stderr
        .lines()
        .find(|l| l.contains("Deployment web/api"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        api.contains("not read into `workloads`: the spec would not compile with it"),
        "{api}"
    );
    for field in [
        "spec.template.spec.priorityClassName",
        "spec.template.spec.containers[0].lifecycle.preStop.exec.command[0]",
    ] {
        assert!(note.contains(field), "{field} in {note}");
    }
}

#[test]
fn a_hand_written_home_lab_app_imports_with_what_differs_listed() {
    let app = "tests/fixtures/import/home-ops/kubernetes/apps/default/echo";
    let run = gitopsc(&["import", app, "--cluster", "home"]).expect(0);
    let spec: Value = serde_load_all(&run.stdout).unwrap().remove(0);
    let app_spec = &spec["apps"][0];
    assert_eq!(app_spec["name"], "echo");
    assert_eq!(
        app_spec["namespace"], "default",
        "targetNamespace is the app's namespace"
    );
    assert_eq!(app_spec["dependsOn"][0], "cloudnative-pg-cluster");
    assert_eq!(spec["flux"]["external"][0], "cloudnative-pg-cluster");
    assert_eq!(app_spec["helm"]["chart"], "app-template");
    assert_eq!(app_spec["helm"]["version"], "4.4.0");
    assert_eq!(spec["sources"]["helm"][0]["url"], "oci://ghcr.io/bjw-s-labs/helm");
    assert_eq!(
        app_spec["helm"]["values"]["controllers"]["echo"]["containers"]["app"]["image"]["tag"],
        38
    );
    insta::assert_snapshot!(
        "home_ops_echo",
        format!("--- stdout\n{}--- stderr\n{}", run.stdout, run.stderr)
    );
}

#[test]
fn import_of_nothing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = gitopsc(&["import", s(dir.path())]).expect(2);
    assert!(
        run.stderr.contains("no Kubernetes objects found"),
        "{}",
        run.stderr
    );
    let run = gitopsc(&["import", "does/not/exist"]).expect(2);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

/// Lifecycle fields and CloudNative-PG settings the spec has no field for do not make the
/// imported spec fail to compile: they are left out, and the notes say the object differs.
#[test]
fn fields_the_spec_lacks_are_left_out_and_noted() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("web");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("release.yaml"),
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: podinfo, namespace: flux-system}\n\
         spec: {interval: 1h, url: https://stefanprodan.github.io/podinfo}\n---\n\
         apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web, namespace: web}\n\
         spec:\n  interval: 30m\n  chart: {spec: {chart: podinfo, version: 6.7.1, sourceRef: {kind: HelmRepository, name: podinfo}}}\n  \
         install: {strategy: {name: SomethingNew}}\n  rollback: {timeout: 5m, disableWaitForJobs: true}\n",
    )
    .unwrap();
    let run = gitopsc(&["import", s(&app), "--cluster", "x"]).expect(0);
    let spec: Value = serde_load_all(&run.stdout).unwrap().remove(0);
    let helm = &spec["apps"][0]["helm"];
    assert_eq!(
        helm["rollback"],
        serde_json::json!({"timeout": "5m"}),
        "{}",
        run.stdout
    );
    assert!(helm["install"].is_null(), "{}", run.stdout);
    assert!(
        run.stderr.contains("HelmRelease web/web") && run.stderr.contains("spec.rollback"),
        "{}",
        run.stderr
    );
}

/// Under the VictoriaMetrics flavour the data services' VMPodScrapes import as monitoring on
/// (the cluster's, a pooler's, Dragonfly's) and build back the same scrapes.
#[test]
fn vmpodscrapes_of_data_services_import_as_monitoring_on() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let fixture = common::root().join("tests/fixtures/victoriametrics-data/cluster.yaml");
    gitopsc(&["-q", "build", s(&fixture), "--out", s(&first)]).expect(0);
    let imported = gitopsc(&["import", s(&first), "--cluster", "vmdata"]).expect(0);
    let spec = &serde_load_all(&imported.stdout).unwrap()[0];
    let app = &spec["apps"][0];
    assert_eq!(app["postgres"].get("monitoring"), None, "{}", imported.stdout);
    assert_eq!(
        app["postgres"]["poolers"][0].get("monitoring"),
        None,
        "{}",
        imported.stdout
    );
    assert_eq!(app["redis"].get("monitoring"), None, "{}", imported.stdout);
    let spec_path = dir.path().join("vmdata.yaml");
    std::fs::write(&spec_path, &imported.stdout).unwrap();
    let second = dir.path().join("second");
    gitopsc(&["-q", "build", s(&spec_path), "--out", s(&second)]).expect(0);
    let scrapes = |tree: &Objects| -> Vec<Value> {
        tree.iter()
            .filter(|((_, kind, _, _), _)| kind == "VMPodScrape")
            .map(|(_, v)| v.clone())
            .collect()
    };
    let (a, b) = (scrapes(&objects(&first)), scrapes(&objects(&second)));
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
}
