//! Semantic checks of the workload parts of a spec: references that resolve (ConfigMaps,
//! keys, ports, ServiceAccounts, workloads), fields that fit the workload's kind, options
//! that contradict each other (instance identity with a Deployment or an autoscaler), RBAC
//! rules, security contexts the namespace's Pod Security level refuses, and names that would
//! collide in the namespace.

use super::network::{self, PeerPlace};
use super::path::{Field, SpecPath};
use super::places::Places;
use super::pod_security;
use super::schema::did_you_mean;
use super::secrets::SecretSpec;
use super::service_checks::{self, ServiceShape};
use super::workload::*;
use super::{AppSpec, ClusterSpec, Defaults, Name, PodSecurityLevel};
use crate::diagnostic::{Code, Diagnostic};
use std::collections::{BTreeMap, BTreeSet};

/// The longest StatefulSet name whose pods' `controller-revision-hash` label still fits.
const MAX_STATEFULSET_NAME: usize = 52;

/// Collects diagnostics with spans looked up by JSON pointer: the one report of the
/// workload, Service, network-policy and chart-policy checks.
pub(super) struct Report<'a> {
    pub(super) spans: &'a Places,
    pub(super) diags: Vec<Diagnostic>,
}

impl<'a> Report<'a> {
    /// An empty report over `spans`.
    pub(super) fn new(spans: &'a Places) -> Self {
        Report {
            spans,
            diags: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, d: Diagnostic, pointer: &SpecPath, key: bool, label: &str, help: String) {
        let span = if key {
            self.spans.key(pointer)
        } else {
            self.spans.value(pointer)
        };
        let mut d = d.at(span, label);
        if !help.is_empty() {
            d = d.help(help);
        }
        self.diags.push(d);
    }

    /// An error at the value at `pointer`.
    pub(super) fn error(
        &mut self,
        code: Code,
        pointer: &SpecPath,
        message: String,
        label: &str,
        help: impl Into<String>,
    ) {
        self.push(
            Diagnostic::error(code, message),
            pointer,
            false,
            label,
            help.into(),
        );
    }

    /// An error at the key of the node at `pointer`.
    pub(super) fn error_key(
        &mut self,
        code: Code,
        pointer: &SpecPath,
        message: String,
        label: &str,
        help: impl Into<String>,
    ) {
        self.push(
            Diagnostic::error(code, message),
            pointer,
            true,
            label,
            help.into(),
        );
    }

    /// A warning at the key of the node at `pointer`.
    pub(super) fn warn(
        &mut self,
        code: Code,
        pointer: &SpecPath,
        message: String,
        label: &str,
        help: impl Into<String>,
    ) {
        self.push(
            Diagnostic::warning(code, message),
            pointer,
            true,
            label,
            help.into(),
        );
    }

    /// An error for a reference to an unknown name, with a did-you-mean.
    pub(super) fn unknown<'c>(
        &mut self,
        code: Code,
        pointer: &SpecPath,
        message: String,
        given: &str,
        candidates: impl Iterator<Item = &'c str> + Clone,
        otherwise: String,
    ) {
        let help = match did_you_mean(given, candidates.clone()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => {
                let known: Vec<String> = candidates.map(|c| format!("`{c}`")).collect();
                if known.is_empty() {
                    otherwise
                } else {
                    format!("known: {}", known.join(", "))
                }
            }
        };
        self.error(code, pointer, message, "unknown", help);
    }
}

/// Runs the workload checks on a spec that passed the schema.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut r = Report::new(spans);
    let levels = namespace_levels(spec);
    check_namespace_levels(spec, &mut r);
    // (namespace, kind, name) → the pointer that first emits it.
    let mut objects: BTreeMap<(String, &str, String), SpecPath> = BTreeMap::new();
    let mut warned_monitoring_labels = false;
    for (a, app) in spec.apps.iter().enumerate() {
        let base = SpecPath::app(a);
        let namespace = app.namespace().to_string();
        let mut claim = |r: &mut Report, kind: &'static str, name: String, pointer: SpecPath| {
            let key = (namespace.clone(), kind, name.clone());
            if let Some(first) = objects.get(&key) {
                r.error(
                    Code::ObjectTwice,
                    &pointer,
                    format!("the {kind} `{name}` in namespace `{namespace}` would be emitted twice"),
                    "name taken",
                    format!("`{first}` already emits it: rename one of them"),
                );
            } else {
                objects.insert(key, pointer);
            }
        };
        for (c, cm) in app.config_maps.iter().enumerate() {
            claim(
                &mut r,
                "ConfigMap",
                cm.name.to_string(),
                base.field(AppSpec::CONFIG_MAPS)
                    .index(c)
                    .field(ConfigMapSpec::NAME),
            );
        }
        for (s, sa) in app.service_accounts.iter().enumerate() {
            let p = base.field(AppSpec::SERVICE_ACCOUNTS).index(s);
            claim(
                &mut r,
                "ServiceAccount",
                sa.name.to_string(),
                p.field(ServiceAccountSpec::NAME),
            );
            check_rules(&mut r, &sa.rules, &p.field(ServiceAccountSpec::RULES), false);
            check_rules(
                &mut r,
                &sa.cluster_rules,
                &p.field(ServiceAccountSpec::CLUSTER_RULES),
                true,
            );
        }
        for (w, wl) in app.workloads.iter().enumerate() {
            let p = base.field(AppSpec::WORKLOADS).index(w).field(WorkloadSpec::NAME);
            claim(&mut r, wl.kind.as_str(), wl.name.to_string(), p.clone());
            for service in service_names(wl) {
                claim(&mut r, "Service", service, p.clone());
            }
        }
        for (i, svc) in app.services.iter().enumerate() {
            let p = base.field(AppSpec::SERVICES).index(i).field(ServiceSpec::NAME);
            claim(&mut r, "Service", svc.name.to_string(), p);
        }
        if !app.workloads.is_empty()
            || app.network_policy.is_some()
            || !app.alerts.is_empty()
            || !app.services.is_empty()
        {
            check_app(spec, app, &base, &levels, &mut r);
        }
        if !warned_monitoring_labels {
            warned_monitoring_labels = warn_monitoring_labels(spec, app, &base, &mut r);
        }
    }
    network_policy_neighbours(spec, &mut r);
    check_api_server_ports(spec, &mut r);
    service_checks::check_node_ports(spec, &mut r);
    r.diags
}

/// The first monitor or rule of the cluster warns when monitors carry no labels a Prometheus
/// (or VictoriaMetrics) selects them by; says whether it was the first.
fn warn_monitoring_labels(spec: &ClusterSpec, app: &AppSpec, base: &SpecPath, r: &mut Report) -> bool {
    let monitored = app.workloads.iter().position(|w| w.monitoring.is_some());
    let first_monitor = monitored
        .map(|w| {
            base.field(AppSpec::WORKLOADS)
                .index(w)
                .field(WorkloadSpec::MONITORING)
        })
        .or_else(|| (!app.alerts.is_empty()).then(|| base.field(AppSpec::ALERTS)));
    let Some(pointer) = first_monitor else {
        return false;
    };
    if spec.defaults.monitoring.labels.is_empty() {
        r.warn(Code::MonitorsWithoutLabels,
            &pointer,
            "monitors and rules carry no labels for a Prometheus to select them by".into(),
            "",
            match spec.defaults.monitoring.flavor {
                crate::spec::MonitoringFlavor::Prometheus => "set `defaults.monitoring.labels` to what your Prometheus' `serviceMonitorSelector`, `podMonitorSelector` and `ruleSelector` match (e.g. `release: kube-prometheus-stack`): an object nothing selects fails silently",
                crate::spec::MonitoringFlavor::VictoriaMetrics => "set `defaults.monitoring.labels` to what your VMAgent's `serviceScrapeSelector` and `podScrapeSelector` and your VMAlert's `ruleSelector` match: with no selector they select nothing (unless `selectAllByDefault`), and the Flux Kustomization waits until one applies them",
            },
        );
    }
    true
}

/// The API server ports of `defaults.network`.
fn check_api_server_ports(spec: &ClusterSpec, r: &mut Report) {
    for (i, port) in spec.defaults.network.api_server_ports.iter().enumerate() {
        if *port == 0 {
            r.error(
                Code::PortZero,
                &SpecPath::root()
                    .field(ClusterSpec::DEFAULTS)
                    .field(Defaults::NETWORK)
                    .field(NetworkDefaults::API_SERVER_PORTS)
                    .index(i),
                "port 0 is not a port".into(),
                "",
                "the API server listens on 443 (the `kubernetes` Service) and usually 6443",
            );
        }
    }
}

/// The Pod Security level each namespace gitopsc labels is enforced at (see
/// [`super::pod_security`]).
fn namespace_levels(spec: &ClusterSpec) -> BTreeMap<String, PodSecurityLevel> {
    pod_security::namespace_levels(spec)
        .into_iter()
        .map(|(ns, levels)| (ns, levels.enforce))
        .collect()
}

/// Refuses an explicit `restricted` beside a KubeBlocks data service.
fn check_namespace_levels(spec: &ClusterSpec, r: &mut Report) {
    for (a, app) in spec.apps.iter().enumerate() {
        if app.pod_security == Some(PodSecurityLevel::Restricted) && pod_security::runs_kubeblocks(app) {
            r.error(Code::PodSecurityRefused,
                &SpecPath::app(a).field(AppSpec::POD_SECURITY),
                format!(
                    "app `{}` runs a KubeBlocks data service, which Pod Security `restricted` refuses",
                    app.name
                ),
                "refused by Pod Security admission",
                "KubeBlocks' PostgreSQL and Redis addons run the database as root (`runAsUser: 0`): its pods would \
                 never be created. Remove `podSecurity` (gitopsc enforces `baseline` there) or set `podSecurity: baseline`",
            );
        }
    }
}

/// The Services a workload emits.
fn service_names(wl: &WorkloadSpec) -> Vec<String> {
    let mut names = Vec::new();
    if wl.service.enabled() && wl.service_ports().next().is_some() {
        names.push(wl.service_name());
    }
    if wl.kind == WorkloadKind::StatefulSet {
        names.push(wl.headless_service_name());
    }
    if wl.has_metrics_service() {
        names.push(wl.metrics_service_name());
    }
    names
}

