//! One object, one writer: after resolution, every object the tree would hold (each app's
//! generated objects and user manifests, the shared sources and stores, the gates, the image
//! automation, the Flux Kustomizations) is keyed by API group, kind, namespace and name —
//! cluster-scoped kinds without a namespace — and a key written twice is an error. Two
//! writers of one object make two Flux Kustomizations fight over it, and pruning either
//! deletes it from under the other.
//!
//! The objects sorted by key in parallel, then one pass over each key's writers.

use super::patch::{Patch, Post, add_metadata};
use super::{FluxKustomization, Manifest, Model, head};
use crate::diagnostic::{Code, Diagnostic};
use crate::kinds;
use crate::source::Span;
use crate::spec::manifests::ManifestSpec;
use crate::spec::path::SpecPath;
use crate::spec::places::Places;
use crate::spec::{AppSpec, ClusterSpec};
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::HashMap;

/// What identifies an object in a cluster: API group, kind, namespace (none for a
/// cluster-scoped kind), name.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    group: Cow<'static, str>,
    kind: Cow<'static, str>,
    namespace: Option<String>,
    name: String,
}

/// Who writes an object, and where.
#[derive(Debug, Clone)]
struct Writer<'m> {
    /// The app, or none for the cluster's shared objects.
    app: Option<&'m str>,
    /// The folder and file (for a Flux Kustomization: the file that lists it, and no folder).
    path: (&'m str, &'m str),
    /// The spec node that wrote it, when one did.
    origin: Option<&'m SpecPath>,
    /// A Flux Kustomization gitopsc generates: their names are checked with the Flux graph.
    generated_kustomization: bool,
    /// The name (`namespace/name`) the object had before the app's patches renamed it, and
    /// where the last renaming patch is written.
    renamed: Option<(String, Option<Span>)>,
}

impl Writer<'_> {
    fn describe(&self) -> String {
        let who = match (self.app, self.origin) {
            (Some(app), Some(origin)) => format!("app `{app}` at `{origin}`"),
            (Some(app), None) => format!("app `{app}`"),
            (None, _) => "the cluster's shared objects".to_string(),
        };
        let renamed = match &self.renamed {
            Some((before, _)) => format!(", `{before}` renamed by a patch"),
            None => String::new(),
        };
        match self.path {
            ("", file) => format!("{who} (`{file}`{renamed})"),
            (dir, file) => format!("{who} (`{dir}/{file}`{renamed})"),
        }
    }
}

/// Every object written twice, as an error at the second writer (at the spec node that wrote
/// it when one did).
pub fn check(model: &Model, spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let app_index: HashMap<&str, usize> = spec
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), i))
        .collect();
    let objects = objects(model);
    // The objects in the order of their keys (a key's writers in the tree's order), sorted
    // in parallel: each writer after a key's first is checked against that first one.
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.par_sort_unstable_by(|&a, &b| objects[a].0.cmp(&objects[b].0).then(a.cmp(&b)));
    let mut found: Vec<(usize, Diagnostic)> = Vec::new();
    for group in order.chunk_by(|&a, &b| objects[a].0 == objects[b].0) {
        let (key, first) = &objects[group[0]];
        for &i in &group[1..] {
            let writer = &objects[i].1;
            if !(first.generated_kustomization && writer.generated_kustomization) {
                found.push((i, twice(key, first, writer, &app_index, spans)));
            }
        }
    }
    // In the order of the second writers, as the tree lists them.
    found.sort_unstable_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, d)| d).collect()
}

/// The error of an object two writers write.
fn twice(
    key: &Key,
    first: &Writer,
    second: &Writer,
    app_index: &HashMap<&str, usize>,
    spans: &Places,
) -> Diagnostic {
    let object = match &key.namespace {
        Some(ns) => format!("the {} `{}` in namespace `{ns}`", key.kind, key.name),
        None => format!("the {} `{}` (cluster-scoped)", key.kind, key.name),
    };
    // Point where the user can change something: a node that wrote it, else the later app.
    let app_of = |w: &Writer| w.app.and_then(|a| app_index.get(a).copied());
    let later = if app_of(first) > app_of(second) {
        first
    } else {
        second
    };
    let renaming = [second, first]
        .iter()
        .find_map(|w| w.renamed.as_ref().and_then(|(_, at)| *at));
    let at = renaming
        .or_else(|| {
            [second, first]
                .iter()
                .find_map(|w| w.origin.and_then(|o| origin_span(o, spans)))
        })
        .or_else(|| spans.value(&SpecPath::app(app_of(later)?).field(AppSpec::NAME)));
    let (label, help) = if renaming.is_some() {
        (
            "renames an object onto one written elsewhere",
            "an object has one writer, or two Flux Kustomizations fight over it and pruning one deletes it: \
             change the patch's new name or namespace, or narrow its `target`",
        )
    } else {
        (
            "writes an object written elsewhere",
            "an object has one writer, or two Flux Kustomizations fight over it and pruning one deletes it: \
             rename one of them, or drop the user manifest of an object gitopsc writes (change it with `patches`)",
        )
    };
    Diagnostic::error(
        Code::ObjectWrittenTwice,
        format!(
            "{object} is written twice: by {} and by {}",
            first.describe(),
            second.describe()
        ),
    )
    .at(at, label)
    .help(help)
}

