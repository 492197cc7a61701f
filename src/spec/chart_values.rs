//! Chart values checked against the chart's own files, vendored in the repository
//! ([`crate::charts`], docs/chart-values.md): values its `values.schema.json` refuses are
//! errors, keys its `values.yaml` does not have are warnings with a did-you-mean, each at its
//! place in the spec. Nothing is fetched: a chart version that is not vendored is not checked.
//!
//! For a chart gitopsc knows ([`crate::charts::table`]), its table of the keys the chart's
//! templates read still decides within the sections it covers, on the versions it covers;
//! the vendored `values.yaml` decides everywhere else.

use super::chart_keys;
use super::load::escape_pointer;
use super::path::SpecPath;
use super::places::Places;
use super::schema::did_you_mean;
use super::{AppSpec, ClusterSpec, Defaults, HelmSpec};
use crate::charts::table::{Chart, lookup, version_of};
use crate::charts::{ChartFiles, ChartMeta, ChartsStamp, DEFAULT_DIR, Folder, yaml_to_json};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::Path;

/// Checks every app's chart values against its vendored chart, in the folder the spec names
/// (relative to `spec_dir`); returns the diagnostics and the lock file's stamp of the folder.
pub fn check(spec: &ClusterSpec, spans: &Places, spec_dir: &Path) -> (Vec<Diagnostic>, Option<ChartsStamp>) {
    use rayon::prelude::*;
    let dir = spec.defaults.charts_dir.as_deref().unwrap_or(DEFAULT_DIR);
    if Path::new(dir).has_root() || dir.contains('\\') {
        let d = Diagnostic::error(Code::ChartsDirNotRelative, "`chartsDir` must be a folder relative to the spec's")
            .at(spans.value(&SpecPath::root().field(ClusterSpec::DEFAULTS).field(Defaults::CHARTS_DIR)), "not a relative path")
            .help("write it with `/` separators, relative to the folder the spec is in, such as `charts` or `../charts`");
        return (vec![d], None);
    }
    let folder = Folder::scan(spec_dir, dir);
    let diags = spec
        .apps
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, app)| match &app.helm {
            Some(helm) => check_app(i, helm, &folder, spans),
            None => Vec::new(),
        })
        .collect();
    (diags, folder.stamp())
}

/// The checks of one app's chart values.
fn check_app(index: usize, helm: &HelmSpec, folder: &Folder, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let base = SpecPath::app(index);
    let table = lookup(&helm.chart);
    let covered = table.is_some_and(|t| covers(t, &helm.version));
    let Some(files) = folder.get(&helm.chart, &helm.version) else {
        if let Some(versions) = folder.charts.get(&helm.chart) {
            let held: Vec<String> = versions.keys().map(|v| format!("`{v}`")).collect();
            diags.push(
                Diagnostic::warning(
                    Code::ChartVersionNotVendored,
                    format!(
                    "`{}/{}/` holds no version `{}`: the chart values are not checked",
                    folder.dir, helm.chart, helm.version
                ))
                .at(spans.value(&base.field(AppSpec::HELM).field(HelmSpec::VERSION)), "not vendored")
                .help(format!(
                    "vendor this version (`helm pull <repository>/{0} --version {1}`, then `gitopsc charts vendor {0}-{1}.tgz`); the folder holds {2}",
                    helm.chart,
                    helm.version,
                    held.join(", ")
                )),
            );
        }
        if let Some(table) = table {
            chart_keys::check(table, &helm.version, &helm.values.map(), &base, spans, &mut diags);
        }
        return diags;
    };
    let app = App {
        helm,
        folder: format!("{}/{}/{}", folder.dir, helm.chart, helm.version),
        values_pointer: base.field(AppSpec::HELM).field(HelmSpec::VALUES),
        chart_span: spans.value(&base.field(AppSpec::HELM).field(HelmSpec::CHART)),
        spans,
    };
    let Some(vendored) = app.read(files, &mut diags) else {
        return diags;
    };
    let values = &helm.values.map();
    // The table decides in its sections on the versions it covers, and wherever no vendored
    // values.yaml does.
    if let Some(table) = table
        && (covered || vendored.defaults.is_none())
    {
        chart_keys::check(table, &helm.version, values, &base, spans, &mut diags);
    }
    let reported = match &vendored.schema {
        Some((schema, validator)) => {
            app.schema_errors(schema, validator, vendored.defaults.as_ref(), values, &mut diags)
        }
        None => BTreeSet::new(),
    };
    if let Some(defaults) = &vendored.defaults {
        let mut walk = Walk {
            app: &app,
            schema: vendored.schema.as_ref().map(|(s, _)| s),
            table: table.map(|t| (t, covered)),
            dependencies: &vendored.dependencies,
            reported: &reported,
            diags: &mut diags,
        };
        walk.map(
            values,
            defaults,
            vendored.schema.as_ref().map(|(s, _)| s),
            &mut Vec::new(),
            &app.values_pointer,
        );
    }
    diags
}

