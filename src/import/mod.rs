//! `gitopsc import`: read an existing Flux tree (hand-written or generated) and write the spec
//! that renders it. What the spec can express becomes spec fields; every other object is listed,
//! so nothing is dropped silently.
//!
//! The stages: read every object (`read`), find the apps (a Flux Kustomization and the folder
//! it applies, or a HelmRelease alone: `apps`), turn each app's objects into spec fields
//! (`helm`, `secrets`), and write the spec through the one YAML emitter (`write`).

mod alerts;
mod apps;
mod carry;
mod container;
mod helm;
mod images;
mod monitor;
mod operators;
mod plaintext;
mod pod;
mod postgres;
mod rbac;
mod read;
mod redis;
mod rest;
mod routes;
mod scaling;
mod secrets;
mod verify;
mod volsync;
mod workloads;
mod write;

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What `import` found: the spec text and the notes on what it could not express.
pub struct Imported {
    /// The spec, as YAML.
    pub spec: String,
    /// Objects the spec renders exactly as imported, of how many.
    pub reproduced: (usize, usize),
    /// One line per object the spec does not reproduce exactly, and why.
    pub notes: Vec<String>,
}

/// Reads the Flux trees under `paths` and writes a spec for cluster `cluster`.
pub fn import(paths: &[PathBuf], cluster: &str) -> Result<Imported, String> {
    let mut objects = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(format!("{} does not exist", path.display()));
        }
        objects.extend(read::objects(path)?);
    }
    if objects.is_empty() {
        return Err("no Kubernetes objects found (looked for *.yaml and *.yml files)".into());
    }
    let mut notes = Vec::new();
    let mut found = apps::find(&objects, paths, &mut notes);
    external_gates(&objects, &mut found);
    let sources = helm::Sources::new(&found.objects);
    let mut spec_apps = Vec::new();
    let mut used_sources = BTreeMap::new();
    for app in &found.apps {
        let mut spec_app = app_spec(app, &sources, &mut used_sources, &found.flux, &mut notes);
        plaintext::allow_copied(&mut spec_app, &mut notes);
        spec_apps.push(spec_app);
    }
    postgres::allow_namespaces(&mut spec_apps, &found.objects);
    let stores = secrets::stores(&objects, &mut notes);
    let mut spec = Map::new();
    spec.insert("apiVersion".into(), json!(crate::spec::API_VERSION));
    spec.insert("kind".into(), json!("Cluster"));
    spec.insert("metadata".into(), json!({ "name": cluster }));
    spec.insert("flux".into(), found.flux.to_value());
    spec.insert("defaults".into(), found.defaults.clone());
    if !used_sources.is_empty() {
        spec.insert(
            "sources".into(),
            json!({ "helm": used_sources.into_values().collect::<Vec<_>>() }),
        );
    }
    if !stores.is_empty() {
        spec.insert("secretStores".into(), Value::Array(stores));
    }
    let mut operators = operators::operators(&objects, &found.apps, found.flux.default_of("timeout"));
    let assumed = operators::assumed(&spec_apps, &mut operators);
    if !assumed.is_empty() {
        found
            .flux
            .external
            .extend(assumed.iter().map(|(_, ks)| ks.to_string()));
        let flux = spec.get_mut("flux").and_then(Value::as_object_mut);
        if let Some(flux) = flux {
            flux.insert("external".into(), json!(found.flux.external));
        }
        for (operator, ks) in assumed {
            notes.push(format!(
                "`operators.{operator}` is assumed installed outside the tree by the Flux Kustomization `{ks}`, \
                 with its conventional Deployment and namespace: check them"
            ));
        }
    }
    if !operators.is_empty() {
        spec.insert("operators".into(), Value::Object(operators));
    }
    if let Some(automation) = images::automation(&objects) {
        spec.insert("imageAutomation".into(), automation);
    }
    let mut reasons = BTreeMap::new();
    let mut read = read_workloads(&found, &mut reasons);
    let (mut text, mut check) = settle(&mut spec, &spec_apps, &mut read, &found, &mut reasons)?;
    spec_apps = with_workloads(&spec_apps, &read);
    // What no field says is carried as the apps' own manifests, then everything is compared
    // again: the notes are those of the spec printed.
    let mut carried_notes = Vec::new();
    let missing = (check.missing.as_slice(), &reasons);
    if carry::carry(&mut spec_apps, &found.apps, missing, &mut carried_notes) > 0 {
        let mut with = spec;
        with.insert("apps".into(), Value::Array(spec_apps));
        let with_text = write::spec(&with);
        match verify::verify(&with_text, &found.objects) {
            Ok(again) => {
                (text, check) = (with_text, again);
                notes.extend(carried_notes);
            }
            // What compiles is carried; the notes say why the rest is not.
            Err(_) => {
                if let Some(settled) = carry::settle(&mut with, &found.objects, &mut notes) {
                    (text, check) = settled;
                }
            }
        }
    }
    notes.extend(check.notes);
    Ok(Imported {
        spec: write::with_notes(&text, &notes),
        reproduced: (check.reproduced, check.total),
        notes,
    })
}

