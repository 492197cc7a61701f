//! Object-level review of a comparison: which Kubernetes objects a build adds, changes and
//! removes, which stateful objects leave the tree — what Flux would prune — or move to another
//! Flux Kustomization (whose garbage collection races the new owner's apply), and which
//! changes to a database cluster do not reach the live one.
//!
//! Only files that change are parsed (old bytes from disk, new bytes from the render), so
//! checking an up-to-date tree parses nothing. Unchanged files hold the same objects on both
//! sides, so the object sets of the changed files alone decide what leaves.

use super::{ChangeKind, Comparison, Tree};
use rayon::prelude::*;
use serde_yaml::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use crate::kinds;
use crate::model::in_clusters_dir;

/// The label (or annotation) that makes Flux keep an object it would otherwise prune.
pub use crate::kinds::PRUNE_DISABLED;

/// A Kubernetes object's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// A stateful object that moves from one Flux Kustomization to another: the old one's
/// garbage collection deletes it unless the new one has applied it first, or it is protected.
#[derive(Debug, Clone)]
pub struct Moving {
    /// The object.
    pub id: ObjectId,
    /// The Flux Kustomization that applied it.
    pub from: String,
    /// The Flux Kustomization that applies it now.
    pub to: String,
    /// Whether the previous tree (what is live) already protected it from pruning.
    pub protected: bool,
}

/// A change to a database cluster that the live cluster does not follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseChange {
    /// A CloudNative-PG `Cluster`'s `spec.bootstrap` changed: the operator reads it only when
    /// it creates the cluster.
    Bootstrap {
        /// The cluster.
        id: ObjectId,
        /// The `spec.bootstrap.initdb` fields that changed.
        fields: Vec<String>,
    },
    /// A database cluster left and another of its kind came in its namespace: the app moves
    /// to a new, empty cluster.
    Renamed {
        /// The cluster that leaves.
        from: ObjectId,
        /// The cluster that comes.
        to: ObjectId,
    },
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
    /// Stateful objects that move to another Flux Kustomization.
    pub moving: Vec<Moving>,
    /// Changes to database clusters that do not reach the live cluster.
    pub databases: Vec<DatabaseChange>,
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

struct Object<'t> {
    path: String,
    doc: Doc<'t>,
}

/// An object's document.
enum Doc<'t> {
    /// Parsed.
    Value(Value),
    /// Lines gitopsc's emitter wrote, of a kind the review does not watch, from its
    /// `apiVersion` on: known by the identity they show ([`listed_documents`]), not parsed.
    /// Its objects on both sides are compared by these lines: gitopsc writes one manifest as
    /// one text, so it changes when they do.
    Lines(&'t str),
}

impl Doc<'_> {
    /// The document, parsed.
    fn value(&self) -> Cow<'_, Value> {
        match self {
            Doc::Value(value) => Cow::Borrowed(value),
            // Lines gitopsc wrote parse (see `watched_documents`).
            Doc::Lines(text) => Cow::Owned(serde_yaml::from_str(text).unwrap_or(Value::Null)),
        }
    }
}

/// How the bytes of one side of a changed file are read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reading {
    /// Every document parsed: bytes gitopsc did not write.
    Whole,
    /// Bytes gitopsc wrote, when only objects of the watched kinds matter: those are parsed,
    /// the others passed over ([`watched_documents`]).
    Watched,
    /// Bytes gitopsc wrote, when every object is listed: those of the watched kinds parsed,
    /// the others known by the identity their lines show ([`listed_documents`]).
    Listed,
}

/// Reviews the objects of the files a comparison changes.
/// With `objects` false only what concerns objects already in the tree is reviewed (what
/// leaves it, what changes in a live workload or database): a build into an empty folder
/// parses nothing, and of the files gitopsc wrote only the documents of a kind that can
/// leave, move or change that way are parsed (`watched_documents`); the lists of objects
/// added, changed and removed then hold those only.
pub fn review(cmp: &Comparison, tree: &Tree, objects: bool) -> Review {
    let reading = |written: bool| match (written, objects) {
        (false, _) => Reading::Whole,
        (true, false) => Reading::Watched,
        (true, true) => Reading::Listed,
    };
    let pairs: Vec<Pair> = (cmp.changes.iter())
        .filter(|change| change.path.ends_with(".yaml"))
        .map(|change| Pair {
            path: &change.path,
            old: change.old.as_deref().map(|old| (old, reading(change.written))),
            new: (change.kind != ChangeKind::Removed)
                .then(|| tree.get(&change.path))
                .flatten()
                .map(|new| (new.as_slice(), reading(true))),
        })
        .collect();
    if !objects && pairs.iter().all(|pair| pair.old.is_none()) {
        return Review::default();
    }
    let sides = Sides::by_file(&pairs).unwrap_or_else(|| Sides::whole(&pairs));
    if !objects && !sides.old_objects {
        return Review::default();
    }
    sides.reviewed(cmp, tree)
}

/// A changed file: its path, and its old and new bytes, each with how it is read.
struct Pair<'a> {
    path: &'a str,
    old: Option<(&'a [u8], Reading)>,
    new: Option<(&'a [u8], Reading)>,
}

/// The objects of the changed files, old and new, with what is known of them already.
#[derive(Default)]
struct Sides<'t> {
    /// Old objects not yet compared with a new one.
    old: BTreeMap<ObjectId, Object<'t>>,
    /// New objects not yet compared with an old one.
    new: BTreeMap<ObjectId, Object<'t>>,
    /// Objects compared already (old and new in one file), those that are not the same.
    settled: Vec<(ObjectId, Verdict)>,
    /// Whether the old files hold any object.
    old_objects: bool,
}

