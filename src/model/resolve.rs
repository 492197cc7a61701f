//! Resolution: a checked spec → the model. Applies defaults, decides every name and path,
//! runs each app's parts ([`PARTS`], see [`super::part`]) to collect its manifests by layer,
//! assembles the layers into folders and Flux Kustomizations, and checks the Flux graph.

use super::part::{AppCtx, Ctx, Part, Parts};
use super::refs::{Refs, Scope};
use super::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::spec::manifests::UserObject;
use crate::spec::path::SpecPath;
use crate::spec::places::Places;
use crate::spec::pod_security;
use crate::spec::{AppSpec, ClusterSpec, Defaults};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// An app's parts, in the order they add manifests to its layers.
const PARTS: &[&dyn Part] = &[
    &helm::Helm,
    &secrets::Secrets,
    &postgres::Postgres,
    &redis::Redis,
    &volsync::VolumeBackups,
    &chart_policy::ChartPolicies,
    &workload::Workloads,
    &manifests::Manifests,
    &routes::Routes,
    &namespace::Namespace,
];

/// One app's resolution: the app, its parts, runbook caveats and checks.
type ResolvedApp<'a> = (Resolved<'a>, Parts, Vec<String>, Vec<Vec<runbook::Word>>);

/// An app whose parts ran: what assembling its layers needs of it.
struct Resolved<'a> {
    spec: &'a AppSpec,
    name: String,
    namespace: String,
}

/// What every app offers to references, by app: as it sees itself, and as others see it.
struct RefTables {
    own: BTreeMap<String, Refs>,
    public: BTreeMap<String, Refs>,
}

/// Builds the model of a spec that passed validation. Returns the model when there are no
/// errors, and every diagnostic (warnings included) found on the way.
/// With `spec_ok` false (the spec's own checks found errors) only the apps' checks run, so
/// one run reports every error: the Flux graph of such a spec is not checked (its unknown or
/// duplicate names would only be reported twice) and no model is returned.
/// The chart values move out of the spec (it is not read for them after) into the model:
/// the loader's tree, never copied or re-read.
/// `user` holds each app's own manifests, read beside the spec ([`crate::spec::manifests`]).
pub fn resolve(
    spec: &mut ClusterSpec,
    spans: &Places,
    spec_ok: bool,
    user: &[Vec<UserObject>],
) -> (Option<Model>, Vec<Diagnostic>) {
    let chart_values = take_chart_values(spec);
    let spec: &ClusterSpec = spec;
    let mut diags = Vec::new();
    let ctx = context(spec);
    let shared_sources = helm::shared_sources(spec, &ctx);
    let pod_security_levels = pod_security::namespace_levels(spec);
    let gates = operators::gates(spec, &ctx, user);
    let eso_gate = gates
        .iter()
        .find(|g| g.operator == crate::kinds::Operator::ExternalSecrets.name())
        .map(|g| g.kustomization.name.clone());
    let shared_stores = secrets::shared_stores(spec, &ctx, eso_gate);
    let refs = RefTables::new(spec);
    let namespace_owner = namespace_owners(spec, &ctx);
    let (posts, patches) = posts(spec, spans);
    // Apps resolve in parallel; each returns its diagnostics, merged in spec order.
    let resolved: Vec<ResolvedApp> = spec
        .apps
        .par_iter()
        .zip(chart_values)
        .enumerate()
        .map(|(i, (app, values))| {
            let owner = namespace_owner.get(app.namespace()) == Some(&i);
            let levels = pod_security_levels.get(app.namespace());
            let mut app_ctx = app_context(spec, spans, &ctx, &refs, (i, app), owner, levels);
            app_ctx.user_objects = user.get(i).map_or(&[], Vec::as_slice);
            app_ctx.post = &posts[i];
            resolve_app(app, app_ctx, values)
        })
        .collect();
    // The reference tables have served.
    drop(refs);
    let mut collected = Vec::with_capacity(resolved.len());
    for (app_ctx, mut parts, caveats, verify) in resolved {
        diags.append(&mut parts.diags);
        collected.push((app_ctx, parts, caveats, verify));
    }
    let mut apps = assemble_apps(spec, &ctx, collected, &namespace_owner, &posts);
    apps.sort_by(|a, b| a.name.cmp(&b.name));

    let image_automation = images::automation(spec, &ctx);
    let model = Model {
        cluster: spec.metadata.name.to_string(),
        flux: ctx.flux,
        shared_sources,
        shared_stores,
        gates,
        image_automation,
        apps,
        patches,
    };
    if !spec_ok {
        return (None, diags);
    }
    // Two checks of the whole model, side by side.
    let (collided, graphed) = rayon::join(
        || collisions::check(&model, spec, spans),
        || graph::check(&model, spec, spans),
    );
    diags.extend(collided);
    diags.extend(graphed);
    let ok = !diags.iter().any(Diagnostic::is_error);
    if ok {
        // About the namespaces of the tree: said when there is a tree to write.
        diags.extend(pod_security::lowered_warning(spec, &pod_security_levels, spans));
    }
    (ok.then_some(model), diags)
}