fn check_app(
    spec: &ClusterSpec,
    app: &AppSpec,
    base: &SpecPath,
    levels: &BTreeMap<String, PodSecurityLevel>,
    r: &mut Report,
) {
    let configs: BTreeMap<&str, &ConfigMapSpec> =
        app.config_maps.iter().map(|c| (c.name.as_str(), c)).collect();
    let accounts: BTreeMap<&str, &ServiceAccountSpec> = app
        .service_accounts
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let workloads: BTreeMap<&str, &WorkloadSpec> =
        app.workloads.iter().map(|w| (w.name.as_str(), w)).collect();
    let level = levels.get(app.namespace()).copied();
    let refs = Refs {
        configs: &configs,
        secrets: app.secrets.iter().map(|s| (s.name.as_str(), s)).collect(),
        base,
    };
    if app.helm.is_some() && app.network_policy.as_ref().is_some_and(|n| n.default_deny) {
        r.warn(Code::DefaultDenyIsolates,
            &base.field(AppSpec::NETWORK_POLICY).field(NetworkPolicySpec::DEFAULT_DENY),
            format!("the default deny of app `{}` also isolates the pods of its Helm chart", app.name),
            "",
            "they keep DNS and the namespace's databases only: allow what its pods need with the app's `networkPolicies` (or the chart's own network policy values), or set `defaultDeny: false`",
        );
    }
    for (w, wl) in app.workloads.iter().enumerate() {
        let p = base.field(AppSpec::WORKLOADS).index(w);
        check_workload(app, wl, &p, &refs, level, r);
        if let Some(sa) = &wl.service_account
            && !accounts.contains_key(sa.as_str())
        {
            r.unknown(
                Code::WorkloadUnknownName,
                &p.field(WorkloadSpec::SERVICE_ACCOUNT),
                format!("service account `{sa}` is not one of the app's `serviceAccounts`"),
                sa.as_str(),
                accounts.keys().copied(),
                format!("declare it in the app's `serviceAccounts: [{{name: {sa}}}]`"),
            );
        }
        for (field, rules) in [
            (WorkloadSpec::ALLOW_FROM, &wl.allow_from),
            (WorkloadSpec::ALLOW_TO, &wl.allow_to),
        ] {
            for (i, rule) in rules.iter().enumerate() {
                let rp = p.field(field).index(i);
                check_network_rule(wl, rule, &rp, field == WorkloadSpec::ALLOW_FROM, &workloads, r);
            }
        }
        let (_, egress_isolated) = wl.isolation(app.network_policy.as_ref());
        if egress_isolated {
            unanswered_egress(app, wl, &p, &workloads, r);
        }
        let (isolated, _) = wl.isolation(app.network_policy.as_ref());
        if isolated && wl.monitoring.is_some() && spec.defaults.monitoring.namespace.is_none() {
            r.warn(Code::PrometheusNamespace,
                &p.field(WorkloadSpec::MONITORING),
                format!(
                    "a network policy isolates workload `{}`, and Prometheus' namespace is not known",
                    wl.name
                ),
                "",
                "set `defaults.monitoring.namespace` so the metrics port is open to Prometheus, or allow it in `allowFrom`",
            );
        }
    }
    for (i, svc) in app.services.iter().enumerate() {
        check_service(svc, &base.field(AppSpec::SERVICES).index(i), &workloads, r);
    }
    check_alerts(app, base, r);
    check_quota(app, base, r);
}

/// A Service of the app's `services`: what it selects, its ports.
fn check_service(svc: &ServiceSpec, p: &SpecPath, workloads: &BTreeMap<&str, &WorkloadSpec>, r: &mut Report) {
    let target = match (&svc.workload, svc.selector.is_empty()) {
        (Some(name), true) => match workloads.get(name.as_str()) {
            Some(wl) => Some(*wl),
            None => {
                r.unknown(
                    Code::WorkloadUnknownName,
                    &p.field(ServiceSpec::WORKLOAD),
                    format!("`{name}` is not a workload of this app"),
                    name.as_str(),
                    workloads.keys().copied(),
                    "name a workload of this app, or select pods by `selector` labels".into(),
                );
                None
            }
        },
        (None, false) => None,
        (Some(_), false) | (None, true) => {
            r.error(
                Code::OneOfRequired,
                p,
                format!(
                    "Service `{}` needs exactly one of `workload` and `selector`",
                    svc.name
                ),
                "",
                "name the workload whose pods it serves, or the labels of the pods in `selector`",
            );
            None
        }
    };
    service_checks::check_type(&ServiceShape::of_service(svc, p), r);
    check_labels(&svc.selector, &p.field(ServiceSpec::SELECTOR), false, r);
    check_labels(&svc.labels, &p.field(ServiceSpec::LABELS), false, r);
    if svc.ports.is_empty() && !svc.headless {
        r.error_key(
            Code::ServiceInvalid,
            &p.field(ServiceSpec::NAME),
            format!("Service `{}` has no ports", svc.name),
            "no ports",
            "a Service with a cluster address needs a port: add `ports`, or make it `headless: true`",
        );
    }
    let mut names = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    for (i, port) in svc.ports.iter().enumerate() {
        let pp = p.field(ServiceSpec::PORTS).index(i);
        if !names.insert(port.name.as_str()) || !numbers.insert((port.port, port.protocol)) {
            r.error(
                Code::WorkloadDuplicate,
                &pp,
                format!(
                    "Service `{}` declares port `{}` ({}) twice",
                    svc.name, port.name, port.port
                ),
                "",
                "give each port its own name and number",
            );
        }
        if let (Some(wl), Some(PortRef::Name(name))) = (target, &port.target_port)
            && wl.port(name).is_none()
        {
            r.unknown(
                Code::WorkloadUnknownName,
                &pp.field(ServicePortSpec::TARGET_PORT),
                format!("workload `{}` has no port `{name}`", wl.name),
                name,
                wl.all_ports()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .into_iter(),
                "name one of the workload's `ports`, or give the number".into(),
            );
        }
    }
}

/// A workload's own Service with settings: what its type takes, node ports of its ports.
fn check_workload_service(wl: &WorkloadSpec, settings: &WorkloadServiceSpec, p: &SpecPath, r: &mut Report) {
    if wl.kind.runs_to_completion() {
        r.error_key(
            Code::KindMismatch,
            &p.field(WorkloadSpec::SERVICE),
            format!("workload `{}` is a {}: it gets no Service", wl.name, wl.kind.as_str()),
            "not for this kind",
            "its pods come and go: remove `service` (a Service of the app's `services` can select them by labels)",
        );
        return;
    }
    service_checks::check_type(&ServiceShape::of_workload(wl, settings, p), r);
    let served: Vec<&str> = wl.service_ports().map(|port| port.name.as_str()).collect();
    for name in settings.node_ports.keys() {
        if !served.contains(&name.as_str()) {
            r.unknown(
                Code::WorkloadUnknownName,
                &p.field(WorkloadSpec::SERVICE)
                    .field(WorkloadServiceSpec::NODE_PORTS)
                    .key(name),
                format!("the Service of workload `{}` has no port `{name}`", wl.name),
                name,
                served.iter().copied(),
                "name one of the workload's `ports` the Service serves".into(),
            );
        }
    }
}

/// What references inside a workload resolve against.
struct Refs<'a> {
    configs: &'a BTreeMap<&'a str, &'a ConfigMapSpec>,
    secrets: BTreeMap<&'a str, &'a SecretSpec>,
    base: &'a SpecPath,
}

impl Refs<'_> {
    /// Checks the key of a Secret the app's own ExternalSecret builds (other Secrets are not
    /// known at compile time).
    fn secret_key(&self, r: &mut Report, pointer: &SpecPath, name: &Name, key: &ConfigKey) {
        let Some(secret) = self.secrets.get(name.as_str()) else {
            return;
        };
        // `None`: every property of a remote key, not known at compile time.
        let Some(keys) = secret.keys() else {
            return;
        };
        if !keys.contains(&key.0) {
            r.unknown(
                Code::UnknownSecretKey,
                pointer,
                format!(
                    "Secret `{name}` (the app's ExternalSecret) has no key `{}`",
                    key.0
                ),
                &key.0,
                keys.iter().map(String::as_str),
                "add it to the secret's `data`".into(),
            );
        }
    }

    /// Checks a ConfigMap name, and a key of it when given.
    fn config(&self, r: &mut Report, pointer: &SpecPath, name: &Name, key: Option<(&ConfigKey, SpecPath)>) {
        match self.configs.get(name.as_str()) {
            None => r.unknown(Code::WorkloadUnknownName,
                pointer,
                format!("ConfigMap `{name}` is not one of the app's `configMaps`"),
                name.as_str(),
                self.configs.keys().copied(),
                format!(
                    "declare it in the app's `configMaps` (at `{}`): a ConfigMap gitopsc does not write is one `checksum/config` cannot see",
                    self.base
                ),
            ),
            Some(cm) => {
                if let Some((key, key_pointer)) = key
                    && !cm.data.contains_key(key)
                {
                    r.unknown(Code::WorkloadUnknownName,
                        &key_pointer,
                        format!("ConfigMap `{name}` has no key `{}`", key.0),
                        &key.0,
                        cm.data.keys().map(|k| k.0.as_str()),
                        "add it to the ConfigMap's `data`".into(),
                    );
                }
            }
        }
    }
}

