//! Checks of the Services gitopsc writes for a type other than `ClusterIP`: the fields each
//! type takes, as the API server checks them (`nodePort` with `NodePort` and `LoadBalancer`
//! only and within the node port range, `clusterIP: None` with `ClusterIP` only,
//! `loadBalancerClass` with `LoadBalancer` only, `externalTrafficPolicy` with a type that
//! opens node ports), and node ports taken once in the cluster.

use super::path::SpecPath;
use super::workload::{
    NODE_PORT_RANGE, Protocol, ServicePortSpec, ServiceSpec, ServiceType, WorkloadService,
    WorkloadServiceSpec, WorkloadSpec,
};
use super::workload_checks::{Report, label_key_ok};
use super::{AppSpec, ClusterSpec};
use crate::diagnostic::Code;
use std::collections::BTreeMap;

/// A Service as its type checks see it: its name, type and type-bound fields with their
/// places in the spec.
pub(super) struct ServiceShape<'a> {
    /// The Service's name.
    pub name: &'a str,
    /// Its type.
    pub kind: ServiceType,
    /// Where `headless: true` is written, when it is.
    pub headless: Option<SpecPath>,
    /// Its `loadBalancerClass` and where.
    pub load_balancer_class: Option<(&'a str, SpecPath)>,
    /// Where its `externalTrafficPolicy` is written, when it is.
    pub external_traffic_policy: Option<SpecPath>,
    /// Its node ports with their protocols and places.
    pub node_ports: Vec<(u16, Protocol, SpecPath)>,
}

impl<'a> ServiceShape<'a> {
    /// The shape of a Service of the app's `services`, at `p`.
    pub fn of_service(svc: &'a ServiceSpec, p: &SpecPath) -> Self {
        ServiceShape {
            name: svc.name.as_str(),
            kind: svc.kind,
            headless: svc.headless.then(|| p.field(ServiceSpec::HEADLESS)),
            load_balancer_class: svc
                .load_balancer_class
                .as_deref()
                .map(|c| (c, p.field(ServiceSpec::LOAD_BALANCER_CLASS))),
            external_traffic_policy: svc
                .external_traffic_policy
                .map(|_| p.field(ServiceSpec::EXTERNAL_TRAFFIC_POLICY)),
            node_ports: svc
                .ports
                .iter()
                .enumerate()
                .filter_map(|(i, port)| {
                    let at = p
                        .field(ServiceSpec::PORTS)
                        .index(i)
                        .field(ServicePortSpec::NODE_PORT);
                    port.node_port.map(|n| (n, port.protocol, at))
                })
                .collect(),
        }
    }

    /// The shape of a workload's own Service with settings, at `p` (the workload).
    pub fn of_workload(wl: &'a WorkloadSpec, settings: &'a WorkloadServiceSpec, p: &SpecPath) -> Self {
        let sp = p.field(WorkloadSpec::SERVICE);
        ServiceShape {
            name: wl.name.as_str(),
            kind: settings.kind,
            headless: None,
            load_balancer_class: settings
                .load_balancer_class
                .as_deref()
                .map(|c| (c, sp.field(WorkloadServiceSpec::LOAD_BALANCER_CLASS))),
            external_traffic_policy: settings
                .external_traffic_policy
                .map(|_| sp.field(WorkloadServiceSpec::EXTERNAL_TRAFFIC_POLICY)),
            node_ports: settings
                .node_ports
                .iter()
                .map(|(name, n)| {
                    let protocol = wl.port(name).map(|p| p.protocol).unwrap_or_default();
                    (*n, protocol, sp.field(WorkloadServiceSpec::NODE_PORTS).key(name))
                })
                .collect(),
        }
    }
}

