//! `gitopsc import` of trees shaped like real Flux repositories (docs/real-repositories.md):
//! each test is the smallest tree that showed one import bug, and checks that the spec import
//! writes compiles and says what the tree says, once.

mod common;

use common::{gitopsc, read_tree, s, serde_load_all};
use serde_json::Value;
use std::path::Path;

/// A Flux Kustomization named `name` applying `./apps/<name>` (no `timeout`, as most trees).
fn kustomization(name: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\n\
         spec: {{interval: 1h, path: ./apps/{name}, prune: true, wait: true, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n"
    )
}

/// A tree of `files` (path, text) in a new folder.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Imports `dir`, checks that the spec it writes validates, builds it; returns the spec, the
/// notes (stderr) and the built tree's files.
fn import(dir: &Path) -> (Value, String, Vec<(String, String)>) {
    let run = gitopsc(&["import", s(dir), "--cluster", "real"]).expect(0);
    let spec_path = dir.join("imported.yaml");
    std::fs::write(&spec_path, &run.stdout).unwrap();
    gitopsc(&["validate", s(&spec_path)]).expect(0);
    let out = dir.join("built");
    gitopsc(&["-q", "build", s(&spec_path), "--out", s(&out)]).expect(0);
    let files = read_tree(&out)
        .into_iter()
        .map(|(path, bytes)| (path, String::from_utf8(bytes).unwrap()))
        .collect();
    let spec = serde_load_all(&run.stdout).unwrap().remove(0);
    (spec, run.stderr, files)
}

/// The built files that hold an object of `kind` named `name`.
fn files_with<'a>(files: &'a [(String, String)], kind: &str, name: &str) -> Vec<&'a str> {
    files
        .iter()
        .filter(|(_, text)| {
            serde_load_all(text)
                .unwrap_or_default()
                .iter()
                .any(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        })
        .map(|(path, _)| path.as_str())
        .collect()
}

const NAMESPACE_CI: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ci}\n";
const REPOSITORY: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n\
    metadata: {name: jenkins, namespace: flux-system}\nspec: {interval: 1h, url: https://charts.jenkins.io}\n";

/// A HelmRelease named otherwise than its Kustomization is read under its own name (not
/// rendered a second time under the app's name and also carried); one in another namespace
/// than the app's is neither read into `helm` nor carried, and the notes say so.
#[test]
fn a_release_named_otherwise_than_its_app_is_installed_once() {
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: jenkins, namespace: ci}\n\
        spec:\n  interval: 30m\n  chart: {spec: {chart: jenkins, version: 5.8.0, sourceRef: {kind: HelmRepository, name: jenkins, namespace: flux-system}}}\n---\n\
        apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: kyverno, namespace: kyverno}\n\
        spec:\n  interval: 30m\n  chart: {spec: {chart: kyverno, version: 3.3.0, sourceRef: {kind: HelmRepository, name: jenkins, namespace: flux-system}}}\n";
    let dir = tree(&[
        ("flux/apps.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/repository.yaml", REPOSITORY),
        ("apps/ci/release.yaml", release),
    ]);
    let (spec, notes, files) = import(dir.path());
    let app = &spec["apps"][0];
    assert_eq!(app["helm"]["name"], "jenkins", "{spec}");
    assert!(app.get("manifests").is_none(), "nothing carried: {spec}");
    assert_eq!(files_with(&files, "HelmRelease", "jenkins").len(), 1, "{files:?}");
    assert!(files_with(&files, "HelmRelease", "ci").is_empty(), "{files:?}");
    assert!(
        files_with(&files, "HelmRelease", "kyverno").is_empty(),
        "{files:?}"
    );
    assert!(
        notes.contains(
            "a HelmRelease outside the app's namespace is not expressed: HelmRelease kyverno/kyverno"
        ),
        "{notes}"
    );
}