fn check_workload(
    app: &AppSpec,
    wl: &WorkloadSpec,
    p: &SpecPath,
    refs: &Refs,
    level: Option<PodSecurityLevel>,
    r: &mut Report,
) {
    check_kind_fields(wl, p, r);
    check_names_and_image(wl, p, r);
    check_ports(wl, p, r);
    let mut env_names: BTreeMap<String, SpecPath> = BTreeMap::new();
    check_env(wl, &wl.env, &p.field(WorkloadSpec::ENV), refs, &mut env_names, r);
    check_env_from(&wl.env_from, &p.field(WorkloadSpec::ENV_FROM), refs, r);
    let mut mounts: BTreeMap<String, SpecPath> = BTreeMap::new();
    check_files(&wl.files, &p.field(WorkloadSpec::FILES), refs, &mut mounts, r);
    let volumes = check_volumes(wl, p, &mut mounts, r);
    check_containers(wl, p, refs, &volumes, r);
    check_probes(
        wl,
        &wl.probes,
        (wl.main_container_name().as_str(), &wl.ports),
        &p.field(WorkloadSpec::PROBES),
        r,
    );
    check_resources(&wl.resources, &p.field(WorkloadSpec::RESOURCES), r);
    check_labels(&wl.labels, &p.field(WorkloadSpec::LABELS), true, r);
    check_labels(&wl.node_selector, &p.field(WorkloadSpec::NODE_SELECTOR), false, r);
    if let Some(level) = level {
        check_pod_security(
            wl,
            app.namespace(),
            level,
            &p.field(WorkloadSpec::SECURITY_CONTEXT),
            r,
        );
    }
    check_strategy(wl, p, r);
    if let WorkloadService::Settings(settings) = &wl.service {
        check_workload_service(wl, settings, p, r);
    }
    if let Some(identity) = &wl.instance_identity {
        check_identity(wl, identity, p, &env_names, r);
    }
    if let Some(hpa) = &wl.autoscaling {
        check_autoscaling(wl, hpa, p, r);
    }
    if let Some(pdb) = &wl.disruption_budget {
        check_disruption_budget(wl, pdb, p, r);
    }
    if let Some(m) = &wl.monitoring {
        check_monitor_endpoint(m, &p.field(WorkloadSpec::MONITORING), r);
    }
    if let Some(m) = &wl.monitoring
        && wl.port(&m.port).is_none()
    {
        r.unknown(
            Code::WorkloadUnknownName,
            &p.field(WorkloadSpec::MONITORING).field(WorkloadMonitoring::PORT),
            format!("workload `{}` has no port `{}`", wl.name, m.port),
            &m.port,
            wl.ports.iter().map(|p| p.name.as_str()),
            "declare it in the workload's `ports` (a monitor scrapes a named port)".into(),
        );
    }
}

/// Fields of another kind: a Deployment's on a StatefulSet, a StatefulSet's on a Deployment,
/// a serving workload's (replicas, autoscaler, disruption budget) on a Job or CronJob, `job`
/// on a serving workload.
fn check_kind_fields(wl: &WorkloadSpec, p: &SpecPath, r: &mut Report) {
    use WorkloadKind::{CronJob, Deployment, Job, StatefulSet};
    let kind = wl.kind.as_str();
    let fields: [(Field, bool, &[WorkloadKind]); 8] = [
        (WorkloadSpec::STRATEGY, wl.strategy.is_some(), &[Deployment]),
        (
            WorkloadSpec::UPDATE_STRATEGY,
            wl.update_strategy.is_some(),
            &[StatefulSet],
        ),
        (
            WorkloadSpec::POD_MANAGEMENT_POLICY,
            r.spans.contains(&p.field(WorkloadSpec::POD_MANAGEMENT_POLICY)),
            &[StatefulSet],
        ),
        (
            WorkloadSpec::VOLUME_CLAIM_TEMPLATES,
            !wl.volume_claim_templates.is_empty(),
            &[StatefulSet],
        ),
        (
            WorkloadSpec::REPLICAS,
            wl.replicas.is_some(),
            &[Deployment, StatefulSet],
        ),
        (
            WorkloadSpec::AUTOSCALING,
            wl.autoscaling.is_some(),
            &[Deployment, StatefulSet],
        ),
        (
            WorkloadSpec::DISRUPTION_BUDGET,
            wl.disruption_budget.is_some(),
            &[Deployment, StatefulSet],
        ),
        (WorkloadSpec::JOB, wl.job.is_some(), &[Job, CronJob]),
    ];
    for (field, set, kinds) in fields {
        if !set || kinds.contains(&wl.kind) {
            continue;
        }
        let at = p.field(field);
        let field = field.name();
        let owners: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let help = if wl.kind == StatefulSet && field == "strategy" {
            "a StatefulSet's rollout is set by `updateStrategy` and `podManagementPolicy`".to_string()
        } else if wl.kind.runs_to_completion() {
            format!(
                "a {kind}'s pods run to completion: `job.parallelism` and `job.completions` say how many; remove `{field}`"
            )
        } else {
            format!("remove it, or make the workload `kind: {}`", owners[0])
        };
        r.error_key(
            Code::KindMismatch,
            &at,
            format!(
                "`{field}` is a {} field; workload `{}` is a {kind}",
                owners.join(" and "),
                wl.name
            ),
            "not for this kind",
            help,
        );
    }
    if wl.kind.runs_to_completion() {
        check_job(wl, p, r);
    }
}

/// A Job's or CronJob's settings: a CronJob's schedule, no CronJob field on a Job, a scrape
/// through the pods.
fn check_job(wl: &WorkloadSpec, p: &SpecPath, r: &mut Report) {
    let settings = wl.job.clone().unwrap_or_default();
    let jp = p.field(WorkloadSpec::JOB);
    if wl.kind == WorkloadKind::Job {
        for field in settings.cron_fields() {
            let at = jp.field(field);
            let field = field.name();
            r.error_key(
                Code::KindMismatch,
                &at,
                format!("`{field}` is a CronJob field; workload `{}` is a Job", wl.name),
                "not for this kind",
                if field == "ttlSecondsAfterFinished" {
                    "Flux applies the Job again once Kubernetes deleted it, so it would run again: keep finished Jobs (a CronJob may delete its own)".to_string()
                } else {
                    "remove it, or make the workload `kind: CronJob`".to_string()
                },
            );
        }
    } else {
        check_schedule(wl, &settings, &jp, p, r);
    }
    if let Some(m) = &wl.monitoring
        && m.via == ScrapeVia::Service
    {
        r.error_key(
            Code::KindMismatch,
            &p.field(WorkloadSpec::MONITORING),
            format!(
                "workload `{}` is a {}: it gets no Service to scrape through",
                wl.name,
                wl.kind.as_str()
            ),
            "no Service",
            "its pods come and go: scrape them with `via: pod`",
        );
    }
}

/// The macros a CronJob schedule may be.
const CRON_MACROS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// A CronJob's schedule: present, five fields or a macro, its time zone in `timeZone`.
fn check_schedule(wl: &WorkloadSpec, settings: &JobSettings, jp: &SpecPath, p: &SpecPath, r: &mut Report) {
    let Some(schedule) = &settings.schedule else {
        let at = if wl.job.is_some() {
            jp.clone()
        } else {
            p.field(WorkloadSpec::KIND)
        };
        r.error_key(
            Code::JobSchedule,
            &at,
            format!("CronJob `{}` has no `job.schedule`", wl.name),
            "no schedule",
            "say when its Job starts, e.g. `job: {schedule: \"0 3 * * *\"}` (03:00 every day)",
        );
        return;
    };
    let sp = jp.field(JobSettings::SCHEDULE);
    let trimmed = schedule.trim();
    let problem = if trimmed.starts_with("TZ=") || trimmed.starts_with("CRON_TZ=") {
        Some("Kubernetes refuses a time zone inside the schedule: write it in `job.timeZone`".to_string())
    } else if trimmed.starts_with('@') {
        (!CRON_MACROS.contains(&trimmed)).then(|| format!("the macros are {}", CRON_MACROS.join(", ")))
    } else {
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let allowed = |f: &&str| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || "*/,-?".contains(c))
        };
        if fields.len() != 5 {
            Some(format!(
                "a schedule has five fields (minute, hour, day of month, month, day of week); this one has {}",
                fields.len()
            ))
        } else {
            fields
                .iter()
                .find(|f| !allowed(f))
                .map(|f| format!("`{f}` is not a cron field: use digits, names, `*`, `/`, `,`, `-` and `?`"))
        }
    };
    if let Some(help) = problem {
        r.error(
            Code::JobSchedule,
            &sp,
            format!("`{schedule}` is not a schedule Kubernetes accepts"),
            "invalid schedule",
            help,
        );
    }
    if let Some(zone) = &settings.time_zone {
        let ok = !zone.is_empty()
            && !zone.starts_with('/')
            && !zone.ends_with('/')
            && !zone.contains("..")
            && zone
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if !ok {
            r.error(
                Code::JobSchedule,
                &jp.field(JobSettings::TIME_ZONE),
                format!("`{zone}` is not a time zone name"),
                "invalid time zone",
                "write an IANA time zone such as `Etc/UTC` or `Europe/Berlin`",
            );
        }
    }
}

/// The names the workload gives its objects, and its image's tag.
fn check_names_and_image(wl: &WorkloadSpec, p: &SpecPath, r: &mut Report) {
    let sts = wl.kind == WorkloadKind::StatefulSet;
    if sts && wl.name.as_str().len() > MAX_STATEFULSET_NAME {
        r.error(Code::InvalidName,
            &p.field(WorkloadSpec::NAME),
            format!(
                "the StatefulSet name `{}` is longer than {MAX_STATEFULSET_NAME} characters",
                wl.name
            ),
            "too long",
            "its pods carry the label `controller-revision-hash: <name>-<hash>`, which must fit in 63 characters: shorten the name",
        );
    }
    for service in service_names(wl) {
        if !service.starts_with(|c: char| c.is_ascii_lowercase()) || service.len() > 63 {
            r.error(
                Code::InvalidName,
                &p.field(WorkloadSpec::NAME),
                format!("the Service name `{service}` is not a valid Service name"),
                "",
                "Service names start with a letter and have at most 63 characters: rename the workload",
            );
        }
    }
    if !wl.image.contains('@') {
        let tag = wl
            .image
            .rsplit_once('/')
            .map_or(wl.image.as_str(), |(_, last)| last)
            .split_once(':')
            .map(|(_, t)| t);
        if matches!(tag, None | Some("latest")) {
            r.warn(Code::UnpinnedImage,
                &p.field(WorkloadSpec::IMAGE),
                format!("the image `{}` has no fixed tag", wl.image),
                "",
                "pin a version tag or a digest: a moved `latest` changes nothing in Git, so pods never roll to it (and nodes run different images)",
            );
        }
    }
}

