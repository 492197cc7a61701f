//! The loaded tree as the schema's validator reads it: `jsonschema` validates any JSON
//! representation that answers its accessors ([`jsonschema::json::Json`]), so the spec is
//! validated where it was loaded, without a JSON value made of it.

use super::load::{Children, Entry, Scalar, SpanNode};
use crate::source::Span;
use jsonschema::json::{Array, Json, Node, NodeIdentity, Object};
use jsonschema::types::JsonType;
use serde_json::Value;
use std::borrow::Cow;

/// The loaded tree as a JSON representation.
pub struct Tree;

impl Json for Tree {
    type Node<'a> = &'a SpanNode;
    type PreparedKey = String;
    type StringBuffer = Option<SpanNode>;

    // A mapping's entries are sorted by key: a lookup is a binary search.
    const KEYS_PER_LOOKUP: usize = 2;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>(buffer: &mut Option<SpanNode>, string: &str, f: impl FnOnce(&SpanNode) -> T) -> T {
        let node = buffer.insert(SpanNode::leaf(Span::new(0, 0), Scalar::Str(string.into())));
        f(node)
    }
}

impl<'a> Node<'a, Tree> for &'a SpanNode {
    type Object = Members<'a>;
    type Array = &'a [SpanNode];
    type Number = &'a serde_json::Number;

    fn as_object(&self) -> Option<Members<'a>> {
        match &self.children {
            Children::Map(entries) => Some(Members(entries)),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&'a [SpanNode]> {
        self.as_seq()
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        self.as_str().map(Cow::Borrowed)
    }

    fn as_number(&self) -> Option<&'a serde_json::Number> {
        match &self.children {
            Children::Scalar(Scalar::Number(n)) => Some(n),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.children {
            Children::Scalar(Scalar::Bool(b)) => Some(b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.children, Children::Scalar(Scalar::Null))
    }

    fn json_type(&self) -> JsonType {
        match &self.children {
            Children::Scalar(Scalar::Null) => JsonType::Null,
            Children::Scalar(Scalar::Bool(_)) => JsonType::Boolean,
            Children::Scalar(Scalar::Number(_)) => JsonType::Number,
            Children::Scalar(Scalar::Str(_)) => JsonType::String,
            Children::Seq(_) => JsonType::Array,
            Children::Map(_) => JsonType::Object,
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(SpanNode::to_value(self))
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref::<SpanNode>(*self) as usize))
    }
}

/// A mapping's entries, as the validator reads them.
#[derive(Clone, Copy)]
pub struct Members<'a>(&'a [Entry]);

impl<'a> Object<'a, Tree> for Members<'a> {
    type Node = &'a SpanNode;
    type MemberName = &'a str;
    type MembersIter = MembersIter<'a>;

    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, key: &String) -> Option<&'a SpanNode> {
        SpanNode::find(self.0, key).ok().map(|i| &self.0[i].node)
    }

    fn members(&self) -> MembersIter<'a> {
        MembersIter(self.0.iter())
    }
}

/// A mapping's entries in the order of their keys: each key and node.
pub struct MembersIter<'a>(std::slice::Iter<'a, Entry>);

impl<'a> Iterator for MembersIter<'a> {
    type Item = (&'a str, &'a SpanNode);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|e| (&*e.key, &e.node))
    }
}

impl<'a> Array<'a, Tree> for &'a [SpanNode] {
    type Node = &'a SpanNode;
    type ElementsIter = std::slice::Iter<'a, SpanNode>;

    fn len(&self) -> usize {
        <[SpanNode]>::len(self)
    }

    fn elements(&self) -> std::slice::Iter<'a, SpanNode> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use crate::source::{Source, Span};

    /// The tree answers the accessors as the validator's contract says (jsonschema's own check
    /// of a representation).
    #[test]
    fn the_tree_keeps_the_validators_contract() {
        let document = jsonschema::json::conformance::document();
        let root = super::SpanNode::of_value(Span::new(0, 0), document);
        jsonschema::json::conformance::assert_conformance::<super::Tree>(&&root);
    }

    /// The tree validates as its JSON value does: the same errors at the same places.
    #[test]
    fn the_tree_validates_as_its_json_does() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 2, "pattern": "^[a-z]+$"},
                "count": {"type": "integer", "minimum": 1},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": true},
                "flag": {"type": "boolean"},
                "none": {"type": "null"},
                "spec": {"$ref": "#/$defs/spec"}
            },
            "required": ["name", "missing"],
            "additionalProperties": false,
            "propertyNames": {"maxLength": 5},
            "$defs": {"spec": {"type": "object", "additionalProperties": {"type": "number"}}}
        });
        let text =
            "name: X1\ncount: 0.5\ntags: [a, c, a]\nflag: 'true'\nnone: 1\nspec: {a: 1, b: x}\nlonger: 1\n";
        let loaded = crate::spec::load::parse(Source::new("t.yaml", text))
            .map_err(|(_, d)| d)
            .unwrap();
        let root = loaded.spans.root();
        let shown = |errors: Vec<jsonschema::ValidationError>| {
            let mut shown: Vec<String> = errors
                .iter()
                .map(|e| format!("{} {} {e}", e.instance_path(), e.schema_path()))
                .collect();
            shown.sort();
            shown
        };
        let tree = jsonschema::options_for::<super::Tree>().build(&schema).unwrap();
        let json = jsonschema::options().build(&schema).unwrap();
        let value = root.to_value();
        let from_tree = shown(tree.iter_errors(root).collect());
        assert_eq!(from_tree, shown(json.iter_errors(&value).collect()));
        assert!(from_tree.len() >= 9, "{from_tree:#?}");
    }
}
