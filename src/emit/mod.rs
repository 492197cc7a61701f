//! Stage 3: emitting. The rendered in-memory tree against an output root on disk: what would
//! change, what is in the way, and (for `build`) writing it.
//!
//! Invariant: gitopsc writes or deletes only files it owns — recorded in the lock file with
//! the hash they still have — and only at safe relative paths inside the output root, never
//! through a symlink.

pub mod fresh;
pub mod guard;
pub mod journal;
pub mod lock;
pub mod markdown;
pub mod owner;
pub mod report;
pub mod review;
pub mod schemas;
pub mod write;

use crate::disk;
use journal::Journal;
use lock::{LOCK_FILE, Lock, sha256_hex};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

pub use crate::render::Tree;

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// New file.
    Added,
    /// Existing file gets new bytes.
    Changed,
    /// File gitopsc wrote before and no longer generates.
    Removed,
}

/// A file `build` would write or delete.
#[derive(Debug, Clone)]
pub struct Change {
    /// Relative path.
    pub path: String,
    /// Added, changed or removed.
    pub kind: ChangeKind,
    /// The bytes on disk before (changed, removed).
    pub old: Option<Vec<u8>>,
    /// Whether gitopsc wrote those bytes (their hash is one it recorded): not a hand edit.
    pub written: bool,
}

/// Why a file cannot be written or deleted without `--force`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictReason {
    /// A file gitopsc did not write is where a generated file goes.
    Foreign,
    /// A file gitopsc wrote was edited by hand since.
    HandEdited,
    /// A file gitopsc wrote and no longer generates was edited by hand since.
    HandEditedStale,
    /// A symlink, directory or other non-file is in the way.
    NotAFile(String),
}

/// A file in the way.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// Relative path.
    pub path: String,
    /// Why.
    pub reason: ConflictReason,
}

/// The output root compared with the rendered tree.
#[derive(Debug)]
pub struct Comparison {
    /// The output root.
    pub root: PathBuf,
    /// Files to add, change or remove (not counting conflicts), sorted by path.
    pub changes: Vec<Change>,
    /// Files in the way, sorted by path.
    pub conflicts: Vec<Conflict>,
    /// The lock file as it is on disk; its list of files leaves out the kept files when a run
    /// over changed apps read them from the tree cache ([`Recorded::without_kept`]).
    pub old_lock: Option<Lock>,
    /// The lock file a build writes.
    pub new_lock: Lock,
    /// The sha256 of its bytes: noted when a build writes it, or when compared
    /// ([`Comparison::lock_digest`]).
    lock_digest: std::sync::OnceLock<Option<String>>,
    /// Whether the lock file on disk differs from the new one.
    pub lock_changed: bool,
    /// Folders of the tree that do not exist yet, the topmost of each missing subtree:
    /// `build` writes each whole under a temp name and renames it into place.
    pub new_dirs: BTreeSet<String>,
    /// Whether the lock file records other files or another spec or gitopsc: a lock that
    /// differs only in its input stamp (say, a comment in the spec changed) is not stale;
    /// `build` still refreshes it.
    pub lock_stale: bool,
    /// The journal an interrupted build left, if any.
    pub journal: Option<Journal>,
    /// Whose tree it is: where its lock file and journal are.
    pub owner: owner::Owner,
}

impl Comparison {
    /// The sha256 (hex) of the new lock file's bytes (made through the hash, never whole);
    /// `None` if they cannot be made.
    pub fn lock_digest(&self) -> Option<&str> {
        self.lock_digest.get_or_init(|| self.new_lock.digest()).as_deref()
    }

    /// True when the output root matches the rendered tree exactly.
    pub fn is_current(&self) -> bool {
        self.changes.is_empty() && self.conflicts.is_empty() && !self.lock_stale
    }
}

