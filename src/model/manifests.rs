//! The part of the user's own manifests (`apps[].manifests`): each object, checked, put in
//! the app's namespace and the layer the entry names, prune-protected as its kind says, and
//! written through the one YAML emitter. Known kinds are health-checked as the kind table
//! says; an unknown kind is waited for by kstatus only, and the runbook says so.

use super::part::{AppCtx, Part, Parts, Topic};
use super::{LayerKind, Manifest};
use crate::diagnostic::{Code, Diagnostic};
use crate::kinds::{self, Kind};
use crate::spec::manifests::{ManifestLayer, ManifestSpec, UserObject};
use serde::Serialize;
use serde_json::{Map, Value};

/// The part of the user's manifests.
pub struct Manifests;

/// A user object as its blueprint renders it: identity first, then the rest in key order.
#[derive(Debug, Serialize)]
pub struct ObjectItem {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata`.
    pub metadata: Map<String, Value>,
    /// Every other field.
    pub rest: Map<String, Value>,
}

impl Part for Manifests {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        for object in app.user_objects {
            if let Some((layer, mut manifest)) = manifest(app, object, out) {
                let taken = |file: &str, out: &Parts| {
                    out.manifests
                        .get(&layer)
                        .is_some_and(|ms| ms.iter().any(|m| m.file == file))
                };
                // The same kind and name in another API group is another object: its file
                // names its group.
                if taken(&manifest.file, out)
                    && let Some(grouped) = grouped_file(object, &manifest.file)
                    && !taken(&grouped, out)
                {
                    manifest.file = grouped;
                }
                if taken(&manifest.file, out) {
                    out.diagnostic(problem(
                        app,
                        object,
                        format!(
                            "the object writes `{}` in the {} layer, which another object of the app writes",
                            manifest.file,
                            layer.as_str()
                        ),
                        "two objects of one kind and name are one object: remove or rename one",
                    ));
                    continue;
                }
                out.add(layer, manifest);
            }
        }
    }
}

/// The file of a user object named with its API group (`serviceaccount.talos.dev-admin.yaml`
/// for `serviceaccount-admin.yaml`), for one whose kind and name another object of the app
/// has (`core` for the core group).
fn grouped_file(object: &UserObject, file: &str) -> Option<String> {
    let api_version = text(&object.value, "apiVersion")?;
    let group = api_version.rsplit_once('/').map_or("core", |(group, _)| group);
    let (kind, name) = file.split_once('-')?;
    Some(format!("{kind}.{group}-{name}"))
}

/// Where a user object is written in the spec: its entry's `path`, or its `object` key.
fn at(app: &AppCtx, object: &UserObject) -> Option<crate::source::Span> {
    match object.entry.path {
        Some(_) => app.spans.value(&object.pointer.field(ManifestSpec::PATH)),
        None => app.spans.key(&object.pointer.field(ManifestSpec::OBJECT)),
    }
}

/// A problem with a user object, at its `manifests` entry.
fn problem(app: &AppCtx, object: &UserObject, message: String, help: &str) -> Diagnostic {
    Diagnostic::error(Code::ManifestRefused, format!("{message} ({})", object.origin))
        .at(at(app, object), "")
        .help(help)
}

/// The string at `key` of a map, when it is a non-empty string.
fn text<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    map.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The manifest of one user object and its layer, or `None` after reporting why not.
fn manifest(app: &AppCtx, object: &UserObject, out: &mut Parts) -> Option<(LayerKind, Manifest)> {
    let mut value = object.value.clone();
    let (Some(api_version), Some(kind)) = (text(&value, "apiVersion"), text(&value, "kind")) else {
        out.diagnostic(problem(
            app,
            object,
            "a manifest object needs `apiVersion` and `kind`".into(),
            "write both, e.g. `apiVersion: v1` and `kind: ConfigMap`",
        ));
        return None;
    };
    let (api_version, kind) = (api_version.to_string(), kind.to_string());
    value.remove("apiVersion");
    value.remove("kind");
    let mut metadata = match value.remove("metadata") {
        Some(Value::Object(m)) if text(&m, "name").is_some() => m,
        _ => {
            out.diagnostic(problem(
                app,
                object,
                format!("the {kind} needs `metadata.name`"),
                "every object is named: add `metadata: {name: ...}`",
            ));
            return None;
        }
    };
    let name = text(&metadata, "name").unwrap_or_default().to_string();
    let row = kinds::lookup(&api_version, &kind);
    if !checks(app, object, row, (&kind, &name), &value, out) {
        return None;
    }
    let namespaced = row.map_or(!object.entry.cluster_scoped, |r| r.namespaced);
    if !place(app, object, namespaced, (&kind, &name), &mut metadata, out) {
        return None;
    }
    let protection = row
        .map(|r| r.prune_labels(app.protect, false))
        .unwrap_or_default();
    if !protection.is_empty() {
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(labels) = labels {
            labels.extend(protection.into_iter().map(|(k, v)| (k, Value::String(v))));
        }
    }
    if row.is_none() {
        out.caveat(
            Topic::Release,
            format!(
                "`{kind}` `{name}` ({api_version}) is a kind gitopsc does not know: Flux applies it and waits for it \
                 with kstatus, which counts an object without status conditions as ready at once. Check it with \
                 `kubectl -n {} get {} {name}`.",
                app.namespace,
                kind.to_lowercase()
            ),
        );
    }
    let layer = match object.entry.layer {
        ManifestLayer::Data => LayerKind::Data,
        ManifestLayer::Init => LayerKind::Init,
        ManifestLayer::Release => LayerKind::Release,
    };
    let file = format!("{}-{name}.yaml", kind.to_lowercase());
    let item = ObjectItem {
        api_version,
        kind,
        metadata,
        rest: value,
    };
    Some((
        layer,
        Manifest::object(file, "core/object.yaml.j2", row, item).from_spec(object.pointer.clone()),
    ))
}

/// The refusals and warnings of a user object's content and kind; false when refused.
fn checks(
    app: &AppCtx,
    object: &UserObject,
    row: Option<&'static Kind>,
    (kind, name): (&str, &str),
    value: &Map<String, Value>,
    out: &mut Parts,
) -> bool {
    let mut ok = true;
    let mut refuse = |message: String, help: &str, out: &mut Parts| {
        out.diagnostic(problem(app, object, message, help));
        ok = false;
    };
    if row == Some(&kinds::SECRET)
        && ["data", "stringData"].iter().any(|f| {
            value
                .get(*f)
                .is_some_and(|v| v.as_object().is_none_or(|m| !m.is_empty()))
        })
    {
        refuse(
            format!("the Secret `{name}` holds its data in plain text"),
            "a Secret's data does not belong in Git: declare it under the app's `secrets` (an ExternalSecret \
             reads it from the store)",
            out,
        );
    }
    if let Some(row) = row {
        let minor = crate::spec::semantic::flux_minor(&app.cluster.flux.version);
        if let (Some(since), Some(minor)) = (row.flux_since, minor)
            && minor < since
        {
            refuse(
                format!("Flux 2.{minor} cannot apply {row}: it came with Flux 2.{since}"),
                "upgrade Flux and raise `flux.version`, or use the apiVersion your Flux serves",
                out,
            );
        }
        if let Some(op) = row.operator.filter(|op| op.declared(app.cluster).is_none()) {
            refuse(
                format!(
                    "the {kind} `{name}` needs {}, which `operators` does not declare",
                    op.title()
                ),
                "declare it under `operators`, so the object waits for its operator",
                out,
            );
        }
    }
    if has_substitution(&Value::Object(value.clone())) {
        out.diagnostic(
            Diagnostic::warning(Code::ManifestSubstitution, format!(
                "the {kind} `{name}` holds `${{...}}`, which stays as written ({})",
                object.origin
            ))
            .at(at(app, object), "")
            .help("gitopsc emits no Flux `postBuild` substitution: nothing fills `${VAR}` in; write the value itself"),
        );
    }
    ok
}

/// Puts a user object into the app's namespace (or none, for a cluster-scoped kind); false
/// when it names another.
fn place(
    app: &AppCtx,
    object: &UserObject,
    namespaced: bool,
    (kind, name): (&str, &str),
    metadata: &mut Map<String, Value>,
    out: &mut Parts,
) -> bool {
    let written = metadata.get("namespace").cloned();
    match (namespaced, written) {
        (true, None) => {
            metadata.insert("namespace".into(), Value::String(app.namespace.clone()));
            true
        }
        (true, Some(Value::String(ns))) if ns == app.namespace => true,
        (true, Some(other)) => {
            out.diagnostic(problem(
                app,
                object,
                format!("the {kind} `{name}` names namespace {other}, not the app's `{}`", app.namespace),
                "a user manifest lives in its app's namespace: drop `metadata.namespace`, or move the object to the \
                 app of that namespace",
            ));
            false
        }
        (false, None) => true,
        (false, Some(_)) => {
            out.diagnostic(problem(
                app,
                object,
                format!("the {kind} `{name}` is cluster-scoped and takes no namespace"),
                "drop `metadata.namespace`",
            ));
            false
        }
    }
}

/// Whether any string of a value holds a Flux substitution `${...}`.
fn has_substitution(value: &Value) -> bool {
    match value {
        Value::String(s) => s.find("${").is_some_and(|at| s[at..].contains('}')),
        Value::Array(items) => items.iter().any(has_substitution),
        Value::Object(map) => map.values().any(has_substitution),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::has_substitution;
    use serde_json::json;

    #[test]
    fn substitutions_are_found_anywhere() {
        assert!(has_substitution(&json!({"a": [{"b": "x-${VAR}"}]})));
        assert!(!has_substitution(&json!({"a": "$VAR {x}", "b": "${"})));
    }
}
