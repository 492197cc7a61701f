//! What limits the app's namespace: NetworkPolicies (default deny, DNS, each workload's
//! allowed peers, the API server for workloads whose RBAC talks to it), the ResourceQuota
//! and the LimitRange.

use super::{Labels, Meta, app_labels, selector, workload_labels};
use crate::diagnostic::{Code, Diagnostic};
use crate::kinds;
use crate::model::part::{AppCtx, Parts, Topic};
use crate::model::{LayerKind, Manifest};
use crate::spec::ClusterSpec;
use crate::spec::data::{PostgresProvider, RedisProvider};
use crate::spec::workload::*;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The label every namespace carries with its own name (set by the API server, immutable).
const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// A NetworkPolicy in the shape of `policy/networkpolicy.yaml.j2`: the item of every policy
/// gitopsc writes (the namespace's, a workload's, a chart's, a route's).
#[derive(Debug, Serialize)]
pub(crate) struct NetworkPolicyItem {
    pub(crate) meta: Meta,
    /// The pods it applies to (none: every pod of the namespace).
    pub(crate) pod_selector: Labels,
    pub(crate) policy_types: Vec<&'static str>,
    pub(crate) ingress: Vec<Value>,
    pub(crate) egress: Vec<Value>,
    /// The ports of an egress rule to the API server that names no address (it allows any
    /// address on them): the blueprint says so in a comment.
    pub(crate) api_server_any: Vec<u16>,
}

/// A ResourceQuota.
#[derive(Debug, Serialize)]
struct ResourceQuotaItem {
    meta: Meta,
    hard: crate::model::StrMap,
}

/// A LimitRange.
#[derive(Debug, Serialize)]
struct LimitRangeItem {
    meta: Meta,
    limits: Vec<Value>,
}

fn quantities(map: &BTreeMap<String, Quantity>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.text())).collect()
}

/// Adds the app's quota, limit range and NetworkPolicies.
pub fn parts(spec: &ClusterSpec, app: &AppCtx, parts: &mut Parts) {
    quota_and_limits(app, parts);
    let policy = app.spec.network_policy.as_ref();
    // The namespace-wide policies go into the app's first layer, so a database of the data
    // layer is never up without them and its readiness proves they let it work.
    let first = parts.first_layer();
    let mut emit = |item: NetworkPolicyItem, namespace_wide: bool| {
        let layer = if namespace_wide { first } else { LayerKind::Release };
        if !item.api_server_any.is_empty() {
            parts.open_api_server_egress(&item.meta.name);
        }
        parts.add(
            layer,
            Manifest::new(
                format!("networkpolicy-{}.yaml", item.meta.name),
                "policy/networkpolicy.yaml.j2",
                &kinds::NETWORK_POLICY,
                item,
            ),
        );
    };
    let namespace_dns = policy.is_some_and(|p| p.default_deny && p.dns);
    for item in namespace_policies(spec, app, namespace_dns) {
        emit(item, true);
    }
    for wl in &app.spec.workloads {
        if let Some(item) = workload_policy(spec, app, wl, namespace_dns) {
            emit(item, false);
        }
    }
}

/// The app's ResourceQuota and LimitRange.
fn quota_and_limits(app: &AppCtx, parts: &mut Parts) {
    let meta = || Meta {
        name: app.name.clone(),
        namespace: app.namespace.clone(),
        labels: app_labels(&app.name),
    };
    if let Some(quota) = &app.spec.resource_quota {
        let item = ResourceQuotaItem {
            meta: meta(),
            hard: crate::model::StrMap::from(quantities(&quota.hard)),
        };
        parts.release(Manifest::new(
            "resourcequota.yaml",
            "policy/resourcequota.yaml.j2",
            &kinds::RESOURCE_QUOTA,
            item,
        ));
    }
    if let Some(range) = &app.spec.limit_range {
        let mut limit = serde_json::Map::new();
        limit.insert("type".into(), json!("Container"));
        for (field, map) in [
            ("default", &range.default),
            ("defaultRequest", &range.default_request),
            ("max", &range.max),
            ("min", &range.min),
        ] {
            if !map.is_empty() {
                limit.insert(field.into(), json!(quantities(map)));
            }
        }
        let item = LimitRangeItem {
            meta: meta(),
            limits: vec![Value::Object(limit)],
        };
        parts.release(Manifest::new(
            "limitrange.yaml",
            "policy/limitrange.yaml.j2",
            &kinds::LIMIT_RANGE,
            item,
        ));
    }
}

