//! What a spec reads beside its own files, found from their texts: the files a fleet root
//! includes, the manifest files its files name, and the vendored charts folders they name.
//! A staged check and a diff against a revision take the spec's side out of git with them
//! ([`spec_side`]) and hold it in memory ([`lay`]); a staged check run in the work tree asks
//! git about them ([`on_disk`]); a stranger below the spec's folder is told from them
//! (`super::strangers`).

use super::{GitError, GitFile, Repo, Snapshot, write_files};
use crate::disk;
use std::path::Path;

/// What a spec's texts name, from the spec's folder.
#[derive(Debug, Default)]
pub(super) struct Named {
    /// Manifest files and folders (`manifests[].path`), normalized (`a/b`).
    pub manifests: Vec<String>,
    /// Every `chartsDir`, as written (in a fleet, a cluster may name its own).
    pub charts: Vec<String>,
}

/// What `texts` (the spec's files) name. Only a text that mentions manifests or a charts
/// folder is parsed.
pub(super) fn named_by(texts: impl Iterator<Item = String>) -> Named {
    let mut named = Named::default();
    for text in texts {
        if !(text.contains("manifests") || text.contains("chartsDir")) {
            continue;
        }
        if let Ok(loaded) = crate::spec::load::parse(crate::source::Source::new("", text)) {
            named
                .manifests
                .extend(crate::spec::manifests::named_paths(&loaded.value));
            charts_dirs(&loaded.value, &mut named.charts);
        }
    }
    named
}

/// Every `chartsDir` in `value`, as written.
fn charts_dirs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                if let (true, Some(dir)) = (key == "chartsDir", item.as_str()) {
                    out.push(dir.to_string());
                }
                charts_dirs(item, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| charts_dirs(item, out)),
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
    let folder = if is_folder {
        spec_rel.to_string()
    } else {
        parent(spec_rel)
    };
    let root = if is_folder {
        joined(spec_rel, "fleet.yaml")
    } else {
        spec_rel.to_string()
    };
    let root_text = text_of(&files, &root);
    if !is_folder && let Some(text) = &root_text {
        let parts: Vec<String> = (crate::fleet::include::listed_in(text.clone()).iter())
            .map(|p| joined(&folder, p))
            .collect();
        if !parts.is_empty() {
            files.extend(repo.files(snapshot, &refs(&parts))?);
        }
    }
    let texts = (files.iter())
        .filter(|f| !f.symlink && f.path.ends_with(".yaml"))
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned());
    let named = named_by(texts);
    let inputs = resolved(repo, spec, &folder, root_text, named)?;
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
    let root_text = disk::read_to_string(&root).ok();
    let base = root.parent().unwrap_or(Path::new(""));
    let mut paths: Vec<std::path::PathBuf> = (root_text.iter())
        .flat_map(|t| crate::fleet::include::listed_in(t.clone()))
        .map(|p| base.join(p))
        .collect();
    // A fleet folder's files below its top are in the folder the check looks at anyway.
    match disk::entries(&abs) {
        Ok(entries) => paths.extend(entries.into_iter().map(|(name, _)| abs.join(name))),
        Err(_) => paths.push(abs),
    }
    let named = named_by(paths.iter().filter_map(|p| disk::read_to_string(p).ok()));
    resolved(repo, spec, &folder, root_text, named)
}

/// The inputs `named` names (with the root's vendored charts folder: the one its text names,
/// else `charts`), from the top, sorted. A charts folder outside the repository is an error:
/// git holds no files there.
fn resolved(
    repo: &Repo,
    spec: &Path,
    folder: &str,
    root_text: Option<String>,
    named: Named,
) -> Result<Vec<String>, GitError> {
    let root_charts = root_text.map_or_else(
        || crate::charts::DEFAULT_DIR.to_string(),
        crate::charts::dir_named_in,
    );
    let spec_dir = crate::fleet::spec_dir(spec);
    let mut inputs: Vec<String> = named.manifests.iter().map(|p| joined(folder, p)).collect();
    for dir in std::iter::once(&root_charts).chain(&named.charts) {
        let rel = repo.relative(&spec_dir.join(dir)).map_err(|_| {
            GitError(format!(
                "`chartsDir` names `{dir}`, outside the repository: git holds no vendored charts there"
            ))
        })?;
        inputs.push(rel);
    }
    inputs.sort();
    inputs.dedup();
    Ok(inputs)
}

/// Lays the spec's side out at `root` (a folder that is not there): held in memory, a view
/// of the folder ([`disk::View::lay`]) — or, when it holds a symlink (which no view holds)
/// or a view cannot be set, written there.
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

/// The text of the file at `path` of `files`, when it is a regular one.
fn text_of(files: &[GitFile], path: &str) -> Option<String> {
    (files.iter())
        .find(|f| f.path == path && !f.symlink)
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
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
