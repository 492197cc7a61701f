//! Data services an app owns: a PostgreSQL cluster (CloudNative-PG or KubeBlocks) and Redis
//! (an external address, or KubeBlocks), and the operators they need.

use super::{Duration, Name};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The app's PostgreSQL cluster.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PostgresSpec {
    /// Which operator runs it.
    #[serde(default)]
    pub provider: PostgresProvider,
    /// The cluster's name (default `<app>-pg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Number of instances (CloudNative-PG) or replicas (KubeBlocks).
    #[serde(default = "default_instances")]
    #[schemars(range(min = 1))]
    pub instances: u32,
    /// PostgreSQL version: `major.minor` for CloudNative-PG's `standard` images (e.g.
    /// `16.9`), or the KubeBlocks addon's service version (e.g. `16.4.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A full image reference instead of `version` (CloudNative-PG only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Data volume.
    pub storage: StorageSpec,
    /// Separate WAL volume (CloudNative-PG only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_storage: Option<StorageSpec>,
    /// Container resources (requests / limits), as in Kubernetes.
    #[serde(default)]
    pub resources: Map<String, Value>,
    /// `postgresql.parameters` (values are strings).
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Spread instances over nodes: `preferred` (default) or `required`.
    #[serde(default)]
    pub anti_affinity: AntiAffinity,
    /// How the primary is updated: `unsupervised` (default) or `supervised`.
    #[serde(default)]
    pub primary_update_strategy: PrimaryUpdateStrategy,
    /// The CloudNative-PG operator version the cluster targets, `major.minor`.
    #[serde(default = "default_cnpg_version")]
    #[schemars(regex(pattern = r"^1\.[0-9]+$"))]
    pub operator_version: String,
    /// The application database created at bootstrap.
    pub database: Name,
    /// Its owner (default: the database name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Name>,
    /// A `kubernetes.io/basic-auth` secret (from `secrets:`) with the owner's password;
    /// CloudNative-PG then creates no `<cluster>-app` secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_secret: Option<Name>,
    /// Encoding of the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Locale (`LC_COLLATE` and `LC_CTYPE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// SQL run in the application database after bootstrap.
    #[serde(default)]
    pub post_init_sql: Vec<String>,
    /// More databases, as declarative `Database` objects (CloudNative-PG ≥ 1.25).
    #[serde(default)]
    pub databases: Vec<DatabaseSpec>,
    /// Managed roles.
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
    /// Backups to S3-compatible object storage (CloudNative-PG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,
    /// Scrape the instances' metrics with a PodMonitor, or a VMPodScrape under
    /// `defaults.monitoring.flavor: victoriametrics` (needs that operator's CRDs; default: when
    /// the app's `monitoring` is on or `defaults.monitoring.labels` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<bool>,
    /// PgBouncer poolers in front of the cluster (CloudNative-PG `Pooler`, operator ≥ 1.30).
    /// Each is reachable as `((postgres.pooler.<name>.host))` / `((postgres.pooler.<name>.port))`.
    #[serde(default)]
    pub poolers: Vec<PoolerSpec>,
    /// The pooler clients connect through: `((postgres.host))` and the database host gitopsc
    /// wires into a known chart name its Service instead of `<cluster>-rw` (the credentials
    /// stay those of the cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_via: Option<Name>,
    /// `pg_hba` lines, after CloudNative-PG's fixed rules and before its default
    /// `host all all all scram-sha-256` (first match wins).
    #[serde(default, rename = "pgHba")]
    pub pg_hba: Vec<String>,
    /// Namespaces whose pods may connect to the cluster and its poolers (port 5432), when the
    /// namespace's `networkPolicy.defaultDeny` lets in only its own pods (other apps reading
    /// `((apps.<app>.postgres.host))` from their namespaces).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_namespaces: Vec<Name>,
    /// Synchronous replication (default: asynchronous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous: Option<SynchronousSpec>,
    /// Give the `postgres` superuser a password and the `<cluster>-superuser` Secret (or
    /// `superuserSecret`); off by default (CloudNative-PG's default).
    #[serde(default)]
    pub enable_superuser_access: bool,
    /// A `kubernetes.io/basic-auth` secret (from `secrets:`, `username: postgres`) with the
    /// superuser's password; used only with `enableSuperuserAccess`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superuser_secret: Option<Name>,
    /// Create the cluster from the app's backups (`backup`) instead of an empty `initdb`
    /// (CloudNative-PG `bootstrap.recovery` through the Barman Cloud plugin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreSpec>,
    /// Create the cluster from an existing PostgreSQL server: a physical copy
    /// (`pg_basebackup`) or a logical import of one database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate: Option<MigrateSpec>,
}