/// The Helm release name follows the HelmRelease's name, as helm-controller sets it, unless
/// `releaseName` is set: the selector of a chart's PodMonitor uses it.
#[test]
fn the_helm_release_name_defaults_to_the_helmrelease_name() {
    let dir = tree(&[(
        "real.yaml",
        "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: real}\n\
         sources: {helm: [{name: jenkins, url: https://charts.jenkins.io}]}\n\
         apps:\n  - name: ci\n    helm: {chart: unknown-chart, version: 1.0.0, source: jenkins, name: jenkins}\n    monitoring: {port: metrics}\n",
    )]);
    let out = dir.path().join("out");
    gitopsc(&["-q", "build", s(&dir.path().join("real.yaml")), "--out", s(&out)]).expect(0);
    let files: Vec<(String, String)> = read_tree(&out)
        .into_iter()
        .map(|(path, bytes)| (path, String::from_utf8(bytes).unwrap()))
        .collect();
    let release = files_with(&files, "HelmRelease", "jenkins");
    assert_eq!(release.len(), 1, "{files:?}");
    let monitor = files
        .iter()
        .find(|(_, text)| text.contains("kind: PodMonitor"))
        .expect("a PodMonitor");
    assert!(
        monitor.1.contains("app.kubernetes.io/instance: jenkins"),
        "{}",
        monitor.1
    );
}

/// A ClusterSecretStore to which kustomize gave a namespace (it does not know the kind is
/// cluster-scoped) is read into `secretStores` and not also carried (written twice, which
/// left the app's other objects uncarried too).
#[test]
fn a_cluster_secret_store_is_written_once() {
    let store = "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\n\
        metadata: {name: onepassword, namespace: external-secrets}\n\
        spec:\n  provider:\n    onepassword:\n      connectHost: http://onepassword-connect.external-secrets.svc.cluster.local\n      \
        vaults: {Kubernetes: 1}\n      auth: {secretRef: {connectTokenSecretRef: {name: onepassword-token, key: token, namespace: external-secrets}}}\n";
    let dir = tree(&[
        ("flux/apps.yaml", &kustomization("external-secrets")),
        (
            "apps/external-secrets/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: external-secrets}\n",
        ),
        ("apps/external-secrets/store.yaml", store),
        (
            "apps/external-secrets/settings.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: external-secrets}\ndata: {LOG_LEVEL: info}\n",
        ),
    ]);
    let (spec, notes, files) = import(dir.path());
    assert_eq!(spec["secretStores"][0]["name"], "onepassword", "{spec}");
    let manifests = spec["apps"][0]["manifests"].as_array();
    assert_eq!(
        manifests.map(Vec::len),
        Some(1),
        "only the ConfigMap is carried: {spec}\n{notes}"
    );
    assert_eq!(manifests.unwrap()[0]["object"]["kind"], "ConfigMap");
    assert_eq!(files_with(&files, "ClusterSecretStore", "onepassword").len(), 1);
}

/// The same ExternalSecret in two namespaces of one Kustomization (a kustomize component) is
/// one `secrets` entry, in the app's namespace; the other is noted.
#[test]
fn an_external_secret_in_several_namespaces_is_one_secret() {
    let secret = |ns: &str| {
        format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: pushover, namespace: {ns}}}\n\
             spec:\n  secretStoreRef: {{kind: ClusterSecretStore, name: onepassword}}\n  target: {{name: pushover}}\n  \
             data: [{{secretKey: PUSHOVER_TOKEN, remoteRef: {{key: pushover, property: token}}}}]\n"
        )
    };
    let both = format!("{}---\n{}", secret("ci"), secret("observability"));
    let dir = tree(&[
        ("flux/apps.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/secrets.yaml", &both),
    ]);
    let (spec, notes, _) = import(dir.path());
    let secrets = spec["apps"][0]["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 1, "{spec}");
    assert!(notes.contains("ExternalSecret observability/pushover"), "{notes}");
}

