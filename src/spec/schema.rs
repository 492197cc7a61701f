//! The spec's JSON Schema (generated from the Rust types) and validation against it.
//!
//! All schema errors are reported at once, each at the span of the offending node, with the
//! expected form and, where one can be computed, a did-you-mean suggestion.

use super::load::{SpanIndex, SpanNode, escape_pointer};
use super::node_json::Tree;
use super::{
    CHART_NAME_PATTERN, CHART_VERSION_PATTERN, ClusterSpec, DURATION_PATTERN, FLUX_VERSION_PATTERN,
    GROUP_PATTERN, HELM_URL_PATTERN, NAME_PATTERN,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use jsonschema::Validator;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;
use std::sync::OnceLock;

/// The JSON Schema of the spec.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // Optional fields are omitted, never null: an explicit null is a type error.
        let settings = schemars::generate::SchemaSettings::draft2020_12()
            .with_transform(schemars::transform::RecursiveTransform(strip_null));
        let mut schema = settings
            .into_generator()
            .into_root_schema_for::<ClusterSpec>()
            .to_value();
        if let Some(obj) = schema.as_object_mut() {
            obj.insert(
                "$id".into(),
                Value::String("https://gitopsc.io/schemas/cluster.schema.json".into()),
            );
        }
        schema
    })
}

/// Drops the `null` alternative schemars adds for `Option` fields, and turns a `oneOf` of
/// documented constants (a unit enum) into an `enum` whose description lists the choices.
pub(crate) fn strip_null(schema: &mut schemars::Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(variants)) = obj.get("oneOf")
        && !variants.is_empty()
        && variants.iter().all(|v| v.get("const").is_some())
    {
        let values: Vec<Value> = variants.iter().filter_map(|v| v.get("const").cloned()).collect();
        let docs: Vec<String> = variants
            .iter()
            .filter_map(|v| {
                let c = v.get("const")?.as_str()?;
                let d = v.get("description")?.as_str()?;
                Some(format!("`{c}`: {d}"))
            })
            .collect();
        obj.remove("oneOf");
        obj.insert("type".into(), Value::String("string".into()));
        obj.insert("enum".into(), Value::Array(values));
        if !docs.is_empty() {
            let lead = obj
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let text = if lead.is_empty() {
                docs.join("; ")
            } else {
                format!("{lead} {}", docs.join("; "))
            };
            obj.insert("description".into(), Value::String(text));
        }
    }
    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
    if let Some(Value::Array(alternatives)) = obj.get("anyOf")
        && alternatives.len() == 2
        && alternatives.iter().any(is_null)
    {
        let kept = alternatives.iter().find(|v| !is_null(v)).cloned();
        obj.remove("anyOf");
        if let Some(Value::Object(kept)) = kept {
            obj.extend(kept);
        }
    }
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t.as_str() != Some("null"));
        if types.len() == 1 {
            let only = types[0].clone();
            obj.insert("type".into(), only);
        }
    }
}

/// The schema as the pretty-printed text committed in `schemas/cluster.schema.json`.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// A validator of the loaded tree ([`super::node_json`]) against `schema`.
fn validator(schema: &Value) -> Validator<Tree> {
    jsonschema::options_for::<Tree>()
        .should_validate_formats(false)
        .build(schema)
        .expect("the generated schema is a valid JSON Schema")
}

/// Where the schema of an app is in the spec's.
const APP_SCHEMA_PATH: &str = "/properties/apps/items";

/// Validates the spec's root but its apps (each is validated apart, [`validate_app`]): of
/// `apps`, only that it is a list. Returns every error, and when there are any, the root's
/// value with each offending node removed (and its list of apps emptied), so later checks
/// can still run on the rest.
pub fn validate_root(spans: &SpanIndex) -> (Vec<Diagnostic>, Option<Value>) {
    let (diags, mut pruned) = validate_part(root_validator(), spans.root(), "", spans);
    if let Some(Value::Array(apps)) = pruned.as_mut().and_then(|p| p.get_mut("apps")) {
        apps.clear();
    }
    (diags, pruned)
}