/// Each app's chart values, moved out of the spec (it is not read for them after).
fn take_chart_values(spec: &mut ClusterSpec) -> Vec<crate::spec::ValuesText> {
    spec.apps
        .iter_mut()
        .map(|a| {
            a.helm
                .as_mut()
                .map(|h| std::mem::take(&mut h.values))
                .unwrap_or_default()
        })
        .collect()
}

impl RefTables {
    /// What each app offers to references, from its own namespace and from others.
    fn new(spec: &ClusterSpec) -> RefTables {
        // Each app's refs made in parallel, then put in the table in spec order.
        let table = |public| {
            let refs: Vec<(String, Refs)> = spec
                .apps
                .par_iter()
                .map(|a| (a.name.to_string(), app_refs(a, public)))
                .collect();
            refs.into_iter().collect()
        };
        let (own, public) = rayon::join(|| table(false), || table(true));
        RefTables { own, public }
    }
}
/// Each app's layers and runbook, in spec order: its first layer waits for the apps it
/// depends on and for the app that writes its namespace.
fn assemble_apps(
    spec: &ClusterSpec,
    ctx: &Ctx,
    collected: Vec<ResolvedApp>,
    namespace_owner: &BTreeMap<&str, usize>,
    posts: &[patch::Post],
) -> Vec<App> {
    let first_layers: Vec<String> = collected
        .iter()
        .map(|(app, parts, _, _)| first_layer_name(parts, app.spec.flux_name()))
        .collect();
    // The first app of each name (a name given twice is the spec checks' error).
    let mut by_name: std::collections::HashMap<&str, &AppSpec> =
        std::collections::HashMap::with_capacity(spec.apps.len());
    for a in &spec.apps {
        by_name.entry(a.name.as_str()).or_insert(a);
    }
    collected
        .into_par_iter()
        .enumerate()
        .map(|(i, (app, parts, caveats, verify))| {
            // `dependsOn` names apps (or external Kustomizations): each app by its Flux name.
            let mut first_deps: BTreeSet<String> = app
                .spec
                .depends_on
                .iter()
                .map(|d| {
                    by_name
                        .get(d.as_str())
                        .map_or_else(|| d.to_string(), |a| a.flux_name().to_string())
                })
                .collect();
            if let Some(&owner) = namespace_owner.get(app.namespace.as_str())
                && owner != i
            {
                // The namespace must exist before this app applies anything into it.
                first_deps.insert(first_layers[owner].clone());
            }
            let mut assembled = assemble(spec, ctx, &app, parts, first_deps);
            assembled.post = posts[i].clone();
            assembled.runbook = Some(runbook::runbook(spec, app.spec, caveats, verify));
            assembled
        })
        .collect()
}

/// The labels, annotations and patches of no app.
static NO_POST: patch::Post = patch::Post {
    labels: BTreeMap::new(),
    annotations: BTreeMap::new(),
    patches: Vec::new(),
};

/// Each app's labels, annotations and patches (`defaults.patches` first), and every patch of
/// the spec with where it is.
fn posts(spec: &ClusterSpec, spans: &Places) -> (Vec<patch::Post>, Vec<patch::PatchInfo>) {
    let mut infos = Vec::new();
    let mut make =
        |specs: &[crate::spec::patches::PatchSpec], base: &SpecPath, owner: String| -> Vec<patch::Patch> {
            let mut out = Vec::new();
            for (p, s) in specs.iter().enumerate() {
                let pointer = base.index(p);
                if let Some(made) = patch::Patch::new(infos.len(), s, &pointer, spans) {
                    infos.push(patch::PatchInfo {
                        span: made.span,
                        owner: owner.clone(),
                    });
                    out.push(made);
                }
            }
            out
        };
    let defaults = make(
        &spec.defaults.patches,
        &SpecPath::root()
            .field(ClusterSpec::DEFAULTS)
            .field(Defaults::PATCHES),
        "defaults".into(),
    );
    let posts = spec
        .apps
        .iter()
        .enumerate()
        .map(|(i, app)| {
            let mut patches = defaults.clone();
            patches.extend(make(
                &app.patches,
                &SpecPath::app(i).field(AppSpec::PATCHES),
                format!("app `{}`", app.name),
            ));
            let mut labels = spec.defaults.labels.clone();
            labels.extend(app.labels.clone());
            patch::Post {
                labels,
                annotations: app.annotations.clone(),
                patches,
            }
        })
        .collect();
    (posts, infos)
}

