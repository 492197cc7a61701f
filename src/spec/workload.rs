//! The spec's workload types: an app's own StatefulSets and Deployments, the ConfigMaps they
//! read, their scaling, disruption budget, monitoring, network policy and RBAC.
//!
//! Derived object names are decided here ([`WorkloadSpec::service_name`] and friends), so the
//! semantic checks and the model agree on them.

use super::Name;
pub use super::network::{Combine, NetworkRule, Peer};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Pattern of a Kubernetes quantity (`500m`, `1.5`, `128Mi`, `1e3`).
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";
/// Pattern of a port name (IANA service name: at most 15 characters).
pub const PORT_NAME_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Pattern of a ConfigMap or Secret key.
pub const CONFIG_KEY_PATTERN: &str = r"^[-._a-zA-Z0-9]+$";
/// Pattern of an environment variable name (C identifier).
pub const ENV_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";
/// Pattern of a Prometheus duration (`5m`, `1h30m`, `0`).
pub const PROM_DURATION_PATTERN: &str =
    "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$";
/// Pattern of a container image reference (no whitespace).
pub const IMAGE_PATTERN: &str = r"^[a-zA-Z0-9][^\s]*$";
/// Pattern of a CIDR block.
pub const CIDR_PATTERN: &str = r"^([0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-fA-F:]+/[0-9]{1,3})$";
/// Pattern of an absolute path inside a container.
pub const MOUNT_PATH_PATTERN: &str = r"^/[^\s:]*$";
/// Pattern of an integer percentage (`25%`).
pub const PERCENT_PATTERN: &str = "^[0-9]+%$";

/// What a pattern means and how to fix a value that does not match it; `None` for patterns
/// this module does not own.
pub fn pattern_meaning(pattern: &str) -> Option<(&'static str, &'static str)> {
    Some(match pattern {
        QUANTITY_PATTERN => (
            "a quantity",
            "write a Kubernetes quantity such as `500m`, `2`, `128Mi` or `10Gi`",
        ),
        PORT_NAME_PATTERN => (
            "a port name",
            "port names are lowercase letters, digits and `-`, at most 15 characters, e.g. `http` or `metrics`",
        ),
        CONFIG_KEY_PATTERN => ("a valid key", "keys are letters, digits, `-`, `_` and `.`"),
        ENV_NAME_PATTERN => (
            "an environment variable name",
            "use letters, digits and `_`, not starting with a digit, e.g. `LOG_LEVEL`",
        ),
        PROM_DURATION_PATTERN => (
            "a Prometheus duration",
            "write a duration such as `30s`, `5m`, `1h` or `1d`",
        ),
        IMAGE_PATTERN => (
            "an image reference",
            "write `registry/repository:tag` or `...@sha256:<digest>`",
        ),
        CIDR_PATTERN => ("a CIDR block", "write an address block such as `10.0.0.0/8`"),
        MOUNT_PATH_PATTERN => ("an absolute path", "write an absolute path such as `/etc/app`"),
        LABEL_NAME_PATTERN => (
            "a label name",
            "use letters, digits and `_`, not starting with a digit, e.g. `instance`",
        ),
        PERCENT_PATTERN => (
            "a percentage",
            "write a whole number or a percentage such as `25%`",
        ),
        _ => return None,
    })
}

/// The labels that make up every workload's selector.
pub const SELECTOR_KEYS: &[&str] = &["app.kubernetes.io/name", "app.kubernetes.io/instance"];

/// The volume that holds the pod name for instance identity.
pub const IDENTITY_VOLUME: &str = "pod-info";

/// The pod volume of a mounted ConfigMap (`config-<name>`) or Secret (`secret-<name>`),
/// shortened with a hash of the name when it would pass 63 characters.
pub fn volume_name(secret: bool, name: &str) -> String {
    let prefix = if secret { "secret" } else { "config" };
    let full = format!("{prefix}-{name}");
    if full.len() <= 63 {
        return full;
    }
    let hash = crate::digest::sha256_hex(name.as_bytes());
    let keep = 63 - prefix.len() - 2 - 8;
    format!("{prefix}-{}-{}", name[..keep].trim_end_matches('-'), &hash[..8])
}

/// A Kubernetes quantity, written as a number or a string (`2`, `"500m"`, `"128Mi"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Quantity {
    /// A plain number.
    Number(serde_json::Number),
    /// A string with an optional suffix.
    Text(String),
}

impl Quantity {
    /// The quantity as the string Kubernetes reads.
    pub fn text(&self) -> String {
        match self {
            Quantity::Number(n) => n.to_string(),
            Quantity::Text(s) => s.clone(),
        }
    }

    /// The quantity's value in base units (cores, bytes), when it parses.
    pub fn value(&self) -> Option<f64> {
        let text = self.text();
        let suffixes: [(&str, f64); 15] = [
            ("Ki", 1024f64),
            ("Mi", 1024f64.powi(2)),
            ("Gi", 1024f64.powi(3)),
            ("Ti", 1024f64.powi(4)),
            ("Pi", 1024f64.powi(5)),
            ("Ei", 1024f64.powi(6)),
            ("n", 1e-9),
            ("u", 1e-6),
            ("m", 1e-3),
            ("k", 1e3),
            ("M", 1e6),
            ("G", 1e9),
            ("T", 1e12),
            ("P", 1e15),
            ("E", 1e18),
        ];
        for (suffix, factor) in suffixes {
            if let Some(number) = text.strip_suffix(suffix) {
                return number.parse::<f64>().ok().map(|n| n * factor);
            }
        }
        text.parse::<f64>().ok()
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes quantity: a number, or a string such as `500m`, `128Mi`, `10Gi`.",
            "type": ["string", "number"],
            "pattern": QUANTITY_PATTERN
        })
    }
}

/// A whole number or a percentage (`1`, `"25%"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrPercent {
    /// A count.
    Int(u32),
    /// A percentage such as `25%`.
    Percent(String),
}

impl JsonSchema for IntOrPercent {
    fn schema_name() -> Cow<'static, str> {
        "IntOrPercent".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number, or a percentage such as `25%`.",
            "type": ["integer", "string"],
            "minimum": 0,
            "pattern": PERCENT_PATTERN
        })
    }
}

/// A container port, by name or number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortRef {
    /// A port number.
    Number(u16),
    /// The name of one of the workload's `ports`.
    Name(String),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(s) => f.write_str(s),
        }
    }
}

