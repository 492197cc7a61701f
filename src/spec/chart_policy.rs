//! NetworkPolicies and a disruption budget for the pods of an app's chart
//! (`apps[].networkPolicies[]`, `apps[].disruptionBudget`), and their checks.
//!
//! gitopsc does not know which labels a chart puts on its pods. Without `pods`, a policy or
//! budget selects `app.kubernetes.io/instance: <release>`: the label Helm's chart scaffold
//! (`helm create`) puts on every pod, which most charts keep. Charts that label otherwise
//! (Harbor: `app: harbor`, `release: <release>`) need `pods`.

use super::load::SpanIndex;
use super::path::SpecPath;
use super::workload::{Cidr, IntOrPercent, PortRef, Protocol, UnhealthyPodEvictionPolicy};
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

/// One peer: pods by labels, namespaces (by name or labels), both (with `combine`), or an
/// address block.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Peer {
    /// Pods by labels (in the app's namespace, unless namespaces are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<BTreeMap<String, String>>,
    /// Namespaces by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<Name>,
    /// Namespaces by labels (`{}`: every namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// With `pods` and namespaces both given, required: `and` selects those pods in those
    /// namespaces; `or` selects those pods of the app's namespace and every pod of those
    /// namespaces. (In a NetworkPolicy the two differ by one `-`: gitopsc makes it a word.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combine: Option<Combine>,
    /// An address block (outside the cluster: pod addresses change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<Cidr>,
    /// Blocks inside `cidr` left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<Cidr>,
}

