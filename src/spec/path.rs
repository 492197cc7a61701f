//! Typed places in the spec: the JSON pointer a check locates its diagnostic by.
//!
//! A [`SpecPath`] is built from the root by steps: a [`Field`] of a spec type
//! (`PostgresSpec::DATABASES`, declared below under the type that has the field), an index
//! into a list, or a key the user wrote (escaped `~0`/`~1`). No check writes a pointer as text,
//! so a misspelled field does not compile, and the tests hold the rest:
//! - every declared field is a property of its type in the generated JSON schema
//!   (`fields_are_properties_of_their_types` below);
//! - while [`super::load::record_misses`] records, every path is walked through the schema as
//!   it is built, and a step the schema has no place for is recorded as a miss — a field of one
//!   type used below another fails `tests/span_paths.rs`, which runs every spec of the tests;
//! - that test also records every lookup that matched no node of its spec, so a diagnostic
//!   never lands on the nearest parent in silence.

// The spec types, whose fields are declared below.
use super::chart_policy::{ChartDisruptionBudget, ChartNetworkPolicy, EgressRule, IngressRule};
use super::network::{NetworkRule, Peer};
#[allow(clippy::wildcard_imports, reason = "fields are declared on most spec types")]
use super::{
    data::*, images::*, manifests::*, patches::*, release::*, routes::*, secrets::*, types::*, workload::*,
};
use serde_json::Value;

/// The serialized name of a field of a spec type; declared once, under its type, by `fields!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field(&'static str);

impl Field {
    /// The key as the spec writes it.
    pub const fn name(self) -> &'static str {
        self.0
    }
}

/// A place in the spec: a JSON pointer from the spec's root (`/apps/0/postgres/database`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpecPath(String);

impl SpecPath {
    /// The spec's root.
    pub fn root() -> Self {
        SpecPath(String::new())
    }

    /// The app at `index` of `apps`.
    pub fn app(index: usize) -> Self {
        Self::root().field(ClusterSpec::APPS).index(index)
    }

    /// The field `field` of the node here.
    #[must_use]
    pub fn field(&self, field: Field) -> Self {
        self.step(field.0)
    }

    /// Item `index` of the list here.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        self.step(&index.to_string())
    }

    /// The entry the user keyed `key` in the map here (labels, resources, secret keys).
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        self.step(&key.replace('~', "~0").replace('/', "~1"))
    }

    /// The node at `pointer` below this one: a JSON pointer found by walking the spec's data
    /// (its keys already escaped).
    #[must_use]
    pub fn below(&self, pointer: &str) -> Self {
        SpecPath(format!("{}{pointer}", self.0))
    }

    /// The entries keyed `keys` one below the other (a dotted path of a chart's values).
    #[must_use]
    pub fn keys<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Self {
        keys.into_iter().fold(self.clone(), |path, key| path.key(key))
    }

    /// The JSON pointer.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This path one escaped segment further; checked against the schema while recording.
    fn step(&self, segment: &str) -> Self {
        let path = SpecPath(format!("{}/{segment}", self.0));
        if super::load::recording()
            && let Err(reason) = in_schema(super::schema::schema(), &path.0)
        {
            super::load::record_miss(format!("{} ({reason})", path.0));
        }
        path
    }
}

