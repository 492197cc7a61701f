//! Reading a spec and its rendered tree out of git's object database — the index (what a
//! commit will hold) or any revision — without touching the index or the working tree.
//!
//! gitopsc stays a pure compiler: this module only asks the `git` program for blobs
//! (`ls-files`/`ls-tree` and `cat-file --batch`) and lays them out in a private temporary
//! folder, where the ordinary pipeline reads them. [`review`] holds the commands built on it.

mod inputs;
pub mod review;
mod strangers;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the files come from.
#[derive(Debug, Clone, Copy)]
pub enum Snapshot<'r> {
    /// The index: what `git commit` would record now.
    Index,
    /// A revision (`HEAD`, `origin/main`, a commit id).
    Revision(&'r str),
}

/// A git failure, said for the user.
#[derive(Debug)]
pub struct GitError(pub String);

/// A repository, found from the current folder.
#[derive(Debug)]
pub struct Repo {
    /// The work tree's top folder (canonical).
    pub top: PathBuf,
}

impl Repo {
    /// The repository the current folder is in.
    pub fn discover() -> Result<Repo, GitError> {
        let top = run_git(None, &["rev-parse", "--show-toplevel"])?;
        let top = String::from_utf8_lossy(&top).trim().to_string();
        let top = std::fs::canonicalize(&top)
            .map_err(|e| GitError(format!("cannot open the repository at `{top}`: {e}")))?;
        Ok(Repo { top })
    }

    /// `path` (relative to the current folder, or absolute) as a path relative to the top of
    /// the work tree, with `/` separators; the path need not exist.
    pub fn relative(&self, path: &Path) -> Result<String, GitError> {
        let cwd = std::env::current_dir().map_err(|e| GitError(format!("no current folder: {e}")))?;
        let absolute = normalize(&cwd.join(path));
        // The top is canonical; so must the path's existing part be.
        let (existing, rest) = split_existing(&absolute);
        let existing = std::fs::canonicalize(&existing).unwrap_or(existing);
        let full = rest.iter().fold(existing, |p, c| p.join(c));
        let relative = full.strip_prefix(&self.top).map_err(|_| {
            GitError(format!(
                "`{}` is outside the repository at `{}`",
                path.display(),
                self.top.display()
            ))
        })?;
        // The top itself is `.`: git takes no empty pathspec.
        match relative.to_string_lossy().replace('\\', "/") {
            top if top.is_empty() => Ok(".".into()),
            relative => Ok(relative),
        }
    }

    /// Writes every file of `snapshot` at or below each of `paths` (repository-relative) into
    /// `into`, at the same relative paths; returns how many were written. Files in conflict
    /// (an unfinished merge) are an error.
    pub fn materialize(
        &self,
        snapshot: Snapshot<'_>,
        paths: &[&str],
        into: &Path,
    ) -> Result<usize, GitError> {
        let files = self.files(snapshot, paths)?;
        write_files(&files, into)?;
        Ok(files.len())
    }

    /// Every file of `snapshot` at or below each of `paths` (repository-relative), with its
    /// bytes (asked of git all at once). Files in conflict (an unfinished merge) are an error.
    pub fn files(&self, snapshot: Snapshot<'_>, paths: &[&str]) -> Result<Vec<GitFile>, GitError> {
        let entries = self.entries(snapshot, paths)?;
        let mut batch = CatFile::start(&self.top, entries.iter().map(|e| e.oid.clone()).collect())?;
        entries
            .into_iter()
            .map(|e| {
                let bytes = batch.blob(&e.oid)?;
                Ok(GitFile {
                    symlink: e.mode == "120000",
                    path: e.path,
                    bytes,
                })
            })
            .collect()
    }