/// [`validate_root`] for the app `index` of the spec, `app`, against the schema of an app.
pub fn validate_app(index: usize, app: &SpanNode, spans: &SpanIndex) -> (Vec<Diagnostic>, Option<Value>) {
    validate_part(
        app_validator(),
        app,
        super::path::SpecPath::app(index).as_str(),
        spans,
    )
}

/// The validator of the spec's root, but its apps' items.
fn root_validator() -> &'static Validator<Tree> {
    static VALIDATOR: OnceLock<Validator<Tree>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let mut root = schema().clone();
        if let Some(items) = root.pointer_mut(APP_SCHEMA_PATH) {
            *items = Value::Bool(true);
        }
        validator(&root)
    })
}

/// The validator of an app.
fn app_validator() -> &'static Validator<Tree> {
    static VALIDATOR: OnceLock<Validator<Tree>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let root = schema();
        let items = root.pointer(APP_SCHEMA_PATH).expect("the spec's schema has apps");
        let mut app = serde_json::json!({"$defs": root["$defs"], "$schema": root["$schema"]});
        app["$ref"] = items["$ref"].clone();
        validator(&app)
    })
}

/// Compiles the validators (once): a run does it beside the spec's load, whose parse leaves
/// a core idle, rather than when the first app is validated.
pub fn compile_validators() {
    rayon::join(root_validator, app_validator);
}

/// Validates `node`, the spec's node at `pointer`, against `validator`: the errors at their
/// places in the whole spec. (An error's schema path is where its rule is in the schema's
/// document, `$ref`s followed: the same for an app validated apart.)
fn validate_part(
    validator: &Validator<Tree>,
    node: &SpanNode,
    pointer: &str,
    spans: &SpanIndex,
) -> (Vec<Diagnostic>, Option<Value>) {
    let mut diags = Vec::new();
    // Copied only when a node has to go: a valid spec is never copied.
    let mut pruned: Option<Value> = None;
    let part = pointer;
    for error in validator.iter_errors(node) {
        let pointer = format!("{part}{}", error.instance_path());
        let instance = error.instance().as_ref().clone();
        let at = spans.value(&pointer);
        // Each error: what is wrong, and the nodes later checks must not see.
        let (found, drop): (Vec<Diagnostic>, Vec<String>) = match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let schema_path = error.schema_path().to_string();
                unexpected_fields(spans, &pointer, &schema_path, unexpected)
            }
            ValidationErrorKind::Required { property } => {
                (vec![missing_field(spans, &pointer, property)], Vec::new())
            }
            ValidationErrorKind::Type { kind } => (vec![wrong_type(kind, &instance, at)], vec![pointer]),
            ValidationErrorKind::Enum { options } => {
                (vec![not_allowed(options, &instance, at)], vec![pointer])
            }
            ValidationErrorKind::Pattern { pattern } => {
                let given = scalar_text(&instance);
                let (what, help) = pattern_meaning(pattern, &given);
                let shown = if given.is_empty() {
                    "an empty string".to_string()
                } else {
                    format!("`{given}`")
                };
                let d = Diagnostic::error(Code::InvalidFormat, format!("{shown} is not {what}"))
                    .at(at, format!("expected {what}"))
                    .help(help);
                // The value still has the right type: keep it, so later checks see the rest.
                (vec![d], Vec::new())
            }
            _ => {
                let d = Diagnostic::error(Code::InvalidValue, format!("invalid value: {error}")).at(at, "");
                (vec![d], vec![pointer])
            }
        };
        diags.extend(found);
        for pointer in drop {
            match pointer.strip_prefix(part).unwrap_or(&pointer) {
                // The part itself goes, as an item of the list that holds it would.
                "" => pruned = Some(Value::Null),
                local => remove(pruned.get_or_insert_with(|| node.to_value()), local),
            }
        }
    }
    (diags, pruned)
}

