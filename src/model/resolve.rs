//! Resolution: a checked spec → the model. Applies defaults, decides every name and path,
//! collects each app's manifests by layer from the parts of the spec (namespace, Helm, ...),
//! assembles the layers into folders and Flux Kustomizations, and checks the Flux graph.
//!
//! A new kind of object means: a function that adds manifests to [`Parts`] (see
//! [`super::helm::parts`]), one call in [`resolve`], one blueprint.

use super::charts::{self, WiringInput};
use super::health::expr_for;
use super::operators::{self, Operator};
use super::refs::{Refs, Scope, UnknownRef};
use super::secrets::{self, SecretUses};
use super::*;
use crate::diagnostic::Diagnostic;
use crate::spec::load::SpanIndex;
use crate::spec::{AppSpec, ClusterSpec};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Namespaces that exist in every cluster: gitopsc never emits a Namespace object for them
/// (it would relabel or, unprotected, prune them). The Flux namespace is excluded too.
const SYSTEM_NAMESPACES: &[&str] = pod_security::UNLABELLED_NAMESPACES;

/// The label (or annotation) that makes Flux keep an object it would otherwise prune.
pub const LABEL_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";

/// Cluster-wide settings every part needs.
pub struct Ctx {
    /// Flux settings.
    pub flux: FluxModel,
    source_ref: SourceRef,
    interval: String,
}

impl Ctx {
    /// A Flux Kustomization applying `dir`, waiting for what it applies, with CEL health
    /// checks for the custom resource kinds among `kinds`.
    pub fn kustomization(
        &self,
        name: String,
        dir: &str,
        timeout: &str,
        retry: &str,
        kinds: &[&str],
        depends_on: BTreeSet<String>,
    ) -> FluxKustomization {
        let health_check_exprs = kinds
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter_map(expr_for)
            .collect();
        FluxKustomization {
            name,
            namespace: self.flux.namespace.clone(),
            path: format!("{}/{dir}", self.flux.path_prefix),
            interval: self.interval.clone(),
            retry_interval: retry.to_string(),
            timeout: timeout.to_string(),
            wait: true,
            source_ref: self.source_ref.clone(),
            depends_on: depends_on.into_iter().collect(),
            health_checks: Vec::new(),
            health_check_exprs,
        }
    }
}

/// One app being resolved.
pub struct AppCtx<'a> {
    /// Its spec.
    pub spec: &'a AppSpec,
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The Flux namespace.
    pub flux_namespace: String,
}

/// An app's manifests by layer, and what each layer must wait for besides the layer before.
#[derive(Default)]
pub struct Parts {
    manifests: BTreeMap<LayerKind, Vec<Manifest>>,
    deps: BTreeMap<LayerKind, BTreeSet<String>>,
    external_secrets: BTreeMap<String, super::secrets::ExternalSecret>,
    /// The least timeout (seconds) a layer needs when the app sets none.
    min_timeout: BTreeMap<LayerKind, u64>,
    /// NetworkPolicies whose API-server egress rule allows any address on its ports.
    open_api_server_egress: Vec<String>,
}

impl Parts {
    /// Adds a manifest to a layer.
    pub fn add(&mut self, layer: LayerKind, manifest: Manifest) {
        self.manifests.entry(layer).or_default().push(manifest);
    }

    /// Adds a manifest to the release layer.
    pub fn release(&mut self, manifest: Manifest) {
        self.add(LayerKind::Release, manifest);
    }

    /// Makes the release layer wait for a Flux Kustomization.
    pub fn release_dep(&mut self, name: &str) {
        self.deps
            .entry(LayerKind::Release)
            .or_default()
            .insert(name.to_string());
    }

    /// Asks for a layer's Flux timeout to be at least `secs` when the app sets no `timeout`.
    pub fn timeout_at_least(&mut self, layer: LayerKind, secs: u64) {
        let least = self.min_timeout.entry(layer).or_default();
        *least = (*least).max(secs);
    }