impl JsonSchema for PortRef {
    fn schema_name() -> Cow<'static, str> {
        "PortRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A port: the name of one of the workload's `ports`, or a number.",
            "type": ["string", "integer"],
            "minimum": 1,
            "maximum": 65535,
            "pattern": PORT_NAME_PATTERN
        })
    }
}

/// A ConfigMap of the app, written into the tree; its data is what `checksum/config` hashes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigMapSpec {
    /// The ConfigMap's name in the app's namespace.
    pub name: Name,
    /// Keys and their string values (multi-line values make config files).
    #[serde(default)]
    pub data: BTreeMap<ConfigKey, String>,
}

/// A Service of the app not tied to one workload's ports: a headless Service for peer
/// discovery, a second Service with the annotations a load balancer or mesh reads, a Service
/// over pods gitopsc does not run. Exactly one of `workload` and `selector`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceSpec {
    /// The Service's name in the app's namespace.
    pub name: Name,
    /// A workload of the app whose pods it selects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Name>,
    /// The labels of the pods it selects, instead of `workload`.
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    /// No cluster address (`clusterIP: None`): DNS answers with the addresses of the pods.
    #[serde(default)]
    pub headless: bool,
    /// Answer in DNS for pods that are not ready too (peers that must find each other before
    /// they are ready, e.g. to form a cluster).
    #[serde(default)]
    pub publish_not_ready_addresses: bool,
    /// Its ports (a Service that is not headless needs one).
    #[serde(default)]
    pub ports: Vec<ServicePortSpec>,
    /// `ClusterIP` (inside the cluster), `NodePort` (also on a port of every node) or
    /// `LoadBalancer` (also through a cloud or bare-metal load balancer).
    #[serde(default, rename = "type")]
    pub kind: ServiceType,
    /// `LoadBalancer` only: the load balancer implementation that serves it
    /// (`example.com/internal-vip`; the cloud provider's when unset). Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<String>,
    /// `NodePort` and `LoadBalancer` only: `Local` keeps the client's address and routes only to
    /// pods on the receiving node; `Cluster` (Kubernetes' default) spreads over every pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// Annotations of the Service (what a load balancer controller or a mesh reads).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// More labels of the Service.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A port of a [`ServiceSpec`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServicePortSpec {
    /// The port's name.
    #[schemars(regex(pattern = PORT_NAME_PATTERN), length(max = 15))]
    pub name: String,
    /// The port clients connect to.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// The pods' port: a name of the workload's ports, or a number (default: `port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<PortRef>,
    /// `NodePort` and `LoadBalancer` only: the port every node opens for it (30000-32767;
    /// Kubernetes picks a free one when unset). Node ports are shared by the whole cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<u16>,
    /// The protocol.
    #[serde(default)]
    pub protocol: Protocol,
}

/// The kinds of Service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    /// A cluster address only.
    #[default]
    ClusterIP,
    /// A cluster address, and a port on every node.
    NodePort,
    /// A cluster address, node ports, and an external load balancer.
    LoadBalancer,
}

impl ServiceType {
    /// The Kubernetes name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }

    /// Whether it opens ports on the nodes (and so takes `nodePort` and an
    /// `externalTrafficPolicy`).
    pub fn opens_node_ports(self) -> bool {
        self != ServiceType::ClusterIP
    }
}

/// How a Service reachable from outside the cluster routes external traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TrafficPolicy {
    /// Over every ready pod of the cluster (the client's address is hidden).
    Cluster,
    /// Only to pods on the node that received it (the client's address is kept).
    Local,
}

/// The lowest and highest node port of Kubernetes' default range (`--service-node-port-range`).
pub const NODE_PORT_RANGE: (u16, u16) = (30000, 32767);

/// A workload's own Service: `true` (a ClusterIP Service, the default), `false` (none), or
/// its settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum WorkloadService {
    /// With (`true`) or without (`false`) a ClusterIP Service.
    Enabled(bool),
    /// A Service of another type or with annotations.
    Settings(WorkloadServiceSpec),
}

impl Default for WorkloadService {
    fn default() -> Self {
        WorkloadService::Enabled(true)
    }
}

impl WorkloadService {
    /// Whether the workload gets its Service.
    pub fn enabled(&self) -> bool {
        !matches!(self, WorkloadService::Enabled(false))
    }

    /// Its settings (the defaults for `true` and `false`).
    pub fn settings(&self) -> Cow<'_, WorkloadServiceSpec> {
        match self {
            WorkloadService::Settings(s) => Cow::Borrowed(s),
            WorkloadService::Enabled(_) => Cow::Owned(WorkloadServiceSpec::default()),
        }
    }
}

/// The settings of a workload's own Service.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadServiceSpec {
    /// `ClusterIP`, `NodePort` or `LoadBalancer`.
    #[serde(default, rename = "type")]
    pub kind: ServiceType,
    /// `NodePort` and `LoadBalancer` only: the node port of each of the Service's ports, by
    /// port name (30000-32767; Kubernetes picks free ones for the others).
    #[serde(default)]
    pub node_ports: BTreeMap<String, u16>,
    /// `LoadBalancer` only: the load balancer implementation that serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<String>,
    /// `NodePort` and `LoadBalancer` only: `Local` or `Cluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// Annotations of the Service (what a load balancer controller reads).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A ConfigMap or Secret key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfigKey(pub String);

impl JsonSchema for ConfigKey {
    fn schema_name() -> Cow<'static, str> {
        "ConfigKey".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A ConfigMap or Secret key: letters, digits, `-`, `_` and `.`.",
            "type": "string",
            "pattern": CONFIG_KEY_PATTERN,
            "maxLength": 253
        })
    }
}

/// Kinds of workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WorkloadKind {
    /// Interchangeable replicas, rolled with surge.
    Deployment,
    /// Replicas with stable names (`<name>-0`, `<name>-1`, ...), DNS and volumes.
    StatefulSet,
    /// Pods that run to completion once (batch/v1); the app's Flux Kustomization waits until
    /// it completed, and recreates it when its pod template changes.
    Job,
    /// A Job on a schedule (batch/v1); `job.schedule` says when.
    CronJob,
}

impl WorkloadKind {
    /// The Kubernetes kind.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
        }
    }

    /// Whether its pods run to completion (a Job or CronJob) rather than serve.
    pub fn runs_to_completion(self) -> bool {
        matches!(self, WorkloadKind::Job | WorkloadKind::CronJob)
    }
}

