//! PostgreSQL: a CloudNative-PG `Cluster` (with Barman Cloud backups, declarative databases,
//! managed roles and a PodMonitor) or a KubeBlocks `Cluster` plus the Job that creates the
//! application database KubeBlocks does not create.
//!
//! The names the operators create are a contract the rest of the spec wires against (see
//! [`connection`]): CloudNative-PG's `<cluster>-rw` Service and `<cluster>-app` Secret (the
//! `ownerSecret` instead, when given), KubeBlocks' `<cluster>-postgresql-postgresql` Service
//! and `<cluster>-postgresql-account-postgres` Secret.

use super::part::{AppCtx, Part, Parts, Topic};
use super::refs::Refs;
use super::*;
use crate::digest::sha256_hex;
use crate::kinds;
use crate::spec::ClusterSpec;
use crate::spec::data::{
    AntiAffinity, BackupTarget, Compression, DataDurability, Encryption, MigrateMethod, PostgresProvider,
    PostgresSpec, PrimaryUpdateStrategy, SyncMethod,
};

/// How clients reach the database: what `((postgres.*))` references name.
pub struct Connection {
    /// The cluster's name.
    pub cluster: String,
    /// Read-write Service.
    pub host: String,
    /// Port.
    pub port: u16,
    /// The application database.
    pub database: String,
    /// The user clients log in as.
    pub user: String,
    /// The Secret with that user's `username` and `password`.
    pub secret: String,
}

/// Whether a PodMonitor scrapes the app's database: as `postgres.monitoring` says, else when
/// the app's monitoring is on or the cluster's monitors carry selecting labels.
pub fn monitored(spec: &ClusterSpec, app: &crate::spec::AppSpec, pg: &PostgresSpec) -> bool {
    pg.monitoring.unwrap_or(
        app.monitoring.as_ref().is_some_and(|m| m.enabled) || !spec.defaults.monitoring.labels.is_empty(),
    )
}

/// The connection contract of an app's database.
pub fn connection(app: &str, pg: &PostgresSpec) -> Connection {
    let cluster = pg.cluster_name(app);
    match pg.provider {
        PostgresProvider::Cnpg => Connection {
            host: super::pooler::client_host(&cluster, pg),
            port: 5432,
            database: pg.database.to_string(),
            user: pg.owner.as_ref().unwrap_or(&pg.database).to_string(),
            secret: pg
                .owner_secret
                .as_ref()
                .map_or_else(|| format!("{cluster}-app"), |s| s.to_string()),
            cluster,
        },
        PostgresProvider::Kubeblocks => Connection {
            host: format!("{cluster}-postgresql-postgresql"),
            port: 5432,
            database: pg.database.to_string(),
            user: "postgres".into(),
            secret: format!("{cluster}-postgresql-account-postgres"),
            cluster,
        },
    }
}

/// The references a database offers.
pub fn refs(conn: &Connection) -> Refs {
    let mut refs = Refs::default();
    refs.insert("postgres.cluster", conn.cluster.clone());
    refs.insert("postgres.host", conn.host.clone());
    refs.insert("postgres.port", conn.port);
    refs.insert("postgres.database", conn.database.clone());
    refs.insert("postgres.user", conn.user.clone());
    refs.insert("postgres.secret", conn.secret.clone());
    refs
}

/// A volume.
#[derive(Debug, Clone, Serialize)]
pub struct Volume {
    /// Size.
    pub size: String,
    /// Storage class.
    pub storage_class: Option<String>,
}