    /// Makes a layer wait for a Flux Kustomization.
    pub fn dep(&mut self, layer: LayerKind, name: &str) {
        self.deps.entry(layer).or_default().insert(name.to_string());
    }

    /// Records a NetworkPolicy whose API-server egress rule names no address.
    pub fn open_api_server_egress(&mut self, policy: &str) {
        self.open_api_server_egress.push(policy.to_string());
    }

    /// Records an ExternalSecret of the app, so the pods that read its Secret can hash it.
    pub fn external_secret(&mut self, object: &super::secrets::ExternalSecret) {
        self.external_secrets.insert(object.name.clone(), object.clone());
    }

    /// The app's ExternalSecret that produces the Secret `name`.
    pub fn external_secret_for(&self, name: &str) -> Option<&super::secrets::ExternalSecret> {
        self.external_secrets.get(name)
    }

    /// The first layer that holds manifests so far (the release layer when none does).
    pub fn first_layer(&self) -> LayerKind {
        self.kinds().first().copied().unwrap_or(LayerKind::Release)
    }

    /// The layers that hold manifests, in apply order.
    fn kinds(&self) -> Vec<LayerKind> {
        self.manifests.keys().copied().collect()
    }
}

/// One app's resolution: its context, parts, runbook caveats and checks, diagnostics.
type ResolvedApp<'a> = (AppCtx<'a>, Parts, Vec<String>, Vec<Vec<String>>, Vec<Diagnostic>);