/// How a Job or CronJob runs its pods.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobSettings {
    /// CronJob only, required there: when a Job starts, in cron syntax (`0 3 * * *`: minute,
    /// hour, day of month, month, day of week) or a macro (`@hourly`, `@daily`, `@weekly`,
    /// `@monthly`, `@yearly`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// CronJob only: the time zone of the schedule (an IANA name such as `Europe/Berlin`;
    /// the controller's, usually UTC, when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// CronJob only: what happens when a Job is due while the last one still runs
    /// (Kubernetes' default `Allow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    /// CronJob only: seconds after its time a missed Job may still start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<u32>,
    /// CronJob only: finished Jobs kept (Kubernetes' defaults 3 succeeded, 1 failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_jobs_history_limit: Option<u32>,
    /// CronJob only: failed Jobs kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_jobs_history_limit: Option<u32>,
    /// CronJob only: start no more Jobs until it is set back to `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// CronJob only: seconds after a Job finished that Kubernetes deletes it (a Flux-applied
    /// Job must not be deleted: Flux would create it again, and it would run again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<u32>,
    /// Retries before the Job counts as failed (Kubernetes' default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<u32>,
    /// Seconds the Job may run, retries included, before it is stopped and failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub active_deadline_seconds: Option<u32>,
    /// Pods that must succeed (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub completions: Option<u32>,
    /// Pods that run at once (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
    /// Whether a failed container restarts in its pod (`OnFailure`) or the pod fails and a
    /// new one is made (`Never`).
    #[serde(default)]
    pub restart_policy: JobRestartPolicy,
}

impl JobSettings {
    /// The CronJob-only fields that are set.
    pub fn cron_fields(&self) -> Vec<super::path::Field> {
        [
            (Self::SCHEDULE, self.schedule.is_some()),
            (Self::TIME_ZONE, self.time_zone.is_some()),
            (Self::CONCURRENCY_POLICY, self.concurrency_policy.is_some()),
            (
                Self::STARTING_DEADLINE_SECONDS,
                self.starting_deadline_seconds.is_some(),
            ),
            (
                Self::SUCCESSFUL_JOBS_HISTORY_LIMIT,
                self.successful_jobs_history_limit.is_some(),
            ),
            (
                Self::FAILED_JOBS_HISTORY_LIMIT,
                self.failed_jobs_history_limit.is_some(),
            ),
            (Self::SUSPEND, self.suspend.is_some()),
            (
                Self::TTL_SECONDS_AFTER_FINISHED,
                self.ttl_seconds_after_finished.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }
}

/// What a CronJob does when a Job is due while the last one runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConcurrencyPolicy {
    /// Start it anyway.
    Allow,
    /// Skip it.
    Forbid,
    /// Stop the running one and start it.
    Replace,
}

/// The restart policy of a Job's pods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum JobRestartPolicy {
    /// Restart the failed container in the same pod.
    #[default]
    OnFailure,
    /// Fail the pod; the Job makes a new one.
    Never,
}

