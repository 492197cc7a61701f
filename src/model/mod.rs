//! Stage 1: the resolved model. Defaults applied, references resolved to the objects they
//! name, apps sorted, every file of the tree and every Flux Kustomization decided.
//!
//! The model is what blueprints see: it is serialized into their context as is.

mod chart_policy;
pub mod charts;
mod collisions;
pub(crate) mod dragonfly;
mod graph;
mod head;
mod helm;
mod images;
pub mod json;
mod manifests;
mod monitors;
mod namespace;
pub mod operators;
mod part;
pub mod patch;
mod pooler;
mod postgres;
mod redis;
mod refs;
mod release_policy;
mod resolve;
mod restore;
mod routes;
mod runbook;
mod secrets;
mod volsync;
mod workload;

pub use resolve::resolve;
pub use runbook::layer_check;

/// The tree's folder of cluster entry points: `clusters/<cluster>/<flux dir>/` holds the Flux
/// Kustomizations of one cluster.
pub const CLUSTERS_DIR: &str = "clusters";

/// True when `path` (relative to the output root) is in [`CLUSTERS_DIR`].
pub fn in_clusters_dir(path: &str) -> bool {
    path.strip_prefix(CLUSTERS_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

use crate::kinds::Kind;
use serde::Serialize;

use std::collections::BTreeMap;

/// The whole compiled cluster.
#[derive(Debug)]
pub struct Model {
    /// The cluster's name.
    pub cluster: String,
    /// Flux settings every generated object shares.
    pub flux: FluxModel,
    /// HelmRepositories shared from the Flux namespace, each with its own Flux Kustomization.
    pub shared_sources: Option<SharedSources>,
    /// Secret stores shared by every namespace, with their Flux Kustomization.
    pub shared_stores: Option<SharedStores>,
    /// One gate per operator the apps use.
    pub gates: Vec<Gate>,
    /// Flux image automation, when the spec asks for it.
    pub image_automation: Option<ImageAutomationModel>,
    /// The apps, sorted by name.
    pub apps: Vec<App>,
    /// Every patch of the spec, by id: each must select some object.
    pub patches: Vec<patch::PatchInfo>,
}

/// The image automation's objects and the Flux Kustomization applying them.
#[derive(Debug)]
pub struct ImageAutomationModel {
    /// Their folder.
    pub dir: String,
    /// The objects.
    pub manifests: Vec<Manifest>,
    /// The Flux Kustomization applying them.
    pub kustomization: FluxKustomization,
}

/// The ClusterSecretStores and the Flux Kustomization applying them.
#[derive(Debug)]
pub struct SharedStores {
    /// Their folder.
    pub dir: String,
    /// The stores, as blueprint items, by name.
    pub stores: Vec<Manifest>,
    /// The Flux Kustomization applying them.
    pub kustomization: FluxKustomization,
}

/// A Flux Kustomization that applies nothing and waits for an operator and what it creates.
#[derive(Debug, Serialize)]
pub struct Gate {
    /// The operator (`cnpg`, `barman-cloud`, `external-secrets`, `kubeblocks`).
    pub operator: &'static str,
    /// Its (empty) folder.
    pub dir: String,
    /// The gate.
    pub kustomization: FluxKustomization,
}

/// Flux settings every generated Flux object shares.
#[derive(Debug, Serialize)]
pub struct FluxModel {
    /// Namespace of the Flux controllers and Kustomizations.
    pub namespace: String,
    /// The folder holding the generated Flux Kustomizations, relative to the output root.
    pub cluster_dir: String,
    /// The repository path prefix of every Flux Kustomization path (`./kubernetes`).
    pub path_prefix: String,
    /// What the folders of apps, operators and infrastructure start with: empty (they are at
    /// the output root), or a fleet cluster's folder and `/` (`fleet/prod/`).
    pub tree_root: String,
}

/// The shared HelmRepositories. Each has a folder and a Flux Kustomization of its own (its
/// gate), so an unreachable repository holds back only the apps that install from it.
#[derive(Debug, Serialize)]
pub struct SharedSources {
    /// The folder that holds the repositories' folders.
    pub dir: String,
    /// The repositories, sorted by name.
    pub sources: Vec<SharedSource>,
}

/// One shared HelmRepository with its gate.
#[derive(Debug, Serialize)]
pub struct SharedSource {
    /// Its folder.
    pub dir: String,
    /// The HelmRepository.
    pub repository: HelmRepository,
    /// The Flux Kustomization that applies it and waits for it to be ready.
    pub kustomization: FluxKustomization,
}

/// A Flux `HelmRepository` (https chart repository).
#[derive(Debug, Clone, Serialize)]
pub struct HelmRepository {
    /// Object name.
    pub name: String,
    /// Object namespace.
    pub namespace: String,
    /// Repository URL.
    pub url: String,
    /// Check interval.
    pub interval: String,
    /// Timeout of remote operations, when set.
    pub timeout: Option<String>,
}

/// An app, rendered into one folder per layer and one Flux Kustomization per layer.
#[derive(Debug)]
pub struct App {
    /// The app's name.
    pub name: String,
    /// The namespace it runs in.
    pub namespace: String,
    /// Where its Flux Kustomizations go, relative to the output root.
    pub kustomizations_file: String,
    /// The layers, in apply order.
    pub layers: Vec<Layer>,
    /// The app's folder (its layers' parent when it has several).
    pub dir: String,
    /// The generated runbook (`README.md` in the app's folder).
    pub runbook: Option<Manifest>,
    /// The labels, annotations and patches its objects get when they render.
    pub post: patch::Post,
}

/// A small map of strings, sorted by key: labels, selectors, parameters. A sorted list, not a
/// tree: most hold a few entries, where a tree's node has room for eleven (544 bytes). It
/// serializes as a map, empty or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrMap(litemap::LiteMap<String, String>);

impl StrMap {
    /// An empty map.
    pub fn new() -> Self {
        StrMap::default()
    }
}

impl std::ops::Deref for StrMap {
    type Target = litemap::LiteMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for StrMap {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl FromIterator<(String, String)> for StrMap {
    /// Sorted by key; of two entries of one key, the last.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(entries: I) -> Self {
        StrMap(entries.into_iter().collect())
    }
}

impl From<BTreeMap<String, String>> for StrMap {
    fn from(map: BTreeMap<String, String>) -> Self {
        map.into_iter().collect()
    }
}

impl From<&BTreeMap<String, String>> for StrMap {
    fn from(map: &BTreeMap<String, String>) -> Self {
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl IntoIterator for StrMap {
    type Item = (String, String);
    type IntoIter = <litemap::LiteMap<String, String> as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for StrMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

/// A Namespace object with its labels.
#[derive(Debug, Serialize)]
pub struct NamespaceObject {
    /// The namespace's name.
    pub name: String,
    /// Labels, sorted.
    pub labels: StrMap,
}

/// The layers an app's objects are applied in, in order. Each non-empty one is a folder and
/// a Flux Kustomization; an app with only a release layer renders into its own folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// Database clusters, object stores, the secrets they need.
    Data,
    /// One-off initialisation (a database the data service does not create).
    Init,
    /// The app itself: its HelmRelease or workloads.
    Release,
}

impl LayerKind {
    /// The folder and Kustomization-name suffix of the layer.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Data => "data",
            LayerKind::Init => "init",
            LayerKind::Release => "release",
        }
    }
}

/// One Flux Kustomization of an app and the folder it applies.
#[derive(Debug)]
pub struct Layer {
    /// Which layer.
    pub kind: LayerKind,
    /// The folder, relative to the output root.
    pub dir: String,
    /// The manifests in the folder, in the order kustomize lists them.
    pub manifests: Vec<Manifest>,
    /// The Flux Kustomization applying the folder.
    pub kustomization: FluxKustomization,
}

/// What a blueprint renders: a typed item of the model, serialized only when it renders.
pub type Item = std::sync::Arc<dyn erased_serde::Serialize + Send + Sync>;

/// One manifest file of a layer and the blueprint that renders it.
#[derive(Clone)]
pub struct Manifest {
    /// File name inside the layer's folder.
    pub file: String,
    /// The blueprint that renders it.
    pub blueprint: &'static str,
    /// The kind of object in the file (none for a document that is no object).
    pub kind: Option<&'static Kind>,
    /// What the blueprint renders: its `item`.
    pub item: Item,
    /// The JSON pointer of the spec node that wrote the object, when one node did (a user
    /// manifest, a chart policy); messages about the object point there.
    pub origin: Option<crate::spec::path::SpecPath>,
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifest")
            .field("file", &self.file)
            .field("blueprint", &self.blueprint)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What a manifest holds in place of its item once its app is released ([`App::release`]):
/// it never serializes, so nothing renders or keys it as if it were the object.
struct Released;

impl Serialize for Released {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "the object was released once its app rendered",
        ))
    }
}

/// The one [`Released`] item every released manifest shares.
static RELEASED: std::sync::LazyLock<Item> = std::sync::LazyLock::new(|| std::sync::Arc::new(Released));

impl App {
    /// Frees what the app's blueprints render (each manifest's item, the runbook's), once its
    /// files are rendered: a tree held whole then takes the memory the model gives up. The app
    /// keeps its names, folders and files; its key ([`crate::render::app_key`]) is `None`
    /// and rendering it again fails.
    pub fn release(&mut self) {
        let manifests = self.layers.iter_mut().flat_map(|l| l.manifests.iter_mut());
        for m in manifests.chain(self.runbook.as_mut()) {
            m.item = RELEASED.clone();
        }
    }
}

impl Manifest {
    /// Whether the manifest's app was released ([`App::release`]): its item is gone.
    pub fn is_released(&self) -> bool {
        std::sync::Arc::ptr_eq(&self.item, &RELEASED)
    }

    /// A manifest of one object of `kind`, rendered by `blueprint` from `item`.
    pub fn new(
        file: impl Into<String>,
        blueprint: &'static str,
        kind: &'static Kind,
        item: impl Serialize + Send + Sync + 'static,
    ) -> Self {
        Manifest {
            file: file.into(),
            blueprint,
            kind: Some(kind),
            item: std::sync::Arc::new(item),
            origin: None,
        }
    }

    /// A manifest of one object whose kind may be one the kind table does not know.
    pub fn object(
        file: impl Into<String>,
        blueprint: &'static str,
        kind: Option<&'static Kind>,
        item: impl Serialize + Send + Sync + 'static,
    ) -> Self {
        Manifest {
            file: file.into(),
            blueprint,
            kind,
            item: std::sync::Arc::new(item),
            origin: None,
        }
    }

    /// The same manifest, written by the spec node at `pointer`.
    pub fn from_spec(mut self, pointer: crate::spec::path::SpecPath) -> Self {
        self.origin = Some(pointer);
        self
    }

    /// A document that holds no object (the runbook), rendered by `blueprint` from `item`.
    pub fn document(
        file: impl Into<String>,
        blueprint: &'static str,
        item: impl Serialize + Send + Sync + 'static,
    ) -> Self {
        Manifest {
            file: file.into(),
            blueprint,
            kind: None,
            item: std::sync::Arc::new(item),
            origin: None,
        }
    }
}

/// A Flux `Kustomization` (kustomize.toolkit.fluxcd.io/v1).
#[derive(Debug, Clone, Serialize)]
pub struct FluxKustomization {
    /// Object name.
    pub name: String,
    /// Object namespace (the Flux namespace).
    pub namespace: String,
    /// `spec.path`, `./`-prefixed, relative to the repository root.
    pub path: String,
    /// `spec.interval`.
    pub interval: String,
    /// `spec.retryInterval`.
    pub retry_interval: String,
    /// `spec.timeout`.
    pub timeout: String,
    /// `spec.wait`.
    pub wait: bool,
    /// `spec.sourceRef`.
    pub source_ref: SourceRef,
    /// `spec.dependsOn` names, sorted.
    pub depends_on: Vec<String>,
    /// `spec.healthChecks`: objects outside the folder to wait for (operator gates only;
    /// with `wait: true` Flux ignores them).
    pub health_checks: Vec<ObjectRef>,
    /// `spec.healthCheckExprs`, one per custom resource kind the layer applies.
    pub health_check_exprs: Vec<HealthCheckExpr>,
    /// `spec.decryption` (provider `sops`).
    pub decryption: Option<SopsDecryption>,
}

/// A Flux Kustomization's SOPS decryption.
#[derive(Debug, Clone, Serialize)]
pub struct SopsDecryption {
    /// The Secret holding the keys, when the controller does not reach a KMS by itself.
    pub secret: Option<String>,
}

/// A reference to a Kubernetes object (a Flux health check).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    /// apiVersion.
    pub api_version: String,
    /// kind.
    pub kind: String,
    /// name.
    pub name: String,
    /// namespace; none for cluster-scoped objects.
    pub namespace: Option<String>,
}

