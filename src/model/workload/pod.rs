//! The StatefulSet, Deployment, Job or CronJob of a workload and its pod template, with the
//! checksums that roll the pods when what they read changes.
//!
//! - `checksum/config`: sha256 of the canonical JSON `{configMap: {key: value}}` of exactly
//!   the ConfigMap keys the pod reads (env, envFrom, files; of every container).
//! - `checksum/externalsecret-spec`: sha256 of the canonical JSON `{secret: definition}` of
//!   the ExternalSecrets in the tree that produce the Secrets the pod reads — what is asked
//!   of the store, never the values, which the compiler cannot see.
//! - Reloader's `secret.reloader.stakater.com/reload` (opt-in) names the Secrets the pod
//!   reads, so a rotation Git never sees still restarts it.

use super::{Labels, Meta, match_labels, selector, workload_labels};
use crate::digest::sha256_hex;
use crate::kinds;
use crate::model::Manifest;
use crate::model::part::{AppCtx, Parts};
use crate::model::refs::{Scope, UnknownRef};
use crate::spec::ClusterSpec;
use crate::spec::path::SpecPath;
use crate::spec::workload::*;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The pod-template annotation hashing the ConfigMap data the pod reads.
pub const CHECKSUM_CONFIG: &str = "checksum/config";
/// The pod-template annotation hashing the definitions of the ExternalSecrets the pod reads.
pub const CHECKSUM_EXTERNAL_SECRETS: &str = "checksum/externalsecret-spec";
/// Reloader's workload annotation: restart on a change of these Secrets.
pub const RELOADER_SECRETS: &str = "secret.reloader.stakater.com/reload";

/// A StatefulSet or Deployment.
#[derive(Debug, Serialize)]
struct WorkloadItem {
    meta: Meta,
    annotations: Labels,
    replicas: Option<u32>,
    selector: Labels,
    strategy: Option<Value>,
    service_name: String,
    pod_management_policy: PodManagementPolicy,
    update_strategy: Option<Value>,
    volume_claim_templates: Vec<Value>,
    pod: PodTemplate,
}

/// A pod template.
#[derive(Debug, Serialize)]
struct PodTemplate {
    labels: Labels,
    annotations: Labels,
    service_account_name: Option<String>,
    automount_service_account_token: bool,
    /// A Job's pods only.
    restart_policy: Option<JobRestartPolicy>,
    termination_grace_period_seconds: Option<u32>,
    security_context: Value,
    image_pull_secrets: Vec<String>,
    node_selector: Labels,
    affinity: Option<Value>,
    topology_spread_constraints: Vec<Value>,
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    volumes: Vec<Value>,
}

/// A container.
#[derive(Debug, Serialize)]
struct Container {
    name: String,
    image: String,
    image_pull_policy: Option<PullPolicy>,
    /// `Always` for a native sidecar.
    restart_policy: Option<&'static str>,
    command: Vec<String>,
    args: Vec<String>,
    ports: Vec<Value>,
    env: Vec<Value>,
    env_from: Vec<Value>,
    liveness_probe: Option<Value>,
    readiness_probe: Option<Value>,
    startup_probe: Option<Value>,
    resources: Option<Value>,
    security_context: Value,
    volume_mounts: Vec<Value>,
}

/// What a pod reads from ConfigMaps and Secrets.
#[derive(Debug, Default)]
struct Consumed {
    /// ConfigMap → key → value, only the keys read.
    config: BTreeMap<String, BTreeMap<String, String>>,
    /// Secrets read by env, envFrom or files (not image pull secrets: a new credential
    /// needs no restart).
    secrets: BTreeSet<String>,
}

impl Consumed {
    fn config_keys<'a>(&mut self, cm: &ConfigMapSpec, keys: impl IntoIterator<Item = &'a ConfigKey>) {
        let entry = self.config.entry(cm.name.to_string()).or_default();
        for key in keys {
            if let Some(value) = cm.data.get(key) {
                entry.insert(key.0.clone(), value.clone());
            }
        }
    }

    fn config_all(&mut self, cm: &ConfigMapSpec) {
        self.config_keys(cm, cm.data.keys());
    }
}

/// Sha256 hex of the canonical JSON of a sorted map.
fn digest(value: &impl Serialize) -> String {
    sha256_hex(&serde_json::to_vec(value).unwrap_or_default())
}

