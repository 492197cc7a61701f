//! Finding the apps of a Flux tree: each Flux Kustomization (with its `-data` / `-init`
//! layers) and the objects of the folder it applies; a HelmRelease no Kustomization applies is
//! an app of its own.

use super::read::Object;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One app: its name, its Flux settings, and its objects.
#[derive(Debug, Default)]
pub struct App {
    /// The app's name (its release layer's Flux Kustomization, or its HelmRelease).
    pub name: String,
    /// The namespace its objects live in.
    pub namespace: Option<String>,
    /// gitopsc's group, when the tree is gitopsc's layout.
    pub group: Option<String>,
    /// Flux Kustomizations and apps it waits for.
    pub depends_on: Vec<String>,
    /// The Flux Kustomization's timeout.
    pub timeout: Option<String>,
    /// The Flux Kustomization's retry interval.
    pub retry_interval: Option<String>,
    /// The Pod Security level its Namespace enforces, when set alike for all three modes.
    pub pod_security: Option<String>,
    /// Whether its Namespace carries the prune-protection label.
    pub prune_protection: Option<bool>,
    /// Its Namespace's other labels.
    pub namespace_labels: Map<String, Value>,
    /// The release layer's SOPS decryption, as the spec's `decryption`.
    pub decryption: Option<Value>,
    /// The release layer's Flux Kustomization, when its name is not the app's (gitopsc's
    /// `kustomizationName`: the app's folder has the app's name).
    pub kustomization_name: Option<String>,
    /// The app's objects.
    pub objects: Vec<Object>,
}

/// What the Flux Kustomizations have in common: the spec's `flux` and `defaults`.
#[derive(Debug, Default)]
pub struct Flux {
    /// The tree's folder in the repository.
    pub repo_path: String,
    /// The Flux namespace.
    pub namespace: Option<String>,
    /// The source every Kustomization applies from.
    pub source_ref: Option<Value>,
    /// The most common interval.
    pub interval: Option<String>,
    /// Kustomizations apps depend on that the tree does not hold.
    pub external: BTreeSet<String>,
    /// The most common timeout and retry interval.
    pub defaults_map: BTreeMap<&'static str, String>,
    /// The store most ExternalSecrets use.
    pub default_store: Option<String>,
}

impl Flux {
    /// The default the spec's `defaults` sets for `key`.
    pub fn default_of(&self, key: &str) -> Option<&str> {
        self.defaults_map.get(key).map(String::as_str)
    }

    /// The spec's `flux` section.
    pub fn to_value(&self) -> Value {
        let mut flux = Map::new();
        if !self.repo_path.is_empty() {
            flux.insert("repoPath".into(), json!(self.repo_path));
        }
        if let Some(ns) = self.namespace.as_ref().filter(|ns| *ns != "flux-system") {
            flux.insert("namespace".into(), json!(ns));
        }
        if let Some(source) = &self.source_ref {
            flux.insert("sourceRef".into(), source.clone());
        }
        if let Some(interval) = &self.interval {
            flux.insert("interval".into(), json!(interval));
        }
        if !self.external.is_empty() {
            flux.insert("external".into(), json!(self.external));
        }
        Value::Object(flux)
    }
}

/// The apps found, and what their Flux Kustomizations share.
pub struct Found {
    /// The apps, in name order.
    pub apps: Vec<App>,
    /// The spec's `flux`.
    pub flux: Flux,
    /// The spec's `defaults`.
    pub defaults: Value,
    /// Every object as Flux applies it (`targetNamespace` set).
    pub objects: Vec<Object>,
}