/// A Flux source reference.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRef {
    /// Source kind.
    pub kind: String,
    /// Source name.
    pub name: String,
    /// Source namespace when not the referrer's.
    pub namespace: Option<String>,
}

/// A CEL health check for one kind of custom resource.
#[derive(Debug, Clone, Serialize)]
pub struct HealthCheckExpr {
    /// The resource's apiVersion.
    pub api_version: &'static str,
    /// The resource's kind.
    pub kind: &'static str,
    /// True when the resource is ready.
    pub current: &'static str,
    /// True when the resource failed for good, when the kind can tell.
    pub failed: Option<&'static str>,
}

/// A Flux `HelmRelease` and the source objects it needs in its namespace.
#[derive(Debug, Serialize)]
pub struct Release {
    /// Object name.
    pub name: String,
    /// Object namespace.
    pub namespace: String,
    /// `spec.releaseName`, when set.
    pub release_name: Option<String>,
    /// `spec.interval`.
    pub interval: String,
    /// `spec.timeout`, when set.
    pub timeout: Option<String>,
    /// The chart name.
    pub chart: String,
    /// The chart version or range.
    pub version: String,
    /// Where the chart comes from.
    pub source: ChartSource,
    /// CRD policy for install and upgrade.
    pub crds: &'static str,
    /// Remediation retries.
    pub retries: i64,
    /// Inline values.
    pub values: json::Json,
    /// `spec.valuesFrom`.
    pub values_from: Vec<ValuesFrom>,
    /// Install, upgrade, rollback and uninstall settings.
    pub policy: release_policy::Policy,
}