/// The data-defining part of the app's ExternalSecret that produces Secret `name`: its
/// store, remote keys and properties, and template — what `checksum/externalsecret-spec`
/// hashes. Refresh interval, creation policy and labels change no value, so they are left out.
fn external_secret_definition(parts: &Parts, name: &str) -> Option<Value> {
    let es = parts.external_secret_for(name)?;
    let template = es
        .template
        .as_ref()
        .map(|t| json!({"type": t.secret_type, "mergePolicy": t.merge_policy, "data": t.data}));
    let data: Vec<Value> = es
        .data
        .iter()
        .map(|d| json!({"secretKey": d.secret_key, "remoteKey": d.remote_key, "property": d.property}))
        .collect();
    Some(json!({
        "store": {"kind": es.store_kind, "name": es.store_name},
        "data": data,
        "dataFrom": es.data_from,
        "template": template,
    }))
}

/// A pod template under construction: the ConfigMaps it may read, what it reads of them and
/// of Secrets, its volumes, and the scratch directories and claims mounted by name.
#[derive(Default)]
struct Pod<'a> {
    configs: BTreeMap<&'a str, &'a ConfigMapSpec>,
    consumed: Consumed,
    volumes: Volumes,
    named_mounts: BTreeMap<&'a str, Value>,
    /// The `((...))` references of its env values that name nothing.
    unknown: Vec<UnknownRef>,
}

/// A Job, or a CronJob's Job template.
#[derive(Debug, Serialize)]
struct JobItem {
    meta: Meta,
    annotations: Labels,
    /// The CronJob's own fields (`schedule`, `concurrencyPolicy`, ...); empty for a Job.
    cron: serde_json::Map<String, Value>,
    /// The Job's spec fields besides its template (`backoffLimit`, ...).
    job: serde_json::Map<String, Value>,
    pod: PodTemplate,
}

/// Flux's per-object annotation that deletes and recreates an object whose immutable fields
/// changed: a Job's pod template is immutable, so a changed Job runs again as a new one.
const FLUX_FORCE: (&str, &str) = ("kustomize.toolkit.fluxcd.io/force", "enabled");

/// Builds the workload object and adds it to the release layer. `config_maps` are the app's
/// as the tree writes them (patched); `at` is the workload's place in the spec.
pub fn workload(
    spec: &ClusterSpec,
    app: &AppCtx,
    config_maps: &[ConfigMapSpec],
    (wl, at): (&WorkloadSpec, &SpecPath),
    parts: &mut Parts,
) {
    let selector = selector(&app.name, wl.name.as_str());
    let (template, annotations) = pod_template(spec, app, config_maps, (wl, at), &selector, parts);
    let meta = Meta {
        name: wl.name.to_string(),
        namespace: app.namespace.clone(),
        labels: workload_labels(&app.name, wl.name.as_str()),
    };
    let name = &wl.name;
    let (file, blueprint, kind): (String, &'static str, &'static kinds::Kind) = match wl.kind {
        WorkloadKind::StatefulSet => (
            format!("statefulset-{name}.yaml"),
            "workload/statefulset.yaml.j2",
            &kinds::STATEFUL_SET,
        ),
        WorkloadKind::Deployment => (
            format!("deployment-{name}.yaml"),
            "workload/deployment.yaml.j2",
            &kinds::DEPLOYMENT,
        ),
        WorkloadKind::Job => (format!("job-{name}.yaml"), "workload/job.yaml.j2", &kinds::JOB),
        WorkloadKind::CronJob => (
            format!("cronjob-{name}.yaml"),
            "workload/cronjob.yaml.j2",
            &kinds::CRON_JOB,
        ),
    };
    if wl.kind.runs_to_completion() {
        let item = job_item(wl, meta, annotations, template);
        parts.release(Manifest::new(file, blueprint, kind, item));
        return;
    }
    let (strategy, update_strategy) = rollout(wl);
    let item = WorkloadItem {
        meta,
        annotations,
        // An autoscaler owns the count: a value here would be reset on every Flux apply.
        replicas: if wl.autoscaling.is_some() {
            None
        } else {
            Some(wl.replicas.unwrap_or(1))
        },
        selector,
        strategy,
        service_name: wl.headless_service_name(),
        pod_management_policy: wl.pod_management_policy,
        update_strategy,
        volume_claim_templates: claims(wl),
        pod: template,
    };
    parts.release(Manifest::new(file, blueprint, kind, item));
}

