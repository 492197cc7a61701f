//! How gitopsc looks at files it reads but does not render: the output root a check or a diff
//! compares with, and the spec's own files (its parts, manifests and vendored charts). Each
//! is read as it is on disk or through a view that holds some files in memory. Every such
//! read goes through here, so a view is one seam, not a mode of each stage.
//!
//! The commands that set views ([`View`], at most two a process):
//! - `check --staged`: the output root as the work tree has it but for the files that differ
//!   from the index — a tracked file whose working copy differs is read with its staged bytes
//!   (from git's objects), and a file git does not track is not there. The tree is checked
//!   where it is (no copy, no link that would change the files' change times), and the tree
//!   cache of earlier runs still applies to every other file: a file the view replaces has
//!   no stat ([`replaced`]), so it is read and hashed. A spec that differs from the index is
//!   read as staged, from a folder the view holds whole ([`View::lay`]).
//! - `diff --base REV`: the spec at `REV`, from a folder the view holds whole, and the tree it
//!   renders, with its lock files, held in memory over an empty folder — neither written to
//!   disk.

use rustc_hash::{FxHashMap, FxHashSet};
use std::ffi::OsString;
use std::io::{self, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// What is at a path, a symlink not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symlink.
    Symlink,
    /// Anything else: a socket, a device, a pipe.
    Other,
}

impl Kind {
    fn of(file_type: std::fs::FileType) -> Kind {
        if file_type.is_symlink() {
            Kind::Symlink
        } else if file_type.is_file() {
            Kind::File
        } else if file_type.is_dir() {
            Kind::Folder
        } else {
            Kind::Other
        }
    }
}

/// Files held in memory instead of the disk's: by absolute path, the bytes of each file
/// (`None`: a file that is not there), the folders above the files held, and the folders the
/// view holds whole (below one, a path the view does not hold is not there).
#[derive(Debug, Default)]
pub struct View {
    files: FxHashMap<PathBuf, Option<Arc<[u8]>>>,
    folders: FxHashSet<PathBuf>,
    whole: Vec<PathBuf>,
}

impl View {
    /// Holds `path` with `bytes` or, for `None`, as absent. A path held with bytes has every
    /// folder above it up to `root` held as a folder.
    pub fn hold(&mut self, root: &Path, path: PathBuf, bytes: Option<Vec<u8>>) {
        if bytes.is_some() {
            let mut folder = path.parent();
            // A folder held went in with the folders above it.
            while let Some(dir) = folder.filter(|d| d.starts_with(root) && *d != root) {
                if self.folders.contains(dir) {
                    break;
                }
                self.folders.insert(dir.to_path_buf());
                folder = dir.parent();
            }
        }
        self.files.insert(path, bytes.map(Arc::from));
    }

    /// Holds the folder `root` whole, with `files` (paths relative to it) in it: nothing else
    /// is there, whatever the disk holds.
    pub fn lay(&mut self, root: &Path, files: impl IntoIterator<Item = (String, Vec<u8>)>) {
        self.folders.insert(root.to_path_buf());
        for (path, bytes) in files {
            self.hold(root, root.join(path), Some(bytes));
        }
        self.whole.push(root.to_path_buf());
    }

    /// Whether `path` is in a folder the view holds whole.
    fn owns(&self, path: &Path) -> bool {
        self.whole.iter().any(|root| path.starts_with(root))
    }

    /// What the view says is at `path`; `None` when it leaves the path to the disk.
    fn kind(&self, path: &Path) -> Option<io::Result<Kind>> {
        match self.files.get(path) {
            Some(Some(_)) => Some(Ok(Kind::File)),
            // A folder above files held stands where something absent is (a symlink in the
            // work tree, say, where the index holds a folder).
            _ if self.folders.contains(path) => Some(Ok(Kind::Folder)),
            Some(None) => Some(Err(ErrorKind::NotFound.into())),
            None if self.owns(path) => Some(Err(ErrorKind::NotFound.into())),
            None => None,
        }
    }

    /// The bytes the view holds of `path`; `None` when it leaves the path to the disk.
    fn bytes(&self, path: &Path) -> Option<io::Result<Arc<[u8]>>> {
        match self.files.get(path) {
            Some(Some(bytes)) => Some(Ok(bytes.clone())),
            Some(None) => Some(Err(ErrorKind::NotFound.into())),
            None if self.folders.contains(path) && self.owns(path) => {
                Some(Err(io::Error::new(ErrorKind::IsADirectory, "a folder")))
            }
            None if self.owns(path) => Some(Err(ErrorKind::NotFound.into())),
            None => None,
        }
    }