/// How a release reaches its chart.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChartSource {
    /// `chart.spec` with a HelmRepository source.
    Repository {
        /// The HelmRepository.
        repository: HelmRepository,
        /// True when the HelmRepository is emitted beside the release (no cross-namespace refs).
        local: bool,
    },
    /// `chartRef` to an OCIRepository in the release's namespace.
    Oci {
        /// The OCIRepository.
        repository: OciRepository,
    },
}

/// A Flux `OCIRepository` holding one chart.
#[derive(Debug, Clone, Serialize)]
pub struct OciRepository {
    /// Object name.
    pub name: String,
    /// Object namespace.
    pub namespace: String,
    /// `oci://<registry path>/<chart>`.
    pub url: String,
    /// The exact chart version (`ref.tag`).
    pub tag: String,
    /// Check interval.
    pub interval: String,
    /// Timeout of remote operations, when set.
    pub timeout: Option<String>,
}

/// A `valuesFrom` entry.
#[derive(Debug, Serialize)]
pub struct ValuesFrom {
    /// ConfigMap or Secret.
    pub kind: &'static str,
    /// Object name.
    pub name: String,
    /// Key read.
    pub values_key: Option<String>,
    /// Where it goes.
    pub target_path: Option<String>,
    /// Set as a plain string.
    pub literal: bool,
    /// Tolerate absence.
    pub optional: bool,
}

