//! The override rules: a cluster's value merged over the fleet's, node by node, each node of
//! the result keeping the span of the one it came from.
//!
//! Mappings merge key by key (recursively); scalars, and values of different kinds, are
//! replaced; a list is replaced whole, except a list whose items the cluster spec's schema
//! types as objects with a required `name` (apps, secrets, databases, workloads, env...):
//! there an item of the override merges into the item of the same name, and a new name is
//! appended. Whether a list is one of those is read from the schema, so a new field of the
//! spec follows the rules without a change here.

use crate::spec::load::SpanNode;
use serde_json::Value;

/// Lists whose items have a required `name` that is not what tells them apart: they are
/// replaced, as other lists. `helm.valuesFrom` is ordered (later entries win in Helm) and may
/// read one object twice, under different keys.
pub const REPLACED_NAMED_LISTS: &[&str] = &["valuesFrom"];

/// Where in the cluster spec's schema a node is: what tells the merge how its lists merge.
#[derive(Clone, Copy)]
pub struct SchemaAt<'s> {
    root: &'s Value,
    node: &'s Value,
}

impl<'s> SchemaAt<'s> {
    /// The root of `schema`.
    pub fn root(schema: &'s Value) -> Self {
        SchemaAt {
            root: schema,
            node: schema,
        }
    }

    /// The schema of `node` with its `$ref` followed.
    fn resolved(&self, mut node: &'s Value) -> &'s Value {
        for _ in 0..16 {
            let Some(target) = node.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let name = target.trim_start_matches("#/$defs/");
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(def) => node = def,
                None => break,
            }
        }
        node
    }

    /// The node and the alternatives it allows (`anyOf`, `oneOf`, `allOf`), resolved.
    fn alternatives(&self) -> Vec<&'s Value> {
        let node = self.resolved(self.node);
        let mut all = vec![node];
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(alts)) = node.get(key) {
                all.extend(alts.iter().map(|a| self.resolved(a)));
            }
        }
        all
    }

    fn at(&self, node: &'s Value) -> Self {
        SchemaAt {
            root: self.root,
            node,
        }
    }

    /// The schema of the value of `key` in a mapping, when the schema says.
    pub fn property(&self, key: &str) -> Option<Self> {
        self.alternatives().into_iter().find_map(|alt| {
            alt.get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| alt.get("additionalProperties").filter(|a| a.is_object()))
                .map(|n| self.at(n))
        })
    }

    /// The schema of the items of a list.
    pub fn items(&self) -> Option<Self> {
        self.alternatives()
            .into_iter()
            .find_map(|alt| alt.get("items").map(|n| self.at(n)))
    }

    /// Whether the items of this list are objects told apart by a required `name`.
    pub fn names_items(&self) -> bool {
        self.items().is_some_and(|items| {
            items.alternatives().iter().any(|alt| {
                alt.get("required")
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.iter().any(|f| f == "name"))
            })
        })
    }
}

/// `over` merged over `base` (see the module's rules). `key` is the key that holds the node
/// in its mapping, `schema` where the node is in the cluster spec's schema (none inside
/// free-form values such as chart values: there lists are replaced, as Helm does).
pub fn merge(base: &SpanNode, over: &SpanNode, key: Option<&str>, schema: Option<SchemaAt>) -> SpanNode {
    if base.is_map() && over.is_map() {
        let mut entries = Vec::new();
        let added = over.entries().filter(|(k, _)| base.get(k).is_none());
        for (k, _) in base.entries().chain(added) {
            let child_schema = schema.and_then(|s| s.property(k));
            let (key_span, node) = match (base.entry(k), over.entry(k)) {
                (Some((_, b)), Some((key_span, o))) => (key_span, merge(b, o, Some(k), child_schema)),
                (Some((key_span, node)), None) | (None, Some((key_span, node))) => (key_span, node.clone()),
                (None, None) => continue,
            };
            entries.push((k.to_string(), key_span, node));
        }
        return SpanNode::map(over.span(), entries);
    }
    if merges_by_name(base, over, key, schema) {
        return merge_named(base, over, schema.and_then(|s| s.items())).unwrap_or_else(|| over.clone());
    }
    over.clone()
}

/// Whether `base` and `over` are lists whose items merge by name.
fn merges_by_name(base: &SpanNode, over: &SpanNode, key: Option<&str>, schema: Option<SchemaAt>) -> bool {
    base.as_seq().is_some()
        && over.as_seq().is_some()
        && schema.is_some_and(|s| s.names_items())
        && !key.is_some_and(|k| REPLACED_NAMED_LISTS.contains(&k))
}

