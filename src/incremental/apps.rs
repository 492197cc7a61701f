//! The apps side of the seam: a fleet whose only changed files define apps is compiled over
//! those apps and the few whose data their checks and resolution read, not over all of it.
//!
//! A run that records a fleet's expansion ([`super::spec`]) also records, beside it, what the
//! rest of the fleet needs of each app of each cluster: its **outline** (the hash of its data
//! without its [`LOCAL`] fields, which no other app's checks, resolution or files read), its
//! namespace and `dependsOn`, and its digests for the input stamp and the spec hash. A later run whose changed files are all parts that define the same
//! apps, each with its recorded outline as each cluster merges it, reads the root, the
//! fleet's other shared parts and the files of the changed apps and their **neighbours**:
//! the apps of their namespaces, the apps they depend on or reference, and the operators'
//! apps. Each cluster is checked and resolved over those; only the changed apps are rendered;
//! every other file is taken from the tree cache, untouched on disk since it was written.
//!
//! Whatever is in doubt sends the run the whole way: an error, a neighbour that resolves to
//! another key than the one its files were rendered from, a warning outside the changed files
//! that the last run did not report (or the reverse, in a neighbour's file), a warning
//! decided by the order of all apps in a changed file, patches, a changed vendored charts
//! folder, a lock file that is not the recorded run's.

use super::stamp::{self, Layout};
use super::{Below, Cache, Entry, Reuse, Stat, folders_are_real, holds};
use crate::diagnostic::{self, Code, Diagnostic};
use crate::digest::{Hashing, hex};
use crate::emit::Recorded;
use crate::emit::lock::Warning;
use crate::emit::owner::Owner;
use crate::source::{Source, Span, Sparse};
use crate::spec::load::SpanNode;
use rayon::prelude::*;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What a recording run found of a fleet's files and apps.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// The clock tick of the record of the expansion it goes with ([`super::spec::Memo`]).
    pub memo: super::Nanos,
    /// Where each file starts in the fleet's text, in the order read.
    pub starts: Vec<usize>,
    /// The files that hold more than app definitions (the root's among them), by number.
    pub shared: BTreeSet<usize>,
    /// Each app's definition: its name and the number of its file.
    pub defined: Vec<(String, usize)>,
    /// Each cluster's apps.
    pub clusters: Vec<ClusterRecord>,
}

/// What a recording run found of a cluster.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// Its name.
    pub name: String,
    /// The apps the operators are installed by.
    pub operators: Vec<String>,
    /// The apps it lists with more than their name.
    pub overrides: Vec<String>,
    /// Its apps, in its spec's order.
    pub apps: Vec<AppRecord>,
}

/// What a recording run found of an app of a cluster.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppRecord {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The apps (and external Kustomizations) it depends on.
    pub depends_on: Vec<String>,
    /// Hex sha256 of its data without its chart values and version ([`outline`]).
    pub outline: String,
    /// Hex of its digest in the cluster's input stamp ([`stamp::app_hashes`]).
    pub digest: String,
    /// Hex sha256 of its data ([`crate::spec::app_hash`]).
    pub data: String,
}

