//! A loaded node's data: read in place, serialized as JSON, deserialized into the typed
//! spec, made into a JSON value, and made from one.
//!
//! The loader keeps a spec's data in its span tree ([`SpanNode`]), not as a JSON value: a
//! mapping there is a sorted slice of entries, where a JSON object is a `BTreeMap` whose
//! every leaf has room for eleven. A part of the spec is made into JSON only where a tool
//! needs JSON (the schema's validator, serde's typing), and dropped after.

use super::load::{Children, Entry, Scalar, SpanNode};
use crate::source::Span;
use serde::de::value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

impl SpanNode {
    /// A node of `value` at `span`, with every node below it at `span` too: data without a
    /// place in a text.
    pub fn of_value(span: Span, value: Value) -> SpanNode {
        let mut node = SpanNode::scalar(span);
        node.fold(value);
        node
    }

    /// The node's data as JSON.
    pub fn to_value(&self) -> Value {
        match &self.children {
            Children::Scalar(scalar) => scalar_value(scalar.clone()),
            Children::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.to_string(), e.node.to_value()))
                    .collect(),
            ),
            Children::Seq(items) => Value::Array(items.iter().map(SpanNode::to_value).collect()),
        }
    }

    /// Makes `value` the node's data, consuming it. A node below keeps its span where the
    /// value has it too (the same key of a mapping, the same item of a sequence); a node the
    /// value adds takes the span of the node that holds it. The data is `value`'s exactly.
    pub fn fold(&mut self, value: Value) {
        let at = self.at;
        let old = std::mem::replace(&mut self.children, Children::Scalar(Scalar::Null));
        self.children = match value {
            Value::Null => Children::Scalar(Scalar::Null),
            Value::Bool(b) => Children::Scalar(Scalar::Bool(b)),
            Value::Number(n) => Children::Scalar(Scalar::Number(n)),
            Value::String(s) => Children::Scalar(Scalar::Str(s.into_boxed_str())),
            Value::Object(map) => {
                let mut old = match old {
                    Children::Map(entries) => entries.into_vec(),
                    _ => Vec::new(),
                };
                // Both are sorted by key: each old entry is found by a search of its own.
                let entries = map
                    .into_iter()
                    .map(|(key, value)| {
                        let (key_at, mut node) = match SpanNode::find(&old, &key) {
                            Ok(i) => {
                                let e = &mut old[i];
                                let node = std::mem::replace(&mut e.node, SpanNode::scalar(Span::new(0, 0)));
                                (e.key_at, node)
                            }
                            Err(_) => (at, SpanNode::scalar(at.span())),
                        };
                        node.fold(value);
                        Entry {
                            key: key.into_boxed_str(),
                            key_at,
                            node,
                        }
                    })
                    .collect::<Vec<_>>();
                Children::Map(entries.into_boxed_slice())
            }
            Value::Array(values) => {
                let mut old = match old {
                    Children::Seq(items) => items.into_vec().into_iter(),
                    _ => Vec::new().into_iter(),
                };
                let items = values
                    .into_iter()
                    .map(|value| {
                        let mut node = old.next().unwrap_or_else(|| SpanNode::scalar(at.span()));
                        node.fold(value);
                        node
                    })
                    .collect::<Vec<_>>();
                Children::Seq(items.into_boxed_slice())
            }
        };
    }

    /// The node of the key `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&SpanNode> {
        self.entry(key).map(|(_, node)| node)
    }

    /// A mapping's entries, in the order of their keys (none for another node).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &SpanNode)> {
        let entries = match &self.children {
            Children::Map(entries) => &entries[..],
            _ => &[],
        };
        entries.iter().map(|e| (&*e.key, &e.node))
    }

    /// A sequence's items, `None` for another node.
    pub fn as_seq(&self) -> Option<&[SpanNode]> {
        match &self.children {
            Children::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Whether the node is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.children, Children::Map(_))
    }

    /// A string scalar's text.
    pub fn as_str(&self) -> Option<&str> {
        match &self.children {
            Children::Scalar(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// A scalar as JSON.
fn scalar_value(scalar: Scalar) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Number(n) => Value::Number(n),
        Scalar::Str(s) => Value::String(s.into_string()),
    }
}

/// The node's data, serialized as its JSON value would be: a mapping's keys in their order.
impl Serialize for SpanNode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.children {
            Children::Scalar(Scalar::Null) => serializer.serialize_unit(),
            Children::Scalar(Scalar::Bool(b)) => serializer.serialize_bool(*b),
            Children::Scalar(Scalar::Number(n)) => n.serialize(serializer),
            Children::Scalar(Scalar::Str(s)) => serializer.serialize_str(s),
            Children::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for e in entries {
                    map.serialize_entry(&*e.key, &e.node)?;
                }
                map.end()
            }
            Children::Seq(items) => serializer.collect_seq(items.iter()),
        }
    }
}

