//! What the spec's fields cannot say is carried as the app's user manifests (`manifests:`,
//! each object in the layer it came from), so the imported spec renders it too. Secrets with
//! plaintext data are never carried: they belong in a secret store.

use super::apps::App;
use super::read::Object;
use super::verify::{Key, key};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Flux's and kustomize's own objects: the spec's apps and layers stand for them.
fn is_flux(object: &Object) -> bool {
    object.is("kustomize.toolkit.fluxcd.io", "Kustomization")
        || object.is("kustomize.config.k8s.io", "Kustomization")
}

/// Adds each object of `missing` that belongs to an app to its `manifests` in `apps` (the
/// spec's list, in the order of `found`); returns how many it carried.
pub fn carry(
    apps: &mut [Value],
    found: &[App],
    (missing, reasons): (&[Key], &BTreeMap<Key, String>),
    notes: &mut Vec<String>,
) -> usize {
    let mut carried = 0;
    for (spec, app) in apps.iter_mut().zip(found) {
        let mut manifests = Vec::new();
        for object in app
            .objects
            .iter()
            .filter(|o| missing.contains(&key(o)) && !is_flux(o))
        {
            match entry(app, object) {
                Ok(entry) => {
                    manifests.push(entry);
                    let why = reasons
                        .get(&key(object))
                        .map(|r| format!(" — {r}"))
                        .unwrap_or_default();
                    notes.push(format!("carried as a user manifest: {}{why}", object.describe()));
                }
                Err(why) => notes.push(format!("not carried ({why}): {}", object.describe())),
            }
        }
        if !manifests.is_empty() {
            carried += manifests.len();
            if let Some(map) = spec.as_object_mut() {
                map.insert("manifests".into(), Value::Array(manifests));
            }
        }
    }
    carried
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
