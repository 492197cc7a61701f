//! The records of trees a run rendered and held in memory (`diff --base`'s base, held by a
//! view: [`crate::disk`]): the keys of their apps and the hashes of their files. They stand
//! for the cache of such a tree: an app of the next run whose key is among them renders the
//! files the base rendered for it, byte for byte, so it is taken as it is — not rendered,
//! read or compared.

use super::Reuse;
use crate::emit::owner::Owner;
use crate::model::Model;
use rayon::prelude::*;
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What a run rendered into one tree held in memory.
pub struct Held {
    /// The tree's lock file, by absolute path: which tree this is.
    lock: PathBuf,
    /// The keys of the apps rendered.
    keys: FxHashSet<[u8; 32]>,
    /// Every file of the tree: path → sha256 hex, as its lock file lists them.
    files: BTreeMap<String, String>,
}

impl Held {
    /// The records of `owner`'s tree in `root`: the keys of the apps the run rendered (its
    /// `reuse` holds them) and the files.
    pub fn new(root: &Path, owner: &Owner, reuse: &Reuse, files: BTreeMap<String, String>) -> Held {
        Held {
            lock: root.join(owner.lock_path()),
            keys: reuse.keys.iter().flatten().copied().collect(),
            files,
        }
    }
}

static HELD: OnceLock<Vec<Held>> = OnceLock::new();

/// Takes `records` as those of the trees held in memory, for the rest of the process.
/// `false` when records were set already.
pub fn hold(records: Vec<Held>) -> bool {
    HELD.set(records).is_ok()
}

/// The apps of `model` whose key the records of `owner`'s tree in `root` hold, with their
/// files; `None` when no records are held for that tree.
pub(super) fn recall(root: &Path, owner: &Owner, model: &Model) -> Option<Reuse> {
    let lock = root.join(owner.lock_path());
    let held = HELD.get()?.iter().find(|h| h.lock == lock)?;
    Some(recall_in(held, model))
}

/// The apps of `model` whose key `held` holds, with their files.
fn recall_in(held: &Held, model: &Model) -> Reuse {
    let keys: Vec<Option<[u8; 32]>> = model.apps.par_iter().map(crate::render::app_key).collect();
    let found: Vec<Option<Vec<(String, String)>>> = (model.apps.par_iter().zip(&keys))
        .map(|(app, key)| {
            held.keys.contains(key.as_ref()?).then_some(())?;
            (crate::render::app_files(app).into_iter())
                .map(|path| {
                    let hash = held.files.get(&path)?.clone();
                    Some((path, hash))
                })
                .collect()
        })
        .collect();
    Reuse {
        keys,
        skip: found.iter().map(Option::is_some).collect(),
        kept: found.into_iter().flatten().flatten().collect(),
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
                Some(held) => recall_in(held, model),
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
        let held = Held::new(&out, &owner, &base.reuse, base_cmp.new_lock.files.clone());
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
    }
}
