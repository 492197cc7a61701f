//! `build`: writes a comparison's changes into the output root.
//!
//! Each file is written to a staging folder inside the root and renamed into place (atomic
//! per file); deletions follow; the lock file is written last. The staging folder of a build
//! that was killed is removed by the next one, which then converges.

use super::lock::LOCK_FILE;
use super::{ChangeKind, Comparison, EmitError, Tree};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The staging folder inside the output root.
pub const STAGING_DIR: &str = ".gitopsc-tmp";

/// What a build did.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriteStats {
    /// Files written.
    pub written: usize,
    /// Files deleted.
    pub removed: usize,
}

/// Applies the comparison's changes (conflicts are left alone) and writes the lock file.
pub fn apply(cmp: &Comparison, tree: &Tree) -> Result<WriteStats, EmitError> {
    let root = &cmp.root;
    let io = |what: &str, path: &Path, e: std::io::Error| {
        EmitError(format!("cannot {what} `{}`: {e}", path.display()), None)
    };
    std::fs::create_dir_all(root).map_err(|e| io("create", root, e))?;
    let staging = root.join(STAGING_DIR);
    clear_staging(&staging).map_err(|e| io("clean up", &staging, e))?;
    if cmp.changes.is_empty() && !cmp.lock_changed {
        return Ok(WriteStats::default());
    }
    std::fs::create_dir(&staging).map_err(|e| io("create", &staging, e))?;

    let writes: Vec<(usize, &str)> = cmp
        .changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Removed)
        .map(|c| c.path.as_str())
        .enumerate()
        .collect();
    let parents: BTreeSet<&str> = writes
        .iter()
        .filter_map(|(_, p)| p.rsplit_once('/').map(|(dir, _)| dir))
        .collect();
    for dir in parents {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
    }
    writes
        .par_iter()
        .try_for_each(|&(i, path)| put(&staging.join(i.to_string()), &root.join(path), &tree[path]))
        .map_err(|(p, e)| io("write", &p, e))?;

    let mut removed = 0;
    let mut emptied: BTreeSet<PathBuf> = BTreeSet::new();
    for change in cmp.changes.iter().filter(|c| c.kind == ChangeKind::Removed) {
        let target = root.join(&change.path);
        match std::fs::remove_file(&target) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &target, e)),
        }
        if let Some(parent) = target.parent() {
            emptied.insert(parent.to_path_buf());
        }
    }
    // Folders that held only removed files go too; deepest first, never the root itself.
    for dir in emptied.iter().rev() {
        let mut dir = dir.clone();
        while dir != *root && dir.starts_with(root) && std::fs::remove_dir(&dir).is_ok() {
            if !dir.pop() {
                break;
            }
        }
    }

    if cmp.lock_changed {
        put(
            &staging.join("lock"),
            &root.join(LOCK_FILE),
            &cmp.new_lock.to_bytes(),
        )
        .map_err(|(p, e)| io("write", &p, e))?;
    }
    clear_staging(&staging).map_err(|e| io("clean up", &staging, e))?;
    Ok(WriteStats {
        written: writes.len(),
        removed,
    })
}

/// Writes `bytes` to `temp`, then renames it over `target`.
fn put(temp: &Path, target: &Path, bytes: &[u8]) -> Result<(), (PathBuf, std::io::Error)> {
    std::fs::write(temp, bytes).map_err(|e| (temp.to_path_buf(), e))?;
    std::fs::rename(temp, target).map_err(|e| {
        let _ = std::fs::remove_file(temp);
        (target.to_path_buf(), e)
    })
}

fn clear_staging(staging: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(staging) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(staging),
        Ok(_) => std::fs::remove_file(staging),
    }
}
