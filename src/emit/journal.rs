//! The journal of a build in progress: `<out>/.gitopsc-journal`. Before a build makes its
//! first temp name it lists them all, and before it moves the first file into place it lists
//! the hash of every file it is about to put there. A build that was killed or failed leaves
//! it; the next build — of any spec — removes the temp names it lists and takes a file that
//! has a hash it lists as gitopsc's, as it takes one with the hash in `gitopsc.lock`. Only a
//! build that wrote its lock file removes the journal: until then every build appends to it,
//! so what a string of interrupted builds put in place stays known.
//!
//! Only a regular file that starts with `HEADER` is a journal; a folder or another file by
//! that name is the user's, never read or removed (the build stops with an error instead).

use super::EmitError;
use super::lock::is_safe_relative;
use std::collections::HashMap;
use std::io::{ErrorKind, Write};
use std::path::Path;

/// The journal's name in the output root.
pub const JOURNAL: &str = ".gitopsc-journal";

/// The first line of every journal.
const HEADER: &str = "# gitopsc journal: a build in progress into this folder; the next gitopsc build reads it, finishes the job and removes it\n";

/// What the journals of interrupted builds list.
#[derive(Debug, Default)]
pub struct Journal {
    /// Temp files and folders (relative paths) a build made or was about to make.
    pub temps: Vec<String>,
    /// Path → the hashes of the bytes builds were about to put there.
    pub files: HashMap<String, Vec<String>>,
}

impl Journal {
    /// Reads the journal in `root`: `None` when there is none.
    pub fn read(root: &Path) -> Result<Option<Journal>, EmitError> {
        let path = root.join(JOURNAL);
        let in_the_way = |what: &str| {
            EmitError(
                format!("`{}` is {what}, not a journal of gitopsc's", path.display()),
                Some(format!(
                    "gitopsc keeps the journal of a build in progress at `{JOURNAL}` and leaves what it did not write alone: move it away"
                )),
                crate::diagnostic::Code::Output,
            )
        };
        match crate::disk::kind(&path) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(super::write::io("read", &path, e)),
            Ok(crate::disk::Kind::Folder) => return Err(in_the_way("a folder")),
            Ok(crate::disk::Kind::Symlink | crate::disk::Kind::Other) => {
                return Err(in_the_way("not a regular file"));
            }
            Ok(crate::disk::Kind::File) => {}
        }
        let bytes = crate::disk::read(&path).map_err(|e| super::write::io("read", &path, e))?;
        let Some(body) = bytes.strip_prefix(HEADER.as_bytes()) else {
            return Err(in_the_way("a file"));
        };
        let mut journal = Journal::default();
        // A line without its newline was cut by a kill: it never counted.
        let complete = body
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(&[][..], |end| &body[..end]);
        for line in String::from_utf8_lossy(complete).lines() {
            if let Some(temp) = line.strip_prefix("temp ") {
                if is_safe_relative(temp) {
                    journal.temps.push(temp.to_string());
                }
            } else if let Some((hash, path)) = line.strip_prefix("file ").and_then(|l| l.split_once(' '))
                && is_safe_relative(path)
            {
                journal
                    .files
                    .entry(path.to_string())
                    .or_default()
                    .push(hash.to_string());
            }
        }
        Ok(Some(journal))
    }
}

/// Appends `temps` to the journal in `root` (which it starts when there is none).
pub fn add_temps(root: &Path, temps: &[String]) -> Result<(), EmitError> {
    append(root, |lines| {
        temps
            .iter()
            .try_for_each(|temp| lines.add(&["temp ", temp, "\n"]))
    })
}

/// Appends the hash of each file (path, hash) about to be put in place.
pub fn add_files<'a>(root: &Path, files: impl Iterator<Item = (&'a str, &'a str)>) -> Result<(), EmitError> {
    append(root, |lines| {
        files
            .into_iter()
            .try_for_each(|(path, hash)| lines.add(&["file ", hash, " ", path, "\n"]))
    })
}

/// How many bytes of whole lines [`Lines`] writes at once.
const PIECE: usize = 1 << 20;

/// Lines appended to the journal, written in pieces of whole lines: what a kill cuts off is
/// at most the last line, which is then not read.
struct Lines {
    file: std::fs::File,
    text: String,
}

impl Lines {
    /// Adds the line made of `parts` (the last ends it).
    fn add(&mut self, parts: &[&str]) -> std::io::Result<()> {
        self.text.extend(parts.iter().copied());
        if self.text.len() >= PIECE {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the lines held.
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.write_all(self.text.as_bytes())?;
        self.text.clear();
        Ok(())
    }
}

/// Appends the lines `add` makes to the journal in `root`, which it starts when there is none.
fn append(root: &Path, add: impl FnOnce(&mut Lines) -> std::io::Result<()>) -> Result<(), EmitError> {
    let path = root.join(JOURNAL);
    let mut text = String::new();
    let file = match std::fs::OpenOptions::new().append(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            text.push_str(HEADER);
            std::fs::OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| super::write::io("write", &path, e))?
        }
        Err(e) => return Err(super::write::io("write", &path, e)),
    };
    let mut lines = Lines { file, text };
    add(&mut lines)
        .and_then(|()| lines.flush())
        .map_err(|e| super::write::io("write", &path, e))
}

/// Removes the journal: once the lock file records all it listed.
pub fn remove(root: &Path) -> Result<(), EmitError> {
    let path = root.join(JOURNAL);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(super::write::io("remove", &path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_is_read_back_as_written_and_only_a_journal_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(Journal::read(root).unwrap().is_none());
        add_temps(root, &[".a.gitopsc-tmp".into(), "../x".into()]).unwrap();
        add_files(root, [("a/b.yaml", "h1"), ("a/c d.yaml", "h2")].into_iter()).unwrap();
        add_files(root, [("a/b.yaml", "h3"), ("/etc/x", "h4")].into_iter()).unwrap();
        // A kill in the middle of a line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(root.join(JOURNAL))
            .unwrap();
        f.write_all(b"file h5 a/b.ya").unwrap();
        let journal = Journal::read(root).unwrap().unwrap();
        assert_eq!(journal.temps, [".a.gitopsc-tmp"]);
        assert_eq!(journal.files["a/b.yaml"], ["h1", "h3"]);
        assert_eq!(journal.files["a/c d.yaml"], ["h2"]);
        assert_eq!(journal.files.len(), 2);
        remove(root).unwrap();
        remove(root).unwrap();

        std::fs::write(root.join(JOURNAL), "temp .a.gitopsc-tmp\n").unwrap();
        let foreign = Journal::read(root).unwrap_err();
        assert!(foreign.0.contains("is a file, not a journal"), "{}", foreign.0);
        std::fs::remove_file(root.join(JOURNAL)).unwrap();
        std::fs::create_dir(root.join(JOURNAL)).unwrap();
        assert!(Journal::read(root).unwrap_err().0.contains("a folder"));
    }
}