/// Builds the model of a spec that passed validation. Returns the model when there are no
/// errors, and every diagnostic (warnings included) found on the way.
/// With `spec_ok` false (the spec's own checks found errors) only the apps' checks run, so
/// one run reports every error: the Flux graph of such a spec is not checked (its unknown or
/// duplicate names would only be reported twice) and no model is returned.
/// The chart values are taken out of the spec (it is not read for them after); each app's
/// become a tree only while the app resolves, and go into the model as compact text again.
pub fn resolve(spec: &mut ClusterSpec, spans: &SpanIndex, spec_ok: bool) -> (Option<Model>, Vec<Diagnostic>) {
    let chart_values: Vec<crate::spec::ChartValues> = spec
        .apps
        .iter_mut()
        .map(|a| {
            a.helm
                .as_mut()
                .map(|h| std::mem::take(&mut h.values))
                .unwrap_or_default()
        })
        .collect();
    let spec: &ClusterSpec = spec;
    let mut diags = Vec::new();
    let flux = &spec.flux;
    let cluster = spec.metadata.name.to_string();
    let path_prefix = if flux.repo_path.is_empty() {
        ".".to_string()
    } else {
        format!("./{}", flux.repo_path.trim_matches('/'))
    };
    let ctx = Ctx {
        flux: FluxModel {
            namespace: flux.namespace.to_string(),
            cluster_dir: format!("clusters/{cluster}/{}", flux.dir),
            path_prefix,
            tree_root: match spec.tree_root.as_str() {
                "" => String::new(),
                root => format!("{root}/"),
            },
        },
        source_ref: SourceRef {
            kind: serde_json::to_value(flux.source_ref.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            name: flux.source_ref.name.to_string(),
            namespace: flux.source_ref.namespace.as_ref().map(|n| n.to_string()),
        },
        interval: flux.interval.to_string(),
    };
    let shared_sources = helm::shared_sources(spec, &ctx);
    let pod_security_levels = pod_security::namespace_levels(spec);
    let gates = operators::gates(spec, &ctx);
    let eso_gate = gates
        .iter()
        .find(|g| g.operator == Operator::ExternalSecrets.name())
        .map(|g| g.kustomization.name.clone());
    let shared_stores = secrets::shared_stores(spec, &ctx, eso_gate);

    // What every app offers to references, before any app resolves its own.
    let own_refs: BTreeMap<String, Refs> = spec
        .apps
        .iter()
        .map(|a| (a.name.to_string(), app_refs(a, false)))
        .collect();
    let public_refs: BTreeMap<String, Refs> = spec
        .apps
        .iter()
        .map(|a| (a.name.to_string(), app_refs(a, true)))
        .collect();

    // Collect every app's parts first: namespace owners' layer names are needed by the apps
    // that share their namespace.
    let mut namespace_owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, app) in spec.apps.iter().enumerate() {
        let namespace = app.namespace();
        if !SYSTEM_NAMESPACES.contains(&namespace) && namespace != ctx.flux.namespace {
            namespace_owner.entry(namespace).or_insert(i);
        }
    }
    // Apps resolve in parallel; each returns its diagnostics, merged in spec order.
    let resolved: Vec<ResolvedApp> = spec
        .apps
        .par_iter()
        .zip(chart_values)
        .enumerate()
        .map(|(i, (app, values))| {
        let mut values = values.map();
        let mut diags = Vec::new();
        let namespace = app.namespace().to_string();
        let owner = namespace_owner.get(namespace.as_str()) == Some(&i);
        let app_ctx = AppCtx {
            spec: app,
            name: app.name.to_string(),
            namespace,
            flux_namespace: ctx.flux.namespace.clone(),
        };
        let protect = app.prune_protection.unwrap_or(spec.defaults.prune_protection);
        let scope = Scope {
            own: &own_refs[app.name.as_str()],
            all: &public_refs,
            used_apps: Default::default(),
        };
        let base = format!("/apps/{i}");
        let mut unknown = Vec::new();
        let pg_conn = app
            .postgres
            .as_ref()
            .map(|p| postgres::connection(app.name.as_str(), p));
        let redis_conn = app
            .redis
            .as_ref()
            .map(|r| redis::connection(app.name.as_str(), r));

        // Chart values: references resolved, then what gitopsc wires for a chart it knows.
        let wiring = match app.helm.as_ref().and_then(|h| charts::lookup(&h.chart)) {
            Some(chart) => {
                let input = WiringInput {
                    app,
                    values: &values,
                    index: i,
                    postgres: pg_conn.as_ref(),
                    redis: redis_conn.as_ref(),
                    monitor_labels: &spec.defaults.monitoring.labels,
                };
                charts::wire(chart, &input, spans, &mut diags)
            }
            None => {
                if let (Some(helm), Some(monitoring)) =
                    (&app.helm, app.monitoring.as_ref().filter(|m| m.enabled))
                    && monitoring.port.is_none()
                {
                    diags.push(
                        Diagnostic::warning(format!(
                            "gitopsc does not know where chart `{}` serves its metrics",
                            helm.chart
                        ))
                        .at(spans.key(&format!("{base}/monitoring")), "")
                        .help("set `monitoring.port` to the metrics port's name for a PodMonitor, and turn the metrics on in `helm.values`"),
                    );
                }
                charts::Wiring::default()
            }
        };
        scope.resolve_map(&mut values, &format!("{base}/helm/values"), &mut unknown);
        charts::merge(&mut values, wiring.values);
        let data_secrets: Vec<&str> = pg_conn
            .iter()
            .map(|c| c.secret.as_str())
            .chain(redis_conn.iter().filter_map(|c| c.secret.as_deref()))
            .collect();
        let (found, read) = helm::check_values_from(app, &base, &data_secrets, spans);
        diags.extend(found);
        let mut uses = SecretUses {
            watched: wiring.watched,
            ..SecretUses::default()
        };
        uses.watched.extend(read);
        let unwatched = unwatched_values_from(app, &wiring.values_from, &uses.watched);
        if let Some(pg) = &app.postgres {
            uses.protected
                .extend(pg.backup.as_ref().map(|b| b.credentials.to_string()));
            uses.protected
                .extend(pg.owner_secret.as_ref().map(|s| s.to_string()));
            let role_secrets: Vec<String> = pg
                .roles
                .iter()
                .filter_map(|r| r.password_secret.as_ref().map(|s| s.to_string()))
                .collect();
            uses.protected.extend(role_secrets.iter().cloned());
            uses.reload.extend(role_secrets);
        }

        let mut parts = Parts::default();
        for op in operators::needed_by(app) {
            if op.declared(spec).is_some() {
                parts.dep(LayerKind::Data, &op.gate());
            }
        }
        helm::parts(spec, &app_ctx, &mut parts, values, wiring.values_from);
        if let (Some(helm), Some(monitoring)) = (&app.helm, app.monitoring.as_ref().filter(|m| m.enabled))
            && charts::lookup(&helm.chart).is_none()
            && let Some(port) = &monitoring.port
        {
            let release = helm.release_name.as_ref().unwrap_or(&app.name).to_string();
            let monitor = postgres::PodMonitor {
                name: app.name.to_string(),
                namespace: app_ctx.namespace.clone(),
                labels: spec.defaults.monitoring.labels.clone(),
                selector: if monitoring.selector.is_empty() {
                    BTreeMap::from([("app.kubernetes.io/instance".to_string(), release)])
                } else {
                    monitoring.selector.clone()
                },
                port: port.clone(),
                path: monitoring.path.clone(),
            };
            parts.release(Manifest::new(
                "podmonitor.yaml",
                "monitoring/podmonitor.yaml.j2",
                &["PodMonitor"],
                monitor,
            ));
        }
        let registry_of = |text: &str| match scope.resolve_str(text) {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(_) => text.to_string(),
        };
        for (s, secret) in app.secrets.iter().enumerate() {
            if let Some(registry) = &secret.registry
                && let Err(name) = scope.resolve_str(registry)
            {
                unknown.push(UnknownRef {
                    pointer: format!("{base}/secrets/{s}/registry"),
                    name,
                });
            }
        }
        secrets::parts(spec, &app_ctx, &mut parts, &uses, protect, &registry_of);
        let timeout = app.timeout.as_ref().unwrap_or(&spec.defaults.timeout);
        postgres::parts(
            spec,
            &app_ctx,
            &mut parts,
            protect,
            duration_secs(timeout.as_str()),
        );
        redis::parts(spec, &app_ctx, &mut parts, protect);
        for other in scope.used_apps.borrow().iter() {
            if !app.depends_on.iter().any(|d| d.as_str() == other) && other != app.name.as_str() {
                diags.push(
                    Diagnostic::error(format!(
                        "app `{}` references app `{other}` but does not depend on it",
                        app.name
                    ))
                    .at(spans.key(&format!("{base}/helm/values")), "")
                    .help(format!(
                        "add `{other}` to `dependsOn`, so what it references exists first"
                    )),
                );
            }
        }
        for u in unknown {
            diags.push(
                Diagnostic::error(format!("unknown reference `(({}))`", u.name))
                    .at(spans.value(&u.pointer), "nothing of that name")
                    .help(format!("app `{}` can reference {}", app.name, scope.describe())),
            );
        }
        workload::parts(spec, &app_ctx, &mut parts);
        let mut caveats = wiring.caveats;
        caveats.extend(unwatched);
        if let Some(levels) = pod_security_levels.get(app_ctx.namespace.as_str())
            && !levels.lowered_because.is_empty()
        {
            let mut caveat = format!(
                "Namespace `{}` enforces Pod Security `{}` (audit and warn: `{}`), not the `{}` of \
                 `defaults.podSecurity`: {}.",
                app_ctx.namespace,
                levels.enforce.as_str(),
                levels.report.as_str(),
                spec.defaults.pod_security.as_str(),
                levels.lowered_because.join("; ")
            );
            if levels.report != levels.enforce {
                caveat.push_str(
                    " A chart gitopsc cannot vouch for is enforced at `baseline` and audited at the level asked: the \
                     API server's warnings and audit log show what would be refused.",
                );
            }
            caveat.push_str(" See docs/pod-security.md.");
            caveats.push(caveat);
        }
        if pod_security::runs_kubeblocks(app) {
            caveats.push(
                "Pod Security: KubeBlocks' PostgreSQL and Redis addons run the database as root (`runAsUser: 0`), which \
                 `restricted` refuses and `baseline` allows (they need no privileged container or hostPath): the \
                 namespace enforces `baseline` at most, and an explicit `podSecurity: restricted` is refused."
                    .to_string(),
            );
        }
        if let Some((warning, caveat)) = open_api_server_egress(spec, &app_ctx, &parts, &base, spans) {
            diags.push(warning);
            caveats.push(caveat);
        }
        if owner && let Some(levels) = pod_security_levels.get(app_ctx.namespace.as_str()) {
            // The Namespace goes first into the app's first layer.
            let first = parts.kinds().first().copied().unwrap_or(LayerKind::Release);
            let mut labels = BTreeMap::new();
            for (mode, level) in [
                ("enforce", levels.enforce),
                ("audit", levels.report),
                ("warn", levels.report),
            ] {
                labels.insert(format!("pod-security.kubernetes.io/{mode}"), level.as_str().to_string());
            }
            if protect {
                labels.insert(LABEL_PRUNE.to_string(), "disabled".to_string());
            }
            let object = NamespaceObject {
                name: app_ctx.namespace.clone(),
                labels,
            };
            let ns = Manifest::new(
                "namespace.yaml",
                "core/namespace.yaml.j2",
                &["Namespace"],
                object,
            );
            parts.manifests.entry(first).or_default().insert(0, ns);
        }
        let (caveats, verify) = notes(&app_ctx, pg_conn.as_ref(), &parts, caveats, protect);
        // The copies of the app's ExternalSecrets served its pods' checksums; every app's
        // parts wait for the others, so they go now (a tenth of a large spec's peak memory).
        parts.external_secrets = BTreeMap::new();
        (app_ctx, parts, caveats, verify, diags)
        })
        .collect();
    // The reference tables have served.
    drop((own_refs, public_refs));
    let mut collected = Vec::with_capacity(resolved.len());
    for (app_ctx, parts, caveats, verify, found) in resolved {
        diags.extend(found);
        collected.push((app_ctx, parts, caveats, verify));
    }

    let first_layer_name = |parts: &Parts, app: &str| -> String {
        let kinds = parts.kinds();
        match kinds.as_slice() {
            [] | [_] => app.to_string(),
            [first, ..] => format!("{app}-{}", first.as_str()),
        }
    };
    let first_layers: Vec<String> = collected
        .iter()
        .map(|(app, parts, _, _)| first_layer_name(parts, &app.name))
        .collect();
    let mut apps: Vec<App> = collected
        .into_par_iter()
        .enumerate()
        .map(|(i, (app, parts, caveats, verify))| {
            let mut first_deps: BTreeSet<String> =
                app.spec.depends_on.iter().map(|d| d.to_string()).collect();
            if let Some(&owner) = namespace_owner.get(app.namespace.as_str())
                && owner != i
            {
                // The namespace must exist before this app applies anything into it.
                first_deps.insert(first_layers[owner].clone());
            }
            let mut assembled = assemble(spec, &ctx, &app, parts, first_deps);
            assembled.runbook = Some(runbook::runbook(spec, app.spec, &assembled, caveats, verify));
            assembled
        })
        .collect();
    apps.sort_by(|a, b| a.name.cmp(&b.name));

    let model = Model {
        cluster,
        flux: ctx.flux,
        shared_sources,
        shared_stores,
        gates,
        apps,
    };
    if !spec_ok {
        return (None, diags);
    }
    diags.extend(graph::check(&model, spec, spans));
    let ok = !diags.iter().any(Diagnostic::is_error);
    if ok {
        // About the namespaces of the tree: said when there is a tree to write.
        diags.extend(pod_security::lowered_warning(spec, &pod_security_levels, spans));
    }
    (ok.then_some(model), diags)
}

