//! Reading a hand-written (or generated) Flux tree: every YAML document of every file under
//! the paths given, with the file it came from.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// One Kubernetes object found in a file.
#[derive(Debug, Clone)]
pub struct Object {
    /// The file it was read from (the import path joined with its place below it).
    pub file: PathBuf,
    /// The object as data.
    pub value: Value,
}

impl Object {
    /// `apiVersion`'s group (empty for the core group).
    pub fn group(&self) -> &str {
        let api = self.str_at("/apiVersion");
        api.rsplit_once('/').map_or("", |(group, _)| group)
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        self.str_at("/kind")
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.str_at("/metadata/name")
    }

    /// `metadata.namespace`, when set.
    pub fn namespace(&self) -> Option<&str> {
        self.value.pointer("/metadata/namespace").and_then(Value::as_str)
    }

    /// The string at a JSON pointer, or "" when there is none.
    pub fn str_at(&self, pointer: &str) -> &str {
        self.value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
    }

    /// True for `group`/`kind`.
    pub fn is(&self, group: &str, kind: &str) -> bool {
        self.group() == group && self.kind() == kind
    }

    /// True for a scrape of pods of either monitoring family (`PodMonitor`, `VMPodScrape`).
    pub fn is_pod_scrape(&self) -> bool {
        self.is("monitoring.coreos.com", "PodMonitor")
            || self.is("operator.victoriametrics.com", "VMPodScrape")
    }

    /// `group/kind namespace/name`, for notes.
    pub fn describe(&self) -> String {
        let ns = self.namespace().map(|n| format!("{n}/")).unwrap_or_default();
        format!("{} {ns}{} ({})", self.kind(), self.name(), self.file.display())
    }
}

/// The objects under `root` (a file or a folder, read recursively in path order), or why not.
pub fn objects(root: &Path) -> Result<Vec<Object>, String> {
    let mut files: Vec<PathBuf> = if root.is_dir() {
        walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file() && is_yaml(e.path()))
            .map(|e| e.into_path())
            .collect()
    } else {
        vec![root.to_path_buf()]
    };
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(document)
                .map_err(|e| format!("{}: not YAML gitopsc can read: {e}", file.display()))?;
            if value.get("kind").and_then(Value::as_str).is_some() {
                out.push(Object {
                    file: file.clone(),
                    value,
                });
            }
        }
    }
    Ok(out)
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}