/// Where the spec node at `pointer` is: a manifest entry's `object` key or `path` value.
fn origin_span(pointer: &SpecPath, spans: &Places) -> Option<crate::source::Span> {
    spans
        .key(&pointer.field(ManifestSpec::OBJECT))
        .or_else(|| spans.value(&pointer.field(ManifestSpec::PATH)))
        .or_else(|| spans.key(pointer))
}

/// Every object of the model with its writer, in the order the tree lists them.
fn objects<'m>(model: &'m Model) -> Vec<(Key, Writer<'m>)> {
    let mut out = Vec::new();
    let shared = |dir: &'m str| Writer {
        app: None,
        path: (dir, "helmrepository.yaml"),
        origin: None,
        generated_kustomization: false,
        renamed: None,
    };
    if let Some(sources) = &model.shared_sources {
        for s in &sources.sources {
            let r = &s.repository;
            out.push((
                key(&kinds::HELM_REPOSITORY, Some(&r.namespace), &r.name),
                shared(&s.dir),
            ));
            out.push(kustomization(&s.kustomization, &model.flux.cluster_dir, None));
        }
    }
    if let Some(stores) = &model.shared_stores {
        out.extend(manifests(&stores.stores, &stores.dir, None, None));
        out.push(kustomization(
            &stores.kustomization,
            &model.flux.cluster_dir,
            None,
        ));
    }
    for gate in &model.gates {
        out.push(kustomization(&gate.kustomization, &model.flux.cluster_dir, None));
    }
    if let Some(images) = &model.image_automation {
        out.extend(manifests(&images.manifests, &images.dir, None, None));
        out.push(kustomization(
            &images.kustomization,
            &model.flux.cluster_dir,
            None,
        ));
    }
    // Reading an object's key serializes its item: the apps' objects are read in parallel.
    let apps: Vec<Vec<(Key, Writer)>> = model
        .apps
        .par_iter()
        .map(|app| {
            let mut own = Vec::new();
            for layer in &app.layers {
                own.extend(manifests(
                    &layer.manifests,
                    &layer.dir,
                    Some(&app.name),
                    Some(&app.post).filter(|p| p.patches.iter().any(Patch::renames)),
                ));
                own.push(kustomization(
                    &layer.kustomization,
                    &app.kustomizations_file,
                    Some(&app.name),
                ));
            }
            own
        })
        .collect();
    out.reserve(apps.iter().map(Vec::len).sum());
    out.extend(apps.into_iter().flatten());
    out
}

fn key(kind: &kinds::Kind, namespace: Option<&str>, name: &str) -> Key {
    Key {
        group: kind.group().into(),
        kind: kind.kind.into(),
        namespace: namespace.filter(|_| kind.namespaced).map(String::from),
        name: name.to_string(),
    }
}

/// A Flux Kustomization gitopsc generates, listed in `file`.
fn kustomization<'m>(k: &'m FluxKustomization, file: &'m str, app: Option<&'m str>) -> (Key, Writer<'m>) {
    (
        key(&kinds::FLUX_KUSTOMIZATION, Some(&k.namespace), &k.name),
        Writer {
            app,
            path: ("", file),
            origin: None,
            generated_kustomization: true,
            renamed: None,
        },
    )
}

/// The objects of a folder's manifests (documents that hold no object are skipped), under
/// the names `post`'s patches give them.
fn manifests<'m>(
    manifests: &'m [Manifest],
    dir: &'m str,
    app: Option<&'m str>,
    post: Option<&'m Post>,
) -> impl Iterator<Item = (Key, Writer<'m>)> {
    manifests.iter().filter_map(move |m| {
        let (key, labels) = identity(m)?;
        let (key, renamed) = match post {
            Some(post) => patched(key, labels, post),
            None => (key, None),
        };
        Some((
            key,
            Writer {
                app,
                path: (dir, m.file.as_str()),
                origin: m.origin.as_ref(),
                generated_kustomization: false,
                renamed,
            },
        ))
    })
}

/// An object's key after the app's labels and patches, as the render stage applies them to
/// it: its kind and metadata alone (what a patch's target and a rename read), with the name
/// it had and the last renaming patch when a patch renames it.
fn patched(key: Key, labels: Map<String, Value>, post: &Post) -> (Key, Option<(String, Option<Span>)>) {
    // A skeleton of the rendered object: not spec paths.
    let mut object = json!({"kind": key.kind, "metadata": {"name": key.name, "labels": labels}});
    if let Some(ns) = &key.namespace {
        object["metadata"]["namespace"] = json!(ns);
    }
    add_metadata(&mut object, "labels", &post.labels);
    let mut by = None;
    for patch in &post.patches {
        if patch.renames() && patch.matches(&object) {
            let before = (
                object["metadata"]["name"].clone(),
                object["metadata"]["namespace"].clone(),
            );
            patch.apply_to_metadata(&mut object);
            if (
                object["metadata"]["name"].clone(),
                object["metadata"]["namespace"].clone(),
            ) != before
            {
                by = Some(patch.span);
            }
        }
    }
    let Some(at) = by else {
        return (key, None);
    };
    let text = |field: &str| object["metadata"][field].as_str().map(String::from);
    let before = match &key.namespace {
        Some(ns) => format!("{ns}/{}", key.name),
        None => key.name.clone(),
    };
    let renamed = Key {
        name: text("name").unwrap_or_else(|| key.name.clone()),
        namespace: key.namespace.as_ref().and(text("namespace")),
        ..key
    };
    (renamed, Some((before, at)))
}

