//! A HelmRelease and its chart source, as the spec's `helm` and `sources.helm`.

use super::apps::App;
use super::read::Object;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The chart sources of the tree: HelmRepositories by name, OCIRepositories by namespace/name.
pub struct Sources {
    helm: BTreeMap<String, Object>,
    oci: BTreeMap<(String, String), Object>,
}

impl Sources {
    /// Indexes the sources among `objects`.
    pub fn new(objects: &[Object]) -> Self {
        let mut helm = BTreeMap::new();
        let mut oci = BTreeMap::new();
        for object in objects {
            if object.is("source.toolkit.fluxcd.io", "HelmRepository") {
                helm.insert(object.name().to_string(), object.clone());
            } else if object.is("source.toolkit.fluxcd.io", "OCIRepository") {
                let ns = object.namespace().unwrap_or_default().to_string();
                oci.insert((ns, object.name().to_string()), object.clone());
            }
        }
        Sources { helm, oci }
    }
}

/// The HelmRelease an app's `helm` stands for: the one named after the app, else the first, of
/// those in the app's namespace (`helm` renders there), rendered under its own name so that it
/// is never also carried. The others are noted as not expressed (and carried when they can be).
pub fn primary<'a>(app: &'a App, notes: &mut Vec<String>) -> Option<&'a Object> {
    let namespace = app.namespace.as_deref().unwrap_or(&app.name);
    let releases: Vec<&Object> = app
        .objects
        .iter()
        .filter(|o| o.is("helm.toolkit.fluxcd.io", "HelmRelease"))
        .collect();
    let mine = |o: &&&Object| o.namespace().is_none_or(|ns| ns == namespace);
    let chosen = releases
        .iter()
        .filter(mine)
        .find(|o| o.name() == app.name)
        .or_else(|| releases.iter().find(mine))
        .copied();
    for other in releases
        .iter()
        .filter(|o| !chosen.is_some_and(|c| std::ptr::eq(c, **o)))
    {
        let why = if mine(&other) {
            "a second HelmRelease"
        } else {
            "a HelmRelease outside the app's namespace"
        };
        notes.push(format!(
            "app `{}`: {why} is not expressed: {}",
            app.name,
            other.describe()
        ));
    }
    chosen
}

/// The spec's `helm` of `release`, adding its source to `used`; `None` (with a note) when its
/// chart cannot be found.
pub fn release(
    app: &str,
    release: &Object,
    sources: &Sources,
    used: &mut BTreeMap<String, Value>,
    secrets: &[&str],
    notes: &mut Vec<String>,
) -> Option<Value> {
    let Some((chart, version, source)) = chart(release, sources, used, notes) else {
        notes.push(format!(
            "the chart of {} is not found among the sources imported",
            release.describe()
        ));
        return None;
    };
    let mut helm = Map::new();
    helm.insert("chart".into(), json!(chart));
    helm.insert("version".into(), json!(version));
    helm.insert("source".into(), json!(source));
    if release.name() != app {
        helm.insert("name".into(), json!(release.name()));
    }
    let spec = |pointer: &str| release.value.pointer(&format!("/spec{pointer}"));
    if release.name() != release.str_at("/spec/releaseName")
        && !release.str_at("/spec/releaseName").is_empty()
    {
        helm.insert("releaseName".into(), json!(release.str_at("/spec/releaseName")));
    }
    if let Some(v) = spec("/timeout").and_then(Value::as_str) {
        helm.insert("timeout".into(), json!(v));
    }
    // 30m is `defaults.helmInterval`'s default.
    if let Some(v) = spec("/interval").and_then(Value::as_str).filter(|v| *v != "30m") {
        helm.insert("interval".into(), json!(v));
    }
    if let Some(crds) = spec("/install/crds")
        .and_then(Value::as_str)
        .filter(|c| *c != "CreateReplace")
    {
        helm.insert("crds".into(), json!(crds));
    }
    if let Some(r) = retries(release, notes).filter(|r| *r != 3) {
        helm.insert("retries".into(), json!(r));
    }
    lifecycle(release, &mut helm);
    if let Some(values) = spec("/values").filter(|v| v.as_object().is_some_and(|m| !m.is_empty())) {
        helm.insert("values".into(), values.clone());
    }
    if let Some(list) = spec("/valuesFrom").and_then(Value::as_array) {
        let from: Vec<Value> = list.iter().map(|item| values_from(item, secrets)).collect();
        helm.insert("valuesFrom".into(), Value::Array(from));
    }
    Some(Value::Object(helm))
}