/// The cluster-wide settings of a spec.
fn context(spec: &ClusterSpec) -> Ctx {
    let flux = &spec.flux;
    let path_prefix = if flux.repo_path.is_empty() {
        ".".to_string()
    } else {
        format!("./{}", flux.repo_path.trim_matches('/'))
    };
    Ctx {
        flux: FluxModel {
            namespace: flux.namespace.to_string(),
            cluster_dir: format!("{CLUSTERS_DIR}/{}/{}", spec.metadata.name, flux.dir),
            path_prefix,
            tree_root: match spec.tree_root.as_str() {
                "" => String::new(),
                root => [root, "/"].concat(),
            },
        },
        source_ref: SourceRef {
            kind: serde_json::to_value(flux.source_ref.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            name: flux.source_ref.name.to_string(),
            namespace: flux.source_ref.namespace.as_ref().map(|n| n.to_string()),
        },
        interval: flux.interval.to_string(),
    }
}

/// The app that writes each namespace's Namespace object: the first of the namespace, for
/// every namespace but those that exist in every cluster and the Flux namespace.
fn namespace_owners<'s>(spec: &'s ClusterSpec, ctx: &Ctx) -> BTreeMap<&'s str, usize> {
    let mut owners = BTreeMap::new();
    for (i, app) in spec.apps.iter().enumerate() {
        let namespace = app.namespace();
        if pod_security::labels_namespace(namespace, &ctx.flux.namespace) {
            owners.entry(namespace).or_insert(i);
        }
    }
    owners
}

/// What the parts of app `i` receive.
fn app_context<'a>(
    spec: &'a ClusterSpec,
    spans: &'a Places,
    ctx: &Ctx,
    refs: &'a RefTables,
    (i, app): (usize, &'a AppSpec),
    owns_namespace: bool,
    pod_security: Option<&'a pod_security::Levels>,
) -> AppCtx<'a> {
    AppCtx {
        cluster: spec,
        spec: app,
        name: app.name.to_string(),
        namespace: app.namespace().to_string(),
        flux_namespace: ctx.flux.namespace.clone(),
        base: SpecPath::app(i),
        spans,
        protect: app.prune_protection.unwrap_or(spec.defaults.prune_protection),
        scope: Scope {
            own: &refs.own[app.name.as_str()],
            all: &refs.public,
            used_apps: Default::default(),
        },
        postgres: app
            .postgres
            .as_ref()
            .map(|p| postgres::connection(app.name.as_str(), p)),
        redis: app
            .redis
            .as_ref()
            .map(|r| redis::connection(app.name.as_str(), r)),
        owns_namespace,
        pod_security,
        user_objects: &[],
        post: &NO_POST,
    }
}

/// Runs every part of an app, then reports its references that name nothing.
fn resolve_app<'s>(
    app_spec: &'s AppSpec,
    app: AppCtx<'_>,
    values: crate::spec::ValuesText,
) -> ResolvedApp<'s> {
    let mut parts = Parts::default();
    parts.chart_values = Some(values.map());
    for part in PARTS {
        part.build(&app, &mut parts);
    }
    check_references(&app, &mut parts);
    let (caveats, verify) = parts.take_notes();
    // The copies of the app's ExternalSecrets served its pods' checksums; every app's parts
    // wait for the others, so they go now (a tenth of a large spec's peak memory).
    parts.done();
    let resolved = Resolved {
        spec: app_spec,
        name: app.name,
        namespace: app.namespace,
    };
    (resolved, parts, caveats, verify)
}

