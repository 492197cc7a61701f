//! Edits cost what they change: the one seam of the incremental path (docs/performance.md).
//!
//! After a build, a cache records two facts, outside the output root (it is this machine's,
//! never committed): the **keys** of every app it rendered — for each of its files, the
//! sha256 of exactly what rendering that file reads of the model ([`crate::render::app_key`])
//! — and, for every file of the tree, its sha256 with its size, modification and change times
//! and inode, as git's index does. The next run resolves the spec as always, then [`recall`]
//! takes a file whose key is recorded and that still has its recorded size, times and inode
//! as rendered already: it is not rendered, read or compared, and the lock file records its
//! recorded hash. Rendering is a function of the key and this build of gitopsc, so the tree,
//! the lock file and every report are byte for byte those of a full run.
//!
//! Whenever anything is in doubt — no cache, another build of gitopsc, a journal left by an
//! interrupted build, a file written in the same clock tick as the cache (git's "racily
//! clean"), a folder turned into a symlink — the app is rendered and compared in full. The
//! same records let a `check` of an untouched tree skip reading files ([`untouched`]);
//! `check --full` reads and hashes every file instead.

pub mod apps;
mod below;
pub mod beneath;
pub mod deferred;
pub mod held;
pub mod spec;
pub mod stamp;

use crate::digest::unhex;
use crate::disk;
use crate::emit::lock::{self, sha256_hex};
use crate::emit::owner::Owner;
use crate::model::Model;
use crate::render::{Key, Skip};
use below::Below;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The first line of a cache file: its format, and the build of gitopsc that wrote it.
fn header() -> String {
    format!(
        "gitopsc-cache 4 {} {}",
        env!("CARGO_PKG_VERSION"),
        env!("GITOPSC_BUILD_ID")
    )
}

/// A time as nanoseconds since 1970 (to the year 2262).
pub type Nanos = i64;

/// `seconds` and `nanoseconds` since 1970 as [`Nanos`]; `None` for a time it cannot hold (a
/// file with such a time is never taken as untouched).
fn nanos(seconds: i64, nanoseconds: i64) -> Option<Nanos> {
    seconds.checked_mul(1_000_000_000)?.checked_add(nanoseconds)
}

/// What the file system says of a file: enough to tell that it was not touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    size: u64,
    mtime: Nanos,
    ctime: Nanos,
    ino: u64,
    dev: u64,
}

impl Stat {
    /// The stat of the regular file at `path` (not followed through a symlink).
    fn of(path: &Path) -> Option<Stat> {
        Stat::read(path, false)
    }

    /// The stat of the regular file or the folder at `path` (not of a symlink), and whether
    /// it is a folder.
    fn of_entry(path: &Path) -> Option<(Stat, bool)> {
        Stat::read_kind(path, true)
    }

    fn read(path: &Path, folders: bool) -> Option<Stat> {
        Stat::read_kind(path, folders).map(|(stat, _)| stat)
    }

    #[cfg(unix)]
    fn read_kind(path: &Path, folders: bool) -> Option<(Stat, bool)> {
        let m = std::fs::symlink_metadata(path).ok()?;
        (m.is_file() || (folders && m.is_dir())).then_some(())?;
        Some((Stat::of_metadata(&m)?, m.is_dir()))
    }

    #[cfg(unix)]
    fn of_metadata(m: &std::fs::Metadata) -> Option<Stat> {
        use std::os::unix::fs::MetadataExt;
        Some(Stat {
            size: m.size(),
            mtime: nanos(m.mtime(), m.mtime_nsec())?,
            ctime: nanos(m.ctime(), m.ctime_nsec())?,
            ino: m.ino(),
            dev: m.dev(),
        })
    }

    /// The stat of an open regular file, just written: what its path shows once in place (a
    /// folder above it renamed changes none of it).
    #[cfg(unix)]
    pub fn of_file(file: &std::fs::File) -> Option<Stat> {
        let m = file.metadata().ok()?;
        m.is_file().then_some(())?;
        Stat::of_metadata(&m)
    }

    /// Without unix stat fields nothing is ever taken as untouched.
    #[cfg(not(unix))]
    fn read_kind(_: &Path, _: bool) -> Option<(Stat, bool)> {
        None
    }

    /// Without unix stat fields nothing is ever taken as untouched.
    #[cfg(not(unix))]
    pub fn of_file(_: &std::fs::File) -> Option<Stat> {
        None
    }

    /// Its fields as a cache line holds them: `<size> <mtime> <ctime> <ino> <dev>`.
    fn fields(&self) -> String {
        let Stat {
            size,
            mtime,
            ctime,
            ino,
            dev,
        } = self;
        format!("{size} {mtime} {ctime} {ino} {dev}")
    }

    /// The stat at the start of `text` ([`Stat::fields`]) and the rest after a space.
    fn parse_fields(text: &str) -> Option<(Stat, &str)> {
        let mut fields = text.splitn(6, ' ');
        let mut next = || fields.next();
        let (size, mtime, ctime) = (
            next()?.parse().ok()?,
            next()?.parse().ok()?,
            next()?.parse().ok()?,
        );
        let (ino, dev) = (next()?.parse().ok()?, next()?.parse().ok()?);
        let stat = Stat {
            size,
            mtime,
            ctime,
            ino,
            dev,
        };
        Some((stat, fields.next()?))
    }
}

/// A file as the cache records it.
#[derive(Debug, Clone)]
struct Entry {
    hash: String,
    stat: Stat,
}

/// An app's line in a cache: its name, and its files' keys in hex as written ([`Key::hex`]),
/// made into a [`Key`] only by a run that takes files one by one ([`Rendered::of_lines`]).
#[derive(Clone, Debug)]
struct AppLine {
    name: String,
    files: Box<str>,
}

