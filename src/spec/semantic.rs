//! Semantic checks the schema cannot express: unique names, references that resolve,
//! dependency cycles, and the features the declared Flux version has.

use super::path::{Field, SpecPath};
use super::places::Places;
use super::schema::did_you_mean;
use super::{AppSpec, ClusterSpec, FluxSpec, HelmSource, HelmSpec, Sources, ValuesFrom, ValuesKind};
use crate::diagnostic::{Code, Diagnostic};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Flux features the generated tree relies on, with the Flux minor version that brought them.
struct Feature {
    what: &'static str,
    since: u32,
}

const HEALTH_CHECK_EXPRS: Feature = Feature {
    what: "`healthCheckExprs`, which every generated Flux Kustomization uses to wait for custom resources",
    since: 5,
};
const OCI_REPOSITORY_V1: Feature = Feature {
    what: "`OCIRepository` v1, which an `oci://` chart source renders into",
    since: 6,
};
const VALUES_FROM_LITERAL: Feature = Feature {
    what: "`valuesFrom[].literal`",
    since: 9,
};

/// Runs every semantic check on a spec that passed the schema: those of names, references
/// and versions beside those of data services and of workloads.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let minor = flux_minor(&spec.flux.version);
    let (mut diags, (data, workloads)) = rayon::join(
        || graph_checks(spec, spans, minor),
        || {
            rayon::join(
                || super::data_checks::check(spec, spans, minor),
                || super::workload_checks::check(spec, spans),
            )
        },
    );
    diags.extend(data);
    diags.extend(workloads);
    diags.extend(super::plaintext::check(spec, spans));
    diags.extend(super::monitoring_checks::check(spec, spans));
    diags.extend(super::release::check(spec, spans));
    diags.extend(super::routes::check(spec, spans));
    diags.extend(super::chart_policy::check(spec, spans));
    diags.extend(super::images::check(spec, spans));
    diags.extend(super::stores::check(spec, spans));
    diags.extend(super::names::check(spec, spans));
    diags.extend(super::secrets::check_command_text(spec, spans));
    diags
}

/// An error when the declared Flux version (`minor`) lacks `feature`, used at `pointer`.
fn need(
    feature: &Feature,
    minor: Option<u32>,
    pointer: &SpecPath,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(minor) = minor.filter(|&m| m < feature.since) else {
        return;
    };
    diags.push(
        Diagnostic::error(
            Code::FluxTooOld,
            format!(
                "Flux 2.{minor} lacks {}: it needs Flux 2.{} or later",
                feature.what, feature.since
            ),
        )
        .at(spans.value(pointer), format!("needs Flux ≥ 2.{}", feature.since))
        .help(format!(
            "upgrade Flux and set `flux.version: \"2.{}\"` or later{}",
            feature.since.max(minor),
            if *pointer == flux_version() {
                String::new()
            } else {
                ", or drop this setting".into()
            }
        )),
    );
}

/// Unique names, references that resolve, cycles, Flux features.
fn graph_checks(spec: &ClusterSpec, spans: &Places, minor: Option<u32>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    need(&HEALTH_CHECK_EXPRS, minor, &flux_version(), spans, &mut diags);
    let sources = unique(
        spec.sources.helm.iter().map(|s| s.name.as_str()),
        &SpecPath::root().field(ClusterSpec::SOURCES).field(Sources::HELM),
        HelmSource::NAME,
        "source",
        spans,
        &mut diags,
    );
    let apps = unique(
        spec.apps.iter().map(|a| a.name.as_str()),
        &SpecPath::root().field(ClusterSpec::APPS),
        AppSpec::NAME,
        "app",
        spans,
        &mut diags,
    );
    let externals: BTreeSet<&str> = spec.flux.external.iter().map(|e| e.as_str()).collect();
    for (i, ext) in spec.flux.external.iter().enumerate() {
        if apps.contains_key(ext.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::AppIsExternal,
                    format!("`{ext}` is both an app of this spec and a declared external Kustomization"),
                )
                .at(
                    spans.value(
                        &SpecPath::root()
                            .field(ClusterSpec::FLUX)
                            .field(FluxSpec::EXTERNAL)
                            .index(i),
                    ),
                    "declared external here",
                )
                .help("remove it from `flux.external`: apps of this spec need no declaration"),
            );
        }
    }
    for (s, source) in spec.sources.helm.iter().enumerate() {
        if source.url.starts_with("oci://") {
            need(
                &OCI_REPOSITORY_V1,
                minor,
                &SpecPath::root()
                    .field(ClusterSpec::SOURCES)
                    .field(Sources::HELM)
                    .index(s)
                    .field(HelmSource::URL),
                spans,
                &mut diags,
            );
        }
    }
    for (a, app) in spec.apps.iter().enumerate() {
        let base = SpecPath::app(a);
        dependencies(app, &base, &apps, &externals, spans, &mut diags);
        if let Some(helm) = &app.helm {
            helm_source(spec, helm, &base, &sources, spans, &mut diags);
            values_from(helm, &base, minor, spans, &mut diags);
        }
    }
    cycles(spec, &apps, spans, &mut diags);
    paths(spec, spans, &mut diags);
    diags
}

