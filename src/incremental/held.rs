//! The records of trees a run rendered and held in memory (`diff --base`'s base, held by a
//! view: [`crate::disk`]): the keys of their apps and the hashes of their files. They stand
//! for the cache of such a tree: an app of the next run whose key is among them renders the
//! files the base rendered for it, byte for byte, so it is taken as it is — not rendered,
//! read or compared.
//!
//! For a fleet, the base's run also holds what a recording run records of its files and apps
//! ([`SpecRecords`]): the run over the spec as it is now then compares its files' bytes with
//! the base's, and when only parts that define apps differ it is compiled over those apps
//! ([`crate::fleet::changed`]), against the base's held trees as against a build's.
//!
//! The base's trees are rendered once the run over the spec as it is now knows its own apps
//! ([`super::deferred`]); a file of an app neither side renders is held by path alone.

use super::apps::Record;
use super::spec::Memo;
use super::{Cache, Entry, Reuse, Stat};
use crate::emit::owner::Owner;
use crate::model::Model;
use crate::render::Skip;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// What a run rendered into one tree held in memory.
pub struct Held {
    /// The tree's lock file, by absolute path: which tree this is.
    pub(super) lock: PathBuf,
    /// The keys of the apps rendered, with each app's name.
    pub(super) keys: FxHashMap<crate::render::Key, String>,
    /// Every file of the tree: path → sha256 hex, as its lock file lists them.
    pub(super) files: BTreeMap<String, String>,
    /// The sha256 (hex) of its lock file's bytes.
    pub(super) digest: String,
}

impl Held {
    /// The records of `owner`'s tree in `root`: the keys of the apps of `model` the run
    /// rendered (its `reuse` holds them), the files, and the lock file's bytes.
    pub fn new(
        (root, owner): (&Path, &Owner),
        model: &Model,
        reuse: &Reuse,
        files: BTreeMap<String, String>,
        lock: &[u8],
    ) -> Held {
        let keys = (model.apps.iter().zip(&reuse.keys))
            .filter_map(|(app, key)| Some((key.clone()?, app.name.clone())))
            .collect();
        Held {
            lock: root.join(owner.lock_path()),
            keys,
            files,
            digest: crate::emit::lock::sha256_hex(lock),
        }
    }
}

/// What the base's run of a fleet recorded of its files and apps, as a recording run does
/// ([`super::spec::Memo`], [`Record`]), with where it read them.
pub struct SpecRecords {
    /// The fleet's name.
    pub fleet: String,
    /// Each cluster's name and input stamp.
    pub clusters: Vec<(String, String)>,
    /// The spec's files, in the order read, as the base's run named them.
    pub files: Vec<PathBuf>,
    /// The folder those names are below: the base's spec's.
    pub spec_dir: PathBuf,
    /// Its apps.
    pub record: Record,
    /// The files known to differ from what the records describe, whatever their bytes say
    /// (changed on disk since a recording build; none for a base's run).
    pub stale: Vec<usize>,
}

/// The base's records of its spec, with the output root its trees are held over.
static SPEC: Mutex<Option<(PathBuf, SpecRecords)>> = Mutex::new(None);

/// Takes `records` as those of the spec whose trees are held over `root`, for the next run
/// over that root.
pub fn hold_spec(root: &Path, records: SpecRecords) {
    if let Ok(mut held) = SPEC.lock() {
        *held = Some((root.to_path_buf(), records));
    }
}