/// The objects of one changed file: those in both of its sides compared, the others left.
struct FileSides<'t> {
    sides: Sides<'t>,
    /// A hash of every object's identity on each side, to tell whether another file holds
    /// one too (two identities of one hash only send the review to the whole reading).
    ids: (Vec<u64>, Vec<u64>),
}

impl<'t> Sides<'t> {
    /// The objects of all the changed files, each side read whole: an object two files hold
    /// is the later file's, as if they were read one after the other.
    fn whole(pairs: &[Pair<'t>]) -> Sides<'t> {
        let old = collected(pairs.iter().filter_map(|p| Some((p.path, p.old?))));
        let new = collected(pairs.iter().filter_map(|p| Some((p.path, p.new?))));
        Sides {
            old_objects: !old.is_empty(),
            old,
            new,
            settled: Vec::new(),
        }
    }

    /// The objects of the changed files, each file's old and new objects compared as it is
    /// read, in parallel: each file's parsed documents are freed (and their memory taken
    /// again) before the next, and only the objects that leave their file are held. `None`
    /// when an object is in two files of a side (the later file's would count: read whole).
    fn by_file(pairs: &[Pair<'t>]) -> Option<Sides<'t>> {
        let each: Vec<FileSides> = pairs.par_iter().map(FileSides::of).collect();
        let mut seen: (HashSet<u64>, HashSet<u64>) = Default::default();
        for file in &each {
            let (old, new) = &file.ids;
            (old.iter().all(|id| seen.0.insert(*id)) && new.iter().all(|id| seen.1.insert(*id)))
                .then_some(())?;
        }
        let mut sides = Sides {
            old_objects: !seen.0.is_empty(),
            ..Sides::default()
        };
        for file in each {
            sides.old.extend(file.sides.old);
            sides.new.extend(file.sides.new);
            sides.settled.extend(file.sides.settled);
        }
        Some(sides)
    }

    /// The review of the objects: each new object left against the old ones left, in
    /// parallel, then all in the order of their identities.
    fn reviewed(self, cmp: &Comparison, tree: &Tree) -> Review {
        let Sides {
            old,
            new,
            mut settled,
            ..
        } = self;
        let verdicts: Vec<Option<Verdict>> = (new.par_iter())
            .map(|(id, object)| match old.get(id) {
                None => Some(Verdict::Added),
                Some(before) => compared(id, before, object),
            })
            .collect();
        settled.extend((new.keys().zip(verdicts)).filter_map(|(id, verdict)| Some((id.clone(), verdict?))));
        settled.sort_by(|a, b| a.0.cmp(&b.0));
        let mut review = Review::default();
        for (id, verdict) in settled {
            match verdict {
                Verdict::Added => review.added.push(id),
                Verdict::Changed(workloads, database) => {
                    review.changed.push(id);
                    review.workloads.extend(workloads);
                    review.databases.extend(database.map(|d| *d));
                }
            }
        }
        for (id, object) in &old {
            if new.contains_key(id) {
                continue;
            }
            review.removed.push(id.clone());
            if matters(id, &object.doc) {
                review.leaving.push(Leaving {
                    id: id.clone(),
                    path: object.path.clone(),
                    protected: is_protected(&object.doc.value()),
                });
            }
        }
        review
            .databases
            .extend(renamed_clusters(&review.removed, &review.added));
        review.moving = moving(cmp, tree, &old, &new);
        rayon::join(|| drop(old), || drop(new));
        review
    }
}

impl<'t> FileSides<'t> {
    /// The objects of one changed file: an object on both sides is compared here (it stays
    /// at its path: neither added, removed nor moving), the others are left.
    fn of(pair: &Pair<'t>) -> FileSides<'t> {
        let read =
            |side: Option<(&'t [u8], Reading)>| side.map_or_else(BTreeMap::new, |s| objects_of(pair.path, s));
        let (mut old, new) = (read(pair.old), read(pair.new));
        let hashed = |objects: &BTreeMap<ObjectId, Object<'t>>| -> Vec<u64> {
            let hasher = std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default();
            objects
                .keys()
                .map(|id| std::hash::BuildHasher::hash_one(&hasher, id))
                .collect()
        };
        let ids = (hashed(&old), hashed(&new));
        let mut sides = Sides::default();
        for (id, object) in new {
            match old.remove(&id) {
                Some(before) => sides
                    .settled
                    .extend(compared(&id, &before, &object).map(|v| (id, v))),
                None => {
                    sides.new.insert(id, object);
                }
            }
        }
        sides.old = old;
        FileSides { sides, ids }
    }
}

/// What the new `object` is to the old one (`before`) of the same identity, when not the same.
/// Lines gitopsc wrote on both sides are compared as lines: they are of a kind the review does
/// not watch, which changes in no way a plain apply cannot carry out.
fn compared(id: &ObjectId, before: &Object, object: &Object) -> Option<Verdict> {
    if let (Doc::Lines(old), Doc::Lines(new)) = (&before.doc, &object.doc) {
        return (old != new).then(|| Verdict::Changed(Vec::new(), None));
    }
    let (old, new) = (before.doc.value(), object.doc.value());
    (old != new).then(|| {
        Verdict::Changed(
            workload_changes(id, &old, &new),
            bootstrap_change(id, &old, &new).map(Box::new),
        )
    })
}

/// What an object of the new tree is to the old one's, when it is not the same.
enum Verdict {
    /// Not in the old tree.
    Added,
    /// Changed: what changes in a live workload, and in a database's bootstrap.
    Changed(Vec<WorkloadChange>, Option<Box<DatabaseChange>>),
}

/// Whether a stateful object's leaving its Flux Kustomization matters. A Secret or
/// ExternalSecret is recreated from its store; it matters only when the previous tree
/// protected it (a kept database depends on it).
fn matters(id: &ObjectId, old: &Doc) -> bool {
    kind_of(id).is_some_and(|k| {
        k.stateful && (k.prune != kinds::Prune::KeptWhenDepended || is_protected(&old.value()))
    })
}

/// Stateful objects in both trees whose folder, and with it their Flux Kustomization,
/// changes (say, a Namespace going into an app's new data layer).
fn moving(
    cmp: &Comparison,
    tree: &Tree,
    old: &BTreeMap<ObjectId, Object>,
    new: &BTreeMap<ObjectId, Object>,
) -> Vec<Moving> {
    let dir = |path: &str| path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let candidates: Vec<(&ObjectId, &Object, &Object)> = old
        .iter()
        .filter_map(|(id, before)| new.get(id).map(|after| (id, before, after)))
        .filter(|(id, before, after)| dir(&before.path) != dir(&after.path) && matters(id, &before.doc))
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    // The Flux Kustomizations of both trees: the rendered ones, and the previous bytes of
    // those that change (unchanged files are alike on both sides).
    let previous: BTreeMap<&str, Option<&[u8]>> = cmp
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.old.as_deref()))
        .collect();
    let mut now = Vec::new();
    let mut before = Vec::new();
    for (path, bytes) in tree.iter() {
        if in_clusters_dir(path) {
            flux_kustomizations(bytes, &mut now);
            match previous.get(path.as_str()) {
                None => flux_kustomizations(bytes, &mut before),
                Some(old) => flux_kustomizations(old.unwrap_or_default(), &mut before),
            }
        }
    }
    for c in &cmp.changes {
        if c.kind == ChangeKind::Removed && in_clusters_dir(&c.path) {
            flux_kustomizations(c.old.as_deref().unwrap_or_default(), &mut before);
        }
    }
    let owner = |kustomizations: &[(String, String)], path: &str| -> Option<String> {
        let folder = dir(path);
        kustomizations
            .iter()
            .find(|(applied, _)| {
                let applied = applied.trim_start_matches("./");
                applied == folder || applied.ends_with(&format!("/{folder}"))
            })
            .map(|(_, name)| name.clone())
    };
    candidates
        .into_iter()
        .filter_map(|(id, old_object, new_object)| {
            let from = owner(&before, &old_object.path)?;
            let to = owner(&now, &new_object.path)?;
            (from != to).then(|| Moving {
                id: id.clone(),
                from,
                to,
                protected: is_protected(&old_object.doc.value()),
            })
        })
        .collect()
}

/// The (`spec.path`, name) of every Flux Kustomization in a file.
fn flux_kustomizations(bytes: &[u8], into: &mut Vec<(String, String)>) {
    let mut objects = BTreeMap::new();
    collect("", bytes, &mut objects);
    for (id, object) in objects {
        if id.kind == "Kustomization"
            && id.api_version.starts_with("kustomize.toolkit.fluxcd.io/")
            && let Some(path) = object
                .doc
                .value()
                .get("spec")
                .and_then(|s| s.get("path"))
                .and_then(Value::as_str)
        {
            into.push((path.to_string(), id.name));
        }
    }
}

/// The `spec.bootstrap.initdb` fields of a CloudNative-PG `Cluster` that changed.
fn bootstrap_change(id: &ObjectId, old: &Value, new: &Value) -> Option<DatabaseChange> {
    if id.kind != "Cluster" || !id.api_version.starts_with("postgresql.cnpg.io/") {
        return None;
    }
    let bootstrap = |doc: &Value| doc.get("spec").and_then(|s| s.get("bootstrap")).cloned();
    let (before, after) = (bootstrap(old), bootstrap(new));
    if before == after {
        return None;
    }
    let initdb = |b: &Option<Value>| {
        b.as_ref()
            .and_then(|b| b.get("initdb"))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default()
    };
    let (a, b) = (initdb(&before), initdb(&after));
    let mut fields: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .filter_map(|k| k.as_str().map(|k| format!("spec.bootstrap.initdb.{k}")))
        .collect();
    fields.sort();
    fields.dedup();
    if fields.is_empty() {
        fields.push("spec.bootstrap".into());
    }
    Some(DatabaseChange::Bootstrap {
        id: id.clone(),
        fields,
    })
}

/// Database clusters that leave while another of the same kind comes into their namespace.
fn renamed_clusters(removed: &[ObjectId], added: &[ObjectId]) -> Vec<DatabaseChange> {
    let is_database = |id: &ObjectId| kind_of(id).is_some_and(|k| k.database);
    let mut out = Vec::new();
    for from in removed.iter().filter(|id| is_database(id)) {
        if let Some(to) = added.iter().find(|to| {
            is_database(to)
                && to.kind == from.kind
                && to.namespace == from.namespace
                && to.api_version == from.api_version
        }) {
            out.push(DatabaseChange::Renamed {
                from: from.clone(),
                to: to.clone(),
            });
        }
    }
    out
}

/// What a change of a live StatefulSet, Deployment or Job cannot simply apply.
fn workload_changes(id: &ObjectId, old: &Value, new: &Value) -> Vec<WorkloadChange> {
    let Some(kind) = kind_of(id) else {
        return Vec::new();
    };
    let fields = kind.immutable;
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
    // Flux deletes and recreates an object annotated `force: enabled` (a Job gitopsc writes)
    // when an immutable field changed: the apply does not fail.
    let forced = new
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get("kustomize.toolkit.fluxcd.io/force"))
        .and_then(Value::as_str)
        .is_some_and(|v| v.eq_ignore_ascii_case("enabled"));
    if !changed.is_empty() && !forced {
        out.push(WorkloadChange::Immutable {
            id: id.clone(),
            fields: changed,
        });
    }
    if !kind.replicas {
        return out;
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

/// The objects of the files `files` (path, and bytes with how they are read), each file
/// parsed apart, in parallel: an object two files hold is the later file's, as if they were
/// read one after the other.
fn collected<'t>(
    files: impl Iterator<Item = (&'t str, (&'t [u8], Reading))>,
) -> BTreeMap<ObjectId, Object<'t>> {
    let files: Vec<(&str, (&[u8], Reading))> = files.collect();
    let each: Vec<BTreeMap<ObjectId, Object>> = (files.par_iter())
        .map(|&(path, side)| objects_of(path, side))
        .collect();
    each.into_iter().flatten().collect()
}

/// The objects of one file's `bytes`, read as `reading` says.
fn objects_of<'t>(path: &str, (bytes, reading): (&'t [u8], Reading)) -> BTreeMap<ObjectId, Object<'t>> {
    let mut objects = BTreeMap::new();
    let text = std::str::from_utf8(bytes).ok();
    let shaped = match reading {
        Reading::Whole => None,
        Reading::Watched => text
            .and_then(watched_documents)
            .map(|docs| docs.into_iter().map(Listed::Parse).collect()),
        Reading::Listed => text.and_then(listed_documents),
    };
    let Some(docs) = shaped else {
        collect(path, bytes, &mut objects);
        return objects;
    };
    for doc in docs {
        match doc {
            Listed::Lines(id, lines) => {
                let path = path.to_string();
                objects.insert(
                    id,
                    Object {
                        path,
                        doc: Doc::Lines(lines),
                    },
                );
            }
            // As the whole parse, none after a document that does not parse.
            Listed::Parse(text) if !collect_one(path, text, &mut objects) => break,
            Listed::Parse(_) => {}
        }
    }
    objects
}

