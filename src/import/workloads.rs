//! Deployments, StatefulSets, Jobs and CronJobs read back into the app's `workloads`, with
//! their Services (the workload's own, its headless and metrics Services, and `services` over
//! its pods), their monitor and the `configMaps` they read. A workload with a field the model
//! does not express stays a user manifest, and the note names the field: nothing is lost.

use super::apps::App;
use super::pod::Pod;
use super::read::Object;
use super::rest::Rest;
use super::verify::{Key, Verification, key};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// One workload read from the tree, or a ConfigMap read on its own.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Its `workloads` entry (none for a ConfigMap read alone).
    pub entry: Option<Value>,
    /// The `services` entries over its pods.
    pub services: Vec<Value>,
    /// The `configMaps` entries its pods read.
    pub config_maps: Vec<Value>,
    /// The `serviceAccounts` entry of the account its pods run as.
    pub service_accounts: Vec<Value>,
    /// The objects of the tree it stands for.
    pub owned: Vec<Key>,
}

/// What an app's objects are read with: the labels and annotations every object of the app
/// carries, and those every monitor carries.
pub struct Context<'a> {
    /// The app.
    pub app: &'a App,
    /// Labels every object of the app carries (the app's `labels`).
    pub labels: &'a Map<String, Value>,
    /// Annotations every object of the app carries (the app's `annotations`).
    pub annotations: &'a Map<String, Value>,
    /// `defaults.monitoring.labels`.
    pub monitor_labels: Map<String, Value>,
}

/// The app's workloads that the model expresses field for field; for every other one,
/// `reasons` gets the fields that kept it out.
pub fn read(cx: &Context, reasons: &mut BTreeMap<Key, String>) -> Vec<Workload> {
    let mut out = Vec::new();
    for object in cx.app.objects.iter().filter(|o| is_workload(o)) {
        let layer = super::carry::layer_of(object);
        if layer != "release" {
            let why = format!(
                "not read into `workloads`: it is in the `{layer}` layer, and workloads are the release layer's"
            );
            reasons.insert(key(object), why);
            continue;
        }
        match workload(cx, object) {
            Ok(read) => out.push(read),
            Err(unread) => {
                let why = format!("not read into `workloads`: {}", unread.join(", "));
                reasons.insert(key(object), why);
            }
        }
    }
    let others = other_config_maps(cx, &out);
    out.extend(others);
    out
}

/// A Deployment, StatefulSet, Job or CronJob.
fn is_workload(object: &Object) -> bool {
    let kind = (object.group(), object.kind());
    matches!(
        kind,
        ("apps", "Deployment" | "StatefulSet") | ("batch", "Job" | "CronJob")
    )
}

/// The labels gitopsc gives a workload's objects.
fn workload_labels(app: &str, name: &str) -> Map<String, Value> {
    let mut labels = selector(app, name);
    labels.insert("app.kubernetes.io/managed-by".into(), json!("gitopsc"));
    labels
}

fn selector(app: &str, name: &str) -> Map<String, Value> {
    let mut labels = Map::new();
    labels.insert("app.kubernetes.io/instance".into(), json!(app));
    labels.insert("app.kubernetes.io/name".into(), json!(name));
    labels
}

/// Takes the object's identity and the metadata gitopsc writes (its labels, the app's labels
/// and annotations); returns the other labels and annotations.
fn metadata(
    cx: &Context,
    rest: &mut Rest,
    own: &Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    for pointer in ["/apiVersion", "/kind", "/metadata/name", "/metadata/namespace"] {
        rest.take(pointer);
    }
    let labels = rest
        .take_map("/metadata/labels")
        .into_iter()
        .filter(|(k, v)| own.get(k) != Some(v) && cx.labels.get(k) != Some(v))
        .collect();
    let annotations = rest
        .take_map("/metadata/annotations")
        .into_iter()
        .filter(|(k, v)| cx.annotations.get(k) != Some(v))
        .collect();
    (labels, annotations)
}