/// The fields of an app that only the app's own checks, resolution and files read (`*`: every
/// item of a list): its chart's values and version, its ConfigMaps' and ExternalSecrets'
/// data, its database's
/// instances and storage, and its workloads' images, replicas, resources, commands,
/// arguments, environment variables and probes (and those of their other containers).
/// No other app's check or resolution reads them (the catalogue in docs/performance.md), and
/// no file of the cluster's own depends on them. A reference to another app in one of them
/// (`((apps.<name>.…))`) makes that app a neighbour, read with the changed one.
pub const LOCAL: &[&[&str]] = &[
    &["helm", "values"],
    &["helm", "version"],
    &["configMaps", "*", "data"],
    &["secrets", "*", "data"],
    &["postgres", "instances"],
    &["postgres", "storage"],
    &["workloads", "*", "image"],
    &["workloads", "*", "replicas"],
    &["workloads", "*", "resources"],
    &["workloads", "*", "command"],
    &["workloads", "*", "args"],
    &["workloads", "*", "env"],
    &["workloads", "*", "probes"],
    &["workloads", "*", "containers", "*", "image"],
    &["workloads", "*", "containers", "*", "resources"],
    &["workloads", "*", "containers", "*", "command"],
    &["workloads", "*", "containers", "*", "args"],
    &["workloads", "*", "containers", "*", "env"],
    &["workloads", "*", "containers", "*", "probes"],
    &["workloads", "*", "initContainers", "*", "image"],
    &["workloads", "*", "initContainers", "*", "resources"],
    &["workloads", "*", "initContainers", "*", "command"],
    &["workloads", "*", "initContainers", "*", "args"],
    &["workloads", "*", "initContainers", "*", "env"],
    &["workloads", "*", "initContainers", "*", "probes"],
];

/// The sha256 of an app's data without its [`LOCAL`] fields: what other apps' checks,
/// resolution and files may read of it.
pub fn outline(app: &SpanNode) -> [u8; 32] {
    let mut out = Hashing::new();
    write_without(app, LOCAL, &mut out);
    out.finish()
}

/// Writes `value` as JSON into `out`, without the fields `paths` name below it.
fn write_without(value: &SpanNode, paths: &[&[&str]], out: &mut Hashing) {
    use std::io::Write;
    let below = |key: &str| -> Option<Vec<&[&str]>> {
        let mut tails = Vec::new();
        for path in paths.iter().filter(|p| p.first() == Some(&key)) {
            if path.len() == 1 {
                return None;
            }
            tails.push(&path[1..]);
        }
        Some(tails)
    };
    match value.as_seq() {
        _ if paths.is_empty() => {
            let _ = serde_json::to_writer(&mut *out, value);
        }
        None if value.is_map() => {
            let _ = out.write_all(b"{");
            for (key, v) in value.entries() {
                let Some(tails) = below(key) else { continue };
                let _ = serde_json::to_writer(&mut *out, key);
                let _ = out.write_all(b":");
                write_without(v, &tails, out);
                let _ = out.write_all(b",");
            }
            let _ = out.write_all(b"}");
        }
        Some(items) => {
            let tails = below("*").unwrap_or_default();
            let _ = out.write_all(b"[");
            for item in items {
                write_without(item, &tails, out);
                let _ = out.write_all(b",");
            }
            let _ = out.write_all(b"]");
        }
        _ => {
            let _ = serde_json::to_writer(&mut *out, value);
        }
    }
}

/// The record of a cluster's spec, whose apps' hashes are `hashes`.
pub fn cluster_record(
    name: &str,
    loaded: &crate::spec::load::Loaded,
    hashes: &stamp::AppHashes,
    overrides: Vec<String>,
) -> ClusterRecord {
    let value = loaded.spans.root();
    let apps = value.get("apps").and_then(SpanNode::as_seq).unwrap_or_default();
    let apps = apps
        .par_iter()
        .zip(hashes.digests.par_iter().zip(hashes.data.par_iter()))
        .map(|(app, (digest, data))| {
            let text = |key: &str| app.get(key).and_then(SpanNode::as_str).map(String::from);
            let name = text("name").unwrap_or_default();
            AppRecord {
                namespace: text("namespace").unwrap_or_else(|| name.clone()),
                depends_on: (app
                    .get("dependsOn")
                    .and_then(SpanNode::as_seq)
                    .unwrap_or_default())
                .iter()
                .filter_map(|d| d.as_str().map(String::from))
                .collect(),
                outline: hex(&outline(app)),
                digest: hex(digest),
                data: hex(data),
                name,
            }
        })
        .collect();
    let operators = (value.get("operators").into_iter())
        .flat_map(SpanNode::entries)
        .filter_map(|(_, op)| Some(op.get("app")?.as_str()?.to_string()))
        .collect();
    ClusterRecord {
        name: name.to_string(),
        operators,
        overrides,
        apps,
    }
}