/// Each `dependsOn` entry names another app of the spec or a declared external Kustomization.
fn dependencies(
    app: &AppSpec,
    base: &SpecPath,
    apps: &BTreeMap<&str, usize>,
    externals: &BTreeSet<&str>,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    for (d, dep) in app.depends_on.iter().enumerate() {
        let pointer = base.field(AppSpec::DEPENDS_ON).index(d);
        if dep == &app.name {
            diags.push(
                Diagnostic::error(
                    Code::SelfDependency,
                    format!("app `{}` depends on itself", app.name),
                )
                .at(spans.value(&pointer), "self-dependency")
                .help("remove this entry"),
            );
        } else if !apps.contains_key(dep.as_str()) && !externals.contains(dep.as_str()) {
            let candidates = apps.keys().copied().chain(externals.iter().copied());
            let d = Diagnostic::error(
                Code::UnknownDependency,
                format!("`{dep}` is neither an app of this spec nor a declared external Kustomization"),
            )
            .at(spans.value(&pointer), "unknown dependency");
            diags.push(match did_you_mean(dep.as_str(), candidates) {
                Some(best) => d.help(format!(
                    "did you mean `{best}`? Kustomizations outside this tree go in `flux.external`"
                )),
                None => d.help(format!(
                    "add `{dep}` to `flux.external` if it is a Flux Kustomization outside this tree"
                )),
            });
        }
    }
}

/// The chart's source is declared, and an `oci://` one gets an exact version.
fn helm_source(
    spec: &ClusterSpec,
    helm: &HelmSpec,
    base: &SpecPath,
    sources: &BTreeMap<&str, usize>,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(&s) = sources.get(helm.source.as_str()) else {
        let d = Diagnostic::error(
            Code::UnknownSource,
            format!("source `{}` is not declared in `sources.helm`", helm.source),
        )
        .at(
            spans.value(&base.field(AppSpec::HELM).field(HelmSpec::SOURCE)),
            "unknown source",
        );
        diags.push(
            match did_you_mean(helm.source.as_str(), sources.keys().copied()) {
                Some(best) => d.help(format!("did you mean `{best}`?")),
                None => d.help(format!(
                    "declare it: `sources: {{helm: [{{name: {}, url: https://...}}]}}`",
                    helm.source
                )),
            },
        );
        return;
    };
    if spec.sources.helm[s].url.starts_with("oci://") && is_range(&helm.version) {
        diags.push(
            Diagnostic::error(
                Code::OciVersionRange,
                format!(
                    "`{}` is a version range; an `oci://` chart needs an exact version",
                    helm.version
                ),
            )
            .at(
                spans.value(&base.field(AppSpec::HELM).field(HelmSpec::VERSION)),
                "range",
            )
            .help("pin the chart version, e.g. `1.2.3`"),
        );
    }
}

/// `valuesFrom`: a literal needs its Flux version and a target; a Secret value its key.
fn values_from(
    helm: &HelmSpec,
    base: &SpecPath,
    minor: Option<u32>,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    for (v, from) in helm.values_from.iter().enumerate() {
        let pointer = base.field(AppSpec::HELM).field(HelmSpec::VALUES_FROM).index(v);
        if from.literal {
            need(
                &VALUES_FROM_LITERAL,
                minor,
                &pointer.field(ValuesFrom::LITERAL),
                spans,
                diags,
            );
            if from.target_path.is_none() {
                diags.push(
                    Diagnostic::error(Code::LiteralWithoutTarget, "`literal: true` needs a `targetPath`")
                        .at(
                            spans.key(&pointer.field(ValuesFrom::LITERAL)),
                            "literal without a target",
                        )
                        .help("set `targetPath` to the values key the string goes to"),
                );
            }
        }
        if from.kind == ValuesKind::Secret && from.values_key.is_none() && from.target_path.is_some() {
            diags.push(
                Diagnostic::warning(
                    Code::DefaultValuesKey,
                    "`valuesKey` defaults to `values.yaml`, an unusual key for a Secret value",
                )
                .at(spans.key(&pointer), "")
                .help("set `valuesKey` to the Secret key that holds the value"),
            );
        }
    }
}

/// Longest file or folder name most filesystems take (`NAME_MAX`), in bytes.
const NAME_MAX: usize = 255;

