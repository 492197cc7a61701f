//! The fleet spec's types: the single source of `schemas/fleet.schema.json`. A fleet is never
//! deserialized into them: it is expanded as data into one cluster spec per cluster
//! ([`super::expand`]), and each is validated as a cluster spec, so these types document the
//! shape and give editors completion. Their parts are the cluster spec's own types, partial:
//! an app defined once may leave a field to the clusters' overrides, so only names are
//! required below the top level.

use crate::spec::data::Operators;
use crate::spec::secrets::SecretStoreSpec;
use crate::spec::{ApiVersion, AppSpec, Defaults, FluxSpec, Name, Sources};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::OnceLock;

/// A fleet spec: several clusters in one output root, sharing the definitions of their apps.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "gitopsc fleet spec")]
pub struct FleetSpec {
    /// Always `gitopsc.io/v1alpha1`.
    pub api_version: ApiVersion,
    /// Always `Fleet`.
    pub kind: FleetKind,
    /// The fleet's name, recorded in each cluster's lock file.
    pub metadata: FleetMetadata,
    /// Files of the fleet (`kind: FleetPart`, relative to this file's folder) whose apps,
    /// clusters, sources and secret stores join this file's, in this order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Flux settings every cluster starts from (`repoPath` is the fleet's alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux: Option<FluxSpec>,
    /// Defaults every cluster starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// Chart repositories every cluster starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Sources>,
    /// Secret stores every cluster starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_stores: Option<Vec<SecretStoreSpec>>,
    /// Operators every cluster starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operators: Option<Operators>,
    /// The apps, each defined once; a cluster runs those it lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps: Option<Vec<AppSpec>>,
    /// The clusters: each names the apps it runs and what differs from the shared definitions.
    pub clusters: Vec<FleetCluster>,
}

/// A part of a fleet spec in a file of its own (one per app, per team or per cluster), named
/// in the root's `include` or found below the root's folder: what it holds joins the root's
/// lists.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "gitopsc fleet part")]
pub struct FleetPart {
    /// Always `gitopsc.io/v1alpha1`.
    pub api_version: ApiVersion,
    /// Always `FleetPart`.
    pub kind: FleetPartKind,
    /// App definitions, joining the fleet's `apps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps: Option<Vec<AppSpec>>,
    /// Clusters, joining the fleet's `clusters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<FleetCluster>>,
    /// Chart repositories, joining the fleet's `sources.helm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Sources>,
    /// Secret stores, joining the fleet's `secretStores`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_stores: Option<Vec<SecretStoreSpec>>,
}

/// A fleet part's `kind`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub enum FleetPartKind {
    /// A part of a fleet spec.
    FleetPart,
}

/// The fleet spec's `kind`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub enum FleetKind {
    /// A fleet spec.
    Fleet,
}

/// Names the fleet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FleetMetadata {
    /// The fleet's name: two fleets never take each other's clusters in one output root.
    pub name: Name,
}

/// One cluster of a fleet: its name, the apps it runs, and what differs (docs/fleet.md has
/// the rules: mappings merge, scalars replace, lists of named items merge by `name`, other
/// lists replace).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FleetCluster {
    /// The cluster's name: `clusters/<name>/` and `fleet/<name>/` of the rendered tree.
    pub name: Name,
    /// Merged over the fleet's `flux`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux: Option<FluxSpec>,
    /// Merged over the fleet's `defaults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// Merged over the fleet's `sources`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Sources>,
    /// Merged by name with the fleet's `secretStores`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_stores: Option<Vec<SecretStoreSpec>>,
    /// Merged over the fleet's `operators`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operators: Option<Operators>,
    /// The apps the cluster runs, each named as in the fleet's `apps`, with what differs here
    /// merged over that definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps: Option<Vec<AppSpec>>,
}

/// The JSON Schema of the fleet spec.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| schema_of::<FleetSpec>("fleet"))
}

/// The JSON Schema of a fleet part.
pub fn part_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| schema_of::<FleetPart>("fleet-part"))
}

