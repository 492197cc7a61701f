//! The top-level fields of an item that an object's key is read from, taken as the item
//! serializes: only those fields' values are serialized (into JSON values), the others are
//! passed over unserialized. An item's key is read this way for every object of the tree,
//! and a chart's values or a workload's files are most of an item's bytes.

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeMap, SerializeStruct};
use serde_json::{Map, Value};

/// The fields named in `wanted` of `item`, a map or struct, with the values they serialize
/// to; a field written twice keeps the last value, as JSON's readers do. `None` for an item
/// that serializes to no map, or whose wanted fields do not serialize.
pub fn fields(item: &(impl Serialize + ?Sized), wanted: &[&str]) -> Option<Map<String, Value>> {
    item.serialize(Head { wanted }).ok()
}

/// The serializer of an item's head.
struct Head<'w> {
    wanted: &'w [&'w str],
}

/// The fields of a map or struct being taken.
struct Fields<'w> {
    wanted: &'w [&'w str],
    out: Map<String, Value>,
    /// The key of the entry whose value comes next, when it is wanted.
    next: Option<String>,
}

impl Fields<'_> {
    fn take<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), serde_json::Error> {
        if self.wanted.contains(&key) {
            let value = value.serialize(serde_json::value::Serializer)?;
            self.out.insert(key.to_string(), value);
        }
        Ok(())
    }
}

/// The error of an item that is no map.
fn no_map() -> serde_json::Error {
    ser::Error::custom("the item is no map")
}

/// Methods of [`Head`] for what is no map: each is an error.
macro_rules! no_map {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
            Err(no_map())
        })*
    };
}

impl<'w> ser::Serializer for Head<'w> {
    type Ok = Map<String, Value>;
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<Self::Ok, Self::Error>;
    type SerializeTuple = Impossible<Self::Ok, Self::Error>;
    type SerializeTupleStruct = Impossible<Self::Ok, Self::Error>;
    type SerializeTupleVariant = Impossible<Self::Ok, Self::Error>;
    type SerializeMap = Fields<'w>;
    type SerializeStruct = Fields<'w>;
    type SerializeStructVariant = Impossible<Self::Ok, Self::Error>;

    no_map!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Self::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Self::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, Self::Error> {
        Err(no_map())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(no_map())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(no_map())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(no_map())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(no_map())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Ok(Fields {
            wanted: self.wanted,
            out: Map::new(),
            next: None,
        })
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Self::Error> {
        self.serialize_map(None)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(no_map())
    }
}

impl SerializeMap for Fields<'_> {
    type Ok = Map<String, Value>;
    type Error = serde_json::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Self::Error> {
        // A key that is no string names no wanted field.
        self.next = match key.serialize(serde_json::value::Serializer)? {
            Value::String(key) if self.wanted.contains(&key.as_str()) => Some(key),
            _ => None,
        };
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        match self.next.take() {
            Some(key) => self.take(&key, value),
            None => Ok(()),
        }
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok(self.out)
    }
}

impl SerializeStruct for Fields<'_> {
    type Ok = Map<String, Value>;
    type Error = serde_json::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.take(key, value)
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    struct Item {
        name: &'static str,
        body: Vec<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        labels: Option<Value>,
        #[serde(flatten)]
        rest: Map<String, Value>,
    }

    #[test]
    fn the_wanted_fields_are_taken_as_json_reads_them_back_and_the_rest_passed_over() {
        let wanted = ["name", "labels", "kind"];
        let mut rest = Map::new();
        rest.insert("kind".into(), json!("Widget"));
        rest.insert("name".into(), json!("later"));
        let item = Item {
            name: "first",
            body: vec![1, 2],
            labels: Some(json!({"a": "1"})),
            rest,
        };
        let taken = fields(&item, &wanted).unwrap();
        // What the JSON text of the item reads back as, for the wanted fields.
        let text: Value = serde_json::from_slice(&serde_json::to_vec(&item).unwrap()).unwrap();
        for key in wanted {
            assert_eq!(taken.get(key), text.get(key), "{key}");
        }
        assert_eq!(taken.get("name"), Some(&json!("later")), "the last one wins");
        assert!(!taken.contains_key("body"));
        // A JSON map, and items that are no map.
        let map = json!({"name": "m", "x": [1]});
        assert_eq!(
            fields(&map, &wanted).unwrap(),
            json!({"name": "m"}).as_object().cloned().unwrap()
        );
        assert!(fields(&json!([1]), &wanted).is_none());
        assert!(fields(&json!("x"), &wanted).is_none());
        assert!(fields(&Some(json!({"kind": "K"})), &wanted).is_some());
    }
}
