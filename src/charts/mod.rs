//! Vendored charts: the `values.yaml`, `values.schema.json` and `Chart.yaml` of the chart
//! versions a spec pins, kept in the repository under `<dir>/<chart>/<version>/` so that chart
//! values are checked offline (docs/chart-values.md).
//!
//! [`Folder::scan`] reads the folder once; the checks ([`crate::spec::chart_values`]) and the
//! lock file's stamp of it both use what that one read found. [`vendor`] fills the folder from
//! a chart archive that `helm pull` downloaded.

pub mod table;
pub mod vendor;

use crate::digest::{hex, sha256_hex};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The folder, relative to the spec's, when the spec names none (`defaults.chartsDir`).
pub const DEFAULT_DIR: &str = "charts";
/// The files of a chart version that are read, in the order they are hashed.
pub const FILES: [&str; 3] = ["Chart.yaml", "values.schema.json", "values.yaml"];
/// The largest chart file read (16 MiB): a chart's values are far smaller.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A vendored file: its bytes, or why they could not be read.
pub type FileRead = Result<Vec<u8>, String>;

/// The charts folder a spec (`value`, its parsed data) names (`defaults.chartsDir`), else
/// [`DEFAULT_DIR`]: for laying out, before a run, the files it will read (`check --staged`,
/// `diff --base`).
pub fn dir_named(value: &Value) -> String {
    (value.pointer("/defaults/chartsDir").and_then(Value::as_str))
        .map_or_else(|| DEFAULT_DIR.to_string(), String::from)
}

/// What the lock file records of the vendored charts folder (docs/chart-values.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartsStamp {
    /// The folder, as the spec names it, relative to the spec's folder.
    pub dir: String,
    /// `sha256:<hex>` of the chart files it holds (their paths and contents).
    pub files: String,
}

/// The files of one chart version, each when present.
#[derive(Debug, Default)]
pub struct ChartFiles {
    /// `Chart.yaml`.
    pub chart: Option<FileRead>,
    /// `values.schema.json`.
    pub schema: Option<FileRead>,
    /// `values.yaml`.
    pub values: Option<FileRead>,
}

/// What the vendored charts folder holds.
#[derive(Debug)]
pub struct Folder {
    /// The folder as the spec names it, relative to the spec's folder.
    pub dir: String,
    /// Chart files by chart name, then version (the folder names).
    pub charts: BTreeMap<String, BTreeMap<String, ChartFiles>>,
    /// `sha256:<hex>` of every file's path and contents; empty when there are none.
    digest: String,
}

impl Folder {
    /// Reads `<spec_dir>/<dir>/*/*/{Chart.yaml,values.schema.json,values.yaml}`. A missing
    /// folder holds nothing; names that are hidden or not UTF-8 are skipped; a file that cannot
    /// be read is kept as its error, reported when a spec uses that chart version.
    pub fn scan(spec_dir: &Path, dir: &str) -> Folder {
        let mut charts: BTreeMap<String, BTreeMap<String, ChartFiles>> = BTreeMap::new();
        for (chart, chart_path) in subfolders(&spec_dir.join(dir)) {
            for (version, path) in subfolders(&chart_path) {
                let mut files = ChartFiles::default();
                let mut any = false;
                for (name, slot) in [
                    ("Chart.yaml", &mut files.chart),
                    ("values.schema.json", &mut files.schema),
                    ("values.yaml", &mut files.values),
                ] {
                    *slot = read_file(&path.join(name));
                    any |= slot.is_some();
                }
                if any {
                    charts.entry(chart.clone()).or_default().insert(version, files);
                }
            }
        }
        let digest = digest(&charts);
        Folder {
            dir: dir.to_string(),
            charts,
            digest,
        }
    }

    /// The files of `chart` at `version`, if vendored.
    pub fn get(&self, chart: &str, version: &str) -> Option<&ChartFiles> {
        self.charts.get(chart)?.get(version)
    }

    /// What the lock file records: nothing for the default folder when it holds no files,
    /// so a spec without vendored charts stamps its tree as before.
    pub fn stamp(&self) -> Option<ChartsStamp> {
        (self.dir != DEFAULT_DIR || !self.digest.is_empty()).then(|| ChartsStamp {
            dir: self.dir.clone(),
            files: self.digest.clone(),
        })
    }
}

/// The folders in `dir` (symlinks followed), sorted by name; none when it cannot be read.
fn subfolders(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let Ok(names) = crate::disk::names_in(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, std::path::PathBuf)> = names
        .into_iter()
        .filter_map(|name| {
            let name = name.into_string().ok()?;
            let path = dir.join(&name);
            (!name.starts_with('.') && crate::disk::is_dir(&path)).then_some((name, path))
        })
        .collect();
    found.sort();
    found
}

/// A chart file: `None` when absent, its error when it is not a readable regular file of at
/// most [`MAX_FILE_BYTES`].
fn read_file(path: &Path) -> Option<FileRead> {
    let kind = match crate::disk::kind_followed(path) {
        Ok(kind) => kind,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(e.to_string())),
    };
    if kind != crate::disk::Kind::File {
        return Some(Err("not a regular file".into()));
    }
    // Read no further than the limit: a file that grew past it since is refused as well.
    let mut bytes = Vec::new();
    let read = crate::disk::open(path).and_then(|f| {
        std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_FILE_BYTES + 1), &mut bytes)
    });
    Some(match read {
        Err(e) => Err(e.to_string()),
        Ok(_) if bytes.len() as u64 > MAX_FILE_BYTES => {
            Err(format!("larger than {} MiB", MAX_FILE_BYTES >> 20))
        }
        Ok(_) => Ok(bytes),
    })
}