/// What the lock file records of the inputs of a tree.
#[derive(Debug, Clone, Default)]
pub struct Stamp {
    /// `sha256:<hex>` of the spec's data.
    pub spec: String,
    /// `sha256:<hex>` of the spec's text and gitopsc's build; empty when blueprints were
    /// overridden (then a tree is never taken as current without rendering).
    pub input: String,
    /// The vendored charts folder the spec was checked against, if any.
    pub charts: Option<lock::ChartsStamp>,
    /// The spec's warnings, printed from the lock file when the tree is taken as current
    /// without rendering.
    pub warnings: Vec<lock::Warning>,
    /// Whose tree it is: a cluster spec's, or a fleet's cluster's.
    pub owner: owner::Owner,
}

impl Stamp {
    /// The input stamp of a spec's text rendered by this build with the built-in blueprints.
    pub fn input_of(text: &str) -> String {
        use sha2::Digest;
        // Hashed in place: a copy of a large spec's text would be fresh memory to fault in.
        let mut hash = sha2::Sha256::new();
        hash.update(text.as_bytes());
        hash.update(b"\0");
        hash.update(env!("CARGO_PKG_VERSION").as_bytes());
        hash.update(b"\0");
        hash.update(env!("GITOPSC_BUILD_ID").as_bytes());
        format!("sha256:{}", lock::hex(&hash.finalize()))
    }

    /// The lock file of a tree of `files` (path → sha256 hex) rendered with this stamp.
    pub fn lock_of(&self, files: BTreeMap<String, String>) -> Lock {
        Lock {
            generator: lock::generator(),
            fleet: self.owner.fleet.clone(),
            cluster: self.owner.cluster.clone(),
            spec: self.spec.clone(),
            input: self.input.clone(),
            charts: self.charts.clone(),
            warnings: self.warnings.clone(),
            files,
        }
    }
}

/// Whether the output root is exactly what this build rendered from this input before:
/// the lock file records it ([`recorded_for`]) and every file the lock lists still has its
/// hash (read and hashed, unless the cache records it untouched since:
/// [`crate::incremental::untouched`]). Returns the number of files and the spec's warnings
/// then; `None` means "render and compare". `check --full` never asks: it renders.
///
/// When the cache lists the very lock file's files ([`crate::incremental::listed`]), the
/// lock is read but for its list, and the files are checked from the cache's lines.
pub fn unchanged_for(
    root: &Path,
    owner: &owner::Owner,
    input: &str,
    spec_dir: &Path,
) -> Option<(usize, Vec<lock::Warning>)> {
    let bytes = lock_bytes_for(root, owner, input)?;
    if let Some((files, same)) = crate::incremental::listed(root, owner, &bytes) {
        let head = Lock::parse_head(&bytes).ok()?;
        records(root, owner, input, spec_dir, &head)?;
        return same.then_some((files, head.warnings));
    }
    let lock = Lock::parse(&bytes).ok()?;
    records(root, owner, input, spec_dir, &lock)?;
    crate::incremental::untouched(root, owner, &lock.files).then_some((lock.files.len(), lock.warnings))
}

/// Whether `root` holds `owner`'s lock file.
pub fn has_lock(root: &Path, owner: &owner::Owner) -> bool {
    disk::is_file(&root.join(owner.lock_path()))
}

/// `owner`'s lock file in `root`, read for a run over changed apps when this build of
/// gitopsc wrote it from `input` (not empty) with the vendored charts folder beside the spec
/// (in `spec_dir`) holding what it holds now, and no interrupted build left a journal since:
/// its head, the sha256 of its bytes, and the bytes, whose list of files is parsed only when
/// no tree cache lists the same files ([`Recorded::whole`]).
pub fn recorded_for(root: &Path, owner: &owner::Owner, input: &str, spec_dir: &Path) -> Option<Recorded> {
    let bytes = lock_bytes_for(root, owner, input)?;
    let head = Lock::parse_head(&bytes).ok()?;
    records(root, owner, input, spec_dir, &head)?;
    Some(Recorded {
        digest: sha256_hex(&bytes),
        head,
        bytes,
    })
}