/// A StatefulSet or Deployment the app runs (apps/v1), with its Services, autoscaler,
/// disruption budget, monitoring and network policy; or a Job or CronJob (batch/v1), with its
/// monitoring and network policy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadSpec {
    /// The workload's name: its object, its container and its Services are named after it.
    /// Selectors derive from it and the app's name only, so it must never change.
    pub name: Name,
    /// `Deployment`, `StatefulSet`, `Job` or `CronJob`.
    pub kind: WorkloadKind,
    /// Job and CronJob only: the schedule, retries, deadlines and history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobSettings>,
    /// The container's name, when it is not the workload's (a team keeping the name its
    /// dashboards and `kubectl logs -c` use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<Name>,
    /// The container image: `registry/repository:tag` or `...@sha256:<digest>`.
    #[schemars(regex(pattern = IMAGE_PATTERN))]
    pub image: String,
    /// When the kubelet pulls the image (Kubernetes' default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,
    /// Secrets (in the app's namespace) holding registry credentials.
    #[serde(default)]
    pub image_pull_secrets: Vec<Name>,
    /// Number of pods (default 1). Leave it out when `autoscaling` owns the count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<u32>,
    /// The container's entrypoint (the image's when empty).
    #[serde(default)]
    pub command: Vec<String>,
    /// Arguments to the entrypoint.
    #[serde(default)]
    pub args: Vec<String>,
    /// Named container ports; each gets a port of the same name on the workload's Service.
    #[serde(default)]
    pub ports: Vec<PortSpec>,
    /// Environment variables, in order.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Every key of a ConfigMap of the app, or of a Secret, as environment variables.
    #[serde(default)]
    pub env_from: Vec<EnvFrom>,
    /// Files mounted from a ConfigMap of the app or from a Secret.
    #[serde(default)]
    pub files: Vec<FileMount>,
    /// Scratch directories (emptyDir), e.g. `/tmp` under a read-only root filesystem.
    #[serde(default)]
    pub empty_dirs: Vec<EmptyDirSpec>,
    /// Containers that run to completion, in order, before the workload's container starts;
    /// with `sidecar: true`, containers that keep running beside it (started in this order).
    #[serde(default)]
    pub init_containers: Vec<ContainerSpec>,
    /// More containers that run beside the workload's container for the pod's whole life
    /// (a second process of the same image, a proxy, an exporter, a log shipper).
    #[serde(default)]
    pub containers: Vec<ContainerSpec>,
    /// Liveness, readiness and startup probes.
    #[serde(default)]
    pub probes: Probes,
    /// CPU and memory requests and limits.
    #[serde(default)]
    pub resources: Resources,
    /// Security settings; the defaults meet the Pod Security `restricted` profile.
    #[serde(default)]
    pub security_context: SecurityContextSpec,
    /// Seconds a pod gets to stop after SIGTERM (Kubernetes' default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<u32>,
    /// Deployment only: how pods are replaced on a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DeploymentStrategy>,
    /// StatefulSet only: how pods are replaced on a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<StatefulSetUpdateStrategy>,
    /// StatefulSet only: start and stop pods one by one (`OrderedReady`) or all at once
    /// (`Parallel`). Immutable.
    #[serde(default)]
    pub pod_management_policy: PodManagementPolicy,
    /// StatefulSet only: a PersistentVolumeClaim per pod. Immutable.
    #[serde(default)]
    pub volume_claim_templates: Vec<VolumeClaimSpec>,
    /// Keep the workload's pods on different nodes.
    #[serde(default)]
    pub anti_affinity: AntiAffinity,
    /// Spread the pods over topology domains (zones, nodes).
    #[serde(default)]
    pub topology_spread: Vec<TopologySpreadSpec>,
    /// Node labels the pods must run on.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// A `serviceAccounts` entry of the app the pods run as (none: no API token is mounted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<Name>,
    /// StatefulSet only: give every replica a stable identity from its ordinal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_identity: Option<InstanceIdentity>,
    /// A HorizontalPodAutoscaler owning the replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// A PodDisruptionBudget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudget>,
    /// Prometheus scraping of one of the ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<WorkloadMonitoring>,
    /// Whether the workload gets a Service for its ports (the metrics port goes to its own
    /// Service when `monitoring` scrapes through one): `true` (a ClusterIP Service), `false`,
    /// or `{type, nodePorts, loadBalancerClass, externalTrafficPolicy, annotations}`.
    #[serde(default)]
    pub service: WorkloadService,
    /// Network peers allowed to connect to the pods.
    #[serde(default)]
    pub allow_from: Vec<NetworkRule>,
    /// Network peers the pods may connect to (DNS, the API server and databases of the
    /// namespace are allowed as needed).
    #[serde(default)]
    pub allow_to: Vec<NetworkRule>,
    /// Restart the pods when a Secret they read changes (Reloader annotations); default
    /// `defaults.reloader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reloader: Option<bool>,
    /// Extra labels of the pods (never part of the selector).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations of the pods.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl WorkloadSpec {
    /// The pod's containers other than the workload's own, `initContainers` then
    /// `containers`: each with its place below `at` (the workload's) and whether it is a
    /// regular container.
    pub fn other_containers<'a>(
        &'a self,
        at: &'a super::path::SpecPath,
    ) -> impl Iterator<Item = (super::path::SpecPath, &'a ContainerSpec, bool)> + 'a {
        [
            (Self::INIT_CONTAINERS, &self.init_containers, false),
            (Self::CONTAINERS, &self.containers, true),
        ]
        .into_iter()
        .flat_map(move |(list, containers, regular)| {
            containers
                .iter()
                .enumerate()
                .map(move |(i, c)| (at.field(list).index(i), c, regular))
        })
    }

    /// The ClusterIP Service of the workload's ports.
    pub fn service_name(&self) -> String {
        self.name.to_string()
    }

    /// The headless Service of a StatefulSet (its `serviceName`).
    pub fn headless_service_name(&self) -> String {
        format!("{}-headless", self.name)
    }

    /// The Service that exposes the metrics port to a ServiceMonitor.
    pub fn metrics_service_name(&self) -> String {
        format!("{}-metrics", self.name)
    }

    /// True when the metrics port gets a Service of its own.
    pub fn has_metrics_service(&self) -> bool {
        self.monitoring
            .as_ref()
            .is_some_and(|m| m.via == ScrapeVia::Service)
    }

    /// The ports of the workload's ClusterIP Service: all but a metrics port that has its
    /// own Service, unless it is the only port (the two Services then share it: the main
    /// Service must not vanish because its port is also scraped). None for a Job or CronJob,
    /// whose pods come and go.
    pub fn service_ports(&self) -> impl Iterator<Item = &PortSpec> {
        let metrics = self
            .monitoring
            .as_ref()
            .filter(|_| self.has_metrics_service())
            .map(|m| m.port.as_str());
        let serves = !self.kind.runs_to_completion();
        let several = self.all_ports().nth(1).is_some();
        self.all_ports()
            .filter(move |p| serves && !(several && Some(p.name.as_str()) == metrics))
    }

    /// The pod's named ports: the workload container's, then its sidecars', then those of its
    /// other `containers`.
    pub fn all_ports(&self) -> impl Iterator<Item = &PortSpec> {
        self.ports.iter().chain(
            self.init_containers
                .iter()
                .filter(|c| c.sidecar)
                .chain(&self.containers)
                .flat_map(|c| c.ports.iter()),
        )
    }

    /// The name of the workload's own container.
    pub fn main_container_name(&self) -> &Name {
        self.container_name.as_ref().unwrap_or(&self.name)
    }

    /// The port named `name`, of the workload's container or a sidecar.
    pub fn port(&self, name: &str) -> Option<&PortSpec> {
        self.all_ports().find(|p| p.name.as_str() == name)
    }

    /// Whether a NetworkPolicy isolates the pods for ingress and for egress: the app's
    /// default deny does both; `allowFrom` / `allowTo` each isolate their direction.
    pub fn isolation(&self, policy: Option<&NetworkPolicySpec>) -> (bool, bool) {
        let deny = policy.is_some_and(|n| n.default_deny);
        (
            deny || !self.allow_from.is_empty(),
            deny || !self.allow_to.is_empty(),
        )
    }
}

/// When the kubelet pulls an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PullPolicy {
    /// On every pod start.
    Always,
    /// When the node does not have it.
    IfNotPresent,
    /// Never: the image must be on the node.
    Never,
}

/// A named container port.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortSpec {
    /// The port's name, used by probes, Services, monitors and network policies.
    #[schemars(regex(pattern = PORT_NAME_PATTERN), length(max = 15))]
    pub name: String,
    /// The port number the container listens on (the Service port too).
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// The protocol.
    #[serde(default)]
    pub protocol: Protocol,
}

/// A network protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Protocol {
    /// TCP.
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP")]
    Udp,
    /// SCTP.
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    /// The Kubernetes name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// An environment variable: exactly one of `value`, `configMap`, `secret`, `field`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVar {
    /// The variable's name.
    #[schemars(regex(pattern = ENV_NAME_PATTERN))]
    pub name: String,
    /// A literal value; may hold `((references))` (`((postgres.host))`, ...), resolved at build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A key of one of the app's `configMaps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<KeyRef>,
    /// A key of a Secret in the app's namespace (never a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<KeyRef>,
    /// A field of the pod, from the downward API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<PodField>,
}

/// A key of a ConfigMap or Secret.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyRef {
    /// The object's name.
    pub name: Name,
    /// The key.
    pub key: ConfigKey,
}

/// Pod fields the downward API exposes as environment variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PodField {
    /// `metadata.name`: the pod's name (`<statefulset>-<ordinal>` in a StatefulSet).
    PodName,
    /// `metadata.namespace`.
    Namespace,
    /// `metadata.uid`.
    PodUid,
    /// `status.podIP`.
    PodIp,
    /// `spec.nodeName`.
    NodeName,
    /// `spec.serviceAccountName`.
    ServiceAccount,
    /// The StatefulSet ordinal (label `apps.kubernetes.io/pod-index`, Kubernetes 1.28+).
    PodIndex,
}