/// One workload, or the dotted paths of what the model cannot say of it.
fn workload(cx: &Context, object: &Object) -> Result<Workload, Vec<String>> {
    let name = object.name();
    let app = cx.app.name.as_str();
    let kind = object.kind();
    let selector = selector(app, name);
    let mut rest = Rest::new(object.value.clone(), "");
    let (labels, mut annotations) = metadata(cx, &mut rest, &workload_labels(app, name));
    let mut unread: Vec<String> = labels.keys().map(|k| format!("metadata.labels.{k}")).collect();
    let mut pod = Pod::new(name, &selector, matches!(kind, "Job" | "CronJob"));
    pod.set("name", json!(name));
    pod.set("kind", json!(kind));
    if annotations
        .remove("secret.reloader.stakater.com/reload")
        .is_some()
    {
        pod.set("reloader", json!(true));
    }
    if kind == "Job" {
        annotations.remove("kustomize.toolkit.fluxcd.io/force");
    }
    unread.extend(annotations.keys().map(|k| format!("metadata.annotations.{k}")));
    let template = match kind {
        "Job" => job(&mut pod, &mut rest, "/spec"),
        "CronJob" => cron_job(cx, &mut pod, &mut rest, &mut unread),
        _ => serving(&mut pod, &mut rest, &selector, &mut unread),
    };
    match template {
        Some((template, at)) => pod.read(template, &at),
        None => unread.push("spec.template".into()),
    }
    if kind == "StatefulSet" {
        pod.identity();
    } else if pod.identity_path.is_some() {
        unread.push(format!(
            "volume `{}` (an instance identity is a StatefulSet's)",
            crate::spec::workload::IDENTITY_VOLUME
        ));
    }
    for (name, path) in std::mem::take(&mut pod.claims) {
        match path {
            Some(path) => claim_path(&mut pod, &name, &path),
            None => unread.push(format!(
                "spec.volumeClaimTemplates `{name}` (mounted by no container)"
            )),
        }
    }
    unread.append(&mut pod.unread);
    unread.extend(rest.left());
    let mut owned = vec![key(object)];
    let config_maps = config_maps(cx, &pod, &mut owned, &mut unread);
    if matches!(kind, "Deployment" | "StatefulSet") {
        let counted = object.value.pointer("/spec/replicas").is_some();
        if !counted && !super::scaling::autoscaler(cx, (name, kind), &mut pod, &mut owned, &mut unread) {
            unread
                .push("spec.replicas (absent, and no HorizontalPodAutoscaler of the workload's name)".into());
        }
        super::scaling::budget(cx, name, &mut pod, &mut owned, &mut unread);
    }
    let services = services(cx, object, &mut pod, &mut owned);
    let account = pod
        .fields
        .get("serviceAccount")
        .and_then(Value::as_str)
        .map(String::from);
    let service_accounts = account
        .and_then(|a| super::rbac::account(cx, &a, &mut owned, &mut unread))
        .into_iter()
        .collect();
    super::monitor::monitor(cx, name, &mut pod, &mut owned, &mut unread);
    if !unread.is_empty() {
        return Err(unread);
    }
    Ok(Workload {
        entry: Some(Value::Object(std::mem::take(&mut pod.fields))),
        services,
        config_maps,
        service_accounts,
        owned,
    })
}

