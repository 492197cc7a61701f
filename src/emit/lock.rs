//! The lock file: what gitopsc wrote into an output root, so it only ever overwrites or
//! deletes its own, unmodified files.
//!
//! It is JSON named `gitopsc.lock` (not a YAML manifest, so kustomize, Flux and validators
//! skip it) and holds the gitopsc version and the spec's hash: the only place they appear.
//! It also records the spec's warnings, so a `check` or `build` that finds the tree current
//! without rendering prints the same warnings as one that renders.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path};

/// The lock file's name in the output root.
pub const LOCK_FILE: &str = "gitopsc.lock";

/// The lock file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// `gitopsc <version>` that wrote the tree.
    pub generator: String,
    /// The fleet whose cluster owns the files (empty for a cluster spec's tree).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fleet: String,
    /// That cluster's name (a cluster spec's tree names its cluster in its paths).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// `sha256:<hex>` of the spec's data (comments and layout do not count).
    pub spec: String,
    /// `sha256:<hex>` of the spec's text and the build of gitopsc that rendered it: when both
    /// are unchanged and every file still has its hash, `check` needs no rendering.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub input: String,
    /// The vendored charts folder the spec's chart values were checked against, when it
    /// holds files or the spec names one: `check` takes the tree as current without
    /// rendering only while the folder still holds what it held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charts: Option<ChartsStamp>,
    /// The spec's warnings, at their byte offsets in the spec's text (the text `input`
    /// stamps, so the offsets hold whenever the stamp matches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// Every file gitopsc owns, relative to the output root, with its sha256.
    pub files: BTreeMap<String, String>,
}

/// A warning as the lock file records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Its code in the error index, e.g. `GSC0605`.
    #[serde(default)]
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Where in the spec: first byte and one past the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<[usize; 2]>,
    /// The note shown under the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Warning {
    /// The warnings among `diags`, as the lock records them.
    pub fn record(diags: &[Diagnostic]) -> Vec<Warning> {
        diags
            .iter()
            .filter(|d| !d.is_error())
            .map(|d| Warning {
                code: d.code.as_str().to_string(),
                message: d.message.clone(),
                span: d.span.map(|s| [s.start, s.end]),
                label: d.label.clone(),
                help: d.help.clone(),
            })
            .collect()
    }

    /// The warning as a diagnostic in the spec's `text`; a span outside the text (a lock file
    /// edited by hand) is dropped, and the warning printed without a place. `None` when its
    /// code is none of this build's (the tree is then rendered anew).
    pub fn diagnostic(&self, text: &str) -> Option<Diagnostic> {
        let code = Code::parse(&self.code).filter(|c| c.as_str() == self.code)?;
        let span = self
            .span
            .filter(|&[start, end]| start <= end && end <= text.len())
            .map(|[start, end]| Span::new(start, end));
        let mut d = Diagnostic::warning(code, self.message.clone());
        d.span = span;
        d.label = self.label.clone().filter(|_| span.is_some());
        d.help = self.help.clone();
        Some(d)
    }
}

impl Lock {
    /// Parses a lock file. Entries whose path is not a plain relative path inside the
    /// output root are dropped: a lock file must never steer a write or delete outside it.
    pub fn parse(bytes: &[u8]) -> Result<Lock, String> {
        let mut lock: Lock = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        lock.files.retain(|path, _| is_safe_relative(path));
        Ok(lock)
    }

    /// The lock file's bytes: stable JSON, one file per line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.files.len() * 160);
        // Writing into a Vec does not fail.
        let _ = self.write_to(&mut out);
        out
    }

    /// Writes the lock file's bytes: those of `serde_json`'s pretty printer plus a newline,
    /// written by hand and streamed, since a large tree's lock file (4.6 MB for 33 533 files)
    /// is the last write of a build, on one thread.
    pub fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        let field = |out: &mut dyn Write, key: &str, value: &str| {
            out.write_all(b"  ")?;
            json_string(out, key)?;
            out.write_all(b": ")?;
            json_string(out, value)?;
            out.write_all(b",\n")
        };
        out.write_all(b"{\n")?;
        field(out, "generator", &self.generator)?;
        if !self.fleet.is_empty() {
            field(out, "fleet", &self.fleet)?;
        }
        if !self.cluster.is_empty() {
            field(out, "cluster", &self.cluster)?;
        }
        field(out, "spec", &self.spec)?;
        if !self.input.is_empty() {
            field(out, "input", &self.input)?;
        }
        if let Some(charts) = &self.charts {
            out.write_all(b"  \"charts\": {\n  ")?;
            field(out, "dir", &charts.dir)?;
            out.write_all(b"    ")?;
            json_string(out, "files")?;
            out.write_all(b": ")?;
            json_string(out, &charts.files)?;
            out.write_all(b"\n  },\n")?;
        }
        if !self.warnings.is_empty() {
            // The pretty printer's text of the list, indented one level.
            let list = serde_json::to_string_pretty(&self.warnings).map_err(std::io::Error::other)?;
            out.write_all(b"  \"warnings\": ")?;
            out.write_all(list.replace('\n', "\n  ").as_bytes())?;
            out.write_all(b",\n")?;
        }
        out.write_all(b"  \"files\": {")?;
        for (i, (path, hash)) in self.files.iter().enumerate() {
            out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            json_string(out, path)?;
            out.write_all(b": ")?;
            json_string(out, hash)?;
        }
        if !self.files.is_empty() {
            out.write_all(b"\n  ")?;
        }
        out.write_all(b"}\n}\n")
    }
}