/// Finds the apps among `objects` read from `roots`.
pub fn find(objects: &[Object], roots: &[PathBuf], notes: &mut Vec<String>) -> Found {
    let flux_ks: Vec<&Object> = objects
        .iter()
        .filter(|o| o.is("kustomize.toolkit.fluxcd.io", "Kustomization"))
        .collect();
    let mut flux = Flux::default();
    let mut claimed: BTreeSet<PathBuf> = BTreeSet::new();
    let mut apps: BTreeMap<String, App> = BTreeMap::new();
    let names: BTreeSet<&str> = flux_ks.iter().map(|k| k.name()).collect();
    for ks in &flux_ks {
        let Some((folder, repo_path)) = folder_of(ks, roots) else {
            notes.push(format!(
                "the folder of {} is not under the paths imported",
                ks.describe()
            ));
            continue;
        };
        let mine: Vec<&Object> = objects.iter().filter(|o| o.file.starts_with(&folder)).collect();
        if is_infrastructure(&mine) {
            claimed.extend(mine.iter().map(|o| o.file.clone()));
            continue;
        }
        if let Some(repo_path) = repo_path {
            flux.repo_path = repo_path;
        }
        let app_name = layer_owner(ks.name(), &names);
        let app = apps.entry(app_name.to_string()).or_insert_with(|| App {
            name: app_name.to_string(),
            ..App::default()
        });
        take_layer(app, ks, &folder, &mine);
        claimed.extend(mine.iter().map(|o| o.file.clone()));
    }
    for release in objects
        .iter()
        .filter(|o| o.is("helm.toolkit.fluxcd.io", "HelmRelease"))
    {
        if claimed.contains(&release.file) || apps.contains_key(release.name()) {
            continue;
        }
        let folder = release.file.parent().map(Path::to_path_buf).unwrap_or_default();
        let mine: Vec<&Object> = objects
            .iter()
            .filter(|o| o.file.parent() == Some(folder.as_path()) && !claimed.contains(&o.file))
            .collect();
        let mut app = App {
            name: release.name().to_string(),
            ..App::default()
        };
        add_objects(&mut app, &mine);
        claimed.extend(mine.iter().map(|o| o.file.clone()));
        apps.insert(app.name.clone(), app);
    }
    finish(objects, &flux_ks, apps, flux, &claimed, notes)
}

/// Settles dependencies, namespaces and the defaults once every app is known.
fn finish(
    objects: &[Object],
    flux_ks: &[&Object],
    mut apps: BTreeMap<String, App>,
    mut flux: Flux,
    claimed: &BTreeSet<PathBuf>,
    notes: &mut Vec<String>,
) -> Found {
    let known: BTreeSet<String> = apps.keys().cloned().collect();
    let generated: BTreeSet<&str> = flux_ks
        .iter()
        .map(|k| k.name())
        .filter(|n| !known.contains(*n))
        .collect();
    // A dependency names a Kustomization; the spec names the app.
    let app_names: BTreeMap<String, String> = apps.iter().map(|(k, a)| (k.clone(), a.name.clone())).collect();
    for (ks_name, app) in &mut apps {
        let mut deps = BTreeSet::new();
        for dep in std::mem::take(&mut app.depends_on) {
            if let Some(name) = app_names.get(&dep) {
                deps.insert(name.clone());
            } else if dep.starts_with(&format!("{ks_name}-")) || generated.contains(dep.as_str()) {
                // The app's own layers, gitopsc's gates, sources and secret stores.
            } else {
                flux.external.insert(dep.clone());
                deps.insert(dep);
            }
        }
        app.depends_on = deps.into_iter().collect();
    }
    let release_layers: Vec<&&Object> = flux_ks.iter().filter(|k| known.contains(k.name())).collect();
    flux.namespace = most_common(
        release_layers
            .iter()
            .map(|k| k.namespace().unwrap_or("flux-system")),
    );
    flux.interval = most_common(release_layers.iter().map(|k| k.str_at("/spec/interval")));
    flux.source_ref = release_layers
        .first()
        .and_then(|k| k.value.pointer("/spec/sourceRef"))
        .cloned();
    let mut defaults = Map::new();
    // gitopsc's source gates and secret-store Kustomization wait `defaults.timeout`; the apps'
    // layers may each set their own.
    let infrastructure: Vec<&&Object> = flux_ks
        .iter()
        .filter(|k| k.name().starts_with("source-") || k.name() == "secret-stores")
        .collect();
    let basis = if infrastructure.is_empty() {
        &release_layers
    } else {
        &infrastructure
    };
    for key in ["timeout", "retryInterval"] {
        let common = if key == "timeout" {
            most_common(basis.iter().map(|k| timeout_of(k)))
        } else {
            most_common(basis.iter().map(|k| k.str_at(&format!("/spec/{key}"))))
        };
        if let Some(value) = common.filter(|v| !v.is_empty()) {
            defaults.insert(key.into(), json!(value));
            flux.defaults_map.insert(
                if key == "timeout" {
                    "timeout"
                } else {
                    "retryInterval"
                },
                value,
            );
        }
    }
    flux.default_store = most_common(
        objects
            .iter()
            .filter(|o| o.is("external-secrets.io", "ExternalSecret"))
            .map(|o| o.str_at("/spec/secretStoreRef/name")),
    );
    if let Some(store) = &flux.default_store {
        defaults.insert("secretStore".into(), json!(store));
    }
    if let Some(monitoring) = monitoring(objects) {
        defaults.insert("monitoring".into(), monitoring);
    }
    for object in objects
        .iter()
        .filter(|o| !claimed.contains(&o.file) && !is_flux_or_source(o))
    {
        notes.push(format!("not part of any app: {}", object.describe()));
    }
    let placed: BTreeSet<(PathBuf, String, String)> = apps
        .values()
        .flat_map(|a| a.objects.iter())
        .map(|o| (o.file.clone(), o.kind().to_string(), o.name().to_string()))
        .collect();
    let mut all: Vec<Object> = apps.values().flat_map(|a| a.objects.iter().cloned()).collect();
    all.extend(
        objects
            .iter()
            .filter(|o| !placed.contains(&(o.file.clone(), o.kind().to_string(), o.name().to_string())))
            .cloned(),
    );
    Found {
        apps: apps.into_values().collect(),
        flux,
        defaults: Value::Object(defaults),
        objects: all,
    }
}