impl Record {
    /// The record of a fleet read from `source`, whose apps are defined at `defined` and whose
    /// other list items are at `listed`, with its clusters' records.
    pub fn new(
        memo: super::Nanos,
        source: &Source,
        defined: &[(String, Span)],
        listed: &[Span],
        clusters: Vec<ClusterRecord>,
    ) -> Record {
        let starts = source.file_starts();
        let file = |offset: usize| starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let mut shared: BTreeSet<usize> = listed.iter().map(|s| file(s.start)).collect();
        shared.insert(0);
        Record {
            memo,
            defined: defined.iter().map(|(n, s)| (n.clone(), file(s.start))).collect(),
            starts,
            shared,
            clusters,
        }
    }

    /// Writes the record to `path`; a record that cannot be written is no error.
    pub fn write(&self, path: &Path) {
        let _ = super::write_atomically_with(path, |out| {
            serde_json::to_writer(out, self).map_err(std::io::Error::other)
        });
    }

    /// The record at `path`, when it goes with the record of the expansion made at `memo`.
    pub fn read(path: &Path, memo: super::Nanos, files: usize) -> Option<Record> {
        let record: Record = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        (record.memo == memo && record.starts.len() == files).then_some(record)
    }
}

/// The names `((apps.<name>.…))` references in an app's strings name.
fn references(value: &SpanNode, names: &mut BTreeSet<String>) {
    if let Some(s) = value.as_str() {
        for (at, _) in s.match_indices("((apps.") {
            let rest = &s[at + "((apps.".len()..];
            if let Some(end) = rest.find(['.', ')']) {
                names.insert(rest[..end].to_string());
            }
        }
    }
    let items = value.as_seq().unwrap_or_default();
    items.iter().for_each(|v| references(v, names));
    value.entries().for_each(|(_, v)| references(v, names));
}

/// A changed file of the fleet, read.
pub struct ChangedFile {
    /// Its number among the fleet's files.
    pub number: usize,
    /// Its path.
    pub path: PathBuf,
    /// Its spec.
    pub loaded: crate::spec::load::Loaded,
}

/// The apps that changed, with what the run needs of them.
pub struct Edit {
    /// The changed files, read.
    pub files: Vec<ChangedFile>,
    /// The apps they define.
    pub apps: BTreeSet<String>,
    /// The apps those reference.
    pub references: BTreeSet<String>,
}

/// Reads the changed files `changed`: each a part that defines apps only, the apps the record
/// says, each with its recorded outline where no cluster overrides it.
pub fn edit(record: &Record, files: &[PathBuf], changed: &[usize]) -> Option<Edit> {
    let mut edit = Edit {
        files: Vec::new(),
        apps: BTreeSet::new(),
        references: BTreeSet::new(),
    };
    let mut outlines: HashMap<String, String> = HashMap::new();
    for &number in changed {
        if record.shared.contains(&number) {
            return None;
        }
        let path = files.get(number)?.clone();
        let loaded = crate::spec::load::load(&path).ok()?;
        let text = &loaded.source.text;
        (!text.is_empty() && text.ends_with('\n')).then_some(())?;
        let map = loaded.spans.root();
        let fields_ok = map
            .entries()
            .all(|(k, _)| matches!(k, "apiVersion" | "kind" | "apps"));
        let kind_ok = map.get("kind").and_then(SpanNode::as_str) == Some("FleetPart")
            && map.get("apiVersion").and_then(SpanNode::as_str) == Some(crate::spec::API_VERSION);
        (fields_ok && kind_ok).then_some(())?;
        let apps = map.get("apps").and_then(SpanNode::as_seq).unwrap_or_default();
        let names: Vec<&str> = apps
            .iter()
            .map(|a| a.get("name").and_then(SpanNode::as_str))
            .collect::<Option<_>>()?;
        let recorded: Vec<&str> = record
            .defined
            .iter()
            .filter(|(_, file)| *file == number)
            .map(|(n, _)| n.as_str())
            .collect();
        (names == recorded).then_some(())?;
        for (app, name) in apps.iter().zip(names) {
            outlines.insert(name.to_string(), hex(&outline(app)));
            references(app, &mut edit.references);
            edit.apps.insert(name.to_string());
        }
        edit.files.push(ChangedFile { number, path, loaded });
    }
    // An app a cluster overrides is compared as that cluster merges it, once read
    // ([`cluster_stamps`]).
    let same = record.clusters.iter().all(|c| {
        c.apps
            .iter()
            .filter(|a| edit.apps.contains(&a.name) && !c.overrides.contains(&a.name))
            .all(|a| outlines.get(&a.name) == Some(&a.outline))
    });
    same.then_some(edit)
}

