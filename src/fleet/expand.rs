//! A fleet spec expanded into one cluster spec per cluster, before validation: each cluster
//! spec is a [`Loaded`] like a file's, whose every node has the span of the node of the fleet
//! file it came from — the shared definition or the cluster's override — so validation,
//! resolution and rendering run unchanged and every diagnostic points at the right line.
//!
//! Only the fleet's own structure is checked here (its top-level fields, the clusters' names
//! and fields, the apps each cluster runs); everything else is checked on the cluster specs.

use super::merge::{SchemaAt, merge, merge_into};
use crate::diagnostic::{Code, Diagnostic};
use crate::emit::owner;
use crate::source::{Source, Span};
use crate::spec::load::{Loaded, SpanIndex, SpanNode};
use crate::spec::schema::did_you_mean;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// The fields of a fleet spec.
pub const FLEET_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "flux",
    "defaults",
    "sources",
    "secretStores",
    "operators",
    "apps",
    "clusters",
];

/// The fields of a fleet that each cluster's same field is merged over.
pub const SHARED_FIELDS: &[&str] = &["flux", "defaults", "sources", "secretStores", "operators"];

/// The fields of a cluster of a fleet.
pub const CLUSTER_FIELDS: &[&str] = &[
    "name",
    "flux",
    "defaults",
    "sources",
    "secretStores",
    "operators",
    "apps",
];

/// A fleet spec, expanded.
#[derive(Debug)]
pub struct Fleet {
    /// The fleet file.
    pub source: Source,
    /// The fleet's name.
    pub name: String,
    /// The clusters, in the fleet's order.
    pub clusters: Vec<Cluster>,
    /// What is odd but not wrong (an app no cluster runs).
    pub warnings: Vec<Diagnostic>,
    /// The parts of the fleet file values come from: each app's definition, each cluster and
    /// each shared field, with its span ([`Fleet::origin`]).
    pub origins: Vec<(Span, String)>,
    /// The files it was read from, in order, then the folders walked for its parts.
    pub read: Vec<PathBuf>,
    /// Each app's definition: its name and the span of the name.
    pub defined: Vec<(String, Span)>,
    /// The spans of what else the fleet's lists hold: its clusters, chart sources and
    /// secret stores (the files that hold them are more than apps).
    pub listed: Vec<Span>,
}

impl Fleet {
    /// The part of the fleet file a span is in (`app `harbor``, `cluster `production``,
    /// `defaults`): the innermost that holds it.
    pub fn origin(&self, span: Span) -> Option<&str> {
        self.origins
            .iter()
            .filter(|(s, _)| s.start <= span.start && span.end <= s.end)
            .min_by_key(|(s, _)| s.end - s.start)
            .map(|(_, what)| what.as_str())
    }

    /// `file:line:column` of a span, and the part of the fleet it is in.
    pub fn place(&self, span: Span) -> String {
        match self.origin(span) {
            Some(what) => format!("{} ({what})", self.source.location(span)),
            None => self.source.location(span),
        }
    }
}

/// One cluster of a fleet.
#[derive(Debug)]
pub struct Cluster {
    /// Its name.
    pub name: String,
    /// Its cluster spec, with the fleet file's spans.
    pub loaded: Loaded,
    /// The apps it lists with more than their name: those it overrides.
    pub overrides: Vec<String>,
}

/// Expands a loaded fleet spec, read from the paths `read`; the errors of its structure
/// otherwise. The apps' definitions move into the cluster specs: each is copied only for the
/// clusters that run it before the last one.
pub fn expand(fleet: Loaded, read: Vec<PathBuf>) -> Result<Fleet, Vec<Diagnostic>> {
    expand_some(fleet, read, false)
}

