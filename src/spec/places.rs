//! Where each node of a typed spec was written, without its data: what the checks and
//! resolution read of the loaded tree once the spec is typed (a diagnostic's place).
//!
//! The loaded tree ([`SpanIndex`]) holds every key and scalar in an allocation of its own,
//! and the typed spec holds its own copies of them. Its places alone are kept, in one list of
//! nodes (each node's children side by side, 24 bytes a node), and the tree is freed before
//! resolution builds the model. A key that is a field name of the schema's, as most are, is
//! held as that name's index; the others' text is kept end to end. The apps' places are made
//! in parallel, each app's nodes freed as they are passed.

use super::load::{At, Children, Entry, NodeSpans, SpanIndex, SpanNode, Walk, located, narrow, walk};
use crate::source::Span;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// The places of a loaded spec's nodes, looked up by JSON pointer (`/apps/0/helm/version`).
#[derive(Debug)]
pub struct Places {
    /// Every node, the root first; a node's children side by side (a mapping's entries
    /// sorted by key, as loaded; a sequence's items in order).
    nodes: Vec<Place>,
    /// The keys that are no field name of the schema's, or are written longer or shorter
    /// than they read (quoted, escaped).
    others: Vec<OtherKey>,
    /// Those keys' text, end to end.
    keys: String,
}

/// One node: its span, its key's when it is a mapping's entry, and where its children are.
#[derive(Debug, Clone, Copy)]
struct Place {
    at: At,
    /// Where its key starts.
    key_start: u32,
    /// Its key: [`NO_KEY`], a field name of the schema's ([`NAMED`] and its index in
    /// [`names`]), or an index into [`Places::others`].
    key: u32,
    /// Its first child's index in [`Places::nodes`]; [`SCALAR`] for a scalar.
    first: u32,
    /// How many children it has.
    count: u32,
}

const _: () = assert!(std::mem::size_of::<Place>() == 24);

/// A key of [`Places::others`]: its text in [`Places::keys`], and where it ends as written.
#[derive(Debug, Clone, Copy)]
struct OtherKey {
    start: u32,
    len: u32,
    end: u32,
}

/// A node that is no mapping's entry (the root, a sequence's item): its key's span is its own.
const NO_KEY: u32 = u32::MAX;
/// The bit of a key that is a field name of the schema's, written as it reads.
const NAMED: u32 = 1 << 31;
/// The `first` of a scalar, which has no children.
const SCALAR: u32 = u32::MAX;

/// A scalar of the spec: a key or a value, at its JSON pointer (a key's is its entry's).
#[derive(Debug, Clone)]
pub struct ScalarAt {
    /// The JSON pointer of the node (of the entry, for a key).
    pub pointer: String,
    /// Where it is written.
    pub span: Span,
    /// Whether it is a mapping's key.
    pub key: bool,
}

/// The fewest items of a sequence at the root (a spec's apps) whose places are made in
/// parallel, each item's apart, its nodes freed as they are passed.
const PARALLEL_ITEMS: usize = 64;

/// Every field name of the spec's schema, sorted, and each one's index: most of a spec's keys
/// are one of them, held as that index rather than as text.
fn names() -> &'static (Vec<&'static str>, FxHashMap<&'static str, u32>) {
    static NAMES: OnceLock<(Vec<&'static str>, FxHashMap<&'static str, u32>)> = OnceLock::new();
    NAMES.get_or_init(|| {
        fn collect<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::Object(fields)) = map.get("properties") {
                        out.extend(fields.keys().map(String::as_str));
                    }
                    map.values().for_each(|v| collect(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        let mut list = Vec::new();
        collect(super::schema::schema(), &mut list);
        list.sort_unstable();
        list.dedup();
        let index = (0u32..).zip(&list).map(|(i, name)| (*name, i)).collect();
        (list, index)
    })
}