/// The workload's volumes (`emptyDirs`, `volumeClaimTemplates`): unique names and mount
/// paths, positive sizes. Returns their names.
fn check_volumes<'a>(
    wl: &'a WorkloadSpec,
    p: &SpecPath,
    mounts: &mut BTreeMap<String, SpecPath>,
    r: &mut Report,
) -> BTreeSet<&'a str> {
    let mut volumes: BTreeSet<&str> = BTreeSet::new();
    for (i, dir) in wl.empty_dirs.iter().enumerate() {
        let dp = p.field(WorkloadSpec::EMPTY_DIRS).index(i);
        mount_path(&dir.mount_path, &dp.field(EmptyDirSpec::MOUNT_PATH), mounts, r);
        unique_volume(dir.name.as_str(), &dp.field(EmptyDirSpec::NAME), &mut volumes, r);
    }
    for (i, claim) in wl.volume_claim_templates.iter().enumerate() {
        let cp = p.field(WorkloadSpec::VOLUME_CLAIM_TEMPLATES).index(i);
        mount_path(
            &claim.mount_path,
            &cp.field(VolumeClaimSpec::MOUNT_PATH),
            mounts,
            r,
        );
        unique_volume(
            claim.name.as_str(),
            &cp.field(VolumeClaimSpec::NAME),
            &mut volumes,
            r,
        );
        if claim.size.value().is_none_or(|v| v <= 0.0) {
            r.error(
                Code::InvalidResources,
                &cp.field(VolumeClaimSpec::SIZE),
                format!(
                    "the volume size `{}` is not a positive quantity",
                    claim.size.text()
                ),
                "",
                "write a size such as `10Gi`",
            );
        }
    }
    volumes
}

/// The pod's other containers (`initContainers`, then `containers`): unique names, what
/// only a running container takes (ports, probes), their environment, files, mounts of the
/// workload's volumes and resources.
fn check_containers(wl: &WorkloadSpec, p: &SpecPath, refs: &Refs, volumes: &BTreeSet<&str>, r: &mut Report) {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for (cp, c, regular) in wl.other_containers(p) {
        check_container_kind(c, &cp, regular, r);
        // `containerName` against an init container is `names`' check.
        let main = c.name == *wl.main_container_name() && (regular || wl.container_name.is_none());
        if main || !names.insert(c.name.as_str()) {
            r.error(
                Code::WorkloadDuplicate,
                &cp.field(ContainerSpec::NAME),
                format!("the container name `{}` is used twice in the pod", c.name),
                "",
                "container names are unique in a pod (the workload's own container is named after it, or `containerName`)",
            );
        }
        check_container_parts(wl, c, &cp, refs, volumes, r);
    }
}

/// What a container takes as an init container, a sidecar or a regular container.
fn check_container_kind(c: &ContainerSpec, cp: &SpecPath, regular: bool, r: &mut Report) {
    if regular && c.sidecar {
        r.error_key(
            Code::KindMismatch,
            &cp.field(ContainerSpec::SIDECAR),
            format!("container `{}` is not an init container", c.name),
            "init containers only",
            "a container of `containers` runs beside the workload's container already: remove `sidecar`, or move it to `initContainers` to start it first",
        );
    }
    if c.keeps_running(regular) {
        return;
    }
    if !c.ports.is_empty() {
        r.error_key(
            Code::KindMismatch,
            &cp.field(ContainerSpec::PORTS),
            format!(
                "init container `{}` runs to completion: it serves no ports",
                c.name
            ),
            "not a sidecar",
            "make it a sidecar (`sidecar: true`) to keep it running beside the workload's container",
        );
    }
    let probes = &c.probes;
    if probes.liveness.is_some() || probes.readiness.is_some() || probes.startup.is_some() {
        r.error_key(
            Code::InitContainerProbe,
            &cp.field(ContainerSpec::PROBES),
            format!(
                "init container `{}` runs to completion: the API server refuses its probes",
                c.name
            ),
            "not a sidecar",
            "remove `probes`, or make it a sidecar (`sidecar: true`) when it keeps running",
        );
    }
}

/// A container's environment, files, mounts, resources and probes.
fn check_container_parts(
    wl: &WorkloadSpec,
    c: &ContainerSpec,
    cp: &SpecPath,
    refs: &Refs,
    volumes: &BTreeSet<&str>,
    r: &mut Report,
) {
    check_env(
        wl,
        &c.env,
        &cp.field(ContainerSpec::ENV),
        refs,
        &mut BTreeMap::new(),
        r,
    );
    check_env_from(&c.env_from, &cp.field(ContainerSpec::ENV_FROM), refs, r);
    check_files(
        &c.files,
        &cp.field(ContainerSpec::FILES),
        refs,
        &mut BTreeMap::new(),
        r,
    );
    for (m, name) in c.mounts.iter().enumerate() {
        if !volumes.contains(name.as_str()) {
            r.unknown(
                Code::WorkloadUnknownName,
                &cp.field(ContainerSpec::MOUNTS).index(m),
                format!("workload `{}` has no volume `{name}`", wl.name),
                name.as_str(),
                volumes.iter().copied(),
                "a container can mount the workload's `emptyDirs` and `volumeClaimTemplates`".into(),
            );
        }
    }
    check_resources(&c.resources, &cp.field(ContainerSpec::RESOURCES), r);
    check_probes(
        wl,
        &c.probes,
        (c.name.as_str(), &c.ports),
        &cp.field(ContainerSpec::PROBES),
        r,
    );
}

/// The pod's ports, the workload container's and its other containers': valid names, each name and
/// number once in the pod (they share its network namespace and its Services).
fn check_ports(wl: &WorkloadSpec, p: &SpecPath, r: &mut Report) {
    let mut names = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    let own = wl
        .ports
        .iter()
        .enumerate()
        .map(|(i, port)| (p.field(WorkloadSpec::PORTS).index(i), port));
    let others = [
        (WorkloadSpec::INIT_CONTAINERS, &wl.init_containers),
        (WorkloadSpec::CONTAINERS, &wl.containers),
    ]
    .into_iter()
    .flat_map(|(list, containers)| {
        containers.iter().enumerate().flat_map(move |(c, container)| {
            container.ports.iter().enumerate().map(move |(i, port)| {
                let at = p.field(list).index(c);
                (at.field(ContainerSpec::PORTS).index(i), port)
            })
        })
    });
    for (pp, port) in own.chain(others) {
        if !port.name.contains(|c: char| c.is_ascii_lowercase()) || port.name.contains("--") {
            r.error(
                Code::InvalidName,
                &pp.field(PortSpec::NAME),
                format!("`{}` is not a valid port name", port.name),
                "",
                "a port name needs at least one letter and no `--` (IANA service name), e.g. `http`",
            );
        }
        if !names.insert(port.name.as_str()) {
            r.error(
                Code::WorkloadDuplicate,
                &pp.field(PortSpec::NAME),
                format!("port name `{}` is used twice", port.name),
                "",
                "give each port its own name",
            );
        }
        if !numbers.insert((port.port, port.protocol)) {
            r.error(
                Code::WorkloadDuplicate,
                &pp.field(PortSpec::PORT),
                format!("port {} is declared twice", port.port),
                "",
                "declare each port once",
            );
        }
    }
}

/// A port by name: one of the pod's ports, or of `own` (a container's, named, as a probe of
/// that container needs).
fn check_port_ref(
    wl: &WorkloadSpec,
    port: &PortRef,
    pointer: &SpecPath,
    own: Option<(&str, &[PortSpec])>,
    r: &mut Report,
) {
    let PortRef::Name(name) = port else {
        return;
    };
    let (known, owner, help): (Vec<&str>, String, &str) = match own {
        Some((container, ports)) if container != wl.main_container_name().as_str() => (
            ports.iter().map(|p| p.name.as_str()).collect(),
            format!("container `{container}`"),
            "a probe's port is one of its own container's `ports`: declare it there, or give the number",
        ),
        Some((_, ports)) => (
            ports.iter().map(|p| p.name.as_str()).collect(),
            format!("workload `{}`", wl.name),
            "declare it in the workload's `ports`",
        ),
        None => (
            wl.all_ports().map(|p| p.name.as_str()).collect(),
            format!("workload `{}`", wl.name),
            "declare it in the workload's `ports`",
        ),
    };
    if !known.contains(&name.as_str()) {
        r.unknown(
            Code::WorkloadUnknownName,
            pointer,
            format!("{owner} has no port `{name}`"),
            name,
            known.iter().copied(),
            help.into(),
        );
    }
}

fn check_env(
    wl: &WorkloadSpec,
    env: &[EnvVar],
    p: &SpecPath,
    refs: &Refs,
    names: &mut BTreeMap<String, SpecPath>,
    r: &mut Report,
) {
    for (i, var) in env.iter().enumerate() {
        let ep = p.index(i);
        let sources = [
            var.value.is_some(),
            var.config_map.is_some(),
            var.secret.is_some(),
            var.field.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            r.error_key(
                Code::OneOfRequired,
                &ep,
                format!("the variable `{}` needs exactly one source", var.name),
                "",
                "give it one of `value`, `configMap: {name, key}`, `secret: {name, key}` or `field`",
            );
        }
        if names.insert(var.name.clone(), ep.clone()).is_some() {
            r.error(
                Code::WorkloadDuplicate,
                &ep.field(EnvVar::NAME),
                format!("the variable `{}` is set twice", var.name),
                "",
                "the container would see only the last one: remove one",
            );
        }
        if let Some(key_ref) = &var.config_map {
            refs.config(
                r,
                &ep.field(EnvVar::CONFIG_MAP).field(KeyRef::NAME),
                &key_ref.name,
                Some((&key_ref.key, ep.field(EnvVar::CONFIG_MAP).field(KeyRef::KEY))),
            );
        }
        if let Some(key_ref) = &var.secret {
            refs.secret_key(
                r,
                &ep.field(EnvVar::SECRET).field(KeyRef::KEY),
                &key_ref.name,
                &key_ref.key,
            );
        }
        if var.field == Some(PodField::PodIndex) && wl.kind != WorkloadKind::StatefulSet {
            r.error(
                Code::KindMismatch,
                &ep.field(EnvVar::FIELD),
                format!("a {}'s pods have no ordinal", wl.kind.as_str()),
                "",
                "`podIndex` exists on StatefulSet pods only",
            );
        }
    }
}

fn check_env_from(env_from: &[EnvFrom], p: &SpecPath, refs: &Refs, r: &mut Report) {
    for (i, from) in env_from.iter().enumerate() {
        let fp = p.index(i);
        match (&from.config_map, &from.secret) {
            (Some(name), None) => refs.config(r, &fp.field(EnvFrom::CONFIG_MAP), name, None),
            (None, Some(_)) => {}
            _ => r.error_key(
                Code::OneOfRequired,
                &fp,
                "an `envFrom` entry needs exactly one of `configMap` and `secret`".into(),
                "",
                "split it into two entries",
            ),
        }
    }
}