/// The base's records of its spec, for a run over `out` of a spec in `spec_dir` that reads
/// the `files` (the root first) it lists, as a recording run's
/// ([`super::spec::recall_changed`]): the expansion's record, the numbers of the files whose
/// bytes differ from the base's, and the apps' record. `None` when none is held for `out`,
/// the spec reads other files, or its root file differs. Taken once.
pub fn recall_changed(
    out: &Path,
    spec_dir: &Path,
    files: impl FnOnce() -> Option<Vec<PathBuf>>,
) -> Option<(Memo, Vec<usize>, Record)> {
    let (root, held) = SPEC.lock().ok()?.take()?;
    (root == out).then_some(())?;
    let files = files()?;
    let relative = |paths: &[PathBuf], dir: &Path| -> Option<Vec<PathBuf>> {
        paths
            .iter()
            .map(|p| Some(p.strip_prefix(dir).ok()?.to_path_buf()))
            .collect()
    };
    (relative(&files, spec_dir)? == relative(&held.files, &held.spec_dir)?).then_some(())?;
    let same_bytes = |(now, then): (&PathBuf, &PathBuf)| {
        let (now, then) = (crate::disk::read(now), crate::disk::read(then));
        matches!((now, then), (Ok(a), Ok(b)) if a == b)
    };
    // The root first: when it differs, no other file is read.
    (same_bytes((files.first()?, held.files.first()?)) && !held.stale.contains(&0)).then_some(())?;
    let mut same = vec![true];
    same.par_extend((files[1..].par_iter().zip(&held.files[1..])).map(same_bytes));
    let changed = (same.iter().enumerate())
        .filter(|(i, same)| !**same || held.stale.contains(i))
        .map(|(i, _)| i)
        .collect();
    let memo = Memo {
        fleet: held.fleet,
        clusters: held.clusters,
        files,
        folders: Vec::new(),
        starts: held.record.starts.clone(),
        began: held.record.memo,
        stats: Vec::new(),
    };
    Some((memo, changed, held.record))
}

/// The cache of `owner`'s tree in `root` when the tree is held in memory: its apps' keys, its
/// files (with no stat: none is looked at) and its lock file's digest.
pub(super) fn cache(root: &Path, owner: &Owner) -> Option<Cache> {
    let lock = root.join(owner.lock_path());
    let held = HELD.get()?.iter().find(|h| h.lock == lock)?;
    Some(Cache {
        keys: (held.keys.iter())
            .map(|(key, name)| (key.whole, super::AppLine::of(key, name)))
            .collect(),
        files: (held.files.iter())
            .map(|(path, hash)| {
                let entry = Entry {
                    hash: hash.clone(),
                    stat: Stat::default(),
                };
                (path.clone(), entry)
            })
            .collect(),
        written: super::Nanos::MIN,
        lock: Some(held.digest.clone()),
        held: true,
    })
}

static HELD: OnceLock<Vec<Held>> = OnceLock::new();

/// Takes `records` as those of the trees held in memory, for the rest of the process.
/// `false` when records were set already.
pub fn hold(records: Vec<Held>) -> bool {
    HELD.set(records).is_ok()
}

/// The apps of `model` whose key the records of `owner`'s tree in `root` hold, with their
/// files; `None` when no records are held for that tree. Trees deferred over `root` are
/// rendered first, but for the apps of `model` they share a key with.
pub(super) fn recall(root: &Path, owner: &Owner, model: &Model) -> Option<Reuse> {
    use super::deferred::{deferred, keys_of, settle, take_now};
    let mut keys = take_now(owner);
    if deferred(root) {
        let now = keys.take().unwrap_or_else(|| keys_of(model));
        settle(root, vec![(owner.clone(), now)]);
        keys = take_now(owner);
    }
    let lock = root.join(owner.lock_path());
    let held = HELD.get()?.iter().find(|h| h.lock == lock)?;
    let keys = keys
        .filter(|k| k.len() == model.apps.len())
        .unwrap_or_else(|| keys_of(model));
    Some(recall_in(held, model, keys))
}

