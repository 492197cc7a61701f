//! A fleet's parts parsed once for two runs side by side in one process: `diff --base` runs
//! over the spec as it was at the base and as it is now at once when their root files differ,
//! and most of their parts hold the same bytes.
//!
//! While a [`Sharing`] lasts, a part's parsed tree is also kept by the sha256 of its text, and
//! a part of the same bytes is taken from there instead of parsed again (each kept tree is
//! taken once). Parsing is a function of the text alone, so a run is the same either way.

use crate::source::Source;
use crate::spec::load::{self, LoadError, SpanNode};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether parts are kept for another run.
static ON: AtomicBool = AtomicBool::new(false);
/// The parts kept, by the sha256 of their text.
static KEPT: Mutex<Option<FxHashMap<[u8; 32], Vec<SpanNode>>>> = Mutex::new(None);

/// Parts parsed are kept for another run until this is dropped.
pub struct Sharing(());

impl Sharing {
    /// Starts keeping parsed parts.
    pub fn begin() -> Sharing {
        *kept() = Some(FxHashMap::default());
        ON.store(true, Ordering::SeqCst);
        Sharing(())
    }
}

impl Drop for Sharing {
    fn drop(&mut self) {
        ON.store(false, Ordering::SeqCst);
        let left = kept().take();
        drop(left);
    }
}

/// The parts kept, locked (a run that panicked holding them left them whole).
fn kept() -> std::sync::MutexGuard<'static, Option<FxHashMap<[u8; 32], Vec<SpanNode>>>> {
    KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The tree of the part `text` (named `name`), as [`load::parse`] makes it: taken from
/// another run's parse of the same bytes while a [`Sharing`] lasts, and kept for one.
pub fn parse_part(name: &str, text: &str) -> Result<SpanNode, LoadError> {
    let parse = || load::parse(Source::new(name, text)).map(|part| part.spans.into_root());
    if !ON.load(Ordering::SeqCst) {
        return parse();
    }
    let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let taken = kept().as_mut().and_then(|k| k.get_mut(&hash)?.pop());
    if let Some(tree) = taken {
        return Ok(tree);
    }
    let tree = parse()?;
    if let Some(k) = kept().as_mut() {
        k.entry(hash).or_default().push(tree.clone());
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PART: &str =
        "apiVersion: gitopsc.io/v1alpha1\nkind: FleetPart\napps:\n  - name: shared-part-test\n";

    /// How many trees of `text` are kept.
    fn kept_of(text: &str) -> Option<usize> {
        let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        kept().as_ref().map(|k| k.get(&hash).map_or(0, Vec::len))
    }

    #[test]
    fn a_part_kept_is_taken_once_and_is_what_a_parse_makes() {
        let shape = |tree: &SpanNode| format!("{tree:?}");
        let parsed = parse_part("a.yaml", PART).unwrap();
        let sharing = Sharing::begin();
        let first = parse_part("a.yaml", PART).unwrap();
        assert_eq!(kept_of(PART), Some(1));
        let taken = parse_part("b.yaml", PART).unwrap();
        assert_eq!(kept_of(PART), Some(0));
        assert_eq!((shape(&first), shape(&taken)), (shape(&parsed), shape(&parsed)));
        assert!(
            parse_part("c.yaml", "apps: [").is_err(),
            "an error is the parse's"
        );
        drop(sharing);
        assert_eq!(kept_of(PART), None);
    }
}