/// The references of an app that name nothing, and the apps it references without
/// depending on them.
fn check_references(app: &AppCtx, parts: &mut Parts) {
    for (other, used) in app.scope.used_apps.borrow().iter() {
        let at = used.place.clone().unwrap_or_else(|| app.helm_values());
        parts.diags.extend(database_refused(app, other, used, &at));
        if !app.spec.depends_on.iter().any(|d| d.as_str() == other) && other != app.name.as_str() {
            parts.diagnostic(
                Diagnostic::error(
                    Code::ReferenceWithoutDependency,
                    format!(
                        "app `{}` references app `{other}` but does not depend on it",
                        app.name
                    ),
                )
                .at(app.spans.value(&at), "references it")
                .help(format!(
                    "add `{other}` to `dependsOn`, so what it references exists first"
                )),
            );
        }
    }
    for u in std::mem::take(&mut parts.unknown) {
        parts.diagnostic(
            Diagnostic::error(
                Code::UnknownReference,
                format!("unknown reference `(({}))`", u.name),
            )
            .at(app.spans.value(&u.pointer), "nothing of that name")
            .help(match app.scope.suggest(&u.name) {
                Some(best) => format!(
                    "did you mean `(({best}))`? app `{}` can reference {}",
                    app.name,
                    app.scope.describe()
                ),
                None => format!("app `{}` can reference {}", app.name, app.scope.describe()),
            }),
        );
    }
}

/// A data service of an app, as a client in another namespace meets its NetworkPolicies:
/// what it is, whether it refuses other namespaces unless listed, the list, and its field.
struct Guarded<'s> {
    what: &'static str,
    /// Closed by its namespace's default deny (else by the operator's own NetworkPolicy).
    by_default_deny: bool,
    denies: bool,
    allowed: &'s [crate::spec::Name],
    field: &'static str,
}

/// The data services of `owner` that a reference of `key` connects to, with an allow-list of
/// namespaces: its PostgreSQL (any host: the cluster's or a pooler's), which a default deny of
/// its namespace closes, and its Dragonfly, which the operator's own NetworkPolicy closes (and
/// gitopsc's default deny). A KubeBlocks Redis has no allow-list: not one of them.
fn guarded<'s>(owner: &'s AppSpec, key: &str, default_deny: bool) -> Option<Guarded<'s>> {
    if let Some(pg) = &owner.postgres
        && key.starts_with("postgres.")
        && key.ends_with(".host")
    {
        return Some(Guarded {
            what: "the database",
            by_default_deny: true,
            denies: default_deny,
            allowed: &pg.allow_namespaces,
            field: "postgres.allowNamespaces",
        });
    }
    let redis = owner.redis.as_ref()?;
    if !matches!(key, "redis.host" | "redis.address") {
        return None;
    }
    match redis.provider {
        crate::spec::data::RedisProvider::Dragonfly => Some(Guarded {
            what: "the Dragonfly",
            by_default_deny: false,
            denies: true,
            allowed: &redis.allow_namespaces,
            field: "redis.allowNamespaces",
        }),
        crate::spec::data::RedisProvider::Kubeblocks => Some(Guarded {
            what: "the Redis",
            by_default_deny: true,
            denies: default_deny,
            allowed: &redis.allow_namespaces,
            field: "redis.allowNamespaces",
        }),
        crate::spec::data::RedisProvider::External => None,
    }
}

/// A warning when an app connects to a data service of another app (references its host)
/// from a namespace the service's policies do not admit: a PostgreSQL under a default deny, a
/// Dragonfly (the operator's NetworkPolicy); each takes other namespaces by name only.
fn database_refused(
    app: &AppCtx,
    other: &str,
    used: &super::refs::UsedApp,
    at: &SpecPath,
) -> Option<Diagnostic> {
    let owner = app.cluster.apps.iter().find(|a| a.name.as_str() == other)?;
    let namespace = owner.namespace();
    if namespace == app.namespace {
        return None;
    }
    let default_deny = app
        .cluster
        .apps
        .iter()
        .any(|a| a.namespace() == namespace && a.network_policy.as_ref().is_some_and(|p| p.default_deny));
    let refused = used
        .keys
        .iter()
        .filter_map(|k| guarded(owner, k, default_deny))
        .find(|g| g.denies && !g.allowed.iter().any(|n| n.as_str() == app.namespace))?;
    let message = if refused.by_default_deny {
        format!(
            "app `{}` connects to {} of app `{other}`, whose namespace `{namespace}` denies by default and does not admit namespace `{}`",
            app.name, refused.what, app.namespace
        )
    } else {
        format!(
            "app `{}` connects to {} of app `{other}`, whose NetworkPolicies (the operator's, and gitopsc's under a default deny) admit clients of namespace `{namespace}` only, not of `{}`",
            app.name, refused.what, app.namespace
        )
    };
    Some(
        Diagnostic::warning(Code::DatabaseNamespaceNotAllowed, message)
            .at(
                app.spans.value(at),
                format!("refused by {}'s NetworkPolicy", refused.what),
            )
            .help(format!(
                "add `{}` to `{}` of app `{other}`",
                app.namespace, refused.field
            )),
    )
}

