//! Redis an app runs: a `Dragonfly` of the Dragonfly operator (with its PodMonitor or VMPodScrape and access
//! policy) or a KubeBlocks `Cluster` of the `redis` ClusterDefinition, as the spec's `redis`.

use super::read::Object;
use serde_json::{Map, Value, json};

/// The Dragonfly operator's image, before the version.
const DRAGONFLY_IMAGE: &str = "docker.dragonflydb.io/dragonflydb/dragonfly:v";

/// The spec's `redis` of the app's Dragonfly or KubeBlocks Redis, if it has one.
pub fn redis(app: &str, objects: &[Object]) -> Option<Value> {
    if let Some(dragonfly) = objects.iter().find(|o| o.is("dragonflydb.io", "Dragonfly")) {
        return Some(from_dragonfly(app, dragonfly, objects));
    }
    let cluster = objects
        .iter()
        .find(|o| o.is("apps.kubeblocks.io", "Cluster") && o.str_at("/spec/clusterDef") == "redis")?;
    Some(from_kubeblocks(app, cluster))
}

/// Drops from the release's `valuesFrom` the last entry when it is the Redis password gitopsc
/// wires itself (a literal from the instance's password Secret): the spec's `redis` renders it.
pub fn unwire_password(app: &str, redis: &Value, helm: &mut Value) {
    let secret = match redis.get("provider").and_then(Value::as_str) {
        Some("kubeblocks") => {
            let name = redis
                .get("name")
                .and_then(Value::as_str)
                .map_or(format!("{app}-redis"), str::to_string);
            format!("{name}-redis-account-default")
        }
        _ => match redis.get("passwordSecret").and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => return,
        },
    };
    let Some(list) = helm.get_mut("valuesFrom").and_then(Value::as_array_mut) else {
        return;
    };
    let wired = list.last().is_some_and(|last| {
        last.get("literal") == Some(&json!(true))
            && last.get("kind").and_then(Value::as_str) == Some("Secret")
            && last.get("name").and_then(Value::as_str) == Some(secret.as_str())
    });
    if wired {
        list.pop();
    }
    if list.is_empty()
        && let Some(map) = helm.as_object_mut()
    {
        map.remove("valuesFrom");
    }
}

fn from_dragonfly(app: &str, dragonfly: &Object, objects: &[Object]) -> Value {
    let name = dragonfly.name();
    let spec = |p: &str| dragonfly.value.pointer(&format!("/spec{p}"));
    let mut out = Map::new();
    out.insert("provider".into(), json!("dragonfly"));
    if name != format!("{app}-dragonfly") {
        out.insert("name".into(), json!(name));
    }
    let image = dragonfly.str_at("/spec/image");
    match image.strip_prefix(DRAGONFLY_IMAGE) {
        Some(version) => out.insert("version".into(), json!(version)),
        None => out.insert("image".into(), json!(image)),
    };
    for (from, to) in [
        ("/replicas", "replicas"),
        ("/args", "args"),
        ("/resources", "resources"),
        ("/authentication/passwordFromSecret/name", "passwordSecret"),
        ("/affinity", "affinity"),
        ("/topologySpreadConstraints", "topologySpread"),
        ("/pdb", "disruptionBudget"),
    ] {
        if let Some(v) = spec(from) {
            out.insert(to.into(), v.clone());
        }
    }
    if let Some(key) =
        spec("/authentication/passwordFromSecret/key").filter(|k| k.as_str() != Some("password"))
    {
        out.insert("passwordKey".into(), key.clone());
    }
    if let Some(snapshot) = spec("/snapshot") {
        let mut s = Map::new();
        s.insert(
            "cron".into(),
            snapshot.get("cron").cloned().unwrap_or(Value::Null),
        );
        if snapshot.get("enableOnMasterOnly") == Some(&json!(true)) {
            s.insert("masterOnly".into(), json!(true));
        }
        out.insert("snapshot".into(), Value::Object(s));
        let claim = snapshot.get("persistentVolumeClaimSpec");
        let mut storage = Map::new();
        for (from, to) in [
            ("/resources/requests/storage", "size"),
            ("/storageClassName", "storageClass"),
        ] {
            if let Some(v) = claim.and_then(|c| c.pointer(from)) {
                storage.insert(to.into(), v.clone());
            }
        }
        out.insert("storage".into(), Value::Object(storage));
    }
    if spec("/podSecurityContext").is_some() {
        out.insert("restrictedPods".into(), json!(true));
    }
    let monitored = objects.iter().any(|o| o.is_pod_scrape() && o.name() == name);
    if !monitored {
        out.insert("monitoring".into(), json!(false));
    }
    let allowed = allowed_namespaces(name, objects);
    if !allowed.is_empty() {
        out.insert("allowNamespaces".into(), json!(allowed));
    }
    Value::Object(out)
}