fn collect(path: &str, bytes: &[u8], into: &mut BTreeMap<ObjectId, Object>) {
    let text = String::from_utf8_lossy(bytes);
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let Ok(doc) = <Value as serde::Deserialize>::deserialize(doc) else {
            // A file that does not parse holds no object gitopsc can reason about from there.
            return;
        };
        insert(path, doc, into);
    }
}

/// The object of one document's text, as [`collect`] reads it in its file; false when it
/// does not parse.
fn collect_one(path: &str, text: &str, into: &mut BTreeMap<ObjectId, Object>) -> bool {
    serde_yaml::from_str(text)
        .map(|doc| insert(path, doc, into))
        .is_ok()
}

fn insert(path: &str, doc: Value, into: &mut BTreeMap<ObjectId, Object>) {
    if let Some(id) = identify(&doc) {
        let path = path.to_string();
        into.insert(
            id,
            Object {
                path,
                doc: Doc::Value(doc),
            },
        );
    }
}

/// The value of `line` when it is `<key>: <token>`, the token letters, digits and `./-_`
/// only: no quote, escape, tag, comment or other indicator.
fn token<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    let value = line.strip_prefix(key)?.strip_prefix(": ")?;
    is_plain(value).then_some(value)
}

/// Whether `text` is a plain token: letters, digits and `./-_` only, at least one.
fn is_plain(text: &str) -> bool {
    !text.is_empty() && (text.bytes()).all(|b| b.is_ascii_alphanumeric() || b"./-_".contains(&b))
}