impl PodField {
    /// The `fieldRef.fieldPath`.
    pub fn path(self) -> &'static str {
        match self {
            PodField::PodName => "metadata.name",
            PodField::Namespace => "metadata.namespace",
            PodField::PodUid => "metadata.uid",
            PodField::PodIp => "status.podIP",
            PodField::NodeName => "spec.nodeName",
            PodField::ServiceAccount => "spec.serviceAccountName",
            PodField::PodIndex => "metadata.labels['apps.kubernetes.io/pod-index']",
        }
    }
}

/// All keys of a ConfigMap or Secret as environment variables: exactly one of `configMap`,
/// `secret`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvFrom {
    /// One of the app's `configMaps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<Name>,
    /// A Secret in the app's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Name>,
    /// A prefix for every variable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME_PATTERN))]
    pub prefix: Option<String>,
}

/// Files from a ConfigMap of the app or a Secret: exactly one of `configMap`, `secret`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileMount {
    /// One of the app's `configMaps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<Name>,
    /// A Secret in the app's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Name>,
    /// The directory the files appear in (one file per key).
    #[schemars(regex(pattern = MOUNT_PATH_PATTERN))]
    pub mount_path: String,
    /// Only these keys (default: every key).
    #[serde(default)]
    pub items: Vec<ConfigKey>,
}

impl FileMount {
    /// `(is_secret, name)` of the mounted object.
    pub fn source(&self) -> Option<(bool, &Name)> {
        match (&self.config_map, &self.secret) {
            (Some(c), None) => Some((false, c)),
            (None, Some(s)) => Some((true, s)),
            _ => None,
        }
    }
}

/// A scratch directory.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmptyDirSpec {
    /// The volume's name.
    pub name: Name,
    /// Where it is mounted.
    #[schemars(regex(pattern = MOUNT_PATH_PATTERN))]
    pub mount_path: String,
    /// The most it may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
    /// Back it with memory (tmpfs) instead of the node's disk.
    #[serde(default)]
    pub memory: bool,
}

/// A container of the pod besides the workload's own. In `initContainers`: one that runs to
/// completion before the workload's container starts, or — with `sidecar: true` — runs beside
/// it, started before it. In `containers`: one that runs beside the workload's container for
/// the pod's whole life.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerSpec {
    /// The container's name.
    pub name: Name,
    /// Its image (default: the workload's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = IMAGE_PATTERN))]
    pub image: Option<String>,
    /// Its entrypoint.
    #[serde(default)]
    pub command: Vec<String>,
    /// Arguments to the entrypoint.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables, in order.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Every key of a ConfigMap of the app, or of a Secret, as environment variables.
    #[serde(default)]
    pub env_from: Vec<EnvFrom>,
    /// Files mounted from a ConfigMap of the app or from a Secret.
    #[serde(default)]
    pub files: Vec<FileMount>,
    /// Mount the workload's scratch directories and volume claims of these names too.
    #[serde(default)]
    pub mounts: Vec<Name>,
    /// CPU and memory requests and limits.
    #[serde(default)]
    pub resources: Resources,
    /// Keep it running beside the workload's container (a native sidecar: an init container
    /// with `restartPolicy: Always`, Kubernetes 1.29+): it starts before the containers
    /// listed after it and stops after the workload's container; a Job completes without
    /// waiting for it.
    #[serde(default)]
    pub sidecar: bool,
    /// Sidecars and `containers` only: its named ports, served by the workload's Services,
    /// monitors and network rules like the workload's own `ports` (e.g. a metrics exporter's).
    #[serde(default)]
    pub ports: Vec<PortSpec>,
    /// Sidecars and `containers` only: its liveness, readiness and startup probes (a port by
    /// name is one of its own `ports`).
    #[serde(default)]
    pub probes: Probes,
}

impl ContainerSpec {
    /// Whether it keeps running beside the workload's container (and so may serve ports and
    /// have probes): a sidecar, or a container of `containers` (`regular`).
    pub fn keeps_running(&self, regular: bool) -> bool {
        regular || self.sidecar
    }
}

/// The three probes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probes {
    /// Restart the container when this fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Probe>,
    /// Take the pod out of its Services while this fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Probe>,
    /// Hold the other probes until this succeeds once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Probe>,
}

/// A probe: exactly one of `http`, `tcp`, `exec`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probe {
    /// An HTTP GET that must answer 200–399.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    /// A TCP connection that must open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    /// A command that must exit 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    /// Seconds before the first probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay_seconds: Option<u32>,
    /// Seconds between probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub period_seconds: Option<u32>,
    /// Seconds a probe may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    /// Failures in a row that count as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub failure_threshold: Option<u32>,
    /// Successes in a row that count as passing again (1 for liveness and startup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub success_threshold: Option<u32>,
}

/// An HTTP probe.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpProbe {
    /// The path requested.
    #[schemars(regex(pattern = MOUNT_PATH_PATTERN))]
    pub path: String,
    /// The port: a name of the workload's `ports` or a number.
    pub port: PortRef,
}

/// A TCP probe.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TcpProbe {
    /// The port: a name of the workload's `ports` or a number.
    pub port: PortRef,
}

/// Requests and limits by resource name (`cpu`, `memory`, `ephemeral-storage`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// What the scheduler reserves.
    #[serde(default)]
    pub requests: BTreeMap<String, Quantity>,
    /// The most the container may use.
    #[serde(default)]
    pub limits: BTreeMap<String, Quantity>,
}

impl Resources {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.limits.is_empty()
    }
}

/// Security settings of the pod and its containers. The defaults meet the Pod Security
/// `restricted` profile: non-root, no privilege escalation, every capability dropped,
/// the runtime's default seccomp profile.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecurityContextSpec {
    /// Refuse to start containers whose user is root.
    #[serde(default = "yes")]
    pub run_as_non_root: bool,
    /// The user id the containers run as (the image's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// The primary group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// The group that owns mounted volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<i64>,
    /// Mount the container's root filesystem read-only.
    #[serde(default)]
    pub read_only_root_filesystem: bool,
    /// Let a process gain more privileges than its parent (setuid binaries).
    #[serde(default)]
    pub allow_privilege_escalation: bool,
    /// Capabilities added back after dropping all of them (`restricted` allows only
    /// `NET_BIND_SERVICE`).
    #[serde(default)]
    pub add_capabilities: Vec<String>,
    /// The seccomp profile.
    #[serde(default)]
    pub seccomp_profile: SeccompProfile,
}