/// A Deployment's or StatefulSet's own fields; returns the pod template and its place.
fn serving(
    pod: &mut Pod,
    rest: &mut Rest,
    selector: &Map<String, Value>,
    unread: &mut Vec<String>,
) -> Option<(Value, String)> {
    if rest.peek("/spec/selector") == Some(&json!({"matchLabels": selector})) {
        rest.take("/spec/selector");
    }
    match rest.take("/spec/replicas") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(n) => pod.set("replicas", n),
        // An autoscaler owns the count (read with the workload's other objects).
        None => {}
    }
    if let Some(strategy) = rest.take("/spec/strategy") {
        let mut s = Rest::new(strategy, "spec.strategy");
        let mut out = Map::new();
        if let Some(kind) = s.take_str("/type") {
            out.insert("type".into(), json!(kind));
        }
        for field in ["maxSurge", "maxUnavailable"] {
            if let Some(v) = s.take(&format!("/rollingUpdate/{field}")) {
                out.insert(field.into(), v);
            }
        }
        unread.extend(s.left());
        pod.set("strategy", Value::Object(out));
    }
    if pod.fields.get("kind") == Some(&json!("StatefulSet")) {
        if rest.peek("/spec/serviceName") == Some(&json!(format!("{}-headless", pod.name))) {
            rest.take("/spec/serviceName");
        }
        match rest.take_str("/spec/podManagementPolicy").as_deref() {
            None | Some("OrderedReady") => {}
            Some(other) => pod.set("podManagementPolicy", json!(other)),
        }
        if let Some(update) = rest.take("/spec/updateStrategy") {
            let mut s = Rest::new(update, "spec.updateStrategy");
            let mut out = Map::new();
            if let Some(kind) = s.take_str("/type") {
                out.insert("type".into(), json!(kind));
            }
            if let Some(p) = s.take("/rollingUpdate/partition") {
                out.insert("partition".into(), p);
            }
            unread.extend(s.left());
            pod.set("updateStrategy", Value::Object(out));
        }
        let claims = rest.take_list("/spec/volumeClaimTemplates");
        for (i, claim) in claims.into_iter().enumerate() {
            volume_claim(pod, claim, &format!("spec.volumeClaimTemplates[{i}]"), unread);
        }
    }
    rest.take("/spec/template")
        .map(|t| (t, "spec.template".to_string()))
}

/// A StatefulSet's claim template, as a `volumeClaimTemplates` entry (its path comes from
/// the container's mount).
fn volume_claim(pod: &mut Pod, claim: Value, at: &str, unread: &mut Vec<String>) {
    let mut c = Rest::new(claim, at);
    let Some(name) = c.take_str("/metadata/name") else {
        unread.push(at.to_string());
        return;
    };
    let mut entry = json!({"name": name});
    if let Some(size) = c.take("/spec/resources/requests/storage") {
        entry["size"] = size;
    }
    if let Some(class) = c.take("/spec/storageClassName") {
        entry["storageClass"] = class;
    }
    match c.take("/spec/accessModes") {
        Some(modes) if modes == json!(["ReadWriteOnce"]) => {}
        Some(modes) => entry["accessModes"] = modes,
        None => {}
    }
    unread.extend(c.left());
    let claims = pod
        .fields
        .entry("volumeClaimTemplates")
        .or_insert_with(|| json!([]));
    if let Some(list) = claims.as_array_mut() {
        list.push(entry);
    }
    pod.claims.insert(name, None);
}

/// Sets the mount path of claim `name`.
fn claim_path(pod: &mut Pod, name: &str, path: &str) {
    let claims = pod
        .fields
        .get_mut("volumeClaimTemplates")
        .and_then(Value::as_array_mut);
    for claim in claims.into_iter().flatten() {
        if claim.get("name") == Some(&json!(name)) {
            claim["mountPath"] = json!(path);
        }
    }
}

/// A Job's fields below `at` (a CronJob's `jobTemplate.spec`); returns its pod template.
fn job(pod: &mut Pod, rest: &mut Rest, at: &str) -> Option<(Value, String)> {
    for field in [
        "backoffLimit",
        "activeDeadlineSeconds",
        "completions",
        "parallelism",
        "ttlSecondsAfterFinished",
    ] {
        if let Some(v) = rest.take(&format!("{at}/{field}")) {
            pod.job_field(field, v);
        }
    }
    let pointer = format!("{at}/template");
    rest.take(&pointer).map(|t| (t, rest.path(&pointer)))
}

/// A CronJob's fields and its Job template's; returns the pod template.
fn cron_job(
    cx: &Context,
    pod: &mut Pod,
    rest: &mut Rest,
    unread: &mut Vec<String>,
) -> Option<(Value, String)> {
    for field in [
        "schedule",
        "timeZone",
        "concurrencyPolicy",
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "suspend",
    ] {
        if let Some(v) = rest.take(&format!("/spec/{field}")) {
            pod.job_field(field, v);
        }
    }
    let own = workload_labels(&cx.app.name, pod.name);
    let labels = rest.take_map("/spec/jobTemplate/metadata/labels");
    unread.extend(
        labels
            .into_iter()
            .filter(|(k, v)| own.get(k) != Some(v))
            .map(|(k, _)| format!("spec.jobTemplate.metadata.labels.{k}")),
    );
    job(pod, rest, "/spec/jobTemplate/spec")
}