/// The fields a Service's type does not take, and node ports outside the range.
pub(super) fn check_type(shape: &ServiceShape, r: &mut Report) {
    let kind = &shape.kind;
    let name = shape.name;
    if let Some(at) = &shape.headless
        && *kind != ServiceType::ClusterIP
    {
        r.error_key(
            Code::ServiceTypeField,
            at,
            format!("Service `{name}` is headless and of type `{}`", kind.as_str()),
            "headless needs ClusterIP",
            "a headless Service (`clusterIP: None`) has no address to open on the nodes: drop `headless`, or make it `type: ClusterIP`",
        );
    }
    if let Some((class, at)) = &shape.load_balancer_class {
        if *kind != ServiceType::LoadBalancer {
            r.error_key(
                Code::ServiceTypeField,
                at,
                format!("Service `{name}` has a `loadBalancerClass` but is of type `{}`", kind.as_str()),
                "LoadBalancer only",
                "the API server takes `loadBalancerClass` on `type: LoadBalancer` only: make it one, or drop the class",
            );
        }
        if !label_key_ok(class) {
            r.error(
                Code::ServiceTypeField,
                at,
                format!("`{class}` is not a load balancer class"),
                "invalid class",
                "a class is a label-style name, e.g. `example.com/internal-vip`",
            );
        }
    }
    if let Some(at) = &shape.external_traffic_policy
        && !kind.opens_node_ports()
    {
        r.error_key(
            Code::ServiceTypeField,
            at,
            format!("Service `{name}` has an `externalTrafficPolicy` but is of type `ClusterIP`"),
            "NodePort or LoadBalancer only",
            "external traffic reaches a Service through its node ports or load balancer: make it `type: NodePort` or `LoadBalancer`, or drop the policy",
        );
    }
    let (low, high) = NODE_PORT_RANGE;
    for (port, _, at) in &shape.node_ports {
        if !kind.opens_node_ports() {
            r.error_key(
                Code::ServiceTypeField,
                at,
                format!("Service `{name}` has a node port but is of type `ClusterIP`"),
                "NodePort or LoadBalancer only",
                "a ClusterIP Service opens no port on the nodes: make it `type: NodePort` or `LoadBalancer`, or drop the node port",
            );
        } else if !(low..=high).contains(port) {
            r.error(
                Code::NodePort,
                at,
                format!("node port {port} is outside the node port range {low}-{high}"),
                "out of range",
                format!(
                    "the API server allocates node ports from {low}-{high} (its `--service-node-port-range`): pick one there, or leave it out and let Kubernetes pick"
                ),
            );
        }
    }
}

/// Node ports are the cluster's: one port (and protocol) serves one Service.
pub(super) fn check_node_ports(spec: &ClusterSpec, r: &mut Report) {
    let mut taken: BTreeMap<(u16, Protocol), String> = BTreeMap::new();
    for (a, app) in spec.apps.iter().enumerate() {
        let base = SpecPath::app(a);
        let mut shapes = Vec::new();
        for (w, wl) in app.workloads.iter().enumerate() {
            if let WorkloadService::Settings(settings) = &wl.service {
                let p = base.field(AppSpec::WORKLOADS).index(w);
                shapes.push(ServiceShape::of_workload(wl, settings, &p));
            }
        }
        for (i, svc) in app.services.iter().enumerate() {
            shapes.push(ServiceShape::of_service(
                svc,
                &base.field(AppSpec::SERVICES).index(i),
            ));
        }
        for shape in &shapes {
            for (port, protocol, at) in &shape.node_ports {
                let owner = format!("{}/{}", app.namespace(), shape.name);
                match taken.get(&(*port, *protocol)) {
                    Some(first) => r.error(
                        Code::NodePort,
                        at,
                        format!("node port {port} is taken twice: by `{first}` and by `{owner}`"),
                        "taken",
                        "a node port serves one Service in the whole cluster: pick another, or leave it out and let Kubernetes pick",
                    ),
                    None => {
                        taken.insert((*port, *protocol), owner);
                    }
                }
            }
        }
    }
}