impl Default for SecurityContextSpec {
    fn default() -> Self {
        SecurityContextSpec {
            run_as_non_root: true,
            run_as_user: None,
            run_as_group: None,
            fs_group: None,
            read_only_root_filesystem: false,
            allow_privilege_escalation: false,
            add_capabilities: Vec::new(),
            seccomp_profile: SeccompProfile::default(),
        }
    }
}

/// Seccomp profiles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SeccompProfile {
    /// The container runtime's default profile.
    #[default]
    RuntimeDefault,
    /// No seccomp filtering (refused by `baseline` and `restricted`).
    Unconfined,
}

/// How a Deployment replaces its pods.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeploymentStrategy {
    /// `RollingUpdate` or `Recreate` (all pods stop before new ones start).
    #[serde(default, rename = "type")]
    pub kind: DeploymentStrategyKind,
    /// Pods above the desired count during a rollout (Kubernetes' default 25%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrPercent>,
    /// Pods below the desired count during a rollout (Kubernetes' default 25%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
}

/// Deployment strategies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeploymentStrategyKind {
    /// Replace pods gradually.
    #[default]
    RollingUpdate,
    /// Stop every pod, then start the new ones.
    Recreate,
}

/// How a StatefulSet replaces its pods.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StatefulSetUpdateStrategy {
    /// `RollingUpdate` (highest ordinal first) or `OnDelete` (only pods you delete).
    #[serde(default, rename = "type")]
    pub kind: StatefulSetUpdateKind,
    /// Only pods with an ordinal at least this high are updated (staged rollouts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

/// StatefulSet update strategies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StatefulSetUpdateKind {
    /// Replace pods one by one, highest ordinal first.
    #[default]
    RollingUpdate,
    /// Replace a pod only when it is deleted.
    OnDelete,
}

/// StatefulSet pod management policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PodManagementPolicy {
    /// One pod at a time, in ordinal order.
    #[default]
    OrderedReady,
    /// All pods at once.
    Parallel,
}

/// A PersistentVolumeClaim template of a StatefulSet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeClaimSpec {
    /// The claim's name (each pod's claim is `<name>-<statefulset>-<ordinal>`).
    pub name: Name,
    /// Where the volume is mounted.
    #[schemars(regex(pattern = MOUNT_PATH_PATTERN))]
    pub mount_path: String,
    /// The requested size.
    pub size: Quantity,
    /// The storage class (the cluster's default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<Name>,
    /// Access modes.
    #[serde(default = "default_access_modes")]
    pub access_modes: Vec<AccessMode>,
}

fn default_access_modes() -> Vec<AccessMode> {
    vec![AccessMode::ReadWriteOnce]
}

/// Volume access modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AccessMode {
    /// One node reads and writes.
    ReadWriteOnce,
    /// One pod reads and writes.
    ReadWriteOncePod,
    /// Many nodes read.
    ReadOnlyMany,
    /// Many nodes read and write.
    ReadWriteMany,
}

/// Pod anti-affinity between the workload's own pods, by node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    /// Prefer different nodes.
    #[default]
    Preferred,
    /// Require different nodes (a pod stays pending when no node is free).
    Required,
    /// No anti-affinity.
    None,
}

/// A topology spread constraint over the workload's pods.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologySpreadSpec {
    /// The node label whose values are the domains (`topology.kubernetes.io/zone`).
    pub topology_key: String,
    /// The largest allowed difference in pods between two domains.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub max_skew: u32,
    /// Refuse to schedule (`DoNotSchedule`) or schedule anyway (`ScheduleAnyway`).
    #[serde(default)]
    pub when_unsatisfiable: WhenUnsatisfiable,
}

fn one() -> u32 {
    1
}

/// What the scheduler does when a spread constraint cannot be met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WhenUnsatisfiable {
    /// Schedule, preferring the least loaded domains.
    #[default]
    ScheduleAnyway,
    /// Leave the pod pending.
    DoNotSchedule,
}

/// A stable identity per replica, from the StatefulSet ordinal: the pod name through the
/// downward API and the total number of instances. Changing `replicas` then changes the pod
/// template, which rolls every pod.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceIdentity {
    /// The variable holding the pod name (`<statefulset>-<ordinal>`).
    #[serde(default = "default_pod_name_env")]
    #[schemars(regex(pattern = ENV_NAME_PATTERN))]
    pub pod_name_env: String,
    /// The variable holding the ordinal alone (label `apps.kubernetes.io/pod-index`,
    /// Kubernetes 1.28+); none when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME_PATTERN))]
    pub ordinal_env: Option<String>,
    /// The variable holding the number of instances, equal to `replicas`.
    #[serde(default = "default_total_env")]
    #[schemars(regex(pattern = ENV_NAME_PATTERN))]
    pub total_env: String,
    /// Also mount the pod name as a file (`<path>/pod-name`) through a downward-API volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = MOUNT_PATH_PATTERN))]
    pub volume_path: Option<String>,
}

fn default_pod_name_env() -> String {
    "POD_NAME".into()
}
fn default_total_env() -> String {
    "TOTAL_INSTANCES".into()
}

/// A HorizontalPodAutoscaler (autoscaling/v2).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscaling {
    /// The fewest pods.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub min_replicas: u32,
    /// The most pods.
    #[schemars(range(min = 1))]
    pub max_replicas: u32,
    /// Target average CPU use, in percent of the containers' CPU requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub cpu: Option<u32>,
    /// Target average memory use, in percent of the containers' memory requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub memory: Option<u32>,
    /// Targets on per-pod custom metrics (type `Pods`), e.g. `projection_lag_events`.
    #[serde(default)]
    pub pods: Vec<PodsMetric>,
    /// How fast the autoscaler scales up and down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<ScalingBehavior>,
}

/// A target on a per-pod custom metric.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodsMetric {
    /// The metric's name as the custom metrics API serves it.
    #[schemars(regex(pattern = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"))]
    pub metric: String,
    /// The target average value per pod.
    pub average_value: Quantity,
}

/// Scaling behaviour: a preset, optionally with either direction replaced.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScalingBehavior {
    /// A preset for both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<BehaviorPreset>,
    /// Scaling up (replaces the preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRules>,
    /// Scaling down (replaces the preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRules>,
}

