//! Names users already have: a workload's container, its monitor and the app's rule object
//! may keep the names an adopting team uses (`containerName`, `monitoring.name`, `ruleName`).
//! Checked here for collisions with what else gitopsc names alike.

use super::path::SpecPath;
use super::places::Places;
use super::workload::{ScrapeVia, WorkloadMonitoring, WorkloadSpec};
use super::{AppSpec, ClusterSpec, MonitoringFlavor};
use crate::diagnostic::{Code, Diagnostic};
use std::collections::BTreeMap;

/// One named object: (namespace, kind, name) → where it is named.
type Claims = BTreeMap<(String, &'static str, String), SpecPath>;

/// Every container, monitor and rule name is unique where it must be.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut claims: Claims = BTreeMap::new();
    let mut claim = |key: (&'static str, String),
                     ns: &'_ str,
                     pointer: SpecPath,
                     diags: &mut Vec<Diagnostic>| {
        let (kind, name) = key;
        if let Some(first) = claims.insert((ns.to_string(), kind, name.clone()), pointer.clone()) {
            diags.push(
                Diagnostic::error(Code::DuplicateName, format!("two {kind}s named `{name}` in namespace `{ns}`"))
                    .at(spans.value(&pointer).or(spans.key(&pointer)), "second one")
                    .help(format!(
                        "the first is named at `{first}`: give one of them another name (`monitoring.name`, `ruleName`)"
                    )),
            );
        }
    };
    let (service, pod, rule) = match spec.defaults.monitoring.flavor {
        MonitoringFlavor::Prometheus => ("ServiceMonitor", "PodMonitor", "PrometheusRule"),
        MonitoringFlavor::VictoriaMetrics => ("VMServiceScrape", "VMPodScrape", "VMRule"),
    };
    for (a, app) in spec.apps.iter().enumerate() {
        let ns = app.namespace();
        let base = SpecPath::app(a);
        if !app.alerts.is_empty() {
            let (name, at) = match &app.rule_name {
                Some(n) => (n.to_string(), base.field(AppSpec::RULE_NAME)),
                None => (app.name.to_string(), base.field(AppSpec::NAME)),
            };
            claim((rule, name), ns, at, &mut diags);
        }
        for (w, wl) in app.workloads.iter().enumerate() {
            let at = base.field(AppSpec::WORKLOADS).index(w);
            if let Some(m) = &wl.monitoring {
                let kind = match m.via {
                    ScrapeVia::Service => service,
                    ScrapeVia::Pod => pod,
                };
                let (name, pointer) = match &m.name {
                    Some(n) => (
                        n.to_string(),
                        at.field(WorkloadSpec::MONITORING).field(WorkloadMonitoring::NAME),
                    ),
                    None => (wl.name.to_string(), at.field(WorkloadSpec::NAME)),
                };
                claim((kind, name), ns, pointer, &mut diags);
            }
            if let Some(container) = &wl.container_name
                && let Some(i) = wl.init_containers.iter().position(|c| &c.name == container)
            {
                diags.push(
                    Diagnostic::error(
                        Code::WorkloadDuplicate,
                        format!("container `{container}` is named twice in workload `{}`", wl.name),
                    )
                    .at(spans.value(&at.field(WorkloadSpec::CONTAINER_NAME)), "")
                    .help(format!(
                        "init container {} has that name: container names are unique in a pod",
                        i + 1
                    )),
                );
            }
        }
        if let Some(pg) = &app.postgres
            && pg.monitoring.unwrap_or(
                app.monitoring.as_ref().is_some_and(|m| m.enabled)
                    || !spec.defaults.monitoring.labels.is_empty(),
            )
        {
            let name = pg
                .name
                .as_ref()
                .map_or_else(|| format!("{}-pg", app.name), |n| n.to_string());
            claim((pod, name), ns, base.field(AppSpec::POSTGRES), &mut diags);
        }
    }
    diags
}
