//! The user's patches, labels and annotations of an app's objects, resolved: what the render
//! stage applies to each object it renders ([`crate::render::post`]), and the one place that
//! says which objects a patch selects and what applying it does.

use crate::source::Span;
use crate::spec::patches::{PatchSpec, PatchTarget};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A patch, ready to apply.
#[derive(Debug, Clone)]
pub struct Patch {
    /// Its index among the model's patches ([`super::Model::patches`]).
    pub id: usize,
    /// Which objects it selects.
    pub target: PatchTarget,
    /// What it does.
    pub change: Change,
    /// Where it is written (the patch, then each JSON patch operation).
    pub span: Option<Span>,
    /// Where each operation of a JSON patch is written.
    pub op_spans: Vec<Option<Span>>,
}

/// What a patch does.
#[derive(Debug, Clone)]
pub enum Change {
    /// RFC 6902 operations.
    Json(Vec<json_patch::PatchOperation>),
    /// An RFC 7386 merge patch.
    Merge(Value),
}

/// A patch as the model lists it for the whole tree: where it is and what it belongs to.
#[derive(Debug, Clone)]
pub struct PatchInfo {
    /// Where it is written.
    pub span: Option<Span>,
    /// `app `x``, or `defaults`.
    pub owner: String,
}

/// What an app's objects get besides what gitopsc generates.
#[derive(Debug, Clone, Default)]
pub struct Post {
    /// Labels every object carries.
    pub labels: BTreeMap<String, String>,
    /// Annotations every object carries.
    pub annotations: BTreeMap<String, String>,
    /// Patches, in the order they apply (`defaults.patches`, then the app's).
    pub patches: Vec<Patch>,
}

impl Post {
    /// True when the app's objects are rendered as gitopsc generates them.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.annotations.is_empty() && self.patches.is_empty()
    }
}

impl Patch {
    /// A patch of the spec, at `pointer`; `None` for one the checks refused.
    pub fn new(
        id: usize,
        spec: &PatchSpec,
        pointer: &crate::spec::path::SpecPath,
        spans: &crate::spec::places::Places,
    ) -> Option<Patch> {
        let change = match (&spec.json, &spec.merge) {
            (Some(ops), None) => Change::Json(
                ops.iter()
                    .map(|op| serde_json::from_value(op.clone()).ok())
                    .collect::<Option<Vec<_>>>()?,
            ),
            (None, Some(merge)) => Change::Merge(Value::Object(merge.clone())),
            _ => return None,
        };
        let op_spans = (0..spec.json.as_ref().map_or(0, Vec::len))
            .map(|o| spans.value(&pointer.field(PatchSpec::JSON).index(o)))
            .collect();
        Some(Patch {
            id,
            target: spec.target.clone(),
            change,
            span: spans.key(pointer),
            op_spans,
        })
    }

    /// Whether the patch selects an object.
    pub fn matches(&self, object: &Value) -> bool {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let t = &self.target;
        // The rendered object's labels and name: not a spec path.
        let labels = object.pointer("/metadata/labels").and_then(Value::as_object);
        // (not a spec path either)
        let name = text(object.pointer("/metadata/name"));
        t.kind
            .as_ref()
            .is_none_or(|k| text(object.get("kind")).as_ref() == Some(k))
            && t.name.as_ref().is_none_or(|n| name.as_ref() == Some(n))
            && t.labels
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v.as_str()))
    }

    /// Applies the patch; on failure, the object is left as it was and the error says which
    /// operation failed and why, with where that operation is written.
    pub fn apply(&self, object: &mut Value) -> Result<(), (String, Option<Span>)> {
        match &self.change {
            Change::Json(ops) => json_patch::patch(object, ops).map_err(|e| {
                let at = self.op_spans.get(e.operation).copied().flatten().or(self.span);
                (
                    format!("operation {} (`{}`): {}", e.operation + 1, e.path, e.kind),
                    at,
                )
            }),
            Change::Merge(merge) => {
                json_patch::merge(object, merge);
                Ok(())
            }
        }
    }
}

/// The rendered object's metadata, which a renaming operation writes or reads below:
/// not a spec path.
const METADATA: &str = "/metadata";

impl Patch {
    /// Whether the patch may change an object's name or namespace: a JSON patch operation on
    /// `/metadata` (or below it), a merge patch of `metadata.name` or `metadata.namespace`.
    pub fn renames(&self) -> bool {
        match &self.change {
            Change::Json(ops) => ops.iter().any(on_metadata),
            Change::Merge(merge) => renaming_merge(merge).is_some(),
        }
    }

    /// Applies to `object` (its kind and metadata) what the patch does to an object's
    /// metadata: each JSON patch operation on `/metadata` on its own (the others need the
    /// whole object; one that fails here fails on the object too, and is reported when it
    /// renders), a merge patch's `metadata.name` and `metadata.namespace`.
    pub fn apply_to_metadata(&self, object: &mut Value) {
        match &self.change {
            Change::Json(ops) => {
                for op in ops.iter().filter(|op| on_metadata(op)) {
                    let _failed_on_the_whole_object_too = json_patch::patch(object, std::slice::from_ref(op));
                }
            }
            Change::Merge(merge) => {
                if let Some(renaming) = renaming_merge(merge) {
                    json_patch::merge(object, &renaming);
                }
            }
        }
    }
}