/// The namespaces the `<name>-access` policy lets reach the instance's Redis port.
fn allowed_namespaces(name: &str, objects: &[Object]) -> Vec<Value> {
    let access = format!("{name}-access");
    let policy = objects
        .iter()
        .find(|o| o.is("networking.k8s.io", "NetworkPolicy") && o.name() == access);
    let rules = policy
        .and_then(|p| p.value.pointer("/spec/ingress")?.as_array())
        .into_iter()
        .flatten();
    rules
        .filter(|rule| rule.pointer("/ports/0/port") == Some(&json!(6379)))
        .flat_map(namespaces_of)
        .map(Value::String)
        .collect()
}

/// The namespaces a policy rule's `from` names by `kubernetes.io/metadata.name`.
pub fn namespaces_of(rule: &Value) -> Vec<String> {
    let from = rule.get("from").and_then(Value::as_array).into_iter().flatten();
    from.filter_map(|peer| peer.pointer("/namespaceSelector/matchExpressions")?.as_array())
        .flatten()
        .filter(|e| e.get("key").and_then(Value::as_str) == Some("kubernetes.io/metadata.name"))
        .filter_map(|e| e.get("values")?.as_array())
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The monitoring namespace a Dragonfly access policy lets scrape the admin port (9999).
pub fn monitoring_namespace(objects: &[Object]) -> Option<String> {
    objects
        .iter()
        .filter(|o| o.is("networking.k8s.io", "NetworkPolicy") && o.name().ends_with("-access"))
        .filter_map(|p| p.value.pointer("/spec/ingress")?.as_array())
        .flatten()
        .filter(|rule| rule.pointer("/ports/0/port") == Some(&json!(9999)))
        .find_map(|rule| namespaces_of(rule).into_iter().next())
}

fn from_kubeblocks(app: &str, cluster: &Object) -> Value {
    let mut out = Map::new();
    out.insert("provider".into(), json!("kubeblocks"));
    if cluster.name() != format!("{app}-redis") {
        out.insert("name".into(), json!(cluster.name()));
    }
    let components = cluster
        .value
        .pointer("/spec/componentSpecs")
        .and_then(Value::as_array);
    let component = |name: &str| {
        components
            .into_iter()
            .flatten()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
    };
    if let Some(redis) = component("redis") {
        kubeblocks_component(redis, "replicas", &mut out);
    }
    if let Some(replicas) = component("redis-sentinel").and_then(|s| s.get("replicas")) {
        out.insert("sentinels".into(), replicas.clone());
    }
    Value::Object(out)
}

/// A KubeBlocks component's version, replicas (as `replicas_key`), resources and data volume.
pub fn kubeblocks_component(component: &Value, replicas_key: &str, out: &mut Map<String, Value>) {
    for (from, to) in [
        ("/serviceVersion", "version"),
        ("/replicas", replicas_key),
        ("/resources", "resources"),
    ] {
        if let Some(v) = component.pointer(from) {
            out.insert(to.into(), v.clone());
        }
    }
    let claim = component.pointer("/volumeClaimTemplates/0/spec");
    let mut storage = Map::new();
    for (from, to) in [
        ("/resources/requests/storage", "size"),
        ("/storageClassName", "storageClass"),
    ] {
        if let Some(v) = claim.and_then(|c| c.pointer(from)) {
            storage.insert(to.into(), v.clone());
        }
    }
    if !storage.is_empty() {
        out.insert("storage".into(), Value::Object(storage));
    }
}
