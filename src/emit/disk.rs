//! How a check or a diff looks at the output root: as it is on disk or through a view that
//! holds some of its files in memory. Every read of the output root that a check or a diff
//! makes goes through here, so a view is one seam, not a mode of each stage.
//!
//! Two commands set a view ([`View`]):
//! - `check --staged`: the work tree but for the files that differ from the index — a tracked
//!   file whose working copy differs is read with its staged bytes (from git's objects), and
//!   a file git does not track is not there. The tree is checked where it is (no copy, no
//!   link that would change the files' change times), and the tree cache of earlier runs
//!   still applies to every other file: a file the view replaces has no stat ([`replaced`]),
//!   so it is read and hashed.
//! - `diff --base REV`: the tree the spec at `REV` renders, with its lock files, held in
//!   memory over an empty folder — never written to disk.

use std::collections::{HashMap, HashSet};
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

/// Files of an output root held in memory instead of the disk's: by absolute path, the bytes
/// of each file (`None`: a file that is not there), and the folders above the files held.
#[derive(Debug, Default)]
pub struct View {
    files: HashMap<PathBuf, Option<Arc<[u8]>>>,
    folders: HashSet<PathBuf>,
}

impl View {
    /// Holds `path` with `bytes` or, for `None`, as absent. A path held with bytes has every
    /// folder above it up to `root` held as a folder.
    pub fn hold(&mut self, root: &Path, path: PathBuf, bytes: Option<Vec<u8>>) {
        if bytes.is_some() {
            let mut folder = path.parent();
            while let Some(dir) = folder.filter(|d| d.starts_with(root) && *d != root) {
                self.folders.insert(dir.to_path_buf());
                folder = dir.parent();
            }
        }
        self.files.insert(path, bytes.map(Arc::from));
    }

    /// What the view says is at `path`; `None` when it leaves the path to the disk.
    fn kind(&self, path: &Path) -> Option<io::Result<Kind>> {
        match self.files.get(path) {
            Some(Some(_)) => Some(Ok(Kind::File)),
            // A folder above files held stands where something absent is (a symlink in the
            // work tree, say, where the index holds a folder).
            _ if self.folders.contains(path) => Some(Ok(Kind::Folder)),
            Some(None) => Some(Err(ErrorKind::NotFound.into())),
            None => None,
        }
    }

    /// The bytes the view holds of `path`; `None` when it leaves the path to the disk.
    fn bytes(&self, path: &Path) -> Option<io::Result<Arc<[u8]>>> {
        match self.files.get(path)? {
            Some(bytes) => Some(Ok(bytes.clone())),
            None => Some(Err(ErrorKind::NotFound.into())),
        }
    }

    /// The folders the view holds right below `dir`.
    fn folders_in<'s>(&'s self, dir: &'s Path) -> impl Iterator<Item = OsString> + 's {
        (self.folders.iter())
            .filter(move |f| f.parent() == Some(dir))
            .filter_map(|f| f.file_name().map(OsString::from))
    }
}

static VIEW: OnceLock<View> = OnceLock::new();

/// Looks at the output root through `view` from now on, for the rest of the process (a
/// `check --staged` or `diff --base` run). `false` when a view was set already.
pub fn set_view(view: View) -> bool {
    VIEW.set(view).is_ok()
}

/// What is at `path` (as `symlink_metadata` says, through the view).
pub fn kind(path: &Path) -> io::Result<Kind> {
    if let Some(kind) = VIEW.get().and_then(|v| v.kind(path)) {
        return kind;
    }
    std::fs::symlink_metadata(path).map(|m| Kind::of(m.file_type()))
}

/// The bytes of the file at `path`.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    match VIEW.get().and_then(|v| v.bytes(path)) {
        Some(bytes) => bytes.map(|b| b.to_vec()),
        None => std::fs::read(path),
    }
}

/// The file at `path`, opened for reading.
pub fn open(path: &Path) -> io::Result<Box<dyn Read>> {
    match VIEW.get().and_then(|v| v.bytes(path)) {
        Some(bytes) => Ok(Box::new(io::Cursor::new(bytes?))),
        None => Ok(Box::new(std::fs::File::open(path)?)),
    }
}

/// The names of the entries of the folder `dir`, and of the folders the view adds there.
pub fn names_in(dir: &Path) -> io::Result<Vec<OsString>> {
    let view = VIEW.get();
    let mut names: Vec<OsString> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| Some(e.ok()?.file_name())).collect(),
        Err(e) if view.is_none_or(|v| v.folders_in(dir).next().is_none()) => return Err(e),
        Err(_) => Vec::new(),
    };
    if let Some(view) = view {
        names.extend(view.folders_in(dir));
        names.sort();
        names.dedup();
    }
    Ok(names)
}

/// What the view says is at `path` below `root`, when it replaces what is on disk: the
/// disk's stat of that path then says nothing of it.
pub fn replaced(root: &Path, path: &str) -> Option<io::Result<Kind>> {
    VIEW.get()?.kind(&root.join(path))
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
    }
}
