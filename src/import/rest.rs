//! An object being read field by field: each field read is taken out of it, so what is left
//! at the end is exactly what the spec could not say — named in the notes, never lost.

use serde_json::{Map, Value};

/// The part of an object not read yet, and where it sits in the object (for notes).
pub struct Rest {
    value: Value,
    at: String,
}

impl Rest {
    /// `value`, found at the dotted path `at` of its object ("" for the object itself).
    pub fn new(value: Value, at: &str) -> Rest {
        Rest {
            value,
            at: at.to_string(),
        }
    }

    /// Takes the value at a JSON pointer out (`None` when there is none).
    pub fn take(&mut self, pointer: &str) -> Option<Value> {
        let (parent, last) = pointer.rsplit_once('/')?;
        let holder = if parent.is_empty() {
            Some(&mut self.value)
        } else {
            self.value.pointer_mut(parent)
        };
        holder?.as_object_mut()?.remove(last)
    }

    /// The value at a JSON pointer, left in place.
    pub fn peek(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer)
    }

    /// Takes a map out (empty when there is none or it is not a map).
    pub fn take_map(&mut self, pointer: &str) -> Map<String, Value> {
        match self.take(pointer) {
            Some(Value::Object(map)) => map,
            Some(other) => {
                self.put_back(pointer, other);
                Map::new()
            }
            None => Map::new(),
        }
    }

    /// Takes a list out (empty when there is none or it is not a list).
    pub fn take_list(&mut self, pointer: &str) -> Vec<Value> {
        match self.take(pointer) {
            Some(Value::Array(list)) => list,
            Some(other) => {
                self.put_back(pointer, other);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// Takes a string out; a value of another type stays (and is named as unread).
    pub fn take_str(&mut self, pointer: &str) -> Option<String> {
        match self.take(pointer)? {
            Value::String(s) => Some(s),
            other => {
                self.put_back(pointer, other);
                None
            }
        }
    }

    /// Puts a value back: it was not read after all.
    pub fn put_back(&mut self, pointer: &str, value: Value) {
        if let Some((parent, last)) = pointer.rsplit_once('/') {
            let holder = if parent.is_empty() {
                Some(&mut self.value)
            } else {
                self.value.pointer_mut(parent)
            };
            if let Some(map) = holder.and_then(Value::as_object_mut) {
                map.insert(last.to_string(), value);
            }
        }
    }

    /// The dotted path of a field below this part (`pointer` as `/a/b`).
    pub fn path(&self, pointer: &str) -> String {
        let below = pointer.trim_start_matches('/').replace('/', ".");
        match (self.at.is_empty(), below.is_empty()) {
            (true, _) => below,
            (false, true) => self.at.clone(),
            (false, false) => format!("{}.{below}", self.at),
        }
    }

    /// The dotted paths of what was not read: every field left (empty maps and lists, left
    /// behind by reading their entries, aside).
    pub fn left(&self) -> Vec<String> {
        let mut out = Vec::new();
        leaves(&self.value, self.at.clone(), &mut out);
        out
    }
}

fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                leaves(value, path, out);
            }
        }
        Value::Array(list) if list.is_empty() => {}
        Value::Array(list) => {
            for (i, value) in list.iter().enumerate() {
                leaves(value, format!("{at}[{i}]"), out);
            }
        }
        _ => out.push(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_is_not_taken_is_named() {
        let mut rest = Rest::new(
            json!({"spec": {"replicas": 2, "paused": true, "template": {"x": [{"y": 1}]}}}),
            "",
        );
        assert_eq!(rest.take("/spec/replicas"), Some(json!(2)));
        assert_eq!(rest.take_str("/spec/paused"), None, "not a string: it stays");
        assert_eq!(rest.left(), ["spec.paused", "spec.template.x[0].y"]);
        let inner = Rest::new(json!({"a": {}}), "spec.template");
        assert!(inner.left().is_empty(), "an empty map is nothing unread");
        assert_eq!(inner.path("/b/c"), "spec.template.b.c");
    }
}