/// The node's data read as its JSON value would be (`serde_json::Value`'s deserializer): a
/// type is made from the tree without a JSON value made first.
impl<'de> de::Deserializer<'de> for &'de SpanNode {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match &self.children {
            Children::Scalar(Scalar::Null) => visitor.visit_unit(),
            Children::Scalar(Scalar::Bool(b)) => visitor.visit_bool(*b),
            Children::Scalar(Scalar::Number(n)) => de::Deserializer::deserialize_any(n, visitor),
            Children::Scalar(Scalar::Str(s)) => visitor.visit_borrowed_str(s),
            Children::Seq(items) => {
                let mut seq = SeqDeserializer::new(items.iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Children::Map(entries) => {
                let mut map = MapDeserializer::new(entries.iter().map(|e| (&*e.key, &e.node)));
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.children {
            Children::Scalar(Scalar::Null) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match &self.children {
            Children::Scalar(Scalar::Str(s)) => visitor.visit_enum(s.as_ref().into_deserializer()),
            // A variant with data: a mapping of one entry, the variant's name to its data.
            Children::Map(entries) if entries.len() == 1 => {
                let map = MapDeserializer::new(entries.iter().map(|e| (&*e.key, &e.node)));
                visitor.visit_enum(MapAccessDeserializer::new(map))
            }
            _ => Err(de::Error::invalid_type(
                self.unexpected(),
                &"a string or a mapping of one entry",
            )),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, serde_json::Error> for &'de SpanNode {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl SpanNode {
    /// What the node is, for an error.
    fn unexpected(&self) -> de::Unexpected<'_> {
        match &self.children {
            Children::Scalar(Scalar::Null) => de::Unexpected::Unit,
            Children::Scalar(Scalar::Bool(b)) => de::Unexpected::Bool(*b),
            Children::Scalar(Scalar::Number(_)) => de::Unexpected::Other("a number"),
            Children::Scalar(Scalar::Str(s)) => de::Unexpected::Str(s),
            Children::Seq(_) => de::Unexpected::Seq,
            Children::Map(_) => de::Unexpected::Map,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn loaded(text: &str) -> SpanNode {
        crate::spec::load::parse(Source::new("t.yaml", text))
            .map_err(|(_, d)| d)
            .unwrap()
            .spans
            .into_root()
    }

    const TEXT: &str = "z: 1\na: {w: [1, -2, 1.5, true, null, 'x'], \"é\": \"\\u00e9\\n\", b: {}}\nq: []\n";

    #[test]
    fn a_node_serializes_as_its_json_value_does() {
        let root = loaded(TEXT);
        let value = root.to_value();
        assert_eq!(
            value,
            serde_json::json!({"z": 1, "a": {"w": [1, -2, 1.5, true, null, "x"], "é": "é\n", "b": {}}, "q": []})
        );
        assert_eq!(
            serde_json::to_string(&root).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert_eq!(
            serde_json::to_string_pretty(&root).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }

    #[test]
    fn a_value_folded_in_is_the_data_and_keeps_the_spans_of_what_it_shares() {
        let mut root = loaded(TEXT);
        let before = format!("{root:?}");
        root.fold(root.to_value());
        assert_eq!(format!("{root:?}"), before);
        // A value of another shape: its data, with the spans of what it shares.
        let a_span = root.get("a").unwrap().get("w").unwrap().span();
        let other = serde_json::json!({"a": {"w": "s", "new": [1, {"k": 2}]}, "n": null});
        root.fold(other.clone());
        assert_eq!(root.to_value(), other);
        assert_eq!(root.get("a").unwrap().get("w").unwrap().span(), a_span);
        let new = root.get("a").unwrap().get("new").unwrap().as_seq().unwrap();
        assert_eq!(new[1].get("k").unwrap().span(), root.get("a").unwrap().span());
    }
}
