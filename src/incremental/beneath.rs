//! A check through a view of a tree that the disk beneath holds as rendered: `check --staged`
//! after a build whose files were not staged (the commit a plain git hook sees after `build`
//! without `git add`). The work tree's lock file says what this very spec renders — its stamp
//! is the spec's, [`crate::emit::recorded_beneath`] — and the tree cache says the work tree's
//! files are still what that build wrote. So the tree is known without a compile: the files
//! the view replaces are read from the work tree (few: those not staged), every other one is
//! taken with its recorded hash, and the comparison with the staged view says what the
//! commit lacks, as a run that rendered the tree would.

use super::below::Below;
use super::{Cache, folders_are_real, holds};
use crate::disk;
use crate::emit::Kept;
use crate::emit::lock::{Lock, sha256_hex};
use crate::emit::owner::Owner;
use crate::render::Tree;
use rayon::prelude::*;
use std::path::Path;

/// The tree `lock` (the work tree's lock file of `owner` in `root`) lists, when the work tree
/// holds it: the files a view replaces, with their bytes on disk beneath it, and the others
/// with their recorded hashes. `None` when a file is not as the lock records it.
pub fn tree(root: &Path, owner: &Owner, lock: &Lock) -> Option<(Tree, Kept)> {
    let cache = Cache::read(root, owner);
    let below = Below::open(root);
    let found: Vec<(&String, &String, Option<Vec<u8>>)> = (lock.files.par_iter())
        .map(|(path, hash)| {
            // A file the view replaces has no stat: never untouched.
            if cache.as_ref().and_then(|c| c.untouched(&below, path)) == Some(hash.as_str()) {
                return Some((path, hash, None));
            }
            if disk::replaced(root, path).is_none() {
                return holds(root, path, hash).then_some((path, hash, None));
            }
            let bytes = beneath(root, path)?;
            (sha256_hex(&bytes) == *hash).then_some((path, hash, Some(bytes)))
        })
        .collect::<Option<_>>()?;
    let (mut tree, mut kept) = (Tree::new(), Kept::new());
    for (path, hash, bytes) in found {
        if let Some(bytes) = bytes {
            tree.insert(path.clone(), bytes);
        } else {
            kept.insert(path.clone(), hash.clone());
        }
    }
    folders_are_real(&below, kept.keys().map(String::as_str)).then_some((tree, kept))
}

/// The bytes of the regular file at `path` below `root` on disk beneath the views, every
/// folder on the way a folder (not a symlink).
fn beneath(root: &Path, path: &str) -> Option<Vec<u8>> {
    let mut at = root.to_path_buf();
    let mut segments = path.split('/').peekable();
    while let Some(segment) = segments.next() {
        at.push(segment);
        let want = if segments.peek().is_some() {
            disk::Kind::Folder
        } else {
            disk::Kind::File
        };
        (disk::kind_beneath(&at).ok()? == want).then_some(())?;
    }
    disk::read_beneath(&at).ok()
}