fn check_files(
    files: &[FileMount],
    p: &SpecPath,
    refs: &Refs,
    mounts: &mut BTreeMap<String, SpecPath>,
    r: &mut Report,
) {
    for (i, file) in files.iter().enumerate() {
        let fp = p.index(i);
        mount_path(&file.mount_path, &fp.field(FileMount::MOUNT_PATH), mounts, r);
        match file.source() {
            Some((false, name)) => {
                refs.config(r, &fp.field(FileMount::CONFIG_MAP), name, None);
                for (k, key) in file.items.iter().enumerate() {
                    refs.config(
                        r,
                        &fp.field(FileMount::CONFIG_MAP),
                        name,
                        Some((key, fp.field(FileMount::ITEMS).index(k))),
                    );
                }
            }
            Some((true, _)) => {}
            None => r.error_key(
                Code::OneOfRequired,
                &fp,
                "a `files` entry needs exactly one of `configMap` and `secret`".into(),
                "",
                "split it into two entries",
            ),
        }
    }
}

fn mount_path(path: &str, pointer: &SpecPath, mounts: &mut BTreeMap<String, SpecPath>, r: &mut Report) {
    let normal = path.trim_end_matches('/').to_string();
    if mounts.insert(normal.clone(), pointer.clone()).is_some() {
        r.error(
            Code::WorkloadDuplicate,
            pointer,
            format!("two volumes are mounted at `{normal}`"),
            "",
            "mount each volume at its own path",
        );
    }
}

fn unique_volume<'a>(name: &'a str, pointer: &SpecPath, volumes: &mut BTreeSet<&'a str>, r: &mut Report) {
    let generated = name.starts_with("config-") || name.starts_with("secret-") || name == IDENTITY_VOLUME;
    if generated || !volumes.insert(name) {
        r.error(Code::WorkloadDuplicate,
            pointer,
            format!("the volume name `{name}` is taken"),
            "",
            format!(
                "volume names are unique in a pod; `config-*`, `secret-*` and `{IDENTITY_VOLUME}` are gitopsc's"
            ),
        );
    }
}

/// A container's probes (`ports`: the container's own, which a probe's port name is one of).
fn check_probes(wl: &WorkloadSpec, probes: &Probes, own: (&str, &[PortSpec]), p: &SpecPath, r: &mut Report) {
    let probes = [
        (Probes::LIVENESS, &probes.liveness),
        (Probes::READINESS, &probes.readiness),
        (Probes::STARTUP, &probes.startup),
    ];
    for (field, probe) in probes {
        let Some(probe) = probe else { continue };
        let pp = p.field(field);
        let name = field.name();
        let kinds = [probe.http.is_some(), probe.tcp.is_some(), probe.exec.is_some()];
        if kinds.iter().filter(|k| **k).count() != 1 {
            r.error_key(
                Code::OneOfRequired,
                &pp,
                format!("the {name} probe needs exactly one of `http`, `tcp` and `exec`"),
                "",
                "e.g. `http: {path: /health, port: http}`",
            );
        }
        if let Some(http) = &probe.http {
            check_port_ref(
                wl,
                &http.port,
                &pp.field(Probe::HTTP).field(HttpProbe::PORT),
                Some(own),
                r,
            );
        }
        if let Some(tcp) = &probe.tcp {
            check_port_ref(
                wl,
                &tcp.port,
                &pp.field(Probe::TCP).field(TcpProbe::PORT),
                Some(own),
                r,
            );
        }
        if probe.exec.as_ref().is_some_and(Vec::is_empty) {
            r.error(
                Code::InvalidProbe,
                &pp.field(Probe::EXEC),
                "an empty `exec` probe".into(),
                "",
                "give the command to run",
            );
        }
        if name != "readiness" && probe.success_threshold.is_some_and(|s| s != 1) {
            r.error(
                Code::InvalidProbe,
                &pp.field(Probe::SUCCESS_THRESHOLD),
                format!("a {name} probe's `successThreshold` must be 1"),
                "",
                "remove it",
            );
        }
    }
}

/// Resource names containers may request.
fn resource_name_ok(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage")
        || name.starts_with("hugepages-")
        || name.contains('/')
}

fn check_resources(resources: &Resources, p: &SpecPath, r: &mut Report) {
    for (field, map) in [
        (Resources::REQUESTS, &resources.requests),
        (Resources::LIMITS, &resources.limits),
    ] {
        let field_path = p.field(field);
        for (name, quantity) in map {
            let rp = field_path.key(name);
            if !resource_name_ok(name) {
                let help = match did_you_mean(name, ["cpu", "memory", "ephemeral-storage"].into_iter()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "use `cpu`, `memory`, `ephemeral-storage`, `hugepages-<size>` or an extended resource such as `nvidia.com/gpu`".into(),
                };
                r.error_key(
                    Code::InvalidResources,
                    &rp,
                    format!("`{name}` is not a container resource"),
                    "",
                    help,
                );
            }
            if quantity.value().is_none_or(|v| v < 0.0) {
                r.error(
                    Code::InvalidResources,
                    &rp,
                    format!("`{}` is not a valid quantity", quantity.text()),
                    "",
                    "",
                );
            }
        }
    }
    for (name, limit) in &resources.limits {
        if let (Some(request), Some(limit_value)) = (resources.requests.get(name), limit.value())
            && request.value().is_some_and(|v| v > limit_value)
        {
            r.error(
                Code::InvalidResources,
                &p.field(Resources::REQUESTS).key(name),
                format!(
                    "the `{name}` request {} is above its limit {}",
                    request.text(),
                    limit.text()
                ),
                "",
                "the API server refuses such a pod: lower the request or raise the limit",
            );
        }
    }
}

/// Checks label keys and values (and, for pod labels, that they leave the selector alone).
pub(super) fn check_labels(labels: &BTreeMap<String, String>, p: &SpecPath, pod: bool, r: &mut Report) {
    for (key, value) in labels {
        let lp = p.key(key);
        if pod && SELECTOR_KEYS.contains(&key.as_str()) {
            r.error_key(
                Code::SelectorLabel,
                &lp,
                format!("`{key}` is part of the workload's selector"),
                "",
                "gitopsc sets it from the workload's and the app's names; choose another label",
            );
        }
        if !label_key_ok(key) {
            r.error_key(Code::InvalidName,
                &lp,
                format!("`{key}` is not a valid label key"),
                "",
                "a label key is an optional DNS prefix and `/`, then at most 63 letters, digits, `-`, `_`, `.`",
            );
        }
        if !label_value_ok(value) {
            r.error(
                Code::InvalidName,
                &lp,
                format!("`{value}` is not a valid label value"),
                "",
                "at most 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit",
            );
        }
    }
}

fn label_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

pub(super) fn label_key_ok(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            prefix.len() <= 253
                && prefix.split('.').all(|l| {
                    !l.is_empty()
                        && l.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                })
                && label_name_ok(name)
        }
        None => label_name_ok(key),
    }
}

pub(super) fn label_value_ok(value: &str) -> bool {
    value.is_empty() || label_name_ok(value)
}

/// Capabilities the `baseline` level allows containers to add.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn check_pod_security(
    wl: &WorkloadSpec,
    namespace: &str,
    level: PodSecurityLevel,
    p: &SpecPath,
    r: &mut Report,
) {
    let sc = &wl.security_context;
    let mut refused: Vec<(SpecPath, String)> = Vec::new();
    if level == PodSecurityLevel::Privileged {
        return;
    }
    if sc.seccomp_profile == SeccompProfile::Unconfined {
        refused.push((
            p.field(SecurityContextSpec::SECCOMP_PROFILE),
            "`Unconfined` seccomp".into(),
        ));
    }
    for (i, cap) in sc.add_capabilities.iter().enumerate() {
        let allowed = match level {
            PodSecurityLevel::Restricted => cap == "NET_BIND_SERVICE",
            _ => BASELINE_CAPABILITIES.contains(&cap.as_str()),
        };
        if !allowed {
            refused.push((
                p.field(SecurityContextSpec::ADD_CAPABILITIES).index(i),
                format!("the capability `{cap}`"),
            ));
        }
    }
    if level == PodSecurityLevel::Restricted {
        if !sc.run_as_non_root {
            refused.push((
                p.field(SecurityContextSpec::RUN_AS_NON_ROOT),
                "`runAsNonRoot: false`".into(),
            ));
        }
        if sc.run_as_user == Some(0) {
            refused.push((
                p.field(SecurityContextSpec::RUN_AS_USER),
                "running as user 0 (root)".into(),
            ));
        }
        if sc.allow_privilege_escalation {
            refused.push((
                p.field(SecurityContextSpec::ALLOW_PRIVILEGE_ESCALATION),
                "`allowPrivilegeEscalation: true`".into(),
            ));
        }
    }
    for (at, what) in refused {
        r.error(
            Code::PodSecurityRefused,
            &at,
            format!(
                "namespace `{namespace}` enforces Pod Security `{}`, which refuses {what}",
                level.as_str()
            ),
            "refused by Pod Security admission",
            "the pods would never be created: keep the default, or lower the app's `podSecurity`",
        );
    }
}

fn check_strategy(wl: &WorkloadSpec, p: &SpecPath, r: &mut Report) {
    if let Some(strategy) = &wl.strategy {
        let zero = |v: &Option<IntOrPercent>| {
            matches!(v, Some(IntOrPercent::Int(0)))
                || matches!(v, Some(IntOrPercent::Percent(s)) if s == "0%")
        };
        match strategy.kind {
            DeploymentStrategyKind::Recreate
                if strategy.max_surge.is_some() || strategy.max_unavailable.is_some() =>
            {
                r.error_key(
                    Code::RolloutStrategy,
                    &p.field(WorkloadSpec::STRATEGY),
                    "`maxSurge` and `maxUnavailable` apply to `RollingUpdate` only".into(),
                    "",
                    "remove them, or use `type: RollingUpdate`",
                );
            }
            DeploymentStrategyKind::RollingUpdate
                if zero(&strategy.max_surge) && zero(&strategy.max_unavailable) =>
            {
                r.error_key(
                    Code::RolloutStrategy,
                    &p.field(WorkloadSpec::STRATEGY),
                    "`maxSurge` and `maxUnavailable` are both 0: the rollout could never progress".into(),
                    "",
                    "allow one extra pod (`maxSurge: 1`) or one missing pod (`maxUnavailable: 1`)",
                );
            }
            _ => {}
        }
    }
    if let Some(update) = &wl.update_strategy
        && update.kind == StatefulSetUpdateKind::OnDelete
        && update.partition.is_some()
    {
        r.error_key(
            Code::RolloutStrategy,
            &p.field(WorkloadSpec::UPDATE_STRATEGY)
                .field(StatefulSetUpdateStrategy::PARTITION),
            "`partition` applies to `RollingUpdate` only".into(),
            "",
            "remove it, or use `type: RollingUpdate`",
        );
    }
}