/// `sha256:<hex>` of one line per file, `<chart>/<version>/<file>` and the hex sha256 of its
/// bytes (or `!` and its error); empty when there are no files.
fn digest(charts: &BTreeMap<String, BTreeMap<String, ChartFiles>>) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    let mut any = false;
    for (chart, versions) in charts {
        for (version, files) in versions {
            for (name, read) in FILES.iter().zip([&files.chart, &files.schema, &files.values]) {
                let Some(read) = read else { continue };
                any = true;
                hash.update(format!("{chart}/{version}/{name}\0").as_bytes());
                match read {
                    Ok(bytes) => hash.update(sha256_hex(bytes).as_bytes()),
                    Err(e) => hash.update(format!("!{e}").as_bytes()),
                }
                hash.update(b"\n");
            }
        }
    }
    if any {
        format!("sha256:{}", hex(&hash.finalize()))
    } else {
        String::new()
    }
}

/// What gitopsc reads of a `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartMeta {
    /// The chart's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The keys its dependencies' values go under (their `alias`, else their `name`).
    pub dependencies: Vec<String>,
}

impl ChartMeta {
    /// Reads a `Chart.yaml`.
    pub fn parse(bytes: &[u8]) -> Result<ChartMeta, String> {
        let value = yaml_to_json(bytes)?;
        let text = |v: &Value, field: &str| match v.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(format!("it has no `{field}`")),
        };
        let dependencies = match value.get("dependencies") {
            Some(Value::Array(deps)) => deps
                .iter()
                .filter_map(|d| text(d, "alias").or_else(|_| text(d, "name")).ok())
                .collect(),
            _ => Vec::new(),
        };
        Ok(ChartMeta {
            name: text(&value, "name")?,
            version: text(&value, "version")?,
            dependencies,
        })
    }
}

/// A YAML document as JSON, the way Helm reads values files: mapping keys become strings
/// (`1` → `"1"`), tags are dropped, an empty document is `null`.
pub fn yaml_to_json(bytes: &[u8]) -> Result<Value, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let yaml: serde_yaml::Value = serde_yaml::from_slice(bytes).map_err(|e| e.to_string())?;
    Ok(json_of(yaml))
}

fn json_of(yaml: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => n
            .as_i64()
            .map(Number::from)
            .or_else(|| n.as_u64().map(Number::from))
            .or_else(|| n.as_f64().and_then(Number::from_f64))
            .map_or_else(|| Value::String(n.to_string()), Value::Number),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(json_of).collect()),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match json_of(k) {
                    Value::String(s) => s,
                    Value::Null => "null".to_string(),
                    other => other.to_string(),
                };
                out.insert(key, json_of(v));
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => json_of(tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_reads_as_helm_reads_it() {
        let v = yaml_to_json(b"a: 1\n2: x\nb: {c: [1, 2.5, null]}\nd: !!str 3\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "2": "x", "b": {"c": [1, 2.5, null]}, "d": "3"})
        );
        assert_eq!(yaml_to_json(b"\n  \n").unwrap(), Value::Null);
        assert!(yaml_to_json(b"a: [").is_err());
    }

    #[test]
    fn chart_yaml_names_the_dependencies_by_alias() {
        let meta = ChartMeta::parse(
            b"apiVersion: v2\nname: app\nversion: 1.2.3\ndependencies:\n  - name: redis\n    alias: cache\n  - name: postgresql\n",
        )
        .unwrap();
        assert_eq!(meta.name, "app");
        assert_eq!(meta.version, "1.2.3");
        assert_eq!(meta.dependencies, ["cache", "postgresql"]);
        assert!(ChartMeta::parse(b"name: x\n").unwrap_err().contains("`version`"));
    }

    #[test]
    fn the_stamp_follows_the_files_and_only_them() {
        let dir = tempfile::tempdir().unwrap();
        let empty = Folder::scan(dir.path(), DEFAULT_DIR);
        assert_eq!(empty.stamp(), None, "no folder, no stamp");
        let named = Folder::scan(dir.path(), "vendor");
        assert_eq!(
            named.stamp().unwrap().files,
            "",
            "a folder the spec names is stamped"
        );
        let version = dir.path().join("charts/app/1.0.0");
        std::fs::create_dir_all(&version).unwrap();
        std::fs::write(version.join("README.md"), "not read").unwrap();
        assert_eq!(Folder::scan(dir.path(), DEFAULT_DIR).stamp(), None);
        std::fs::write(version.join("values.yaml"), "a: 1\n").unwrap();
        let first = Folder::scan(dir.path(), DEFAULT_DIR);
        assert!(first.get("app", "1.0.0").unwrap().values.is_some());
        std::fs::write(version.join("values.yaml"), "a: 2\n").unwrap();
        let second = Folder::scan(dir.path(), DEFAULT_DIR);
        assert_ne!(first.stamp(), second.stamp());
        std::fs::create_dir(version.join("../2.0.0")).unwrap();
        std::fs::create_dir(version.join("../2.0.0/values.schema.json")).unwrap();
        let third = Folder::scan(dir.path(), DEFAULT_DIR);
        assert_ne!(
            second.stamp(),
            third.stamp(),
            "a new file counts, even unreadable"
        );
        let read = third.get("app", "2.0.0").unwrap().schema.as_ref().unwrap();
        assert_eq!(read.as_ref().unwrap_err(), "not a regular file");
    }
}
