//! Monitoring: a ServiceMonitor (with the metrics Service, see the parent module) or a
//! PodMonitor per monitored workload, and the app's PrometheusRule — or their VictoriaMetrics
//! kinds (see [`monitors`]). Their selectors derive
//! from the workload's labels; `defaults.monitoring.labels` let a Prometheus select them.
//! The Prometheus kinds have no status, so no health check waits for them; the
//! VictoriaMetrics kinds say whether an agent applied them.

use super::{Labels, Meta, app_labels, selector, workload_labels};
use crate::model::monitors;
use crate::model::part::{AppCtx, Parts};
use crate::spec::ClusterSpec;
use crate::spec::workload::{Relabeling, ScrapeVia, WorkloadMonitoring};
use serde::Serialize;
use serde_json::{Value, json};

/// The label that tells a workload's metrics Service from its other Services.
const COMPONENT: (&str, &str) = ("app.kubernetes.io/component", "metrics");

/// The labels by which a workload's ServiceMonitor selects its metrics Service.
fn metrics_selector(app: &str, workload: &str) -> Labels {
    let mut labels = selector(app, workload);
    labels.insert(COMPONENT.0.into(), COMPONENT.1.into());
    labels
}

/// Labels of a workload's metrics Service.
pub fn metrics_service_labels(app: &str, workload: &str) -> Labels {
    let mut labels = workload_labels(app, workload);
    labels.extend(metrics_selector(app, workload));
    labels
}

/// A PodMonitor (the shape the data services' PodMonitors share).
#[derive(Debug, Serialize)]
struct PodMonitorItem {
    name: String,
    namespace: String,
    labels: Labels,
    selector: Labels,
    port: String,
    path: String,
    interval: Option<String>,
    /// More endpoint fields: scheme, timeout, relabelings.
    extra: serde_json::Map<String, Value>,
}

/// A relabeling as the operators read it.
fn relabeling(r: &Relabeling) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("action".into(), json!(r.action.as_str()));
    if !r.source_labels.is_empty() {
        out.insert("sourceLabels".into(), json!(r.source_labels));
    }
    for (field, value) in [
        ("separator", &r.separator),
        ("targetLabel", &r.target_label.as_ref().map(|l| l.0.clone())),
        ("regex", &r.regex),
        ("replacement", &r.replacement),
    ] {
        if let Some(v) = value {
            out.insert(field.into(), json!(v));
        }
    }
    if let Some(m) = r.modulus {
        out.insert("modulus".into(), json!(m));
    }
    Value::Object(out)
}

/// The endpoint fields beyond port, path and interval: the scheme, the scrape timeout and the
/// relabelings, under the flavour's field names.
fn endpoint_extra(spec: &ClusterSpec, m: &WorkloadMonitoring) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    if let Some(scheme) = m.scheme {
        out.insert("scheme".into(), json!(scheme));
    }
    if let Some(timeout) = &m.scrape_timeout {
        out.insert("scrapeTimeout".into(), json!(timeout));
    }
    let (target, metric) = monitors::relabel_fields(spec);
    for (field, rules) in [(target, &m.relabelings), (metric, &m.metric_relabelings)] {
        if !rules.is_empty() {
            out.insert(field.into(), rules.iter().map(relabeling).collect());
        }
    }
    out
}

/// A PrometheusRule.
#[derive(Debug, Serialize)]
struct RuleItem {
    meta: Meta,
    groups: Vec<Value>,
}

/// Adds the app's monitors and its PrometheusRule.
pub fn parts(spec: &ClusterSpec, app: &AppCtx, parts: &mut Parts) {
    let extra = &spec.defaults.monitoring.labels;
    let with_extra = |mut labels: Labels| {
        labels.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        labels
    };
    for wl in &app.spec.workloads {
        let Some(m) = &wl.monitoring else { continue };
        let labels = with_extra(workload_labels(&app.name, wl.name.as_str()));
        let object = m.name.as_ref().unwrap_or(&wl.name).to_string();
        match m.via {
            ScrapeVia::Service => {
                let mut endpoint = json!({"port": m.port, "path": m.path});
                if let Some(interval) = &m.interval {
                    endpoint["interval"] = json!(interval);
                }
                if let Some(fields) = endpoint.as_object_mut() {
                    fields.extend(endpoint_extra(spec, m));
                }
                let item = monitors::ScrapeItem {
                    meta: Meta {
                        name: object,
                        namespace: app.namespace.clone(),
                        labels,
                    },
                    selector: metrics_selector(&app.name, wl.name.as_str()),
                    endpoints: vec![endpoint],
                };
                parts.release(monitors::service_monitor(
                    spec,
                    "",
                    &format!("-{}", wl.name),
                    item,
                ));
            }
            ScrapeVia::Pod => {
                let item = PodMonitorItem {
                    name: object,
                    namespace: app.namespace.clone(),
                    labels,
                    selector: selector(&app.name, wl.name.as_str()),
                    port: m.port.clone(),
                    path: m.path.clone(),
                    interval: m.interval.clone(),
                    extra: endpoint_extra(spec, m),
                };
                parts.release(monitors::pod_monitor(spec, "", &format!("-{}", wl.name), item));
            }
        }
    }
    rules(spec, app, parts);
}

/// The app's PrometheusRule, from its alert groups.
fn rules(spec: &ClusterSpec, app: &AppCtx, parts: &mut Parts) {
    if app.spec.alerts.is_empty() {
        return;
    }
    let mut labels = app_labels(&app.name);
    labels.extend(
        spec.defaults
            .monitoring
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let groups = app
        .spec
        .alerts
        .iter()
        .map(|g| {
            let rules: Vec<Value> = g
                .rules
                .iter()
                .map(|r| {
                    let mut labels = r.labels.clone();
                    labels.insert("severity".into(), r.severity.as_str().into());
                    let mut annotations = r.annotations.clone();
                    annotations.insert("summary".into(), r.summary.clone());
                    if let Some(d) = &r.description {
                        annotations.insert("description".into(), d.clone());
                    }
                    if let Some(u) = &r.runbook_url {
                        annotations.insert("runbook_url".into(), u.clone());
                    }
                    let mut rule = json!({"alert": r.alert, "expr": r.expr});
                    if let Some(f) = &r.for_ {
                        rule["for"] = json!(f);
                    }
                    if let Some(k) = &r.keep_firing_for {
                        rule["keep_firing_for"] = json!(k);
                    }
                    rule["labels"] = json!(labels);
                    rule["annotations"] = json!(annotations);
                    rule
                })
                .collect();
            let mut group = json!({"name": g.name});
            if let Some(i) = &g.interval {
                group["interval"] = json!(i);
            }
            group["rules"] = json!(rules);
            group
        })
        .collect();
    let item = RuleItem {
        meta: Meta {
            name: app
                .spec
                .rule_name
                .as_ref()
                .map_or_else(|| app.name.clone(), |n| n.to_string()),
            namespace: app.namespace.clone(),
            labels,
        },
        groups,
    };
    parts.release(monitors::rule(spec, item));
}