/// Whether an object of kind `kind` (of any group) can leave the tree as stateful, move, or
/// change in a way a plain apply does not carry out: the kinds the review watches when it
/// does not list every object.
fn watched(kind: &str) -> bool {
    kinds::ALL
        .iter()
        .any(|k| k.kind == kind && (k.stateful || k.database || k.replicas || !k.immutable.is_empty()))
}

/// A document of a file in the emitter's shape ([`watched_documents`]).
struct Shaped<'t> {
    /// Its text.
    text: &'t str,
    /// Its text from its `apiVersion` line on (the comment lines before it left out).
    body: &'t str,
    /// Its `apiVersion` and `kind`.
    api_version: &'t str,
    kind: &'t str,
}

/// The documents of a file as gitopsc's emitter writes it; `None` when the text is not in
/// that shape (then the whole file is parsed).
///
/// In that shape documents are parted by lines that are exactly `---`, and each begins, after
/// comment lines, with `apiVersion: <token>` then `kind: <token>` at the start of a line: a
/// plain token there is the document's kind (a line after it that continues it makes a kind
/// with a space, which no kind has). Any other marker or directive, or a line break other
/// than `\n` (a YAML reader may part lines there), leaves the file to the whole parse. The
/// bytes must parse (gitopsc wrote them): a broken document, or a second `kind`, would end
/// the whole parse there.
fn shaped_documents(text: &str) -> Option<Vec<Shaped<'_>>> {
    if text.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return None;
    }
    let mut docs = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if bare == "---" {
            docs.push(&text[start..at]);
            start = at + line.len();
        } else if bare.starts_with("---") || bare.starts_with("...") || bare.starts_with('%') {
            return None;
        }
        at += line.len();
    }
    docs.push(&text[start..]);
    let mut shaped = Vec::new();
    for doc in docs {
        let mut lines = doc.lines().filter(|l| !l.is_empty() && !l.starts_with('#'));
        let Some(first) = lines.next() else {
            continue;
        };
        let api_version = token(first, "apiVersion")?;
        let kind = token(lines.next()?, "kind")?;
        // From the first line that is neither empty nor a comment.
        let skipped: usize = (doc.split_inclusive('\n'))
            .take_while(|l| {
                let l = l.trim_end_matches('\n');
                l.is_empty() || l.starts_with('#')
            })
            .map(str::len)
            .sum();
        let body = &doc[skipped..];
        shaped.push(Shaped {
            text: doc,
            body,
            api_version,
            kind,
        });
    }
    Some(shaped)
}