/// A lock file read by [`recorded_for`].
pub struct Recorded {
    /// All but its list of files.
    pub head: lock::LockHead,
    /// The sha256 (hex) of its bytes.
    pub digest: String,
    bytes: Vec<u8>,
}

impl Recorded {
    /// The lock file parsed whole, list of files included.
    pub fn whole(self) -> Option<LockRead> {
        Some(LockRead {
            lock: Lock::parse(&self.bytes).ok()?,
            digest: self.digest,
            without_kept: false,
        })
    }

    /// The lock file with `files` as its list: those of the apps a run over changed apps
    /// renders, when the tree cache lists every file of this very lock file (the others are
    /// the run's kept files, with the same hashes).
    pub fn without_kept(self, files: BTreeMap<String, String>) -> LockRead {
        LockRead {
            lock: self.head.with_files(files),
            digest: self.digest,
            without_kept: true,
        }
    }
}

/// A lock file read before the comparison, with the sha256 of its bytes.
pub struct LockRead {
    /// The lock file; its list of files leaves out the kept files when `without_kept`.
    pub lock: Lock,
    /// The sha256 (hex) of its bytes.
    pub digest: String,
    /// Whether the list leaves out the kept files ([`Recorded::without_kept`]).
    pub without_kept: bool,
}

/// The bytes of `owner`'s lock file in `root`, unless its head shows that it records
/// another input than `input` (or `input` is empty).
fn lock_bytes_for(root: &Path, owner: &owner::Owner, input: &str) -> Option<Vec<u8>> {
    if input.is_empty() {
        return None;
    }
    let mut file = disk::open(&root.join(owner.lock_path())).ok()?;
    // Most often the input differs: known from the head, without reading every file's entry.
    let mut bytes = Vec::new();
    std::io::Read::take(&mut file, lock::HEAD_LEN as u64)
        .read_to_end(&mut bytes)
        .ok()?;
    lock::head_input(&bytes)
        .is_none_or(|head| head == input)
        .then_some(())?;
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Whether `lock` records what this build of gitopsc wrote for `owner` from `input`, with the
/// vendored charts folder in `spec_dir` as it is now, and no journal of an interrupted build.
fn records<Files>(
    root: &Path,
    owner: &owner::Owner,
    input: &str,
    spec_dir: &Path,
    lock: &lock::LockOf<Files>,
) -> Option<()> {
    written_from(owner, input, spec_dir, lock)?;
    disk::kind(&root.join(owner.dir()).join(journal::JOURNAL))
        .is_err()
        .then_some(())
}

/// Whether `lock` records what this build of gitopsc wrote for `owner` from `input`, with the
/// vendored charts folder in `spec_dir` as it is now.
fn written_from<Files>(
    owner: &owner::Owner,
    input: &str,
    spec_dir: &Path,
    lock: &lock::LockOf<Files>,
) -> Option<()> {
    if input.is_empty()
        || lock.input != input
        || lock.generator != lock::generator()
        || owner::Owner::of(lock) != *owner
    {
        return None;
    }
    // The same text names the same folder: the lock's is the spec's.
    let dir = lock
        .charts
        .as_ref()
        .map_or(crate::charts::DEFAULT_DIR, |c| c.dir.as_str());
    (crate::charts::Folder::scan(spec_dir, dir).stamp() == lock.charts).then_some(())
}

/// `owner`'s lock file in `root` as the disk holds it beneath a view that replaces it (a
/// `check --staged` of a tree built and not staged), when this build of gitopsc wrote it from
/// `input` with the vendored charts folder in `spec_dir` as it is now, and no interrupted
/// build left a journal on disk since.
pub fn recorded_beneath(root: &Path, owner: &owner::Owner, input: &str, spec_dir: &Path) -> Option<Lock> {
    let lock_path = owner.lock_path();
    // Only where a view stands over the lock file: else the plain ways decide.
    disk::replaced(root, &lock_path).is_some().then_some(())?;
    let lock = Lock::parse(&disk::read_beneath(&root.join(&lock_path)).ok()?).ok()?;
    written_from(owner, input, spec_dir, &lock)?;
    disk::kind_beneath(&root.join(owner.dir()).join(journal::JOURNAL))
        .is_err()
        .then_some(lock)
}

/// Errors that stop a comparison (reported as exit 2): the message, the help, and the code of
/// the error index.
#[derive(Debug)]
pub struct EmitError(pub String, pub Option<String>, pub crate::diagnostic::Code);

/// The files of a tree that were not rendered, known to be on disk as rendered: path → hash.
pub type Kept = BTreeMap<String, String>;

/// What is known of rendered files without reading them: the hash each has on disk, untouched
/// since it was written (see [`crate::incremental`]).
pub trait Known: Sync {
    /// The hash of the file at `path` on disk, when known unread.
    fn hash(&self, path: &str) -> Option<&str>;
}

/// Nothing is known: every rendered file is read.
impl Known for () {
    fn hash(&self, _: &str) -> Option<&str> {
        None
    }
}

/// Compares the rendered `tree`, and the `kept` files (on disk as rendered, see
/// [`crate::incremental`]), with the output root `root`. With `force`, files in the way
/// count as changes (they will be overwritten or deleted).
pub fn compare(
    root: &Path,
    tree: &Tree,
    kept: Kept,
    stamp: &Stamp,
    force: bool,
) -> Result<Comparison, EmitError> {
    compare_read(root, (tree, &()), kept, stamp, force, None)
}

/// [`compare`] with the lock file read already (`read`: as parsed, and the sha256 of its
/// bytes, which the output root still holds: the caller holds the root's lock and compared
/// them), and a rendered file whose hash on disk is `known` not read when it is alike.
pub fn compare_read(
    root: &Path,
    (tree, known): (&Tree, &dyn Known),
    kept: Kept,
    stamp: &Stamp,
    force: bool,
    read: Option<LockRead>,
) -> Result<Comparison, EmitError> {
    match std::fs::metadata(root) {
        Ok(m) if !m.is_dir() => {
            return Err(EmitError(
                format!("`--out {}` is not a directory", root.display()),
                Some("pass the folder the tree goes into (it is created when missing)".into()),
                crate::diagnostic::Code::Output,
            ));
        }
        Ok(_) | Err(_) => {}
    }
    // A fleet's cluster keeps its lock file and journal in its own folder.
    let ledger = root.join(stamp.owner.dir());
    let read = match read {
        Some(read) if lock_file(&ledger)? => Some(read),
        _ => read_lock(&ledger)?,
    };
    let (old_lock, old_digest, without_kept) = match read {
        Some(read) => (Some(read.lock), Some(read.digest), read.without_kept),
        None => (None, None, false),
    };
    owner::check(root, tree, &kept, &stamp.owner, old_lock.as_ref(), force)?;
    let journal = Journal::read(&ledger)?;
    let owned = owned_hashes(old_lock.as_ref(), journal.as_ref(), &kept, tree);
    let dirs = examine_dirs(root, tree);
    let mut found = Found::default();
    found.rendered(root, (tree, known), &dirs, &owned, force);
    found.stale(root, tree, &kept, &owned, force);
    // An old lock file read without its kept files is compared with the new one without them.
    let rendered: Option<BTreeMap<String, String>> =
        without_kept.then(|| found.files.iter().cloned().collect());
    found.files.extend(kept);
    let Found {
        mut changes,
        mut conflicts,
        files,
    } = found;
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    conflicts.sort_by(|a, b| a.path.cmp(&b.path));
    let mut new_lock = stamp.lock_of(files.into_iter().collect());
    // A tree with files left blocked is not all that was rendered: never a fast path.
    if !conflicts.is_empty() {
        new_lock.input = String::new();
    }
    // A lock file that records anything else differs in its bytes: their hash is made only
    // to compare with one that records the same (a `check` after an edit never makes it).
    let lock_digest = std::sync::OnceLock::new();
    let rendered = rendered.map(|files| new_lock.with_files(files));
    let against = rendered.as_ref().unwrap_or(&new_lock);
    let lock_changed = match (&old_lock, old_digest) {
        (Some(old), Some(digest)) if old == against => {
            lock_digest.get_or_init(|| new_lock.digest()).as_deref() != Some(digest.as_str())
        }
        _ => true,
    };
    // Warnings sit at offsets in the text: a comment moves them, the tree stays current.
    // Vendored chart files are checked, not rendered: a change that passes the checks and
    // leaves the tree alone leaves it current.
    let lock_stale = lock_changed && old_lock.as_ref().is_none_or(|old| !old.same_tree(against));
    Ok(Comparison {
        root: root.to_path_buf(),
        changes,
        conflicts,
        old_lock,
        new_lock,
        lock_digest,
        lock_changed,
        lock_stale,
        new_dirs: dirs.missing,
        journal,
        owner: stamp.owner.clone(),
    })
}

/// What a comparison finds, file by file.
#[derive(Default)]
struct Found {
    changes: Vec<Change>,
    conflicts: Vec<Conflict>,
    /// What the new lock records, (path, hash).
    files: Vec<(String, String)>,
}

impl Found {
    /// The rendered files: same, missing, owned (to overwrite) or in the way.
    fn rendered(
        &mut self,
        root: &Path,
        (tree, known): (&Tree, &dyn Known),
        dirs: &Dirs,
        owned: &HashMap<&str, Vec<&str>>,
        force: bool,
    ) {
        let results: Vec<(String, String, FileState)> = tree
            .par_iter()
            .map(|(path, bytes)| {
                let hash = sha256_hex(bytes);
                let state = if let Some(reason) = dirs.blocked_by(path) {
                    FileState::Conflict(ConflictReason::NotAFile(reason), None)
                } else if dir_above(&dirs.missing, path).is_some() {
                    FileState::Missing
                } else if known.hash(path) == Some(hash.as_str()) {
                    FileState::Same
                } else {
                    file_state(&root.join(path), bytes, owned.get(path.as_str()))
                };
                (path.clone(), hash, state)
            })
            .collect();
        self.files.reserve(tree.len());
        for (path, hash, state) in results {
            let kind = match state {
                FileState::Same => {
                    self.files.push((path, hash));
                    continue;
                }
                FileState::Missing => (ChangeKind::Added, None, false),
                FileState::Owned(old) => (ChangeKind::Changed, Some(old), true),
                FileState::Conflict(reason, old) => {
                    if !force || matches!(reason, ConflictReason::NotAFile(_)) {
                        self.blocked(path, reason, owned);
                        continue;
                    }
                    (ChangeKind::Changed, old, false)
                }
            };
            self.files.push((path.clone(), hash));
            self.changes.push(Change {
                path,
                kind: kind.0,
                old: kind.1,
                written: kind.2,
            });
        }
    }

    /// Files gitopsc wrote before and no longer renders: to delete, or in the way.
    fn stale(
        &mut self,
        root: &Path,
        tree: &Tree,
        kept: &Kept,
        owned: &HashMap<&str, Vec<&str>>,
        force: bool,
    ) {
        let stale: Vec<(&str, &Vec<&str>)> = owned
            .iter()
            .filter(|(p, _)| !tree.contains_key(**p) && !kept.contains_key(**p))
            .map(|(p, h)| (*p, h))
            .collect();
        let removed: Vec<(String, Option<FileState>)> = stale
            .par_iter()
            .map(|&(path, hashes)| (path.to_string(), stale_state(root, path, hashes)))
            .collect();
        for (path, state) in removed {
            let (old, written) = match state {
                Some(FileState::Owned(old)) => (Some(old), true),
                Some(FileState::Conflict(reason, old)) => {
                    if !force || matches!(reason, ConflictReason::NotAFile(_)) {
                        self.blocked(path, reason, owned);
                        continue;
                    }
                    (old, false)
                }
                _ => continue,
            };
            self.changes.push(Change {
                path,
                kind: ChangeKind::Removed,
                old,
                written,
            });
        }
    }

    /// A file left alone. One gitopsc wrote (hand-edited since) stays recorded with its old
    /// hash: it stays in conflict until the user resolves it, never taken for a foreign file.
    fn blocked(&mut self, path: String, reason: ConflictReason, owned: &HashMap<&str, Vec<&str>>) {
        if let Some(h) = owned.get(path.as_str()) {
            self.files.push((path.clone(), h[0].to_string()));
        }
        self.conflicts.push(Conflict { path, reason });
    }
}

/// What gitopsc wrote, path → the hashes its bytes may have: the lock file's first (what a
/// file left in conflict stays recorded with), then those of the files interrupted builds
/// were putting in place, from their journal. Only the files that may be rendered or stale:
/// a `kept` one is neither, unless `tree` renders it too (the lock file and `kept` are both
/// in path order, so they are gone through side by side, not looked up).
fn owned_hashes<'a>(
    lock: Option<&'a Lock>,
    journal: Option<&'a Journal>,
    kept: &Kept,
    tree: &Tree,
) -> HashMap<&'a str, Vec<&'a str>> {
    let mut owned: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut kept = kept.keys().peekable();
    for (path, hash) in lock.iter().flat_map(|l| &l.files) {
        while kept.next_if(|k| k.as_str() < path.as_str()).is_some() {}
        if kept.next_if(|k| *k == path).is_some() && !tree.contains_key(path) {
            continue;
        }
        owned.entry(path.as_str()).or_default().push(hash.as_str());
    }
    for (path, hashes) in journal.iter().flat_map(|j| &j.files) {
        owned
            .entry(path.as_str())
            .or_default()
            .extend(hashes.iter().map(String::as_str));
    }
    owned
}

