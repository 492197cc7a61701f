//! `build`: writes a comparison's changes into the output root.
//!
//! No file ever shows at its path half-written. A folder that does not exist yet is written
//! whole under a temp name beside it (`.<name>.gitopsc-tmp/`) and renamed into place; a file
//! in a folder that exists is written to a temp file beside it (`.<name>.gitopsc-tmp`) and
//! renamed over its path. Before the first of them, the journal ([`super::journal`]) lists
//! every temp name and the hash of every file to be put in place. Every file is written
//! before the first rename; the renames go deepest first, and a folder's `kustomization.yaml`
//! after the other files of its folder, so a `kustomization.yaml` in place never lists what
//! is not. Deletions follow; the lock file is written last, then the journal is removed. A
//! build that was killed or failed leaves the journal; the next one removes exactly the temp
//! names it lists, takes the files with the hashes it lists as gitopsc's, and converges.

use super::journal::{self, Journal};
use super::lock::is_safe_relative;
use super::{ChangeKind, Comparison, EmitError, Tree, dir_above, parent_is_symlink};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// What ends the name of every temp file.
const TEMP_SUFFIX: &str = ".gitopsc-tmp";

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
    // The folder of the lock file and journal (a fleet's cluster's own) exists before the
    // comparison: were it new, it would be written under a temp name with the journal in it.
    let ledger = root.join(cmp.owner.dir());
    if dir_above(&cmp.new_dirs, &cmp.owner.lock_path()).is_some() {
        return Err(EmitError(
            format!("`{}` must exist before the tree is compared", ledger.display()),
            Some("run the build again: it creates the folder first".into()),
            crate::diagnostic::Code::Output,
        ));
    }
    std::fs::create_dir_all(&ledger).map_err(|e| io("create", &ledger, e))?;
    if let Some(left) = &cmp.journal {
        remove_temps(root, left)?;
    }
    if cmp.changes.is_empty() && !cmp.lock_changed {
        // The lock file records all there is: what a journal listed is in it or gone.
        journal::remove(&ledger)?;
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
        .chain(std::iter::once(cmp.owner.lock_path().as_str()))
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
            crate::diagnostic::Code::Output,
        ));
    }
    journal::add_temps(&ledger, &temps)?;
    // The writes are in path order, as the lock file's paths: taken side by side.
    let mut files = cmp.new_lock.files.iter().peekable();
    let hashes = writes.iter().filter_map(|&p| {
        while files.next_if(|(q, _)| q.as_str() < p).is_some() {}
        files
            .next_if(|(q, _)| q.as_str() == p)
            .map(|(_, h)| (p, h.as_str()))
    });
    journal::add_files(&ledger, hashes)?;
    let stats = write_all(cmp, tree, &writes).map_err(|e| {
        // What this build made goes; what it put in place stays listed in the journal, for
        // the next build to take as its own.
        if let Ok(Some(listed)) = Journal::read(&ledger) {
            let _ = remove_temps(root, &listed);
        }
        let help = format!(
            "the files already in place are listed in `{}`: the next build takes them as gitopsc's and finishes the job",
            ledger.join(journal::JOURNAL).display()
        );
        EmitError(e.0, Some(e.1.unwrap_or(help)), e.2)
    })?;
    journal::remove(&ledger)?;
    Ok(stats)
}

pub(super) fn io(what: &str, path: &Path, e: std::io::Error) -> EmitError {
    EmitError(
        format!("cannot {what} `{}`: {e}", path.display()),
        None,
        crate::diagnostic::Code::Output,
    )
}

/// Writes and removes the files once the journal lists them; the lock file last.
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
    let written: Result<(), (PathBuf, std::io::Error)> =
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
                None => paths
                    .iter()
                    .try_for_each(|path| write_new(&root.join(temp_of(path)), &tree[*path]).map(drop)),
            });
    written.map_err(|(p, e)| io("write", &p, e))?;
    move_into_place(root, &cmp.new_dirs, writes)?;

    let mut removed = 0;
    let mut emptied: BTreeSet<PathBuf> = BTreeSet::new();
    // The reverse of the renames' order: a `kustomization.yaml` goes before what it lists.
    let mut removals: Vec<&str> = cmp
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Removed)
        .map(|c| c.path.as_str())
        .collect();
    removals.sort_by_key(|path| (path.matches('/').count(), !lists_files(path)));
    for path in removals {
        let target = root.join(path);
        match step().and_then(|()| std::fs::remove_file(&target)) {
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
        // Streamed through a hash: the cache names the lock file by it.
        let path = cmp.owner.lock_path();
        step().map_err(|e| io("write", &root.join(&path), e))?;
        let mut digest = None;
        put_streamed(root, &path, |out| {
            digest = Some(cmp.new_lock.write_hashed(out)?);
            Ok(())
        })
        .map_err(|(p, e)| io("write", &p, e))?;
        if let Some(digest) = digest {
            let _ = cmp.lock_digest.set(Some(digest));
        }
    }
    Ok(WriteStats {
        written: writes.len(),
        removed,
    })
}

