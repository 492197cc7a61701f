//! `build` into an output root that holds none of the tree: each file is written as soon as
//! it is rendered, so rendering and writing share the machine instead of taking turns.
//!
//! It applies when the root has no lock file, no journal, no fleet cluster's lock file that
//! could record the tree's paths ([`super::owner::Owner::rivals`]: the general way refuses
//! such a tree), and none of the tree's top-level folders, nor their temp names. Each
//! top-level folder is written whole under its temp name
//! (`.<name>.gitopsc-tmp/`), listed in the journal before it exists, and renamed into place
//! once every file is written and the journal lists their hashes; the lock file follows,
//! then the journal goes — what [`super::write`] does for new folders. A cluster spec's
//! tree only: a fleet's cluster, whose lock file is in its own folder, is built the general way. Nothing can be in the way, so there is nothing to
//! compare, and the rendered tree is never held in memory.

use super::journal::{self, JOURNAL, Journal};
use super::lock::{LOCK_FILE, Lock, is_safe_relative, sha256_hex};
use super::write::{io, put_streamed, remove_temps, step, temp_of, write_new};
use super::{EmitError, Stamp};
use crate::incremental::Stat;
use std::collections::{BTreeSet, HashMap};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A build in progress into a fresh output root.
pub struct Fresh {
    root: PathBuf,
    /// The tree's top-level folders.
    tops: BTreeSet<String>,
    /// Each folder below them, made once (by whichever file needs it first).
    made: Mutex<HashMap<String, Arc<OnceLock<bool>>>>,
}

/// A file written: its path and hash, and its stat as written (none where it cannot be had).
pub type Put = (String, String, Option<Stat>);

/// Why a file could not be written.
#[derive(Debug)]
pub enum PutError {
    /// The file does not fit the plan (a path outside the top-level folders, or rendered
    /// twice): the build goes the general way instead.
    Unplanned,
    /// Writing failed.
    Io(EmitError),
}

