//! Gateway API routes of an app (`apps[].routes[]` → HTTPRoute `gateway.networking.k8s.io/v1`)
//! and their checks: backends that exist, ports that the backend Service serves, and the
//! gateway's data plane named as a peer wherever a NetworkPolicy isolates the backend's pods.

use super::network::{Combine, Peer};
use super::path::{Field, SpecPath};
use super::places::Places;
use super::workload::{PortRef, WorkloadSpec};
use super::{AppSpec, ClusterSpec, Name};
use crate::diagnostic::{Code, Diagnostic};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Pattern of a route hostname (RFC 1123, with an optional leading `*.`).
pub const HOSTNAME_PATTERN: &str =
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// An HTTPRoute in the app's namespace.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteSpec {
    /// The HTTPRoute's name, unique in the app.
    pub name: Name,
    /// The Gateways (or their listeners) the route attaches to; each listener must allow
    /// routes from the app's namespace (`allowedRoutes`).
    #[schemars(length(min = 1, max = 32))]
    pub parents: Vec<ParentRef>,
    /// The host names the route answers (none: every host name of the listener).
    #[serde(default)]
    pub hostnames: Vec<Hostname>,
    /// Requests by path, each to one backend.
    #[schemars(length(min = 1, max = 16))]
    pub rules: Vec<RouteRule>,
    /// Where the gateway's proxies run (their namespaces, and pods by labels): allowed in to
    /// the backends' pods when a NetworkPolicy isolates them. Required then: implementations
    /// run their data plane in different places, so gitopsc does not guess.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<GatewayPeer>,
}

/// A route hostname.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Hostname(#[schemars(regex(pattern = HOSTNAME_PATTERN), length(min = 1, max = 253))] pub String);

/// A Gateway (listener) a route attaches to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ParentRef {
    /// The Gateway's name.
    pub name: Name,
    /// The Gateway's namespace (default: the app's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
    /// The listener's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<Name>,
    /// The listener's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
}

/// Requests matching any of `paths`, sent to `backend`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteRule {
    /// Path matches (none: every path).
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub paths: Vec<PathMatch>,
    /// Where the requests go.
    pub backend: Backend,
}

/// A path match.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PathMatch {
    /// The path, starting with `/`.
    #[schemars(regex(pattern = r"^/[^\s]*$"), length(max = 1024))]
    pub value: String,
    /// How the path matches.
    #[serde(default, rename = "type")]
    pub kind: PathType,
}

/// How a path matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PathType {
    /// The path and everything below it (`/api` matches `/api/v2`, not `/apiv2`).
    #[default]
    PathPrefix,
    /// The path only.
    Exact,
}

/// A route's backend: one of the app's workloads (its Service), or a Service of the app's
/// chart by name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backend {
    /// A workload of the app: its Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Name>,
    /// A Service the app's chart creates, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Name>,
    /// The Service port: a name of the workload's `ports` (or its number); for a chart's
    /// Service its number.
    pub port: PortRef,
    /// For a chart's Service under a NetworkPolicy: the container port behind the Service
    /// port, which the gateway's proxies are allowed in to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<PortRef>,
    /// For a chart's Service under a NetworkPolicy: the labels of its pods (default
    /// `app.kubernetes.io/instance: <release>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pods: BTreeMap<String, String>,
}

/// Where a gateway's proxies run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayPeer {
    /// Their namespaces, by name.
    #[schemars(length(min = 1))]
    pub namespaces: Vec<Name>,
    /// Their pods' labels (none: every pod of those namespaces).
    #[serde(default)]
    pub pods: BTreeMap<String, String>,
}

impl GatewayPeer {
    /// The proxies as a network peer: those pods (every pod when none are given) in those
    /// namespaces.
    pub fn peer(&self) -> Peer {
        Peer {
            namespaces: self.namespaces.clone(),
            pods: (!self.pods.is_empty()).then(|| self.pods.clone()),
            combine: Some(Combine::And),
            ..Peer::default()
        }
    }
}

/// Whether NetworkPolicies isolate the pods of a backend for ingress.
pub fn isolated(app: &AppSpec, backend: &Backend) -> bool {
    match backend.workload.as_ref() {
        Some(w) => app
            .workloads
            .iter()
            .find(|wl| &wl.name == w)
            .is_some_and(|wl| wl.isolation(app.network_policy.as_ref()).0),
        // A chart's pods: isolated by a default deny, or by a chart policy that restricts
        // ingress (gitopsc cannot tell which of the chart's pods it selects).
        None => {
            app.network_policy.as_ref().is_some_and(|p| p.default_deny)
                || app.network_policies.iter().any(|p| p.ingress.is_some())
        }
    }
}