/// Renames the written temp folders and files into place: the new folders first, then the
/// files in folders that exist, deepest first and each folder's `kustomization.yaml` after
/// its other files — so whatever a rename that fails leaves, every `kustomization.yaml` in
/// place lists files that are there.
fn move_into_place(root: &Path, new_dirs: &BTreeSet<String>, writes: &[&str]) -> Result<(), EmitError> {
    let rename = |path: &str| {
        let (temp, target) = (root.join(temp_of(path)), root.join(path));
        step()
            .and_then(|()| std::fs::rename(&temp, &target))
            .map_err(|e| io("move into place", &target, e))
    };
    new_dirs.par_iter().try_for_each(|dir| rename(dir))?;
    let mut beside: BTreeMap<(std::cmp::Reverse<usize>, bool), Vec<&str>> = BTreeMap::new();
    for &path in writes.iter().filter(|p| dir_above(new_dirs, p).is_none()) {
        let depth = path.matches('/').count();
        beside
            .entry((std::cmp::Reverse(depth), lists_files(path)))
            .or_default()
            .push(path);
    }
    beside
        .values()
        .try_for_each(|paths| paths.par_iter().try_for_each(|path| rename(path)))
}

/// Whether `path` is a `kustomization.yaml`: a file that lists others.
fn lists_files(path: &str) -> bool {
    path.rsplit('/').next() == Some("kustomization.yaml")
}

/// A step of a build that changes the tree: a rename into place, a deletion, the lock file.
///
/// Test hook, compiled into debug builds only: with `GITOPSC_TEST_FAIL_AFTER=N` every step
/// after the first N of the process fails; with `GITOPSC_TEST_KILL_AFTER=N` the process ends
/// there at once (exit 137), leaving the tree as `kill -9` would.
#[cfg(debug_assertions)]
pub(super) fn step() -> std::io::Result<()> {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DONE: AtomicUsize = AtomicUsize::new(0);
    static LIMITS: OnceLock<[Option<usize>; 2]> = OnceLock::new();
    let [fail, kill] = *LIMITS.get_or_init(|| {
        ["GITOPSC_TEST_FAIL_AFTER", "GITOPSC_TEST_KILL_AFTER"]
            .map(|var| std::env::var(var).ok().and_then(|n| n.parse().ok()))
    });
    let done = DONE.fetch_add(1, Ordering::SeqCst);
    if kill.is_some_and(|n| done >= n) {
        std::process::exit(137);
    }
    match fail {
        Some(n) if done >= n => Err(std::io::Error::other(
            "GITOPSC_TEST_FAIL_AFTER: a failure for a test",
        )),
        _ => Ok(()),
    }
}

/// A step of a build that changes the tree (the test hooks exist only in debug builds).
#[cfg(not(debug_assertions))]
#[inline(always)]
pub(super) fn step() -> std::io::Result<()> {
    Ok(())
}

/// Writes the file at `path` in `root` under its temp name, streamed by `write` through a
/// buffer (never whole in memory), then renames it into place.
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
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> Result<std::fs::File, (PathBuf, std::io::Error)> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes).map(|()| f))
        .map_err(|e| (path.to_path_buf(), e))
}

/// Removes the temp files and folders a journal lists (only those with a temp name, never
/// below a symlink); the journal stays.
pub(super) fn remove_temps(root: &Path, journal: &Journal) -> Result<(), EmitError> {
    for temp in journal.temps.iter().filter(|l| is_temp(l)) {
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
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(io("remove", &target, e)),
            _ => {}
        }
    }
    Ok(())
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
            journal::JOURNAL,
        ] {
            assert!(!is_temp(line), "{line}");
        }
    }
}
