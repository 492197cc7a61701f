//! `gitopsc charts vendor ARCHIVE`: copies what gitopsc checks chart values against —
//! `Chart.yaml`, `values.yaml`, `values.schema.json` — out of a chart archive (the `.tgz`
//! `helm pull` downloads) into `<dir>/<chart>/<version>/`, the name and version read from
//! its `Chart.yaml`. It reads a local file only, writes those three names only, inside that
//! folder only, and never replaces a different file without `--force`.

use super::{ChartMeta, FILES, MAX_FILE_BYTES};
use crate::commands::Outcome;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The most entries read from an archive: a chart has hundreds at most.
const MAX_ENTRIES: usize = 100_000;

/// Vendors the chart in `archive` into `dir`; `force` replaces files that differ.
pub fn vendor(archive: &Path, dir: &Path, force: bool, quiet: bool) -> Outcome {
    match vendor_files(archive, dir, force) {
        Ok(report) => Outcome {
            stdout: if quiet { String::new() } else { report },
            ..Outcome::default()
        },
        Err(message) => Outcome {
            code: 2,
            stderr: format!("error: {message}\n"),
            ..Outcome::default()
        },
    }
}

fn vendor_files(archive: &Path, dir: &Path, force: bool) -> Result<String, String> {
    let shown = archive.display();
    let file = std::fs::File::open(archive).map_err(|e| format!("cannot open `{shown}`: {e}"))?;
    let files = read_archive(file).map_err(|e| format!("cannot read the chart archive `{shown}`: {e}"))?;
    let chart_yaml = files
        .get("Chart.yaml")
        .ok_or_else(|| format!("`{shown}` holds no `<chart>/Chart.yaml`: it is not a chart archive"))?;
    let meta = ChartMeta::parse(chart_yaml)
        .map_err(|e| format!("cannot read the `Chart.yaml` of `{shown}`: {e}"))?;
    if !files.contains_key("values.yaml") && !files.contains_key("values.schema.json") {
        return Err(format!(
            "chart `{}` {} has neither a `values.yaml` nor a `values.schema.json`: there is nothing to check values against",
            meta.name, meta.version
        ));
    }
    for (what, text) in [("name", &meta.name), ("version", &meta.version)] {
        if !is_folder_name(text) {
            return Err(format!(
                "the chart's {what} `{text}` cannot name a folder (letters, digits, `.`, `_`, `+`, `-`, starting with a letter or digit)"
            ));
        }
    }
    let target = dir.join(&meta.name).join(&meta.version);
    for folder in [dir.join(&meta.name), target.clone()] {
        if std::fs::symlink_metadata(&folder).is_ok_and(|m| !m.is_dir()) {
            return Err(format!(
                "`{}` is not a folder (a symlink or a file): nothing is written through it",
                folder.display()
            ));
        }
    }
    let plan = plan(&target, &files, force)?;
    std::fs::create_dir_all(&target).map_err(|e| format!("cannot create `{}`: {e}", target.display()))?;
    let mut report = String::new();
    for (name, step) in plan {
        let path = target.join(name);
        let done = match step {
            Step::Keep => "unchanged",
            Step::Write(bytes) => {
                write_file(&target, &path, bytes)?;
                "written"
            }
            Step::Remove => {
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot remove `{}`: {e}", path.display()))?;
                "removed (the archive has none)"
            }
        };
        report.push_str(&format!("{}: {done}\n", path.display()));
    }
    Ok(report)
}

/// What happens to one of the three files.
enum Step<'a> {
    Keep,
    Write(&'a [u8]),
    Remove,
}