impl AppLine {
    /// The line of an app named `name` whose key is `key`.
    fn of(key: &Key, name: &str) -> AppLine {
        AppLine {
            name: name.to_string(),
            files: key.hex().into(),
        }
    }
}

/// A cache file, read.
#[derive(Default)]
pub struct Cache {
    /// The apps the build rendered, by their whole key ([`Key::whole`]).
    keys: FxHashMap<[u8; 32], AppLine>,
    /// Every file of the tree, in path order (as the cache lists them): path, hash and stat.
    files: Vec<(String, Entry)>,
    /// When the cache was written: a file changed in that clock tick or later is in doubt.
    written: Nanos,
    /// The sha256 (hex) of the lock file whose files `files` lists, when it lists them all.
    lock: Option<String>,
    /// Whether it is the record of a tree held in memory ([`held`]), whose files are what it
    /// records by construction: none is looked at.
    held: bool,
}

/// Where the cache of `owner`'s tree in `root` lives: `$GITOPSC_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/gitopsc`, else `~/.cache/gitopsc`, named by the root's absolute path.
/// `None` when there is no such folder (then there is no incremental path).
fn cache_path(root: &Path, owner: &Owner) -> Option<PathBuf> {
    let dir = cache_dir()?;
    let root = std::fs::canonicalize(root).ok()?;
    let mut name = root.as_os_str().as_encoded_bytes().to_vec();
    name.push(0);
    name.extend_from_slice(owner.lock_path().as_bytes());
    Some(dir.join(format!("{}.cache", &sha256_hex(&name)[..32])))
}

/// The folder of the caches: `$GITOPSC_CACHE_DIR`, else `$XDG_CACHE_HOME/gitopsc`, else
/// `~/.cache/gitopsc`.
fn cache_dir() -> Option<PathBuf> {
    let env = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("GITOPSC_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("gitopsc")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/gitopsc")))
}

impl Cache {
    /// The cache of `owner`'s tree in `root`, when this build of gitopsc wrote it, no
    /// interrupted build left a journal since, and the root holds `owner`'s lock file (a
    /// tree removed leaves its cache behind: the build into its place has nothing to keep).
    fn read(root: &Path, owner: &Owner) -> Option<Cache> {
        Cache::read_at(&cache_path(root, owner)?, root, owner)
    }

    /// [`Cache::read`] of the cache file at `path`.
    fn read_at(path: &Path, root: &Path, owner: &Owner) -> Option<Cache> {
        let ledger = root.join(owner.dir());
        if disk::kind(&ledger.join(crate::emit::journal::JOURNAL)).is_ok()
            || !crate::emit::has_lock(root, owner)
        {
            return None;
        }
        let written = Stat::of(path)?.mtime;
        let mut file = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(path).ok()?);
        let mut cache = Cache {
            written,
            ..Cache::default()
        };
        // The lock file's and the apps' lines come first, then the files' (the most).
        let mut line = String::new();
        let mut first = true;
        let files_from = loop {
            line.clear();
            if std::io::BufRead::read_line(&mut file, &mut line).ok()? == 0 {
                // A cache ends after its header at the earliest.
                (!first).then_some(())?;
                break Vec::new();
            }
            let text = line.strip_suffix('\n')?;
            if std::mem::take(&mut first) {
                (text == header()).then_some(())?;
            } else if text.starts_with("f ") {
                break line.into_bytes();
            } else {
                cache.line(text)?;
            }
        };
        cache.files = file_entries(file, files_from, PIECE)?;
        // Found by a binary search: a cache out of order is not this build's.
        cache
            .files
            .par_windows(2)
            .all(|w| w[0].0 < w[1].0)
            .then_some(cache)
    }

    /// Reads a line before the files': `l <sha256 of the lock file>` or
    /// `a <whole key> <files' keys> <app>`.
    fn line(&mut self, line: &str) -> Option<()> {
        if let Some(digest) = line.strip_prefix("l ") {
            self.lock = Some(digest.to_string());
            return Some(());
        }
        let (whole, rest) = line.strip_prefix("a ")?.split_once(' ')?;
        let (files, name) = rest.split_once(' ')?;
        let (name, files) = (name.to_string(), files.into());
        self.keys.insert(unhex(whole)?, AppLine { name, files });
        Some(())
    }

    /// The record of the file at `path`.
    fn entry(&self, path: &str) -> Option<&Entry> {
        entry_in(&self.files, path)
    }

    /// Whether the cache lists every file of the lock file whose bytes have the sha256
    /// `digest`, with the same hashes.
    fn names(&self, digest: &str) -> bool {
        self.lock.as_deref() == Some(digest)
    }

    /// The recorded hash of the file at `path` when it is untouched since: same stat, and
    /// changed before the cache was written (not in the same clock tick).
    fn untouched(&self, below: &Below, path: &str) -> Option<&str> {
        Some(self.untouched_record(below, path)?.hash.as_str())
    }

    /// [`Cache::untouched`], with the file's whole record.
    fn untouched_record(&self, below: &Below, path: &str) -> Option<&Entry> {
        let entry = self.entry(path)?;
        self.untouched_entry(below, path, entry)?;
        Some(entry)
    }

    /// Whether the file at `path`, whose record is `entry`, is untouched: its stat.
    fn untouched_entry(&self, below: &Below, path: &str, entry: &Entry) -> Option<Stat> {
        (entry.stat.mtime < self.written && entry.stat.ctime < self.written).then_some(())?;
        (below.file(path)? == entry.stat).then_some(entry.stat)
    }
}

