//! Gateway API routes: an HTTPRoute per `apps[].routes[]` entry, and, where a NetworkPolicy
//! isolates a backend's pods, a NetworkPolicy letting the gateway's proxies (the route's
//! `from`) in to the backend's container port. NetworkPolicies add up, so that policy sits
//! beside the workload's own without changing it; where nothing isolates the pods it is not
//! written (a new policy would isolate them).

use super::Manifest;
use super::part::{AppCtx, Part, Parts, Topic};
use super::workload::policy::{NetworkPolicyItem, peer_values};
use super::workload::{Meta, app_labels, selector};
use crate::kinds;
use crate::spec::routes::{Backend, PathType, RouteSpec, isolated, workload_port};
use crate::spec::workload::PortRef;
use serde::Serialize;
use serde_json::{Value, json};

/// The part of an app's routes.
pub struct Routes;

/// An HTTPRoute.
#[derive(Debug, Serialize)]
struct RouteItem {
    meta: Meta,
    parent_refs: Vec<Value>,
    hostnames: Vec<String>,
    rules: Vec<Value>,
}

impl Part for Routes {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        for route in &app.spec.routes {
            out.release(Manifest::new(
                format!("httproute-{}.yaml", route.name),
                "gateway/httproute.yaml.j2",
                &kinds::HTTP_ROUTE,
                route_item(app, route),
            ));
            for (i, rule) in route.rules.iter().enumerate() {
                if let Some(policy) = gateway_policy(app, route, &rule.backend, i) {
                    out.release(policy);
                }
            }
            let parents: Vec<String> = route
                .parents
                .iter()
                .map(|p| {
                    format!(
                        "`{}/{}`",
                        p.namespace
                            .as_ref()
                            .map_or(app.namespace.as_str(), |n| n.as_str()),
                        p.name
                    )
                })
                .collect();
            out.caveat(
                Topic::Network,
                format!(
                    "HTTPRoute `{}` attaches to {}: each listener must allow routes from namespace `{}` (`allowedRoutes`), or the route is never accepted and the release waits until its timeout.",
                    route.name,
                    parents.join(", "),
                    app.namespace
                ),
            );
        }
    }
}

/// The HTTPRoute of a route.
fn route_item(app: &AppCtx, route: &RouteSpec) -> RouteItem {
    let parent_refs = route
        .parents
        .iter()
        .map(|p| {
            let mut parent = json!({"name": p.name});
            if let Some(ns) = &p.namespace {
                parent["namespace"] = json!(ns);
            }
            if let Some(section) = &p.section_name {
                parent["sectionName"] = json!(section);
            }
            if let Some(port) = p.port {
                parent["port"] = json!(port);
            }
            parent
        })
        .collect();
    let rules = route
        .rules
        .iter()
        .map(|rule| {
            let (name, port) = backend_service(app, &rule.backend);
            let mut out = json!({"backendRefs": [{"name": name, "port": port}]});
            if !rule.paths.is_empty() {
                let matches: Vec<Value> = rule
                    .paths
                    .iter()
                    .map(|m| {
                        let kind = match m.kind {
                            PathType::PathPrefix => "PathPrefix",
                            PathType::Exact => "Exact",
                        };
                        json!({"path": {"type": kind, "value": m.value}})
                    })
                    .collect();
                out["matches"] = json!(matches);
            }
            out
        })
        .collect();
    RouteItem {
        meta: Meta {
            name: route.name.to_string(),
            namespace: app.namespace.clone(),
            labels: app_labels(&app.name),
        },
        parent_refs,
        hostnames: route.hostnames.iter().map(|h| h.0.clone()).collect(),
        rules,
    }
}

/// The Service and port number a backend names (checked by `spec::routes`; a port the check
/// refused renders as 0, never reached since the build stops on errors).
fn backend_service(app: &AppCtx, backend: &Backend) -> (String, u16) {
    match (&backend.workload, &backend.service) {
        (Some(w), _) => {
            let wl = app.spec.workloads.iter().find(|wl| &wl.name == w);
            let port = wl.and_then(|wl| workload_port(wl, &backend.port)).unwrap_or(0);
            (wl.map_or_else(|| w.to_string(), |wl| wl.service_name()), port)
        }
        (None, Some(s)) => {
            let port = match backend.port {
                PortRef::Number(n) => n,
                PortRef::Name(_) => 0,
            };
            (s.to_string(), port)
        }
        (None, None) => (String::new(), 0),
    }
}

/// The NetworkPolicy that lets the gateway's proxies in to a backend's pods, when a policy
/// isolates them.
fn gateway_policy(app: &AppCtx, route: &RouteSpec, backend: &Backend, index: usize) -> Option<Manifest> {
    let from = route.from.as_ref()?;
    if !isolated(app.spec, backend) {
        return None;
    }
    let (pods, port) = match (&backend.workload, &backend.service) {
        (Some(w), _) => {
            let wl = app.spec.workloads.iter().find(|wl| &wl.name == w)?;
            (
                selector(&app.name, w.as_str()),
                json!(workload_port(wl, &backend.port)?),
            )
        }
        (None, Some(_)) => {
            let pods = if backend.pods.is_empty() {
                let release = app.spec.helm.as_ref()?.release(app.spec.name.as_str());
                super::StrMap::from_iter([("app.kubernetes.io/instance".to_string(), release.to_string())])
            } else {
                super::StrMap::from(&backend.pods)
            };
            let port = match backend.target_port.as_ref()? {
                PortRef::Number(n) => json!(n),
                PortRef::Name(s) => json!(s),
            };
            (pods, port)
        }
        (None, None) => return None,
    };
    let name = format!("route-{}-{index}", route.name);
    let item = NetworkPolicyItem {
        meta: Meta {
            name: name.clone(),
            namespace: app.namespace.clone(),
            labels: app_labels(&app.name),
        },
        pod_selector: pods,
        policy_types: vec!["Ingress"],
        ingress: vec![
            json!({"from": peer_values(&from.peer(), &app.name), "ports": [{"protocol": "TCP", "port": port}]}),
        ],
        egress: Vec::new(),
        api_server_any: Vec::new(),
    };
    Some(Manifest::new(
        format!("networkpolicy-{name}.yaml"),
        "policy/networkpolicy.yaml.j2",
        &kinds::NETWORK_POLICY,
        item,
    ))
}
