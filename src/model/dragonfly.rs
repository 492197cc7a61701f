//! DragonflyDB as an app's Redis (`redis.provider: dragonfly`): a `Dragonfly` object the
//! Dragonfly operator turns into a StatefulSet (one master, the rest replicas), one Service
//! `<name>` on 6379 that follows the master, a PodDisruptionBudget and a NetworkPolicy of
//! its own. A function of the Redis part.
//!
//! Two facts of the operator shape what gitopsc adds (dragonfly-operator 1.6,
//! `internal/resources/resources.go`): its NetworkPolicy lets clients in only from the
//! instance's namespace and reaches the admin port (which serves the metrics) only from the
//! operator and the instance, so other namespaces and the monitoring namespace need a policy
//! that allows them; and its pods carry only `fsGroup`, so they pass Pod Security `baseline`
//! and not `restricted` unless `restrictedPods` sets both security contexts.

use super::part::{AppCtx, Parts, Topic};
use super::postgres::PodMonitor;
use super::*;
use crate::kinds;
use crate::spec::data::RedisSpec;
use crate::spec::workload::IntOrPercent;
use crate::spec::{AppSpec, ClusterSpec};
use serde_json::{Map, Value, json};

/// The image the operator runs without `image` or `version` (dragonfly-operator 1.6.1
/// `internal/resources/version.go` pins v1.39.0; gitopsc never leaves it to the operator).
const IMAGE: &str = "docker.dragonflydb.io/dragonflydb/dragonfly";

/// The label the operator gives every pod of an instance, with the instance's name.
const POD_LABEL: &str = "app";

/// A Dragonfly.
#[derive(Debug, Serialize)]
pub struct Dragonfly {
    /// Name (also its Service's and StatefulSet's).
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels (prune protection).
    pub labels: super::StrMap,
    /// Pods in all.
    pub replicas: u32,
    /// Image.
    pub image: String,
    /// Arguments appended to the operator's.
    pub args: Vec<String>,
    /// Container resources.
    pub resources: Map<String, Value>,
    /// `authentication.passwordFromSecret`: the Secret and its key.
    pub password: Option<(String, String)>,
    /// Snapshots.
    pub snapshot: Option<Snapshot>,
    /// `affinity`.
    pub affinity: Map<String, Value>,
    /// `topologySpreadConstraints`.
    pub topology_spread: Vec<Map<String, Value>>,
    /// `pdb`.
    pub pdb: Option<Value>,
    /// Set both security contexts `restricted` asks for.
    pub restricted: bool,
}

/// Dragonfly snapshots on a volume of each pod.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// Five-field cron.
    pub cron: String,
    /// On the master only.
    pub master_only: bool,
    /// Volume size.
    pub size: String,
    /// Storage class.
    pub storage_class: Option<String>,
}

/// A NetworkPolicy letting other namespaces (and the monitoring namespace) reach an instance
/// through the operator's own policy (the shape `policy/networkpolicy.yaml.j2` renders).
#[derive(Debug, Serialize)]
struct Access {
    meta: super::workload::Meta,
    pod_selector: super::StrMap,
    policy_types: Vec<&'static str>,
    ingress: Vec<Value>,
    egress: Vec<Value>,
    api_server_any: Vec<u16>,
}

/// Whether a pod monitor scrapes the instance: as `redis.monitoring` says, else when the app's
/// monitoring is on or the cluster's monitors carry selecting labels.
pub fn monitored(spec: &ClusterSpec, app: &AppSpec, redis: &RedisSpec) -> bool {
    redis.monitoring.unwrap_or(
        app.monitoring.as_ref().is_some_and(|m| m.enabled) || !spec.defaults.monitoring.labels.is_empty(),
    )
}

/// The image of an instance.
pub fn image(redis: &RedisSpec) -> String {
    redis
        .image
        .clone()
        .unwrap_or_else(|| format!("{IMAGE}:v{}", redis.version.as_deref().unwrap_or_default()))
}