impl Places {
    /// The places of the loaded tree, which is freed on the way: the root's entries in
    /// turn, the items of a long list among them (a spec's apps) in parallel.
    pub fn of(spans: SpanIndex) -> Places {
        let mut places = Places {
            nodes: Vec::new(),
            others: Vec::new(),
            keys: String::new(),
        };
        let root = spans.into_root();
        let top = places.place(&root, None);
        places.nodes.push(top);
        let Children::Map(entries) = root.children else {
            places.fill(0, &root);
            return places;
        };
        let first = places.open(0, entries.iter().map(|e| (&e.node, Some((&*e.key, e.key_at)))));
        // The long lists come last: each is joined into lists sized for it, which then do
        // not grow again.
        let mut long = Vec::new();
        for (i, Entry { node, .. }) in entries.into_vec().into_iter().enumerate() {
            match node.children {
                Children::Seq(items) if items.len() >= PARALLEL_ITEMS => long.push((first + i, items)),
                children => places.fill(
                    first + i,
                    &SpanNode {
                        at: node.at,
                        children,
                    },
                ),
            }
        }
        for (index, items) in long {
            let apart: Vec<Places> = (items.into_vec().into_par_iter())
                .map(|item| {
                    let mut one = Places::sized(&item);
                    let top = one.place(&item, None);
                    one.nodes.push(top);
                    one.fill(0, &item);
                    one
                })
                .collect();
            places.join(index, apart);
        }
        places
    }

    /// No places yet, with room for those of `node`.
    fn sized(node: &SpanNode) -> Places {
        let mut nodes = 0;
        count(node, &mut nodes);
        Places {
            nodes: Vec::with_capacity(nodes),
            others: Vec::new(),
            keys: String::new(),
        }
    }

    /// The place of `node`, the value of entry `key` if any, its children not laid yet.
    fn place(&mut self, node: &SpanNode, key: Option<(&str, At)>) -> Place {
        let (key, key_start) = match key {
            None => (NO_KEY, node.at.start()),
            Some((text, at)) => (self.key_id(text, at), at.start()),
        };
        Place {
            at: node.at,
            key_start,
            key,
            first: if matches!(node.children, Children::Scalar(_)) {
                SCALAR
            } else {
                0
            },
            count: 0,
        }
    }

    /// The key `text` written at `at`: a field name of the schema's when written as it reads
    /// (its span as long as its text), else one of [`Places::others`].
    fn key_id(&mut self, text: &str, at: At) -> u32 {
        if at.len() == text.len()
            && let Some(&i) = names().1.get(text)
        {
            return NAMED | i;
        }
        let id = narrow(self.others.len());
        self.others.push(OtherKey {
            start: narrow(self.keys.len()),
            len: narrow(text.len()),
            end: at.end(),
        });
        self.keys.push_str(text);
        id
    }