/// A CloudNative-PG Cluster.
#[derive(Debug, Serialize)]
pub struct CnpgCluster {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: super::StrMap,
    /// Instances.
    pub instances: u32,
    /// Image.
    pub image: String,
    /// `primaryUpdateStrategy`.
    pub primary_update_strategy: &'static str,
    /// Data volume.
    pub storage: Volume,
    /// WAL volume.
    pub wal_storage: Option<Volume>,
    /// Resources.
    pub resources: serde_json::Map<String, serde_json::Value>,
    /// `podAntiAffinityType`.
    pub anti_affinity: &'static str,
    /// `postgresql.parameters`.
    pub parameters: super::StrMap,
    /// `bootstrap.initdb`.
    pub database: String,
    /// Owner.
    pub owner: String,
    /// Owner secret.
    pub owner_secret: Option<String>,
    /// Encoding.
    pub encoding: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// `postInitApplicationSQL`.
    pub post_init_sql: Vec<String>,
    /// `managed.roles`.
    pub roles: Vec<Role>,
    /// The Barman Cloud ObjectStore the plugin archives to.
    pub plugin_object_store: Option<String>,
    /// The deprecated in-tree backup configuration.
    pub legacy_backup: Option<ObjectStore>,
    /// `postgresql.pg_hba`.
    pub pg_hba: Vec<String>,
    /// `postgresql.synchronous`.
    pub synchronous: Option<Synchronous>,
    /// `enableSuperuserAccess`.
    pub enable_superuser_access: bool,
    /// `superuserSecret`.
    pub superuser_secret: Option<String>,
    /// The plugin's `serverName` (the lineage the cluster archives under), when given.
    pub archive_server_name: Option<String>,
    /// How the cluster starts: `initdb`, `recovery` or `pg_basebackup`.
    pub bootstrap: &'static str,
    /// `bootstrap.recovery`: from the app's object store.
    pub recovery: Option<Recovery>,
    /// `bootstrap.initdb.import`: the database imported from `source`.
    pub import_database: Option<String>,
    /// The existing server the cluster is created from (`externalClusters`).
    pub source: Option<Source>,
}

/// A recovery from the app's object store.
#[derive(Debug, Serialize)]
pub struct Recovery {
    /// The ObjectStore.
    pub object_store: String,
    /// The lineage restored.
    pub server_name: String,
    /// Point-in-time target.
    pub target_time: Option<String>,
}

/// An existing PostgreSQL server (`externalClusters[].connectionParameters`).
#[derive(Debug, Serialize)]
pub struct Source {
    /// Connection parameters (libpq keywords; values are strings).
    pub parameters: super::StrMap,
    /// The password Secret.
    pub password_secret: String,
    /// Its key.
    pub password_key: String,
}

/// `postgresql.synchronous`.
#[derive(Debug, Serialize)]
pub struct Synchronous {
    /// `any` or `first`.
    pub method: &'static str,
    /// Standbys that confirm a commit.
    pub number: u32,
    /// `required` or `preferred`.
    pub data_durability: Option<&'static str>,
}

/// A managed role.
#[derive(Debug, Serialize)]
pub struct Role {
    /// Name.
    pub name: String,
    /// Login.
    pub login: bool,
    /// Password secret.
    pub password_secret: Option<String>,
    /// Memberships.
    pub in_roles: Vec<String>,
    /// Connection limit.
    pub connection_limit: Option<i64>,
    /// `createdb`.
    pub createdb: bool,
    /// `replication`.
    pub replication: bool,
    /// `bypassrls`.
    pub bypassrls: bool,
    /// `validUntil`.
    pub valid_until: Option<String>,
}

/// A Barman Cloud object store (the plugin's `ObjectStore`, or the legacy in-tree block).
#[derive(Debug, Clone, Serialize)]
pub struct ObjectStore {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: super::StrMap,
    /// `s3://...`.
    pub destination_path: String,
    /// Endpoint.
    pub endpoint_url: Option<String>,
    /// Credentials secret.
    pub credentials: String,
    /// Access key id key.
    pub access_key_id_key: String,
    /// Secret access key key.
    pub secret_access_key_key: String,
    /// Compression.
    pub compression: &'static str,
    /// Encryption.
    pub encryption: Option<&'static str>,
    /// Retention.
    pub retention: String,
    /// Parallel upload jobs of a base backup.
    pub jobs: Option<u32>,
    /// `immediateCheckpoint`.
    pub immediate_checkpoint: bool,
}