/// Adds the app's Dragonfly (and its pod monitor and access policy) to its data layer.
pub fn parts(app: &AppCtx, redis: &RedisSpec, out: &mut Parts) {
    let spec = app.cluster;
    let name = super::redis::cluster_name(&app.name, redis);
    let storage_class = |s: &crate::spec::data::StorageSpec| {
        s.storage_class
            .clone()
            .or_else(|| spec.defaults.storage_class.clone())
    };
    let int_or_percent = |v: &IntOrPercent| match v {
        IntOrPercent::Int(n) => json!(n),
        IntOrPercent::Percent(s) => json!(s),
    };
    let object = Dragonfly {
        name: name.clone(),
        namespace: app.namespace.clone(),
        labels: super::StrMap::from(kinds::DRAGONFLY_KIND.prune_labels(app.protect, false)),
        replicas: redis.replicas,
        image: image(redis),
        args: redis.args.clone(),
        resources: redis.resources.clone(),
        password: redis
            .password_secret
            .as_ref()
            .map(|s| (s.to_string(), redis.password_key.clone())),
        snapshot: redis.snapshot.as_ref().map(|s| Snapshot {
            cron: s.cron.clone(),
            master_only: s.master_only,
            size: redis
                .storage
                .as_ref()
                .map_or_else(|| "1Gi".into(), |v| v.size.clone()),
            storage_class: redis
                .storage
                .as_ref()
                .map_or_else(|| spec.defaults.storage_class.clone(), storage_class),
        }),
        affinity: redis.affinity.clone(),
        topology_spread: redis.topology_spread.clone(),
        pdb: redis.disruption_budget.as_ref().map(|b| {
            let mut pdb = Map::new();
            if let Some(v) = &b.min_available {
                pdb.insert("minAvailable".into(), int_or_percent(v));
            }
            if let Some(v) = &b.max_unavailable {
                pdb.insert("maxUnavailable".into(), int_or_percent(v));
            }
            Value::Object(pdb)
        }),
        restricted: redis.restricted_pods,
    };
    out.add(
        LayerKind::Data,
        Manifest::new(
            "redis-dragonfly.yaml",
            "dragonfly/dragonfly.yaml.j2",
            &kinds::DRAGONFLY_KIND,
            object,
        ),
    );
    let selector = super::StrMap::from_iter([(POD_LABEL.to_string(), name.clone())]);
    let monitored = monitored(spec, app.spec, redis);
    if monitored {
        let monitor = PodMonitor {
            name: name.clone(),
            namespace: app.namespace.clone(),
            labels: super::StrMap::from(&spec.defaults.monitoring.labels),
            selector: selector.clone(),
            port: "admin".into(),
            path: None,
        };
        out.add(
            LayerKind::Data,
            monitors::pod_monitor(spec, "redis-dragonfly-", "", monitor),
        );
    }
    access(app, redis, &name, selector, monitored, out);
    notes(app, redis, &name, monitored, out);
}

/// The policy that lets `allowNamespaces` reach the instance on 6379 and the monitoring
/// namespace scrape its admin port, through the operator's own NetworkPolicy.
fn access(
    app: &AppCtx,
    redis: &RedisSpec,
    name: &str,
    selector: super::StrMap,
    monitored: bool,
    out: &mut Parts,
) {
    let namespaces = |names: Vec<&str>| {
        json!([{"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": names}
        ]}}])
    };
    let tcp = |port: u16| json!([{"protocol": "TCP", "port": port}]);
    let mut ingress = Vec::new();
    if !redis.allow_namespaces.is_empty() {
        let names = redis.allow_namespaces.iter().map(|n| n.as_str()).collect();
        ingress.push(json!({"from": namespaces(names), "ports": tcp(6379)}));
    }
    if let (true, Some(ns)) = (monitored, &app.cluster.defaults.monitoring.namespace) {
        ingress.push(json!({"from": namespaces(vec![ns.as_str()]), "ports": tcp(9999)}));
    }
    if ingress.is_empty() {
        return;
    }
    let item = Access {
        meta: super::workload::Meta {
            name: format!("{name}-access"),
            namespace: app.namespace.clone(),
            labels: super::workload::app_labels(&app.name),
        },
        pod_selector: selector,
        policy_types: vec!["Ingress"],
        ingress,
        egress: Vec::new(),
        api_server_any: Vec::new(),
    };
    out.add(
        LayerKind::Data,
        Manifest::new(
            format!("networkpolicy-{name}-access.yaml"),
            "policy/networkpolicy.yaml.j2",
            &kinds::NETWORK_POLICY,
            item,
        ),
    );
}

/// The runbook's commands and caveats of a Dragonfly instance.
fn notes(app: &AppCtx, redis: &RedisSpec, name: &str, monitored: bool, out: &mut Parts) {
    let ns = app.namespace.as_str();
    out.verify(
        LayerKind::Data,
        &["kubectl", "-n", ns, "get", "dragonflies.dragonflydb.io", name],
    );
    out.caveat(
        Topic::Data,
        format!(
            "Dragonfly `{name}`: clients connect to the Service `{name}` (port 6379), which the operator points at \
             the master and moves on failover. The operator's own NetworkPolicy `{name}` lets clients in from \
             namespace `{ns}` only{}.",
            if redis.allow_namespaces.is_empty() {
                String::new()
            } else {
                format!(" — `{name}-access` adds the namespaces of `allowNamespaces`")
            }
        ),
    );
    if monitored && app.cluster.defaults.monitoring.namespace.is_none() {
        out.caveat(
            Topic::Data,
            format!(
                "Dragonfly `{name}` serves its metrics on the admin port 9999, which the operator's NetworkPolicy opens \
                 to the operator and the instance only: set `defaults.monitoring.namespace` so gitopsc lets the \
                 scraper in, or the {} finds the target down.",
                monitors::pod_kind(app.cluster)
            ),
        );
    }
    if !redis.restricted_pods {
        out.caveat(
            Topic::PodSecurity,
            "Pod Security: the Dragonfly operator gives its pods only `fsGroup: 999`, which `baseline` allows and \
             `restricted` refuses: the namespace enforces `baseline` at most. `redis.restrictedPods: true` sets the \
             security contexts `restricted` asks for (uid 999).",
        );
    }
}
