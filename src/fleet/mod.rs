//! Fleets: several clusters in one output root, sharing the definitions of their apps.
//!
//! A fleet spec (`kind: Fleet`) defines each app once and lists its clusters, each with the
//! apps it runs and what differs there. [`expand`] turns it, before validation, into one
//! cluster spec per cluster whose nodes keep the fleet file's spans ([`merge`] has the
//! override rules); the pipeline then checks, resolves and renders each as it does a cluster
//! spec's. A cluster's tree is `clusters/<cluster>/` and `fleet/<cluster>/`, with its lock
//! file in the latter, so no two clusters share a path (docs/fleet.md). A fleet may be split
//! into files ([`include`](mod@include)).

pub mod changed;
pub mod command;
pub mod expand;
pub mod include;
pub mod merge;
pub mod promote;
pub mod retire;
pub mod shared;
pub mod show;
pub mod types;

use crate::Failure;
use expand::Fleet;
use std::path::{Path, PathBuf};

/// The fleet at `path`, expanded; `None` when the file is not a fleet spec (or cannot be
/// read or parsed: the cluster spec's pipeline then says why). Only a text that holds
/// `Fleet` is parsed here, so a cluster spec is read once more at most.
pub fn load_if_fleet(path: &Path) -> Option<Result<Fleet, Failure>> {
    let files = include::Files::of(path)?;
    let text = crate::disk::read(&files.root).ok()?;
    names_fleet(&text).then_some(())?;
    let (loaded, read) = match include::load(&files)? {
        Ok(loaded) => loaded,
        Err(failure) => return Some(Err(failure)),
    };
    let source = loaded.source.clone();
    Some(expand::expand(loaded, read).map_err(|mut diagnostics| {
        crate::diagnostic::sort(&mut diagnostics);
        Failure {
            source: Some(source),
            diagnostics,
        }
    }))
}

/// The folder of a fleet spec's root file, which the vendored charts and manifest files its
/// clusters name are read from.
pub fn spec_dir(spec: &Path) -> PathBuf {
    include::Files::of(spec)
        .and_then(|f| f.root.parent().map(Path::to_path_buf))
        .unwrap_or_default()
}

/// `gitopsc schema --fleet`: the fleet spec's JSON Schema, or with `markdown` its reference.
pub fn schema(markdown: bool) -> crate::commands::Outcome {
    crate::commands::Outcome {
        stdout: if markdown {
            types::markdown()
        } else {
            types::schema_text()
        },
        ..crate::commands::Outcome::default()
    }
}

/// `gitopsc schema --fleet-part`: the JSON Schema of a file a fleet spec includes.
pub fn part_schema() -> crate::commands::Outcome {
    crate::commands::Outcome {
        stdout: types::part_schema_text(),
        ..crate::commands::Outcome::default()
    }
}

/// Whether `text` holds the word `Fleet` anywhere.
fn names_fleet(text: &[u8]) -> bool {
    text.windows(5).any(|w| w == b"Fleet")
}