/// Two objects of one kind and name in two API groups are two carried manifests, in two files.
#[test]
fn one_kind_and_name_in_two_api_groups_are_two_files() {
    let accounts = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: admin, namespace: ci}\n---\n\
        apiVersion: talos.dev/v1alpha1\nkind: ServiceAccount\nmetadata: {name: admin, namespace: ci}\n\
        spec: {roles: ['os:admin']}\n";
    let dir = tree(&[
        ("flux/apps.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/accounts.yaml", accounts),
    ]);
    let (spec, notes, files) = import(dir.path());
    assert_eq!(
        spec["apps"][0]["manifests"].as_array().map(Vec::len),
        Some(2),
        "{spec}\n{notes}"
    );
    let written = files_with(&files, "ServiceAccount", "admin");
    assert_eq!(written.len(), 2, "{written:?}");
    assert!(
        written
            .iter()
            .any(|f| f.ends_with("serviceaccount.talos.dev-admin.yaml")),
        "{written:?}"
    );
}

/// An HTTPRoute of an app that installs no chart, to a Service another app's chart makes, is
/// carried as it is, not read as a route to the app's chart.
#[test]
fn a_route_to_another_apps_chart_is_carried() {
    let route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: dashboard, namespace: ci}\n\
        spec:\n  parentRefs: [{name: internal, namespace: gateway}]\n  hostnames: [dashboard.example.com]\n  \
        rules: [{backendRefs: [{name: eg-internal, port: 80}]}]\n";
    let dir = tree(&[
        ("flux/apps.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/route.yaml", route),
    ]);
    let (spec, notes, files) = import(dir.path());
    assert!(spec["apps"][0].get("routes").is_none(), "{spec}");
    assert!(
        notes.contains("carried as a user manifest: HTTPRoute ci/dashboard"),
        "{notes}"
    );
    assert_eq!(files_with(&files, "HTTPRoute", "dashboard").len(), 1);
}

/// When one object cannot be carried (the spec would not compile), the others still are, and
/// the notes give the reason for the one left out.
#[test]
fn one_object_that_cannot_be_carried_leaves_the_others_carried() {
    let maps = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ci}\ndata: {LOG_LEVEL: info}\n---\n\
        apiVersion: v1\nkind: ConfigMap\nmetadata: {name: upstream, namespace: ci}\n\
        data: {URL: 'https://admin:hunter2@git.example.com/repo.git'}\n";
    let dir = tree(&[
        ("flux/apps.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/maps.yaml", maps),
    ]);
    let (spec, notes, files) = import(dir.path());
    let manifests = spec["apps"][0]["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{spec}");
    assert_eq!(manifests[0]["object"]["metadata"]["name"], "settings");
    assert!(
        notes.contains("not carried (the imported spec does not compile")
            && notes.contains("ConfigMap upstream"),
        "{notes}"
    );
    assert_eq!(files_with(&files, "ConfigMap", "settings").len(), 1);
}

/// A Flux Kustomization without `timeout` times out after its `interval` (Flux's default),
/// so a release's 10m Helm timeout fits in it.
#[test]
fn a_kustomization_without_timeout_waits_its_interval() {
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: ci, namespace: ci}\n\
        spec:\n  interval: 30m\n  timeout: 10m\n  chart: {spec: {chart: jenkins, version: 5.8.0, sourceRef: {kind: HelmRepository, name: jenkins, namespace: flux-system}}}\n";
    let dir = tree(&[
        ("flux/apps.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/repository.yaml", REPOSITORY),
        ("apps/ci/release.yaml", release),
    ]);
    let (spec, _, _) = import(dir.path());
    let timeout = spec["apps"][0]
        .get("timeout")
        .or_else(|| spec["defaults"].get("timeout"));
    assert_eq!(timeout, Some(&Value::from("1h")), "{spec}");
}

