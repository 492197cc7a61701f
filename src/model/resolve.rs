//! Resolution: a checked spec → the model. Applies defaults, decides every path and name,
//! and checks the emitted Flux graph (every dependency exists, names are unique, every
//! Kustomization is reachable from the cluster root).

use super::health::expr_for;
use super::*;
use crate::diagnostic::Diagnostic;
use crate::spec::load::SpanIndex;
use crate::spec::{AppSpec, ClusterSpec, CrdPolicy, ValuesKind};
use std::collections::{BTreeMap, BTreeSet};

/// Namespaces that exist in every cluster or belong to Flux itself: gitopsc never emits a
/// Namespace object for them (it would relabel or, unprotected, prune them).
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Name of the Flux Kustomization that applies the shared HelmRepositories.
pub const SOURCES_KUSTOMIZATION: &str = "sources";

const LABEL_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";

/// Builds the model of a spec that passed validation.
pub fn resolve(spec: &ClusterSpec, spans: &SpanIndex) -> Result<Model, Vec<Diagnostic>> {
    let flux = &spec.flux;
    let cluster = spec.metadata.name.to_string();
    let path_prefix = if flux.repo_path.is_empty() {
        ".".to_string()
    } else {
        format!("./{}", flux.repo_path.trim_matches('/'))
    };
    let flux_model = FluxModel {
        namespace: flux.namespace.to_string(),
        cluster_dir: format!("clusters/{cluster}/{}", flux.dir),
        path_prefix,
    };
    let source_ref = SourceRef {
        kind: serde_json::to_value(flux.source_ref.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        name: flux.source_ref.name.to_string(),
        namespace: flux.source_ref.namespace.as_ref().map(|n| n.to_string()),
    };
    let ks = |name: String, dir: &str, timeout: &str, retry: &str, kinds: &[&str], deps: Vec<String>| {
        let mut exprs: Vec<HealthCheckExpr> = Vec::new();
        for kind in kinds.iter().copied().collect::<BTreeSet<_>>() {
            exprs.extend(expr_for(kind));
        }
        FluxKustomization {
            name,
            namespace: flux_model.namespace.clone(),
            path: format!("{}/{dir}", flux_model.path_prefix),
            interval: flux.interval.to_string(),
            retry_interval: retry.to_string(),
            timeout: timeout.to_string(),
            wait: true,
            source_ref: source_ref.clone(),
            depends_on: deps.into_iter().collect::<BTreeSet<_>>().into_iter().collect(),
            health_check_exprs: exprs,
        }
    };

    let source_interval = |s: &crate::spec::HelmSource| {
        s.interval
            .as_ref()
            .map_or_else(|| "1h".to_string(), |d| d.to_string())
    };

    // Shared HelmRepositories (https sources used by at least one app, cross-namespace refs on).
    let used: BTreeSet<&str> = spec
        .apps
        .iter()
        .filter_map(|a| a.helm.as_ref().map(|h| h.source.as_str()))
        .collect();
    let mut shared: Vec<HelmRepository> = if flux.cross_namespace_refs {
        spec.sources
            .helm
            .iter()
            .filter(|s| !s.url.starts_with("oci://") && used.contains(s.name.as_str()))
            .map(|s| HelmRepository {
                name: s.name.to_string(),
                namespace: flux_model.namespace.clone(),
                url: s.url.trim_end_matches('/').to_string(),
                interval: source_interval(s),
            })
            .collect()
    } else {
        Vec::new()
    };
    shared.sort_by(|a, b| a.name.cmp(&b.name));
    let shared_sources = (!shared.is_empty()).then(|| {
        let dir = "infrastructure/sources/helm".to_string();
        let kustomization = ks(
            SOURCES_KUSTOMIZATION.to_string(),
            &dir,
            &spec.defaults.timeout.to_string(),
            &spec.defaults.retry_interval.to_string(),
            &["HelmRepository"],
            Vec::new(),
        );
        SharedSources {
            dir,
            repositories: shared,
            kustomization,
        }
    });

    // The first app (in spec order) of each namespace owns, and emits, its Namespace object.
    let mut namespace_owner: BTreeMap<String, &AppSpec> = BTreeMap::new();
    for app in &spec.apps {
        namespace_owner.entry(namespace_of(app)).or_insert(app);
    }

    let mut apps = Vec::with_capacity(spec.apps.len());
    for app in &spec.apps {
        let namespace = namespace_of(app);
        let dir = match &app.group {
            Some(group) => format!("workloads/{group}/{}", app.name),
            None => format!("workloads/{}", app.name),
        };
        let owner = namespace_owner[&namespace];
        let emits_namespace =
            !SYSTEM_NAMESPACES.contains(&namespace.as_str()) && namespace != flux_model.namespace;
        let owns_namespace = emits_namespace && std::ptr::eq(owner, app);
        let protect = app.prune_protection.unwrap_or(spec.defaults.prune_protection);
        let namespace_object = owns_namespace.then(|| {
            let level = app.pod_security.unwrap_or(spec.defaults.pod_security).as_str();
            let mut labels = BTreeMap::new();
            for mode in ["enforce", "audit", "warn"] {
                labels.insert(format!("pod-security.kubernetes.io/{mode}"), level.to_string());
            }
            if protect {
                labels.insert(LABEL_PRUNE.to_string(), "disabled".to_string());
            }
            NamespaceObject {
                name: namespace.clone(),
                labels,
            }
        });

        let release = app.helm.as_ref().map(|helm| {
            let source = spec
                .sources
                .helm
                .iter()
                .find(|s| s.name == helm.source)
                .expect("validated: the source is declared");
            let url = source.url.trim_end_matches('/');
            let chart_source = if url.starts_with("oci://") {
                ChartSource::Oci {
                    repository: OciRepository {
                        name: app.name.to_string(),
                        namespace: namespace.clone(),
                        url: format!("{url}/{}", helm.chart),
                        tag: helm.version.clone(),
                        interval: source_interval(source),
                    },
                }
            } else {
                let local = !flux.cross_namespace_refs;
                ChartSource::Repository {
                    repository: HelmRepository {
                        // A per-release copy is named after the app: two apps of one
                        // namespace using one source must not emit the same object.
                        name: if local {
                            app.name.to_string()
                        } else {
                            source.name.to_string()
                        },
                        namespace: if local {
                            namespace.clone()
                        } else {
                            flux_model.namespace.clone()
                        },
                        url: url.to_string(),
                        interval: source_interval(source),
                    },
                    local,
                }
            };
            Release {
                name: app.name.to_string(),
                namespace: namespace.clone(),
                release_name: helm.release_name.as_ref().map(|n| n.to_string()),
                interval: helm
                    .interval
                    .as_ref()
                    .unwrap_or(&spec.defaults.helm_interval)
                    .to_string(),
                timeout: helm.timeout.as_ref().map(|t| t.to_string()),
                chart: helm.chart.clone(),
                version: helm.version.clone(),
                source: chart_source,
                crds: match helm.crds {
                    CrdPolicy::Skip => "Skip",
                    CrdPolicy::Create => "Create",
                    CrdPolicy::CreateReplace => "CreateReplace",
                },
                retries: helm.retries,
                values: helm.values.clone(),
                values_from: helm
                    .values_from
                    .iter()
                    .map(|v| ValuesFrom {
                        kind: match v.kind {
                            ValuesKind::ConfigMap => "ConfigMap",
                            ValuesKind::Secret => "Secret",
                        },
                        name: v.name.to_string(),
                        values_key: v.values_key.clone(),
                        target_path: v.target_path.clone(),
                        literal: v.literal,
                        optional: v.optional,
                    })
                    .collect(),
            }
        });

        // The release layer: everything an app without data services has.
        let mut manifests = Vec::new();
        if namespace_object.is_some() {
            manifests.push(manifest(
                "namespace.yaml",
                "core/namespace.yaml.j2",
                &["Namespace"],
            ));
        }
        let mut deps: Vec<String> = app.depends_on.iter().map(|d| d.to_string()).collect();
        if let Some(release) = &release {
            match &release.source {
                ChartSource::Oci { .. } => manifests.push(manifest(
                    "ocirepository.yaml",
                    "flux/ocirepository.yaml.j2",
                    &["OCIRepository"],
                )),
                ChartSource::Repository { local: true, .. } => manifests.push(manifest(
                    "helmrepository.yaml",
                    "flux/helmrepository.yaml.j2",
                    &["HelmRepository"],
                )),
                ChartSource::Repository { local: false, .. } => deps.push(SOURCES_KUSTOMIZATION.to_string()),
            }
            manifests.push(manifest(
                "helmrelease.yaml",
                "flux/helmrelease.yaml.j2",
                &["HelmRelease"],
            ));
        }
        if emits_namespace && !owns_namespace {
            // The namespace must exist before this app applies anything into it.
            deps.push(owner.name.to_string());
        }
        let kinds: Vec<&str> = manifests.iter().flat_map(|m| m.kinds.iter().copied()).collect();
        let timeout = app.timeout.as_ref().unwrap_or(&spec.defaults.timeout).to_string();
        let retry = app
            .retry_interval
            .as_ref()
            .unwrap_or(&spec.defaults.retry_interval)
            .to_string();
        let layer = Layer {
            kustomization: ks(app.name.to_string(), &dir, &timeout, &retry, &kinds, deps),
            dir,
            manifests,
        };
        apps.push(App {
            name: app.name.to_string(),
            namespace,
            kustomizations_file: format!("{}/{}.yaml", flux_model.cluster_dir, app.name),
            namespace_object,
            release,
            layers: vec![layer],
        });
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));

    let model = Model {
        cluster,
        flux: flux_model,
        shared_sources,
        apps,
    };
    let diags = check_graph(&model, spec, spans);
    if diags.is_empty() { Ok(model) } else { Err(diags) }
}

