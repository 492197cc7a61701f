//! A workload's monitor read back into its `monitoring`: a ServiceMonitor or VMServiceScrape
//! (over the `<workload>-metrics` Service), or a PodMonitor or VMPodScrape.

use super::pod::Pod;
use super::rest::Rest;
use super::verify::key;
use super::workloads::Context;
use serde_json::{Map, Value, json};

/// The monitors gitopsc writes for a workload: kind, scraped through a Service, the list of
/// endpoints, and the names of the relabeling lists.
const MONITORS: [(&str, bool, &str, [&str; 2]); 4] = [
    (
        "ServiceMonitor",
        true,
        "endpoints",
        ["relabelings", "metricRelabelings"],
    ),
    (
        "PodMonitor",
        false,
        "podMetricsEndpoints",
        ["relabelings", "metricRelabelings"],
    ),
    (
        "VMServiceScrape",
        true,
        "endpoints",
        ["relabelConfigs", "metricRelabelConfigs"],
    ),
    (
        "VMPodScrape",
        false,
        "podMetricsEndpoints",
        ["relabelConfigs", "metricRelabelConfigs"],
    ),
];

/// Reads the monitor of workload `name` of the app, if it has one, into `monitoring`.
pub fn monitor(
    cx: &Context,
    name: &str,
    pod: &mut Pod,
    owned: &mut Vec<super::verify::Key>,
    unread: &mut Vec<String>,
) {
    let app = cx.app.name.as_str();
    let mine = |o: &&super::read::Object| {
        MONITORS.iter().any(|(kind, ..)| o.kind() == *kind)
            && o.str_at("/metadata/labels/app.kubernetes.io~1name") == name
            && o.str_at("/metadata/labels/app.kubernetes.io~1instance") == app
    };
    let Some(object) = cx.app.objects.iter().find(mine) else {
        return;
    };
    let Some((_, via_service, list, [relabel, metric])) =
        MONITORS.iter().find(|(kind, ..)| object.kind() == *kind)
    else {
        return;
    };
    let at = format!("{} {}", object.kind(), object.name());
    let mut rest = Rest::new(object.value.clone(), &at);
    for pointer in [
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
        "/spec/selector",
    ] {
        rest.take(pointer);
    }
    let mut own = cx.monitor_labels.clone();
    own.insert("app.kubernetes.io/instance".into(), json!(app));
    own.insert("app.kubernetes.io/name".into(), json!(name));
    own.insert("app.kubernetes.io/managed-by".into(), json!("gitopsc"));
    for (k, v) in rest.take_map("/metadata/labels") {
        if own.get(&k) != Some(&v) && cx.labels.get(&k) != Some(&v) {
            unread.push(format!("{at}: metadata.labels.{k}"));
        }
    }
    let endpoints = rest.take_list(&format!("/spec/{list}"));
    let Ok([endpoint]) = <[Value; 1]>::try_from(endpoints) else {
        unread.push(format!("{at}: spec.{list} (one endpoint)"));
        return;
    };
    let mut e = Rest::new(endpoint, &format!("{at}: spec.{list}[0]"));
    let mut out = Map::new();
    out.insert("port".into(), e.take("/port").unwrap_or(Value::Null));
    match e.take_str("/path").as_deref() {
        Some("/metrics") => {}
        Some(path) => {
            out.insert("path".into(), json!(path));
        }
        None => {}
    }
    for field in ["interval", "scrapeTimeout", "scheme"] {
        if let Some(v) = e.take(&format!("/{field}")) {
            out.insert(field.into(), v);
        }
    }
    for (from, to) in [(relabel, "relabelings"), (metric, "metricRelabelings")] {
        if let Some(v) = e.take(&format!("/{from}")) {
            out.insert(to.into(), v);
        }
    }
    if !via_service {
        out.insert("via".into(), json!("pod"));
    }
    if object.name() != name {
        out.insert("name".into(), json!(object.name()));
    }
    unread.extend(e.left());
    unread.extend(rest.left());
    owned.push(key(object));
    pod.set("monitoring", Value::Object(out));
}