impl PostgresSpec {
    /// The cluster's name (`<app>-pg` unless named).
    pub fn cluster_name(&self, app: &str) -> String {
        self.name
            .as_ref()
            .map_or_else(|| format!("{app}-pg"), |n| n.to_string())
    }

    /// How long a CloudNative-PG cluster may take to bootstrap, in seconds: five minutes per
    /// instance. The operator creates the instances one after another (it adds the next only once
    /// every instance it has reports ready: `reconcileMissingInstance` in
    /// `internal/controller/cluster_create.go`), and each is a Job — `initdb` for the primary,
    /// `pg_basebackup` from the primary for a replica — then its pod, on a node that may first
    /// pull the image. Five minutes is Flux's default for a whole layer, so it is what one
    /// instance gets: 5m for one instance, 15m for three. KubeBlocks creates its replicas
    /// together and gets no such minimum.
    pub fn bootstrap_secs(&self) -> Option<u64> {
        (self.provider == PostgresProvider::Cnpg).then_some(300 * u64::from(self.instances))
    }
}

/// A restore from the app's object store.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestoreSpec {
    /// The backup lineage to restore: the `serverName` the old cluster archived under
    /// (default: the cluster's name). `backup.serverName` must then name a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<Name>,
    /// Recover up to this time (RFC 3339) instead of the end of the archived WAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
    ))]
    pub target_time: Option<String>,
}

/// An existing PostgreSQL server the cluster is created from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MigrateSpec {
    /// `import` (default: `pg_dump`/`pg_restore` of `database` into the new cluster's
    /// application database; any version up to the new one) or `basebackup` (a physical copy of
    /// the whole server; same major version, a user with `REPLICATION`).
    #[serde(default)]
    pub method: MigrateMethod,
    /// The server's host.
    pub host: String,
    /// Its port.
    #[serde(default = "default_pg_port")]
    pub port: u16,
    /// The user to connect as.
    pub user: String,
    /// The database to import (`import`; default: `database`) or to connect to (`basebackup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The secret (from `secrets:`) holding that user's password.
    pub password_secret: Name,
    /// Its key.
    #[serde(default = "default_password_key")]
    pub password_key: String,
    /// libpq `sslmode` (default `require`).
    #[serde(default = "default_sslmode")]
    pub ssl_mode: String,
}

/// How a database is moved under gitopsc.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MigrateMethod {
    /// A logical import of one database (`bootstrap.initdb.import`, `microservice`).
    #[default]
    Import,
    /// A physical copy of the server (`bootstrap.pg_basebackup`).
    Basebackup,
}

/// Synchronous replication (CloudNative-PG `postgresql.synchronous`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SynchronousSpec {
    /// `any` (quorum) or `first` (priority).
    pub method: SyncMethod,
    /// How many standbys confirm each commit; fewer than `instances`.
    #[schemars(range(min = 1))]
    pub number: u32,
    /// `required` (writes wait while too few standbys are up; the default) or `preferred`
    /// (the number shrinks to the standbys available).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_durability: Option<DataDurability>,
}

/// How synchronous standbys are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncMethod {
    /// Quorum: any `number` standbys.
    Any,
    /// Priority: the first `number` standbys.
    First,
}

/// What synchronous replication does when too few standbys are up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataDurability {
    /// Writes wait (no committed transaction is lost on failover).
    Required,
    /// Writes go on with the standbys there are.
    Preferred,
}

