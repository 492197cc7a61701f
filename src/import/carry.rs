//! What the spec's fields cannot say is carried as the app's user manifests (`manifests:`,
//! each object in the layer it came from), so the imported spec renders it too. Secrets with
//! plaintext data are never carried: they belong in a secret store.

use super::apps::App;
use super::read::Object;
use super::verify::{Key, Verification, key};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Flux's and kustomize's own objects: the spec's apps and layers stand for them.
fn is_flux(object: &Object) -> bool {
    object.is("kustomize.toolkit.fluxcd.io", "Kustomization")
        || object.is("kustomize.config.k8s.io", "Kustomization")
}

/// Adds each object of `missing` that belongs to an app to `manifests` in `apps` (the spec's
/// list, in the order of `found`): an object in another namespace than its app's to the first
/// app of that namespace, where it keeps its namespace (a user manifest lives in its app's).
/// Returns how many it carried.
pub fn carry(
    apps: &mut [Value],
    found: &[App],
    (missing, reasons): (&[Key], &BTreeMap<Key, String>),
    notes: &mut Vec<String>,
) -> usize {
    let mut lists: Vec<Vec<Value>> = vec![Vec::new(); found.len()];
    for (at, app) in found.iter().enumerate() {
        for object in app
            .objects
            .iter()
            .filter(|o| missing.contains(&key(o)) && !is_flux(o))
        {
            let owner = owner(found, at, object);
            match entry(&found[owner], object) {
                Ok(entry) => {
                    lists[owner].push(entry);
                    let why = reasons
                        .get(&key(object))
                        .map(|r| format!(" — {r}"))
                        .unwrap_or_default();
                    let into = if owner == at {
                        String::new()
                    } else {
                        format!(" of app `{}`, whose namespace it is", found[owner].name)
                    };
                    notes.push(format!(
                        "carried as a user manifest{into}: {}{why}",
                        object.describe()
                    ));
                }
                Err(why) => notes.push(format!("not carried ({why}): {}", object.describe())),
            }
        }
    }
    let mut carried = 0;
    for (spec, manifests) in apps.iter_mut().zip(lists) {
        if !manifests.is_empty() {
            carried += manifests.len();
            if let Some(map) = spec.as_object_mut() {
                map.insert("manifests".into(), Value::Array(manifests));
            }
            super::plaintext::allow_copied(spec, notes);
        }
    }
    carried
}

/// The app that carries an object of app `at`: `at` itself, unless the object lives in
/// another namespace that an app of the tree has (the first such app).
fn owner(found: &[App], at: usize, object: &Object) -> usize {
    let (_, _, namespace, _) = key(object);
    if namespace.is_empty() || namespace_of(&found[at]) == namespace {
        return at;
    }
    found
        .iter()
        .position(|app| namespace_of(app) == namespace)
        .unwrap_or(at)
}

/// An app's namespace: its own, else its name.
fn namespace_of(app: &App) -> &str {
    app.namespace.as_deref().unwrap_or(&app.name)
}

/// Carries what compiles when carrying every object does not: app by app, and within an app
/// that does not compile object by object, keeping each addition only when the spec still
/// compiles. Returns the spec's text and its verification when anything is carried; each
/// object left out is noted with the compiler's reason.
pub fn settle(
    spec: &mut Map<String, Value>,
    imported: &[Object],
    notes: &mut Vec<String>,
) -> Option<(String, Verification)> {
    let Some(Value::Array(apps)) = spec.get_mut("apps") else {
        return None;
    };
    let wanted: Vec<Vec<Value>> = apps
        .iter_mut()
        .map(
            |app| match app.as_object_mut().and_then(|a| a.remove("manifests")) {
                Some(Value::Array(list)) => list,
                _ => Vec::new(),
            },
        )
        .collect();
    let mut best = None;
    for (at, list) in wanted.into_iter().enumerate().filter(|(_, l)| !l.is_empty()) {
        if let Some(done) = attempt(spec, at, list.clone(), imported) {
            notes.extend(
                list.iter()
                    .map(|e| format!("carried as a user manifest: {}", describe(e))),
            );
            best = Some(done);
            continue;
        }
        let mut kept = Vec::new();
        for entry in list {
            let mut with = kept.clone();
            with.push(entry.clone());
            match attempt_why(spec, at, with, imported) {
                Ok(done) => {
                    notes.push(format!("carried as a user manifest: {}", describe(&entry)));
                    kept.push(entry);
                    best = Some(done);
                }
                Err(why) => notes.push(format!("not carried ({why}): {}", describe(&entry))),
            }
        }
        set(spec, at, kept);
    }
    best
}