/// The pod template of a workload, and the workload object's own annotations.
fn pod_template(
    spec: &ClusterSpec,
    app: &AppCtx,
    config_maps: &[ConfigMapSpec],
    (wl, at): (&WorkloadSpec, &SpecPath),
    selector: &Labels,
    parts: &mut Parts,
) -> (PodTemplate, Labels) {
    let mut pod = Pod {
        configs: config_maps.iter().map(|c| (c.name.as_str(), c)).collect(),
        ..Pod::default()
    };
    pod.scratch(wl);
    let security = container_security_context(&wl.security_context);
    let mut others = |list, containers: &[ContainerSpec], init: bool| -> Vec<Container> {
        containers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let env_at = at.field(list).index(i).field(ContainerSpec::ENV);
                pod.other_container(wl, (c, init), (&app.scope, &env_at), security.clone())
            })
            .collect()
    };
    let init_containers = others(WorkloadSpec::INIT_CONTAINERS, &wl.init_containers, true);
    let extra = others(WorkloadSpec::CONTAINERS, &wl.containers, false);
    let mut containers = vec![pod.main_container(wl, (&app.scope, &at.field(WorkloadSpec::ENV)), security)];
    containers.extend(extra);
    let (pod_annotations, annotations) = pod.annotations(spec, wl, parts);
    parts.unknown.append(&mut pod.unknown);
    let mut pod_labels = wl.labels.clone();
    pod_labels.extend(selector.clone());
    let account = wl
        .service_account
        .as_ref()
        .and_then(|name| app.spec.service_accounts.iter().find(|s| &s.name == name));
    let template = PodTemplate {
        labels: crate::model::StrMap::from(pod_labels),
        annotations: pod_annotations,
        service_account_name: account.map(|a| a.name.to_string()),
        automount_service_account_token: account.is_some_and(ServiceAccountSpec::talks_to_api),
        restart_policy: wl
            .kind
            .runs_to_completion()
            .then(|| wl.job.as_ref().map(|j| j.restart_policy).unwrap_or_default()),
        termination_grace_period_seconds: wl.termination_grace_period_seconds,
        security_context: pod_security_context(&wl.security_context),
        image_pull_secrets: wl.image_pull_secrets.iter().map(|s| s.to_string()).collect(),
        node_selector: crate::model::StrMap::from(&wl.node_selector),
        affinity: affinity(anti_affinity(wl), selector),
        topology_spread_constraints: wl
            .topology_spread
            .iter()
            .map(|t| {
                json!({
                    "maxSkew": t.max_skew,
                    "topologyKey": t.topology_key,
                    "whenUnsatisfiable": t.when_unsatisfiable,
                    "labelSelector": match_labels(selector),
                })
            })
            .collect(),
        init_containers,
        containers,
        volumes: pod.volumes.by_name.into_values().collect(),
    };
    (template, annotations)
}

/// A Job or CronJob. The Job's selector is left to Kubernetes (it adds a unique one): its
/// pods still carry the workload's labels, which policies and monitors select.
fn job_item(wl: &WorkloadSpec, meta: Meta, mut annotations: Labels, pod: PodTemplate) -> JobItem {
    let settings = wl.job.clone().unwrap_or_default();
    let mut job = serde_json::Map::new();
    for (field, value) in [
        ("backoffLimit", settings.backoff_limit),
        ("activeDeadlineSeconds", settings.active_deadline_seconds),
        ("completions", settings.completions),
        ("parallelism", settings.parallelism),
        ("ttlSecondsAfterFinished", settings.ttl_seconds_after_finished),
    ] {
        if let Some(v) = value {
            job.insert(field.into(), json!(v));
        }
    }
    let mut cron = serde_json::Map::new();
    if wl.kind == WorkloadKind::CronJob {
        if let Some(schedule) = &settings.schedule {
            cron.insert("schedule".into(), json!(schedule));
        }
        if let Some(zone) = &settings.time_zone {
            cron.insert("timeZone".into(), json!(zone));
        }
        if let Some(policy) = settings.concurrency_policy {
            cron.insert("concurrencyPolicy".into(), json!(policy));
        }
        for (field, value) in [
            ("startingDeadlineSeconds", settings.starting_deadline_seconds),
            (
                "successfulJobsHistoryLimit",
                settings.successful_jobs_history_limit,
            ),
            ("failedJobsHistoryLimit", settings.failed_jobs_history_limit),
        ] {
            if let Some(v) = value {
                cron.insert(field.into(), json!(v));
            }
        }
        if let Some(suspend) = settings.suspend {
            cron.insert("suspend".into(), json!(suspend));
        }
    } else {
        annotations.insert(FLUX_FORCE.0.into(), FLUX_FORCE.1.into());
    }
    JobItem {
        meta,
        annotations,
        cron,
        job,
        pod,
    }
}