/// A PgBouncer pooler (CloudNative-PG `Pooler` named `<cluster>-pooler-<name>`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolerSpec {
    /// Its name, unique in the app (the object is `<cluster>-pooler-<name>`).
    pub name: Name,
    /// The instances it sends connections to: `rw` (primary; default), `ro` (replicas) or
    /// `r` (any instance).
    #[serde(default, rename = "type")]
    pub kind: PoolerType,
    /// PgBouncer pods (default 2, so one survives a node drain).
    #[serde(default = "default_pooler_instances")]
    #[schemars(range(min = 1))]
    pub instances: u32,
    /// `session` (default) or `transaction`.
    #[serde(default)]
    pub pool_mode: PoolMode,
    /// PgBouncer settings CloudNative-PG lets through (values are strings), e.g.
    /// `max_client_conn: "500"`.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Resources of the `pgbouncer` container, as in Kubernetes.
    #[serde(default)]
    pub resources: Map<String, Value>,
    /// The pods' `affinity`, as in Kubernetes.
    #[serde(default)]
    pub affinity: Map<String, Value>,
    /// Scrape PgBouncer's exporter (port `metrics`, 9127) with a PodMonitor or VMPodScrape, as
    /// `defaults.monitoring.flavor` says (default: as the cluster's `monitoring`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<bool>,
    /// A PodDisruptionBudget for its pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<super::workload::DisruptionBudget>,
}

/// Where a pooler sends connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PoolerType {
    /// The primary.
    #[default]
    Rw,
    /// The replicas.
    Ro,
    /// Any instance.
    R,
}

/// When PgBouncer gives a server connection back to the pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PoolMode {
    /// When the client disconnects.
    #[default]
    Session,
    /// After each transaction (no session state: prepared statements need
    /// `max_prepared_statements`, no `SET`, no advisory locks across transactions).
    Transaction,
}

/// Operators that run PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PostgresProvider {
    /// CloudNative-PG (`postgresql.cnpg.io/v1` Cluster).
    #[default]
    Cnpg,
    /// KubeBlocks (`apps.kubeblocks.io/v1` Cluster, replication topology).
    Kubeblocks,
}

/// A persistent volume.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageSpec {
    /// Size, e.g. `30Gi`.
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$"))]
    pub size: String,
    /// Storage class (default `defaults.storageClass`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

/// Pod anti-affinity of database instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    /// Spread when possible.
    #[default]
    Preferred,
    /// Never two instances on one node.
    Required,
}

/// How CloudNative-PG updates the primary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrimaryUpdateStrategy {
    /// Automatically, after the replicas.
    #[default]
    Unsupervised,
    /// Waits for a manual switchover.
    Supervised,
}

/// A further database in the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// The database name in PostgreSQL.
    #[schemars(regex(pattern = "^[a-z_][a-z0-9_]*$"))]
    pub name: String,
    /// Its owner role.
    pub owner: Name,
    /// Extensions to create in it.
    #[serde(default)]
    pub extensions: Vec<String>,
}

/// A role CloudNative-PG manages.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleSpec {
    /// The role's name.
    pub name: Name,
    /// Whether it may log in.
    #[serde(default = "yes")]
    pub login: bool,
    /// A `kubernetes.io/basic-auth` secret (from `secrets:`) holding its password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<Name>,
    /// Roles it is a member of.
    #[serde(default)]
    pub in_roles: Vec<String>,
    /// Connection limit (-1: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_limit: Option<i64>,
    /// May create databases.
    #[serde(default)]
    pub createdb: bool,
    /// May start streaming replication and backups.
    #[serde(default)]
    pub replication: bool,
    /// Bypasses row-level security.
    #[serde(default)]
    pub bypassrls: bool,
    /// When its password stops being valid: an RFC 3339 time, e.g. `2027-06-30T00:00:00Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
    ))]
    pub valid_until: Option<String>,
}