/// Whether the lock file in `root` is there; an error when something else is in its place.
fn lock_file(root: &Path) -> Result<bool, EmitError> {
    let path = root.join(LOCK_FILE);
    match disk::kind(&path) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Ok(kind) if kind != disk::Kind::File => Err(EmitError(
            format!("`{}` is not a regular file", path.display()),
            Some("remove it; gitopsc keeps its lock file there".into()),
            crate::diagnostic::Code::Output,
        )),
        _ => Ok(true),
    }
}

/// The lock file in `root`, parsed, and the sha256 of its bytes; `None` when there is none.
fn read_lock(root: &Path) -> Result<Option<LockRead>, EmitError> {
    let path = root.join(LOCK_FILE);
    if !lock_file(root)? {
        return Ok(None);
    }
    let bytes = disk::read(&path).map_err(|e| {
        EmitError(
            format!("cannot read `{}`: {e}", path.display()),
            None,
            crate::diagnostic::Code::Output,
        )
    })?;
    Lock::parse(&bytes)
        .map(|lock| {
            Some(LockRead {
                lock,
                digest: sha256_hex(&bytes),
                without_kept: false,
            })
        })
        .map_err(|e| {
            EmitError(
                format!("the lock file `{}` is damaged: {e}", path.display()),
                Some(
                    "restore it from version control; without it gitopsc cannot tell its files from yours"
                        .into(),
                ),
                crate::diagnostic::Code::Output,
            )
        })
}