impl<'a> Pod<'a> {
    /// Scratch directories and claims that init containers may mount by name.
    fn scratch(&mut self, wl: &'a WorkloadSpec) {
        for dir in &wl.empty_dirs {
            let mut empty = serde_json::Map::new();
            if dir.memory {
                empty.insert("medium".into(), json!("Memory"));
            }
            if let Some(limit) = &dir.size_limit {
                empty.insert("sizeLimit".into(), json!(limit.text()));
            }
            self.volumes.insert(
                dir.name.to_string(),
                json!({"name": dir.name, "emptyDir": Value::Object(empty)}),
            );
            self.named_mounts.insert(
                dir.name.as_str(),
                json!({"name": dir.name, "mountPath": dir.mount_path}),
            );
        }
        for claim in &wl.volume_claim_templates {
            self.named_mounts.insert(
                claim.name.as_str(),
                json!({"name": claim.name, "mountPath": claim.mount_path}),
            );
        }
    }

    /// A container of `initContainers` (`init`) or `containers`.
    fn other_container(
        &mut self,
        wl: &WorkloadSpec,
        (c, init): (&ContainerSpec, bool),
        refs: (&Scope, &SpecPath),
        security: Value,
    ) -> Container {
        let mut mounts = files(&c.files, &self.configs, &mut self.consumed, &mut self.volumes);
        mounts.extend(
            c.mounts
                .iter()
                .filter_map(|m| self.named_mounts.get(m.as_str()).cloned()),
        );
        Container {
            name: c.name.to_string(),
            image: c.image.clone().unwrap_or_else(|| wl.image.clone()),
            image_pull_policy: wl.image_pull_policy,
            restart_policy: (init && c.sidecar).then_some("Always"),
            command: c.command.clone(),
            args: c.args.clone(),
            ports: c.ports.iter().map(container_port).collect(),
            env: self.env(&c.env, refs),
            env_from: env_from(&c.env_from, &self.configs, &mut self.consumed),
            liveness_probe: c.probes.liveness.as_ref().map(probe),
            readiness_probe: c.probes.readiness.as_ref().map(probe),
            startup_probe: c.probes.startup.as_ref().map(probe),
            resources: resources(&c.resources),
            security_context: security,
            volume_mounts: mounts,
        }
    }

    /// The workload's own container.
    fn main_container(&mut self, wl: &WorkloadSpec, refs: (&Scope, &SpecPath), security: Value) -> Container {
        let mut main_env = self.env(&wl.env, refs);
        let mut mounts = files(&wl.files, &self.configs, &mut self.consumed, &mut self.volumes);
        mounts.extend(self.named_mounts.values().cloned());
        if let Some(identity) = &wl.instance_identity {
            main_env.push(json!({"name": identity.pod_name_env, "valueFrom": {"fieldRef": {"fieldPath": PodField::PodName.path()}}}));
            if let Some(ordinal) = &identity.ordinal_env {
                main_env.push(
                    json!({"name": ordinal, "valueFrom": {"fieldRef": {"fieldPath": PodField::PodIndex.path()}}}),
                );
            }
            // Equal to `replicas`: a scale change changes the template and rolls every pod.
            main_env.push(json!({"name": identity.total_env, "value": wl.replicas.unwrap_or(1).to_string()}));
            if let Some(path) = &identity.volume_path {
                self.volumes.insert(
                    IDENTITY_VOLUME.to_string(),
                    json!({"name": IDENTITY_VOLUME, "downwardAPI": {"items": [{"path": "pod-name", "fieldRef": {"fieldPath": "metadata.name"}}]}}),
                );
                mounts.push(json!({"name": IDENTITY_VOLUME, "mountPath": path, "readOnly": true}));
            }
        }
        Container {
            name: wl.main_container_name().to_string(),
            image: wl.image.clone(),
            image_pull_policy: wl.image_pull_policy,
            restart_policy: None,
            command: wl.command.clone(),
            args: wl.args.clone(),
            ports: wl.ports.iter().map(container_port).collect(),
            env: main_env,
            env_from: env_from(&wl.env_from, &self.configs, &mut self.consumed),
            liveness_probe: wl.probes.liveness.as_ref().map(probe),
            readiness_probe: wl.probes.readiness.as_ref().map(probe),
            startup_probe: wl.probes.startup.as_ref().map(probe),
            resources: resources(&wl.resources),
            security_context: security,
            volume_mounts: mounts,
        }
    }

