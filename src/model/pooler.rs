//! PgBouncer poolers of a CloudNative-PG cluster: a `Pooler` per `postgres.poolers[]` entry
//! (named `<cluster>-pooler-<name>`; the operator makes a Deployment and a Service of that
//! name, port 5432), its PodDisruptionBudget and pod monitor (in the
//! cluster's monitoring family), and the `((postgres.pooler.*))`
//! references. A function of the PostgreSQL part: it runs where the cluster's objects are made.
//!
//! Clients log in with the cluster's credentials; only the host changes. The operator's
//! built-in authentication (role `cnpg_pooler_pgbouncer`, a TLS client certificate) needs
//! no superuser, so poolers work with `enableSuperuserAccess: false`.

use super::part::{AppCtx, Parts, Topic};
use super::postgres::{Connection, PodMonitor, monitored};
use super::refs::Refs;
use super::*;
use crate::kinds;
use crate::spec::data::{PoolMode, PoolerSpec, PoolerType, PostgresSpec};
use crate::spec::workload::IntOrPercent;
use crate::spec::{AppSpec, ClusterSpec};
use serde_json::{Map, Value, json};

/// The label CloudNative-PG puts on a pooler's pods, with the pooler's name.
pub const POD_LABEL: &str = "cnpg.io/poolerName";

/// A Pooler.
#[derive(Debug, Serialize)]
pub struct Pooler {
    /// Name (also its Service's and Deployment's).
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The cluster.
    pub cluster: String,
    /// `rw`, `ro` or `r`.
    pub kind: &'static str,
    /// PgBouncer pods.
    pub instances: u32,
    /// `session` or `transaction`.
    pub pool_mode: &'static str,
    /// `pgbouncer.parameters`.
    pub parameters: super::StrMap,
    /// `template.spec`, when resources or affinity are set.
    pub template: Option<Value>,
}

/// A PodDisruptionBudget of a pooler's pods (the shape `workload/poddisruptionbudget.yaml.j2`
/// renders).
#[derive(Debug, Serialize)]
struct Budget {
    meta: super::workload::Meta,
    selector: super::StrMap,
    min_available: Option<Value>,
    max_unavailable: Option<Value>,
    unhealthy_pod_eviction_policy: Option<crate::spec::workload::UnhealthyPodEvictionPolicy>,
}

/// The object name of a pooler of a cluster.
pub fn object_name(cluster: &str, pooler: &str) -> String {
    format!("{cluster}-pooler-{pooler}")
}

/// What a pooler's pods need through a default deny: the policy's view of one pooler.
pub struct PoolerNetwork {
    /// The Pooler's name.
    pub name: String,
    /// The pods of its cluster, which it connects to.
    pub upstream: super::StrMap,
    /// Whether a pod monitor scrapes it.
    pub monitored: bool,
}

/// The poolers of an app's CloudNative-PG cluster, as the NetworkPolicies see them.
pub fn network(spec: &ClusterSpec, app: &AppSpec, pg: &PostgresSpec) -> Vec<PoolerNetwork> {
    if pg.provider != crate::spec::data::PostgresProvider::Cnpg {
        return Vec::new();
    }
    let cluster = pg.cluster_name(app.name.as_str());
    pg.poolers
        .iter()
        .map(|p| PoolerNetwork {
            name: object_name(&cluster, p.name.as_str()),
            upstream: super::StrMap::from_iter([("cnpg.io/cluster".to_string(), cluster.clone())]),
            monitored: p.monitoring.unwrap_or_else(|| monitored(spec, app, pg)),
        })
        .collect()
}

/// The references of an app's poolers: `postgres.pooler.<name>.host` and `.port`.
pub fn refs(app: &AppSpec, pg: &PostgresSpec, public: bool) -> Refs {
    let cluster = pg.cluster_name(app.name.as_str());
    let mut refs = Refs::default();
    for p in &pg.poolers {
        let mut host = object_name(&cluster, p.name.as_str());
        if public {
            host = format!("{host}.{}.svc", app.namespace());
        }
        refs.insert(format!("postgres.pooler.{}.host", p.name), host);
        refs.insert(format!("postgres.pooler.{}.port", p.name), 5432);
    }
    refs
}

/// The Service clients connect to: the `connectVia` pooler's, else the cluster's `-rw`.
pub fn client_host(cluster: &str, pg: &PostgresSpec) -> String {
    pg.connect_via
        .as_ref()
        .map_or_else(|| format!("{cluster}-rw"), |p| object_name(cluster, p.as_str()))
}

