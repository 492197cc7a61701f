//! Patches, labels and annotations the user puts on generated objects: the spec's types and
//! their checks. A patch names its targets by kind, name and labels and is an RFC 6902 JSON
//! patch or an RFC 7386 merge patch; the render stage applies it ([`crate::render::post`]).
//! Labels gitopsc itself relies on (selectors, prune protection, Pod Security, Flux's watch
//! label) cannot be set this way.

use super::path::SpecPath;
use super::places::Places;
use super::{AppSpec, ClusterSpec, Defaults};
use crate::diagnostic::{Code, Diagnostic};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A patch of generated (or the user's own) objects, applied when the tree renders.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchSpec {
    /// The objects it patches: every object of the app that matches all that is given.
    pub target: PatchTarget,
    /// An RFC 6902 JSON patch: a list of `{op, path, value}` operations (`add`, `remove`,
    /// `replace`, `move`, `copy`, `test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Vec<Value>>,
    /// Or: an RFC 7386 merge patch, merged into the object (`null` removes a field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<Map<String, Value>>,
}

/// Which objects a patch applies to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchTarget {
    /// The object's kind (`Deployment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels the object carries, every one of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Label keys (and key prefixes, ending in `/`) gitopsc sets and relies on: a user label
/// with one of them would change a selector, protection from pruning, or a namespace's Pod
/// Security level.
pub const RESERVED_LABELS: &[&str] = &[
    "app.kubernetes.io/instance",
    "app.kubernetes.io/name",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/component",
    "kustomize.toolkit.fluxcd.io/",
    "pod-security.kubernetes.io/",
    "reconcile.fluxcd.io/",
    "kubernetes.io/metadata.name",
];

/// Whether gitopsc relies on a label key.
pub fn is_reserved(key: &str) -> bool {
    RESERVED_LABELS.iter().any(|r| {
        if r.ends_with('/') {
            key.starts_with(r)
        } else {
            key == *r
        }
    })
}

/// The checks of every patch and label of the spec.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let defaults = SpecPath::root().field(ClusterSpec::DEFAULTS);
    patches(
        &spec.defaults.patches,
        &defaults.field(Defaults::PATCHES),
        spans,
        &mut diags,
    );
    labels(
        &spec.defaults.labels,
        &defaults.field(Defaults::LABELS),
        spans,
        &mut diags,
    );
    for (a, app) in spec.apps.iter().enumerate() {
        app_checks(app, &SpecPath::app(a), spans, &mut diags);
    }
    diags
}

fn app_checks(app: &AppSpec, base: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    patches(&app.patches, &base.field(AppSpec::PATCHES), spans, diags);
    labels(&app.labels, &base.field(AppSpec::LABELS), spans, diags);
    labels(
        &app.namespace_labels,
        &base.field(AppSpec::NAMESPACE_LABELS),
        spans,
        diags,
    );
    for key in app
        .annotations
        .keys()
        .filter(|k| k.starts_with("kustomize.toolkit.fluxcd.io/"))
    {
        let pointer = base.field(AppSpec::ANNOTATIONS).key(key);
        diags.push(
            Diagnostic::error(
                Code::ReservedAnnotation,
                format!("the annotation `{key}` steers Flux, and gitopsc sets what it needs"),
            )
            .at(spans.key(&pointer), "reserved annotation")
            .help("drop it: prune protection is `pruneProtection`"),
        );
    }
}

/// User labels: none that gitopsc relies on.
fn labels(
    labels: &BTreeMap<String, String>,
    pointer: &SpecPath,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    for key in labels.keys().filter(|k| is_reserved(k)) {
        let at = pointer.key(key);
        diags.push(
            Diagnostic::error(
                Code::ReservedLabel,
                format!("the label `{key}` is one gitopsc sets and relies on"),
            )
            .at(spans.key(&at), "reserved label")
            .help(
                "choose another key: gitopsc uses this one for selectors, prune protection, Pod Security or \
                     Flux's watch; a value of yours would break what relies on it",
            ),
        );
    }
}

/// Patches: a target, and exactly one well-formed patch.
fn patches(patches: &[PatchSpec], pointer: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    for (p, patch) in patches.iter().enumerate() {
        let at = pointer.index(p);
        let t = &patch.target;
        if t.kind.is_none() && t.name.is_none() && t.labels.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::PatchTarget,
                    "a patch needs a `target` that names a kind, a name or labels",
                )
                .at(spans.key(&at.field(PatchSpec::TARGET)), "matches every object")
                .help("say which objects it patches, e.g. `target: {kind: Deployment, name: web}`"),
            );
        }
        match (&patch.json, &patch.merge) {
            (Some(ops), None) => {
                for (o, op) in ops.iter().enumerate() {
                    if let Err(e) = serde_json::from_value::<json_patch::PatchOperation>(op.clone()) {
                        diags.push(
                            Diagnostic::error(Code::PatchOperation, format!("this is not an RFC 6902 operation: {e}"))
                                .at(spans.value(&at.field(PatchSpec::JSON).index(o)), "not an operation")
                                .help("write `{op: replace, path: /spec/replicas, value: 3}`; `op` is one of add, remove, replace, move, copy, test"),
                        );
                    }
                }
            }
            (None, Some(_)) => {}
            _ => diags.push(
                Diagnostic::error(Code::PatchForm, "a patch needs one of `json` and `merge`")
                    .at(spans.key(&at), "")
                    .help("an RFC 6902 patch goes under `json:` (a list of operations), a merge patch under `merge:`"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_reserved;

    #[test]
    fn labels_gitopsc_relies_on_are_reserved() {
        assert!(is_reserved("app.kubernetes.io/name"));
        assert!(is_reserved("kustomize.toolkit.fluxcd.io/prune"));
        assert!(is_reserved("pod-security.kubernetes.io/enforce"));
        assert!(!is_reserved("app.kubernetes.io/part-of"));
        assert!(!is_reserved("team"));
    }
}
