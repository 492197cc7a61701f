//! `build` into an output root that holds none of the tree: each file is written as soon as
//! it is rendered, so rendering and writing share the machine instead of taking turns.
//!
//! It applies when the owner's folder (the root for a cluster spec, `fleet/<cluster>` for a
//! cluster of a fleet) has no lock file and no journal, and every folder the tree writes
//! files into is missing, or below a missing folder. The tree's **top folders** are those
//! missing folders nearest the root: the first component of every path for a cluster spec
//! into an empty root; `clusters/<cluster>` and `fleet/<cluster>/<layer>` for a cluster of a
//! fleet whose root holds other clusters. Each is written whole under its temp name
//! (`<parent>/.<name>.gitopsc-tmp/`), listed in the journal before it exists, and renamed
//! into place once every file is written and the journal lists their hashes; the lock file
//! follows, then the journal goes — what [`super::write`] does for new folders. Nothing can
//! be in the way, so there is nothing to compare, and the rendered tree is never held in
//! memory.

use super::journal::{self, JOURNAL, Journal};
use super::lock::{self, LOCK_FILE, Lock, is_safe_relative, sha256_hex};
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
    /// Whose tree it is: its folder (relative to the root) holds the lock file and journal.
    owner: Owner,
    /// The tree's top folders (relative to the root): missing when the build began.
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

/// What a path is on disk, not following a symlink.
#[derive(Clone, Copy, PartialEq)]
enum Found {
    Missing,
    Folder,
    /// A file, a symlink, or what cannot be examined.
    Other,
}

fn found(path: &Path) -> Found {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Found::Folder,
        Err(e) if e.kind() == ErrorKind::NotFound => Found::Missing,
        _ => Found::Other,
    }
}

/// The top folders of a tree whose files sit in the folders `dirs`: for each, the missing
/// folder nearest the root on its way (its parents real folders, no symlink); with `first`,
/// the first component of each, which must be missing. `None` when a folder exists whole, or
/// a file or symlink is on the way: the general way applies.
fn plan(root: &Path, dirs: &[&str], first: bool) -> Option<BTreeSet<String>> {
    let mut seen: HashMap<&str, Found> = HashMap::new();
    let mut tops = BTreeSet::new();
    for &dir in dirs {
        let mut top = None;
        for (i, _) in dir.match_indices('/').chain(std::iter::once((dir.len(), ""))) {
            let prefix = &dir[..i];
            let state = *seen.entry(prefix).or_insert_with(|| found(&root.join(prefix)));
            match state {
                Found::Folder if !first => continue,
                Found::Folder => return None,
                Found::Missing => top = Some(prefix),
                Found::Other => return None,
            }
            break;
        }
        let top = top?;
        if !tops.contains(top) {
            tops.insert(top.to_string());
        }
    }
    Some(tops)
}

