//! `build`: writes a comparison's changes into the output root.
//!
//! Each file is written to a temp file beside it (`.<name>.gitopsc-tmp`) and renamed into
//! place: atomic per file, and two threads writing into different folders never contend for
//! one. Before the first temp file, the journal (`<out>/.gitopsc-tmp`) lists them all;
//! deletions follow the writes; the lock file is written last, then the journal is removed.
//! A build that was killed leaves the journal, and the next one removes exactly the temp
//! files it lists before converging.

use super::lock::{LOCK_FILE, is_safe_relative};
use super::{ChangeKind, Comparison, EmitError, Tree, parent_is_symlink};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The journal of a build in progress, in the output root.
pub const JOURNAL: &str = ".gitopsc-tmp";

/// What ends the name of every temp file.
const TEMP_SUFFIX: &str = ".gitopsc-tmp";

/// The first line of the journal.
const JOURNAL_HEADER: &str =
    "# gitopsc: the temp files of a build in progress; the next build removes them\n";

/// What a build did.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriteStats {
    /// Files written.
    pub written: usize,
    /// Files deleted.
    pub removed: usize,
}

/// The temp file a file is written to before it is renamed into place: beside it, hidden.
fn temp_of(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}{TEMP_SUFFIX}"),
        None => format!(".{path}{TEMP_SUFFIX}"),
    }
}

/// Applies the comparison's changes (conflicts are left alone) and writes the lock file.
pub fn apply(cmp: &Comparison, tree: &Tree) -> Result<WriteStats, EmitError> {
    let root = &cmp.root;
    let io = |what: &str, path: &Path, e: std::io::Error| {
        EmitError(format!("cannot {what} `{}`: {e}", path.display()), None)
    };
    std::fs::create_dir_all(root).map_err(|e| io("create", root, e))?;
    let journal = root.join(JOURNAL);
    clear_leftovers(root).map_err(|e| io("clean up", &journal, e))?;
    if cmp.changes.is_empty() && !cmp.lock_changed {
        return Ok(WriteStats::default());
    }

    let writes: Vec<&str> = cmp
        .changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Removed)
        .map(|c| c.path.as_str())
        .collect();
    let mut listed = String::with_capacity(JOURNAL_HEADER.len() + writes.len() * 64);
    listed.push_str(JOURNAL_HEADER);
    for path in writes.iter().copied().chain(std::iter::once(LOCK_FILE)) {
        listed.push_str(&temp_of(path));
        listed.push('\n');
    }
    std::fs::write(&journal, listed).map_err(|e| io("write", &journal, e))?;

    writes
        .par_iter()
        .try_for_each(|&path| put(root, path, &tree[path]))
        .map_err(|(p, e)| io("write", &p, e))?;

    let mut removed = 0;
    let mut emptied: BTreeSet<PathBuf> = BTreeSet::new();
    for change in cmp.changes.iter().filter(|c| c.kind == ChangeKind::Removed) {
        let target = root.join(&change.path);
        match std::fs::remove_file(&target) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
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
        put(root, LOCK_FILE, &cmp.new_lock.to_bytes()).map_err(|(p, e)| io("write", &p, e))?;
    }
    std::fs::remove_file(&journal).map_err(|e| io("remove", &journal, e))?;
    Ok(WriteStats {
        written: writes.len(),
        removed,
    })
}

/// Writes `bytes` to the temp file of `path`, then renames it over `path`; creates the
/// folder when it is missing.
fn put(root: &Path, path: &str, bytes: &[u8]) -> Result<(), (PathBuf, std::io::Error)> {
    let temp = root.join(temp_of(path));
    let target = root.join(path);
    match std::fs::write(&temp, bytes) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(|e| (dir.to_path_buf(), e))?;
            }
            std::fs::write(&temp, bytes)
        }
        other => other,
    }
    .map_err(|e| (temp.clone(), e))?;
    std::fs::rename(&temp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        (target, e)
    })
}

/// Removes what a killed build left: the temp files its journal lists (only regular files
/// with a temp file's name, never below a symlink), then the journal. A staging folder of
/// an earlier gitopsc release in its place goes whole.
fn clear_leftovers(root: &Path) -> std::io::Result<()> {
    let journal = root.join(JOURNAL);
    match std::fs::symlink_metadata(&journal) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(m) if m.is_dir() => return std::fs::remove_dir_all(&journal),
        Ok(m) if !m.is_file() => return std::fs::remove_file(&journal),
        Ok(_) => {}
    }
    let listed = String::from_utf8_lossy(&std::fs::read(&journal)?).into_owned();
    for temp in listed.lines().filter(|l| is_temp(l)) {
        let target = root.join(temp);
        let is_file = std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_file());
        if is_file && !parent_is_symlink(root, temp) {
            match std::fs::remove_file(&target) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    std::fs::remove_file(&journal)
}

/// Whether a journal line names a temp file gitopsc writes.
fn is_temp(line: &str) -> bool {
    let name = line.rsplit('/').next().unwrap_or(line);
    is_safe_relative(line)
        && name.starts_with('.')
        && name.len() > 1 + TEMP_SUFFIX.len()
        && name.ends_with(TEMP_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_sit_beside_their_file_and_only_those_are_cleaned_up() {
        assert_eq!(temp_of("a/b/c.yaml"), "a/b/.c.yaml.gitopsc-tmp");
        assert_eq!(temp_of("gitopsc.lock"), ".gitopsc.lock.gitopsc-tmp");
        assert!(is_temp("a/b/.c.yaml.gitopsc-tmp"));
        assert!(is_temp(".gitopsc.lock.gitopsc-tmp"));
        for line in [
            "a/b/c.yaml",
            "a/b/c.yaml.gitopsc-tmp",
            "../.x.gitopsc-tmp",
            "/etc/.x.gitopsc-tmp",
            "a/../.x.gitopsc-tmp",
            "..gitopsc-tmp",
            JOURNAL_HEADER.trim_end(),
        ] {
            assert!(!is_temp(line), "{line}");
        }
    }
}
