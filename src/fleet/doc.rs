//! A fleet's file as the fleet's merges and expansion work on it: its data as JSON beside
//! its spans. A cluster's spec, once expanded, is given back as a [`Loaded`].

use crate::source::Source;
use crate::spec::load::{self, LoadError, Loaded, SpanIndex};
use serde_json::Value;
use std::path::Path;

/// A loaded file of a fleet, its data moved out of its spans into a JSON value.
#[derive(Debug)]
pub struct Doc {
    /// The file.
    pub source: Source,
    /// Its data.
    pub value: Value,
    /// The spans of its nodes (their data moved into `value`).
    pub spans: SpanIndex,
}

impl Doc {
    /// `loaded`, its data moved out into JSON.
    pub fn of(loaded: Loaded) -> Doc {
        let mut root = loaded.spans.into_root();
        let value = root.take_value();
        Doc {
            source: loaded.source,
            value,
            spans: SpanIndex::new(root),
        }
    }

    /// [`load::load`], as a `Doc`.
    pub fn load(path: &Path) -> Result<Doc, LoadError> {
        load::load(path).map(Doc::of)
    }

    /// [`load::parse`], as a `Doc`.
    pub fn parse(source: Source) -> Result<Doc, LoadError> {
        load::parse(source).map(Doc::of)
    }
}

/// A cluster's spec of `value` with the spans `spans`, in `source`, whose tree is written to
/// `tree_root`: the value moved into the spans.
pub fn loaded(source: Source, value: Value, spans: SpanIndex, tree_root: String) -> Loaded {
    let mut root = spans.into_root();
    root.fold(value);
    Loaded {
        source,
        spans: SpanIndex::new(root),
        tree_root,
    }
}
