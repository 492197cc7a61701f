//! Helm: the shared HelmRepositories, each app's HelmRelease with its chart source, and the
//! check of the Secrets its `valuesFrom` reads.

use super::charts::{self, WiringInput};
use super::part::{AppCtx, Ctx, Part, Parts, Topic};
use super::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::kinds;
use crate::spec::path::SpecPath;
use crate::spec::places::Places;
use crate::spec::schema::did_you_mean;
use crate::spec::{AppSpec, ClusterSpec, CrdPolicy, HelmSource, HelmSpec, ValuesKind};
use std::collections::BTreeSet;

/// The part of an app's Helm release: the chart's values (references resolved, gitopsc's
/// wiring merged), the chart source, the HelmRelease, and a PodMonitor for a chart gitopsc
/// does not know when the app says where it serves metrics.
pub struct Helm;

impl Part for Helm {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        let Some(helm) = &app.spec.helm else { return };
        let mut values = out.chart_values.take().unwrap_or_default();
        let wiring = match charts::lookup(&helm.chart) {
            Some(chart) => {
                let input = WiringInput {
                    app: app.spec,
                    values: &values,
                    index_base: &app.base,
                    postgres: app.postgres.as_ref(),
                    redis: app.redis.as_ref(),
                    monitoring: &app.cluster.defaults.monitoring,
                };
                charts::wire(chart, &input, app.spans, &mut out.diags)
            }
            None => {
                out.diags.extend(unknown_metrics(app, helm));
                charts::Wiring::default()
            }
        };
        app.scope
            .resolve_map(&mut values, &app.helm_values(), &mut out.unknown);
        charts::merge(&mut values, wiring.values);
        let data_secrets: Vec<&str> = app
            .postgres
            .iter()
            .map(|c| c.secret.as_str())
            .chain(app.redis.iter().filter_map(|c| c.secret.as_deref()))
            .collect();
        let (found, read) = check_values_from(app.spec, &app.base, &data_secrets, app.spans);
        out.diags.extend(found);
        out.watched = wiring.watched;
        out.watched.extend(read);
        for caveat in wiring.caveats {
            out.caveat(Topic::Release, caveat);
        }
        if let Some(caveat) = unwatched_values_from(app.spec, &wiring.values_from, &out.watched) {
            out.caveat(Topic::Release, caveat);
        }
        chart_scrape(app, helm, &values, out);
        release(app, helm, out, values, wiring.values_from);
        chart_monitor(app, helm, out);
        let name = format!("helmrelease/{}", helm.object_name(&app.name));
        out.verify(
            LayerKind::Release,
            &[
                "kubectl",
                "-n",
                &app.namespace,
                "wait",
                "--for=condition=Ready",
                &name,
                "--timeout=15m",
            ],
        );
    }
}

/// The warning for a chart gitopsc does not know when the app turns monitoring on without
/// saying which port serves the metrics.
fn unknown_metrics(app: &AppCtx, helm: &HelmSpec) -> Option<Diagnostic> {
    app.spec
        .monitoring
        .as_ref()
        .filter(|m| m.enabled && m.port.is_none())?;
    Some(
        Diagnostic::warning(Code::UnknownMetricsPort, format!(
            "gitopsc does not know where chart `{}` serves its metrics",
            helm.chart
        ))
        .at(app.spans.key(&app.at(AppSpec::MONITORING)), "")
        .help(format!(
            "set `monitoring.port` to the metrics port's name for a {}, and turn the metrics on in `helm.values`",
            monitors::pod_kind(app.cluster)
        )),
    )
}

/// The PodMonitor of a chart gitopsc does not know, scraping the port the app names.
fn chart_monitor(app: &AppCtx, helm: &HelmSpec, out: &mut Parts) {
    let Some(monitoring) = app.spec.monitoring.as_ref().filter(|m| m.enabled) else {
        return;
    };
    let (None, Some(port)) = (charts::lookup(&helm.chart), &monitoring.port) else {
        return;
    };
    let release = helm.release(app.spec.name.as_str()).to_string();
    let monitor = postgres::PodMonitor {
        name: app.name.clone(),
        namespace: app.namespace.clone(),
        labels: super::StrMap::from(&app.cluster.defaults.monitoring.labels),
        selector: if monitoring.selector.is_empty() {
            super::StrMap::from_iter([("app.kubernetes.io/instance".to_string(), release)])
        } else {
            super::StrMap::from(&monitoring.selector)
        },
        port: port.clone(),
        path: monitoring.path.clone(),
    };
    out.release(monitors::pod_monitor(app.cluster, "", "", monitor));
}