impl Fresh {
    /// Starts a build for `owner` into `root` when it holds none of the tree whose files
    /// sit in the folders `dirs` (see the module's doc): writes the journal and makes the
    /// temp folders. `None` when the root is not fresh (or cannot be examined): then the
    /// general way applies.
    pub fn begin(root: &Path, owner: &Owner, dirs: &[&str]) -> Result<Option<Fresh>, EmitError> {
        let ledger = owner.dir();
        match found(root) {
            Found::Folder => {}
            Found::Missing if ledger.is_empty() => {}
            _ => return Ok(None),
        }
        if dirs.iter().any(|d| d.is_empty() || !is_safe_relative(d)) {
            return Ok(None);
        }
        let ledger_path = root.join(&ledger);
        let ledger_ready = ledger.is_empty() || found(&ledger_path) == Found::Folder;
        let free = |name: &str| found(&ledger_path.join(name)) == Found::Missing;
        if !ledger_ready || !free(LOCK_FILE) || !free(JOURNAL) {
            return Ok(None);
        }
        // Only a cluster's own lock file records paths below the top folders planned: a
        // cluster spec's tree is fresh only where its top-level folders are all missing (a
        // fleet's cluster could record paths in `clusters/`), and a fleet's cluster's only in
        // a root without a cluster spec's lock file. The general way compares with the rest.
        if !ledger.is_empty() && found(&root.join(LOCK_FILE)) != Found::Missing {
            return Ok(None);
        }
        let Some(tops) = plan(root, dirs, ledger.is_empty()) else {
            return Ok(None);
        };
        let temps: Vec<String> = tops
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(owner.lock_path().as_str()))
            .map(temp_of)
            .collect();
        if !temps.iter().all(|t| found(&root.join(t)) == Found::Missing) {
            return Ok(None);
        }
        std::fs::create_dir_all(root).map_err(|e| io("create", root, e))?;
        journal::add_temps(&ledger_path, &temps)?;
        let fresh = Fresh {
            root: root.to_path_buf(),
            owner: owner.clone(),
            tops,
            made: Mutex::new(HashMap::new()),
        };
        for top in &fresh.tops {
            let temp = root.join(temp_of(top));
            if let Err(e) = std::fs::create_dir(&temp) {
                let _ = clear(root, &ledger);
                return Err(io("create", &temp, e));
            }
        }
        Ok(Some(fresh))
    }

    /// The top folder that holds `path`, and the rest of the path below it.
    fn split<'p>(&self, path: &'p str) -> Option<(&'p str, &'p str)> {
        path.match_indices('/')
            .map(|(i, _)| (&path[..i], &path[i + 1..]))
            .find(|(top, _)| self.tops.contains(*top))
    }

    /// Writes one rendered file under its top folder's temp name; returns its path and
    /// hash for the lock file.
    pub fn put(&self, path: String, bytes: Vec<u8>) -> Result<(String, String), PutError> {
        if !is_safe_relative(&path) {
            return Err(PutError::Unplanned);
        }
        let Some((top, rest)) = self.split(&path) else {
            return Err(PutError::Unplanned);
        };
        if let Some((dir, _)) = path.rsplit_once('/') {
            self.make_dir(dir);
        }
        let target = self.root.join(temp_of(top)).join(rest);
        match write_new(&target, &bytes) {
            Ok(()) => Ok((path, sha256_hex(&bytes))),
            Err((_, e)) if e.kind() == ErrorKind::AlreadyExists => Err(PutError::Unplanned),
            Err((p, e)) => Err(PutError::Io(io("write", &p, e))),
        }
    }

    /// Makes the folder of the tree at `dir` under its top-level folder's temp name, once,
    /// its parents first (one `mkdir` each, none that fails); a failure shows as the write's.
    fn make_dir(&self, dir: &str) -> bool {
        if self.tops.contains(dir) {
            return true; // its temp folder exists
        }
        let (Some((top, below)), Some((parent, _))) = (self.split(dir), dir.rsplit_once('/')) else {
            return false;
        };
        let once = {
            let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
            match made.get(dir) {
                Some(once) => once.clone(),
                None => made.entry(dir.to_string()).or_default().clone(),
            }
        };
        *once.get_or_init(|| {
            self.make_dir(parent) && std::fs::create_dir(self.root.join(temp_of(top)).join(below)).is_ok()
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
                // A folder no file was rendered into is not made: the general way makes none.
                let empty = std::fs::read_dir(&temp).is_ok_and(|mut d| d.next().is_none());
                step()
                    .and_then(|()| {
                        if empty {
                            std::fs::remove_dir(&temp)
                        } else {
                            std::fs::rename(&temp, &target)
                        }
                    })
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
        clear(&self.root, &self.owner.dir())
    }
}

/// Removes the temp names the journal in `ledger` lists (relative to `root`), then the
/// journal.
fn clear(root: &Path, ledger: &str) -> Result<(), EmitError> {
    let ledger = root.join(ledger);
    if let Some(listed) = Journal::read(&ledger)? {
        remove_temps(root, &listed)?;
    }
    journal::remove(&ledger)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folders of a cluster spec's tree.
    const DIRS: &[&str] = &["clusters", "workloads"];

    fn begin(root: &Path) -> Option<Fresh> {
        Fresh::begin(root, &Owner::default(), DIRS).unwrap()
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
            let fresh = Fresh::begin(root, &Owner::default(), DIRS).unwrap();
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
        clear(&root, "").unwrap();
        assert_eq!(names(&root), 1);
        assert_eq!(std::fs::read_to_string(root.join("README.md")).unwrap(), "mine");
    }

    #[test]
    fn a_cluster_of_a_fleet_writes_only_its_own_folders_beside_another_clusters() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            ("clusters/prod/gitopsc/a.yaml", "prod's"),
            ("fleet/prod/workloads/a/b.yaml", "prod's"),
            ("fleet/prod/gitopsc.lock", "prod's lock"),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), text).unwrap();
        }
        let owner = Owner::fleet_cluster("f", "stage");
        let dirs = [
            "clusters/stage/gitopsc",
            "fleet/stage/workloads/a",
            "fleet/stage/operators",
        ];
        assert!(
            Fresh::begin(root, &owner, &dirs).unwrap().is_none(),
            "its own folder is made before the build"
        );
        std::fs::create_dir_all(root.join("fleet/stage")).unwrap();
        let fresh = Fresh::begin(root, &owner, &dirs).unwrap().unwrap();
        let tops: Vec<&str> = fresh.tops.iter().map(String::as_str).collect();
        assert_eq!(
            tops,
            ["clusters/stage", "fleet/stage/operators", "fleet/stage/workloads"]
        );
        let files: Vec<_> = ["clusters/stage/gitopsc/k.yaml", "fleet/stage/workloads/a/x.yaml"]
            .into_iter()
            .map(|p| fresh.put(p.to_string(), p.as_bytes().to_vec()).unwrap())
            .collect();
        let put = fresh.put("fleet/prod/workloads/a/c.yaml".into(), Vec::new());
        assert!(matches!(put, Err(PutError::Unplanned)), "{put:?}");
        let (lock, _) = fresh.finish(files, &stamp()).unwrap();
        assert_eq!((lock.fleet.as_str(), lock.cluster.as_str()), ("f", "stage"));
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        assert_eq!(
            read("fleet/stage/workloads/a/x.yaml"),
            "fleet/stage/workloads/a/x.yaml"
        );
        assert!(read("fleet/stage/gitopsc.lock").contains("clusters/stage/gitopsc/k.yaml"));
        assert_eq!(read("fleet/prod/gitopsc.lock"), "prod's lock");
        assert_eq!(read("clusters/prod/gitopsc/a.yaml"), "prod's");
        assert!(!root.join("fleet/stage").join(JOURNAL).exists());
        assert!(
            !root.join("fleet/stage/operators").exists(),
            "an empty top folder is not left"
        );
        // A cluster spec's lock file in the root could record a path of the next cluster.
        std::fs::write(root.join(LOCK_FILE), "{}").unwrap();
        std::fs::create_dir_all(root.join("fleet/qa")).unwrap();
        let qa = Owner::fleet_cluster("f", "qa");
        assert!(
            Fresh::begin(root, &qa, &["clusters/qa/gitopsc"])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_symlink_or_a_file_on_the_way_is_not_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join("clusters")).unwrap();
        assert!(begin(&root).is_none());
        std::fs::remove_file(root.join("clusters")).unwrap();
        std::fs::create_dir_all(root.join("clusters")).unwrap();
        std::fs::write(root.join("clusters/x"), "mine").unwrap();
        let owner = Owner::default();
        assert!(Fresh::begin(&root, &owner, &["clusters/x/y"]).unwrap().is_none());
        assert!(std::fs::read_dir(&elsewhere).unwrap().next().is_none());
    }
}