    /// The pod template's annotations (the user's, then the checksums of what it reads) and
    /// the workload's own (Reloader's).
    fn annotations(&mut self, spec: &ClusterSpec, wl: &WorkloadSpec, parts: &Parts) -> (Labels, Labels) {
        let consumed = &mut self.consumed;
        consumed
            .secrets
            .extend(secret_names(&wl.env, &wl.env_from, &wl.files));
        for c in wl.init_containers.iter().chain(&wl.containers) {
            consumed
                .secrets
                .extend(secret_names(&c.env, &c.env_from, &c.files));
        }
        let mut pod_annotations: Labels = crate::model::StrMap::from(&wl.annotations);
        consumed.config.retain(|_, keys| !keys.is_empty());
        if !consumed.config.is_empty() {
            pod_annotations.insert(CHECKSUM_CONFIG.into(), digest(&consumed.config));
        }
        let external: BTreeMap<&str, Value> = consumed
            .secrets
            .iter()
            .filter_map(|s| external_secret_definition(parts, s).map(|d| (s.as_str(), d)))
            .collect();
        if !external.is_empty() {
            pod_annotations.insert(CHECKSUM_EXTERNAL_SECRETS.into(), digest(&external));
        }
        let mut annotations = Labels::new();
        if wl.reloader.unwrap_or(spec.defaults.reloader) && !consumed.secrets.is_empty() {
            let names: Vec<&str> = consumed.secrets.iter().map(String::as_str).collect();
            annotations.insert(RELOADER_SECRETS.into(), names.join(","));
        }
        (pod_annotations, annotations)
    }
}

/// A Deployment's `strategy` and a StatefulSet's `updateStrategy`.
fn rollout(wl: &WorkloadSpec) -> (Option<Value>, Option<Value>) {
    let strategy = wl.strategy.as_ref().map(|s| match s.kind {
        DeploymentStrategyKind::Recreate => json!({"type": "Recreate"}),
        DeploymentStrategyKind::RollingUpdate => {
            let mut rolling = serde_json::Map::new();
            if let Some(v) = &s.max_surge {
                rolling.insert("maxSurge".into(), super::int_or_percent(v));
            }
            if let Some(v) = &s.max_unavailable {
                rolling.insert("maxUnavailable".into(), super::int_or_percent(v));
            }
            json!({"type": "RollingUpdate", "rollingUpdate": rolling})
        }
    });
    let update_strategy = wl.update_strategy.as_ref().map(|u| match (u.kind, u.partition) {
        (StatefulSetUpdateKind::OnDelete, _) => json!({"type": "OnDelete"}),
        (StatefulSetUpdateKind::RollingUpdate, None) => json!({"type": "RollingUpdate"}),
        (StatefulSetUpdateKind::RollingUpdate, Some(p)) => {
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": p}})
        }
    });
    (strategy, update_strategy)
}

/// A StatefulSet's volume claim templates.
fn claims(wl: &WorkloadSpec) -> Vec<Value> {
    wl.volume_claim_templates
        .iter()
        .map(|c| {
            let mut claim = json!({
                "accessModes": c.access_modes,
                "resources": {"requests": {"storage": c.size.text()}},
            });
            if let Some(class) = &c.storage_class {
                claim["storageClassName"] = json!(class);
            }
            json!({"metadata": {"name": c.name}, "spec": claim})
        })
        .collect()
}

/// A container port.
fn container_port(p: &PortSpec) -> Value {
    json!({"name": p.name, "containerPort": p.port, "protocol": p.protocol.as_str()})
}