/// The apps a run over `edit` reads: in each cluster, the operators' apps and, when it runs
/// a changed app, the changed apps and the apps they depend on and reference; with every app
/// of the namespaces of those (whose first app owns the namespace, and whose apps' Pod
/// Security levels, network policies and databases are the namespace's).
pub fn neighbours(record: &Record, edit: &Edit) -> BTreeSet<String> {
    let mut needed = edit.apps.clone();
    for c in &record.clusters {
        let runs: Vec<&AppRecord> = c.apps.iter().filter(|a| edit.apps.contains(&a.name)).collect();
        let mut seeds: HashSet<&str> = c.operators.iter().map(String::as_str).collect();
        if !runs.is_empty() {
            seeds.extend(runs.iter().map(|a| a.name.as_str()));
            seeds.extend(runs.iter().flat_map(|a| a.depends_on.iter().map(String::as_str)));
            seeds.extend(edit.references.iter().map(String::as_str));
        }
        let namespaces: HashSet<&str> = c
            .apps
            .iter()
            .filter(|a| seeds.contains(a.name.as_str()))
            .map(|a| a.namespace.as_str())
            .collect();
        needed.extend(
            c.apps
                .iter()
                .filter(|a| seeds.contains(a.name.as_str()) || namespaces.contains(a.namespace.as_str()))
                .map(|a| a.name.clone()),
        );
    }
    needed
}

/// Where the fleet's files were in the text of the run that recorded it and where they are
/// now: what moves the recorded warnings.
pub struct Places<'a> {
    /// Where the files started in the recorded run's text.
    pub old_starts: &'a [usize],
    /// Where they start now.
    pub whole: &'a [usize],
    /// The changed files, by number.
    pub changed: &'a BTreeSet<usize>,
    /// The partial text's layout.
    pub layout: &'a Layout,
    /// The files of apps read, by number: the changed ones and their neighbours'.
    pub read: &'a BTreeSet<usize>,
}

impl Places<'_> {
    /// The number of the file that holds `offset` of the fleet's text now.
    pub fn file_now(&self, offset: usize) -> usize {
        self.whole.partition_point(|&s| s <= offset).saturating_sub(1)
    }
}

/// Warnings whose place is decided by the order of all the apps: taken from the last run.
const DECIDED: &[Code] = &[Code::PodSecurityNotEnforced, Code::MonitorsWithoutLabels];