/// Adds the app's Poolers (and their budgets and monitors) to its data layer.
pub fn parts(app: &AppCtx, pg: &PostgresSpec, conn: &Connection, out: &mut Parts) {
    for p in &pg.poolers {
        let name = object_name(&conn.cluster, p.name.as_str());
        let pooler = Pooler {
            name: name.clone(),
            namespace: app.namespace.clone(),
            cluster: conn.cluster.clone(),
            kind: match p.kind {
                PoolerType::Rw => "rw",
                PoolerType::Ro => "ro",
                PoolerType::R => "r",
            },
            instances: p.instances,
            pool_mode: match p.pool_mode {
                PoolMode::Session => "session",
                PoolMode::Transaction => "transaction",
            },
            parameters: super::StrMap::from(&p.parameters),
            template: template(p),
        };
        out.add(
            LayerKind::Data,
            Manifest::new(
                format!("postgres-pooler-{}.yaml", p.name),
                "cnpg/pooler.yaml.j2",
                &kinds::CNPG_POOLER,
                pooler,
            ),
        );
        let selector = super::StrMap::from_iter([(POD_LABEL.to_string(), name.clone())]);
        if let Some(pdb) = &p.disruption_budget {
            let int_or_percent = |v: &IntOrPercent| match v {
                IntOrPercent::Int(n) => json!(n),
                IntOrPercent::Percent(s) => json!(s),
            };
            let budget = Budget {
                meta: super::workload::Meta {
                    name: name.clone(),
                    namespace: app.namespace.clone(),
                    labels: super::workload::app_labels(&app.name),
                },
                selector: selector.clone(),
                min_available: pdb.min_available.as_ref().map(int_or_percent),
                max_unavailable: pdb.max_unavailable.as_ref().map(int_or_percent),
                unhealthy_pod_eviction_policy: pdb.unhealthy_pod_eviction_policy,
            };
            out.add(
                LayerKind::Data,
                Manifest::new(
                    format!("postgres-pooler-{}-pdb.yaml", p.name),
                    "workload/poddisruptionbudget.yaml.j2",
                    &kinds::POD_DISRUPTION_BUDGET,
                    budget,
                ),
            );
        }
        if p.monitoring
            .unwrap_or_else(|| monitored(app.cluster, app.spec, pg))
        {
            let monitor = PodMonitor {
                name: name.clone(),
                namespace: app.namespace.clone(),
                labels: super::StrMap::from(&app.cluster.defaults.monitoring.labels),
                selector,
                port: "metrics".into(),
                path: None,
            };
            let prefix = format!("postgres-pooler-{}-", p.name);
            out.add(
                LayerKind::Data,
                monitors::pod_monitor(app.cluster, &prefix, "", monitor),
            );
        }
    }
    notes(app, pg, conn, out);
}

/// The pod template of a pooler: the `pgbouncer` container's resources and the pods'
/// affinity. CloudNative-PG requires `containers` in a template, and an overriding container
/// named `pgbouncer`.
fn template(p: &PoolerSpec) -> Option<Value> {
    if p.resources.is_empty() && p.affinity.is_empty() {
        return None;
    }
    let mut spec = Map::new();
    let containers = if p.resources.is_empty() {
        json!([])
    } else {
        json!([{"name": "pgbouncer", "resources": p.resources}])
    };
    spec.insert("containers".into(), containers);
    if !p.affinity.is_empty() {
        spec.insert("affinity".into(), Value::Object(p.affinity.clone()));
    }
    Some(Value::Object(spec))
}

/// The runbook's commands and caveats of the poolers.
fn notes(app: &AppCtx, pg: &PostgresSpec, conn: &Connection, out: &mut Parts) {
    if pg.poolers.is_empty() {
        return;
    }
    let ns = app.namespace.as_str();
    out.verify(
        LayerKind::Data,
        &["kubectl", "-n", ns, "get", "poolers.postgresql.cnpg.io"],
    );
    if let Some(via) = &pg.connect_via {
        let keys = if pg.owner_secret.is_none() {
            format!(
                ", whose `host` and `uri` keys still name `{}-rw`: build connection strings from `((postgres.host))`",
                conn.cluster
            )
        } else {
            String::new()
        };
        out.caveat(
            Topic::Data,
            format!(
                "Clients connect through the pooler `{}` (`((postgres.host))`) and log in as before (Secret `{}`){keys}.",
                object_name(&conn.cluster, via.as_str()),
                conn.secret,
            ),
        );
    }
    if pg.poolers.iter().any(|p| p.pool_mode == PoolMode::Transaction) {
        out.caveat(
            Topic::Data,
            "A `transaction` pooler gives the server connection back after each transaction: session state \
             (`SET`, advisory locks, `LISTEN`, temporary tables) does not survive, and prepared statements need \
             `max_prepared_statements`.",
        );
    }
}