/// The folder a Flux Kustomization applies, found under one of `roots` by the longest tail of
/// its `path` that exists there, and, for gitopsc's layout (`<repoPath>/workloads/...`), the
/// tree's `repoPath`.
fn folder_of(ks: &Object, roots: &[PathBuf]) -> Option<(PathBuf, Option<String>)> {
    let path = ks
        .str_at("/spec/path")
        .trim_start_matches("./")
        .trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for root in roots {
        let base = if root.is_dir() {
            root.as_path()
        } else {
            root.parent()?
        };
        for skip in 0..parts.len() {
            let folder = base.join(parts[skip..].join("/"));
            if folder.is_dir() {
                let workloads = parts.iter().position(|p| *p == "workloads");
                let repo_path = workloads.map(|at| parts[..at].join("/"));
                return Some((folder, repo_path));
            }
        }
    }
    None
}

/// The app a layer Kustomization belongs to: `harbor-data` and `harbor-init` are layers of
/// `harbor` when a Kustomization `harbor` exists.
fn layer_owner<'a>(name: &'a str, names: &BTreeSet<&str>) -> &'a str {
    for suffix in ["-data", "-init"] {
        if let Some(owner) = name.strip_suffix(suffix)
            && names.contains(owner)
        {
            return owner;
        }
    }
    name
}

/// True for folders of gitopsc's own infrastructure: operator gates (empty), chart sources and
/// secret stores, which the spec's `sources`, `operators` and `secretStores` stand for.
fn is_infrastructure(objects: &[&Object]) -> bool {
    objects.iter().all(|o| {
        super::images::is_image_automation(o)
            || matches!(
                (o.group(), o.kind()),
                ("source.toolkit.fluxcd.io", "HelmRepository")
                    | ("external-secrets.io", "ClusterSecretStore")
                    | ("kustomize.config.k8s.io", "Kustomization")
            )
    })
}

fn is_flux_or_source(object: &Object) -> bool {
    super::images::is_image_automation(object)
        || object.is("kustomize.toolkit.fluxcd.io", "Kustomization")
        || object.is("source.toolkit.fluxcd.io", "HelmRepository")
        || object.is("external-secrets.io", "ClusterSecretStore")
        || object.is("kustomize.config.k8s.io", "Kustomization")
}

/// Takes one layer's Flux settings and objects into its app.
fn take_layer(app: &mut App, ks: &Object, folder: &Path, objects: &[&Object]) {
    let spec = |key: &str| Some(ks.str_at(&format!("/spec/{key}")).to_string()).filter(|s| !s.is_empty());
    if ks.name() == app.name {
        app.timeout = Some(timeout_of(ks).to_string()).filter(|t| !t.is_empty());
        app.retry_interval = spec("retryInterval");
        app.group = group_of(folder, &app.name);
        app.decryption = ks
            .value
            .pointer("/spec/decryption")
            .map(|d| match d.pointer("/secretRef/name") {
                Some(secret) => json!({ "secret": secret }),
                None => json!({}),
            });
        // gitopsc's layout: `.../<app>/release`, whatever the Kustomization's name.
        let layer = folder.file_name().and_then(|n| n.to_str());
        let dir = folder.parent().and_then(Path::file_name).and_then(|n| n.to_str());
        if let (Some("release"), Some(dir)) = (layer, dir)
            && dir != app.name
        {
            app.kustomization_name = Some(app.name.clone());
            app.group = group_of(folder, dir);
            app.name = dir.to_string();
        }
    }
    if let Some(deps) = ks.value.pointer("/spec/dependsOn").and_then(Value::as_array) {
        app.depends_on.extend(
            deps.iter()
                .filter_map(|d| d.get("name")?.as_str())
                .map(String::from),
        );
    }
    let Some(target) = spec("targetNamespace") else {
        add_objects(app, objects);
        return;
    };
    // Flux sets `targetNamespace` on every namespaced object of the folder.
    app.namespace.get_or_insert(target.clone());
    let placed: Vec<Object> = objects
        .iter()
        .map(|o| {
            let mut o = (*o).clone();
            if !CLUSTER_SCOPED.contains(&o.kind())
                && let Some(meta) = o.value.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), json!(target));
            }
            o
        })
        .collect();
    add_objects(app, &placed.iter().collect::<Vec<_>>());
}