/// The `configMaps` entries of what the pod reads; a ConfigMap the model cannot write as it
/// is (or a key it lacks) keeps the workload out.
fn config_maps(cx: &Context, pod: &Pod, owned: &mut Vec<Key>, unread: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, keys) in &pod.config_maps {
        let found = cx
            .app
            .objects
            .iter()
            .find(|o| o.is("", "ConfigMap") && o.name() == name);
        let Some(object) = found else {
            unread.push(format!("reads ConfigMap `{name}`, which is not the app's"));
            continue;
        };
        match config_map(cx, object, keys) {
            Ok(entry) => {
                owned.push(key(object));
                out.push(entry);
            }
            Err(left) => unread.push(format!(
                "reads ConfigMap `{name}`, which `configMaps` cannot say ({})",
                left.join(", ")
            )),
        }
    }
    out
}

/// A ConfigMap as a `configMaps` entry (with `keys` among its data), or what it says beyond.
fn config_map(cx: &Context, object: &Object, keys: &BTreeSet<String>) -> Result<Value, Vec<String>> {
    let mut rest = Rest::new(object.value.clone(), "");
    let mut own = Map::new();
    own.insert("app.kubernetes.io/instance".into(), json!(cx.app.name));
    own.insert("app.kubernetes.io/managed-by".into(), json!("gitopsc"));
    let (labels, annotations) = metadata(cx, &mut rest, &own);
    let data = rest.take_map("/data");
    let mut left: Vec<String> = labels.keys().map(|k| format!("metadata.labels.{k}")).collect();
    left.extend(annotations.keys().map(|k| format!("metadata.annotations.{k}")));
    left.extend(rest.left());
    left.extend(
        data.iter()
            .filter(|(_, v)| !v.is_string())
            .map(|(k, _)| format!("data.{k}")),
    );
    left.extend(
        keys.iter()
            .filter(|k| !data.contains_key(*k))
            .map(|k| format!("(no key `{k}`)")),
    );
    if !left.is_empty() {
        return Err(left);
    }
    let mut entry = json!({"name": object.name()});
    if !data.is_empty() {
        entry["data"] = Value::Object(data);
    }
    Ok(entry)
}

/// The app's other ConfigMaps of its release layer as gitopsc writes them (with its labels),
/// which no workload read reads: `configMaps` entries of their own.
fn other_config_maps(cx: &Context, read: &[Workload]) -> Vec<Workload> {
    let is_read = |k: &Key| read.iter().any(|w| w.owned.contains(k));
    let gitopsc = |o: &Object| o.str_at("/metadata/labels/app.kubernetes.io~1managed-by") == "gitopsc";
    cx.app
        .objects
        .iter()
        .filter(|o| o.is("", "ConfigMap") && gitopsc(o) && super::carry::layer_of(o) == "release")
        .filter(|o| !is_read(&key(o)))
        .filter_map(|o| {
            let entry = config_map(cx, o, &BTreeSet::new()).ok()?;
            Some(Workload {
                entry: None,
                services: Vec::new(),
                config_maps: vec![entry],
                service_accounts: Vec::new(),
                owned: vec![key(o)],
            })
        })
        .collect()
}

/// The Services over the workload's pods: its own (`service`), a StatefulSet's headless one,
/// the metrics Service (see the monitor), and any other as a `services` entry.
fn services(cx: &Context, object: &Object, pod: &mut Pod, owned: &mut Vec<Key>) -> Vec<Value> {
    let name = object.name();
    let app = cx.app.name.as_str();
    let selector = Value::Object(selector(app, name));
    let mut out = Vec::new();
    let mut own_service = false;
    for service in cx
        .app
        .objects
        .iter()
        .filter(|o| o.is("", "Service") && o.value.pointer("/spec/selector") == Some(&selector))
    {
        let service_name = service.name();
        if service_name == name {
            own_service = true;
        } else if service_name == format!("{name}-headless") && object.kind() == "StatefulSet"
            || service_name == format!("{name}-metrics")
        {
        } else {
            match service_entry(cx, service, name) {
                Some(entry) => out.push(entry),
                None => continue,
            }
        }
        owned.push(key(service));
    }
    let serves = matches!(object.kind(), "Deployment" | "StatefulSet");
    if serves && !own_service && pod.fields.contains_key("ports") {
        pod.set("service", json!(false));
    }
    out
}