/// The documents of a file in the emitter's shape that may hold an object of a watched kind:
/// a document whose kind no group watches is passed over unparsed.
fn watched_documents(text: &str) -> Option<Vec<&str>> {
    let docs = shaped_documents(text)?;
    Some(
        (docs.into_iter())
            .filter(|d| watched(d.kind))
            .map(|d| d.text)
            .collect(),
    )
}

/// A document of a file in the emitter's shape, as [`listed_documents`] reads it.
enum Listed<'t> {
    /// To be parsed.
    Parse(&'t str),
    /// Of a kind no group watches: its identity, read from its lines, and its lines.
    Lines(ObjectId, &'t str),
}

/// The documents of a file in the emitter's shape, with the identity of each one of a kind
/// no group watches whose lines show it plainly ([`identity_of`]); documents of kinds watched,
/// or whose lines do not show it plainly, are left to be parsed. A document that is no
/// object (a kustomize `Kustomization`) is left out, as [`identify`] leaves it.
fn listed_documents(text: &str) -> Option<Vec<Listed<'_>>> {
    let mut listed = Vec::new();
    for doc in shaped_documents(text)? {
        if watched(doc.kind) {
            listed.push(Listed::Parse(doc.text));
            continue;
        }
        match identity_of(&doc) {
            Some(Some(id)) => listed.push(Listed::Lines(id, doc.body)),
            Some(None) => {}
            None => listed.push(Listed::Parse(doc.text)),
        }
    }
    Some(listed)
}

/// The identity of a document in the emitter's shape, read from its lines: `metadata:` on the
/// line after `kind`, then its keys two spaces in, each a plain token and, when the key is
/// `name` or `namespace`, its value a plain token that any YAML reader takes as a string, with
/// no line below continuing it. `Some(None)` for a document [`identify`] takes as no object;
/// `None` when the lines do not show the identity so plainly (the document is then parsed).
fn identity_of(doc: &Shaped) -> Option<Option<ObjectId>> {
    if doc.api_version.starts_with("kustomize.config.k8s.io/") {
        return Some(None);
    }
    let mut lines = doc.body.lines().skip(2);
    (lines.next()? == "metadata:").then_some(())?;
    let (mut name, mut namespace) = (None, None);
    // Whether the line before was `name` or `namespace` (a deeper line would continue it).
    let mut after_token = false;
    for line in lines {
        let indent = line.len() - line.trim_start_matches(' ').len();
        match indent {
            0 if !line.is_empty() && !line.starts_with('#') => break,
            2 => {
                let (key, value) = line[2..].split_once(':')?;
                (is_plain(key) && (value.is_empty() || is_plain(value.strip_prefix(' ')?))).then_some(())?;
                after_token = matches!(key, "name" | "namespace");
                let slot = match key {
                    "name" => &mut name,
                    "namespace" => &mut namespace,
                    _ => continue,
                };
                let value = value.strip_prefix(' ').filter(|v| is_string(v))?;
                slot.replace(value).is_none().then_some(())?;
            }
            _ if after_token || line.trim_start().is_empty() || line.trim_start().starts_with('#') => {
                return None;
            }
            _ => {}
        }
    }
    (is_string(doc.api_version) && is_string(doc.kind)).then_some(())?;
    Some(Some(ObjectId {
        api_version: doc.api_version.to_string(),
        kind: doc.kind.to_string(),
        namespace: namespace.unwrap_or_default().to_string(),
        name: name?.to_string(),
    }))
}