/// Backups through the Barman Cloud plugin.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupSpec {
    /// `s3://bucket/path` the backups and WAL go to.
    #[schemars(regex(pattern = r"^s3://\S+$"))]
    pub destination_path: String,
    /// The S3 endpoint, for S3-compatible stores.
    #[serde(default, rename = "endpointURL", skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// The secret (from `secrets:`) holding the S3 credentials.
    pub credentials: Name,
    /// Its key with the access key id.
    #[serde(default = "default_access_key_key")]
    pub access_key_id_key: String,
    /// Its key with the secret access key.
    #[serde(default = "default_secret_key_key")]
    pub secret_access_key_key: String,
    /// How long backups are kept, e.g. `30d` (days, weeks or months).
    #[serde(default = "default_retention")]
    #[schemars(regex(pattern = "^[1-9][0-9]*[dwm]$"))]
    pub retention: String,
    /// When the base backup runs: a six-field cron with seconds first (`0 0 2 * * *`).
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// Compression of WAL files and base backups.
    #[serde(default)]
    pub compression: Compression,
    /// Server-side encryption of the stored files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// Use the deprecated in-tree `barmanObjectStore` instead of the plugin.
    #[serde(default)]
    pub legacy: bool,
    /// Files a base backup uploads in parallel (Barman Cloud's default: 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub jobs: Option<u32>,
    /// Start a base backup with an immediate checkpoint instead of waiting for a spread one.
    #[serde(default)]
    pub immediate_checkpoint: bool,
    /// The backup lineage the cluster archives under (the plugin's `serverName`; default: the
    /// cluster's name). A restored cluster needs a new one: Barman refuses to archive into a
    /// lineage that holds WAL already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<Name>,
    /// Where scheduled backups run: `prefer-standby` (the most up-to-date standby, else the
    /// primary; CloudNative-PG's default) or `primary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<BackupTarget>,
}

/// The instance a backup is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BackupTarget {
    /// The primary.
    Primary,
    /// The most up-to-date standby, else the primary.
    PreferStandby,
}

/// Compression algorithms Barman Cloud supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip.
    #[default]
    Gzip,
    /// bzip2.
    Bzip2,
    /// Snappy.
    Snappy,
}

/// S3 server-side encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Encryption {
    /// SSE with S3-managed keys.
    #[serde(rename = "AES256")]
    Aes256,
    /// SSE with KMS keys.
    #[serde(rename = "aws:kms")]
    AwsKms,
}

/// The app's Redis.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisSpec {
    /// `external` (an address), `kubeblocks` (a Redis replication cluster with Sentinel) or
    /// `dragonfly` (a DragonflyDB instance run by the Dragonfly operator).
    #[serde(default)]
    pub provider: RedisProvider,
    /// `host:port` of an external Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Sentinel master set, when `address` lists sentinels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_master_set: Option<String>,
    /// The secret (from `secrets:`) holding the password, and its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<Name>,
    /// The key of `passwordSecret` holding the password.
    #[serde(default = "default_password_key")]
    pub password_key: String,
    /// Database index per consumer (the chart's consumers, e.g. Harbor's `core`,
    /// `jobservice`, `registry`, `trivy`).
    #[serde(default)]
    pub databases: BTreeMap<String, u32>,
    /// KubeBlocks / Dragonfly: the cluster's name (default `<app>-redis`, `<app>-dragonfly`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// KubeBlocks: Redis service version, e.g. `7.2.4`; Dragonfly: its release, e.g. `1.39.0`
    /// (image `docker.dragonflydb.io/dragonflydb/dragonfly:v1.39.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// KubeBlocks: Redis replicas; Dragonfly: pods in all, the master included.
    #[serde(default = "default_redis_replicas")]
    pub replicas: u32,
    /// KubeBlocks: Sentinel replicas (3 or more recommended).
    #[serde(default = "default_sentinels")]
    pub sentinels: u32,
    /// KubeBlocks: data volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// KubeBlocks / Dragonfly: container resources.
    #[serde(default)]
    pub resources: Map<String, Value>,
    /// Dragonfly: a full image reference instead of `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Dragonfly: arguments appended to the operator's own (e.g. `--cache_mode=true`).
    #[serde(default)]
    pub args: Vec<String>,
    /// Dragonfly: snapshots to the pods' volumes (`storage`, 1Gi by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<DragonflySnapshot>,
    /// Dragonfly: the pods' `affinity`, as in Kubernetes.
    #[serde(default)]
    pub affinity: Map<String, Value>,
    /// Dragonfly: the pods' `topologySpreadConstraints`, as in Kubernetes.
    #[serde(default)]
    pub topology_spread: Vec<Map<String, Value>>,
    /// Dragonfly: the operator's PodDisruptionBudget (default `maxUnavailable: 1` with more than
    /// one replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<super::workload::DisruptionBudget>,
    /// Dragonfly: scrape its metrics (admin port 9999) with a PodMonitor or VMPodScrape, as
    /// `defaults.monitoring.flavor` says (default: when the app's `monitoring` is on or
    /// `defaults.monitoring.labels` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<bool>,
    /// Dragonfly and KubeBlocks: namespaces whose pods may connect. The Dragonfly operator's
    /// own NetworkPolicy lets in only the instance's namespace; a KubeBlocks Redis under a
    /// default deny of its namespace (`networkPolicy.defaultDeny`) admits these too.
    #[serde(default)]
    pub allow_namespaces: Vec<Name>,
    /// Dragonfly: give the pods the security contexts Pod Security `restricted` asks for (uid
    /// 999, no privilege escalation, all capabilities dropped, `RuntimeDefault` seccomp);
    /// without it they pass `baseline` only.
    #[serde(default)]
    pub restricted_pods: bool,
}

