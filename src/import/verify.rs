//! The import checks itself: it compiles the spec it wrote and compares every object of the
//! rendered tree with the object it was imported from, so the notes say exactly what the spec
//! reproduces, what it renders differently (at which fields) and what it leaves out.

use super::read::Object;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What compiling the imported spec showed.
pub struct Verification {
    /// Objects rendered exactly as imported.
    pub reproduced: usize,
    /// Objects imported (other than kustomize's own `kustomization.yaml`s).
    pub total: usize,
    /// One line per object not reproduced, rendered differently, or added.
    pub notes: Vec<String>,
    /// The objects the spec does not render at all.
    pub missing: Vec<Key>,
    /// The objects it renders differently, with the fields that differ.
    pub changed: Vec<(Key, String)>,
    /// The objects it renders that were not imported.
    pub added: Vec<Value>,
}

/// An object's identity: group, kind, namespace, name.
pub type Key = (String, String, String, String);

/// Compiles `spec` and compares its objects with `imported`.
pub fn verify(spec: &str, imported: &[Object]) -> Result<Verification, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let path = dir.path().join("cluster.yaml");
    std::fs::write(&path, spec).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let compiled = crate::compile(&path, None).map_err(|failure| {
        let errors: Vec<String> = failure
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .take(5)
            .map(|d| d.message.clone())
            .collect();
        format!("the imported spec does not compile: {}", errors.join("; "))
    })?;
    let mut rendered: BTreeMap<Key, (Value, PathBuf)> = BTreeMap::new();
    for (file, bytes) in &compiled.tree {
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        if !file.ends_with(".yaml") {
            continue;
        }
        for document in serde_yaml::Deserializer::from_str(text) {
            let Ok(value) = <Value as serde::Deserialize>::deserialize(document) else {
                continue;
            };
            let object = Object {
                file: PathBuf::from(file),
                value,
            };
            if counted(&object) {
                rendered.insert(key(&object), (object.value.clone(), object.file));
            }
        }
    }
    let mut notes = Vec::new();
    let mut missing = Vec::new();
    let mut changed = Vec::new();
    let mut reproduced = 0;
    let mut total = 0;
    for object in imported.iter().filter(|o| counted(o)) {
        total += 1;
        match rendered.remove(&key(object)) {
            Some((value, _)) if value == object.value => reproduced += 1,
            Some((value, _)) => {
                let mut fields = Vec::new();
                differences(&object.value, &value, String::new(), &mut fields);
                let more = fields.len().saturating_sub(6);
                fields.truncate(6);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                let at = format!("{}{more}", fields.join(", "));
                notes.push(format!("rendered differently: {} at {at}", object.describe()));
                changed.push((key(object), at));
            }
            None => {
                notes.push(format!("not reproduced: {}", object.describe()));
                missing.push(key(object));
            }
        }
    }
    let mut added = Vec::new();
    for (value, file) in rendered.into_values() {
        let object = Object { file, value };
        notes.push(format!("added by gitopsc: {}", object.describe()));
        added.push(object.value);
    }
    Ok(Verification {
        reproduced,
        total,
        notes,
        missing,
        changed,
        added,
    })
}

/// kustomize's own `kustomization.yaml`s are not objects of the cluster.
fn counted(object: &Object) -> bool {
    !object.is("kustomize.config.k8s.io", "Kustomization")
}

/// The identity of `object`. A cluster-scoped object has no namespace, whatever its metadata
/// says (kustomize's `namespace:` sets one on a cluster-scoped kind it does not know, such as
/// a ClusterSecretStore; the API server ignores it).
pub fn key(object: &Object) -> Key {
    let cluster_scoped = super::apps::CLUSTER_SCOPED.contains(&object.kind());
    (
        object.group().to_string(),
        object.kind().to_string(),
        object
            .namespace()
            .filter(|_| !cluster_scoped)
            .unwrap_or_default()
            .to_string(),
        object.name().to_string(),
    )
}

/// The dotted paths where `a` and `b` differ, the shallowest that differ.
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => differences(p, q, path, out),
                    _ => out.push(path),
                }
            }
        }
        _ if a != b => out.push(if at.is_empty() {
            "(the whole object)".into()
        } else {
            at
        }),
        _ => {}
    }
}