/// The namespace-wide policies: default deny, DNS, and the databases' (from the first app of
/// the namespace that denies by default, so two such apps never emit the same objects).
fn namespace_policies(spec: &ClusterSpec, app: &AppCtx, namespace_dns: bool) -> Vec<NetworkPolicyItem> {
    let mut out = Vec::new();
    let Some(p) = app.spec.network_policy.as_ref().filter(|p| p.default_deny) else {
        return out;
    };
    let meta = |name: String| Meta {
        name,
        namespace: app.namespace.clone(),
        labels: app_labels(&app.name),
    };
    out.push(NetworkPolicyItem {
        meta: meta(format!("{}-default-deny", app.name)),
        pod_selector: Labels::new(),
        policy_types: vec!["Ingress", "Egress"],
        ingress: Vec::new(),
        egress: Vec::new(),
        api_server_any: Vec::new(),
    });
    if p.dns {
        out.push(NetworkPolicyItem {
            meta: meta(format!("{}-allow-dns", app.name)),
            pod_selector: Labels::new(),
            policy_types: vec!["Egress"],
            ingress: Vec::new(),
            egress: vec![dns_rule(&spec.defaults.network)],
            api_server_any: Vec::new(),
        });
    }
    let first_deny = spec.apps.iter().find(|a| {
        a.namespace() == app.namespace && a.network_policy.as_ref().is_some_and(|p| p.default_deny)
    });
    if first_deny.is_some_and(|a| a.name.as_str() == app.name) {
        for db in databases(spec, &app.namespace) {
            out.extend(database_policies(spec, app, &db, namespace_dns));
        }
    }
    out
}

/// A workload's own policy: the peers it allows in and out, when something isolates it.
fn workload_policy(
    spec: &ClusterSpec,
    app: &AppCtx,
    wl: &WorkloadSpec,
    namespace_dns: bool,
) -> Option<NetworkPolicyItem> {
    let network = &spec.defaults.network;
    let (ingress_isolated, egress_isolated) = wl.isolation(app.spec.network_policy.as_ref());
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    let mut api_server_any = Vec::new();
    if ingress_isolated {
        ingress.extend(wl.allow_from.iter().map(|r| rule(r, &app.name, "from")));
        if let (Some(m), Some(ns)) = (&wl.monitoring, &spec.defaults.monitoring.namespace) {
            ingress.push(json!({
                "from": [{"namespaceSelector": namespace_selector(&[ns.as_str()])}],
                "ports": [{"protocol": "TCP", "port": m.port}],
            }));
        }
    }
    if egress_isolated {
        egress.extend(wl.allow_to.iter().map(|r| rule(r, &app.name, "to")));
        let talks_to_api = wl
            .service_account
            .as_ref()
            .and_then(|n| app.spec.service_accounts.iter().find(|s| &s.name == n))
            .is_some_and(ServiceAccountSpec::talks_to_api);
        if talks_to_api {
            egress.push(api_server_rule(network));
            api_server_any = any_address_ports(network);
        }
        if !namespace_dns {
            egress.push(dns_rule(network));
        }
    }
    if ingress.is_empty() && egress.is_empty() {
        return None;
    }
    let mut policy_types = Vec::new();
    if !ingress.is_empty() {
        policy_types.push("Ingress");
    }
    if !egress.is_empty() {
        policy_types.push("Egress");
    }
    Some(NetworkPolicyItem {
        meta: Meta {
            name: wl.name.to_string(),
            namespace: app.namespace.clone(),
            labels: workload_labels(&app.name, wl.name.as_str()),
        },
        pod_selector: selector(&app.name, wl.name.as_str()),
        policy_types,
        ingress,
        egress,
        api_server_any,
    })
}