/// How much of a cache's files' lines is read and parsed at a time: the file is never held
/// whole (30 MB at 20 000 apps) beside the records made of it.
const PIECE: usize = 1 << 22;

/// The records of a cache's files' lines: `start` (the first line, read already), then the
/// rest of `file`, `piece` bytes at a time, each piece's lines parsed in parallel.
fn file_entries(mut file: impl std::io::Read, start: Vec<u8>, piece: usize) -> Option<Vec<(String, Entry)>> {
    use std::io::Read;
    let mut pieces: Vec<Vec<(String, Entry)>> = Vec::new();
    let mut rest = start;
    loop {
        let mut text = std::mem::take(&mut rest);
        text.reserve(piece);
        let read = (&mut file).take(piece as u64).read_to_end(&mut text).ok()?;
        // Whole lines only: the last one may go on in the next piece.
        let end = match read {
            0 => text.len(),
            _ => text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1),
        };
        rest = text.split_off(end);
        let lines = std::str::from_utf8(&text).ok()?;
        pieces.push(lines.par_lines().map(file_entry).collect::<Option<_>>()?);
        if read == 0 {
            break;
        }
    }
    let mut files = Vec::with_capacity(pieces.iter().map(Vec::len).sum());
    for piece in pieces {
        files.extend(piece);
    }
    Some(files)
}

/// The record of the file at `path` in `files` (in path order).
fn entry_in<'e>(files: &'e [(String, Entry)], path: &str) -> Option<&'e Entry> {
    let i = files.binary_search_by(|(p, _)| p.as_str().cmp(path)).ok()?;
    Some(&files[i].1)
}

/// A cache's line of a file, `f <hash> <size> <mtime> <ctime> <ino> <dev> <path>`: its hash,
/// stat and path.
fn file_line(line: &str) -> Option<(&str, Stat, &str)> {
    let (hash, rest) = line.strip_prefix("f ")?.split_once(' ')?;
    let (stat, path) = Stat::parse_fields(rest)?;
    Some((hash, stat, path))
}

/// A cache's line of a file below the root, as its path and record.
fn file_entry(line: &str) -> Option<(String, Entry)> {
    let (hash, stat, path) = file_line(line)?;
    lock::is_safe_relative(path).then_some(())?;
    let entry = Entry {
        hash: hash.to_string(),
        stat,
    };
    Some((path.to_string(), entry))
}

/// The keys of the files a build rendered ([`Key`]): a file whose key is among them is what
/// that build rendered (each key holds its file's path), where untouched since.
#[derive(Default)]
struct Rendered(FxHashSet<[u8; 32]>);

impl Rendered {
    /// The files' keys of `keys`.
    fn of<'k>(keys: impl Iterator<Item = &'k Key>) -> Rendered {
        Rendered(keys.flat_map(|key| key.files.iter().copied()).collect())
    }

    /// The files' keys of a cache's apps: of each line whose files' keys make its whole key.
    fn of_lines(lines: &FxHashMap<[u8; 32], AppLine>) -> Rendered {
        let keys: Vec<Key> = (lines.par_iter())
            .filter_map(|(whole, line)| Key::from_hex(&line.files).filter(|k| k.whole == *whole))
            .collect();
        Rendered::of(keys.iter())
    }

    /// The groups of the files of an app of key `key` ([`Skip::groups`]) whose files' keys
    /// are all among them.
    fn rendered(&self, key: Option<&Key>) -> Skip {
        key.map_or(Skip::NONE, |key| {
            Skip::keeping(key.files.len(), |group| {
                key.files[group].iter().all(|k| self.0.contains(k))
            })
        })
    }
}

/// What a run takes from the last build instead of rendering it.
#[derive(Default)]
pub struct Reuse {
    /// Each app's key (by the model's order), `None` for one that always renders.
    keys: Vec<Option<Key>>,
    /// Which of each app's files are taken as they are on disk.
    skip: Vec<Skip>,
    /// The files of those apps: path → sha256 hex, untouched on disk since they were written.
    pub kept: BTreeMap<String, String>,
    /// How many of them [`Reuse::take_kept`] took.
    taken: usize,
    /// The cache's records of the kept files, in path order, carried into the next cache.
    entries: Vec<(String, Entry)>,
    /// The cache's records of the rendered files found untouched since it was written, in
    /// path order: one whose render has the recorded hash is the same on disk, unread, and
    /// its record is carried into the next cache.
    known: Vec<(String, Entry)>,
    /// Every app's key and name, when the model holds only some of the apps (a run over
    /// the changed apps of a fleet, [`apps`]).
    all_keys: Option<Vec<([u8; 32], AppLine)>>,
    /// The lock file the kept files were taken against, with the sha256 of its bytes (a run
    /// over the changed apps, which read it before the output root was locked).
    pub read: Option<crate::emit::LockRead>,
}

impl Reuse {
    /// What a build into a fresh root knows of the files it wrote: each one's path, hash and
    /// stat, taken as it was written (its record then needs no look at the file).
    pub fn of_written(written: Vec<(String, String, Stat)>) -> Reuse {
        let mut known: Vec<(String, Entry)> = written
            .into_iter()
            .map(|(path, hash, stat)| (path, Entry { hash, stat }))
            .collect();
        known.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Reuse {
            known,
            ..Reuse::default()
        }
    }

    /// What a run takes without rendering any app: the files `kept`, on disk with their hashes.
    pub fn of_kept(kept: BTreeMap<String, String>) -> Reuse {
        Reuse {
            kept,
            ..Reuse::default()
        }
    }

    /// Takes the kept files (into the comparison, and so into the new lock file): their
    /// number stays [`Reuse::kept_len`].
    pub fn take_kept(&mut self) -> BTreeMap<String, String> {
        self.taken += self.kept.len();
        std::mem::take(&mut self.kept)
    }

