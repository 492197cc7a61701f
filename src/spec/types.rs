//! The spec's types. `#[serde(deny_unknown_fields)]` everywhere: the schema is closed, so a
//! typo is an error with a suggestion, never a silently ignored field.

use super::data::{Operators, PostgresSpec, RedisSpec};
use super::secrets::{SecretSpec, SecretStoreSpec};
use super::workload::{
    AlertGroup, ConfigMapSpec, LimitRangeSpec, NetworkDefaults, NetworkPolicySpec, ResourceQuotaSpec,
    ServiceAccountSpec, WorkloadSpec,
};
use super::{
    CHART_NAME_PATTERN, CHART_VERSION_PATTERN, Duration, FLUX_VERSION_PATTERN, Group, HELM_URL_PATTERN, Name,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The spec's `apiVersion`.
pub const API_VERSION: &str = "gitopsc.io/v1alpha1";

/// A cluster spec: one cluster, the apps Flux runs on it, and where their manifests live.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "gitopsc cluster spec")]
pub struct ClusterSpec {
    /// Always `gitopsc.io/v1alpha1`.
    pub api_version: ApiVersion,
    /// Always `Cluster`.
    pub kind: SpecKind,
    /// The cluster's name: the folder `clusters/<name>/` of the rendered tree.
    pub metadata: Metadata,
    /// Where the tree lives in the GitOps repository and how Flux applies it.
    #[serde(default)]
    pub flux: FluxSpec,
    /// Defaults for every app.
    #[serde(default)]
    pub defaults: Defaults,
    /// Chart repositories the apps install from.
    #[serde(default)]
    pub sources: Sources,
    /// External Secrets stores the apps' secrets come from.
    #[serde(default)]
    pub secret_stores: Vec<SecretStoreSpec>,
    /// The operators the apps' data services and secrets need.
    #[serde(default)]
    pub operators: Operators,
    /// The apps, each rendered into its own folder and Flux Kustomization(s).
    #[serde(default)]
    pub apps: Vec<AppSpec>,
    /// Flux image automation: new image tags committed to this spec's marked lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_automation: Option<super::images::ImageAutomation>,
    /// The folder of the output root that holds the app, operator and infrastructure folders
    /// (`spec::load::Loaded::tree_root`): set for a cluster of a fleet, never read from a spec.
    #[serde(skip)]
    pub tree_root: String,
}

/// The spec's `apiVersion`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    /// The only version so far.
    #[serde(rename = "gitopsc.io/v1alpha1")]
    V1Alpha1,
}

/// The spec's `kind`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub enum SpecKind {
    /// A cluster spec.
    Cluster,
}

/// Names the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// The cluster's name, as in `clusters/<name>/`.
    pub name: Name,
}

/// How Flux finds and applies the rendered tree.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FluxSpec {
    /// The Flux minor version the tree targets; features it lacks are refused.
    #[serde(default = "default_flux_version")]
    #[schemars(regex(pattern = FLUX_VERSION_PATTERN))]
    pub version: String,
    /// Namespace of the Flux controllers and of the generated Flux Kustomizations.
    #[serde(default = "default_flux_namespace")]
    pub namespace: Name,
    /// Path of the rendered tree (`--out`) inside the GitOps repository, e.g. `kubernetes`.
    /// Flux Kustomization paths are `./<repoPath>/...`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)?$"))]
    pub repo_path: String,
    /// The Flux source holding the repository (what `flux bootstrap` created).
    #[serde(default)]
    pub source_ref: SourceRef,
    /// How often Flux reconciles the generated Kustomizations.
    #[serde(default = "default_flux_interval")]
    pub interval: Duration,
    /// Flux Kustomizations that exist outside this tree (in the Flux namespace) and that
    /// apps may depend on.
    #[serde(default)]
    pub external: Vec<Name>,
    /// Whether Flux may follow references across namespaces (Flux's default). Set `false`
    /// when the controllers run with `--no-cross-namespace-refs=true`: every source is then
    /// emitted in the namespace of each release that uses it.
    #[serde(default = "yes")]
    pub cross_namespace_refs: bool,
    /// The sub-folder of `clusters/<cluster>/` holding the generated Flux Kustomizations.
    #[serde(default = "default_flux_dir")]
    pub dir: Name,
}