/// Fields the schema does not know in the mapping at `pointer`: each an unknown field with a
/// did-you-mean, or a secret value written in a secret's definition.
fn unexpected_fields(
    spans: &SpanIndex,
    pointer: &str,
    schema_path: &str,
    unexpected: &[String],
) -> (Vec<Diagnostic>, Vec<String>) {
    let allowed = allowed_properties(schema_path);
    let mut diags = Vec::new();
    let mut drop = Vec::new();
    for field in unexpected {
        let child = format!("{pointer}/{}", escape_pointer(field));
        let at = spans.key(&child);
        if is_plaintext_secret_field(pointer, field) {
            diags.push(
                Diagnostic::error(
                    Code::PlaintextSecretField,
                    format!("`{field}`: plaintext secret values are not allowed in a spec"),
                )
                .at(at, "plaintext secret")
                .help("put the value in the secret store and read it: `data: [{key, remoteKey, property}]`"),
            );
        } else {
            let mut d = Diagnostic::error(Code::UnknownField, format!("unknown field `{field}`"))
                .at(at, "not a field here");
            if let Some(best) = did_you_mean(field, allowed.iter().map(String::as_str)) {
                d = d.help(format!("did you mean `{best}`?"));
            } else if !allowed.is_empty() {
                d = d.help(format!("expected one of: {}", backticked(&allowed)));
            }
            diags.push(d);
        }
        drop.push(child);
    }
    (diags, drop)
}

fn missing_field(spans: &SpanIndex, pointer: &str, property: &Value) -> Diagnostic {
    let field = property.as_str().unwrap_or_default();
    let label = if pointer.is_empty() {
        "the spec"
    } else {
        "in this mapping"
    };
    Diagnostic::error(Code::MissingField, format!("missing field `{field}`"))
        .at(spans.key(pointer), label)
        .help(format!("add `{field}:`{}", required_hint(field)))
}

fn wrong_type(kind: &TypeKind, instance: &Value, at: Option<Span>) -> Diagnostic {
    let expected = match kind {
        TypeKind::Single(t) => t.to_string(),
        TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
    };
    let found = json_type(instance);
    let d = Diagnostic::error(
        Code::WrongType,
        format!("expected {} here, found {found}", article(&expected)),
    )
    .at(at, format!("this is {}", article(found)));
    if expected == "string" && matches!(instance, Value::Number(_) | Value::Bool(_)) {
        d.help(format!("quote the value: `\"{}\"`", scalar_text(instance)))
    } else {
        d
    }
}

fn not_allowed(options: &Value, instance: &Value, at: Option<Span>) -> Diagnostic {
    let choices: Vec<String> = options
        .as_array()
        .map(|a| a.iter().map(scalar_text).collect())
        .unwrap_or_default();
    let given = scalar_text(instance);
    let d = Diagnostic::error(Code::NotAllowed, format!("`{given}` is not allowed here"))
        .at(at, format!("expected one of: {}", choices.join(", ")));
    match did_you_mean(&given, choices.iter().map(String::as_str)) {
        Some(best) => d.help(format!("did you mean `{best}`?")),
        None => d.help(format!("use one of: {}", backticked(&choices))),
    }
}

/// True for a field of a `secrets` entry that would carry a secret value.
fn is_plaintext_secret_field(pointer: &str, field: &str) -> bool {
    let in_secret = pointer.rsplit('/').nth(1) == Some("secrets");
    in_secret
        && matches!(
            field,
            "value" | "values" | "stringData" | "password" | "plaintext" | "secret"
        )
}