#[derive(Debug)]
enum FileState {
    Same,
    Missing,
    Owned(Vec<u8>),
    Conflict(ConflictReason, Option<Vec<u8>>),
}

fn file_state(target: &Path, new: &[u8], owned_hashes: Option<&Vec<&str>>) -> FileState {
    match disk::kind(target) {
        Err(e) if e.kind() == ErrorKind::NotFound => FileState::Missing,
        Err(e) => FileState::Conflict(ConflictReason::NotAFile(e.to_string()), None),
        Ok(disk::Kind::Symlink) => FileState::Conflict(ConflictReason::NotAFile("a symlink".into()), None),
        Ok(disk::Kind::Folder | disk::Kind::Other) => {
            FileState::Conflict(ConflictReason::NotAFile("not a regular file".into()), None)
        }
        Ok(disk::Kind::File) => match disk::read(target) {
            Err(e) => FileState::Conflict(ConflictReason::NotAFile(e.to_string()), None),
            Ok(old) if old == new => FileState::Same,
            Ok(old) => match owned_hashes {
                Some(hs) if hs.contains(&sha256_hex(&old).as_str()) => FileState::Owned(old),
                Some(_) => FileState::Conflict(ConflictReason::HandEdited, Some(old)),
                None => FileState::Conflict(ConflictReason::Foreign, Some(old)),
            },
        },
    }
}