    /// The entries of `dir`, a folder the view holds whole (`None` when it does not).
    fn entries_of(&self, dir: &Path) -> Option<io::Result<Vec<(OsString, Kind)>>> {
        if !self.owns(dir) {
            return None;
        }
        if !self.folders.contains(dir) {
            return Some(Err(ErrorKind::NotFound.into()));
        }
        let files = (self.files.iter())
            .filter(|(path, bytes)| bytes.is_some() && path.parent() == Some(dir))
            .filter_map(|(path, _)| Some((path.file_name()?.to_os_string(), Kind::File)));
        let mut entries: Vec<(OsString, Kind)> = (self.folders_in(dir).map(|name| (name, Kind::Folder)))
            .chain(files)
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Some(Ok(entries))
    }

    /// The folders the view holds right below `dir`.
    fn folders_in<'s>(&'s self, dir: &'s Path) -> impl Iterator<Item = OsString> + 's {
        (self.folders.iter())
            .filter(move |f| f.parent() == Some(dir))
            .filter_map(|f| f.file_name().map(OsString::from))
    }
}

/// The views set, at most two: the spec's side and the output root's, in the order set.
static VIEWS: [OnceLock<View>; 2] = [OnceLock::new(), OnceLock::new()];

/// Looks at files through `view` from now on, for the rest of the process (a `check --staged`
/// or `diff --base` run), beside a view set before. `false` when two were set already.
pub fn set_view(view: View) -> bool {
    let mut view = Some(view);
    keep_promise();
    for slot in &VIEWS {
        if let Some(v) = view.take()
            && let Err(v) = slot.set(v)
        {
            view = Some(v);
        }
    }
    view.is_none()
}

/// What the first view that answers for `path` says of it; an error for a path below a
/// folder whose view is promised and not set yet ([`promise`]).
fn viewed<T>(path: &Path, ask: impl Fn(&View) -> Option<io::Result<T>>) -> Option<io::Result<T>> {
    if let Some(found) = VIEWS.iter().filter_map(OnceLock::get).find_map(ask) {
        return Some(found);
    }
    awaited(path).then(|| Err(io::Error::other("read before its view was set")))
}

/// The folder a view is promised for, until one is set.
static PROMISED: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);
static ANY_PROMISED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Promises a view of the folder `root` (`diff --base`'s base tree, rendered once the run
/// over the spec as it is now knows what it keeps): until a view is set, every read below
/// it is an error, never the disk's answer.
pub fn promise(root: &Path) {
    if let Ok(mut promised) = PROMISED.lock() {
        *promised = Some(root.to_path_buf());
        ANY_PROMISED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The promised view is set: reads below its folder go through the views again.
fn keep_promise() {
    if let Ok(mut promised) = PROMISED.lock() {
        *promised = None;
        ANY_PROMISED.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether `path` is below a folder whose view is promised and not set yet.
fn awaited(path: &Path) -> bool {
    ANY_PROMISED.load(std::sync::atomic::Ordering::SeqCst)
        && PROMISED
            .lock()
            .is_ok_and(|p| p.as_ref().is_some_and(|root| path.starts_with(root)))
}

/// Whether any view is set.
fn any_view() -> bool {
    VIEWS[0].get().is_some()
}

/// What is at `path` (as `symlink_metadata` says, through the view).
pub fn kind(path: &Path) -> io::Result<Kind> {
    if let Some(kind) = viewed(path, |v| v.kind(path)) {
        return kind;
    }
    std::fs::symlink_metadata(path).map(|m| Kind::of(m.file_type()))
}

/// What is at `path`, a symlink followed (as `metadata` says, through the view: a view holds
/// no symlinks).
pub fn kind_followed(path: &Path) -> io::Result<Kind> {
    if let Some(kind) = viewed(path, |v| v.kind(path)) {
        return kind;
    }
    std::fs::metadata(path).map(|m| Kind::of(m.file_type()))
}

/// Whether `path` is a file, a symlink followed.
pub fn is_file(path: &Path) -> bool {
    kind_followed(path).is_ok_and(|k| k == Kind::File)
}

/// Whether `path` is a folder, a symlink followed.
pub fn is_dir(path: &Path) -> bool {
    kind_followed(path).is_ok_and(|k| k == Kind::Folder)
}

/// The bytes of the file at `path`.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    match viewed(path, |v| v.bytes(path)) {
        Some(bytes) => bytes.map(|b| b.to_vec()),
        None => std::fs::read(path),
    }
}

/// The text of the file at `path`.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    match viewed(path, |v| v.bytes(path)) {
        Some(bytes) => String::from_utf8(bytes?.to_vec())
            .map_err(|_| io::Error::new(ErrorKind::InvalidData, "stream did not contain valid UTF-8")),
        None => std::fs::read_to_string(path),
    }
}

/// The file at `path`, opened for reading.
pub fn open(path: &Path) -> io::Result<Box<dyn Read>> {
    match viewed(path, |v| v.bytes(path)) {
        Some(bytes) => Ok(Box::new(io::Cursor::new(bytes?))),
        None => Ok(Box::new(std::fs::File::open(path)?)),
    }
}

/// The names of the entries of the folder `dir`, and of the folders a view adds there.
pub fn names_in(dir: &Path) -> io::Result<Vec<OsString>> {
    if let Some(entries) = viewed(dir, |v| v.entries_of(dir)) {
        return entries.map(|e| e.into_iter().map(|(name, _)| name).collect());
    }
    let added = || {
        VIEWS
            .iter()
            .filter_map(OnceLock::get)
            .flat_map(|v| v.folders_in(dir))
    };
    let mut names: Vec<OsString> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| Some(e.ok()?.file_name())).collect(),
        Err(e) if added().next().is_none() => return Err(e),
        Err(_) => Vec::new(),
    };
    if any_view() {
        names.extend(added());
        names.sort();
        names.dedup();
    }
    Ok(names)
}