    /// How many files are kept, taken or not.
    pub fn kept_len(&self) -> usize {
        self.kept.len() + self.taken
    }

    /// Which files of app `i` of the model are taken from disk, not rendered.
    pub fn skips(&self, i: usize) -> Skip {
        self.skip.get(i).copied().unwrap_or_default()
    }

    /// Each app's key, by the model's order, as far as they are known.
    pub fn keys(&self) -> &[Option<Key>] {
        &self.keys
    }

    /// Sets every app's key (by the model's order): those a render took before it released
    /// the apps ([`crate::render::render_releasing`]).
    pub fn set_keys(&mut self, keys: Vec<Option<Key>>) {
        self.keys = keys;
    }
}

/// A rendered file untouched on disk since the cache recorded it has the recorded hash.
impl crate::emit::Known for Reuse {
    fn hash(&self, path: &str) -> Option<&str> {
        entry_in(&self.known, path).map(|e| e.hash.as_str())
    }
}

/// The apps of `model` whose files in `root` are what this build of gitopsc rendered from
/// the same key and are untouched since, with their files; none when nothing can be taken.
pub fn recall(root: &Path, owner: &Owner, model: &Model) -> Reuse {
    if let Some(reuse) = held::recall(root, owner, model) {
        return reuse;
    }
    recall_from(cache_path(root, owner).as_deref(), root, owner, model)
}

/// [`recall`] from the cache file at `path`.
fn recall_from(path: Option<&Path>, root: &Path, owner: &Owner, model: &Model) -> Reuse {
    let keys: Vec<Option<Key>> = model.apps.par_iter().map(crate::render::app_key).collect();
    let Some(cache) = path.and_then(|path| Cache::read_at(path, root, owner)) else {
        return Reuse {
            keys,
            ..Reuse::default()
        };
    };
    let below = Below::open(root);
    let rendered = Rendered::of_lines(&cache.keys);
    // Each group of each app's files untouched since recorded ([`Skip`]); a group is kept
    // when its key is recorded and all its files are.
    let found: Vec<Found> = (model.apps.par_iter().zip(&keys))
        .map(|(app, key)| Found::of(app, rendered.rendered(key.as_ref()), &cache, &below))
        .collect();
    let skip: Vec<Skip> = found.iter().map(|f| f.skip).collect();
    let (mut entries, mut known) = (Vec::new(), Vec::new());
    for f in found {
        entries.extend(f.kept);
        known.extend(f.untouched);
    }
    rayon::join(
        || entries.par_sort_unstable_by(|a, b| a.0.cmp(&b.0)),
        || known.par_sort_unstable_by(|a, b| a.0.cmp(&b.0)),
    );
    // A folder above a kept file that became a symlink (or no folder) would be in the way
    // of a full run: then nothing is kept.
    if !folders_are_real(&below, entries.iter().map(|(p, _)| p.as_str())) {
        return Reuse {
            keys,
            ..Reuse::default()
        };
    }
    Reuse {
        keys,
        skip,
        kept: entries.iter().map(|(p, e)| (p.clone(), e.hash.clone())).collect(),
        taken: 0,
        entries,
        known,
        all_keys: None,
        read: None,
    }
}

/// What a recall finds of one app's files: with [`recall_from`], their records in the cache
/// (`T` is [`Entry`]); with a tree held in memory ([`held`]), their hashes.
struct Found<T = Entry> {
    /// The groups kept.
    skip: Skip,
    /// Their files, with what was found of them.
    kept: Vec<(String, T)>,
    /// The other files found (with a cache: untouched since recorded).
    untouched: Vec<(String, T)>,
}

impl Found {
    /// The groups of `app`'s files that are kept: those the cache recorded a render of by
    /// their key (`recorded`), all of whose files are untouched since.
    fn of(app: &crate::model::App, recorded: Skip, cache: &Cache, below: &Below) -> Found {
        Found::keeping(app, recorded, |path| cache.untouched_record(below, path).cloned())
    }
}

impl<T> Found<T> {
    /// The groups of `app`'s files ([`Skip::groups`]) that are kept: those whose render the
    /// keys record (`recorded`) and all of whose files `find` finds.
    fn keeping(app: &crate::model::App, recorded: Skip, mut find: impl FnMut(&str) -> Option<T>) -> Found<T> {
        let (mut kept, mut untouched) = (Vec::new(), Vec::new());
        let files = crate::render::app_files(app);
        let count = files.len();
        // The groups come in order: each takes the next of the files.
        let mut files = files.into_iter();
        let skip = Skip::keeping(count, |group| {
            let found: Vec<(String, T)> = (files.by_ref().take(group.len()))
                .filter_map(|path| {
                    let found = find(&path)?;
                    Some((path, found))
                })
                .collect();
            let keep = recorded.leaves(group.start) && found.len() == group.len();
            if keep { &mut kept } else { &mut untouched }.extend(found);
            keep
        });
        Found {
            skip,
            kept,
            untouched,
        }
    }
}

/// Whether every folder above `paths` (below the root) is a folder, not a symlink.
fn folders_are_real<'p>(below: &Below, paths: impl Iterator<Item = &'p str>) -> bool {
    let mut dirs: FxHashSet<&str> = FxHashSet::default();
    let mut last = None;
    for path in paths {
        // A file in the folder of the one before (paths come in order): that folder is in.
        let dir = path.rsplit_once('/').map(|(dir, _)| dir);
        if dir == last {
            continue;
        }
        last = dir;
        // A folder's ancestors went in with it: the walk up stops at one already in.
        let mut at = path;
        while let Some((dir, _)) = at.rsplit_once('/') {
            if !dirs.insert(dir) {
                break;
            }
            at = dir;
        }
    }
    dirs.par_iter().all(|dir| below.is_folder(dir))
}