/// The cluster's input stamp and spec hash: of the recorded digests of its apps, the
/// changed ones' made now. Updates the record; `None` when a changed app, as the cluster
/// merges it, does not have its recorded outline, or an unchanged app read here does not
/// have its recorded digests.
pub fn cluster_stamps(
    loaded: &crate::spec::load::Loaded,
    rec: &mut ClusterRecord,
    layout: &Layout,
    changed: &BTreeSet<String>,
) -> Option<(String, String)> {
    let unhex = super::unhex;
    let mut digests: Vec<[u8; 32]> = rec.apps.iter().map(|a| unhex(&a.digest)).collect::<Option<_>>()?;
    let mut data: Vec<[u8; 32]> = rec.apps.iter().map(|a| unhex(&a.data)).collect::<Option<_>>()?;
    let position: HashMap<String, usize> = rec
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.clone(), i))
        .collect();
    let root = loaded.spans.root();
    let apps = root.get("apps").and_then(SpanNode::as_seq).unwrap_or_default();
    let stamp::AppHashes {
        data: mine_data,
        digests: mine,
    } = stamp::app_hashes(loaded, layout);
    let mut last = None;
    for (k, app) in apps.iter().enumerate() {
        let name = app.get("name").and_then(SpanNode::as_str)?;
        let i = *position.get(name)?;
        // The apps read keep the cluster's order.
        (last < Some(i)).then_some(())?;
        last = Some(i);
        if changed.contains(name) {
            (hex(&outline(app)) == rec.apps[i].outline).then_some(())?;
            digests[i] = *mine.get(k)?;
            data[i] = *mine_data.get(k)?;
            rec.apps[i].digest = hex(&digests[i]);
            rec.apps[i].data = hex(&data[i]);
        } else {
            (digests[i] == *mine.get(k)? && data[i] == *mine_data.get(k)?).then_some(())?;
        }
    }
    let input = stamp::input_from(loaded, layout, &digests);
    Some((input, crate::spec::data_hash_from(root, &data)))
}

/// The cache of `owner`'s tree in `out`, for [`tree_of_changed`].
pub fn tree_cache(out: &Path, owner: &Owner) -> Option<Cache> {
    super::held::cache(out, owner).or_else(|| Cache::read(out, owner))
}