/// Writes `text` as a JSON string; the common case (nothing to escape) is a plain copy.
fn json_string(out: &mut (impl Write + ?Sized), text: &str) -> std::io::Result<()> {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.write_all(b"\"")?;
        out.write_all(text.as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(&serde_json::to_vec(text).map_err(std::io::Error::other)?)
    }
}

/// What the lock file names as its writer: `gitopsc <version>`.
pub fn generator() -> String {
    format!("gitopsc {}", env!("CARGO_PKG_VERSION"))
}

pub use crate::charts::ChartsStamp;
pub use crate::digest::{hex, sha256_hex};

/// True for a non-empty relative path made only of normal components.
pub fn is_safe_relative(path: &str) -> bool {
    !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_dropped() {
        let text = br#"{"generator":"gitopsc 0","spec":"x","files":{"a/b.yaml":"1","../x":"2","/etc/passwd":"3","a/./c":"4"}}"#;
        let lock = Lock::parse(text).unwrap();
        assert_eq!(lock.files.keys().collect::<Vec<_>>(), vec!["a/b.yaml"]);
    }

    #[test]
    fn round_trips() {
        let mut lock = Lock {
            generator: "gitopsc 1".into(),
            spec: "sha256:ab".into(),
            ..Lock::default()
        };
        lock.files.insert("x.yaml".into(), sha256_hex(b"x"));
        assert_eq!(Lock::parse(&lock.to_bytes()).unwrap(), lock);
    }

    #[test]
    fn warnings_round_trip_into_diagnostics_at_their_place() {
        let d = Diagnostic::warning(Code::LegacyBackup, "w")
            .at(Some(Span::new(2, 4)), "label")
            .help("help");
        let recorded = Warning::record(&[d.clone(), Diagnostic::error(Code::UnknownField, "e")]);
        assert_eq!(recorded.len(), 1, "errors are not recorded");
        assert_eq!(recorded[0].diagnostic("0123456"), Some(d));
        let outside = recorded[0].diagnostic("012").unwrap();
        assert_eq!(
            (outside.span, outside.label),
            (None, None),
            "a span past the text is dropped"
        );
    }

    #[test]
    fn bytes_are_those_of_the_json_pretty_printer() {
        let pretty = |lock: &Lock| {
            let mut text = serde_json::to_string_pretty(lock).unwrap();
            text.push('\n');
            text.into_bytes()
        };
        let mut lock = Lock {
            generator: "gitopsc 1".into(),
            spec: "sha256:ab".into(),
            ..Lock::default()
        };
        assert_eq!(lock.to_bytes(), pretty(&lock), "no files, no input");
        lock.fleet = "acme".into();
        lock.cluster = "prod".into();
        assert_eq!(lock.to_bytes(), pretty(&lock), "a fleet's cluster");
        lock.input = "sha256:cd".into();
        lock.charts = Some(ChartsStamp {
            dir: "../vendor/\"charts\"".into(),
            files: "sha256:ef".into(),
        });
        lock.warnings = vec![
            Warning {
                code: "GSC0610".into(),
                message: "image `x:latest`\n\"moves\"".into(),
                span: Some([3, 9]),
                label: Some("here".into()),
                help: Some("pin it".into()),
            },
            Warning {
                message: "no place".into(),
                ..Warning::default()
            },
        ];
        assert_eq!(Lock::parse(&lock.to_bytes()).unwrap(), lock);
        for (path, hash) in [
            ("b/x.yaml", "1"),
            ("a/\"q\"\\/é\u{7f}.yaml", "\u{1}\n"),
            ("c.yaml", ""),
        ] {
            lock.files.insert(path.into(), hash.into());
            assert_eq!(
                String::from_utf8(lock.to_bytes()).unwrap(),
                String::from_utf8(pretty(&lock)).unwrap()
            );
        }
    }
}
