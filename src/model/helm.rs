//! Helm: the shared HelmRepositories and each app's HelmRelease with its chart source.

use super::resolve::{AppCtx, Ctx, Parts};
use super::*;
use crate::spec::{ClusterSpec, CrdPolicy, HelmSource, ValuesKind};
use std::collections::BTreeSet;

/// Folder of the shared HelmRepositories' folders.
const SOURCES_DIR: &str = "infrastructure/sources/helm";

/// The Flux Kustomization that applies the shared HelmRepository `source`: the apps that
/// install from it wait for it, and for no other repository.
pub fn source_gate(source: &str) -> String {
    format!("source-{source}")
}

fn interval(source: &HelmSource) -> String {
    source
        .interval
        .as_ref()
        .map_or_else(|| "1h".to_string(), |d| d.to_string())
}

/// The `https://` sources apps use, shared from the Flux namespace (unless cross-namespace
/// references are off), each with the Flux Kustomization that applies it.
pub fn shared_sources(spec: &ClusterSpec, ctx: &Ctx) -> Option<SharedSources> {
    if !spec.flux.cross_namespace_refs {
        return None;
    }
    let used: BTreeSet<&str> = spec
        .apps
        .iter()
        .filter_map(|a| a.helm.as_ref().map(|h| h.source.as_str()))
        .collect();
    let mut sources: Vec<SharedSource> = spec
        .sources
        .helm
        .iter()
        .filter(|s| !s.url.starts_with("oci://") && used.contains(s.name.as_str()))
        .map(|s| {
            let dir = format!("{SOURCES_DIR}/{}", s.name);
            let kustomization = ctx.kustomization(
                source_gate(s.name.as_str()),
                &dir,
                &spec.defaults.timeout.to_string(),
                &spec.defaults.retry_interval.to_string(),
                &["HelmRepository"],
                BTreeSet::new(),
            );
            SharedSource {
                dir,
                repository: HelmRepository {
                    name: s.name.to_string(),
                    namespace: ctx.flux.namespace.clone(),
                    url: s.url.trim_end_matches('/').to_string(),
                    interval: interval(s),
                },
                kustomization,
            }
        })
        .collect();
    if sources.is_empty() {
        return None;
    }
    sources.sort_by(|a, b| a.repository.name.cmp(&b.repository.name));
    Some(SharedSources {
        dir: SOURCES_DIR.to_string(),
        sources,
    })
}

/// The app's HelmRelease and, in its namespace, the chart source it needs. `values` are the
/// app's values with references resolved and wiring merged; `wired_from` the `valuesFrom`
/// entries wiring adds.
pub fn parts(
    spec: &ClusterSpec,
    app: &AppCtx,
    parts: &mut Parts,
    values: serde_json::Map<String, serde_json::Value>,
    wired_from: Vec<ValuesFrom>,
) {
    let Some(helm) = &app.spec.helm else { return };
    let source = spec
        .sources
        .helm
        .iter()
        .find(|s| s.name == helm.source)
        .expect("validated: the source is declared");
    let url = source.url.trim_end_matches('/');
    let namespace = app.namespace.clone();
    let chart_source = if url.starts_with("oci://") {
        let repository = OciRepository {
            name: app.name.clone(),
            namespace: namespace.clone(),
            url: format!("{url}/{}", helm.chart),
            tag: helm.version.clone(),
            interval: interval(source),
        };
        parts.release(Manifest::new(
            "ocirepository.yaml",
            "flux/ocirepository.yaml.j2",
            &["OCIRepository"],
            repository.clone(),
        ));
        ChartSource::Oci { repository }
    } else if spec.flux.cross_namespace_refs {
        parts.release_dep(&source_gate(source.name.as_str()));
        ChartSource::Repository {
            repository: HelmRepository {
                name: source.name.to_string(),
                namespace: app.flux_namespace.clone(),
                url: url.to_string(),
                interval: interval(source),
            },
            local: false,
        }
    } else {
        // A per-release copy is named after the app: two apps of one namespace using one
        // source must not emit the same object.
        let repository = HelmRepository {
            name: app.name.clone(),
            namespace: namespace.clone(),
            url: url.to_string(),
            interval: interval(source),
        };
        parts.release(Manifest::new(
            "helmrepository.yaml",
            "flux/helmrepository.yaml.j2",
            &["HelmRepository"],
            repository.clone(),
        ));
        ChartSource::Repository {
            repository,
            local: true,
        }
    };
    let release = Release {
        name: app.name.clone(),
        namespace,
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
        values: serde_json::Value::Object(values).into(),
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
            .chain(wired_from)
            .collect(),
    };
    parts.release(Manifest::new(
        "helmrelease.yaml",
        "flux/helmrelease.yaml.j2",
        &["HelmRelease"],
        release,
    ));
}