/// The Flux Kustomizations gitopsc's operator gates wait for that no app of the tree is:
/// `flux.external`.
fn external_gates(objects: &[read::Object], found: &mut apps::Found) {
    for gate in objects
        .iter()
        .filter(|o| o.is("kustomize.toolkit.fluxcd.io", "Kustomization") && o.name().ends_with("-gate"))
    {
        let deps = gate.value.pointer("/spec/dependsOn").and_then(Value::as_array);
        for dep in deps.into_iter().flatten().filter_map(|d| d.get("name")?.as_str()) {
            let is_app = |a: &apps::App| a.name == dep || a.kustomization_name.as_deref() == Some(dep);
            if !found.apps.iter().any(is_app) {
                found.flux.external.insert(dep.to_string());
            }
        }
    }
}

/// Each app's workloads the model expresses; `reasons` gets why each other one is not read.
fn read_workloads(
    found: &apps::Found,
    reasons: &mut BTreeMap<verify::Key, String>,
) -> Vec<Vec<workloads::Workload>> {
    let monitor_labels = found
        .defaults
        .pointer("/monitoring/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    found
        .apps
        .iter()
        .map(|app| {
            let (labels, annotations) = (common(app, "labels"), common(app, "annotations"));
            let cx = workloads::Context {
                app,
                labels: &labels,
                annotations: &annotations,
                monitor_labels: monitor_labels.clone(),
            };
            workloads::read(&cx, reasons)
        })
        .collect()
}

/// Compiles the spec with the workloads read, and leaves out (with the reason) each workload
/// whose objects the spec would not render exactly as imported, until all that are left do;
/// returns the spec's text and its verification.
fn settle(
    spec: &mut Map<String, Value>,
    apps: &[Value],
    read: &mut [Vec<workloads::Workload>],
    found: &apps::Found,
    reasons: &mut BTreeMap<verify::Key, String>,
) -> Result<(String, verify::Verification), String> {
    loop {
        spec.insert("apps".into(), Value::Array(with_workloads(apps, read)));
        let text = write::spec(spec);
        let check = match verify::verify(&text, &found.objects) {
            Ok(check) => check,
            Err(why) if read.iter().any(|r| !r.is_empty()) => {
                if !compiling_alone(spec, apps, read, found, reasons) {
                    for workload in read.iter_mut().flat_map(|r| r.drain(..)) {
                        let reason = format!(
                            "not read into `{}`: the spec would not compile with it ({why})",
                            workload.field()
                        );
                        reasons.insert(workload.owned[0].clone(), reason);
                    }
                }
                continue;
            }
            Err(why) => return Err(why),
        };
        if !workloads::leave_out(read, &found.apps, &check, reasons) {
            return Ok((text, check));
        }
    }
}

/// Leaves out each workload the spec would not compile with, tried one at a time; returns
/// whether it left any out.
fn compiling_alone(
    spec: &mut Map<String, Value>,
    apps: &[Value],
    read: &mut [Vec<workloads::Workload>],
    found: &apps::Found,
    reasons: &mut BTreeMap<verify::Key, String>,
) -> bool {
    let mut any = false;
    for i in 0..read.len() {
        let mut k = 0;
        while k < read[i].len() {
            let mut alone: Vec<Vec<workloads::Workload>> = vec![Vec::new(); read.len()];
            alone[i].push(read[i][k].clone());
            spec.insert("apps".into(), Value::Array(with_workloads(apps, &alone)));
            match verify::verify(&write::spec(spec), &found.objects) {
                Ok(_) => k += 1,
                Err(why) => {
                    let workload = read[i].remove(k);
                    let reason = format!(
                        "not read into `{}`: the spec would not compile with it ({why})",
                        workload.field()
                    );
                    reasons.insert(workload.owned[0].clone(), reason);
                    any = true;
                }
            }
        }
    }
    any
}

/// The spec's apps with the workloads read, their Services and ConfigMaps.
fn with_workloads(apps: &[Value], read: &[Vec<workloads::Workload>]) -> Vec<Value> {
    let mut out = apps.to_vec();
    for (app, read) in out.iter_mut().zip(read) {
        let Some(app) = app.as_object_mut() else {
            continue;
        };
        let config_maps = once(read.iter().flat_map(|w| &w.config_maps));
        let accounts = once(read.iter().flat_map(|w| &w.service_accounts));
        let services: Vec<Value> = read.iter().flat_map(|w| w.services.clone()).collect();
        let entries: Vec<Value> = read.iter().filter_map(|w| w.entry.clone()).collect();
        for (field, list) in [
            ("configMaps", config_maps),
            ("serviceAccounts", accounts),
            ("workloads", entries),
            ("services", services),
        ] {
            if !list.is_empty() {
                app.insert(field.into(), Value::Array(list));
            }
        }
    }
    out
}

/// The entries of `lists`, the first of each name only (workloads may share one).
fn once<'a>(entries: impl Iterator<Item = &'a Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for entry in entries {
        if !out.iter().any(|c| c.get("name") == entry.get("name")) {
            out.push(entry.clone());
        }
    }
    out
}