/// A ScheduledBackup: it takes a base backup as soon as it is created (`immediate`), so a
/// new cluster is recoverable before the first scheduled run, and it is prune-protected with
/// its cluster, so a kept cluster whose app left the spec is still backed up.
#[derive(Debug, Serialize)]
pub struct ScheduledBackup {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: super::StrMap,
    /// The cluster.
    pub cluster: String,
    /// Six-field cron.
    pub schedule: String,
    /// `plugin` or `barmanObjectStore`.
    pub method: &'static str,
    /// `primary` or `prefer-standby`, when set.
    pub target: Option<&'static str>,
}

/// A declarative Database.
#[derive(Debug, Serialize)]
pub struct Database {
    /// Object name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The cluster.
    pub cluster: String,
    /// The database name in PostgreSQL.
    pub database: String,
    /// Owner.
    pub owner: String,
    /// Extensions.
    pub extensions: Vec<String>,
}

/// A PodMonitor scraping a database's instances.
#[derive(Debug, Serialize)]
pub struct PodMonitor {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels the Prometheus selects.
    pub labels: super::StrMap,
    /// Pod selector labels.
    pub selector: super::StrMap,
    /// Container port name.
    pub port: String,
    /// Metrics path, when not `/metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A KubeBlocks Cluster (PostgreSQL or Redis, replication topology).
#[derive(Debug, Serialize)]
pub struct KubeblocksCluster {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: super::StrMap,
    /// `clusterDef`.
    pub cluster_def: &'static str,
    /// Components.
    pub components: Vec<KubeblocksComponent>,
}

/// A component of a KubeBlocks Cluster.
#[derive(Debug, Serialize)]
pub struct KubeblocksComponent {
    /// Component name.
    pub name: &'static str,
    /// Service version.
    pub service_version: String,
    /// Replicas.
    pub replicas: u32,
    /// Resources.
    pub resources: serde_json::Map<String, serde_json::Value>,
    /// Data volume.
    pub storage: Volume,
}

/// The Job creating an application database on KubeBlocks.
#[derive(Debug, Serialize)]
pub struct InitJob {
    /// Name (with a hash of its spec: a Job's template is immutable).
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Image with `psql`.
    pub image: String,
    /// Database host.
    pub host: String,
    /// Account secret.
    pub secret: String,
    /// Database to create.
    pub database: String,
    /// Shell script.
    pub script: String,
    /// Longer than the layer's timeout.
    pub active_deadline_seconds: u64,
}

fn volume(spec: &ClusterSpec, s: &crate::spec::data::StorageSpec) -> Volume {
    Volume {
        size: s.size.clone(),
        storage_class: s
            .storage_class
            .clone()
            .or_else(|| spec.defaults.storage_class.clone()),
    }
}

/// The part of an app's PostgreSQL cluster: its objects in the data layer (and, on
/// KubeBlocks, the database initialisation Job in the init layer), what the runbook says
/// about them, and the `((postgres.*))` references.
pub struct Postgres;

impl Part for Postgres {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        let (Some(pg), Some(conn)) = (&app.spec.postgres, &app.postgres) else {
            return;
        };
        let timeout = app.spec.timeout.as_ref().unwrap_or(&app.cluster.defaults.timeout);
        parts(app, pg, conn, out, crate::spec::duration_secs(timeout.as_str()));
        match pg.provider {
            PostgresProvider::Cnpg => cnpg_notes(app, pg, conn, out),
            PostgresProvider::Kubeblocks => kubeblocks_notes(app, pg, conn, out),
        }
    }

    fn refs(&self, app: &crate::spec::AppSpec, public: bool, refs: &mut Refs) {
        let Some(pg) = &app.postgres else { return };
        let mut conn = connection(app.name.as_str(), pg);
        if public {
            conn.host = format!("{}.{}.svc", conn.host, app.namespace());
        }
        refs.merge(self::refs(&conn));
        if pg.provider == PostgresProvider::Cnpg {
            refs.merge(super::pooler::refs(app, pg, public));
        }
    }
}