/// Selects namespaces by name.
fn namespace_selector(names: &[&str]) -> Value {
    match names {
        [one] => json!({"matchLabels": {NAMESPACE_NAME: one}}),
        many => json!({"matchExpressions": [{"key": NAMESPACE_NAME, "operator": "In", "values": many}]}),
    }
}

/// The namespace selector of a peer: by names (their `kubernetes.io/metadata.name`), by
/// labels, or every namespace (`{}`).
fn peer_namespaces(peer: &Peer) -> Option<Value> {
    if peer.all_namespaces {
        return Some(json!({}));
    }
    if let Some(labels) = &peer.namespace_labels {
        return Some(if labels.is_empty() {
            json!({})
        } else {
            json!({"matchLabels": labels})
        });
    }
    let names: Vec<&str> = peer.namespaces.iter().map(|n| n.as_str()).collect();
    (!names.is_empty()).then(|| namespace_selector(&names))
}

/// The NetworkPolicy peers of a spec peer, for every surface that writes one (a workload's
/// rule, a chart policy, a route's gateway): pods and namespaces as one peer (`combine: and`,
/// the default) or two (`or`), then one per workload of `app`, then the address blocks.
pub(crate) fn peer_values(peer: &Peer, app: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let pods = peer.pods.as_ref().map(|p| json!({"matchLabels": p}));
    match (pods, peer_namespaces(peer)) {
        (Some(pods), Some(namespaces)) if peer.combine == Some(Combine::Or) => {
            out.push(json!({"podSelector": pods}));
            out.push(json!({"namespaceSelector": namespaces}));
        }
        (Some(pods), Some(namespaces)) => {
            out.push(json!({"namespaceSelector": namespaces, "podSelector": pods}))
        }
        (Some(pods), None) => out.push(json!({"podSelector": pods})),
        (None, Some(namespaces)) => out.push(json!({"namespaceSelector": namespaces})),
        (None, None) => {}
    }
    for w in &peer.workloads {
        out.push(json!({"podSelector": {"matchLabels": selector(app, w.as_str())}}));
    }
    if let Some(cidr) = &peer.cidr {
        let mut block = json!({"cidr": cidr.0});
        if !peer.except.is_empty() {
            let except: Vec<&str> = peer.except.iter().map(|c| c.0.as_str()).collect();
            block["except"] = json!(except);
        }
        out.push(json!({ "ipBlock": block }));
    }
    for cidr in &peer.cidrs {
        out.push(json!({"ipBlock": {"cidr": cidr.0}}));
    }
    out
}

/// A NetworkPolicy rule: the peers of `peers` under `direction` (`from` or `to`; none: any),
/// its ports (none: every port).
pub(crate) fn rule_value<'p>(
    direction: &str,
    peers: impl IntoIterator<Item = &'p Peer>,
    (ports, protocol): (&[PortRef], Protocol),
    app: &str,
) -> Value {
    let peers: Vec<Value> = peers.into_iter().flat_map(|p| peer_values(p, app)).collect();
    let mut out = serde_json::Map::new();
    if !peers.is_empty() {
        out.insert(direction.into(), json!(peers));
    }
    if !ports.is_empty() {
        let ports: Vec<Value> = ports
            .iter()
            .map(|p| {
                let port = match p {
                    PortRef::Number(n) => json!(n),
                    PortRef::Name(s) => json!(s),
                };
                json!({"protocol": protocol.as_str(), "port": port})
            })
            .collect();
        out.insert("ports".into(), json!(ports));
    }
    Value::Object(out)
}

/// A workload's rule from the spec, under `direction`.
fn rule(rule: &NetworkRule, app: &str, direction: &str) -> Value {
    rule_value(direction, [&rule.peer], (&rule.ports, rule.protocol), app)
}