impl Default for FluxSpec {
    fn default() -> Self {
        FluxSpec {
            version: default_flux_version(),
            namespace: default_flux_namespace(),
            repo_path: String::new(),
            source_ref: SourceRef::default(),
            interval: default_flux_interval(),
            external: Vec::new(),
            cross_namespace_refs: true,
            dir: default_flux_dir(),
        }
    }
}

/// A reference to the Flux source that holds the GitOps repository.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SourceRef {
    /// The source's kind.
    #[serde(default)]
    pub kind: SourceKind,
    /// The source's name.
    #[serde(default = "default_flux_namespace")]
    pub name: Name,
    /// The source's namespace, when not the Flux namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
}

impl Default for SourceRef {
    fn default() -> Self {
        SourceRef {
            kind: SourceKind::default(),
            name: default_flux_namespace(),
            namespace: None,
        }
    }
}

/// Kinds of Flux source a Kustomization can apply from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SourceKind {
    /// A Git repository (what `flux bootstrap` creates).
    #[default]
    GitRepository,
    /// An OCI artifact.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// An S3-compatible bucket.
    Bucket,
}

/// Defaults applied to every app that does not set its own.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    /// How long Flux waits for an app's objects to become ready.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// How soon Flux retries a failed app.
    #[serde(default = "default_retry_interval")]
    pub retry_interval: Duration,
    /// How often helm-controller reconciles each HelmRelease.
    #[serde(default = "default_helm_interval")]
    pub helm_interval: Duration,
    /// How every HelmRelease is installed, upgraded, rolled back and uninstalled, unless its
    /// app's `helm` says otherwise (field by field).
    #[serde(default)]
    pub helm: super::release::ReleaseDefaults,
    /// Pod Security level of the apps' namespaces.
    #[serde(default)]
    pub pod_security: PodSecurityLevel,
    /// Label namespaces (and other stateful objects) `kustomize.toolkit.fluxcd.io/prune:
    /// disabled`, so that removing or renaming an app never deletes them with their data.
    #[serde(default = "yes")]
    pub prune_protection: bool,
    /// The secret store apps' secrets use when they name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_store: Option<Name>,
    /// Storage class of database volumes that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// The monitoring stack the apps' monitors and rules are written for, and what they carry.
    #[serde(default)]
    pub monitoring: MonitoringDefaults,
    /// The API server's ports and the cluster DNS, for NetworkPolicies.
    #[serde(default)]
    pub network: NetworkDefaults,
    /// Put Reloader annotations on every workload, so a rotated Secret restarts its pods.
    #[serde(default)]
    pub reloader: bool,
    /// The folder of vendored chart files (`<chart>/<version>/values.yaml`,
    /// `values.schema.json`, `Chart.yaml`) that apps' `helm.values` are checked against,
    /// relative to the spec's folder (default `charts`); see docs/chart-values.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub charts_dir: Option<String>,
    /// Patches applied to every app's objects (see `apps[].patches`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<super::patches::PatchSpec>,
    /// Labels every object of every app carries.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Decrypt SOPS-encrypted files in every app's folders (Flux Kustomization `decryption`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<super::decryption::Decryption>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timeout: default_timeout(),
            retry_interval: default_retry_interval(),
            helm_interval: default_helm_interval(),
            helm: Default::default(),
            pod_security: PodSecurityLevel::default(),
            prune_protection: true,
            secret_store: None,
            storage_class: None,
            monitoring: MonitoringDefaults::default(),
            network: NetworkDefaults::default(),
            reloader: false,
            charts_dir: None,
            patches: Vec::new(),
            labels: std::collections::BTreeMap::new(),
            decryption: None,
        }
    }
}