/// The runbook's commands and caveats of a CloudNative-PG cluster.
fn cnpg_notes(app: &AppCtx, pg: &PostgresSpec, conn: &Connection, out: &mut Parts) {
    let ns = app.namespace.as_str();
    let cluster = format!("clusters.postgresql.cnpg.io/{}", conn.cluster);
    out.verify(
        LayerKind::Data,
        &[
            "kubectl",
            "-n",
            ns,
            "wait",
            "--for=condition=Ready",
            &cluster,
            "--timeout=15m",
        ],
    );
    if pg.backup.is_some() {
        out.verify(
            LayerKind::Data,
            &["kubectl", "-n", ns, "get", "scheduledbackups,backups"],
        );
        if app.protect {
            out.caveat(
                Topic::Data,
                format!(
                    "The ScheduledBackup `{}-scheduled` (and the ObjectStore) are prune-protected like the cluster: \
                     when the app leaves the spec, the kept cluster keeps being backed up. To stop that, delete \
                     them by hand (`kubectl -n {ns} delete scheduledbackup {}-scheduled`).",
                    conn.cluster, conn.cluster
                ),
            );
        }
    }
    super::restore::notes(app, pg, conn, out);
    for role in pg.roles.iter().filter(|r| r.password_secret.is_some()) {
        out.caveat(
            Topic::Data,
            format!(
                "The password secret of role `{}` must hold `username: {}`: CloudNative-PG matches it to the role.",
                role.name, role.name
            ),
        );
    }
    if let Some(secret) = &pg.owner_secret {
        out.caveat(
            Topic::Data,
            format!(
                "`{secret}` must hold `username: {}` (the database owner): CloudNative-PG requires it and then \
                 creates no `{}-app` Secret.",
                conn.user, conn.cluster
            ),
        );
    }
}

/// The runbook's commands and caveats of a KubeBlocks cluster and its database Job.
fn kubeblocks_notes(app: &AppCtx, pg: &PostgresSpec, conn: &Connection, out: &mut Parts) {
    let ns = app.namespace.as_str();
    out.verify(
        LayerKind::Data,
        &[
            "kubectl",
            "-n",
            ns,
            "get",
            "clusters.apps.kubeblocks.io",
            &conn.cluster,
        ],
    );
    if out.has_layer(LayerKind::Init) {
        let job = init_job_name(pg, conn);
        out.verify(
            LayerKind::Init,
            &[
                "kubectl",
                "-n",
                ns,
                "wait",
                "--for=condition=complete",
                &format!("job/{job}"),
                "--timeout=15m",
            ],
        );
        out.caveat(
            Topic::Data,
            format!(
                "KubeBlocks creates no application database: the Job `{job}` creates `{}` (idempotent; it waits for the \
                 primary first). To rerun it: `kubectl -n {ns} delete job {job}`; Flux recreates it at the next \
                 reconcile (`flux reconcile kustomization {}-init`).",
                conn.database, app.name
            ),
        );
    }
    out.caveat(
        Topic::Data,
        format!(
            "On KubeBlocks the application connects as the `postgres` account (Secret `{}`).",
            conn.secret
        ),
    );
}