/// Decides every file before anything is written: a file that differs (or one the archive
/// does not have) is an error listing them all, unless `force`.
fn plan<'a>(
    target: &Path,
    files: &'a BTreeMap<String, Vec<u8>>,
    force: bool,
) -> Result<Vec<(&'static str, Step<'a>)>, String> {
    let mut steps = Vec::new();
    let mut differ = Vec::new();
    for name in FILES {
        let path = target.join(name);
        let existing = match std::fs::symlink_metadata(&path) {
            Err(_) => None,
            Ok(m) if m.is_file() => {
                Some(std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?)
            }
            Ok(_) => {
                return Err(format!(
                    "`{}` is not a regular file: it is left alone",
                    path.display()
                ));
            }
        };
        let step = match (files.get(name), existing) {
            (None, None) => continue,
            (Some(new), Some(old)) if *new == old => Step::Keep,
            (Some(new), None) => Step::Write(new),
            (Some(new), Some(_)) => {
                differ.push(path);
                Step::Write(new)
            }
            (None, Some(_)) => {
                differ.push(path);
                Step::Remove
            }
        };
        steps.push((name, step));
    }
    if !differ.is_empty() && !force {
        let list: Vec<String> = differ.iter().map(|p| format!("`{}`", p.display())).collect();
        return Err(format!(
            "{} {} from what the archive holds; nothing was written (check, then use --force to replace)",
            list.join(", "),
            if differ.len() == 1 { "differs" } else { "differ" }
        ));
    }
    Ok(steps)
}

/// Writes `bytes` to `path` under a temporary name in `folder`, then renames it into place.
fn write_file(folder: &Path, path: &PathBuf, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let fail = |e: std::io::Error| format!("cannot write `{}`: {e}", path.display());
    let mut temp = tempfile::NamedTempFile::new_in(folder).map_err(fail)?;
    temp.write_all(bytes).map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// The three files of the chart at the archive's top (`<chart>/Chart.yaml`, ...), by name.
fn read_archive(file: std::fs::File) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let mut files = BTreeMap::new();
    let mut top: Option<String> = None;
    for (i, entry) in archive.entries().map_err(|e| e.to_string())?.enumerate() {
        if i >= MAX_ENTRIES {
            return Err(format!("it has more than {MAX_ENTRIES} entries"));
        }
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let Some((folder, name)) = top_file(&path) else {
            continue;
        };
        if !entry.header().entry_type().is_file() {
            return Err(format!("`{}` is not a regular file", path.display()));
        }
        match &top {
            Some(t) if *t != folder => {
                return Err(format!("it holds more than one chart (`{t}/` and `{folder}/`)"));
            }
            _ => top = Some(folder),
        }
        if entry.size() > MAX_FILE_BYTES {
            return Err(format!(
                "`{}` is larger than {} MiB",
                path.display(),
                MAX_FILE_BYTES >> 20
            ));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        if files.insert(name.to_string(), bytes).is_some() {
            return Err(format!("it holds `{}` twice", path.display()));
        }
    }
    Ok(files)
}

/// `(folder, name)` of a path `<folder>/<name>` whose name is one of [`FILES`].
fn top_file(path: &Path) -> Option<(String, &'static str)> {
    let parts: Vec<Component> = path.components().filter(|c| *c != Component::CurDir).collect();
    match parts.as_slice() {
        [Component::Normal(folder), Component::Normal(name)] => {
            let name = FILES.iter().find(|f| std::ffi::OsStr::new(f) == *name)?;
            Some((folder.to_str()?.to_string(), name))
        }
        _ => None,
    }
}

/// True for a chart name or version that is one plain folder name.
fn is_folder_name(text: &str) -> bool {
    text.len() <= 255
        && text.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_three_files_at_the_top_are_taken() {
        assert_eq!(
            top_file(Path::new("app/values.yaml")),
            Some(("app".into(), "values.yaml"))
        );
        assert_eq!(
            top_file(Path::new("./app/Chart.yaml")),
            Some(("app".into(), "Chart.yaml"))
        );
        assert_eq!(top_file(Path::new("app/charts/sub/values.yaml")), None);
        assert_eq!(top_file(Path::new("app/templates/x.yaml")), None);
        assert_eq!(top_file(Path::new("../values.yaml")), None);
        assert_eq!(top_file(Path::new("/app/values.yaml")), None);
    }

    #[test]
    fn names_that_climb_or_hide_are_refused() {
        for ok in ["podinfo", "6.7.0", "1.0.0-rc.1+build.5", "v2"] {
            assert!(is_folder_name(ok), "{ok}");
        }
        for bad in ["", "..", ".x", "a/b", "a\\b", "-x", "a b", "é"] {
            assert!(!is_folder_name(bad), "{bad}");
        }
    }
}
