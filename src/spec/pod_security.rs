//! The Pod Security level of each namespace gitopsc labels, as a fact of what runs in it:
//! gitopsc's own workloads and CloudNative-PG clusters pass `restricted`; a KubeBlocks data
//! service runs its database as root and needs `baseline`; a chart gitopsc cannot vouch for
//! is enforced at `baseline` (audited and warned at the level asked) unless the app asks for
//! its level explicitly. A namespace of several apps gets the least level any of them needs.
//! Read by the workload checks (what a workload must pass) and by resolution (the labels, the
//! runbook caveats and the warning that names the namespaces below `defaults.podSecurity`).

use crate::charts::table as charts;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use crate::spec::data::{PostgresProvider, RedisProvider};
use crate::spec::path::SpecPath;
use crate::spec::places::Places;
use crate::spec::{AppSpec, ClusterSpec, Defaults, HelmSpec, PodSecurityLevel};
use std::collections::BTreeMap;

/// Namespaces gitopsc never labels (their Pod Security level is not its to set).
const UNLABELLED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// True when gitopsc writes (and labels) the Namespace object of `namespace`: every namespace
/// but those that exist in every cluster and the Flux namespace.
pub fn labels_namespace(namespace: &str, flux_namespace: &str) -> bool {
    !UNLABELLED_NAMESPACES.contains(&namespace) && namespace != flux_namespace
}

/// The levels of a namespace (or of what one app needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Levels {
    /// `enforce`: pods that fail it are refused.
    pub enforce: PodSecurityLevel,
    /// `audit` and `warn`: failures are reported, pods still run.
    pub report: PodSecurityLevel,
    /// Why `enforce` is below the level the spec asks for by default, one sentence per cause.
    pub lowered_because: Vec<String>,
}

/// Ranks levels from the least restrictive.
fn rank(level: PodSecurityLevel) -> u8 {
    match level {
        PodSecurityLevel::Privileged => 0,
        PodSecurityLevel::Baseline => 1,
        PodSecurityLevel::Restricted => 2,
    }
}

fn least(a: PodSecurityLevel, b: PodSecurityLevel) -> PodSecurityLevel {
    if rank(a) <= rank(b) { a } else { b }
}

/// True when the app runs a KubeBlocks data service (its addons run the database as root).
pub fn runs_kubeblocks(app: &AppSpec) -> bool {
    app.postgres
        .as_ref()
        .is_some_and(|p| p.provider == PostgresProvider::Kubeblocks)
        || app
            .redis
            .as_ref()
            .is_some_and(|r| r.provider == RedisProvider::Kubeblocks)
}

/// True when the app runs Dragonfly pods that pass `baseline` only (the operator gives them
/// `fsGroup` alone; `redis.restrictedPods` sets what `restricted` asks).
pub fn runs_baseline_dragonfly(app: &AppSpec) -> bool {
    app.redis
        .as_ref()
        .is_some_and(|r| r.provider == RedisProvider::Dragonfly && !r.restricted_pods)
}

/// What one app needs. An explicit `podSecurity` is enforced as written (an explicit
/// `restricted` beside KubeBlocks is refused by the checks; `baseline` is still what it gets).
pub fn app_levels(spec: &ClusterSpec, app: &AppSpec) -> Levels {
    let asked = app.pod_security.unwrap_or(spec.defaults.pod_security);
    let explicit = app.pod_security.is_some();
    let mut levels = Levels {
        enforce: asked,
        report: asked,
        lowered_because: Vec::new(),
    };
    if runs_kubeblocks(app) && asked == PodSecurityLevel::Restricted {
        levels.enforce = PodSecurityLevel::Baseline;
        levels.report = PodSecurityLevel::Baseline;
        levels.lowered_because.push(format!(
            "app `{}` runs a KubeBlocks data service, whose addon runs the database as root",
            app.name
        ));
    }
    if runs_baseline_dragonfly(app) && levels.enforce == PodSecurityLevel::Restricted {
        levels.enforce = PodSecurityLevel::Baseline;
        levels.report = PodSecurityLevel::Baseline;
        levels.lowered_because.push(format!(
            "app `{}` runs Dragonfly, whose operator sets no restricted security context",
            app.name
        ));
    }
    if let Some(helm) = &app.helm
        && !explicit
        && levels.enforce == PodSecurityLevel::Restricted
        && !charts::lookup(&helm.chart).is_some_and(|c| c.restricted_pods)
    {
        levels.enforce = PodSecurityLevel::Baseline;
        levels.lowered_because.push(format!(
            "app `{}` installs chart `{}`, not known to pass `restricted`",
            app.name, helm.chart
        ));
    }
    levels
}