    /// Lays the places of `children` side by side as the children of the node at `index`;
    /// returns the first one's index.
    fn open<'n>(
        &mut self,
        index: usize,
        children: impl ExactSizeIterator<Item = (&'n SpanNode, Option<(&'n str, At)>)>,
    ) -> usize {
        let first = self.nodes.len();
        self.nodes[index].first = narrow(first);
        self.nodes[index].count = narrow(children.len());
        for (node, key) in children {
            let place = self.place(node, key);
            self.nodes.push(place);
        }
        first
    }

    /// Lays every node below `node`, whose own place is at `index`.
    fn fill(&mut self, index: usize, node: &SpanNode) {
        match &node.children {
            Children::Scalar(_) => {}
            Children::Map(entries) => {
                let first = self.open(
                    index,
                    entries.iter().map(|e| (&e.node, Some((&*e.key, e.key_at)))),
                );
                for (i, e) in entries.iter().enumerate() {
                    self.fill(first + i, &e.node);
                }
            }
            Children::Seq(items) => {
                let first = self.open(index, items.iter().map(|n| (n, None)));
                for (i, item) in items.iter().enumerate() {
                    self.fill(first + i, item);
                }
            }
        }
    }

    /// Lays `items`, each a sequence's item's places made apart, as the children of the
    /// sequence at `index`: the items side by side, then the nodes below each in turn.
    fn join(&mut self, index: usize, items: Vec<Places>) {
        let more = |f: fn(&Places) -> usize| items.iter().map(f).sum::<usize>();
        self.nodes.reserve_exact(more(|p| p.nodes.len()));
        self.others.reserve_exact(more(|p| p.others.len()));
        self.keys.reserve_exact(more(|p| p.keys.len()));
        let first = self.nodes.len();
        self.nodes[index].first = narrow(first);
        self.nodes[index].count = narrow(items.len());
        // Where each item's nodes below its own go, and its other keys.
        let (mut below, mut others) = (first + items.len(), self.others.len());
        let shifts: Vec<(usize, usize)> = (items.iter())
            .map(|item| {
                let at = (below, others);
                below += item.nodes.len().saturating_sub(1);
                others += item.others.len();
                at
            })
            .collect();
        for (item, &shift) in items.iter().zip(&shifts) {
            self.nodes.push(moved(&item.nodes[0], shift));
        }
        for (item, shift) in items.into_iter().zip(shifts) {
            self.nodes.extend(item.nodes[1..].iter().map(|p| moved(p, shift)));
            let keys = narrow(self.keys.len());
            self.keys.push_str(&item.keys);
            self.others.extend(item.others.iter().map(|o| OtherKey {
                start: o.start.saturating_add(keys),
                ..*o
            }));
        }
    }

    fn place_at(&self, index: u32) -> &Place {
        &self.nodes[index as usize]
    }

    /// The key of `place` (empty for none), and its span.
    fn key_of(&self, place: &Place) -> (&str, Span) {
        let start = place.key_start as usize;
        match place.key {
            NO_KEY => ("", place.at.span()),
            named if named & NAMED != 0 => {
                let name = names().0[(named & !NAMED) as usize];
                (name, Span::new(start, start + name.len()))
            }
            other => {
                let o = self.others[other as usize];
                let text = &self.keys[o.start as usize..(o.start + o.len) as usize];
                (text, Span::new(start, o.end as usize))
            }
        }
    }

    /// The indexes of the children of `place`.
    fn children_of(place: &Place) -> std::ops::Range<u32> {
        if place.first == SCALAR {
            0..0
        } else {
            place.first..place.first.saturating_add(place.count)
        }
    }

    /// The value span of the node at `pointer`, or of its nearest existing ancestor.
    pub fn value(&self, pointer: &str) -> Option<Span> {
        Some(self.located(pointer).value)
    }

    /// The key span of the node at `pointer` (its value span when it has no key), or of its
    /// nearest existing ancestor.
    pub fn key(&self, pointer: &str) -> Option<Span> {
        let spans = self.located(pointer);
        Some(spans.key.unwrap_or(spans.value))
    }

    /// True when the spec has a node at `pointer`.
    pub fn contains(&self, pointer: &str) -> bool {
        walk(self, pointer).1
    }

    fn located(&self, pointer: &str) -> NodeSpans {
        located(self, pointer)
    }

    /// Every scalar of the spec, keys included, in the order of the text: what a comment
    /// of the text can follow (`# ...` outside all of them is a comment).
    pub fn scalars(&self) -> Vec<ScalarAt> {
        let mut out = Vec::new();
        self.scalars_below(self.top(), &mut String::new(), &mut out);
        out.sort_unstable_by_key(|s| s.span.start);
        out
    }

    fn scalars_below(&self, index: u32, pointer: &mut String, out: &mut Vec<ScalarAt>) {
        let len = pointer.len();
        let place = self.place_at(index);
        if place.first == SCALAR {
            out.push(ScalarAt {
                pointer: pointer.clone(),
                span: place.at.span(),
                key: false,
            });
        }
        for (i, child) in Places::children_of(place).enumerate() {
            pointer.push('/');
            let entry = self.place_at(child);
            if entry.key == NO_KEY {
                pointer.push_str(&i.to_string());
            } else {
                let (key, span) = self.key_of(entry);
                pointer.push_str(&super::load::escape_pointer(key));
                out.push(ScalarAt {
                    pointer: pointer.clone(),
                    span,
                    key: true,
                });
            }
            self.scalars_below(child, pointer, out);
            pointer.truncate(len);
        }
    }
}

