//! A workload's HorizontalPodAutoscaler and PodDisruptionBudget read back into its
//! `autoscaling` and `disruptionBudget`.

use super::pod::Pod;
use super::read::Object;
use super::rest::Rest;
use super::verify::{Key, key};
use super::workloads::Context;
use serde_json::{Map, Value, json};

/// The object of `kind` (autoscaling or policy) named after workload `name` with gitopsc's
/// labels, its identity and labels taken; the labels it has beyond them are unread.
fn own_object<'a>(
    cx: &'a Context,
    (group, kind): (&str, &str),
    name: &str,
    unread: &mut Vec<String>,
) -> Option<(&'a Object, Rest)> {
    let object = cx
        .app
        .objects
        .iter()
        .find(|o| o.is(group, kind) && o.name() == name)?;
    let mut rest = Rest::new(object.value.clone(), &format!("{kind} {name}"));
    for pointer in ["/apiVersion", "/kind", "/metadata/name", "/metadata/namespace"] {
        rest.take(pointer);
    }
    let mut own = Map::new();
    own.insert("app.kubernetes.io/instance".into(), json!(cx.app.name));
    own.insert("app.kubernetes.io/name".into(), json!(name));
    own.insert("app.kubernetes.io/managed-by".into(), json!("gitopsc"));
    for (k, v) in rest.take_map("/metadata/labels") {
        if own.get(&k) != Some(&v) && cx.labels.get(&k) != Some(&v) {
            unread.push(format!("{kind} {name}: metadata.labels.{k}"));
        }
    }
    Some((object, rest))
}

/// Reads the autoscaler of workload `name` (a `kind`) into `autoscaling`; returns whether
/// there is one.
pub fn autoscaler(
    cx: &Context,
    (name, kind): (&str, &str),
    pod: &mut Pod,
    owned: &mut Vec<Key>,
    unread: &mut Vec<String>,
) -> bool {
    let Some((object, mut rest)) = own_object(cx, ("autoscaling", "HorizontalPodAutoscaler"), name, unread)
    else {
        return false;
    };
    if rest.peek("/spec/scaleTargetRef")
        == Some(&json!({"apiVersion": "apps/v1", "kind": kind, "name": name}))
    {
        rest.take("/spec/scaleTargetRef");
    }
    let mut out = Map::new();
    match rest.take("/spec/minReplicas") {
        Some(n) if n == json!(1) => {}
        Some(n) => {
            out.insert("minReplicas".into(), n);
        }
        None => {}
    }
    if let Some(n) = rest.take("/spec/maxReplicas") {
        out.insert("maxReplicas".into(), n);
    }
    let mut pods = Vec::new();
    for (i, metric) in rest.take_list("/spec/metrics").into_iter().enumerate() {
        let mut m = Rest::new(
            metric,
            &format!("HorizontalPodAutoscaler {name}: spec.metrics[{i}]"),
        );
        match m.take_str("/type").as_deref() {
            Some("Resource") if m.take_str("/resource/target/type").as_deref() == Some("Utilization") => {
                let resource = m.take_str("/resource/name").unwrap_or_default();
                let percent = m.take("/resource/target/averageUtilization");
                if let (Some(percent), "cpu" | "memory") = (percent, resource.as_str()) {
                    out.insert(resource, percent);
                }
            }
            Some("Pods") if m.take_str("/pods/target/type").as_deref() == Some("AverageValue") => {
                let metric = m.take("/pods/metric/name");
                let value = m.take("/pods/target/averageValue");
                if let (Some(metric), Some(value)) = (metric, value) {
                    pods.push(json!({"metric": metric, "averageValue": value}));
                }
            }
            _ => {}
        }
        unread.extend(m.left());
    }
    if !pods.is_empty() {
        out.insert("pods".into(), Value::Array(pods));
    }
    let behavior = rest.take_map("/spec/behavior");
    if !behavior.is_empty() {
        out.insert("behavior".into(), Value::Object(behavior));
    }
    unread.extend(rest.left());
    owned.push(key(object));
    pod.set("autoscaling", Value::Object(out));
    true
}

/// Reads the disruption budget of workload `name` into `disruptionBudget`.
pub fn budget(cx: &Context, name: &str, pod: &mut Pod, owned: &mut Vec<Key>, unread: &mut Vec<String>) {
    let Some((object, mut rest)) = own_object(cx, ("policy", "PodDisruptionBudget"), name, unread) else {
        return;
    };
    if rest.peek("/spec/selector") == Some(&json!({"matchLabels": pod.selector})) {
        rest.take("/spec/selector");
    }
    let mut out = Map::new();
    for field in ["minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy"] {
        if let Some(v) = rest.take(&format!("/spec/{field}")) {
            out.insert(field.into(), v);
        }
    }
    unread.extend(rest.left());
    owned.push(key(object));
    pod.set("disruptionBudget", Value::Object(out));
}