/// The levels of every namespace gitopsc labels: the least any of its apps needs.
pub fn namespace_levels(spec: &ClusterSpec) -> BTreeMap<String, Levels> {
    use rayon::prelude::*;
    // Each app's levels made in parallel, then met namespace by namespace in spec order.
    let apps: Vec<(&str, Levels)> = spec
        .apps
        .par_iter()
        .filter(|app| labels_namespace(app.namespace(), spec.flux.namespace.as_str()))
        .map(|app| (app.namespace(), app_levels(spec, app)))
        .collect();
    let mut out: BTreeMap<String, Levels> = BTreeMap::new();
    for (ns, needs) in apps {
        match out.get_mut(ns) {
            None => {
                out.insert(ns.to_string(), needs);
            }
            Some(levels) => {
                levels.enforce = least(levels.enforce, needs.enforce);
                levels.report = least(levels.report, needs.report);
                levels.lowered_because.extend(needs.lowered_because);
            }
        }
    }
    out
}

/// Where a warning about lowered levels points: `defaults.podSecurity` when written, else the
/// first app that lowers a level (its chart, its KubeBlocks data service or its Dragonfly).
fn cause_pointer(spec: &ClusterSpec, spans: &Places) -> Option<Span> {
    let written = SpecPath::root()
        .field(ClusterSpec::DEFAULTS)
        .field(Defaults::POD_SECURITY);
    if spans.contains(&written) {
        return spans.key(&written);
    }
    let (a, app) = spec
        .apps
        .iter()
        .enumerate()
        .find(|(_, app)| !app_levels(spec, app).lowered_because.is_empty())?;
    let field = if app
        .postgres
        .as_ref()
        .is_some_and(|p| p.provider == PostgresProvider::Kubeblocks)
    {
        SpecPath::app(a).field(AppSpec::POSTGRES)
    } else if runs_kubeblocks(app) || runs_baseline_dragonfly(app) {
        SpecPath::app(a).field(AppSpec::REDIS)
    } else {
        SpecPath::app(a).field(AppSpec::HELM).field(HelmSpec::CHART)
    };
    spans.key(&field)
}

/// The warning that names the namespaces enforcing less than `defaults.podSecurity` asks, and
/// why (a large spec names the first few; each app's runbook names its own).
pub fn lowered_warning(
    spec: &ClusterSpec,
    levels: &BTreeMap<String, Levels>,
    spans: &Places,
) -> Option<Diagnostic> {
    const SHOWN: usize = 8;
    let lowered: Vec<(&String, &Levels)> = levels
        .iter()
        .filter(|(_, l)| !l.lowered_because.is_empty())
        .collect();
    if lowered.is_empty() {
        return None;
    }
    let more = |total: usize| {
        if total > SHOWN {
            format!(" and {} more", total - SHOWN)
        } else {
            String::new()
        }
    };
    let names: Vec<String> = lowered
        .iter()
        .take(SHOWN)
        .map(|(ns, l)| format!("`{ns}` ({})", l.enforce.as_str()))
        .collect();
    let all_why: Vec<&str> = lowered
        .iter()
        .flat_map(|(_, l)| l.lowered_because.iter().map(String::as_str))
        .collect();
    let why: Vec<&str> = all_why.iter().take(SHOWN).copied().collect();
    let asked = spec.defaults.pod_security.as_str();
    Some(
        Diagnostic::warning(Code::PodSecurityNotEnforced, format!(
            "`defaults.podSecurity: {asked}` is not enforced in namespaces {}{}: their pods would be refused",
            names.join(", "),
            more(lowered.len())
        ))
        .at(cause_pointer(spec, spans), "")
        .help(format!(
            "{}{}. Where a chart is the cause, audit and warn stay `{asked}`: the cluster reports what it would \
             refuse. To enforce it anyway, set the app's `podSecurity` once the chart's values make its pods pass \
             (see docs/pod-security.md)",
            why.join("; "),
            more(all_why.len())
        )),
    )
}
