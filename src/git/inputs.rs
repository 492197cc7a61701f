//! What a spec reads beside its own files, found from their texts: the files a fleet root
//! includes, the manifest files its files name, and the vendored charts folders they name.
//! A staged check and a diff against a revision take the spec's side out of git with them
//! ([`spec_side`]) and hold it in memory ([`lay`]); a staged check run in the work tree asks
//! git about them ([`on_disk`]); a stranger below the spec's folder is told from them
//! (`super::strangers`).

use super::{GitError, GitFile, Repo, Snapshot, write_files};
use crate::disk;
use serde_json::Value;
use std::path::Path;

/// What a spec's texts name, from the spec's folder.
#[derive(Debug, Default)]
pub(super) struct Named {
    /// The files its root includes (a fleet root's `include:`), from the root's folder.
    pub includes: Vec<String>,
    /// Its root's vendored charts folder, as written: the one `defaults.chartsDir` names, else
    /// `charts`.
    pub root_charts: String,
    /// Manifest files and folders (`manifests[].path`), normalized (`a/b`).
    pub manifests: Vec<String>,
    /// Every `chartsDir`, as written (in a fleet, a cluster may name its own).
    pub charts: Vec<String>,
}

impl Named {
    /// What the root's text (`None`: no root file) names. It is parsed once, and only when
    /// it mentions a field that names a file.
    pub fn of_root(text: Option<&str>) -> Named {
        let value = text.and_then(|t| parsed(t, &["include", "chartsDir", "manifests"]));
        let mut named = Named {
            includes: value
                .as_ref()
                .map(crate::fleet::include::listed)
                .unwrap_or_default(),
            root_charts: crate::charts::DEFAULT_DIR.to_string(),
            ..Named::default()
        };
        if let Some(value) = value {
            named.root_charts = crate::charts::dir_named(&value);
            named.add(&value);
        }
        named
    }

    /// Adds what another of the spec's texts names; it is parsed only when it mentions
    /// manifests or a charts folder.
    pub fn read(&mut self, text: &str) {
        if let Some(value) = parsed(text, &["manifests", "chartsDir"]) {
            self.add(&value);
        }
    }

    fn add(&mut self, value: &Value) {
        (self.manifests).extend(crate::spec::manifests::named_paths(value));
        charts_dirs(value, &mut self.charts);
    }
}

/// The data of `text` when it mentions one of `words` and parses.
fn parsed(text: &str, words: &[&str]) -> Option<Value> {
    words.iter().any(|w| text.contains(w)).then_some(())?;
    let loaded = crate::spec::load::parse(crate::source::Source::new("", text.to_string())).ok()?;
    Some(loaded.spans.root().to_value())
}

/// Every `chartsDir` in `value`, as written.
fn charts_dirs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if let (true, Some(dir)) = (key == "chartsDir", item.as_str()) {
                    out.push(dir.to_string());
                }
                charts_dirs(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| charts_dirs(item, out)),
        _ => {}
    }
}

/// The spec's side of a snapshot, out of git.
pub(super) struct SpecSide {
    /// The spec's files (the file, or every file of a fleet folder), the files a fleet root
    /// includes, the manifest files named and those of the vendored charts folders named.
    pub files: Vec<GitFile>,
    /// The inputs beside the spec's own files, from the top: the manifest files and folders
    /// and the vendored charts folders named.
    pub inputs: Vec<String>,
}