/// The release's remediation retries, as `helm.retries` says them for install and upgrade
/// alike: both actions' when they agree, else the one the release sets (the install's when
/// both do), with a note on what the other action then gets. `None` when neither sets any,
/// or for retries for ever (noted: not expressed).
fn retries(release: &Object, notes: &mut Vec<String>) -> Option<i64> {
    let at = |action: &str| {
        release
            .value
            .pointer(&format!("/spec/{action}/remediation/retries"))
            .and_then(Value::as_i64)
    };
    let (install, upgrade) = (at("install"), at("upgrade"));
    let chosen = install.or(upgrade)?;
    if chosen < 0 {
        notes.push(format!(
            "retries {chosen} (for ever) is not expressed: {}",
            release.describe()
        ));
        return None;
    }
    let other = match (install, upgrade) {
        (Some(i), Some(u)) if i == u => None,
        (Some(_), Some(u)) => Some(format!("upgrade retries {u}")),
        (Some(_), None) => Some("no upgrade remediation retries".to_string()),
        (None, _) => Some("no install remediation retries".to_string()),
    };
    if let Some(other) = other {
        notes.push(format!(
            "`helm.retries` is one count for install and upgrade: {chosen} for both, where the release has {other}: {}",
            release.describe()
        ));
    }
    Some(chosen)
}