/// Everything an app offers to `((...))` references; `public`: as other namespaces see it
/// (Service hosts fully qualified).
fn app_refs(app: &AppSpec, public: bool) -> Refs {
    let mut refs = Refs::default();
    let namespace = app.namespace().to_string();
    refs.insert("name", app.name.to_string());
    refs.insert("namespace", namespace.clone());
    if let Some(pg) = &app.postgres {
        let mut conn = postgres::connection(app.name.as_str(), pg);
        if public {
            conn.host = format!("{}.{namespace}.svc", conn.host);
        }
        refs.merge(postgres::refs(&conn));
    }
    if let Some(r) = &app.redis {
        let mut conn = redis::connection(app.name.as_str(), r);
        if public && r.provider == crate::spec::data::RedisProvider::Kubeblocks {
            conn.address = conn.address.replacen(':', &format!(".{namespace}.svc:"), 1);
        }
        refs.merge(redis::refs(&conn, r));
    }
    for s in &app.secrets {
        refs.insert(format!("secrets.{}", s.name), s.name.to_string());
    }
    refs
}

/// The runbook caveat of a release that reads, through `valuesFrom`, Secrets helm-controller
/// does not watch: gitopsc does not write them (the data services' operators, or something
/// outside the tree, do), so it cannot label them.
fn unwatched_values_from(app: &AppSpec, wired: &[ValuesFrom], watched: &BTreeSet<String>) -> Option<String> {
    let user = app
        .helm
        .iter()
        .flat_map(|h| &h.values_from)
        .filter(|v| v.kind == crate::spec::ValuesKind::Secret)
        .map(|v| v.name.to_string());
    let wired = wired
        .iter()
        .filter(|v| v.kind == "Secret")
        .map(|v| v.name.clone());
    let names: BTreeSet<String> = user.chain(wired).filter(|n| !watched.contains(n)).collect();
    if names.is_empty() {
        return None;
    }
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    Some(format!(
        "helm-controller does not watch the Secrets {} that the release reads through `valuesFrom`: gitopsc does not \
         write them, so it cannot label them `reconcile.fluxcd.io/watch: Enabled`. A changed value reaches the release \
         at its next interval, or at once with `flux reconcile helmrelease {} -n {}`. To make helm-controller react by \
         itself, label a Secret you create, or run helm-controller with `--watch-configs-label-selector=owner!=helm` \
         (it then watches every Secret and ConfigMap but Helm's own release storage).",
        names.join(", "),
        app.name,
        app.namespace()
    ))
}