/// With VictoriaMetrics, the scrape of a known chart's metrics Services that its own
/// ServiceMonitor (turned off) would have made; a warning for each value under which the
/// chart serves them elsewhere.
fn chart_scrape(
    app: &AppCtx,
    helm: &HelmSpec,
    values: &serde_json::Map<String, serde_json::Value>,
    out: &mut Parts,
) {
    let monitoring = &app.cluster.defaults.monitoring;
    let (Some(scrape), true, crate::spec::MonitoringFlavor::VictoriaMetrics) = (
        charts::lookup(&helm.chart).and_then(|c| c.scrape.as_ref()),
        app.spec.monitoring.as_ref().is_some_and(|m| m.enabled),
        monitoring.flavor,
    ) else {
        return;
    };
    for (path, why) in scrape.unsupported {
        if charts::get_path(values, path)
            .is_some_and(|v| !v.is_null() && v != &serde_json::Value::Bool(false))
        {
            let pointer = app.helm_values().keys(path.split('.'));
            out.diagnostic(
                Diagnostic::warning(
                    Code::MonitorMisses,
                    format!("the VMServiceScrape of chart `{}` misses its metrics", helm.chart),
                )
                .at(app.spans.key(&pointer), "")
                .help(format!(
                    "{why}: drop `{path}`, or scrape those Services with a VMServiceScrape of your own"
                )),
            );
        }
    }
    let release = helm.release(app.spec.name.as_str()).to_string();
    let mut selector: std::collections::BTreeMap<String, String> = scrape
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    selector.insert(scrape.release_label.to_string(), release);
    let item = monitors::ScrapeItem {
        meta: workload::Meta {
            name: app.name.clone(),
            namespace: app.namespace.clone(),
            labels: super::StrMap::from(&monitoring.labels),
        },
        selector: super::StrMap::from(selector),
        endpoints: vec![serde_json::json!({"port": scrape.port, "honorLabels": true})],
    };
    out.release(monitors::service_monitor(app.cluster, "", "", item));
}

/// The runbook caveat of a release that reads, through `valuesFrom`, Secrets helm-controller
/// does not watch: gitopsc does not write them (the data services' operators, or something
/// outside the tree, do), so it cannot label them.
fn unwatched_values_from(app: &AppSpec, wired: &[ValuesFrom], watched: &BTreeSet<String>) -> Option<String> {
    let user = app
        .helm
        .iter()
        .flat_map(|h| &h.values_from)
        .filter(|v| v.kind == ValuesKind::Secret)
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
        app.helm
            .as_ref()
            .map_or(app.name.as_str(), |h| h.object_name(app.name.as_str())),
        app.namespace()
    ))
}

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
            let dir = format!("{}{SOURCES_DIR}/{}", ctx.flux.tree_root, s.name);
            let kustomization = ctx.kustomization(
                source_gate(s.name.as_str()),
                &dir,
                &spec.defaults.timeout.to_string(),
                &spec.defaults.retry_interval.to_string(),
                &[&kinds::HELM_REPOSITORY],
                BTreeSet::new(),
            );
            SharedSource {
                dir,
                repository: HelmRepository {
                    name: s.name.to_string(),
                    namespace: ctx.flux.namespace.clone(),
                    url: s.url.trim_end_matches('/').to_string(),
                    interval: interval(s),
                    timeout: s.timeout.as_ref().map(|t| t.to_string()),
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
        dir: format!("{}{SOURCES_DIR}", ctx.flux.tree_root),
        sources,
    })
}

