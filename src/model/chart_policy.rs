//! The part of the NetworkPolicies and the disruption budget of an app's chart pods
//! (`apps[].networkPolicies[]`, `apps[].disruptionBudget`): written in the release layer
//! with the blueprints of the app's own policies and budgets. A policy that restricts egress
//! lets the pods resolve names (unless the namespace's default deny already does) and, when
//! asked, reach the API server, as the app's own workloads do.

use super::part::{AppCtx, Part, Parts, Topic};
use super::workload::policy::{NetworkPolicyItem, api_server_rule, dns_rule, rule_value};
use super::workload::{Labels, Meta, app_labels};
use super::{LayerKind, Manifest};
use crate::kinds;
use crate::spec::AppSpec;
use crate::spec::chart_policy::{ChartDisruptionBudget, ChartNetworkPolicy, INSTANCE_LABEL, chart_pods};
use crate::spec::workload::{IntOrPercent, UnhealthyPodEvictionPolicy};
use serde::Serialize;
use serde_json::{Value, json};

/// The part of the chart's policies and budget.
pub struct ChartPolicies;

/// A PodDisruptionBudget in the shape of `workload/poddisruptionbudget.yaml.j2`.
#[derive(Debug, Serialize)]
struct BudgetItem {
    meta: Meta,
    selector: Labels,
    min_available: Option<Value>,
    max_unavailable: Option<Value>,
    unhealthy_pod_eviction_policy: Option<UnhealthyPodEvictionPolicy>,
}

impl Part for ChartPolicies {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        let mut defaulted = Vec::new();
        for (i, policy) in app.spec.network_policies.iter().enumerate() {
            let Some(pods) = chart_pods(app.spec, policy.pods.as_ref()) else {
                continue;
            };
            if policy.pods.is_none() {
                defaulted.push(format!("NetworkPolicy `{}`", policy.name));
            }
            let item = policy_item(app, policy, super::StrMap::from(pods));
            if !item.api_server_any.is_empty() {
                out.open_api_server_egress(&item.meta.name);
            }
            out.release(
                Manifest::new(
                    format!("networkpolicy-{}.yaml", policy.name),
                    "policy/networkpolicy.yaml.j2",
                    &kinds::NETWORK_POLICY,
                    item,
                )
                .from_spec(app.at(AppSpec::NETWORK_POLICIES).index(i)),
            );
        }
        if let Some(pdb) = &app.spec.disruption_budget
            && let Some(pods) = chart_pods(app.spec, pdb.pods.as_ref())
        {
            if pdb.pods.is_none() {
                defaulted.push("the PodDisruptionBudget".to_string());
            }
            let name = pdb.name.as_ref().map_or(app.name.clone(), |n| n.to_string());
            out.release(
                Manifest::new(
                    format!("poddisruptionbudget-{name}.yaml"),
                    "workload/poddisruptionbudget.yaml.j2",
                    &kinds::POD_DISRUPTION_BUDGET,
                    budget_item(app, pdb, name, super::StrMap::from(pods)),
                )
                .from_spec(app.at(AppSpec::DISRUPTION_BUDGET)),
            );
        }
        if !defaulted.is_empty() {
            defaulted_selector_note(app, &defaulted, out);
        }
    }
}

/// The runbook's note and check for objects that select the chart's pods by Helm's
/// conventional instance label: gitopsc cannot see the chart's labels.
fn defaulted_selector_note(app: &AppCtx, objects: &[String], out: &mut Parts) {
    let Some(pods) = chart_pods(app.spec, None) else {
        return;
    };
    let selector: Vec<String> = pods.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let selector = selector.join(",");
    let own = if app.spec.workloads.is_empty() || !pods.contains_key(INSTANCE_LABEL) {
        ""
    } else {
        " (the app's own workloads carry the same label: give `pods` to leave them out)"
    };
    let verb = if objects.len() == 1 { "selects" } else { "select" };
    out.caveat(
        Topic::Network,
        format!(
            "{} {verb} the chart's pods by `{selector}`, Helm's conventional label: gitopsc cannot see \
             which labels the chart puts on its pods. Check that the command below lists them{own}; a chart \
             that labels its pods otherwise needs `pods`.",
            objects.join(" and ")
        ),
    );
    out.verify(
        LayerKind::Release,
        &["kubectl", "-n", &app.namespace, "get", "pods", "-l", &selector],
    );
}

fn policy_item(app: &AppCtx, policy: &ChartNetworkPolicy, pods: Labels) -> NetworkPolicyItem {
    let network = &app.cluster.defaults.network;
    let mut policy_types = Vec::new();
    let mut ingress = Vec::new();
    if let Some(rules) = &policy.ingress {
        policy_types.push("Ingress");
        for rule in rules {
            ingress.push(rule_value(
                "from",
                &rule.from,
                (&rule.ports, rule.protocol),
                &app.name,
            ));
        }
    }
    let mut egress = Vec::new();
    let mut api_server_any = Vec::new();
    if let Some(rules) = &policy.egress {
        policy_types.push("Egress");
        for rule in rules {
            egress.push(rule_value(
                "to",
                &rule.to,
                (&rule.ports, rule.protocol),
                &app.name,
            ));
        }
        let namespace_dns = app
            .spec
            .network_policy
            .as_ref()
            .is_some_and(|p| p.default_deny && p.dns);
        if policy.dns && !namespace_dns {
            egress.push(dns_rule(network));
        }
        if policy.api_server {
            egress.push(api_server_rule(network));
            if network.api_server_cidrs.is_empty() {
                api_server_any.clone_from(&network.api_server_ports);
            }
        }
    }
    NetworkPolicyItem {
        meta: Meta {
            name: policy.name.to_string(),
            namespace: app.namespace.clone(),
            labels: app_labels(&app.name),
        },
        pod_selector: pods,
        policy_types,
        ingress,
        egress,
        api_server_any,
    }
}

fn budget_item(app: &AppCtx, pdb: &ChartDisruptionBudget, name: String, pods: Labels) -> BudgetItem {
    let value = |v: &IntOrPercent| match v {
        IntOrPercent::Int(n) => json!(n),
        IntOrPercent::Percent(s) => json!(s),
    };
    BudgetItem {
        meta: Meta {
            name,
            namespace: app.namespace.clone(),
            labels: app_labels(&app.name),
        },
        selector: pods,
        min_available: pdb.min_available.as_ref().map(value),
        max_unavailable: pdb.max_unavailable.as_ref().map(value),
        unhealthy_pod_eviction_policy: pdb.unhealthy_pod_eviction_policy,
    }
}
