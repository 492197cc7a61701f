//! The input stamp of a fleet's cluster: what the lock file records of the spec it was
//! built from, so that a run over untouched files takes the tree as current.

use crate::emit;
use crate::source::Source;
use crate::spec::load::{Loaded, SpanNode};

/// Where the files of a spec's text start, so that a span is hashed by its place in its own
/// file: the number of the file in the whole spec and the offset in it. A run over some of
/// a fleet's files ([`crate::fleet::changed`]) maps its text onto the whole spec's.
pub struct Layout {
    /// Where each file of this text starts.
    starts: Vec<usize>,
    /// Each file's number in the whole spec.
    index: Vec<usize>,
    /// Where each file of the whole spec starts in the whole spec's text.
    whole: Vec<usize>,
}

impl Layout {
    /// The layout of a spec read whole.
    pub fn of(source: &Source) -> Layout {
        let starts = source.file_starts();
        Layout {
            index: (0..starts.len()).collect(),
            whole: starts.clone(),
            starts,
        }
    }

    /// The layout of a text of some files of a spec (starting at `starts`, the files
    /// `index` of it), whose files start at `whole` in the whole spec's text.
    pub fn mapped(starts: Vec<usize>, index: Vec<usize>, whole: Vec<usize>) -> Layout {
        Layout { starts, index, whole }
    }

    /// The file an offset is in: its number in the whole spec, and where it starts and ends
    /// in this text.
    fn file_at(&self, offset: usize) -> (usize, usize, usize) {
        let i = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
        (
            self.index.get(i).copied().unwrap_or(0),
            self.starts.get(i).copied().unwrap_or(0),
            self.starts.get(i + 1).copied().unwrap_or(usize::MAX),
        )
    }

    /// The place of an offset: the number of its file in the whole spec, and the offset in it.
    fn place(&self, offset: usize) -> (usize, usize) {
        let (file, start, _) = self.file_at(offset);
        (file, offset.saturating_sub(start))
    }

    /// Writes the place of each span below `node`: how many bytes follow, then its file,
    /// its offset there and its length, as little-endian `u32`s (a spec's text is at most
    /// [`crate::spec::load::MAX_TEXT`] long), made in one buffer and hashed at once.
    fn spans_into(&self, node: &crate::spec::load::SpanNode, out: &mut crate::digest::Hashing) {
        let mut places: Vec<u8> = Vec::with_capacity(256);
        // Spans mostly follow each other in one file: its bounds are tried first.
        let mut file = (0, 0, 0);
        node.visit(&mut |span| {
            if !(file.1 <= span.start && span.start < file.2) {
                file = self.file_at(span.start);
            }
            let (at, from, _) = file;
            let len = span.end.saturating_sub(span.start);
            for n in [at, span.start.saturating_sub(from), len] {
                places.extend_from_slice(&(n as u32).to_le_bytes());
            }
        });
        sha2::Digest::update(&mut out.0, (places.len() as u64).to_le_bytes());
        sha2::Digest::update(&mut out.0, &places);
    }

    /// The offset in the whole spec's text of an offset in this one.
    pub fn whole_offset(&self, offset: usize) -> usize {
        let (file, at) = self.place(offset);
        self.whole.get(file).copied().unwrap_or(0) + at
    }
}

/// The input stamp of a fleet's cluster: of its spec's data and the place of each of its
/// nodes in its file, of where the fleet's files start (the recorded warnings are at those
/// places), and of gitopsc's build. An edit of the fleet file that neither changes a
/// cluster's data nor moves its nodes — in another cluster's entry below them, say — leaves
/// the stamp, and so the cluster's lock file, as it is.
pub fn input_of_cluster(loaded: &Loaded) -> String {
    let layout = Layout::of(&loaded.source);
    input_from(loaded, &layout, &app_hashes(loaded, &layout).digests)
}

/// Each app of a cluster's spec hashed two ways, from one serialization of its data: the
/// sha256 of its data alone ([`crate::spec::app_hash`]) and its digest (its data, then the
/// places of its nodes).
pub struct AppHashes {
    /// Each app's data hash, in order.
    pub data: Vec<[u8; 32]>,
    /// Each app's digest, in order.
    pub digests: Vec<[u8; 32]>,
}

/// The [`AppHashes`] of the apps of a cluster's spec.
pub fn app_hashes(loaded: &Loaded, layout: &Layout) -> AppHashes {
    use crate::digest::Hashing;
    use rayon::prelude::*;
    let apps = loaded.spans.root().get("apps").and_then(SpanNode::as_seq);
    let (data, digests) = (apps.unwrap_or_default())
        .par_iter()
        .map_init(Vec::new, |buffer, app| {
            let data = crate::spec::app_hash(app, buffer);
            let mut out = Hashing::new();
            sha2::Digest::update(&mut out.0, buffer.as_slice());
            layout.spans_into(app, &mut out);
            (data, out.finish())
        })
        .unzip();
    AppHashes { data, digests }
}

/// The input stamp of a cluster's spec whose apps' digests are `digests`: the root's other
/// entries, key by key, with the places of their nodes, then the digests in order.
pub fn input_from(loaded: &Loaded, layout: &Layout, digests: &[[u8; 32]]) -> String {
    use crate::digest::Hashing;
    use std::io::Write;
    let root = loaded.spans.root();
    let mut out = Hashing::new();
    let _ = write!(out, "files {:?} ", layout.whole);
    let (file, start) = layout.place(root.span().start);
    let _ = write!(out, "{file}:{start}");
    for (key, node) in root.entries() {
        let _ = serde_json::to_writer(&mut out, key);
        if let Some((key_span, _)) = root.entry(key) {
            let (file, start) = layout.place(key_span.start);
            let _ = write!(out, " {file}:{start}");
        }
        if key == "apps" && node.as_seq().is_some() {
            let _ = out.write_all(b",");
            continue;
        }
        layout.spans_into(node, &mut out);
        let _ = out.write_all(b":");
        let _ = serde_json::to_writer(&mut out, node);
        let _ = out.write_all(b",");
    }
    let _ = write!(out, "apps {}:", digests.len());
    for digest in digests {
        let _ = out.write_all(digest);
    }
    emit::Stamp::input_of(&crate::digest::hex(&out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_apps_data_hash_is_the_one_the_spec_hash_is_made_of_and_its_digest_holds_its_places() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        let spec = |indent: &str| {
            format!(
                "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {{name: c}}\napps:\n{indent}- {{name: a, namespace: x}}\n{indent}- {{name: b}}\n"
            )
        };
        let hashed = |text: String| {
            std::fs::write(&path, text).unwrap();
            let loaded = crate::spec::load::load(&path).ok().unwrap();
            let hashes = app_hashes(&loaded, &Layout::of(&loaded.source));
            let apps = loaded
                .spans
                .root()
                .get("apps")
                .and_then(SpanNode::as_seq)
                .unwrap();
            let each: Vec<[u8; 32]> = apps
                .iter()
                .map(|a| crate::spec::app_hash(&a.to_value(), &mut Vec::new()))
                .collect();
            assert_eq!(hashes.data, each);
            hashes
        };
        let (flush, indented) = (hashed(spec("")), hashed(spec("  ")));
        assert_eq!(flush.data, indented.data, "the same data");
        assert_ne!(flush.data[0], flush.data[1]);
        assert_ne!(flush.digests, indented.digests, "in other places");
    }
}