/// The entries of the folder `dir` with what each is (symlinks not followed), sorted by name.
pub fn entries(dir: &Path) -> io::Result<Vec<(OsString, Kind)>> {
    if let Some(entries) = viewed(dir, |v| v.entries_of(dir)) {
        return entries;
    }
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        entries.push((entry.file_name(), Kind::of(entry.file_type()?)));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// The folder `dir` (a symlink to one followed) and everything below it, depth first and in
/// name order, symlinks below it not followed; hidden entries (`.name`) below it skipped
/// when `hidden` is false. The first folder that cannot be read is the error.
pub fn walk(dir: &Path, hidden: bool) -> io::Result<Vec<(PathBuf, Kind)>> {
    let mut out = vec![(dir.to_path_buf(), kind_followed(dir)?)];
    if out[0].1 == Kind::Folder {
        walk_into(dir, hidden, &mut out)?;
    }
    Ok(out)
}

fn walk_into(dir: &Path, hidden: bool, out: &mut Vec<(PathBuf, Kind)>) -> io::Result<()> {
    for (name, kind) in entries(dir)? {
        if !hidden && name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = dir.join(name);
        out.push((path.clone(), kind));
        if kind == Kind::Folder {
            walk_into(&path, hidden, out)?;
        }
    }
    Ok(())
}

/// What a view says is at `path` below `root`, when it replaces what is on disk: the disk's
/// stat of that path then says nothing of it.
pub fn replaced(root: &Path, path: &str) -> Option<io::Result<Kind>> {
    if !any_view() {
        return None;
    }
    let path = root.join(path);
    viewed(&path, |v| v.kind(&path))
}

/// The bytes the disk holds at `path`, beneath any view: the work tree's copy of a file that
/// a staged view replaces ([`crate::incremental::beneath`]).
pub fn read_beneath(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path)
}