/// Records, after a build of `model` into `root`, the keys of its apps and the files of the
/// tree (`files`, path → hash, as the lock file it wrote lists them, with the sha256 of that
/// file's bytes),
/// but for `blocked` ones (left with other bytes than the lock records). Kept files carry
/// their records; the others are stat'ed now. A cache that lists every file of the lock file
/// names the lock file by its sha256 ([`listed`]). A cache that cannot be written is no
/// error: the next run renders in full.
pub fn record(
    root: &Path,
    owner: &Owner,
    model: &Model,
    reuse: &Reuse,
    lock: (&BTreeMap<String, String>, Option<&str>),
    blocked: &HashSet<&str>,
) {
    if let Some(path) = cache_path(root, owner) {
        record_at(&path, root, model, reuse, lock, blocked);
    }
}

/// [`record`] into the cache file at `path`.
fn record_at(
    path: &Path,
    root: &Path,
    model: &Model,
    reuse: &Reuse,
    (files, lock): (&BTreeMap<String, String>, Option<&str>),
    blocked: &HashSet<&str>,
) {
    let made: Vec<([u8; 32], AppLine)>;
    let keys = match &reuse.all_keys {
        Some(all) => all,
        None => {
            let known: Vec<Option<Key>>;
            let keys = if reuse.keys.len() == model.apps.len() {
                &reuse.keys
            } else {
                known = model.apps.par_iter().map(crate::render::app_key).collect();
                &known
            };
            made = (keys.par_iter().zip(&model.apps))
                .filter_map(|(k, app)| k.as_ref().map(|k| (k.whole, AppLine::of(k, &app.name))))
                .collect();
            &made
        }
    };
    let below = Below::open(root);
    let lines: Vec<Option<String>> = files
        .par_iter()
        .filter(|(path, _)| !blocked.contains(path.as_str()) && !path.contains(['\n', '\r']))
        .map(|(path, hash)| {
            let recorded = entry_in(&reuse.entries, path).or_else(|| entry_in(&reuse.known, path));
            let stat = match recorded {
                Some(entry) if entry.hash == *hash => entry.stat,
                _ => below.file(path)?,
            };
            Some(format!("f {hash} {} {path}\n", stat.fields()))
        })
        .collect();
    let complete = lines.len() == files.len() && lines.iter().all(Option::is_some);
    // Written as it is made: no copy of the whole text.
    let _ = write_atomically_with(path, |out| {
        writeln!(out, "{}", header())?;
        if complete && let Some(lock) = lock {
            writeln!(out, "l {lock}")?;
        }
        for (whole, AppLine { name, files }) in keys {
            writeln!(out, "a {} {files} {name}", crate::digest::hex(whole))?;
        }
        lines
            .iter()
            .flatten()
            .try_for_each(|line| out.write_all(line.as_bytes()))
    });
}

/// Removes the cache of `owner`'s tree in `root` (a build that rendered with other blueprints).
pub fn forget(root: &Path, owner: &Owner) {
    if let Some(path) = cache_path(root, owner) {
        let _ = std::fs::remove_file(path);
    }
}

/// Writes `bytes` to a temp file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |out| out.write_all(bytes))
}

/// Writes what `write` writes to a temp file beside `path`, then renames it over `path`.
fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, temp.as_file_mut());
        write(&mut out)?;
        out.flush()?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether every file `files` lists (path → hash) has its hash in `root`: a file the cache
/// records untouched with that hash is taken as is; any other is read and hashed. Every
/// folder above them must be a folder: one replaced by a symlink (to the very folder, moved)
/// would show its files as they were.
pub fn untouched(root: &Path, owner: &Owner, files: &BTreeMap<String, String>) -> bool {
    let cache = Cache::read(root, owner);
    let below = Below::open(root);
    files.par_iter().all(|(path, hash)| {
        cache.as_ref().and_then(|c| c.untouched(&below, path)) == Some(hash.as_str())
            || holds(root, path, hash)
    }) && folders_are_real(&below, files.keys().map(String::as_str))
}

/// Whether the file at `path` in `root` is a regular file whose sha256 is `hash`.
fn holds(root: &Path, path: &str, hash: &str) -> bool {
    let target = root.join(path);
    let is_file = disk::kind(&target).ok() == Some(disk::Kind::File);
    is_file && disk::read(&target).is_ok_and(|b| sha256_hex(&b) == hash)
}

/// What the cache of `owner`'s tree in `root` says of its files when it lists exactly those
/// of the lock file whose bytes are `lock`: how many there are, and whether each has its
/// hash on disk below folders that are folders ([`untouched`], line by line from the cache,
/// with no lock file's list parsed or map built). `None` when it lists other files, or some
/// were left out of it.
pub fn listed(root: &Path, owner: &Owner, lock: &[u8]) -> Option<(usize, bool)> {
    listed_at(&cache_path(root, owner)?, root, lock)
}

