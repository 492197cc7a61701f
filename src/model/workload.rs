//! Workloads: an app's ConfigMaps, StatefulSets and Deployments with their Services,
//! autoscalers and disruption budgets, and what guards and watches them — RBAC
//! ([`rbac`]), NetworkPolicies, quotas and limit ranges ([`policy`]), monitors and alert
//! rules ([`monitoring`]). Pod templates and their checksums are built in [`pod`].
//!
//! Every object goes into the app's release layer. Selectors and volume claim templates
//! derive only from the app's and the workload's names, which never change.

mod monitoring;
mod pod;
pub(crate) mod policy;
mod rbac;

use super::Manifest;
use super::part::{AppCtx, Part, Parts};
use crate::kinds;
use crate::spec::ClusterSpec;
use crate::spec::workload::*;
use serde::Serialize;
use serde_json::{Value, json};

/// The label every object gitopsc writes for a workload carries.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "gitopsc");

/// Labels of an object, sorted.
pub type Labels = super::StrMap;

/// The selector of a workload's pods: its name and its app's, nothing that ever changes.
pub fn selector(app: &str, workload: &str) -> Labels {
    Labels::from_iter([
        ("app.kubernetes.io/instance".to_string(), app.to_string()),
        ("app.kubernetes.io/name".to_string(), workload.to_string()),
    ])
}

/// Labels of an object that belongs to a workload.
fn workload_labels(app: &str, workload: &str) -> Labels {
    let mut labels = selector(app, workload);
    labels.insert(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string());
    labels
}

/// Labels of an object that belongs to the app as a whole.
pub fn app_labels(app: &str) -> Labels {
    Labels::from_iter([
        ("app.kubernetes.io/instance".to_string(), app.to_string()),
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
    ])
}

/// An object's identity and labels: what every item of these blueprints carries.
#[derive(Debug, Serialize)]
pub struct Meta {
    /// Object name.
    pub name: String,
    /// Object namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Labels.
    pub labels: Labels,
}

/// A ConfigMap.
#[derive(Debug, Serialize)]
struct ConfigMapItem {
    meta: Meta,
    data: super::StrMap,
}

/// A Service.
#[derive(Debug, Serialize)]
struct ServiceItem {
    meta: Meta,
    headless: bool,
    selector: Labels,
    ports: Vec<Value>,
    annotations: Labels,
    publish_not_ready_addresses: bool,
    /// `ClusterIP`, `NodePort` or `LoadBalancer`.
    kind: ServiceType,
    load_balancer_class: Option<String>,
    external_traffic_policy: Option<TrafficPolicy>,
}

/// A HorizontalPodAutoscaler.
#[derive(Debug, Serialize)]
struct AutoscalerItem {
    meta: Meta,
    target_kind: &'static str,
    min_replicas: u32,
    max_replicas: u32,
    metrics: Vec<Value>,
    behavior: Option<Value>,
}

/// A PodDisruptionBudget.
#[derive(Debug, Serialize)]
struct DisruptionBudgetItem {
    meta: Meta,
    selector: Labels,
    min_available: Option<Value>,
    max_unavailable: Option<Value>,
    unhealthy_pod_eviction_policy: Option<UnhealthyPodEvictionPolicy>,
}

/// The part of an app's own workloads and what guards and watches them.
pub struct Workloads;

impl Part for Workloads {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        parts(app.cluster, app, out);
        policy::open_api_server_egress(app, out);
    }
}

/// Adds every workload object of the app to its release layer.
fn parts(spec: &ClusterSpec, app: &AppCtx, parts: &mut Parts) {
    let a = app.spec;
    for cm in &a.config_maps {
        let item = ConfigMapItem {
            meta: Meta {
                name: cm.name.to_string(),
                namespace: app.namespace.clone(),
                labels: app_labels(&app.name),
            },
            data: cm.data.iter().map(|(k, v)| (k.0.clone(), v.clone())).collect(),
        };
        parts.release(Manifest::new(
            format!("configmap-{}.yaml", cm.name),
            "workload/configmap.yaml.j2",
            &kinds::CONFIG_MAP,
            item,
        ));
    }
    rbac::parts(app, parts);
    policy::parts(spec, app, parts);
    for wl in &a.workloads {
        services(app, wl, parts);
    }
    for svc in &a.services {
        own_service(app, svc, parts);
    }
    // The pods hash what they read as it will be written: patched.
    let config_maps = patched_config_maps(app);
    for (i, wl) in a.workloads.iter().enumerate() {
        let at = app.base.field(crate::spec::AppSpec::WORKLOADS).index(i);
        pod::workload(spec, app, &config_maps, (wl, &at), parts);
    }
    for wl in &a.workloads {
        if let Some(hpa) = &wl.autoscaling {
            autoscaler(app, wl, hpa, parts);
        }
        if let Some(pdb) = &wl.disruption_budget {
            disruption_budget(app, wl, pdb, parts);
        }
    }
    monitoring::parts(spec, app, parts);
}