/// The schema of `T`, its definitions partial, as `schemas/<name>.schema.json`.
fn schema_of<T: JsonSchema>(name: &str) -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with_transform(
        schemars::transform::RecursiveTransform(crate::spec::schema::strip_null),
    );
    let mut schema = settings.into_generator().into_root_schema_for::<T>().to_value();
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        for def in defs.values_mut() {
            partial(def);
        }
    }
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            Value::String(format!("https://gitopsc.io/schemas/{name}.schema.json")),
        );
    }
    schema
}

/// Leaves `name` the only field a definition requires: the rest may come from the fleet's
/// shared definition or a cluster's override, and is checked on the cluster spec they make.
fn partial(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            if let Some(Value::Array(required)) = obj.get_mut("required") {
                required.retain(|r| r == "name");
                if required.is_empty() {
                    obj.remove("required");
                }
            }
            obj.values_mut().for_each(partial);
        }
        Value::Array(items) => items.iter_mut().for_each(partial),
        _ => {}
    }
}

/// The schema as the pretty-printed text committed in `schemas/fleet.schema.json`.
pub fn schema_text() -> String {
    pretty(schema())
}

/// The part's schema as the text committed in `schemas/fleet-part.schema.json`.
pub fn part_schema_text() -> String {
    pretty(part_schema())
}

fn pretty(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The fleet spec's reference in Markdown (`gitopsc schema --fleet --markdown`): the tables of
/// its own types; the types it shares with the cluster spec link to docs/spec-reference.md.
pub fn markdown() -> String {
    use std::fmt::Write;
    let schema = schema();
    let own = ["FleetCluster", "FleetMetadata"];
    let mut out = String::from(
        "# Fleet spec reference\n\n\
         Generated from the fleet spec's JSON Schema by `gitopsc schema --fleet --markdown`; a test\n\
         fails when this file is stale. The rules that merge a cluster's fields over the fleet's,\n\
         and the layout of the tree, are in [fleet.md](fleet.md). The types the fleet shares with\n\
         the cluster spec are in [spec-reference.md](spec-reference.md); in a fleet only their\n\
         `name` is required, the rest is checked on each cluster's spec.\n\n\
         ## `Fleet` (the fleet spec's top level)\n\n",
    );
    crate::spec::reference::object_table(schema, &mut out);
    for name in own {
        let _ = writeln!(out, "## `{name}`\n");
        crate::spec::reference::object_table(&schema["$defs"][name], &mut out);
    }
    out.push_str("## `FleetPart` (the top level of an included file)\n\n");
    crate::spec::reference::object_table(part_schema(), &mut out);
    out.push_str(
        "## Value types\n\n| type | accepts | meaning |\n|---|---|---|\n\
         | <a id=\"fleetkind\"></a>`FleetKind` | `Fleet` | A fleet spec. |\n\
         | <a id=\"fleetpartkind\"></a>`FleetPartKind` | `FleetPart` | A part of a fleet spec. |\n",
    );
    // Links to the shared types lead to the cluster spec's reference.
    let mut linked = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(at) = rest.find("](#") {
        linked.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let target = rest[1..].split(')').next().unwrap_or_default();
        if !["fleetcluster", "fleetmetadata", "fleetkind", "fleetpartkind"].contains(&target) {
            linked.push_str("spec-reference.md");
        }
    }
    linked.push_str(rest);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_top_only_names_are_required() {
        let s = schema();
        assert_eq!(
            s["required"],
            serde_json::json!(["apiVersion", "kind", "metadata", "clusters"])
        );
        assert_eq!(
            s["$defs"]["FleetCluster"]["required"],
            serde_json::json!(["name"])
        );
        assert_eq!(s["$defs"]["AppSpec"]["required"], serde_json::json!(["name"]));
        assert!(s["$defs"]["HelmSpec"].get("required").is_none());
        assert_eq!(
            s["$defs"]["HelmSpec"]["additionalProperties"],
            serde_json::json!(false)
        );
    }
}
