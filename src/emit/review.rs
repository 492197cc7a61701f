//! Object-level review of a comparison: which Kubernetes objects a build adds, changes and
//! removes, and which stateful objects leave the tree — what Flux would prune.
//!
//! Only files that change are parsed (old bytes from disk, new bytes from the render), so
//! checking an up-to-date tree parses nothing. Unchanged files hold the same objects on both
//! sides, so the object sets of the changed files alone decide what leaves.

use super::{ChangeKind, Comparison, Tree};
use serde_yaml::Value;
use std::collections::BTreeMap;

/// The label (or annotation) that makes Flux keep an object it would otherwise prune.
pub const PRUNE_DISABLED: (&str, &str) = ("kustomize.toolkit.fluxcd.io/prune", "disabled");

/// Kinds whose deletion loses data: (API group, kind).
const STATEFUL: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "PersistentVolumeClaim"),
    ("", "Secret"),
    ("postgresql.cnpg.io", "Cluster"),
    ("barmancloud.cnpg.io", "ObjectStore"),
    ("apps.kubeblocks.io", "Cluster"),
    ("external-secrets.io", "ExternalSecret"),
];

/// A Kubernetes object's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, empty for cluster-scoped objects.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A stateful object that leaves the tree.
#[derive(Debug, Clone)]
pub struct Leaving {
    /// The object.
    pub id: ObjectId,
    /// The file it was in.
    pub path: String,
    /// Whether the previous tree (what is live) already protected it from pruning.
    pub protected: bool,
}

/// Objects added, changed and removed by a comparison.
#[derive(Debug, Default)]
pub struct Review {
    /// New objects.
    pub added: Vec<ObjectId>,
    /// Objects whose manifest changes.
    pub changed: Vec<ObjectId>,
    /// Objects that leave the tree.
    pub removed: Vec<ObjectId>,
    /// The stateful ones among `removed`.
    pub leaving: Vec<Leaving>,
    /// Changes to live workloads that a plain apply cannot carry out safely.
    pub workloads: Vec<WorkloadChange>,
}

/// A change to a StatefulSet or Deployment that Flux cannot simply apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadChange {
    /// Fields the API server refuses to update changed: the apply fails until the object is
    /// recreated.
    Immutable {
        /// The workload.
        id: ObjectId,
        /// The fields, as `spec.<field>`.
        fields: Vec<&'static str>,
    },
    /// `spec.replicas` left the manifest (an autoscaler takes over): with server-side apply
    /// the live count can drop to the default, 1.
    ReplicasRemoved {
        /// The workload.
        id: ObjectId,
        /// The count the previous tree set.
        replicas: String,
    },
}

/// Fields of a workload's spec that the API server refuses to update, by kind.
const IMMUTABLE: &[(&str, &[&str])] = &[
    ("Deployment", &["selector"]),
    (
        "StatefulSet",
        &[
            "selector",
            "serviceName",
            "podManagementPolicy",
            "volumeClaimTemplates",
        ],
    ),
];

struct Object {
    path: String,
    doc: Value,
}

/// Reviews the objects of the files a comparison changes.
/// With `objects` false only what concerns objects already in the tree is reviewed (what
/// leaves it, what changes in a live workload): a build into an empty folder parses nothing.
pub fn review(cmp: &Comparison, tree: &Tree, objects: bool) -> Review {
    let mut old: BTreeMap<ObjectId, Object> = BTreeMap::new();
    let mut new: BTreeMap<ObjectId, Object> = BTreeMap::new();
    for change in &cmp.changes {
        if let Some(bytes) = &change.old
            && change.path.ends_with(".yaml")
        {
            collect(&change.path, bytes, &mut old);
        }
    }
    if old.is_empty() && !objects {
        return Review::default();
    }
    for change in &cmp.changes {
        if !change.path.ends_with(".yaml") {
            continue;
        }
        if change.kind != ChangeKind::Removed
            && let Some(bytes) = tree.get(&change.path)
        {
            collect(&change.path, bytes, &mut new);
        }
    }
    let mut review = Review::default();
    for (id, object) in &new {
        match old.get(id) {
            None => review.added.push(id.clone()),
            Some(before) if before.doc != object.doc => {
                review.changed.push(id.clone());
                review
                    .workloads
                    .extend(workload_changes(id, &before.doc, &object.doc));
            }
            Some(_) => {}
        }
    }
    for (id, object) in &old {
        if new.contains_key(id) {
            continue;
        }
        review.removed.push(id.clone());
        // A Secret or ExternalSecret is recreated from its store; it matters here only when
        // the previous tree protected it (a kept database depends on it).
        let recreatable = matches!(id.kind.as_str(), "Secret" | "ExternalSecret");
        if is_stateful(id) && (!recreatable || is_protected(&object.doc)) {
            review.leaving.push(Leaving {
                id: id.clone(),
                path: object.path.clone(),
                protected: is_protected(&object.doc),
            });
        }
    }
    review
}