/// An app's own settings: its name, namespace and Flux Kustomization's settings, its labels.
fn app_settings(app: &apps::App, flux: &apps::Flux) -> Map<String, Value> {
    let mut spec = Map::new();
    spec.insert("name".into(), json!(app.name));
    if let Some(ns) = app.namespace.as_deref().filter(|ns| *ns != app.name) {
        spec.insert("namespace".into(), json!(ns));
    }
    if let Some(group) = &app.group {
        spec.insert("group".into(), json!(group));
    }
    if let Some(ks) = &app.kustomization_name {
        spec.insert("kustomizationName".into(), json!(ks));
    }
    if let Some(decryption) = &app.decryption {
        spec.insert("decryption".into(), decryption.clone());
    }
    if !app.depends_on.is_empty() {
        spec.insert("dependsOn".into(), json!(app.depends_on));
    }
    for (key, value) in [("timeout", &app.timeout), ("retryInterval", &app.retry_interval)] {
        if let Some(v) = value
            .as_ref()
            .filter(|v| flux.default_of(key) != Some(v.as_str()))
        {
            spec.insert(key.into(), json!(v));
        }
    }
    if let Some(level) = &app.pod_security {
        spec.insert("podSecurity".into(), json!(level));
    }
    if app.prune_protection == Some(false) {
        spec.insert("pruneProtection".into(), json!(false));
    }
    let labels = common(app, "labels");
    let namespace_labels: Map<String, Value> = app
        .namespace_labels
        .iter()
        .filter(|(k, _)| !labels.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, map) in [
        ("labels", labels),
        ("annotations", common(app, "annotations")),
        ("namespaceLabels", namespace_labels),
    ] {
        if !map.is_empty() {
            spec.insert(key.into(), Value::Object(map));
        }
    }
    spec
}