/// Monitoring settings shared by every app.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MonitoringDefaults {
    /// Labels the cluster's Prometheus or VictoriaMetrics selects monitors and rules by
    /// (e.g. `release: kube-prometheus-stack`): a monitor nobody selects fails silently.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// The namespace Prometheus scrapes from: allowed in to the workloads' metrics ports when
    /// a network policy isolates their pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
    /// The operator that reads the monitors and rules: `prometheus` (ServiceMonitor,
    /// PodMonitor, PrometheusRule of `monitoring.coreos.com/v1`) or `victoriametrics`
    /// (VMServiceScrape, VMPodScrape, VMRule of `operator.victoriametrics.com/v1beta1`).
    #[serde(default)]
    pub flavor: MonitoringFlavor,
}

/// The monitoring operator a cluster runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MonitoringFlavor {
    /// The Prometheus operator (kube-prometheus-stack).
    #[default]
    Prometheus,
    /// The VictoriaMetrics operator (victoria-metrics-k8s-stack): gitopsc writes its own kinds,
    /// never the Prometheus ones its converter would copy and never delete.
    #[serde(rename = "victoriametrics")]
    VictoriaMetrics,
}

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    /// No restrictions.
    Privileged,
    /// Blocks known privilege escalations.
    Baseline,
    /// Current pod hardening best practice.
    #[default]
    Restricted,
}

impl PodSecurityLevel {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurityLevel::Privileged => "privileged",
            PodSecurityLevel::Baseline => "baseline",
            PodSecurityLevel::Restricted => "restricted",
        }
    }
}

/// Chart repositories.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sources {
    /// Helm chart repositories: `https://` ones become HelmRepositories, `oci://` ones an
    /// OCIRepository per app that installs from them.
    #[serde(default)]
    pub helm: Vec<HelmSource>,
}

/// A Helm chart repository.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmSource {
    /// The name apps use in `helm.source`.
    pub name: Name,
    /// `https://` repository URL, or `oci://` registry path that holds the charts.
    #[schemars(regex(pattern = HELM_URL_PATTERN))]
    pub url: String,
    /// How often Flux checks the repository for new chart versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// How long Flux waits for the repository (index fetch, chart pull; Flux's default 60s;
    /// `ms`, `s` and `m` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// An app: a namespace, what runs in it, and its place in the Flux dependency graph.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppSpec {
    /// The app's name: its folder and its Flux Kustomization.
    pub name: Name,
    /// The namespace the app runs in (default: the app's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
    /// The folder under `workloads/` that holds the app's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// The name of the app's (last) Flux Kustomization, when it is not the app's: one an
    /// adopting team keeps (its other layers are `<name>-<layer>`). `dependsOn` still names
    /// apps; a name another Kustomization has is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomization_name: Option<Name>,
    /// Apps of this spec, or `flux.external` Kustomizations, that must be ready first.
    #[serde(default)]
    pub depends_on: Vec<Name>,
    /// How long Flux waits for the app's objects to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// How soon Flux retries the app after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
    /// Pod Security level of the app's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security: Option<PodSecurityLevel>,
    /// Keep the app's namespace when the app leaves the spec (see `defaults.pruneProtection`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_protection: Option<bool>,
    /// A Helm chart installed by a Flux HelmRelease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmSpec>,
    /// The app's PostgreSQL cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<Box<PostgresSpec>>,
    /// The app's Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<Box<RedisSpec>>,
    /// Backups of the app's volumes with VolSync (restic to S3).
    #[serde(default)]
    pub volume_backups: Vec<super::data::VolumeBackupSpec>,
    /// Secrets pulled from a secret store into the app's namespace.
    #[serde(default)]
    pub secrets: Vec<SecretSpec>,
    /// Scrape the app's metrics (for a chart gitopsc knows: through the chart's own values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Box<AppMonitoring>>,
    /// ConfigMaps written into the tree, read by the app's workloads.
    #[serde(default)]
    pub config_maps: Vec<ConfigMapSpec>,
    /// The app's own StatefulSets, Deployments, Jobs and CronJobs.
    #[serde(default)]
    pub workloads: Vec<WorkloadSpec>,
    /// Services of their own, beside the ones each workload gets: headless, selecting a
    /// workload's pods or pods by labels, with annotations.
    #[serde(default)]
    pub services: Vec<super::workload::ServiceSpec>,
    /// ServiceAccounts with their Role and ClusterRole.
    #[serde(default)]
    pub service_accounts: Vec<ServiceAccountSpec>,
    /// NetworkPolicies: default deny in the namespace, with what the workloads need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<NetworkPolicySpec>,
    /// NetworkPolicies for the pods of the app's chart (see `docs/chart-policies.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_policies: Vec<super::chart_policy::ChartNetworkPolicy>,
    /// A PodDisruptionBudget for the pods of the app's chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<super::chart_policy::ChartDisruptionBudget>,
    /// Prometheus alert groups, written into one PrometheusRule.
    #[serde(default)]
    pub alerts: Vec<AlertGroup>,
    /// The name of the object holding `alerts`, when it is not the app's (one the team
    /// already has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<Name>,
    /// Decrypt SOPS-encrypted files in the app's folders (over `defaults.decryption`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<super::decryption::Decryption>,
    /// Gateway API HTTPRoutes to the app's workloads or its chart's Services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<super::routes::RouteSpec>,
    /// A ResourceQuota of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_quota: Option<ResourceQuotaSpec>,
    /// A LimitRange of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_range: Option<Box<LimitRangeSpec>>,
    /// The user's own objects (inline, or files and folders beside the spec), written into
    /// one of the app's layers and owned like generated ones (see `docs/manifests.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<super::manifests::ManifestSpec>,
    /// Patches of the app's objects (generated or its own), applied when the tree renders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<super::patches::PatchSpec>,
    /// Labels every object of the app carries (besides `defaults.labels`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Annotations every object of the app carries.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
    /// Labels of the app's Namespace object (when the app writes it).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub namespace_labels: std::collections::BTreeMap<String, String>,
    /// Values the plaintext-secret check refuses that are not secrets (see `docs/secrets.md`):
    /// each names one value by its JSON pointer below the app and says why it is not a
    /// secret, so every exception is written down and seen in review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_plaintext: Vec<AllowPlaintext>,
}