impl Model {
    /// The files the cluster folder's kustomization.yaml lists: every Flux Kustomization of
    /// the tree is in one of them.
    pub fn cluster_resources(&self) -> Vec<String> {
        let mut files: Vec<String> = Vec::with_capacity(self.apps.len() + 1);
        if !self.gates.is_empty() {
            files.push("operators.yaml".to_string());
        }
        if self.shared_stores.is_some() {
            files.push("secret-stores.yaml".to_string());
        }
        if self.shared_sources.is_some() {
            files.push("sources.yaml".to_string());
        }
        if self.image_automation.is_some() {
            files.push("image-automation.yaml".to_string());
        }
        files.extend(self.apps.iter().map(|a| format!("{}.yaml", a.name)));
        files
    }

    /// Every Flux Kustomization of the tree.
    pub fn kustomizations(&self) -> impl Iterator<Item = &FluxKustomization> {
        self.shared_sources
            .iter()
            .flat_map(|s| s.sources.iter().map(|s| &s.kustomization))
            .chain(self.shared_stores.iter().map(|s| &s.kustomization))
            .chain(self.image_automation.iter().map(|s| &s.kustomization))
            .chain(self.gates.iter().map(|g| &g.kustomization))
            .chain(
                self.apps
                    .iter()
                    .flat_map(|a| a.layers.iter().map(|l| &l.kustomization)),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::StrMap;

    #[test]
    fn a_str_map_is_sorted_keeps_the_last_of_a_key_and_serializes_as_a_map_even_empty() {
        let entries = [("b", "1"), ("a", "2"), ("b", "3")];
        let map = StrMap::from_iter(entries.map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"a":"2","b":"3"}"#);
        assert_eq!(serde_json::to_string(&StrMap::new()).unwrap(), "{}");
        let empty = minijinja::Value::from(minijinja::value::Serde(StrMap::new()));
        assert_eq!(empty.kind(), minijinja::value::ValueKind::Map);
    }
}