/// True when gitopsc's table of `chart` covers `version` (`major.minor` within its range).
fn covers(chart: &Chart, version: &str) -> bool {
    let (first, last) = chart.versions;
    version_of(version).is_some_and(|v| first <= v && v <= last)
}

/// One app whose chart is vendored.
struct App<'a> {
    helm: &'a HelmSpec,
    /// The chart version's folder, as shown (`charts/podinfo/6.7.0`).
    folder: String,
    /// The place of the app's `helm.values`.
    values_pointer: SpecPath,
    /// Where diagnostics about the chart as a whole go: the `helm.chart` value.
    chart_span: Option<Span>,
    spans: &'a Places,
}

/// What a vendored chart version says about its values.
struct Vendored {
    /// `values.yaml`, when vendored.
    defaults: Option<Map<String, Value>>,
    /// `values.schema.json` and its validator, when vendored.
    schema: Option<(Value, jsonschema::Validator)>,
    /// The keys of the dependencies' values (from `Chart.yaml`).
    dependencies: Vec<String>,
}

/// Refuses every external `$ref`: gitopsc checks offline.
struct Offline;

impl jsonschema::Retrieve for Offline {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("`{uri}` is not fetched: gitopsc checks offline").into())
    }
}

impl App<'_> {
    /// Reads the vendored files; a file that cannot be used is an error at `helm.chart`, and
    /// then nothing is checked.
    fn read(&self, files: &ChartFiles, diags: &mut Vec<Diagnostic>) -> Option<Vendored> {
        let before = diags.len();
        let mut fail = |name: &str, why: String, help: &str| {
            diags.push(
                Diagnostic::error(
                    Code::VendoredChartUnusable,
                    format!("cannot use `{}/{name}`: {why}", self.folder),
                )
                .at(self.chart_span, "the chart whose values are checked")
                .help(help.to_string()),
            );
        };
        let again = "vendor the chart again: `gitopsc charts vendor <chart archive>` (docs/chart-values.md)";
        let bytes = |read: &Option<crate::charts::FileRead>| match read {
            Some(Ok(bytes)) => Ok(Some(bytes.clone())),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(None),
        };
        let defaults = match bytes(&files.values).map(|b| b.map(|b| yaml_to_json(&b))) {
            Ok(Some(Ok(Value::Object(map)))) => Some(map),
            Ok(Some(Ok(Value::Null))) => Some(Map::new()),
            Ok(Some(Ok(_))) => {
                fail("values.yaml", "it is not a mapping".into(), again);
                None
            }
            Ok(Some(Err(e))) | Err(e) => {
                fail("values.yaml", e, again);
                None
            }
            Ok(None) => None,
        };
        let schema = match bytes(&files.schema).map(|b| b.map(|b| serde_json::from_slice::<Value>(&b))) {
            Ok(Some(Ok(schema))) => match jsonschema::options().with_retriever(Offline).build(&schema) {
                Ok(validator) => Some((schema, validator)),
                Err(e) => {
                    fail(
                        "values.schema.json",
                        e.to_string(),
                        "gitopsc fetches nothing: a schema that refers to another file or URL cannot be checked; vendor a schema that holds its definitions (`$defs`), or remove the file",
                    );
                    None
                }
            },
            Ok(Some(Err(e))) => {
                fail("values.schema.json", format!("it is not JSON: {e}"), again);
                None
            }
            Err(e) => {
                fail("values.schema.json", e, again);
                None
            }
            Ok(None) => None,
        };
        let dependencies = match bytes(&files.chart).map(|b| b.map(|b| ChartMeta::parse(&b))) {
            Ok(Some(Ok(meta))) => meta.dependencies,
            Ok(Some(Err(e))) | Err(e) => {
                fail("Chart.yaml", e, again);
                Vec::new()
            }
            Ok(None) => Vec::new(),
        };
        (diags.len() == before).then_some(Vendored {
            defaults,
            schema,
            dependencies,
        })
    }

    /// The spec's node for a pointer below the values (`/image/tag`), when the user wrote it.
    fn written(&self, pointer: &str) -> Option<String> {
        let full = self.values_pointer.below(pointer);
        self.spans.contains(&full).then(|| full.to_string())
    }

    /// True when a `valuesFrom` entry may supply the value at `pointer`: one without
    /// `targetPath` (a whole values document), or one whose `targetPath` is at, above or
    /// below it (a value below makes the mappings above it).
    fn supplied(&self, pointer: &str) -> bool {
        let segments = segments(pointer);
        self.helm.values_from.iter().any(|from| match &from.target_path {
            None => true,
            Some(target) => {
                let target = target_segments(target);
                segments.starts_with(&target) || target.starts_with(&segments)
            }
        })
    }

    /// Validates the chart's default values with the user's over them (what Helm validates)
    /// against the chart's schema. Returns the pointers of the user's keys already reported.
    fn schema_errors(
        &self,
        schema: &Value,
        validator: &jsonschema::Validator,
        defaults: Option<&Map<String, Value>>,
        user: &Map<String, Value>,
        diags: &mut Vec<Diagnostic>,
    ) -> BTreeSet<String> {
        let mut reported = BTreeSet::new();
        let mut merged = defaults.cloned().unwrap_or_default();
        coalesce(&mut merged, user);
        let merged = Value::Object(merged);
        for error in validator.iter_errors(&merged) {
            let pointer = error.instance_path().to_string();
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected }
                | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    for key in unexpected {
                        let child = format!("{pointer}/{}", escape_pointer(key));
                        if let Some(full) = self.written(&child) {
                            let known = allowed_keys(schema, &merged, &pointer, unexpected);
                            diags.push(self.no_such_key(key, &child, &full, &known));
                            reported.insert(full);
                        } else if defaults.is_some() && !self.supplied(&child) {
                            diags.push(self.refused_default(&child, &error.to_string()));
                        }
                    }
                }
                ValidationErrorKind::Required { property } => {
                    let property = property.as_str().unwrap_or_default();
                    let missing = format!("{pointer}/{}", escape_pointer(property));
                    if defaults.is_some() && !self.supplied(&missing) {
                        diags.push(self.required(&pointer, &missing));
                    }
                }
                kind => {
                    let instance = error.instance();
                    let reference = instance.as_str().is_some_and(|s| s.contains("(("));
                    if let Some(full) = self.written(&pointer) {
                        if !reference {
                            diags.push(self.refused(kind, &pointer, &full, &error.to_string(), instance));
                        }
                    } else if defaults.is_some() && !self.supplied(&pointer) {
                        diags.push(self.refused_default(&pointer, &error.to_string()));
                    }
                }
            }
        }
        reported
    }

    /// A value the user wrote that the schema refuses.
    fn refused(
        &self,
        kind: &ValidationErrorKind,
        pointer: &str,
        full: &str,
        why: &str,
        instance: &Value,
    ) -> Diagnostic {
        let mut help = format!(
            "Helm validates the values against the chart's schema (`{}/values.schema.json`) and fails the install or upgrade",
            self.folder
        );
        let mut why = why.to_string();
        if let ValidationErrorKind::Enum { options } = kind
            && let Some(choices) = options.as_array()
        {
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
            let shown: Vec<String> = choices.iter().map(|c| format!("`{}`", text(c))).collect();
            why = format!("`{}` is not one of {}", text(instance), shown.join(", "));
            if let Some(best) = instance
                .as_str()
                .and_then(|given| did_you_mean(given, choices.iter().filter_map(Value::as_str)))
            {
                help = format!("did you mean `{best}`? {help}");
            }
        }
        Diagnostic::error(
            Code::ChartSchemaViolation,
            format!(
                "chart `{}` {} refuses `{}`: {why}",
                self.helm.chart,
                self.helm.version,
                dotted(pointer)
            ),
        )
        .at(
            self.spans.value(full),
            "refused by the chart's values.schema.json",
        )
        .help(help)
    }

    /// A key the user wrote that the schema allows no such key for.
    fn no_such_key(&self, key: &str, pointer: &str, full: &str, known: &[String]) -> Diagnostic {
        let suggestion = did_you_mean(key, known.iter().map(String::as_str))
            .map(|best| format!("did you mean `{best}`? "))
            .unwrap_or_default();
        Diagnostic::error(
            Code::ChartSchemaUnknownKey,
            format!(
                "chart `{}` {} has no value `{}`",
                self.helm.chart,
                self.helm.version,
                dotted(pointer)
            ),
        )
        .at(self.spans.key(full), "its values.schema.json allows no such key")
        .help(format!(
            "{suggestion}Helm fails the install or upgrade; the keys here: {}",
            listed(known)
        ))
    }

    /// A value the schema requires that neither the chart's defaults nor the spec sets.
    fn required(&self, parent: &str, missing: &str) -> Diagnostic {
        let (span, label) = match self.written(parent) {
            Some(full) => (self.spans.key(&full), "in this mapping"),
            None => (self.chart_span, "the chart whose values are checked"),
        };
        Diagnostic::error(Code::ChartSchemaRequired, format!(
            "chart `{}` {} requires `{}`",
            self.helm.chart,
            self.helm.version,
            dotted(missing)
        ))
        .at(span, label)
        .help(format!(
            "set `helm.values.{}`: the chart's values.yaml has no default for it, and Helm fails the install or upgrade without it (`{}/values.schema.json`)",
            dotted(missing),
            self.folder
        ))
    }

    /// A value the user did not write (a chart default) that the schema refuses.
    fn refused_default(&self, pointer: &str, why: &str) -> Diagnostic {
        Diagnostic::error(
            Code::ChartDefaultsBreakSchema,
            format!(
                "the values of chart `{}` {} break its values.schema.json at `{}`: {why}",
                self.helm.chart,
                self.helm.version,
                dotted(pointer)
            ),
        )
        .at(
            self.chart_span,
            "the chart's default values, with `helm.values` over them",
        )
        .help(format!(
            "set `helm.values.{}` to a value the schema allows (`{}/values.schema.json`)",
            dotted(pointer),
            self.folder
        ))
    }
}