/// The groups of the files of the apps of `model` (whose keys are `keys`) whose key `held`
/// holds, with their files.
fn recall_in(held: &Held, model: &Model, keys: super::deferred::Keys) -> Reuse {
    let rendered = super::Rendered::of(held.keys.keys());
    let found: Vec<(Skip, Vec<(String, String)>)> = (model.apps.par_iter().zip(&keys))
        .map(|(app, key)| {
            // A group is taken when its key is held and the held tree lists every file of it.
            let recorded = rendered.rendered(key.as_ref());
            let found = super::Found::keeping(app, recorded, |path| held.files.get(path).cloned());
            (found.skip, found.kept)
        })
        .collect();
    Reuse {
        keys,
        skip: found.iter().map(|(skip, _)| *skip).collect(),
        kept: found.into_iter().flat_map(|(_, files)| files).collect(),
        ..Reuse::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit;

    #[test]
    fn a_tree_held_in_memory_stands_for_its_cache() {
        let dir = tempfile::tempdir().unwrap();
        let (path, out) = (dir.path().join("c.yaml"), dir.path().join("out"));
        let owner = Owner::default();
        let render = |text: String, held: Option<&Held>| {
            std::fs::write(&path, text).unwrap();
            let prepared = crate::prepare(&path, None).ok().unwrap();
            let compiled = (prepared.render_reusing(|model| match held {
                Some(held) => recall_in(
                    held,
                    model,
                    model.apps.iter().map(crate::render::app_key).collect(),
                ),
                None => super::super::recall_from(None, &out, &owner, model),
            }))
            .ok()
            .unwrap();
            let kept = compiled.reuse.kept.clone();
            let cmp = emit::compare(&out, &compiled.tree, kept, &compiled.stamp, false).unwrap();
            (compiled, cmp)
        };
        // Four apps of one chart; the first one's version is `version`.
        let spec = |version: &str| {
            let mut text = String::from(
                "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nsources:\n  helm:\n    - {name: podinfo, url: https://stefanprodan.github.io/podinfo}\napps:\n",
            );
            for i in 0..4 {
                let v = if i == 0 { version } else { "6.7.1" };
                text.push_str(&format!(
                    "  - {{name: app{i}, helm: {{chart: podinfo, version: {v}, source: podinfo}}}}\n"
                ));
            }
            text
        };
        let (base, base_cmp) = render(spec("6.7.1"), None);
        let held = Held::new(
            (&out, &owner),
            base.model.as_ref().unwrap(),
            &base.reuse,
            base_cmp.new_lock.files.clone(),
            &base_cmp.new_lock.to_bytes(),
        );
        // One app's value edited: only that app renders; the others are taken as the base
        // rendered them, and the lock file is the one a full run makes.
        let edited = spec("6.8.0");
        let (_, full_cmp) = render(edited.clone(), None);
        let (edit, edit_cmp) = render(edited, Some(&held));
        let app_files: Vec<String> = base
            .model
            .as_ref()
            .unwrap()
            .apps
            .iter()
            .flat_map(crate::render::app_files)
            .collect();
        let rendered: Vec<&String> = edit.tree.keys().filter(|p| app_files.contains(p)).collect();
        assert!(
            !rendered.is_empty() && rendered.iter().all(|p| p.contains("app0")),
            "{rendered:?}"
        );
        assert_eq!(edit.reuse.kept.len() + rendered.len(), app_files.len());
        assert_eq!(edit_cmp.new_lock.to_bytes(), full_cmp.new_lock.to_bytes());
        // A Flux setting of every app edited: only their Flux Kustomizations files render,
        // each app's other files are taken as the base rendered them; a Helm interval of every
        // app: only their HelmReleases.
        let flux: Vec<&String> = (base.model.as_ref().unwrap().apps.iter())
            .map(|a| &a.kustomizations_file)
            .collect();
        let releases: Vec<&String> = (app_files.iter())
            .filter(|p| p.ends_with("/helmrelease.yaml"))
            .collect();
        assert_eq!(releases.len(), 4, "{app_files:?}");
        for (default, files) in [("timeout: 7m", flux), ("helmInterval: 9m", releases)] {
            let edited = spec("6.7.1").replace("apps:\n", &format!("defaults: {{{default}}}\napps:\n"));
            let (_, full_cmp) = render(edited.clone(), None);
            let (edit, edit_cmp) = render(edited, Some(&held));
            let rendered: Vec<&String> = edit.tree.keys().filter(|p| app_files.contains(p)).collect();
            assert_eq!(rendered, files, "{default}");
            assert_eq!(edit.reuse.kept.len() + rendered.len(), app_files.len());
            assert_eq!(edit_cmp.new_lock.to_bytes(), full_cmp.new_lock.to_bytes());
        }
    }
}