/// Egress to the cluster DNS on port 53, UDP and TCP.
pub(crate) fn dns_rule(network: &NetworkDefaults) -> Value {
    json!({
        "to": [{
            "namespaceSelector": namespace_selector(&[network.dns_namespace.as_str()]),
            "podSelector": {"matchLabels": network.dns_pods},
        }],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    })
}

/// The ports the API-server rule opens to any address: all of them when the spec gives no
/// address blocks (`defaults.network.apiServerCidrs`), none otherwise.
fn any_address_ports(network: &NetworkDefaults) -> Vec<u16> {
    if network.api_server_cidrs.is_empty() {
        network.api_server_ports.clone()
    } else {
        Vec::new()
    }
}

/// Egress to the API server: by port, or to its address blocks when the spec gives them.
pub fn api_server_rule(network: &NetworkDefaults) -> Value {
    let ports: Vec<Value> = network
        .api_server_ports
        .iter()
        .map(|p| json!({"protocol": "TCP", "port": p}))
        .collect();
    let mut out = json!({ "ports": ports });
    if !network.api_server_cidrs.is_empty() {
        let to: Vec<Value> = network
            .api_server_cidrs
            .iter()
            .map(|c| json!({"ipBlock": {"cidr": c.0}}))
            .collect();
        out["to"] = json!(to);
    }
    out
}

/// A database cluster of the data services in a namespace that a default deny isolates.
struct Database {
    /// The cluster's name.
    name: String,
    /// Its kind: what its pods need (the kind table's `network`) and which operator runs it.
    kind: &'static kinds::Kind,
    /// Labels of its pods.
    pods: Labels,
    /// Ports its clients connect to.
    client_ports: Vec<u16>,
    /// Port of the backup object store, when backups are on.
    backup_port: Option<u16>,
    /// Whether a PodMonitor scrapes its metrics port.
    metrics: bool,
    /// Pods it connects to and on which ports (a pooler: its cluster's instances).
    upstream: Option<(Labels, Vec<u16>)>,
    /// Port of the server it is migrated from, while `migrate` is set.
    source_port: Option<u16>,
    /// Other namespaces whose pods may connect to its client ports.
    allow_namespaces: Vec<String>,
}

impl Database {
    fn new(kind: &'static kinds::Kind, name: String, client_ports: Vec<u16>) -> Self {
        let pods = match kind.network.and_then(|n| n.pod_label) {
            Some(label) => Labels::from_iter([(label.to_string(), name.clone())]),
            None => Labels::from_iter([
                ("app.kubernetes.io/instance".to_string(), name.clone()),
                (
                    "app.kubernetes.io/managed-by".to_string(),
                    "kubeblocks".to_string(),
                ),
            ]),
        };
        Database {
            name,
            kind,
            pods,
            client_ports,
            backup_port: None,
            metrics: false,
            upstream: None,
            source_port: None,
            allow_namespaces: Vec::new(),
        }
    }
}

