//! `build`: writes a comparison's changes into the output root.
//!
//! No file ever shows at its path half-written. A folder that does not exist yet is written
//! whole under a temp name beside it (`.<name>.gitopsc-tmp/`) and renamed into place; a file
//! in a folder that exists is written to a temp file beside it (`.<name>.gitopsc-tmp`) and
//! renamed over its path. Before the first of them, the journal (`<out>/.gitopsc-tmp`)
//! lists every temp name; deletions follow the writes; the lock file is written last, then
//! the journal is removed. A build that was killed leaves the journal, and the next one
//! removes exactly what it lists before converging.

use super::lock::{LOCK_FILE, is_safe_relative};
use super::{ChangeKind, Comparison, EmitError, Tree, dir_above, parent_is_symlink};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
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
pub(super) fn temp_of(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}{TEMP_SUFFIX}"),
        None => format!(".{path}{TEMP_SUFFIX}"),
    }
}

/// Applies the comparison's changes (conflicts are left alone) and writes the lock file.
pub fn apply(cmp: &Comparison, tree: &Tree) -> Result<WriteStats, EmitError> {
    let root = &cmp.root;
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
    let beside = writes
        .iter()
        .copied()
        .filter(|p| dir_above(&cmp.new_dirs, p).is_none());
    let temps: Vec<String> = cmp
        .new_dirs
        .iter()
        .map(String::as_str)
        .chain(beside)
        .chain(std::iter::once(LOCK_FILE))
        .map(temp_of)
        .collect();
    // The journal must list only what this build makes: nothing may be there yet.
    if let Some(taken) = temps
        .par_iter()
        .find_first(|t| std::fs::symlink_metadata(root.join(t)).is_ok())
    {
        return Err(EmitError(
            format!("`{}` is in the way", root.join(taken).display()),
            Some("gitopsc writes its temp files and folders under that name: move it away".into()),
        ));
    }
    write_journal(root, &temps)?;
    let stats = write_all(cmp, tree, &writes).inspect_err(|_| {
        // What this build made so far goes; what was there stays.
        let _ = clear_leftovers(root);
    })?;
    std::fs::remove_file(&journal).map_err(|e| io("remove", &journal, e))?;
    Ok(stats)
}

/// Writes the journal: the temp names a build is about to make, before the first exists.
pub(super) fn write_journal(root: &Path, temps: &[String]) -> Result<(), EmitError> {
    let journal = root.join(JOURNAL);
    let mut listed =
        String::with_capacity(JOURNAL_HEADER.len() + temps.iter().map(|t| t.len() + 1).sum::<usize>());
    listed.push_str(JOURNAL_HEADER);
    for temp in temps {
        listed.push_str(temp);
        listed.push('\n');
    }
    std::fs::write(&journal, listed).map_err(|e| io("write", &journal, e))
}

pub(super) fn io(what: &str, path: &Path, e: std::io::Error) -> EmitError {
    EmitError(format!("cannot {what} `{}`: {e}", path.display()), None)
}

/// Writes and removes the files once the journal lists the temp names; the lock file last.
fn write_all(cmp: &Comparison, tree: &Tree, writes: &[&str]) -> Result<WriteStats, EmitError> {
    let root = &cmp.root;
    for dir in &cmp.new_dirs {
        let temp = root.join(temp_of(dir));
        std::fs::create_dir(&temp).map_err(|e| io("create", &temp, e))?;
    }
    // By folder: each folder is made once, before its files.
    let mut by_dir: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for &path in writes {
        by_dir
            .entry(path.rsplit_once('/').map_or("", |(dir, _)| dir))
            .or_default()
            .push(path);
    }
    // The lock file's bytes are made while the files are written.
    let (written, lock) = rayon::join(
        || {
            by_dir
                .par_iter()
                .try_for_each(|(dir, paths)| match dir_above(&cmp.new_dirs, paths[0]) {
                    // Nothing shows there before the rename of the whole folder.
                    Some(new) => {
                        let temp_dir = root.join(format!("{}{}", temp_of(new), &dir[new.len()..]));
                        std::fs::create_dir_all(&temp_dir).map_err(|e| (temp_dir.clone(), e))?;
                        paths.iter().try_for_each(|path| {
                            let temp = temp_dir.join(&path[dir.len() + 1..]);
                            std::fs::write(&temp, &tree[*path]).map_err(|e| (temp, e))
                        })
                    }
                    None => paths.iter().try_for_each(|path| put(root, path, &tree[*path])),
                })
        },
        || cmp.lock_changed.then(|| cmp.new_lock.to_bytes()),
    );
    written.map_err(|(p, e)| io("write", &p, e))?;
    for dir in &cmp.new_dirs {
        let (temp, target) = (root.join(temp_of(dir)), root.join(dir));
        std::fs::rename(&temp, &target).map_err(|e| io("move into place", &target, e))?;
    }

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

    if let Some(lock) = lock {
        put(root, LOCK_FILE, &lock).map_err(|(p, e)| io("write", &p, e))?;
    }
    Ok(WriteStats {
        written: writes.len(),
        removed,
    })
}

/// Writes `bytes` to the temp file of `path`, then renames it over `path`.
pub(super) fn put(root: &Path, path: &str, bytes: &[u8]) -> Result<(), (PathBuf, std::io::Error)> {
    let temp = root.join(temp_of(path));
    let target = root.join(path);
    write_new(&temp, bytes)?;
    rename_into_place(&temp, target)
}

/// [`put`] of a file streamed by `write` through a buffer (never whole in memory).
pub(super) fn put_streamed(
    root: &Path,
    path: &str,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), (PathBuf, std::io::Error)> {
    use std::io::Write;
    let temp = root.join(temp_of(path));
    let target = root.join(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|file| {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
            write(&mut out)?;
            out.flush()
        })
        .map_err(|e| (temp.clone(), e))?;
    rename_into_place(&temp, target)
}

/// Renames a written temp file over `target`; the temp file goes when that fails.
fn rename_into_place(temp: &Path, target: PathBuf) -> Result<(), (PathBuf, std::io::Error)> {
    std::fs::rename(temp, &target).map_err(|e| {
        let _ = std::fs::remove_file(temp);
        (target, e)
    })
}

/// Writes a file that must not exist yet (a temp file: never anybody else's).
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), (PathBuf, std::io::Error)> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| (path.to_path_buf(), e))
}

/// Removes what a killed build left: the temp files and folders its journal lists (only
/// those with a temp name, never below a symlink), then the journal. A staging folder of an
/// earlier gitopsc release in its place goes whole.
pub(super) fn clear_leftovers(root: &Path) -> std::io::Result<()> {
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
        let Ok(meta) = std::fs::symlink_metadata(&target) else {
            continue;
        };
        if parent_is_symlink(root, temp) {
            continue;
        }
        let removed = if meta.is_dir() {
            std::fs::remove_dir_all(&target)
        } else if meta.is_file() {
            std::fs::remove_file(&target)
        } else {
            Ok(())
        };
        match removed {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => {}
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