/// The changed apps' files, rendered, and every other file of the tree taken from the
/// cache, with the lock file `recorded` they were taken against: `None` when an app read
/// here resolves to another key than the one its files were rendered from, or a file is not
/// as the cache and the lock record it. When the cache names this very lock file, the lock
/// file's list is not parsed: the cache lists the same files with the same hashes.
pub fn tree_of_changed(
    out: &Path,
    model: &crate::model::Model,
    (recorded, mut cache): (Recorded, Cache),
    changed: &BTreeSet<String>,
    build: bool,
) -> Option<(crate::render::Tree, Reuse)> {
    let keys: Vec<Option<crate::render::Key>> = model.apps.par_iter().map(crate::render::app_key).collect();
    let mut all_keys: Vec<([u8; 32], super::AppLine)> = Vec::with_capacity(cache.keys.len());
    let mut owned: Vec<String> = Vec::new();
    let mut exact: HashSet<&str> = HashSet::new();
    for (app, key) in model.apps.iter().zip(&keys) {
        let key = key.as_ref()?;
        if changed.contains(&app.name) {
            all_keys.push((key.whole, super::AppLine::of(key, &app.name)));
            owned.push(format!("{}/", app.dir));
            owned.extend(app.layers.iter().map(|l| format!("{}/", l.dir)));
            exact.insert(&app.kustomizations_file);
        } else {
            (cache.keys.get(&key.whole).map(|line| &line.name) == Some(&app.name)).then_some(())?;
        }
    }
    all_keys.extend((cache.keys.drain()).filter(|(_, line)| !changed.contains(&line.name)));
    all_keys.sort_unstable_by_key(|(whole, _)| *whole);
    let is_owned = |path: &str| exact.contains(path) || owned.iter().any(|p| path.starts_with(p.as_str()));
    let blueprints = crate::render::Blueprints::load(None).ok()?;
    let tree =
        crate::render::render_apps(model, &blueprints, &|i| changed.contains(&model.apps[i].name)).ok()?;
    tree.keys().all(|p| is_owned(p)).then_some(())?;
    let read = if cache.names(&recorded.digest) {
        let mine = cache.files.iter().filter(|(p, _)| is_owned(p));
        recorded.without_kept(mine.map(|(p, e)| (p.clone(), e.hash.clone())).collect())
    } else {
        recorded.whole()?
    };
    // Every other file the lock lists is on disk with its hash: untouched since the cache
    // recorded it (its record carried into the next cache), or read and hashed (one written
    // in the cache's clock tick). When the cache lists the lock file's files, its own list
    // (in path order, each with its record) is gone through.
    let below = Below::open(out);
    // The changed apps' rendered files untouched since recorded: one rendered alike is not read.
    let known: Vec<(String, Entry)> = if cache.held {
        Vec::new()
    } else {
        (tree.par_iter())
            .filter_map(|(path, _)| Some((path.clone(), cache.untouched_record(&below, path)?.clone())))
            .collect()
    };
    // A check or diff records nothing: the cache's own paths and hashes move on.
    let moved = if read.without_kept && !build {
        std::mem::take(&mut cache.files)
    } else {
        Vec::new()
    };
    // Whether the file has its hash: `Some(Some(stat))` untouched since recorded, `Some(None)`
    // read and hashed alike, `None` not.
    let check = |path: &str, hash: &str, entry: Option<&Entry>| {
        if cache.held {
            return entry.is_some_and(|e| e.hash == hash).then_some(None);
        }
        let stat = entry
            .filter(|e| e.hash == hash)
            .and_then(|e| cache.untouched_entry(&below, path, e));
        (stat.is_some() || holds(out, path, hash)).then_some(stat)
    };
    let kept: Vec<(String, String, Option<Stat>)> = if !moved.is_empty() {
        (moved.into_par_iter())
            .filter(|(path, _)| !is_owned(path))
            .map(|(path, e)| check(&path, &e.hash, Some(&e)).map(|stat| (path, e.hash, stat)))
            .collect::<Option<_>>()?
    } else if read.without_kept {
        (cache.files.par_iter())
            .filter(|(path, _)| !is_owned(path))
            .map(|(path, e)| check(path, &e.hash, Some(e)).map(|stat| (path.clone(), e.hash.clone(), stat)))
            .collect::<Option<_>>()?
    } else {
        (read.lock.files.par_iter())
            .filter(|(path, _)| !is_owned(path))
            .map(|(path, hash)| {
                check(path, hash, cache.entry(path)).map(|stat| (path.clone(), hash.clone(), stat))
            })
            .collect::<Option<_>>()?
    };
    folders_are_real(&below, kept.iter().map(|(p, _, _)| p.as_str())).then_some(())?;
    // For a build, their records move from this cache into the next (each one's hash and
    // stat are those found above); a check or diff records nothing.
    let entries = if build {
        carried(&mut cache, &kept, &is_owned)
    } else {
        Default::default()
    };
    // Freed beside what follows.
    rayon::spawn(move || drop(cache));
    let reuse = Reuse {
        keys,
        skip: Vec::new(),
        kept: kept.into_iter().map(|(p, h, _)| (p, h)).collect(),
        taken: 0,
        entries,
        known,
        all_keys: Some(all_keys),
        read: Some(read),
    };
    Some((tree, reuse))
}

/// The cache's records of the `kept` files found untouched (with their stat), in path
/// order: its own list, less the changed apps' files (`is_owned`) and the files read and
/// hashed; when that leaves others too (records of files the lock does not list), only the
/// kept ones.
fn carried(
    cache: &mut Cache,
    kept: &[(String, String, Option<Stat>)],
    is_owned: &dyn Fn(&str) -> bool,
) -> Vec<(String, Entry)> {
    let paths = |untouched: bool| {
        kept.iter()
            .filter(move |(_, _, stat)| stat.is_some() == untouched)
            .map(|(p, _, _)| p.as_str())
            .collect::<FxHashSet<&str>>()
    };
    let hashed = paths(false);
    let mut files = std::mem::take(&mut cache.files);
    files.retain(|(path, _)| !is_owned(path) && !hashed.contains(path.as_str()));
    // Each untouched file's record is in it: the same number means nothing else is.
    if files.len() != kept.len() - hashed.len() {
        let untouched = paths(true);
        files.retain(|(path, _)| untouched.contains(path.as_str()));
    }
    files
}