/// One app of the spec, from the objects of one app found in the tree.
fn app_spec(
    app: &apps::App,
    sources: &helm::Sources,
    used: &mut BTreeMap<String, Value>,
    flux: &apps::Flux,
    notes: &mut Vec<String>,
) -> Value {
    let mut spec = app_settings(app, flux);
    let secret_names: Vec<&str> = app
        .objects
        .iter()
        .filter(|o| secrets::is_external_secret(o))
        .map(|o| o.name())
        .collect();
    if let Some(release) = helm::primary(app, notes)
        && let Some(helm) = helm::release(&app.name, release, sources, used, &secret_names, notes)
    {
        spec.insert("helm".into(), helm);
        wait_for_release(&mut spec, flux, notes);
    }
    if let Some(pg) = postgres::postgres(&app.name, &app.objects, notes) {
        spec.insert("postgres".into(), pg);
    }
    if let Some(redis) = redis::redis(&app.name, &app.objects) {
        if let Some(helm) = spec.get_mut("helm") {
            redis::unwire_password(&app.name, &redis, helm);
        }
        spec.insert("redis".into(), redis);
    }
    alerts::alerts(&app.name, &app.objects, &mut spec);
    // Names of Deployments and StatefulSets: a route to one of those is a workload's.
    let workloads: Vec<&str> = app
        .objects
        .iter()
        .filter(|o| o.group() == "apps")
        .map(|o| o.name())
        .collect();
    // A route to a chart's Service is the app's only when the app installs the chart.
    let routes = if spec.contains_key("helm") {
        routes::routes(&app.objects, &workloads)
    } else {
        Vec::new()
    };
    if !routes.is_empty() {
        spec.insert("routes".into(), Value::Array(routes));
    }
    let backups = volsync::volume_backups(&app.objects);
    if !backups.is_empty() {
        spec.insert("volumeBackups".into(), Value::Array(backups));
    }
    // The app's secrets are made in its namespace: an ExternalSecret of another namespace
    // (the same one in several, from a kustomize component) is carried or noted instead.
    let namespace = app.namespace.as_deref().unwrap_or(&app.name);
    let (labels, annotations) = (common(app, "labels"), common(app, "annotations"));
    let mut patches = Vec::new();
    let secrets: Vec<Value> = app
        .objects
        .iter()
        .filter(|o| secrets::is_external_secret(o) && o.namespace().is_none_or(|ns| ns == namespace))
        .filter_map(|o| {
            let secret = secrets::secret(o, flux.default_store.as_deref(), notes)?;
            patches.extend(secrets::metadata_patch(o, [&labels, &annotations]));
            Some(secret)
        })
        .collect();
    if !secrets.is_empty() {
        spec.insert("secrets".into(), Value::Array(secrets));
    }
    if !patches.is_empty() {
        spec.insert("patches".into(), Value::Array(patches));
    }
    Value::Object(spec)
}

/// gitopsc's release layer waits for the HelmRelease, which a Flux Kustomization need not
/// (`wait` is off by default): when the layer's timeout (its own, Flux's default `interval`,
/// else `defaults.timeout`) is shorter than Helm's, the app's `timeout` is raised to it, noted.
fn wait_for_release(spec: &mut Map<String, Value>, flux: &apps::Flux, notes: &mut Vec<String>) {
    let helm = spec
        .get("helm")
        .and_then(|h| h.get("timeout"))
        .and_then(Value::as_str);
    let Some(helm) = helm.map(str::to_string) else {
        return;
    };
    let layer = spec
        .get("timeout")
        .and_then(Value::as_str)
        .or_else(|| flux.default_of("timeout"))
        .unwrap_or("5m")
        .to_string();
    if crate::spec::duration_secs(&helm) > crate::spec::duration_secs(&layer) {
        let app = spec.get("name").and_then(Value::as_str).unwrap_or_default();
        notes.push(format!(
            "app `{app}`: `timeout` {helm}, Helm's, not {layer}: its release layer waits for the HelmRelease"
        ));
        spec.insert("timeout".into(), json!(helm));
    }
}

/// The labels (or annotations) every object of the app carries, but those gitopsc sets itself.
fn common(app: &apps::App, which: &str) -> Map<String, Value> {
    let mut objects = app
        .objects
        .iter()
        .filter(|o| !o.is("kustomize.config.k8s.io", "Kustomization"));
    let pointer = format!("/metadata/{which}");
    let Some(first) = objects
        .next()
        .and_then(|o| o.value.pointer(&pointer)?.as_object().cloned())
    else {
        return Map::new();
    };
    let rest: Vec<&read::Object> = objects.collect();
    first
        .into_iter()
        .filter(|(k, _)| {
            ![
                "app.kubernetes.io/",
                "pod-security.kubernetes.io/",
                "kustomize.toolkit.fluxcd.io/",
                "reconcile.fluxcd.io/",
            ]
            .iter()
            .any(|p| k.starts_with(p))
        })
        .filter(|(k, v)| {
            rest.iter()
                .all(|o| o.value.pointer(&pointer).and_then(|m| m.get(k)) == Some(v))
        })
        .collect()
}