/// The warning and the runbook caveat of an app whose NetworkPolicies let pods out to any
/// address on the API server's ports (`defaults.network.apiServerCidrs` unset).
fn open_api_server_egress(
    spec: &ClusterSpec,
    app: &AppCtx,
    parts: &Parts,
    base: &str,
    spans: &SpanIndex,
) -> Option<(Diagnostic, String)> {
    if parts.open_api_server_egress.is_empty() {
        return None;
    }
    let policies: Vec<String> = parts
        .open_api_server_egress
        .iter()
        .map(|p| format!("`{p}`"))
        .collect();
    let ports: Vec<String> = spec
        .defaults
        .network
        .api_server_ports
        .iter()
        .map(u16::to_string)
        .collect();
    let ports = ports.join(", ");
    let at = [
        format!("{base}/networkPolicy"),
        format!("{base}/workloads"),
        format!("{base}/name"),
    ]
    .iter()
    .find(|p| spans.contains(p))
    .and_then(|p| spans.key(p));
    let warning = Diagnostic::warning(format!(
        "the NetworkPolicies {} of app `{}` allow egress to the API server as egress to any address on port {ports}",
        policies.join(", "),
        app.name
    ))
    .at(at, "")
    .help(
        "set `defaults.network.apiServerCidrs` to the API server's addresses (the endpoints of the `kubernetes` \
         Service: `kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`; policies see \
         the endpoint, not the Service's cluster IP), so the pods reach the API server and nothing else on those ports",
    );
    let caveat = format!(
        "Egress to the API server is egress to **any address** on port {ports} (NetworkPolicies {}): the API \
         server's address is not known at compile time. Set `defaults.network.apiServerCidrs` to its endpoint \
         addresses to allow only them.",
        policies.join(", ")
    );
    Some((warning, caveat))
}

