//! The monitoring family of a cluster (`defaults.monitoring.flavor`): which kinds, blueprints
//! and file names every monitor and rule gitopsc writes takes. The Prometheus operator reads
//! ServiceMonitor, PodMonitor and PrometheusRule; the VictoriaMetrics operator its own
//! VMServiceScrape, VMPodScrape and VMRule (same field names). One family only: the
//! VictoriaMetrics operator converts Prometheus objects into copies it never deletes, so a
//! tree holding both would leave scrapes behind when it prunes.

use super::Manifest;
use crate::kinds::{self, Kind};
use crate::spec::{ClusterSpec, MonitoringFlavor};
use serde::Serialize;

/// The endpoint fields that hold relabelings, target and metric: the Prometheus operator's
/// `relabelings` / `metricRelabelings`, VictoriaMetrics' `relabelConfigs` /
/// `metricRelabelConfigs` (the entries have the same fields).
pub fn relabel_fields(spec: &ClusterSpec) -> (&'static str, &'static str) {
    match spec.defaults.monitoring.flavor {
        MonitoringFlavor::Prometheus => ("relabelings", "metricRelabelings"),
        MonitoringFlavor::VictoriaMetrics => ("relabelConfigs", "metricRelabelConfigs"),
    }
}

/// One kind of monitoring object in one family.
struct Form {
    kind: &'static Kind,
    blueprint: &'static str,
    /// The file name's stem (`podmonitor`, `vmpodscrape`).
    file: &'static str,
}

/// The three kinds of a family.
struct Family {
    service: Form,
    pod: Form,
    rule: Form,
}

const PROMETHEUS: Family = Family {
    service: Form {
        kind: &kinds::SERVICE_MONITOR,
        blueprint: "monitoring/servicemonitor.yaml.j2",
        file: "servicemonitor",
    },
    pod: Form {
        kind: &kinds::POD_MONITOR,
        blueprint: "monitoring/podmonitor.yaml.j2",
        file: "podmonitor",
    },
    rule: Form {
        kind: &kinds::PROMETHEUS_RULE,
        blueprint: "monitoring/prometheusrule.yaml.j2",
        file: "prometheusrule",
    },
};

const VICTORIA_METRICS: Family = Family {
    service: Form {
        kind: &kinds::VM_SERVICE_SCRAPE,
        blueprint: "victoriametrics/vmservicescrape.yaml.j2",
        file: "vmservicescrape",
    },
    pod: Form {
        kind: &kinds::VM_POD_SCRAPE,
        blueprint: "victoriametrics/vmpodscrape.yaml.j2",
        file: "vmpodscrape",
    },
    rule: Form {
        kind: &kinds::VM_RULE,
        blueprint: "victoriametrics/vmrule.yaml.j2",
        file: "vmrule",
    },
};

fn family(spec: &ClusterSpec) -> &'static Family {
    match spec.defaults.monitoring.flavor {
        MonitoringFlavor::Prometheus => &PROMETHEUS,
        MonitoringFlavor::VictoriaMetrics => &VICTORIA_METRICS,
    }
}

fn manifest(
    form: &Form,
    prefix: &str,
    suffix: &str,
    item: impl Serialize + Send + Sync + 'static,
) -> Manifest {
    let file = format!("{prefix}{}{suffix}.yaml", form.file);
    Manifest::new(file, form.blueprint, form.kind, item)
}

/// A scrape of a Service's endpoints (`<prefix><stem><suffix>.yaml`); the item renders
/// `meta`, `selector`, `endpoints`.
pub fn service_monitor(
    spec: &ClusterSpec,
    prefix: &str,
    suffix: &str,
    item: impl Serialize + Send + Sync + 'static,
) -> Manifest {
    manifest(&family(spec).service, prefix, suffix, item)
}

/// A scrape of pods; the item renders `name`, `namespace`, `labels`, `selector`, `port`,
/// `path`, `interval`, and `extra` (more endpoint fields) when it has them.
pub fn pod_monitor(
    spec: &ClusterSpec,
    prefix: &str,
    suffix: &str,
    item: impl Serialize + Send + Sync + 'static,
) -> Manifest {
    manifest(&family(spec).pod, prefix, suffix, item)
}

/// The kind of a pod scrape in the cluster's family (`PodMonitor`, `VMPodScrape`), for notes.
pub fn pod_kind(spec: &ClusterSpec) -> &'static str {
    family(spec).pod.kind.kind
}

/// A rule object; the item renders `meta` and `groups`.
pub fn rule(spec: &ClusterSpec, item: impl Serialize + Send + Sync + 'static) -> Manifest {
    manifest(&family(spec).rule, "", "", item)
}

/// A scrape of Services: what the service blueprints render.
#[derive(Debug, Serialize)]
pub struct ScrapeItem {
    /// Its identity and labels.
    pub meta: super::workload::Meta,
    /// The Services' labels.
    pub selector: super::StrMap,
    /// The endpoints.
    pub endpoints: Vec<serde_json::Value>,
}