    /// The staged bytes of each of `paths`, files below `dir` that git tracks, as `(path,
    /// bytes)`; `None` when one is not staged as a regular file (a symlink, a submodule) or not
    /// staged at all.
    pub fn staged_bytes(
        &self,
        dir: &str,
        paths: &std::collections::HashSet<&str>,
    ) -> Result<Option<Vec<StagedFile>>, GitError> {
        let entries: Vec<Entry> = (self.entries(Snapshot::Index, &[dir])?.into_iter())
            .filter(|e| paths.contains(e.path.as_str()))
            .collect();
        let regular = |e: &Entry| matches!(e.mode.as_str(), "100644" | "100755");
        if entries.len() != paths.len() || !entries.iter().all(regular) {
            return Ok(None);
        }
        let mut batch = CatFile::start(&self.top, entries.iter().map(|e| e.oid.clone()).collect())?;
        let staged = entries
            .into_iter()
            .map(|e| batch.blob(&e.oid).map(|bytes| (e.path, bytes)))
            .collect::<Result<_, _>>()?;
        Ok(Some(staged))
    }

    /// Files of `paths` whose working copy differs from the index (unstaged changes).
    pub fn unstaged(&self, paths: &[&str]) -> Result<Vec<String>, GitError> {
        let mut args = vec!["diff", "--name-only", "-z", "--"];
        args.extend(paths);
        Ok(split_z(&run_git(Some(&self.top), &args)?))
    }

    /// Files of `paths` that git tracks (as staged).
    pub fn tracked(&self, paths: &[&str]) -> Result<Vec<String>, GitError> {
        Ok(self
            .entries(Snapshot::Index, paths)?
            .into_iter()
            .map(|e| e.path)
            .collect())
    }

    /// Files of `paths` that git does not track, ignored ones included.
    pub fn untracked_or_ignored(&self, paths: &[&str]) -> Result<Vec<String>, GitError> {
        let mut args = vec!["ls-files", "--others", "-z", "--"];
        args.extend(paths);
        Ok(split_z(&run_git(Some(&self.top), &args)?))
    }

