//! One build at a time per output root: an advisory lock (`flock`) on the output root folder
//! itself. `build` holds it exclusively from before it reads the root until it has written
//! the lock file; `check` and `diff` hold it shared, so they never compare a half-written
//! tree. Locking the folder, not a file in it, puts no file of gitopsc's among the user's: no
//! name can collide, and nothing is left behind. A run that finds the root locked waits.

use super::EmitError;
use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::path::Path;

/// The lock on an output root, held until dropped (or the process exits).
#[derive(Debug)]
pub struct RootLock {
    _folder: File,
}

/// How a command uses the output root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `build`: writes; no other run may read or write meanwhile.
    Write,
    /// `check`, `diff`: reads; other readers may run at the same time.
    Read,
}

/// Locks the output root `root` for `access`, waiting while another run holds it;
/// `waiting` is called once before a wait. `None` when there is nothing to lock: a root that
/// does not exist (a build creates it, then locks it) or is not a folder (the comparison
/// reports that).
pub fn lock_root(root: &Path, access: Access, waiting: impl FnOnce()) -> Result<Option<RootLock>, EmitError> {
    let folder = match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => File::open(root),
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => Err(e),
    };
    let cannot = |e: std::io::Error| {
        EmitError(
            format!("cannot lock `{}` against other gitopsc runs: {e}", root.display()),
            Some("gitopsc takes an advisory lock on the output folder so that two builds never write it at once; it needs a file system that supports `flock`".into()),
crate::diagnostic::Code::Output,
)
    };
    let folder = folder.map_err(cannot)?;
    let tried = match access {
        Access::Write => folder.try_lock(),
        Access::Read => folder.try_lock_shared(),
    };
    match tried {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            waiting();
            match access {
                Access::Write => folder.lock(),
                Access::Read => folder.lock_shared(),
            }
            .map_err(cannot)?;
        }
        Err(TryLockError::Error(e)) => return Err(cannot(e)),
    }
    Ok(Some(RootLock { _folder: folder }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_excludes_everyone_and_readers_only_writers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        assert!(
            lock_root(&root, Access::Write, || {}).unwrap().is_none(),
            "nothing to lock"
        );
        std::fs::create_dir(&root).unwrap();
        let writer = lock_root(&root, Access::Write, || {}).unwrap().unwrap();
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0, "no file of its own");
        let other = File::open(&root).unwrap();
        assert!(matches!(other.try_lock_shared(), Err(TryLockError::WouldBlock)));
        drop(writer);
        let reader = lock_root(&root, Access::Read, || {}).unwrap().unwrap();
        let second = lock_root(&root, Access::Read, || panic!("readers wait for nobody")).unwrap();
        assert!(second.is_some());
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop((reader, second));
        other.try_lock().unwrap();

        // A writer that finds it taken waits, and says so first.
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let root = root.clone();
            std::thread::spawn(move || {
                let lock = lock_root(&root, Access::Write, || tx.send(()).unwrap());
                lock.unwrap().is_some()
            })
        };
        rx.recv().unwrap();
        drop(other);
        assert!(waiter.join().unwrap());
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(lock_root(&file, Access::Write, || {}).unwrap().is_none());
    }
}