/// The walk of the user's values against the chart's `values.yaml`.
struct Walk<'a> {
    app: &'a App<'a>,
    /// The schema's root, to follow `$ref`s.
    schema: Option<&'a Value>,
    /// gitopsc's table of the chart, and whether it covers the version.
    table: Option<(&'static Chart, bool)>,
    dependencies: &'a [String],
    /// User keys the schema check reported already.
    reported: &'a BTreeSet<String>,
    diags: &'a mut Vec<Diagnostic>,
}

impl Walk<'_> {
    /// Checks the keys of `user` against those of `defaults` (and of the schema node).
    fn map(
        &mut self,
        user: &Map<String, Value>,
        defaults: &Map<String, Value>,
        schema: Option<&Value>,
        path: &mut Vec<String>,
        pointer: &str,
    ) {
        let free_form = schema.is_some_and(|s| self.free_form(s));
        for (key, value) in user {
            let at = format!("{pointer}/{}", escape_pointer(key));
            path.push(key.clone());
            let dotted_path = path.join(".");
            let child_schema = schema.and_then(|s| self.property(s, key));
            let skipped = (path.len() == 1 && (key == "global" || self.dependencies.contains(key)))
                // A Kubernetes label or annotation key, never one of a chart's own.
                || key.contains('/')
                || self.table_checks(&dotted_path);
            if !skipped {
                match defaults.get(key) {
                    Some(default) => self.value(value, default, child_schema, path, &at),
                    None if free_form || child_schema.is_some() || self.table_knows(&dotted_path) => {}
                    None if self.reported.contains(&at) => {}
                    None => self.unknown(key, &dotted_path, &at, defaults, schema),
                }
            }
            path.pop();
        }
    }

    /// Goes below a key the chart has: into a mapping it gives keys, into the items of a list
    /// whose first default item is a mapping with keys; anything else is accepted.
    fn value(
        &mut self,
        user: &Value,
        default: &Value,
        schema: Option<&Value>,
        path: &mut Vec<String>,
        pointer: &str,
    ) {
        match (user, default) {
            (Value::Object(user), Value::Object(default)) if !default.is_empty() => {
                self.map(user, default, schema, path, pointer);
            }
            (Value::Array(items), Value::Array(default)) => {
                let Some(Value::Object(first)) = default
                    .first()
                    .filter(|f| f.as_object().is_some_and(|m| !m.is_empty()))
                else {
                    return;
                };
                let item_schema = schema
                    .zip(self.schema)
                    .and_then(|(s, root)| resolve(root, s))
                    .and_then(|s| s.get("items"));
                for (j, item) in items.iter().enumerate() {
                    if let Value::Object(item) = item {
                        let last = path.pop().unwrap_or_default();
                        path.push(format!("{last}[{j}]"));
                        self.map(item, first, item_schema, path, &format!("{pointer}/{j}"));
                        path.pop();
                        path.push(last);
                    }
                }
            }
            _ => {}
        }
    }

    /// The warning of a key the chart's `values.yaml` does not have.
    fn unknown(
        &mut self,
        key: &str,
        dotted_path: &str,
        at: &str,
        defaults: &Map<String, Value>,
        schema: Option<&Value>,
    ) {
        let mut known: Vec<String> = defaults.keys().cloned().collect();
        known.extend(self.properties(schema));
        known.sort();
        known.dedup();
        let suggestion = did_you_mean(key, known.iter().map(String::as_str))
            .map(|best| format!("did you mean `{best}`? "))
            .unwrap_or_default();
        let app = self.app;
        self.diags.push(
            Diagnostic::warning(Code::ChartValuesUnknownKey, format!(
                "`{dotted_path}` is not a value of chart `{}` {}",
                app.helm.chart, app.helm.version
            ))
            .at(app.spans.key(at), "not in the chart's values.yaml")
            .help(format!(
                "{suggestion}Helm ignores a key no template reads, so a misspelt one leaves the chart's default in place; the keys here ({}/values.yaml): {}",
                app.folder,
                listed(&known)
            )),
        );
    }

    /// True when gitopsc's table checks this key: a section it covers, for a version it covers.
    fn table_checks(&self, dotted_path: &str) -> bool {
        self.table
            .is_some_and(|(t, covered)| covered && t.known_keys.iter().any(|s| s.section == dotted_path))
    }

    /// True when gitopsc's table lists the key (one only the chart's templates read).
    fn table_knows(&self, dotted_path: &str) -> bool {
        self.table.is_some_and(|(t, _)| {
            t.known_keys.iter().any(|s| {
                dotted_path
                    .strip_prefix(s.section)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| s.keys.iter().any(|(k, _)| *k == rest))
            })
        })
    }

    /// True when the schema lets a mapping hold keys it does not name (`additionalProperties`
    /// given as `true` or a schema, or `patternProperties`).
    fn free_form(&self, node: &Value) -> bool {
        self.schema.and_then(|root| resolve(root, node)).is_some_and(|n| {
            n.get("patternProperties").is_some()
                || n.get("additionalProperties")
                    .is_some_and(|a| a.is_object() || a == &Value::Bool(true))
        })
    }

    /// The schema of property `key` of a node.
    fn property<'s>(&self, node: &'s Value, key: &str) -> Option<&'s Value>
    where
        Self: 's,
    {
        property(self.schema?, node, key)
    }

    /// The names of the properties of a schema node.
    fn properties(&self, node: Option<&Value>) -> Vec<String> {
        node.and_then(|n| resolve(self.schema?, n))
            .and_then(|n| n.get("properties"))
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// A schema node with its local `$ref`s (into `root`) followed, at most 32 in a row.
fn resolve<'s>(root: &'s Value, mut node: &'s Value) -> Option<&'s Value> {
    for _ in 0..32 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(target) => node = root.pointer(target.strip_prefix('#')?)?,
            None => return Some(node),
        }
    }
    None
}

