//! Where each node of a typed spec was written, without its data: what the checks and
//! resolution read of the loaded tree once the spec is typed (a diagnostic's place).
//!
//! The loaded tree ([`SpanIndex`]) holds every key and scalar in an allocation of its own,
//! and the typed spec holds its own copies of them. Its places alone are kept in three
//! lists (the nodes in the tree's order, each mapping's and sequence's children, and the
//! keys' text end to end), and the tree is freed before resolution builds the model. The
//! apps' places are made in parallel, each app's nodes freed as they are passed.

use super::load::{At, Children, Entry, NodeSpans, SpanIndex, SpanNode, Walk, located, narrow, walk};
use crate::source::Span;
use rayon::prelude::*;

/// The places of a loaded spec's nodes, looked up by JSON pointer (`/apps/0/helm/version`).
#[derive(Debug)]
pub struct Places {
    /// Every node, a parent before its children.
    nodes: Vec<Place>,
    /// Each mapping's entries (sorted by key, as loaded) and each sequence's items, as
    /// indexes into `nodes`, the children of one node side by side.
    children: Vec<u32>,
    /// Every mapping key's text, end to end.
    keys: String,
}

/// One node: its span, and its key's when it is a mapping's entry.
#[derive(Debug, Clone, Copy)]
struct Place {
    at: At,
    key_at: At,
    /// Its key's text in [`Places::keys`]: start and length.
    key: (u32, u32),
    /// Its children in [`Places::children`]: start and count.
    first: u32,
    count: u32,
    shape: Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Scalar,
    Map,
    Seq,
}

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

impl Places {
    /// The places of the loaded tree, which is freed on the way: the root's entries in
    /// turn, the items of a long list among them (a spec's apps) in parallel.
    pub fn of(spans: SpanIndex) -> Places {
        let mut places = Places {
            nodes: Vec::new(),
            children: Vec::new(),
            keys: String::new(),
        };
        let root = spans.into_root();
        let Children::Map(entries) = root.children else {
            places.push(&root, None);
            return places;
        };
        let (_, first) = places.open(root.at, None, Shape::Map, entries.len());
        // The long lists come last: each is joined into lists sized for it, which then do
        // not grow again.
        let mut long = Vec::new();
        for (i, Entry { key, key_at, node }) in entries.into_vec().into_iter().enumerate() {
            match node.children {
                Children::Seq(items) if items.len() >= PARALLEL_ITEMS => {
                    long.push((i, key, key_at, node.at, items));
                }
                children => {
                    let node = SpanNode {
                        at: node.at,
                        children,
                    };
                    places.children[first + i] = places.push(&node, Some((&key, key_at)));
                }
            }
        }
        for (i, key, key_at, at, items) in long {
            let apart: Vec<Places> = (items.into_vec().into_par_iter())
                .map(|item| {
                    let mut one = Places::sized(&item);
                    one.push(&item, None);
                    one
                })
                .collect();
            places.children[first + i] = places.join(at, (&key, key_at), apart);
        }
        places
    }

    /// No places yet, with room for those of `node`.
    fn sized(node: &SpanNode) -> Places {
        let (mut nodes, mut children, mut keys) = (0, 0, 0);
        count(node, &mut nodes, &mut children, &mut keys);
        Places {
            nodes: Vec::with_capacity(nodes),
            children: Vec::with_capacity(children),
            keys: String::with_capacity(keys),
        }
    }

    /// Adds a node with room for its `count` children; returns its index and its children's
    /// start.
    fn open(&mut self, at: At, key: Option<(&str, At)>, shape: Shape, count: usize) -> (u32, usize) {
        let index = self.nodes.len();
        let (key_text, key_at) = key.unwrap_or(("", at));
        let key = (narrow(self.keys.len()), narrow(key_text.len()));
        self.keys.push_str(key_text);
        let first = self.children.len();
        self.nodes.push(Place {
            at,
            key_at,
            key,
            first: narrow(first),
            count: narrow(count),
            shape,
        });
        self.children.resize(first + count, 0);
        (narrow(index), first)
    }