/// The fields of an item its key is read from; the rest of the item is passed over.
const HEAD: [&str; 8] = [
    "api_version",
    "kind",
    "object_name",
    "metadata",
    "meta",
    "name",
    "namespace",
    "labels",
];

/// The key of a manifest's object, read from its item the way the blueprints read it:
/// `metadata` (a user object), `meta`, or the item itself holds `name`, `namespace` and
/// `labels` (`object_name` first: an ExternalSecret named apart from its Secret); and the
/// labels the item gives it. Only those fields of the item are serialized ([`head`]).
fn identity(m: &Manifest) -> Option<(Key, Map<String, Value>)> {
    let head = head::fields(&*m.item, &HEAD)?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
    let (group, kind, namespaced) = match m.kind {
        // A known kind's names are the table's: not copied for each object.
        Some(k) => (Cow::Borrowed(k.group()), Cow::Borrowed(k.kind), k.namespaced),
        None => {
            // A user object of a kind the table does not know: namespaced when it has one.
            let api_version = text(head.get("api_version"))?;
            let group = api_version.rsplit_once('/').map_or("", |(g, _)| g).to_string();
            (Cow::Owned(group), Cow::Owned(text(head.get("kind"))?), true)
        }
    };
    let meta = ["metadata", "meta"]
        .into_iter()
        .find_map(|f| head.get(f).and_then(Value::as_object));
    let field = |name: &str| match meta {
        Some(meta) => meta.get(name).cloned(),
        None => head.get(name).cloned(),
    };
    let name = text(head.get("object_name")).or_else(|| text(field("name").as_ref()))?;
    let labels = field("labels")
        .and_then(|l| match l {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let key = Key {
        group,
        kind,
        namespace: text(field("namespace").as_ref()).filter(|_| namespaced),
        name,
    };
    Some((key, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of an item of `kind` (none: a user object of an unknown kind), as
    /// `group/kind/namespace/name`, and its labels.
    fn key_of(kind: Option<&'static kinds::Kind>, item: Value) -> Option<(String, Value)> {
        let mut m = Manifest::new("x.yaml", "x.j2", &kinds::NAMESPACE, item);
        m.kind = kind;
        let (key, labels) = identity(&m)?;
        let ns = key.namespace.unwrap_or_default();
        Some((
            format!("{}/{}/{ns}/{}", key.group, key.kind, key.name),
            Value::Object(labels),
        ))
    }

    #[test]
    fn an_objects_key_is_read_from_metadata_meta_or_the_item_itself() {
        let secret = Some(&kinds::EXTERNAL_SECRET_KIND);
        let (key, labels) = key_of(
            secret,
            json!({"metadata": {"name": "a", "namespace": "n", "labels": {"x": "1"}}, "name": "no"}),
        )
        .unwrap();
        assert_eq!(key, "external-secrets.io/ExternalSecret/n/a");
        assert_eq!(labels, json!({"x": "1"}));
        // `meta` when `metadata` is no mapping; `object_name` before either.
        let (key, _) = key_of(
            secret,
            json!({"metadata": "x", "meta": {"name": "b", "namespace": "m"}}),
        )
        .unwrap();
        assert_eq!(key, "external-secrets.io/ExternalSecret/m/b");
        let (key, _) = key_of(secret, json!({"object_name": "c", "meta": {"name": "b"}})).unwrap();
        assert_eq!(key, "external-secrets.io/ExternalSecret//c");
        // The item itself, when it has neither.
        let (key, labels) = key_of(
            secret,
            json!({"name": "d", "namespace": "k", "labels": {"y": "2"}}),
        )
        .unwrap();
        assert_eq!(key, "external-secrets.io/ExternalSecret/k/d");
        assert_eq!(labels, json!({"y": "2"}));
        // A cluster-scoped kind has no namespace; a user object of an unknown kind is read
        // from its own `api_version` and `kind`.
        let (key, _) = key_of(Some(&kinds::NAMESPACE), json!({"name": "e", "namespace": "k"})).unwrap();
        assert_eq!(key, "/Namespace//e");
        let (key, _) = key_of(
            None,
            json!({"api_version": "example.com/v1", "kind": "Widget", "metadata": {"name": "f"}}),
        )
        .unwrap();
        assert_eq!(key, "example.com/Widget//f");
        // No name, or no object: no key.
        assert!(key_of(secret, json!({"metadata": {"namespace": "n"}})).is_none());
        assert!(key_of(secret, json!(["a"])).is_none());
    }
}