/// [`listed`] from the cache file at `path`.
fn listed_at(path: &Path, root: &Path, lock: &[u8]) -> Option<(usize, bool)> {
    let written = Stat::of(path)?.mtime;
    let text = std::fs::read_to_string(path).ok()?;
    let (head, rest) = text.split_once('\n')?;
    let (named, rest) = rest.split_once('\n')?;
    (head == header() && named.strip_prefix("l ")? == sha256_hex(lock)).then_some(())?;
    let below = Below::open(root);
    let each = |line: &str| -> Option<(usize, bool)> {
        if line.starts_with("a ") {
            return Some((0, true));
        }
        let (hash, stat, path) = file_line(line)?;
        lock::is_safe_relative(path).then_some(())?;
        let sure = stat.mtime < written && stat.ctime < written;
        let same = (sure && below.file(path) == Some(stat)) || holds(root, path, hash);
        Some((1, same))
    };
    // The folders are gathered and looked at while the files are.
    let paths = rest
        .lines()
        .filter_map(|line| line.strip_prefix("f ")?.splitn(7, ' ').nth(6));
    let (files, real) = rayon::join(
        || {
            rest.par_lines()
                .map(each)
                .try_reduce(|| (0, true), |a, b| Some((a.0 + b.0, a.1 && b.1)))
        },
        || folders_are_real(&below, paths),
    );
    let (files, same) = files?;
    Some((files, same && real))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::{self, Kept};

    /// A file's stat taken from the handle it was written through is the one its path shows
    /// once the folder it was written in is renamed into place (as a fresh build does).
    #[test]
    #[cfg(unix)]
    fn a_files_stat_as_written_is_its_stat_once_its_folder_is_in_place() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let temp = dir.path().join(".top.tmp");
        std::fs::create_dir_all(temp.join("a")).unwrap();
        let mut file = std::fs::File::create_new(temp.join("a/f.yaml")).unwrap();
        file.write_all(b"kind: ConfigMap\n").unwrap();
        let written = Stat::of_file(&file).unwrap();
        drop(file);
        std::fs::rename(&temp, dir.path().join("top")).unwrap();
        assert_eq!(Stat::of(&dir.path().join("top/a/f.yaml")), Some(written));
        assert_eq!(written.size, 16);
    }

    /// [`record_at`] of the run `full` (which resolved its model) into the cache file `cache`.
    fn record_full(
        cache: &Path,
        out: &Path,
        full: &crate::Compiled,
        lock: (&BTreeMap<String, String>, Option<&str>),
        blocked: &HashSet<&str>,
    ) {
        record_at(
            cache,
            out,
            full.model.as_ref().unwrap(),
            &full.reuse,
            lock,
            blocked,
        );
    }

    fn spec(apps: usize, replicas: u32) -> String {
        let mut text = String::from(
            "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nsources:\n  helm:\n    - {name: podinfo, url: https://stefanprodan.github.io/podinfo}\napps:\n",
        );
        for i in 0..apps {
            let r = if i == 0 { replicas } else { 1 };
            text.push_str(&format!(
                "  - name: app{i}\n    namespace: team{}\n    helm: {{chart: podinfo, version: 6.7.{i}, source: podinfo, values: {{replicaCount: {r}}}}}\n",
                i % 2
            ));
        }
        text
    }

    /// A spec of `apps` apps in `dir` built into `dir/out` (its cache to be `dir/c.cache`), a
    /// clock tick before what follows: the spec, the output root, the cache, the run and its
    /// comparison.
    fn built(dir: &Path, apps: usize) -> (PathBuf, PathBuf, PathBuf, crate::Compiled, emit::Comparison) {
        let (path, out, cache) = (dir.join("c.yaml"), dir.join("out"), dir.join("c.cache"));
        std::fs::write(&path, spec(apps, 1)).unwrap();
        let full = render(&path, &cache, &out);
        let cmp = emit::compare(&out, &full.tree, Kept::new(), &full.stamp, false).unwrap();
        emit::write::apply(&cmp, &full.tree).unwrap();
        // Written a clock tick after the files, the cache takes them as untouched.
        std::thread::sleep(std::time::Duration::from_millis(20));
        (path, out, cache, full, cmp)
    }

    /// [`built`], with its cache recorded.
    fn recorded(dir: &Path, apps: usize) -> (PathBuf, PathBuf, PathBuf, crate::Compiled, emit::Comparison) {
        let (path, out, cache, full, cmp) = built(dir, apps);
        let lock = (&cmp.new_lock.files, cmp.lock_digest());
        record_full(&cache, &out, &full, lock, &HashSet::new());
        (path, out, cache, full, cmp)
    }

    /// Renders the spec at `path` taking what the cache at `cache` holds.
    fn render(path: &Path, cache: &Path, out: &Path) -> crate::Compiled {
        let prepared = crate::prepare(path, None).ok().unwrap();
        let owner = Owner::default();
        prepared
            .render_reusing(|model| recall_from(Some(cache), out, &owner, model))
            .ok()
            .unwrap()
    }

    #[test]
    fn only_an_app_line_whose_files_make_its_whole_key_is_taken() {
        let key = Key::of_files(vec![[1; 32], [2; 32]].into_boxed_slice());
        let mut lines = FxHashMap::default();
        lines.insert(key.whole, AppLine::of(&key, "a"));
        assert_eq!(Rendered::of_lines(&lines).0, key.files.iter().copied().collect());
        let mut lines = FxHashMap::default();
        lines.insert([9; 32], AppLine::of(&key, "a"));
        assert!(Rendered::of_lines(&lines).0.is_empty());
    }

    #[test]
    fn a_caches_files_read_a_piece_at_a_time_are_its_lines() {
        let text: String = (0..60)
            .map(|i| {
                format!(
                    "f {} {i} 2 3 4 5 {}{i:03}.yaml\n",
                    "0".repeat(64),
                    "d/".repeat(i % 7)
                )
            })
            .collect();
        let fields = |files: Vec<(String, Entry)>| -> Vec<(String, String, Stat)> {
            files.into_iter().map(|(p, e)| (p, e.hash, e.stat)).collect()
        };
        let whole = fields(text.lines().map(|l| file_entry(l).unwrap()).collect());
        let (first, rest) = text.split_at(text.find('\n').unwrap() + 1);
        let without_last_newline = &rest[..rest.len() - 1];
        // Pieces shorter than a line, a few lines long, and the whole.
        for piece in [1, 7, 100, 250, PIECE] {
            for rest in [rest, without_last_newline] {
                let read = file_entries(rest.as_bytes(), first.as_bytes().to_vec(), piece);
                assert_eq!(fields(read.unwrap()), whole, "pieces of {piece} bytes");
            }
        }
        let broken = rest.replacen("f ", "g ", 1);
        assert!(file_entries(broken.as_bytes(), first.as_bytes().to_vec(), 7).is_none());
    }

    #[test]
    fn a_cache_is_read_only_with_its_files_in_path_order_below_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.cache");
        let line = |p: &str| format!("f {} 1 2 3 4 5 {p}\n", "0".repeat(64));
        let key = format!("a {} {} app\n", "1".repeat(64), "1".repeat(64));
        let read_after = |before: &str, lines: &[&str], after: &str| {
            let text: String = lines.iter().map(|p| line(p)).collect();
            std::fs::write(&path, format!("{}\n{before}{text}{after}", header())).unwrap();
            Cache::read_at(&path, dir.path(), &Owner::default()).map(|c| (c.files.len(), c.keys.len()))
        };
        let read = |lines: &[&str]| read_after("", lines, "").map(|(files, _)| files);
        assert_eq!(read(&["a.yaml"]), None, "no lock file in the root");
        std::fs::write(dir.path().join(Owner::default().lock_path()), "").unwrap();
        assert_eq!(read(&["a/b.yaml", "a/c d.yaml", "b.yaml"]), Some(3));
        assert_eq!(read(&[]), Some(0), "a tree of no files");
        std::fs::write(&path, "").unwrap();
        assert!(
            Cache::read_at(&path, dir.path(), &Owner::default()).is_none(),
            "empty"
        );
        std::fs::write(&path, header()).unwrap();
        assert!(
            Cache::read_at(&path, dir.path(), &Owner::default()).is_none(),
            "a header cut short"
        );
        let both = read_after(&format!("l {}\n{key}", "2".repeat(64)), &["a.yaml", "b.yaml"], "");
        assert_eq!(both, Some((2, 1)));
        assert_eq!(read_after("", &["a.yaml"], &key), None, "an app after the files");
        assert_eq!(read(&["b.yaml", "a/b.yaml"]), None, "out of order");
        assert_eq!(read(&["a.yaml", "a.yaml"]), None, "twice");
        assert_eq!(read(&["../a.yaml"]), None, "outside the root");
    }

    #[test]
    fn a_comment_renders_no_app_and_a_value_edit_one() {
        let dir = tempfile::tempdir().unwrap();
        let (path, out, cache, full, cmp) = built(dir.path(), 6);
        assert!(full.reuse.kept.is_empty(), "no cache yet");
        let lock = (&cmp.new_lock.files, cmp.lock_digest());
        record_full(&cache, &out, &full, lock, &HashSet::new());
        let app_files: std::collections::BTreeSet<String> = full
            .model
            .as_ref()
            .unwrap()
            .apps
            .iter()
            .flat_map(crate::render::app_files)
            .collect();
        // The apps' files are what rendering wrote for them; the rest is the cluster's own.
        let own: Vec<&String> = full.tree.keys().filter(|p| !app_files.contains(*p)).collect();
        assert!(app_files.iter().all(|p| full.tree.contains_key(p)));
        assert!(own.iter().all(|p| !p.contains("app")), "{own:?}");

        std::fs::write(&path, spec(6, 1) + "# a comment\n").unwrap();
        let comment = render(&path, &cache, &out);
        assert!(
            comment.tree.keys().all(|p| !app_files.contains(p)),
            "an app rendered: {:?}",
            comment.tree.keys()
        );
        assert_eq!(comment.reuse.kept.len(), app_files.len());
        let cmp = emit::compare(
            &out,
            &comment.tree,
            comment.reuse.kept.clone(),
            &comment.stamp,
            false,
        )
        .unwrap();
        assert!(cmp.is_current());

        std::fs::write(&path, spec(6, 2)).unwrap();
        let edit = render(&path, &cache, &out);
        let rendered: Vec<&String> = edit.tree.keys().filter(|p| app_files.contains(*p)).collect();
        assert!(
            !rendered.is_empty() && rendered.iter().all(|p| p.contains("app0")),
            "{rendered:?}"
        );
        let cmp = emit::compare(&out, &edit.tree, edit.reuse.kept.clone(), &edit.stamp, false).unwrap();
        assert_eq!(cmp.changes.len(), 1, "{:?}", cmp.changes);

        // A file changed in the cache's own clock tick (or later) is in doubt.
        let one = comment.reuse.kept.keys().next().unwrap();
        let mut read = Cache::read_at(&cache, &out, &Owner::default()).unwrap();
        assert!(read.untouched(&Below::open(&out), one).is_some());
        let entry = read.entry(one).unwrap();
        let changed = entry.stat.ctime.max(entry.stat.mtime);
        read.written = changed;
        assert!(read.untouched(&Below::open(&out), one).is_none(), "same tick");
        read.written = changed + 1;
        assert!(read.untouched(&Below::open(&out), one).is_some());
        // A file whose bytes change, whatever it keeps, is not taken.
        let target = out.join(one);
        std::fs::write(&target, std::fs::read(&target).unwrap()).unwrap();
        assert!(
            read.untouched(&Below::open(&out), one).is_none(),
            "its change time moved"
        );
    }

    #[test]
    fn a_default_of_every_app_renders_only_the_files_that_read_it() {
        // A Flux setting: the Flux Kustomizations files; a Helm interval: the HelmReleases.
        let edits = [
            ("retryInterval: 7m", "clusters/"),
            ("helmInterval: 9m", "/helmrelease.yaml"),
        ];
        for (default, reading_files) in edits {
            let dir = tempfile::tempdir().unwrap();
            let (path, out, cache, full, _) = recorded(dir.path(), 6);
            let apps = &full.model.as_ref().unwrap().apps;
            let mut files: Vec<String> = apps.iter().flat_map(crate::render::app_files).collect();
            files.sort();
            let (reading, others): (Vec<String>, Vec<String>) =
                files.iter().cloned().partition(|p| p.contains(reading_files));
            assert_eq!(
                reading.len(),
                6,
                "{default}: one file of each app reads it: {reading:?}"
            );
            let edited = spec(6, 1).replace("apps:\n", &format!("defaults: {{{default}}}\napps:\n"));
            std::fs::write(&path, &edited).unwrap();
            let edit = render(&path, &cache, &out);
            let rendered: Vec<&String> = edit.tree.keys().filter(|p| files.contains(p)).collect();
            assert_eq!(rendered, reading.iter().collect::<Vec<_>>(), "{default}");
            assert_eq!(
                edit.reuse.kept.keys().collect::<Vec<_>>(),
                others.iter().collect::<Vec<_>>()
            );
            let cmp = emit::compare(&out, &edit.tree, edit.reuse.kept.clone(), &edit.stamp, false).unwrap();
            // What a run without the cache finds.
            let whole = render(&path, &dir.path().join("none.cache"), &out);
            assert!(whole.reuse.kept.is_empty());
            let whole_cmp = emit::compare(&out, &whole.tree, Kept::new(), &whole.stamp, false).unwrap();
            assert_eq!(cmp.new_lock.to_bytes(), whole_cmp.new_lock.to_bytes());
            let changed = |c: &emit::Comparison| c.changes.iter().map(|c| c.path.clone()).collect::<Vec<_>>();
            assert_eq!(changed(&cmp), changed(&whole_cmp));
            // The six files that read it, and no other of the apps'.
            let changed = changed(&cmp);
            let of_apps: Vec<&String> = changed.iter().filter(|p| files.contains(p)).collect();
            assert_eq!(of_apps, reading.iter().collect::<Vec<_>>(), "{default}");
        }
    }

    #[test]
    fn an_app_rendered_again_is_read_only_where_its_files_were_touched() {
        use crate::emit::Known;
        let dir = tempfile::tempdir().unwrap();
        let (path, out, cache, _, _) = recorded(dir.path(), 3);
        // app0 renders again, every file of it (as an app with no key does: one whose objects
        // get labels or patches): its files rendered as they are on disk are known unread.
        std::fs::write(&path, spec(3, 2)).unwrap();
        let text = std::fs::read_to_string(&cache).unwrap();
        let unkeyed: String = text
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("a "))
            .collect();
        std::fs::write(&cache, unkeyed).unwrap();
        let edit = render(&path, &cache, &out);
        let alike: Vec<&String> = (edit.tree.iter())
            .filter(|(p, bytes)| {
                p.contains("app0") && std::fs::read(out.join(p)).ok().as_ref() == Some(*bytes)
            })
            .map(|(p, _)| p)
            .collect();
        assert!(!alike.is_empty() && alike.len() < edit.tree.len());
        for p in &alike {
            assert_eq!(
                edit.reuse.hash(p),
                Some(sha256_hex(&edit.tree[*p]).as_str()),
                "{p}"
            );
        }
        // One touched by hand since is read, and found in the way.
        let touched = alike[0];
        std::fs::write(out.join(touched), "hand: edited\n").unwrap();
        let again = render(&path, &cache, &out);
        assert_eq!(again.reuse.hash(touched), None);
        let kept = again.reuse.kept.clone();
        let cmp =
            emit::compare_read(&out, (&again.tree, &again.reuse), kept, &again.stamp, false, None).unwrap();
        assert!(
            cmp.conflicts.iter().any(|c| c.path == *touched),
            "{:?}",
            cmp.conflicts
        );
        assert!(
            alike[1..]
                .iter()
                .all(|p| cmp.changes.iter().all(|c| c.path != **p))
        );
    }

    #[test]
    fn a_cache_lists_the_files_of_the_very_lock_file_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let (_, out, cache, full, cmp) = built(dir.path(), 3);
        let lock = (&cmp.new_lock.files, cmp.lock_digest());
        let listed_at = |bytes: &[u8]| listed_at(&cache, &out, bytes);
        record_full(&cache, &out, &full, lock, &HashSet::new());
        let n = cmp.new_lock.files.len();
        assert_eq!(listed_at(&cmp.new_lock.to_bytes()), Some((n, true)));
        assert_eq!(listed_at(b"another lock file"), None, "another lock file");
        // A file whose bytes change is read and hashed, and found changed.
        let one = out.join(cmp.new_lock.files.keys().next().unwrap());
        std::fs::write(&one, "changed: true\n").unwrap();
        assert_eq!(listed_at(&cmp.new_lock.to_bytes()), Some((n, false)));
        // One put back as it was (another inode, new times) holds its hash.
        let first = cmp.new_lock.files.keys().next().unwrap();
        std::fs::write(&one, &full.tree[first]).unwrap();
        assert_eq!(listed_at(&cmp.new_lock.to_bytes()), Some((n, true)));
        // A cache that leaves a file out names no lock file.
        let blocked: HashSet<&str> = [first.as_str()].into();
        record_full(&cache, &out, &full, lock, &blocked);
        assert_eq!(listed_at(&cmp.new_lock.to_bytes()), None);
    }
}