fn check_identity(
    wl: &WorkloadSpec,
    identity: &InstanceIdentity,
    p: &SpecPath,
    env_names: &BTreeMap<String, SpecPath>,
    r: &mut Report,
) {
    let ip = p.field(WorkloadSpec::INSTANCE_IDENTITY);
    if wl.kind != WorkloadKind::StatefulSet {
        let kind = wl.kind.as_str();
        r.error_key(Code::KindMismatch,
            &ip,
            format!("instance identity needs a StatefulSet; workload `{}` is a {kind}", wl.name),
            "no ordinal",
            format!("a {kind}'s pod names end in a random suffix, so no replica has a stable id: use `kind: StatefulSet`"),
        );
    }
    if wl.autoscaling.is_some() {
        r.error_key(Code::Autoscaling,
            &ip,
            "instance identity cannot be combined with `autoscaling`".into(),
            "",
            format!(
                "the autoscaler changes the replica count behind the compiler's back, so `{}` would be wrong: drop one of them",
                identity.total_env
            ),
        );
    }
    let mut own = BTreeSet::new();
    let vars = [
        Some((InstanceIdentity::POD_NAME_ENV, &identity.pod_name_env)),
        identity
            .ordinal_env
            .as_ref()
            .map(|e| (InstanceIdentity::ORDINAL_ENV, e)),
        Some((InstanceIdentity::TOTAL_ENV, &identity.total_env)),
    ];
    for (field, name) in vars.into_iter().flatten() {
        if env_names.contains_key(name) || !own.insert(name) {
            r.error(
                Code::WorkloadDuplicate,
                &ip.field(field),
                format!("the variable `{name}` is set twice"),
                "",
                "choose another name, or remove it from `env`",
            );
        }
    }
}

fn check_autoscaling(wl: &WorkloadSpec, hpa: &Autoscaling, p: &SpecPath, r: &mut Report) {
    let hp = p.field(WorkloadSpec::AUTOSCALING);
    if wl.replicas.is_some() {
        r.error_key(Code::Autoscaling,
            &p.field(WorkloadSpec::REPLICAS),
            format!("workload `{}` has both `replicas` and `autoscaling`", wl.name),
            "the autoscaler owns the count",
            "remove `replicas`: every Flux apply would reset the count the autoscaler chose (see the HPA hand-over in the docs)",
        );
    }
    if hpa.min_replicas > hpa.max_replicas {
        r.error(
            Code::Autoscaling,
            &hp.field(Autoscaling::MIN_REPLICAS),
            format!(
                "`minReplicas` {} is above `maxReplicas` {}",
                hpa.min_replicas, hpa.max_replicas
            ),
            "",
            "",
        );
    }
    if hpa.cpu.is_none() && hpa.memory.is_none() && hpa.pods.is_empty() {
        r.error_key(
            Code::Autoscaling,
            &hp,
            "the autoscaler has no metric".into(),
            "",
            "set `cpu`, `memory` (percent of requests) or `pods` (custom metrics)",
        );
    }
    for (field, set) in [
        (Autoscaling::CPU, hpa.cpu.is_some()),
        (Autoscaling::MEMORY, hpa.memory.is_some()),
    ] {
        let at = hp.field(field);
        let field = field.name();
        if set && !wl.resources.requests.contains_key(field) {
            r.error(
                Code::Autoscaling,
                &at,
                format!("a {field} utilisation target needs a {field} request"),
                "",
                format!("utilisation is a percentage of `resources.requests.{field}`: set it"),
            );
        }
    }
    if let Some(behavior) = &hpa.behavior
        && behavior.preset.is_none()
        && behavior.scale_up.is_none()
        && behavior.scale_down.is_none()
    {
        r.error_key(
            Code::Autoscaling,
            &hp.field(Autoscaling::BEHAVIOR),
            "an empty `behavior`".into(),
            "",
            "set `preset: conservative`, `scaleUp` or `scaleDown`",
        );
    }
}

fn check_disruption_budget(wl: &WorkloadSpec, pdb: &DisruptionBudget, p: &SpecPath, r: &mut Report) {
    let pp = p.field(WorkloadSpec::DISRUPTION_BUDGET);
    match (&pdb.min_available, &pdb.max_unavailable) {
        (Some(_), Some(_)) | (None, None) => r.error_key(
            Code::OneOfRequired,
            &pp,
            "a disruption budget needs exactly one of `minAvailable` and `maxUnavailable`".into(),
            "",
            "e.g. `maxUnavailable: 1`",
        ),
        (min, max) => {
            let pods = wl
                .autoscaling
                .as_ref()
                .map_or(wl.replicas.unwrap_or(1), |h| h.min_replicas);
            let blocks = match (min, max) {
                (Some(IntOrPercent::Int(n)), _) => *n >= pods,
                (Some(IntOrPercent::Percent(s)), _) => s == "100%",
                (_, Some(IntOrPercent::Int(0))) => true,
                (_, Some(IntOrPercent::Percent(s))) => s == "0%",
                _ => false,
            };
            if blocks {
                r.warn(Code::DisruptionBudgetBlocks,
                    &pp,
                    format!(
                        "the disruption budget of `{}` allows no disruption with {pods} pod(s)",
                        wl.name
                    ),
                    "",
                    "node drains and cluster upgrades will block on these pods: allow at least one (e.g. `maxUnavailable: 1`)",
                );
            }
        }
    }
}

/// Warns when a workload may connect to another workload of the app whose own policy lets
/// nothing in from it: a connection needs both ends allowed.
fn unanswered_egress(
    app: &AppSpec,
    wl: &WorkloadSpec,
    p: &SpecPath,
    workloads: &BTreeMap<&str, &WorkloadSpec>,
    r: &mut Report,
) {
    for (i, rule) in wl.allow_to.iter().enumerate() {
        for target in rule
            .peer
            .workloads
            .iter()
            .filter_map(|t| workloads.get(t.as_str()))
        {
            let (isolated, _) = target.isolation(app.network_policy.as_ref());
            // A rule with no workload peers may select `wl` by labels or namespace: give it
            // the benefit of the doubt.
            let answered = !isolated
                || target
                    .allow_from
                    .iter()
                    .any(|f| f.peer.workloads.is_empty() || f.peer.workloads.contains(&wl.name));
            if !answered {
                r.warn(
                    Code::NetworkRule,
                    &p.field(WorkloadSpec::ALLOW_TO).index(i).field(Peer::WORKLOADS),
                    format!(
                        "workload `{}` may connect to `{}`, whose network policy lets nothing in from it",
                        wl.name, target.name
                    ),
                    "",
                    format!(
                        "add `{{workloads: [{}]}}` to the `allowFrom` of `{}`",
                        wl.name, target.name
                    ),
                );
            }
        }
    }
}

fn check_network_rule(
    wl: &WorkloadSpec,
    rule: &NetworkRule,
    p: &SpecPath,
    ingress: bool,
    workloads: &BTreeMap<&str, &WorkloadSpec>,
    r: &mut Report,
) {
    let names: Vec<&str> = workloads.keys().copied().collect();
    network::check_peer(&rule.peer, p, PeerPlace::Inline, &names, r);
    for (i, port) in rule.ports.iter().enumerate() {
        let pp = p.field(NetworkRule::PORTS).index(i);
        if ingress {
            check_port_ref(wl, port, &pp, None, r);
        } else if let PortRef::Name(name) = port {
            // A named egress port is resolved on the destination pods: check it when they are
            // the app's own workloads.
            let targets: Vec<&WorkloadSpec> = rule
                .peer
                .workloads
                .iter()
                .filter_map(|w| workloads.get(w.as_str()).copied())
                .collect();
            let peer = &rule.peer;
            let only_workloads =
                !peer.has_namespaces() && peer.pods.is_none() && peer.cidrs.is_empty() && peer.cidr.is_none();
            if only_workloads && !targets.is_empty() && targets.iter().any(|t| t.port(name).is_none()) {
                r.error(
                    Code::NetworkRule,
                    &pp,
                    format!("port `{name}` is not a port of every workload this rule reaches"),
                    "",
                    "name a port the destination workloads declare, or give the number",
                );
            }
        }
    }
}

/// Milliseconds in a Prometheus duration (`1h30m`, `90s`, `500ms`), when it is one.
fn prom_duration_ms(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = ["ms", "y", "w", "d", "h", "m", "s"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        let factor: u64 = match unit {
            Some("ms") => 1,
            Some("s") => 1_000,
            Some("m") => 60_000,
            Some("h") => 3_600_000,
            Some("d") => 86_400_000,
            Some("w") => 604_800_000,
            Some("y") => 31_536_000_000,
            _ if rest.is_empty() && value == 0 => 0,
            _ => return None,
        };
        rest = &rest[unit.map_or(0, str::len)..];
        total = total.checked_add(value.checked_mul(factor)?)?;
    }
    Some(total)
}

/// A monitor's endpoint: a scrape timeout within the interval, relabelings with the fields
/// their action needs (what Prometheus checks when it loads the configuration the operator
/// writes: a refused one stops the whole scrape configuration from reloading).
fn check_monitor_endpoint(m: &WorkloadMonitoring, p: &SpecPath, r: &mut Report) {
    if let (Some(timeout), Some(interval)) = (&m.scrape_timeout, &m.interval)
        && let (Some(t), Some(i)) = (prom_duration_ms(timeout), prom_duration_ms(interval))
        && t > i
    {
        r.error(
            Code::MonitorEndpoint,
            &p.field(WorkloadMonitoring::SCRAPE_TIMEOUT),
            format!("the scrape timeout `{timeout}` is longer than the interval `{interval}`"),
            "longer than `interval`",
            "the operator refuses a timeout longer than the interval: shorten it, or scrape less often",
        );
    }
    for (field, rules) in [
        (WorkloadMonitoring::RELABELINGS, &m.relabelings),
        (WorkloadMonitoring::METRIC_RELABELINGS, &m.metric_relabelings),
    ] {
        for (i, rule) in rules.iter().enumerate() {
            check_relabeling(rule, &p.field(field).index(i), r);
        }
    }
}