/// Chart values named like secrets that name a Secret are copied with an `allowPlaintext`
/// entry that asks for a review; an ExternalSecret's `secretKey` (a key name) needs none.
#[test]
fn values_naming_secrets_are_copied_with_an_allow_entry() {
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: ci, namespace: ci}\n\
        spec:\n  interval: 30m\n  chart: {spec: {chart: jenkins, version: 5.8.0, sourceRef: {kind: HelmRepository, name: jenkins, namespace: flux-system}}}\n  \
        values: {controller: {githubConfigSecret: jenkins-github}}\n";
    let pushed = "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: token, namespace: ci}\n\
        spec:\n  secretStoreRefs: [{kind: ClusterSecretStore, name: onepassword}]\n  selector: {secret: {name: token}}\n  \
        data: [{match: {secretKey: token, remoteRef: {remoteKey: ci-token}}}]\n";
    let dir = tree(&[
        ("flux/apps.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/repository.yaml", REPOSITORY),
        ("apps/ci/release.yaml", release),
        ("apps/ci/push.yaml", pushed),
    ]);
    let (spec, notes, _) = import(dir.path());
    let app = &spec["apps"][0];
    let allowed = app["allowPlaintext"].as_array().unwrap();
    assert_eq!(allowed.len(), 1, "{spec}");
    assert_eq!(allowed[0]["path"], "/helm/values/controller/githubConfigSecret");
    assert!(
        allowed[0]["reason"].as_str().unwrap().contains("names a Secret"),
        "{spec}"
    );
    assert!(
        app["manifests"].as_array().is_some_and(|m| m.len() == 1),
        "{spec}\n{notes}"
    );
}

/// An object a Kustomization applies to another namespace (a kustomize component applying one
/// object to every namespace) is carried by the app of that namespace, where it keeps its
/// namespace; one in a namespace no app has is noted, not carried.
#[test]
fn an_object_in_another_apps_namespace_is_carried_by_that_app() {
    let map = |ns: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: alerting, namespace: {ns}}}\ndata: {{LEVEL: warn}}\n"
        )
    };
    let maps = [map("ci"), map("observability"), map("lab")].join("---\n");
    let dir = tree(&[
        ("flux/ci.yaml", &kustomization("ci")),
        ("flux/observability.yaml", &kustomization("observability")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/maps.yaml", &maps),
        (
            "apps/observability/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: observability}\n",
        ),
    ]);
    let (spec, notes, files) = import(dir.path());
    let apps = spec["apps"].as_array().unwrap();
    let manifests_of = |name: &str| {
        let app = apps.iter().find(|a| a["name"] == name).unwrap();
        app["manifests"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(
        (manifests_of("ci"), manifests_of("observability")),
        (1, 1),
        "{spec}\n{notes}"
    );
    assert!(
        notes.contains("carried as a user manifest of app `observability`, whose namespace it is: ConfigMap observability/alerting"),
        "{notes}"
    );
    assert!(notes.contains("ConfigMap lab/alerting"), "{notes}");
    let namespaces: Vec<String> = files
        .iter()
        .flat_map(|(_, text)| serde_load_all(text).unwrap_or_default())
        .filter(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "alerting")
        .map(|o| o["metadata"]["namespace"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(namespaces, ["ci", "observability"], "{namespaces:?}");
}

/// A HelmRelease installing from an OCIRepository of the app's, in home-ops' shape.
fn oci_release(remediation: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: ci, namespace: ci}}\n\
         spec: {{interval: 15m, url: oci://ghcr.io/example/charts/jenkins, ref: {{tag: 5.8.0}}, layerSelector: {{mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}}}}\n---\n\
         apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: ci, namespace: ci}}\n\
         spec:\n  interval: 1h\n  chartRef: {{kind: OCIRepository, name: ci}}\n{remediation}"
    )
}

/// The built object of `kind` named `name`.
fn built(files: &[(String, String)], kind: &str, name: &str) -> Value {
    files
        .iter()
        .flat_map(|(_, text)| serde_load_all(text).unwrap_or_default())
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} built"))
}

