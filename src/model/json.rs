//! A JSON value that blueprints read where it is: chart values and other user data reach the
//! templates as a view, not as a copy in template values, and `toyaml` writes them straight
//! from the JSON.
//!
//! The model keeps the value as its compact JSON text (maps sorted by key, as `serde_json`
//! writes them): an app's chart values as a tree of maps cost about ten times their text, and
//! every app's are held from resolution to the end of the run. Each serialization reads the
//! text back into a tree, which lives as long as that rendering of the app.

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use serde::{Serialize, Serializer};
use std::sync::Arc;

/// A JSON value of the model that blueprints render, as its compact JSON text.
#[derive(Debug, Clone, Default)]
pub struct Json(Arc<str>);

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        Json(value.to_string().into())
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The text is one `serde_json` wrote (floats round-trip): it reads back as it was.
        if minijinja::value::serializing_for_value() {
            let tree: serde_json::Value = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
            view(&Arc::new(tree), Vec::new()).serialize(serializer)
        } else {
            // Straight from the text to the serializer: no tree (a render key hashes it).
            let mut text = serde_json::Deserializer::from_str(&self.0);
            serde_transcode::transcode(&mut text, serializer)
        }
    }
}

/// One step from a JSON value to a child.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// A node of a JSON value, as a template object: the root and the way down to the node.
#[derive(Debug)]
pub struct View {
    root: Arc<serde_json::Value>,
    path: Vec<Step>,
}

impl View {
    /// The JSON node.
    pub fn node(&self) -> &serde_json::Value {
        let mut node = &*self.root;
        for step in &self.path {
            node = match step {
                Step::Key(k) => &node[k.as_str()],
                Step::Index(i) => &node[*i],
            };
        }
        node
    }

    fn child(&self, step: Step) -> Value {
        let mut path = self.path.clone();
        path.push(step);
        view(&self.root, path)
    }
}

/// The template value of a JSON node: collections as views, scalars as they serialize.
fn view(root: &Arc<serde_json::Value>, path: Vec<Step>) -> Value {
    let v = View {
        root: root.clone(),
        path,
    };
    match v.node() {
        serde_json::Value::Object(_) | serde_json::Value::Array(_) => Value::from_object(v),
        scalar => Value::from(minijinja::value::Serde(scalar)),
    }
}

impl Object for View {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.node() {
            serde_json::Value::Array(_) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match self.node() {
            serde_json::Value::Object(map) => {
                let k = key.as_str()?;
                map.contains_key(k).then(|| self.child(Step::Key(k.to_string())))
            }
            serde_json::Value::Array(items) => {
                let i = key.as_usize()?;
                (i < items.len()).then(|| self.child(Step::Index(i)))
            }
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.node() {
            serde_json::Value::Object(map) => {
                Enumerator::Values(map.keys().map(|k| Value::from(k.as_str())).collect())
            }
            serde_json::Value::Array(items) => Enumerator::Seq(items.len()),
            _ => Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.node() {
            serde_json::Value::Object(map) => Some(map.len()),
            serde_json::Value::Array(items) => Some(items.len()),
            _ => Some(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_read_a_view_as_they_read_a_copy() {
        let data = json!({"b": [1, -2, 1.5, "x", null, true], "a": {"c": "d"}, "e": {}});
        #[derive(Serialize)]
        struct Item {
            view: Json,
            copy: serde_json::Value,
        }
        let item = Item {
            view: Json::from(data.clone()),
            copy: data.clone(),
        };
        let env = minijinja::Environment::new();
        let render = |expr: &str| {
            let source = format!(
                "{{{{ {} }}}}|{{{{ {} }}}}",
                expr.replace('@', "item.view"),
                expr.replace('@', "item.copy")
            );
            let out = env
                .render_str(
                    &source,
                    minijinja::context! { item => Value::from(minijinja::value::Serde(&item)) },
                )
                .unwrap();
            let (view, copy) = out.split_once('|').unwrap();
            assert_eq!(view, copy, "{expr}");
        };
        for expr in [
            "@",
            "@.a",
            "@.a.c",
            "@.b",
            "@.b[2]",
            "@.b | length",
            "@.e | length",
            "@ | list",
            "@.b | tojson",
            "@ | tojson",
            "@.e is true",
            "@.a.nope is defined",
            "@.b[9] is defined",
            "@.b[4] is none",
            "@ | items | list",
        ] {
            render(expr);
        }
        // Outside templates, it is plain JSON.
        assert_eq!(serde_json::to_value(&item.view).unwrap(), data);
    }
}