/// The container port number of a workload's port.
pub fn workload_port(wl: &WorkloadSpec, port: &PortRef) -> Option<u16> {
    let mut served = wl.service_ports();
    match port {
        PortRef::Name(name) => served.find(|p| &p.name == name).map(|p| p.port),
        PortRef::Number(n) => served.find(|p| p.port == *n).map(|p| p.port),
    }
}

/// Every app's routes.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (a, app) in spec.apps.iter().enumerate() {
        let mut names = BTreeSet::new();
        for (r, route) in app.routes.iter().enumerate() {
            let base = SpecPath::app(a).field(AppSpec::ROUTES).index(r);
            if !names.insert(route.name.as_str()) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("route `{}` is declared twice", route.name),
                    )
                    .at(spans.value(&base.field(RouteSpec::NAME)), "second declaration")
                    .help("give each route of the app its own name"),
                );
            }
            for (i, rule) in route.rules.iter().enumerate() {
                check_backend(
                    app,
                    &rule.backend,
                    &base.field(RouteSpec::RULES).index(i).field(RouteRule::BACKEND),
                    spans,
                    &mut diags,
                );
            }
            if route.from.is_none() && route.rules.iter().any(|r| isolated(app, &r.backend)) {
                diags.push(
                    Diagnostic::error(Code::NetworkRule, format!(
                        "route `{}`: a NetworkPolicy isolates its backends, and the gateway's proxies are not named",
                        route.name
                    ))
                    .at(spans.value(&base.field(RouteSpec::NAME)), "needs `from`")
                    .help("set the route's `from: {namespaces: [...], pods: {...}}` to where your Gateway implementation runs its proxies (e.g. the Gateway's namespace for Envoy Gateway or Istio, the controller's for others)"),
                );
            }
        }
    }
    diags
}

/// One backend: it exists, serves the port, and is reachable through its NetworkPolicies.
fn check_backend(
    app: &AppSpec,
    backend: &Backend,
    at: &SpecPath,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    let error = |field: Field, message: String, help: String| {
        Diagnostic::error(Code::RouteBackend, message)
            .at(spans.value(&at.field(field)).or(spans.key(at)), "")
            .help(help)
    };
    match (&backend.workload, &backend.service) {
        (Some(w), None) => match app.workloads.iter().find(|wl| &wl.name == w) {
            None => diags.push(error(
                Backend::WORKLOAD,
                format!("route backend `{w}` is no workload of app `{}`", app.name),
                format!(
                    "name one of: {}",
                    app.workloads
                        .iter()
                        .map(|wl| format!("`{}`", wl.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(wl) if workload_port(wl, &backend.port).is_none() => diags.push(error(
                Backend::PORT,
                format!("the Service of workload `{w}` serves no port `{}`", backend.port),
                format!(
                    "name one of its Service's ports: {}",
                    wl.service_ports()
                        .map(|p| format!("`{}`", p.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(_) => {}
        },
        (None, Some(s)) => {
            if app.helm.is_none() {
                diags.push(error(
                    Backend::SERVICE,
                    format!(
                        "route backend `{s}` names a chart's Service, but app `{}` installs no chart",
                        app.name
                    ),
                    "name one of the app's workloads with `workload:`".into(),
                ));
            }
            if let PortRef::Name(p) = &backend.port {
                diags.push(error(
                    Backend::PORT,
                    format!("the port of a chart's Service must be a number, not `{p}`"),
                    "the Gateway API needs the Service port's number (its name is not enough)".into(),
                ));
            }
            if isolated(app, backend) && backend.target_port.is_none() {
                diags.push(error(
                    Backend::SERVICE,
                    format!("the gateway must be allowed in to the pods behind `{s}`, on a port gitopsc does not know"),
                    "set `targetPort` to the container port the Service forwards to (and `pods` if the chart's pods lack `app.kubernetes.io/instance: <release>`)".into(),
                ));
            }
        }
        _ => diags.push(
            Diagnostic::error(
                Code::OneOfRequired,
                "a route backend names one `workload` or one `service`",
            )
            .at(spans.key(at), "")
            .help("set `workload:` for a workload of the app, or `service:` for a Service of its chart"),
        ),
    }
}