/// Everything an app offers to `((...))` references; `public`: as other namespaces see it
/// (Service hosts fully qualified).
fn app_refs(app: &AppSpec, public: bool) -> Refs {
    let mut refs = Refs::default();
    refs.insert("name", app.name.to_string());
    refs.insert("namespace", app.namespace().to_string());
    for part in PARTS {
        part.refs(app, public, &mut refs);
    }
    refs
}

/// The name of an app's first Flux Kustomization.
fn first_layer_name(parts: &Parts, app: &str) -> String {
    match parts.layers().as_slice() {
        [] | [_] => app.to_string(),
        [first, ..] => format!("{app}-{}", first.as_str()),
    }
}

/// Turns an app's parts into layers: one folder and Flux Kustomization per non-empty layer,
/// chained in order; the last is named after the app, so `dependsOn: [app]` waits for all
/// of it.
fn assemble(
    spec: &ClusterSpec,
    ctx: &Ctx,
    app: &Resolved,
    mut parts: Parts,
    first_deps: BTreeSet<String>,
) -> App {
    let base = match &app.spec.group {
        Some(group) => format!("{}workloads/{group}/{}", ctx.flux.tree_root, app.name),
        None => format!("{}workloads/{}", ctx.flux.tree_root, app.name),
    };
    let timeout = app
        .spec
        .timeout
        .as_ref()
        .unwrap_or(&spec.defaults.timeout)
        .to_string();
    let retry = app
        .spec
        .retry_interval
        .as_ref()
        .unwrap_or(&spec.defaults.retry_interval)
        .to_string();
    let mut kinds = parts.layers();
    if kinds.is_empty() {
        kinds.push(LayerKind::Release);
    }
    let mut layers: Vec<Layer> = Vec::with_capacity(kinds.len());
    for (n, kind) in kinds.iter().enumerate() {
        let flux_name = app.spec.flux_name();
        let name = if n + 1 == kinds.len() {
            flux_name.to_string()
        } else {
            format!("{flux_name}-{}", kind.as_str())
        };
        let dir = if kinds.len() == 1 {
            base.clone()
        } else {
            format!("{base}/{}", kind.as_str())
        };
        let mut deps = parts.deps.remove(kind).unwrap_or_default();
        match layers.last() {
            None => deps.extend(first_deps.iter().cloned()),
            Some(previous) => {
                deps.insert(previous.kustomization.name.clone());
            }
        }
        let manifests = parts.manifests.remove(kind).unwrap_or_default();
        let object_kinds: Vec<&'static crate::kinds::Kind> =
            manifests.iter().filter_map(|m| m.kind).collect();
        // The objects of an operator's kinds wait for its gate.
        deps.extend(
            object_kinds
                .iter()
                .filter_map(|k| k.operator)
                .filter(|op| op.declared(spec).is_some())
                .map(|op| op.gate()),
        );
        // A timeout the app sets is the user's; the default grows to what the layer needs.
        let layer_timeout = match parts.min_timeout.get(kind) {
            Some(&least) if app.spec.timeout.is_none() && least > crate::spec::duration_secs(&timeout) => {
                format!("{}m", least.div_ceil(60))
            }
            _ => timeout.clone(),
        };
        let mut kustomization = ctx.kustomization(name, &dir, &layer_timeout, &retry, &object_kinds, deps);
        kustomization.decryption =
            crate::spec::decryption::of(spec.defaults.decryption.as_ref(), app.spec.decryption.as_ref()).map(
                |secret| SopsDecryption {
                    secret: secret.map(String::from),
                },
            );
        layers.push(Layer {
            kind: *kind,
            kustomization,
            dir,
            manifests,
        });
    }
    App {
        name: app.name.clone(),
        namespace: app.namespace.clone(),
        kustomizations_file: format!("{}/{}.yaml", ctx.flux.cluster_dir, app.name),
        layers,
        dir: base,
        runbook: None,
        post: patch::Post::default(),
    }
}