    /// Whether git may convert the files below `dirs` (folders from the top) between the work
    /// tree and the index: a `core.autocrlf`, `core.eol` or `core.attributesFile` setting, a
    /// global attributes file, `info/attributes`, an attributes file git tracks anywhere, or one
    /// in the top or a folder on the way down to one of `dirs`. A file is then not known to hold
    /// its staged bytes when git says it is clean. Attributes files below `dirs` that git does
    /// not track are among the files the caller lists there, and are its to see.
    pub fn converts(&self, dirs: &[&str]) -> Result<bool, GitError> {
        let settings = run_git(
            Some(&self.top),
            &["config", "--get-regexp", r"^core\.(autocrlf|eol|attributesfile)$"],
        )
        .unwrap_or_default();
        let converting = String::from_utf8_lossy(&settings)
            .lines()
            .any(|l| !matches!(l.split_once(' '), Some((_, "false"))));
        // Asked of the index alone: a look for files git does not track would go through the
        // whole work tree.
        let tracked = run_git(
            Some(&self.top),
            &["ls-files", "-z", "--cached", "--", ":(glob)**/.gitattributes"],
        )?;
        let above = dirs.iter().any(|dir| {
            (self.top.join(dir).ancestors())
                .take_while(|folder| folder.starts_with(&self.top))
                .any(|folder| folder.join(".gitattributes").exists())
        });
        let info = run_git(Some(&self.top), &["rev-parse", "--git-path", "info/attributes"])?;
        let info = self.top.join(String::from_utf8_lossy(&info).trim());
        let env = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
        let global = (env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config"))))
            .is_some_and(|config| config.join("git/attributes").exists());
        Ok(converting || !tracked.is_empty() || above || info.exists() || global)
    }

    /// Files of `paths` that git does not track and does not ignore.
    pub fn untracked(&self, paths: &[&str]) -> Result<Vec<String>, GitError> {
        let mut args = vec!["ls-files", "--others", "--exclude-standard", "-z", "--"];
        args.extend(paths);
        Ok(split_z(&run_git(Some(&self.top), &args)?))
    }

    fn entries(&self, snapshot: Snapshot<'_>, paths: &[&str]) -> Result<Vec<Entry>, GitError> {
        let mut args: Vec<&str> = match snapshot {
            Snapshot::Index => vec!["ls-files", "--stage", "-z", "--"],
            Snapshot::Revision(rev) => {
                // A revision that names no commit is an error of its own, said plainly.
                let commit = format!("{rev}^{{commit}}");
                run_git(Some(&self.top), &["rev-parse", "--verify", "--quiet", &commit])
                    .map_err(|_| GitError(format!("`{rev}` names no commit of this repository")))?;
                vec!["ls-tree", "-r", "-z", "--full-tree", rev, "--"]
            }
        };
        args.extend(paths);
        let listing = run_git(Some(&self.top), &args)?;
        split_z(&listing)
            .iter()
            .filter_map(|line| parse_entry(line, snapshot))
            .collect()
    }
}

/// A file as staged: its path from the top and its bytes.
pub type StagedFile = (String, Vec<u8>);

/// A file of a snapshot: its path from the top, whether it is a symlink (its bytes then name
/// the target), and its bytes.
pub struct GitFile {
    /// The path from the top.
    pub path: String,
    /// Whether git holds it as a symlink.
    pub symlink: bool,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Writes `files` below `into`, at their paths.
pub fn write_files(files: &[GitFile], into: &Path) -> Result<(), GitError> {
    for file in files {
        let target = into.join(&file.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(&target, &e))?;
        }
        if file.symlink {
            let link = String::from_utf8_lossy(&file.bytes).to_string();
            symlink(&link, &target).map_err(|e| io_error(&target, &e))?;
        } else {
            std::fs::write(&target, &file.bytes).map_err(|e| io_error(&target, &e))?;
        }
    }
    Ok(())
}

/// One file of a listing.
struct Entry {
    mode: String,
    oid: String,
    path: String,
}

/// `<mode> <oid> <stage>\t<path>` (index) or `<mode> <type> <oid>\t<path>` (tree); submodules
/// (commits) are skipped.
fn parse_entry(line: &str, snapshot: Snapshot<'_>) -> Option<Result<Entry, GitError>> {
    let (meta, path) = line.split_once('\t')?;
    let fields: Vec<&str> = meta.split(' ').collect();
    let (mode, oid, unmerged) = match (snapshot, fields.as_slice()) {
        (Snapshot::Index, [mode, oid, stage]) => (*mode, *oid, *stage != "0"),
        (Snapshot::Revision(_), [mode, kind, oid]) if *kind == "blob" => (*mode, *oid, false),
        _ => return None,
    };
    if mode == "160000" {
        return None;
    }
    if unmerged {
        return Some(Err(GitError(format!(
            "`{path}` is in conflict (an unfinished merge): resolve it and `git add` it first"
        ))));
    }
    if !is_plain_relative(path) {
        return Some(Err(GitError(format!("`{path}` is not a plain relative path"))));
    }
    Some(Ok(Entry {
        mode: mode.to_string(),
        oid: oid.to_string(),
        path: path.to_string(),
    }))
}

/// A path of plain names only: nothing git lists can then land outside the folder it is
/// laid out in.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// One `git cat-file --batch` process, asked for every blob at once: a thread writes the
/// requests while the answers are read, in order (a pipe round trip for each blob had cost a
/// fifth of the time of laying out a large tree).
struct CatFile {
    child: std::process::Child,
    output: BufReader<std::process::ChildStdout>,
}

impl CatFile {
    fn start(top: &Path, oids: Vec<String>) -> Result<CatFile, GitError> {
        let mut child = Command::new("git")
            .args(["cat-file", "--batch", "--buffer"])
            .current_dir(top)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| GitError(format!("cannot run `git`: {e}")))?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(GitError("cannot talk to `git cat-file`".to_string()));
        };
        // Ends when every request is written, or when git is gone (the writes then fail).
        std::thread::spawn(move || {
            let mut input = std::io::BufWriter::new(input);
            for oid in oids {
                if writeln!(input, "{oid}").is_err() {
                    return;
                }
            }
            let _ = input.flush();
        });
        Ok(CatFile {
            child,
            output: BufReader::new(output),
        })
    }

    /// The next answer, which is that for `oid`.
    fn blob(&mut self, oid: &str) -> Result<Vec<u8>, GitError> {
        let broken = |e: std::io::Error| GitError(format!("`git cat-file` failed: {e}"));
        let mut header = String::new();
        self.output.read_line(&mut header).map_err(broken)?;
        // `<oid> blob <size>`, or `<oid> missing`.
        let size = header
            .split(' ')
            .nth(2)
            .filter(|_| header.starts_with(oid))
            .and_then(|s| s.trim().parse::<usize>().ok())
            .ok_or_else(|| GitError(format!("git has no object {oid}: {}", header.trim())))?;
        let mut bytes = vec![0; size + 1];
        self.output.read_exact(&mut bytes).map_err(broken)?;
        bytes.pop();
        Ok(bytes)
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs git (in `dir`, or the current folder) and returns its stdout.
fn run_git(dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let mut command = Command::new("git");
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command
        .output()
        .map_err(|e| GitError(format!("cannot run `git`: {e}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(GitError(format!("`git {}` failed: {said}", args.join(" "))));
    }
    Ok(output.stdout)
}

fn split_z(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).to_string())
        .collect()
}

/// `a/./b/../c` → `a/c`, without asking the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The longest existing ancestor of `path`, and the names below it.
fn split_existing(path: &Path) -> (PathBuf, Vec<std::ffi::OsString>) {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(name) = existing.file_name().map(std::ffi::OsStr::to_os_string) else {
            break;
        };
        rest.push(name);
        existing.pop();
    }
    rest.reverse();
    (existing, rest)
}