/// Adds the app's database objects to its data layer (and, on KubeBlocks, the database
/// initialisation Job to its init layer).
fn parts(app: &AppCtx, pg: &PostgresSpec, conn: &Connection, parts: &mut Parts, init_timeout_secs: u64) {
    let spec = app.cluster;
    let protect = app.protect;
    let namespace = app.namespace.clone();
    match pg.provider {
        PostgresProvider::Cnpg => {
            if let Some(secs) = pg.bootstrap_secs() {
                parts.timeout_at_least(LayerKind::Data, secs);
            }
            cnpg(app, pg, conn, parts)
        }
        PostgresProvider::Kubeblocks => {
            let cluster = KubeblocksCluster {
                name: conn.cluster.clone(),
                namespace: namespace.clone(),
                labels: super::StrMap::from(kinds::KUBEBLOCKS_CLUSTER.prune_labels(protect, false)),
                cluster_def: "postgresql",
                components: vec![KubeblocksComponent {
                    name: "postgresql",
                    service_version: pg.version.clone().unwrap_or_default(),
                    replicas: pg.instances,
                    resources: pg.resources.clone(),
                    storage: volume(spec, &pg.storage),
                }],
            };
            parts.add(
                LayerKind::Data,
                Manifest::new(
                    "postgres-cluster.yaml",
                    "kubeblocks/cluster.yaml.j2",
                    &kinds::KUBEBLOCKS_CLUSTER,
                    cluster,
                ),
            );
            let job = init_job(pg, conn, &namespace, init_timeout_secs);
            parts.add(
                LayerKind::Init,
                Manifest::new(
                    "create-database-job.yaml",
                    "kubeblocks/init-job.yaml.j2",
                    &kinds::JOB,
                    job,
                ),
            );
        }
    }
}

/// The objects of a CloudNative-PG cluster: the Cluster, its backups (the plugin's
/// ObjectStore, the ScheduledBackup), declarative Databases and a PodMonitor.
fn cnpg(app: &AppCtx, pg: &PostgresSpec, conn: &Connection, parts: &mut Parts) {
    let object_store = pg.backup.as_ref().map(|b| object_store(app, conn, b));
    let legacy = pg.backup.as_ref().is_some_and(|b| b.legacy);
    let cluster = cnpg_cluster(app, pg, conn, object_store.as_ref());
    parts.add(
        LayerKind::Data,
        Manifest::new(
            "postgres-cluster.yaml",
            "cnpg/cluster.yaml.j2",
            &kinds::CNPG_CLUSTER_KIND,
            cluster,
        ),
    );
    if let Some(store) = object_store.filter(|_| !legacy) {
        parts.add(
            LayerKind::Data,
            Manifest::new(
                "postgres-objectstore.yaml",
                "cnpg/objectstore.yaml.j2",
                &kinds::CNPG_OBJECT_STORE,
                store,
            ),
        );
    }
    if let Some(b) = &pg.backup {
        let backup = ScheduledBackup {
            name: format!("{}-scheduled", conn.cluster),
            namespace: app.namespace.clone(),
            labels: super::StrMap::from(kinds::CNPG_SCHEDULED_BACKUP.prune_labels(app.protect, false)),
            cluster: conn.cluster.clone(),
            schedule: b.schedule.clone(),
            method: if b.legacy { "barmanObjectStore" } else { "plugin" },
            target: b.target.map(|t| match t {
                BackupTarget::Primary => "primary",
                BackupTarget::PreferStandby => "prefer-standby",
            }),
        };
        parts.add(
            LayerKind::Data,
            Manifest::new(
                "postgres-scheduledbackup.yaml",
                "cnpg/scheduledbackup.yaml.j2",
                &kinds::CNPG_SCHEDULED_BACKUP,
                backup,
            ),
        );
    }
    for db in &pg.databases {
        let object = Database {
            name: format!("{}-{}", conn.cluster, db.name.replace('_', "-")),
            namespace: app.namespace.clone(),
            cluster: conn.cluster.clone(),
            database: db.name.clone(),
            owner: db.owner.to_string(),
            extensions: db.extensions.clone(),
        };
        parts.add(
            LayerKind::Data,
            Manifest::new(
                format!("postgres-database-{}.yaml", object.name),
                "cnpg/database.yaml.j2",
                &kinds::CNPG_DATABASE,
                object,
            ),
        );
    }
    super::pooler::parts(app, pg, conn, parts);
    if monitored(app.cluster, app.spec, pg) {
        let monitor = PodMonitor {
            name: conn.cluster.clone(),
            namespace: app.namespace.clone(),
            labels: super::StrMap::from(&app.cluster.defaults.monitoring.labels),
            selector: super::StrMap::from_iter([("cnpg.io/cluster".to_string(), conn.cluster.clone())]),
            port: "metrics".into(),
            path: None,
        };
        parts.add(
            LayerKind::Data,
            monitors::pod_monitor(app.cluster, "postgres-", "", monitor),
        );
    }
}

