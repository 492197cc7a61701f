//! `build` into an output root that holds none of the tree: each file is written as soon as
//! it is rendered, so rendering and writing share the machine instead of taking turns.
//!
//! It applies when the owner's lock file and journal are not there, nor any other owner's
//! lock file that could record a path of the tree, nor the tree's top folders
//! ([`crate::render::top_folders`]: a cluster spec's top-level folders; a fleet cluster's
//! `clusters/<cluster>` and the folders in `fleet/<cluster>/`), nor their temp names. Each top
//! folder is written whole under its temp name (`.<name>.gitopsc-tmp`, beside it), listed in
//! the journal before it exists, and renamed into place once every file is written and the
//! journal lists their hashes; the lock file follows, then the journal goes — what
//! [`super::write`] does for new folders. Nothing can be in the way, so there is nothing to
//! compare, and the rendered tree is never held in memory.

use super::journal::{self, JOURNAL, Journal};
use super::lock::{self, Lock, is_safe_relative, sha256_hex};
use super::owner::Owner;
use super::write::{io, put_streamed, remove_temps, step, temp_of, write_new};
use super::{EmitError, Stamp};
use std::collections::{BTreeSet, HashMap};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A build in progress into a fresh output root.
pub struct Fresh {
    root: PathBuf,
    /// Whose tree it is: where its lock file and journal go.
    owner: Owner,
    /// The tree's top folders.
    tops: BTreeSet<String>,
    /// Each folder below them, made once (by whichever file needs it first).
    made: Mutex<HashMap<String, Arc<OnceLock<bool>>>>,
}

/// Why a file could not be written.
#[derive(Debug)]
pub enum PutError {
    /// The file does not fit the plan (a path outside the top folders, or rendered twice):
    /// the build goes the general way instead.
    Unplanned,
    /// Writing failed.
    Io(EmitError),
}