/// The fields a relabeling's action needs, and those it forbids (Prometheus'
/// `relabel.Config.Validate`).
fn check_relabeling(rule: &Relabeling, p: &SpecPath, r: &mut Report) {
    use RelabelAction as A;
    let action = rule.action.as_str();
    // `action` may be left to its default: the entry itself is then where the problem is.
    let at = p.field(Relabeling::ACTION);
    let (at, key) = if r.spans.contains(&at) {
        (at, true)
    } else {
        (p.clone(), false)
    };
    let needs_target = matches!(
        rule.action,
        A::Replace | A::Hashmod | A::Lowercase | A::Uppercase | A::Keepequal | A::Dropequal
    );
    if needs_target && rule.target_label.is_none() {
        r.push(
            Diagnostic::error(
                Code::MonitorEndpoint,
                format!("a `{action}` relabeling needs a `targetLabel`"),
            ),
            &at,
            key,
            "no `targetLabel`",
            "name the label it writes (or compares with) in `targetLabel`".into(),
        );
    }
    if rule.action == A::Hashmod && rule.modulus.is_none() {
        r.push(
            Diagnostic::error(Code::MonitorEndpoint, "a `hashmod` relabeling needs a `modulus`"),
            &at,
            key,
            "no `modulus`",
            "set `modulus` to the number of shards".into(),
        );
    }
    let only_regex = matches!(rule.action, A::Labeldrop | A::Labelkeep);
    let only_labels = matches!(rule.action, A::Keepequal | A::Dropequal);
    let extra: Vec<Field> = [
        (
            Relabeling::SOURCE_LABELS,
            !rule.source_labels.is_empty() && only_regex,
        ),
        (
            Relabeling::TARGET_LABEL,
            rule.target_label.is_some() && only_regex,
        ),
        (Relabeling::SEPARATOR, rule.separator.is_some() && only_regex),
        (Relabeling::REGEX, rule.regex.is_some() && only_labels),
        (
            Relabeling::REPLACEMENT,
            rule.replacement.is_some() && (only_regex || only_labels),
        ),
        (
            Relabeling::MODULUS,
            rule.modulus.is_some() && rule.action != A::Hashmod,
        ),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect();
    for field in extra {
        let at = p.field(field);
        let field = field.name();
        r.error_key(
            Code::MonitorEndpoint,
            &at,
            format!("a `{action}` relabeling takes no `{field}`"),
            "not for this action",
            if only_regex {
                "`labeldrop` and `labelkeep` take only `regex` (matched against label names)"
            } else if only_labels {
                "`keepequal` and `dropequal` take only `sourceLabels` and `targetLabel`"
            } else {
                "`modulus` is for `hashmod` only"
            },
        );
    }
}

fn check_alerts(app: &AppSpec, base: &SpecPath, r: &mut Report) {
    let mut groups = BTreeSet::new();
    for (g, group) in app.alerts.iter().enumerate() {
        let gp = base.field(AppSpec::ALERTS).index(g);
        if !groups.insert(group.name.as_str()) {
            r.error(
                Code::AlertRule,
                &gp.field(AlertGroup::NAME),
                format!("alert group `{}` is declared twice", group.name),
                "",
                "group names are unique in a PrometheusRule: merge the groups or rename one",
            );
        }
        if group.rules.is_empty() {
            r.error_key(
                Code::AlertRule,
                &gp.field(AlertGroup::RULES),
                format!("alert group `{}` has no rules", group.name),
                "",
                "",
            );
        }
        for (i, rule) in group.rules.iter().enumerate() {
            if let Some(problem) = promql_problem(&rule.expr) {
                r.error(
                    Code::AlertRule,
                    &gp.field(AlertGroup::RULES).index(i).field(AlertRule::EXPR),
                    format!("the expression of alert `{}` {problem}", rule.alert),
                    "",
                    "Prometheus would refuse the whole rule group",
                );
            }
            check_labels(
                &rule.labels,
                &gp.field(AlertGroup::RULES).index(i).field(AlertRule::LABELS),
                false,
                r,
            );
            if rule.labels.contains_key("severity") {
                r.error_key(
                    Code::AlertRule,
                    &gp.field(AlertGroup::RULES)
                        .index(i)
                        .field(AlertRule::LABELS)
                        .key("severity"),
                    "`severity` is set by the rule's `severity` field".into(),
                    "",
                    "remove it from `labels`",
                );
            }
        }
    }
}

/// A cheap sanity check of a PromQL expression: not empty, brackets and quotes balanced.
fn promql_problem(expr: &str) -> Option<&'static str> {
    if expr.trim().is_empty() {
        return Some("is empty");
    }
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return Some("has an unmatched closing bracket");
                }
            }
            _ => {}
        }
    }
    if quote.is_some() {
        Some("has an unterminated string")
    } else if !stack.is_empty() {
        Some("has an unclosed bracket")
    } else {
        None
    }
}

fn check_quota(app: &AppSpec, base: &SpecPath, r: &mut Report) {
    let Some(quota) = &app.resource_quota else {
        return;
    };
    let defaults = app.limit_range.as_ref();
    // Under a quota on requests or limits of a resource, every container must set it (or
    // get it from a LimitRange default), or the pod is refused.
    for (key, field, default_field) in [
        ("requests.cpu", "requests", "defaultRequest"),
        ("cpu", "requests", "defaultRequest"),
        ("requests.memory", "requests", "defaultRequest"),
        ("memory", "requests", "defaultRequest"),
        ("limits.cpu", "limits", "default"),
        ("limits.memory", "limits", "default"),
    ] {
        if !quota.hard.contains_key(key) {
            continue;
        }
        let resource = key.rsplit('.').next().unwrap_or(key);
        let defaulted = defaults.is_some_and(|l| {
            let map = if default_field == "default" {
                &l.default
            } else {
                &l.default_request
            };
            map.contains_key(resource)
        });
        if defaulted {
            continue;
        }
        for (w, wl) in app.workloads.iter().enumerate() {
            let at = base.field(AppSpec::WORKLOADS).index(w);
            let containers = std::iter::once((at.clone(), wl.name.as_str(), &wl.resources)).chain(
                wl.other_containers(&at)
                    .map(|(cp, c, _)| (cp, c.name.as_str(), &c.resources)),
            );
            for (pointer, container, resources) in containers {
                let map = if field == "limits" {
                    &resources.limits
                } else {
                    &resources.requests
                };
                if !map.contains_key(resource) {
                    r.error(Code::QuotaRefusesPods,
                        &pointer.field(WorkloadSpec::NAME),
                        format!(
                            "the quota on `{key}` refuses the pods of `{}`: container `{container}` sets no {field}.{resource}",
                            wl.name
                        ),
                        "",
                        format!(
                            "set `resources.{field}.{resource}`, or give a default in the app's `limitRange.{default_field}`"
                        ),
                    );
                }
            }
        }
    }
}

/// Warns when an app's default deny also isolates pods of other apps in its namespace that
/// declare no rules of their own.
fn network_policy_neighbours(spec: &ClusterSpec, r: &mut Report) {
    for (a, app) in spec.apps.iter().enumerate() {
        if !app.network_policy.as_ref().is_some_and(|n| n.default_deny) {
            continue;
        }
        let ns = app.namespace().to_string();
        for other in &spec.apps {
            if other.name == app.name || other.namespace() != ns || other.network_policy.is_some() {
                continue;
            }
            if other.helm.is_some() || !other.workloads.is_empty() {
                // `defaultDeny` is true unless written: point at it when written.
                let written = SpecPath::app(a)
                    .field(AppSpec::NETWORK_POLICY)
                    .field(NetworkPolicySpec::DEFAULT_DENY);
                let at = if r.spans.contains(&written) {
                    written
                } else {
                    SpecPath::app(a).field(AppSpec::NETWORK_POLICY)
                };
                r.warn(Code::DefaultDenyIsolates,
                    &at,
                    format!(
                        "the default deny of app `{}` also cuts off the pods of app `{}` in namespace `{ns}`",
                        app.name, other.name
                    ),
                    "",
                    format!(
                        "give app `{}` a `networkPolicy` and the `allowFrom`/`allowTo` its pods need, or move it to another namespace",
                        other.name
                    ),
                );
            }
        }
    }
}

/// The API groups built into Kubernetes, each with its resources (subresources after `/`),
/// space-separated.
const API_GROUPS: &[(&str, &str)] = &[
    (
        "",
        "bindings componentstatuses configmaps endpoints events limitranges namespaces \
         namespaces/finalize namespaces/status nodes nodes/log nodes/metrics nodes/proxy \
         nodes/stats nodes/status persistentvolumeclaims persistentvolumeclaims/status \
         persistentvolumes persistentvolumes/status pods pods/attach pods/binding \
         pods/ephemeralcontainers pods/eviction pods/exec pods/log pods/portforward \
         pods/proxy pods/resize pods/status podtemplates replicationcontrollers \
         replicationcontrollers/scale replicationcontrollers/status resourcequotas \
         resourcequotas/status secrets serviceaccounts serviceaccounts/token services \
         services/proxy services/status",
    ),
    (
        "apps",
        "controllerrevisions daemonsets daemonsets/status deployments deployments/scale \
         deployments/status replicasets replicasets/scale replicasets/status statefulsets \
         statefulsets/scale statefulsets/status",
    ),
    ("batch", "cronjobs cronjobs/status jobs jobs/status"),
    (
        "autoscaling",
        "horizontalpodautoscalers horizontalpodautoscalers/status",
    ),
    ("policy", "poddisruptionbudgets poddisruptionbudgets/status"),
    (
        "networking.k8s.io",
        "ingressclasses ingresses ingresses/status ipaddresses networkpolicies \
         servicecidrs",
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterrolebindings clusterroles rolebindings roles",
    ),
    ("coordination.k8s.io", "leases"),
    ("discovery.k8s.io", "endpointslices"),
    ("events.k8s.io", "events"),
    (
        "storage.k8s.io",
        "csidrivers csinodes csistoragecapacities storageclasses volumeattachments \
         volumeattributesclasses",
    ),
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions customresourcedefinitions/status",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations validatingadmissionpolicies \
         validatingadmissionpolicybindings validatingwebhookconfigurations",
    ),
    (
        "certificates.k8s.io",
        "certificatesigningrequests certificatesigningrequests/approval \
         certificatesigningrequests/status signers",
    ),
    ("scheduling.k8s.io", "priorityclasses"),
    ("node.k8s.io", "runtimeclasses"),
    ("authentication.k8s.io", "selfsubjectreviews tokenreviews"),
    (
        "authorization.k8s.io",
        "localsubjectaccessreviews selfsubjectaccessreviews selfsubjectrulesreviews \
         subjectaccessreviews",
    ),
];

