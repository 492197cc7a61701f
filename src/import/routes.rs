//! An app's HTTPRoutes to a Service of its chart, as the spec's `routes`. Routes to workloads
//! gitopsc rendered, and routes with their own NetworkPolicies (`route-<name>-<n>`, from a
//! route's `from`), are carried as manifests.

use super::read::Object;
use serde_json::{Map, Value, json};

/// The app's `routes` that the spec can say: each HTTPRoute whose rules all send to one
/// chart Service by port number (not a workload of `workloads`) and that has no policy.
pub fn routes(objects: &[Object], workloads: &[&str]) -> Vec<Value> {
    objects
        .iter()
        .filter(|o| o.is("gateway.networking.k8s.io", "HTTPRoute"))
        .filter(|route| {
            let policy = format!("route-{}-", route.name());
            !objects
                .iter()
                .any(|o| o.is("networking.k8s.io", "NetworkPolicy") && o.name().starts_with(&policy))
        })
        .filter_map(|route| route_of(route, workloads))
        .collect()
}

fn route_of(route: &Object, workloads: &[&str]) -> Option<Value> {
    let spec = route.value.get("spec")?;
    let mut out = Map::new();
    out.insert("name".into(), json!(route.name()));
    let parents = spec.get("parentRefs")?.as_array()?;
    if parents.iter().any(|p| {
        p.as_object()
            .is_none_or(|m| m.keys().any(|k| !PARENT_KEYS.contains(&k.as_str())))
    }) {
        return None;
    }
    out.insert("parents".into(), Value::Array(parents.clone()));
    if let Some(hosts) = spec.get("hostnames") {
        out.insert("hostnames".into(), hosts.clone());
    }
    let rules = spec.get("rules")?.as_array()?;
    let rules = rules
        .iter()
        .map(|r| rule(r, workloads))
        .collect::<Option<Vec<Value>>>()?;
    out.insert("rules".into(), Value::Array(rules));
    Some(Value::Object(out))
}

/// The keys of a parent reference the spec says.
const PARENT_KEYS: [&str; 4] = ["name", "namespace", "sectionName", "port"];

fn rule(rule: &Value, workloads: &[&str]) -> Option<Value> {
    let map = rule.as_object()?;
    if map.keys().any(|k| k != "backendRefs" && k != "matches") {
        return None;
    }
    let backends = rule.get("backendRefs")?.as_array()?;
    let [backend] = backends.as_slice() else {
        return None;
    };
    let service = backend.get("name")?.as_str()?;
    let port = backend.get("port")?.as_u64()?;
    if workloads.contains(&service) || backend.as_object()?.len() != 2 {
        return None;
    }
    let mut out = Map::new();
    let matches = rule
        .get("matches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let paths = matches
        .map(|m| {
            let path = m.get("path")?;
            (m.as_object()?.len() == 1).then_some(())?;
            Some(json!({ "value": path.get("value")?, "type": path.get("type")? }))
        })
        .collect::<Option<Vec<Value>>>()?;
    if !paths.is_empty() {
        out.insert("paths".into(), Value::Array(paths));
    }
    out.insert("backend".into(), json!({ "service": service, "port": port }));
    Some(Value::Object(out))
}