/// What the disk holds at `path` (a symlink not followed), beneath any view.
pub fn kind_beneath(path: &Path) -> io::Result<Kind> {
    std::fs::symlink_metadata(path).map(|m| Kind::of(m.file_type()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_holds_its_files_and_their_folders_and_leaves_the_rest_to_the_disk() {
        let root = Path::new("/r/out");
        let mut view = View::default();
        view.hold(root, root.join("apps/a/x.yaml"), Some(b"x: 1\n".to_vec()));
        view.hold(root, root.join(".DS_Store"), None);
        assert!(matches!(
            view.kind(&root.join("apps/a/x.yaml")),
            Some(Ok(Kind::File))
        ));
        assert!(matches!(view.kind(&root.join("apps/a")), Some(Ok(Kind::Folder))));
        assert!(matches!(view.kind(&root.join("apps")), Some(Ok(Kind::Folder))));
        assert!(view.kind(root).is_none(), "the root is the disk's");
        let gone = view.kind(&root.join(".DS_Store")).unwrap().unwrap_err();
        assert_eq!(gone.kind(), ErrorKind::NotFound);
        assert!(view.kind(&root.join("apps/a/y.yaml")).is_none());
        assert_eq!(
            &*view.bytes(&root.join("apps/a/x.yaml")).unwrap().unwrap(),
            b"x: 1\n"
        );
        assert!(
            view.bytes(&root.join("apps/a")).is_none(),
            "a folder is read from disk"
        );
        view.hold(root, root.join("apps"), None);
        assert!(
            matches!(view.kind(&root.join("apps")), Some(Ok(Kind::Folder))),
            "a folder wins"
        );
        let names: Vec<OsString> = view.folders_in(&root.join("apps")).collect();
        assert_eq!(names, vec![OsString::from("a")]);
    }

    #[test]
    fn a_folder_laid_whole_holds_its_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        // On disk where the view lays its folder: not looked at.
        std::fs::create_dir_all(dir.path().join("laid/spec")).unwrap();
        std::fs::write(dir.path().join("laid/spec/disk.yaml"), "on disk").unwrap();
        let root = dir.path().join("laid");
        let mut view = View::default();
        view.lay(
            &root,
            [
                ("spec/fleet.yaml".to_string(), b"kind: Fleet\n".to_vec()),
                ("spec/apps/a.yaml".to_string(), b"a".to_vec()),
                ("spec/.hidden/b.yaml".to_string(), b"b".to_vec()),
            ],
        );
        assert!(matches!(
            view.kind(&root.join("spec/apps")),
            Some(Ok(Kind::Folder))
        ));
        assert!(matches!(view.kind(&root), Some(Ok(Kind::Folder))));
        let absent = |path: &str| matches!(view.kind(&root.join(path)), Some(Err(e)) if e.kind() == ErrorKind::NotFound);
        assert!(
            absent("spec/disk.yaml"),
            "the disk's file is not in a folder laid whole"
        );
        assert!(absent("spec/apps/none.yaml"));
        assert!(
            view.kind(&dir.path().join("other")).is_none(),
            "beside it, the disk answers"
        );
        assert_eq!(
            &*view.bytes(&root.join("spec/apps/a.yaml")).unwrap().unwrap(),
            b"a"
        );
        let folder = view.bytes(&root.join("spec/apps")).unwrap().unwrap_err();
        assert_eq!(folder.kind(), ErrorKind::IsADirectory);
        let entries = view.entries_of(&root.join("spec")).unwrap().unwrap();
        let names: Vec<(&str, Kind)> = entries.iter().map(|(n, k)| (n.to_str().unwrap(), *k)).collect();
        assert_eq!(
            names,
            [
                (".hidden", Kind::Folder),
                ("apps", Kind::Folder),
                ("fleet.yaml", Kind::File)
            ]
        );
        assert!(view.entries_of(&root.join("spec/none")).unwrap().is_err());
        assert!(view.entries_of(dir.path()).is_none());
    }

    #[test]
    fn below_a_promised_folder_nothing_is_read_until_its_view_is_set() {
        let dir = tempfile::tempdir().unwrap();
        let (tree, beside) = (dir.path().join("tree"), dir.path().join("beside"));
        for folder in [&tree, &beside] {
            std::fs::create_dir(folder).unwrap();
            std::fs::write(folder.join("f"), "on disk").unwrap();
        }
        promise(&tree);
        let refused = |e: io::Error| e.kind() == ErrorKind::Other;
        assert!(kind(&tree.join("f")).is_err_and(refused));
        assert!(read(&tree.join("f")).is_err_and(refused));
        assert!(names_in(&tree).is_err_and(refused), "nor the folder itself");
        assert_eq!(
            read(&beside.join("f")).unwrap(),
            b"on disk",
            "beside it, the disk answers"
        );
        // What setting a view does to the promise (a view is not set here: the slots are the
        // process's).
        keep_promise();
        assert_eq!(read(&tree.join("f")).unwrap(), b"on disk");
    }

    #[test]
    fn without_a_view_the_disk_answers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "a").unwrap();
        assert_eq!(kind(&dir.path().join("f")).unwrap(), Kind::File);
        assert_eq!(kind(dir.path()).unwrap(), Kind::Folder);
        assert_eq!(
            kind(&dir.path().join("none")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let mut text = String::new();
        open(&dir.path().join("f"))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "a");
        assert_eq!(names_in(dir.path()).unwrap(), vec![OsString::from("f")]);
        for path in ["b/z.yaml", "b/a/y.yaml", ".h/x.yaml"] {
            std::fs::create_dir_all(dir.path().join(path).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(path), "x").unwrap();
        }
        let walked = |hidden| -> Vec<String> {
            (walk(dir.path(), hidden).unwrap().into_iter())
                .map(|(p, k)| format!("{}:{k:?}", p.strip_prefix(dir.path()).unwrap().display()))
                .collect()
        };
        assert_eq!(
            walked(false),
            [
                ":Folder",
                "b:Folder",
                "b/a:Folder",
                "b/a/y.yaml:File",
                "b/z.yaml:File",
                "f:File"
            ]
        );
        assert_eq!(walked(true)[1..4], [".h:Folder", ".h/x.yaml:File", "b:Folder"]);
        assert_eq!(
            walk(&dir.path().join("none"), false).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