/// A Service over workload `workload`'s pods as a `services` entry, when it says nothing more.
fn service_entry(cx: &Context, service: &Object, workload: &str) -> Option<Value> {
    let mut rest = Rest::new(service.value.clone(), "");
    let (labels, annotations) = metadata(cx, &mut rest, &workload_labels(&cx.app.name, workload));
    rest.take("/spec/selector");
    let mut entry = json!({"name": service.name(), "workload": workload});
    match (
        rest.take_str("/spec/type").as_deref(),
        rest.take_str("/spec/clusterIP").as_deref(),
    ) {
        (Some("ClusterIP"), None) => {}
        (None, Some("None")) => entry["headless"] = json!(true),
        _ => return None,
    }
    if rest.take("/spec/publishNotReadyAddresses") == Some(json!(true)) {
        entry["publishNotReadyAddresses"] = json!(true);
    }
    let mut ports = Vec::new();
    for port in rest.take_list("/spec/ports") {
        let mut p = Rest::new(port, "");
        let mut out = json!({"name": p.take_str("/name")?, "port": p.take("/port")?});
        match p.take("/targetPort") {
            Some(target) if Some(&target) == out.get("port") => {}
            Some(target) => out["targetPort"] = target,
            None => {}
        }
        match p.take_str("/protocol").as_deref() {
            None | Some("TCP") => {}
            Some(other) => out["protocol"] = json!(other),
        }
        if !p.left().is_empty() {
            return None;
        }
        ports.push(out);
    }
    for (field, value) in [
        ("ports", json!(ports)),
        ("labels", json!(labels)),
        ("annotations", json!(annotations)),
    ] {
        if value.as_array().is_some_and(|l| !l.is_empty()) || value.as_object().is_some_and(|m| !m.is_empty())
        {
            entry[field] = value;
        }
    }
    rest.left().is_empty().then_some(entry)
}

impl Workload {
    /// The field it is read into.
    pub fn field(&self) -> &'static str {
        if self.entry.is_some() {
            "workloads"
        } else {
            "configMaps"
        }
    }
}

/// Leaves out each workload the spec does not render exactly as imported: one of its objects
/// rendered differently or not at all, or an object of it added; `reasons` says why. Returns
/// whether it left any out.
pub fn leave_out(
    read: &mut [Vec<Workload>],
    apps: &[App],
    check: &Verification,
    reasons: &mut BTreeMap<Key, String>,
) -> bool {
    let mut any = false;
    for (list, app) in read.iter_mut().zip(apps) {
        list.retain(|w| match why_out(w, &app.name, check) {
            Some(why) => {
                reasons.insert(
                    w.owned[0].clone(),
                    format!("not read into `{}`: {why}", w.field()),
                );
                any = true;
                false
            }
            None => true,
        });
    }
    any
}

/// Why the spec does not render workload `w` of app `app` exactly, if it does not.
fn why_out(w: &Workload, app: &str, check: &Verification) -> Option<String> {
    for (k, fields) in &check.changed {
        if w.owned.contains(k) {
            return Some(format!(
                "the spec would render {} `{}` differently at {fields}",
                k.1, k.3
            ));
        }
    }
    if let Some(k) = check.missing.iter().find(|k| w.owned.contains(k)) {
        return Some(format!("the spec would not render {} `{}`", k.1, k.3));
    }
    let name = w.entry.as_ref()?.get("name")?;
    let label = |v: &Value, l: &str| {
        v.pointer(&format!("/metadata/labels/app.kubernetes.io~1{l}"))
            .cloned()
    };
    let added = check
        .added
        .iter()
        .find(|v| label(v, "instance") == Some(json!(app)) && label(v, "name").as_ref() == Some(name))?;
    Some(format!(
        "the spec would add {} `{}`",
        added.get("kind").and_then(Value::as_str).unwrap_or_default(),
        added
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    ))
}