/// Every database cluster the data services put into `namespace`.
fn databases(spec: &ClusterSpec, namespace: &str) -> Vec<Database> {
    let mut out = Vec::new();
    for owner in spec.apps.iter().filter(|a| a.namespace() == namespace) {
        if let Some(pg) = &owner.postgres {
            let name = pg.cluster_name(owner.name.as_str());
            let allow: Vec<String> = pg.allow_namespaces.iter().map(ToString::to_string).collect();
            out.push(match pg.provider {
                PostgresProvider::Cnpg => Database {
                    backup_port: pg
                        .backup
                        .as_ref()
                        .map(|b| b.endpoint_url.as_deref().map_or(443, url_port)),
                    metrics: crate::model::postgres::monitored(spec, owner, pg),
                    source_port: pg.migrate.as_ref().map(|m| m.port),
                    allow_namespaces: allow.clone(),
                    ..Database::new(&kinds::CNPG_CLUSTER_KIND, name, vec![5432])
                },
                PostgresProvider::Kubeblocks => Database {
                    allow_namespaces: allow.clone(),
                    ..Database::new(&kinds::KUBEBLOCKS_CLUSTER, name, vec![5432])
                },
            });
            out.extend(
                crate::model::pooler::network(spec, owner, pg)
                    .into_iter()
                    .map(|p| Database {
                        metrics: p.monitored,
                        upstream: Some((p.upstream, vec![5432])),
                        allow_namespaces: allow.clone(),
                        ..Database::new(&kinds::CNPG_POOLER, p.name, vec![5432])
                    }),
            );
        }
        if let Some(redis) = &owner.redis
            && redis.provider == RedisProvider::Kubeblocks
        {
            let name = crate::model::redis::cluster_name(owner.name.as_str(), redis);
            out.push(Database {
                allow_namespaces: redis.allow_namespaces.iter().map(ToString::to_string).collect(),
                ..Database::new(&kinds::KUBEBLOCKS_CLUSTER, name, vec![6379, 26379])
            });
        }
        if let Some(redis) = &owner.redis
            && redis.provider == RedisProvider::Dragonfly
        {
            let name = crate::model::redis::cluster_name(owner.name.as_str(), redis);
            out.push(Database {
                metrics: crate::model::dragonfly::monitored(spec, owner, redis),
                ..Database::new(&kinds::DRAGONFLY_KIND, name, vec![6379])
            });
        }
    }
    out
}

/// The port of an `http(s)://host[:port]/...` URL.
fn url_port(url: &str) -> u16 {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split('/').next().unwrap_or_default();
    host.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(if scheme == "http" { 80 } else { 443 })
}

/// The namespace an operator runs in, when the spec tells.
fn operator_namespace(spec: &ClusterSpec, decl: Option<&crate::spec::data::OperatorSpec>) -> Option<String> {
    let decl = decl?;
    match &decl.app {
        Some(app) => spec
            .apps
            .iter()
            .find(|a| &a.name == app)
            .map(|a| a.namespace().to_string()),
        None => decl.namespace.as_ref().map(|n| n.to_string()),
    }
}

fn tcp_ports(ports: &[u16]) -> Value {
    json!(
        ports
            .iter()
            .map(|p| json!({"protocol": "TCP", "port": p}))
            .collect::<Vec<_>>()
    )
}

/// A rule to or from `peers`, on `ports` when there are some (every port otherwise).
fn peer_rule(direction: &str, peers: &Value, ports: &[u16]) -> Value {
    if ports.is_empty() {
        json!({ direction: peers })
    } else {
        json!({ direction: peers, "ports": tcp_ports(ports) })
    }
}

