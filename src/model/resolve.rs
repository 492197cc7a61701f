//! Resolution: a checked spec → the model. Applies defaults, decides every name and path,
//! collects each app's manifests by layer from the parts of the spec (namespace, Helm, ...),
//! assembles the layers into folders and Flux Kustomizations, and checks the Flux graph.
//!
//! A new kind of object means: a function that adds manifests to [`Parts`] (see
//! [`super::helm::parts`]), one call in [`resolve`], one blueprint.

use super::health::expr_for;
use super::*;
use crate::diagnostic::Diagnostic;
use crate::spec::load::SpanIndex;
use crate::spec::{AppSpec, ClusterSpec};
use std::collections::{BTreeMap, BTreeSet};

/// Namespaces that exist in every cluster: gitopsc never emits a Namespace object for them
/// (it would relabel or, unprotected, prune them). The Flux namespace is excluded too.
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

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

    /// The layers that hold manifests, in apply order.
    fn kinds(&self) -> Vec<LayerKind> {
        self.manifests.keys().copied().collect()
    }
}

/// Builds the model of a spec that passed validation.
pub fn resolve(spec: &ClusterSpec, spans: &SpanIndex) -> Result<Model, Vec<Diagnostic>> {
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

    // Collect every app's parts first: namespace owners' layer names are needed by the apps
    // that share their namespace.
    let mut namespace_owner: BTreeMap<String, usize> = BTreeMap::new();
    let mut collected: Vec<(AppCtx, Parts)> = Vec::with_capacity(spec.apps.len());
    for (i, app) in spec.apps.iter().enumerate() {
        let namespace = app.namespace.as_ref().unwrap_or(&app.name).to_string();
        let emits_namespace =
            !SYSTEM_NAMESPACES.contains(&namespace.as_str()) && namespace != ctx.flux.namespace;
        let owner = emits_namespace && !namespace_owner.contains_key(&namespace);
        if owner {
            namespace_owner.insert(namespace.clone(), i);
        }
        let app_ctx = AppCtx {
            spec: app,
            name: app.name.to_string(),
            namespace,
            flux_namespace: ctx.flux.namespace.clone(),
        };
        let mut parts = Parts::default();
        helm::parts(spec, &app_ctx, &mut parts);
        if owner {
            // The Namespace goes first into the app's first layer.
            let first = parts.kinds().first().copied().unwrap_or(LayerKind::Release);
            let protect = app.prune_protection.unwrap_or(spec.defaults.prune_protection);
            let level = app.pod_security.unwrap_or(spec.defaults.pod_security).as_str();
            let mut labels = BTreeMap::new();
            for mode in ["enforce", "audit", "warn"] {
                labels.insert(format!("pod-security.kubernetes.io/{mode}"), level.to_string());
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
                &object,
            );
            parts.manifests.entry(first).or_default().insert(0, ns);
        }
        collected.push((app_ctx, parts));
    }

    let first_layer_name = |parts: &Parts, app: &str| -> String {
        let kinds = parts.kinds();
        match kinds.as_slice() {
            [] | [_] => app.to_string(),
            [first, ..] => format!("{app}-{}", first.as_str()),
        }
    };
    let mut apps = Vec::with_capacity(collected.len());
    for (i, (app, parts)) in collected.iter().enumerate() {
        let mut first_deps: BTreeSet<String> = app.spec.depends_on.iter().map(|d| d.to_string()).collect();
        if let Some(&owner) = namespace_owner.get(&app.namespace)
            && owner != i
        {
            // The namespace must exist before this app applies anything into it.
            let (owner_app, owner_parts) = &collected[owner];
            first_deps.insert(first_layer_name(owner_parts, &owner_app.name));
        }
        apps.push(assemble(spec, &ctx, app, parts, first_deps));
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));

    let model = Model {
        cluster,
        flux: ctx.flux,
        shared_sources,
        apps,
    };
    let diags = graph::check(&model, spec, spans);
    if diags.is_empty() { Ok(model) } else { Err(diags) }
}

/// Turns an app's parts into layers: one folder and Flux Kustomization per non-empty layer,
/// chained in order; the last is named after the app, so `dependsOn: [app]` waits for all
/// of it.
fn assemble(spec: &ClusterSpec, ctx: &Ctx, app: &AppCtx, parts: &Parts, first_deps: BTreeSet<String>) -> App {
    let base = match &app.spec.group {
        Some(group) => format!("workloads/{group}/{}", app.name),
        None => format!("workloads/{}", app.name),
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
        let mut deps = parts.deps.get(kind).cloned().unwrap_or_default();
        match layers.last() {
            None => deps.extend(first_deps.iter().cloned()),
            Some(previous) => {
                deps.insert(previous.kustomization.name.clone());
            }
        }
        let manifests = parts.manifests.get(kind).cloned().unwrap_or_default();
        let object_kinds: Vec<&str> = manifests.iter().flat_map(|m| m.kinds.iter().copied()).collect();
        layers.push(Layer {
            kind: *kind,
            kustomization: ctx.kustomization(name, &dir, &timeout, &retry, &object_kinds, deps),
            dir,
            manifests,
        });
    }
    App {
        name: app.name.clone(),
        namespace: app.namespace.clone(),
        kustomizations_file: format!("{}/{}.yaml", ctx.flux.cluster_dir, app.name),
        layers,
    }
}