    /// Adds `node` (the value of entry `key`, if any) and every node below it; returns its index.
    fn push(&mut self, node: &SpanNode, key: Option<(&str, At)>) -> u32 {
        let (shape, count) = match &node.children {
            Children::Scalar(_) => (Shape::Scalar, 0),
            Children::Map(entries) => (Shape::Map, entries.len()),
            Children::Seq(items) => (Shape::Seq, items.len()),
        };
        let (index, first) = self.open(node.at, key, shape, count);
        match &node.children {
            Children::Scalar(_) => {}
            Children::Map(entries) => {
                for (i, e) in entries.iter().enumerate() {
                    self.children[first + i] = self.push(&e.node, Some((&e.key, e.key_at)));
                }
            }
            Children::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.children[first + i] = self.push(item, None);
                }
            }
        }
        index
    }

    /// Adds a sequence at `at` (the value of entry `key`) whose items' places are `items`,
    /// each made apart; returns its index.
    fn join(&mut self, at: At, key: (&str, At), items: Vec<Places>) -> u32 {
        let (index, first) = self.open(at, Some(key), Shape::Seq, items.len());
        let more = |f: fn(&Places) -> usize| items.iter().map(f).sum::<usize>();
        self.nodes.reserve_exact(more(|p| p.nodes.len()));
        self.children.reserve_exact(more(|p| p.children.len()));
        self.keys.reserve_exact(more(|p| p.keys.len()));
        for (i, item) in items.into_iter().enumerate() {
            let (nodes, children, keys) = (self.nodes.len(), self.children.len(), self.keys.len());
            self.keys.push_str(&item.keys);
            self.children
                .extend(item.children.iter().map(|c| c.saturating_add(narrow(nodes))));
            self.nodes.extend(item.nodes.iter().map(|p| Place {
                key: (p.key.0.saturating_add(narrow(keys)), p.key.1),
                first: p.first.saturating_add(narrow(children)),
                ..*p
            }));
            self.children[first + i] = narrow(nodes);
        }
        index
    }

    fn place(&self, index: u32) -> &Place {
        &self.nodes[index as usize]
    }

    fn key_of(&self, place: &Place) -> &str {
        let (start, len) = (place.key.0 as usize, place.key.1 as usize);
        &self.keys[start..start + len]
    }

    fn children_of(&self, place: &Place) -> &[u32] {
        let first = place.first as usize;
        &self.children[first..first + place.count as usize]
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
        let place = self.place(index);
        if place.shape == Shape::Scalar {
            out.push(ScalarAt {
                pointer: pointer.clone(),
                span: place.at.span(),
                key: false,
            });
        }
        for (i, &child) in self.children_of(place).iter().enumerate() {
            pointer.push('/');
            if place.shape == Shape::Map {
                let entry = self.place(child);
                pointer.push_str(&super::load::escape_pointer(self.key_of(entry)));
                out.push(ScalarAt {
                    pointer: pointer.clone(),
                    span: entry.key_at.span(),
                    key: true,
                });
            } else {
                pointer.push_str(&i.to_string());
            }
            self.scalars_below(child, pointer, out);
            pointer.truncate(len);
        }
    }
}

/// Counts the nodes, children and key bytes below `node`, itself included.
fn count(node: &SpanNode, nodes: &mut usize, children: &mut usize, keys: &mut usize) {
    *nodes += 1;
    match &node.children {
        Children::Scalar(_) => {}
        Children::Map(entries) => {
            *children += entries.len();
            for e in entries {
                *keys += e.key.len();
                count(&e.node, nodes, children, keys);
            }
        }
        Children::Seq(items) => {
            *children += items.len();
            items.iter().for_each(|n| count(n, nodes, children, keys));
        }
    }
}

impl Walk for Places {
    type Node = u32;

    fn top(&self) -> u32 {
        0
    }

    fn span_of(&self, node: u32) -> Span {
        self.place(node).at.span()
    }

    fn child(&self, node: u32, segment: &str) -> Option<(Option<Span>, u32)> {
        let place = self.place(node);
        let children = self.children_of(place);
        match place.shape {
            Shape::Scalar => None,
            Shape::Map => {
                let at = children
                    .binary_search_by(|&c| self.key_of(self.place(c)).cmp(segment))
                    .ok()?;
                let child = children[at];
                Some((Some(self.place(child).key_at.span()), child))
            }
            Shape::Seq => {
                let child = *children.get(segment.parse::<usize>().ok()?)?;
                Some((None, child))
            }
        }
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
                "  - {{name: app{i}, list: [x{i}, {{k{i}: v}}], \"q/{i}\": w}}\n"
            ));
        }
        text.push_str("z: [1]\n");
        text
    }

    #[test]
    fn the_places_hold_no_spare_room() {
        let places = Places::of(loaded(&long_list()));
        assert_eq!(places.nodes.capacity(), places.nodes.len());
        assert_eq!(places.children.capacity(), places.children.len());
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
                "/nope",
            ] {
                pointers.push(format!("/apps/{i}{tail}"));
            }
        }
        answer_alike(&text, &pointers.iter().map(String::as_str).collect::<Vec<_>>());
        let scalars = Places::of(loaded(&text)).scalars();
        let spans: Vec<usize> = scalars.iter().map(|s| s.span.start).collect();
        assert!(spans.is_sorted() && scalars.len() == 3 + 1 + (PARALLEL_ITEMS + 6) * 8 + 2);
        let last = &scalars[scalars.len() - 3];
        assert_eq!(
            (last.pointer.as_str(), &text[last.span.start..last.span.end]),
            (
                format!("/apps/{}/q~1{}", PARALLEL_ITEMS + 5, PARALLEL_ITEMS + 5).as_str(),
                "w"
            )
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
