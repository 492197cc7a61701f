//! One object, one writer: after resolution, every object the tree would hold (each app's
//! generated objects and user manifests, the shared sources and stores, the gates, the image
//! automation, the Flux Kustomizations) is keyed by API group, kind, namespace and name —
//! cluster-scoped kinds without a namespace — and a key written twice is an error. Two
//! writers of one object make two Flux Kustomizations fight over it, and pruning either
//! deletes it from under the other.
//!
//! The objects' keys hashed and sorted in parallel; the objects whose hashes others share
//! are read again and compared by key, each key's writers in one pass.

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
use std::collections::{BTreeMap, HashMap};

/// What identifies an object in a cluster: API group, kind, namespace (none for a
/// cluster-scoped kind), name.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
///
/// Each object is held as its key's hash and its place in the tree's order while all are
/// sorted; only the objects whose hash another shares are read again, with their keys and
/// writers, and compared by key.
pub fn check(model: &Model, spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let app_index: HashMap<&str, usize> = spec
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), i))
        .collect();
    let found = twice_written(model, &sharing(hashes(model)), &app_index, spans);
    found.into_iter().map(|(_, d)| d).collect()
}

/// An object as the check sorts it: its key's hash, and where it is in the tree's order (its
/// unit, [`unit_objects`], and its place in it).
type Seen = (u64, u32, u32);

/// Every object's [`Seen`], in the tree's order; the apps' objects are read in parallel.
fn hashes(model: &Model) -> Vec<Seen> {
    use std::hash::{Hash, Hasher};
    let units: Vec<Vec<u64>> = (0..=model.apps.len())
        .into_par_iter()
        .map(|unit| {
            let objects = unit_objects(model, unit);
            let hash = |key: &Key| {
                let mut h = std::hash::DefaultHasher::new();
                key.hash(&mut h);
                h.finish()
            };
            objects.iter().map(|(key, _)| hash(key)).collect()
        })
        .collect();
    let mut out = Vec::with_capacity(units.iter().map(Vec::len).sum());
    for (unit, hashes) in (0u32..).zip(units) {
        out.extend((0u32..).zip(hashes).map(|(i, hash)| (hash, unit, i)));
    }
    out
}

/// The objects whose hashes others share, in the order of their hashes.
fn sharing(mut hashed: Vec<Seen>) -> Vec<Seen> {
    hashed.par_sort_unstable();
    (hashed.chunk_by(|a, b| a.0 == b.0))
        .filter(|group| group.len() > 1)
        .flatten()
        .copied()
        .collect()
}

/// The errors of the objects among `shared` (whose hashes others share) that are written
/// twice, each with its place in the tree's order: the objects in the order of their keys (a
/// key's writers in the tree's order), each writer after a key's first checked against it.
fn twice_written(
    model: &Model,
    shared: &[Seen],
    app_index: &HashMap<&str, usize>,
    spans: &Places,
) -> Vec<((u32, u32), Diagnostic)> {
    let mut units: BTreeMap<u32, Vec<Option<(Key, Writer)>>> = BTreeMap::new();
    for &(_, unit, _) in shared {
        units
            .entry(unit)
            .or_insert_with(|| unit_objects(model, unit as usize).into_iter().map(Some).collect());
    }
    let mut objects: Vec<((u32, u32), Key, Writer)> = shared
        .iter()
        .filter_map(|&(_, unit, i)| {
            let (key, writer) = units.get_mut(&unit)?.get_mut(i as usize)?.take()?;
            Some(((unit, i), key, writer))
        })
        .collect();
    objects.sort_unstable_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut found = Vec::new();
    for group in objects.chunk_by(|a, b| a.1 == b.1) {
        let (_, key, first) = &group[0];
        for (at, _, writer) in &group[1..] {
            if !(first.generated_kustomization && writer.generated_kustomization) {
                found.push((*at, twice(key, first, writer, app_index, spans)));
            }
        }
    }
    // In the order of the second writers, as the tree lists them.
    found.sort_unstable_by_key(|(at, _)| *at);
    found
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

/// The objects of one unit of the tree with their writers, in the order the tree lists them:
/// unit 0 is the cluster's shared objects, unit `i` the objects of the model's app `i - 1`.
fn unit_objects(model: &Model, unit: usize) -> Vec<(Key, Writer<'_>)> {
    let mut out = Vec::new();
    let Some(i) = unit.checked_sub(1) else {
        shared_objects(model, &mut out);
        return out;
    };
    let Some(app) = model.apps.get(i) else {
        return out;
    };
    for layer in &app.layers {
        out.extend(manifests(
            &layer.manifests,
            &layer.dir,
            Some(&app.name),
            Some(&app.post).filter(|p| p.patches.iter().any(Patch::renames)),
        ));
        out.push(kustomization(
            &layer.kustomization,
            &app.kustomizations_file,
            Some(&app.name),
        ));
    }
    out
}

/// The cluster's shared objects: sources, stores, gates, image automation.
fn shared_objects<'m>(model: &'m Model, out: &mut Vec<(Key, Writer<'m>)>) {
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
    fn objects_whose_hashes_collide_are_compared_by_their_keys() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infra/cluster.yaml");
        let mut model = crate::check_spec(&path).ok().expect("checks").model;
        let loaded = crate::spec::load::load(&path).expect("loads");
        let places = Places::of(loaded.spans);
        let no_apps = HashMap::new();
        // Every object taken as sharing one hash: keys that differ are no error.
        let colliding =
            |model: &Model| -> Vec<Seen> { hashes(model).into_iter().map(|(_, u, i)| (0, u, i)).collect() };
        let all = colliding(&model);
        assert!(all.len() > 10, "{all:?}");
        assert!(twice_written(&model, &all, &no_apps, &places).is_empty());
        // The first app's first object written by the third app too: one error, at the third
        // app's, among colliding hashes as among the real ones.
        let copy = model.apps[0].layers[0].manifests[0].clone();
        assert!(identity(&copy).is_some(), "{copy:?} is an object");
        model.apps[2].layers[0].manifests.push(copy);
        let found = twice_written(&model, &colliding(&model), &no_apps, &places);
        assert_eq!(
            found.len(),
            1,
            "{:?}",
            found.iter().map(|(_, d)| &d.message).collect::<Vec<_>>()
        );
        assert_eq!(found[0].0.0, 3, "the unit of the third app");
        let shared = sharing(hashes(&model));
        assert_eq!(shared.len(), 2, "{shared:?}");
        let again = twice_written(&model, &shared, &no_apps, &places);
        assert_eq!(
            again.iter().map(|(at, d)| (*at, &d.message)).collect::<Vec<_>>(),
            found.iter().map(|(at, d)| (*at, &d.message)).collect::<Vec<_>>()
        );
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