/// What a change of a live StatefulSet or Deployment cannot simply apply.
fn workload_changes(id: &ObjectId, old: &Value, new: &Value) -> Vec<WorkloadChange> {
    let Some((_, fields)) = IMMUTABLE
        .iter()
        .find(|(kind, _)| *kind == id.kind && id.api_version == "apps/v1")
    else {
        return Vec::new();
    };
    let spec_field = |doc: &Value, field: &str| -> Value {
        let value = doc.get("spec").and_then(|s| s.get(field)).cloned();
        match (field, value) {
            // Absent means the API server's default.
            ("podManagementPolicy", None) => Value::String("OrderedReady".into()),
            ("volumeClaimTemplates", None) => Value::Sequence(Vec::new()),
            (_, v) => v.unwrap_or(Value::Null),
        }
    };
    let mut out = Vec::new();
    let changed: Vec<&'static str> = fields
        .iter()
        .copied()
        .filter(|f| spec_field(old, f) != spec_field(new, f))
        .collect();
    if !changed.is_empty() {
        out.push(WorkloadChange::Immutable {
            id: id.clone(),
            fields: changed,
        });
    }
    let old_replicas = old.get("spec").and_then(|s| s.get("replicas"));
    let new_replicas = new.get("spec").and_then(|s| s.get("replicas"));
    if let (Some(before), None) = (old_replicas, new_replicas) {
        let replicas = match before {
            Value::Number(n) => n.to_string(),
            other => serde_yaml::to_string(other)
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        out.push(WorkloadChange::ReplicasRemoved {
            id: id.clone(),
            replicas,
        });
    }
    out
}

fn collect(path: &str, bytes: &[u8], into: &mut BTreeMap<ObjectId, Object>) {
    let text = String::from_utf8_lossy(bytes);
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let Ok(doc) = <Value as serde::Deserialize>::deserialize(doc) else {
            // A file that does not parse holds no object gitopsc can reason about.
            return;
        };
        if let Some(id) = identify(&doc) {
            into.insert(
                id,
                Object {
                    path: path.to_string(),
                    doc,
                },
            );
        }
    }
}

fn identify(doc: &Value) -> Option<ObjectId> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let api_version = text(doc.get("apiVersion"));
    let kind = text(doc.get("kind"));
    let metadata = doc.get("metadata");
    let name = text(metadata.and_then(|m| m.get("name")));
    if kind.is_empty() || name.is_empty() || api_version.starts_with("kustomize.config.k8s.io/") {
        return None;
    }
    Some(ObjectId {
        api_version,
        kind,
        namespace: text(metadata.and_then(|m| m.get("namespace"))),
        name,
    })
}

fn is_stateful(id: &ObjectId) -> bool {
    let group = id.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    STATEFUL.iter().any(|&(g, k)| g == group && k == id.kind)
}

/// True when the object carries the prune-disabled label or annotation.
pub fn is_protected(doc: &Value) -> bool {
    let metadata = doc.get("metadata");
    ["labels", "annotations"].iter().any(|field| {
        metadata
            .and_then(|m| m.get(*field))
            .and_then(|m| m.get(PRUNE_DISABLED.0))
            .and_then(Value::as_str)
            == Some(PRUNE_DISABLED.1)
    })
}