/// [`expand`] of a fleet of which only some app definitions were read (`partial`): a
/// cluster's entries for the others are left out, and no app is reported as run by none.
pub fn expand_some(mut fleet: Loaded, read: Vec<PathBuf>, partial: bool) -> Result<Fleet, Vec<Diagnostic>> {
    let root = fleet.spans.root();
    let mut diags = Vec::new();
    unknown_fields(root, FLEET_FIELDS, "a fleet spec", &mut diags);
    let name = fleet_name(root, &mut diags);
    let shared = shared_apps(root, &fleet.source, &mut diags);
    let clusters = clusters(root, &shared, &fleet.source, partial, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let origins = origins(root, fleet.source.text.len());
    let listed = listed_spans(root);
    // The definitions, by the last cluster that runs each: that one takes it.
    let runs: Vec<Vec<Option<usize>>> = (0..clusters.len())
        .map(|i| {
            let cluster = root.entry("clusters").and_then(|(_, c)| c.item(i));
            let apps = cluster.and_then(|c| c.entry("apps")).map(|(_, a)| a);
            let names = apps.and_then(SpanNode::as_seq).unwrap_or_default();
            names
                .iter()
                .map(|a| shared.position(a.get("name")?.as_str()?))
                .collect()
        })
        .collect();
    let mut last = vec![None; shared.list.len()];
    for (i, apps) in runs.iter().enumerate() {
        for j in apps.iter().flatten() {
            last[*j] = Some(i);
        }
    }
    let mut definitions = take_definitions(&mut fleet);
    let root = fleet.spans.root();
    let mut expanded = Vec::new();
    for (i, cluster_name) in clusters.iter().enumerate() {
        let Some(cluster) = root.entry("clusters").and_then(|(_, c)| c.item(i)) else {
            continue;
        };
        let spec = cluster_spec(
            root,
            cluster,
            &runs[i],
            |j| last[j] == Some(i),
            &mut definitions,
            partial,
        );
        expanded.push(Cluster {
            overrides: overrides(cluster),
            name: cluster_name.clone(),
            loaded: Loaded {
                source: fleet.source.clone(),
                spans: SpanIndex::new(spec),
                tree_root: owner::fleet_dir(cluster_name),
            },
        });
    }
    let mut warnings = Vec::new();
    for (j, (name, span)) in shared.iter().enumerate() {
        if last[j].is_none() && !partial {
            warnings.push(
                Diagnostic::warning(
                    Code::AppNoClusterRuns,
                    format!("app `{name}` is defined, and no cluster runs it"),
                )
                .at(Some(*span), "defined here")
                .help("list it in the `apps` of the clusters that run it, or remove it"),
            );
        }
    }
    Ok(Fleet {
        source: fleet.source,
        name,
        clusters: expanded,
        warnings,
        origins,
        read,
        defined: shared.list,
        listed,
    })
}

/// The names of the apps a cluster lists with more than their name.
fn overrides(cluster: &SpanNode) -> Vec<String> {
    let apps = cluster.entry("apps").and_then(|(_, a)| a.as_seq());
    apps.into_iter()
        .flatten()
        .filter(|a| a.entries().count() > 1)
        .filter_map(|a| Some(a.get("name")?.as_str()?.to_string()))
        .collect()
}

/// The spans of the items of the fleet's lists but its apps.
fn listed_spans(root: &SpanNode) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut items = |node: Option<&SpanNode>| {
        let items = node.and_then(SpanNode::as_seq).unwrap_or_default();
        spans.extend(items.iter().map(SpanNode::span));
    };
    items(root.get("clusters"));
    items(root.get("secretStores"));
    items(root.get("sources").and_then(|n| n.get("helm")));
    spans
}

/// The fleet's app definitions, moved out of it (by their place in `apps`).
fn take_definitions(fleet: &mut Loaded) -> Vec<Option<SpanNode>> {
    let apps = fleet.spans.root_mut().entry_mut("apps");
    let definitions = apps.map(|(_, n)| n.take_items()).unwrap_or_default();
    definitions.into_iter().map(Some).collect()
}

