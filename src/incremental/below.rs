//! The files of an output root, looked at from the root. A run that takes files as untouched
//! looks at every file and folder of the tree; by a path from `/`, the kernel walks the root's
//! own folders again for each of them. The root is opened once instead, and each path is
//! walked from it.

use super::Stat;
use crate::disk;
use std::path::Path;

/// An output root, opened (where the system allows) for looking at the files below it.
pub(crate) struct Below<'r> {
    root: &'r Path,
    #[cfg(target_os = "linux")]
    dir: Option<rustix::fd::OwnedFd>,
}

impl<'r> Below<'r> {
    /// The root at `root`. A root that cannot be opened is looked below by whole paths.
    pub(crate) fn open(root: &'r Path) -> Below<'r> {
        Below {
            root,
            #[cfg(target_os = "linux")]
            dir: {
                use rustix::fs::{Mode, OFlags};
                let at = if root.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    root
                };
                rustix::fs::open(
                    at,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .ok()
            },
        }
    }

    /// The stat of the regular file at `path` below the root (not of a symlink). A file the
    /// staged view replaces has none: what the disk holds there is not what is looked at.
    pub(crate) fn file(&self, path: &str) -> Option<Stat> {
        if disk::replaced(self.root, path).is_some() {
            return None;
        }
        self.entry(path).and_then(|(stat, dir)| (!dir).then_some(stat))
    }

    /// Whether `path` below the root is a folder (not a symlink), in the staged view if any.
    pub(crate) fn is_folder(&self, path: &str) -> bool {
        if let Some(kind) = disk::replaced(self.root, path) {
            return matches!(kind, Ok(disk::Kind::Folder));
        }
        self.entry(path).is_some_and(|(_, dir)| dir)
    }

    /// The stat of the regular file or folder at `path` (not of a symlink), and whether it
    /// is a folder.
    fn entry(&self, path: &str) -> Option<(Stat, bool)> {
        #[cfg(target_os = "linux")]
        if let Some(dir) = &self.dir {
            use rustix::fs::{AtFlags, FileType, StatxFlags};
            match rustix::fs::statx(dir, path, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS) {
                Ok(s) => {
                    let kind = FileType::from_raw_mode(u32::from(s.stx_mode));
                    let nanos = |t: rustix::fs::StatxTimestamp| super::nanos(t.tv_sec, t.tv_nsec.into());
                    let stat = Stat {
                        size: s.stx_size,
                        mtime: nanos(s.stx_mtime)?,
                        ctime: nanos(s.stx_ctime)?,
                        ino: s.stx_ino,
                        dev: rustix::fs::makedev(s.stx_dev_major, s.stx_dev_minor),
                    };
                    return match kind {
                        FileType::RegularFile => Some((stat, false)),
                        FileType::Directory => Some((stat, true)),
                        _ => None,
                    };
                }
                // A kernel or sandbox without `statx`: the whole path, as below.
                Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {}
                Err(_) => return None,
            }
        }
        Stat::of_entry(&self.root.join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_looked_at_from_its_root_has_the_stat_of_its_whole_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/f.yaml"), "x: 1\n").unwrap();
        let below = Below::open(dir.path());
        assert_eq!(below.file("a/b/f.yaml"), Stat::of(&dir.path().join("a/b/f.yaml")));
        assert!(below.file("a/b/f.yaml").is_some());
        assert!(below.file("a/b").is_none(), "a folder is not a file");
        assert!(below.is_folder("a/b"));
        assert!(!below.is_folder("a/b/f.yaml"));
        assert!(below.file("a/b/none.yaml").is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_below_the_root_is_neither_file_nor_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/f.yaml"), "x: 1\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real/f.yaml"), dir.path().join("f.yaml")).unwrap();
        let below = Below::open(dir.path());
        assert!(!below.is_folder("link"));
        assert!(below.file("f.yaml").is_none());
        // Through a symlinked folder, as a path from `/` is: the folders are looked at apart.
        assert_eq!(
            below.file("link/f.yaml"),
            Stat::of(&dir.path().join("link/f.yaml"))
        );
    }

    #[test]
    fn a_root_that_does_not_exist_has_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let below = Below::open(&gone);
        assert!(below.file("f.yaml").is_none());
        assert!(!below.is_folder("a"));
    }
}