/// The runbook's caveats and verification commands for an app.
fn notes(
    app: &AppCtx,
    pg: Option<&postgres::Connection>,
    parts: &Parts,
    mut caveats: Vec<String>,
    protect: bool,
) -> (Vec<String>, Vec<Vec<String>>) {
    let ns = app.namespace.as_str();
    let mut verify = Vec::new();
    if !app.spec.secrets.is_empty() {
        verify.push(words(&["kubectl", "-n", ns, "get", "externalsecrets"]));
    }
    if let (Some(conn), Some(spec)) = (pg, &app.spec.postgres) {
        match spec.provider {
            crate::spec::data::PostgresProvider::Cnpg => {
                verify.push(words(&[
                    "kubectl",
                    "-n",
                    ns,
                    "wait",
                    "--for=condition=Ready",
                    &format!("clusters.postgresql.cnpg.io/{}", conn.cluster),
                    "--timeout=15m",
                ]));
                if spec.backup.is_some() {
                    verify.push(words(&["kubectl", "-n", ns, "get", "scheduledbackups,backups"]));
                    if protect {
                        caveats.push(format!(
                            "The ScheduledBackup `{}-scheduled` (and the ObjectStore) are prune-protected like the cluster: \
                             when the app leaves the spec, the kept cluster keeps being backed up. To stop that, delete \
                             them by hand (`kubectl -n {ns} delete scheduledbackup {}-scheduled`).",
                            conn.cluster, conn.cluster
                        ));
                    }
                }
                for role in spec.roles.iter().filter(|r| r.password_secret.is_some()) {
                    caveats.push(format!(
                        "The password secret of role `{}` must hold `username: {}`: CloudNative-PG matches it to the role.",
                        role.name, role.name
                    ));
                }
                if let Some(secret) = &spec.owner_secret {
                    caveats.push(format!(
                        "`{secret}` must hold `username: {}` (the database owner): CloudNative-PG requires it and then \
                         creates no `{}-app` Secret.",
                        conn.user, conn.cluster
                    ));
                }
            }
            crate::spec::data::PostgresProvider::Kubeblocks => {
                verify.push(words(&[
                    "kubectl",
                    "-n",
                    ns,
                    "get",
                    "clusters.apps.kubeblocks.io",
                    &conn.cluster,
                ]));
                if parts.manifests.contains_key(&LayerKind::Init) {
                    let job = postgres::init_job_name(spec, conn);
                    verify.push(words(&[
                        "kubectl",
                        "-n",
                        ns,
                        "wait",
                        "--for=condition=complete",
                        &format!("job/{job}"),
                        "--timeout=15m",
                    ]));
                    caveats.push(format!(
                        "KubeBlocks creates no application database: the Job `{job}` creates `{}` (idempotent; it waits for the \
                         primary first). To rerun it: `kubectl -n {ns} delete job {job}`; Flux recreates it at the next \
                         reconcile (`flux reconcile kustomization {}-init`).",
                        conn.database, app.name
                    ));
                }
                caveats.push(format!(
                    "On KubeBlocks the application connects as the `postgres` account (Secret `{}`).",
                    conn.secret
                ));
            }
        }
    }
    if app
        .spec
        .redis
        .as_ref()
        .is_some_and(|r| r.provider == crate::spec::data::RedisProvider::Kubeblocks)
    {
        caveats.push(
            "Redis: the release talks to the primary's Service, not to Sentinel: Harbor cannot authenticate to \
             Sentinel (goharbor/harbor#14757) and KubeBlocks' sentinels require a password. KubeBlocks keeps that \
             Service on the current primary."
                .to_string(),
        );
    }
    if app.spec.helm.is_some() {
        verify.push(words(&[
            "kubectl",
            "-n",
            ns,
            "wait",
            "--for=condition=Ready",
            &format!("helmrelease/{}", app.name),
            "--timeout=15m",
        ]));
    }
    (caveats, verify)
}