/// Dragonfly snapshots.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DragonflySnapshot {
    /// When: a five-field cron (`*/30 * * * *`).
    pub cron: String,
    /// Snapshot on the master only.
    #[serde(default)]
    pub master_only: bool,
}

/// Where Redis comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RedisProvider {
    /// An address outside the app (DragonflyDB, a managed Redis).
    #[default]
    External,
    /// A KubeBlocks Redis replication cluster with Sentinel.
    Kubeblocks,
    /// A DragonflyDB instance (`dragonflydb.io/v1alpha1` Dragonfly).
    Dragonfly,
}

/// A backup of one PVC of the app with VolSync: a restic `ReplicationSource` on a schedule,
/// and, when `restore` is set, a `ReplicationDestination` that restores into the PVC.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeBackupSpec {
    /// The PVC (in the app's namespace, e.g. one a chart creates).
    pub pvc: Name,
    /// When: a five-field cron (`0 3 * * *`).
    pub schedule: String,
    /// The secret (from `secrets:`) with `RESTIC_REPOSITORY` (`s3:https://host/bucket/path`,
    /// one path per PVC), `RESTIC_PASSWORD`, `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub repository: Name,
    /// Snapshots restic keeps (`forget`); at least one count or `within`.
    pub retain: RetainSpec,
    /// The port of the S3 endpoint in `RESTIC_REPOSITORY` (gitopsc cannot read the secret):
    /// under a default deny the mover pods may reach it (default 443).
    #[serde(default = "default_https_port")]
    pub repository_port: u16,
    /// Days between `restic prune` runs (default 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub prune_interval_days: Option<u32>,
    /// How the point-in-time copy is taken: `Snapshot` (default; a VolumeSnapshot), `Clone`
    /// or `Direct` (the live volume, not consistent).
    #[serde(default)]
    pub copy_method: CopyMethod,
    /// The VolumeSnapshotClass for `Snapshot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_class: Option<String>,
    /// The StorageClass of the copy (default: the PVC's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Run the mover pod as this user and group instead of root (what Pod Security
    /// `restricted` needs; the user must be able to read the volume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mover_user: Option<MoverUser>,
    /// Restore the latest (or an older) backup into the PVC, once per `trigger` value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<VolumeRestoreSpec>,
}

/// Snapshots restic keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetainSpec {
    /// Hourly snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<u32>,
    /// Daily snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<u32>,
    /// Weekly snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<u32>,
    /// Monthly snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly: Option<u32>,
    /// Yearly snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yearly: Option<u32>,
    /// Every snapshot younger than this (restic `--keep-within`, e.g. `3d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+[ymwdh])+$"))]
    pub within: Option<String>,
}

/// How VolSync copies a volume before backing it up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CopyMethod {
    /// A VolumeSnapshot.
    #[default]
    Snapshot,
    /// A clone of the PVC.
    Clone,
    /// The live volume.
    Direct,
}

/// The user a VolSync mover runs as.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MoverUser {
    /// `runAsUser` (not 0).
    #[schemars(range(min = 1))]
    pub uid: i64,
    /// `runAsGroup` and `fsGroup`.
    #[schemars(range(min = 1))]
    pub gid: i64,
}

