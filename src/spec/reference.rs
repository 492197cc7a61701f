//! The spec reference in Markdown, generated from the JSON Schema (`gitopsc schema
//! --markdown`), so the field tables in `docs/spec-reference.md` never drift from the types:
//! one section per object type, in the order a reader meets them from the top of a spec, then
//! the value types (enums, patterns) they use.

use serde_json::{Map, Value};
use std::collections::{BTreeSet, VecDeque};
use std::fmt::Write;

/// The reference of `schema` (the spec's JSON Schema) as Markdown.
pub fn markdown(schema: &Value) -> String {
    let empty = Map::new();
    let defs = schema.get("$defs").and_then(Value::as_object).unwrap_or(&empty);
    let mut out = String::from(
        "# Spec reference\n\n\
         Generated from the spec's JSON Schema by `gitopsc schema --markdown`; a test fails when\n\
         this file is stale. Field descriptions come from the doc comments of the spec's types.\n\
         \"required\" marks a field a spec must set; otherwise the default column shows what\n\
         gitopsc uses when the field is absent (empty: nothing is emitted for it).\n\n",
    );
    out.push_str("## `Cluster` (the spec's top level)\n\n");
    object_table(schema, &mut out);
    let (objects, values) = reachable(schema, defs);
    for name in &objects {
        let _ = writeln!(out, "## `{name}`\n");
        object_table(&defs[name.as_str()], &mut out);
    }
    if !values.is_empty() {
        out.push_str("## Value types\n\n| type | accepts | meaning |\n|---|---|---|\n");
        for name in &values {
            let def = &defs[name.as_str()];
            let _ = writeln!(
                out,
                "| <a id=\"{}\"></a>`{name}` | {} | {} |",
                anchor(name),
                cell(&accepts(def)),
                cell(&description(def))
            );
        }
        out.push('\n');
    }
    out
}

/// The definitions reachable from the root, breadth first (the order a reader meets them),
/// split into object types and value types; unreachable ones follow, sorted by name.
fn reachable(schema: &Value, defs: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    let mut queue = VecDeque::new();
    refs_in(schema, &mut queue);
    while let Some(name) = queue.pop_front() {
        if !defs.contains_key(&name) || !seen.insert(name.clone()) {
            continue;
        }
        refs_in(&defs[&name], &mut queue);
        order.push(name);
    }
    order.extend(defs.keys().filter(|k| !seen.contains(*k)).cloned());
    order
        .into_iter()
        .partition(|name| is_object(&defs[name.as_str()]))
}

/// Every `$ref` target in `value`, in document order.
fn refs_in(value: &Value, into: &mut VecDeque<String>) {
    match value {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                into.push_back(target.trim_start_matches("#/$defs/").to_string());
            }
            for (key, v) in map {
                if key != "$defs" {
                    refs_in(v, into);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, into)),
        _ => {}
    }
}

fn is_object(def: &Value) -> bool {
    def.get("properties").is_some()
}

/// The field table of an object type.
pub(crate) fn object_table(def: &Value, out: &mut String) {
    let text = description(def);
    if !text.is_empty() {
        let _ = writeln!(out, "{text}\n");
    }
    let required: BTreeSet<&str> = def
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = def.get("properties").and_then(Value::as_object) else {
        return;
    };
    out.push_str("| field | type | default | description |\n|---|---|---|---|\n");
    for (field, prop) in props {
        let default = if required.contains(field.as_str()) {
            "required".to_string()
        } else {
            match prop.get("default") {
                // An object type's defaults are those of its fields, in its own section.
                Some(Value::Object(d)) if !d.is_empty() && prop.get("$ref").is_some() => {
                    "its fields'".to_string()
                }
                Some(d) => format!("`{}`", compact(d)),
                None => String::new(),
            }
        };
        let _ = writeln!(
            out,
            "| `{field}` | {} | {} | {} |",
            cell(&type_of(prop)),
            cell(&default),
            cell(&description(prop))
        );
    }
    out.push('\n');
}

/// A short description of a property's type, linking to the sections of named types.
fn type_of(prop: &Value) -> String {
    if let Some(target) = prop.get("$ref").and_then(Value::as_str) {
        let name = target.trim_start_matches("#/$defs/");
        return format!("[`{name}`](#{})", anchor(name));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = prop.get(key).and_then(Value::as_array) {
            let parts: Vec<String> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .map(type_of)
                .collect();
            return parts.join(" or ");
        }
    }
    if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        return one_of(values);
    }
    match prop.get("type") {
        Some(Value::String(t)) if t == "array" => {
            let item = prop.get("items").map_or_else(|| "any".to_string(), type_of);
            format!("list of {item}")
        }
        Some(Value::String(t)) if t == "object" => match prop.get("additionalProperties") {
            Some(Value::Object(_)) => {
                format!("map of string to {}", type_of(&prop["additionalProperties"]))
            }
            _ => "object".to_string(),
        },
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_string(),
    }
}

/// What a value type accepts: its enum values, or its JSON type with its pattern and bounds.
fn accepts(def: &Value) -> String {
    if let Some(values) = def.get("enum").and_then(Value::as_array) {
        return one_of(values);
    }
    let mut text = type_of(def);
    if let Some(pattern) = def.get("pattern").and_then(Value::as_str) {
        let _ = write!(text, " matching `{pattern}`");
    }
    for (key, word) in [("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤")] {
        if let Some(bound) = def.get(key) {
            let _ = write!(text, ", {word} {bound}");
        }
    }
    text
}

fn one_of(values: &[Value]) -> String {
    let words: Vec<String> = values.iter().map(|v| format!("`{}`", compact(v))).collect();
    format!("one of {}", words.join(", "))
}

/// A value as compact JSON, strings without quotes.
fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn description(def: &Value) -> String {
    def.get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Text made safe for one table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The Markdown anchor of a section headed `` `name` ``.
fn anchor(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_follow_the_root_and_values_go_last() {
        let schema = json!({
            "properties": {"b": {"$ref": "#/$defs/B"}, "a": {"type": "array", "items": {"$ref": "#/$defs/Level"}}},
            "required": ["a"],
            "$defs": {
                "B": {"description": "A b.", "properties": {"x": {"type": "integer", "default": 3}}},
                "Level": {"description": "How much.", "type": "string", "enum": ["low", "high"]},
                "Orphan": {"properties": {}}
            }
        });
        let md = markdown(&schema);
        assert!(
            md.contains("| `a` | list of [`Level`](#level) | required |"),
            "{md}"
        );
        assert!(md.contains("| `x` | integer | `3` |"), "{md}");
        assert!(
            md.contains("| <a id=\"level\"></a>`Level` | one of `low`, `high` | How much. |"),
            "{md}"
        );
        let b = md.find("## `B`").unwrap();
        let orphan = md.find("## `Orphan`").unwrap();
        assert!(b < orphan && orphan < md.find("## Value types").unwrap());
    }

    #[test]
    fn cells_stay_on_one_line() {
        assert_eq!(cell("a | b\n  c"), "a \\| b c");
    }
}