/// The state of a file gitopsc owns but no longer generates: `None` when already gone.
fn stale_state(root: &Path, path: &str, hashes: &[&str]) -> Option<FileState> {
    if parent_is_symlink(root, path) {
        return Some(FileState::Conflict(
            ConflictReason::NotAFile("below a symlink".into()),
            None,
        ));
    }
    let target = root.join(path);
    match disk::kind(&target) {
        Err(_) => None,
        Ok(kind) if kind != disk::Kind::File => Some(FileState::Conflict(
            ConflictReason::NotAFile("not a regular file".into()),
            None,
        )),
        Ok(_) => match disk::read(&target) {
            Err(e) => Some(FileState::Conflict(ConflictReason::NotAFile(e.to_string()), None)),
            Ok(old) if hashes.contains(&sha256_hex(&old).as_str()) => Some(FileState::Owned(old)),
            Ok(old) => Some(FileState::Conflict(ConflictReason::HandEditedStale, Some(old))),
        },
    }
}

fn parent_is_symlink(root: &Path, path: &str) -> bool {
    let mut dir = root.to_path_buf();
    let segments: Vec<&str> = path.split('/').collect();
    for seg in &segments[..segments.len().saturating_sub(1)] {
        dir.push(seg);
        match disk::kind(&dir) {
            Ok(kind) if kind != disk::Kind::Folder => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// The directories of the tree as they are in the output root.
struct Dirs {
    /// Those that cannot be used, with why: a symlink or a non-directory sits at that path.
    blocked: BTreeMap<String, String>,
    /// Those that do not exist (the topmost of each missing subtree).
    missing: BTreeSet<String>,
}

impl Dirs {
    /// Why `path` cannot be written, when a directory above it is blocked.
    fn blocked_by(&self, path: &str) -> Option<String> {
        if self.blocked.is_empty() {
            return None;
        }
        path.match_indices('/')
            .find_map(|(i, _)| self.blocked.get(&path[..i]))
            .cloned()
    }
}

/// The directory of `dirs` that `path` is below, if any.
fn dir_above<'p>(dirs: &BTreeSet<String>, path: &'p str) -> Option<&'p str> {
    if dirs.is_empty() {
        return None;
    }
    path.match_indices('/')
        .map(|(i, _)| &path[..i])
        .find(|dir| dirs.contains(*dir))
}

/// Examines each directory of the tree once, top-down; nothing below a missing or blocked
/// one.
fn examine_dirs(root: &Path, tree: &Tree) -> Dirs {
    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    // The paths come in order: a folder the last path was in is not inserted again.
    let mut last: Vec<&str> = Vec::new();
    for path in tree.keys() {
        let mut end = 0;
        let mut depth = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            let dir = &path[..end];
            if last.get(depth) != Some(&dir) {
                last.truncate(depth);
                last.push(dir);
                dirs.insert(dir);
            }
            depth += 1;
            end += 1;
        }
    }
    let mut found = Dirs {
        blocked: BTreeMap::new(),
        missing: BTreeSet::new(),
    };
    // Below a missing or blocked directory there is nothing to examine.
    let mut skip: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for dir in dirs {
        let below_skipped = dir.match_indices('/').any(|(i, _)| skip.contains(&dir[..i]));
        if below_skipped {
            continue;
        }
        match disk::kind(&root.join(dir)) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                skip.insert(dir);
                found.missing.insert(dir.to_string());
            }
            Err(e) => {
                skip.insert(dir);
                found.blocked.insert(dir.to_string(), format!("`{dir}`: {e}"));
            }
            Ok(disk::Kind::Symlink) => {
                skip.insert(dir);
                found
                    .blocked
                    .insert(dir.to_string(), format!("`{dir}` is a symlink"));
            }
            Ok(disk::Kind::File | disk::Kind::Other) => {
                skip.insert(dir);
                found
                    .blocked
                    .insert(dir.to_string(), format!("`{dir}` is not a directory"));
            }
            Ok(_) => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(p, h)| (p.to_string(), h.to_string()))
            .collect()
    }

    #[test]
    fn a_lock_file_is_read_whole_only_when_its_head_records_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<(String, String)> = (0..2000)
            .map(|i| (format!("f/{i}.yaml"), "0".repeat(64)))
            .collect();
        let lock = Lock {
            input: "sha256:in".into(),
            files: files.into_iter().collect(),
            ..Lock::default()
        };
        let bytes = lock.to_bytes();
        assert!(bytes.len() > 10 * lock::HEAD_LEN);
        std::fs::write(dir.path().join(LOCK_FILE), &bytes).unwrap();
        let owner = owner::Owner::default();
        assert_eq!(lock_bytes_for(dir.path(), &owner, "sha256:in"), Some(bytes));
        assert_eq!(lock_bytes_for(dir.path(), &owner, "sha256:other"), None);
        assert_eq!(lock_bytes_for(dir.path(), &owner, ""), None);
    }

    #[test]
    fn the_owned_files_are_those_that_may_be_rendered_or_stale() {
        let lock = Lock {
            files: map(&[
                ("a/1", "h1"),
                ("a/2", "h2"),
                ("b/1", "h3"),
                ("c/1", "h4"),
                ("d/1", "h5"),
            ]),
            ..Lock::default()
        };
        // Kept: a/1 and c/1 (c/1 rendered too), and one the lock does not list.
        let kept = map(&[("a/1", "h1"), ("aa/0", "h0"), ("c/1", "h4")]);
        let tree: Tree = [
            ("c/1".to_string(), b"x".to_vec()),
            ("e/1".to_string(), b"y".to_vec()),
        ]
        .into_iter()
        .collect();
        let journal = Journal {
            temps: Vec::new(),
            files: [("a/1".to_string(), vec!["j1".to_string()])]
                .into_iter()
                .collect(),
        };
        let owned = owned_hashes(Some(&lock), Some(&journal), &kept, &tree);
        let mut paths: Vec<(&str, Vec<&str>)> = owned.into_iter().collect();
        paths.sort();
        assert_eq!(
            paths,
            vec![
                ("a/1", vec!["j1"]),
                ("a/2", vec!["h2"]),
                ("b/1", vec!["h3"]),
                ("c/1", vec!["h4"]),
                ("d/1", vec!["h5"]),
            ]
        );
        let all = owned_hashes(Some(&lock), None, &Kept::new(), &tree);
        assert_eq!(all.len(), 5, "with nothing kept, every file of the lock");
    }
}