impl Pod<'_> {
    /// A container's env; `((...))` references in values resolve through the app's `scope`
    /// (`at`: the env list's place, for those that name nothing).
    fn env(&mut self, vars: &[EnvVar], (scope, at): (&Scope, &SpecPath)) -> Vec<Value> {
        vars.iter()
            .enumerate()
            .filter_map(|(i, v)| self.env_var(v, scope, &at.index(i)))
            .collect()
    }

    fn env_var(&mut self, v: &EnvVar, scope: &Scope, at: &SpecPath) -> Option<Value> {
        if let Some(value) = &v.value {
            let value = match scope.resolve_at(value, &at.field(EnvVar::VALUE)) {
                // A port is a number: an env value is its digits.
                Ok(Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(name) => {
                    self.unknown.push(UnknownRef {
                        pointer: at.field(EnvVar::VALUE),
                        name,
                    });
                    value.clone()
                }
            };
            Some(json!({"name": v.name, "value": value}))
        } else if let Some(r) = &v.config_map {
            if let Some(cm) = self.configs.get(r.name.as_str()) {
                self.consumed.config_keys(cm, [&r.key]);
            }
            Some(json!({"name": v.name, "valueFrom": {"configMapKeyRef": {"name": r.name, "key": r.key}}}))
        } else if let Some(r) = &v.secret {
            Some(json!({"name": v.name, "valueFrom": {"secretKeyRef": {"name": r.name, "key": r.key}}}))
        } else {
            v.field
                .map(|f| json!({"name": v.name, "valueFrom": {"fieldRef": {"fieldPath": f.path()}}}))
        }
    }
}

fn env_from(
    from: &[EnvFrom],
    configs: &BTreeMap<&str, &ConfigMapSpec>,
    consumed: &mut Consumed,
) -> Vec<Value> {
    from.iter()
        .filter_map(|f| {
            let mut entry = match (&f.config_map, &f.secret) {
                (Some(name), None) => {
                    if let Some(cm) = configs.get(name.as_str()) {
                        consumed.config_all(cm);
                    }
                    json!({"configMapRef": {"name": name}})
                }
                (None, Some(name)) => json!({"secretRef": {"name": name}}),
                _ => return None,
            };
            if let Some(prefix) = &f.prefix {
                entry["prefix"] = json!(prefix);
            }
            Some(entry)
        })
        .collect()
}

/// The pod's volumes by name, and the volume already made for each mounted object and
/// selection of keys.
#[derive(Default)]
struct Volumes {
    by_name: BTreeMap<String, Value>,
    sources: BTreeMap<(bool, String), Vec<(Value, String)>>,
}

impl Volumes {
    fn insert(&mut self, name: String, volume: Value) {
        self.by_name.insert(name, volume);
    }

    /// The volume of `source` (a `configMap` or `secret` volume source) of object `name`:
    /// one per selection of keys, the first named after the object alone.
    fn object(&mut self, secret: bool, name: &str, source: Value) -> String {
        let variants = self.sources.entry((secret, name.to_string())).or_default();
        if let Some((_, volume)) = variants.iter().find(|(s, _)| *s == source) {
            return volume.clone();
        }
        let volume = match variants.len() {
            0 => volume_name(secret, name),
            n => volume_name(secret, &format!("{name}-{n}")),
        };
        variants.push((source.clone(), volume.clone()));
        let kind = if secret { "secret" } else { "configMap" };
        self.by_name
            .insert(volume.clone(), json!({"name": volume, kind: source}));
        volume
    }
}

/// The volume mounts of `files`, adding their volumes to the pod's.
fn files(
    files: &[FileMount],
    configs: &BTreeMap<&str, &ConfigMapSpec>,
    consumed: &mut Consumed,
    volumes: &mut Volumes,
) -> Vec<Value> {
    let mut mounts = Vec::with_capacity(files.len());
    for file in files {
        let Some((secret, name)) = file.source() else {
            continue;
        };
        let mut source = if secret {
            json!({"secretName": name})
        } else {
            json!({"name": name})
        };
        if !file.items.is_empty() {
            let items: Vec<Value> = file.items.iter().map(|k| json!({"key": k, "path": k})).collect();
            source["items"] = json!(items);
        }
        if !secret && let Some(cm) = configs.get(name.as_str()) {
            if file.items.is_empty() {
                consumed.config_all(cm);
            } else {
                consumed.config_keys(cm, &file.items);
            }
        }
        let volume = volumes.object(secret, name.as_str(), source);
        mounts.push(json!({"name": volume, "mountPath": file.mount_path, "readOnly": true}));
    }
    mounts
}