/// The spec at `spec` (`spec_rel` from the top) and what it reads, as `snapshot` holds them;
/// `None` when the snapshot holds no spec there.
pub(super) fn spec_side(
    repo: &Repo,
    snapshot: Snapshot<'_>,
    spec: &Path,
    spec_rel: &str,
) -> Result<Option<SpecSide>, GitError> {
    let mut files = repo.files(snapshot, &[spec_rel])?;
    if files.is_empty() {
        return Ok(None);
    }
    let is_folder = !files.iter().any(|f| f.path == spec_rel);
    let (folder, root) = if is_folder {
        (spec_rel.to_string(), joined(spec_rel, "fleet.yaml"))
    } else {
        (parent(spec_rel), spec_rel.to_string())
    };
    let mut named = Named::of_root(files.iter().find(|f| f.path == root).and_then(text));
    // A folder's `fleet.yaml` includes nothing (every part of the folder is read).
    if !is_folder && !named.includes.is_empty() {
        let parts: Vec<String> = named.includes.iter().map(|p| joined(&folder, p)).collect();
        files.extend(repo.files(snapshot, &refs(&parts))?);
    }
    (files.iter())
        .filter(|f| f.path != root && f.path.ends_with(".yaml"))
        .filter_map(text)
        .for_each(|t| named.read(t));
    let inputs = resolved(repo, spec, &folder, named)?;
    if !inputs.is_empty() {
        files.extend(repo.files(snapshot, &refs(&inputs))?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(Some(SpecSide { files, inputs }))
}

/// The inputs the spec at `spec` reads beside its own files, from the top, as the work tree
/// has them: the manifest files its root, the files that root includes and a fleet folder's
/// top files name, and the vendored charts folders they name.
pub(super) fn on_disk(repo: &Repo, spec: &Path, spec_rel: &str) -> Result<Vec<String>, GitError> {
    let abs = repo.top.join(spec_rel);
    let is_folder = disk::is_dir(&abs);
    let (folder, root) = if is_folder {
        (spec_rel.to_string(), abs.join("fleet.yaml"))
    } else {
        (parent(spec_rel), abs.clone())
    };
    let mut named = Named::of_root(disk::read_to_string(&root).ok().as_deref());
    let base = root.parent().unwrap_or(Path::new(""));
    let mut paths: Vec<std::path::PathBuf> = named.includes.iter().map(|p| base.join(p)).collect();
    // A fleet folder's files below its top are in the folder the check looks at anyway.
    if let Ok(entries) = disk::entries(&abs) {
        paths.extend(entries.into_iter().map(|(name, _)| abs.join(name)));
    }
    (paths.iter().filter(|p| **p != root))
        .filter_map(|p| disk::read_to_string(p).ok())
        .for_each(|t| named.read(&t));
    resolved(repo, spec, &folder, named)
}

/// The inputs `named` names, from the top, sorted. A charts folder outside the repository is
/// an error: git holds no files there.
fn resolved(repo: &Repo, spec: &Path, folder: &str, named: Named) -> Result<Vec<String>, GitError> {
    let mut inputs: Vec<String> = named.manifests.iter().map(|p| joined(folder, p)).collect();
    for dir in std::iter::once(&named.root_charts).chain(&named.charts) {
        inputs.push(charts_folder(repo, spec, dir)?);
    }
    inputs.sort();
    inputs.dedup();
    Ok(inputs)
}

/// The vendored charts folder (from the top) that the spec at `spec` names beside its root
/// file — a fleet folder's `fleet.yaml`, or the spec file itself — as the work tree has it.
pub(super) fn root_charts(repo: &Repo, spec: &Path) -> Result<String, GitError> {
    let root = crate::fleet::include::Files::of(spec).map_or_else(|| spec.to_path_buf(), |f| f.root);
    let named = Named::of_root(disk::read_to_string(&root).ok().as_deref());
    charts_folder(repo, spec, &named.root_charts)
}

/// The charts folder `dir` (as a spec at `spec` names it, from the root's folder), from the
/// top; an error outside the repository, where git holds no files.
fn charts_folder(repo: &Repo, spec: &Path, dir: &str) -> Result<String, GitError> {
    repo.relative(&crate::fleet::spec_dir(spec).join(dir))
        .map_err(|_| {
            GitError(format!(
                "`chartsDir` names `{dir}`, outside the repository: git holds no vendored charts there"
            ))
        })
}

/// Lays the spec's side out at `root` (a folder that is not there): held in memory, a view
/// of the folder ([`disk::View::lay`]) — or, when it holds a symlink (which no view holds),
/// written there. Setting a view twice in one run is an error.
pub(super) fn lay(side: SpecSide, root: &Path) -> Result<(), GitError> {
    if !side.files.iter().any(|f| f.symlink) {
        let mut view = disk::View::default();
        view.lay(root, side.files.into_iter().map(|f| (f.path, f.bytes)));
        if disk::set_view(view) {
            return Ok(());
        }
        return Err(GitError(
            "the spec's files cannot be held in memory twice in one run".into(),
        ));
    }
    write_files(&side.files, root)
}

/// The text of a regular file of a snapshot (none for a symlink or bytes that are not UTF-8).
fn text(file: &GitFile) -> Option<&str> {
    (!file.symlink).then(|| std::str::from_utf8(&file.bytes).ok())?
}

/// The folder of `path` (from the top), `""` at the top.
fn parent(path: &str) -> String {
    path.rsplit_once('/')
        .map_or_else(String::new, |(dir, _)| dir.to_string())
}

/// `name` in `folder` (`""` or `.`: the top).
fn joined(folder: &str, name: &str) -> String {
    match folder {
        "" | "." => name.to_string(),
        _ => format!("{folder}/{name}"),
    }
}

fn refs(paths: &[String]) -> Vec<&str> {
    paths.iter().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::test_git as git;

    #[test]
    fn the_spec_side_holds_what_the_spec_reads_and_nothing_beside_it() {
        let root =
            "kind: Fleet\ninclude: [apps/a.yaml]\nclusters: [{name: c, defaults: {chartsDir: ../vendor}}]\n";
        let files = [
            ("spec/fleet.yaml", root),
            (
                "spec/apps/a.yaml",
                "apps: [{name: a, manifests: [{path: ./extra}]}]\n",
            ),
            ("spec/apps/b.yaml", "not included\n"),
            ("spec/extra/m.yaml", "kind: ConfigMap\n"),
            ("spec/charts/web/1.0.0/values.yaml", "a: 1\n"),
            ("spec/notes/x.yaml", "unread\n"),
            ("vendor/web/1.0.0/values.yaml", "a: 2\n"),
            ("k8s/a.yaml", "tree\n"),
        ];
        let (_temp, repo) = crate::git::test_repo(&files);
        let top = repo.top.clone();
        let side = |spec_rel: &str, snapshot| {
            let side = spec_side(&repo, snapshot, &top.join(spec_rel), spec_rel)
                .unwrap()
                .unwrap();
            let files: Vec<String> = side.files.into_iter().map(|f| f.path).collect();
            (files, side.inputs)
        };
        let (files, inputs) = side("spec/fleet.yaml", Snapshot::Index);
        assert_eq!(
            files,
            [
                "spec/apps/a.yaml",
                "spec/charts/web/1.0.0/values.yaml",
                "spec/extra/m.yaml",
                "spec/fleet.yaml",
                "vendor/web/1.0.0/values.yaml",
            ]
        );
        assert_eq!(inputs, ["spec/charts", "spec/extra", "vendor"]);
        // A commit's, the same; a spec it does not hold, none.
        assert_eq!(side("spec/fleet.yaml", Snapshot::Revision("HEAD")).0, files);
        assert!(
            spec_side(&repo, Snapshot::Index, &top.join("none.yaml"), "none.yaml")
                .unwrap()
                .is_none()
        );
        // On disk, the same inputs.
        assert_eq!(
            on_disk(&repo, &top.join("spec/fleet.yaml"), "spec/fleet.yaml").unwrap(),
            inputs
        );
        // A charts folder outside the repository is said plainly.
        std::fs::write(
            top.join("spec/fleet.yaml"),
            "kind: Fleet\ndefaults: {chartsDir: ../../x}\n",
        )
        .unwrap();
        git(&top, &["add", "-A"]);
        let outside = spec_side(
            &repo,
            Snapshot::Index,
            &top.join("spec/fleet.yaml"),
            "spec/fleet.yaml",
        );
        assert!(outside.err().unwrap().0.contains("outside the repository"));
    }

    #[cfg(unix)]
    #[test]
    fn a_spec_side_that_holds_a_symlink_is_written_out() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("laid");
        let file = |path: &str, symlink, bytes: &[u8]| GitFile {
            path: path.into(),
            symlink,
            bytes: bytes.to_vec(),
        };
        let side = SpecSide {
            files: vec![
                file("spec/fleet.yaml", false, b"kind: Fleet\n"),
                file("spec/link.yaml", true, b"fleet.yaml"),
            ],
            inputs: Vec::new(),
        };
        lay(side, &root).unwrap();
        assert_eq!(
            std::fs::read(root.join("spec/fleet.yaml")).unwrap(),
            b"kind: Fleet\n"
        );
        let link = std::fs::read_link(root.join("spec/link.yaml")).unwrap();
        assert_eq!(link, Path::new("fleet.yaml"));
    }
}