/// A restore of a volume backup.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeRestoreSpec {
    /// Any string: the restore runs once per value (`spec.trigger.manual`).
    pub trigger: String,
    /// Restore the last backup taken before this time (RFC 3339) instead of the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// The operators data services need, each installed by an app of this spec or by a Flux
/// Kustomization outside it. gitopsc renders a gate per operator that the data layers wait on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Operators {
    /// CloudNative-PG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnpg: Option<OperatorSpec>,
    /// The Barman Cloud plugin of CloudNative-PG (needs cert-manager; brings `ObjectStore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barman_cloud: Option<OperatorSpec>,
    /// External Secrets Operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_secrets: Option<OperatorSpec>,
    /// KubeBlocks (its PostgreSQL and Redis addons are waited for too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeblocks: Option<OperatorSpec>,
    /// The Dragonfly operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dragonfly: Option<OperatorSpec>,
    /// VolSync (volume backups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volsync: Option<OperatorSpec>,
}

impl crate::kinds::Operator {
    /// Its declaration in the spec.
    pub fn declared(self, spec: &super::ClusterSpec) -> Option<&OperatorSpec> {
        let ops = &spec.operators;
        match self {
            crate::kinds::Operator::Cnpg => ops.cnpg.as_ref(),
            crate::kinds::Operator::BarmanCloud => ops.barman_cloud.as_ref(),
            crate::kinds::Operator::ExternalSecrets => ops.external_secrets.as_ref(),
            crate::kinds::Operator::Kubeblocks => ops.kubeblocks.as_ref(),
            crate::kinds::Operator::Dragonfly => ops.dragonfly.as_ref(),
            crate::kinds::Operator::Volsync => ops.volsync.as_ref(),
        }
    }
}

impl super::AppSpec {
    /// The operators the app's data services and secrets need.
    pub fn operators(&self) -> std::collections::BTreeSet<crate::kinds::Operator> {
        use crate::kinds::Operator;
        let mut ops = std::collections::BTreeSet::new();
        if let Some(pg) = &self.postgres {
            match pg.provider {
                PostgresProvider::Cnpg => {
                    ops.insert(Operator::Cnpg);
                    if pg.backup.as_ref().is_some_and(|b| !b.legacy) {
                        ops.insert(Operator::BarmanCloud);
                    }
                }
                PostgresProvider::Kubeblocks => {
                    ops.insert(Operator::Kubeblocks);
                }
            }
        }
        if self
            .redis
            .as_ref()
            .is_some_and(|r| r.provider == RedisProvider::Kubeblocks)
        {
            ops.insert(Operator::Kubeblocks);
        }
        if self
            .redis
            .as_ref()
            .is_some_and(|r| r.provider == RedisProvider::Dragonfly)
        {
            ops.insert(Operator::Dragonfly);
        }
        if !self.volume_backups.is_empty() {
            ops.insert(Operator::Volsync);
        }
        if !self.secrets.is_empty() {
            ops.insert(Operator::ExternalSecrets);
        }
        ops
    }
}

/// Where an operator comes from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OperatorSpec {
    /// The app of this spec that installs it (its HelmRelease is health-checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<Name>,
    /// Or: a Flux Kustomization outside this tree (in `flux.external`) that installs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<Name>,
    /// With `external`: the operator's Deployment to health-check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Name>,
    /// With `external`: the Deployment's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
    /// How long the gate waits for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

fn yes() -> bool {
    true
}
fn default_instances() -> u32 {
    3
}
fn default_pooler_instances() -> u32 {
    2
}
fn default_cnpg_version() -> String {
    "1.30".into()
}
fn default_access_key_key() -> String {
    "ACCESS_KEY_ID".into()
}
fn default_secret_key_key() -> String {
    "ACCESS_SECRET_KEY".into()
}
fn default_retention() -> String {
    "30d".into()
}
fn default_schedule() -> String {
    "0 0 2 * * *".into()
}
fn default_password_key() -> String {
    "password".into()
}
fn default_https_port() -> u16 {
    443
}
fn default_pg_port() -> u16 {
    5432
}
fn default_sslmode() -> String {
    "require".into()
}
fn default_redis_replicas() -> u32 {
    2
}
fn default_sentinels() -> u32 {
    3
}
