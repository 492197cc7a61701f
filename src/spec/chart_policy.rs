//! NetworkPolicies and a disruption budget for the pods of an app's chart
//! (`apps[].networkPolicies[]`, `apps[].disruptionBudget`), and their checks.
//!
//! gitopsc does not know which labels a chart puts on its pods. Without `pods`, a policy or
//! budget selects `app.kubernetes.io/instance: <release>`: the label Helm's chart scaffold
//! (`helm create`) puts on every pod, which most charts keep. Charts that label otherwise
//! (Harbor: `app: harbor`, `release: <release>`) need `pods`.

use super::network::{Peer, PeerPlace, check_peer};
use super::path::SpecPath;
use super::places::Places;
use super::workload::{IntOrPercent, PortRef, Protocol, UnhealthyPodEvictionPolicy};
use super::workload_checks::{Report, check_labels};
use super::{AppSpec, ClusterSpec, Name};
use crate::diagnostic::{Code, Diagnostic};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The label a chart's pods carry with the release's name, by Helm's convention.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// A NetworkPolicy in the app's namespace for pods gitopsc does not write (its chart's).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChartNetworkPolicy {
    /// The NetworkPolicy's name.
    pub name: Name,
    /// The pods it applies to, by labels (default: `app.kubernetes.io/instance: <release>`,
    /// the label Helm's chart scaffold puts on every pod of a release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<BTreeMap<String, String>>,
    /// Who may connect to the pods. Unset: this policy does not restrict ingress; `[]`:
    /// nobody may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<IngressRule>>,
    /// Where the pods may connect. Unset: this policy does not restrict egress; `[]`:
    /// nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<EgressRule>>,
    /// With egress restricted, also let the pods resolve names through the cluster DNS
    /// (unless the app's `networkPolicy` already lets every pod of the namespace do so).
    #[serde(default = "yes")]
    pub dns: bool,
    /// With egress restricted, also let the pods reach the Kubernetes API server
    /// (`defaults.network.apiServerPorts`, `apiServerCidrs`).
    #[serde(default)]
    pub api_server: bool,
}

fn yes() -> bool {
    true
}

/// Connections allowed in.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressRule {
    /// Where they may come from (none: anywhere).
    #[serde(default)]
    pub from: Vec<Peer>,
    /// The pods' ports (none: every port): numbers, or names of the pods' container ports.
    #[serde(default)]
    pub ports: Vec<PortRef>,
    /// The protocol of the ports.
    #[serde(default)]
    pub protocol: Protocol,
}

/// Connections allowed out.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgressRule {
    /// Where they may go (none: anywhere).
    #[serde(default)]
    pub to: Vec<Peer>,
    /// The destination ports (none: every port).
    #[serde(default)]
    pub ports: Vec<PortRef>,
    /// The protocol of the ports.
    #[serde(default)]
    pub protocol: Protocol,
}

/// A PodDisruptionBudget (policy/v1) for pods of the app's chart: exactly one of
/// `minAvailable`, `maxUnavailable`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChartDisruptionBudget {
    /// Its name (default: the app's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The pods it guards, by labels (default: `app.kubernetes.io/instance: <release>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<BTreeMap<String, String>>,
    /// Pods that must stay available during voluntary disruptions (drains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrPercent>,
    /// Pods that may be unavailable during voluntary disruptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
    /// Evict pods that are not ready even when the budget is exhausted (`AlwaysAllow`), so
    /// a crashing pod never blocks a drain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_pod_eviction_policy: Option<UnhealthyPodEvictionPolicy>,
}

/// The labels that select a chart's pods: `pods` as given, or the release's instance label.
/// `None` when neither is there (an app without a chart must say `pods`).
pub fn chart_pods(
    app: &AppSpec,
    pods: Option<&BTreeMap<String, String>>,
) -> Option<BTreeMap<String, String>> {
    match pods {
        Some(p) => Some(p.clone()),
        None => {
            let helm = app.helm.as_ref()?;
            let release = helm.release(app.name.as_str());
            Some(BTreeMap::from([(
                INSTANCE_LABEL.to_string(),
                release.to_string(),
            )]))
        }
    }
}