/// One value that looks like a secret by its key and is not one.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllowPlaintext {
    /// The value's JSON pointer below the app, e.g. `/helm/values/auth/tokenTTL`
    /// (`~1` for a `/` in a key, `~0` for a `~`).
    pub path: String,
    /// Why the value is not a secret, e.g. `a duration, not a token`.
    pub reason: String,
}

impl HelmSpec {
    /// The HelmRelease object's name: `name`, else the app's.
    pub fn object_name<'a>(&'a self, app: &'a str) -> &'a str {
        self.name.as_ref().map_or(app, Name::as_str)
    }

    /// The Helm release name, as helm-controller sets it: `releaseName`, else the object's name.
    pub fn release<'a>(&'a self, app: &'a str) -> &'a str {
        self.release_name
            .as_ref()
            .map_or_else(|| self.object_name(app), Name::as_str)
    }
}

impl AppSpec {
    /// The name of the app's last Flux Kustomization (`kustomizationName`, else its name).
    pub fn flux_name(&self) -> &str {
        self.kustomization_name.as_ref().unwrap_or(&self.name).as_str()
    }

    /// The namespace the app runs in (its own name unless `namespace` is set).
    pub fn namespace(&self) -> &str {
        self.namespace.as_ref().unwrap_or(&self.name).as_str()
    }
}

/// Monitoring of an app.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppMonitoring {
    /// Turn metrics and their scraping on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// For a chart gitopsc does not know: the name of the container port its pods serve
    /// metrics on; gitopsc then renders a PodMonitor selecting the release's pods by
    /// `app.kubernetes.io/instance` (turn the metrics on in `helm.values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// The metrics path (default `/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Labels selecting the chart's metrics pods (default `app.kubernetes.io/instance:
    /// <release>`, which most charts set).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub selector: std::collections::BTreeMap<String, String>,
}

