//! The loaded spec validated against the schema and typed, a part at a time: each app, and
//! the root's other entries, apps in parallel. Each app is hashed, validated and typed from
//! the loaded tree itself, its chart values kept as their JSON text; a JSON value is made only
//! of the root's other entries, and of a part the schema rejected nodes of (a copy without
//! them is typed).

use super::load::{Loaded, SpanNode};
use super::{ClusterSpec, app_hash, data_hash_from, schema, typed_app, typed_app_of};
use crate::diagnostic::Diagnostic;
use serde::Deserialize;
use serde_json::Value;

/// A loaded spec, validated and typed.
pub struct Typed {
    /// The schema's errors.
    pub diagnostics: Vec<Diagnostic>,
    /// The typed spec: `None` when a part does not have the types' shape even without the
    /// nodes the schema rejected.
    pub spec: Option<ClusterSpec>,
    /// `sha256:<hex>` of the spec's data ([`super::data_hash_from`]).
    pub hash: String,
}

/// One app: its data hash, the schema's errors, and its typed form.
type App = ([u8; 32], Vec<Diagnostic>, Option<super::AppSpec>);

/// Validates and types `loaded`, and hashes its data; each app's data hash is taken from
/// `app_hashes` when it holds one per app (made already, in the apps' order).
pub fn validate_and_type(loaded: &Loaded, app_hashes: Option<Vec<[u8; 32]>>) -> Typed {
    use rayon::prelude::*;
    let root = loaded.spans.root();
    let items = root.get("apps").and_then(SpanNode::as_seq).unwrap_or_default();
    let app_hashes = app_hashes.filter(|h| h.len() == items.len());
    let (apps, (mut diagnostics, spec)) = rayon::join(
        || {
            items
                .par_iter()
                .enumerate()
                .map_init(Vec::new, |buffer, (i, node)| {
                    let hash = match &app_hashes {
                        Some(hashes) => hashes[i],
                        None => app_hash(node, buffer),
                    };
                    let (diagnostics, pruned) = schema::validate_app(i, node, &loaded.spans);
                    let typed = match pruned {
                        Some(pruned) => typed_app(pruned),
                        None => typed_app_of(node),
                    };
                    (hash, diagnostics, typed)
                })
                .collect::<Vec<App>>()
        },
        || {
            let (diagnostics, pruned) = schema::validate_root(&loaded.spans);
            let spec = ClusterSpec::deserialize(pruned.unwrap_or_else(|| root_value(root))).ok();
            (diagnostics, spec)
        },
    );
    let mut hashes = Vec::with_capacity(apps.len());
    let mut typed_apps = Some(Vec::with_capacity(apps.len()));
    for (hash, found, app) in apps {
        hashes.push(hash);
        diagnostics.extend(found);
        match (app, &mut typed_apps) {
            (Some(app), Some(typed)) => typed.push(app),
            _ => typed_apps = None,
        }
    }
    let spec = spec.and_then(|mut spec| {
        spec.apps = typed_apps?;
        Some(spec)
    });
    Typed {
        diagnostics,
        spec,
        hash: data_hash_from(root, &hashes),
    }
}

/// The root's data as JSON, but for its apps: a list of apps is made an empty one.
fn root_value(root: &SpanNode) -> Value {
    Value::Object(
        root.entries()
            .map(|(key, node)| {
                let value = match node.as_seq() {
                    Some(_) if key == "apps" => Value::Array(Vec::new()),
                    _ => node.to_value(),
                };
                (key.to_string(), value)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;
    use crate::spec::load::SpanIndex;

    #[test]
    fn the_data_hash_is_that_of_the_json_with_apps_hashed_apart() {
        let data_hash = |value: &serde_json::Value, hashes: Option<Vec<[u8; 32]>>| {
            let loaded = Loaded {
                source: crate::source::Source::new("t.yaml", ""),
                spans: SpanIndex::new(SpanNode::of_value(Span::new(0, 0), value.clone())),
                tree_root: String::new(),
            };
            validate_and_type(&loaded, hashes).hash
        };
        let app = |v: serde_json::Value| crate::digest::sha256_hex(&serde_json::to_vec(&v).unwrap());
        let value = serde_json::json!({
            "a\"pi": 1, "apps": [{"name": "x", "v": [1.5, null]}, {"name": "é"}], "z": {"apps": []}
        });
        let apps_hashed = serde_json::json!({
            "a\"pi": 1,
            "apps": [app(serde_json::json!({"name": "x", "v": [1.5, null]})), app(serde_json::json!({"name": "é"}))],
            "z": {"apps": []}
        });
        let whole = format!(
            "sha256:{}",
            crate::digest::sha256_hex(&serde_json::to_vec(&apps_hashed).unwrap())
        );
        assert_eq!(data_hash(&value, None), whole);
        let other = serde_json::json!({"a\"pi": 1, "apps": [{"name": "y"}], "z": {"apps": []}});
        assert_ne!(data_hash(&other, None), whole, "an app's data counts");
        let no_apps = serde_json::json!({"a": 1});
        let whole = format!(
            "sha256:{}",
            crate::digest::sha256_hex(&serde_json::to_vec(&no_apps).unwrap())
        );
        assert_eq!(data_hash(&no_apps, None), whole);
    }

    /// Every app of the examples' and the test fixtures' specs typed from the tree is the one
    /// typed from its JSON value (or neither types).
    #[test]
    fn an_app_typed_from_the_tree_is_the_one_typed_from_its_json() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut folders: Vec<_> = ["examples", "tests/fixtures", "tests/workloads", "tests/fleets"]
            .iter()
            .map(|f| root.join(f))
            .collect();
        let (mut typed, mut untyped) = (0, 0);
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                let Ok(loaded) = crate::spec::load::load(&path) else {
                    continue;
                };
                let apps = loaded.spans.root().get("apps").and_then(SpanNode::as_seq);
                for app in apps.unwrap_or_default() {
                    let from_tree = format!("{:?}", typed_app_of(app));
                    let from_json = format!("{:?}", typed_app(app.to_value()));
                    assert_eq!(from_tree, from_json, "{}", path.display());
                    if from_tree.starts_with("Some") {
                        typed += 1;
                    } else {
                        untyped += 1;
                    }
                }
            }
        }
        assert!(typed > 50 && untyped > 0, "{typed} apps typed, {untyped} not");
    }
}