/// The release's lifecycle settings, on the app's `helm` (they then stand over any default):
/// history, chart interval, install and upgrade strategies, rollback and uninstall.
fn lifecycle(release: &Object, helm: &mut Map<String, Value>) {
    let spec = |pointer: &str| release.value.pointer(&format!("/spec{pointer}"));
    for (from, to) in [
        ("/maxHistory", "maxHistory"),
        ("/chart/spec/interval", "chartInterval"),
    ] {
        if let Some(v) = spec(from) {
            helm.insert(to.into(), v.clone());
        }
    }
    // The fields the spec has (others, such as `disableWaitForJobs`, are listed as differing).
    for (key, fields) in [
        (
            "rollback",
            &[
                "timeout",
                "cleanupOnFail",
                "force",
                "recreate",
                "disableHooks",
                "disableWait",
            ][..],
        ),
        (
            "uninstall",
            &[
                "timeout",
                "keepHistory",
                "disableHooks",
                "disableWait",
                "deletionPropagation",
            ][..],
        ),
    ] {
        let known: Map<String, Value> = spec(&format!("/{key}"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(k, _)| fields.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !known.is_empty() {
            helm.insert(key.into(), Value::Object(known));
        }
    }
    for action in ["install", "upgrade"] {
        let at = |p: &str| spec(&format!("/{action}{p}"));
        let mut out = Map::new();
        if let Some(name) = at("/strategy/name")
            .and_then(Value::as_str)
            .filter(|n| matches!(*n, "RemediateOnFailure" | "RetryOnFailure"))
        {
            let lower = name[..1].to_lowercase() + &name[1..];
            out.insert("strategy".into(), json!(lower));
        }
        for (from, to) in [
            ("/strategy/retryInterval", "retryInterval"),
            ("/remediation/remediateLastFailure", "remediateLastFailure"),
        ] {
            if let Some(v) = at(from) {
                out.insert(to.into(), v.clone());
            }
        }
        // Upgrade only: its remediation, clean-up (gitopsc's default: true) and force.
        let upgrade = |p: &str| at(p).filter(|_| action == "upgrade");
        if let Some(v) = upgrade("/remediation/strategy").filter(|s| s.as_str() != Some("rollback")) {
            out.insert("remediation".into(), v.clone());
        }
        if let Some(v) = upgrade("/cleanupOnFail").filter(|c| **c == json!(false)) {
            out.insert("cleanupOnFail".into(), v.clone());
        }
        if let Some(v) = upgrade("/force") {
            out.insert("force".into(), v.clone());
        }
        if !out.is_empty() {
            helm.insert(action.into(), Value::Object(out));
        }
    }
}

/// One `valuesFrom` entry: a Secret the app's ExternalSecrets do not build is `external`.
fn values_from(item: &Value, secrets: &[&str]) -> Value {
    let mut entry = item.as_object().cloned().unwrap_or_default();
    let name = entry.get("name").and_then(Value::as_str).unwrap_or_default();
    let is_secret = entry.get("kind").and_then(Value::as_str) == Some("Secret");
    if is_secret && !secrets.contains(&name) {
        entry.insert("external".into(), json!(true));
    }
    Value::Object(entry)
}

/// `(chart, version, source name)` of a release, from `chart.spec` and its HelmRepository or
/// from `chartRef` and its OCIRepository (whose `interval` is its source's: an OCIRepository
/// that checks at another interval than the source's first is noted).
fn chart(
    release: &Object,
    sources: &Sources,
    used: &mut BTreeMap<String, Value>,
    notes: &mut Vec<String>,
) -> Option<(String, String, String)> {
    if let Some(chart) = release.value.pointer("/spec/chart/spec") {
        let name = chart.get("chart")?.as_str()?;
        let version = chart.get("version").and_then(Value::as_str).unwrap_or("*");
        let source = chart.pointer("/sourceRef/name")?.as_str()?;
        let repo = sources.helm.get(source)?;
        let mut entry = Map::new();
        entry.insert("name".into(), json!(source));
        entry.insert("url".into(), json!(repo.str_at("/spec/url")));
        let interval = repo.str_at("/spec/interval");
        if !interval.is_empty() && interval != "1h" {
            entry.insert("interval".into(), json!(interval));
        }
        if let Some(timeout) = repo.value.pointer("/spec/timeout") {
            entry.insert("timeout".into(), timeout.clone());
        }
        used.insert(source.to_string(), Value::Object(entry));
        return Some((name.into(), version.into(), source.into()));
    }
    let name = release.str_at("/spec/chartRef/name");
    let ns = release
        .value
        .pointer("/spec/chartRef/namespace")
        .and_then(Value::as_str)
        .or(release.namespace())
        .unwrap_or_default();
    let repo = sources.oci.get(&(ns.to_string(), name.to_string()))?;
    let url = repo.str_at("/spec/url");
    let (base, chart) = url.rsplit_once('/')?;
    let version = repo.str_at("/spec/ref/tag");
    let source = used
        .iter()
        .find(|(_, v)| v.get("url").and_then(Value::as_str) == Some(base))
        .map_or_else(|| chart.to_string(), |(k, _)| k.clone());
    let interval = repo.str_at("/spec/interval");
    let entry = used.entry(source.clone()).or_insert_with(|| {
        let mut entry = json!({ "name": source, "url": base });
        if !interval.is_empty() && interval != "1h" {
            entry["interval"] = json!(interval);
        }
        entry
    });
    let checks = entry.get("interval").and_then(Value::as_str).unwrap_or("1h");
    if !interval.is_empty() && interval != checks {
        notes.push(format!(
            "interval {interval} is not expressed (the source `{source}` checks every {checks}): {}",
            repo.describe()
        ));
    }
    Some((chart.into(), version.into(), source))
}