/// The Barman Cloud object store of a cluster's backups.
fn object_store(app: &AppCtx, conn: &Connection, b: &crate::spec::data::BackupSpec) -> ObjectStore {
    ObjectStore {
        name: format!("{}-backup", conn.cluster),
        namespace: app.namespace.clone(),
        labels: super::StrMap::from(kinds::CNPG_OBJECT_STORE.prune_labels(app.protect, false)),
        destination_path: b.destination_path.clone(),
        endpoint_url: b.endpoint_url.clone(),
        credentials: b.credentials.to_string(),
        access_key_id_key: b.access_key_id_key.clone(),
        secret_access_key_key: b.secret_access_key_key.clone(),
        compression: match b.compression {
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Snappy => "snappy",
        },
        encryption: b.encryption.map(|e| match e {
            Encryption::Aes256 => "AES256",
            Encryption::AwsKms => "aws:kms",
        }),
        retention: b.retention.clone(),
        jobs: b.jobs,
        immediate_checkpoint: b.immediate_checkpoint,
    }
}

/// The CloudNative-PG `Cluster` itself.
fn cnpg_cluster(
    app: &AppCtx,
    pg: &PostgresSpec,
    conn: &Connection,
    store: Option<&ObjectStore>,
) -> CnpgCluster {
    let spec = app.cluster;
    let legacy = pg.backup.as_ref().is_some_and(|b| b.legacy);
    // The in-tree backup runs `barman-cloud` from the instance image: only the (deprecated)
    // `system` images carry it; with the plugin, `standard` is the image to use.
    let image = pg.image.clone().unwrap_or_else(|| {
        format!(
            "ghcr.io/cloudnative-pg/postgresql:{}-{}-trixie",
            pg.version.as_deref().unwrap_or_default(),
            if legacy { "system" } else { "standard" }
        )
    });
    CnpgCluster {
        name: conn.cluster.clone(),
        namespace: app.namespace.clone(),
        labels: super::StrMap::from(kinds::CNPG_CLUSTER_KIND.prune_labels(app.protect, false)),
        instances: pg.instances,
        image,
        primary_update_strategy: match pg.primary_update_strategy {
            PrimaryUpdateStrategy::Unsupervised => "unsupervised",
            PrimaryUpdateStrategy::Supervised => "supervised",
        },
        storage: volume(spec, &pg.storage),
        wal_storage: pg.wal_storage.as_ref().map(|w| volume(spec, w)),
        resources: pg.resources.clone(),
        anti_affinity: match pg.anti_affinity {
            AntiAffinity::Preferred => "preferred",
            AntiAffinity::Required => "required",
        },
        parameters: super::StrMap::from(&pg.parameters),
        database: conn.database.clone(),
        owner: conn.user.clone(),
        owner_secret: pg.owner_secret.as_ref().map(|s| s.to_string()),
        encoding: pg.encoding.clone(),
        locale: pg.locale.clone(),
        post_init_sql: pg.post_init_sql.clone(),
        roles: pg
            .roles
            .iter()
            .map(|r| Role {
                name: r.name.to_string(),
                login: r.login,
                password_secret: r.password_secret.as_ref().map(|s| s.to_string()),
                in_roles: r.in_roles.clone(),
                connection_limit: r.connection_limit,
                createdb: r.createdb,
                replication: r.replication,
                bypassrls: r.bypassrls,
                valid_until: r.valid_until.clone(),
            })
            .collect(),
        plugin_object_store: store.filter(|_| !legacy).map(|o| o.name.clone()),
        legacy_backup: store.filter(|_| legacy).cloned(),
        pg_hba: pg.pg_hba.clone(),
        synchronous: pg.synchronous.as_ref().map(|s| Synchronous {
            method: match s.method {
                SyncMethod::Any => "any",
                SyncMethod::First => "first",
            },
            number: s.number,
            data_durability: s.data_durability.map(|d| match d {
                DataDurability::Required => "required",
                DataDurability::Preferred => "preferred",
            }),
        }),
        enable_superuser_access: pg.enable_superuser_access,
        superuser_secret: pg.superuser_secret.as_ref().map(|s| s.to_string()),
        archive_server_name: pg
            .backup
            .as_ref()
            .and_then(|b| b.server_name.as_ref())
            .map(|n| n.to_string()),
        bootstrap: bootstrap_method(pg),
        recovery: pg.restore.as_ref().zip(store).map(|(r, store)| Recovery {
            object_store: store.name.clone(),
            server_name: r
                .server_name
                .as_ref()
                .map_or_else(|| conn.cluster.clone(), |n| n.to_string()),
            target_time: r.target_time.clone(),
        }),
        import_database: pg
            .migrate
            .as_ref()
            .filter(|m| m.method == MigrateMethod::Import)
            .map(|m| m.database.clone().unwrap_or_else(|| conn.database.clone())),
        source: pg.migrate.as_ref().map(|m| Source {
            parameters: super::StrMap::from_iter([
                ("host".to_string(), m.host.clone()),
                ("port".to_string(), m.port.to_string()),
                ("user".to_string(), m.user.clone()),
                (
                    "dbname".to_string(),
                    m.database.clone().unwrap_or_else(|| conn.database.clone()),
                ),
                ("sslmode".to_string(), m.ssl_mode.clone()),
            ]),
            password_secret: m.password_secret.to_string(),
            password_key: m.password_key.clone(),
        }),
    }
}