/// What a database cluster needs through a default deny, as its kind says: the cluster's own
/// policy, and egress from every pod of the namespace to its client ports.
fn database_policies(
    spec: &ClusterSpec,
    app: &AppCtx,
    db: &Database,
    namespace_dns: bool,
) -> Vec<NetworkPolicyItem> {
    let network = &spec.defaults.network;
    let needs = db.kind.network.unwrap_or(kinds::NetworkNeeds {
        pod_label: None,
        from_operator: Some(&[]),
        peers: Some(&[]),
        metrics: None,
        api_server: true,
    });
    let own = json!([{"podSelector": {"matchLabels": db.pods}}]);
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    if let (Some(op), Some(ports)) = (db.kind.operator, needs.from_operator) {
        let operator =
            operator_namespace(spec, op.declared(spec)).unwrap_or_else(|| op.default_namespace().into());
        let from_operator = json!([{"namespaceSelector": namespace_selector(&[operator.as_str()])}]);
        ingress.push(peer_rule("from", &from_operator, ports));
    }
    if let Some(peers) = needs.peers {
        ingress.push(peer_rule("from", &own, peers));
    }
    if let (Some(port), true, Some(ns)) = (needs.metrics, db.metrics, &spec.defaults.monitoring.namespace) {
        ingress.push(json!({
            "from": [{"namespaceSelector": namespace_selector(&[ns.as_str()])}],
            "ports": tcp_ports(&[port]),
        }));
    }
    if let Some(peers) = needs.peers {
        egress.push(peer_rule("to", &own, peers));
    }
    if let Some((pods, ports)) = &db.upstream {
        egress.push(peer_rule(
            "to",
            &json!([{"podSelector": {"matchLabels": pods}}]),
            ports,
        ));
    }
    for port in [db.backup_port, db.source_port].into_iter().flatten() {
        egress.push(json!({"ports": tcp_ports(&[port])}));
    }
    ingress.push(json!({"from": [{"podSelector": {}}], "ports": tcp_ports(&db.client_ports)}));
    if !db.allow_namespaces.is_empty() {
        let names: Vec<&str> = db.allow_namespaces.iter().map(String::as_str).collect();
        ingress.push(json!({
            "from": [{"namespaceSelector": namespace_selector(&names)}],
            "ports": tcp_ports(&db.client_ports),
        }));
    }
    if needs.api_server {
        egress.push(api_server_rule(network));
    }
    if !namespace_dns {
        egress.push(dns_rule(network));
    }
    let meta = |name: String| Meta {
        name,
        namespace: app.namespace.clone(),
        labels: app_labels(&app.name),
    };
    vec![
        NetworkPolicyItem {
            // A pooler's name already says what it is; its pods are not a database.
            meta: meta(if *db.kind == kinds::CNPG_POOLER {
                format!("{}-pods", db.name)
            } else {
                format!("{}-database", db.name)
            }),
            pod_selector: db.pods.clone(),
            policy_types: vec!["Ingress", "Egress"],
            ingress,
            egress,
            api_server_any: if needs.api_server {
                any_address_ports(network)
            } else {
                Vec::new()
            },
        },
        NetworkPolicyItem {
            meta: meta(format!("{}-clients", db.name)),
            pod_selector: Labels::new(),
            policy_types: vec!["Egress"],
            ingress: Vec::new(),
            egress: vec![json!({"to": own, "ports": tcp_ports(&db.client_ports)})],
            api_server_any: Vec::new(),
        },
    ]
}

/// The warning and the runbook caveat of an app whose NetworkPolicies let pods out to any
/// address on the API server's ports (`defaults.network.apiServerCidrs` unset).
pub fn open_api_server_egress(app: &AppCtx, out: &mut Parts) {
    if out.open_api_server_egress.is_empty() {
        return;
    }
    let policies: Vec<String> = out
        .open_api_server_egress
        .iter()
        .map(|p| format!("`{p}`"))
        .collect();
    let ports: Vec<String> = app
        .cluster
        .defaults
        .network
        .api_server_ports
        .iter()
        .map(u16::to_string)
        .collect();
    let ports = ports.join(", ");
    let at = [
        crate::spec::AppSpec::NETWORK_POLICY,
        crate::spec::AppSpec::NETWORK_POLICIES,
        crate::spec::AppSpec::WORKLOADS,
        crate::spec::AppSpec::NAME,
    ]
    .into_iter()
    .map(|f| app.at(f))
    .find(|p| app.spans.contains(p))
    .and_then(|p| app.spans.key(&p));
    out.diagnostic(
        Diagnostic::warning(Code::ApiServerEgress, format!(
            "the NetworkPolicies {} of app `{}` allow egress to the API server as egress to any address on port {ports}",
            policies.join(", "),
            app.name
        ))
        .at(at, "")
        .help(
            "set `defaults.network.apiServerCidrs` to the API server's addresses (the endpoints of the `kubernetes` \
             Service: `kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`; policies see \
             the endpoint, not the Service's cluster IP), so the pods reach the API server and nothing else on those ports",
        ),
    );
    out.caveat(
        Topic::Network,
        format!(
            "Egress to the API server is egress to **any address** on port {ports} (NetworkPolicies {}): the API \
             server's address is not known at compile time. Set `defaults.network.apiServerCidrs` to its endpoint \
             addresses to allow only them.",
            policies.join(", ")
        ),
    );
}