/// A Helm chart release.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmSpec {
    /// The chart's name in its repository.
    #[schemars(regex(pattern = CHART_NAME_PATTERN))]
    pub chart: String,
    /// The chart version: an exact version, or a semver range for `https://` repositories.
    #[schemars(regex(pattern = CHART_VERSION_PATTERN))]
    pub version: String,
    /// The `sources.helm` entry the chart comes from.
    pub source: Name,
    /// The HelmRelease object's name (default: the app's name), for a release that already has
    /// one in the cluster. It is also the Helm release name unless `releaseName` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The Helm release name (default: `name`, else the app's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 53))]
    pub release_name: Option<Name>,
    /// Helm's own timeout for install and upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// How often helm-controller reconciles the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// How the chart's CRDs are handled on install and upgrade.
    #[serde(default)]
    pub crds: CrdPolicy,
    /// How often a failed install or upgrade is retried before remediation.
    #[serde(default = "default_retries")]
    #[schemars(range(min = 0))]
    pub retries: i64,
    /// Revisions Helm keeps (default: `defaults.helm.maxHistory`, else helm-controller's 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<u32>,
    /// How often helm-controller checks an `https://` source for a new chart (an `oci://`
    /// chart is checked at its source's `interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_interval: Option<Duration>,
    /// What happens when an install fails (over `defaults.helm.install`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<super::release::InstallPolicy>,
    /// What happens when an upgrade fails (over `defaults.helm.upgrade`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<super::release::UpgradePolicy>,
    /// How a remediation rolls back (over `defaults.helm.rollback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<super::release::RollbackPolicy>,
    /// How a remediation uninstalls (over `defaults.helm.uninstall`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<super::release::UninstallPolicy>,
    /// Chart values, written into the HelmRelease as given. Strings may hold compile-time
    /// references to what gitopsc generates — `((postgres.host))`, `((postgres.port))`,
    /// `((postgres.secret))`, `((redis.address))`, `((secrets.<name>))`, `((namespace))`,
    /// `((apps.<app>.postgres.host))` — resolved at compile time; an unknown one is an error.
    // Not deserialized with the rest: typing writes them in, from the tree.
    #[serde(default, deserialize_with = "super::moved_in_later")]
    #[schemars(with = "Map<String, Value>")]
    pub values: super::ValuesText,
    /// Values read from ConfigMaps or Secrets in the app's namespace when the release renders.
    #[serde(default)]
    pub values_from: Vec<ValuesFrom>,
}

/// What helm-controller does with a chart's CRDs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CrdPolicy {
    /// Leave CRDs alone.
    Skip,
    /// Create CRDs on install, never update them.
    Create,
    /// Create and update CRDs on install and upgrade.
    #[default]
    CreateReplace,
}

/// A ConfigMap or Secret key merged into a release's values.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValuesFrom {
    /// `ConfigMap` or `Secret`.
    pub kind: ValuesKind,
    /// The object's name, in the app's namespace.
    pub name: Name,
    /// The key to read (default `values.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[\-._a-zA-Z0-9]+$"), length(max = 253))]
    pub values_key: Option<String>,
    /// Where in the values the key's content goes (default: merged at the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = r"^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$"),
        length(max = 250)
    )]
    pub target_path: Option<String>,
    /// Put the content at `targetPath` as a plain string (no Helm `--set` parsing).
    #[serde(default)]
    pub literal: bool,
    /// Render the release even when the object is missing.
    #[serde(default)]
    pub optional: bool,
    /// A Secret that gitopsc does not write (none of the app's `secrets` or data services
    /// produces it): said here, so that a mistyped name is not mistaken for one.
    #[serde(default)]
    pub external: bool,
}

/// Kinds of object `valuesFrom` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ValuesKind {
    /// A ConfigMap.
    ConfigMap,
    /// A Secret.
    Secret,
}

fn yes() -> bool {
    true
}
fn default_retries() -> i64 {
    3
}
fn default_flux_version() -> String {
    "2.9".into()
}
fn default_flux_namespace() -> Name {
    Name("flux-system".into())
}
fn default_flux_dir() -> Name {
    Name("gitopsc".into())
}
fn default_flux_interval() -> Duration {
    Duration("10m".into())
}
fn default_timeout() -> Duration {
    Duration("5m".into())
}
fn default_retry_interval() -> Duration {
    Duration("1m".into())
}
fn default_helm_interval() -> Duration {
    Duration("30m".into())
}