/// Paths the schema's patterns let through that no tree can hold: a `repoPath` that climbs
/// out of the repository (`..`) or names the same folder (`.`), and a group folder name
/// longer than a filesystem takes.
fn paths(spec: &ClusterSpec, spans: &Places, diags: &mut Vec<Diagnostic>) {
    let repo_path = &spec.flux.repo_path;
    if repo_path
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
    {
        diags.push(
            Diagnostic::error(Code::RepoPathSegment, format!("`repoPath: {repo_path}` has a `.` or `..` segment"))
                .at(spans.value(&SpecPath::root().field(ClusterSpec::FLUX).field(FluxSpec::REPO_PATH)), "not a plain path inside the repository")
                .help("Flux reads Kustomization paths inside the repository: write the folder's path from the repository root, e.g. `clusters/prod`"),
        );
    }
    for (i, app) in spec.apps.iter().enumerate() {
        let Some(group) = &app.group else { continue };
        if let Some(segment) = group.as_str().split('/').find(|s| s.len() > NAME_MAX) {
            diags.push(
                Diagnostic::error(
                    Code::FolderNameTooLong,
                    format!(
                        "the group folder name `{}…` is {} bytes long; filesystems take at most {NAME_MAX}",
                        segment.chars().take(20).collect::<String>(),
                        segment.len()
                    ),
                )
                .at(
                    spans.value(&SpecPath::app(i).field(AppSpec::GROUP)),
                    "folder name too long",
                )
                .help("shorten the group's folder names"),
            );
        }
    }
}

/// Where the spec declares its Flux version.
fn flux_version() -> SpecPath {
    SpecPath::root().field(ClusterSpec::FLUX).field(FluxSpec::VERSION)
}

/// The minor version of a `2.N` Flux version.
pub fn flux_minor(version: &str) -> Option<u32> {
    version.strip_prefix("2.")?.parse().ok()
}

/// True when a chart version is a semver range rather than one exact version.
pub fn is_range(version: &str) -> bool {
    version.contains(['<', '>', '=', '~', '^', '*', ' ', ',', '|']) || version.ends_with(".x")
}

/// Reports repeated names; returns the index of each name's first occurrence.
fn unique<'a>(
    names: impl Iterator<Item = &'a str>,
    list: &SpecPath,
    name_field: Field,
    what: &str,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<&'a str, usize> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, name) in names.enumerate() {
        if let Some(&first) = seen.get(name) {
            diags.push(
                Diagnostic::error(Code::DuplicateName, format!("duplicate {what} name `{name}`"))
                    .at(
                        spans.value(&list.index(i).field(name_field)),
                        format!("`{name}` is already the name of {what} #{}", first + 1),
                    )
                    .help(format!("give each {what} a unique name")),
            );
        } else {
            seen.insert(name, i);
        }
    }
    seen
}

/// Reports each dependency cycle among apps once, naming it in order.
fn cycles(spec: &ClusterSpec, apps: &BTreeMap<&str, usize>, spans: &Places, diags: &mut Vec<Diagnostic>) {
    let edges: HashMap<usize, Vec<(usize, usize)>> = spec
        .apps
        .iter()
        .enumerate()
        .map(|(i, app)| {
            let deps = app
                .depends_on
                .iter()
                .enumerate()
                .filter_map(|(d, dep)| apps.get(dep.as_str()).map(|&j| (j, d)))
                .filter(|&(j, _)| j != i)
                .collect();
            (i, deps)
        })
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; spec.apps.len()];
    let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
    for start in 0..spec.apps.len() {
        let mut stack: Vec<(usize, usize)> = Vec::new(); // (app, next edge index)
        if state[start] != 0 {
            continue;
        }
        state[start] = 1;
        stack.push((start, 0));
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let deps = &edges[&node];
            if *next < deps.len() {
                let (to, _) = deps[*next];
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let pos = stack.iter().position(|&(n, _)| n == to).unwrap_or(0);
                        let cycle: Vec<usize> = stack[pos..].iter().map(|&(n, _)| n).collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if reported.insert(key) {
                            report_cycle(spec, &cycle, &edges, spans, diags);
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
}

fn report_cycle(
    spec: &ClusterSpec,
    cycle: &[usize],
    edges: &HashMap<usize, Vec<(usize, usize)>>,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    let names: Vec<&str> = cycle.iter().map(|&i| spec.apps[i].name.as_str()).collect();
    let path = names
        .iter()
        .chain(std::iter::once(&names[0]))
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" → ");
    let first = cycle[0];
    let second = cycle.get(1).copied().unwrap_or(first);
    let entry = edges[&first]
        .iter()
        .find(|&&(to, _)| to == second)
        .map_or(0, |&(_, d)| d);
    diags.push(
        Diagnostic::error(Code::DependencyCycle, format!("dependency cycle: {path}"))
            .at(spans.value(&SpecPath::app(first).field(AppSpec::DEPENDS_ON).index(entry)), "this dependency closes the cycle")
            .help("Flux never applies Kustomizations that wait on each other: remove one `dependsOn` entry of the cycle"),
    );
}