/// The schema of property `key` of a node, or of one of its `allOf`/`anyOf`/`oneOf` members.
fn property<'s>(root: &'s Value, node: &'s Value, key: &str) -> Option<&'s Value> {
    let node = resolve(root, node)?;
    if let Some(found) = node.get("properties").and_then(|p| p.get(key)) {
        return Some(found);
    }
    ["allOf", "anyOf", "oneOf"]
        .iter()
        .filter_map(|k| node.get(*k).and_then(Value::as_array))
        .flatten()
        .find_map(|member| property(root, member, key))
}

/// Helm's merge of user values over chart defaults: mappings merge key by key, anything
/// else replaces, and `null` removes the key.
fn coalesce(into: &mut Map<String, Value>, user: &Map<String, Value>) {
    for (key, value) in user {
        match (into.get_mut(key), value) {
            (_, Value::Null) => {
                into.remove(key);
            }
            (Some(Value::Object(existing)), Value::Object(user)) => coalesce(existing, user),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The keys the schema names at `pointer`; when it names none, those of the merged values
/// there but the `unexpected` ones.
fn allowed_keys(schema: &Value, merged: &Value, pointer: &str, unexpected: &[String]) -> Vec<String> {
    let mut node = Some(schema);
    for segment in segments(pointer) {
        node = node.and_then(|n| {
            property(schema, n, &segment).or_else(|| resolve(schema, n).and_then(|n| n.get("items")))
        });
    }
    let named: Vec<String> = node
        .and_then(|n| resolve(schema, n))
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if !named.is_empty() {
        return named;
    }
    merged
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| m.keys().filter(|k| !unexpected.contains(k)).cloned().collect())
        .unwrap_or_default()
}

/// The segments of a JSON pointer, unescaped.
fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// A pointer below the values as the dotted path a user reads: `ingress.hosts[0].host`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for segment in segments(pointer) {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// The segments of a Helm `targetPath` (`a.b\.c[0]` → `a`, `b.c`, `0`).
fn target_segments(target: &str) -> Vec<String> {
    let mut segments = vec![String::new()];
    let mut chars = target.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => segments
                .last_mut()
                .into_iter()
                .for_each(|s| s.extend(chars.next())),
            '.' => segments.push(String::new()),
            '[' => {
                let index: String = chars.by_ref().take_while(|c| *c != ']').collect();
                segments.push(index);
            }
            c => segments.last_mut().into_iter().for_each(|s| s.push(c)),
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}

/// Up to 20 keys in backticks, and how many more.
fn listed(keys: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = keys
        .iter()
        .take(SHOWN)
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > SHOWN {
        text.push_str(&format!(" and {} more", keys.len() - SHOWN));
    }
    if text.is_empty() {
        text.push_str("none");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_values_merge_over_defaults_as_helm_merges_them() {
        let mut into = json!({"a": {"b": 1, "c": 2}, "d": [1], "e": 3})
            .as_object()
            .unwrap()
            .clone();
        let user = json!({"a": {"b": 5, "n": null}, "d": [2, 3], "e": null, "f": {"g": 1}});
        coalesce(&mut into, user.as_object().unwrap());
        assert_eq!(
            Value::Object(into),
            json!({"a": {"b": 5, "c": 2}, "d": [2, 3], "f": {"g": 1}})
        );
    }

    #[test]
    fn paths_read_as_a_user_writes_them() {
        assert_eq!(dotted("/ingress/hosts/0/host"), "ingress.hosts[0].host");
        assert_eq!(dotted("/a~1b/c~0d"), "a/b.c~d");
        assert_eq!(dotted(""), "");
        assert_eq!(target_segments("a.b\\.c[0].d"), ["a", "b.c", "0", "d"]);
        assert_eq!(target_segments("password"), ["password"]);
    }
}