impl Fresh {
    /// Starts `owner`'s build into `root` when it holds none of the tree whose top folders
    /// are `tops`, nor a lock file of another owner that could record its paths (`rivals`,
    /// [`Owner::rivals`]): writes the journal and makes the temp folders. `None` when the
    /// root is not fresh (or cannot be examined): then the general way applies.
    pub fn begin(
        root: &Path,
        owner: &Owner,
        tops: &BTreeSet<String>,
        rivals: &[String],
    ) -> Result<Option<Fresh>, EmitError> {
        let absent = |name: &str| matches!(std::fs::symlink_metadata(root.join(name)), Err(e) if e.kind() == ErrorKind::NotFound);
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            _ => return Ok(None),
        }
        // Tops that nest would be written twice.
        let nested = tops.iter().any(|t| tops.iter().any(|n| below(t, n)));
        let (lock_path, journal) = (owner.lock_path(), journal_path(owner));
        let temps: Vec<String> = (tops.iter().map(String::as_str))
            .chain(std::iter::once(lock_path.as_str()))
            .map(temp_of)
            .collect();
        let fresh = [lock_path.as_str(), journal.as_str()]
            .into_iter()
            .chain(rivals.iter().map(String::as_str))
            .chain(tops.iter().map(String::as_str))
            .chain(temps.iter().map(String::as_str))
            .all(absent);
        if nested || !fresh || tops.iter().any(|t| !is_safe_relative(t)) {
            return Ok(None);
        }
        let ledger = root.join(owner.dir());
        std::fs::create_dir_all(&ledger).map_err(|e| io("create", &ledger, e))?;
        journal::add_temps(&ledger, &temps)?;
        for top in tops {
            let temp = root.join(temp_of(top));
            let made = temp
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::create_dir(&temp));
            if let Err(e) = made {
                let _ = clear(root, owner);
                return Err(io("create", &temp, e));
            }
        }
        Ok(Some(Fresh {
            root: root.to_path_buf(),
            owner: owner.clone(),
            tops: tops.clone(),
            made: Mutex::new(HashMap::new()),
        }))
    }

    /// Writes one rendered file under its top folder's temp name; returns its path and hash
    /// for the lock file.
    pub fn put(&self, path: String, bytes: Vec<u8>) -> Result<(String, String), PutError> {
        let Some((top, rest)) = self.top_of(&path) else {
            return Err(PutError::Unplanned);
        };
        if !is_safe_relative(&path) {
            return Err(PutError::Unplanned);
        }
        if let Some((dir, _)) = rest.rsplit_once('/') {
            self.make_dir(top, dir);
        }
        let target = self.root.join(temp_of(top)).join(rest);
        match write_new(&target, &bytes) {
            Ok(()) => Ok((path, sha256_hex(&bytes))),
            Err((_, e)) if e.kind() == ErrorKind::AlreadyExists => Err(PutError::Unplanned),
            Err((p, e)) => Err(PutError::Io(io("write", &p, e))),
        }
    }

    /// The top folder `path` lies in, and the rest of the path below it.
    fn top_of<'p>(&self, path: &'p str) -> Option<(&'p str, &'p str)> {
        path.match_indices('/')
            .map(|(i, _)| (&path[..i], &path[i + 1..]))
            .find(|(top, _)| self.tops.contains(*top))
    }

    /// Makes the folder `dir` below the top folder `top`, under its temp name, once, its
    /// parents first (one `mkdir` each, none that fails); a failure shows as the write's.
    fn make_dir(&self, top: &str, dir: &str) -> bool {
        let once = {
            let key = format!("{top}/{dir}");
            let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
            match made.get(&key) {
                Some(once) => once.clone(),
                None => made.entry(key).or_default().clone(),
            }
        };
        *once.get_or_init(|| {
            let parent_made = match dir.rsplit_once('/') {
                Some((parent, _)) => self.make_dir(top, parent),
                None => true, // right below the top: its temp folder exists
            };
            parent_made && std::fs::create_dir(self.root.join(temp_of(top)).join(dir)).is_ok()
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
        let ledger = self.root.join(self.owner.dir());
        let done = (|| {
            journal::add_files(&ledger, files.iter().map(|(p, h)| (p.as_str(), h.as_str())))?;
            for top in &self.tops {
                let (temp, target) = (self.root.join(temp_of(top)), self.root.join(top));
                step()
                    .and_then(|()| std::fs::rename(&temp, &target))
                    .map_err(|e| io("move into place", &target, e))?;
            }
            let lock = Lock {
                generator: lock::generator(),
                fleet: self.owner.fleet.clone(),
                cluster: self.owner.cluster.clone(),
                spec: stamp.spec.clone(),
                input: stamp.input.clone(),
                charts: stamp.charts.clone(),
                warnings: stamp.warnings.clone(),
                files: files.into_iter().collect(),
            };
            let lock_path = self.owner.lock_path();
            step().map_err(|e| io("write", &self.root.join(&lock_path), e))?;
            let mut digest = String::new();
            put_streamed(&self.root, &lock_path, |out| {
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
                if let Ok(Some(listed)) = Journal::read(&ledger) {
                    let _ = remove_temps(&self.root, &listed);
                }
                return Err(e);
            }
        };
        journal::remove(&ledger)?;
        Ok(lock)
    }

    /// Removes everything this build wrote (its temp folders; nothing is in place yet), the
    /// journal last.
    pub fn abandon(self) -> Result<(), EmitError> {
        clear(&self.root, &self.owner)
    }
}

/// Whether `path` lies below the folder `dir`.
fn below(dir: &str, path: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// The owner's journal, relative to the root.
fn journal_path(owner: &Owner) -> String {
    match owner.dir().as_str() {
        "" => JOURNAL.to_string(),
        dir => format!("{dir}/{JOURNAL}"),
    }
}

/// Removes the temp names the owner's journal lists, then the journal.
fn clear(root: &Path, owner: &Owner) -> Result<(), EmitError> {
    let ledger = root.join(owner.dir());
    if let Some(listed) = Journal::read(&ledger)? {
        remove_temps(root, &listed)?;
    }
    journal::remove(&ledger)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::lock::LOCK_FILE;

    fn tops() -> BTreeSet<String> {
        ["clusters", "workloads"].map(String::from).into_iter().collect()
    }

    /// A cluster spec's build into `root`, begun.
    fn begin(root: &Path) -> Option<Fresh> {
        Fresh::begin(root, &Owner::default(), &tops(), &[]).unwrap()
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
            let fresh = begin(root);
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
    }

    #[test]
    fn files_appear_when_all_are_written_and_the_lock_records_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let fresh = begin(&root).unwrap();
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
            files.push(fresh.put(path.to_string(), path.as_bytes().to_vec()).unwrap());
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
        let fresh = begin(&root).unwrap();
        fresh.put("workloads/a/b.yaml".into(), b"x".to_vec()).unwrap();
        fresh.abandon().unwrap();
        let names = |root: &Path| std::fs::read_dir(root).unwrap().count();
        assert_eq!(names(&root), 1, "only README.md is left");

        // Killed: the journal stays, and names what the next build removes. (A build in
        // progress cleans up nothing when dropped: only `abandon` does.)
        let fresh = begin(&root).unwrap();
        fresh.put("clusters/a/b.yaml".into(), b"x".to_vec()).unwrap();
        drop(fresh);
        assert!(begin(&root).is_none(), "a journal is there");
        clear(&root, &Owner::default()).unwrap();
        assert_eq!(names(&root), 1);
        assert_eq!(std::fs::read_to_string(root.join("README.md")).unwrap(), "mine");
    }

    #[test]
    fn a_fleet_cluster_writes_its_own_folders_beside_the_other_clusters() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        for (path, text) in [
            ("clusters/other/flux.yaml", "theirs"),
            ("fleet/other/workloads/a.yaml", "theirs"),
            ("fleet/other/gitopsc.lock", "theirs"),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), text).unwrap();
        }
        let owner = Owner::fleet_cluster("f", "c");
        let tops: BTreeSet<String> = ["clusters/c", "fleet/c/workloads"].map(String::from).into();
        let fresh = Fresh::begin(&root, &owner, &tops, &owner.rivals(["c"].into_iter()))
            .unwrap()
            .unwrap();
        let journal = Journal::read(&root.join("fleet/c")).unwrap().unwrap();
        assert_eq!(
            journal.temps,
            [
                "clusters/.c.gitopsc-tmp",
                "fleet/c/.workloads.gitopsc-tmp",
                "fleet/c/.gitopsc.lock.gitopsc-tmp"
            ]
        );
        let mut files = Vec::new();
        for path in ["clusters/c/flux.yaml", "fleet/c/workloads/x/a.yaml"] {
            files.push(fresh.put(path.to_string(), path.as_bytes().to_vec()).unwrap());
        }
        for path in [
            "clusters/other/b.yaml",
            "fleet/c/x.yaml",
            "fleet/other/workloads/b.yaml",
        ] {
            let put = fresh.put(path.to_string(), Vec::new());
            assert!(matches!(put, Err(PutError::Unplanned)), "{path}: {put:?}");
        }
        let (lock, _) = fresh.finish(files, &stamp()).unwrap();
        assert_eq!((lock.fleet.as_str(), lock.cluster.as_str()), ("f", "c"));
        let on_disk = Lock::parse(&std::fs::read(root.join("fleet/c/gitopsc.lock")).unwrap()).unwrap();
        assert_eq!(on_disk, lock);
        assert_eq!(lock.files.len(), 2);
        assert!(!root.join(LOCK_FILE).exists() && !root.join("fleet/c").join(JOURNAL).exists());
        assert_eq!(
            std::fs::read_to_string(root.join("fleet/c/workloads/x/a.yaml")).unwrap(),
            "fleet/c/workloads/x/a.yaml"
        );
        for path in [
            "clusters/other/flux.yaml",
            "fleet/other/workloads/a.yaml",
            "fleet/other/gitopsc.lock",
        ] {
            assert_eq!(
                std::fs::read_to_string(root.join(path)).unwrap(),
                "theirs",
                "{path}"
            );
        }
    }

    #[test]
    fn a_lock_file_that_could_record_the_tree_leaves_the_general_way_to_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir_all(root.join("fleet/c")).unwrap();
        let fleet = Owner::fleet_cluster("f", "c");
        let own: BTreeSet<String> = ["clusters/c", "fleet/c/workloads"].map(String::from).into();
        // A cluster spec's lock file in the root may record `clusters/c/`.
        std::fs::write(root.join(LOCK_FILE), "x").unwrap();
        let rivals = fleet.rivals(["c"].into_iter());
        assert!(Fresh::begin(&root, &fleet, &own, &rivals).unwrap().is_none());
        std::fs::remove_file(root.join(LOCK_FILE)).unwrap();
        // A fleet cluster's lock file may record the cluster spec's `clusters/c/`.
        std::fs::write(root.join("fleet/c/gitopsc.lock"), "x").unwrap();
        let spec = Owner::default();
        let rivals = spec.rivals(["c"].into_iter());
        assert_eq!(rivals, ["fleet/c/gitopsc.lock"]);
        assert!(Fresh::begin(&root, &spec, &tops(), &rivals).unwrap().is_none());
        assert!(
            Fresh::begin(&root, &spec, &tops(), &spec.rivals(["d"].into_iter()))
                .unwrap()
                .is_some()
        );
        // Tops that nest are no plan.
        let nested: BTreeSet<String> = ["fleet/c/workloads", "fleet/c/workloads/a"]
            .map(String::from)
            .into();
        let empty = dir.path().join("empty");
        assert!(Fresh::begin(&empty, &fleet, &nested, &[]).unwrap().is_none());
    }
}