impl std::ops::Deref for SpecPath {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SpecPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares the fields checks name, under their types; the test below checks each against
/// the type's schema.
macro_rules! fields {
    ($($ty:ident { $($name:ident = $key:literal),* $(,)? })*) => {
        $(impl $ty {
            $(#[doc = concat!("The field `", $key, "`.")]
            pub const $name: Field = Field($key);)*
        })*
        /// Every declared field: its type's name and its key.
        #[cfg(test)]
        const DECLARED: &[(&str, &str)] = &[$($((stringify!($ty), $key),)*)*];
    };
}

fields! {
    ChartNetworkPolicy {
        EGRESS = "egress",
        INGRESS = "ingress",
        NAME = "name",
        PODS = "pods",
    }
    IngressRule {
        FROM = "from",
    }
    EgressRule {
        TO = "to",
    }
    Peer {
        ALL_NAMESPACES = "allNamespaces",
        CIDR = "cidr",
        COMBINE = "combine",
        EXCEPT = "except",
        NAMESPACE_LABELS = "namespaceLabels",
        NAMESPACES = "namespaces",
        PODS = "pods",
        WORKLOADS = "workloads",
    }
    ChartDisruptionBudget {
        PODS = "pods",
    }
    ClusterSpec {
        APPS = "apps",
        DEFAULTS = "defaults",
        FLUX = "flux",
        IMAGE_AUTOMATION = "imageAutomation",
        OPERATORS = "operators",
        SECRET_STORES = "secretStores",
        SOURCES = "sources",
    }
    Defaults {
        CHARTS_DIR = "chartsDir",
        HELM = "helm",
        LABELS = "labels",
        NETWORK = "network",
        PATCHES = "patches",
        POD_SECURITY = "podSecurity",
        SECRET_STORE = "secretStore",
    }
    AppSpec {
        ALERTS = "alerts",
        ALLOW_PLAINTEXT = "allowPlaintext",
        ANNOTATIONS = "annotations",
        CONFIG_MAPS = "configMaps",
        DEPENDS_ON = "dependsOn",
        GROUP = "group",
        HELM = "helm",
        LABELS = "labels",
        MANIFESTS = "manifests",
        MONITORING = "monitoring",
        NAME = "name",
        NAMESPACE_LABELS = "namespaceLabels",
        NETWORK_POLICY = "networkPolicy",
        NETWORK_POLICIES = "networkPolicies",
        DISRUPTION_BUDGET = "disruptionBudget",
        PATCHES = "patches",
        POD_SECURITY = "podSecurity",
        POSTGRES = "postgres",
        REDIS = "redis",
        ROUTES = "routes",
        SERVICES = "services",
        RULE_NAME = "ruleName",
        SECRETS = "secrets",
        SERVICE_ACCOUNTS = "serviceAccounts",
        TIMEOUT = "timeout",
        VOLUME_BACKUPS = "volumeBackups",
        WORKLOADS = "workloads",
    }
    PostgresSpec {
        ALLOW_NAMESPACES = "allowNamespaces",
        BACKUP = "backup",
        CONNECT_VIA = "connectVia",
        DATABASE = "database",
        DATABASES = "databases",
        ENABLE_SUPERUSER_ACCESS = "enableSuperuserAccess",
        ENCODING = "encoding",
        IMAGE = "image",
        LOCALE = "locale",
        MIGRATE = "migrate",
        OWNER_SECRET = "ownerSecret",
        PG_HBA = "pgHba",
        POOLERS = "poolers",
        POST_INIT_SQL = "postInitSql",
        RESTORE = "restore",
        ROLES = "roles",
        SUPERUSER_SECRET = "superuserSecret",
        SYNCHRONOUS = "synchronous",
        VERSION = "version",
        WAL_STORAGE = "walStorage",
    }
    BackupSpec { CREDENTIALS = "credentials", LEGACY = "legacy", SCHEDULE = "schedule" }
    DatabaseSpec { EXTENSIONS = "extensions", NAME = "name" }
    RoleSpec { NAME = "name", PASSWORD_SECRET = "passwordSecret" }
    PoolerSpec { DISRUPTION_BUDGET = "disruptionBudget", NAME = "name", PARAMETERS = "parameters" }
    RedisSpec {
        ADDRESS = "address",
        AFFINITY = "affinity",
        ALLOW_NAMESPACES = "allowNamespaces",
        ARGS = "args",
        DATABASES = "databases",
        DISRUPTION_BUDGET = "disruptionBudget",
        IMAGE = "image",
        MONITORING = "monitoring",
        PASSWORD_SECRET = "passwordSecret",
        REPLICAS = "replicas",
        RESTRICTED_PODS = "restrictedPods",
        SENTINEL_MASTER_SET = "sentinelMasterSet",
        SNAPSHOT = "snapshot",
        TOPOLOGY_SPREAD = "topologySpread",
        VERSION = "version",
    }
    Operators {
        BARMAN_CLOUD = "barmanCloud",
        CNPG = "cnpg",
        DRAGONFLY = "dragonfly",
        EXTERNAL_SECRETS = "externalSecrets",
        KUBEBLOCKS = "kubeblocks",
        VOLSYNC = "volsync",
    }
    OperatorSpec { APP = "app", EXTERNAL = "external" }
    SecretSpec {
        DATA = "data",
        DATA_FROM = "dataFrom",
        EXTERNAL_SECRET_NAME = "externalSecretName",
        FOR = "for",
        NAME = "name",
        REGISTRY = "registry",
        STORE = "store",
    }
    SecretStoreSpec {
        AWS = "aws",
        AZURE = "azure",
        BITWARDEN = "bitwarden",
        GCP = "gcp",
        ONE_PASSWORD = "onePassword",
        ONE_PASSWORD_SDK = "onePasswordSdk",
        VAULT = "vault",
    }
    VaultSpec { AUTH = "auth", PATH = "path" }
    VaultAuth { KUBERNETES = "kubernetes" }
    VaultKubernetesAuth { SERVICE_ACCOUNT = "serviceAccount" }
    RestoreSpec { SERVER_NAME = "serverName" }
    VolumeBackupSpec {
        MOVER_USER = "moverUser",
        PVC = "pvc",
        REPOSITORY = "repository",
        RETAIN = "retain",
        SCHEDULE = "schedule",
    }
    SynchronousSpec { NUMBER = "number" }
    DragonflySnapshot { CRON = "cron" }
    DisruptionBudget { UNHEALTHY_POD_EVICTION_POLICY = "unhealthyPodEvictionPolicy" }
    MigrateSpec { HOST = "host", PASSWORD_SECRET = "passwordSecret" }
    Sources { HELM = "helm" }
    HelmSource { NAME = "name", TIMEOUT = "timeout", URL = "url" }
    HelmSpec {
        CHART = "chart",
        INSTALL = "install",
        SOURCE = "source",
        TIMEOUT = "timeout",
        UPGRADE = "upgrade",
        VALUES = "values",
        VALUES_FROM = "valuesFrom",
        VERSION = "version",
    }
    ValuesFrom { LITERAL = "literal", NAME = "name", VALUES_KEY = "valuesKey" }
    FluxSpec { EXTERNAL = "external", REPO_PATH = "repoPath", VERSION = "version" }
    WorkloadSpec {
        ALLOW_FROM = "allowFrom",
        ALLOW_TO = "allowTo",
        AUTOSCALING = "autoscaling",
        CONTAINER_NAME = "containerName",
        CONTAINERS = "containers",
        DISRUPTION_BUDGET = "disruptionBudget",
        EMPTY_DIRS = "emptyDirs",
        ENV = "env",
        ENV_FROM = "envFrom",
        FILES = "files",
        IMAGE = "image",
        INIT_CONTAINERS = "initContainers",
        INSTANCE_IDENTITY = "instanceIdentity",
        LABELS = "labels",
        MONITORING = "monitoring",
        NAME = "name",
        NODE_SELECTOR = "nodeSelector",
        POD_MANAGEMENT_POLICY = "podManagementPolicy",
        PORTS = "ports",
        PROBES = "probes",
        REPLICAS = "replicas",
        RESOURCES = "resources",
        SECURITY_CONTEXT = "securityContext",
        SERVICE = "service",
        SERVICE_ACCOUNT = "serviceAccount",
        STRATEGY = "strategy",
        UPDATE_STRATEGY = "updateStrategy",
        VOLUME_CLAIM_TEMPLATES = "volumeClaimTemplates",
        JOB = "job",
        KIND = "kind",
    }
    WorkloadMonitoring {
        METRIC_RELABELINGS = "metricRelabelings",
        NAME = "name",
        PORT = "port",
        RELABELINGS = "relabelings",
        SCRAPE_TIMEOUT = "scrapeTimeout",
    }
    Relabeling {
        ACTION = "action",
        MODULUS = "modulus",
        REGEX = "regex",
        REPLACEMENT = "replacement",
        SEPARATOR = "separator",
        SOURCE_LABELS = "sourceLabels",
        TARGET_LABEL = "targetLabel",
    }
    JobSettings {
        CONCURRENCY_POLICY = "concurrencyPolicy",
        FAILED_JOBS_HISTORY_LIMIT = "failedJobsHistoryLimit",
        SCHEDULE = "schedule",
        STARTING_DEADLINE_SECONDS = "startingDeadlineSeconds",
        SUCCESSFUL_JOBS_HISTORY_LIMIT = "successfulJobsHistoryLimit",
        SUSPEND = "suspend",
        TIME_ZONE = "timeZone",
        TTL_SECONDS_AFTER_FINISHED = "ttlSecondsAfterFinished",
    }
    ServiceSpec {
        EXTERNAL_TRAFFIC_POLICY = "externalTrafficPolicy",
        HEADLESS = "headless",
        LABELS = "labels",
        LOAD_BALANCER_CLASS = "loadBalancerClass",
        NAME = "name",
        PORTS = "ports",
        SELECTOR = "selector",
        WORKLOAD = "workload",
    }
    ServicePortSpec { NODE_PORT = "nodePort", TARGET_PORT = "targetPort" }
    WorkloadServiceSpec {
        EXTERNAL_TRAFFIC_POLICY = "externalTrafficPolicy",
        LOAD_BALANCER_CLASS = "loadBalancerClass",
        NODE_PORTS = "nodePorts",
    }
    PatchSpec { JSON = "json", TARGET = "target" }
    AllowPlaintext { PATH = "path", REASON = "reason" }
    SecretKeySpec { PROPERTY = "property", REMOTE_KEY = "remoteKey" }
    RouteSpec { NAME = "name", RULES = "rules" }
    RouteRule { BACKEND = "backend" }
    Backend { PORT = "port", SERVICE = "service", WORKLOAD = "workload" }
    InstallPolicy {
        REMEDIATE_LAST_FAILURE = "remediateLastFailure",
        RETRY_INTERVAL = "retryInterval",
        STRATEGY = "strategy",
    }
    UpgradePolicy { REMEDIATION = "remediation" }
    ManifestSpec { OBJECT = "object", PATH = "path" }
    AlertGroup { NAME = "name", RULES = "rules" }
    AlertRule { ANNOTATIONS = "annotations", EXPR = "expr", LABELS = "labels" }
    ImageAutomation { IMAGES = "images" }
    ImageSpec { EXTRACT = "extract", NAME = "name" }
    ConfigMapSpec { NAME = "name" }
    ServiceAccountSpec { CLUSTER_RULES = "clusterRules", NAME = "name", RULES = "rules" }
    NetworkDefaults { API_SERVER_PORTS = "apiServerPorts" }
    NetworkPolicySpec { DEFAULT_DENY = "defaultDeny" }
    EmptyDirSpec { MOUNT_PATH = "mountPath", NAME = "name" }
    VolumeClaimSpec { MOUNT_PATH = "mountPath", NAME = "name", SIZE = "size" }
    ContainerSpec {
        ENV = "env",
        ENV_FROM = "envFrom",
        FILES = "files",
        MOUNTS = "mounts",
        NAME = "name",
        PORTS = "ports",
        PROBES = "probes",
        RESOURCES = "resources",
        SIDECAR = "sidecar",
    }
    PortSpec { NAME = "name", PORT = "port" }
    EnvVar { CONFIG_MAP = "configMap", FIELD = "field", NAME = "name", SECRET = "secret", VALUE = "value" }
    KeyRef { KEY = "key", NAME = "name" }
    EnvFrom { CONFIG_MAP = "configMap" }
    FileMount { CONFIG_MAP = "configMap", ITEMS = "items", MOUNT_PATH = "mountPath" }
    Probe { EXEC = "exec", HTTP = "http", SUCCESS_THRESHOLD = "successThreshold", TCP = "tcp" }
    HttpProbe { PORT = "port" }
    TcpProbe { PORT = "port" }
    StatefulSetUpdateStrategy { PARTITION = "partition" }
    Autoscaling {
        BEHAVIOR = "behavior",
        CPU = "cpu",
        MEMORY = "memory",
        MIN_REPLICAS = "minReplicas",
    }
    NetworkRule { PORTS = "ports" }
    PolicyRule {
        API_GROUPS = "apiGroups",
        NON_RESOURCE_URLS = "nonResourceUrls",
        RESOURCES = "resources",
        VERBS = "verbs",
    }
    Probes { LIVENESS = "liveness", READINESS = "readiness", STARTUP = "startup" }
    Resources { LIMITS = "limits", REQUESTS = "requests" }
    SecurityContextSpec {
        ADD_CAPABILITIES = "addCapabilities",
        ALLOW_PRIVILEGE_ESCALATION = "allowPrivilegeEscalation",
        RUN_AS_NON_ROOT = "runAsNonRoot",
        RUN_AS_USER = "runAsUser",
        SECCOMP_PROFILE = "seccompProfile",
    }
    InstanceIdentity {
        ORDINAL_ENV = "ordinalEnv",
        POD_NAME_ENV = "podNameEnv",
        TOTAL_ENV = "totalEnv",
    }
}

/// Whether the schema has a place for every step of `pointer`: a property of an object, an
/// item of a list, an entry of a map; below a free-form value (`helm.values`) anything goes.
fn in_schema(schema: &Value, pointer: &str) -> Result<(), String> {
    let mut nodes = vec![schema];
    for segment in pointer.split('/').skip(1) {
        let mut next = Vec::new();
        for node in nodes.iter().flat_map(|n| alternatives(schema, n)) {
            match child(node, segment) {
                Child::Free => return Ok(()),
                Child::At(n) => next.push(n),
                Child::None => {}
            }
        }
        if next.is_empty() {
            return Err(format!("the schema has no `{segment}` there"));
        }
        nodes = next;
    }
    Ok(())
}

/// What the schema says below a node for one step.
enum Child<'a> {
    /// Anything: the node holds free-form values.
    Free,
    /// The schema of the child.
    At(&'a Value),
    /// No such child.
    None,
}

/// The schema of `segment` below `node` (an object schema with no `$ref` or alternatives).
fn child<'a>(node: &'a Value, segment: &str) -> Child<'a> {
    let Some(map) = node.as_object() else {
        // `true`: any value.
        return if node == &Value::Bool(true) {
            Child::Free
        } else {
            Child::None
        };
    };
    if let Some(property) = map.get("properties").and_then(|p| p.get(segment)) {
        return Child::At(property);
    }
    if let Some(items) = map.get("items") {
        return if segment.parse::<usize>().is_ok() {
            Child::At(items)
        } else {
            Child::None
        };
    }
    match map.get("additionalProperties") {
        Some(Value::Bool(false)) => Child::None,
        Some(Value::Bool(true)) => Child::Free,
        Some(extra) => Child::At(extra),
        // A `$ref` or a choice says what the node is: its alternatives answer.
        None if ["properties", "$ref", "anyOf", "oneOf", "allOf"]
            .iter()
            .any(|k| map.contains_key(*k))
            || is_scalar(map) =>
        {
            Child::None
        }
        None => Child::Free,
    }
}