/// Scaling presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BehaviorPreset {
    /// Up by at most 2 pods a minute after a 60 s window; down by at most 10 % or 1 pod a
    /// minute (whichever is fewer) after a 300 s window.
    Conservative,
}

/// Rules for one scaling direction.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScalingRules {
    /// Seconds of past recommendations considered, to avoid flapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 3600))]
    pub stabilization_window_seconds: Option<u32>,
    /// Which policy wins when several apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicy>,
    /// The policies.
    #[serde(default)]
    pub policies: Vec<ScalingPolicy>,
}

/// Which scaling policy wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SelectPolicy {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// A scaling policy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScalingPolicy {
    /// `Pods` (a count) or `Percent` (of the current count).
    #[serde(rename = "type")]
    pub kind: ScalingPolicyKind,
    /// How many pods or percent.
    #[schemars(range(min = 1))]
    pub value: u32,
    /// Over how many seconds.
    #[schemars(range(min = 1, max = 1800))]
    pub period_seconds: u32,
}

/// Kinds of scaling policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScalingPolicyKind {
    /// A number of pods.
    Pods,
    /// A percentage of the current pods.
    Percent,
}

/// A PodDisruptionBudget (policy/v1): exactly one of `minAvailable`, `maxUnavailable`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisruptionBudget {
    /// Pods that must stay available during voluntary disruptions (drains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrPercent>,
    /// Pods that may be unavailable during voluntary disruptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
    /// Evict pods that are not ready even when the budget is exhausted (`AlwaysAllow`), so
    /// a crashing pod never blocks a drain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_pod_eviction_policy: Option<UnhealthyPodEvictionPolicy>,
}

/// What happens to unhealthy pods under a disruption budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum UnhealthyPodEvictionPolicy {
    /// Evict them only while the budget allows.
    IfHealthyBudget,
    /// Always evict them.
    AlwaysAllow,
}

/// Prometheus scraping of a workload.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadMonitoring {
    /// The named port serving metrics.
    #[schemars(regex(pattern = PORT_NAME_PATTERN))]
    pub port: String,
    /// The HTTP path of the metrics.
    #[serde(default = "default_metrics_path")]
    #[schemars(regex(pattern = MOUNT_PATH_PATTERN))]
    pub path: String,
    /// How often Prometheus scrapes (its own default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = PROM_DURATION_PATTERN))]
    pub interval: Option<String>,
    /// `service`: a metrics Service and a ServiceMonitor; `pod`: a PodMonitor.
    #[serde(default)]
    pub via: ScrapeVia,
    /// The monitor's name, when it is not the workload's (one the team already has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// How long a scrape may take before it counts as failed (Prometheus' global timeout
    /// when unset); never longer than `interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = PROM_DURATION_PATTERN))]
    pub scrape_timeout: Option<String>,
    /// `http` (the default) or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<ScrapeScheme>,
    /// Rewrites of the target's labels before the scrape (`relabelings`; `relabelConfigs`
    /// under the VictoriaMetrics flavour).
    #[serde(default)]
    pub relabelings: Vec<Relabeling>,
    /// Rewrites of the scraped series' labels, or series dropped, before they are stored
    /// (`metricRelabelings`; `metricRelabelConfigs` under the VictoriaMetrics flavour).
    #[serde(default)]
    pub metric_relabelings: Vec<Relabeling>,
}

/// The protocol a scrape speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScrapeScheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

/// A Prometheus relabeling rule (`relabel_config`): the `sourceLabels` joined by `separator`
/// are matched against `regex`, then `action` applies.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Relabeling {
    /// What to do with a match (default `replace`).
    #[serde(default)]
    pub action: RelabelAction,
    /// The labels whose values are joined and matched.
    #[serde(default)]
    pub source_labels: Vec<LabelName>,
    /// What joins the source labels' values (Prometheus' default `;`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// The label written by `replace`, `hashmod`, `lowercase`, `uppercase`, and compared by
    /// `keepequal` / `dropequal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_label: Option<LabelName>,
    /// The regular expression (RE2, anchored at both ends; Prometheus' default `(.*)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// `hashmod` only: the modulus of the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub modulus: Option<u64>,
    /// The value written by `replace` (`$1` is the regex's first group; default `$1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// A Prometheus label name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LabelName(pub String);

impl JsonSchema for LabelName {
    fn schema_name() -> Cow<'static, str> {
        "LabelName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Prometheus label name: letters, digits and `_`, not starting with a digit.",
            "type": "string",
            "pattern": LABEL_NAME_PATTERN
        })
    }
}

/// Pattern of a Prometheus label name.
pub const LABEL_NAME_PATTERN: &str = "^[a-zA-Z_][a-zA-Z0-9_]*$";

/// Relabeling actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RelabelAction {
    /// Write `replacement` (with the regex's groups) to `targetLabel`.
    #[default]
    Replace,
    /// Keep only the targets or series that match.
    Keep,
    /// Drop the targets or series that match.
    Drop,
    /// Write the hash of the source values modulo `modulus` to `targetLabel` (sharding).
    Hashmod,
    /// Copy every label whose name matches to the name `replacement` makes of it.
    Labelmap,
    /// Remove every label whose name matches.
    Labeldrop,
    /// Remove every label whose name does not match.
    Labelkeep,
    /// Write the joined source values, lowercased, to `targetLabel`.
    Lowercase,
    /// Write the joined source values, uppercased, to `targetLabel`.
    Uppercase,
    /// Keep only what has the joined source values equal to `targetLabel`'s value.
    Keepequal,
    /// Drop what has the joined source values equal to `targetLabel`'s value.
    Dropequal,
}

impl RelabelAction {
    /// The name Prometheus reads.
    pub fn as_str(self) -> &'static str {
        match self {
            RelabelAction::Replace => "replace",
            RelabelAction::Keep => "keep",
            RelabelAction::Drop => "drop",
            RelabelAction::Hashmod => "hashmod",
            RelabelAction::Labelmap => "labelmap",
            RelabelAction::Labeldrop => "labeldrop",
            RelabelAction::Labelkeep => "labelkeep",
            RelabelAction::Lowercase => "lowercase",
            RelabelAction::Uppercase => "uppercase",
            RelabelAction::Keepequal => "keepequal",
            RelabelAction::Dropequal => "dropequal",
        }
    }
}

fn default_metrics_path() -> String {
    "/metrics".into()
}

