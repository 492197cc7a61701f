//! Redis: an external address (a managed Redis), a KubeBlocks replication cluster with
//! Sentinel, or a DragonflyDB instance (see [`super::dragonfly`]). What clients need is
//! exposed as `((redis.*))` references.

use super::part::{AppCtx, Part, Parts, Topic};
use super::postgres::{KubeblocksCluster, KubeblocksComponent, Volume};
use super::refs::Refs;
use super::*;
use crate::kinds;
use crate::spec::data::{RedisProvider, RedisSpec};

/// The part of an app's Redis: a KubeBlocks cluster in its data layer, and the
/// `((redis.*))` references.
pub struct Redis;

impl Part for Redis {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        let Some(redis) = &app.spec.redis else { return };
        match redis.provider {
            RedisProvider::External => return,
            RedisProvider::Dragonfly => return super::dragonfly::parts(app, redis, out),
            RedisProvider::Kubeblocks => parts(app, redis, out),
        }
        // What the chart the app installs does with the primary's Service, when gitopsc knows.
        let note = app
            .spec
            .helm
            .as_ref()
            .and_then(|h| super::charts::lookup(&h.chart))
            .and_then(|c| c.redis.as_ref())
            .map(|t| t.primary_service_note);
        if let Some(note) = note {
            out.caveat(Topic::Data, note);
        }
    }

    fn refs(&self, app: &crate::spec::AppSpec, public: bool, refs: &mut Refs) {
        let Some(r) = &app.redis else { return };
        let mut conn = connection(app.name.as_str(), r);
        if public && r.provider != RedisProvider::External {
            conn.address = conn
                .address
                .replacen(':', &format!(".{}.svc:", app.namespace()), 1);
        }
        refs.merge(self::refs(&conn, r));
    }
}

/// How clients reach Redis.
pub struct RedisConnection {
    /// `host:port` (for sentinels: the comma-separated sentinel list).
    pub address: String,
    /// Sentinel master set.
    pub sentinel_master_set: Option<String>,
    /// The Secret with the password.
    pub secret: Option<String>,
    /// Its key.
    pub password_key: String,
    /// Whether gitopsc renders the Secret (an ExternalSecret it can label), or the operator
    /// creates it.
    pub secret_from_spec: bool,
}

/// The KubeBlocks cluster's or the Dragonfly instance's name.
pub fn cluster_name(app: &str, redis: &RedisSpec) -> String {
    let suffix = if redis.provider == RedisProvider::Dragonfly {
        "dragonfly"
    } else {
        "redis"
    };
    redis
        .name
        .as_ref()
        .map_or_else(|| format!("{app}-{suffix}"), |n| n.to_string())
}

/// The connection contract of an app's Redis.
pub fn connection(app: &str, redis: &RedisSpec) -> RedisConnection {
    match redis.provider {
        RedisProvider::External => RedisConnection {
            address: redis.address.clone().unwrap_or_default(),
            sentinel_master_set: redis.sentinel_master_set.clone(),
            secret: redis.password_secret.as_ref().map(|s| s.to_string()),
            password_key: redis.password_key.clone(),
            secret_from_spec: true,
        },
        // Clients go to the primary's Service (KubeBlocks keeps it on the primary): Harbor
        // cannot authenticate to Sentinel, and KubeBlocks' sentinels require a password.
        RedisProvider::Kubeblocks => {
            let cluster = cluster_name(app, redis);
            RedisConnection {
                address: format!("{cluster}-redis-redis:6379"),
                sentinel_master_set: None,
                secret: Some(format!("{cluster}-redis-account-default")),
                password_key: "password".into(),
                secret_from_spec: false,
            }
        }
        // The operator's one Service selects the master and follows failover; the password
        // is the app's secret the instance reads too (`authentication.passwordFromSecret`).
        RedisProvider::Dragonfly => RedisConnection {
            address: format!("{}:6379", cluster_name(app, redis)),
            sentinel_master_set: None,
            secret: redis.password_secret.as_ref().map(|s| s.to_string()),
            password_key: redis.password_key.clone(),
            secret_from_spec: true,
        },
    }
}

/// The references Redis offers.
pub fn refs(conn: &RedisConnection, redis: &RedisSpec) -> Refs {
    let mut refs = Refs::default();
    refs.insert("redis.address", conn.address.clone());
    if let Some((host, port)) = conn.address.rsplit_once(':')
        && !conn.address.contains(',')
    {
        refs.insert("redis.host", host.to_string());
        if let Ok(port) = port.parse::<u16>() {
            refs.insert("redis.port", port);
        }
    }
    if let Some(secret) = &conn.secret {
        refs.insert("redis.secret", secret.clone());
        refs.insert("redis.passwordKey", conn.password_key.clone());
    }
    for (consumer, index) in &redis.databases {
        refs.insert(format!("redis.db.{consumer}"), *index);
    }
    refs
}

/// Adds a KubeBlocks Redis cluster to the app's data layer.
fn parts(app: &AppCtx, redis: &RedisSpec, parts: &mut Parts) {
    let spec = app.cluster;
    let version = redis.version.clone().unwrap_or_default();
    let storage = redis.storage.as_ref().map_or(
        Volume {
            size: "1Gi".into(),
            storage_class: spec.defaults.storage_class.clone(),
        },
        |s| Volume {
            size: s.size.clone(),
            storage_class: s
                .storage_class
                .clone()
                .or_else(|| spec.defaults.storage_class.clone()),
        },
    );
    let labels = kinds::KUBEBLOCKS_CLUSTER.prune_labels(app.protect, false);
    let cluster = KubeblocksCluster {
        name: cluster_name(&app.name, redis),
        namespace: app.namespace.clone(),
        labels: super::StrMap::from(labels),
        cluster_def: "redis",
        components: vec![
            KubeblocksComponent {
                name: "redis",
                service_version: version.clone(),
                replicas: redis.replicas,
                resources: redis.resources.clone(),
                storage: storage.clone(),
            },
            KubeblocksComponent {
                name: "redis-sentinel",
                service_version: version,
                replicas: redis.sentinels,
                resources: serde_json::Map::new(),
                storage,
            },
        ],
    };
    parts.add(
        LayerKind::Data,
        Manifest::new(
            "redis-cluster.yaml",
            "kubeblocks/cluster.yaml.j2",
            &kinds::KUBEBLOCKS_CLUSTER,
            cluster,
        ),
    );
}