/// How a peer's pod and namespace selectors combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// The pods in the namespaces.
    And,
    /// The pods (of the app's namespace), and every pod of the namespaces.
    Or,
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
pub fn check(spec: &ClusterSpec, spans: &SpanIndex) -> Vec<Diagnostic> {
    let mut r = Report {
        spans,
        diags: Vec::new(),
    };
    for (a, app) in spec.apps.iter().enumerate() {
        let base = SpecPath::app(a);
        let mut names = BTreeMap::new();
        for (i, policy) in app.network_policies.iter().enumerate() {
            let p = base.field(AppSpec::NETWORK_POLICIES).index(i);
            if let Some(first) = names.insert(policy.name.as_str(), i) {
                r.error(
                    Code::WorkloadDuplicate,
                    &p.field(ChartNetworkPolicy::NAME),
                    format!("the NetworkPolicy `{}` is declared twice", policy.name),
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

/// Diagnostics at spec nodes.
struct Report<'s> {
    spans: &'s SpanIndex,
    diags: Vec<Diagnostic>,
}

impl Report<'_> {
    fn push(&mut self, d: Diagnostic, pointer: &str, help: impl Into<String>) {
        let span = self.spans.key(pointer).or_else(|| self.spans.value(pointer));
        self.diags.push(d.at(span, "").help(help));
    }

    fn error(&mut self, code: Code, pointer: &str, message: String, help: impl Into<String>) {
        self.push(Diagnostic::error(code, message), pointer, help);
    }
}

fn check_policy(app: &AppSpec, policy: &ChartNetworkPolicy, p: &SpecPath, r: &mut Report) {
    if chart_pods(app, policy.pods.as_ref()).is_none() {
        r.error(
            Code::ChartPods,
            p,
            format!(
                "the NetworkPolicy `{}` of app `{}` selects no pods: the app has no chart",
                policy.name, app.name
            ),
            "select its pods with `pods: {<label>: <value>}`",
        );
    }
    if policy.ingress.is_none() && policy.egress.is_none() {
        r.error(
            Code::NetworkRule,
            p,
            format!("the NetworkPolicy `{}` restricts nothing", policy.name),
            "give it `ingress` (who may connect in) or `egress` (where the pods may connect), or both; \
             `[]` denies every connection of that direction",
        );
    }
    if let Some(pods) = &policy.pods {
        check_labels(pods, &p.field(ChartNetworkPolicy::PODS), r);
    }
    for (i, rule) in policy.ingress.iter().flatten().enumerate() {
        for (j, peer) in rule.from.iter().enumerate() {
            let at = p.field(ChartNetworkPolicy::INGRESS).index(i);
            check_peer(peer, &at.field(IngressRule::FROM).index(j), r);
        }
    }
    for (i, rule) in policy.egress.iter().flatten().enumerate() {
        for (j, peer) in rule.to.iter().enumerate() {
            let at = p.field(ChartNetworkPolicy::EGRESS).index(i);
            check_peer(peer, &at.field(EgressRule::TO).index(j), r);
        }
    }
}

/// A peer is one of: pods and/or namespaces (saying how they combine), or an address block.
fn check_peer(peer: &Peer, p: &SpecPath, r: &mut Report) {
    let namespaced = !peer.namespaces.is_empty() || peer.namespace_labels.is_some();
    let selects = peer.pods.is_some() || namespaced;
    if peer.cidr.is_some() && selects {
        r.error(
            Code::NetworkPeer,
            &p.field(Peer::CIDR),
            "a peer is an address block or pods and namespaces, not both".into(),
            "write the address block as a peer of its own",
        );
    }
    if peer.cidr.is_none() && !selects && peer.except.is_empty() {
        r.error(
            Code::NetworkPeer,
            p,
            "a peer that selects nothing".into(),
            "give it `pods`, `namespaces`, `namespaceLabels` or `cidr`",
        );
    }
    if !peer.namespaces.is_empty() && peer.namespace_labels.is_some() {
        r.error(
            Code::NetworkPeer,
            &p.field(Peer::NAMESPACE_LABELS),
            "a peer selects namespaces by `namespaces` or by `namespaceLabels`, not both".into(),
            "keep one; to select namespaces by name and label, write the name as the label \
             `kubernetes.io/metadata.name`",
        );
    }
    match (peer.pods.is_some() && namespaced, peer.combine) {
        (true, None) => r.error(
            Code::PeerCombine,
            p,
            "a peer with `pods` and namespaces must say how they combine".into(),
            "`combine: and` selects those pods in those namespaces; `combine: or` selects those pods of the \
             app's namespace and every pod of those namespaces",
        ),
        (false, Some(_)) => r.error(
            Code::PeerCombine,
            &p.field(Peer::COMBINE),
            "`combine` without both `pods` and namespaces".into(),
            "drop `combine`: it says how `pods` and `namespaces` (or `namespaceLabels`) combine",
        ),
        _ => {}
    }
    if !peer.except.is_empty() {
        check_except(peer, p, r);
    }
    for (field, labels) in [
        (Peer::PODS, &peer.pods),
        (Peer::NAMESPACE_LABELS, &peer.namespace_labels),
    ] {
        if let Some(labels) = labels {
            check_labels(labels, &p.field(field), r);
        }
    }
}

/// `except` needs `cidr`, and each block must lie strictly inside it (the API server refuses
/// other blocks).
fn check_except(peer: &Peer, p: &SpecPath, r: &mut Report) {
    let Some(cidr) = &peer.cidr else {
        r.error(
            Code::NetworkPeer,
            &p.field(Peer::EXCEPT),
            "`except` without `cidr`".into(),
            "`except` leaves blocks out of the peer's `cidr`: give the `cidr`",
        );
        return;
    };
    for (i, block) in peer.except.iter().enumerate() {
        if !strictly_inside(&block.0, &cidr.0) {
            r.error(
                Code::NetworkPeer,
                &p.field(Peer::EXCEPT).index(i),
                format!("`{}` is not a block inside `{}`", block.0, cidr.0),
                "each `except` block must be a smaller block inside `cidr`",
            );
        }
    }
}

/// Parses `address/prefix` into the address as a number, its width and the prefix.
fn parse_cidr(text: &str) -> Option<(u128, u32, u32)> {
    let (address, prefix) = text.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    match address.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => (prefix <= 32).then_some((u128::from(u32::from(v4)), 32, prefix)),
        std::net::IpAddr::V6(v6) => (prefix <= 128).then_some((u128::from(v6), 128, prefix)),
    }
}

/// Whether the block `inner` is a smaller block inside `outer`, of the same family.
fn strictly_inside(inner: &str, outer: &str) -> bool {
    let (Some((a, width, pa)), Some((b, width_b, pb))) = (parse_cidr(inner), parse_cidr(outer)) else {
        return false;
    };
    let mask = |prefix: u32| match width - prefix {
        0 => u128::MAX,
        shift if shift >= 128 => 0,
        shift => u128::MAX << shift,
    };
    width == width_b && pa > pb && (a & mask(pb)) == (b & mask(pb))
}

fn check_budget(app: &AppSpec, pdb: &ChartDisruptionBudget, p: &SpecPath, r: &mut Report) {
    if chart_pods(app, pdb.pods.as_ref()).is_none() {
        r.error(
            Code::ChartPods,
            p,
            format!(
                "the disruption budget of app `{}` guards no pods: the app has no chart",
                app.name
            ),
            "select its pods with `pods: {<label>: <value>}`",
        );
    }
    if let Some(pods) = &pdb.pods {
        check_labels(pods, &p.field(ChartDisruptionBudget::PODS), r);
    }
    let replicas = app
        .helm
        .as_ref()
        .and_then(|h| h.values.get("replicaCount").and_then(serde_json::Value::as_u64));
    let blocks = match (&pdb.min_available, &pdb.max_unavailable) {
        (Some(_), Some(_)) | (None, None) => {
            r.error(
                Code::OneOfRequired,
                p,
                "a disruption budget needs exactly one of `minAvailable` and `maxUnavailable`".into(),
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
        let span = r.spans.key(p);
        r.diags.push(
            Diagnostic::warning(
                Code::DisruptionBudgetBlocks,
                format!("the disruption budget of app `{}` allows no disruption: {why}", app.name),
            )
            .at(span, "")
            .help("node drains and cluster upgrades will block on these pods: allow at least one (e.g. `maxUnavailable: 1`)"),
        );
    }
}

/// Label keys and values as Kubernetes takes them.
fn check_labels(labels: &BTreeMap<String, String>, p: &SpecPath, r: &mut Report) {
    for (key, value) in labels {
        let lp = p.key(key);
        if !super::workload_checks::label_key_ok(key) {
            r.error(
                Code::InvalidName,
                &lp,
                format!("`{key}` is not a valid label key"),
                "a label key is an optional DNS prefix and `/`, then at most 63 letters, digits, `-`, `_`, `.`",
            );
        }
        if !super::workload_checks::label_value_ok(value) {
            r.error(
                Code::InvalidName,
                &lp,
                format!("`{value}` is not a valid label value"),
                "at most 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strictly_inside;

    #[test]
    fn except_blocks_lie_strictly_inside_the_cidr() {
        assert!(strictly_inside("10.1.0.0/16", "10.0.0.0/8"));
        assert!(!strictly_inside("10.0.0.0/8", "10.0.0.0/8"));
        assert!(!strictly_inside("11.0.0.0/16", "10.0.0.0/8"));
        assert!(strictly_inside("0.0.0.0/1", "0.0.0.0/0"));
        assert!(strictly_inside("fd00:1::/32", "fd00::/8"));
        assert!(!strictly_inside("10.1.0.0/16", "fd00::/8"));
        assert!(!strictly_inside("10.1.0.0/40", "10.0.0.0/8"));
    }
}