/// [`merge`] of `over` into `base` in place: the same node, made without copying the base
/// (a definition only one cluster runs moves into its cluster spec).
pub fn merge_into(base: &mut SpanNode, over: &SpanNode, key: Option<&str>, schema: Option<SchemaAt>) {
    if base.is_map() && over.is_map() {
        for (k, over_child) in over.entries() {
            let Some((key_span, _)) = over.entry(k) else {
                continue;
            };
            let child_schema = schema.and_then(|s| s.property(k));
            match base.entry_mut(k) {
                Some((_, child)) => {
                    merge_into(child, over_child, Some(k), child_schema);
                    base.set_key_span(k, key_span);
                }
                None => base.put_entry(k, key_span, over_child.clone()),
            }
        }
        base.set_span(over.span());
        return;
    }
    if merges_by_name(base, over, key, schema) {
        let items = schema.and_then(|s| s.items());
        let base_names = base.as_seq().and_then(names);
        let (Some(base_names), Some(over_names)) = (base_names, over.as_seq().and_then(names)) else {
            *base = over.clone();
            return;
        };
        let base_names: Vec<String> = base_names.into_iter().map(str::to_string).collect();
        for (item, name) in base.items_mut().iter_mut().zip(&base_names) {
            if let Some(over_item) = over_names
                .iter()
                .position(|n| n == name)
                .and_then(|j| over.item(j))
            {
                merge_into(item, over_item, None, items);
            }
        }
        let added = (over_names.iter().enumerate())
            .filter(|(_, name)| !base_names.iter().any(|n| n == *name))
            .filter_map(|(j, _)| over.item(j).cloned())
            .collect();
        base.extend_items(added);
        base.set_span(over.span());
        return;
    }
    *base = over.clone();
}

/// The `name` of each item of a list, when every item has a distinct one.
fn names(list: &[SpanNode]) -> Option<Vec<&str>> {
    let names: Vec<&str> = list
        .iter()
        .map(|item| item.get("name").and_then(SpanNode::as_str))
        .collect::<Option<_>>()?;
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.windows(2).all(|w| w[0] != w[1]).then_some(names)
}

/// Two lists of named items merged by name: the base's items in their order, each with the
/// override's item of its name merged over it, then the override's other items. `None` when
/// an item has no name or a name is repeated: then the override replaces the list.
fn merge_named(base: &SpanNode, over: &SpanNode, items: Option<SchemaAt>) -> Option<SpanNode> {
    let (base_names, over_names) = (names(base.as_seq()?)?, names(over.as_seq()?)?);
    let mut merged = Vec::new();
    for (i, name) in base_names.iter().enumerate() {
        let base_item = base.item(i)?;
        merged.push(match over_names.iter().position(|n| n == name) {
            Some(j) => merge(base_item, over.item(j)?, None, items),
            None => base_item.clone(),
        });
    }
    for (j, name) in over_names.iter().enumerate() {
        if !base_names.contains(name) {
            merged.push(over.item(j)?.clone());
        }
    }
    Some(SpanNode::seq(over.span(), merged))
}