impl Fresh {
    /// Starts a build into `root` when it holds none of the tree whose top-level folders are
    /// `tops`, nor any of the lock files `rivals` (other owners' that could record its paths):
    /// writes the journal and makes the temp folders. `None` when the root is not fresh (or
    /// cannot be examined): then the general way applies.
    pub fn begin(root: &Path, tops: &BTreeSet<&str>, rivals: &[String]) -> Result<Option<Fresh>, EmitError> {
        let absent = |name: &str| matches!(std::fs::symlink_metadata(root.join(name)), Err(e) if e.kind() == ErrorKind::NotFound);
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            _ => return Ok(None),
        }
        let temps: Vec<String> = tops
            .iter()
            .copied()
            .chain(std::iter::once(LOCK_FILE))
            .map(temp_of)
            .collect();
        let fresh = [LOCK_FILE, JOURNAL]
            .into_iter()
            .chain(rivals.iter().map(String::as_str))
            .chain(tops.iter().copied())
            .chain(temps.iter().map(String::as_str))
            .all(absent);
        if !fresh {
            return Ok(None);
        }
        std::fs::create_dir_all(root).map_err(|e| io("create", root, e))?;
        journal::add_temps(root, &temps)?;
        for top in tops {
            let temp = root.join(temp_of(top));
            if let Err(e) = std::fs::create_dir(&temp) {
                let _ = clear(root);
                return Err(io("create", &temp, e));
            }
        }
        Ok(Some(Fresh {
            root: root.to_path_buf(),
            tops: tops.iter().map(|t| t.to_string()).collect(),
            made: Mutex::new(HashMap::new()),
        }))
    }

    /// Writes one rendered file under its top-level folder's temp name; returns its path and
    /// hash for the lock file, and its stat as written for the tree's cache.
    pub fn put(&self, path: String, bytes: Vec<u8>) -> Result<Put, PutError> {
        let Some((top, rest)) = path.split_once('/') else {
            return Err(PutError::Unplanned);
        };
        if !is_safe_relative(&path) || !self.tops.contains(top) {
            return Err(PutError::Unplanned);
        }
        if let Some((dir, _)) = path.rsplit_once('/') {
            self.make_dir(dir);
        }
        let target = self.root.join(temp_of(top)).join(rest);
        match write_new(&target, &bytes) {
            Ok(file) => Ok((path, sha256_hex(&bytes), Stat::of_file(&file))),
            Err((_, e)) if e.kind() == ErrorKind::AlreadyExists => Err(PutError::Unplanned),
            Err((p, e)) => Err(PutError::Io(io("write", &p, e))),
        }
    }

    /// Makes the folder of the tree at `dir` under its top-level folder's temp name, once,
    /// its parents first (one `mkdir` each, none that fails); a failure shows as the write's.
    fn make_dir(&self, dir: &str) -> bool {
        let Some((parent, _)) = dir.rsplit_once('/') else {
            return true; // a top-level folder: its temp folder exists
        };
        let once = {
            let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
            match made.get(dir) {
                Some(once) => once.clone(),
                None => made.entry(dir.to_string()).or_default().clone(),
            }
        };
        *once.get_or_init(|| {
            self.make_dir(parent) && {
                let (top, below) = dir.split_once('/').unwrap_or((dir, ""));
                std::fs::create_dir(self.root.join(temp_of(top)).join(below)).is_ok()
            }
        })
    }

    /// Moves the written folders into place and writes the lock file of `files` (path,
    /// hash); returns the lock file and the sha256 of its bytes.
    pub fn finish(
        self,
        mut files: Vec<(String, String)>,
        stamp: &Stamp,
    ) -> Result<(Lock, String), EmitError> {
        use rayon::slice::ParallelSliceMut;
        // Sorted on both cores: the map is then built in one pass.
        files.par_sort_unstable();
        let done = (|| {
            journal::add_files(&self.root, files.iter().map(|(p, h)| (p.as_str(), h.as_str())))?;
            for top in &self.tops {
                let (temp, target) = (self.root.join(temp_of(top)), self.root.join(top));
                step()
                    .and_then(|()| std::fs::rename(&temp, &target))
                    .map_err(|e| io("move into place", &target, e))?;
            }
            let lock = stamp.lock_of(files.into_iter().collect());
            step().map_err(|e| io("write", &self.root.join(LOCK_FILE), e))?;
            let mut digest = String::new();
            put_streamed(&self.root, LOCK_FILE, |out| {
                digest = lock.write_hashed(out)?;
                Ok(())
            })
            .map_err(|(p, e)| io("write", &p, e))?;
            Ok((lock, digest))
        })();
        let lock = match done {
            Ok(lock) => lock,
            Err(e) => {
                // The temp folders go; the journal stays: it lists what is in place already.
                if let Ok(Some(listed)) = Journal::read(&self.root) {
                    let _ = remove_temps(&self.root, &listed);
                }
                return Err(e);
            }
        };
        journal::remove(&self.root)?;
        Ok(lock)
    }

    /// Removes everything this build wrote (its temp folders; nothing is in place yet), the
    /// journal last.
    pub fn abandon(self) -> Result<(), EmitError> {
        clear(&self.root)
    }
}