fn secret_names<'a>(
    env: &'a [EnvVar],
    from: &'a [EnvFrom],
    files: &'a [FileMount],
) -> impl Iterator<Item = String> + 'a {
    env.iter()
        .filter_map(|v| v.secret.as_ref().map(|r| r.name.to_string()))
        .chain(
            from.iter()
                .filter_map(|f| f.secret.as_ref().map(|s| s.to_string())),
        )
        .chain(
            files
                .iter()
                .filter_map(|f| f.secret.as_ref().map(|s| s.to_string())),
        )
}

fn probe(p: &Probe) -> Value {
    let port = |r: &PortRef| match r {
        PortRef::Number(n) => json!(n),
        PortRef::Name(s) => json!(s),
    };
    let mut out = serde_json::Map::new();
    if let Some(http) = &p.http {
        out.insert(
            "httpGet".into(),
            json!({"path": http.path, "port": port(&http.port)}),
        );
    }
    if let Some(tcp) = &p.tcp {
        out.insert("tcpSocket".into(), json!({"port": port(&tcp.port)}));
    }
    if let Some(command) = &p.exec {
        out.insert("exec".into(), json!({"command": command}));
    }
    for (field, value) in [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("periodSeconds", p.period_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("failureThreshold", p.failure_threshold),
        ("successThreshold", p.success_threshold),
    ] {
        if let Some(v) = value {
            out.insert(field.into(), json!(v));
        }
    }
    Value::Object(out)
}

fn resources(r: &Resources) -> Option<Value> {
    if r.is_empty() {
        return None;
    }
    let text = |m: &BTreeMap<String, Quantity>| -> BTreeMap<String, String> {
        m.iter().map(|(k, v)| (k.clone(), v.text())).collect()
    };
    let mut out = serde_json::Map::new();
    if !r.requests.is_empty() {
        out.insert("requests".into(), json!(text(&r.requests)));
    }
    if !r.limits.is_empty() {
        out.insert("limits".into(), json!(text(&r.limits)));
    }
    Some(Value::Object(out))
}

fn pod_security_context(sc: &SecurityContextSpec) -> Value {
    let mut out = json!({
        "runAsNonRoot": sc.run_as_non_root,
        "seccompProfile": {"type": sc.seccomp_profile},
    });
    for (field, value) in [
        ("runAsUser", sc.run_as_user),
        ("runAsGroup", sc.run_as_group),
        ("fsGroup", sc.fs_group),
    ] {
        if let Some(v) = value {
            out[field] = json!(v);
        }
    }
    out
}

fn container_security_context(sc: &SecurityContextSpec) -> Value {
    let mut capabilities = json!({"drop": ["ALL"]});
    if !sc.add_capabilities.is_empty() {
        capabilities["add"] = json!(sc.add_capabilities);
    }
    json!({
        "allowPrivilegeEscalation": sc.allow_privilege_escalation,
        "capabilities": capabilities,
        "readOnlyRootFilesystem": sc.read_only_root_filesystem,
    })
}

/// The anti-affinity the pods get: a Job or CronJob running one pod at a time has no
/// siblings to keep apart, so the `preferred` default is left out there.
fn anti_affinity(wl: &WorkloadSpec) -> AntiAffinity {
    let parallel = wl.job.as_ref().and_then(|j| j.parallelism).unwrap_or(1) > 1;
    if wl.kind.runs_to_completion() && wl.anti_affinity == AntiAffinity::Preferred && !parallel {
        AntiAffinity::None
    } else {
        wl.anti_affinity
    }
}

fn affinity(anti: AntiAffinity, selector: &Labels) -> Option<Value> {
    let term = json!({"labelSelector": match_labels(selector), "topologyKey": "kubernetes.io/hostname"});
    match anti {
        AntiAffinity::None => None,
        AntiAffinity::Preferred => Some(json!({"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}],
        }})),
        AntiAffinity::Required => Some(json!({"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term],
        }})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_canonical() {
        let mut a: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        a.entry("b".into()).or_default().insert("y".into(), "2".into());
        a.entry("a".into()).or_default().insert("x".into(), "1".into());
        assert_eq!(
            digest(&a),
            sha256_hex(br#"{"a":{"x":"1"},"b":{"y":"2"}}"#),
            "sorted keys, compact JSON"
        );
    }
}