/// Whether a plain token is a string to any YAML reader, 1.1 or 1.2: it starts with a letter
/// and is no boolean or null.
fn is_string(token: &str) -> bool {
    const WORDS: [&str; 9] = ["true", "false", "yes", "no", "on", "off", "y", "n", "null"];
    token.starts_with(|c: char| c.is_ascii_alphabetic())
        && !WORDS.iter().any(|w| token.eq_ignore_ascii_case(w))
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

/// The kind table's row of an object's kind, by group (any version).
fn kind_of(id: &ObjectId) -> Option<&'static kinds::Kind> {
    let group = id.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    kinds::in_group(group, &id.kind)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CLUSTERS_DIR;
    use std::path::Path;

    /// SplitMix64: the same texts on every machine.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            usize::try_from((z ^ (z >> 31)) % n as u64).unwrap()
        }
    }

    /// Lines a random edit puts in: markers, directives, keys at the top and below, kinds
    /// watched or not, written plainly or not.
    const LINES: &[&str] = &[
        "---",
        "--- ",
        "--- |",
        "---x",
        "...",
        "%YAML 1.2",
        "# a comment",
        "",
        "  ",
        "kind: StatefulSet",
        "kind: ConfigMap",
        "kind: PersistentVolumeClaim",
        "  kind: StatefulSet",
        "kind: \"StatefulSet\"",
        "kind: StatefulSet # c",
        "kind: !!str StatefulSet",
        "kind: Stateful\\u0053et",
        "  Set",
        "apiVersion: v1",
        "apiVersion: apps/v1",
        "metadata:",
        "  name: other",
        "  namespace: b",
        "spec:",
        "  replicas: 2",
        "data:",
        "  v: x",
        "x: |",
        "kind:",
        "kind: Deployment",
        "# c\u{2028}---",
        "# c\r---",
        "# c\u{85}---",
        "# c\u{2029}---",
        "    more",
        "  name: true",
        "  name: 12",
        "  name: 'q'",
        "  namespace: ns1",
        "  labels:",
        "    a: b",
        "  a: [x,",
        "  y]",
    ];

    /// `text` with a few random line edits.
    fn edited(text: &str, rng: &mut Rng) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for _ in 0..=rng.below(3) {
            let at = rng.below(lines.len() + 1);
            let line = lines.get(at).cloned().unwrap_or_default();
            match rng.below(7) {
                0 => lines.insert(at, LINES[rng.below(LINES.len())].to_string()),
                1 if at < lines.len() => drop(lines.remove(at)),
                2 => lines.insert(at, line),
                3 if at < lines.len() => lines[at] = format!("  {line}"),
                4 if at < lines.len() => lines[at] = line.trim_start().to_string(),
                5 if at + 1 < lines.len() => {
                    let next = lines.remove(at + 1);
                    let brk = ["\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"][rng.below(5)];
                    lines[at] = format!("{line}{brk}{next}");
                }
                _ if at + 1 < lines.len() => lines.swap(at, at + 1),
                _ => {}
            }
        }
        lines.join("\n") + "\n"
    }

    /// Texts of the rendered YAML files of an example that parse (bytes gitopsc wrote parse:
    /// texts that do not are not the fast paths'), one in four as rendered and the others with
    /// random line edits: each with its path and whether it is as rendered.
    fn parsing_cases(seed: u64) -> Vec<(String, String, bool)> {
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/harbor-core/cluster.yaml");
        let Ok(compiled) = crate::compile(&spec, None) else {
            panic!("the example compiles");
        };
        let files: Vec<(&String, String)> = (compiled.tree.iter())
            .filter(|(path, _)| path.ends_with(".yaml"))
            .map(|(path, bytes)| (path, String::from_utf8(bytes.clone()).unwrap()))
            .collect();
        let mut rng = Rng(seed);
        let mut cases = Vec::new();
        for case in 0..4000 {
            let (path, text) = &files[rng.below(files.len())];
            let rendered = case % 4 == 0;
            let text = if rendered {
                text.clone()
            } else {
                edited(text, &mut rng)
            };
            let parses = serde_yaml::Deserializer::from_str(&text)
                .all(|doc| <Value as serde::Deserialize>::deserialize(doc).is_ok());
            if parses {
                cases.push((path.to_string(), text, rendered));
            }
        }
        cases
    }

    /// Each object's identity, file and document.
    fn objects(m: BTreeMap<ObjectId, Object>) -> Vec<(ObjectId, String, Value)> {
        (m.into_iter())
            .map(|(id, o)| (id, o.path, o.doc.value().into_owned()))
            .collect()
    }

    #[test]
    fn the_watched_documents_give_the_watched_objects_of_the_whole_parse() {
        let watched_ones = |m| -> Vec<(ObjectId, String, Value)> {
            (objects(m).into_iter())
                .filter(|(id, _, _)| watched(&id.kind))
                .collect()
        };
        let (mut shaped, mut passed_over, mut whole) = (0, 0, 0);
        for (path, text, _) in parsing_cases(24) {
            let Some(docs) = watched_documents(&text) else {
                whole += 1;
                continue;
            };
            shaped += 1;
            passed_over += usize::from(docs.len() < text.matches("\nkind: ").count());
            let mut fast = BTreeMap::new();
            assert!(docs.into_iter().all(|doc| collect_one(&path, doc, &mut fast)));
            let mut full = BTreeMap::new();
            collect(&path, text.as_bytes(), &mut full);
            assert_eq!(watched_ones(fast), watched_ones(full), "{path}:\n{text}");
        }
        assert!(
            shaped > 1000 && passed_over > 500 && whole > 100,
            "{shaped} {passed_over} {whole}"
        );
    }

    #[test]
    fn objects_known_by_their_lines_are_the_objects_of_the_whole_parse() {
        let (mut lines, mut parsed, mut whole) = (0, 0, 0);
        for (path, text, rendered) in parsing_cases(25) {
            let Some(docs) = listed_documents(&text) else {
                whole += 1;
                continue;
            };
            for doc in &docs {
                match doc {
                    Listed::Lines(id, _) => {
                        assert!(!watched(&id.kind));
                        lines += 1;
                    }
                    Listed::Parse(_) => parsed += 1,
                }
            }
            // What the emitter wrote is known by its lines, but for the watched kinds.
            if rendered {
                let mut parsed_kinds = (docs.iter()).filter_map(|d| match d {
                    Listed::Parse(text) => shaped_documents(text)?.pop().map(|d| d.kind),
                    Listed::Lines(..) => None,
                });
                assert!(parsed_kinds.all(watched), "{path}:\n{text}");
            }
            let known = objects_of(&path, (text.as_bytes(), Reading::Listed));
            let mut full = BTreeMap::new();
            collect(&path, text.as_bytes(), &mut full);
            assert_eq!(objects(known), objects(full), "{path}:\n{text}");
        }
        assert!(
            lines > 800 && parsed > 200 && whole > 300,
            "{lines} {parsed} {whole}"
        );
    }

    #[test]
    fn an_identity_read_from_the_lines_is_the_one_the_parse_finds() {
        const METADATA: &[&str] = &[
            "  name: a",
            "  name: b1",
            "  name: x-y.z_w",
            "  name: true",
            "  name: No",
            "  name: 12",
            "  name: 1e3",
            "  name: 'q'",
            "  name: \"d\"",
            "  name: x # c",
            "  name: a b",
            "  name: !!str c",
            "  name:  two",
            "  name:",
            "  namespace: ns",
            "  namespace: on",
            "  namespace: null",
            "    more",
            "     deeper",
            "   odd",
            "",
            "# c",
            "  # c",
            "  labels:",
            "    a: b",
            "    name: inner",
            "  annotations: {x: y}",
            "  a: [x,",
            "  y]",
            "  ? name",
            "  : v",
            "  &x name: e",
            "  nam: v",
            "  x: |",
            "\tname: t",
        ];
        let mut rng = Rng(26);
        let (mut known, mut parsed) = (0, 0);
        for _ in 0..20_000 {
            let mut text = String::from("# made\napiVersion: v1\nkind: ConfigMap\nmetadata:\n");
            for _ in 0..=rng.below(5) {
                text.push_str(METADATA[rng.below(METADATA.len())]);
                text.push('\n');
            }
            text.push_str(["data:\n  v: x\n", "", "---\napiVersion: v1\nkind: Secret\n"][rng.below(3)]);
            let parses = serde_yaml::Deserializer::from_str(&text)
                .all(|doc| <Value as serde::Deserialize>::deserialize(doc).is_ok());
            if !parses {
                continue;
            }
            let Some(docs) = listed_documents(&text) else {
                continue;
            };
            match docs.first() {
                Some(Listed::Lines(..)) => known += 1,
                _ => parsed += 1,
            }
            let mut full = BTreeMap::new();
            collect("f.yaml", text.as_bytes(), &mut full);
            let ids = |m: BTreeMap<ObjectId, Object>| m.into_keys().collect::<Vec<_>>();
            let lines = objects_of("f.yaml", (text.as_bytes(), Reading::Listed));
            assert_eq!(ids(lines), ids(full), "{text}");
        }
        assert!(known > 300 && parsed > 3000, "{known} {parsed}");
    }

    /// One object of a random tree: kind, name, namespace, and what varies.
    #[derive(Clone, Copy, PartialEq)]
    struct Made {
        kind: usize,
        name: usize,
        namespace: usize,
        variant: usize,
    }

    impl Made {
        const KINDS: [(&str, &str); 6] = [
            ("v1", "ConfigMap"),
            ("apps/v1", "StatefulSet"),
            ("apps/v1", "Deployment"),
            ("v1", "PersistentVolumeClaim"),
            ("postgresql.cnpg.io/v1", "Cluster"),
            ("v1", "Secret"),
        ];

        fn random(rng: &mut Rng) -> Made {
            Made {
                kind: rng.below(Self::KINDS.len()),
                name: rng.below(3),
                namespace: rng.below(2),
                variant: rng.below(16),
            }
        }

        fn same_object(&self, other: &Made) -> bool {
            (self.kind, self.name, self.namespace) == (other.kind, other.name, other.namespace)
        }

        fn text(&self) -> String {
            let (api, kind) = Self::KINDS[self.kind];
            let v = self.variant;
            let protected = if v & 1 == 1 {
                "  labels:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n"
            } else {
                ""
            };
            let replicas = if v & 2 == 2 { "  replicas: 2\n" } else { "" };
            format!(
                "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: n{}\n  namespace: ns{}\n{protected}spec:\n{replicas}  serviceName: s{}\n  bootstrap:\n    initdb:\n      database: d{}\n",
                self.name,
                self.namespace,
                v >> 2 & 1,
                v >> 3
            )
        }
    }

    /// The files of a random tree: four app folders and the Flux Kustomizations that apply them.
    fn files_of(objects: &[(usize, Made)], flux: usize) -> BTreeMap<String, Vec<u8>> {
        const FILES: [&str; 4] = [
            "apps/a/data/a.yaml",
            "apps/a/release/a.yaml",
            "apps/b/data/b.yaml",
            "apps/b/release/b.yaml",
        ];
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (file, made) in objects {
            let text = files
                .entry(FILES[*file].to_string())
                .or_insert_with(|| b"# made\n".to_vec());
            if text.len() > 7 {
                text.extend_from_slice(b"---\n");
            }
            text.extend_from_slice(made.text().as_bytes());
        }
        let flux_kustomization = |name: &str, path: &str| {
            format!(
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  path: ./{path}\n"
            )
        };
        let folders = ["apps/a/data", "apps/a/release", "apps/b/data", "apps/b/release"];
        let texts: Vec<String> = (folders.iter().enumerate())
            .map(|(i, folder)| flux_kustomization(&format!("k{}", if i == flux { 9 } else { i }), folder))
            .collect();
        files.insert(
            format!("{CLUSTERS_DIR}/c/apps.yaml"),
            texts.join("---\n").into_bytes(),
        );
        files
    }

    /// A comparison of the trees `old` and `new`, as [`super::super::compare`] makes one.
    fn comparison(old: &BTreeMap<String, Vec<u8>>, new: &BTreeMap<String, Vec<u8>>) -> Comparison {
        let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        let changes = (paths.into_iter())
            .filter(|path| old.get(*path) != new.get(*path))
            .map(|path| super::super::Change {
                path: path.clone(),
                kind: match (old.contains_key(path), new.contains_key(path)) {
                    (false, _) => ChangeKind::Added,
                    (_, false) => ChangeKind::Removed,
                    _ => ChangeKind::Changed,
                },
                old: old.get(path).cloned(),
                written: true,
            })
            .collect();
        Comparison {
            root: std::path::PathBuf::new(),
            changes,
            conflicts: Vec::new(),
            old_lock: None,
            new_lock: super::super::lock::Lock::default(),
            lock_digest: std::sync::OnceLock::new(),
            lock_changed: false,
            new_dirs: std::collections::BTreeSet::new(),
            lock_stale: false,
            journal: None,
            owner: super::super::owner::Owner::default(),
        }
    }

    #[test]
    fn each_file_compared_as_it_is_read_reviews_as_the_sides_read_whole() {
        let mut rng = Rng(7);
        let (mut by_file, mut twice, mut loud) = (0, 0, [0; 3]);
        for _ in 0..600 {
            let mut old: Vec<(usize, Made)> = Vec::new();
            for _ in 0..rng.below(8) {
                let made = Made::random(&mut rng);
                if old.iter().all(|(_, m)| !m.same_object(&made)) {
                    old.push((rng.below(4), made));
                }
            }
            let mut new: Vec<(usize, Made)> = Vec::new();
            for &(file, made) in &old {
                match rng.below(10) {
                    0 => {}
                    1 => new.push((rng.below(4), made)),
                    2 | 3 => new.push((
                        file,
                        Made {
                            variant: rng.below(16),
                            ..made
                        },
                    )),
                    _ => new.push((file, made)),
                }
            }
            for _ in 0..rng.below(3) {
                let made = Made::random(&mut rng);
                if new.iter().all(|(_, m)| !m.same_object(&made)) {
                    new.push((rng.below(4), made));
                }
            }
            // Now and then one object in two files.
            if rng.below(8) == 0 && !new.is_empty() {
                let again = new[rng.below(new.len())];
                new.push(((again.0 + 1) % 4, again.1));
            }
            let (old, new) = (files_of(&old, 4), files_of(&new, rng.below(6)));
            let cmp = comparison(&old, &new);
            let mut listed = None;
            for reading in [Reading::Whole, Reading::Listed, Reading::Watched] {
                let pairs: Vec<Pair> = (cmp.changes.iter())
                    .map(|c| Pair {
                        path: &c.path,
                        old: c.old.as_deref().map(|o| (o, reading)),
                        new: new.get(&c.path).map(|n| (n.as_slice(), reading)),
                    })
                    .collect();
                let whole = format!("{:?}", Sides::whole(&pairs).reviewed(&cmp, &new));
                // Objects known by their lines review as parsed ones.
                match reading {
                    Reading::Whole => listed = Some(whole.clone()),
                    Reading::Listed => assert_eq!(Some(&whole), listed.as_ref()),
                    Reading::Watched => {}
                }
                match Sides::by_file(&pairs) {
                    Some(sides) => {
                        by_file += 1;
                        let review = sides.reviewed(&cmp, &new);
                        assert_eq!(format!("{review:?}"), whole);
                        let found = [
                            !review.moving.is_empty(),
                            !review.leaving.is_empty(),
                            !review.workloads.is_empty(),
                        ];
                        (0..3).for_each(|i| loud[i] += usize::from(found[i]));
                    }
                    None => twice += 1,
                }
            }
        }
        assert!(
            by_file > 1200 && twice > 75 && loud.iter().all(|&n| n > 30),
            "{by_file} {twice} {loud:?}"
        );
    }

    #[test]
    fn files_parsed_apart_give_the_objects_read_one_after_the_other() {
        let config = |name: &str, v: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: a\ndata:\n  v: \"{v}\"\n"
            )
        };
        let (first, second) = (
            config("same", "1") + "---\n" + &config("only", "1"),
            config("same", "2"),
        );
        let files: Vec<(String, String)> = (0..64)
            .map(|i| (format!("f{i}.yaml"), config(&format!("c{i}"), "x")))
            .chain([
                ("a.yaml".to_string(), first),
                ("b.yaml".to_string(), second),
                ("broken.yaml".to_string(), "a: [".to_string()),
                ("kustomization.yaml".to_string(), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: k\n".to_string()),
            ])
            .collect();
        let got = collected(
            files
                .iter()
                .map(|(p, t)| (p.as_str(), (t.as_bytes(), Reading::Whole))),
        );
        let mut one_by_one = BTreeMap::new();
        for (path, text) in &files {
            collect(path, text.as_bytes(), &mut one_by_one);
        }
        assert_eq!(
            got.len(),
            66,
            "64 + `same` + `only`: no object of a broken file or a kustomization"
        );
        let paths = |m: &BTreeMap<ObjectId, Object>| -> Vec<(ObjectId, String)> {
            m.iter().map(|(id, o)| (id.clone(), o.path.clone())).collect()
        };
        assert_eq!(paths(&got), paths(&one_by_one));
        let same = got.iter().find(|(id, _)| id.name == "same").unwrap().1;
        assert_eq!(same.path, "b.yaml", "the later file's object");
        assert_eq!(same.doc.value()["data"]["v"].as_str(), Some("2"));
    }
}