/// A command as its words; the runbook quotes each one.
fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Seconds in a Go duration (`1h30m`, `90s`, `1.5h`, `500ms`).
pub fn duration_secs(text: &str) -> u64 {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().unwrap_or(0.0);
        number.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => 0.0,
        };
        total += value * unit;
    }
    total.ceil() as u64
}

/// Turns an app's parts into layers: one folder and Flux Kustomization per non-empty layer,
/// chained in order; the last is named after the app, so `dependsOn: [app]` waits for all
/// of it.
fn assemble(
    spec: &ClusterSpec,
    ctx: &Ctx,
    app: &AppCtx,
    mut parts: Parts,
    first_deps: BTreeSet<String>,
) -> App {
    let base = match &app.spec.group {
        Some(group) => format!("{}workloads/{group}/{}", ctx.flux.tree_root, app.name),
        None => format!("{}workloads/{}", ctx.flux.tree_root, app.name),
    };
    let timeout = app
        .spec
        .timeout
        .as_ref()
        .unwrap_or(&spec.defaults.timeout)
        .to_string();
    let retry = app
        .spec
        .retry_interval
        .as_ref()
        .unwrap_or(&spec.defaults.retry_interval)
        .to_string();
    let mut kinds = parts.kinds();
    if kinds.is_empty() {
        kinds.push(LayerKind::Release);
    }
    let single = kinds.len() == 1;
    let mut layers: Vec<Layer> = Vec::with_capacity(kinds.len());
    for (n, kind) in kinds.iter().enumerate() {
        let last = n + 1 == kinds.len();
        let name = if last {
            app.name.clone()
        } else {
            format!("{}-{}", app.name, kind.as_str())
        };
        let dir = if single {
            base.clone()
        } else {
            format!("{base}/{}", kind.as_str())
        };
        let mut deps = parts.deps.remove(kind).unwrap_or_default();
        match layers.last() {
            None => deps.extend(first_deps.iter().cloned()),
            Some(previous) => {
                deps.insert(previous.kustomization.name.clone());
            }
        }
        let manifests = parts.manifests.remove(kind).unwrap_or_default();
        let object_kinds: Vec<&str> = manifests.iter().flat_map(|m| m.kinds.iter().copied()).collect();
        // A timeout the app sets is the user's; the default grows to what the layer needs.
        let layer_timeout = match parts.min_timeout.get(kind) {
            Some(&least) if app.spec.timeout.is_none() && least > duration_secs(&timeout) => {
                format!("{}m", least.div_ceil(60))
            }
            _ => timeout.clone(),
        };
        layers.push(Layer {
            kind: *kind,
            kustomization: ctx.kustomization(name, &dir, &layer_timeout, &retry, &object_kinds, deps),
            dir,
            manifests,
        });
    }
    App {
        name: app.name.clone(),
        namespace: app.namespace.clone(),
        kustomizations_file: format!("{}/{}.yaml", ctx.flux.cluster_dir, app.name),
        layers,
        dir: base,
        runbook: None,
    }
}

#[cfg(test)]
mod tests {
    use super::duration_secs;

    #[test]
    fn go_durations_in_seconds() {
        assert_eq!(duration_secs("5m"), 300);
        assert_eq!(duration_secs("1h30m"), 5400);
        assert_eq!(duration_secs("1.5h"), 5400);
        assert_eq!(duration_secs("90s"), 90);
        assert_eq!(duration_secs("500ms"), 1);
    }
}