/// How a CloudNative-PG cluster starts: from `initdb` (empty, or importing a database), a
/// recovery from the app's backups, or a physical copy of another server.
pub fn bootstrap_method(pg: &PostgresSpec) -> &'static str {
    match (&pg.restore, &pg.migrate) {
        (Some(_), _) => "recovery",
        (None, Some(m)) if m.method == MigrateMethod::Basebackup => "pg_basebackup",
        _ => "initdb",
    }
}

/// The Job that creates the application database on KubeBlocks: it waits for the primary
/// to accept connections, creates the database when it is missing, and is named after a hash
/// of its spec (a Job's pod template is immutable, so a changed Job must be a new Job).
/// The name of the Job that creates a KubeBlocks app database: it changes with what the Job
/// does, so a changed Job is a new one (a Job's template is immutable).
pub fn init_job_name(pg: &PostgresSpec, conn: &Connection) -> String {
    init_job(pg, conn, "", 0).name
}

fn init_job(pg: &PostgresSpec, conn: &Connection, namespace: &str, layer_timeout_secs: u64) -> InitJob {
    let major = pg
        .version
        .as_deref()
        .and_then(|v| v.split('.').next())
        .filter(|m| !m.is_empty())
        .unwrap_or("16");
    let image = format!("docker.io/library/postgres:{major}-alpine");
    // The database name is a validated identifier (`^[a-z_][a-z0-9_]*$`): safe in SQL.
    let script = format!(
        "until pg_isready --quiet; do echo \"waiting for $PGHOST\"; sleep 5; done\n\
         if psql -tAc \"SELECT 1 FROM pg_database WHERE datname = '{db}'\" | grep -q 1; then\n  \
         echo \"database {db} exists\"\n\
         else\n  \
         psql -v ON_ERROR_STOP=1 -c 'CREATE DATABASE \"{db}\"'\n\
         fi\n",
        db = conn.database
    );
    let hash = sha256_hex(format!("{image}\n{}\n{}\n{script}", conn.host, conn.secret).as_bytes());
    InitJob {
        name: format!("{}-create-db-{}", conn.cluster, &hash[..8]),
        namespace: namespace.to_string(),
        image,
        host: conn.host.clone(),
        secret: conn.secret.clone(),
        database: conn.database.clone(),
        script,
        active_deadline_seconds: layer_timeout_secs + 600,
    }
}