/// Upgrade remediation retries without install remediation (home-ops' `cluster-apps` patch)
/// are read as the release's retries, not left at gitopsc's default 3; that install then
/// retries as often is noted.
#[test]
fn upgrade_retries_are_read_when_install_has_none() {
    let release = oci_release(
        "  upgrade:\n    cleanupOnFail: true\n    strategy: {name: RemediateOnFailure}\n    \
         remediation: {retries: 2, remediateLastFailure: true}\n",
    );
    let dir = tree(&[
        ("flux/ci.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/release.yaml", &release),
    ]);
    let (spec, notes, files) = import(dir.path());
    assert_eq!(spec["apps"][0]["helm"]["retries"], 2, "{spec}\n{notes}");
    let upgrade = &built(&files, "HelmRelease", "ci")["spec"]["upgrade"]["remediation"];
    assert_eq!(
        (&upgrade["retries"], &upgrade["remediateLastFailure"]),
        (&2.into(), &true.into())
    );
    assert!(
        notes.contains("2 for both, where the release has no install remediation retries"),
        "{notes}"
    );
}

/// A chart OCIRepository's `interval` is read into its source's `interval`, so the built one
/// checks as often (not every hour, gitopsc's default).
#[test]
fn a_chart_oci_repository_keeps_its_interval() {
    let dir = tree(&[
        ("flux/ci.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", NAMESPACE_CI),
        ("apps/ci/release.yaml", &oci_release("")),
    ]);
    let (spec, notes, files) = import(dir.path());
    assert_eq!(spec["sources"]["helm"][0]["interval"], "15m", "{spec}\n{notes}");
    assert_eq!(built(&files, "OCIRepository", "ci")["spec"]["interval"], "15m");
}

/// An ExternalSecret's own labels and annotations (ee-ops' ownership labels) are not a
/// `secrets` field: import gives them back with a merge patch on it, less those the app gives
/// every object (`labels`).
#[test]
fn an_external_secret_keeps_its_labels_and_annotations() {
    let secret = |name: &str, id: &str| {
        format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: es-{name}\n  namespace: ci\n  \
             labels: {{team: platform, managed-by: fluxcd}}\n  annotations: {{source-id: {id}}}\n\
             spec:\n  secretStoreRef: {{kind: ClusterSecretStore, name: vault}}\n  target: {{name: {name}}}\n  \
             data: [{{secretKey: token, remoteRef: {{key: {id}}}}}]\n"
        )
    };
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ci, labels: {team: platform}}\n";
    let store = "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: vault}\n\
        spec: {provider: {vault: {server: 'https://vault.example.com', auth: {tokenSecretRef: {name: vault-token, key: token, namespace: ci}}}}}\n";
    let secrets = [secret("github", "gh__app"), secret("maven", "mvn__token")].join("---\n");
    let dir = tree(&[
        ("flux/ci.yaml", &kustomization("ci")),
        ("apps/ci/namespace.yaml", namespace),
        ("apps/ci/secrets.yaml", &secrets),
        ("stores/store.yaml", store),
    ]);
    let (spec, notes, files) = import(dir.path());
    let app = &spec["apps"][0];
    assert_eq!(app["labels"]["team"], "platform", "{spec}\n{notes}");
    assert_eq!(
        app["patches"].as_array().map(Vec::len),
        Some(2),
        "{spec}\n{notes}"
    );
    assert_eq!(
        app["patches"][0]["merge"]["metadata"],
        serde_json::json!({"labels": {"managed-by": "fluxcd"}, "annotations": {"source-id": "gh__app"}})
    );
    let built = built(&files, "ExternalSecret", "es-maven");
    assert_eq!(built["metadata"]["annotations"]["source-id"], "mvn__token");
    assert_eq!(built["metadata"]["labels"]["managed-by"], "fluxcd");
    assert!(
        notes
            .lines()
            .all(|l| !(l.contains("ExternalSecret ci/es-") && l.contains("metadata"))),
        "{notes}"
    );
}