/// Whether a JSON patch operation reads or writes an object's metadata.
fn on_metadata(op: &json_patch::PatchOperation) -> bool {
    let Ok(Value::Object(fields)) = serde_json::to_value(op) else {
        return false;
    };
    ["path", "from"].iter().any(|f| {
        fields
            .get(*f)
            .and_then(Value::as_str)
            .is_some_and(|p| p == METADATA || p.starts_with(&format!("{METADATA}/")))
    })
}

/// The part of a merge patch that renames: its `metadata.name` and `metadata.namespace`.
fn renaming_merge(merge: &Value) -> Option<Value> {
    let metadata = merge.get("metadata")?.as_object()?;
    let kept: Map<String, Value> = ["name", "namespace"]
        .iter()
        .filter_map(|f| Some((f.to_string(), metadata.get(*f)?.clone())))
        .collect();
    (!kept.is_empty()).then(|| serde_json::json!({ "metadata": kept }))
}

/// Adds labels or annotations to an object's metadata; those it has already stay.
pub fn add_metadata(object: &mut Value, field: &str, entries: &BTreeMap<String, String>) {
    if entries.is_empty() {
        return;
    }
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else {
        return;
    };
    let map = metadata.entry(field).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(map) = map {
        for (k, v) in entries {
            map.entry(k.clone()).or_insert_with(|| Value::String(v.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(target: PatchTarget, change: Change) -> Patch {
        Patch {
            id: 0,
            target,
            change,
            span: None,
            op_spans: vec![None],
        }
    }

    #[test]
    fn targets_select_by_kind_name_and_labels() {
        let object = json!({"kind": "Deployment", "metadata": {"name": "web", "labels": {"tier": "front"}}});
        let by = |kind: Option<&str>, name: Option<&str>, labels: &[(&str, &str)]| PatchTarget {
            kind: kind.map(String::from),
            name: name.map(String::from),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let m = |t| patch(t, Change::Merge(json!({}))).matches(&object);
        assert!(m(by(Some("Deployment"), Some("web"), &[])));
        assert!(m(by(None, None, &[("tier", "front")])));
        assert!(!m(by(Some("StatefulSet"), None, &[])));
        assert!(!m(by(None, Some("web"), &[("tier", "back")])));
    }

    #[test]
    fn json_patches_apply_whole_or_not_at_all() {
        let ops = serde_json::from_value(json!([
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "remove", "path": "/spec/missing"}
        ]))
        .unwrap();
        let p = patch(PatchTarget::default(), Change::Json(ops));
        let mut object = json!({"spec": {"replicas": 1}});
        let (message, _) = p.apply(&mut object).unwrap_err();
        assert!(message.starts_with("operation 2 (`/spec/missing`)"), "{message}");
        assert_eq!(object, json!({"spec": {"replicas": 1}}));
        let merge = patch(
            PatchTarget::default(),
            Change::Merge(json!({"spec": {"replicas": 2, "x": null}})),
        );
        let mut object = json!({"spec": {"replicas": 1, "x": 1}});
        merge.apply(&mut object).unwrap();
        assert_eq!(object, json!({"spec": {"replicas": 2}}));
    }

    #[test]
    fn renames_are_read_from_the_metadata_operations_alone() {
        let ops = serde_json::from_value(json!([
            {"op": "replace", "path": "/spec/type", "value": "ClusterIP"},
            // An operation on the rendered object: not a spec path.
            {"op": "replace", "path": "/metadata/name", "value": "web"}
        ]))
        .unwrap();
        let json = patch(PatchTarget::default(), Change::Json(ops));
        assert!(json.renames());
        let mut object = json!({"kind": "Service", "metadata": {"name": "web2"}});
        json.apply_to_metadata(&mut object);
        assert_eq!(object["metadata"]["name"], "web");
        let merge = patch(
            PatchTarget::default(),
            Change::Merge(
                json!({"metadata": {"namespace": "shared", "labels": {"a": "b"}}, "spec": {"x": 1}}),
            ),
        );
        assert!(merge.renames());
        merge.apply_to_metadata(&mut object);
        assert_eq!(
            object,
            json!({"kind": "Service", "metadata": {"name": "web", "namespace": "shared"}})
        );
        let labels_only = patch(
            PatchTarget::default(),
            Change::Merge(json!({"metadata": {"labels": {}}})),
        );
        assert!(!labels_only.renames());
    }

    #[test]
    fn labels_are_added_without_replacing() {
        let mut object = json!({"metadata": {"name": "x", "labels": {"team": "a"}}});
        let labels = BTreeMap::from([
            ("team".to_string(), "b".to_string()),
            ("env".to_string(), "prod".to_string()),
        ]);
        add_metadata(&mut object, "labels", &labels);
        assert_eq!(object["metadata"]["labels"], json!({"team": "a", "env": "prod"}));
    }
}