/// The parts of the fleet file that values come from, each with the text it covers: a
/// top-level field runs to the next one, an item of `apps` or `clusters` to the next item.
/// (A mapping's span is where it starts; where it ends is where the next node starts.)
fn origins(root: &SpanNode, text_len: usize) -> Vec<(Span, String)> {
    let mut starts: Vec<(usize, &str)> = root
        .entries()
        .filter_map(|(k, _)| Some((root.entry(k)?.0.start, k)))
        .collect();
    starts.sort_unstable();
    let mut origins = Vec::new();
    for (i, &(start, field)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text_len, |next| next.0);
        if SHARED_FIELDS.contains(&field) {
            origins.push((Span::new(start, end), format!("the fleet's `{field}`")));
        }
        let what = match field {
            "apps" => "app",
            "clusters" => "cluster",
            _ => continue,
        };
        let Some((_, items)) = root.entry(field) else {
            continue;
        };
        let parts = items.as_seq().unwrap_or_default();
        for (j, item) in parts.iter().enumerate() {
            let item_end = parts.get(j + 1).map_or(end, |next| next.span().start);
            if let Some(name) = item.get("name").and_then(SpanNode::as_str) {
                origins.push((Span::new(item.span().start, item_end), format!("{what} `{name}`")));
            }
        }
    }
    origins
}