/// Kinds without a namespace, which `targetNamespace` leaves alone.
pub const CLUSTER_SCOPED: [&str; 9] = [
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterSecretStore",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "ClusterIssuer",
];

/// gitopsc's group of an app folder `.../workloads/<group>/<app>[/<layer>]`.
fn group_of(folder: &Path, app: &str) -> Option<String> {
    let text = folder.to_string_lossy().replace('\\', "/");
    let (_, after) = text
        .rsplit_once("/workloads/")
        .or_else(|| text.split_once("workloads/"))?;
    let (group, _) = after.split_once(&format!("/{app}"))?;
    Some(group.to_string()).filter(|g| !g.is_empty())
}

/// Adds objects to an app, reading its namespace and Namespace labels on the way.
fn add_objects(app: &mut App, objects: &[&Object]) {
    for object in objects {
        if object.is("", "Namespace") {
            app.namespace.get_or_insert_with(|| object.name().to_string());
            let label =
                |mode: &str| object.str_at(&format!("/metadata/labels/pod-security.kubernetes.io~1{mode}"));
            let (enforce, audit, warn) = (label("enforce"), label("audit"), label("warn"));
            if !enforce.is_empty() && enforce == audit && audit == warn {
                app.pod_security = Some(enforce.to_string());
            }
            let protected =
                object.str_at("/metadata/labels/kustomize.toolkit.fluxcd.io~1prune") == "disabled";
            app.prune_protection = Some(protected);
            let labels = object
                .value
                .pointer("/metadata/labels")
                .and_then(Value::as_object);
            app.namespace_labels = labels
                .into_iter()
                .flatten()
                .filter(|(k, _)| {
                    !k.starts_with("pod-security.kubernetes.io/")
                        && !k.starts_with("kustomize.toolkit.fluxcd.io/")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        } else if object.is("helm.toolkit.fluxcd.io", "HelmRelease")
            && let Some(ns) = object.namespace()
        {
            app.namespace.get_or_insert_with(|| ns.to_string());
        }
        app.objects.push((*object).clone());
    }
}

/// `defaults.monitoring`: the labels every monitor carries, and the namespace of the rules when
/// they all share one other than their app's.
fn monitoring(objects: &[Object]) -> Option<Value> {
    let victoria = objects
        .iter()
        .any(|o| o.group() == "operator.victoriametrics.com");
    let group = if victoria {
        "operator.victoriametrics.com"
    } else {
        "monitoring.coreos.com"
    };
    let monitors: Vec<&Object> = objects.iter().filter(|o| o.group() == group).collect();
    let first = monitors.first()?;
    let labels = first
        .value
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let common: Map<String, Value> = labels
        .into_iter()
        .filter(|(k, v)| {
            monitors
                .iter()
                .all(|m| m.value.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
        })
        // gitopsc's own labels (a monitoring label may be `app.kubernetes.io/part-of`).
        .filter(|(k, _)| {
            !["instance", "managed-by", "name", "component"]
                .iter()
                .any(|own| **k == format!("app.kubernetes.io/{own}"))
        })
        .collect();
    let mut out = Map::new();
    if victoria {
        out.insert("flavor".into(), json!("victoriametrics"));
    }
    if !common.is_empty() {
        out.insert("labels".into(), Value::Object(common));
    }
    let rules: BTreeSet<&str> = monitors
        .iter()
        .filter(|m| matches!(m.kind(), "PrometheusRule" | "VMRule"))
        .filter_map(|m| m.namespace())
        .collect();
    let rule_count = monitors
        .iter()
        .filter(|m| matches!(m.kind(), "PrometheusRule" | "VMRule"))
        .count();
    if rules.len() == 1 && rule_count > 1 {
        out.insert("namespace".into(), json!(rules.first()));
    } else if let Some(ns) = super::redis::monitoring_namespace(objects) {
        out.insert("namespace".into(), json!(ns));
    }
    Some(Value::Object(out)).filter(|o| o.as_object().is_some_and(|m| !m.is_empty()))
}

/// A Flux Kustomization's timeout as Flux reads it: without `timeout`, its `interval`.
fn timeout_of(ks: &Object) -> &str {
    match ks.str_at("/spec/timeout") {
        "" => ks.str_at("/spec/interval"),
        timeout => timeout,
    }
}

/// The value most items have (the first in order on a tie), if any.
fn most_common<'a>(items: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(v, _)| v.to_string())
}