/// The lists that merge by name, as paths in the cluster spec (`apps[].secrets`): what
/// docs/fleet.md tabulates.
pub fn named_lists(schema: &Value) -> Vec<String> {
    fn walk(at: SchemaAt, path: &str, depth: usize, out: &mut Vec<String>) {
        if depth > 8 {
            return;
        }
        for alt in at.alternatives() {
            if let Some(Value::Object(props)) = alt.get("properties") {
                for (key, node) in props {
                    let child = at.at(node);
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if let Some(items) = child.items() {
                        if child.names_items() && !REPLACED_NAMED_LISTS.contains(&key.as_str()) {
                            out.push(here.clone());
                        }
                        walk(items, &format!("{here}[]"), depth + 1, out);
                    } else {
                        walk(child, &here, depth + 1, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(SchemaAt::root(schema), "", 0, &mut out);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    /// `over` merged over `base` at the root of a cluster spec; the result and where each
    /// leaf named in `probe` came from (`b` or `o`).
    fn merged(base: &str, over: &str) -> (Value, String, crate::spec::load::SpanIndex) {
        let text = format!("b:\n{base}\no:\n{over}\n");
        let loaded = crate::spec::load::parse(Source::new("t.yaml", text.clone()))
            .map_err(|(_, d)| d)
            .unwrap();
        let root = loaded.spans.root();
        let (b, o) = (root.get("b").unwrap(), root.get("o").unwrap());
        let schema = crate::spec::schema::schema();
        let merged = merge(b, o, None, Some(SchemaAt::root(schema)));
        // The merge in place makes the same node.
        let mut in_place = b.clone();
        merge_into(&mut in_place, o, None, Some(SchemaAt::root(schema)));
        assert_eq!(format!("{in_place:?}"), format!("{merged:?}"));
        (merged.to_value(), text, crate::spec::load::SpanIndex::new(merged))
    }

    /// Which of `b:` or `o:` the node at `pointer` came from.
    fn origin(text: &str, spans: &crate::spec::load::SpanIndex, pointer: &str) -> &'static str {
        let at = spans.value(pointer).unwrap().start;
        if at < text.find("\no:").unwrap() { "b" } else { "o" }
    }

    #[test]
    fn maps_merge_scalars_and_lists_replace_named_items_merge_by_name() {
        let base = "  defaults: {timeout: 5m, reloader: true}\n  flux: {external: [a, b]}\n  apps:\n    - name: web\n      helm: {chart: web, version: '1', source: s, values: {replicas: 1, hosts: [a], env: [{name: X, value: '1'}]}}\n      secrets: [{name: s1, data: []}]\n    - name: api\n";
        let over = "  defaults: {timeout: 9m}\n  flux: {external: [c]}\n  apps:\n    - name: web\n      helm: {version: '2', values: {hosts: [b], env: [{name: 'Y', value: '2'}]}}\n      secrets: [{name: s2, data: []}]\n    - name: new\n";
        let (v, text, spans) = merged(base, over);
        assert_eq!(
            v["defaults"],
            serde_json::json!({"timeout": "9m", "reloader": true})
        );
        assert_eq!(v["flux"]["external"], serde_json::json!(["c"]));
        let names: Vec<&str> = v["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["web", "api", "new"]);
        let web = &v["apps"][0];
        assert_eq!(web["helm"]["chart"], "web");
        assert_eq!(web["helm"]["version"], "2");
        // Chart values are Helm's: lists replace, even of named items.
        assert_eq!(web["helm"]["values"]["hosts"], serde_json::json!(["b"]));
        assert_eq!(
            web["helm"]["values"]["env"],
            serde_json::json!([{"name": "Y", "value": "2"}])
        );
        assert_eq!(web["helm"]["values"]["replicas"], 1);
        let secrets: Vec<&str> = web["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(secrets, ["s1", "s2"]);
        for (pointer, from) in [
            ("/defaults/timeout", "o"),
            ("/defaults/reloader", "b"),
            ("/apps/0/helm/chart", "b"),
            ("/apps/0/helm/version", "o"),
            ("/apps/0/helm/values/replicas", "b"),
            ("/apps/0/secrets/0/name", "b"),
            ("/apps/0/secrets/1/name", "o"),
            ("/apps/1/name", "b"),
            ("/apps/2/name", "o"),
        ] {
            assert_eq!(origin(&text, &spans, pointer), from, "{pointer}");
        }
    }

    #[test]
    fn lists_with_repeated_or_missing_names_and_values_from_are_replaced() {
        let base = "  secretStores: [{name: a}, {name: b}]\n  apps: [{name: x, helm: {valuesFrom: [{kind: Secret, name: s, valuesKey: k1}]}}]\n";
        let over = "  secretStores: [{name: a}, {name: a}]\n  apps: [{name: x, helm: {valuesFrom: [{kind: Secret, name: s, valuesKey: k2}]}}]\n";
        let (v, _, _) = merged(base, over);
        assert_eq!(
            v["secretStores"],
            serde_json::json!([{"name": "a"}, {"name": "a"}])
        );
        assert_eq!(v["apps"][0]["helm"]["valuesFrom"][0]["valuesKey"], "k2");
        assert_eq!(v["apps"][0]["helm"]["valuesFrom"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_named_lists_are_read_from_the_schema() {
        let lists = named_lists(crate::spec::schema::schema());
        for path in [
            "apps",
            "apps[].secrets",
            "apps[].postgres.databases",
            "apps[].workloads",
            "apps[].workloads[].env",
            "secretStores",
            "sources.helm",
        ] {
            assert!(lists.iter().any(|l| l == path), "{path}: {lists:?}");
        }
        for path in [
            "flux.external",
            "apps[].dependsOn",
            "apps[].helm.valuesFrom",
            "apps[].allowPlaintext",
        ] {
            assert!(!lists.iter().any(|l| l == path), "{path}: {lists:?}");
        }
    }
}
