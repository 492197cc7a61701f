//! Writing the imported spec: the sections in the order a person writes them, each app's name
//! first, every value through the one YAML emitter.

use crate::render::yaml;
use serde_json::{Map, Value};

/// The order of the spec's top-level sections.
const SECTIONS: [&str; 10] = [
    "apiVersion",
    "kind",
    "metadata",
    "flux",
    "defaults",
    "sources",
    "secretStores",
    "operators",
    "imageAutomation",
    "apps",
];

/// The spec text with the notes as a comment at the top.
pub fn with_notes(spec: &str, notes: &[String]) -> String {
    let mut out =
        String::from("# Imported by `gitopsc import`. Review it, then `gitopsc build` and compare.\n");
    if !notes.is_empty() {
        out.push_str("# What this spec does not render as it was imported:\n");
        for note in notes {
            out.push_str("#   ");
            out.push_str(&note.replace(['\n', '\r'], " "));
            out.push('\n');
        }
    }
    out.push_str(spec);
    out
}

/// The spec as YAML.
pub fn spec(spec: &Map<String, Value>) -> String {
    let mut out = String::new();
    for key in SECTIONS {
        let Some(value) = spec.get(key) else { continue };
        if value.as_object().is_some_and(Map::is_empty) {
            continue;
        }
        out.push_str(key);
        out.push(':');
        if key == "apps" {
            apps(value, &mut out);
        } else {
            after_key(value, 2, &mut out);
            out.push('\n');
        }
    }
    out
}

/// A value after `key:` whose collections are indented by `indent`: a scalar on the same
/// line, a collection on the lines below.
fn after_key(value: &Value, indent: usize, out: &mut String) {
    let is_collection = match value {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    if is_collection {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        yaml::block(value, indent, out);
    } else {
        out.push(' ');
        yaml::flow(value, out);
    }
}

/// Where an app's fields come, as a person writes them; the rest follow in name order.
const APP_ORDER: [&str; 11] = [
    "name",
    "namespace",
    "group",
    "dependsOn",
    "timeout",
    "retryInterval",
    "podSecurity",
    "helm",
    "postgres",
    "secrets",
    "manifests",
];

/// Where a release's fields come.
const HELM_ORDER: [&str; 3] = ["chart", "version", "source"];

/// Where the fields of an entry of an app's lists of named things come.
const ENTRY_ORDER: [&str; 3] = ["name", "kind", "image"];

/// The app's lists whose entries are written name (and kind, image) first.
const NAMED_LISTS: [&str; 4] = ["workloads", "services", "configMaps", "serviceAccounts"];

/// The apps, a blank line between them, each with its name first.
fn apps(value: &Value, out: &mut String) {
    out.push('\n');
    for (i, app) in value.as_array().into_iter().flatten().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let Some(map) = app.as_object() else { continue };
        out.push_str("  - ");
        in_order(map, &APP_ORDER, 4, out);
        out.push('\n');
    }
}

/// Writes a map's entries in `order` first, then the rest, at `indent` (the first line already
/// indented); `helm` in its own order, the entries of the app's named lists name first.
fn in_order(map: &Map<String, Value>, order: &[&str], indent: usize, out: &mut String) {
    let keys = order
        .iter()
        .filter(|k| map.contains_key(**k))
        .map(|k| (*k).to_string())
        .chain(map.keys().filter(|k| !order.contains(&k.as_str())).cloned());
    for (i, key) in keys.enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&yaml::scalar_string(&key));
        out.push(':');
        let value = &map[&key];
        match value {
            Value::Object(m) if key == "helm" && !m.is_empty() => {
                out.push('\n');
                out.push_str(&" ".repeat(indent + 2));
                in_order(m, &HELM_ORDER, indent + 2, out);
            }
            Value::Array(list)
                if NAMED_LISTS.contains(&key.as_str())
                    && !list.is_empty()
                    && list.iter().all(Value::is_object) =>
            {
                for entry in list.iter().filter_map(Value::as_object) {
                    out.push('\n');
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str("- ");
                    in_order(entry, &ENTRY_ORDER, indent + 4, out);
                }
            }
            _ => after_key(value, indent + 2, out),
        }
    }
}