/// Every app's chart policies and budget.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut r = Report::new(spans);
    for (a, app) in spec.apps.iter().enumerate() {
        let base = SpecPath::app(a);
        let mut names = BTreeMap::new();
        for (i, policy) in app.network_policies.iter().enumerate() {
            let p = base.field(AppSpec::NETWORK_POLICIES).index(i);
            if let Some(first) = names.insert(policy.name.as_str(), i) {
                r.error_key(
                    Code::WorkloadDuplicate,
                    &p.field(ChartNetworkPolicy::NAME),
                    format!("the NetworkPolicy `{}` is declared twice", policy.name),
                    "",
                    format!("`networkPolicies[{first}]` has this name: rename one"),
                );
            }
            check_policy(app, policy, &p, &mut r);
        }
        if let Some(pdb) = &app.disruption_budget {
            check_budget(app, pdb, &base.field(AppSpec::DISRUPTION_BUDGET), &mut r);
        }
    }
    r.diags
}

fn check_policy(app: &AppSpec, policy: &ChartNetworkPolicy, p: &SpecPath, r: &mut Report) {
    if chart_pods(app, policy.pods.as_ref()).is_none() {
        r.error_key(
            Code::ChartPods,
            p,
            format!(
                "the NetworkPolicy `{}` of app `{}` selects no pods: the app has no chart",
                policy.name, app.name
            ),
            "",
            "select its pods with `pods: {<label>: <value>}`",
        );
    }
    if policy.ingress.is_none() && policy.egress.is_none() {
        r.error_key(
            Code::NetworkRule,
            p,
            format!("the NetworkPolicy `{}` restricts nothing", policy.name),
            "",
            "give it `ingress` (who may connect in) or `egress` (where the pods may connect), or both; \
             `[]` denies every connection of that direction",
        );
    }
    if let Some(pods) = &policy.pods {
        check_labels(pods, &p.field(ChartNetworkPolicy::PODS), false, r);
    }
    let workloads: Vec<&str> = app.workloads.iter().map(|w| w.name.as_str()).collect();
    for (i, rule) in policy.ingress.iter().flatten().enumerate() {
        for (j, peer) in rule.from.iter().enumerate() {
            let at = p.field(ChartNetworkPolicy::INGRESS).index(i);
            check_peer(
                peer,
                &at.field(IngressRule::FROM).index(j),
                PeerPlace::Listed,
                &workloads,
                r,
            );
        }
    }
    for (i, rule) in policy.egress.iter().flatten().enumerate() {
        for (j, peer) in rule.to.iter().enumerate() {
            let at = p.field(ChartNetworkPolicy::EGRESS).index(i);
            check_peer(
                peer,
                &at.field(EgressRule::TO).index(j),
                PeerPlace::Listed,
                &workloads,
                r,
            );
        }
    }
}

fn check_budget(app: &AppSpec, pdb: &ChartDisruptionBudget, p: &SpecPath, r: &mut Report) {
    if chart_pods(app, pdb.pods.as_ref()).is_none() {
        r.error_key(
            Code::ChartPods,
            p,
            format!(
                "the disruption budget of app `{}` guards no pods: the app has no chart",
                app.name
            ),
            "",
            "select its pods with `pods: {<label>: <value>}`",
        );
    }
    if let Some(pods) = &pdb.pods {
        check_labels(pods, &p.field(ChartDisruptionBudget::PODS), false, r);
    }
    let replicas = app.helm.as_ref().and_then(|h| {
        h.values
            .get("replicaCount")
            .as_ref()
            .and_then(serde_json::Value::as_u64)
    });
    let blocks = match (&pdb.min_available, &pdb.max_unavailable) {
        (Some(_), Some(_)) | (None, None) => {
            r.error_key(
                Code::OneOfRequired,
                p,
                "a disruption budget needs exactly one of `minAvailable` and `maxUnavailable`".into(),
                "",
                "e.g. `maxUnavailable: 1`",
            );
            None
        }
        (Some(IntOrPercent::Int(n)), _) => replicas
            .filter(|&pods| u64::from(*n) >= pods)
            .map(|pods| format!("`minAvailable: {n}` with `replicaCount: {pods}` in the chart's values")),
        (Some(IntOrPercent::Percent(s)), _) if s == "100%" => Some("`minAvailable: 100%`".to_string()),
        (_, Some(IntOrPercent::Int(0))) => Some("`maxUnavailable: 0`".to_string()),
        (_, Some(IntOrPercent::Percent(s))) if s == "0%" => Some("`maxUnavailable: 0%`".to_string()),
        _ => None,
    };
    if let Some(why) = blocks {
        r.warn(
            Code::DisruptionBudgetBlocks,
            p,
            format!("the disruption budget of app `{}` allows no disruption: {why}", app.name),
            "",
            "node drains and cluster upgrades will block on these pods: allow at least one (e.g. `maxUnavailable: 1`)",
        );
    }
}