/// The cluster's warnings: the last run's, moved with the files, but for those in the
/// changed files, which this run's checks found. `None` when this run found one outside
/// the changed files that the last did not, the last run had one decided by the order of all
/// apps in a changed file, or one in `overriding` (the entry, in the text now, of a cluster
/// that overrides a changed app). With the text that shows them, made once by `whole_text`
/// of their spans, when there are any.
pub fn warnings(
    places: &Places,
    overriding: Option<(usize, usize)>,
    found: &[Diagnostic],
    recorded: &[Warning],
    cluster: &str,
    whole_text: &dyn Fn(&[Span]) -> Option<Sparse>,
) -> Option<(Vec<Diagnostic>, Option<Sparse>)> {
    let mut moved: Vec<Warning> = Vec::new();
    for w in recorded {
        let Some([start, end]) = w.span else {
            moved.push(w.clone());
            continue;
        };
        let file = places
            .old_starts
            .partition_point(|&s| s <= start)
            .saturating_sub(1);
        let base = *places.old_starts.get(file)?;
        let decided = DECIDED.iter().any(|c| c.as_str() == w.code);
        match (places.changed.contains(&file), decided) {
            (true, true) => return None,
            (true, false) => {}
            (false, _) => {
                let now = places.whole.get(file)?;
                let (start, end) = (now + start - base, now + end - base);
                // One in the entry of a cluster that overrides a changed app may be the
                // app's: in doubt.
                overriding
                    .is_none_or(|(from, to)| end <= from || to <= start)
                    .then_some(())?;
                let mut w = w.clone();
                w.span = Some([start, end]);
                moved.push(w);
            }
        }
    }
    let mut new = Vec::new();
    let mut seen: Vec<Warning> = Vec::new();
    // This run read only part of the fleet: where it puts the warnings decided by all apps
    // says nothing.
    for d in found
        .iter()
        .filter(|d| !d.is_error() && !DECIDED.contains(&d.code))
    {
        let mut d = d.clone();
        d.message = format!("cluster `{cluster}`: {}", d.message);
        if let Some(span) = d.span {
            d.span = Some(Span::new(
                places.layout.whole_offset(span.start),
                places.layout.whole_offset(span.end),
            ));
        }
        let in_changed = d
            .span
            .is_some_and(|s| places.changed.contains(&places.file_now(s.start)));
        if in_changed {
            new.push(d);
        } else {
            let w = Warning::record(std::slice::from_ref(&d)).pop()?;
            moved.contains(&w).then_some(())?;
            seen.push(w);
        }
    }
    // In a file of apps read, the last run's warnings are this run's too, both ways.
    let unread = |w: &Warning| {
        w.span
            .is_none_or(|[start, _]| !places.read.contains(&places.file_now(start)))
    };
    moved
        .iter()
        .all(|w| unread(w) || DECIDED.iter().any(|c| c.as_str() == w.code) || seen.contains(w))
        .then_some(())?;
    if moved.is_empty() && new.is_empty() {
        return Some((Vec::new(), None));
    }
    let spans: Vec<Span> = moved
        .iter()
        .filter_map(|w| w.span.map(|[start, end]| Span::new(start, end)))
        .chain(new.iter().filter_map(|d| d.span))
        .collect();
    let text = whole_text(&spans)?;
    // Each in a file read, to be shown there (the caller places them once the lock file's
    // record of them is made).
    let mut all: Vec<Diagnostic> = moved
        .iter()
        .map(|w| w.diagnostic(text.whole_len()))
        .collect::<Option<_>>()?;
    all.iter()
        .chain(&new)
        .all(|d| d.span.is_none_or(|s| text.place(s).is_some()))
        .then_some(())?;
    all.extend(new);
    diagnostic::sort(&mut all);
    Some((all, Some(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_build_carries_the_records_of_the_files_found_untouched_and_no_other() {
        let stat = |ino| Stat {
            size: 1,
            mtime: 1,
            ctime: 1,
            ino,
            dev: 1,
        };
        let cache = |paths: &[&str]| Cache {
            files: paths
                .iter()
                .zip(1..)
                .map(|(p, i)| {
                    (
                        p.to_string(),
                        Entry {
                            hash: format!("h{i}"),
                            stat: stat(i),
                        },
                    )
                })
                .collect(),
            ..Cache::default()
        };
        // `app/a` found untouched, `app/b` read and hashed; `web/x` is the changed app's.
        let kept = [
            ("app/a".to_string(), "h1".to_string(), Some(stat(1))),
            ("app/b".to_string(), "h2".to_string(), None),
        ];
        let is_owned = |p: &str| p.starts_with("web/");
        let paths = |files: Vec<(String, Entry)>| files.into_iter().map(|(p, _)| p).collect::<Vec<_>>();
        let mut whole = cache(&["app/a", "app/b", "web/x"]);
        assert_eq!(paths(carried(&mut whole, &kept, &is_owned)), ["app/a"]);
        // A record of a file the lock does not list is not carried either.
        let mut more = cache(&["app/a", "app/b", "old/y", "web/x"]);
        assert_eq!(paths(carried(&mut more, &kept, &is_owned)), ["app/a"]);
    }

    #[test]
    fn the_outline_leaves_out_the_local_fields_and_nothing_else() {
        let outline = |app: &serde_json::Value| outline(&SpanNode::of_value(Span::new(0, 0), app.clone()));
        let app = |version: &str, image: &str, name: &str, port: u16| {
            json!({
                "name": "web", "namespace": "shop",
                "helm": {"chart": "podinfo", "version": version, "values": {"a": version}},
                "workloads": [{
                    "name": name, "image": image, "replicas": image.len(), "ports": [{"port": port}],
                    "containers": [{"name": "side", "image": image}]
                }]
            })
        };
        let base = outline(&app("1.0.0", "app:1", "api", 80));
        assert_eq!(outline(&app("2.0.0", "app:22", "api", 80)), base);
        assert_ne!(
            outline(&app("1.0.0", "app:1", "worker", 80)),
            base,
            "a workload's name"
        );
        assert_ne!(outline(&app("1.0.0", "app:1", "api", 81)), base, "a port");
        let mut moved = app("1.0.0", "app:1", "api", 80);
        moved["namespace"] = json!("other");
        assert_ne!(outline(&moved), base, "the namespace");
        let mut chart = app("1.0.0", "app:1", "api", 80);
        chart["helm"]["chart"] = json!("nginx");
        assert_ne!(outline(&chart), base, "the chart");
        // Environment, probes, commands and ConfigMap data are local; a ConfigMap's name is not.
        let mut local = app("1.0.0", "app:1", "api", 80);
        local["workloads"][0]["env"] = json!([{"name": "A", "value": "1"}]);
        local["workloads"][0]["probes"] = json!({"liveness": {"http": {"path": "/"}}});
        local["workloads"][0]["command"] = json!(["/app"]);
        local["workloads"][0]["containers"][0]["args"] = json!(["-v"]);
        local["configMaps"] = json!([{"name": "cfg", "data": {"A": "1"}}]);
        let mut named = local.clone();
        local["configMaps"][0]["data"]["A"] = json!("2");
        local["workloads"][0]["containers"][0]["env"] = json!([{"name": "B", "value": "2"}]);
        assert_eq!(outline(&local), outline(&named));
        named["configMaps"][0]["name"] = json!("other");
        assert_ne!(outline(&local), outline(&named), "a ConfigMap's name");
    }
}