/// The app's HelmRelease and, in its namespace, the chart source it needs. `values` are the
/// app's values with references resolved and wiring merged; `wired_from` the `valuesFrom`
/// entries wiring adds.
fn release(
    app: &AppCtx,
    helm: &HelmSpec,
    parts: &mut Parts,
    values: serde_json::Map<String, serde_json::Value>,
    wired_from: Vec<ValuesFrom>,
) {
    let spec = app.cluster;
    // An undeclared source is the semantic checks' error; the app's other checks still run.
    let Some(source) = spec.sources.helm.iter().find(|s| s.name == helm.source) else {
        return;
    };
    let url = source.url.trim_end_matches('/');
    let namespace = app.namespace.clone();
    let chart_source = if url.starts_with("oci://") {
        let repository = OciRepository {
            name: app.name.clone(),
            namespace: namespace.clone(),
            url: format!("{url}/{}", helm.chart),
            tag: helm.version.clone(),
            interval: interval(source),
            timeout: source.timeout.as_ref().map(|t| t.to_string()),
        };
        parts.release(Manifest::new(
            "ocirepository.yaml",
            "flux/ocirepository.yaml.j2",
            &kinds::OCI_REPOSITORY,
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
                timeout: source.timeout.as_ref().map(|t| t.to_string()),
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
            timeout: source.timeout.as_ref().map(|t| t.to_string()),
        };
        parts.release(Manifest::new(
            "helmrepository.yaml",
            "flux/helmrepository.yaml.j2",
            &kinds::HELM_REPOSITORY,
            repository.clone(),
        ));
        ChartSource::Repository {
            repository,
            local: true,
        }
    };
    let release = Release {
        name: helm.object_name(&app.name).to_string(),
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
        policy: release_policy::policy(spec, helm),
    };
    parts.release(Manifest::new(
        "helmrelease.yaml",
        "flux/helmrelease.yaml.j2",
        &kinds::HELM_RELEASE,
        release,
    ));
}

/// Checks the Secrets the app's `valuesFrom` reads: each is one the app's ExternalSecrets
/// build (with the key read, when its keys are known), one of its data services' Secrets,
/// or marked `external: true`. Returns the diagnostics and the app's ExternalSecrets read,
/// which Flux must watch so a changed value reaches the release.
pub fn check_values_from(
    app: &AppSpec,
    base: &SpecPath,
    data_secrets: &[&str],
    spans: &Places,
) -> (Vec<Diagnostic>, BTreeSet<String>) {
    let mut diags = Vec::new();
    let mut watched = BTreeSet::new();
    let Some(helm) = &app.helm else {
        return (diags, watched);
    };
    for (v, from) in helm.values_from.iter().enumerate() {
        if from.kind != ValuesKind::Secret || from.external {
            continue;
        }
        let pointer = base.field(AppSpec::HELM).field(HelmSpec::VALUES_FROM).index(v);
        let name = from.name.as_str();
        if let Some(secret) = app.secrets.iter().find(|s| s.name.as_str() == name) {
            watched.insert(name.to_string());
            let key = from.values_key.as_deref().unwrap_or("values.yaml");
            if let Some(keys) = secret.keys().filter(|keys| !keys.iter().any(|k| k == key)) {
                let help = match did_you_mean(key, keys.iter().map(String::as_str)) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!(
                        "its keys: {}; add the key to the secret's `data`",
                        keys.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let at = if from.values_key.is_some() {
                    spans.value(&pointer.field(crate::spec::ValuesFrom::VALUES_KEY))
                } else {
                    spans.key(&pointer)
                };
                diags.push(
                    Diagnostic::error(Code::UnknownSecretKey, format!(
                        "Secret `{name}` (the app's ExternalSecret) has no key `{key}`: Flux would fail the release"
                    ))
                    .at(at, "unknown key")
                    .help(help),
                );
            }
        } else if !data_secrets.contains(&name) {
            let known = app
                .secrets
                .iter()
                .map(|s| s.name.as_str())
                .chain(data_secrets.iter().copied());
            let help = match did_you_mean(name, known) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "name one of the app's `secrets`, or, for a Secret something else creates in the \
                         namespace, mark the entry `external: true`"
                    .to_string(),
            };
            diags.push(
                Diagnostic::error(Code::UnknownValuesFromSecret, format!(
                    "Secret `{name}` is not one that the app's ExternalSecrets or data services produce: Flux would \
                     fail the release until it exists"
                ))
                .at(spans.value(&pointer.field(crate::spec::ValuesFrom::NAME)), "unknown Secret")
                .help(help),
            );
        }
    }
    (diags, watched)
}
