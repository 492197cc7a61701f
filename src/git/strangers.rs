//! Strangers: files below the spec's folder or the output root that git does not track
//! (ignored ones included) — a `.DS_Store`, an editor's swap file, notes. A staged check
//! needs the staged files: when the spec's folder differs from the index only by strangers
//! the spec does not read, the spec is read where it is; and a stale tree's report names the
//! untracked files a build made, not strangers. (Below the output root, the staged view
//! takes strangers as absent: `crate::emit::disk`.)

use super::{GitError, Repo};
use crate::emit::lock::{LOCK_FILE, Lock};
use std::collections::HashSet;
use std::path::Path;

/// How the work tree below the spec's folder and the output root differs from the index.
pub(super) struct Differences<'d> {
    /// Tracked files whose working copy differs from the index.
    pub changed: &'d [String],
    /// Files git does not track, ignored ones included.
    pub untracked: &'d [String],
}

/// Whether `path` is `dir` or below it (`.` and the empty path, the top, hold every path).
pub(super) fn is_below(dir: &str, path: &str) -> bool {
    matches!(dir, "" | ".") || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// The name of the file at `path`.
fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The strangers below `dir`, or `None` when a tracked file below it differs from the index.
fn strangers_below<'d>(differences: &Differences<'d>, dir: &str) -> Option<Vec<&'d str>> {
    if differences.changed.iter().any(|p| is_below(dir, p)) {
        return None;
    }
    Some(
        differences
            .untracked
            .iter()
            .map(String::as_str)
            .filter(|p| is_below(dir, p))
            .collect(),
    )
}

/// The files (from the top) that the lock files among `files` list — paths from the output
/// root `out_rel` — or `None` when one cannot be read.
fn listed_by_locks(repo: &Repo, out_rel: &str, files: Vec<String>) -> Option<HashSet<String>> {
    let mut listed = HashSet::new();
    for lock in files.iter().filter(|p| name(p) == LOCK_FILE) {
        let bytes = std::fs::read(repo.top.join(lock)).ok()?;
        let lock = Lock::parse(&bytes).ok()?;
        listed.extend(lock.files.into_keys().map(|p| match out_rel {
            "" | "." => p,
            _ => format!("{out_rel}/{p}"),
        }));
    }
    Some(listed)
}

/// Of the files git does not track below the output root and the other inputs
/// (`untracked`), those a staged tree needs: any below the other inputs, and below the root
/// those a lock file there lists (a build wrote them) or a lock file itself — not strangers.
/// All of them when a lock file cannot be read.
pub(super) fn generated(repo: &Repo, out_rel: &str, untracked: Vec<String>) -> Result<Vec<String>, GitError> {
    let mut locks = repo.tracked(&[out_rel])?;
    locks.extend(untracked.iter().filter(|p| is_below(out_rel, p)).cloned());
    let Some(listed) = listed_by_locks(repo, out_rel, locks) else {
        return Ok(untracked);
    };
    let wanted = |p: &String| !is_below(out_rel, p) || listed.contains(p) || name(p) == LOCK_FILE;
    Ok(untracked.into_iter().filter(wanted).collect())
}

/// Whether the spec's folder `folder` differs from the index only by strangers the spec does
/// not read: none is the spec, a file it includes or names as manifests (or one below a
/// manifests folder), a file of a vendored charts folder it names (`charts` finds that of its
/// root, from the top: `None` when it cannot be told, and then no stranger is taken as
/// unread), or — for a fleet folder — a part (a `*.yaml` file outside hidden folders). Every
/// file the spec reads then holds its staged bytes. `spec_rel` is the spec's path from the
/// top.
pub(super) fn unread_by_spec(
    repo: &Repo,
    differences: &Differences,
    (spec_rel, folder): (&str, &str),
    charts: impl FnOnce() -> Option<String>,
) -> bool {
    let Some(strangers) = strangers_below(differences, folder) else {
        return false;
    };
    if strangers.is_empty() {
        return true;
    }
    let Some(charts) = charts() else {
        return false;
    };
    let spec = repo.top.join(spec_rel);
    let from_folder = |p: &str| match folder {
        "" | "." => Some(p.to_string()),
        _ => p.strip_prefix(folder)?.strip_prefix('/').map(String::from),
    };
    let named = named_files(&spec);
    let is_part =
        |rest: &str| spec.is_dir() && rest.ends_with(".yaml") && !rest.split('/').any(|c| c.starts_with('.'));
    !strangers.iter().any(|p| {
        *p == spec_rel
            || is_below(&charts, p)
            || from_folder(p).is_none_or(|rest| is_part(&rest) || named.iter().any(|n| is_below(n, &rest)))
    })
}

/// The files the spec at `spec` (a file or a fleet folder) names from its folder: those a
/// fleet root includes, those its files name as manifests (a file, or a folder whose files
/// are all read), and the vendored charts folders they name.
fn named_files(spec: &Path) -> Vec<String> {
    use crate::disk::{self, Kind};
    let root = if spec.is_dir() {
        spec.join("fleet.yaml")
    } else {
        spec.to_path_buf()
    };
    let mut named = super::inputs::Named::of_root(disk::read_to_string(&root).ok().as_deref());
    let base = root.parent().unwrap_or(Path::new(""));
    let mut files: Vec<std::path::PathBuf> = named.includes.iter().map(|p| base.join(p)).collect();
    // A folder that cannot be walked is the run's to report (GSC0101); what was found stands.
    if spec.is_dir()
        && let Ok(walked) = disk::walk(spec, true)
    {
        let yaml = |p: &Path| p.extension().is_some_and(|x| x == "yaml");
        files.extend(
            (walked.into_iter())
                .filter(|(p, kind)| *kind == Kind::File && yaml(p) && *p != root)
                .map(|(p, _)| p),
        );
    }
    (files.iter())
        .filter_map(|f| disk::read_to_string(f).ok())
        .for_each(|t| named.read(&t));
    let mut found = std::mem::take(&mut named.includes);
    found.append(&mut named.manifests);
    found.extend(named.charts.iter().map(|dir| plain_folder(dir)));
    found
}

/// A `chartsDir` as a folder from the spec's; `.` (every file) for one that is not a plain
/// relative path.
fn plain_folder(dir: &str) -> String {
    use std::path::Component;
    let plain = Path::new(dir)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let parts: Vec<&str> = dir.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if plain && !parts.is_empty() {
        parts.join("/")
    } else {
        ".".into()
    }
}
