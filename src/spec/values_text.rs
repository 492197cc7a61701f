//! An app's chart values as the typed spec holds them: their compact JSON text.
//!
//! Chart values are a free-form tree of small mappings, most of a typical app's data: as a
//! JSON value, a `BTreeMap` leaf of 632 bytes for each mapping whatever its length (about ten
//! times the text). Only the chart checks and the app's render read them, each making the map
//! whole for the moment it reads it.

use serde::Serialize;
use serde_json::{Map, Value};

/// An app's chart values: the compact JSON text of a mapping (empty for none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValuesText(Box<str>);

impl ValuesText {
    /// The values `values` (a mapping: a loaded node's or a JSON value's).
    pub fn of(values: &impl Serialize) -> ValuesText {
        let text = serde_json::to_string(values).expect("spec data always serializes");
        ValuesText(if text == "{}" { Box::default() } else { text.into() })
    }

    /// The values as a map (empty for none).
    pub fn map(&self) -> Map<String, Value> {
        if self.0.is_empty() {
            return Map::new();
        }
        // The text is one this type wrote of a mapping at most `load::MAX_DEPTH` deep (below
        // serde_json's limit of 128).
        serde_json::from_str(&self.0).expect("the values' own text is a JSON mapping")
    }

    /// The value of the top-level key `key`, read without making the rest.
    pub fn get(&self, key: &str) -> Option<Value> {
        struct Entry<'k>(&'k str);
        impl<'de> serde::de::Visitor<'de> for Entry<'_> {
            type Value = Option<Value>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == self.0 {
                        found = Some(map.next_value()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(found)
            }
        }
        if self.0.is_empty() {
            return None;
        }
        let mut reader = serde_json::Deserializer::from_str(&self.0);
        serde::Deserializer::deserialize_map(&mut reader, Entry(key))
            .ok()
            .flatten()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// As the mapping.
impl Serialize for ValuesText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_written_and_none_are_empty() {
        let values = serde_json::json!({"b": {"x": [1, "é\n", null]}, "a": 1.5});
        let text = ValuesText::of(&values);
        assert_eq!(Value::Object(text.map()), values);
        assert_eq!(serde_json::to_value(&text).unwrap(), values);
        assert_eq!(text.get("a"), Some(serde_json::json!(1.5)));
        assert_eq!(text.get("b"), Some(serde_json::json!({"x": [1, "é\n", null]})));
        assert_eq!(text.get("x"), None);
        let none = ValuesText::of(&serde_json::json!({}));
        assert!(none.is_empty() && none.map().is_empty() && none == ValuesText::default());
    }
}