/// The spec with app `at`'s `manifests` set to `list`, compiled and verified, or why not; on
/// failure the app's manifests are left out again.
fn attempt_why(
    spec: &mut Map<String, Value>,
    at: usize,
    list: Vec<Value>,
    imported: &[Object],
) -> Result<(String, Verification), String> {
    set(spec, at, list);
    let text = super::write::spec(spec);
    let result = super::verify::verify(&text, imported).map(|check| (text, check));
    if result.is_err() {
        set(spec, at, Vec::new());
    }
    result
}

fn attempt(
    spec: &mut Map<String, Value>,
    at: usize,
    list: Vec<Value>,
    imported: &[Object],
) -> Option<(String, Verification)> {
    attempt_why(spec, at, list, imported).ok()
}

/// Sets (or, for an empty list, removes) app `at`'s `manifests`, and its `allowPlaintext` to
/// match (notes on it dropped: `carry` gave them).
fn set(spec: &mut Map<String, Value>, at: usize, list: Vec<Value>) {
    let app = spec
        .get_mut("apps")
        .and_then(|apps| apps.get_mut(at))
        .and_then(Value::as_object_mut);
    if let Some(app) = app {
        if list.is_empty() {
            app.remove("manifests");
        } else {
            app.insert("manifests".into(), Value::Array(list));
        }
    }
    if let Some(app) = spec.get_mut("apps").and_then(|apps| apps.get_mut(at)) {
        super::plaintext::allow_copied(app, &mut Vec::new());
    }
}

/// `Kind name` of a `manifests` entry, for the notes.
fn describe(entry: &Value) -> String {
    let object = entry.get("object");
    let at = |p: &str| {
        object
            .and_then(|o| o.pointer(p))
            .and_then(Value::as_str)
            .unwrap_or("?")
    };
    format!("{} {} ({})", at("/kind"), at("/metadata/name"), at("/apiVersion"))
}

/// The `manifests` entry of one object, or why it cannot be one.
fn entry(app: &App, object: &Object) -> Result<Value, &'static str> {
    if object.is("", "Secret")
        && (object.value.get("data").is_some() || object.value.get("stringData").is_some())
    {
        return Err("a Secret with its data in Git: keep it in a secret store and use `secrets:`");
    }
    let mut value = object.value.as_object().cloned().unwrap_or_default();
    let namespace = object.namespace().map(str::to_string);
    if namespace.is_some()
        && namespace != app.namespace
        && !(app.namespace.is_none() && namespace.as_deref() == Some(app.name.as_str()))
    {
        return Err("its namespace is not the app's");
    }
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("namespace");
    }
    let mut entry = Map::new();
    let layer = layer_of(object);
    if layer != "release" {
        entry.insert("layer".into(), json!(layer));
    }
    if namespace.is_none() {
        entry.insert("clusterScoped".into(), json!(true));
    }
    entry.insert("object".into(), Value::Object(value));
    Ok(Value::Object(entry))
}

/// The app layer a file sits in: `…/data/…`, `…/init/…`, else the release.
pub fn layer_of(object: &Object) -> &'static str {
    let parent = object
        .file
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    match parent {
        Some("data") => "data",
        Some("init") => "init",
        _ => "release",
    }
}