/// How Prometheus finds the pods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScrapeVia {
    /// A metrics Service and a ServiceMonitor.
    #[default]
    Service,
    /// A PodMonitor.
    Pod,
}

/// A CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cidr(pub String);

impl JsonSchema for Cidr {
    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An address block such as `10.0.0.0/8` or `fd00::/8`.",
            "type": "string",
            "pattern": CIDR_PATTERN
        })
    }
}

/// The app's NetworkPolicies.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// Deny all ingress and egress in the namespace except what the workloads' `allowFrom`
    /// and `allowTo` allow (plus DNS, the API server and databases as needed).
    #[serde(default = "yes")]
    pub default_deny: bool,
    /// Let every pod of the namespace resolve names through the cluster DNS.
    #[serde(default = "yes")]
    pub dns: bool,
}

/// A ServiceAccount of the app with its Role and ClusterRole.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceAccountSpec {
    /// The ServiceAccount's name in the app's namespace.
    pub name: Name,
    /// Rules of a Role in the app's namespace, bound to the account.
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    /// Rules of a ClusterRole, bound to the account cluster-wide.
    #[serde(default)]
    pub cluster_rules: Vec<PolicyRule>,
    /// Mount an API token into the pods (default: when the account has rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_token: Option<bool>,
}

impl ServiceAccountSpec {
    /// True when pods running as this account talk to the API server.
    pub fn talks_to_api(&self) -> bool {
        self.automount_token
            .unwrap_or(!self.rules.is_empty() || !self.cluster_rules.is_empty())
    }
}

/// An RBAC rule.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyRule {
    /// API groups (`""` is the core group).
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Resources, plural and lowercase (`persistentvolumeclaims`, `pods/log`).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Verbs (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, ...).
    pub verbs: Vec<String>,
    /// Only these objects.
    #[serde(default)]
    pub resource_names: Vec<String>,
    /// ClusterRoles only: non-resource URLs such as `/healthz`.
    #[serde(default)]
    pub non_resource_urls: Vec<String>,
}

/// A group of Prometheus alerts (one group of the app's PrometheusRule).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertGroup {
    /// The group's name, unique in the app.
    pub name: String,
    /// How often the group is evaluated (Prometheus' default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = PROM_DURATION_PATTERN))]
    pub interval: Option<String>,
    /// The alerts.
    pub rules: Vec<AlertRule>,
}

/// A Prometheus alerting rule.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertRule {
    /// The alert's name.
    #[schemars(regex(pattern = r"^[a-zA-Z_][a-zA-Z0-9_]*$"))]
    pub alert: String,
    /// The PromQL expression; the alert fires for each series it returns.
    pub expr: String,
    /// How long the expression must hold before the alert fires.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "for")]
    #[schemars(regex(pattern = PROM_DURATION_PATTERN))]
    pub for_: Option<String>,
    /// How long the alert keeps firing after its expression stopped holding
    /// (`keep_firing_for`), so a flapping condition does not resolve and fire again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = PROM_DURATION_PATTERN))]
    pub keep_firing_for: Option<String>,
    /// The `severity` label.
    pub severity: Severity,
    /// The `summary` annotation.
    pub summary: String,
    /// The `description` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The `runbook_url` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_url: Option<String>,
    /// More labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// More annotations (`summary`, `description` and `runbook_url` come from their fields).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Alert severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Page someone.
    Critical,
    /// Look at it soon.
    Warning,
    /// For information.
    Info,
}

impl Severity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A ResourceQuota of the app's namespace.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceQuotaSpec {
    /// Limits by resource name (`requests.cpu`, `limits.memory`, `pods`,
    /// `persistentvolumeclaims`, `requests.storage`).
    pub hard: BTreeMap<String, Quantity>,
}

/// A LimitRange of the app's namespace: per-container defaults and bounds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitRangeSpec {
    /// Limits given to containers that set none.
    #[serde(default)]
    pub default: BTreeMap<String, Quantity>,
    /// Requests given to containers that set none.
    #[serde(default)]
    pub default_request: BTreeMap<String, Quantity>,
    /// The largest limit a container may set.
    #[serde(default)]
    pub max: BTreeMap<String, Quantity>,
    /// The smallest request a container may set.
    #[serde(default)]
    pub min: BTreeMap<String, Quantity>,
}

/// Network settings shared by every app's NetworkPolicies.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkDefaults {
    /// Ports of the Kubernetes API server, allowed out of pods that talk to it. By port,
    /// not address: the API server's address is not known at compile time, and policies
    /// are matched after the `kubernetes` Service is translated to it.
    #[serde(default = "default_api_server_ports")]
    pub api_server_ports: Vec<u16>,
    /// The API server's address blocks: when set, egress to it is limited to them.
    #[serde(default)]
    pub api_server_cidrs: Vec<Cidr>,
    /// The namespace of the cluster DNS.
    #[serde(default = "default_dns_namespace")]
    pub dns_namespace: Name,
    /// Labels of the cluster DNS pods.
    #[serde(default = "default_dns_pods")]
    pub dns_pods: BTreeMap<String, String>,
}

impl Default for NetworkDefaults {
    fn default() -> Self {
        NetworkDefaults {
            api_server_ports: default_api_server_ports(),
            api_server_cidrs: Vec::new(),
            dns_namespace: default_dns_namespace(),
            dns_pods: default_dns_pods(),
        }
    }
}

fn default_api_server_ports() -> Vec<u16> {
    vec![443, 6443]
}
fn default_dns_namespace() -> Name {
    Name("kube-system".into())
}
fn default_dns_pods() -> BTreeMap<String, String> {
    BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_with_their_suffixes() {
        let q = |s: &str| Quantity::Text(s.into()).value();
        assert_eq!(q("500m"), Some(0.5));
        assert_eq!(q("128Mi"), Some(128.0 * 1024.0 * 1024.0));
        assert_eq!(q("1G"), Some(1e9));
        assert_eq!(q("1e3"), Some(1000.0));
        assert_eq!(Quantity::Number(2.into()).text(), "2");
        assert_eq!(q("x"), None);
    }

    #[test]
    fn volume_names_fit_in_a_label() {
        assert_eq!(volume_name(false, "app"), "config-app");
        assert_eq!(volume_name(true, "app"), "secret-app");
        let long = "a".repeat(63);
        let name = volume_name(true, &long);
        assert!(name.len() <= 63, "{name}");
        assert_ne!(name, volume_name(true, &"a".repeat(62)));
    }
}