fn manifest(file: &str, blueprint: &'static str, kinds: &'static [&'static str]) -> Manifest {
    Manifest {
        file: file.to_string(),
        blueprint,
        kinds,
    }
}

fn namespace_of(app: &AppSpec) -> String {
    app.namespace.as_ref().unwrap_or(&app.name).to_string()
}

/// Checks the emitted Flux graph: unique Kustomization names, every `dependsOn` resolvable,
/// every Kustomization reachable from the cluster root (listed by the cluster folder's
/// kustomization.yaml, which Flux's root Kustomization applies).
fn check_graph(model: &Model, spec: &ClusterSpec, spans: &SpanIndex) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let app_index: BTreeMap<&str, usize> = spec
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), i))
        .collect();
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let externals: BTreeSet<&str> = spec.flux.external.iter().map(|e| e.as_str()).collect();
    for app in &model.apps {
        for layer in &app.layers {
            let name = layer.kustomization.name.as_str();
            if let Some(other) = names.insert(name, app.name.as_str()) {
                let at = app_index
                    .get(app.name.as_str())
                    .map(|i| format!("/apps/{i}/name"));
                diags.push(
                    Diagnostic::error(format!(
                        "the Flux Kustomization `{name}` of app `{}` has the same name as one of app `{other}`",
                        app.name
                    ))
                    .at(at.and_then(|p| spans.value(&p)), "")
                    .help("rename one of the apps"),
                );
            }
        }
    }
    if let Some(shared) = &model.shared_sources {
        let name = shared.kustomization.name.as_str();
        if let Some(app) = names.get(name) {
            let at = app_index.get(app).map(|i| format!("/apps/{i}/name"));
            diags.push(
                Diagnostic::error(format!(
                    "app `{app}` has the name of the Flux Kustomization `{name}` that applies the shared Helm sources"
                ))
                .at(at.and_then(|p| spans.value(&p)), "reserved name")
                .help("rename the app"),
            );
        }
    }
    let listed: BTreeSet<String> = model
        .cluster_resources()
        .into_iter()
        .map(|f| format!("{}/{f}", model.flux.cluster_dir))
        .collect();
    for app in &model.apps {
        if !listed.contains(&app.kustomizations_file) {
            diags.push(Diagnostic::error(format!(
                "internal: the Flux Kustomizations of app `{}` are not reachable from the cluster root",
                app.name
            )));
        }
    }
    for k in model.kustomizations() {
        for dep in &k.depends_on {
            let known = names.contains_key(dep.as_str())
                || externals.contains(dep.as_str())
                || (dep == SOURCES_KUSTOMIZATION && model.shared_sources.is_some());
            if !known {
                diags.push(Diagnostic::error(format!(
                    "internal: Flux Kustomization `{}` depends on `{dep}`, which the tree does not contain",
                    k.name
                )));
            }
        }
    }
    diags
}