/// Follows a schema path (through `$ref`s) to the object schema it names and lists its
/// properties.
fn allowed_properties(schema_path: &str) -> Vec<String> {
    let root = schema();
    let mut node = root;
    let segments: Vec<&str> = schema_path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((_, parents)) = segments.split_last() else {
        return properties_of(root);
    };
    for seg in parents {
        if *seg == "$ref" {
            let Some(target) = node.get("$ref").and_then(Value::as_str) else {
                return Vec::new();
            };
            let Some(resolved) = target.strip_prefix('#').and_then(|p| root.pointer(p)) else {
                return Vec::new();
            };
            node = resolved;
            continue;
        }
        let key = seg.replace("~1", "/").replace("~0", "~");
        node = match node {
            Value::Object(m) => match m.get(&key) {
                Some(n) => n,
                None => return Vec::new(),
            },
            Value::Array(a) => match key.parse::<usize>().ok().and_then(|i| a.get(i)) {
                Some(n) => n,
                None => return Vec::new(),
            },
            _ => return Vec::new(),
        };
    }
    properties_of(node)
}

fn properties_of(node: &Value) -> Vec<String> {
    node.get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The closest candidate by edit distance, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    candidates
        .map(|c| (strsim::damerau_levenshtein(&given_lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(given.len()) / 3).max(1))
        .min_by_key(|(d, c)| (*d, c.to_string()))
        .map(|(_, c)| c)
}

fn backticked(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn required_hint(field: &str) -> &'static str {
    match field {
        "apiVersion" => " gitopsc.io/v1alpha1",
        "kind" => " Cluster",
        _ => "",
    }
}

fn pattern_meaning(pattern: &str, given: &str) -> (&'static str, String) {
    match pattern {
        p if p == NAME_PATTERN => (
            "a valid name",
            format!(
                "names are DNS-1123 labels: lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters{}",
                suggest_name(given).map(|s| format!(" — e.g. `{s}`")).unwrap_or_default()
            ),
        ),
        p if p == DURATION_PATTERN => (
            "a valid duration",
            "write a duration such as `30s`, `5m`, `1h` or `1h30m` (units ms, s, m, h)".into(),
        ),
        p if p == GROUP_PATTERN => (
            "a valid group",
            "a group is a folder path of DNS-1123 labels separated by `/`, such as `platform/registry` (no `..`, no leading or trailing `/`)".into(),
        ),
        p if p == FLUX_VERSION_PATTERN => (
            "a Flux version",
            "write the Flux minor version as a string, such as `\"2.9\"`".into(),
        ),
        p if p == CHART_VERSION_PATTERN => (
            "a chart version",
            "give the chart's version, e.g. `1.16.0` (a range such as `>=1.16.0 <1.17.0` works for `https://` repositories)".into(),
        ),
        p if p == HELM_URL_PATTERN => (
            "a Helm repository URL",
            "use an `https://` chart repository URL or an `oci://` registry path".into(),
        ),
        p if p == CHART_NAME_PATTERN => (
            "a chart name",
            "a chart name starts with a letter or digit and holds letters, digits, `.`, `_` and `-`".into(),
        ),
        p => match super::workload::pattern_meaning(p) {
            Some((what, help)) => (what, help.to_string()),
            None => ("of the expected form", format!("the value must match `{pattern}`")),
        },
    }
}

/// A DNS-1123 label close to `given`, if one can be made.
fn suggest_name(given: &str) -> Option<String> {
    let mut out = String::new();
    for c in given.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(63).collect();
    let out = out.trim_end_matches('-').to_string();
    (!out.is_empty() && out != given).then_some(out)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn article(word: &str) -> String {
    let word = match word {
        "object" => "mapping",
        "array" => "list",
        w => w,
    };
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {word}")
    } else {
        format!("a {word}")
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Removes the node at `pointer` so the rest of the spec can still be checked.
fn remove(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&key);
        }
        Some(Value::Array(a)) => {
            // Keep indexes stable for later pointers: replace, do not shift.
            if let Some(item) = key.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}