/// Built-in resources that are not namespaced (a Role cannot grant them), space-separated.
const CLUSTER_SCOPED: &str = "certificatesigningrequests clusterrolebindings clusterroles componentstatuses \
     csidrivers csinodes customresourcedefinitions ingressclasses ipaddresses \
     mutatingwebhookconfigurations namespaces nodes persistentvolumes priorityclasses \
     runtimeclasses selfsubjectaccessreviews selfsubjectreviews \
     selfsubjectrulesreviews servicecidrs storageclasses subjectaccessreviews \
     tokenreviews validatingadmissionpolicies validatingadmissionpolicybindings \
     validatingwebhookconfigurations volumeattachments volumeattributesclasses";

/// kubectl's short names.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("cm", "configmaps"),
    ("cj", "cronjobs"),
    ("crd", "customresourcedefinitions"),
    ("crds", "customresourcedefinitions"),
    ("csr", "certificatesigningrequests"),
    ("deploy", "deployments"),
    ("ds", "daemonsets"),
    ("ep", "endpoints"),
    ("ev", "events"),
    ("hpa", "horizontalpodautoscalers"),
    ("ing", "ingresses"),
    ("limits", "limitranges"),
    ("netpol", "networkpolicies"),
    ("no", "nodes"),
    ("ns", "namespaces"),
    ("pc", "priorityclasses"),
    ("pdb", "poddisruptionbudgets"),
    ("po", "pods"),
    ("pv", "persistentvolumes"),
    ("pvc", "persistentvolumeclaims"),
    ("pvcs", "persistentvolumeclaims"),
    ("quota", "resourcequotas"),
    ("rc", "replicationcontrollers"),
    ("rs", "replicasets"),
    ("sa", "serviceaccounts"),
    ("sc", "storageclasses"),
    ("sts", "statefulsets"),
    ("svc", "services"),
];

/// Verbs of resource rules.
const VERBS: &[&str] = &[
    "approve",
    "bind",
    "create",
    "delete",
    "deletecollection",
    "escalate",
    "get",
    "impersonate",
    "list",
    "patch",
    "sign",
    "update",
    "use",
    "watch",
];
/// Verbs of non-resource rules (HTTP methods, lowercase).
const URL_VERBS: &[&str] = &["delete", "get", "head", "options", "patch", "post", "put"];

fn check_rules(r: &mut Report, rules: &[PolicyRule], p: &SpecPath, cluster: bool) {
    for (i, rule) in rules.iter().enumerate() {
        let rp = p.index(i);
        check_rule_shape(r, rule, &rp, cluster);
        check_rule_verbs(r, rule, &rp);
        check_rule_grants(r, rule, &rp, cluster);
    }
}

/// A rule grants resources or non-resource URLs (those from a ClusterRole only), and names
/// what it grants: resources, API groups, verbs.
fn check_rule_shape(r: &mut Report, rule: &PolicyRule, rp: &SpecPath, cluster: bool) {
    let urls = !rule.non_resource_urls.is_empty();
    if urls && !cluster {
        r.error_key(
            Code::RbacRule,
            &rp.field(PolicyRule::NON_RESOURCE_URLS),
            "`nonResourceUrls` can only be granted by a ClusterRole".into(),
            "",
            "move the rule to `clusterRules`",
        );
    }
    if urls && (!rule.resources.is_empty() || !rule.api_groups.is_empty()) {
        r.error_key(
            Code::RbacRule,
            rp,
            "a rule grants either resources or non-resource URLs, not both".into(),
            "",
            "split it into two rules",
        );
    }
    if !urls && rule.resources.is_empty() {
        r.error_key(
            Code::RbacRule,
            rp,
            "the rule names no `resources`".into(),
            "",
            "list the resources it grants, e.g. `resources: [pods]`",
        );
    }
    if !urls && rule.api_groups.is_empty() {
        r.error_key(
            Code::RbacRule,
            rp,
            "the rule names no `apiGroups`".into(),
            "",
            "write `apiGroups: [\"\"]` for the core group (pods, services, configmaps, ...)",
        );
    }
    if rule.verbs.is_empty() {
        r.error_key(
            Code::RbacRule,
            rp,
            "the rule grants no `verbs`".into(),
            "",
            "e.g. `verbs: [get, list, watch]`",
        );
    }
}

/// Each verb is one of its kind of rule, and `*` is a warning.
fn check_rule_verbs(r: &mut Report, rule: &PolicyRule, rp: &SpecPath) {
    let urls = !rule.non_resource_urls.is_empty();
    let allowed = if urls { URL_VERBS } else { VERBS };
    for (v, verb) in rule.verbs.iter().enumerate() {
        let vp = rp.field(PolicyRule::VERBS).index(v);
        if verb == "*" {
            r.warn(
                Code::RbacWildcard,
                &vp,
                "the wildcard verb `*` grants every verb, including ones added later".into(),
                "",
                "list the verbs the workload needs",
            );
        } else if !allowed.contains(&verb.as_str()) {
            let help = did_you_mean(verb, allowed.iter().copied()).map_or_else(
                || format!("verbs are: {}", allowed.join(", ")),
                |best| format!("did you mean `{best}`?"),
            );
            r.error(
                Code::RbacRule,
                &vp,
                format!("`{verb}` is not an RBAC verb"),
                "unknown verb",
                help,
            );
        }
    }
}

/// Wildcard API groups and resources are warnings; each resource is one of its group's.
fn check_rule_grants(r: &mut Report, rule: &PolicyRule, rp: &SpecPath, cluster: bool) {
    for (g, group) in rule.api_groups.iter().enumerate() {
        if group == "*" {
            r.warn(
                Code::RbacWildcard,
                &rp.field(PolicyRule::API_GROUPS).index(g),
                "the wildcard API group `*` grants every API group, including ones installed later".into(),
                "",
                "list the API groups the workload needs",
            );
        }
    }
    for (n, resource) in rule.resources.iter().enumerate() {
        let np = rp.field(PolicyRule::RESOURCES).index(n);
        if resource == "*" || resource.starts_with("*/") {
            r.warn(Code::RbacWildcard,
                &np,
                format!("the wildcard resource `{resource}` grants every resource of its groups, including ones added later"),
                "",
                "list the resources the workload needs",
            );
            continue;
        }
        for group in &rule.api_groups {
            check_resource(r, group, resource, &np, cluster);
        }
    }
}

/// Checks a resource of a built-in API group: unknown ones are errors with a suggestion.
fn check_resource(r: &mut Report, group: &str, resource: &str, pointer: &SpecPath, cluster: bool) {
    let Some((_, known)) = API_GROUPS.iter().find(|(g, _)| *g == group) else {
        // A custom resource's group: its resources are not known here.
        return;
    };
    let known: Vec<&str> = known.split_whitespace().collect();
    let base = resource.split('/').next().unwrap_or(resource);
    if known.contains(&resource) {
        if !cluster && CLUSTER_SCOPED.split_whitespace().any(|c| c == base) {
            r.warn(
                Code::RbacRule,
                pointer,
                format!("`{resource}` is cluster-scoped: a Role cannot grant it"),
                "",
                "move the rule to `clusterRules`",
            );
        }
        return;
    }
    let group_name = if group.is_empty() {
        "the core group `\"\"`".to_string()
    } else {
        format!("API group `{group}`")
    };
    let sub = resource.strip_prefix(base).unwrap_or_default();
    let lower = base.to_lowercase();
    let candidates = [
        SHORT_NAMES
            .iter()
            .find(|(s, _)| *s == lower)
            .map(|(_, full)| full.to_string()),
        Some(lower.clone()),
        Some(format!("{lower}s")),
        Some(format!("{lower}es")),
        lower.strip_suffix('y').map(|s| format!("{s}ies")),
    ];
    let help = candidates
        .into_iter()
        .flatten()
        .map(|c| format!("{c}{sub}"))
        .find(|c| known.contains(&c.as_str()))
        .or_else(|| {
            did_you_mean(resource, known.iter().copied())
                .map(String::from)
                .filter(|c| c != resource)
        })
        .map(|c| format!("did you mean `{c}`?"))
        .or_else(|| {
            API_GROUPS
                .iter()
                .find(|(_, resources)| resources.split_whitespace().any(|r| r == resource))
                .map(|(g, _)| {
                    format!("`{resource}` is in API group `\"{g}\"`: put it in a rule with that group")
                })
        })
        .unwrap_or_else(|| {
            let bases: BTreeSet<&str> = known.iter().map(|k| k.split('/').next().unwrap_or(k)).collect();
            format!(
                "resources of {group_name} are: {}",
                bases.into_iter().collect::<Vec<_>>().join(", ")
            )
        });
    r.error(
        Code::RbacRule,
        pointer,
        format!("`{resource}` is not a resource of {group_name}"),
        "unknown resource",
        help,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations() {
        assert_eq!(prom_duration_ms("30s"), Some(30_000));
        assert_eq!(prom_duration_ms("1m30s"), Some(90_000));
        assert_eq!(prom_duration_ms("500ms"), Some(500));
        assert_eq!(prom_duration_ms("1h"), Some(3_600_000));
        assert_eq!(prom_duration_ms("0"), Some(0));
        assert_eq!(prom_duration_ms("5x"), None);
    }

    #[test]
    fn promql_brackets() {
        assert_eq!(promql_problem("sum(rate(x[5m])) > 1"), None);
        assert_eq!(promql_problem("up{job=\"a)\"} == 0"), None);
        assert!(promql_problem("sum(rate(x[5m]) > 1").is_some());
        assert!(promql_problem("x]").is_some());
        assert!(promql_problem(" ").is_some());
    }

    #[test]
    fn label_syntax() {
        assert!(label_key_ok("app.kubernetes.io/name"));
        assert!(label_key_ok("tier"));
        assert!(!label_key_ok("Bad Key"));
        assert!(!label_key_ok("a/b/c"));
        assert!(label_value_ok(""));
        assert!(!label_value_ok("-x"));
    }
}