/// Removes the temp names the journal lists, then the journal.
fn clear(root: &Path) -> Result<(), EmitError> {
    if let Some(listed) = Journal::read(root)? {
        remove_temps(root, &listed)?;
    }
    journal::remove(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::owner::Owner;

    fn tops() -> BTreeSet<&'static str> {
        ["clusters", "workloads"].into_iter().collect()
    }

    fn stamp() -> Stamp {
        Stamp {
            spec: "sha256:s".into(),
            input: "sha256:i".into(),
            ..Stamp::default()
        }
    }

    #[test]
    fn only_a_root_that_holds_none_of_the_tree_is_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let begun = |root: &Path| {
            let fresh = Fresh::begin(root, &tops(), &[]).unwrap();
            let taken = fresh.is_some();
            if let Some(f) = fresh {
                f.abandon().unwrap();
            }
            taken
        };
        assert!(begun(&root), "a missing root");
        std::fs::create_dir_all(root.join("flux-system")).unwrap();
        std::fs::write(root.join("README.md"), "mine").unwrap();
        assert!(begun(&root), "a root with other files");
        assert_eq!(std::fs::read_to_string(root.join("README.md")).unwrap(), "mine");
        for (name, folder) in [
            ("gitopsc.lock", false),
            (".gitopsc-journal", false),
            ("workloads", true),
            ("clusters", false),
            (".clusters.gitopsc-tmp", true),
            (".gitopsc.lock.gitopsc-tmp", false),
        ] {
            let path = root.join(name);
            if folder {
                std::fs::create_dir(&path).unwrap();
            } else {
                std::fs::write(&path, "x").unwrap();
            }
            assert!(!begun(&root), "{name} is there");
            assert!(path.exists(), "{name} was touched");
            if folder {
                std::fs::remove_dir(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(!begun(&file), "a root that is a file");
        // A fleet cluster's lock file may record the cluster spec's `clusters/c/`.
        let rivals = Owner::default().rivals(["c"].into_iter());
        assert_eq!(rivals, ["fleet/c/gitopsc.lock"]);
        std::fs::create_dir_all(root.join("fleet/c")).unwrap();
        std::fs::write(root.join("fleet/c/gitopsc.lock"), "x").unwrap();
        assert!(Fresh::begin(&root, &tops(), &rivals).unwrap().is_none());
        let others = Owner::default().rivals(["d"].into_iter());
        let fresh = Fresh::begin(&root, &tops(), &others).unwrap().unwrap();
        fresh.abandon().unwrap();
    }

    #[test]
    fn files_appear_when_all_are_written_and_the_lock_records_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let fresh = Fresh::begin(&root, &tops(), &[]).unwrap().unwrap();
        let journal = Journal::read(&root).unwrap().unwrap();
        assert_eq!(
            journal.temps,
            [
                ".clusters.gitopsc-tmp",
                ".workloads.gitopsc-tmp",
                ".gitopsc.lock.gitopsc-tmp"
            ]
        );
        let mut files = Vec::new();
        for path in ["workloads/a/b/c.yaml", "workloads/a/d.yaml", "clusters/x/a.yaml"] {
            let (path, hash, _) = fresh.put(path.to_string(), path.as_bytes().to_vec()).unwrap();
            files.push((path, hash));
        }
        assert!(!root.join("workloads").exists(), "a folder showed before the end");
        for path in [
            "elsewhere/x.yaml",
            "top.yaml",
            "workloads/../x.yaml",
            "workloads/a/d.yaml",
        ] {
            let put = fresh.put(path.to_string(), Vec::new());
            assert!(matches!(put, Err(PutError::Unplanned)), "{path}: {put:?}");
        }
        assert_eq!(fresh.finish(files, &stamp()).unwrap().0.files.len(), 3);
        assert_eq!(
            std::fs::read_to_string(root.join("workloads/a/b/c.yaml")).unwrap(),
            "workloads/a/b/c.yaml"
        );
        let lock = Lock::parse(&std::fs::read(root.join(LOCK_FILE)).unwrap()).unwrap();
        assert_eq!(lock.input, "sha256:i");
        assert_eq!(lock.files["clusters/x/a.yaml"], sha256_hex(b"clusters/x/a.yaml"));
        assert_eq!(lock.files.len(), 3);
        let mut names: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["clusters", "gitopsc.lock", "workloads"]);
    }

    #[test]
    fn an_abandoned_or_killed_build_leaves_nothing_the_next_does_not_remove() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("README.md"), "mine").unwrap();
        let fresh = Fresh::begin(&root, &tops(), &[]).unwrap().unwrap();
        fresh.put("workloads/a/b.yaml".into(), b"x".to_vec()).unwrap();
        fresh.abandon().unwrap();
        let names = |root: &Path| std::fs::read_dir(root).unwrap().count();
        assert_eq!(names(&root), 1, "only README.md is left");

        // Killed: the journal stays, and names what the next build removes. (A build in
        // progress cleans up nothing when dropped: only `abandon` does.)
        let fresh = Fresh::begin(&root, &tops(), &[]).unwrap().unwrap();
        fresh.put("clusters/a/b.yaml".into(), b"x".to_vec()).unwrap();
        drop(fresh);
        assert!(
            Fresh::begin(&root, &tops(), &[]).unwrap().is_none(),
            "a journal is there"
        );
        clear(&root).unwrap();
        assert_eq!(names(&root), 1);
        assert_eq!(std::fs::read_to_string(root.join("README.md")).unwrap(), "mine");
    }
}