/// `place`, of an item made apart, moved into the whole: the nodes below the item's own from
/// `below` on, its other keys from `others` on.
fn moved(place: &Place, (below, others): (usize, usize)) -> Place {
    Place {
        key: if place.key & NAMED != 0 {
            place.key
        } else {
            place.key.saturating_add(narrow(others))
        },
        // An item's own node (its first) is no node's child: the others are 1 on.
        first: if place.first == SCALAR {
            SCALAR
        } else {
            narrow((place.first as usize + below).saturating_sub(1))
        },
        ..*place
    }
}

/// Counts the nodes below `node`, itself included.
fn count(node: &SpanNode, nodes: &mut usize) {
    *nodes += 1;
    match &node.children {
        Children::Scalar(_) => {}
        Children::Map(entries) => entries.iter().for_each(|e| count(&e.node, nodes)),
        Children::Seq(items) => items.iter().for_each(|n| count(n, nodes)),
    }
}

impl Walk for Places {
    type Node = u32;

    fn top(&self) -> u32 {
        0
    }

    fn span_of(&self, node: u32) -> Span {
        self.place_at(node).at.span()
    }

    fn child(&self, node: u32, segment: &str) -> Option<(Option<Span>, u32)> {
        let children = Places::children_of(self.place_at(node));
        if children.is_empty() {
            return None;
        }
        if self.place_at(children.start).key == NO_KEY {
            // A sequence's items.
            let child = children.start.checked_add(segment.parse::<u32>().ok()?)?;
            return children.contains(&child).then_some((None, child));
        }
        let nodes = &self.nodes[children.start as usize..children.end as usize];
        let at = nodes.binary_search_by(|p| self.key_of(p).0.cmp(segment)).ok()?;
        let (_, key) = self.key_of(&nodes[at]);
        Some((Some(key), children.start + narrow(at)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn loaded(text: &str) -> SpanIndex {
        let loaded = super::super::load::parse(Source::new("spec.yaml", text));
        loaded.map_err(|(_, d)| d).expect("parses").spans
    }

    const TEXT: &str = "a:\n  b: [1, {c: x}]\n  \"d/e\": w\n  f~g: z\nh: ~\n";
    const POINTERS: &[&str] = &[
        "",
        "/a",
        "/a/b",
        "/a/b/0",
        "/a/b/1",
        "/a/b/1/c",
        "/a/d~1e",
        "/a/f~0g",
        "/h",
        "/a/b/2",
        "/a/zz",
        "/h/x",
        "/a/b/x",
        "/a/b/1/c/d",
    ];

    /// Asserts that the places of `text` answer every pointer as its loaded tree does.
    fn answer_alike(text: &str, pointers: &[&str]) {
        let tree = loaded(text);
        let expected: Vec<_> = (pointers.iter())
            .map(|p| (tree.value(p), tree.key(p), tree.contains(p)))
            .collect();
        let places = Places::of(loaded(text));
        for (p, want) in pointers.iter().zip(expected) {
            let got = (places.value(p), places.key(p), places.contains(p));
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "at {p:?}");
        }
    }

    #[test]
    fn places_answer_as_the_tree_does() {
        answer_alike(TEXT, POINTERS);
    }

    /// A spec whose list at the root is long enough for its items' places to be made apart
    /// and joined, with entries before and after it.
    fn long_list() -> String {
        let mut text = String::from("a: {b: 1}\napps:\n");
        for i in 0..PARALLEL_ITEMS + 6 {
            text.push_str(&format!(
                "  - {{name: app{i}, list: [x{i}, {{k{i}: v}}], \"q/{i}\": w, 'namespace': ns, helm: {{}}}}\n"
            ));
        }
        text.push_str("z: [1]\n");
        text
    }

    #[test]
    fn the_places_hold_no_spare_room() {
        let places = Places::of(loaded(&long_list()));
        assert_eq!(places.nodes.capacity(), places.nodes.len());
        assert_eq!(places.others.capacity(), places.others.len());
        assert_eq!(places.keys.capacity(), places.keys.len());
    }

    #[test]
    fn the_places_of_a_long_list_made_apart_answer_as_the_tree_does() {
        let text = long_list();
        let mut pointers = vec![
            String::new(),
            "/a/b".into(),
            "/apps".into(),
            "/z/0".into(),
            "/apps/x".into(),
        ];
        for i in [0, 1, 33, PARALLEL_ITEMS + 5, PARALLEL_ITEMS + 6] {
            for tail in [
                "",
                "/name",
                "/list/0",
                "/list/1/k0",
                &format!("/list/1/k{i}"),
                &format!("/q~1{i}"),
                "/namespace",
                "/helm",
                "/helm/chart",
                "/nope",
            ] {
                pointers.push(format!("/apps/{i}{tail}"));
            }
        }
        answer_alike(&text, &pointers.iter().map(String::as_str).collect::<Vec<_>>());
        let scalars = Places::of(loaded(&text)).scalars();
        let spans: Vec<usize> = scalars.iter().map(|s| s.span.start).collect();
        assert!(spans.is_sorted() && scalars.len() == 3 + 1 + (PARALLEL_ITEMS + 6) * 11 + 2);
        let last = &scalars[scalars.len() - 6];
        assert_eq!(
            (last.pointer.as_str(), &text[last.span.start..last.span.end]),
            (
                format!("/apps/{}/q~1{}", PARALLEL_ITEMS + 5, PARALLEL_ITEMS + 5).as_str(),
                "w"
            )
        );
    }

    #[test]
    fn the_schemas_field_names_written_as_they_read_are_held_without_their_text() {
        let text = "apps:\n  - name: x\n    'namespace': yes-no\n    colour: z\n";
        let places = Places::of(loaded(text));
        let others: Vec<&str> = (places.others.iter())
            .map(|o| &places.keys[o.start as usize..(o.start + o.len) as usize])
            .collect();
        assert_eq!(others, ["colour", "namespace"]);
        assert_eq!(
            places.key("/apps/0/namespace").map(|s| &text[s.start..s.end]),
            Some("'namespace'")
        );
        assert_eq!(
            places.key("/apps/0/name").map(|s| &text[s.start..s.end]),
            Some("name")
        );
    }

    #[test]
    fn scalars_come_in_the_order_of_the_text_with_their_pointers() {
        let places = Places::of(loaded(TEXT));
        let listed: Vec<(String, bool, &str)> = places
            .scalars()
            .into_iter()
            .map(|s| (s.pointer, s.key, &TEXT[s.span.start..s.span.end]))
            .collect();
        let want = [
            ("/a", true, "a"),
            ("/a/b", true, "b"),
            ("/a/b/0", false, "1"),
            ("/a/b/1/c", true, "c"),
            ("/a/b/1/c", false, "x"),
            ("/a/d~1e", true, "\"d/e\""),
            ("/a/d~1e", false, "w"),
            ("/a/f~0g", true, "f~g"),
            ("/a/f~0g", false, "z"),
            ("/h", true, "h"),
            ("/h", false, "~"),
        ];
        let want: Vec<(String, bool, &str)> = want.iter().map(|(p, k, t)| (p.to_string(), *k, *t)).collect();
        assert_eq!(listed, want);
    }
}