/// True when the schema types its node as a scalar (nothing below it).
fn is_scalar(map: &serde_json::Map<String, Value>) -> bool {
    let scalar = |t: &Value| {
        matches!(
            t.as_str(),
            Some("string" | "integer" | "number" | "boolean" | "null")
        )
    };
    match map.get("type") {
        Some(Value::Array(types)) => types.iter().all(scalar),
        Some(t) => scalar(t),
        None => map.contains_key("enum") || map.contains_key("const"),
    }
}

/// The node itself and what it stands for: its `$ref` resolved, each branch of its
/// `anyOf`/`oneOf`/`allOf`, recursively.
fn alternatives<'a>(root: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let mut found = vec![node];
    let mut i = 0;
    while i < found.len() {
        let n = found[i];
        if let Some(target) = n
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| root.pointer(p))
        {
            found.push(target);
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(branches)) = n.get(key) {
                found.extend(branches);
            }
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_properties_of_their_types() {
        let schema = super::super::schema::schema();
        for (ty, key) in DECLARED {
            let node = if *ty == "ClusterSpec" {
                schema
            } else {
                schema
                    .pointer(&format!("/$defs/{ty}"))
                    .unwrap_or_else(|| panic!("the schema has no type `{ty}`"))
            };
            let found = alternatives(schema, node)
                .iter()
                .any(|n| n.get("properties").and_then(|p| p.get(key)).is_some());
            assert!(found, "`{ty}` has no field `{key}` in the schema");
        }
    }

    #[test]
    fn paths_escape_user_keys() {
        let path = SpecPath::app(2).key("a/b~c");
        assert_eq!(path.as_str(), "/apps/2/a~1b~0c");
        assert_eq!(
            SpecPath::app(0)
                .field(AppSpec::POSTGRES)
                .field(PostgresSpec::DATABASE)
                .as_str(),
            "/apps/0/postgres/database"
        );
    }

    #[test]
    fn the_schema_places_fields_where_their_types_are() {
        let schema = super::super::schema::schema();
        assert!(in_schema(schema, "/apps/0/postgres/databases/1/name").is_ok());
        assert!(in_schema(schema, "/apps/0/labels/any~1key").is_ok());
        assert!(in_schema(schema, "/apps/0/helm/values/free/form/3").is_ok());
        // A field of `PostgresSpec` below `RedisSpec`, a misspelling, a key where an index goes.
        assert!(in_schema(schema, "/apps/0/redis/roles").is_err());
        assert!(in_schema(schema, "/apps/0/postgres/databse").is_err());
        assert!(in_schema(schema, "/apps/name").is_err());
    }
}