/// Reports the fields of a mapping not among `allowed`.
fn unknown_fields(part: &SpanNode, allowed: &[&str], what: &str, diags: &mut Vec<Diagnostic>) {
    let keys = part.entries().map(|(k, _)| k);
    for key in keys.filter(|k| !allowed.contains(k)) {
        let span = part.entry(key).map(|(s, _)| s);
        let mut d = Diagnostic::error(Code::UnknownField, format!("unknown field `{key}`"))
            .at(span, format!("not a field of {what}"));
        d = match did_you_mean(key, allowed.iter().copied()) {
            Some(best) => d.help(format!("did you mean `{best}`?")),
            None => d.help(format!(
                "expected one of: {}",
                allowed
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        diags.push(d);
    }
}

/// A DNS-1123 label, as names of clusters and apps must be to become folders.
fn is_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The `name` of a mapping: a DNS-1123 label, or an error at its place.
fn label_of(part: &SpanNode, what: &str, diags: &mut Vec<Diagnostic>) -> Option<(String, Span)> {
    let Some((_, name)) = part.entry("name") else {
        diags.push(
            Diagnostic::error(Code::MissingField, format!("{what} has no `name`"))
                .at(Some(part.span()), "here")
                .help("add `name: <name>` (lowercase letters, digits and `-`)"),
        );
        return None;
    };
    match name.as_str() {
        Some(text) if is_label(text) => Some((text.to_string(), name.span())),
        _ => {
            diags.push(
                Diagnostic::error(Code::InvalidName, format!("the `name` of {what} must be a DNS-1123 label"))
                    .at(Some(name.span()), "not a DNS-1123 label")
                    .help("lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters"),
            );
            None
        }
    }
}

/// The fleet's `metadata.name`.
fn fleet_name(root: &SpanNode, diags: &mut Vec<Diagnostic>) -> String {
    let Some((_, metadata)) = root.entry("metadata") else {
        diags.push(
            Diagnostic::error(Code::MissingField, "a fleet spec needs `metadata.name`")
                .at(Some(root.span()), "no `metadata`")
                .help("add `metadata: {name: <fleet>}`: each cluster's lock file records it"),
        );
        return String::new();
    };
    if !metadata.is_map() {
        diags.push(
            Diagnostic::error(Code::WrongType, "`metadata` must be a mapping")
                .at(Some(metadata.span()), "expected `{name: <fleet>}`"),
        );
        return String::new();
    }
    unknown_fields(metadata, &["name"], "`metadata`", diags);
    label_of(metadata, "the fleet", diags)
        .map(|(n, _)| n)
        .unwrap_or_default()
}

/// The items of a list field of a mapping, or an error when it is not a list.
fn list<'a>(part: &'a SpanNode, key: &str, diags: &mut Vec<Diagnostic>) -> Vec<&'a SpanNode> {
    let Some((_, field)) = part.entry(key) else {
        return Vec::new();
    };
    let Some(items) = field.as_seq() else {
        diags.push(
            Diagnostic::error(Code::WrongType, format!("`{key}` must be a list"))
                .at(Some(field.span()), "not a list")
                .help(format!("write `{key}:` with one `- name: ...` item per entry")),
        );
        return Vec::new();
    };
    items.iter().collect()
}

/// Names in the order they were first listed, each with the span of its first listing.
#[derive(Default)]
struct Names {
    list: Vec<(String, Span)>,
    index: HashMap<String, usize>,
}

impl Names {
    /// The place of `name` in the list.
    fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The names with their spans, in order.
    fn iter(&self) -> impl Iterator<Item = &(String, Span)> {
        self.list.iter()
    }
}

/// Reports a name given twice; true when `name` is new.
fn first_time(
    seen: &mut Names,
    (name, span): (String, Span),
    what: &str,
    source: &Source,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    if let Some(i) = seen.position(&name) {
        let first = seen.list[i].1;
        diags.push(
            Diagnostic::error(Code::DuplicateName, format!("{what} `{name}` is listed twice"))
                .at(Some(span), "listed again here")
                .help(format!(
                    "it is listed first at {}: list each once, and merge the two entries",
                    source.location(first)
                )),
        );
        return false;
    }
    seen.index.insert(name.clone(), seen.list.len());
    seen.list.push((name, span));
    true
}

/// The fleet's app definitions: name and the span of the name.
fn shared_apps(root: &SpanNode, source: &Source, diags: &mut Vec<Diagnostic>) -> Names {
    let mut seen = Names::default();
    for app in list(root, "apps", diags) {
        if let Some((name, span)) = label_of(app, "an app", diags) {
            first_time(&mut seen, (name, span), "app", source, diags);
        }
    }
    seen
}

/// The clusters' names, after checking each cluster's structure.
fn clusters(
    root: &SpanNode,
    shared: &Names,
    source: &Source,
    partial: bool,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    if root.entry("clusters").is_none() {
        diags.push(
            Diagnostic::error(Code::MissingField, "a fleet spec needs `clusters`")
                .at(Some(root.span()), "no `clusters`")
                .help("add `clusters:` with one `- name: <cluster>` item per cluster, each listing the `apps` it runs"),
        );
        return Vec::new();
    }
    let items = list(root, "clusters", diags);
    let mut seen = Names::default();
    for cluster in &items {
        if !cluster.is_map() {
            diags.push(
                Diagnostic::error(Code::WrongType, "a cluster of a fleet is a mapping")
                    .at(Some(cluster.span()), "expected `name: ...`, `apps: [...]`"),
            );
            continue;
        }
        unknown_fields(cluster, CLUSTER_FIELDS, "a cluster of a fleet", diags);
        if let Some((name, span)) = label_of(cluster, "a cluster", diags) {
            first_time(&mut seen, (name, span), "cluster", source, diags);
        }
        if let Some((key, _)) = cluster.entry("flux").and_then(|(_, f)| f.entry("repoPath")) {
            diags.push(
                Diagnostic::error(
                    Code::ClusterRepoPath,
                    "`repoPath` is the fleet's: every cluster's tree is in its output root",
                )
                .at(Some(key), "set per cluster")
                .help("set `flux.repoPath` once, at the top of the fleet spec"),
            );
        }
        let mut runs = Names::default();
        for app in list(cluster, "apps", diags) {
            let Some((name, span)) = label_of(app, "an app", diags) else {
                continue;
            };
            if shared.position(&name).is_none() && !partial {
                let mut d = Diagnostic::error(
                    Code::FleetAppUndefined,
                    format!("app `{name}` is not defined in the fleet's `apps`"),
                )
                .at(Some(span), "no such app");
                d = match did_you_mean(&name, shared.iter().map(|(n, _)| n.as_str())) {
                    Some(best) => d.help(format!("did you mean `{best}`?")),
                    None => d.help("define each app once in the fleet's `apps`; a cluster lists the apps it runs and what differs there"),
                };
                diags.push(d);
            }
            first_time(&mut runs, (name, span), "app", source, diags);
        }
    }
    if items.is_empty() && !diags.iter().any(Diagnostic::is_error) {
        let span = root.entry("clusters").map(|(s, _)| s);
        diags.push(
            Diagnostic::error(Code::InvalidValue, "a fleet spec has at least one cluster")
                .at(span, "no clusters")
                .help("add `- name: <cluster>` items, each listing the `apps` it runs"),
        );
    }
    seen.list.into_iter().map(|(n, _)| n).collect()
}

/// The cluster spec of `cluster`: the fleet's shared fields with the cluster's merged over
/// them, and the apps it lists (`runs`: each one's definition, by its place in the fleet's
/// `apps`), each merged over its definition: moved out of `definitions` when `takes` it (the
/// last cluster that runs it), copied otherwise.
fn cluster_spec(
    root: &SpanNode,
    cluster: &SpanNode,
    runs: &[Option<usize>],
    takes: impl Fn(usize) -> bool,
    definitions: &mut [Option<SpanNode>],
    partial: bool,
) -> SpanNode {
    let schema = SchemaAt::root(crate::spec::schema::schema());
    let mut entries: Vec<(String, Span, SpanNode)> = Vec::new();
    let mut put = |key: &str, key_span: Span, node: SpanNode| entries.push((key.to_string(), key_span, node));
    if let Some((key_span, api)) = root.entry("apiVersion") {
        put("apiVersion", key_span, api.clone());
    }
    if let Some((key_span, kind)) = root.entry("kind") {
        put(
            "kind",
            key_span,
            SpanNode::of_value(kind.span(), Value::String("Cluster".into())),
        );
    }
    if let Some((key_span, name)) = cluster.entry("name") {
        let node = SpanNode::map(cluster.span(), vec![("name".into(), key_span, name.clone())]);
        put("metadata", key_span, node);
    }
    for field in SHARED_FIELDS {
        let (key_span, node) = match (root.entry(field), cluster.entry(field)) {
            (Some((_, base)), Some((key_span, over))) => {
                (key_span, merge(base, over, Some(field), schema.property(field)))
            }
            (Some((key_span, node)), None) | (None, Some((key_span, node))) => (key_span, node.clone()),
            (None, None) => continue,
        };
        put(field, key_span, node);
    }
    if let Some((key_span, apps)) = cluster.entry("apps") {
        let app_schema = schema.property("apps").and_then(|s| s.items());
        let mut merged = Vec::new();
        for (i, run) in runs.iter().enumerate() {
            let Some(item) = apps.item(i) else { continue };
            let definition = run.and_then(|j| Some((j, definitions.get_mut(j)?)));
            merged.push(match definition {
                Some((j, slot)) if takes(j) => match slot.take() {
                    Some(mut node) => {
                        merge_into(&mut node, item, None, app_schema);
                        node
                    }
                    None => item.clone(),
                },
                Some((_, Some(node))) => merge(node, item, None, app_schema),
                // Left out of a partial expansion.
                None if partial => continue,
                _ => item.clone(),
            });
        }
        put("apps", key_span, SpanNode::seq(apps.span(), merged));
    }
    SpanNode::map(cluster.span(), entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: &str = "\
apiVersion: gitopsc.io/v1alpha1
kind: Fleet
metadata: {name: acme}
flux: {repoPath: kubernetes}
defaults: {timeout: 5m}
sources:
  helm:
    - {name: podinfo, url: https://stefanprodan.github.io/podinfo}
apps:
  - name: web
    helm: {chart: podinfo, version: 6.7.1, source: podinfo, values: {replicaCount: 1}}
  - name: unused
clusters:
  - name: staging
    apps:
      - name: web
  - name: production
    defaults: {timeout: 9m}
    apps:
      - name: web
        helm: {version: 6.7.2, values: {replicaCount: 3}}
";

    fn loaded(text: &str) -> Loaded {
        crate::spec::load::parse(Source::new("fleet.yaml", text))
            .map_err(|(_, d)| d)
            .unwrap()
    }

    #[test]
    fn each_cluster_is_a_cluster_spec_with_the_fleets_spans() {
        let fleet_spec = loaded(FLEET);
        let fleet = expand(fleet_spec, Vec::new()).unwrap();
        assert_eq!(fleet.name, "acme");
        let names: Vec<&str> = fleet.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["staging", "production"]);
        let prod = &fleet.clusters[1].loaded;
        assert_eq!(prod.tree_root, "fleet/production");
        let value = prod.spans.root().to_value();
        assert_eq!(value["kind"], "Cluster");
        assert_eq!(value["metadata"]["name"], "production");
        assert_eq!(value["defaults"]["timeout"], "9m");
        assert_eq!(value["flux"]["repoPath"], "kubernetes");
        let web = &value["apps"][0];
        assert_eq!(web["helm"]["version"], "6.7.2");
        assert_eq!(web["helm"]["chart"], "podinfo");
        assert_eq!(web["helm"]["values"]["replicaCount"], 3);
        let text_at = |pointer: &str| {
            let span = prod.spans.value(pointer).unwrap();
            let (line, _) = prod.source.line_col(span.start);
            (line, &FLEET[span.start..span.end])
        };
        assert_eq!(text_at("/apps/0/helm/version"), (21, "6.7.2"));
        assert_eq!(text_at("/apps/0/helm/chart"), (11, "podinfo"));
        assert_eq!(text_at("/metadata/name"), (17, "production"));
        let staging = fleet.clusters[0].loaded.spans.root().to_value();
        assert_eq!(staging["apps"][0]["helm"]["version"], "6.7.1");
        assert_eq!(staging["defaults"]["timeout"], "5m");
        // Every expanded cluster checks as a cluster spec.
        for cluster in fleet.clusters {
            let checked = crate::check_loaded(cluster.loaded, std::path::Path::new(""))
                .map_err(|f| f.diagnostics)
                .unwrap();
            assert_eq!(checked.model.cluster, cluster.name);
            assert_eq!(
                checked.model.apps[0].dir,
                format!("fleet/{}/workloads/web", cluster.name)
            );
        }
        assert_eq!(fleet.warnings.len(), 1);
        assert!(fleet.warnings[0].message.contains("`unused`"));
    }

    #[test]
    fn the_fleets_structure_is_checked_with_every_error_at_its_place() {
        let text = FLEET
            .replace("metadata: {name: acme}", "metadata: {name: acme}\nclustres: []")
            .replace("  - name: staging\n    apps:\n      - name: web", "  - name: staging\n    flux: {repoPath: x}\n    apps:\n      - name: wbe\n  - name: production2\n  - name: staging");
        let errors = expand(loaded(&text), Vec::new()).unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        for expected in [
            "unknown field `clustres`",
            "`repoPath` is the fleet's: every cluster's tree is in its output root",
            "app `wbe` is not defined in the fleet's `apps`",
            "cluster `staging` is listed twice",
        ] {
            assert!(messages.contains(&expected), "{expected}: {messages:?}");
        }
        let typo = errors.iter().find(|d| d.message.contains("`wbe`")).unwrap();
        assert_eq!(typo.help.as_deref(), Some("did you mean `web`?"));
        assert_eq!(&text[typo.span.unwrap().start..typo.span.unwrap().end], "wbe");
    }
}