/// The app's ConfigMaps with the data its patches give them: a pod's checksum follows what
/// the tree writes. A patch that fails here fails when the ConfigMap renders, and is reported
/// there.
fn patched_config_maps(app: &AppCtx) -> Vec<ConfigMapSpec> {
    app.spec
        .config_maps
        .iter()
        .map(|cm| {
            let patches: Vec<_> = app.post.patches.iter().collect();
            if patches.is_empty() {
                return cm.clone();
            }
            let mut object = json!({
                "apiVersion": kinds::CONFIG_MAP.api_version,
                "kind": kinds::CONFIG_MAP.kind,
                "metadata": {"name": cm.name, "namespace": app.namespace, "labels": app_labels(&app.name)},
                "data": cm.data,
            });
            super::patch::add_metadata(&mut object, "labels", &app.post.labels);
            for patch in patches {
                if patch.matches(&object) {
                    let _ = patch.apply(&mut object);
                }
            }
            let data = object
                .get("data")
                .and_then(Value::as_object)
                .map(|d| {
                    d.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (ConfigKey(k.clone()), v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            ConfigMapSpec {
                name: cm.name.clone(),
                data,
            }
        })
        .collect()
}

fn service_port(port: &PortSpec) -> Value {
    json!({
        "name": port.name,
        "port": port.port,
        "targetPort": port.name,
        "protocol": port.protocol.as_str(),
    })
}

fn services(app: &AppCtx, wl: &WorkloadSpec, parts: &mut Parts) {
    let meta = |name: String, labels: Labels| Meta {
        name,
        namespace: app.namespace.clone(),
        labels,
    };
    let selector = selector(&app.name, wl.name.as_str());
    let settings = wl.service.settings();
    let mut emit = |name: String, labels: Labels, headless: bool, ports: Vec<Value>| {
        // The settings are the workload's own Service's; the headless and metrics Services
        // stay inside the cluster.
        let own = name == wl.service_name();
        let item = ServiceItem {
            meta: meta(name.clone(), labels),
            headless,
            selector: selector.clone(),
            ports,
            annotations: if own {
                super::StrMap::from(&settings.annotations)
            } else {
                Labels::new()
            },
            publish_not_ready_addresses: false,
            kind: if own {
                settings.kind
            } else {
                ServiceType::ClusterIP
            },
            load_balancer_class: settings.load_balancer_class.clone().filter(|_| own),
            external_traffic_policy: settings.external_traffic_policy.filter(|_| own),
        };
        parts.release(Manifest::new(
            format!("service-{name}.yaml"),
            "workload/service.yaml.j2",
            &kinds::SERVICE,
            item,
        ));
    };
    let labels = workload_labels(&app.name, wl.name.as_str());
    let ports: Vec<Value> = wl
        .service_ports()
        .map(|p| {
            let mut port = service_port(p);
            if let Some(node_port) = settings.node_ports.get(&p.name) {
                port["nodePort"] = json!(node_port);
            }
            port
        })
        .collect();
    if wl.service.enabled() && !ports.is_empty() {
        emit(wl.service_name(), labels.clone(), false, ports);
    }
    if wl.kind == WorkloadKind::StatefulSet {
        let all = wl.all_ports().map(service_port).collect();
        emit(wl.headless_service_name(), labels.clone(), true, all);
    }
    if let Some(m) = &wl.monitoring
        && wl.has_metrics_service()
        && let Some(port) = wl.port(&m.port)
    {
        emit(
            wl.metrics_service_name(),
            monitoring::metrics_service_labels(&app.name, wl.name.as_str()),
            false,
            vec![service_port(port)],
        );
    }
}

/// A Service of the app's `services`.
fn own_service(app: &AppCtx, svc: &ServiceSpec, parts: &mut Parts) {
    let selector = match &svc.workload {
        Some(wl) => selector(&app.name, wl.as_str()),
        None => super::StrMap::from(&svc.selector),
    };
    let mut labels = svc.labels.clone();
    labels.extend(match &svc.workload {
        Some(wl) => workload_labels(&app.name, wl.as_str()),
        None => app_labels(&app.name),
    });
    let ports = svc
        .ports
        .iter()
        .map(|p| {
            let target = match &p.target_port {
                Some(PortRef::Name(n)) => json!(n),
                Some(PortRef::Number(n)) => json!(n),
                None => json!(p.port),
            };
            let mut port = json!({"name": p.name, "port": p.port, "targetPort": target, "protocol": p.protocol.as_str()});
            if let Some(node_port) = p.node_port {
                port["nodePort"] = json!(node_port);
            }
            port
        })
        .collect();
    let item = ServiceItem {
        meta: Meta {
            name: svc.name.to_string(),
            namespace: app.namespace.clone(),
            labels: super::StrMap::from(labels),
        },
        headless: svc.headless,
        selector,
        ports,
        annotations: super::StrMap::from(&svc.annotations),
        publish_not_ready_addresses: svc.publish_not_ready_addresses,
        kind: svc.kind,
        load_balancer_class: svc.load_balancer_class.clone(),
        external_traffic_policy: svc.external_traffic_policy,
    };
    parts.release(Manifest::new(
        format!("service-{}.yaml", svc.name),
        "workload/service.yaml.j2",
        &kinds::SERVICE,
        item,
    ));
}

/// The `conservative` preset: up by 2 pods a minute at most after a minute of stable
/// recommendations; down by 10 % or 1 pod a minute, whichever is fewer, after five minutes.
fn conservative(direction_up: bool) -> ScalingRules {
    if direction_up {
        ScalingRules {
            stabilization_window_seconds: Some(60),
            select_policy: Some(SelectPolicy::Max),
            policies: vec![ScalingPolicy {
                kind: ScalingPolicyKind::Pods,
                value: 2,
                period_seconds: 60,
            }],
        }
    } else {
        ScalingRules {
            stabilization_window_seconds: Some(300),
            select_policy: Some(SelectPolicy::Min),
            policies: vec![
                ScalingPolicy {
                    kind: ScalingPolicyKind::Percent,
                    value: 10,
                    period_seconds: 60,
                },
                ScalingPolicy {
                    kind: ScalingPolicyKind::Pods,
                    value: 1,
                    period_seconds: 60,
                },
            ],
        }
    }
}

fn scaling_rules(rules: &ScalingRules) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(window) = rules.stabilization_window_seconds {
        out.insert("stabilizationWindowSeconds".into(), json!(window));
    }
    if let Some(select) = rules.select_policy {
        out.insert("selectPolicy".into(), json!(select));
    }
    if !rules.policies.is_empty() {
        out.insert("policies".into(), json!(rules.policies));
    }
    Value::Object(out)
}

fn autoscaler(app: &AppCtx, wl: &WorkloadSpec, hpa: &Autoscaling, parts: &mut Parts) {
    let mut metrics = Vec::new();
    for (name, target) in [("cpu", hpa.cpu), ("memory", hpa.memory)] {
        if let Some(percent) = target {
            metrics.push(json!({
                "type": "Resource",
                "resource": {"name": name, "target": {"type": "Utilization", "averageUtilization": percent}},
            }));
        }
    }
    for m in &hpa.pods {
        metrics.push(json!({
            "type": "Pods",
            "pods": {
                "metric": {"name": m.metric},
                "target": {"type": "AverageValue", "averageValue": m.average_value.text()},
            },
        }));
    }
    let behavior = hpa.behavior.as_ref().map(|b| {
        let preset = b.preset.map(|BehaviorPreset::Conservative| ());
        let up = b.scale_up.clone().or_else(|| preset.map(|()| conservative(true)));
        let down = b
            .scale_down
            .clone()
            .or_else(|| preset.map(|()| conservative(false)));
        let mut out = serde_json::Map::new();
        if let Some(up) = up {
            out.insert("scaleUp".into(), scaling_rules(&up));
        }
        if let Some(down) = down {
            out.insert("scaleDown".into(), scaling_rules(&down));
        }
        Value::Object(out)
    });
    let item = AutoscalerItem {
        meta: Meta {
            name: wl.name.to_string(),
            namespace: app.namespace.clone(),
            labels: workload_labels(&app.name, wl.name.as_str()),
        },
        target_kind: wl.kind.as_str(),
        min_replicas: hpa.min_replicas,
        max_replicas: hpa.max_replicas,
        metrics,
        behavior,
    };
    parts.release(Manifest::new(
        format!("horizontalpodautoscaler-{}.yaml", wl.name),
        "workload/horizontalpodautoscaler.yaml.j2",
        &kinds::HORIZONTAL_POD_AUTOSCALER,
        item,
    ));
}

fn int_or_percent(v: &IntOrPercent) -> Value {
    match v {
        IntOrPercent::Int(n) => json!(n),
        IntOrPercent::Percent(s) => json!(s),
    }
}

fn disruption_budget(app: &AppCtx, wl: &WorkloadSpec, pdb: &DisruptionBudget, parts: &mut Parts) {
    let item = DisruptionBudgetItem {
        meta: Meta {
            name: wl.name.to_string(),
            namespace: app.namespace.clone(),
            labels: workload_labels(&app.name, wl.name.as_str()),
        },
        selector: selector(&app.name, wl.name.as_str()),
        min_available: pdb.min_available.as_ref().map(int_or_percent),
        max_unavailable: pdb.max_unavailable.as_ref().map(int_or_percent),
        unhealthy_pod_eviction_policy: pdb.unhealthy_pod_eviction_policy,
    };
    parts.release(Manifest::new(
        format!("poddisruptionbudget-{}.yaml", wl.name),
        "workload/poddisruptionbudget.yaml.j2",
        &kinds::POD_DISRUPTION_BUDGET,
        item,
    ));
}

/// A Kubernetes label selector matching exactly these labels.
fn match_labels(labels: &Labels) -> Value {
    json!({ "matchLabels": labels })
}
