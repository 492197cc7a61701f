//! Values import copies verbatim that the plaintext-secret check refuses by their key
//! (`githubConfigSecret: my-secret`, `kubeconfigSecret`, `needCredentials: true`): the tree
//! already holds them in Git, and most name a Secret rather than hold one, which the check
//! cannot tell from the key. Import lists each in the app's `allowPlaintext` with a reason
//! that asks for a review, so the spec compiles and every such value is named in it.

use serde_json::{Map, Value, json};

/// Sets `app`'s `allowPlaintext` to the values of `app` the check refuses (none: no entry),
/// noting each not listed before.
pub fn allow_copied(app: &mut Value, notes: &mut Vec<String>) {
    let refused = crate::spec::plaintext::refused_keys(app);
    let Some(map) = app.as_object_mut() else {
        return;
    };
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let listed: Vec<Value> = map
        .get("allowPlaintext")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("path").cloned())
        .collect();
    if refused.is_empty() {
        map.remove("allowPlaintext");
        return;
    }
    let entries: Vec<Value> = refused
        .iter()
        .map(|(path, key)| {
            let mut entry = Map::new();
            entry.insert("path".into(), json!(path));
            entry.insert(
                "reason".into(),
                json!(format!(
                    "imported as the tree has it (`{key}`, already in Git): check that it names a Secret rather than holds one"
                )),
            );
            Value::Object(entry)
        })
        .collect();
    for (path, _) in refused.iter().filter(|(p, _)| !listed.contains(&json!(p))) {
        notes.push(format!(
            "app `{name}`: `{path}` is named like a secret and copied as the tree has it; it is listed in \
             `allowPlaintext`: check that it names a Secret rather than holds one"
        ));
    }
    map.insert("allowPlaintext".into(), Value::Array(entries));
}