fn io_error(path: &Path, e: &std::io::Error) -> GitError {
    GitError(format!("cannot write `{}`: {e}", path.display()))
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &str, link: &Path) -> std::io::Result<()> {
    std::fs::write(link, target)
}

/// Runs git in `dir` as a fixed author, for the unit tests; a failure fails the test.
#[cfg(test)]
pub(crate) fn test_git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new repository for the unit tests holding `files` (path, text), committed; the folder
/// lives as long as the `TempDir`.
#[cfg(test)]
pub(crate) fn test_repo(files: &[(&str, &str)]) -> (tempfile::TempDir, Repo) {
    let temp = tempfile::tempdir().unwrap();
    let top = std::fs::canonicalize(temp.path()).unwrap();
    for (path, text) in files {
        std::fs::create_dir_all(top.join(path).parent().unwrap()).unwrap();
        std::fs::write(top.join(path), text).unwrap();
    }
    test_git(&top, &["init", "-q", "-b", "main"]);
    test_git(&top, &["add", "-A"]);
    test_git(&top, &["commit", "-qm", "first"]);
    (temp, Repo { top })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_parse_and_refuse_paths_that_climb() {
        let index = parse_entry("100644 abc 0\tout/a.yaml", Snapshot::Index)
            .unwrap()
            .unwrap();
        assert_eq!(
            (index.mode.as_str(), index.oid.as_str(), index.path.as_str()),
            ("100644", "abc", "out/a.yaml")
        );
        assert!(
            parse_entry("100644 abc 2\tspec.yaml", Snapshot::Index)
                .unwrap()
                .is_err()
        );
        assert!(
            parse_entry("100644 blob abc\t../x", Snapshot::Revision("HEAD"))
                .unwrap()
                .is_err()
        );
        assert!(parse_entry("160000 commit abc\tsub", Snapshot::Revision("HEAD")).is_none());
    }

    #[test]
    fn paths_normalize_without_the_file_system() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
